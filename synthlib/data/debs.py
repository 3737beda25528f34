"""Debian packages as a data source: fetch (apt-get download or a mirror), verify (SHA-256) and unpack members.
"""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import subprocess
import tarfile
import time
import urllib.request
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from synthlib.data.fetch import download, sha256_file
from synthlib.data.paths import CorruptDataError, DataNotFoundError

DEBS_ENV = "SYNTHLIB_DEBS"  # a folder of already downloaded .deb files; used before any download
# Tried in order. HTTPS first; plain HTTP stays as a fallback (as apt itself uses it) for systems without CA
# certificates and for archive.debian.org, whose HTTPS is not relied on here. Plain HTTP is safe for these files:
# every .deb is checked against the SHA-256 in DEB_PACKAGES (from Debian's signed Packages index) before any
# byte of it is unpacked, and each picture inside against its own SHA-256 in CATALOGUE.
DEBIAN_MIRRORS: tuple[str, ...] = (
    "https://deb.debian.org/debian", "http://deb.debian.org/debian", "http://archive.debian.org/debian",
)  # fmt: skip


@dataclass(frozen=True)
class DebPackage:
    """One Debian package (``Architecture: all``) and the SHA-256 of its ``.deb`` (from bookworm's Packages file)."""

    name: str
    version: str  # with the epoch, as apt writes it: "4:5.27.5-2"
    pool_path: str  # under a Debian mirror's root
    sha256: str
    license: str  # the package's pictures, in a word; each picture has its own in CATALOGUE
    homepage: str

    @property
    def apt_filename(self) -> str:
        """The name ``apt-get download`` saves it under (the epoch's ':' URL-quoted as '%3a')."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_all.deb"

    @property
    def pool_filename(self) -> str:
        """The name on the mirror (no epoch)."""
        return self.pool_path.rsplit("/", 1)[-1]


DEB_PACKAGES: dict[str, DebPackage] = {
    p.name: p
    for p in (
        DebPackage(
            "opencv-doc", "4.6.0+dfsg-12", "pool/main/o/opencv/opencv-doc_4.6.0+dfsg-12_all.deb",
            "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
            "Apache-2.0 AND BSD-3-Clause", "https://github.com/opencv/opencv/tree/4.6.0/samples/data",
        ),
        DebPackage(
            "plasma-workspace-wallpapers", "4:5.27.5-2",
            "pool/main/p/plasma-workspace-wallpapers/plasma-workspace-wallpapers_5.27.5-2_all.deb",
            "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b",
            "LGPL-3.0 or CC-BY-SA-4.0 (per wallpaper); package GPL-2+",
            "https://invent.kde.org/plasma/plasma-workspace-wallpapers",
        ),
        DebPackage(
            "gnome-backgrounds", "43.1-1", "pool/main/g/gnome-backgrounds/gnome-backgrounds_43.1-1_all.deb",
            "a670dea21572652127d6e55f9cdb3a226d0037854fdbfd037003c7d00ee0dc4e",
            "CC-BY-SA-3.0", "https://gitlab.gnome.org/GNOME/gnome-backgrounds",
        ),
        DebPackage(
            "mate-backgrounds", "1.26.0-1", "pool/main/m/mate-backgrounds/mate-backgrounds_1.26.0-1_all.deb",
            "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
            "GPL-2+ (the nature photographs)", "https://git.mate-desktop.org/mate-backgrounds/",
        ),
    )
}  # fmt: skip


def _missing_message(where: Path, reason: str) -> str:
    debs = ", ".join(p.apt_filename for p in DEB_PACKAGES.values())
    return (
        f"the photographs are not set up ({reason}; looked in {where}).\n"
        f"Set them up once with `python -m synthlib data` (or `make data`): it fetches {len(DEB_PACKAGES)} Debian "
        f"packages ({', '.join(DEB_PACKAGES)}; about 270 MB, with `apt-get download` or "
        "from deb.debian.org, deleted afterwards) and reads a few files shipped inside scikit-image and matplotlib.\n"
        f"Offline: put the .deb files ({debs}) in a folder and set ${DEBS_ENV} to it before `python -m synthlib data`."
    )


# ----------------------------------------------------------------------------------------------
# .deb files: an ar archive holding data.tar.<xz|gz|bz2>
# ----------------------------------------------------------------------------------------------

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60  # name 16, mtime 12, uid 6, gid 6, mode 8, size 10, magic 2 ("`\n")
_TAR_MODES = {"data.tar.xz": "r|xz", "data.tar.gz": "r|gz", "data.tar.bz2": "r|bz2", "data.tar": "r|"}


def iter_ar_members(f: BinaryIO, path: Path | str = "archive") -> Iterator[tuple[str, int, int]]:
    """``(name, offset, size)`` of each member of the ``ar`` archive open as ``f`` (positioned at its start).

    Raises CorruptDataError (naming ``path``) when ``f`` is not an ar archive or a header is damaged.
    The caller may read or seek freely between members: the next header is found from the offsets.
    """
    if f.read(len(_AR_MAGIC)) != _AR_MAGIC:
        raise CorruptDataError(f"{path}: not a .deb (no ar archive header '!<arch>'); delete it and fetch it again")
    offset = len(_AR_MAGIC)
    while True:
        f.seek(offset)
        header = f.read(_AR_HEADER)
        if not header:
            return
        if len(header) < _AR_HEADER or header[58:60] != b"`\n":
            raise CorruptDataError(f"{path}: damaged ar member header at byte {offset}; delete it and fetch it again")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")  # GNU ar ends names with '/'
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise CorruptDataError(f"{path}: bad member size in the ar header at byte {offset}") from None
        yield name, offset + _AR_HEADER, size
        offset += _AR_HEADER + size + (size & 1)  # data are padded to an even length


class _Window(io.RawIOBase):
    """Read-only view of ``size`` bytes of ``f`` from its current position (one ar member)."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f, self._left = f, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._left)
        if n <= 0:
            return 0
        data = self._f.read(n)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


