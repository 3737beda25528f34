"""Readers for the standard pix2pix and CycleGAN folder layouts, and their downloaders.

The course's own paired data (emoji) is set up offline; these readers are for learners with
internet access who want the classic data sets of the papers:

* pix2pix (paired): ``root/<split>/*.jpg``, each image the pair side by side, A on the left half and
  B on the right half (e.g. facades: 512x256 = label map | photo). :class:`PairedImageFolder`.
* CycleGAN (unpaired): ``root/trainA``, ``root/trainB`` (``testA``/``testB``), any number of images
  per domain. :class:`UnpairedImageFolders`.

Both return synthlib's pixel convention: float32 in [-1, 1], N x 3 x H x W (grey images become RGB).

The downloaders fetch over HTTPS, print and record the SHA-256 of each archive (the authors publish
none; a later download of the same archive must match the recorded one), and unpack with
:func:`safe_extract`, which refuses members that would land outside the target folder.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import time
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from synthlib.core.config import check_choice
from synthlib.data.fetch import download, sha256_file
from synthlib.data.paths import CorruptDataError, DataNotFoundError
from synthlib.data.pixels import from_uint8, resize

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

# The authors' host over HTTPS (their download scripts use plain HTTP; the same paths are linked with https since 2024).
PIX2PIX_URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"

# SHA-256 of archives as published by their authors: archive file name -> hex digest. The pix2pix and
# CycleGAN authors publish no checksums, so this is empty; add only hashes that a maintainer publishes
# (never ones computed from a download, which would pin whatever the first download happened to get).
PUBLISHED_SHA256: dict[str, str] = {}

# Names the authors' download scripts accept (pytorch-CycleGAN-and-pix2pix/datasets/*.sh).
PIX2PIX_DATASETS: tuple[str, ...] = ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day")
CYCLEGAN_DATASETS: tuple[str, ...] = (
    "apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
    "vangogh2photo", "maps", "cityscapes", "facades", "iphone2dslr_flower", "ae_photos",
)  # fmt: skip

_CITYSCAPES_NOTE = (
    "the pix2pix/CycleGAN authors no longer distribute 'cityscapes' (its licence forbids it): register at "
    "https://www.cityscapes-dataset.com, download gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip, "
    "and build the side-by-side pairs with datasets/prepare_cityscapes_dataset.py from "
    "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
)


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` (by suffix, case-insensitive), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_image_uint8(path: Path) -> Tensor:
    """One image file -> uint8 3 x H x W RGB (grey, palette and RGBA images are converted)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            array = np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise CorruptDataError(f"{path}: cannot read this image ({e}); delete or replace it") from e
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def _image_files(folder: Path, what: str, hint: str) -> list[Path]:
    """The images of ``folder``; DataNotFoundError saying what was expected when it is missing or empty."""
    if not folder.is_dir():
        parent = folder.parent
        if not parent.is_dir():
            seen = f"; {parent} does not exist either"
        else:
            present = sorted(p.name for p in parent.iterdir() if p.is_dir())
            seen = f"; {parent} holds the folders {present}" if present else f"; {parent} has no subfolders"
        raise DataNotFoundError(f"{what}: folder {folder} not found{seen}. {hint}")
    files = list_images(folder)
    if not files:
        raise DataNotFoundError(f"{what}: no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}. {hint}")
    return files


def _to_float(images: Tensor, size: int | None) -> Tensor:
    """uint8 (N x) 3 x H x W -> float [-1, 1], resized to size x size if ``size`` is given."""
    x = from_uint8(images)
    if size is None:
        return x
    batched = x if x.ndim == 4 else x.unsqueeze(0)
    out = resize(batched, size)
    return out if x.ndim == 4 else out.squeeze(0)


