"""The course weights' manifest: the shipped files, their SHA-256, and loading them as ``course:NAME``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from synthlib.core import checkpoint as ckpt_io
from synthlib.core.checkpoint import CheckpointError
from synthlib.course_weights.recipes import NAMES, RECIPES, command, resolve_name
from synthlib.data.fetch import sha256_file

WEIGHTS_ENV = "SYNTHLIB_COURSE_WEIGHTS"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "synthlib-course-weights-1"


def weights_dir() -> Path:
    """Where the course weights and their manifest live: ``$SYNTHLIB_COURSE_WEIGHTS``, else ``synthlib/weights/course``."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else Path(__file__).resolve().parent.parent / "weights" / "course"


def manifest_path(folder: str | os.PathLike | None = None) -> Path:
    return Path(folder if folder is not None else weights_dir()) / MANIFEST_NAME


# ----------------------------------------------------------------------------------------------
# The manifest, and loading


def read_manifest(folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The manifest's ``"weights"`` entries ({} when there is no manifest yet)."""
    path = manifest_path(folder)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["weights"]
        if not isinstance(entries, dict):
            raise TypeError("'weights' is not an object")
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path} is not a valid course-weights manifest ({e}); restore it from git "
                              "(git checkout -- synthlib/weights/course) or rebuild with `make weights`") from None
    return entries


def describe(name: str, folder: str | os.PathLike | None = None) -> tuple[dict[str, Any], str]:
    """A built course weight's manifest entry and two lines for a chapter to print: its budget, training time and
    hardware, and the command that reproduces it. Unknown or unbuilt names raise a one-line CheckpointError."""
    from synthlib.course_weights.recipes import command, resolve_name

    name = resolve_name(name)
    entry = read_manifest(folder).get(name)
    if entry is None:
        raise CheckpointError(f"course:{name} is not built yet: run `{command(name)}`")
    trained = "" if not entry.get("prior") else f"no network of its own, course:{entry['prior']}'s, trained for "
    text = (f"course:{name}: {trained}{entry['steps']:,} steps x {entry['batch_size']} images, "
            f"{entry['train_seconds'] / 60:.0f} min on {entry['hardware']}\nreproduce: {entry['command']}")
    return entry, text


