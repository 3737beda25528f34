"""Trial behind chapter 4's moving-average decoder: how steady is AdaIN's style loss over training, last weights vs
their EMA, with the chapter's default-profile settings (relu2_1, width 0.5, 96-px crops, batch 8, recon 1).

    .venv/bin/python benchmarks/trials/adain_ema.py SEED HALF_LIFE_IMG LR SECONDS    # e.g. 0 800 1e-3 240

Every 30 steps it prints the style loss (Gatys layers, relative) of both on the chapter's three held-out photos at
192 px with Starry Night. Run it alone: two torch jobs on 2 cores slow each other several times over.
"""
import sys
import time

import torch
from synthlib.data.photos import RandomCrops, load_photo
from synthlib.models import AdaINDecoder
from synthlib.models.vgg import load_vgg16_features
from synthlib.style import AdaINConfig, adain_trainer, adain_transfer, resize_shorter, transfer_scores, match_colors
from synthlib.train import Callback
from synthlib.translation import ZipBatches

seed, hl, lr, secs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
torch.manual_seed(seed)
vgg = load_vgg16_features("offline-hed", "cpu", max_layer="relu5_1").to(memory_format=torch.channels_last)
size = 192
contents = torch.cat([resize_shorter(load_photo(n, size)[None], size)[..., :size, :size] for n in ("chelsea", "astronaut", "coffee")])
style = load_photo("starry_night", size)[None]
base = transfer_scores(vgg, match_colors(contents, style), contents, style)
print("colour matching", base, flush=True)
cfg = AdaINConfig(layer="relu2_1", style_weight=1.0, lr=lr, batch_size=8, recon_weight=1.0, ema_half_life_img=hl)
dec = AdaINDecoder(AdaINDecoder.Config(layer="relu2_1", width=0.5))
crops = lambda role, s: RandomCrops(role, crop=96, n=6000, seed=s, scale=(0.25, 1.0))
pairs = ZipBatches(crops("train", seed + 1).batches(8), crops("style", seed + 2).batches(8))
rows = []
def score(t):
    r = {"step": t.step}
    for name, m in (("raw", dec), ("ema", t.emas.get("decoder_ema").model if t.emas else None)):
        if m is None: continue
        m.eval()
        out = adain_transfer(m, vgg, contents, style)
        r[name] = transfer_scores(vgg, out, contents, style)["style"]
        m.train() if name == "raw" else None
    rows.append(r); print(r, flush=True)
t = adain_trainer(dec, vgg, pairs, cfg, device="cpu", progress=False, callbacks=[Callback(30, score)])
t0 = time.time(); t.fit(10**6, max_seconds=secs); print("steps", t.step, "s", time.time() - t0)
