"""Experiment for chapter 4: course:fast-style-starry_night's recipe with a wider TransformerNet (Johnson et al.'s
32 base channels instead of the chapter's 16), for a style lead over the chapter's minutes that a weight change
could not buy.

The shipped course network (16 channels, style weight 5, 16,000 steps) scores content / style 0.452 / 0.237 on the
manifest's ruler against the chapter's minutes' 0.607 / 0.249: far ahead on content, inside the minutes' spread on
style (0.249-0.263). A trial with style weight 8 (2026-12-07, session 29) ended at 0.523 / 0.219 on the ruler but
0.491 / 0.230 on the chapter's own square crops, against the minutes' 0.545 / 0.233: a weight slides the small
network along its trade-off; more capacity is the lever left. Everything but the width is the recipe's: steps,
batch, crops, style weight, schedule, EMA, VGG16 losses, two threads; its build logs the recipe's watch scores every
4,000 steps (the shipped build watched 0.510 / 0.231, 0.491 / 0.219, 0.466 / 0.227, 0.452 / 0.237 at 4,000 ...
16,000 steps).

    nohup nice -n 10 .venv/bin/python experiments/04_style_transfer/fast_style_wide.py \\
        >> runs/experiments/fast_style_wide.log 2>&1 &

(the 16-channel build took 42 min alone on a fast 2-core machine; four times the convolution cost at 32 channels,
so two to three hours; a killed run resumes from its last checkpoint, every 1,000 steps; ``--tiny`` checks the path
in seconds). The network and its scores land in runs/experiments/fast_style_wide/ (``export/`` holds the file and
its manifest entry). Not run yet (written 2026-12-07, session 30, while another training run had the machine).
"""

from __future__ import annotations

import argparse
import dataclasses

from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.course_weights import build
from synthlib.style import style_nets

NAME = "fast_style_wide"
RECIPE = "fast-style-starry_night"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--channels", type=int, default=32, help="the TransformerNet's base channels (the recipe's: 16)")
    build.add_trial_options(p, RECIPE)
    return p.parse_args(argv)


def wider(channels: int, tiny: bool) -> None:
    """Make every TransformerNet the recipe builds ``channels`` wide (the tiny check keeps its own width)."""
    init = style_nets.TransformerNet.__init__

    def wide_init(self, cfg=None):
        cfg = cfg or style_nets.TransformerNet.Config()
        init(self, cfg if tiny else dataclasses.replace(cfg, base_channels=channels))

    style_nets.TransformerNet.__init__ = wide_init


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    wider(args.channels, args.tiny)
    build.train_trial(RECIPE, run, args)


if __name__ == "__main__":
    main()
