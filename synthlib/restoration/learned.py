"""Learned restoration recipes for the shared loop: inpainting (holes, losses, phases) and super-resolution.

The data (random holes, down-scaled crops), the loss terms and their weights, the trainers, and loading a
trained network to apply it (:func:`inpaint_with`, :func:`upscale_with`), as the ``inpaint`` and ``upscale``
verbs do. The classical baselines these must beat are in :mod:`synthlib.restoration.classical`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.train import EMA, HoldThenDecay, Phase, Recipe, Trainer, check_lr_final, hold_then_decay
from synthlib.gan import losses
from synthlib.gan.losses import gram_matrix
from synthlib.restoration.classical import (
    _batch,
    _check_coverage,
    box_mask,
    downscale,
    stroke_mask,
)
from synthlib.restoration.inpaint_net import composite, pad_to_multiple
from synthlib.restoration.pnp import PnPSettings, default_settings, is_denoiser, pnp_inpaint
from synthlib.style.gatys import gram_style_loss

# ----------------------------------------------------------------------------------------------
# Training data: degraded batches made on the fly from clean crops (seeded, resumable)
# ----------------------------------------------------------------------------------------------

MaskKind = Literal["strokes", "boxes", "mixed"]
MASK_KINDS = ("strokes", "boxes", "mixed")
_WINDOW_TRIES = 20  # MaskedBatches(reference=...): draws of a full-size mask before a window is taken as it is
_WINDOW_MAX_MISSING = 0.75  # ... and the most of a window that may be missing (some context must be left)


def random_hole(height: int, width: int, kind: MaskKind, coverage: tuple[float, float],
                generator: torch.Generator) -> Tensor:
    """One hole mask (bool H x W, True = missing) of ``kind``; "mixed" draws strokes 3 times in 4."""
    check_choice("mask kind", kind, MASK_KINDS)
    if kind == "mixed":
        kind = "boxes" if float(torch.rand((), generator=generator)) < 0.25 else "strokes"
    make = stroke_mask if kind == "strokes" else box_mask
    return make(height, width, coverage=coverage, generator=generator)


class SeededBatches:
    """What the degraded batches share: the clean ``batches`` they wrap, the ``seed`` of their random damage and
    ``count``, how many draws so far (so a resumed run draws the same damage); ``state_dict`` holds both and the
    clean batches' position. Subclasses name their damage in ``WHAT`` (for the seed-mismatch message)."""

    WHAT = "draws"
    batches: Iterator[Tensor]
    seed: int
    count: int

    def __iter__(self):
        return self

    def state_dict(self) -> dict[str, Any]:
        inner = self.batches.state_dict() if hasattr(self.batches, "state_dict") else None
        return {"count": self.count, "seed": self.seed, "inner": inner}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["seed"] != self.seed:
            raise ValueError(f"checkpoint's {self.WHAT} used seed={state['seed']}, these use seed={self.seed}; use the same")
        self.count = int(state["count"])
        if state["inner"] is not None and hasattr(self.batches, "load_state_dict"):
            self.batches.load_state_dict(state["inner"])


class MaskedBatches(SeededBatches):
    """Batches ``(images, holes)`` for inpainting: each clean batch from ``batches`` with a fresh hole per
    image (N x 1 x H x W float, 1 = missing). Hole ``k`` comes from ``Generator().manual_seed(seed * 1_000_003 + k)``,
    so a resumed run sees the same holes; ``state_dict`` also holds the clean batches' position.

    ``reference``: the side of the pictures the model will be used on. Masks scale with the picture
    (a stroke is 3-9 % of its side wide), so masks drawn at the size of small training crops are far
    thinner, in pixels, than the ones at full size, and a model trained on them never sees a hole as
    wide as those it is scored on. With ``reference`` set, each hole is drawn for a ``reference`` x
    ``reference`` picture and a window of the crop's size is cut from it, redrawn (same generator)
    until the window holds some hole and some known pixels ("boxes" then gives box edges and corners).
    """

    def __init__(self, batches: Iterator[Tensor], *, kind: MaskKind = "mixed",
                 coverage: tuple[float, float] = (0.1, 0.3), seed: int = 0, reference: int | None = None) -> None:
        _check_coverage(coverage)
        check_choice("mask kind", kind, MASK_KINDS)
        if reference is not None:
            check_min("reference", reference, 2, owner="MaskedBatches")
        self.batches, self.kind, self.coverage, self.seed, self.count = batches, kind, coverage, seed, 0
        self.reference = reference

    WHAT = "masks"

    def _hole(self, h: int, w: int, g: torch.Generator) -> Tensor:
        if self.reference is None or self.reference <= min(h, w):
            return random_hole(h, w, self.kind, self.coverage, g)
        big = max(self.reference, h, w)
        for _ in range(_WINDOW_TRIES):
            full = random_hole(big, big, self.kind, self.coverage, g)
            top = int(torch.randint(0, big - h + 1, (), generator=g))
            left = int(torch.randint(0, big - w + 1, (), generator=g))
            window = full[top : top + h, left : left + w]
            if self.coverage[0] / 2 <= float(window.float().mean()) <= _WINDOW_MAX_MISSING:
                break
        return window

    def __next__(self) -> tuple[Tensor, Tensor]:
        images = next(self.batches)
        n, _, h, w = images.shape
        holes = []
        for _ in range(n):
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.count)
            holes.append(self._hole(h, w, g))
            self.count += 1
        return images, torch.stack(holes).unsqueeze(1).float()



