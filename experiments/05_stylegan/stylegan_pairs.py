"""Experiment behind chapter 5's status note: which half of the StyleGAN pair is slow to learn on a CPU budget?

Trains a generator (sg = StyleGAN2's at 32 px, base 16 / max 128 channels; sgt = the same with a tanh output; dc =
chapter 2's DCGAN) against a discriminator (sg = StyleGAN2's residual D; dc = DCGAN's, batch norm) with chapter 2's
GAN recipe (non-saturating loss, R1 every 16 steps, EMA of G) on Fashion-MNIST padded to 32 px, and prints FID
(chapter 2's classifier, 2,000 samples cropped to 28 px) three times.

    .venv/bin/python experiments/05_stylegan/stylegan_pairs.py --seconds 90 --generator sg --discriminator dc \\
        --lr 2e-3 --beta1 0.5 --beta2 0.999

(the defaults). Printed per third: FID of G_ema (sample(), fixed noise buffers) with precision P and recall R
(Kynkaenniemi et al., k = 3, chapter 2's classifier features of the same 5,000 test images); recall is the collapse
indicator. The same numbers (and those of --levels, --raw, --eval-noise, --log) go to
runs/experiments/stylegan_pairs/metrics.json (`--run-dir` for another folder, one per variant if you keep several;
`synthlib.collect` gathers them): `history` (one entry per third) and the last third's `fid`, `precision`, `recall`.
Run it alone (2 cores). `--help` lists every option; each one used to be an environment variable (named in its
help line) or a positional argument.

Results (then `benchmarks/trials/stylegan_pairs.py SECONDS G D LR B1 B2 [LR_D [GAMMA [MBSTD_GROUP [D_BASE]]]]` with
SG_* environment variables; written here with today's options):

Measured 2026-11-24 (commits 7ae4195, 62e6163; `--seconds 90`, 2-core CPU, FID after the last third): sg G + dc D
25.9 (998 steps); dc G + sg D 29.3 (594); sg + sg 52-75 whatever the learning rates, betas (0.5/0.999 or 0/0.99), R1
weight (0.1, 2), minibatch-std group (1, 4, 32), D width (base 8 or 16), D's lr (5e-4 .. 1e-2), a tanh on G's output
(sgt) or DiffAugment (through chapter 5's recipe).

After the up-sampling gain fix (2cda650; measured 2026-11-25, commit 7210997, `--steps 600`, FID at the end): sg + sg
48.3 (62.8 before the fix), sg + dc 30.6, dc + sg 21.0; sg + sg with G's lr 6e-3 (D 2e-3: `--lr 6e-3 --lr-d 2e-3`)
54.3, with D's lr 6e-4 (G 2e-3) 52.8; 1,200 steps 39.6.

Measured 2026-11-25 (commit 6ce0bc6; `--steps 600 --threads 1 --generator sg --discriminator sg --lr 2e-3 --beta1 0
--beta2 0.99` unless named; FID(ema) / recall after 200, 400, 600 steps, recall in brackets at 600; FID moves by ~4
between runs that differ only in the global RNG, so read gaps under ~5 as noise): baseline 47.3/.004, 45.0/.005,
48.3/.002 (raw G, `--raw`, 46.2, 47.3, 47.6, recall .007-.002: the EMA neither hides nor causes it); NVlabs' cifar D
layout (`--d-arch orig`) 48.8, 47.2, 45.0 (recall .006-.001); skip D (`--d-arch skip`) 44.5, 44.6, 39.6 (.003-.002);
mbstd group 32 (`--mbstd-group 32`) 48.7, 47.6, 43.6 (.003); 16 mbstd channels (`--mbstd-channels 16`) 54.0, 45.4,
43.4 (.006); 128 (one per feature) 74.0, 55.4, 57.5 (.000); R1 gamma (`--r1-gamma`) 0.01 46.5, 47.9, 49.3 (.001), 1.0
45.1, 45.6, 43.3 (.011); betas 0.5 0.99 58.8, 55.0, 45.7 (.001); lr 5e-4 for both 64.1, 52.3, 55.8 (.003); G base 32
(`--g-base 32`) 49.7, 54.1, 50.8 (.001); D base 32 (`--d-base 32`) 47.6, 44.0, 44.6 (.026 at 200, then .005); batch
64 (`--batch 64`) 45.9, 48.6, 49.0 (.005); no noise inputs (`--no-noise`) 51.5, 52.3, 57.8 (.001); mapping lr_mul 1
(`--map-lr-mul 1`) 46.8, 47.4, 45.9 (.006). Every sg + sg run collapses (recall <= .03, precision .3-.8); its D wins
(mean logits real ~+2.4, fake ~-1.6 by step 400, `--log`). The grids (`--grid`) show one silhouette in one place for
every z, varying only in brightness and high-frequency speckle; the noise strengths stay ~0 (<= 0.2 at 32 px) and
fresh noise (`--eval-noise random`) changes FID by <= 4, so the noise is not the variety either. A G after 1-3 steps
scores recall .007-.02 (smoke runs): training removes what variety there is. sg G + dc D, for comparison: 59.2/.011,
34.4/.075, 29.0/.176 (random noise 28.0/.265), smooth saturated blobs, no speckle.

Measured 2026-11-25, later (commit 7c4b8fa; `--steps 600 --threads 2`, FID(ema) / recall at 600 steps; `--levels`
prints the standard deviation of each ToRGB level's own contribution, 4/8/16/32 px, at the start 1.15 0.64 0.64 0.50):
  sg G + dc D (batch norm)            28.9 / .126   levels grow:   1.19 0.50 1.26 2.64
  sg G + sg D                         46.7 / .006   levels shrink: 0.44 0.23 0.16 0.33
  sg G + sg D, mbstd off (group 1)    step 400: 47.3 / .002, levels 0.52 0.24 0.16 0.27 (as with it)
  sg G + dc D without batch norm      40.2 / .012   levels shrink: 0.49 0.21 0.20 0.33   (--dc-norm none)
  sg G + dc D with spectral norm      43.4 / .020   levels shrink: 0.54 0.24 0.20 0.38   (--dc-norm spectral)
  sg G with z also added to the 4x4 input (--const-z) + sg D: 47.1 / .004
  dc G (batch norm) + dc D without batch norm: 12.8 / .513 (healthy)
So the StyleGAN generator collapses against every discriminator without batch statistics, StyleGAN's own or
DCGAN's without batch norm or with spectral norm, and only batch norm in D stops it; a DCGAN generator, whose batch
norm keeps every feature's variance across the batch at 1, does not collapse against the same norm-free D. The
StyleGAN generator has nothing that keeps its samples apart (demodulation normalises each sample's expected
statistics, not the batch's), and minibatch standard deviation, StyleGAN's answer, does not stop it in this budget.

Measured 2026-11-25, longer (commit 406fbf5; `--steps 6000 --threads 2 --generator sg --discriminator sg`, 1,308 s of
training): FID(ema) / recall after 2,000, 4,000, 6,000 steps: 31.4 / .084, 19.7 / .168, 14.6 / .278 (precision .64 ->
.75). The pair's collapse is an early phase that it grows out of, slowly: the StyleGAN generator against the
batch-norm D (with a tanh output) is further after 1,800 steps (FID 11.9 / recall .43 in chapter 5's run, whose steps
also cost half as much) than the pair after 6,000.
"""
from __future__ import annotations

