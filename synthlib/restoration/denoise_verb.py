"""Denoise one photo with a trained network (a chapter 6 'denoise' checkpoint: a DnCNN, or the U-Net of course:denoise),
or with BM3D.

METHOD is a checkpoint, course:denoise, or bm3d (the classical reference, which needs --sigma: the photo's noise
level on the 0..255 scale). A network trained at one noise level works best near it; the checkpoint says which
levels it saw, and --sigma, when given, is checked against them. A network told the level (a DenoiseUNet with
noise_map) takes --sigma as its input, so it sets how strongly the photo is smoothed; without --sigma the level is
estimated from the photo (a wavelet estimate on its mid-tones, printed: estimate_level). Any size: the picture is processed in
overlapping tiles, so memory depends on --tile, not on the picture; the tiles overlap by at least half the network's
receptive field, so a DnCNN's tiled result is the whole-picture one (a U-Net's, DenoiseUNet, to within the rounding
of its strided grid).
"""

from __future__ import annotations

import argparse
import sys

from synthlib.cli.common import add_device, add_ensemble, add_image_input, add_out, add_tiles, finite_float
from synthlib.core.errors import UserError
from synthlib.restoration.verb_common import load_restorer, prepare_output

NAME = "denoise"
HELP = "remove Gaussian noise from a photo with a trained network (DnCNN, U-Net) or with BM3D"
CLASSICAL = ("bm3d",)
MAX_SIGMA = 100.0  # on 0..255; beyond it the photo is mostly noise


def _sigma(text: str) -> float:
    value = finite_float(text)
    if not 0 < value <= MAX_SIGMA:
        raise argparse.ArgumentTypeError(f"must be a noise level in (0, {MAX_SIGMA:g}] on the 0..255 scale, got {value:g}")
    return value


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="METHOD", help="a checkpoint.pt of kind denoise (e.g. "
                   "runs/06_restoration/denoise/checkpoint.pt), course:denoise, or bm3d")
    add_image_input(p, "the noisy photo (any image file)", "--image")
    add_out(p, "output image file (.png, .jpg, ...)")
    p.add_argument("--sigma", type=_sigma, default=None, metavar="S",
                   help="the photo's noise level on the 0..255 scale (e.g. 25): needed by bm3d; for a network, "
                   "checked against the levels it was trained on; a network told the level (noise_map) denoises at "
                   "it (estimated from the photo when left out)")
    add_tiles(p, tile=256, overlap=32)
    add_ensemble(p)
    add_device(p)


def _trained_levels(config: dict) -> tuple[float, float]:
    """The noise levels (on 0..255) a checkpoint's network saw in training."""
    sigma = config.get("sigma", 25 * 2 / 255)
    lo, hi = (sigma, sigma) if isinstance(sigma, (int, float)) else sigma
    return lo * 255 / 2, hi * 255 / 2


def estimate_level(pixels, side: int = 1024, *, margin: float = 2.0, rounds: int = 3) -> float:
    """The Gaussian noise level of an H x W x 3 picture (uint8 or uint16) on the 0..255 scale, read off its central
    ``side`` x ``side`` window (enough pixels, and memory that does not grow with the picture).

    Donoho and Johnstone's wavelet estimate, as scikit-image's ``estimate_sigma`` computes it (the median absolute
    finest diagonal db2 coefficient / 0.6745; the median ignores the few large coefficients of edges), but only where
    the picture's local level (its db2 approximation over about 8 x 8 pixels) is at least ``margin`` sigma from black
    and from white. Clipping at 0 and 255 hides the noise of dark and bright parts, so the estimate over every pixel
    reads strong noise low; each of ``rounds`` rounds re-estimates sigma on the mid-tones the last estimate allows.
    On the nine held-out photos at 512 px, sigma 25 / 40 / 50 reads 25.0 / 39.4 / 48.7 on average this way and
    23.3 / 35.4 / 43.0 over every pixel; sigma 5 reads 5.6 both ways (texture adds a little). A margin of 2 sigma
    lets about 2 % of a pixel's noise be clipped, and leaves enough mid-tones in a small window."""
    import numpy as np
    import pywt
    from scipy.ndimage import uniform_filter

    if pixels.ndim == 2:
        pixels = pixels[..., None]
    h, w = pixels.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    window = pixels[top:top + side, left:left + side].astype(np.float32) / np.iinfo(pixels.dtype).max
    detail, level = [], []
    for c in range(window.shape[2]):
        approx, (_, _, diagonal) = pywt.dwt2(window[..., c], "db2", mode="symmetric")
        detail.append(np.abs(diagonal))
        level.append(uniform_filter(approx / 2, size=4))  # orthonormal in 2-D: approx / 2 is the local mean
    detail, level = np.stack(detail), np.stack(level)
    sigma = float(np.median(detail)) / 0.6745
    for _ in range(rounds):
        mid = (level > margin * sigma) & (level < 1 - margin * sigma)
        channels = [float(np.median(d[m])) / 0.6745 for d, m in zip(detail, mid) if m.sum() >= 256]
        if not channels:  # noise so strong that no part of the picture is clear of clipping: keep the estimate
            break
        sigma = float(np.mean(channels))
    return sigma * 255.0


