"""Upscale one photo by the factor saved in an 'sr' checkpoint (chapter 6: x4) or course:sr-x4.

Any size that fits on disk: the picture is processed in overlapping tiles, so the network's memory depends on
--tile, not on the picture; the input and the output are held once, as 8-bit pixels (3 bytes a pixel).
"""

from __future__ import annotations

import argparse
import sys

from synthlib.cli.common import (
    add_device,
    add_ensemble,
    add_image_input,
    add_out,
    add_tiles,
    available_memory,
    gib,
)
from synthlib.core.errors import UserError
from synthlib.restoration.verb_common import load_restorer, prepare_output

NAME = "upscale"
HELP = "super-resolve a photo with a trained SRResNet/SRGAN"


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a checkpoint.pt of kind sr (e.g. runs/06_restoration/sr/checkpoint.pt) "
                   "or course:sr-x4")
    add_image_input(p, "the low-resolution photo (any image file)", "--image")
    add_out(p, "output image file (.png, .jpg, ...)")
    add_tiles(p, tile=128, overlap=16)
    add_ensemble(p)
    add_device(p)


def run(args: argparse.Namespace) -> int:
    import time

    from synthlib.core.tiling import run_tiled
    from synthlib.data.imageio import pixels_to_tensor, read_pixels, write_pixels
    from synthlib.restoration.ensemble import self_ensemble
    from synthlib.restoration.learned import upscale_with

    target = prepare_output(args)
    image = read_pixels(args.input, what="--input", max_megapixels=args.max_megapixels)
    model = load_restorer(args, "sr")
    factor = int(model.net.config.scale)
    h, w = image.shape[:2]
    out_bytes = 3 * h * w * factor * factor
    if 2 * out_bytes > available_memory():  # the output's pixels, and PIL's copy while encoding
        raise UserError(f"--input {args.input} is {w}x{h}; x{factor} would be {w * factor}x{h * factor} pixels "
                        f"({gib(2 * out_bytes)} to hold and encode, {gib(available_memory())} available); crop it first")
    t0 = time.perf_counter()
    views = 8 if args.ensemble else 1   # self_ensemble with one view is the network alone
    out = run_tiled(lambda rows, cols: self_ensemble(lambda v: upscale_with(model.net, v),
                                                     pixels_to_tensor(image[rows, cols]), transforms=views),
                    h, w, scale=factor, tile=args.tile, overlap=args.tile_overlap)
    seconds = time.perf_counter() - t0
    with target.writing() as tmp:
        write_pixels(out, tmp, format_from=target.path)
    how = " (x8 self-ensemble)" if args.ensemble else ""
    print(f"upscaled {args.input} x{factor}{how} ({w}x{h} -> {w * factor}x{h * factor}, {seconds:.2f} s) -> {target.path}",
          file=sys.stderr)
    return 0