def _stack(images: list[Tensor], what: str) -> Tensor:
    if not images:
        raise ValueError(f"{what}: nothing to load (limit=0?)")
    shapes = {tuple(t.shape) for t in images}
    if len(shapes) > 1:
        raise ValueError(
            f"{what}: the images have different sizes ({sorted(shapes)[:4]}...), so they cannot be stacked; "
            "pass size=... (e.g. size=256) to resize every image to size x size"
        )
    return torch.stack(images)


class PairedImageFolder:
    """pix2pix's paired layout: ``root/<split>/*.jpg``, each file A|B side by side (A = left half).

    ``direction``: "AtoB" returns (A, B) = (input, target); "BtoA" returns (B, A), e.g. facades
    photo -> labels. ``size``: resize each half to size x size (else keep the files' size; all must
    match for :meth:`load_all`). Items are float32 in [-1, 1], 3 x H x W.

    ``load_all`` holds everything in memory: fine for facades (400 train pairs of 256x256), too
    much for edges2shoes (50k pairs, about 80 GB as float32): there use ``limit`` or index items one by one.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        direction: Literal["AtoB", "BtoA"] = "AtoB",
        size: int | None = None,
    ) -> None:
        check_choice("direction", direction, ("AtoB", "BtoA"))
        if size is not None and size < 1:
            raise ValueError(f"size must be a positive number of pixels or None, got {size}")
        self.root, self.split, self.direction, self.size = Path(root), split, direction, size
        self.folder = self.root / split
        hint = (
            f"pix2pix data sets look like ROOT/{split}/*.jpg with A|B side by side; "
            "download one with synthlib.data.download_pix2pix_dataset(name, root)"
        )
        self.files = _image_files(self.folder, "PairedImageFolder", hint)

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        where = str(self.folder)
        return f"PairedImageFolder({where!r}, {len(self)} pairs, direction={self.direction!r}, size={self.size})"

    def load_uint8(self, index: int) -> tuple[Tensor, Tensor]:
        """Pair ``index`` as stored: uint8 (A, B) halves, 3 x H x W each, in file order (not ``direction``)."""
        path = self.files[index]
        image = read_image_uint8(path)
        h, w = image.shape[-2:]
        if w != 2 * h:
            raise CorruptDataError(
                f"{path}: {w}x{h} pixels, but a pix2pix pair must be twice as wide as high (A|B side by side, "
                f"each half square); is {self.folder} really a pix2pix folder? CycleGAN's trainA/trainB layout "
                "is read by UnpairedImageFolders"
            )
        return image[..., :h], image[..., h:]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """(source, target) float in [-1, 1] per ``direction``."""
        a, b = self.load_uint8(index)
        a, b = _to_float(a, self.size), _to_float(b, self.size)
        return (a, b) if self.direction == "AtoB" else (b, a)

    def load_all(self, limit: int | None = None) -> tuple[Tensor, Tensor]:
        """The first ``limit`` (default all) pairs as two N x 3 x H x W tensors (source, target)."""
        n = len(self) if limit is None else min(limit, len(self))
        pairs = [self[i] for i in range(n)]
        what = f"PairedImageFolder({self.folder})"
        return _stack([p[0] for p in pairs], what), _stack([p[1] for p in pairs], what)


class UnpairedImageFolders:
    """CycleGAN's unpaired layout: ``root/<split>A`` and ``root/<split>B`` (trainA/trainB, testA/testB).

    The two domains may hold different numbers of images (horse2zebra: 1,067 horses, 1,334 zebras).
    ``size``: resize to size x size (CycleGAN's sets are mostly 256x256 already). Grey images (a few
    in horse2zebra) are converted to RGB so every image has 3 channels.
    """

    def __init__(self, root: str | Path, split: str = "train", size: int | None = None) -> None:
        if size is not None and size < 1:
            raise ValueError(f"size must be a positive number of pixels or None, got {size}")
        self.root, self.split, self.size = Path(root), split, size
        hint = (
            f"CycleGAN data sets look like ROOT/{split}A/*.jpg and ROOT/{split}B/*.jpg; "
            "download one with synthlib.data.download_cyclegan_dataset(name, root)"
        )
        self.folder_a, self.folder_b = self.root / f"{split}A", self.root / f"{split}B"
        self.files_a = _image_files(self.folder_a, "UnpairedImageFolders", hint)
        self.files_b = _image_files(self.folder_b, "UnpairedImageFolders", hint)

    @property
    def num_a(self) -> int:
        return len(self.files_a)

    @property
    def num_b(self) -> int:
        return len(self.files_b)

    def __repr__(self) -> str:
        return f"UnpairedImageFolders({str(self.root)!r}, split={self.split!r}, A: {self.num_a}, B: {self.num_b})"

    def load_domain(self, domain: Literal["A", "B"], limit: int | None = None) -> Tensor:
        """The first ``limit`` (default all) images of one domain, float in [-1, 1], N x 3 x H x W."""
        check_choice("domain", domain, ("A", "B"))
        files = self.files_a if domain == "A" else self.files_b
        files = files if limit is None else files[:limit]
        images = [_to_float(read_image_uint8(f), self.size) for f in files]
        return _stack(images, f"UnpairedImageFolders({self.root}, domain {domain})")

    def load_all(self, limit: int | None = None) -> tuple[Tensor, Tensor]:
        """(A, B): both domains, each N_A / N_B x 3 x H x W float in [-1, 1]."""
        return self.load_domain("A", limit), self.load_domain("B", limit)


def _check_name(name: str, known: Sequence[str], kind: str) -> None:
    if name not in known:
        raise ValueError(f"unknown {kind} data set {name!r}; known: {', '.join(known)}")
    if name == "cityscapes":
        raise ValueError(f"{kind} data set 'cityscapes': {_CITYSCAPES_NOTE}")


# ----------------------------------------------------------------------------------------------
# Safe unpacking
# ----------------------------------------------------------------------------------------------

_HAS_DATA_FILTER = hasattr(tarfile, "data_filter")  # Python 3.12+, and 3.8.17 / 3.9.17 / 3.10.12 / 3.11.4+


def _unsafe_path(name: str, links: set[str]) -> str | None:
    """Why the archive path ``name`` may not be written under the target folder, or None if it may.

    Refused: absolute paths (``/etc/x``, ``C:\\x``, ``\\\\server\\x``), any ``..`` component, and a path
    that goes through a symbolic link the archive itself created (``links``: their normalised names),
    since writing through it could land anywhere the link points.
    """
    if not name:
        return "an empty name"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive or PureWindowsPath(name).root:
        return "an absolute path"
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return "a path that leaves the target folder (..)"
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in links:
            return f"a path through the link {'/'.join(parts[:i])!r} the archive created"
    return None


def _unsafe_link(name: str, target: str, *, hard: bool, links: set[str]) -> str | None:
    """Why a link at ``name`` pointing to ``target`` is refused, or None: it must stay inside the folder.

    A symbolic link's target is taken relative to the link's folder, a hard link's relative to the
    archive's root (as tar stores them); either is then checked like a member path.
    """
    if PurePosixPath(target).is_absolute() or PureWindowsPath(target).drive or PureWindowsPath(target).root:
        return f"a link to the absolute path {target!r}"
    base = "" if hard else "/".join(name.replace("\\", "/").split("/")[:-1])
    parts: list[str] = []
    for part in f"{base}/{target}".replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return f"a link to {target!r}, outside the target folder"
            if "/".join(parts) in links:
                return f"a link to {target!r} through another link"
            parts.pop()
        else:
            parts.append(part)
    if _unsafe_path("/".join(parts), links) is not None:
        return f"a link to {target!r} through another link"
    return None


def _check_members(archive: Path, members: Sequence[tuple[str, str, str | None]]) -> None:
    """Raise CorruptDataError at the first unsafe member: ``(name, kind, link target)`` with ``kind``
    "file", "dir", "symlink", "hardlink" or a description of anything else (a device, a fifo)."""
    links: set[str] = set()
    for name, kind, target in members:
        reason = _unsafe_path(name, links)
        if reason is None and kind in ("symlink", "hardlink"):
            reason = _unsafe_link(name, target or "", hard=kind == "hardlink", links=links)
        elif reason is None and kind not in ("file", "dir"):
            reason = f"a {kind}, which a data set never needs"
        if reason is not None:
            raise CorruptDataError(
                f"{archive}: refusing to unpack {name!r} ({reason}); nothing was unpacked: the archive is damaged "
                "or not the published one, so delete it and download it again, and report it if this repeats"
            )
        if kind == "symlink":
            links.add("/".join(p for p in name.replace("\\", "/").split("/") if p not in ("", ".")))


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.isfile():
        return "file"
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    if member.ischr() or member.isblk():
        return "device file"
    if member.isfifo():
        return "fifo"
    return f"tar member of type {member.type!r}"


def _zip_kind(info: zipfile.ZipInfo) -> str:
    if info.is_dir():
        return "dir"
    if info.create_system != 3:  # the Unix mode in external_attr is only meaningful from a Unix zipper
        return "file"
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when only permission bits were stored
    if kind in (0, stat.S_IFREG):
        return "file"
    if kind == stat.S_IFDIR:
        return "dir"
    if kind == stat.S_IFLNK:
        return "symlink"
    return "device file" if kind in (stat.S_IFCHR, stat.S_IFBLK) else "special file"


def safe_extract(archive: str | Path, dest: str | Path) -> list[str]:
    """Unpack the tar (any compression) or zip ``archive`` into ``dest``; return the member names.

    Every member is checked BEFORE anything is written, and the whole archive is refused
    (CorruptDataError, one line naming the member) when one has an absolute path, a ``..``
    component, a path through a link the archive made, is a symbolic or hard link pointing outside
    ``dest`` (or through another link), or is a device file, fifo or other special file. The check
    is this module's own, so it holds on every Python version; tar archives are then also unpacked
    with tarfile's ``filter="data"`` where that exists (3.12+, and the 3.8-3.11 security releases),
    which drops permissions such as set-uid as well. A zip member that is a link is written as a
    plain file holding the link's target (zipfile never creates links).
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                links = [i for i in infos if _zip_kind(i) == "symlink"]
                targets = {i.filename: zf.read(i).decode("utf-8", "replace") for i in links}
                _check_members(archive, [(i.filename, _zip_kind(i), targets.get(i.filename)) for i in infos])
                zf.extractall(dest)
                return [i.filename for i in infos]
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise CorruptDataError(
                f"{archive}: cannot unzip ({type(e).__name__}: {e}); delete it and download it again"
            ) from e
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            _check_members(archive, [(m.name, _tar_kind(m), m.linkname or None) for m in members])
            if _HAS_DATA_FILTER:
                tf.extractall(dest, filter="data")
            else:
                tf.extractall(dest)  # noqa: S202 -- every member was checked above
            return [m.name for m in members]
    except (tarfile.TarError, EOFError, OSError) as e:
        raise CorruptDataError(
            f"{archive}: cannot unpack ({type(e).__name__}: {e}); delete it and download it again"
        ) from e


