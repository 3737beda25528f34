"""Trial: how good do a diffusion model and a flow-matching model get in a CPU budget?

usage: python benchmarks/trials/diffusion_budget.py PROCESS SECONDS [BATCH [LR [CHANNELS [PATCH [STEPS]]]]]
e.g.   python benchmarks/trials/diffusion_budget.py flow 180 64 1e-3 32,64 2 20
Prints steps taken, FID/KID (1,000 samples, offline classifier) and per-class accuracy; writes a grid PNG.
"""
import sys, time, torch
from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8
from synthlib.models.diffusion import DiffusionUNet
from synthlib.diffusion import DiffusionConfig, denoiser_trainer, generate
from synthlib.metrics.fid import FIDEvaluator, per_class_accuracy
from synthlib import plots

a = sys.argv[1:]
process, seconds = a[0], float(a[1])
batch = int(a[2]) if len(a) > 2 else 64
lr = float(a[3]) if len(a) > 3 else 1e-3
chans = tuple(int(c) for c in (a[4] if len(a) > 4 else "32,64").split(","))
patch = int(a[5]) if len(a) > 5 else 2
steps = int(a[6]) if len(a) > 6 else 20
torch.manual_seed(0)
x_u8, y = load_fashion_mnist_uint8("train")
test_u8, test_y = load_fashion_mnist_uint8("test")
model = DiffusionUNet(DiffusionUNet.Config(channels=chans, patch=patch, num_classes=10, process=process))
print(f"{sum(p.numel() for p in model.parameters())/1e6:.2f}M params", flush=True)
tr = denoiser_trainer(model, TensorBatches(x_u8, y, batch_size=batch, transform=from_uint8), DiffusionConfig(batch_size=batch, lr=lr), device="cpu")
t0 = time.perf_counter(); tr.fit(10**9, max_seconds=seconds); el = time.perf_counter() - t0
print(f"{tr.step} steps in {el:.0f} s ({tr.step/el:.2f}/s), loss {tr.history[process + '/loss']['value'][-1]:.4f}", flush=True)
ev = FIDEvaluator(from_uint8(test_u8[:2000]), kid_subsets=20)
G = tr.ema.model
labels = torch.arange(1000) % 10
gen = torch.Generator().manual_seed(1)
for w in (0.0, 2.0):
    t0 = time.perf_counter()
    imgs = generate(G, torch.randn(1000, 1, 28, 28, generator=gen), labels, steps=steps, guidance=w)
    ts = time.perf_counter() - t0
    acc = per_class_accuracy(imgs, labels)
    r = ev(imgs)
    print(f"w={w}: FID {r['fid']:.1f} KID {1000*r['kid_mean']:.1f} acc {float(torch.as_tensor(acc).mean()):.3f} sample {ts:.0f} s", flush=True)
    import matplotlib; matplotlib.use("agg"); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 6)); plots.image_grid(imgs[:100], nrow=10, ax=ax)
    fig.savefig(f"/tmp/diff_{process}_{w}.png")
