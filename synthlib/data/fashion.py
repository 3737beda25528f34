"""Fashion-MNIST: find, verify (SHA-256), read and cache the IDX files, from Debian, torchvision or a folder.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import shutil
import subprocess
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from synthlib.core.config import check_choice
from synthlib.data.paths import (
    _FMNIST_FILES,
    FASHION_MNIST_SHA256,
    CorruptDataError,
    DataNotFoundError,
    data_dir,
)
from synthlib.data.pixels import from_uint8

_IDX_UBYTE = 0x08  # IDX type code for unsigned bytes; the only type Fashion-MNIST uses


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped if it is gzip-compressed (detected by its magic bytes)."""
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    try:
        if compressed:
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise CorruptDataError(
            f"{path}: cannot decompress ({e}); the file is damaged: delete it and get it again"
        ) from e


def _parse_idx(data: bytes, path: Path) -> Tensor:
    """Parse IDX bytes (uint8 data only) into a uint8 tensor of the shape in the header."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise CorruptDataError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    if data[2] != _IDX_UBYTE:
        raise CorruptDataError(f"{path}: IDX data type 0x{data[2]:02x} is not supported (only uint8, 0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDataError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + math.prod(shape)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise CorruptDataError(
            f"{path}: IDX file {what}: header says shape {shape} ({expected} bytes), file has {len(data)} bytes; "
            "delete it and get it again"
        )
    return torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8).reshape(shape)


def read_idx(path: str | Path) -> Tensor:
    """Read an IDX file (plain or gzip) into a uint8 tensor; raises CorruptDataError naming the file."""
    path = Path(path)
    return _parse_idx(_read_bytes(path), path)

DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist

Split = Literal["train", "test"]


def _fashion_mnist_raw_dir() -> Path:
    return data_dir() / "FashionMNIST" / "raw"  # torchvision's layout


def _default_search_dirs() -> list[Path]:
    return [_fashion_mnist_raw_dir(), DEBIAN_FASHION_MNIST_DIR]


def _find_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _locate(split: str, search_dirs: Sequence[Path]) -> tuple[Path, Path] | None:
    """(images path, labels path) from the first directory holding both, else None."""
    image_name, label_name, _ = _FMNIST_FILES[split]
    for d in search_dirs:
        images, labels = _find_file(Path(d), image_name), _find_file(Path(d), label_name)
        if images is not None and labels is not None:
            return images, labels
    return None


def _not_found_message(searched: Sequence[Path], reason: str) -> str:
    dirs = "\n".join(f"  - {d}" for d in searched)
    names = ", ".join(n for s in _FMNIST_FILES.values() for n in s[:2])
    return (
        f"Fashion-MNIST not found ({reason}). Looked in:\n{dirs}\n"
        "Get it in one of three ways:\n"
        f"  1. put the four files ({names}; plain or .gz) into {_fashion_mnist_raw_dir()}\n"
        "     (or set $SYNTHLIB_DATA_DIR to a directory holding FashionMNIST/raw/);\n"
        "  2. on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
        "     (files land in /usr/share/datasets/fashion-mnist);\n"
        "  3. run with internet access so torchvision downloads it: python -m synthlib data\n"
        "     (or load_fashion_mnist(download=True))."
    )


def _download_with_torchvision(root: Path) -> None:
    """Download all four files with torchvision into ``root/FashionMNIST/raw`` (needs internet)."""
    import torchvision.datasets  # imported late: only this path needs it

    root.mkdir(parents=True, exist_ok=True)
    torchvision.datasets.FashionMNIST(root=str(root), train=True, download=True)


FileKey = tuple[str, int, int]  # (resolved path, mtime_ns, size)


def _file_key(path: Path) -> FileKey:
    st = path.stat()  # mtime and size in the key: a replaced file is read again
    return str(path.resolve()), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _read_split_cached(split: str, image_key: FileKey, label_key: FileKey) -> tuple[Tensor, Tensor]:
    """Read, check and cache one split: (uint8 N x 1 x 28 x 28, int64 N)."""
    _, _, n = _FMNIST_FILES[split]
    arrays = []
    for key, shape in ((image_key, (n, 28, 28)), (label_key, (n,))):
        path = Path(key[0])
        data = _read_bytes(path)
        array = _parse_idx(data, path)
        fix = "delete it and run `python -m synthlib data` (or reinstall dataset-fashion-mnist)"
        if tuple(array.shape) != shape:
            raise CorruptDataError(f"{path}: shape {tuple(array.shape)}, expected {shape} for the {split} split; {fix}")
        name = path.name.removesuffix(".gz")
        digest = hashlib.sha256(data).hexdigest()
        if digest != FASHION_MNIST_SHA256[name]:
            raise CorruptDataError(
                f"{path}: SHA-256 of its decompressed bytes is {digest}, expected {FASHION_MNIST_SHA256[name]}; "
                f"the file is damaged or not Fashion-MNIST: {fix}"
            )
        arrays.append(array)
    images, labels = arrays
    return images.unsqueeze(1), labels.to(torch.int64)  # (N, 1, 28, 28), (N,)


def _load_cached(split: str, download: bool, search_dirs: list[Path] | None) -> tuple[Tensor, Tensor]:
    """Find (or download) and read one split; returns the cached tensors themselves (do not modify)."""
    check_choice("split", split, tuple(_FMNIST_FILES))
    dirs = [Path(d) for d in search_dirs] if search_dirs is not None else _default_search_dirs()
    found = _locate(split, dirs)
    if found is None:
        if not download:
            raise DataNotFoundError(_not_found_message(dirs, "download=False"))
        print(f"Fashion-MNIST not found; downloading it with torchvision into {_fashion_mnist_raw_dir()} ...")
        try:
            _download_with_torchvision(data_dir())
        except Exception as e:  # any failure (no internet, HTTP error, disk) ends in the same advice
            raise DataNotFoundError(_not_found_message(dirs, f"download failed: {type(e).__name__}: {e}")) from e
        found = _locate(split, [_fashion_mnist_raw_dir()])
        if found is None:
            raise DataNotFoundError(_not_found_message(dirs, "torchvision's download left no files"))
    return _read_split_cached(split, _file_key(found[0]), _file_key(found[1]))


def load_fashion_mnist_uint8(
    split: Split = "train", *, download: bool = True, search_dirs: list[Path] | None = None
) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST as stored: (uint8 images N x 1 x 28 x 28, int64 labels N). See :func:`load_fashion_mnist`.

    The tensors are cached in-process; the returned ones are copies, safe to modify.
    """
    images, labels = _load_cached(split, download, search_dirs)
    return images.clone(), labels.clone()