class DownscaledBatches:
    """Batches ``(low, high)`` for super-resolution: ``low = downscale(high, factor)`` (antialiased bicubic,
    the degradation the models are scored on); resumable like the clean batches it wraps."""

    def __init__(self, batches: Iterator[Tensor], factor: int = 4) -> None:
        if factor < 2:
            raise ValueError(f"factor must be >= 2, got {factor}")
        self.batches, self.factor = batches, factor

    def __iter__(self) -> DownscaledBatches:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        high = next(self.batches)
        return downscale(high, self.factor), high

    def state_dict(self) -> dict[str, Any]:
        return {"inner": self.batches.state_dict() if hasattr(self.batches, "state_dict") else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["inner"] is not None and hasattr(self.batches, "load_state_dict"):
            self.batches.load_state_dict(state["inner"])


# ----------------------------------------------------------------------------------------------
# Losses of the learned models
# ----------------------------------------------------------------------------------------------


def hole_valid_l1(prediction: Tensor, target: Tensor, hole: Tensor, *, squared: bool = False) -> tuple[Tensor, Tensor]:
    """Liu et al.'s two pixel terms: mean absolute error over the missing pixels and over the known ones,
    each divided by the number of all pixels (so a small hole weighs little, as in the paper).
    ``squared=True`` takes squared errors instead (what PSNR measures)."""
    diff = (prediction.float() - target.float())
    diff = diff.square() if squared else diff.abs()
    hole = hole.float().expand_as(diff)
    return (diff * hole).mean(), (diff * (1 - hole)).mean()


def perceptual_loss(features: dict[str, Tensor], targets: dict[str, Tensor]) -> Tensor:
    """Mean over layers of the relative absolute error of VGG features (``mean|f - t| / mean|t|``): the
    scale-free counterpart of Johnson's and Liu's feature losses (see :mod:`synthlib.style`)."""
    terms = [(features[k].float() - t.detach().float()).abs().mean() / t.detach().float().abs().mean().clamp_min(1e-12)
             for k, t in targets.items()]
    return torch.stack(terms).mean()


def gram_loss(features: dict[str, Tensor], targets: dict[str, Tensor]) -> Tensor:
    """Liu et al.'s style term: relative squared error between each image's Gram matrices and its target's."""
    return gram_style_loss(features, {k: gram_matrix(t.detach()) for k, t in targets.items()})


def hole_total_variation(image: Tensor, hole: Tensor) -> Tensor:
    """Total variation on the 1-pixel dilation of the hole only (Liu et al.): smooths seams, not the photo."""
    region = F.max_pool2d(hole.float(), 3, stride=1, padding=1)
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs() * region[..., 1:, :]
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs() * region[..., :, 1:]
    return dy.float().mean() + dx.float().mean()


# ----------------------------------------------------------------------------------------------
# Learned inpainting (partial / gated convolution U-Net) on the shared Trainer
# ----------------------------------------------------------------------------------------------

PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1")  # Liu et al.'s pool1..pool3, as relu taps


@dataclass
class InpaintConfig:
    """Loss weights and optimiser of learned inpainting. Liu et al.'s recipe is valid 1, hole 6, perceptual
    0.05, style 120, TV 0.1 on *absolute* losses; synthlib's feature terms are relative, so their weights here
    are our own (0 switches a term off). ``adv_weight > 0`` adds a PatchGAN on the composited output."""

    hole_weight: float = 6.0
    valid_weight: float = 1.0
    pixel_loss: str = "l1"  # "l1" (Liu et al.) or "mse" (the error PSNR measures)
    perceptual_weight: float = 0.0
    style_weight: float = 0.0
    tv_weight: float = 0.0
    adv_weight: float = 0.0
    gan_loss: str = "hinge"
    lr: float = 2e-4  # Liu et al.: 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 8  # for the record; the masks are MaskedBatches' (kind, coverage, seed)
    layers: tuple[str, ...] = PERCEPTUAL_LAYERS
    vgg_weights: str = "offline-hed"
    vgg_arch: str = "vgg16"
    ema_half_life_img: float = 0.0

    def __post_init__(self) -> None:
        weights = ("hole_weight", "valid_weight", "perceptual_weight", "style_weight", "tv_weight", "adv_weight")
        for name in weights:
            if getattr(self, name) < 0:
                raise ValueError(f"InpaintConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.hole_weight + self.valid_weight == 0:
            raise ValueError("InpaintConfig: hole_weight and valid_weight are both 0; the model would learn no pixels")
        if self.lr <= 0 or self.lr_d <= 0:
            raise ValueError(f"InpaintConfig: learning rates must be > 0, got lr={self.lr}, lr_d={self.lr_d}")
        losses.get_gan_loss(self.gan_loss)
        check_choice("pixel_loss", self.pixel_loss, ("l1", "mse"))

    @property
    def needs_vgg(self) -> bool:
        return self.perceptual_weight > 0 or self.style_weight > 0


def _add_term(loss: Tensor, logs: dict[str, Tensor], name: str, weight: float, value: Tensor) -> Tensor:
    """``loss + weight * value``, with ``value`` logged under ``name``."""
    logs[name] = value.detach()
    return loss + weight * value


def _g_and_d_phases(G: nn.Module, D: nn.Module | None, cfg: Any, g_step: Any, d_step: Any,
                    g_lr_scale: Any = None) -> list[Phase]:
    """[the D step,] then the G step (D frozen in it), each with its own Adam (``cfg.lr_d``, ``cfg.lr``);
    ``g_lr_scale``: the G phase's :attr:`Phase.lr_scale` (None: a constant rate)."""
    phases = []
    if D is not None:
        phases.append(Phase("D", d_step, torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)))
    phases.append(Phase("G", g_step, torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=cfg.betas),
                        freeze=[D] if D is not None else [], lr_scale=g_lr_scale))
    return phases