# What a damaged payload raises (tarfile wraps most decompression errors in ReadError, a TarError).
_UNPACK_ERRORS = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def extract_deb_members(deb: str | Path, wanted: Mapping[str, str | Path]) -> None:
    """Copy the files ``wanted`` (member path inside the package -> target file) out of the ``.deb`` at ``deb``.

    Member paths are as installed, without the leading ``./`` (``"usr/share/doc/x/y.jpg"``).
    The ``data.tar`` member is streamed once, decompressed with the standard library (xz, gzip,
    bzip2 or none) and left as soon as every wanted file is out; each file goes to the target path
    given, never to a path taken from the archive. Raises CorruptDataError when ``deb`` is not an
    ar archive, has no ``data.tar.*``, uses zstd (Ubuntu's; not readable with the standard library),
    is damaged, or lacks a wanted member (all missing ones are named).
    """
    deb = Path(deb)
    todo = {k.removeprefix("./"): Path(v) for k, v in wanted.items()}
    if not todo:
        return
    with open(deb, "rb") as f:
        for name, offset, size in iter_ar_members(f, deb):
            if not name.startswith("data.tar"):
                continue
            if name not in _TAR_MODES:
                zst = " (zstd, as Ubuntu builds them: Python's standard library cannot read it; use Debian's .deb)"
                raise CorruptDataError(f"{deb}: unsupported payload {name}{zst if 'zst' in name else ''}")
            f.seek(offset)
            try:
                with tarfile.open(fileobj=io.BufferedReader(_Window(f, size), 1 << 20), mode=_TAR_MODES[name]) as tf:
                    for member in tf:
                        key = member.name.removeprefix("./")
                        if key not in todo or not member.isfile():
                            continue
                        src = tf.extractfile(member)
                        assert src is not None  # regular files always have a stream
                        target = todo.pop(key)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
                        if not todo:
                            return
            except _UNPACK_ERRORS as e:
                raise CorruptDataError(
                    f"{deb}: cannot unpack {name} ({type(e).__name__}: {e}); delete it and fetch it again"
                ) from e
            missing = ", ".join(sorted(todo))
            raise CorruptDataError(f"{deb}: {name} has no {missing}; is it the expected package and version?")
    raise CorruptDataError(f"{deb}: no data.tar member; is it really a .deb?")


# ----------------------------------------------------------------------------------------------
# Fetching and verifying the .deb files
# ----------------------------------------------------------------------------------------------