# ----------------------------------------------------------------------------------------------
# Downloading
# ----------------------------------------------------------------------------------------------


def _check_sha256(archive: Path, digest: str, record: Path) -> None:
    """Compare ``digest`` with the published SHA-256 (if any) and with the one recorded by an earlier download."""
    published = PUBLISHED_SHA256.get(archive.name)
    if published is not None and digest != published:
        raise CorruptDataError(
            f"{archive}: SHA-256 {digest}, but the published one is {published}: damaged in transit or replaced; "
            "delete it and download it again"
        )
    if record.is_file():
        recorded = (record.read_text(encoding="utf-8").split() or [""])[0]
        if recorded and digest != recorded:
            raise CorruptDataError(
                f"{archive}: SHA-256 {digest}, but an earlier download recorded {recorded} in {record}: the server "
                f"now sends a different file; delete {record} only if you trust the new one"
            )


def _download_and_extract(url: str, root: Path) -> None:
    """Download ``url`` into ``root``, check and record its SHA-256, unpack it there safely, delete it.

    An archive already in ``root`` under the URL's file name (downloaded by hand, e.g. with a
    browser) is used instead of downloading, and kept. The SHA-256 is printed and written to
    ``root/<archive>.sha256`` (``sha256sum`` format); a later download must match it. Raises
    DataNotFoundError when the download fails, CorruptDataError when the archive is damaged, does
    not match, or holds a member :func:`safe_extract` refuses.
    """
    root.mkdir(parents=True, exist_ok=True)
    archive = root / url.rsplit("/", 1)[-1]
    record = root / f"{archive.name}.sha256"
    downloaded = not archive.is_file()
    if downloaded:
        t0 = time.perf_counter()
        print(f"downloading {url} ...", flush=True)
        try:
            download(url, archive)
        except (OSError, ValueError) as e:  # URLError, HTTPError and certificate errors are OSErrors
            raise DataNotFoundError(
                f"could not download {url} ({type(e).__name__}: {e}); check the internet connection, or download "
                f"it by hand into {root} and run again"
            ) from e
        print(f"  got {archive.name} ({archive.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t0:.0f} s)")
    else:
        print(f"using {archive} (already here; not downloaded again)")
    try:
        digest = sha256_file(archive)
        print(f"  SHA-256 {digest}  {archive.name}")
        _check_sha256(archive, digest, record)
        safe_extract(archive, root)
    except CorruptDataError:
        if downloaded:
            archive.unlink(missing_ok=True)
        raise
    record.write_text(f"{digest}  {archive.name}\n", encoding="utf-8")
    print(f"  recorded in {record}")
    if downloaded:
        archive.unlink()