import argparse
import os
import time
import types

import torch
import torchvision.utils
from torch import nn

from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8
from synthlib.gan import GANConfig, gan_trainer
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.gan.losses import GAN_LOSSES
from synthlib.metrics.fid import FIDEvaluator, classifier_features
from synthlib.metrics.prdc import precision_recall
from synthlib.sample import sample
from synthlib.stylegan import (
    EqualConv2d,
    EqualLinear,
    StyleGANDiscriminator,
    StyleGANGenerator,
    crop_to_28,
    downsample2d,
    pad_to_32,
)

NAME = "stylegan_pairs"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    run = p.add_argument_group("the pair and its recipe (the old positional arguments)")
    run.add_argument("--seconds", type=float, default=90.0,
                     help="training time budget, scored after each third (was SECONDS, required; the usage "
                          "example's value); ignored with --steps")
    run.add_argument("--generator", choices=("sg", "sgt", "dc"), default="sg",
                     help="G: StyleGAN2's (sg), the same with a tanh output (sgt) or chapter 2's DCGAN (dc) (was G)")
    run.add_argument("--discriminator", choices=("sg", "dc"), default="dc",
                     help="D: StyleGAN2's residual one (sg) or DCGAN's (dc) (was D)")
    run.add_argument("--lr", type=float, default=2e-3, help="G's learning rate, and D's unless --lr-d (was LR)")
    run.add_argument("--beta1", type=float, default=0.5, help="Adam's beta1 (was B1)")
    run.add_argument("--beta2", type=float, default=0.999, help="Adam's beta2 (was B2)")
    run.add_argument("--lr-d", type=float, default=None, help="D's learning rate; default: --lr (was LR_D)")
    run.add_argument("--r1-gamma", type=float, default=0.1, help="R1 weight (was GAMMA)")
    run.add_argument("--mbstd-group", type=int, default=4,
                     help="StyleGAN D's minibatch-std group size; 1 = off (was MBSTD_GROUP)")
    run.add_argument("--d-base", type=int, default=16,
                     help="StyleGAN D's base channels (max 8 x base) (was D_BASE)")
    env = p.add_argument_group("variants (each was an environment variable, named in its help)")
    env.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS") or 1),
                     help="torch threads (was $OMP_NUM_THREADS, still read as this option's default)")
    env.add_argument("--steps", type=int, default=None,
                     help="train this many steps instead of --seconds, scored after each third; the pairs' steps cost "
                          "very different times (was $SG_STEPS)")
    env.add_argument("--up-blur-gain", type=float, default=None,
                     help="multiply the blur after G's upsampling convs; 0.25 reproduces the pre-fix generator, "
                          "whose up-convs lacked StyleGAN2's gain of 4 (was $SG_UP_BLUR_GAIN)")
    env.add_argument("--no-noise", action="store_true", help="drop G's per-pixel noise inputs (was $SG_NO_NOISE)")
    env.add_argument("--d-arch", choices=("resnet", "orig", "skip"), default="resnet",
                     help="StyleGAN D's layout: resnet (synthlib's); orig: each block conv0 -> conv1_down, no skip "
                          "and no 1/sqrt(2), as NVlabs' cifar config; skip: the same blocks plus a fromRGB of the "
                          "2x-downsampled image added before every later block and the epilogue (was $SG_D_ARCH)")
    env.add_argument("--mbstd-channels", type=int, default=1,
                     help="minibatch-std channels (NVlabs' num_channels); must divide D's 4x4 channels "
                          "(was $SG_MBSTD_CH)")
    env.add_argument("--g-base", type=int, default=16, help="G's base channels, max 8 x base (was $SG_G_BASE)")
    env.add_argument("--batch", type=int, default=32, help="batch size (was $SG_BATCH)")
    env.add_argument("--loss", choices=tuple(GAN_LOSSES), default="nonsaturating",
                     help="a synthlib GAN loss (was $SG_LOSS)")
    env.add_argument("--r1-every", type=int, default=16, help="lazy R1 interval (was $SG_R1_EVERY)")
    env.add_argument("--map-lr-mul", type=float, default=0.01,
                     help="the mapping network's learning-rate multiplier (was $SG_MAP_LRMUL)")
    env.add_argument("--raw", action="store_true", help="also score the raw (non-averaged) G (was $SG_RAW)")
    env.add_argument("--eval-noise", choices=("random", "const", "none"), default=None,
                     help="also score G_ema with this noise mode (sample() uses the fixed noise buffers) "
                          "(was $SG_EVAL_NOISE)")
    env.add_argument("--log", action="store_true",
                     help="also print G's noise strengths, D's mean real / fake logits, the R1 term and G's loss "
                          "over each third (was $SG_LOG)")
    env.add_argument("--grid", default=None, metavar="PREFIX",
                     help="save 64 G_ema samples as PREFIX_STEP.png after each third (was $SG_GRID)")
    env.add_argument("--levels", action="store_true",
                     help="print the raw G's ToRGB level contributions (sg G only) (was $SG_LEVELS)")
    env.add_argument("--dc-norm", choices=("batch", "spectral", "none"), default="batch",
                     help="the DCGAN discriminator's normalisation (was $SG_DC_NORM)")
    env.add_argument("--const-z", action="store_true",
                     help="not StyleGAN: add a learned map of w to G's constant 4x4 input (was $SG_CONST_Z)")
    return p.parse_args(argv)


