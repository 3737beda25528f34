"""The deep image prior: fit an untrained network to one degraded picture and stop early.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from synthlib.restoration.classical import _check_mask, downscale, psnr

# ----------------------------------------------------------------------------------------------
# Deep Image Prior: fit a randomly initialised network to one degraded image
# ----------------------------------------------------------------------------------------------


@dataclass
class DIPConfig:
    """Deep Image Prior (Ulyanov, Vedaldi & Lempitsky 2018). Defaults: the paper's Adam lr 0.01, input
    perturbation sigma 1/30 at every step, and an exponential average of the outputs (0.99), for every task."""

    steps: int = 2000
    lr: float = 0.01
    input_noise: float = 1.0 / 30  # std of the fresh noise added to the fixed input z at each step
    average: float = 0.99  # weight of the running average of the outputs; 0 = no average
    channels: tuple[int, ...] = (32, 64, 64, 128)
    skip_channels: int = 4
    input_channels: int = 32
    eval_every: int = 25
    max_seconds: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.eval_every < 1 or self.lr <= 0 or self.input_noise < 0 or not 0 <= self.average < 1:
            raise ValueError(f"DIPConfig: need steps >= 1, eval_every >= 1, lr > 0, input_noise >= 0, "
                             f"0 <= average < 1; got {self}")


@dataclass
class DIPResult:
    """What :func:`deep_image_prior` found: the averaged output after the last step (the raw one when
    ``DIPConfig.average`` is 0), the averaged output at the step with the best PSNR against the clean image
    when one was given (an oracle: the clean image is
    not known in practice), and the PSNR trace ``{"step": [...], "psnr": [...], "psnr_avg": [...], "loss": [...]}``."""

    final: Tensor
    best: Tensor | None
    best_step: int | None
    trace: dict[str, list[float]]
    steps: int
    seconds: float


def deep_image_prior(degraded: Tensor, cfg: DIPConfig = DIPConfig(), *, hole: Tensor | None = None,
                     factor: int = 1, clean: Tensor | None = None, device: str | torch.device = "cpu",
                     callback: Callable[[int, Tensor], None] | None = None) -> DIPResult:
    """Fit ``x = f_theta(z)`` so that the degradation of ``x`` matches ``degraded`` (3 x h x w):
    denoising (``x`` itself), inpainting (the known pixels, ``hole`` True = missing) or super-resolution
    (``downscale(x, factor)``). The network's structure is the prior: it fits natural images before noise,
    so the output gets cleaner first and then learns the noise too — hence early stopping.

    The output has the degraded image's size times ``factor``; both sides of the output must be
    multiples of ``2**len(cfg.channels)`` (crop or pad the photo first). ``clean`` (the true photo) is used
    only to trace PSNR and pick the oracle best iterate. Stops after ``cfg.steps`` or ``cfg.max_seconds``."""
    import time

    from synthlib.restoration.dip_net import DIPNet, dip_input

    if degraded.ndim != 3 or degraded.shape[0] != 3:
        raise ValueError(f"degraded must be one RGB image 3 x H x W, got shape {tuple(degraded.shape)}")
    height, width = degraded.shape[-2] * factor, degraded.shape[-1] * factor
    if hole is not None:
        _check_mask(degraded, hole)
    if clean is not None and tuple(clean.shape) != (3, height, width):
        raise ValueError(f"clean must be 3 x {height} x {width} (the output's size), got {tuple(clean.shape)}")
    dev = torch.device(device)
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    net = DIPNet(DIPNet.Config(in_channels=cfg.input_channels, channels=tuple(cfg.channels),
                               skip_channels=cfg.skip_channels)).to(dev)
    z = dip_input(height, width, cfg.input_channels, g).to(dev)
    y = degraded.to(dev).float().unsqueeze(0)
    known = None if hole is None else (~hole).to(dev).float().view(1, 1, *hole.shape)
    target = None if clean is None else clean.to(dev).float().unsqueeze(0)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    trace: dict[str, list[float]] = {"step": [], "psnr": [], "psnr_avg": [], "loss": []}
    avg, best, best_step, best_psnr = None, None, None, -math.inf
    t0, step = time.perf_counter(), 0
    for step in range(1, cfg.steps + 1):
        z_in = z + cfg.input_noise * torch.randn(z.shape, generator=g).to(dev) if cfg.input_noise > 0 else z
        out = net(z_in)
        pred = downscale(out, factor) if factor > 1 else out
        loss = (pred - y).pow(2).mean() if known is None else ((pred - y).pow(2) * known).sum() / (3 * known.sum())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            out = out.detach()
            avg = out if avg is None or cfg.average == 0 else cfg.average * avg + (1 - cfg.average) * out
        done = step == cfg.steps or (cfg.max_seconds is not None and time.perf_counter() - t0 >= cfg.max_seconds)
        if step % cfg.eval_every == 0 or done:
            trace["step"].append(step)
            trace["loss"].append(float(loss.detach()))
            if target is not None:
                p, p_avg = float(psnr(out, target)), float(psnr(avg, target))
                trace["psnr"].append(p)
                trace["psnr_avg"].append(p_avg)
                if p_avg > best_psnr:
                    best_psnr, best, best_step = p_avg, avg.clone(), step
            if callback is not None:
                callback(step, avg)
        if done:
            break
    seconds = time.perf_counter() - t0

    def finish(x: Tensor) -> Tensor:  # one image, clamped, known pixels (inpainting) taken from the input
        x = x[0].clamp(-1, 1).cpu()
        return x if hole is None else torch.where(hole, x, degraded.float())

    return DIPResult(final=finish(avg), best=None if best is None else finish(best), best_step=best_step, trace=trace,
                     steps=step, seconds=seconds)
