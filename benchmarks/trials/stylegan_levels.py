"""Diagnostic behind chapter 5's status note: which resolution of a StyleGAN generator draws the image?

Loads a trained generator (default: chapter 5's run, runs/05_stylegan/checkpoint.pt) and an untrained one of the
same config, and prints for 256 latents: the spread of w and of every layer's style across z, and the standard
deviation of each ToRGB level's own contribution to the image (the skip generator's image is the sum of them).

    .venv/bin/python benchmarks/trials/stylegan_levels.py [CHECKPOINT]

Measured 2026-11-25 on chapter 5's default run (1,658 steps, FID 36, recall 0.006): the styles vary with z as much
as at initialisation (std across z ~0.8 in every layer), but the 4x4 level's contribution fell from std 1.00 to
0.23, the 8x8 level's from 0.69 to 0.10 and the 16x16 level's from 0.57 to 0.20, while the 32x32 level's barely
changed (0.38 -> 0.34): the coarse layers, which decide the shape, say little, and the image tends to one picture
(the ToRGB biases) plus fine speckle -- the collapse. stylegan_pairs.py SG_LEVELS=1 follows the same numbers during
training: they shrink against every discriminator without batch norm and grow against DCGAN's with it.
"""
import sys

import torch

from synthlib.models.stylegan import StyleGANGenerator
from synthlib.sample import load_generator

torch.set_num_threads(1)
torch.manual_seed(0)
G = load_generator(sys.argv[1] if len(sys.argv) > 1 else "runs/05_stylegan/checkpoint.pt", device="cpu")[0]
for name, g in (("untrained", StyleGANGenerator(G.config)), ("trained", G)):
    g.eval()
    with torch.no_grad():
        w = g.mapping(torch.randn(256, g.config.z_dim))
        ws = w[:, None].expand(-1, g.num_ws, -1)
        print(f"{name}: w std across z {w.std(0).mean():.3f}")
        print("  style std across z per conv:", " ".join(f"{c.affine(w).std(0).mean():.2f}" for c in g.convs),
              "| per ToRGB:", " ".join(f"{t.affine(w).std(0).mean():.2f}" for t in g.to_rgbs))
        x = g.convs[0](g.const.expand(256, -1, -1, -1), ws[:, 0], "const")
        levels = [g.to_rgbs[0](x, ws[:, 1])]
        for b in range(1, len(g.to_rgbs)):
            i = 2 * b - 1
            x = g.convs[i + 1](g.convs[i](x, ws[:, i], "const"), ws[:, i + 1], "const")
            levels.append(g.to_rgbs[b](x, ws[:, i + 2]))  # this level's own RGB, without the upsampled skip
        print("  own contribution std per level:",
              " ".join(f"{4 * 2**b}px {lv.std():.2f}" for b, lv in enumerate(levels)))
