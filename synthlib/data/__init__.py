"""Data: pixel conversions, Fashion-MNIST, resumable batch iterators and toy distributions.

Pixel convention (the ONE convention of synthlib)
-------------------------------------------------
Images are ``torch.float32`` tensors with values in **[-1, 1]**, laid out **N x C x H x W**.
-1 is black, +1 is white. Every model, loss, metric and plot in synthlib takes and returns
images in this form. Convert only at the edges, with the helpers here:

* :func:`from_uint8` -- uint8 0..255 -> float [-1, 1]
* :func:`to_uint8`   -- float [-1, 1] -> uint8 0..255 (clamped, rounded)
* :func:`to_unit`    -- float [-1, 1] -> float [0, 1] (clamped; for matplotlib)
* :func:`from_unit`  -- float [0, 1]  -> float [-1, 1]

Data files live in :func:`data_dir` (``$SYNTHLIB_DATA_DIR`` or ``<project>/data``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import os
import shutil
import subprocess
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from synthlib.config import check_choice

# ----------------------------------------------------------------------------------------------
# Pixel helpers
# ----------------------------------------------------------------------------------------------


def _require_float(x: Tensor, fn: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn} expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{fn} expects a floating-point tensor in synthlib's [-1, 1] convention, got {x.dtype}; "
            "convert uint8 images with synthlib.data.from_uint8 first"
        )


def from_uint8(x: Tensor) -> Tensor:
    """uint8 pixels 0..255 -> float32 in [-1, 1] (same shape)."""
    if not isinstance(x, Tensor) or x.dtype != torch.uint8:
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(
            f"from_uint8 expects a torch.uint8 tensor, got {got}; "
            "float images in [-1, 1] need no conversion, float images in [0, 1] use from_unit"
        )
    return x.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(x: Tensor) -> Tensor:
    """float in [-1, 1] -> uint8 0..255 (values outside [-1, 1] are clamped; rounded to nearest)."""
    _require_float(x, "to_uint8")
    return x.detach().clamp(-1.0, 1.0).add(1.0).mul_(127.5).round_().to(torch.uint8)


def to_unit(x: Tensor) -> Tensor:
    """float in [-1, 1] -> float in [0, 1] (clamped), e.g. for ``plt.imshow``."""
    _require_float(x, "to_unit")
    return x.add(1.0).mul_(0.5).clamp_(0.0, 1.0)


def from_unit(x: Tensor) -> Tensor:
    """float in [0, 1] -> float in [-1, 1] (not clamped, so it is the exact inverse of ``to_unit``)."""
    _require_float(x, "from_unit")
    return x.mul(2.0).sub_(1.0)


def _require_images(images: Tensor, fn: str) -> None:
    _require_float(images, fn)
    if images.ndim != 4:
        raise ValueError(f"{fn} expects images shaped N x C x H x W, got shape {tuple(images.shape)}")


def resize(images: Tensor, size: int) -> Tensor:
    """Resize N x C x H x W images in [-1, 1] to N x C x size x size (bilinear, antialiased)."""
    _require_images(images, "resize")
    if images.shape[-2:] == (size, size):
        return images.clone()
    out = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(-1.0, 1.0)  # interpolation must not leave the pixel range


def pad_to(images: Tensor, size: int, value: float = -1.0) -> Tensor:
    """Centre-pad N x C x H x W images to N x C x size x size with ``value`` (-1 = black), e.g. 28 -> 32."""
    _require_images(images, "pad_to")
    h, w = images.shape[-2:]
    if h > size or w > size:
        raise ValueError(f"pad_to: images are {h}x{w}, larger than size={size}; use resize to shrink")
    top, left = (size - h) // 2, (size - w) // 2
    return F.pad(images, (left, size - w - left, top, size - h - top), value=value)


# ----------------------------------------------------------------------------------------------
# Paths
# ----------------------------------------------------------------------------------------------

DATA_DIR_ENV = "SYNTHLIB_DATA_DIR"


def project_root() -> Path:
    """The checkout holding synthlib (parent of the package, if it has pyproject.toml), else the cwd."""
    root = Path(__file__).resolve().parents[2]  # synthlib/data/__init__.py -> the checkout
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def read_manifest(path: Path, key: str | None = None, kind: type = object) -> dict[str, Any] | None:
    """A set-up's ``MANIFEST.json`` (written last, so its presence means the set-up finished) as a dict,
    or None when it is missing, unreadable, not a JSON object, or lacks ``key`` of type ``kind``."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or (key is not None and not isinstance(manifest.get(key), kind)):
        return None
    return manifest


