"""Image restoration (Chapter 6): degradations, classical methods, Deep Image Prior and learned models.

Each restoration problem is an inverse problem ``y = A(x) + n``: a known degradation ``A`` of a
clean photo ``x``, which a method must undo with the help of some prior. This module gives the
degradations, seeded so that every method is scored on the same damaged pictures, and the classical
methods that the learned ones must beat, taken from the libraries rather than re-written:

* inpainting (``A`` = a mask): :func:`inpaint_biharmonic` (scikit-image; smooth continuation of the
  known pixels) and :func:`inpaint_telea` (OpenCV's fast marching, Telea 2004);
* denoising (``A`` = identity, ``n`` Gaussian): :func:`denoise_nl_means` (scikit-image; non-local
  means, which averages similar patches) and :func:`denoise_tv` (total variation, Chambolle);
* x4 super-resolution (``A`` = antialiased downscaling): :func:`upscale` with bicubic or Lanczos
  interpolation (PIL).

Then the two generations of deep methods that the chapter scores against them, with PSNR and SSIM
from torchmetrics (:func:`scores`):

* :func:`deep_image_prior` -- no training data at all: a randomly initialised encoder-decoder
  (:class:`~synthlib.models.DIPNet`) fitted to the one degraded image; its structure is the prior.
* learned inpainting (:func:`inpaint_trainer`: an :class:`~synthlib.models.InpaintUNet` with gated or
  partial convolutions; hole/valid L1, perceptual, style, TV and PatchGAN terms) and learned x4
  super-resolution (:func:`sr_trainer`: :class:`~synthlib.models.SRResNet` with a pixel loss, then SRGAN's
  feature + adversarial fine-tuning), both on the shared :class:`~synthlib.train.Trainer` over crops of
  the training photographs (:class:`MaskedBatches`, :class:`DownscaledBatches`); :func:`inpaint_with`
  and :func:`upscale_with` apply them to any image size, :func:`load_restoration_model` rebuilds them.

Pixel convention: float in [-1, 1], 3 x H x W (one image) or N x 3 x H x W. A mask is a bool tensor
H x W (or N x H x W) that is True where pixels are **missing**.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib import losses
from synthlib.config import check_choice, check_min
from synthlib.losses import gram_matrix
from synthlib.models.restore import composite, pad_to_multiple
from synthlib.style import gram_style_loss
from synthlib.train import EMA, Phase, Precision, Trainer

__all__ = [
    "box_mask", "stroke_mask", "apply_mask", "add_noise", "downscale", "upscale",
    "inpaint_biharmonic", "inpaint_telea", "denoise_nl_means", "denoise_tv", "sigma_from_255",
    "psnr", "ssim", "scores", "random_hole", "MaskedBatches", "DownscaledBatches",
    "hole_valid_l1", "perceptual_loss", "gram_loss", "hole_total_variation",
    "InpaintConfig", "inpaint_loss_terms", "inpaint_term_weights", "inpaint_term_gradients",
    "inpaint_phases", "inpaint_trainer", "SRConfig", "sr_phases", "sr_trainer",
    "inpaint_with", "upscale_with", "RestorationModel", "load_restoration_model",
    "DIPConfig", "DIPResult", "deep_image_prior",
]  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Degradations
# ----------------------------------------------------------------------------------------------


def _check_coverage(coverage: tuple[float, float]) -> None:
    lo, hi = coverage
    if not 0 < lo <= hi < 1:
        raise ValueError(f"coverage must be (lo, hi) with 0 < lo <= hi < 1, got {coverage}")


def box_mask(height: int, width: int, *, coverage: tuple[float, float] = (0.1, 0.3),
             generator: torch.Generator | None = None) -> Tensor:
    """One axis-aligned rectangle covering a random fraction in ``coverage`` of the image (True = missing)."""
    _check_coverage(coverage)
    g = generator or torch.Generator().manual_seed(0)
    area = (coverage[0] + (coverage[1] - coverage[0]) * float(torch.rand((), generator=g))) * height * width
    aspect = math.exp((float(torch.rand((), generator=g)) - 0.5) * math.log(3.0))  # width / height in [1/sqrt3, sqrt3]
    bh = min(height, max(1, round(math.sqrt(area / aspect))))
    bw = min(width, max(1, round(area / bh)))
    top = int(torch.randint(0, height - bh + 1, (), generator=g))
    left = int(torch.randint(0, width - bw + 1, (), generator=g))
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[top : top + bh, left : left + bw] = True
    return mask


def stroke_mask(height: int, width: int, *, coverage: tuple[float, float] = (0.1, 0.3),
                generator: torch.Generator | None = None, max_strokes: int = 40) -> Tensor:
    """Free-form brush strokes (random walks of thick line segments, as in Yu et al.'s free-form masks),
    added until the missing fraction reaches a target drawn from ``coverage`` (True = missing)."""
    from PIL import Image, ImageDraw

    _check_coverage(coverage)
    g = generator or torch.Generator().manual_seed(0)
    rand = lambda: float(torch.rand((), generator=g))  # noqa: E731
    target = coverage[0] + (coverage[1] - coverage[0]) * rand()
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    side = min(height, width)
    for _ in range(max_strokes):
        x, y = rand() * width, rand() * height
        thickness = max(2, round(side * (0.03 + 0.06 * rand())))
        angle = rand() * 2 * math.pi
        points = [(x, y)]
        for _ in range(2 + int(rand() * 5)):
            angle += (rand() - 0.5) * 2.0
            step = side * (0.08 + 0.17 * rand())
            x = min(max(x + step * math.cos(angle), 0), width - 1)
            y = min(max(y + step * math.sin(angle), 0), height - 1)
            points.append((x, y))
        draw.line(points, fill=255, width=thickness, joint="curve")
        for px, py in points:  # round caps
            r = thickness / 2
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
        mask = torch.from_numpy(np.asarray(canvas) > 0)
        if float(mask.float().mean()) >= target:
            break
    return mask


def apply_mask(images: Tensor, mask: Tensor, fill: float = 0.0) -> Tensor:
    """The images with their missing pixels (mask True) set to ``fill``."""
    return images.masked_fill(mask.unsqueeze(-3).expand_as(images), fill)


def sigma_from_255(sigma: float) -> float:
    """A noise level given on the usual 0..255 scale (e.g. 25) in synthlib's [-1, 1] units."""
    return sigma * 2.0 / 255.0


def add_noise(images: Tensor, sigma: float, *, generator: torch.Generator | None = None, clip: bool = False) -> Tensor:
    """Additive Gaussian noise with standard deviation ``sigma`` in [-1, 1] units (see :func:`sigma_from_255`).
    Not clipped by default: clipping would bias the noise and change the problem."""
    noise = torch.randn(images.shape, generator=generator or torch.Generator().manual_seed(0)).to(images)
    out = images + sigma * noise
    return out.clamp(-1, 1) if clip else out


def downscale(images: Tensor, factor: int = 4) -> Tensor:
    """Antialiased bicubic downscaling by an integer factor (sides must be multiples of it)."""
    h, w = images.shape[-2:]
    if factor < 1 or h % factor or w % factor:
        raise ValueError(f"downscale: height and width ({h}x{w}) must be multiples of factor={factor}")
    x = images if images.ndim == 4 else images.unsqueeze(0)
    out = F.interpolate(x.float(), size=(h // factor, w // factor), mode="bicubic", align_corners=False, antialias=True)
    return out if images.ndim == 4 else out[0]


# ----------------------------------------------------------------------------------------------
# Classical methods (library implementations)
# ----------------------------------------------------------------------------------------------


def _to_numpy(image: Tensor) -> np.ndarray:
    """3 x H x W in [-1, 1] -> H x W x 3 float64 in [0, 1] (what scikit-image expects)."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected one RGB image 3 x H x W, got shape {tuple(image.shape)}")
    return ((image.detach().cpu().double().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


def _from_numpy(array: np.ndarray, like: Tensor) -> Tensor:
    return (torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1) * 2 - 1).to(like.dtype).clamp(-1, 1)


def _check_mask(image: Tensor, mask: Tensor) -> None:
    if mask.shape != image.shape[-2:] or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor of the image's size {tuple(image.shape[-2:])}, got "
                         f"{mask.dtype} {tuple(mask.shape)}")


def inpaint_biharmonic(image: Tensor, mask: Tensor) -> Tensor:
    """scikit-image's biharmonic inpainting: the missing region filled by the smoothest continuation
    (solves the biharmonic equation with the known pixels as boundary). Known pixels are unchanged."""
    from skimage.restoration import inpaint_biharmonic as sk_inpaint

    _check_mask(image, mask)
    out = _from_numpy(sk_inpaint(_to_numpy(image), mask.numpy(), channel_axis=-1), image)
    return torch.where(mask, out, image)


def inpaint_telea(image: Tensor, mask: Tensor, radius: int = 5) -> Tensor:
    """OpenCV's fast-marching inpainting (Telea 2004): fills the hole from its border inwards, each pixel a
    weighted average of known neighbours within ``radius``. Known pixels are unchanged."""
    import cv2

    _check_mask(image, mask)
    u8 = np.round(_to_numpy(image) * 255).astype(np.uint8)
    filled = cv2.inpaint(u8, mask.numpy().astype(np.uint8), radius, cv2.INPAINT_TELEA)
    out = _from_numpy(filled.astype(np.float64) / 255.0, image)
    return torch.where(mask, out, image)


def denoise_nl_means(image: Tensor, sigma: float, *, h_factor: float = 0.8) -> Tensor:
    """scikit-image's non-local means with ``h = h_factor * sigma`` (``sigma``: the noise level in [-1, 1]
    units, known in this chapter's experiments; see :func:`sigma_from_255`)."""
    from skimage.restoration import denoise_nl_means as sk_nlm

    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    x = _to_numpy(image)
    s01 = sigma / 2.0
    out = sk_nlm(x, h=h_factor * s01, sigma=s01, fast_mode=True, patch_size=5, patch_distance=6, channel_axis=-1)
    return _from_numpy(out, image)


def denoise_tv(image: Tensor, weight: float = 0.08) -> Tensor:
    """scikit-image's total-variation denoising (Chambolle); ``weight`` on [0, 1] pixels: larger, flatter."""
    from skimage.restoration import denoise_tv_chambolle

    return _from_numpy(denoise_tv_chambolle(_to_numpy(image), weight=weight, channel_axis=-1), image)


def upscale(image: Tensor, factor: int = 4, method: Literal["bicubic", "lanczos", "nearest"] = "bicubic") -> Tensor:
    """Interpolate one image (3 x h x w) up by ``factor`` with PIL's bicubic, Lanczos or nearest filter."""
    from PIL import Image

    filters = {"bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS, "nearest": Image.NEAREST}
    if method not in filters:
        raise ValueError(f"method must be one of {sorted(filters)}, got {method!r}")
    x = _to_numpy(image).astype(np.float32)
    h, w = x.shape[:2]
    channels = [np.asarray(Image.fromarray(x[..., c], mode="F").resize((w * factor, h * factor), filters[method]))
                for c in range(3)]
    return _from_numpy(np.stack(channels, -1).astype(np.float64).clip(0, 1), image)


# ----------------------------------------------------------------------------------------------
# Scores: PSNR and SSIM per image -- chapter 3's paired_scores, the one implementation of both
# ----------------------------------------------------------------------------------------------


def _per_image(outputs: Tensor, targets: Tensor) -> dict[str, Tensor]:
    from synthlib.metrics.translation import paired_scores

    return paired_scores(_batch(outputs), _batch(targets), per_image=True)


def psnr(outputs: Tensor, targets: Tensor) -> Tensor:
    """Peak signal-to-noise ratio in dB of each image (N x 3 x H x W or 3 x H x W in [-1, 1], clamped; data
    range 2): ``10 log10(4 / MSE)``. +6 dB = half the root-mean-square error. On the CPU."""
    return _per_image(outputs, targets)["psnr"]


def ssim(outputs: Tensor, targets: Tensor) -> Tensor:
    """Structural similarity of each image (torchmetrics on pixels in [0, 1], the usual convention; Gaussian
    window 11, sigma 1.5): compares local means, contrasts and correlations, so it punishes blur and lost
    texture that PSNR forgives. On the CPU."""
    return _per_image(outputs, targets)["ssim"]


def _batch(x: Tensor) -> Tensor:
    return x if x.ndim == 4 else x.unsqueeze(0)


def scores(outputs: Tensor, targets: Tensor) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM over a batch: the chapter's table entries."""
    per_image = _per_image(outputs, targets)
    return {"psnr": float(per_image["psnr"].mean()), "ssim": float(per_image["ssim"].mean())}


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


class MaskedBatches:
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

    def __iter__(self) -> MaskedBatches:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        images = next(self.batches)
        n, _, h, w = images.shape
        holes = []
        for _ in range(n):
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.count)
            holes.append(self._hole(h, w, g))
            self.count += 1
        return images, torch.stack(holes).unsqueeze(1).float()

    def state_dict(self) -> dict[str, Any]:
        inner = self.batches.state_dict() if hasattr(self.batches, "state_dict") else None
        return {"count": self.count, "seed": self.seed, "inner": inner}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["seed"] != self.seed:
            raise ValueError(f"checkpoint's masks used seed={state['seed']}, these use seed={self.seed}; use the same")
        self.count = int(state["count"])
        if state["inner"] is not None and hasattr(self.batches, "load_state_dict"):
            self.batches.load_state_dict(state["inner"])


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


def _g_and_d_phases(G: nn.Module, D: nn.Module | None, cfg: Any, g_step: Any, d_step: Any) -> list[Phase]:
    """[the D step,] then the G step (D frozen in it), each with its own Adam (``cfg.lr_d``, ``cfg.lr``)."""
    phases = []
    if D is not None:
        phases.append(Phase("D", d_step, torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)))
    phases.append(Phase("G", g_step, torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=cfg.betas),
                        freeze=[D] if D is not None else []))
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
    D: nn.Module | None = None, run_dir: str | Path | None = None, checkpoint_every: int = 0,
    device: str | torch.device = "auto", precision: Precision = "auto", progress: bool = True, log_every: int = 10,
    callbacks: list | None = None,
) -> Trainer:
    """A Trainer of kind ``"inpaint"`` (models ``G`` [, ``D``] [, ``G_ema``]) over batches ``(images, holes)``."""
    if cfg.needs_vgg:
        _check_encoder(cfg, vgg, "InpaintConfig")
    if (cfg.adv_weight > 0) != (D is not None):
        raise ValueError("InpaintConfig.adv_weight > 0 needs a discriminator D, and a D needs adv_weight > 0")
    models = {"G": G} if D is None else {"G": G, "D": D}
    trainer = Trainer(
        models=models, phases=inpaint_phases(G, cfg, vgg if cfg.needs_vgg else None, D), data=data, config=cfg,
        kind="inpaint", ema=EMA(G, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None, device=device,
        precision=precision, run_dir=run_dir, checkpoint_every=checkpoint_every, progress=progress,
        log_every=log_every, callbacks=callbacks or [],
    )  # fmt: skip
    if vgg is not None:
        trainer.place(vgg)  # VGG16Features is frozen (eval, no grad) from construction
    return trainer


# ----------------------------------------------------------------------------------------------
# Learned x4 super-resolution: SRResNet, then SRGAN's perceptual + adversarial fine-tuning
# ----------------------------------------------------------------------------------------------

SR_PERCEPTUAL_LAYERS = ("relu2_2", "relu3_3")  # SRGAN used VGG19's relu5_4 (ImageNet); see the chapter


@dataclass
class SRConfig:
    """SRResNet (pixel loss only) or SRGAN (pixel + VGG feature + adversarial) training.

    Ledig et al. trained SRResNet with MSE and SRGAN with a VGG content loss plus 1e-3 x the adversarial
    loss, starting from SRResNet. ``pixel_weight`` keeps an L1/MSE anchor in SRGAN (ESRGAN does the same)."""

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

    return _g_and_d_phases(G, D, cfg, g_step, d_step)


def sr_trainer(
    G: nn.Module, data: Iterator[Any], cfg: SRConfig, *, vgg: nn.Module | None = None, D: nn.Module | None = None,
    run_dir: str | Path | None = None, checkpoint_every: int = 0, device: str | torch.device = "auto",
    precision: Precision = "auto", progress: bool = True, log_every: int = 10, callbacks: list | None = None,
) -> Trainer:
    """A Trainer of kind ``"sr"`` (models ``G`` [, ``D``] [, ``G_ema``]) over batches ``(low, high)``."""
    if getattr(G, "config", None) is not None and getattr(G.config, "scale", cfg.factor) != cfg.factor:
        raise ValueError(f"the network upscales x{G.config.scale} but SRConfig.factor is {cfg.factor}")
    if cfg.perceptual_weight > 0:
        _check_encoder(cfg, vgg, "SRConfig")
    if (cfg.adv_weight > 0) != (D is not None):
        raise ValueError("SRConfig.adv_weight > 0 needs a discriminator D, and a D needs adv_weight > 0")
    models = {"G": G} if D is None else {"G": G, "D": D}
    trainer = Trainer(
        models=models, phases=sr_phases(G, cfg, vgg if cfg.perceptual_weight > 0 else None, D), data=data,
        config=cfg, kind="sr", ema=EMA(G, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None,
        device=device, precision=precision, run_dir=run_dir, checkpoint_every=checkpoint_every, progress=progress,
        log_every=log_every, callbacks=callbacks or [],
    )  # fmt: skip
    if vgg is not None:
        trainer.place(vgg)  # VGG16Features is frozen (eval, no grad) from construction
    return trainer


# ----------------------------------------------------------------------------------------------
# Applying trained models (any image size), loading checkpoints
# ----------------------------------------------------------------------------------------------

KINDS = ("inpaint", "sr")


@torch.no_grad()
def inpaint_with(G: nn.Module, images: Tensor, holes: Tensor) -> Tensor:
    """Inpaint images of any size with an :class:`~synthlib.models.InpaintUNet`: pad to a multiple of
    ``2**depth``, predict, crop back, and composite, so every known pixel is returned exactly.
    ``images`` N x 3 x H x W (or 3 x H x W), ``holes`` bool/float N x H x W, N x 1 x H x W or H x W (True = missing)."""
    single = images.ndim == 3
    x = _batch(images)
    h = holes.float()
    h = h.view(1, 1, *h.shape) if h.ndim == 2 else h.unsqueeze(1) if h.ndim == 3 else h
    if h.shape[-2:] != x.shape[-2:] or h.shape[1] != 1:
        raise ValueError(f"the hole mask's size {tuple(h.shape[-2:])} does not match the image's {tuple(x.shape[-2:])}")
    device = next(G.parameters()).device
    x, h = x.to(device).float(), h.expand(x.shape[0], 1, *x.shape[-2:]).to(device)
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
    """A trained restoration network from a checkpoint: ``kind`` "inpaint" or "sr", the network (its
    EMA weights when training kept them), and the training config (a dict)."""

    kind: str
    net: nn.Module
    config: dict[str, Any]


def load_restoration_model(path: str | Path, *, kind: str | Sequence[str] = KINDS,
                           device: str | torch.device = "cpu") -> RestorationModel:
    """Rebuild the generator of an ``inpaint`` or ``sr`` checkpoint (one-line CheckpointError otherwise)."""
    from synthlib import checkpoint as ckpt_io

    ckpt = ckpt_io.load(path, kind=kind)
    name = "G_ema" if "G_ema" in ckpt["models"] else "G"
    if name not in ckpt["models"]:
        raise ckpt_io.CheckpointError(f"{path}: a {ckpt['kind']} checkpoint without its generator 'G'")
    net = ckpt_io.rebuild(ckpt["models"][name]).to(device).eval()
    return RestorationModel(kind=ckpt["kind"], net=net, config=ckpt.get("config") or {})


# ----------------------------------------------------------------------------------------------
# Deep Image Prior: fit a randomly initialised network to one degraded image
# ----------------------------------------------------------------------------------------------


@dataclass
class DIPConfig:
    """Deep Image Prior (Ulyanov, Vedaldi & Lempitsky 2018). Defaults: the paper's Adam lr 0.01, input
    perturbation sigma 1/30 at every step, and an exponential average of the outputs (0.99) for denoising."""

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
    """What :func:`deep_image_prior` found: the output after the last step, the (averaged) output at the
    step with the best PSNR against the clean image when one was given (an oracle: the clean image is
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

    from synthlib.models.restore import DIPNet, dip_input

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
