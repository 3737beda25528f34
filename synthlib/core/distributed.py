"""Training on several GPUs (or several CPU processes) through the one shared :class:`~synthlib.core.train.Trainer`.

Launch any script that builds a Trainer with ``torchrun``, one process per device::

    torchrun --nproc_per_node=4 -m synthlib.core.launch notebooks/05_stylegan.ipynb runs/05_full.ipynb -p profile full

Call :func:`setup` first (a notebook's ``synthlib.start_run`` does, and so :mod:`synthlib.core.launch`): it reads the
``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` variables torchrun sets, starts the process group (NCCL on
CUDA, gloo on the CPU) and gives each process its own GPU. Without torchrun it does nothing and every
function here answers as for a single process, so the same code runs on a laptop.

What a Trainer does when more than one process runs (data parallelism, as DistributedDataParallel):

* **same start**: every model's parameters and buffers are copied from rank 0 when the Trainer is built;
* **data sharded per rank**: each rank draws the same *global* batch from its data iterator and keeps its
  own slice of it (:func:`shard`), so the iterators stay in step and one checkpoint resumes every rank;
* **gradients averaged**: after each phase's backward pass, the gradients of that phase's optimiser are
  averaged over the ranks (:func:`average_gradients`, one all-reduce of one flat buffer) before the
  optimiser steps: the mean gradient of the whole global batch, what one process would compute;
* buffers (batch-norm statistics) are copied from rank 0 after every step (DDP's ``broadcast_buffers``);
* logged losses are averaged over the ranks; checkpoints and ``metrics.json`` are written by rank 0 only.

Why not wrap the models in ``torch.nn.parallel.DistributedDataParallel``? Its gradient hooks assume one
forward pass per backward pass with a fixed set of parameters receiving gradients. A GAN step breaks both:
the D phase runs D twice (real and fake) and G inside it, the G phase runs a frozen D, and lazy phases
(R1 every 16 steps) touch one network only. The workarounds (``find_unused_parameters``, ``static_graph``,
``no_sync``) either walk the autograd graph every step or fail on frozen modules. StyleGAN3's training loop
drops the wrapper for the same reason and averages each phase's gradients itself; so does this one. The
arithmetic is DDP's, and ``tests/core/test_distributed.py`` checks the result: two processes with half the
batch each end with the weights of one process with the whole batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = [
    "DistInfo", "any_rank", "average_gradients", "average_values", "barrier", "broadcast_buffers", "broadcast_module",
    "info", "is_main", "is_running", "setup", "shard", "teardown",
]


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0


def is_running() -> bool:
    """True inside a process group of two or more processes."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def info() -> DistInfo:
    """This process's rank, the number of processes and its rank on its machine (0, 1, 0 alone)."""
    if not is_running():
        return DistInfo()
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))


def is_main() -> bool:
    """True on rank 0 (and in a single process): the process that writes files."""
    if is_running():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def setup(backend: str | None = None) -> DistInfo:
    """Start the process group if torchrun launched this process (``WORLD_SIZE`` > 1); else do nothing.

    ``backend``: None picks NCCL when CUDA is available, else gloo (CPUs). On CUDA each process takes
    the GPU numbered by its ``LOCAL_RANK``. Safe to call twice.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or is_running():
        return info()
    missing = [v for v in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise RuntimeError(
            f"WORLD_SIZE={world} but {', '.join(missing)} not set: launch with "
            "`torchrun --nproc_per_node=N ...`, which sets them, or unset WORLD_SIZE for one process"
        )
    local = int(os.environ["LOCAL_RANK"])
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)
    dist.init_process_group(backend)
    return info()


def teardown() -> None:
    """End the process group (at the end of a torchrun script)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if is_running():
        dist.barrier()


def shard(batch: Any, rank: int, world_size: int) -> Any:
    """Rank ``rank``'s contiguous slice of a global batch (tensors, or tuples/lists/dicts of them, split
    along the first axis). The global batch size must be a multiple of ``world_size``."""
    if world_size == 1:
        return batch
    if isinstance(batch, Tensor):
        n = batch.shape[0]
        if n % world_size:
            raise ValueError(
                f"a global batch of {n} cannot be split evenly over {world_size} processes: "
                f"choose a batch size that is a multiple of {world_size} (e.g. {world_size * max(1, n // world_size)})"
            )
        per = n // world_size
        return batch[rank * per : (rank + 1) * per]
    if isinstance(batch, (tuple, list)):
        return type(batch)(shard(b, rank, world_size) for b in batch)
    if isinstance(batch, dict):
        return {k: shard(v, rank, world_size) for k, v in batch.items()}
    return batch


def _flat_all_reduce(tensors: Iterable[Tensor], op: str) -> None:
    """Average (``op="mean"``) or take rank 0's values of (``op="broadcast"``) ``tensors``, in place, as
    one flat buffer per dtype (one message instead of one per tensor)."""
    by_dtype: dict[torch.dtype, list[Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        if op == "mean":
            dist.all_reduce(flat)
            flat /= dist.get_world_size()
        else:  # "broadcast": rank 0's values everywhere
            dist.broadcast(flat, 0)
        offset = 0
        for t in group:
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """Replace each parameter's gradient by its mean over the ranks (parameters without one are skipped;
    every rank runs the same phases, so the same parameters have gradients everywhere)."""
    if not is_running():
        return
    _flat_all_reduce((p.grad for p in params if p.grad is not None), "mean")


def any_rank(flag: bool) -> bool:
    """True if ``flag`` is true on any rank (e.g. "out of time"), so that every rank takes the same decision
    and none is left waiting in a collective the others no longer join."""
    if not is_running():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def average_values(values: Tensor) -> Tensor:
    """The mean over the ranks of a tensor of numbers (logged losses)."""
    if not is_running():
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / dist.get_world_size()


@torch.no_grad()
def broadcast_module(module: nn.Module, buffers_only: bool = False) -> None:
    """Copy rank 0's parameters (unless ``buffers_only``) and buffers into every rank's ``module``."""
    if not is_running():
        return
    params = [] if buffers_only else [p.data for p in module.parameters()]
    _flat_all_reduce([*params, *module.buffers()], "broadcast")


def broadcast_buffers(module: nn.Module) -> None:
    """Copy rank 0's buffers (batch-norm statistics, StyleGAN's average w) into every rank's ``module``."""
    broadcast_module(module, buffers_only=True)
