"""Checkpoints: one file that can rebuild and resume a run.

A checkpoint is a plain dict (tensors, numbers, strings, lists, dicts), so it loads with
``torch.load(..., weights_only=True)`` -- no pickled modules, no code runs on load:

    {"format": FORMAT, "kind": "dcgan", "step": 1200, "num_img": 76800,
     "config": {...run config...},
     "models": {"G": {"arch": "DCGANGenerator", "config": {...}, "state": state_dict}, ...},
     "optimizers": {...}, "scalers": {...}, "rng": {...}, "data": {...}, "history": {...}}

It is written to a temporary file in the same folder and renamed into place, so a crash while
saving never leaves a half-written file where the last good checkpoint was; Ctrl-C during a save
is held back until the rename is done, and the temporary files a killed process left behind are
removed by the next save to the same path (:func:`save_atomic`).

``torch.save`` writes a zip archive whose members carry CRC-32s; :func:`load` checks them before
unpickling (``torch.load`` does not), so a flipped bit in a checkpoint copied over a bad link or
read from a failing disk is named as damage instead of loading as silently wrong weights
(:func:`verify_archive`).
"""

from __future__ import annotations

import os
import pickle
import random
import re
import signal
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from synthlib.core.registry import build, spec

FORMAT_PREFIX = "synthlib-checkpoint-"
FORMAT_VERSION = 1  # the newest checkpoint format this synthlib reads, and the one it writes
FORMAT = f"{FORMAT_PREFIX}{FORMAT_VERSION}"


class CheckpointError(ValueError):
    """A file that is missing, unreadable, or not the kind of checkpoint the caller needs."""


def _temp_pattern(name: str) -> re.Pattern[str]:
    """The names :func:`save_atomic` gives its temporary files for a target named ``name``.

    ``.<name>.<pid>.<8 random chars>.tmp``; the pid is optional so that files written before it was
    part of the name (``.<name>.<8 random chars>.tmp``) match too.
    """
    return re.compile(rf"\.{re.escape(name)}\.(?:(\d+)\.)?[a-z0-9_]{{8}}\.tmp")


def _process_alive(pid: int, path: str) -> bool:
    """Whether the process with this id, which named the temporary file ``path``, may still be writing it.

    On POSIX: whether it runs (one we may not signal counts as running). On Windows, where
    ``os.kill(pid, 0)`` would terminate the process, a file untouched for an hour counts as abandoned.
    """
    if os.name == "nt":
        try:
            return time.time() - os.path.getmtime(path) < 3600
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


_writing: set[str] = set()  # temporary files this process is writing right now (other threads' saves)