def inpaint_loss_terms(out: Tensor, images: Tensor, holes: Tensor, cfg: InpaintConfig, *,
                       vgg: nn.Module | None = None, D: nn.Module | None = None) -> dict[str, Tensor]:
    """The generator's loss terms, unweighted, for a network output ``out`` (N x 3 x H x W) on photos
    ``images`` with ``holes`` (N x 1 x H x W, 1 = missing); the G step's loss is their sum weighted by
    :func:`inpaint_term_weights`. The two pixel terms always, the others when ``cfg`` gives them a weight,
    in the order of :func:`inpaint_term_weights` ("perceptual" and "style" need ``vgg``; "adv", the
    generator's adversarial term on the composite, needs ``D``)."""
    comp = composite(images, out, holes)
    hole_l1, valid_l1 = hole_valid_l1(out, images, holes, squared=cfg.pixel_loss == "mse")
    terms = {"hole": hole_l1, "valid": valid_l1}
    if cfg.needs_vgg:
        _check_encoder(cfg, vgg, "InpaintConfig")
        with torch.no_grad():
            target = vgg(images, cfg.layers)
        f_out, f_comp = vgg(out, cfg.layers), vgg(comp, cfg.layers)
        if cfg.perceptual_weight > 0:
            terms["perceptual"] = perceptual_loss(f_out, target) + perceptual_loss(f_comp, target)
        if cfg.style_weight > 0:
            terms["style"] = gram_loss(f_out, target) + gram_loss(f_comp, target)
    if cfg.tv_weight > 0:
        terms["tv"] = hole_total_variation(comp, holes)
    if cfg.adv_weight > 0:
        if D is None:
            raise ValueError("InpaintConfig.adv_weight > 0 needs a discriminator D")
        terms["adv"] = losses.get_gan_loss(cfg.gan_loss)[1](D(comp))
    return terms