def _write_json_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the file ships in the repository
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _update_manifest(folder: Path, name: str, entry: dict[str, Any]) -> None:
    entries = read_manifest(folder)
    entries[name] = entry
    order = {n: i for i, n in enumerate(NAMES)}
    ordered = dict(sorted(entries.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    _write_json_atomic({"format": MANIFEST_FORMAT,
                        "about": "Course weights (issue 23): one entry per name; see the synthlib/course_weights package. "
                                 "Each file's sha256 is checked at load; `make weights NAME=...` reproduces it.",
                        "weights": ordered}, manifest_path(folder))


def _entry(name: str, folder: Path) -> dict[str, Any]:
    entry = read_manifest(folder).get(name)
    if entry is None:
        raise CheckpointError(f"course:{name} is not built yet: {manifest_path(folder)} has no entry for it; "
                              f"train it with `{command(name)}`")
    return entry


def verify(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The weights file of ``name`` after checking that it exists and matches the manifest's SHA-256."""
    name = resolve_name(name)
    folder = Path(folder) if folder is not None else weights_dir()
    entry = _entry(name, folder)
    path = folder / entry["file"]
    # a name that uses another's network (a prior) is rebuilt by rebuilding that one, which rescores this one too
    rebuild = f"`{command(entry['prior'])}` (which rescores course:{name})" if entry.get("prior") else f"`{command(name)}`"
    if not path.is_file():
        raise CheckpointError(f"{path} is missing (course:{name}): restore it from git "
                              f"(git checkout -- {path.name}) or rebuild it with {rebuild}")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise CheckpointError(f"{path} is corrupt (course:{name}): its SHA-256 is {actual[:16]}..., the manifest "
                              f"expects {entry['sha256'][:16]}...; restore it from git or rebuild it with {rebuild}")
    return path


def load_checkpoint(name: str, *, kind: str | Sequence[str] | None = None, map_location: Any = "cpu",
                    folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """``course:NAME`` as a dict in synthlib's checkpoint format (what :func:`synthlib.core.checkpoint.load` returns).

    ``{"format", "kind", "step", "num_img", "config", "models": {NAME: {"arch", "config", "state"}, ...},
    "course": <manifest entry>}``, the models being the averaged networks the recipe exports (``G_ema``; ``net_ema``,
    ``decoder_ema``, or CycleGAN's ``G_AB_ema`` and ``G_BA_ema``). Where ``G_ema`` ships, "G" names the same entry so
    that code asking for a checkpoint's G (``load_generator(..., model="G")``) gets it too. Weights are float32 (files
    stored in fp16 are widened). Raises :class:`CheckpointError` (one line) for an unknown name, a name not built
    yet, a missing or corrupted file, or another ``kind``.
    """
    from safetensors.torch import load_file

    name = resolve_name(name)
    path = verify(name, folder)
    entry = _entry(name, Path(folder) if folder is not None else weights_dir())
    accepted = (kind,) if isinstance(kind, str) else tuple(kind) if kind is not None else None
    if accepted is not None and entry["kind"] not in accepted:
        raise CheckpointError(f"course:{name} is a {entry['kind']!r} checkpoint, but a "
                              f"{' or '.join(map(repr, accepted))} checkpoint is needed")
    try:
        flat = load_file(str(path), device=str(map_location) if isinstance(map_location, (str, torch.device)) else "cpu")
    except Exception as e:  # the checksum matched, so this file was written by something else
        raise CheckpointError(f"{path} could not be read as safetensors ({type(e).__name__}); "
                              f"rebuild it with `{command(name)}`") from None
    models: dict[str, Any] = {}
    for model_name, spec in entry["models"].items():
        prefix = f"{model_name}."
        state = {k[len(prefix):]: (v.float() if v.is_floating_point() else v) for k, v in flat.items()
                 if k.startswith(prefix)}
        models[model_name] = {"arch": spec["arch"], "config": spec["config"], "state": state}
    if "G_ema" in models and "G" not in models:
        models["G"] = models["G_ema"]
    return {"format": ckpt_io.FORMAT, "synthlib_version": ckpt_io._version(), "kind": entry["kind"],
            "step": entry.get("steps"), "num_img": entry.get("images_seen"), "config": entry.get("train_config"),
            "models": models, "course": {"name": name, **entry}}


load = load_checkpoint


def list_weights(folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Every course weight, in order: what it is, its budget, whether it is built, and its scores.

    Each item: ``name``, ``description``, ``chapter``, ``kind``, ``available`` (built and in the manifest),
    ``recipe`` (a recipe exists), ``steps`` (the budget), ``batch_size``, ``images`` (steps x batch), ``command``,
    and for built ones ``train_seconds``, ``hardware`` (one line), ``bytes``, ``dtype``, ``date``,
    ``metrics`` (the chapter's metrics) and ``default_profile`` (the chapter's default-profile numbers).
    """
    try:
        entries = read_manifest(folder)
    except CheckpointError:
        entries = {}
    out = []
    for name in [*NAMES, *sorted(set(entries) - set(NAMES))]:
        recipe = RECIPES.get(name)
        e = entries.get(name, {})
        item: dict[str, Any] = {
            "name": name,
            "description": e.get("description") or (recipe.description if recipe else "no recipe yet (issue 23)"),
            "chapter": e.get("chapter") or (recipe.chapter if recipe else None),
            "kind": e.get("kind") or (recipe.kind if recipe else None),
            "available": bool(e), "recipe": recipe is not None,
            "steps": e.get("steps", recipe.steps if recipe else None),
            "batch_size": e.get("batch_size", recipe.batch_size if recipe else None),
            "images": e.get("images_seen", recipe.images if recipe else None),
            "command": command(name),
            "default_profile": e.get("default_profile") or (dict(recipe.default_profile) if recipe else None),
        }
        if e:
            item.update({k: e.get(k) for k in ("train_seconds", "cpu_seconds", "hardware", "bytes", "dtype", "date", "metrics",
                                               "beats_default_profile", "file", "sha256", "prior")})
        out.append(item)
    return out


# ----------------------------------------------------------------------------------------------
# Training


def hardware() -> str:
    """One line: CPU model (or GPU), logical CPUs, torch threads, torch version, OS."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = f"GPU {torch.cuda.get_device_name(0)}, " if torch.cuda.is_available() else ""
    return (f"{device}CPU {cpu} ({os.cpu_count()} logical CPUs, {torch.get_num_threads()} torch threads), "
            f"torch {torch.__version__}, Python {platform.python_version()}, {platform.system()} {platform.machine()}")
