"""Learned denoising for the shared loop: noisy batches, DnCNN's residual recipe, and applying a denoiser.

A denoiser of one noise level (DnCNN-S: every training image has noise of the same ``sigma``) and a
*blind* one (DnCNN-B: each image draws its own ``sigma`` from a range, so one network serves every
level up to the range's top) differ only in their data: :class:`NoisyBatches` takes a number or a
range. The loss is the paper's residual one, ``mean |R(y) - (y - x)|^2`` over pixels
(:func:`residual_target`); since ``y - R(y)`` is the output, it is the same number as the mean
squared error of the denoised image, the error PSNR measures. BM3D, the classical method the
learned denoiser must beat, is :func:`~synthlib.restoration.classical.denoise_bm3d`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.train import EMA, HoldThenDecay, Phase, Recipe, Trainer, check_lr_final, hold_then_decay
from synthlib.restoration.drunet_net import takes_noise_level
from synthlib.restoration.learned import SeededBatches


def residual_target(noisy: Tensor, clean: Tensor) -> Tensor:
    """What a residual denoiser learns to output: the noise ``y - x`` itself."""
    return noisy - clean


def _check_sigma(sigma: float | tuple[float, float]) -> tuple[float, float]:
    lo, hi = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
    if not (math.isfinite(lo) and math.isfinite(hi)) or not 0 <= lo <= hi or hi == 0:
        raise ValueError(f"sigma must be a number > 0 or a range (lo, hi) with 0 <= lo <= hi, hi > 0 "
                         f"(in [-1, 1] units: see sigma_from_255), got {sigma}")
    return float(lo), float(hi)


class NoisyBatches(SeededBatches):
    """Batches ``(noisy, clean)`` for denoising: each clean batch from ``batches`` plus Gaussian noise.

    ``sigma`` (in [-1, 1] units, see :func:`~synthlib.restoration.classical.sigma_from_255`): one
    number (every image at that level) or a range ``(lo, hi)``, each image drawing its level
    uniformly from it (the blind model). Batch ``k``'s noise comes from ``Generator().manual_seed(seed *
    1_000_003 + k)``, so a resumed run sees the same noise; ``state_dict`` also holds the clean
    batches' position. The noise is not clipped (as :func:`~synthlib.restoration.classical.add_noise`).
    ``with_levels``: batches ``(noisy, clean, sigma)``, ``sigma`` the N levels drawn, for a network told the
    level (:func:`takes_noise_level`); the noise is the same either way."""

    WHAT = "noise"

    def __init__(self, batches: Iterator[Tensor], sigma: float | tuple[float, float], *, seed: int = 0,
                 with_levels: bool = False) -> None:
        self.batches, self.sigma, self.seed, self.count = batches, _check_sigma(sigma), seed, 0
        self.with_levels = with_levels

    def __next__(self) -> tuple[Tensor, ...]:
        clean = next(self.batches)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.count)
        self.count += 1
        lo, hi = self.sigma
        levels = lo + (hi - lo) * torch.rand(clean.shape[0], 1, 1, 1, generator=g)
        noise = torch.randn(clean.shape, generator=g) * levels
        noisy = clean + noise.to(clean)
        return (noisy, clean, levels.flatten().to(clean)) if self.with_levels else (noisy, clean)



@dataclass
class DenoiseConfig(HoldThenDecay):
    """DnCNN's training: the residual MSE, Adam. The paper used SGD with momentum and a learning rate
    falling from 0.1 to 1e-4 over 50 epochs; for a run of minutes Adam at 1e-3 learns faster. ``sigma``
    is recorded for users of the checkpoint (one level, or the blind model's range, in [-1, 1] units).
    The course weights decay the rate at the end (:class:`~synthlib.core.train.HoldThenDecay`)."""

    sigma: float | tuple[float, float] = 25 * 2 / 255
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    batch_size: int = 16
    ema_half_life_img: float = 0.0

    def __post_init__(self) -> None:
        _check_sigma(self.sigma)
        if not self.lr > 0:
            raise ValueError(f"DenoiseConfig.lr must be > 0, got {self.lr}")
        check_lr_final("DenoiseConfig", self.lr_final)

    @property
    def blind(self) -> bool:
        lo, hi = _check_sigma(self.sigma)
        return lo != hi


def denoise_phases(G: nn.Module, cfg: DenoiseConfig) -> list[Phase]:
    """One phase: ``G.noise(noisy)`` against the true noise (the residual target), on batches ``(noisy, clean)``."""

    told = takes_noise_level(G)

    def step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        noisy, clean, *levels = batch
        if told and not levels:
            raise ValueError("this denoiser takes the noise level: give it NoisyBatches(..., with_levels=True)")
        predicted = G.noise(noisy, levels[0]) if told else G.noise(noisy)
        loss = F.mse_loss(predicted.float(), residual_target(noisy, clean).float())
        return loss, {"psnr": 10 * torch.log10(4.0 / loss.detach().clamp_min(1e-12))}

    return [Phase("G", step, torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=cfg.betas),
                  lr_scale=hold_then_decay(cfg))]


def denoise_trainer(G: nn.Module, data: Iterator[Any], cfg: DenoiseConfig, **run: Any) -> Trainer:
    """A Trainer of kind ``"denoise"`` (models ``G`` [, ``G_ema``]) over :class:`NoisyBatches`.
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    if not hasattr(G, "noise"):
        raise TypeError(f"denoise_trainer needs a residual denoiser with a .noise(y) method (DnCNN), got {type(G).__name__}")
    if isinstance(data, NoisyBatches) and data.with_levels != takes_noise_level(G):
        raise ValueError("NoisyBatches(with_levels=...) must match the network: with_levels=True exactly when it takes "
                         f"the noise level (noise_map), here {takes_noise_level(G)}")
    recipe = Recipe(models={"G": G}, phases=denoise_phases(G, cfg), data=data, config=cfg, kind="denoise",
                    ema=EMA(G, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None)
    return Trainer.from_recipe(recipe, **run)


@torch.no_grad()
def denoise_with(G: nn.Module, images: Tensor, sigma: float | None = None) -> Tensor:
    """Denoise images (N x 3 x H x W or 3 x H x W, any size) with a trained network; clamped to [-1, 1].
    ``sigma`` (in [-1, 1] units): the noise level, given to a network that takes it (:func:`takes_noise_level`,
    where it is required) and unused by one trained at its own levels. The network runs in eval mode (batch norm
    with its running statistics, not the batch's), then is put back in the mode it was in."""
    told = takes_noise_level(G)
    if told and sigma is None:
        raise ValueError("this denoiser takes the noise level: pass sigma (in [-1, 1] units, e.g. sigma_from_255(25))")
    single = images.ndim == 3
    x = images[None] if single else images
    device = next(G.parameters()).device
    was_training = G.training
    try:
        out = (G.eval()(x.to(device).float(), sigma) if told else G.eval()(x.to(device).float())).clamp(-1, 1)
    finally:
        G.train(was_training)
    return out[0] if single else out