def _apt_get_download(pkg: DebPackage, dest: Path, apt_get: str) -> Path:
    """``apt-get download NAME=VERSION`` in ``dest`` (works without root; needs the package in apt's lists)."""
    spec = f"{pkg.name}={pkg.version}"
    proc = subprocess.run([apt_get, "download", spec], cwd=dest, capture_output=True, text=True, timeout=1800)
    found = sorted(dest.glob(f"{pkg.name}_*.deb"))
    if proc.returncode != 0 or not found:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
        raise RuntimeError(f"`apt-get download {spec}` failed (exit {proc.returncode}): {tail}")
    return found[0]


def _http_download(pkg: DebPackage, dest: Path, mirror: str) -> Path:
    """Plain download of the pool file from ``mirror``."""
    return download(f"{mirror.rstrip('/')}/{pkg.pool_path}", dest / pkg.pool_filename)


def _find_deb(pkg: DebPackage, folder: Path) -> Path | None:
    for name in (pkg.apt_filename, pkg.pool_filename):
        if (folder / name).is_file():
            return folder / name
    return None


def fetch_deb(
    pkg: DebPackage,
    dest: Path,
    *,
    debs_dir: str | Path | None = None,
    apt_get: str | None = None,
    mirrors: Sequence[str] = DEBIAN_MIRRORS,
) -> tuple[Path, bool]:
    """Get ``pkg``'s ``.deb``: ``(path, downloaded)``; ``downloaded`` False when it came from ``debs_dir``.

    Tried in order: ``debs_dir`` (a folder holding the file under apt's name, e.g.
    ``plasma-workspace-wallpapers_4%3a5.27.5-2_all.deb``, or the pool's name); ``apt-get download``
    into ``dest`` when ``apt_get`` (its path) is given; a plain download from each of ``mirrors`` in turn.
    Nothing is verified here (see :func:`verify_deb`). Raises DataNotFoundError with every reason.
    """
    if debs_dir is not None:
        found = _find_deb(pkg, Path(debs_dir))
        if found is not None:
            print(f"  using {found}", flush=True)
            return found, False
        print(f"  {pkg.apt_filename} is not in {debs_dir}; fetching it", flush=True)
    t0, errors = time.perf_counter(), []
    if apt_get is not None:
        print(f"  fetching {pkg.name}={pkg.version} with apt-get download ...", flush=True)
        try:
            path = _apt_get_download(pkg, dest, apt_get)
            print(f"  got {path.name} ({path.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t0:.0f} s)")
            return path, True
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            errors.append(str(e))
            print(f"  apt-get download failed ({e}); trying a plain download", flush=True)
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{pkg.pool_path}"
        print(f"  downloading {url} ...", flush=True)
        try:
            path = _http_download(pkg, dest, mirror)
        except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors
            errors.append(f"download of {url} failed: {e}")
            continue
        print(f"  got {path.name} ({path.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t0:.0f} s)")
        return path, True
    raise DataNotFoundError(_missing_message(dest, f"cannot get {pkg.pool_filename}: " + "; ".join(errors)))


def verify_deb(path: Path, pkg: DebPackage, *, downloaded: bool, expected: str | None = None) -> None:
    """Raise CorruptDataError unless the ``.deb`` at ``path`` has the SHA-256 ``expected`` (default
    ``pkg.sha256``); a downloaded file that fails is deleted. The message names both hashes."""
    expected = pkg.sha256 if expected is None else expected
    actual = sha256_file(path)
    if actual == expected:
        return
    if downloaded:
        path.unlink(missing_ok=True)
        what = "the download was damaged, or the mirror serves another build; it was deleted"
        fix = "run `python -m synthlib data` again; if it fails the same way, report it (the pinned checksum is stale)"
    else:
        what = "the file is damaged, truncated or another version"
        fix = (f"replace it with `apt-get download {pkg.name}={pkg.version}` (Debian bookworm), "
               f"or unset ${DEBS_ENV} to download it")  # fmt: skip
    raise CorruptDataError(
        f"{path}: SHA-256 mismatch (expected {expected}, got {actual}); {what}. Nothing was unpacked. Fix: {fix}."
    )
