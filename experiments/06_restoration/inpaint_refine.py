"""Experiment behind chapter 6's inpainting results: what an InpaintUNet learns in a CPU budget, scored six times
during training on the chapter's nine held-out photos at 192 px (its stroke and box masks), against the harmonic
fill and biharmonic inpainting.

    .venv/bin/python experiments/06_restoration/inpaint_refine.py --seconds 180 --crop 64 --batch 16 --lr 2e-3 \\
        --base-channels 24 --depth 4 --max-channels 128 --prefill pp --conv gated --fill-iters 40 --loss l1

(the defaults). --prefill: pp = harmonic fill, bh = biharmonic fill, blend = both, mixed per pixel by the network,
zeros = none. --match: training crops at the held-out photos' scale (a crop covers crop/192 of a photo's shorter
side) and holes drawn at 192 px (MaskedBatches(reference=192)); without it, crops of 1/4 to all of the shorter side
and holes drawn at the crop's size (what chapter 6 did before). --zero: the U-Net's last layer starts at 0 (its
correction of the fill starts at exactly 0). --boxes SHARE trains on whole batches of box holes with that
probability, else strokes (the default 0.25 keeps the library's "mixed" masks, boxes one time in four).

The baselines and the U-Net's scores (PSNR, SSIM) at each evaluation go to runs/experiments/inpaint_refine/
metrics.json (`--run-dir` for another folder, one per variant if you keep several; `synthlib.collect` gathers
them): `baselines`, `history`, the last `strokes` and `boxes`, `parameters`, `steps`. Run it alone: two torch jobs
on 2 cores slow each other several times over.

Results (then `benchmarks/trials/inpaint_refine.py SECONDS CROP BATCH LR BASE DEPTH MAX_CH PREFILL CONV FILL_ITERS
LOSS [MATCH [ZERO]]` with $BOXES; written here with today's options, each row's unnamed options at the defaults):

Measured 2026-11-24 (commits 12b3dc0 and 7ae4195, quiet 2-core CPU; the library's fills and masks have changed since):
from zeros (`--prefill zeros`) the network stays far below the fills; from the harmonic fill (the defaults) it adds a
few hundredths of a dB in three minutes (gated, L1); with `--conv partial --loss mse --lr 1e-3` it falls 0.05-0.2 dB
below the fill. `--match --zero`: neither changed the result (+0.02-0.03 dB over the fill after ~300 steps).

Measured 2026-11-25 (commit bd61ea0; one thread, the other core busy; strokes / boxes PSNR in dB; scikit-image's
biharmonic 26.14 / 22.50; step 0 = the untrained network):
  --prefill blend --zero                                                    26.16 / 24.16 -> 171 steps: 26.15 / 24.09
  --crop 48 --lr 1e-3 --base-channels 16 --depth 3 --max-channels 64 --prefill blend --fill-iters 100 --loss mse
      --match --zero                                                        26.49 / 24.26 -> 98 steps: 26.33 / (n/a)
  --crop 48 --lr 2e-4 --base-channels 16 --depth 3 --max-channels 64 --prefill blend --fill-iters 100 --loss mse
      --match --zero                                                        26.49 / 24.26 -> 163 steps: 26.41 / 24.28
  --lr 5e-5 --prefill blend --fill-iters 100 --loss mse --match --zero     26.49 / 24.26 -> 124 steps: 26.48 / 24.25
  --batch 32 --lr 2e-4 --prefill blend --fill-iters 100 --loss mse --match --zero
                                                                            26.49 / 24.26 -> 72 steps: 26.43 / 24.40
The blend's start (the mean of the two fills at 100 iterations) is above either fill on strokes; training in
this budget does not add to it (larger learning rates first cost 0.1-0.2 dB, then recover part of it).

Measured 2026-11-25 (session 9, commit e32a480, two threads), boxes half the time with a small U-Net:
  --batch 32 --lr 1e-3 --base-channels 8 --depth 4 --max-channels 64 --prefill blend --fill-iters 100 --loss mse
      --match --zero --boxes 0.5                                            26.49 / 24.26 -> 179 steps: 26.36 / 24.45
  (in between: 26.32 / 24.13, 26.34 / 24.17, 26.43 / 24.23, 25.97 / 24.11, 26.38 / 24.48): boxes gain 0.2 dB
  late, strokes lose as much and wander; no setting here learns past the fills on both.

Measured 2026-12-07 (session 25, two threads, alone), the ceiling: trained on the nine held-out photos themselves
  --seconds 600 --batch 32 --lr 2e-4 --prefill blend --fill-iters 100 --loss mse --match --zero --on-heldout
                                                                            26.49 / 24.26 -> 832 steps: 26.57 / 24.52
  (at 137, 275, 416, 555, 694 steps: 26.47 / 24.37, 26.43 / 24.51, 26.38 / 24.47, 26.50 / 24.50, 26.56 / 24.56;
  the harmonic fill alone: 26.02 / 24.44). Even the very pictures it is scored on teach the network 0.08 dB on
  strokes in ten minutes: the training photos are not what holds it back.
"""
from __future__ import annotations

import argparse
import time

import torch

from synthlib import restoration as R
from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.core.train import Trainer
from synthlib.data.crops import RandomCrops
from synthlib.data.photos import load_photo, photo_names
from synthlib.restoration import InpaintUNet, harmonic_fill
from synthlib.restoration.inpaint_net import INPAINT_CONVS
from synthlib.style import resize_shorter

