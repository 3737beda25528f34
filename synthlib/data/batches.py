"""Resumable, seeded mini-batches of a tensor dataset (the loop saves and restores their position).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

# ----------------------------------------------------------------------------------------------
# Resumable batch iterator over in-memory tensors
# ----------------------------------------------------------------------------------------------

Transform = Callable[[Tensor], Tensor]


class TensorBatches:
    """Endless shuffled mini-batches of in-memory tensors, resumable exactly from a checkpoint.

    ``TensorBatches(images_u8, labels, batch_size=64, transform=from_uint8)`` yields
    ``(images, labels)`` batches (a single tensor if one tensor was given). Each epoch is a fresh
    permutation drawn from the iterator's own ``torch.Generator`` (seeded by ``seed``), so global
    RNG use elsewhere does not change the batches, and ``state_dict()``/``load_state_dict()``
    continue the exact sequence an uninterrupted run would see.

    Tensors are stored as given (keep images uint8 to save memory). ``transform`` is applied per
    batch: a callable is applied to the first tensor (the images); a sequence gives one callable
    (or None) per tensor.
    """

    def __init__(
        self,
        *tensors: Tensor,
        batch_size: int,
        seed: int = 0,
        drop_last: bool = True,
        transform: Transform | Sequence[Transform | None] | None = None,
    ) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(f"all tensors need the same first dimension, got {[t.shape[0] for t in tensors]}")
        if batch_size < 1 or (drop_last and batch_size > n):
            raise ValueError(f"batch_size={batch_size} must be in 1..{n} (the number of samples) when drop_last=True")
        if transform is None or callable(transform):
            transforms: list[Transform | None] = [transform] + [None] * (len(tensors) - 1)
        else:
            transforms = list(transform)
            if len(transforms) != len(tensors):
                raise ValueError(f"transform has {len(transforms)} entries for {len(tensors)} tensors; give one each")
        self.tensors, self.transforms = tensors, transforms
        self.n, self.batch_size, self.seed, self.drop_last = n, batch_size, seed, drop_last
        self.generator = torch.Generator().manual_seed(seed)  # CPU generator: checkpoints are device-free
        self._epoch = 0  # completed epochs
        self._position = 0  # batches already taken from the current permutation
        self._perm: Tensor | None = None  # drawn lazily at the first batch of an epoch

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.n // self.batch_size if self.drop_last else math.ceil(self.n / self.batch_size)

    @property
    def epoch(self) -> int:
        """Number of completed epochs."""
        return self._epoch

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Tensor | tuple[Tensor, ...]:
        if self._perm is None:
            self._perm = torch.randperm(self.n, generator=self.generator)
        start = self._position * self.batch_size
        idx = self._perm[start : start + self.batch_size]
        self._position += 1
        if self._position == len(self):  # epoch done: next call draws a new permutation
            self._epoch, self._position, self._perm = self._epoch + 1, 0, None
        batch = []
        for t, fn in zip(self.tensors, self.transforms):
            b = t.index_select(0, idx.to(t.device))  # one gather per tensor, no per-sample loop
            batch.append(fn(b) if fn is not None else b)
        return batch[0] if len(batch) == 1 else tuple(batch)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the same batch sequence (plain tensors and ints)."""
        return {
            "generator": self.generator.get_state(),  # uint8 tensor
            "epoch": self._epoch,
            "position": self._position,
            "perm": None if self._perm is None else self._perm.clone(),
            "n": self.n,
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state_dict()``; the data set size and batch size must match."""
        if (state["n"], state["batch_size"]) != (self.n, self.batch_size):
            raise ValueError(
                f"checkpoint was taken with n={state['n']}, batch_size={state['batch_size']}, "
                f"but this iterator has n={self.n}, batch_size={self.batch_size}; use the same data and batch size"
            )
        self.generator.set_state(state["generator"].to("cpu", torch.uint8))
        self._epoch, self._position = int(state["epoch"]), int(state["position"])
        self._perm = None if state["perm"] is None else state["perm"].to("cpu", copy=True)
