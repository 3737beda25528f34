"""Apply a convolutional network to a picture of any size in overlapping tiles, with bounded memory.

A fully convolutional network (SRResNet, the inpainting U-Net) computes each output pixel from a window
of the input around it (its receptive field). So the picture can be cut into tiles, each grown by an
``overlap`` margin of real pixels on every side that has a neighbour; the network runs on one grown tile
at a time and only the tile's core (the margin cropped off again) is kept. Where the margin covers the
receptive field, the stitched result equals the whole-picture result; beyond it the difference is what
the far edge of the receptive field contributes, which is small (restoration tools such as Real-ESRGAN
tile this way, with margins of 10-32 pixels).

The work memory (the network's activations) then depends on ``tile + 2 * overlap``, not on the picture:
the picture itself is held once as uint8 (3 bytes a pixel) and each tile is converted to float only while
the network runs on it.

    out = run_tiled(lambda ys, xs: upscale(pixels[ys, xs]), height, width, scale=4, tile=192, overlap=24)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from synthlib.data.imageio import tensor_to_pixels


@dataclass(frozen=True)
class Tile:
    """One tile: ``core`` is the part of the picture it answers for; ``grown`` adds the overlap margin
    (clipped at the picture's border). Both are (row slice, column slice) at the input's scale."""

    core: tuple[slice, slice]
    grown: tuple[slice, slice]


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> Iterator[Tile]:
    """Tiles whose cores cover an ``height`` x ``width`` picture exactly once, row by row.

    ``tile`` is the core's side in pixels (0 or at least the picture's size: one tile, the whole picture);
    ``overlap`` the margin added on every side that is not the picture's border.
    """
    if tile < 0 or overlap < 0:
        raise ValueError(f"tile and overlap must be >= 0, got tile={tile}, overlap={overlap}")
    step_y = height if tile == 0 else min(tile, height)
    step_x = width if tile == 0 else min(tile, width)
    for y0 in range(0, height, step_y):
        y1 = min(y0 + step_y, height)
        for x0 in range(0, width, step_x):
            x1 = min(x0 + step_x, width)
            grown = (slice(max(0, y0 - overlap), min(height, y1 + overlap)),
                     slice(max(0, x0 - overlap), min(width, x1 + overlap)))
            yield Tile(core=(slice(y0, y1), slice(x0, x1)), grown=grown)


def run_tiled(
    fn: Callable[[slice, slice], Tensor],
    height: int,
    width: int,
    *,
    scale: int = 1,
    tile: int = 256,
    overlap: int = 32,
    skip: Callable[[slice, slice], bool] | None = None,
    fill: Callable[[slice, slice], np.ndarray] | None = None,
    channels: int = 3,
) -> np.ndarray:
    """Stitch ``fn``'s outputs over tiles into one (scale * height) x (scale * width) x channels uint8 array.

    ``fn(rows, cols)`` returns the network's output for the input region ``[rows, cols]`` (a grown tile)
    as 1 x C x (scale * h) x (scale * w) in [-1, 1]. ``skip(rows, cols)`` (optional) says a tile's core
    needs no network (e.g. it has no missing pixel); its output is then ``fill(rows, cols)`` (uint8).
    """
    out = np.empty((height * scale, width * scale, channels), dtype=np.uint8)
    for t in plan_tiles(height, width, tile, overlap):
        (cy, cx), (gy, gx) = t.core, t.grown
        oy = slice(cy.start * scale, cy.stop * scale)
        ox = slice(cx.start * scale, cx.stop * scale)
        if skip is not None and skip(cy, cx):
            assert fill is not None, "run_tiled: skip needs fill"
            out[oy, ox] = fill(cy, cx)
            continue
        pred = fn(gy, gx)  # 1 x C x (scale * grown h) x (scale * grown w)
        expected = ((gy.stop - gy.start) * scale, (gx.stop - gx.start) * scale)
        if tuple(pred.shape[-2:]) != expected:
            raise ValueError(f"run_tiled: fn returned {tuple(pred.shape[-2:])} for a grown tile of {expected}")
        top, left = (cy.start - gy.start) * scale, (cx.start - gx.start) * scale
        core = pred[..., top : top + (cy.stop - cy.start) * scale, left : left + (cx.stop - cx.start) * scale]
        out[oy, ox] = tensor_to_pixels(core)
    return out


def activation_bytes_per_pixel(net: Callable[..., Tensor], *example: Tensor,
                               call: Callable[..., object] | None = None) -> float:
    """An upper bound on the memory a forward pass without gradients needs, per input pixel: the bytes of
    every leaf module's output (and the output itself) for ``example`` (run as ``call(*example)``, default ``net``),
    divided by its pixel count. Used to refuse,
    before any work, a picture whose forward pass would not fit (see ``python -m synthlib stylize --size``)."""
    import torch
    from torch import nn

    total = 0

    def hook(_m: nn.Module, _i: object, out: object) -> None:
        nonlocal total
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, Tensor):
                total += t.numel() * t.element_size()

    modules = [m for m in net.modules()] if isinstance(net, nn.Module) else []
    handles = [m.register_forward_hook(hook) for m in modules if not list(m.children())]
    try:
        with torch.no_grad():
            out = (call or net)(*example)
        total += sum(t.numel() * t.element_size() for t in (out if isinstance(out, (tuple, list)) else (out,))
                     if isinstance(t, Tensor))
    finally:
        for h in handles:
            h.remove()
    h, w = example[0].shape[-2:]
    return total / (h * w)
