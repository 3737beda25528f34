"""Diagnostic behind chapter 5's status note: which resolution of a StyleGAN generator draws the image?

Loads a trained generator (default: chapter 5's run, runs/05_stylegan/checkpoint.pt) and an untrained one of the
same config, and prints for 256 latents: the spread of w and of every layer's style across z, and the standard
deviation of each ToRGB level's own contribution to the image (the skip generator's image is the sum of them).

    .venv/bin/python experiments/05_stylegan/stylegan_levels.py --checkpoint runs/05_stylegan/checkpoint.pt

(the default; run it from the project's root, the path is relative). The numbers go to
runs/experiments/stylegan_levels/metrics.json (`--run-dir` for another folder; `synthlib.collect` gathers it) under
`untrained` and `trained`: `w_std`, `style_std_per_conv`, `style_std_per_torgb`, `level_std` (per resolution).

Measured 2026-11-25 (commit bd61ea0; then `benchmarks/trials/stylegan_levels.py`) on chapter 5's default run of that
day (1,658 steps, FID 36, recall 0.006; the StyleGAN2 pair, which chapter 5's CPU default no longer trains as its main
model: its checkpoint is now runs/05_stylegan/stylegan_d/checkpoint.pt): the styles vary with z as much as at
initialisation (std across z ~0.8 in every layer), but the 4x4 level's contribution fell from std 1.00 to 0.23, the
8x8 level's from 0.69 to 0.10 and the 16x16 level's from 0.57 to 0.20, while the 32x32 level's barely changed
(0.38 -> 0.34): the coarse layers, which decide the shape, say little, and the image tends to one picture (the ToRGB
biases) plus fine speckle -- the collapse. stylegan_pairs.py --levels follows the same numbers during training: they
shrink against every discriminator without batch norm and grow against DCGAN's with it.
"""
from __future__ import annotations

import argparse

import torch

from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.sample import load_generator
from synthlib.stylegan import StyleGANGenerator

NAME = "stylegan_levels"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--checkpoint", default="runs/05_stylegan/checkpoint.pt",
                   help="a StyleGAN checkpoint whose generator to read (was the optional positional CHECKPOINT)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    G = load_generator(args.checkpoint, device="cpu")[0]
    for name, g in (("untrained", StyleGANGenerator(G.config)), ("trained", G)):
        g.eval()
        with torch.no_grad():
            w = g.mapping(torch.randn(256, g.config.z_dim))
            ws = w[:, None].expand(-1, g.num_ws, -1)
            print(f"{name}: w std across z {w.std(0).mean():.3f}")
            conv_std = [float(c.affine(w).std(0).mean()) for c in g.convs]
            rgb_std = [float(t.affine(w).std(0).mean()) for t in g.to_rgbs]
            print("  style std across z per conv:", " ".join(f"{s:.2f}" for s in conv_std),
                  "| per ToRGB:", " ".join(f"{s:.2f}" for s in rgb_std))
            x = g.convs[0](g.const.expand(256, -1, -1, -1), ws[:, 0], "const")
            levels = [g.to_rgbs[0](x, ws[:, 1])]
            for b in range(1, len(g.to_rgbs)):
                i = 2 * b - 1
                x = g.convs[i + 1](g.convs[i](x, ws[:, i], "const"), ws[:, i + 1], "const")
                levels.append(g.to_rgbs[b](x, ws[:, i + 2]))  # this level's own RGB, without the upsampled skip
            print("  own contribution std per level:",
                  " ".join(f"{4 * 2**b}px {lv.std():.2f}" for b, lv in enumerate(levels)))
            run.record(**{name: {"w_std": w.std(0).mean(), "style_std_per_conv": conv_std,
                                 "style_std_per_torgb": rgb_std,
                                 "level_std": {f"{4 * 2**b}px": lv.std() for b, lv in enumerate(levels)}}})


if __name__ == "__main__":
    main()
