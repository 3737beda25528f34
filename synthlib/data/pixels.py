"""Pixel conversions at the edges of synthlib's one convention (float [-1, 1], N x C x H x W), and resizing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# ----------------------------------------------------------------------------------------------
# Pixel helpers
# ----------------------------------------------------------------------------------------------


def _require_float(x: Tensor, fn: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn} expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{fn} expects a floating-point tensor in synthlib's [-1, 1] convention, got {x.dtype}; "
            "convert uint8 images with synthlib.data.from_uint8 first"
        )


def from_uint8(x: Tensor) -> Tensor:
    """uint8 pixels 0..255 -> float32 in [-1, 1] (same shape)."""
    if not isinstance(x, Tensor) or x.dtype != torch.uint8:
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(
            f"from_uint8 expects a torch.uint8 tensor, got {got}; "
            "float images in [-1, 1] need no conversion, float images in [0, 1] use from_unit"
        )
    return x.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(x: Tensor) -> Tensor:
    """float in [-1, 1] -> uint8 0..255 (values outside [-1, 1] are clamped; rounded to nearest)."""
    _require_float(x, "to_uint8")
    return x.detach().clamp(-1.0, 1.0).add(1.0).mul_(127.5).round_().to(torch.uint8)


def to_unit(x: Tensor) -> Tensor:
    """float in [-1, 1] -> float in [0, 1] (clamped), e.g. for ``plt.imshow``."""
    _require_float(x, "to_unit")
    return x.add(1.0).mul_(0.5).clamp_(0.0, 1.0)


def from_unit(x: Tensor) -> Tensor:
    """float in [0, 1] -> float in [-1, 1] (not clamped, so it is the exact inverse of ``to_unit``)."""
    _require_float(x, "from_unit")
    return x.mul(2.0).sub_(1.0)


def _require_images(images: Tensor, fn: str) -> None:
    _require_float(images, fn)
    if images.ndim != 4:
        raise ValueError(f"{fn} expects images shaped N x C x H x W, got shape {tuple(images.shape)}")


def resize(images: Tensor, size: int) -> Tensor:
    """Resize N x C x H x W images in [-1, 1] to N x C x size x size (bilinear, antialiased)."""
    _require_images(images, "resize")
    if images.shape[-2:] == (size, size):
        return images.clone()
    out = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(-1.0, 1.0)  # interpolation must not leave the pixel range


def pad_to(images: Tensor, size: int, value: float = -1.0) -> Tensor:
    """Centre-pad N x C x H x W images to N x C x size x size with ``value`` (-1 = black), e.g. 28 -> 32."""
    _require_images(images, "pad_to")
    h, w = images.shape[-2:]
    if h > size or w > size:
        raise ValueError(f"pad_to: images are {h}x{w}, larger than size={size}; use resize to shrink")
    top, left = (size - h) // 2, (size - w) // 2
    return F.pad(images, (left, size - w - left, top, size - h - top), value=value)
