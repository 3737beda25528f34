"""Samplers against network evaluations: FID of one trained checkpoint per process, sampled 1 to 50 calls.

Chapter 7 trains one U-Net as a diffusion model (epsilon prediction) and one as a flow-matching model (velocity).
A trained network fixes what each step can know; the sampler decides how many steps it takes to get there. This
script samples the course weights (``course:diffusion-fashion``, ``course:flow-fashion``; any checkpoint of chapter
7 with ``--diffusion`` / ``--flow``) with each sampler at a range of network evaluations (NFE) and scores every set
of samples with the course's FID and KID against Fashion-MNIST's held-out test images:

* diffusion, **DDIM** (eta = 0, ``synthlib.likelihood.generate``): NFE = steps;
* diffusion, **DDPM** ancestral steps (eta = 1) on the same strided step sequence: NFE = steps;
* diffusion, **DPM-Solver++(2M)** from ``diffusers`` (``DPMSolverMultistepScheduler`` built on the checkpoint's own
  betas, epsilon prediction, the predicted clean image clipped to [-1, 1] at every step as DDIM's is, the network
  called with the same ``t / T`` input as in training): NFE = steps;
* flow, **Euler**: NFE = steps; flow, **Heun** (Karras et al.'s second-order step, no correction at the data end):
  NFE = 2 steps - 1, so an NFE budget n runs (n + 1) // 2 steps.

Every sampler sees the same starting noise and the same class labels (every class equally often, guidance 0). The
table (sampler, NFE, FID, KID x 1000, seconds per 1,000 images) is printed, written as JSON (``--out``, default
``runs/bench/samplers.json``) with a figure beside it (FID against NFE, log-log), and the summary line says which
sampler reaches 50-step DDIM's FID with the fewest evaluations.

    python benchmarks/samplers.py                        # course weights, 2,000 samples per point (~40 min, 2 cores)
    python benchmarks/samplers.py --num 500 --nfe 5,10,20
    python benchmarks/samplers.py --quick                # seconds: untrained tiny networks (for the tests)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthlib.core.train import pick_device  # noqa: E402
from synthlib.likelihood import diffusion as dm  # noqa: E402

OUT = Path("runs/bench/samplers.json")
NFE = (1, 2, 3, 5, 10, 20, 50)
Sampler = Callable[[nn.Module, Tensor, Tensor, int], Tensor]   # (model, noise, labels, nfe) -> images


def ddim(model: nn.Module, noise: Tensor, labels: Tensor, nfe: int) -> Tensor:
    return dm.generate(model, noise, labels, steps=nfe, sampler="ddim")


def ddpm_strided(seed: int) -> Sampler:
    def run(model: nn.Module, noise: Tensor, labels: Tensor, nfe: int) -> Tensor:
        g = torch.Generator().manual_seed(seed)
        return dm.generate(model, noise, labels, steps=nfe, sampler="ddpm", generator=g)
    return run


@torch.no_grad()
def dpm_solver(model: nn.Module, noise: Tensor, labels: Tensor, nfe: int) -> Tensor:
    """``diffusers``' DPM-Solver++(2M) on the checkpoint's own schedule, ``nfe`` network calls."""
    from diffusers import DPMSolverMultistepScheduler

    schedule = dm.NoiseSchedule.of(model)
    T = schedule.num_timesteps
    # thresholding at 1.0 clips each step's predicted clean image to [-1, 1], as DDIM and DDPM do here
    # (ddim_step's clip): without it, the first steps' x0 = (x - sigma eps) / alpha, with alpha ~ 1e-4 at the
    # cosine schedule's noisy end, turns a small error in eps into a huge one (measured: FID 73 at 50 NFE)
    scheduler = DPMSolverMultistepScheduler(num_train_timesteps=T, trained_betas=schedule.betas.float().numpy(),
                                            prediction_type="epsilon", algorithm_type="dpmsolver++", solver_order=2,
                                            thresholding=True, sample_max_value=1.0)
    scheduler.set_timesteps(nfe)
    x = noise.float()
    for t in scheduler.timesteps:
        t_in = torch.full((len(x),), float(t) / T, device=x.device)
        eps = dm.guided(model, x, t_in, labels, 0.0)
        x = scheduler.step(eps, t, x).prev_sample
    return x.clamp(-1, 1)


def euler(model: nn.Module, noise: Tensor, labels: Tensor, nfe: int) -> Tensor:
    return dm.generate(model, noise, labels, steps=nfe, sampler="euler")


def heun_steps(nfe: int) -> int:
    """Heun's steps that fit ``nfe`` network calls (2 per step but the last): (nfe + 1) // 2."""
    return max(1, (nfe + 1) // 2)


def heun(model: nn.Module, noise: Tensor, labels: Tensor, nfe: int) -> Tensor:
    return dm.generate(model, noise, labels, steps=heun_steps(nfe), sampler="heun")


def calls(name: str, nfe: int) -> int:
    """The network calls a sampler makes for an NFE budget (Heun rounds down to a whole step)."""
    return 2 * heun_steps(nfe) - 1 if name == "flow, Heun" else nfe


def sample_all(sampler: Sampler, model: nn.Module, noise: Tensor, labels: Tensor, nfe: int, batch: int,
               device: torch.device) -> Tensor:
    out = [sampler(model, noise[i:i + batch].to(device), labels[i:i + batch].to(device), nfe).cpu()
           for i in range(0, len(noise), batch)]
    return torch.cat(out).float()


def tiny_model(process: str) -> nn.Module:
    from synthlib.likelihood.networks import DiffusionUNet

    torch.manual_seed(0)
    return DiffusionUNet(DiffusionUNet.Config(num_classes=10, process=process, channels=(8, 16), patch=2)).eval()


def load(path: str, device: torch.device) -> nn.Module:
    from synthlib.sample import load_generator

    return load_generator(path, device=device)[0]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from synthlib.data import from_uint8, load_fashion_mnist_uint8
    from synthlib.metrics.fid import FIDEvaluator

    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        models = {"diffusion": tiny_model("diffusion"), "flow": tiny_model("flow")}
        num, nfes, num_real, kid_subsets = 20, (1, 2), 100, 2
    else:
        models = {"diffusion": load(args.diffusion, device), "flow": load(args.flow, device)}
        num, nfes, num_real, kid_subsets = args.num, tuple(int(n) for n in args.nfe.split(",")), args.num_real, 50
    models = {k: m.to(device).eval() for k, m in models.items()}
    test_u8, _ = load_fashion_mnist_uint8("test")
    evaluate = FIDEvaluator(from_uint8(test_u8[:num_real]), kid_subsets=kid_subsets,
                            kid_subset_size=min(1000, num, num_real))
    g = torch.Generator().manual_seed(args.seed)
    noise, labels = torch.randn(num, 1, 28, 28, generator=g), torch.arange(num) % 10
    samplers: dict[str, tuple[str, Sampler]] = {
        "diffusion, DDIM": ("diffusion", ddim),
        "diffusion, DDPM (strided, eta 1)": ("diffusion", ddpm_strided(args.seed + 1)),
        "diffusion, DPM-Solver++(2M) (diffusers)": ("diffusion", dpm_solver),
        "flow, Euler": ("flow", euler),
        "flow, Heun": ("flow", heun),
    }
    if args.samplers:
        wanted = args.samplers.split(",")
        samplers = {k: v for k, v in samplers.items() if any(w.strip().lower() in k.lower() for w in wanted)}
    print(f"{num:,} samples per point against {num_real:,} test images; NFE {nfes}; device {device}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'sampler':42s} {'NFE':>4s} {'FID':>8s} {'KID x1000':>10s} {'s/1000 img':>11s}")
    rows = []
    for name, (process, sampler) in samplers.items():
        done = set()
        for nfe in nfes:
            if calls(name, nfe) in done:      # Heun: budgets 1 and 2 both run one step (one call)
                continue
            done.add(calls(name, nfe))
            start = time.perf_counter()
            images = sample_all(sampler, models[process], noise, labels, nfe, args.batch, device)
            seconds = time.perf_counter() - start
            r = evaluate(images)
            row = {"sampler": name, "process": process, "nfe": calls(name, nfe), "fid": float(r["fid"]),
                   "kid_x1000": 1000 * float(r["kid_mean"]), "s_per_1000": 1000 * seconds / num}
            rows.append(row)
            print(f"{name:42s} {row['nfe']:4d} {row['fid']:8.2f} {row['kid_x1000']:10.2f} {row['s_per_1000']:11.1f}",
                  flush=True)
    summary = summarise(rows)
    result = {"rows": rows, "summary": summary, "num_samples": num, "num_real": num_real, "seed": args.seed,
              "checkpoints": {"diffusion": "tiny untrained" if args.quick else args.diffusion,
                              "flow": "tiny untrained" if args.quick else args.flow},
              "device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    figure(rows, out.with_suffix(".png"))
    print(summary["line"])
    return result


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The reference (DDIM at its largest NFE) and, per sampler, the fewest calls that reach its FID."""
    ddim_rows = [r for r in rows if r["sampler"] == "diffusion, DDIM"]
    if not ddim_rows:
        return {"line": "no DDIM rows: nothing to compare with"}
    ref = max(ddim_rows, key=lambda r: r["nfe"])
    reach = {}
    for name in dict.fromkeys(r["sampler"] for r in rows):
        ok = [r["nfe"] for r in rows if r["sampler"] == name and r["fid"] <= ref["fid"]]
        reach[name] = min(ok) if ok else None
    best = min((n for n in reach.items() if n[1] is not None), key=lambda kv: kv[1], default=None)
    line = (f"reference: DDIM at {ref['nfe']} NFE, FID {ref['fid']:.2f}; "
            + "; ".join(f"{k}: {'not reached' if v is None else f'{v} NFE'}" for k, v in reach.items()))
    if best is not None:
        line += f" -> fewest: {best[0]} ({best[1]} NFE)"
    return {"reference": ref, "nfe_to_match": reach, "line": line}


def figure(rows: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name in dict.fromkeys(r["sampler"] for r in rows):
        pts = sorted((r["nfe"], r["fid"]) for r in rows if r["sampler"] == name)
        ax.plot(*zip(*pts), "o-", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("network evaluations (NFE)")
    ax.set_ylabel("FID")
    ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--diffusion", default="course:diffusion-fashion", help="a chapter 7 diffusion checkpoint")
    p.add_argument("--flow", default="course:flow-fashion", help="a chapter 7 flow-matching checkpoint")
    p.add_argument("--num", type=int, default=2000, help="samples per point (default 2000)")
    p.add_argument("--num-real", type=int, default=10_000, help="test images FID compares with (default 10000)")
    p.add_argument("--nfe", default=",".join(map(str, NFE)), help="network-evaluation budgets (default %(default)s)")
    p.add_argument("--samplers", default="", help="comma-separated parts of sampler names to run (default: all)")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--quick", action="store_true", help="seconds: tiny untrained networks, 20 samples, NFE 1 and 2")
    args = p.parse_args(argv)
    if not math.isfinite(args.num) or args.num < 2:
        p.error("--num must be at least 2 (FID needs two images)")
    return run(args)


if __name__ == "__main__":
    main()
