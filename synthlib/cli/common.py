"""What every verb shares: option types that reject bad values in one line, the shared options
(``--out``, ``--overwrite``, ``--device``, ``--batch-size``, ``--seed``, ``--tile``, ``--max-megapixels``),
the device, and the memory the machine can give."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from synthlib.core.errors import UserError
from synthlib.data.imageio import DEFAULT_MAX_MEGAPIXELS

MAX_SEED = 2**63 - 1


def _number(text: str, kind: type, what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """A float option: 'nan' and 'inf' are refused (they would silently give NaN images)."""
    return _number(text, float, "a number")


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def seed_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63 - 1 (a 64-bit seed), got {value}")
    return value


def unit_float(text: str) -> float:
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value:g}")
    return value


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")


def add_out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", "-o", required=True, help=what)
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output file, or write into a folder that is not empty")


def add_image_input(p: argparse.ArgumentParser, what: str, *aliases: str) -> None:
    """``--input`` (with ``aliases``, e.g. an older spelling) and ``--max-megapixels``, the guard for every picture read."""
    p.add_argument("--input", "-i", *aliases, dest="input", required=True, help=what)
    p.add_argument("--max-megapixels", type=finite_float, default=DEFAULT_MAX_MEGAPIXELS, metavar="MP",
                   help=f"refuse input pictures larger than this (default {DEFAULT_MAX_MEGAPIXELS}, PIL's guard "
                   "against decompression bombs); raise it for large photos you trust")


def add_batch_size(p: argparse.ArgumentParser, default: int, what: str) -> None:
    p.add_argument("--batch-size", type=positive_int, default=default, help=f"{what} per forward pass (default {default})")


def add_seed(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--seed", type=seed_int, default=0, help=f"seed of {what}: same seed, same output (default 0)")


def add_tiles(p: argparse.ArgumentParser, tile: int, overlap: int) -> None:
    p.add_argument("--tile", type=nonnegative_int, default=tile, metavar="PX",
                   help=f"process the picture in tiles of PX x PX input pixels, so memory does not grow with the "
                   f"picture (default {tile}; 0 = the whole picture at once)")
    p.add_argument("--tile-overlap", type=nonnegative_int, default=overlap, metavar="PX",
                   help=f"margin of real pixels around each tile, cropped off after the network (default {overlap})")


def add_ensemble(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ensemble", action="store_true",
                   help="run the network on the 8 flips and quarter turns of each tile and average the outputs turned "
                   "back (geometric self-ensemble: 8x the time, a little better; chapter 6 measures it)")


def device(name: str) -> Any:
    """``--device`` as a torch.device; a device this machine lacks is a one-line UserError."""
    from synthlib.core.train import pick_device

    try:
        return pick_device(name)
    except (RuntimeError, ValueError) as e:
        raise UserError(f"--device {name}: {str(e).splitlines()[0]}") from None


def available_memory() -> int:
    """Bytes of memory the machine can give now (psutil's 'available'; sysconf on Linux without it)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30  # unknown: assume a modest machine


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"
