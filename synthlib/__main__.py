"""Command line: ``python -m synthlib {data,sample} ...``."""

from __future__ import annotations

import argparse
import sys


def _cmd_data(args: argparse.Namespace) -> int:
    from synthlib.data import prepare_fashion_mnist

    prepare_fashion_mnist(allow_apt=not args.no_apt)
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    """Errors the user can fix (paths, classes, counts) end in one line on stderr and exit code 2."""
    import torch

    from synthlib.sample import load_generator, num_classes, prepare_target, sample, save_samples
    from synthlib.train import pick_device

    def fail(message: str) -> int:
        print(f"python -m synthlib sample: error: {message}", file=sys.stderr)
        return 2

    if args.num < 1:
        return fail(f"--num must be >= 1, got {args.num}")
    if args.batch_size < 1:
        return fail(f"--batch-size must be >= 1, got {args.batch_size}")
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
        samples = sample(G, args.num, seed=args.seed, label=args.label, batch_size=args.batch_size, device=device)
        out = save_samples(samples, args.out)
    except (ValueError, OSError) as e:  # CheckpointError is a ValueError
        return fail(str(e))
    except torch.cuda.OutOfMemoryError:
        return fail(f"out of GPU memory at --batch-size {args.batch_size}; use a smaller one")
    print(f"wrote {args.num} samples {tuple(samples.shape[1:])} from {name} to {out}", file=sys.stderr)
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
        description="Draw samples from the generator in a checkpoint (kinds 'dcgan', 'toy-gan'). Writes one "
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
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.set_defaults(func=_cmd_sample)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
