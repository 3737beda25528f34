"""Trial for chapter 6: does the blend U-Net learn past its start when its classical fills are precomputed?

In chapter 6 the two fills (harmonic and biharmonic, 100 iterations per pyramid level) are computed inside every
training step and dominate its cost (~90 steps in 180 s). Here a pool of POOL training crops (64 px, at the
held-out photos' scale, holes drawn at 192 px as in the chapter) gets its fills once; training then draws batches
from the pool, each with one of the 8 flips/quarter turns of the square (the fills commute with them: the
Laplacian is the same in every direction), and runs only the network. Scored on the chapter's nine held-out photos
(strokes / boxes PSNR, fills computed there as usual).

    .venv/bin/python benchmarks/trials/inpaint_pool.py SECONDS POOL BATCH LR
    # e.g. 180 1024 32 2e-4

Run it alone (2 cores).

Measured 2026-11-25 (180 1024 32 2e-4; strokes / boxes PSNR in dB on the nine held-out photos): the pool's fills
took 63 s; without them a step still costs ~0.9 s (the U-Net itself: the fills were about half of the chapter's
~2 s step, not most of it), so 165 steps instead of ~90: step 0 26.49 / 24.26 (the mean of the fills), then
26.43 / 24.25, 26.34 / 24.44, 26.35 / 24.15, 26.36 / 24.25, 26.43 / 24.36. Twice the steps do not move it either.

UNET=base,depth,max_channels sets the U-Net (default 24,4,128, the chapter's). Measured 2026-11-25 (session 9) with a U-Net
a fifth the size, UNET=8,4,64 (346 k parameters), 180 1024 32 1e-3: 1,147 steps (pool 42 s); strokes / boxes
26.49 / 24.26 at step 0, then 26.44 / 24.51, 26.39 / 24.43, 26.36 / 24.45, 26.52 / 24.42, 26.48 / 24.37,
26.33 / 24.32. Seven times the steps: the box rule is learned within 30 s (+0.25 dB, as the mixer's) and then
fades, strokes wander by +-0.1 dB. So the step count is not what is missing: what the two fills leave wrong on
these photos is not learned from a few CPU minutes of crops, by a large network or a small one.
"""
import os, sys, time
import torch
from synthlib import restoration as R
from synthlib.data.photos import load_photo, photo_names
from synthlib.models import InpaintUNet
from synthlib.models import restore
from synthlib.style import resize_shorter
from inpaint_common import crop_pool, dihedral, train_timed

secs, pool_n, batch, lr = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
torch.manual_seed(0)
size, crop, iters = 192, 64, 100
names = photo_names("heldout")
photos = torch.cat([resize_shorter(load_photo(n, size)[None], size)[..., :size, :size] for n in names])
holes = {k: torch.stack([R.random_hole(size, size, k, (0.1, 0.3), torch.Generator().manual_seed((0 if k == "strokes" else 100) + i))
                         for i in range(len(names))]) for k in ("strokes", "boxes")}
base, depth, max_ch = (int(v) for v in os.environ.get("UNET", "24,4,128").split(","))  # the chapter's default U-Net
G = InpaintUNet(InpaintUNet.Config(conv="gated", prefill="blend", fill_iters=iters, base_channels=base, depth=depth,
                                   max_channels=max_ch))
print(f"U-Net {base},{depth},{max_ch}: {sum(p.numel() for p in G.parameters()):,} parameters", flush=True)
with torch.no_grad():
    G.last.conv.weight.zero_()

real_h, real_b = restore.harmonic_fill, restore.biharmonic_fill
GIVEN = {}
restore.harmonic_fill = lambda *a, **k: GIVEN["h"] if GIVEN else real_h(*a, **k)
restore.biharmonic_fill = lambda *a, **k: GIVEN["b"] if GIVEN else real_b(*a, **k)

def score():
    G.eval()
    with torch.no_grad():
        line = []
        for k, h in holes.items():
            hh = h.unsqueeze(1).float()
            out = R.composite(photos, G(R.apply_mask(photos, h), hh).clamp(-1, 1), hh)
            line.append(f"{k} {R.scores(out, photos)['psnr']:.2f}")
    G.train()
    return " ".join(line)

t0 = time.time()
imgs, hls, x = crop_pool(pool_n, crop, size)
miss = hls > 0.5
fh = torch.cat([real_h(x[j:j + 64], miss[j:j + 64], iters) for j in range(0, pool_n, 64)])
fb = torch.cat([real_b(x[j:j + 64], miss[j:j + 64], iters) for j in range(0, pool_n, 64)])
print(f"pool of {pool_n} crops with fills in {time.time() - t0:.0f} s", flush=True)
gen = torch.Generator().manual_seed(1)

def batch_loss():
    idx = torch.randint(0, pool_n, (batch,), generator=gen)
    parts = dihedral([imgs[idx], hls[idx], fh[idx], fb[idx]], int(torch.randint(0, 8, (), generator=gen)))
    image, hole, GIVEN["h"], GIVEN["b"] = parts
    out = G(image, hole)
    GIVEN.clear()
    hole_e, valid_e = R.hole_valid_l1(out, image, hole, squared=True)
    return 6.0 * hole_e + valid_e

train_timed(secs, G, batch_loss, score, lr)
