"""Reading and writing single image files for the command line and the notebooks.

One convention everywhere: an image is a float tensor 1 x 3 x H x W in [-1, 1] (RGB). Files with
an alpha channel are composited on white (as the emoji data are), grayscale files become RGB.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def read_image(path: str | os.PathLike, *, what: str | None = None) -> Tensor:
    """The image file at ``path`` as 1 x 3 x H x W in [-1, 1].

    Raises ValueError with one line (naming ``what``, e.g. "--content", when given) when the file
    is missing, is a folder, or is not an image PIL can read.
    """
    from PIL import Image, UnidentifiedImageError

    from synthlib.data import from_uint8

    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    if path.is_dir():
        raise ValueError(f"{label} is a folder; give an image file ({', '.join(IMAGE_SUFFIXES)})")
    if not path.is_file():
        raise ValueError(f"{label} does not exist")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "P", "PA"):
                rgba = img.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(white, rgba)  # transparent pixels become white
            img = img.convert("RGB")
            pixels = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(img.height, img.width, 3)
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{label} is not an image that PIL can read ({type(e).__name__})") from None
    return from_uint8(pixels.permute(2, 0, 1).unsqueeze(0).contiguous())


def write_image(image: Tensor, path: str | os.PathLike) -> Path:
    """Write one image (3 x H x W or 1 x 3 x H x W in [-1, 1]; values outside are clipped) to a file
    whose format PIL infers from the suffix. The folder is created; the file is replaced atomically."""
    from PIL import Image

    from synthlib.data import to_uint8

    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: give an image file name ending in one of {', '.join(IMAGE_SUFFIXES)}")
    img = image.detach().float().cpu()
    img = img[0] if img.ndim == 4 else img
    if img.ndim != 3 or img.shape[0] not in (1, 3):
        raise ValueError(f"write_image expects 3 x H x W or 1 x 3 x H x W, got shape {tuple(image.shape)}")
    arr = to_uint8(img.clamp(-1, 1).unsqueeze(0))[0].permute(1, 2, 0).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    Image.fromarray(arr.squeeze(-1) if arr.shape[-1] == 1 else arr).save(tmp)
    os.replace(tmp, path)
    return path