def run(args: argparse.Namespace) -> int:
    import time

    from synthlib.core.tiling import run_tiled
    from synthlib.data.imageio import pixels_to_tensor, read_pixels, write_pixels
    from synthlib.restoration.classical import denoise_bm3d, sigma_from_255
    from synthlib.restoration.denoise import denoise_with
    from synthlib.restoration.drunet_net import takes_noise_level
    from synthlib.restoration.ensemble import self_ensemble

    classical = args.checkpoint.lower() in CLASSICAL
    if classical and args.ensemble:
        raise UserError(f"--ensemble averages a network over flips and turns; {args.checkpoint} is not a network: drop "
                        "--ensemble")
    if classical and args.sigma is None:
        raise UserError(f"{args.checkpoint} needs the photo's noise level: add --sigma S (on the 0..255 scale, e.g. 25)")
    target = prepare_output(args) if not classical else _prepare_classical_output(args)
    image = read_pixels(args.input, what="--input", max_megapixels=args.max_megapixels)
    overlap = args.tile_overlap
    if classical:
        sigma = sigma_from_255(args.sigma)
        what = f"BM3D at sigma {args.sigma:g}"

        def predict(rows: slice, cols: slice):
            return denoise_bm3d(pixels_to_tensor(image[rows, cols])[0], sigma)[None]
    else:
        model = load_restorer(args, "denoise")
        lo, hi = _trained_levels(model.config)
        trained = f"sigma {lo:g}" if lo == hi else f"sigma {lo:g}-{hi:g}"
        if args.sigma is not None and not (0.8 * lo <= args.sigma <= 1.2 * hi):
            print(f"python -m synthlib denoise: note: this network was trained at {trained}, not {args.sigma:g}; "
                  "expect a weaker result (a blind model covers a range)", file=sys.stderr)
        level = None
        if takes_noise_level(model.net):
            told = args.sigma if args.sigma is not None else estimate_level(image)
            if args.sigma is None:
                print(f"python -m synthlib denoise: noise level estimated from the photo: sigma {told:.1f} on 0..255 "
                      "(pass --sigma S to choose it)", file=sys.stderr)
            level = sigma_from_255(told)
            trained += f", told sigma {told:.1f}"
        overlap = max(overlap, model.net.receptive_field // 2)  # the receptive field's half-width: tiled = whole picture
        what = f"{type(model.net).__name__} ({trained})" + (", x8 self-ensemble" if args.ensemble else "")
        views = 8 if args.ensemble else 1   # self_ensemble with one view is the network alone

        def predict(rows: slice, cols: slice):
            return self_ensemble(lambda v: denoise_with(model.net, v, level), pixels_to_tensor(image[rows, cols]),
                                 transforms=views)
    h, w = image.shape[:2]
    t0 = time.perf_counter()
    out = run_tiled(predict, h, w, tile=args.tile, overlap=overlap)
    seconds = time.perf_counter() - t0
    with target.writing() as tmp:
        write_pixels(out, tmp, format_from=target.path)
    print(f"denoised {args.input} with {what} ({w}x{h}, {seconds:.2f} s) -> {target.path}", file=sys.stderr)
    return 0


def _prepare_classical_output(args: argparse.Namespace):
    """The output check without a checkpoint among the inputs (``bm3d`` names a method, not a file)."""
    from pathlib import Path

    from synthlib.cli.outputs import FileOutput, inputs
    from synthlib.data.imageio import check_image_suffix

    check_image_suffix(args.out, what="--out")
    return FileOutput(Path(args.out), overwrite=args.overwrite).check(inputs(("--input", args.input)))