def data_dir() -> Path:
    """Where data files live: ``$SYNTHLIB_DATA_DIR`` if set, else ``<project_root>/data``."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else project_root() / "data"


# ----------------------------------------------------------------------------------------------
# IDX files
# ----------------------------------------------------------------------------------------------


class DataNotFoundError(FileNotFoundError):
    """A data set is in none of the places synthlib looks, and could not be downloaded."""


class CorruptDataError(ValueError):
    """A data file exists but is damaged, truncated or not the expected file."""


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


# ----------------------------------------------------------------------------------------------
# Fashion-MNIST
# ----------------------------------------------------------------------------------------------

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist

# split -> (images file, labels file, number of images)
_FMNIST_FILES: dict[str, tuple[str, str, int]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}

# SHA-256 of the DECOMPRESSED files (computed from Debian's dataset-fashion-mnist; the same bytes
# torchvision downloads), so .gz and plain copies check alike.
FASHION_MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

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


# ----------------------------------------------------------------------------------------------
# Toy distributions with exact densities (Gaussian mixtures)
# ----------------------------------------------------------------------------------------------


class GaussianMixture:
    """Mixture of isotropic Gaussians in d dimensions with an exact ``log_prob``.

    Attributes: ``means`` (k x d), ``stds`` (k,), ``weights`` (k,, sums to 1), ``dim`` (d) and
    ``std``: the largest component standard deviation (the common one for Ring2D / Grid2D).
    """

    def __init__(self, means: Tensor, stds: Tensor, weights: Tensor | None = None) -> None:
        means = torch.as_tensor(means, dtype=torch.float32)
        k = means.shape[0]
        stds = torch.as_tensor(stds, dtype=torch.float32).expand(k).clone()
        weights = torch.ones(k) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        if means.ndim != 2 or weights.shape != (k,):
            raise ValueError(
                f"need means k x d and k weights, got means {tuple(means.shape)}, weights {tuple(weights.shape)}"
            )
        if (stds <= 0).any() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("standard deviations must be > 0 and weights >= 0 with a positive sum")
        self.means, self.stds, self.weights = means, stds, weights / weights.sum()
        self.dim = means.shape[1]
        self.std = float(stds.max())

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples, n x d float32 (on the CPU; reproducible with ``generator``)."""
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator)  # (n, d)
        return self.means[comp] + self.stds[comp, None] * noise

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log density at ``x`` (n x d; n for d = 1) -> (n,)."""
        x = x.to(self.means.device)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"log_prob expects points shaped n x {self.dim}, got {tuple(x.shape)}")
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)  # (n, k)
        var = self.stds**2  # (k,)
        # log N(x; mu_k, s_k^2 I) = -|x - mu_k|^2 / (2 s_k^2) - d log s_k - d/2 log(2 pi)
        log_normal = -0.5 * sq / var - self.dim * (self.stds.log() + 0.5 * math.log(2 * math.pi))
        return torch.logsumexp(log_normal + self.weights.log(), dim=1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={len(self.means)}, dim={self.dim}, std={self.std:g})"


class Mixture1D(GaussianMixture):
    """1-D Gaussian mixture, e.g. ``Mixture1D([-2, 2], [0.5, 0.5])``; ``weights`` default equal."""

    def __init__(self, means: list[float], stds: list[float], weights: list[float] | None = None) -> None:
        if len(means) != len(stds) or (weights is not None and len(weights) != len(means)):
            raise ValueError(f"need as many stds (and weights) as means, got {len(means)} means, {len(stds)} stds")
        w = None if weights is None else torch.tensor(weights)
        super().__init__(torch.tensor(means, dtype=torch.float32)[:, None], torch.tensor(stds), w)  # means: (k, 1)

    def pdf(self, x: Tensor) -> Tensor:
        """Density at the points ``x`` (shape n or n x 1) -> (n,), for plotting."""
        return self.log_prob(x).exp()


class Ring2D(GaussianMixture):
    """``num_modes`` equal-weight Gaussians on a circle of ``radius`` (the classic 8-Gaussians ring)."""

    def __init__(self, num_modes: int = 8, radius: float = 2.0, std: float = 0.05) -> None:
        angle = torch.arange(num_modes, dtype=torch.float32) * (2 * math.pi / num_modes)
        super().__init__(radius * torch.stack([angle.cos(), angle.sin()], dim=1), torch.tensor(std))


class Grid2D(GaussianMixture):
    """``side`` x ``side`` equal-weight Gaussians at ``spacing * (i - (side - 1) / 2)`` per axis."""

    def __init__(self, side: int = 5, spacing: float = 2.0, std: float = 0.05) -> None:
        axis = spacing * (torch.arange(side, dtype=torch.float32) - (side - 1) / 2)
        grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)  # (side^2, 2)
        super().__init__(grid, torch.tensor(std))


_TOY = {"ring": Ring2D, "grid": Grid2D, "mixture1d": Mixture1D}


def toy_distribution(name: str, **kw: Any) -> GaussianMixture:
    """Build a toy distribution by name: "ring", "grid" or "mixture1d"; ``kw`` go to its class."""
    return _TOY[check_choice("name", name, _TOY)](**kw)


class ToyBatches:
    """Endless batches of fresh samples from a toy distribution, from its own seeded generator.

    ``state_dict()``/``load_state_dict()`` hold the generator state, so a resumed run draws the
    same samples as an uninterrupted one.
    """

    def __init__(self, dist: GaussianMixture, batch_size: int, seed: int = 0) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.dist, self.batch_size = dist, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[Tensor]:
        return self

    def __next__(self) -> Tensor:
        return self.dist.sample(self.batch_size, generator=self.generator)  # (batch_size, d)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"].to("cpu", torch.uint8))


# ----------------------------------------------------------------------------------------------
# Chapter 3: emoji pairs and the pix2pix / CycleGAN folder readers (submodules; imported last
# because they import the helpers above from this module)
# ----------------------------------------------------------------------------------------------

from synthlib.data.emoji import (  # noqa: E402
    EmojiPairs,
    EmojiUnpaired,
    emoji_unpaired,
    is_test_emoji,
    load_emoji,
    load_emoji_uint8,
    prepare_emoji,
)
from synthlib.data.folders import (  # noqa: E402
    PairedImageFolder,
    UnpairedImageFolders,
    download_cyclegan_dataset,
    download_pix2pix_dataset,
)
