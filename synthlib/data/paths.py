"""Where data lives (``$SYNTHLIB_DATA_DIR`` or ``<project>/data``), the manifests and the data errors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------------------------
# Paths
# ----------------------------------------------------------------------------------------------

DATA_DIR_ENV = "SYNTHLIB_DATA_DIR"


def project_root() -> Path:
    """The checkout holding synthlib (parent of the package, if it has pyproject.toml), else the cwd."""
    root = Path(__file__).resolve().parents[2]  # synthlib/data/paths.py -> the checkout
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
# Data errors
# ----------------------------------------------------------------------------------------------


class DataNotFoundError(FileNotFoundError):
    """A data set is in none of the places synthlib looks, and could not be downloaded."""


class CorruptDataError(ValueError):
    """A data file exists but is damaged, truncated or not the expected file."""


# ----------------------------------------------------------------------------------------------
# Fashion-MNIST
# ----------------------------------------------------------------------------------------------

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

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
