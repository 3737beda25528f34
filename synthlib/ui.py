"""A latent-space explorer for image generators, usable with or without a browser.

All the logic lives in plain functions and in :class:`LatentExplorer`, whose methods return
image tensors; :func:`explorer_ui` only wires ipywidgets (imported lazily, there) to them::

    explorer = LatentExplorer(G_ema, z_dim=cfg.z_dim, num_classes=10, device=device)
    img = explorer.render(seed=3, offsets=[2.0, 0.0, -1.0], label=7)   # (C, H, W) in [-1, 1]
    strip = explorer.interpolation_strip(3, 4, steps=8)                # (8, C, H, W)
    explorer_ui(explorer, class_names=FASHION_MNIST_CLASSES)           # the interactive version

Directions (GANSpace-style, Haerkoenen et al. 2020, with G's output images as the features)
-------------------------------------------------------------------------------------------
1. Draw ``num_samples`` latents z ~ N(0, I) and generate their images y = G(z) (flattened).
2. PCA of the images: the top ``k`` principal components of y, and each image's coordinates
   (scores) x on them. For a conditional G the images are centred per class first, so the
   components describe variation *within* a class (pose, thickness, brightness), not between
   classes, which the class label already controls.
3. Map the components back into z-space by least squares, ``U = argmin_U sum_j ||x_j U - z_j||^2``:
   row i of U is the change of z that goes with one unit of component i.
4. Orthonormalise the rows of U (QR, in order, keeping each row's sign).

Because z ~ N(0, I), z's projection on any unit direction has standard deviation 1, so a slider
offset of 2 moves z by two standard deviations along that direction.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from synthlib.data.pixels import to_uint8

# ----------------------------------------------------------------------------------------------
# Principal directions
# ----------------------------------------------------------------------------------------------


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int if it is a whole number in [0, 2**63) (a torch.Generator seed), else a ValueError naming it."""
    try:
        ok = not isinstance(seed, bool) and int(seed) == seed and 0 <= seed < 2**63
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a whole number >= 0, got {seed!r}")
    return int(seed)


def latent_for_seed(seed: int, z_dim: int) -> Tensor:
    """The latent z (z_dim,) ~ N(0, I) that ``seed`` names: same seed, same z, on any device."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def _call(G: nn.Module, z: Tensor, labels: Tensor | None) -> Tensor:
    return G(z) if labels is None else G(z, labels)


def to_png(image: Tensor, scale: int = 4) -> bytes:
    """PNG bytes of one image (C, H, W) in [-1, 1], enlarged ``scale`` times (nearest neighbour)."""
    from PIL import Image

    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"to_png expects one C x H x W image with C = 1 or 3, got {tuple(image.shape)}")
    pixels = to_uint8(image.cpu()).permute(1, 2, 0).numpy()  # (H, W, C)
    pil = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    if scale != 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# Side-by-side comparison of image-to-image models (chapter 3)
# ----------------------------------------------------------------------------------------------


def side_by_side(images: Sequence[Tensor], gap: int = 2, fill: float = 1.0) -> Tensor:
    """Images (C, H, W) of one size in a row, ``gap`` pixels of ``fill`` between them: (C, H, K*W + gaps)."""
    if not images:
        raise ValueError("side_by_side needs at least one image")
    c, h, _ = images[0].shape
    spacer = torch.full((c, h, gap), fill)
    parts: list[Tensor] = []
    for i, img in enumerate(images):
        if i:
            parts.append(spacer)
        parts.append(img.float().cpu())
    return torch.cat(parts, dim=2)
