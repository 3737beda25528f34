"""Chapter 7's diffusion recipe against the ``diffusers`` recipe: quality reached in the same training time, one run.

Both sides learn class-conditional Fashion-MNIST (28 x 28, grey, [-1, 1]) from the same batches (the same
``TensorBatches`` order, batch 64), in one process, one after the other, each for ``--seconds`` of wall time (default
300) measured by its own loop, with the same ``torch.set_num_threads`` (``--threads``, default 2):

* **synthlib**: chapter 7's own recipe at its default-profile sizes, built as the notebook's ``train_denoiser`` builds
  it: ``DiffusionUNet`` (channels (32, 64), patch 2, ``num_classes=10``, the notebook's ``schedule="cosine"``),
  ``DiffusionConfig(batch_size=64, lr=1e-3, ema_half_life_img=20_000)`` (AdamW, label dropout 0.1, EMA with ramp-up),
  ``denoiser_trainer(...).fit(max_seconds=...)`` with ``log_every=25``; its EMA network is sampled.
* **diffusers**: the recipe of ``diffusers``' ``examples/unconditional_image_generation/train_unconditional.py``,
  written here from it: ``UNet2DModel`` (two ResNet blocks per level as in the example, attention at the lowest
  level, widths (16, 32, 48) so that its parameter count is within 1 % of synthlib's; ``num_class_embeds=10`` makes it
  class-conditional like chapter 7's), ``DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")``, epsilon
  prediction and MSE, gradient-norm clipping at 1.0, ``AdamW(lr=1e-4, betas=(0.95, 0.999), weight_decay=1e-6,
  eps=1e-8)``, ``get_scheduler("cosine", num_warmup_steps=500, ...)`` and ``EMAModel(decay=0.9999,
  use_ema_warmup=True, inv_gamma=1.0, power=0.75)``, all the example's defaults; ``.item()`` on the loss every step,
  as the example logs it. The example's cosine ends at its last step (epochs x steps per epoch); here the last step is
  where the time runs out, so the total is estimated from the measured step rate at 10 % of the budget and
  re-estimated at 25, 50, 75 and 90 % (the schedule rebuilt at the current step; the warm-up does not depend on it).

Then each EMA network draws ``--num`` samples (default 2,000; every class equally often, guidance 0) from the same
starting noise with ``--nfe`` network evaluations (default 20): synthlib with ``synthlib.likelihood.generate``
(DDIM, x0 clipped), the peer with ``DDIMScheduler.from_config`` of its DDPM scheduler (eta 0, x0 clipped, diffusers'
default "leading" step spacing). Both sample sets are scored with the course's metrics against the first
``--num-real`` (default 10,000) Fashion-MNIST test images: FID and KID on the course classifier's features
(``FIDEvaluator``, 50 KID subsets) and improved precision / recall (k = 3). The table (side, parameters, steps,
images/s, FID, KID x 1000, precision, recall, sampling seconds per 1,000 images) is printed, written as JSON (``--out``,
default ``runs/bench/diffusion_peer.json``) with a PNG of 40 samples per side beside it, and the last line is
``ratio FID peer / synthlib: X.XXx`` (above 1: synthlib's samples are better).

    python benchmarks/diffusion_peer.py                       # 2 x 300 s training + sampling and scoring (~15 min)
    python benchmarks/diffusion_peer.py --seconds 600 --first diffusers
    python benchmarks/diffusion_peer.py --peer-size 32        # the peer at 32 px (images padded with -1)
    python benchmarks/diffusion_peer.py --process flow        # chapter 7's flow-matching model (Euler) instead
    python benchmarks/diffusion_peer.py --quick               # seconds: tiny networks, 3 s each (for the tests)
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthlib.core.train import pick_device  # noqa: E402
from synthlib.likelihood import diffusion as dm  # noqa: E402

OUT = Path("runs/bench/diffusion_peer.json")
SIDES = ("synthlib", "diffusers")
TOLERANCE = 0.15                 # the peer's parameter count is within 15 % of synthlib's at the default sizes
RE_ESTIMATE = (0.1, 0.25, 0.5, 0.75, 0.9)   # budget fractions at which the peer's cosine total is (re-)estimated
# train_unconditional.py's defaults (its argparse): the peer's recipe
PEER = dict(lr=1e-4, betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-8, lr_scheduler="cosine", warmup=500,
            ema_max_decay=0.9999, ema_inv_gamma=1.0, ema_power=0.75, grad_clip=1.0, num_train_timesteps=1000,
            beta_schedule="linear", prediction_type="epsilon")
SCHEDULE = "cosine"   # chapter 7's `schedule` parameter, as its parameters cell declares it
SAMPLER = {"diffusion": "DDIM", "flow": "Euler"}  # how synthlib's side is sampled, by its process


def chapter(quick: bool = False) -> Any:
    """Chapter 7's settings: the default profile's (the smoke profile's with ``quick``), one table with the notebook."""
    from synthlib.likelihood.chapter import LikelihoodSettings

    return LikelihoodSettings.for_profile("smoke" if quick else "default")
APPROXIMATIONS = (
    "diffusers' U-Net is the example's kind scaled to the same parameter count: 3 levels (28, 14, 7 px) of 2 ResNet "
    "blocks, attention at the lowest, widths (16, 32, 48), GroupNorm with 8 groups; the example's is 6 levels of "
    "(128, 128, 256, 256, 512, 512) for 64 px RGB",
    "class-conditional through num_class_embeds=10 (the example is unconditional); no label dropout (chapter 7 drops "
    "labels 10 % of the time for guidance; both are sampled with guidance 0)",
    "the cosine learning-rate schedule's total steps: the example takes epochs x batches per epoch; here the steps "
    "the time budget reaches, estimated from the measured rate at 10 % of the budget and re-estimated at 25/50/75/90 %",
    "the example's data pipeline (PIL resize, centre crop, optional flip, DataLoader) is replaced by the same "
    "in-memory TensorBatches as synthlib's: no flip, no resize, the same batches in the same order",
    "no accelerate: one process, fp32 (the example's mixed_precision default 'no'), no gradient accumulation",
    "sampled with DDIMScheduler (eta 0) at the same network evaluations as synthlib instead of the example's "
    "1,000-step DDPMPipeline",
)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def synthlib_unet(quick: bool = False, schedule: str = SCHEDULE, process: str = "diffusion") -> nn.Module:
    """Chapter 7's ``DiffusionUNet`` at the default profile's sizes (the smoke profile's with ``quick``), trained
    as a diffusion (epsilon) or a flow-matching (velocity) model: the same network either way."""
    from synthlib.likelihood.networks import DiffusionUNet

    return DiffusionUNet(DiffusionUNet.Config(num_classes=10, process=process, schedule=schedule,
                                              **chapter(quick).unet_arch))


def peer_unet(quick: bool = False, size: int = 28) -> nn.Module:
    """diffusers' ``UNet2DModel`` as ``train_unconditional`` builds it (``layers_per_block=2``, plain down/up blocks
    and one attention level), for ``size`` px grey images with 10 class embeddings; widths (16, 32, 48) give
    655,809 parameters against chapter 7's 654,180 (tiny (8, 8, 8) with ``quick``). 28 px is divisible by the
    two downsamplings of three levels, so no padding is needed (``size=32``: the images padded with -1)."""
    from diffusers import UNet2DModel

    return UNet2DModel(sample_size=size, in_channels=1, out_channels=1, layers_per_block=2,
                       block_out_channels=(8, 8, 8) if quick else (16, 32, 48), norm_num_groups=8,
                       down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"), num_class_embeds=10)


def seeded(seed: int, build: Any) -> Any:
    torch.manual_seed(seed)
    return build()


# ----------------------------------------------------------------------------------------------
# Training, each side for the same wall time


def train_synthlib(model: nn.Module, data: Iterator[Any], seconds: float, device: torch.device, *,
                   quick: bool) -> tuple[nn.Module, dict[str, Any]]:
    """Chapter 7's ``train_denoiser`` without its live view: ``denoiser_trainer(...).fit(max_seconds=seconds)``."""
    settings = chapter(quick)
    cfg = dm.DiffusionConfig(batch_size=settings.batch_size, lr=settings.lr,
                             ema_half_life_img=settings.ema_half_life_img)
    trainer = dm.denoiser_trainer(model, data, cfg, device=device, log_every=25, progress=False)
    cpu = time.process_time()
    fit = trainer.fit(max_seconds=seconds)
    cpu = time.process_time() - cpu
    losses = [v["value"][-1] for k, v in fit.items() if k.endswith("loss") and v.get("value")]
    info = {"steps": fit.steps, "images": fit.images, "train_s": fit.seconds, "train_cpu_s": cpu,
            "batch_size": cfg.batch_size, "lr": cfg.lr, "ema_half_life_img": cfg.ema_half_life_img,
            "last_loss": float(losses[-1]) if losses else None}
    return trainer.model("G_ema").eval(), info


def train_peer(model: nn.Module, data: Iterator[Any], seconds: float, device: torch.device, *, warmup: int,
               lr: float, pad: int = 0) -> tuple[nn.Module, dict[str, Any]]:
    """``train_unconditional.py``'s loop for ``seconds`` of wall time; returns a copy holding the EMA weights."""
    from diffusers import DDPMScheduler
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import EMAModel

    model = model.to(device)
    noise_scheduler = DDPMScheduler(num_train_timesteps=PEER["num_train_timesteps"],
                                    beta_schedule=PEER["beta_schedule"], prediction_type=PEER["prediction_type"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=PEER["betas"], weight_decay=PEER["weight_decay"],
                                  eps=PEER["eps"])

    def lr_schedule(total: int, step: int) -> Any:  # the example's, rebuilt at ``step`` when the total is re-estimated
        return get_scheduler(PEER["lr_scheduler"], optimizer=optimizer, num_warmup_steps=warmup,
                             num_training_steps=total, last_epoch=step - 1)

    lr_scheduler = lr_schedule(10**9, 0)      # until the first estimate (at 10 % of the time, normally in warm-up)
    ema = EMAModel(model.parameters(), decay=PEER["ema_max_decay"], use_ema_warmup=True,
                   inv_gamma=PEER["ema_inv_gamma"], power=PEER["ema_power"])
    ema.to(device)
    model.train()
    num_t = noise_scheduler.config.num_train_timesteps
    step, num_img, estimates, marks, loss_value = 0, 0, [], list(RE_ESTIMATE), float("nan")
    cpu, start = time.process_time(), time.perf_counter()
    while True:
        clean_images, labels = next(data)
        clean_images, labels = clean_images.to(device), labels.to(device)
        if pad:
            clean_images = F.pad(clean_images, (pad, pad, pad, pad), value=-1.0)
        noise = torch.randn(clean_images.shape, device=device)
        bsz = clean_images.shape[0]
        timesteps = torch.randint(0, num_t, (bsz,), device=device).long()
        noisy_images = noise_scheduler.add_noise(clean_images, noise, timesteps)
        model_output = model(noisy_images, timesteps, class_labels=labels).sample
        loss = F.mse_loss(model_output.float(), noise.float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), PEER["grad_clip"])
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.step(model.parameters())
        loss_value = loss.detach().item()       # the example logs the loss every step
        step, num_img = step + 1, num_img + bsz
        elapsed = time.perf_counter() - start
        if elapsed > seconds:
            break
        if marks and elapsed >= marks[0] * seconds:
            while marks and elapsed >= marks[0] * seconds:  # a slow step may pass two marks: one estimate
                marks.pop(0)
            total = max(step + 1, round(step * seconds / elapsed))
            lr_scheduler = lr_schedule(total, step)
            estimates.append({"at_step": step, "at_s": round(elapsed, 2), "total": total})
    train_s, cpu = time.perf_counter() - start, time.process_time() - cpu
    ema_model = copy.deepcopy(model).eval()
    ema.copy_to(ema_model.parameters())
    info = {"steps": step, "images": num_img, "train_s": train_s, "train_cpu_s": cpu, "batch_size": bsz, "lr": lr,
            "warmup_steps": warmup, "steps_in_warmup": min(step, warmup), "total_estimates": estimates,
            "last_lr": optimizer.param_groups[0]["lr"], "ema_decay": float(ema.cur_decay_value or 0.0),
            "last_loss": loss_value}
    return ema_model, info


# ----------------------------------------------------------------------------------------------
# Sampling: the same noise, labels and network evaluations


@torch.no_grad()
def sample_synthlib(model: nn.Module, noise: Tensor, labels: Tensor, nfe: int) -> Tensor:
    """DDIM for the diffusion model, Euler for the flow model: ``nfe`` network evaluations either way."""
    sampler = "ddim" if model.config.process == "diffusion" else "euler"
    return dm.generate(model, noise, labels, steps=nfe, sampler=sampler)


@torch.no_grad()
def sample_peer(model: nn.Module, noise: Tensor, labels: Tensor, nfe: int, pad: int = 0) -> Tensor:
    """DDIM (eta 0) from the peer's DDPM scheduler: ``DDIMScheduler.from_config``, ``set_timesteps(nfe)``; ``noise``
    is already at the peer's size; the result is cropped back to 28 px."""
    from diffusers import DDIMScheduler, DDPMScheduler

    ddpm = DDPMScheduler(num_train_timesteps=PEER["num_train_timesteps"], beta_schedule=PEER["beta_schedule"],
                         prediction_type=PEER["prediction_type"])
    scheduler = DDIMScheduler.from_config(ddpm.config)
    scheduler.set_timesteps(nfe)
    x = noise.float()
    for t in scheduler.timesteps:
        eps = model(x, t, class_labels=labels).sample
        x = scheduler.step(eps, t, x, eta=0.0).prev_sample
    x = x.clamp(-1, 1)
    return x[..., pad:x.shape[-2] - pad, pad:x.shape[-1] - pad] if pad else x


def peer_noise(noise: Tensor, pad: int, seed: int) -> Tensor:
    """The shared 28 px starting noise, surrounded (``pad`` > 0) by more noise of its own for the peer's border."""
    if not pad:
        return noise
    n, c, h, w = noise.shape
    big = torch.randn(n, c, h + 2 * pad, w + 2 * pad, generator=torch.Generator().manual_seed(seed))
    big[..., pad:pad + h, pad:pad + w] = noise
    return big


def sample_all(side: str, model: nn.Module, noise: Tensor, labels: Tensor, nfe: int, batch: int,
               device: torch.device, pad: int) -> tuple[Tensor, float]:
    start = time.perf_counter()
    out = []
    for i in range(0, len(noise), batch):
        z, y = noise[i:i + batch].to(device), labels[i:i + batch].to(device)
        x = sample_synthlib(model, z, y, nfe) if side == "synthlib" else sample_peer(model, z, y, nfe, pad)
        out.append(x.float().cpu())
    return torch.cat(out), time.perf_counter() - start


# ----------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8
    from synthlib.metrics.fid import FIDEvaluator, classifier_features
    from synthlib.metrics.prdc import precision_recall

    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    if quick:
        seconds, num, nfe, num_real, kid_subsets = 3.0, 20, 2, 100, 2
    else:
        seconds, num, nfe, num_real, kid_subsets = args.seconds, args.num, args.nfe, args.num_real, 50
    settings = chapter(quick)
    batch_size = settings.batch_size
    pad = (args.peer_size - 28) // 2
    warmup = args.peer_warmup if args.peer_warmup is not None else PEER["warmup"]
    peer_lr = args.peer_lr if args.peer_lr is not None else PEER["lr"]

    train_u8, train_labels = load_fashion_mnist_uint8("train")
    test_u8, _ = load_fashion_mnist_uint8("test")
    real = from_uint8(test_u8[:num_real])
    models = {"synthlib": seeded(args.seed, lambda: synthlib_unet(quick, args.schedule, args.process)),
              "diffusers": seeded(args.seed, lambda: peer_unet(quick, args.peer_size))}
    params = {side: count(m) for side, m in models.items()}
    print(f"Fashion-MNIST, class-conditional; {seconds:g} s of training per side, batch {batch_size}, device {device}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, diffusers {_diffusers_version()}")
    print(f"parameters: synthlib DiffusionUNet ({args.process}) {params['synthlib']:,}; "
          f"diffusers UNet2DModel {params['diffusers']:,} "
          f"({params['diffusers'] / params['synthlib']:.3f}x)")

    trained: dict[str, nn.Module] = {}
    info: dict[str, dict[str, Any]] = {}
    order = SIDES if args.first == "synthlib" else SIDES[::-1]
    for side in order:
        data = TensorBatches(train_u8, train_labels, batch_size=batch_size, seed=args.seed, transform=from_uint8)
        torch.manual_seed(args.seed)
        if side == "synthlib":
            trained[side], info[side] = train_synthlib(models[side], data, seconds, device, quick=quick)
        else:
            trained[side], info[side] = train_peer(models[side], data, seconds, device, warmup=warmup, lr=peer_lr,
                                                   pad=pad)
        i = info[side]
        extra = (f"; {i['steps_in_warmup']} of them in the {warmup}-step warm-up, EMA decay {i['ema_decay']:.4f}"
                 if side == "diffusers" else "")
        print(f"trained {side}: {i['steps']:,} steps in {i['train_s']:.1f} s ({i['images'] / i['train_s']:.1f} "
              f"images/s, {i['train_cpu_s'] / i['train_s']:.2f} CPU-s per s){extra}", flush=True)

    evaluate = FIDEvaluator(real, kid_subsets=kid_subsets)
    real_features = classifier_features(real)
    g = torch.Generator().manual_seed(args.seed + 1)
    noise, labels = torch.randn(num, 1, 28, 28, generator=g), torch.arange(num) % 10
    rows, samples = [], {}
    for side in SIDES:
        z = noise if side == "synthlib" else peer_noise(noise, pad, args.seed + 2)
        images, sample_s = sample_all(side, trained[side], z, labels, nfe, args.batch, device, pad)
        samples[side] = images[:40]
        r = evaluate(images)
        pr = precision_recall(real_features, classifier_features(images))
        i = info[side]
        rows.append({"side": side, "parameters": params[side], "steps": i["steps"],
                     "images_per_s": i["images"] / i["train_s"], "fid": float(r["fid"]),
                     "kid_x1000": 1000 * float(r["kid_mean"]), "precision": pr["precision"], "recall": pr["recall"],
                     "sample_s_per_1000": 1000 * sample_s / num, "train": i})
    ratio = rows[1]["fid"] / rows[0]["fid"]
    print(f"{num:,} samples per side at {nfe} network evaluations (synthlib: {SAMPLER[args.process]}, diffusers: "
          f"DDIM; guidance 0) against {num_real:,} test images")
    print(f"{'side':10s} {'parameters':>11s} {'steps':>7s} {'images/s':>9s} {'FID':>8s} {'KID x1000':>10s} "
          f"{'precision':>10s} {'recall':>7s} {'s/1000 img':>11s}")
    for r in rows:
        print(f"{r['side']:10s} {r['parameters']:11,d} {r['steps']:7,d} {r['images_per_s']:9.1f} {r['fid']:8.2f} "
              f"{r['kid_x1000']:10.2f} {r['precision']:10.3f} {r['recall']:7.3f} {r['sample_s_per_1000']:11.1f}")
    result = {"rows": rows, "ratio_fid_peer_over_synthlib": ratio, "seconds_per_side": seconds, "order": list(order),
              "num_samples": num, "nfe": nfe, "num_real": num_real, "kid_subsets": kid_subsets, "seed": args.seed,
              "quick": quick, "peer_size": args.peer_size,
              "synthlib_recipe": {"profile": settings.profile, "unet_arch": settings.unet_arch,
                                  "batch_size": settings.batch_size, "lr": settings.lr,
                                  "ema_half_life_img": settings.ema_half_life_img, "schedule": args.schedule,
                                  "process": args.process, "sampler": SAMPLER[args.process]},
              "peer_recipe": {**PEER, "lr": peer_lr, "warmup": warmup}, "approximations": list(APPROXIMATIONS),
              "device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "diffusers": _diffusers_version(),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    figure(samples, rows, out.with_suffix(".png"))
    print(f"ratio FID peer / synthlib: {ratio:.2f}x")
    return result


def _diffusers_version() -> str:
    import diffusers

    return diffusers.__version__


def figure(samples: dict[str, Tensor], rows: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from synthlib import plots

    fig, axes = plt.subplots(1, len(samples), figsize=(6.2 * len(samples), 2.9))
    for ax, row in zip(axes, rows):
        plots.image_grid(samples[row["side"]], nrow=10, ax=ax,
                         title=f"{row['side']}: {row['steps']:,} steps, FID {row['fid']:.1f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=300.0, help="training wall time per side (default 300)")
    p.add_argument("--num", type=int, default=2000, help="samples per side (default 2000)")
    p.add_argument("--num-real", type=int, default=10_000, help="test images FID compares with (default 10000)")
    p.add_argument("--nfe", type=int, default=20, help="network evaluations per sample, both sides (default 20)")
    p.add_argument("--schedule", default=SCHEDULE, choices=("cosine", "linear"),
                   help="synthlib's noise schedule (chapter 7's parameter; default %(default)s)")
    p.add_argument("--process", default="diffusion", choices=("diffusion", "flow"),
                   help="synthlib's side: chapter 7's diffusion model (sampled with DDIM) or its flow-matching model "
                   "(the same U-Net, sampled with Euler); the peer is diffusers' DDPM recipe either way")
    p.add_argument("--peer-size", type=int, default=28, choices=(28, 32),
                   help="the peer's image size: 28 (native) or 32 (padded with -1, cropped back to score)")
    p.add_argument("--peer-warmup", type=int, default=None, help="the peer's warm-up steps (default: the example's 500)")
    p.add_argument("--peer-lr", type=float, default=None, help="the peer's learning rate (default: the example's 1e-4)")
    p.add_argument("--first", default="synthlib", choices=SIDES, help="which side trains first (default synthlib)")
    p.add_argument("--batch", type=int, default=500, help="images per sampling batch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu (default: the comparison is of CPU time), cuda, auto")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2; 0: torch's choice)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--quick", action="store_true", help="seconds: tiny networks, 3 s each, 20 samples at NFE 2")
    args = p.parse_args(argv)
    if args.num < 2 or args.num_real < 2:
        p.error("--num and --num-real must be at least 2 (FID needs two images)")
    if not (math.isfinite(args.seconds) and args.seconds > 0):
        p.error("--seconds must be a positive number")
    return run(args)


if __name__ == "__main__":
    main()