def download_pix2pix_dataset(name: str, root: str | Path) -> Path:
    """Download and unpack a pix2pix data set (needs internet); return ``root/<name>``.

    ``name``: one of :data:`PIX2PIX_DATASETS` (facades is 30 MB; edges2shoes 2 GB). The archive
    unpacks to ``root/<name>/{train,val,test}/`` in the layout :class:`PairedImageFolder` reads.
    Unknown names raise ValueError listing the known ones (checked before any network access).
    The archive comes over HTTPS (or from ``root/<name>.tar.gz`` when already there); its SHA-256 is
    printed and recorded in ``root/<name>.tar.gz.sha256``, and :func:`safe_extract` unpacks it.
    """
    _check_name(name, PIX2PIX_DATASETS, "pix2pix")
    root = Path(root)
    _download_and_extract(PIX2PIX_URL.format(name=name), root)
    return root / name


def download_cyclegan_dataset(name: str, root: str | Path) -> Path:
    """Download and unpack a CycleGAN data set (needs internet); return ``root/<name>``.

    ``name``: one of :data:`CYCLEGAN_DATASETS` (horse2zebra is 110 MB). The zip unpacks to
    ``root/<name>/{trainA,trainB,testA,testB}/``, the layout :class:`UnpairedImageFolders` reads.
    Unknown names raise ValueError listing the known ones (checked before any network access).
    The zip comes over HTTPS (or from ``root/<name>.zip`` when already there); its SHA-256 is printed
    and recorded in ``root/<name>.zip.sha256``, and :func:`safe_extract` unpacks it.
    """
    _check_name(name, CYCLEGAN_DATASETS, "CycleGAN")
    root = Path(root)
    _download_and_extract(CYCLEGAN_URL.format(name=name), root)
    return root / name
