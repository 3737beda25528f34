"""Checkpoints: one file that can rebuild and resume a run.

A checkpoint is a plain dict (tensors, numbers, strings, lists, dicts), so it loads with
``torch.load(..., weights_only=True)`` -- no pickled modules, no code runs on load:

    {"format": FORMAT, "kind": "dcgan", "step": 1200, "num_img": 76800,
     "config": {...run config...},
     "models": {"G": {"arch": "DCGANGenerator", "config": {...}, "state": state_dict}, ...},
     "optimizers": {...}, "scalers": {...}, "rng": {...}, "data": {...}, "history": {...}}

It is written to a temporary file in the same folder and renamed into place, so a crash while
saving never leaves a half-written file where the last good checkpoint was.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from synthlib.models import build, spec

FORMAT = "synthlib-checkpoint-1"


class CheckpointError(ValueError):
    """A file that is missing, unreadable, or not the kind of checkpoint the caller needs."""


def save_atomic(obj: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file next to ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | os.PathLike, *, kind: str | None = None, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``) and check its format (and ``kind``)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: the file does not exist (check the path)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated file, a text file, a pickled module...
        raise CheckpointError(
            f"{path} could not be read as a synthlib checkpoint ({type(e).__name__}: {e})"
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a synthlib checkpoint (expected format {FORMAT!r}); "
            "use a file written by synthlib's Trainer"
        )
    if kind is not None and ckpt.get("kind") != kind:
        raise CheckpointError(
            f"{path} is a {ckpt.get('kind')!r} checkpoint, but a {kind!r} checkpoint is needed"
        )
    return ckpt


def model_entry(model: nn.Module) -> dict[str, Any]:
    """What a checkpoint stores per model: its arch, its config and its weights."""
    return {**spec(model), "state": model.state_dict()}


def rebuild(entry: dict[str, Any]) -> nn.Module:
    """A model rebuilt from its saved arch and config, with its saved weights loaded."""
    model = build(entry["arch"], entry["config"])
    model.load_state_dict(entry["state"])
    return model


def load_models(path: str | os.PathLike, *, kind: str | None = None, device: Any = "cpu") -> dict[str, nn.Module]:
    """One call from a checkpoint file to its models, rebuilt from their saved configs.

    Returns e.g. ``{"G": ..., "D": ..., "G_ema": ...}``, all in eval mode on ``device``.
    """
    ckpt = load(path, kind=kind)
    return {name: rebuild(entry).to(device).eval() for name, entry in ckpt["models"].items()}


def rng_state() -> dict[str, Any]:
    """Every RNG a run draws from, as plain tensors (safe under ``weights_only``)."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