def inpaint_term_weights(cfg: InpaintConfig) -> dict[str, float]:
    """Each term's weight in the G step's loss, by the names :func:`inpaint_loss_terms` gives the terms
    (hole, valid, perceptual, style, tv, adv)."""
    return {"hole": cfg.hole_weight, "valid": cfg.valid_weight, "perceptual": cfg.perceptual_weight,
            "style": cfg.style_weight, "tv": cfg.tv_weight, "adv": cfg.adv_weight}


def inpaint_term_gradients(out: Tensor, images: Tensor, holes: Tensor, cfg: InpaintConfig, *,
                           vgg: nn.Module | None = None, D: nn.Module | None = None) -> dict[str, Tensor]:
    """What each loss term asks of the network's output: the gradient of each term of
    :func:`inpaint_loss_terms`, times its weight, with respect to ``out`` (same shape as ``out``). Their
    sum is the gradient of the G step's loss; a training step moves the output along minus it, so
    ``-gradient`` is each term's pull on every pixel (D, VGG and the photos stay fixed)."""
    out = out.detach().requires_grad_(True)
    terms, weights = inpaint_loss_terms(out, images, holes, cfg, vgg=vgg, D=D), inpaint_term_weights(cfg)
    return {name: torch.autograd.grad(weights[name] * value, out, retain_graph=True)[0]
            for name, value in terms.items()}


def inpaint_phases(G: nn.Module, cfg: InpaintConfig, vgg: nn.Module | None = None,
                   D: nn.Module | None = None) -> list[Phase]:
    """[D step on real photos vs composited outputs,] then the G step on batches ``(images, holes)``."""
    d_loss_fn = losses.get_gan_loss(cfg.gan_loss)[0]

    def forward(batch: Any, scratch: dict[str, Any]) -> None:
        if "out" not in scratch:
            images, holes = batch
            scratch["out"] = G(images, holes)
            scratch["comp"] = composite(images, scratch["out"], holes)

    def d_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        forward(batch, scratch)
        real, fake = D(batch[0]), D(scratch["comp"].detach())
        return d_loss_fn(real, fake), {"real_logits": real.detach().mean(), "fake_logits": fake.detach().mean()}

    def g_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        forward(batch, scratch)
        images, holes = batch
        terms = inpaint_loss_terms(scratch["out"], images, holes, cfg, vgg=vgg, D=D)
        weights = inpaint_term_weights(cfg)
        loss = sum((weights[name] * value for name, value in terms.items()), torch.zeros((), device=images.device))
        return loss, {name: value.detach() for name, value in terms.items()}

    return _g_and_d_phases(G, D, cfg, g_step, d_step)


def _check_encoder(cfg: Any, vgg: nn.Module | None, what: str) -> None:
    if vgg is None:
        raise ValueError(f"{what} has feature-loss weights > 0 and needs a VGG feature extractor (vgg=...)")
    if (cfg.vgg_weights, cfg.vgg_arch) != (vgg.config.weights, vgg.config.arch):
        raise ValueError(f"{what}.vgg_weights/vgg_arch = {cfg.vgg_weights!r}/{cfg.vgg_arch!r} but the extractor has "
                         f"{vgg.config.weights!r}/{vgg.config.arch!r}")


