"""Experiment: how good do a diffusion model and a flow-matching model get in a CPU budget?

Trains chapter 7's class-conditioned U-Net (DiffusionUNet) with one process for a time budget, then draws 1,000
samples (its EMA weights, 100 per class) without and with classifier-free guidance (w = 0 and 2) and prints steps
taken, FID/KID (against 2,000 test images, the offline classifier's features), per-class accuracy and sampling time.

    .venv/bin/python experiments/07_likelihood/diffusion_budget.py --process flow --seconds 180 --batch 64 \\
        --lr 1e-3 --channels 32,64 --patch 2 --steps 20

(the defaults). It records the same numbers in runs/experiments/diffusion_budget/metrics.json (`--run-dir` for
another folder; `synthlib.collect` gathers it) and saves each sample grid there as samples_w<W>.png (it used to
write /tmp/diff_<process>_<w>.png). Run it alone (2 cores).

Measured 2026-11-25 (commit bbb9101, which added chapter 7's library; recorded only in that commit's message:
"Trial: flow FID 12.6 (8.1 guided) vs diffusion 28.4 (13.6) after 200 s on one thread"): the command was not
recorded beyond the process, 200 s and one thread; with the defaults above that is

    OMP_NUM_THREADS=1 .venv/bin/python experiments/07_likelihood/diffusion_budget.py --process flow --seconds 200
    OMP_NUM_THREADS=1 .venv/bin/python experiments/07_likelihood/diffusion_budget.py --process diffusion --seconds 200

No chapter cites these numbers (chapter 7 measures both processes in its own run).
"""
from __future__ import annotations

import argparse
import time

import matplotlib
import torch

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

from synthlib import plots  # noqa: E402
from synthlib.core.runs import experiment_parser, start_experiment  # noqa: E402
from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8  # noqa: E402
from synthlib.likelihood import DiffusionConfig, denoiser_trainer, generate  # noqa: E402
from synthlib.likelihood.networks import DiffusionUNet  # noqa: E402
from synthlib.metrics.fid import FIDEvaluator, per_class_accuracy  # noqa: E402

NAME = "diffusion_budget"


def _channels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints such as 32,64, got {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    p.add_argument("--process", choices=("diffusion", "flow"), default="flow",
                   help="what the U-Net learns: denoising diffusion or flow matching (was positional PROCESS, "
                        "required; the default is the old usage example's)")
    p.add_argument("--seconds", type=float, default=180.0,
                   help="training time budget (was SECONDS, required; the usage example's value)")
    p.add_argument("--batch", type=int, default=64, help="batch size (was BATCH)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (was LR)")
    p.add_argument("--channels", type=_channels, default=(32, 64),
                   help="the U-Net's channels per level, comma-separated (was CHANNELS)")
    p.add_argument("--patch", type=int, default=2, help="the U-Net's patch stem size (was PATCH)")
    p.add_argument("--steps", type=int, default=20, help="sampling steps (network evaluations) (was STEPS)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    process, seconds = args.process, args.seconds
    batch, lr, chans, patch, steps = args.batch, args.lr, args.channels, args.patch, args.steps
    torch.manual_seed(0)
    x_u8, y = load_fashion_mnist_uint8("train")
    test_u8, test_y = load_fashion_mnist_uint8("test")
    model = DiffusionUNet(DiffusionUNet.Config(channels=chans, patch=patch, num_classes=10, process=process))
    params = sum(p.numel() for p in model.parameters())
    print(f"{params/1e6:.2f}M params", flush=True)
    tr = denoiser_trainer(model, TensorBatches(x_u8, y, batch_size=batch, transform=from_uint8),
                          DiffusionConfig(batch_size=batch, lr=lr), device="cpu")
    t0 = time.perf_counter()
    tr.fit(max_seconds=seconds)
    el = time.perf_counter() - t0
    loss = tr.history[process + '/loss']['value'][-1]
    print(f"{tr.step} steps in {el:.0f} s ({tr.step/el:.2f}/s), loss {loss:.4f}", flush=True)
    run.record(parameters=params, steps=tr.step, train_seconds=el, loss=loss)
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
        mean_acc = float(torch.as_tensor(acc).mean())
        print(f"w={w}: FID {r['fid']:.1f} KID {1000*r['kid_mean']:.1f} acc {mean_acc:.3f} sample {ts:.0f} s",
              flush=True)
        run.record(**{f"w{w:g}": {"fid": r["fid"], "kid_x1000": 1000 * r["kid_mean"], "class_accuracy": mean_acc,
                                  "sample_seconds": ts}})
        fig, ax = plt.subplots(figsize=(6, 6))
        plots.image_grid(imgs[:100], nrow=10, ax=ax)
        fig.savefig(run.path(f"samples_w{w:g}.png"))


if __name__ == "__main__":
    main()
