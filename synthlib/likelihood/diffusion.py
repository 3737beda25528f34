"""Chapter 7: likelihood-based generators -- the VAE, denoising diffusion and flow matching.

Everything here is a pure function of tensors or a recipe for the shared loop (:class:`Trainer`):

* VAE: :func:`gaussian_kl` (the ELBO's KL term in closed form), :func:`vae_terms`, :func:`vae_trainer`.
* Diffusion (Ho et al., 2020): :class:`NoiseSchedule` (linear or cosine betas), the forward process
  in closed form :func:`q_sample` (and step by step, :func:`q_iterate`, to check it), the
  epsilon-prediction loss :func:`diffusion_loss`; sampling with DDIM (Song et al., 2021) for any
  number of steps and any eta, where eta = 1 over all T steps is DDPM's ancestral sampler.
* Flow matching (Lipman et al., 2023; Liu et al.'s rectified flow): the straight path from noise
  ``x_0`` to data ``x_1``, ``x_t = (1 - t) x_0 + t x_1``, whose velocity ``x_1 - x_0`` the network
  learns (:func:`flow_target`, :func:`flow_loss`); sampling integrates the ODE with Euler or Heun steps.
* Classifier-free guidance (Ho & Salimans, 2022) for both: ``pred = cond + w (cond - uncond)``, so
  ``w = 0`` is the plain conditional model; training drops the label with probability ``label_dropout``.

:func:`generate` turns a trained :class:`~synthlib.likelihood.networks.DiffusionUNet` and starting noise
into images; :func:`synthlib.sample.sample` and ``python -m synthlib sample --steps N --guidance W``
call it.

Time convention: the network sees a float ``t`` in [0, 1]. Diffusion step ``i`` of T is ``t = i / T``
(0 = clean); flow matching's ``t = 0`` is noise and ``t = 1`` data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.train import EMA, Phase, Recipe, Trainer
from synthlib.likelihood.networks import ConvVAE, DiffusionUNet

Sampler = Literal["ddim", "ddpm", "euler", "heun"]
SAMPLERS = {"diffusion": ("ddim", "ddpm"), "flow": ("euler", "heun")}  # per process; the first is the default
DEFAULT_STEPS = 50  # network evaluations per sample when none are asked for (DDPM: all T)


# ----------------------------------------------------------------------------------------------
# VAE


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL( N(mu, diag exp(logvar)) || N(0, I) ) per row, in nats:
    ``0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2)``."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=1)


def gaussian_nll(x: Tensor, mean: Tensor, std: float) -> Tensor:
    """-log N(x; mean, std^2 I) per image, in nats (summed over pixels)."""
    d = x[0].numel()
    sq = (x - mean).square().flatten(1).sum(dim=1)
    return sq / (2 * std**2) + 0.5 * d * math.log(2 * math.pi * std**2)


def vae_terms(vae: ConvVAE, x: Tensor, *, decoder_std: float, generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """One-sample ELBO terms per image: ``{"recon": -log p(x|z), "kl": KL(q(z|x) || p(z)), "elbo": -(recon + kl),
    "mean": the decoded mean}`` with ``z = mu + sigma * eps`` (the reparameterisation trick)."""
    mu, logvar = vae.encode(x)
    eps = torch.randn(mu.shape, generator=generator, device=mu.device) if generator is not None else torch.randn_like(mu)
    z = mu + (0.5 * logvar).exp() * eps
    mean = vae.decode(z)
    recon = gaussian_nll(x, mean, decoder_std)
    kl = gaussian_kl(mu, logvar)
    return {"recon": recon, "kl": kl, "elbo": -(recon + kl), "mean": mean}


@dataclass
class VAEConfig:
    batch_size: int = 128
    lr: float = 2e-3
    beta: float = 1.0             # weight of the KL term (beta-VAE); 1 = the ELBO
    decoder_std: float = 0.3      # sigma of the Gaussian p(x | z), in [-1, 1] pixel units
    ema_half_life_img: float = 10_000.0   # EMA of the whole VAE ("G_ema", what sample() uses); 0 turns it off
    num_steps: int = 2000

    def __post_init__(self) -> None:
        check_min("batch_size", self.batch_size, owner="VAEConfig")
        if self.beta < 0 or self.decoder_std <= 0:
            raise ValueError(f"VAEConfig: beta must be >= 0 and decoder_std > 0, got {self.beta}, {self.decoder_std}")


def vae_trainer(vae: ConvVAE, data: Iterator[Any], cfg: VAEConfig, *, run_config: Any = None, **run: Any) -> Trainer:
    """Maximise the (beta-weighted) ELBO; logs the reconstruction and KL terms (nats per image).
    The checkpoint's kind is "vae", its models "G" (encoder and decoder) and, with an EMA, "G_ema".
    The ELBO runs in fp32 whatever the run's precision: it sums log-likelihoods over every pixel and
    exponentiates log-variances, terms kept out of fp16/bf16.
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.lr, fused=True)

    def elbo_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        terms = vae_terms(vae, x, decoder_std=cfg.decoder_std)
        loss = (terms["recon"] + cfg.beta * terms["kl"]).mean() / x[0].numel()  # per pixel: lr-friendly scale
        return loss, {"recon": terms["recon"].mean().detach(), "kl": terms["kl"].mean().detach()}

    ema = EMA(vae, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None
    recipe = Recipe(models={"G": vae}, phases=[Phase("elbo", elbo_step, opt)], data=data, ema=ema,
                    config=run_config if run_config is not None else cfg, kind="vae", precision="fp32")
    return Trainer.from_recipe(recipe, **run)


# ----------------------------------------------------------------------------------------------
# Diffusion: the schedule and the forward process


def make_betas(schedule: str, num_timesteps: int) -> Tensor:
    """beta_1..beta_T in float64: ``"linear"`` from 1e-4 to 0.02 (Ho et al., for T = 1000; scaled by
    1000/T for other T) or ``"cosine"`` (Nichol & Dhariwal: alpha_bar(t) = cos^2(((t/T + s)/(1 + s)) pi/2),
    s = 0.008, betas clipped at 0.999)."""
    check_choice("schedule", schedule, ("linear", "cosine"))
    check_min("num_timesteps", num_timesteps, 2)
    T = num_timesteps
    if schedule == "linear":
        scale = 1000.0 / T
        return torch.linspace(scale * 1e-4, scale * 0.02, T, dtype=torch.float64)
    s = 0.008
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2).square()
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