def inpaint_trainer(
    G: nn.Module, data: Iterator[Any], cfg: InpaintConfig, *, vgg: nn.Module | None = None,
    D: nn.Module | None = None, **run: Any,
) -> Trainer:
    """A Trainer of kind ``"inpaint"`` (models ``G`` [, ``D``] [, ``G_ema``]) over batches ``(images, holes)``.
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    if cfg.needs_vgg:
        _check_encoder(cfg, vgg, "InpaintConfig")
    if (cfg.adv_weight > 0) != (D is not None):
        raise ValueError("InpaintConfig.adv_weight > 0 needs a discriminator D, and a D needs adv_weight > 0")
    models = {"G": G} if D is None else {"G": G, "D": D}
    recipe = Recipe(
        models=models, phases=inpaint_phases(G, cfg, vgg if cfg.needs_vgg else None, D), data=data, config=cfg,
        kind="inpaint", ema=EMA(G, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None,
        frozen=[vgg] if vgg is not None else [],  # VGG16Features is frozen (eval, no grad) from construction
    )
    return Trainer.from_recipe(recipe, **run)


# ----------------------------------------------------------------------------------------------
# Learned x4 super-resolution: SRResNet, then SRGAN's perceptual + adversarial fine-tuning
# ----------------------------------------------------------------------------------------------

SR_PERCEPTUAL_LAYERS = ("relu2_2", "relu3_3")  # SRGAN used VGG19's relu5_4 (ImageNet); see the chapter


@dataclass
class SRConfig(HoldThenDecay):
    """SRResNet (pixel loss only) or SRGAN (pixel + VGG feature + adversarial) training.

    Ledig et al. trained SRResNet with MSE and SRGAN with a VGG content loss plus 1e-3 x the adversarial
    loss, starting from SRResNet. ``pixel_weight`` keeps an L1/MSE anchor in SRGAN (ESRGAN does the same).
    The rate schedule (:class:`~synthlib.core.train.HoldThenDecay`) moves G's rate; D's stays constant."""

    pixel_loss: str = "l1"  # "l1" (EDSR's choice: sharper, trains faster) or "mse" (SRResNet's)
    pixel_weight: float = 1.0
    perceptual_weight: float = 0.0
    adv_weight: float = 0.0
    gan_loss: str = "nonsaturating"
    lr: float = 1e-4  # paper: 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    batch_size: int = 16
    factor: int = 4
    layers: tuple[str, ...] = SR_PERCEPTUAL_LAYERS
    vgg_weights: str = "offline-hed"
    vgg_arch: str = "vgg16"
    ema_half_life_img: float = 0.0

    def __post_init__(self) -> None:
        check_choice("pixel_loss", self.pixel_loss, ("l1", "mse"))
        check_lr_final("SRConfig", self.lr_final)
        for name in ("pixel_weight", "perceptual_weight", "adv_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"SRConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.pixel_weight + self.perceptual_weight == 0:
            raise ValueError("SRConfig: pixel_weight and perceptual_weight are both 0; nothing ties the output to the photo")
        if self.lr <= 0 or self.lr_d <= 0:
            raise ValueError(f"SRConfig: learning rates must be > 0, got lr={self.lr}, lr_d={self.lr_d}")
        losses.get_gan_loss(self.gan_loss)


def sr_phases(G: nn.Module, cfg: SRConfig, vgg: nn.Module | None = None, D: nn.Module | None = None) -> list[Phase]:
    """[D step on photos vs upscaled outputs,] then the G step on batches ``(low, high)``."""
    d_loss_fn, g_loss_fn = losses.get_gan_loss(cfg.gan_loss)
    pixel = F.l1_loss if cfg.pixel_loss == "l1" else F.mse_loss

    def forward(batch: Any, scratch: dict[str, Any]) -> Tensor:
        if "out" not in scratch:
            scratch["out"] = G(batch[0])
        return scratch["out"]

    def d_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        real, fake = D(batch[1]), D(forward(batch, scratch).detach())
        return d_loss_fn(real, fake), {"real_logits": real.detach().mean(), "fake_logits": fake.detach().mean()}

    def g_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        out, high = forward(batch, scratch), batch[1]
        logs: dict[str, Tensor] = {}
        loss = _add_term(torch.zeros((), device=out.device), logs, "pixel", cfg.pixel_weight,
                         pixel(out.float(), high.float()))
        if cfg.perceptual_weight > 0:
            with torch.no_grad():
                target = vgg(high, cfg.layers)
            perc = perceptual_loss(vgg(out, cfg.layers), target)
            loss = _add_term(loss, logs, "perceptual", cfg.perceptual_weight, perc)
        if D is not None:
            loss = _add_term(loss, logs, "adv", cfg.adv_weight, g_loss_fn(D(out)))
        return loss, logs

    return _g_and_d_phases(G, D, cfg, g_step, d_step, g_lr_scale=hold_then_decay(cfg))


def sr_trainer(
    G: nn.Module, data: Iterator[Any], cfg: SRConfig, *, vgg: nn.Module | None = None, D: nn.Module | None = None,
    **run: Any,
) -> Trainer:
    """A Trainer of kind ``"sr"`` (models ``G`` [, ``D``] [, ``G_ema``]) over batches ``(low, high)``.
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    if getattr(G, "config", None) is not None and getattr(G.config, "scale", cfg.factor) != cfg.factor:
        raise ValueError(f"the network upscales x{G.config.scale} but SRConfig.factor is {cfg.factor}")
    if cfg.perceptual_weight > 0:
        _check_encoder(cfg, vgg, "SRConfig")
    if (cfg.adv_weight > 0) != (D is not None):
        raise ValueError("SRConfig.adv_weight > 0 needs a discriminator D, and a D needs adv_weight > 0")
    models = {"G": G} if D is None else {"G": G, "D": D}
    recipe = Recipe(
        models=models, phases=sr_phases(G, cfg, vgg if cfg.perceptual_weight > 0 else None, D), data=data,
        config=cfg, kind="sr", ema=EMA(G, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None,
        frozen=[vgg] if vgg is not None else [],
    )
    return Trainer.from_recipe(recipe, **run)


# ----------------------------------------------------------------------------------------------
# Applying trained models (any image size), loading checkpoints
# ----------------------------------------------------------------------------------------------

KINDS = ("inpaint", "sr", "denoise", "burst_sr")  # denoise: restoration.denoise; burst_sr: restoration.burst


@torch.no_grad()
def inpaint_with(G: nn.Module, images: Tensor, holes: Tensor, settings: PnPSettings | None = None) -> Tensor:
    """Inpaint images of any size with an :class:`~synthlib.restoration.inpaint_net.InpaintUNet` (pad to a multiple
    of ``2**depth``, predict, crop back, and composite) or with a residual denoiser as the prior of plug-and-play
    inpainting (:func:`synthlib.restoration.pnp.pnp_inpaint`, as ``course:inpaint``); every known pixel is returned
    exactly. ``images`` N x 3 x H x W (or 3 x H x W), ``holes`` bool/float N x H x W, N x 1 x H x W or H x W
    (True = missing). ``settings``: plug-and-play's (:func:`synthlib.restoration.pnp.default_settings` when left out)."""
    single = images.ndim == 3
    x = _batch(images)
    h = holes.float()
    h = h.view(1, 1, *h.shape) if h.ndim == 2 else h.unsqueeze(1) if h.ndim == 3 else h
    if h.shape[-2:] != x.shape[-2:] or h.shape[1] != 1:
        raise ValueError(f"the hole mask's size {tuple(h.shape[-2:])} does not match the image's {tuple(x.shape[-2:])}")
    device = next(G.parameters()).device
    x, h = x.to(device).float(), h.expand(x.shape[0], 1, *x.shape[-2:]).to(device)
    if is_denoiser(G):
        out = pnp_inpaint(G, x, h, settings or default_settings(G))
        return out[0] if single else out
    multiple = 2 ** G.config.depth
    xp, size = pad_to_multiple(x, multiple)
    hp, _ = pad_to_multiple(h, multiple)
    pred = G(xp, hp)[..., : size[0], : size[1]].clamp(-1, 1)
    out = composite(x, pred, h)
    return out[0] if single else out


@torch.no_grad()
def upscale_with(G: nn.Module, images: Tensor) -> Tensor:
    """Upscale images (N x 3 x h x w or 3 x h x w) by the network's factor; clamped to [-1, 1]."""
    single = images.ndim == 3
    device = next(G.parameters()).device
    out = G(_batch(images).to(device).float()).clamp(-1, 1)
    return out[0] if single else out


@dataclass
class RestorationModel:
    """A trained restoration network from a checkpoint: ``kind`` "inpaint", "sr", "denoise" or "burst_sr", the network (its
    EMA weights when training kept them), and the training config (a dict)."""

    kind: str
    net: nn.Module
    config: dict[str, Any]


def load_restoration_model(path: str | Path, *, kind: str | Sequence[str] = KINDS,
                           device: str | torch.device = "cpu") -> RestorationModel:
    """Rebuild the generator of an ``inpaint``, ``sr``, ``denoise`` or ``burst_sr`` checkpoint (one-line CheckpointError
    otherwise)."""
    from synthlib.core import checkpoint as ckpt_io

    ckpt = ckpt_io.load(path, kind=kind)
    name = "G_ema" if "G_ema" in ckpt["models"] else "G"
    if name not in ckpt["models"]:
        raise ckpt_io.CheckpointError(f"{path}: a {ckpt['kind']} checkpoint without its generator 'G'")
    net = ckpt_io.rebuild(ckpt["models"][name]).to(device).eval()
    return RestorationModel(kind=ckpt["kind"], net=net, config=ckpt.get("config") or {})
