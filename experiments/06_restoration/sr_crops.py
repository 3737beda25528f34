"""Experiment for chapter 6: course:sr-x4's recipe on different training crops, the lever left after more photos.

course:sr-x4 trains Ledig et al.'s SRResNet on 64 px crops whose sides are drawn log-uniformly from 1/25 to the
whole of each photo's shorter side (388..887 px for the 38 photos) and resized to 64 px. Two things about them:

* **Enlarged crops.** A square under 64 px is enlarged, so its target is a blurred picture: about 30 % of the
  recipe's crops (measured over 20,000 draws; 43 % at 96 px, 52 % at 128 px). For those the network is taught that
  the sharp-looking low-resolution input should come back blurred, the opposite of what the other 70 % (and every
  held-out photo, a whole photo reduced to 192 px) teach. This trial (``RandomCrops(enlarge=False)``; ``--enlarge``
  for the recipe's draw) widens such a square to the crop, so every target is the photo's own detail or a reduction
  of it.
* **Small crops.** 64 px crops give the network 16 x 16 inputs against a receptive field of about 79 (the 9 x 9
  head, 16 residual blocks of two 3 x 3 convolutions, the middle 3 x 3, the two up-sampling convolutions and the
  9 x 9 tail), so almost every output pixel's field runs into the zero padding; the papers train on 24 (SRResNet:
  96 px) to 48 (EDSR: 192 px) input pixels. ``--crop 128 --batch 4`` keeps the pixels a step (16 x 64^2 = 4 x 128^2);
  give such a variant its own ``--run-dir`` (runs/experiments/sr_crops_128/).

Everything else is the recipe's (network, steps, schedule, EMA, the 38 photos, the held-out watch every 1,000
steps), so the log compares with the shipped build directly: +1.04 / +1.18 / +1.29 / +1.36 / +1.45 / +1.50 / +1.53
dB over bicubic at 1,000 / 2,000 / 3,000 / 4,000 / 6,000 / 8,000 / 12,000 steps.

**Result, never-enlarged 64 px crops** (the default options; 2026-12-07, session 32, alone, stopped at 3,000
steps): +1.040 / +1.182 / +1.289 dB at 1,000 / 2,000 / 3,000 steps against the shipped build's +1.036 / +1.178 /
+1.286, the same curve within 0.005 dB. The blurred targets of the enlarged 30 % do not hold the network back (they
are the smooth parts of a photo at any scale, which bicubic already gets right); the crops' side is the question
left:

    nohup nice -n 10 .venv/bin/python experiments/06_restoration/sr_crops.py --crop 128 --batch 4 \\
        --run-dir runs/experiments/sr_crops_128 >> runs/experiments/sr_crops_128.log 2>&1 &

**Result, 128 px crops x 4, never enlarged** (2026-12-07, session 32, alone, stopped at 2,000 steps): +0.937 / +1.055
dB at 1,000 / 2,000 steps against the shipped build's +1.036 / +1.178, behind and falling further: at the same
pixels a step, four large crops teach less than sixteen small ones (a quarter of the photos' places a step). With
the enlarged crops shown harmless too, the crops are not what holds course:sr-x4 back; neither variant is worth
adopting (experiments/06_restoration/sr_photos.py tries the data instead).

What does, as far as a minute's check can say (the shipped network on the 38 training photos reduced to 192 px as
the held-out ones are, 2026-12-07): the median gain is +1.86 dB there against +1.96 on the nine held-out photos,
so it has not memorised its photos as a whole; its mean gain there, +3.03, comes from a few smooth, shallow-focus
photos it reproduces almost exactly (colorful_cups +10.7, storm +8.4, volna and ela_original +7.9), while the
held-out photos it gains least on are fine texture (rocket +0.56, fruits +0.64, chelsea's fur +0.89). Texture is
what 38 photos have too little of: the lever left is data (the 12 KDE wallpapers are prepared at 1024 px from
2560-5120 px originals) or a larger network, both hours on this machine.

(the recipe's 12,000 steps: about 45 minutes alone on a fast 2-core machine, three hours on a slow one; a killed run
resumes from its last checkpoint, every 500 steps; ``--tiny`` checks the path in seconds). The network, its log and
``export/sr-x4.safetensors`` with its manifest entry land in the run folder (runs/experiments/sr_crops/ for the
default options). A variant that won would need ``_sr_build``'s crops given the same options (and the recipe the same
batch) before ``python -m synthlib.course_weights adopt sr-x4 RUN_DIR/export`` (adopt refuses a build whose training
config differs from the recipe's).
"""

from __future__ import annotations

import argparse
import dataclasses

from sr_common import crops_with

from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.course_weights import build
from synthlib.course_weights.recipes import RECIPES

NAME = "sr_crops"
RECIPE = "sr-x4"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--crop", type=int, default=64, help="the high-resolution crop side in px, a multiple of 4 "
                                                        "(the recipe's: 64)")
    p.add_argument("--batch", type=int, default=16, help="crops per step (the recipe's: 16)")
    p.add_argument("--enlarge", action="store_true", help="enlarge squares under --crop px as the recipe does "
                                                          "(default: widen them to --crop, RandomCrops(enlarge=False))")
    build.add_trial_options(p, RECIPE)
    args = p.parse_args(argv)
    if args.crop < 16 or args.crop % 4 or args.batch < 1:
        p.error(f"--crop must be a multiple of 4 from 16 and --batch at least 1, got {args.crop} and {args.batch}")
    return args


def other_crops(crop: int, batch: int, enlarge: bool) -> None:
    """Make course:sr-x4's build (``_sr_build``, which looks these names up when it runs) draw ``batch`` crops of
    ``crop`` px a step, enlarged only if ``enlarge`` (with ``--tiny`` too: only its network and steps are small)."""
    RECIPES[RECIPE] = dataclasses.replace(RECIPES[RECIPE], batch_size=batch)
    crops_with(crop=crop, enlarge=enlarge)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    other_crops(args.crop, args.batch, args.enlarge)
    build.train_trial(RECIPE, run, args)


if __name__ == "__main__":
    main()