@dataclass
class NoiseSchedule:
    """``betas`` (T,) and the derived ``alphas = 1 - betas`` and ``alpha_bar = cumprod(alphas)``.
    Index ``i`` (0-based) is the step that makes ``x_{i+1}`` from ``x_i``."""

    betas: Tensor
    alphas: Tensor = field(init=False)
    alpha_bar: Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.betas = self.betas.double()
        self.alphas = 1.0 - self.betas
        self.alpha_bar = torch.cumprod(self.alphas, dim=0)

    @classmethod
    def of(cls, model_or_name: nn.Module | str, num_timesteps: int | None = None) -> NoiseSchedule:
        """The schedule a :class:`DiffusionUNet` was trained with, or one by name and T."""
        if isinstance(model_or_name, str):
            return cls(make_betas(model_or_name, num_timesteps or 1000))
        cfg = model_or_name.config
        return cls(make_betas(cfg.schedule, cfg.num_timesteps))

    @property
    def num_timesteps(self) -> int:
        return len(self.betas)

    def ab(self, t: Tensor, like: Tensor) -> Tensor:
        """alpha_bar at integer steps ``t`` (N,), shaped to broadcast over images like ``like``."""
        return self.alpha_bar.to(like.device)[t].to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


def q_sample(x0: Tensor, t: Tensor, noise: Tensor, schedule: NoiseSchedule) -> Tensor:
    """x_t ~ q(x_t | x_0) in closed form: ``sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps``,
    with ``t`` the 0-based step index (N,) (``t = 0`` has had one step of noise)."""
    ab = schedule.ab(t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def q_iterate(x0: Tensor, num_steps: int, schedule: NoiseSchedule, generator: torch.Generator | None = None) -> Tensor:
    """The forward process one step at a time: ``x_i = sqrt(1 - beta_i) x_{i-1} + sqrt(beta_i) eps_i``,
    ``num_steps`` times (each eps fresh). Its distribution equals :func:`q_sample` at ``t = num_steps - 1``."""
    x = x0
    for i in range(num_steps):
        b = float(schedule.betas[i])
        x = math.sqrt(1 - b) * x + math.sqrt(b) * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return x


def drop_labels(labels: Tensor | None, p: float, null_class: int) -> Tensor | None:
    """Replace each label by ``null_class`` with probability ``p`` (classifier-free guidance's training)."""
    if labels is None or p <= 0:
        return labels
    drop = torch.rand(labels.shape, device=labels.device) < p
    return torch.where(drop, torch.full_like(labels, null_class), labels)


def diffusion_loss(model: DiffusionUNet, x0: Tensor, labels: Tensor | None, schedule: NoiseSchedule) -> Tensor:
    """The simple DDPM loss: ``E_{t, eps} || eps - eps_theta(x_t, t) ||^2`` (mean over pixels)."""
    T = schedule.num_timesteps
    t = torch.randint(0, T, (x0.shape[0],), device=x0.device)
    noise = torch.randn_like(x0)
    x_t = q_sample(x0, t, noise, schedule)
    return F.mse_loss(model(x_t, t.float() / T, labels), noise)


# ----------------------------------------------------------------------------------------------
# Flow matching


def flow_interpolate(x_noise: Tensor, x_data: Tensor, t: Tensor) -> Tensor:
    """The straight path ``x_t = (1 - t) x_0 + t x_1`` from noise (t = 0) to data (t = 1)."""
    t = t.view(-1, *([1] * (x_data.ndim - 1))).to(x_data.dtype)
    return (1 - t) * x_noise + t * x_data


def flow_target(x_noise: Tensor, x_data: Tensor) -> Tensor:
    """The path's velocity d x_t / dt = x_1 - x_0: what the network learns to predict."""
    return x_data - x_noise


def flow_loss(model: DiffusionUNet, x_data: Tensor, labels: Tensor | None) -> Tensor:
    """Conditional flow matching: ``E_{t ~ U(0,1), x_0 ~ N(0, I)} || v_theta(x_t, t) - (x_1 - x_0) ||^2``."""
    x_noise = torch.randn_like(x_data)
    t = torch.rand(x_data.shape[0], device=x_data.device)
    return F.mse_loss(model(flow_interpolate(x_noise, x_data, t), t, labels), flow_target(x_noise, x_data))


# ----------------------------------------------------------------------------------------------
# Training recipe


@dataclass
class DiffusionConfig:
    """Training of a :class:`DiffusionUNet` by epsilon prediction (``process="diffusion"``) or flow matching."""

    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    label_dropout: float = 0.1       # classifier-free guidance: how often the label is replaced by "no class"
    ema_half_life_img: float = 20_000.0
    ema_rampup: float | None = 0.1
    num_steps: int = 5000

    def __post_init__(self) -> None:
        check_min("batch_size", self.batch_size, owner="DiffusionConfig")
        if not 0 <= self.label_dropout < 1:
            raise ValueError(f"DiffusionConfig.label_dropout must be in [0, 1), got {self.label_dropout}")


def denoiser_trainer(model: DiffusionUNet, data: Iterator[Any], cfg: DiffusionConfig, *, run_config: Any = None,
                     **run: Any) -> Trainer:
    """A Trainer for the model's process (``model.config.process``), with an EMA ("G_ema") of the network.

    Batches are images or ``(images, labels)``; labels are used when the model is class-conditional.
    The checkpoint's kind is the process ("diffusion" or "flow"), its models "G" and "G_ema".
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...).
    """
    mcfg = model.config
    schedule = NoiseSchedule.of(model) if mcfg.process == "diffusion" else None
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)

    def step(batch: Any, scratch: dict[str, Any]) -> Tensor:
        x, labels = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        labels = drop_labels(labels, cfg.label_dropout, model.null_class) if mcfg.num_classes > 0 else None
        if schedule is not None:
            return diffusion_loss(model, x, labels, schedule)
        return flow_loss(model, x, labels)

    ema = EMA(model, cfg.ema_half_life_img, rampup=cfg.ema_rampup) if cfg.ema_half_life_img > 0 else None
    recipe = Recipe(models={"G": model}, phases=[Phase(mcfg.process, step, opt)], data=data,
                    config=run_config if run_config is not None else cfg, kind=mcfg.process, ema=ema)
    return Trainer.from_recipe(recipe, **run)


