"""Translate images with the generator of a 'pix2pix' or 'cyclegan' checkpoint (chapter 3) or course weights.

The output has the size of the input; height and width must suit the network (multiples of 2**depth).
A folder of images is read and written one image at a time (PNGs named after the inputs; two inputs with
one stem, a.png and a.jpg, become a_png.png and a_jpg.png). Every input is checked before anything is written.
Pictures written as PNGs go through the network in overlapping tiles (``--tile``, rounded up to the network's
size multiple, like the overlap), so memory depends on the tile, not the picture; a picture no larger than one
tile (every emoji) is translated whole, exactly as before. Normalisation layers (CycleGAN's instance norm) see each
tile's own statistics, so a tiled picture differs slightly from a whole one: keep the tile as large as memory allows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synthlib.cli.common import add_batch_size, add_device, add_image_input, add_out, add_tiles, available_memory, gib
from synthlib.cli.outputs import FileOutput, FolderOutput, inputs, unique_names
from synthlib.core.errors import UserError

NAME = "translate"
HELP = "translate images with a trained Pix2Pix or CycleGAN generator"


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a checkpoint.pt of kind pix2pix or cyclegan (e.g. runs/03_translation/pix2pix/), "
                   "or course:NAME")
    add_image_input(p, "a .pt tensor N x 3 x H x W in [-1, 1], an image file, or a folder of images")
    add_out(p, "FILE.pt (one tensor), or a folder for PNGs named after the inputs")
    p.add_argument("--direction", choices=("a2b", "b2a"), default="a2b",
                   help="a2b: Google -> Twitter style for the chapter's models; b2a (CycleGAN only): back")
    p.add_argument("--model", choices=("G_ema", "G"), default=None,
                   help="averaged or raw weights (default: G_ema if saved)")
    add_batch_size(p, 64, "images (.pt input)")
    add_tiles(p, tile=512, overlap=64)
    add_device(p)


def run(args: argparse.Namespace) -> int:
    import torch

    from synthlib.cli.common import device as pick
    from synthlib.core.tiling import activation_bytes_per_pixel, run_tiled
    from synthlib.data.imageio import (
        IMAGE_SUFFIXES,
        picture_size,
        pixels_to_tensor,
        read_pixels,
        tensor_to_pixels,
        write_pixels,
    )
    from synthlib.sample import is_dir_target
    from synthlib.translation.pix2pix_cyclegan import (
        check_input,
        load_translator,
        read_tensor_input,
        size_multiple,
        translate,
    )

    dev = pick(args.device)
    src, out = Path(args.input), Path(args.out)
    to_folder = is_dir_target(args.out)
    target = (FolderOutput(out, overwrite=args.overwrite) if to_folder
              else FileOutput(out, overwrite=args.overwrite, suffixes=(".pt", ".pth")))
    target.check(inputs(("--input", src), ("checkpoint", args.checkpoint)))
    G, name = load_translator(args.checkpoint, direction=args.direction, model=args.model, device=dev)

    if src.is_dir():
        files = sorted(p for p in src.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise UserError(f"--input {src} is a folder with no image files ({', '.join(IMAGE_SUFFIXES)})")
    elif not src.exists():
        raise UserError(f"--input {src} does not exist (give a .pt tensor, an image file or a folder of images)")
    elif src.suffix.lower() in IMAGE_SUFFIXES:
        files = [src]
    else:
        files = []
    if files:  # image files: check them all (size, readability) before writing anything
        m_px, sizes = 0, set()
        for f in files:
            w, h = picture_size(f, what="--input", max_megapixels=args.max_megapixels)
            check_input(G, torch.empty(1, 3, h, w, device="meta"), what=f"--input {f}")
            m_px, sizes = max(m_px, w * h), sizes | {(w, h)}
        per_px = activation_bytes_per_pixel(G, torch.zeros(1, 3, 64, 64, device=dev))
        m = size_multiple(G)
        tile = -(-args.tile // m) * m  # tiles and margins in whole multiples: every grown tile is a size G takes
        overlap = -(-args.tile_overlap // m) * m
        at_once = m_px if not to_folder or tile == 0 else min(m_px, (tile + 2 * overlap) ** 2)
        if at_once * per_px > available_memory():
            fix = ("write a folder of PNGs (tiled), or shrink it" if not to_folder else
                   f"lower --tile (now {tile})" if tile else "pass --tile 512")
            raise UserError(f"--input: the largest picture ({m_px / 1e6:.1f} megapixels) needs about "
                            f"{gib(at_once * per_px)} for this network at once and {gib(available_memory())} is "
                            f"available; {fix}")
        names = unique_names(files)
        if not to_folder and len(sizes) > 1:
            raise UserError(f"--out {out}: the inputs have different sizes; write a folder of PNGs instead")
        outs = []
        with target.writing() as where:
            for f, stem in zip(files, names):
                pixels = read_pixels(f, what="--input", max_megapixels=args.max_megapixels)
                if to_folder:  # in tiles: the picture is held once as 8-bit pixels, the network sees one tile
                    y = run_tiled(lambda rows, cols, px=pixels: translate(G, pixels_to_tensor(px[rows, cols]), device=dev),
                                  *pixels.shape[:2], tile=tile, overlap=overlap)
                    write_pixels(y, where / f"{stem}.png")
                else:
                    outs.append(translate(G, pixels_to_tensor(pixels), device=dev))
            if not to_folder:
                torch.save(torch.cat(outs).contiguous(), where)
        count = len(files)
    else:
        x = read_tensor_input(src)  # N x 3 x H x W, finite, in [-1, 1]
        check_input(G, x, what=f"--input {src}")
        y = translate(G, x, batch_size=args.batch_size, device=dev)
        with target.writing() as where:
            if to_folder:
                width = max(5, len(str(len(y) - 1)))
                for i, img in enumerate(y.split(1)):
                    write_pixels(tensor_to_pixels(img), where / f"{i:0{width}d}.png")
            else:
                torch.save(y.contiguous(), where)
        count = len(y)
    print(f"translated {count} image(s) with {name} ({args.direction}) to {out}", file=sys.stderr)
    return 0
