"""Inpaint one photo with the network of an 'inpaint' checkpoint (chapter 6) or course:inpaint (plug-and-play
inpainting with the course denoiser as the prior: synthlib.restoration.pnp).

MASK is an image of the same size whose white pixels (grey level above half) are missing. Any size: the
picture is processed in overlapping tiles (only those with missing pixels), so memory depends on --tile,
not on the picture; every known pixel of the output is the input's. A hole wider than --tile-overlap is
filled tile by tile: raise --tile (or 0 for the whole picture at once) for large holes.
"""

from __future__ import annotations

import argparse
import sys

from synthlib.cli.common import add_device, add_image_input, add_out, add_tiles
from synthlib.core.errors import UserError
from synthlib.restoration.verb_common import load_restorer, prepare_output

NAME = "inpaint"
HELP = "fill the missing pixels of a photo with a trained inpainting network or course:inpaint (a denoiser as the prior)"


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a checkpoint.pt of kind inpaint (e.g. runs/06_restoration/inpaint/checkpoint.pt) "
                   "or course:inpaint")
    add_image_input(p, "the photo (any image file)", "--image")
    p.add_argument("--mask", required=True, help="an image of the same size: white = missing, black = known")
    add_out(p, "output image file (.png, .jpg, ...)")
    add_tiles(p, tile=256, overlap=64)
    add_device(p)


def run(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from synthlib.core.tiling import run_tiled
    from synthlib.data.imageio import pixels_to_tensor, read_pixels, write_pixels
    from synthlib.restoration.learned import inpaint_with

    target = prepare_output(args, extra=(("--mask", args.mask),))
    image = read_pixels(args.input, what="--input", max_megapixels=args.max_megapixels)
    mask = read_pixels(args.mask, what="--mask", max_megapixels=args.max_megapixels)
    if mask.shape[:2] != image.shape[:2]:
        raise UserError(f"--mask {args.mask} is {mask.shape[1]}x{mask.shape[0]} pixels but --input {args.input} is "
                        f"{image.shape[1]}x{image.shape[0]}; they must have the same size")
    top = 65535 if mask.dtype == np.uint16 else 255
    hole = mask.mean(axis=-1) > top / 2  # white marks the missing pixels
    del mask
    if bool(hole.all()):
        raise UserError(f"--mask {args.mask} marks every pixel as missing (white); there is nothing to inpaint from")
    model = load_restorer(args, "inpaint")
    h, w = hole.shape
    t0 = time.perf_counter()
    if not hole.any():
        out = image if image.dtype == np.uint8 else (image // 257).astype(np.uint8)
    else:
        import torch

        def predict(rows: slice, cols: slice):
            x = pixels_to_tensor(image[rows, cols])
            return inpaint_with(model.net, x, torch.from_numpy(hole[rows, cols]))

        out = run_tiled(predict, h, w, tile=args.tile, overlap=args.tile_overlap,
                        skip=lambda rows, cols: not hole[rows, cols].any(),
                        fill=lambda rows, cols: image[rows, cols] if image.dtype == np.uint8
                        else (image[rows, cols] // 257).astype(np.uint8))
        if image.dtype == np.uint8:
            out[~hole] = image[~hole]  # every known pixel exactly the input's
    seconds = time.perf_counter() - t0
    with target.writing() as tmp:
        write_pixels(out, tmp, format_from=target.path)
    if not hole.any():
        print("python -m synthlib inpaint: note: the mask has no white pixels; the image is written unchanged",
              file=sys.stderr)
    print(f"inpainted {args.input} ({w}x{h}, {100 * float(hole.mean()):.1f} % missing, {seconds:.2f} s) "
          f"-> {target.path}", file=sys.stderr)
    return 0
