"""GAN training recipes: turn a G, a D and a :class:`GANConfig` into phases for the shared loop.

Every GAN chapter (toy 2-D, DCGAN, conditional DCGAN, ...) trains through :func:`gan_trainer`;
only the models and the config change. A batch is either real images ``x`` or a pair
``(x, labels)`` for a class-conditional model, in which case G and D are called with the labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from synthlib.core.train import EMA, Phase, Recipe, Trainer
from synthlib.gan import losses

LossName = Literal["minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgan-gp"]


@dataclass
class GANConfig:
    """Hyper-parameters of adversarial training (the models have configs of their own)."""

    loss: LossName = "nonsaturating"
    z_dim: int = 100
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1               # D steps per G step (WGAN uses 5)
    r1_gamma: float = 0.0           # R1 weight gamma; 0 turns R1 off
    r1_every: int = 1               # lazy regularisation interval (StyleGAN2 uses 16)
    gp_lambda: float = 10.0         # WGAN-GP weight lambda (loss "wgan-gp" only)
    clip: float = 0.01              # WGAN weight clipping c (loss "wgan" only)
    ema_half_life_img: float = 0.0  # EMA of G, half-life in images; 0 turns EMA off
    ema_rampup: float | None = 0.05
    num_steps: int = 1000

    def __post_init__(self) -> None:
        losses.get_gan_loss(self.loss)  # a clear error for an unknown loss name
        for name in ("n_critic", "r1_every", "batch_size", "z_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"GANConfig.{name} must be >= 1, got {getattr(self, name)}")


def _split(batch: Any) -> tuple[Tensor, Tensor | None]:
    """``x`` or ``(x, labels)`` -> ``(x, labels or None)``."""
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


def _call(model: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    return model(x) if labels is None else model(x, labels)


def gan_phases(G: nn.Module, D: nn.Module, cfg: GANConfig) -> list[Phase]:
    """The D step (with GP or clipping where the loss needs it), optional R1, and the G step."""
    d_loss_fn, g_loss_fn = losses.get_gan_loss(cfg.loss)
    # fused=True: one kernel updates every tensor (CPU, CUDA and MPS since torch 2.4); the same
    # update rule as the default per-tensor loop, ~4x less optimiser time on a CPU.
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas, fused=True)

    def d_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        # Update D: e.g. minimise -log D(x) - log(1 - D(G(z)))
        real, labels = _split(batch)
        z = torch.randn(real.shape[0], cfg.z_dim, device=real.device)
        g_runs_now = scratch["step"] % cfg.n_critic == 0
        with torch.set_grad_enabled(g_runs_now):  # keep G's graph only if the G step will use it
            fake = _call(G, z, labels)
        scratch["fake"], scratch["labels"] = fake, labels
        real_logits = _call(D, real, labels)
        fake_logits = _call(D, fake.detach(), labels)
        loss = d_loss_fn(real_logits, fake_logits)
        logs = {"real_logits": real_logits.detach().mean(), "fake_logits": fake_logits.detach().mean()}
        if cfg.loss == "wgan-gp":
            with torch.autocast(real.device.type, enabled=False):  # penalties stay in fp32
                gp = losses.gradient_penalty(
                    lambda x: _call(D, x, labels).float(), real.float(), fake.detach().float()
                )
            loss = loss + cfg.gp_lambda * gp
            logs["gp_penalty"] = gp.detach()
        return loss, logs

    def d_r1(batch: Any, scratch: dict[str, Any]) -> Tensor:
        # R1: (gamma / 2) E ||grad_x D(x)||^2 on real data, times the interval (lazy regularisation)
        real, labels = _split(batch)
        real = real.detach().float().requires_grad_(True)
        r1 = losses.r1_penalty(real, _call(D, real, labels).float())
        return (cfg.r1_gamma / 2) * r1 * cfg.r1_every

    def g_step(batch: Any, scratch: dict[str, Any]) -> Tensor:
        # Update G: e.g. minimise -log D(G(z)) (non-saturating)
        return g_loss_fn(_call(D, scratch["fake"], scratch["labels"]))

    after_d = (lambda: losses.clip_weights_(D, cfg.clip)) if cfg.loss == "wgan" else None
    phases = [Phase("D", d_step, opt_d, after=after_d)]
    if cfg.r1_gamma > 0:
        phases.append(Phase("D_r1", d_r1, opt_d, every=cfg.r1_every, fp32=True))
    phases.append(Phase("G", g_step, opt_g, every=cfg.n_critic, freeze=[D]))
    return phases


def gan_trainer(
    G: nn.Module,
    D: nn.Module,
    data: Iterator[Any],
    cfg: GANConfig,
    *,
    kind: str,
    run_config: Any = None,
    **run: Any,
) -> Trainer:
    """A :class:`~synthlib.core.train.Trainer` for a GAN, with an EMA of G when the config asks for one.
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    ema = EMA(G, cfg.ema_half_life_img, rampup=cfg.ema_rampup) if cfg.ema_half_life_img > 0 else None
    recipe = Recipe(models={"G": G, "D": D}, phases=gan_phases(G, D, cfg), data=data,
                    config=run_config if run_config is not None else cfg, kind=kind, ema=ema)
    return Trainer.from_recipe(recipe, **run)
