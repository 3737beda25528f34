"""Reading and writing image files for the command line and the notebooks.

One convention everywhere: an image is a float tensor 1 x 3 x H x W in [-1, 1] (RGB). Reading keeps the
file's values: 16-bit files (PNG ``I;16``, TIFF) are scaled by 65535, not clipped at 255; palette, greyscale
and bilevel files become RGB; an alpha channel is composited on white (as the emoji data are); the EXIF
orientation a camera wrote is applied, so a portrait photo stands upright.

Large pictures: :func:`read_pixels` returns the decoded pixels as a NumPy array of the file's own depth
(uint8, or uint16 for 16-bit files: 3 or 6 bytes a pixel), so a verb that works in tiles
(:mod:`synthlib.core.tiling`) holds the picture once, at its size on disk, and converts only one tile at a time
to float. Pictures above ``max_megapixels`` (178 by default, PIL's own guard against decompression bombs) are
refused from their header, before anything is decoded, in one line that says how large the picture is and which
option raises the limit.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from synthlib.core.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
# PIL's own default guard (about 179 megapixels: 2 x Image.MAX_IMAGE_PIXELS), stated in megapixels.
DEFAULT_MAX_MEGAPIXELS = 178


def _label(path: Path, what: str | None) -> str:
    return f"{what} {path}" if what else str(path)


@contextlib.contextmanager
def _own_pixel_limit():
    """Switch PIL's decompression-bomb guard off while a file is opened and decoded: it raises before the caller's
    ``max_megapixels`` check can run (a traceback, and ``--max-megapixels`` could not lift it); ours replaces it."""
    from PIL import Image

    old = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = old


def _check_megapixels(label: str, w: int, h: int, max_megapixels: float) -> None:
    if w * h > max_megapixels * 1e6:
        raise UserError(
            f"{label} is {w}x{h} ({w * h / 1e6:.0f} megapixels), over the {max_megapixels:g}-megapixel limit "
            f"that guards against decompression bombs; if you trust the file, pass --max-megapixels "
            f"{int(np.ceil(w * h / 1e6))}")


def _checked_file(path: Path, label: str) -> None:
    if path.is_dir():
        raise UserError(f"{label} is a folder; give an image file ({', '.join(IMAGE_SUFFIXES)})")
    if not path.is_file():
        raise UserError(f"{label} does not exist")


def _unreadable(label: str, e: BaseException) -> UserError:
    return UserError(f"{label} is not an image that PIL can read ({type(e).__name__})")


# what PIL raises for a file it cannot read (UnidentifiedImageError is an OSError; SyntaxError: "not a PNG file");
# anything else is a bug and keeps its traceback
_PIL_ERRORS = (OSError, SyntaxError)


def picture_size(path: str | os.PathLike, *, what: str | None = None,
                 max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> tuple[int, int]:
    """``(width, height)`` of the picture at ``path`` from its header, without decoding it; the same one-line
    errors as :func:`read_pixels` (missing, a folder, unreadable, over ``max_megapixels``)."""
    from PIL import Image

    path = Path(path)
    label = _label(path, what)
    _checked_file(path, label)
    try:
        with _own_pixel_limit(), Image.open(path) as img:
            w, h = img.size
    except _PIL_ERRORS as e:
        raise _unreadable(label, e) from None
    _check_megapixels(label, w, h, max_megapixels)
    return w, h


def read_pixels(path: str | os.PathLike, *, what: str | None = None,
                max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> np.ndarray:
    """The picture at ``path`` as an H x W x 3 array: uint8, or uint16 for a 16-bit file.

    Raises :class:`~synthlib.core.errors.UserError` with one line (naming ``what``, e.g. "--input") when the
    file is missing, a folder, not an image PIL can read, or larger than ``max_megapixels`` (checked from the
    header, before anything is decoded; PIL's own guard is off meanwhile, since this one replaces it).
    """
    from PIL import Image, ImageOps

    path = Path(path)
    label = _label(path, what)
    _checked_file(path, label)
    try:
        with _own_pixel_limit(), Image.open(path) as img:
            _check_megapixels(label, *img.size, max_megapixels)
            img.load()
            img = ImageOps.exif_transpose(img)  # a camera's orientation tag: portraits stand upright
            return _to_rgb_array(img)
    except UserError:
        raise
    except _PIL_ERRORS as e:
        raise _unreadable(label, e) from None


def _to_rgb_array(img) -> np.ndarray:
    """Any PIL mode to H x W x 3, keeping the bit depth (uint8, or uint16 for 16- and 32-bit integer modes)."""
    from PIL import Image

    mode = img.mode
    if mode.startswith("I;16") or mode == "I":  # 16-bit greyscale PNG/TIFF (PIL reads some as 32-bit "I")
        grey = np.asarray(img).astype(np.int64)
        grey = np.clip(grey, 0, 65535).astype(np.uint16)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode == "F":  # 32-bit float TIFF: taken as [0, 1]
        grey = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
        return np.repeat((grey * 65535 + 0.5).astype(np.uint16)[..., None], 3, axis=-1)
    if mode in ("RGBA", "LA", "P", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)  # transparent pixels become white
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def pixels_to_tensor(pixels: np.ndarray) -> Tensor:
    """H x W x 3 uint8/uint16 (all or a tile of :func:`read_pixels`) -> 1 x 3 x H x W float32 in [-1, 1]."""
    top = 65535.0 if pixels.dtype == np.uint16 else 255.0
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).unsqueeze(0).float()
    return x.mul_(2.0 / top).sub_(1.0)


def tensor_to_pixels(image: Tensor) -> np.ndarray:
    """1 x C x H x W or C x H x W float in [-1, 1] (clipped) -> H x W x C uint8."""
    img = image.detach().float().cpu()
    img = img[0] if img.ndim == 4 else img
    if img.ndim != 3 or img.shape[0] not in (1, 3):
        raise ValueError(f"expected an image 3 x H x W or 1 x 3 x H x W, got shape {tuple(image.shape)}")
    return img.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def read_image(path: str | os.PathLike, *, what: str | None = None,
               max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Tensor:
    """The image file at ``path`` as 1 x 3 x H x W in [-1, 1] (see :func:`read_pixels` for the decoding).

    Raises :class:`~synthlib.core.errors.UserError` (a ValueError) with one line when the file is missing, is
    a folder, is not an image PIL can read, or is over ``max_megapixels``.
    """
    return pixels_to_tensor(read_pixels(path, what=what, max_megapixels=max_megapixels))


def check_image_suffix(path: str | os.PathLike, what: str | None = "--out") -> None:
    """One-line UserError unless ``path`` ends in an image suffix PIL writes."""
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        raise UserError(f"{_label(Path(path), what)}: give an image file name ending in one of {', '.join(IMAGE_SUFFIXES)}")


def write_pixels(pixels: np.ndarray, path: str | os.PathLike, *, format_from: str | os.PathLike | None = None) -> Path:
    """Write H x W x 3 (or H x W x 1) uint8 pixels to ``path`` as it stands (no temporary file: callers
    that need atomicity write to a temporary name and rename, see :mod:`synthlib.cli.outputs`).
    The format comes from the suffix of ``format_from`` (default ``path``)."""
    from PIL import Image

    path = Path(path)
    suffix = Path(format_from or path).suffix.lower()
    check_image_suffix(format_from or path)
    fmt = Image.registered_extensions().get(suffix)
    arr = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
    Image.fromarray(np.ascontiguousarray(arr)).save(path, format=fmt)
    return path


def write_image(image: Tensor, path: str | os.PathLike) -> Path:
    """Write one image (3 x H x W or 1 x 3 x H x W in [-1, 1]; values outside are clipped) to a file
    whose format PIL infers from the suffix. The folder is created; the file is replaced atomically."""
    path = Path(path)
    check_image_suffix(path, what=None)
    arr = tensor_to_pixels(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    write_pixels(arr, tmp, format_from=path)
    os.replace(tmp, path)
    return path