# ----------------------------------------------------------------------------------------------
# Sampling


def guided(model: DiffusionUNet, x: Tensor, t: Tensor, labels: Tensor | None, guidance: float) -> Tensor:
    """The network's prediction with classifier-free guidance: ``cond + w (cond - uncond)`` (w = 0: cond).
    Both branches run as one batch."""
    if labels is None or guidance == 0:
        return model(x, t, labels)
    null = torch.full_like(labels, model.null_class)
    both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null]))
    cond, uncond = both.chunk(2)
    return cond + guidance * (cond - uncond)


def _check_generate_args(model: DiffusionUNet, steps: int, sampler: str, labels: Tensor | None, guidance: float) -> None:
    process = model.config.process
    allowed = SAMPLERS[process]
    if sampler not in allowed:
        raise ValueError(f"sampler {sampler!r} does not apply to a {process} model; use one of {allowed}")
    check_min("steps", steps)
    if process == "diffusion" and steps > model.config.num_timesteps:
        raise ValueError(f"steps={steps} is more than the model's {model.config.num_timesteps} diffusion steps")
    if guidance != 0 and model.config.num_classes == 0:
        raise ValueError("guidance needs a class-conditional model (num_classes > 0); this one is unconditional")
    if guidance < 0:
        raise ValueError(f"guidance w must be >= 0, got {guidance}")


