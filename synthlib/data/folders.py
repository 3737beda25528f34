"""Readers for the standard pix2pix and CycleGAN folder layouts, and their downloaders.

The course's own paired data (emoji) is set up offline; these readers are for learners with
internet access who want the classic data sets of the papers:

* pix2pix (paired): ``root/<split>/*.jpg``, each image the pair side by side, A on the left half and
  B on the right half (e.g. facades: 512x256 = label map | photo). :class:`PairedImageFolder`.
* CycleGAN (unpaired): ``root/trainA``, ``root/trainB`` (``testA``/``testB``), any number of images
  per domain. :class:`UnpairedImageFolders`.

Both return synthlib's pixel convention: float32 in [-1, 1], N x 3 x H x W (grey images become RGB).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from synthlib.config import check_choice
from synthlib.data import CorruptDataError, DataNotFoundError, from_uint8, resize

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"

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
    much for edges2shoes (50k pairs, 40 GB as float32): there use ``limit`` or index items one by one.
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


def _download_and_extract(url: str, root: Path) -> None:
    """Download ``url`` into ``root`` and unpack it there, deleting the archive (torchvision's helper,
    imported late: only this needs it, and importing torchvision takes seconds)."""
    from torchvision.datasets.utils import download_and_extract_archive

    root.mkdir(parents=True, exist_ok=True)
    download_and_extract_archive(url, download_root=str(root), remove_finished=True)


def download_pix2pix_dataset(name: str, root: str | Path) -> Path:
    """Download and unpack a pix2pix data set (needs internet); return ``root/<name>``.

    ``name``: one of :data:`PIX2PIX_DATASETS` (facades is 30 MB; edges2shoes 2 GB). The archive
    unpacks to ``root/<name>/{train,val,test}/`` in the layout :class:`PairedImageFolder` reads.
    Unknown names raise ValueError listing the known ones (checked before any network access).
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
    """
    _check_name(name, CYCLEGAN_DATASETS, "CycleGAN")
    root = Path(root)
    _download_and_extract(CYCLEGAN_URL.format(name=name), root)
    return root / name
