"""Experiment behind chapter 5's emoji option: StyleGAN's generator on the emoji of both design teams, in colour at
32 px.

Trains G (sg = StyleGAN2's, base 16 / max 128 channels, 3 colours; sgt = the same with a tanh on its output; dc =
chapter 2's DCGAN) against D (bn = chapter 2's batch-norm discriminator; sg = StyleGAN2's residual D with minibatch
std) with chapter 5's StyleGAN recipe (no path length, no mixing, R1 0.01) or chapter 2's GAN recipe (dc G), on the
train split's Google and Twitter images (6,776, or the first N), optionally with DiffAugment on everything D sees,
and prints KID/FID and precision/recall in the emoji style classifier's features (chapter 3's ruler) against the test
split (both teams, 32 px, upsampled to 64 for the classifier like the samples), after each third of the budget.

    .venv/bin/python experiments/05_stylegan/stylegan_emoji.py --seconds 150 --generator sgt --discriminator bn \\
        --augment color,translation,cutout --n-images 2000

The defaults are `--seconds 150 --generator sg --discriminator bn --augment none --n-images 0 (all)`, two threads
(`--threads`, else $OMP_NUM_THREADS). The floor and the scores after each third go to
runs/experiments/stylegan_emoji/metrics.json (`--run-dir` for another folder, one per variant if you keep several;
`synthlib.collect` gathers them): `floor`, `history`, and the last third's as `fid`, `kid_x1000`, `precision`,
`recall`. Run it alone (2 cores).

Measured 2026-11-25 (commit 30864be; then `benchmarks/trials/stylegan_emoji.py SECONDS G D [AUGMENT [N]]`; 150 s
each, 2 threads; the end of each third is printed, the last one here; real training emoji score FID 0.36, precision
0.75, recall 0.91 against the same reference: the floor). The command of each row is
`--seconds 150 --generator G --discriminator D [--augment color,translation,cutout] [--n-images N]`:
  dc G + bn D (chapter 2's DCGAN, tanh)            FID  1.37, KIDx1000  35, P .72 R .87  (2,977 steps)
  sg G + bn D (linear output)                      FID 22.6,  KIDx1000 610, P .46 R .46  saturated, over-bright colours
  sgt G + bn D (tanh output)                       FID  3.75, KIDx1000 107, P .74 R .79
  sg G + sg D (the StyleGAN2 pair)                 FID 76.3,  KIDx1000 7764, P .75 R .31 (624 steps in 172 s)
  sgt + bn, DiffAugment color,translation,cutout   FID  6.56, KIDx1000 214, P .75 R .50
  sgt + bn on 2,000 images: none 2.73 (R .79), augmented 4.51 (R .68)
  sgt + bn on 500 images:   none 4.33 (R .78), augmented 14.9 (R .57)
The linear output drifts out of range against the batch-norm D, which cannot see a batch's scale (its first conv
has no bias, leaky ReLU is positively homogeneous, batch norm divides the factor out): the tanh fixes it. In 150 s
augmentation costs at every size tried: D does not yet memorise (FID on held-out emoji stays far above the floor),
so what it buys, a D that cannot overfit, is not needed yet, and what it costs, a harder task, is paid.
KID over 100-image subsets moves a lot between thirds (e.g. 28 -> 104): compare FIDs first.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision.utils

from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.data import TensorBatches, from_uint8
from synthlib.data.emoji import load_emoji_uint8
from synthlib.gan import GANConfig, gan_trainer
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.metrics.prdc import precision_recall
from synthlib.sample import sample
from synthlib.stylegan import StyleGANConfig, StyleGANDiscriminator, StyleGANGenerator, stylegan_trainer
from synthlib.translation.scores import StyleFIDEvaluator, style_features

NAME = "stylegan_emoji"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--seconds", type=float, default=150.0,
                   help="training time budget, scored after each third (was positional SECONDS, required; the "
                        "measured runs' value)")
    p.add_argument("--generator", choices=("sg", "sgt", "dc"), default="sg",
                   help="G: StyleGAN2's (sg), the same with a tanh output (sgt) or chapter 2's DCGAN (dc) (was G, "
                        "required; the usage example's)")
    p.add_argument("--discriminator", choices=("bn", "sg"), default="bn",
                   help="D: chapter 2's batch-norm DCGAN discriminator (bn) or StyleGAN2's residual one (sg) "
                        "(was D, required; the usage example's)")
    p.add_argument("--augment", default="",
                   help="DiffAugment policy for everything D sees, comma-separated from color, translation, "
                        "cutout; '' or 'none' for none (was the optional AUGMENT)")
    p.add_argument("--n-images", type=int, default=0,
                   help="train on the first N of the shuffled training emoji; 0 = all 6,776 (was N_IMAGES)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS") or 2),
                   help="torch threads (was $OMP_NUM_THREADS, still read as this option's default)")
    p.add_argument("--grid", type=Path, default=None,
                   help="save 64 of G_ema's last samples as this PNG (was $SG_GRID)")
    args = p.parse_args(argv)
    if args.augment == "none":
        args.augment = ""
    return args


class SGT(StyleGANGenerator):  # sgt: the same G with a tanh on its output (range [-1, 1] like the data)
    def synthesis(self, ws, *a, **kw):
        return torch.tanh(super().synthesis(ws, *a, **kw))


def to32(u8):  # uint8 N x 3 x 64 x 64 -> uint8 32 x 32 (area average)
    return F.avg_pool2d(u8.float(), 2).round().to(torch.uint8)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    torch.set_num_threads(args.threads)
    secs, gk, dk = args.seconds, args.generator, args.discriminator
    policy = args.augment
    n_img = args.n_images
    torch.manual_seed(0)
    tr, te = load_emoji_uint8("train"), load_emoji_uint8("test")
    train = to32(torch.cat([tr.google, tr.twitter]))
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    train = train[perm[:n_img]] if n_img else train[perm]
    ref = from_uint8(to32(torch.cat([te.google, te.twitter])))
    up = lambda x: F.interpolate(x.clamp(-1, 1), scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
    evaluate = StyleFIDEvaluator(up(ref))
    ref_f = style_features(up(ref))

    def score_values(img):
        s = evaluate(up(img))
        pr = precision_recall(ref_f, style_features(up(img)))
        return {"kid_x1000": 1000 * s['kid_mean'], "fid": s['fid'], "precision": pr['precision'],
                "recall": pr['recall']}

    def scores(v):
        return (f"KIDx1000 {v['kid_x1000']:.1f} FID {v['fid']:.2f} P {v['precision']:.3f} "
                f"R {v['recall']:.3f}")

    floor = score_values(from_uint8(train[:len(ref)]))
    print(f"{len(train)} training images, {len(ref)} reference; floor (train images):", scores(floor), flush=True)
    run.record(training_images=len(train), floor=floor)
    data = TensorBatches(train, batch_size=32, seed=0, transform=from_uint8)
    if gk in ("sg", "sgt"):
        G = (SGT if gk == "sgt" else StyleGANGenerator)(StyleGANGenerator.Config(
            img_size=32, img_channels=3, z_dim=64, w_dim=64, n_mlp=2, base_channels=16, max_channels=128))
    else:
        G = DCGANGenerator(DCGANGenerator.Config(z_dim=64, img_size=32, img_channels=3, base_channels=32))
    D = (DCGANDiscriminator(DCGANDiscriminator.Config(img_size=32, img_channels=3, base_channels=32)) if dk == "bn"
         else StyleGANDiscriminator(StyleGANDiscriminator.Config(img_size=32, img_channels=3, base_channels=16,
                                                                 max_channels=128)))
    if gk in ("sg", "sgt"):
        cfg = StyleGANConfig(batch_size=32, lr=2.5e-3, r1_gamma=0.01, pl_weight=0.0, mixing_prob=0.0, augment=policy,
                             ema_half_life_img=5000)
        t = stylegan_trainer(G, D, data, cfg, device="cpu", progress=False)
    else:
        cfg = GANConfig(z_dim=64, batch_size=32, lr_g=2e-3, lr_d=2e-3, betas=(0.5, 0.999), r1_gamma=0.1, r1_every=16,
                        ema_half_life_img=3000)
        t = gan_trainer(G, D, data, cfg, kind="dcgan", device="cpu", progress=False)
    t0 = time.time()
    history = []
    for c in range(3):
        t.fit(max_seconds=secs / 3)
        img = sample(t.model("G_ema"), 2000, seed=1)
        elapsed = time.time() - t0
        v = score_values(img)
        print(f"{gk}/{dk} aug={policy or '-'} n={len(train)} step {t.step} {elapsed:.0f}s", scores(v), flush=True)
        history.append({"step": t.step, "seconds": elapsed, **v})
        run.record(history=history, step=t.step, **v)
    if args.grid:
        torchvision.utils.save_image(img[:64].clamp(-1, 1) * 0.5 + 0.5, args.grid, nrow=8)


if __name__ == "__main__":
    main()
