"""Experiment for chapter 6: does the blend U-Net learn past its start when its classical fills are precomputed?

In chapter 6 the two fills (harmonic and biharmonic, 100 iterations per pyramid level) are computed inside every
training step and dominate its cost (~90 steps in 180 s). Here a pool of POOL training crops (64 px, at the
held-out photos' scale, holes drawn at 192 px as in the chapter) gets its fills once; training then draws batches
from the pool, each with one of the 8 flips/quarter turns of the square (the fills commute with them: the
Laplacian is the same in every direction), and runs only the network. Scored on the chapter's nine held-out photos
(strokes / boxes PSNR, fills computed there as usual) at the start, six times during training and at the end.

    .venv/bin/python experiments/06_restoration/inpaint_pool.py --seconds 180 --pool 1024 --batch 32 --lr 2e-4

(the defaults; the U-Net is the chapter's, `--base-channels 24 --depth 4 --max-channels 128`). The scores go to
runs/experiments/inpaint_pool/metrics.json (`--run-dir` for another folder, one per variant if you keep several;
`synthlib.collect` gathers them): `history` (step, seconds, strokes and boxes PSNR at each score), the last ones as
`strokes_psnr`, `boxes_psnr`, and `parameters`, `pool_seconds`. Run it alone (2 cores).

Measured 2026-11-25 (commit 5a25ab4; then `benchmarks/trials/inpaint_pool.py 180 1024 32 2e-4`; strokes / boxes
PSNR in dB on the nine held-out photos): the pool's fills took 63 s; without them a step still costs ~0.9 s (the
U-Net itself: the fills were about half of the chapter's ~2 s step, not most of it), so 165 steps instead of ~90:
step 0 26.49 / 24.26 (the mean of the fills), then 26.43 / 24.25, 26.34 / 24.44, 26.35 / 24.15, 26.36 / 24.25,
26.43 / 24.36. Twice the steps do not move it either.

Measured 2026-11-25 (session 9, commit e32a480; then `UNET=8,4,64 ... 180 1024 32 1e-3`) with a U-Net a fifth the
size (346 k parameters):

    .venv/bin/python experiments/06_restoration/inpaint_pool.py --lr 1e-3 --base-channels 8 --depth 4 --max-channels 64

1,147 steps (pool 42 s); strokes / boxes 26.49 / 24.26 at step 0, then 26.44 / 24.51, 26.39 / 24.43, 26.36 / 24.45,
26.52 / 24.42, 26.48 / 24.37, 26.33 / 24.32. Seven times the steps: the box rule is learned within 30 s (+0.25 dB, as
the mixer's) and then fades, strokes wander by +-0.1 dB. So the step count is not what is missing: what the two fills
leave wrong on these photos is not learned from a few CPU minutes of crops, by a large network or a small one.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from synthlib import restoration as R
from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.data.photos import load_photo, photo_names
from synthlib.restoration import InpaintUNet
from synthlib.restoration import inpaint_net as restore
from synthlib.style import resize_shorter

sys.path.insert(0, str(Path(__file__).resolve().parent))  # inpaint_common.py, beside this file, wherever it is run from
from inpaint_common import crop_pool, dihedral, train_timed  # noqa: E402

NAME = "inpaint_pool"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--seconds", type=float, default=180.0,
                   help="training time budget (was positional SECONDS, required; the usage example's value)")
    p.add_argument("--pool", type=int, default=1024, help="training crops in the pool (was POOL, required)")
    p.add_argument("--batch", type=int, default=32, help="batch size (was BATCH, required)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam's learning rate (was LR, required)")
    p.add_argument("--base-channels", type=int, default=24,
                   help="the U-Net's base channels (was the first of $UNET=base,depth,max_channels)")
    p.add_argument("--depth", type=int, default=4, help="the U-Net's levels (was the second of $UNET)")
    p.add_argument("--max-channels", type=int, default=128, help="the U-Net's widest layer (was the third of $UNET)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    secs, pool_n, batch, lr = args.seconds, args.pool, args.batch, args.lr
    torch.manual_seed(0)
    size, crop, iters = 192, 64, 100
    names = photo_names("heldout")
    photos = torch.cat([resize_shorter(load_photo(n, size)[None], size)[..., :size, :size] for n in names])
    holes = {k: torch.stack([R.random_hole(size, size, k, (0.1, 0.3),
                                           torch.Generator().manual_seed((0 if k == "strokes" else 100) + i))
                             for i in range(len(names))]) for k in ("strokes", "boxes")}
    base, depth, max_ch = args.base_channels, args.depth, args.max_channels  # default: the chapter's U-Net
    G = InpaintUNet(InpaintUNet.Config(conv="gated", prefill="blend", fill_iters=iters, base_channels=base,
                                       depth=depth, max_channels=max_ch))
    params = sum(p.numel() for p in G.parameters())
    print(f"U-Net {base},{depth},{max_ch}: {params:,} parameters", flush=True)
    run.record(parameters=params)
    with torch.no_grad():
        G.last.conv.weight.zero_()

    real_h, real_b = restore.harmonic_fill, restore.biharmonic_fill
    GIVEN = {}
    restore.harmonic_fill = lambda *a, **k: GIVEN["h"] if GIVEN else real_h(*a, **k)
    restore.biharmonic_fill = lambda *a, **k: GIVEN["b"] if GIVEN else real_b(*a, **k)
    latest = {}

    def score():
        G.eval()
        with torch.no_grad():
            line = []
            for k, h in holes.items():
                hh = h.unsqueeze(1).float()
                out = R.composite(photos, G(R.apply_mask(photos, h), hh).clamp(-1, 1), hh)
                latest[f"{k}_psnr"] = R.scores(out, photos)['psnr']
                line.append(f"{k} {latest[f'{k}_psnr']:.2f}")
        G.train()
        return " ".join(line)

    history = []

    def on_report(step, spent):
        history.append({"step": step, "seconds": spent, **latest})
        run.record(history=history, step=step, **latest)

    t0 = time.time()
    imgs, hls, x = crop_pool(pool_n, crop, size)
    miss = hls > 0.5
    fh = torch.cat([real_h(x[j:j + 64], miss[j:j + 64], iters) for j in range(0, pool_n, 64)])
    fb = torch.cat([real_b(x[j:j + 64], miss[j:j + 64], iters) for j in range(0, pool_n, 64)])
    pool_seconds = time.time() - t0
    print(f"pool of {pool_n} crops with fills in {pool_seconds:.0f} s", flush=True)
    run.record(pool_seconds=pool_seconds)
    gen = torch.Generator().manual_seed(1)

    def batch_loss():
        idx = torch.randint(0, pool_n, (batch,), generator=gen)
        parts = dihedral([imgs[idx], hls[idx], fh[idx], fb[idx]], int(torch.randint(0, 8, (), generator=gen)))
        image, hole, GIVEN["h"], GIVEN["b"] = parts
        out = G(image, hole)
        GIVEN.clear()
        hole_e, valid_e = R.hole_valid_l1(out, image, hole, squared=True)
        return 6.0 * hole_e + valid_e

    train_timed(secs, G, batch_loss, score, lr, on_report=on_report)


if __name__ == "__main__":
    main()
