"""Experiment for chapter 6: course:sr-x4's recipe on larger crops, the lever left after more photos.

course:sr-x4 trains Ledig et al.'s SRResNet on 64 px crops, so the network sees 16 x 16 low-resolution inputs. Its
receptive field is far wider: the 9 x 9 head, 16 residual blocks of two 3 x 3 convolutions, the middle 3 x 3, the two
up-sampling convolutions and the 9 x 9 tail reach about 39 low-resolution pixels to each side, so during training
almost every output pixel's field runs into the zero padding, while the held-out photos (192 px, 48 px at the input)
and the ``upscale`` verb's tiles are larger. The papers train on 24 (SRResNet: 96 px) to 48 (EDSR: 192 px) input
pixels. This trial keeps the recipe (network, steps, schedule, EMA, crops at every scale, the held-out watch) and
changes the crop side and the batch so that a step costs about the same: 16 crops of 64 px are 65,536 pixels,
4 crops of 128 px the same, 7 crops of 96 px about as many. The photos are the recipe's own, all 38 ('train' and
'train_more'), so it compares with the shipped build directly: +1.04 / +1.18 / +1.36 / +1.45 / +1.50 / +1.53 dB over
bicubic at 1,000 / 2,000 / 4,000 / 6,000 / 8,000 / 12,000 steps on 64 px crops.

    nohup nice -n 10 .venv/bin/python experiments/06_restoration/sr_crops.py --crop 128 --batch 4 \\
        >> runs/experiments/sr_crops.log 2>&1 &

(the recipe's 12,000 steps: about 45 minutes alone on a fast 2-core machine, three hours on a slow one; a killed run
resumes from its last checkpoint, every 500 steps; ``--tiny`` checks the path in seconds). The network, its log with a
held-out watch every 1,000 steps and ``export/sr-x4.safetensors`` with its manifest entry land in
runs/experiments/sr_crops/. If it wins, change ``_sr_build``'s crops and the recipe's batch to match and ship it with
``python -m synthlib.course_weights adopt sr-x4 runs/experiments/sr_crops/export`` (adopt refuses a build whose
training config differs from the recipe's).

Not run yet (written 2026-12-07, session 31, while the 38-photo trial had the machine).
"""

from __future__ import annotations

import argparse
import dataclasses

import synthlib.data.crops as crops
from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.course_weights import build
from synthlib.course_weights.recipes import RECIPES

NAME = "sr_crops"
RECIPE = "sr-x4"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--crop", type=int, default=128, help="the high-resolution crop side in px, a multiple of 4 "
                                                         "(the recipe: 64)")
    p.add_argument("--batch", type=int, default=4, help="crops per step (the recipe: 16 of 64 px)")
    build.add_trial_options(p, RECIPE)
    args = p.parse_args(argv)
    if args.crop < 16 or args.crop % 4 or args.batch < 1:
        p.error(f"--crop must be a multiple of 4 from 16 and --batch at least 1, got {args.crop} and {args.batch}")
    return args


def larger_crops(crop: int, batch: int) -> None:
    """Make course:sr-x4's build (``_sr_build``, which looks these names up when it runs) draw ``batch`` crops of
    ``crop`` px a step (with ``--tiny`` too: only its network and steps are small)."""
    RECIPES[RECIPE] = dataclasses.replace(RECIPES[RECIPE], batch_size=batch)
    random_crops = crops.RandomCrops

    def sized(role, **kw):
        return random_crops(role, **{**kw, "crop": crop})

    crops.RandomCrops = sized


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    larger_crops(args.crop, args.batch)
    build.train_trial(RECIPE, run, args)


if __name__ == "__main__":
    main()