def ddim_timesteps(num_timesteps: int, steps: int) -> list[int]:
    """The 0-based step indices visited by a sampler with ``steps`` steps, from T-1 down, evenly spaced."""
    return sorted({int(round(x)) for x in torch.linspace(num_timesteps - 1, 0, steps).tolist()}, reverse=True)


def predict_x0(x: Tensor, eps: Tensor, ab: float | Tensor) -> Tensor:
    """The clean image that noise ``eps`` at alpha_bar ``ab`` implies: ``(x_t - sqrt(1 - ab) eps) / sqrt(ab)``
    (inverting :func:`q_sample`), in ``x``'s dtype."""
    ab = float(ab)
    return (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)


def ddim_step(x: Tensor, eps: Tensor, ab: Tensor, ab_prev: Tensor, *, eta: float = 0.0,
              noise: Tensor | None = None, clip: bool = True) -> Tensor:
    """One reverse step from ``x_t`` (alpha_bar = ``ab``) to ``x_prev`` (``ab_prev``) given the predicted noise.

    The clean image is estimated, ``x0 = (x - sqrt(1 - ab) eps) / sqrt(ab)``, clipped to [-1, 1] (and eps
    recomputed to match), then (Song et al., eq. 12)
    ``x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z`` with
    ``sigma = eta sqrt((1 - ab_prev) / (1 - ab)) sqrt(1 - ab / ab_prev)``. eta = 0: DDIM, deterministic;
    eta = 1 with ``ab_prev`` the previous step's: DDPM's ancestral step (posterior mean, variance beta~).
    The coefficients are computed in float64, the images stay in ``x``'s dtype.
    """
    ab, ab_prev = float(ab), float(ab_prev)  # the coefficients in float64, the images in their own dtype
    x0 = predict_x0(x, eps, ab)                            # predicted clean image
    if clip:
        x0 = x0.clamp(-1, 1)
        eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)  # the noise consistent with the clipped x0
    sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
    out = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps
    if noise is not None and eta > 0:
        out = out + sigma * noise.to(out.dtype)
    return out


