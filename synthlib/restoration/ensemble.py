"""Geometric self-ensemble: apply a restoration network to the eight flips and quarter turns of a picture, undo
each, and average (Lim et al., 2017, EDSR+; Zhang et al., 2021, DRUNet). Photos have no preferred orientation, so
the eight outputs make errors that are partly independent, and their mean is a better estimate than any one of
them, at eight times the cost. Nothing is trained: the same weights, a better answer."""

from __future__ import annotations

from typing import Callable

from torch import Tensor

__all__ = ["DIHEDRAL", "self_ensemble"]

# (quarter turns, flip left-right): the eight symmetries of a square
DIHEDRAL: tuple[tuple[int, bool], ...] = tuple((k, f) for f in (False, True) for k in range(4))


def _forward(x: Tensor, k: int, flip: bool) -> Tensor:
    x = x.flip(-1) if flip else x
    return x.rot90(k, dims=(-2, -1))


def _inverse(y: Tensor, k: int, flip: bool) -> Tensor:
    y = y.rot90(-k, dims=(-2, -1))
    return y.flip(-1) if flip else y


def self_ensemble(fn: Callable[[Tensor], Tensor], images: Tensor, *, transforms: int = 8) -> Tensor:
    """The mean of ``inverse_t(fn(t(images)))`` over the first ``transforms`` of :data:`DIHEDRAL` (1: ``fn``
    alone; 8: every flip and quarter turn). ``fn`` maps ... x H x W to ... x sH x sW (a denoiser, s = 1, or an
    upscaler); any H, W (turned pictures swap them)."""
    if not 1 <= transforms <= len(DIHEDRAL):
        raise ValueError(f"self_ensemble: transforms must be 1..{len(DIHEDRAL)}, got {transforms}")
    if transforms == 1:  # the identity alone: no copies to turn and average
        return fn(images)
    total = None
    for k, flip in DIHEDRAL[:transforms]:
        out = _inverse(fn(_forward(images, k, flip)), k, flip)
        total = out if total is None else total + out
    assert total is not None
    return total / transforms