def remove_stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that interrupted saves to ``path`` left in its folder; return them.

    A process killed while :func:`save_atomic` wrote (SIGKILL, out of memory, power loss) leaves
    ``.<name>.<pid>.XXXXXXXX.tmp`` beside ``path``. Such a file is stale when the process named by
    its pid no longer runs (or it is one of this process's own that no save is writing now, or an
    old-style name without a pid); a file another live process is still writing is left alone.
    """
    path = Path(path)
    pattern, removed = _temp_pattern(path.name), []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        pid = match.group(1)
        if pid is not None and (int(pid) == os.getpid() and entry.path in _writing
                                or int(pid) != os.getpid() and _process_alive(int(pid), entry.path)):  # fmt: skip
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:  # another process cleaned it up first
            continue
        removed.append(Path(entry.path))
    return removed


class _DeferSigint:
    """Hold back Ctrl-C (SIGINT) inside the ``with`` block, then deliver it once the block is done.

    Only the main thread can install signal handlers; elsewhere (and when the current handler was
    not set from Python) this does nothing and a Ctrl-C lands wherever it lands.
    """

    def __enter__(self) -> _DeferSigint:
        self.received, self.previous = False, None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not None:
                signal.signal(signal.SIGINT, self._hold)
                self.previous = previous
        return self

    def _hold(self, signum: int, frame: Any) -> None:
        self.received = True

    def __exit__(self, *exc: object) -> None:
        if self.previous is None:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.received:
            signal.raise_signal(signal.SIGINT)  # the handler of before runs now: KeyboardInterrupt by default


def save_atomic(obj: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file next to ``path``, then rename it into place; return ``path``.

    The file at ``path`` is at every moment either the previous checkpoint or the complete new one:

    * the data go to ``.<name>.<pid>.XXXXXXXX.tmp`` in the same folder, are flushed to the disk
      (``fsync``) and only then renamed over ``path`` (an atomic replace on POSIX and Windows);
    * Ctrl-C (SIGINT) during the write and the rename is held back and raised as KeyboardInterrupt
      right after the rename, so it cannot break ``torch.save`` halfway (where it surfaced as an
      unrelated RuntimeError); in a thread other than the main one the save runs without this;
    * temporary files left by an earlier save to ``path`` that was killed (SIGKILL cannot be caught)
      are deleted first (:func:`remove_stale_temp_files`); on any error the new temporary file is
      deleted and the error raised.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path)
    with _DeferSigint():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        _writing.add(tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(obj, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            _writing.discard(tmp)
    return path


def safetensors_bytes(tensors: dict[str, torch.Tensor], *, metadata: dict[str, str] | None = None) -> bytes:
    """``tensors`` (and string ``metadata``) as a safetensors file's bytes, its header's keys sorted.

    safetensors itself writes a metadata map of more than one key in an order that changes from one save to the next,
    so the same weights would get another SHA-256 every time; sorted, they do not. The header stays compact JSON
    padded with spaces to a multiple of 8 bytes, as the format asks."""
    import json
    import struct

    from safetensors.torch import save

    data = save(tensors, metadata=metadata)
    (n,) = struct.unpack("<Q", data[:8])
    text = json.dumps(json.loads(data[8 : 8 + n]), sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + n :]


def _sniff(head: bytes) -> str:
    """What a file that is not a readable checkpoint looks like, from its first bytes (for messages)."""
    if not head:
        return "an empty file (0 bytes)"
    magics = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
              b"\x1f\x8b": "a gzip archive", b"%PDF": "a PDF document", b"\x93NUMPY": "a NumPy .npy array",
              b"\x89HDF": "an HDF5 file"}
    for magic, what in magics.items():
        if head.startswith(magic):
            return what
    if len(head) > 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000:
        return "a safetensors file (weights only, without the model configs a synthlib checkpoint holds)"
    if head[:2] == b"\x80\x02" or head[:1] == b"\x80":
        return "a pickle or old-format PyTorch file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "a binary file of unknown type"
    return "a text file" if all(c.isprintable() or c in "\r\n\t" for c in text) else "a file of unknown type"


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    """One line on a file torch.load(weights_only=True) refused: what it is, what was expected, what to do.

    torch's own text is not repeated: it is many lines long, and for a file holding pickled
    objects it suggests loading with ``weights_only=False``, which would run code from the file.
    """
    expected = "expected a checkpoint.pt written by synthlib's Trainer"
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(b"PK\x03\x04"):  # torch.save writes a zip archive
        if not zipfile.is_zipfile(path):
            return CheckpointError(
                f"{path} is a truncated or damaged PyTorch file (its zip archive is incomplete: was a copy or "
                f"a run cut short?); {expected}: copy it again, or use an earlier checkpoint"
            )
        if isinstance(error, pickle.UnpicklingError) or "weights_only" in str(error):
            return CheckpointError(
                f"{path} is a PyTorch file that stores Python objects (e.g. a whole model saved with "
                f"torch.save(model)), which synthlib never unpickles because that can run code; {expected}"
            )
        return CheckpointError(f"{path} is a PyTorch file that could not be read ({type(error).__name__}); {expected}")
    return CheckpointError(f"{path} is {_sniff(head)}, not a synthlib checkpoint; {expected}")


def verify_archive(path: str | os.PathLike) -> None:
    """Check the CRC-32 of every member of the zip archive ``torch.save`` wrote at ``path``.

    ``torch.load`` reads tensor data without checking the CRC-32 that the zip format stores for each
    member, so a flipped bit loads as a silently different weight. This reads every member once
    (about as fast as the disk or page cache delivers it) and raises :class:`CheckpointError`, one
    line naming the member, when a checksum or a member's header does not match.

    Files that are not zip archives (or whose zip directory is unreadable) are left to ``torch.load``
    and its own messages; an archive written with ``torch.utils.serialization.config.save.compute_crc32
    = False`` (every CRC field 0) has no checksums to verify and passes.
    """
    path = Path(path)
    fix = "(a disk or copy error?); copy it again or use an earlier checkpoint"
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a zip, or a truncated one: torch.load fails and _unreadable names it
    with zf:
        members = zf.infolist()
        if all(m.CRC == 0 for m in members if m.file_size):
            return  # written without CRC-32s: nothing to verify
        for member in members:
            try:
                with zf.open(member) as f:
                    while f.read(1 << 22):  # ZipExtFile compares the CRC-32 when it reaches the end
                        pass
            except zipfile.BadZipFile as e:
                what = "data" if "CRC" in str(e) else "zip header"
                verb = "fails its checksum" if what == "data" else "is corrupt"
                raise CheckpointError(f"{path} is damaged: the {what} of {member.filename} {verb} {fix}") from None
            except (OSError, EOFError, NotImplementedError, zlib.error) as e:
                raise CheckpointError(
                    f"{path} is damaged: {member.filename} cannot be read ({type(e).__name__}: a disk or copy "
                    "error?); copy it again or use an earlier checkpoint"
                ) from None


def _format_version(fmt: Any) -> int | None:
    if isinstance(fmt, str) and fmt.startswith(FORMAT_PREFIX) and fmt[len(FORMAT_PREFIX):].isdigit():
        return int(fmt[len(FORMAT_PREFIX):])
    return None


def load(path: str | os.PathLike, *, kind: str | Sequence[str] | None = None, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``: no code from the file runs) and check it.

    Raises :class:`CheckpointError` with a one-line message (what the file is, what was expected,
    what to do) for a missing file, a file that is not a checkpoint (text, image, truncated zip,
    pickled modules, a bare state_dict), a damaged one (a zip member whose CRC-32 does not match:
    :func:`verify_archive`), one written by a newer synthlib, or one of another ``kind`` (a name, or
    a sequence of accepted names).
    """
    if os.fspath(path).startswith("course:"):  # the course weights (synthlib/course_weights), SHA-256 checked
        from synthlib.course_weights.manifest import load_checkpoint

        return load_checkpoint(os.fspath(path), kind=kind, map_location=map_location)
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give the checkpoint file in it (e.g. {path / 'checkpoint.pt'})")
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: the file does not exist (check the path)")
    verify_archive(path)  # torch.load itself does not check the zip's CRC-32s
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated file, a text file, a pickled module...
        raise _unreadable(path, e) from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(
            f"{path} is a PyTorch file holding a {type(ckpt).__name__}, not a synthlib checkpoint; "
            "expected a checkpoint.pt written by synthlib's Trainer"
        )
    version = _format_version(ckpt.get("format"))
    if version is None:
        what = "a bare state_dict" if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()) else "a dict"
        raise CheckpointError(
            f"{path} is a PyTorch file holding {what} without synthlib's format tag, not a synthlib checkpoint "
            "(which also stores each model's config so it can be rebuilt); expected a checkpoint.pt written by "
            "synthlib's Trainer"
        )
    if version > FORMAT_VERSION:
        by = ckpt.get("synthlib_version")
        raise CheckpointError(
            f"{path} was written by a newer synthlib{f' ({by})' if by else ''} in checkpoint format {version}; this "
            f"synthlib ({_version()}) reads formats up to {FORMAT_VERSION}: update synthlib (git pull, then make)"
        )
    accepted = (kind,) if isinstance(kind, str) else tuple(kind) if kind is not None else None
    if accepted is not None and ckpt.get("kind") not in accepted:
        wanted = " or ".join(map(repr, accepted))
        raise CheckpointError(f"{path} is a {ckpt.get('kind')!r} checkpoint, but a {wanted} checkpoint is needed")
    return ckpt


def _version() -> str:
    from synthlib import __version__

    return __version__


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
