"""Random crops of the course's photographs as resumable training batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from synthlib.core.config import check_choice
from synthlib.data.photo_catalogue import Role
from synthlib.data.photos import (
    ROLES,
    _entry,
    _read_u8,
    _resize_short,
    _role_names,
    _root,
    _to_tensor_u8,
)
from synthlib.data.pixels import from_uint8

# ----------------------------------------------------------------------------------------------
# Random crops for training
# ----------------------------------------------------------------------------------------------


class RandomCrops(Dataset[Tensor]):
    """Random square crops of the pictures of a role: a virtual epoch of ``n`` crops, each decided by ``(seed, i)``.

    ``ds[i]`` is a float32 3 x crop x crop tensor in [-1, 1]: a picture drawn uniformly from
    ``names`` (default: every prepared picture of ``role``), a square whose side is a fraction
    ``s ~ U(scale)`` of the picture's shorter side (log-uniform with ``log_scale``: as many crops between 1/16
    and 1/8 of the side as between 1/2 and 1) at a uniform position, resized to ``crop``
    (bilinear, antialiased), flipped left-right with probability 1/2 if ``flip``. The draw comes from
    ``numpy.random.default_rng((seed, i))``, so the same (seed, i) gives the same crop in any process,
    DataLoader worker or resumed run. :meth:`sample` draws crop ``i`` for any ``i >= 0`` (beyond ``n``
    too), which :meth:`batches` uses for an endless, resumable batch iterator for synthlib's Trainer.

    The pictures are decoded once and kept in memory as uint8, shrunk so their shorter side is at
    most ``max_short_side`` (512: about 30 MB for the 26 training photographs; the prepared photos' longer side is
    at most 1024). A square smaller than ``crop`` is enlarged (blurred) unless ``enlarge=False``, which draws its side
    at least ``crop`` (or the shorter side, if that is smaller): every crop then holds the photo's own detail or a
    reduction of it (for course:sr-x4's recipe that made no difference: experiments/06_restoration/sr_crops.py).
    Chapter 6's course denoiser draws sides log-uniformly from 1/25 of a photo at full size: the same photos at
    every scale are far more data for a network that sees 64 px at a time (experiments/06_restoration/
    denoiser_unet.py).
    """

    def __init__(
        self,
        role: Role = "train",
        crop: int = 128,
        n: int = 10_000,
        *,
        scale: tuple[float, float] = (0.25, 1.0),
        flip: bool = True,
        seed: int = 0,
        max_short_side: int = 512,
        log_scale: bool = False,
        enlarge: bool = True,
        names: Sequence[str] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        check_choice("role", role, ROLES)
        lo, hi = scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"scale must satisfy 0 < lo <= hi <= 1, got {scale}")
        if crop < 1 or n < 1 or max_short_side < 1 or seed < 0:
            raise ValueError(
                f"need crop, n, max_short_side >= 1 and seed >= 0; got {crop}, {n}, {max_short_side}, {seed}"
            )
        root = _root(cache_dir)
        self.names = list(names) if names is not None else _role_names(role, root)
        self.role, self.crop, self.n, self.scale, self.flip, self.seed = role, crop, n, (lo, hi), flip, seed
        self.log_scale, self.enlarge = log_scale, enlarge
        self.images: list[Tensor] = []  # uint8 3 x H x W each
        for name in self.names:
            im = _read_u8(root, _entry(name, root))
            if min(im.size) > max_short_side:
                im = _resize_short(im, max_short_side)
            self.images.append(_to_tensor_u8(im))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Tensor:
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} crops")
        return self.sample(i % self.n)

    def params(self, i: int) -> tuple[int, int, int, int, bool]:
        """Where crop ``i`` comes from: (picture index, top, left, side in stored pixels, flipped)."""
        rng = np.random.default_rng((self.seed, i))
        k = int(rng.integers(len(self.images)))
        _, h, w = self.images[k].shape
        lo, hi = self.scale
        s = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if self.log_scale else rng.uniform(lo, hi)
        side = max(1 if self.enlarge else self.crop, round(s * min(h, w)))
        side = min(h, w, side)
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        flipped = bool(self.flip and rng.random() < 0.5)
        return k, top, left, side, flipped

    def sample(self, i: int) -> Tensor:
        """Crop number ``i`` (any ``i >= 0``): float32 3 x crop x crop in [-1, 1]."""
        if i < 0:
            raise ValueError(f"crop index must be >= 0, got {i}")
        k, top, left, side, flipped = self.params(i)
        x = from_uint8(self.images[k][:, top : top + side, left : left + side])
        if side != self.crop:
            x = F.interpolate(x[None], size=(self.crop, self.crop), mode="bilinear", antialias=True,
                              align_corners=False)[0].clamp_(-1.0, 1.0)  # fmt: skip
        return x.flip(-1) if flipped else x

    def batches(self, batch_size: int) -> CropBatches:
        """An endless, resumable iterator of ``batch_size`` x 3 x crop x crop batches (crops 0, 1, 2, ... in order)."""
        return CropBatches(self, batch_size)


class CropBatches:
    """Endless batches of :class:`RandomCrops`: batch ``k`` holds crops ``k*B .. k*B+B-1``, resumable.

    ``state_dict()`` / ``load_state_dict()`` hold the position, so synthlib's Trainer resumes with
    the exact batches an uninterrupted run would see. Crops never repeat: indices run past ``n``.
    """

    def __init__(self, crops: RandomCrops, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.crops, self.batch_size, self.position = crops, batch_size, 0

    def __iter__(self) -> CropBatches:
        return self

    def __next__(self) -> Tensor:
        start, self.position = self.position, self.position + self.batch_size
        return torch.stack([self.crops.sample(i) for i in range(start, start + self.batch_size)])

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position, "batch_size": self.batch_size, "seed": self.crops.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if (state["batch_size"], state["seed"]) != (self.batch_size, self.crops.seed):
            raise ValueError(
                f"checkpoint was taken with batch_size={state['batch_size']}, seed={state['seed']}, but these batches "
                f"have batch_size={self.batch_size}, seed={self.crops.seed}; use the same ones"
            )
        self.position = int(state["position"])


def content_crops(crop: int = 128, n: int = 10_000, *, seed: int = 0, **kw: Any) -> RandomCrops:
    """Random crops of the training photographs: ``RandomCrops("train", crop, n, seed=seed, **kw)``."""
    return RandomCrops("train", crop, n, seed=seed, **kw)
