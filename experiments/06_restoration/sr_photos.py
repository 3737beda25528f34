"""Experiment for chapter 6: course:sr-x4's recipe on its 38 training photos kept larger, the data lever.

The course photos are prepared with their longer side at most 1024 px (``prepare_photos``' default), and course:sr-x4
reads them that way. Twelve of its training photos are KDE wallpapers whose originals are 2560 x 1600 (Volna
5120 x 2880): shrunk to 1024 px they keep a sixth of their pixels, and the finest detail the network is shown is
what survives a 2.5x reduction. The crops are not the lever (sr_crops.py: never-enlarged crops drew the same curve,
larger crops fell behind), and the shipped network gains least on fine texture (held-out rocket +0.56 dB, fruits
+0.64, the cat's fur +0.89, against +1.96 in the median): texture at full resolution is what the larger originals
add. Measured on 2026-12-07: more photos (26 -> 38) lifted the gain from +1.41 to +1.53 dB at 12,000 steps.

This trial prepares the same catalogue a second time with ``--max-side`` (default 2560: the wallpapers whole) in its
own folder (default data/photos-2560/, SHA-256 checked like the course's; the Debian packages are fetched again
unless ``$SYNTHLIB_DEBS`` holds them) and trains the recipe's crops from it, their shorter side capped at
``--max-short-side`` (default 1600, the wallpapers' own) instead of 1024. Everything else is the recipe's (network,
steps, batch, 64 px crops with sides log-uniform from 1/25 of a photo's shorter side, schedule, EMA, the held-out
watch every 1,000 steps on the 1024 px set's held-out photos, as every build), so the log compares with the shipped
build directly: +1.04 / +1.18 / +1.29 / +1.36 / +1.45 / +1.50 / +1.53 dB over bicubic at 1,000 / 2,000 / 3,000 /
4,000 / 6,000 / 8,000 / 12,000 steps.

    nohup nice -n 10 .venv/bin/python experiments/06_restoration/sr_photos.py \\
        >> runs/experiments/sr_photos.log 2>&1 &

(the recipe's 12,000 steps: about 45 minutes alone on a fast 2-core machine, three hours on a slow one, plus a
minute or two to prepare the photos; a killed run resumes from its last checkpoint, every 500 steps; ``--tiny``
checks the path in seconds on the course's own photos). The network, its log and ``export/sr-x4.safetensors`` with
its manifest entry land in runs/experiments/sr_photos/. If it wins, course:sr-x4 would need the larger photos
wherever ``make weights`` runs (a ``prepare_photos(max_side=...)`` step in its build) before ``python -m
synthlib.course_weights adopt sr-x4 runs/experiments/sr_photos/export``.

Run on 2026-12-07 (sessions 32 and 33, alone, niced) to 6,000 steps and stopped there: the same curve as the shipped
build, +1.040 / +1.180 / +1.298 / +1.365 / +1.413 / +1.456 dB at 1,000 ... 6,000 steps against +1.036 / +1.178 /
+1.286 / +1.362 / +1.404 / +1.453 (within 0.012 dB at every watch), where the 26 -> 38 photo step had been worth
+0.09 dB by 4,000 steps and +0.10 by 6,000 (+1.27 / +1.35 against +1.36 / +1.45). More pixels of the same scenes are
not more data for this network: not a lever. Its checkpoint (6,000 steps) stays in runs/experiments/sr_photos/; the
command above would resume it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sr_common import crops_with

from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.course_weights import build
from synthlib.data.paths import data_dir
from synthlib.data.photos import prepare_photos

NAME = "sr_photos"
RECIPE = "sr-x4"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--max-side", type=int, default=2560, help="the prepared photos' longer side at most (the course's: "
                                                              "1024)")
    p.add_argument("--max-short-side", type=int, default=1600, help="the crops' photos' shorter side at most (the "
                                                                    "recipe's: 1024)")
    p.add_argument("--photos-dir", type=Path, default=None, help="where to prepare them (default: "
                                                                 "data/photos-MAX_SIDE)")
    build.add_trial_options(p, RECIPE)
    args = p.parse_args(argv)
    if args.max_side < 64 or args.max_short_side < 64:
        p.error(f"--max-side and --max-short-side must be at least 64, got {args.max_side} and {args.max_short_side}")
    return args


def larger_photos(photos: Path | None, max_short_side: int) -> None:
    """Make course:sr-x4's build (``_sr_build``, which looks ``RandomCrops`` up when it runs) read its crops from
    ``photos`` (None: the course's folder) with their shorter side capped at ``max_short_side``."""
    crops_with(cache_dir=photos, max_short_side=max_short_side)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    photos = None
    if not args.tiny:  # the tiny check reads the course's photos: preparing fetches the packages again
        photos = prepare_photos(max_side=args.max_side,
                                cache_dir=args.photos_dir or data_dir() / f"photos-{args.max_side}")
    larger_photos(photos, args.max_short_side)
    build.train_trial(RECIPE, run, args)


if __name__ == "__main__":
    main()
