"""Stylize one photo (chapter 4): Gatys' optimisation (no checkpoint), a trained fast network ('fast-style'
checkpoint, one style, ignores --style) or AdaIN (an 'adain' checkpoint, any --style in one pass).

The method follows the checkpoint's kind (gatys without one). Style transfer matches statistics of the whole
picture (Gram matrices, channel means and deviations), so it cannot be cut into tiles: --size is capped by
the memory the machine has, and a size that does not fit is refused before any work, with the largest that does.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from synthlib.cli.common import (
    add_device,
    add_image_input,
    add_out,
    available_memory,
    gib,
    positive_int,
    unit_float,
)
from synthlib.cli.outputs import FileOutput, inputs
from synthlib.core.errors import UserError
from synthlib.data.imageio import IMAGE_SUFFIXES

NAME = "stylize"
HELP = "neural style transfer: Gatys optimisation, a trained fast network, or AdaIN"
# Gatys keeps every VGG activation for the backward pass, its gradient, and L-BFGS's history of the image.
GATYS_MEMORY_FACTOR = 3.0


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="fast: runs/04_style_transfer/fast/checkpoint.pt; adain: .../adain/checkpoint.pt; or "
                   "course:NAME; none for gatys")
    p.add_argument("--checkpoint", dest="checkpoint_opt", default=None, help=argparse.SUPPRESS)  # older spelling
    add_image_input(p, "the photo to stylize (any image file)", "--content")
    p.add_argument("--style", help="the style image (gatys and adain)")
    add_out(p, "output image file (.png, .jpg, ...)")
    p.add_argument("--method", choices=("gatys", "fast", "adain"), default=None,
                   help="default: the checkpoint's kind (fast or adain), gatys without a checkpoint")
    p.add_argument("--size", type=positive_int, default=256, help="shorter side of the output in pixels (default 256)")
    p.add_argument("--alpha", type=unit_float, default=1.0, help="adain: style strength in [0, 1] (default 1)")
    p.add_argument("--preserve-color", action="store_true", help="keep the photo's colours (transfer on luminance)")
    p.add_argument("--steps", type=positive_int, default=100, help="gatys: loss evaluations (L-BFGS; default 100)")
    p.add_argument("--vgg-weights", choices=("auto", "offline-hed", "torchvision-imagenet"), default="auto",
                   help="gatys: VGG weights (auto: torchvision's ImageNet ones if cached, else the offline HED ones)")
    p.add_argument("--vgg-arch", choices=("vgg16", "vgg19"), default="vgg16",
                   help="gatys: VGG16 (offline weights exist) or VGG19 (torchvision's ImageNet weights; needs internet once)")
    add_device(p)


def _size_cap(per_px: float, size: int, aspect: float, style_aspect: float | None) -> tuple[float, int]:
    """Bytes --size needs (content + style picture) and the largest --size that fits in available memory."""
    def need(s: int) -> float:
        pixels = s * s * (aspect + (style_aspect or 0.0))
        return pixels * per_px

    have = available_memory() * 0.8
    largest = int(math.sqrt(have / (per_px * (aspect + (style_aspect or 0.0)))))
    return need(size), largest


def run(args: argparse.Namespace) -> int:
    import time

    import torch

    from synthlib import style as st
    from synthlib.cli.common import device as pick
    from synthlib.core.tiling import activation_bytes_per_pixel
    from synthlib.data.imageio import picture_size, read_image, tensor_to_pixels, write_pixels

    checkpoint = args.checkpoint or args.checkpoint_opt
    if args.checkpoint and args.checkpoint_opt:
        raise UserError("give the checkpoint once (first, without --checkpoint)")
    if Path(args.out).suffix.lower() not in IMAGE_SUFFIXES:
        raise UserError(f"--out {args.out}: give an image file name ending in one of {', '.join(IMAGE_SUFFIXES)}")
    method = args.method or ("gatys" if checkpoint is None else None)
    if method == "gatys" and checkpoint:
        raise UserError("--method gatys optimises the image itself and takes no checkpoint; leave it out")
    if method in ("fast", "adain") and not checkpoint:
        raise UserError(f"--method {method} needs a checkpoint, given first (e.g. runs/04_style_transfer/"
                        f"{'fast' if method == 'fast' else 'adain'}/checkpoint.pt, or course:"
                        f"{'fast-style-starry_night' if method == 'fast' else 'adain'})")
    if not 16 <= args.size:
        raise UserError(f"--size must be at least 16 pixels, got {args.size}")
    target = FileOutput(Path(args.out), overwrite=args.overwrite)
    target.check(inputs(("--input", args.input), ("--style", args.style), ("checkpoint", checkpoint)))
    dev = pick(args.device)

    model = None
    if checkpoint:
        model = st.load_style_model(checkpoint, device=dev)
        if method is None:
            method = "fast" if model.kind == "fast-style" else "adain"
        wanted = "fast-style" if method == "fast" else "adain"
        if model.kind != wanted:
            raise UserError(f"{checkpoint} holds a '{model.kind}' model; --method {method} needs a '{wanted}' "
                            f"checkpoint (or use --method {'adain' if model.kind == 'adain' else 'fast'})")
    if method != "adain" and args.alpha != 1.0:
        raise UserError("--alpha applies to --method adain only")
    if method != "fast" and not args.style:
        raise UserError(f"the {method} method needs --style IMG")

    def dims(path: str, what: str) -> float:
        w, h = picture_size(path, what=what, max_megapixels=args.max_megapixels)
        return max(w, h) / max(1, min(w, h))

    aspect = dims(args.input, "--input")
    style_aspect = dims(args.style, "--style") if method != "fast" else None
    # The memory a pixel costs, probed on a small picture with the network that will run.
    probe = torch.zeros(1, 3, 64, 64, device=dev)
    if method == "fast":
        per_px = activation_bytes_per_pixel(model.net, probe)
    else:
        from synthlib.nn.vgg import load_vgg16_features

        vgg = model.vgg if method == "adain" else load_vgg16_features(args.vgg_weights, dev, max_layer="relu5_1",
                                                                       arch=args.vgg_arch)
        deepest = model.net.config.layer if method == "adain" else "relu5_1"
        per_px = activation_bytes_per_pixel(vgg, probe, call=lambda x: vgg(x, (deepest,)))
        if method == "adain":
            feats = vgg(probe, (deepest,))[deepest]
            per_px += activation_bytes_per_pixel(model.net, feats) * feats.shape[-1] * feats.shape[-2] / 64**2
        else:
            per_px *= GATYS_MEMORY_FACTOR
    need, largest = _size_cap(per_px, args.size, aspect, style_aspect)
    if need > available_memory() * 0.8:
        raise UserError(f"--size {args.size} needs about {gib(need)} for the {method} method on these pictures and "
                        f"{gib(available_memory())} is available; the largest --size that fits is {largest}")

    content = st.resize_shorter(read_image(args.input, what="--input", max_megapixels=args.max_megapixels), args.size)
    style = None
    if method != "fast":
        style = st.resize_shorter(read_image(args.style, what="--style", max_megapixels=args.max_megapixels), args.size)
    elif args.style:
        print("python -m synthlib stylize: note: the fast method ignores --style (the network learned one style "
              "when it was trained)", file=sys.stderr)
    t0 = time.perf_counter()
    if method == "gatys":
        cfg = st.GatysConfig(size=args.size, steps=args.steps, preserve_color=args.preserve_color)
        out = st.gatys(vgg, content, style, cfg).image
    elif method == "fast":
        out = st.fast_transfer(model.net, content, preserve_color=args.preserve_color)
    else:
        out = st.adain_transfer(model.net, model.vgg, content, style, alpha=args.alpha, preserve_color=args.preserve_color)
    seconds = time.perf_counter() - t0
    with target.writing() as tmp:
        write_pixels(tensor_to_pixels(out), tmp, format_from=target.path)
    h, w = out.shape[-2:]
    print(f"stylized {args.input} ({method}, {w}x{h}, {seconds:.2f} s) -> {target.path}", file=sys.stderr)
    return 0