def load_fashion_mnist(
    split: Split = "train", *, download: bool = True, search_dirs: list[Path] | None = None
) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST: (float32 images in [-1, 1], N x 1 x 28 x 28; int64 labels 0..9, N).

    ``split``: "train" (60,000 images) or "test" (10,000). Looks in ``search_dirs`` if given, else
    in ``data_dir()/FashionMNIST/raw`` then in Debian's ``/usr/share/datasets/fashion-mnist``;
    failing both and with ``download=True`` it downloads with torchvision into ``data_dir()``.
    Files may be plain or gzipped; sizes and SHA-256 digests are checked (CorruptDataError).
    Raises DataNotFoundError, naming the ways to get the data, when nothing works.
    Class names: ``FASHION_MNIST_CLASSES[label]``.
    """
    images, labels = _load_cached(split, download, search_dirs)
    return from_uint8(images), labels.clone()  # fresh tensors; the cache keeps the uint8 originals


def fashion_mnist_source(split: Split = "train", *, search_dirs: list[Path] | None = None) -> str:
    """Where Fashion-MNIST's ``split`` would be read from, in words. Downloads nothing.

    Raises DataNotFoundError if it is in none of the searched places.
    """
    check_choice("split", split, tuple(_FMNIST_FILES))
    dirs = [Path(d) for d in search_dirs] if search_dirs is not None else _default_search_dirs()
    found = _locate(split, dirs)
    if found is None:
        raise DataNotFoundError(_not_found_message(dirs, "not downloaded yet"))
    where = found[0].parent
    if where == DEBIAN_FASHION_MNIST_DIR:
        return f"Debian package dataset-fashion-mnist ({where})"
    if where == _fashion_mnist_raw_dir():
        return f"data directory ({where})"
    return str(where)


def prepare_fashion_mnist(*, allow_apt: bool = True) -> Path:
    """Make Fashion-MNIST available (used by ``make`` / ``python -m synthlib data``); return its directory.

    If found, do nothing. Else, when running as root with apt-get and ``allow_apt``, install the
    Debian package ``dataset-fashion-mnist``; otherwise (or if that fails) download with torchvision.
    """

    def found_dir() -> Path | None:
        hits = [_locate(s, _default_search_dirs()) for s in _FMNIST_FILES]
        return hits[0][0].parent if all(hits) else None  # type: ignore[index]

    where = found_dir()
    if where is not None:
        print(f"Fashion-MNIST already present: {where}")
        return where
    geteuid = getattr(os, "geteuid", None)  # absent on Windows
    if allow_apt and shutil.which("apt-get") and geteuid is not None and geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "dataset-fashion-mnist"]
        print("Fashion-MNIST not found; installing the Debian package: " + " ".join(install))
        if subprocess.run(install, env=env).returncode != 0:
            print("apt-get install failed; running apt-get update and trying again")
            subprocess.run(["apt-get", "update"], env=env)
            subprocess.run(install, env=env)
        where = found_dir()
        if where is not None:
            print(f"Fashion-MNIST installed: {where}")
            return where
        print("the Debian package did not provide Fashion-MNIST; trying torchvision instead")
    print(f"downloading Fashion-MNIST with torchvision into {_fashion_mnist_raw_dir()}")
    try:
        _download_with_torchvision(data_dir())
    except Exception as e:
        raise DataNotFoundError(_not_found_message(_default_search_dirs(), f"download failed: {e}")) from e
    where = found_dir()
    if where is None:
        raise DataNotFoundError(_not_found_message(_default_search_dirs(), "torchvision's download left no files"))
    print(f"Fashion-MNIST downloaded: {where}")
    return where