class SGT(StyleGANGenerator):
    def forward(self, z, **kw):
        return torch.tanh(super().forward(z, **kw))


class MbstdF(nn.Module):  # NVlabs' MinibatchStdLayer with num_channels F: the features split into F groups, one std channel each
    def __init__(self, group, f):
        super().__init__()
        self.group, self.f = group, f

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group, n)
        while n % g:
            g -= 1
        y = x.reshape(g, -1, self.f, c // self.f, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(2, 3, 4))  # (n / g, F)
        y = y.reshape(-1, self.f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


def levels(g):  # the standard deviation of each ToRGB level's own contribution (g's image is their upsampled sum)
    with torch.no_grad():
        ws = g.mapping(torch.randn(256, g.config.z_dim, generator=torch.Generator().manual_seed(5)))[:, None].expand(
            -1, g.num_ws, -1)
        x = g.convs[0](g.const.expand(256, -1, -1, -1), ws[:, 0], "const")
        out = [g.to_rgbs[0](x, ws[:, 1]).std().item()]
        for b in range(1, len(g.to_rgbs)):
            i = 2 * b - 1
            x = g.convs[i + 1](g.convs[i](x, ws[:, i], "const"), ws[:, i + 1], "const")
            out.append(g.to_rgbs[b](x, ws[:, i + 2]).std().item())
    return out


def _fmt(values):
    return " ".join(f"{v:.2f}" for v in values)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    torch.set_num_threads(args.threads)
    secs, gk, dk, lr, b1, b2 = args.seconds, args.generator, args.discriminator, args.lr, args.beta1, args.beta2
    torch.manual_seed(0)
    train_u8, _ = load_fashion_mnist_uint8("train")
    test_u8, _ = load_fashion_mnist_uint8("test")
    evaluate = FIDEvaluator(from_uint8(test_u8[:5000]), kid_subsets=10)
    real_features = classifier_features(from_uint8(test_u8[:5000]))  # precision / recall against the same 5,000 test images
    gbase = args.g_base
    G = ((SGT if gk == "sgt" else StyleGANGenerator)(StyleGANGenerator.Config(
            img_size=32, img_channels=1, z_dim=64, w_dim=64, n_mlp=2, base_channels=gbase, max_channels=8 * gbase,
            lr_mul=args.map_lr_mul))
         if gk in ("sg", "sgt") else
         DCGANGenerator(DCGANGenerator.Config(z_dim=64, img_size=32, img_channels=1, base_channels=32)))
    # A/B of the up-convs' blur gain (StyleGAN2: 4 x the normalised filter)
    if args.up_blur_gain is not None and gk in ("sg", "sgt"):
        for m in G.modules():
            if getattr(m, "up", False):
                m.kernel = m.kernel * args.up_blur_gain
    if args.no_noise and gk in ("sg", "sgt"):  # no per-pixel noise inputs (strength fixed at 0)
        for m in G.modules():
            if hasattr(m, "strength"):
                m.strength.requires_grad_(False)
                m.forward = lambda x, noise=None: x
    if args.const_z and gk in ("sg", "sgt"):  # not StyleGAN: the 4x4 input is const + a learned map of w,
        # so that z also enters additively (as in a DCGAN), not only by rescaling the constant's channels
        c4 = G.const.shape[1]
        G.const_map = EqualLinear(G.config.w_dim, c4 * 16)

        def _synthesis(self, ws, noise_mode="random", noise=None):  # G.synthesis with the per-sample input
            ws = self._ws(ws)
            noise = [None] * self.num_layers if noise is None else noise
            x = self.const + self.const_map(ws[:, 0]).reshape(-1, c4, 4, 4)
            x = self.convs[0](x, ws[:, 0], noise_mode, noise[0])
            rgb = self.to_rgbs[0](x, ws[:, 1])
            for b in range(1, len(self.to_rgbs)):
                i = 2 * b - 1
                x = self.convs[i](x, ws[:, i], noise_mode, noise[i])
                x = self.convs[i + 1](x, ws[:, i + 1], noise_mode, noise[i + 1])
                rgb = self.to_rgbs[b](x, ws[:, i + 2], skip=rgb)
            return rgb
        G.synthesis = types.MethodType(_synthesis, G)
    dbase = args.d_base
    D = (StyleGANDiscriminator(StyleGANDiscriminator.Config(img_size=32, img_channels=1, base_channels=dbase,
                                                            max_channels=8 * dbase, mbstd_group=args.mbstd_group))
         if dk == "sg" else
         DCGANDiscriminator(DCGANDiscriminator.Config(img_size=32, img_channels=1, base_channels=32,
                                                      norm=args.dc_norm)))
    lr_d = args.lr_d if args.lr_d is not None else lr
    gamma = args.r1_gamma
    D_ARCH = args.d_arch
    # NVlabs' architecture='orig' (their cifar config): conv0 -> conv1_down, no skip, no 1/sqrt(2)
    if dk == "sg" and D_ARCH == "orig":
        for blk in D.blocks:
            del blk.skip
            blk.forward = types.MethodType(lambda self, x: self.conv1(self.conv0(x)), blk)
    elif dk == "sg" and D_ARCH == "skip":  # NVlabs' architecture='skip': no residual; a fromRGB of the downsampled image
        # is added at the input of every block and of the epilogue (StyleGAN2's config-e D)
        for blk in D.blocks:
            del blk.skip
            blk.forward = types.MethodType(lambda self, x: self.conv1(self.conv0(x)), blk)
        D.skip_rgbs = nn.ModuleList(EqualConv2d(1, blk.conv0.weight.shape[1], 1, activation=True) for blk in D.blocks[1:])
        D.skip_rgbs.append(EqualConv2d(1, D.conv.weight.shape[0], 1, activation=True))

        def _skip_forward(self, img, labels=None):
            x = self.from_rgb(img)
            for i, blk in enumerate(self.blocks):
                x = blk(x)
                img = downsample2d(img, blk.conv1.kernel)
                x = x + self.skip_rgbs[i](img)
            x = self.conv(self.mbstd(x))
            return self.out(self.fc(x.flatten(1))).reshape(img.shape[0])
        D.forward = types.MethodType(_skip_forward, D)
    mbstd_f = args.mbstd_channels
    if dk == "sg" and mbstd_f != 1:
        c4 = D.conv.weight.shape[0]
        D.mbstd = MbstdF(D.mbstd.group_size, mbstd_f)
        D.conv = EqualConv2d(c4 + mbstd_f, c4, 3, activation=True)
    bs = args.batch
    cfg = GANConfig(loss=args.loss, z_dim=64, batch_size=bs, lr_g=lr, lr_d=lr_d, betas=(b1, b2), r1_gamma=gamma,
                    r1_every=args.r1_every, ema_half_life_img=3000)
    t = gan_trainer(G, D, TensorBatches(train_u8, batch_size=bs, seed=0, transform=lambda u: pad_to_32(from_uint8(u))),
                    cfg, kind="dcgan", device="cpu", progress=False)
    show_levels = args.levels and gk == "sg" and not args.const_z
    levels0 = levels(G) if show_levels else []
    if show_levels:
        run.record(levels_start=levels0)
    t0 = time.time()
    history = []
    for c in range(3):
        prev_step = t.step
        # --steps N: a fixed number of steps instead of a time budget (compares pairs whose steps cost differently)
        t.fit((c + 1) * args.steps // 3) if args.steps else t.fit(max_seconds=secs / 3)
        el = time.time() - t0
        img = crop_to_28(sample(t.model("G_ema"), 2000, seed=1))
        if args.grid:  # --grid PREFIX: 64 of G_ema's samples as PREFIX_STEP.png
            torchvision.utils.save_image(img[:64].clamp(-1, 1) * 0.5 + 0.5, f"{args.grid}_{t.step}.png", nrow=8)
        pr = precision_recall(real_features, classifier_features(img))
        fid = evaluate(img)['fid']
        row = {"step": t.step, "seconds": el, "fid": fid, "precision": pr['precision'], "recall": pr['recall']}
        line = f"{gk}/{dk} step {t.step} {el:.0f}s FID(ema) {fid:.1f} P {pr['precision']:.3f} R {pr['recall']:.3f}"
        if show_levels:
            now = levels(G)
            row["levels"] = now
            line += f" | levels 4/8/16/32 px {_fmt(now)} (start {_fmt(levels0)})"
        if args.raw:  # the raw (non-averaged) G as well: is the EMA hiding or causing something?
            img = crop_to_28(sample(G, 2000, seed=1))
            pr = precision_recall(real_features, classifier_features(img))
            raw_fid = evaluate(img)['fid']
            row["raw"] = {"fid": raw_fid, "precision": pr['precision'], "recall": pr['recall']}
            line += f" | raw FID {raw_fid:.1f} P {pr['precision']:.3f} R {pr['recall']:.3f}"
        if args.eval_noise and gk in ("sg", "sgt"):  # G_ema with fresh per-pixel noise (sample() uses the fixed noise buffers)
            m, gen = t.model("G_ema"), torch.Generator().manual_seed(1)
            with torch.no_grad():
                img = torch.cat([m(torch.randn(250, 64, generator=gen), noise_mode=args.eval_noise).clamp(-1, 1)
                                 for _ in range(8)])
            pr = precision_recall(real_features, classifier_features(crop_to_28(img)))
            noise_fid = evaluate(crop_to_28(img))['fid']
            row[f"{args.eval_noise}_noise"] = {"fid": noise_fid, "precision": pr['precision'], "recall": pr['recall']}
            line += f" | {args.eval_noise} noise FID {noise_fid:.1f} P {pr['precision']:.3f} R {pr['recall']:.3f}"
        if args.log and gk in ("sg", "sgt"):  # G's noise strengths
            strengths = [m.strength.item() for m in G.modules() if hasattr(m, "strength")]
            row["noise_strengths"] = strengths
            line += " | noise " + " ".join(f"{s:+.2f}" for s in strengths)
        if args.log:  # D's mean logits, R1 and G's loss over this third
            h, lo = t.history, prev_step
            avg = lambda k: sum(v for s_, v in zip(h[k]["step"], h[k]["value"]) if s_ >= lo) / max(1, sum(s_ >= lo for s_ in h[k]["step"])) if k in h else float("nan")  # noqa: E501, E731
            logged = {"D_real_logits": avg('D/real_logits'), "D_fake_logits": avg('D/fake_logits'),
                      "r1": avg('D_r1/loss'), "G_loss": avg('G/loss')}
            row["log"] = logged
            line += (f" | D real {logged['D_real_logits']:+.2f} fake {logged['D_fake_logits']:+.2f} "
                     f"r1 {logged['r1']:.3f} G loss {logged['G_loss']:.2f}")
        print(line, flush=True)
        history.append(row)
        run.record(history=history, step=t.step, fid=fid, precision=row["precision"], recall=row["recall"])


if __name__ == "__main__":
    main()