NAME = "inpaint_refine"
PREFILLS = {"pp": "harmonic", "bh": "biharmonic", "blend": "blend", "zeros": "zeros"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--seconds", type=float, default=180.0,
                   help="training time budget, scored after each sixth (was positional SECONDS, required; every "
                        "old positional argument without a default now defaults to the old usage example's value)")
    p.add_argument("--crop", type=int, default=64, help="training crop size in px (was CROP)")
    p.add_argument("--batch", type=int, default=16, help="batch size (was BATCH)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate (was LR)")
    p.add_argument("--base-channels", type=int, default=24, help="the U-Net's base channels (was BASE)")
    p.add_argument("--depth", type=int, default=4, help="the U-Net's levels (was DEPTH)")
    p.add_argument("--max-channels", type=int, default=128, help="the U-Net's widest layer (was MAX_CH)")
    p.add_argument("--prefill", choices=tuple(PREFILLS), default="pp",
                   help="what the U-Net starts from: pp = harmonic fill, bh = biharmonic fill, blend = both mixed "
                        "per pixel, zeros = nothing (was PREFILL; any other word meant zeros)")
    p.add_argument("--conv", choices=INPAINT_CONVS, default="gated", help="the U-Net's convolutions (was CONV)")
    p.add_argument("--fill-iters", type=int, default=40,
                   help="the fills' iterations per pyramid level (was FILL_ITERS)")
    p.add_argument("--loss", choices=("l1", "mse"), default="l1", help="the pixel loss (was LOSS)")
    p.add_argument("--match", action="store_true",
                   help="crops at the held-out photos' scale, holes drawn at 192 px (was MATCH = 'match')")
    p.add_argument("--zero", action="store_true",
                   help="the U-Net's last layer starts at 0 (was ZERO = 'zero')")
    p.add_argument("--boxes", type=float, default=0.25,
                   help="share of whole batches of box holes, else strokes; 0.25 = the library's mixed masks "
                        "(was $BOXES)")
    p.add_argument("--on-heldout", action="store_true",
                   help="train on crops of the nine held-out photos themselves (a ceiling, not a result: what the "
                        "network learns when it has seen the very pictures it is scored on)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    secs, crop, batch, lr = args.seconds, args.crop, args.batch, args.lr
    base, depth, maxc = args.base_channels, args.depth, args.max_channels
    prefill = PREFILLS[args.prefill]
    torch.manual_seed(0)
    size = 192
    names = photo_names("heldout")
    photos = torch.cat([resize_shorter(load_photo(n, size)[None], size)[..., :size, :size] for n in names])
    holes = {k: torch.stack([R.random_hole(size, size, k, (0.1, 0.3),
                                           torch.Generator().manual_seed((0 if k == "strokes" else 100) + i))
                             for i in range(len(names))]) for k in ("strokes", "boxes")}
    conv = args.conv
    G = InpaintUNet(InpaintUNet.Config(conv=conv, base_channels=base, depth=depth, max_channels=maxc, prefill=prefill,
                                       fill_iters=args.fill_iters))
    baselines = {}
    for k, h in holes.items():
        hh = h.unsqueeze(1).float()
        harmonic = R.scores(harmonic_fill(R.apply_mask(photos, h), hh, args.fill_iters), photos)
        biharmonic = R.scores(torch.stack([R.inpaint_biharmonic(R.apply_mask(p, m), m) for p, m in zip(photos, h)]),
                              photos)
        baselines[k] = {"harmonic": harmonic, "biharmonic": biharmonic}
        print(k, "harmonic", harmonic, "biharmonic", biharmonic)
    run.record(baselines=baselines)
    if args.zero:  # the correction starts at exactly 0
        with torch.no_grad():
            last = G.last.conv if conv == "gated" else G.last
            last.weight.zero_()
    params = sum(p.numel() for p in G.parameters())
    print("params", params)
    run.record(parameters=params)
    match = args.match
    scale = (0.8 * crop / size, min(1.0, 1.25 * crop / size)) if match else (0.25, 1.0)
    role = "heldout" if args.on_heldout else "train"
    data = R.MaskedBatches(RandomCrops(role, crop=crop, n=100000, seed=0, scale=scale).batches(batch), seed=0,
                           reference=size if match else None)
    box_share = args.boxes  # whole batches of boxes with this probability, else of strokes
    if box_share != 0.25:
        kinds = {k: R.MaskedBatches(RandomCrops(role, crop=crop, n=100000, seed=s, scale=scale).batches(batch),
                                    kind=k, seed=s, reference=size if match else None)
                 for s, k in enumerate(("strokes", "boxes"))}
        coin = torch.Generator().manual_seed(7)
        data = (next(kinds["boxes" if float(torch.rand((), generator=coin)) < box_share else "strokes"])
                for _ in iter(int, 1))
    cfg = R.InpaintConfig(lr=lr, batch_size=batch, betas=(0.9, 0.999), pixel_loss=args.loss)
    t = Trainer(models={"G": G}, phases=R.inpaint_phases(G, cfg), data=data, config=cfg, kind="inpaint", device="cpu",
                progress=False)
    history = []

    def evaluate():
        G.eval()
        row = {"step": t.step}
        with torch.no_grad():
            for k, h in holes.items():
                hh = h.unsqueeze(1).float()
                out = R.composite(photos, G(R.apply_mask(photos, h), hh).clamp(-1, 1), hh)
                row[k] = R.scores(out, photos)
                print(t.step, k, "unet", row[k], flush=True)
        G.train()
        history.append(row)
        run.record(history=history, step=t.step, strokes=row["strokes"], boxes=row["boxes"])

    evaluate()  # step 0: the untrained network (with a prefill: where the training starts from)
    t0 = time.time()
    for chunk in range(6):
        t.fit(max_seconds=secs / 6)
        evaluate()
    elapsed = time.time() - t0
    print("steps", t.step, elapsed)
    run.record(steps=t.step, train_seconds=elapsed)


if __name__ == "__main__":
    main()