@torch.no_grad()
def generate(model: DiffusionUNet, noise: Tensor, labels: Tensor | None = None, *, steps: int | None = None,
             guidance: float = 0.0, sampler: Sampler | None = None, eta: float | None = None,
             generator: torch.Generator | None = None, trajectory: bool = False) -> Tensor | list[Tensor]:
    """Images from starting noise ``noise`` (N, C, H, W) by the model's process.

    Diffusion: ``sampler="ddim"`` (default; ``eta=0``: deterministic, few steps) or ``"ddpm"``
    (ancestral: ``eta=1``). ``steps`` defaults to 50 for DDIM and T for DDPM; with fewer steps than T
    they visit evenly spaced steps. Flow: ``"euler"`` (default) or ``"heun"`` (2 network calls per step but the last,
    where the velocity field of real data is steepest),
    ``steps`` default 50. ``generator`` draws DDPM's per-step noise (CPU), so a seed repeats.
    Returns the images clamped to [-1, 1], or with ``trajectory=True`` the list of states from the noise
    to the result (``steps + 1`` tensors, each on the CPU).
    """
    cfg = model.config
    if sampler is None:
        sampler = SAMPLERS[cfg.process][0]
    if steps is None:
        steps = cfg.num_timesteps if sampler == "ddpm" else DEFAULT_STEPS
    _check_generate_args(model, steps, sampler, labels, guidance)
    dev = noise.device
    x = noise.float()
    states = [x.cpu()] if trajectory else None
    if cfg.process == "flow":
        ts = torch.linspace(0.0, 1.0, steps + 1).tolist()
        for t0, t1 in zip(ts[:-1], ts[1:]):
            h = t1 - t0
            v = guided(model, x, torch.full((len(x),), t0, device=dev), labels, guidance)
            if sampler == "heun" and t1 < 1.0:  # no correction at the data end, as in Karras et al.'s sampler
                x_euler = x + h * v
                v1 = guided(model, x_euler, torch.full((len(x),), t1, device=dev), labels, guidance)
                v = 0.5 * (v + v1)
            x = x + h * v
            if states is not None:
                states.append(x.cpu())
        return states if states is not None else x.clamp(-1, 1)

    schedule = NoiseSchedule.of(model)
    T = schedule.num_timesteps
    eta = (1.0 if sampler == "ddpm" else 0.0) if eta is None else float(eta)
    ab_all = schedule.alpha_bar.to(dev)
    seq = ddim_timesteps(T, steps)
    for i, t in enumerate(seq):
        t_prev = seq[i + 1] if i + 1 < len(seq) else -1
        ab = ab_all[t]
        ab_prev = ab_all[t_prev] if t_prev >= 0 else torch.ones((), dtype=ab_all.dtype, device=dev)
        eps = guided(model, x, torch.full((len(x),), t / T, device=dev), labels, guidance)
        z = None
        if eta > 0 and t_prev >= 0:
            z = torch.randn(x.shape, generator=generator) if generator is not None else torch.randn(x.shape)
        x_new = ddim_step(x, eps, ab, ab_prev, eta=eta, noise=None if z is None else z.to(dev))
        x = x_new.float()
        if states is not None:
            states.append(x.cpu())
    return states if states is not None else x.clamp(-1, 1)
