"""Image restoration (Chapter 6): the degradations, the classical methods and the PSNR/SSIM scores.

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

PSNR and SSIM come from torchmetrics (:func:`scores`). The two generations of deep methods that the chapter scores
against these live elsewhere in :mod:`synthlib.restoration` (which re-exports them):

* :func:`synthlib.restoration.dip.deep_image_prior` -- no training data at all: a randomly initialised encoder-decoder
  (:class:`~synthlib.restoration.dip_net.DIPNet`) fitted to the one degraded image; its structure is the prior.
* :mod:`synthlib.restoration.learned`: learned inpainting (:func:`inpaint_trainer`: an
  :class:`~synthlib.restoration.inpaint_net.InpaintUNet` with gated or
  partial convolutions; hole/valid L1, perceptual, style, TV and PatchGAN terms) and learned x4
  super-resolution (:func:`sr_trainer`: :class:`~synthlib.restoration.sr_net.SRResNet` with a pixel loss, then SRGAN's
  feature + adversarial fine-tuning), both on the shared :class:`~synthlib.core.train.Trainer` over crops of
  the training photographs (:class:`MaskedBatches`, :class:`DownscaledBatches`); :func:`inpaint_with`
  and :func:`upscale_with` apply them to any image size, :func:`load_restoration_model` rebuilds them.

Pixel convention: float in [-1, 1], 3 x H x W (one image) or N x 3 x H x W. A mask is a bool tensor
H x W (or N x H x W) that is True where pixels are **missing**.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

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


def denoise_bm3d(image: Tensor, sigma: float, *, profile: str = "np") -> Tensor:
    """BM3D (Dabov et al., 2007), the colour version CBM3D, from the ``bm3d`` package (the authors' own).

    Block matching gathers the patches that look like each reference patch into a 3-D stack; a 3-D
    transform of the stack (2-D DCT/bior of each patch, then a 1-D transform across the stack) makes
    the shared structure sparse, so shrinking its small coefficients removes noise but keeps what the
    similar patches agree on. A first pass hard-thresholds; a second pass uses the first estimate to
    match blocks again and to weight a Wiener filter. Colour: the channels go to an opponent (luma /
    chroma) space, blocks are matched on luma only. ``sigma``: the noise level in [-1, 1] units (see
    :func:`sigma_from_255`). The noisy values are passed as they are, not clipped: clipping would
    bias the noise BM3D models."""
    import bm3d

    if not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a finite number > 0, got {sigma}")
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected one RGB image 3 x H x W, got shape {tuple(image.shape)}")
    x = ((image.detach().cpu().double() + 1) / 2).permute(1, 2, 0).numpy()
    out = bm3d.bm3d_rgb(x, sigma / 2.0, profile=profile)
    return _from_numpy(np.asarray(out), image)


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
    from synthlib.translation.scores import paired_scores

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


def psnr_y(outputs: Tensor, targets: Tensor, shave: int = 0) -> Tensor:
    """PSNR in dB of each image's luma, the super-resolution papers' convention (SRCNN, SRResNet, EDSR report it):
    ITU-R BT.601 Y, ``(16 + 65.481 R + 128.553 G + 24.966 B) / 255`` for R, G, B in [0, 1], with ``shave`` pixels
    cut from every border (the scale factor, by that convention) and peak 1. Comparable with the papers' tables;
    :func:`psnr` (all three channels) is the course's own figure, usually a dB or so lower."""
    out, tgt = _batch(outputs).float(), _batch(targets).float()
    if out.shape != tgt.shape or out.shape[1] != 3:
        raise ValueError(f"psnr_y: two RGB batches of one shape, got {tuple(out.shape)} and {tuple(tgt.shape)}")
    weights = torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1) / 255

    def luma(x: Tensor) -> Tensor:
        y = ((x.clamp(-1, 1) + 1) / 2 * weights).sum(1) + 16 / 255
        return y[:, shave:y.shape[1] - shave, shave:y.shape[2] - shave] if shave else y

    mse = (luma(out) - luma(tgt)).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-12))


def _batch(x: Tensor) -> Tensor:
    return x if x.ndim == 4 else x.unsqueeze(0)


def scores(outputs: Tensor, targets: Tensor) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM over a batch: the chapter's table entries."""
    per_image = _per_image(outputs, targets)
    return {"psnr": float(per_image["psnr"].mean()), "ssim": float(per_image["ssim"].mean())}
