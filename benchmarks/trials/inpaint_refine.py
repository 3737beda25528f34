"""Trial behind chapter 6's inpainting results: what an InpaintUNet learns in a CPU budget, scored six times during
training on the chapter's nine held-out photos at 192 px (its stroke and box masks), against the harmonic fill and
biharmonic inpainting.

    .venv/bin/python benchmarks/trials/inpaint_refine.py SECONDS CROP BATCH LR BASE DEPTH MAX_CH PREFILL CONV FILL_ITERS LOSS [MATCH [ZERO]]
    # e.g. 180 64 16 2e-3 24 4 128 pp gated 40 l1 match   (PREFILL: pp = harmonic fill, bh = biharmonic fill,
    # blend = both, mixed per pixel by the network; anything else = zeros)
    # MATCH = "match": training crops at the held-out photos' scale (a crop covers crop/192 of a photo's shorter
    # side) and holes drawn at 192 px (MaskedBatches(reference=192)); anything else: crops of 1/4 to all of
    # the shorter side and holes drawn at the crop's size (what chapter 6 did before).
    # ZERO = "zero": the U-Net's last layer starts at 0 (its correction of the fill starts at exactly 0).

Measured 2026-11-25 (one thread, the other core busy; strokes / boxes PSNR in dB; scikit-image's biharmonic 26.14 /
22.50; step 0 = the untrained network):
  180 64 16 2e-3 24 4 128 blend gated 40 l1 nomatch zero     step 0: 26.16 / 24.16 -> 171 steps: 26.15 / 24.09
  180 48 16 1e-3 16 3 64 blend gated 100 mse match zero      step 0: 26.49 / 24.26 -> 98 steps: 26.33 / (n/a)
  180 48 16 2e-4 16 3 64 blend gated 100 mse match zero      step 0: 26.49 / 24.26 -> 163 steps: 26.41 / 24.28
  180 64 16 5e-5 24 4 128 blend gated 100 mse match zero     step 0: 26.49 / 24.26 -> 124 steps: 26.48 / 24.25
  180 64 32 2e-4 24 4 128 blend gated 100 mse match zero     step 0: 26.49 / 24.26 -> 72 steps: 26.43 / 24.40
The blend's start (the mean of the two fills at 100 iterations) is above either fill on strokes; training in
this budget does not add to it (larger learning rates first cost 0.1-0.2 dB, then recover part of it).

BOXES=share trains on whole batches of box holes with that probability, else strokes (the library's "mixed" masks
are boxes one time in four). Measured 2026-11-25 (session 9, two threads), BOXES=0.5 with a small U-Net:
  180 64 32 1e-3 8 4 64 blend gated 100 mse match zero     step 0: 26.49 / 24.26 -> 179 steps: 26.36 / 24.45
  (in between: 26.32 / 24.13, 26.34 / 24.17, 26.43 / 24.23, 25.97 / 24.11, 26.38 / 24.48): boxes gain 0.2 dB
  late, strokes lose as much and wander; no setting here learns past the fills on both.

Run it alone: two torch jobs on 2 cores slow each other several times over.
"""
import os
import sys
import time

import torch
from synthlib.data.photos import RandomCrops, load_photo, photo_names
from synthlib.models import InpaintUNet
from synthlib import restoration as R
from synthlib.style import resize_shorter
secs, crop, batch, lr, base, depth, maxc = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
prefill = {"pp": "harmonic", "bh": "biharmonic", "blend": "blend"}.get(sys.argv[8], "zeros")
torch.manual_seed(0)
size = 192
names = photo_names("heldout")
photos = torch.cat([resize_shorter(load_photo(n, size)[None], size)[..., :size, :size] for n in names])
holes = {k: torch.stack([R.random_hole(size, size, k, (0.1, 0.3), torch.Generator().manual_seed((0 if k == "strokes" else 100) + i)) for i in range(len(names))]) for k in ("strokes", "boxes")}
conv = sys.argv[9] if len(sys.argv) > 9 else "gated"
G = InpaintUNet(InpaintUNet.Config(conv=conv, base_channels=base, depth=depth, max_channels=maxc, prefill=prefill, fill_iters=int(sys.argv[10])))
from synthlib.models.restore import harmonic_fill
for k, h in holes.items():
    hh = h.unsqueeze(1).float()
    print(k, "harmonic", R.scores(harmonic_fill(R.apply_mask(photos, h), hh, int(sys.argv[10])), photos), "biharmonic", R.scores(torch.stack([R.inpaint_biharmonic(R.apply_mask(p, m), m) for p, m in zip(photos, h)]), photos))
if len(sys.argv) > 13 and sys.argv[13] == "zero":  # the correction starts at exactly 0
    with torch.no_grad():
        last = G.last.conv if conv == "gated" else G.last
        last.weight.zero_()
print("params", sum(p.numel() for p in G.parameters()))
match = len(sys.argv) > 12 and sys.argv[12] == "match"
scale = (0.8 * crop / size, min(1.0, 1.25 * crop / size)) if match else (0.25, 1.0)
data = R.MaskedBatches(RandomCrops("train", crop=crop, n=100000, seed=0, scale=scale).batches(batch), seed=0,
                       reference=size if match else None)
box_share = float(os.environ.get("BOXES", "0.25"))  # BOXES=share: whole batches of boxes, else of strokes
if box_share != 0.25:
    kinds = {k: R.MaskedBatches(RandomCrops("train", crop=crop, n=100000, seed=s, scale=scale).batches(batch), kind=k,
                                seed=s, reference=size if match else None) for s, k in enumerate(("strokes", "boxes"))}
    coin = torch.Generator().manual_seed(7)
    data = (next(kinds["boxes" if float(torch.rand((), generator=coin)) < box_share else "strokes"]) for _ in iter(int, 1))
cfg = R.InpaintConfig(lr=lr, batch_size=batch, betas=(0.9, 0.999), pixel_loss=sys.argv[11])
from synthlib.train import Trainer
t = Trainer(models={"G": G}, phases=R.inpaint_phases(G, cfg), data=data, config=cfg, kind="inpaint", device="cpu", progress=False)
def evaluate():
    G.eval()
    with torch.no_grad():
        for k, h in holes.items():
            hh = h.unsqueeze(1).float()
            out = R.composite(photos, G(R.apply_mask(photos, h), hh).clamp(-1, 1), hh)
            print(t.step, k, "unet", R.scores(out, photos), flush=True)
    G.train()
evaluate()  # step 0: the untrained network (with a prefill: where the training starts from)
t0 = time.time()
for chunk in range(6):
    t.fit(10**6, max_seconds=secs / 6)
    evaluate()
print("steps", t.step, time.time() - t0)
