"""Draw samples from the generator in a checkpoint (kinds 'dcgan', 'toy-gan', 'stylegan', 'vae', 'diffusion',
'flow') or a course weight (course:NAME).

Writes one float tensor to a .pt file (images: N x C x H x W in [-1, 1]; toy-gan: N x d), or PNG files
00000.png ... to a folder, generated and written batch by batch (so --num is bounded by the disk, not the
memory). The same --seed gives the same samples, whatever --batch-size or --device.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from synthlib.cli.common import (
    add_batch_size,
    add_device,
    add_out,
    add_seed,
    available_memory,
    finite_float,
    gib,
    positive_int,
)
from synthlib.cli.outputs import FileOutput, FolderOutput, inputs
from synthlib.core.errors import UserError

NAME = "sample"
HELP = "draw samples from a trained generator (DCGAN, StyleGAN, VAE, diffusion, flow)"


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a checkpoint.pt written by synthlib's Trainer, or course:NAME")
    p.add_argument("--num", "-n", type=positive_int, required=True, help="number of samples N (>= 1)")
    add_out(p, "FILE.pt, or a folder for PNGs (exists, ends with '/', or has no suffix)")
    add_seed(p, "the latents (and classes)")
    p.add_argument("--class", dest="label", type=int, default=None, metavar="K",
                   help="class of every sample (conditional generators; default: uniform random classes)")
    p.add_argument("--model", choices=("G_ema", "G"), default=None, help="which generator (default: G_ema if saved)")
    add_batch_size(p, 256, "samples")
    p.add_argument("--truncation", type=finite_float, default=1.0, metavar="PSI",
                   help="StyleGAN: pull each w towards the average w, w_avg + PSI (w - w_avg); 1 = none, "
                   "0.7 = typical images, less variety")
    p.add_argument("--steps", type=positive_int, default=None, metavar="N",
                   help="diffusion/flow: network evaluations per sample (default 50: DDIM or Euler steps)")
    p.add_argument("--guidance", type=finite_float, default=0.0, metavar="W",
                   help="diffusion/flow, class-conditional: classifier-free guidance cond + W (cond - uncond); "
                   "0 = none, 1-3 = more typical of the class, less variety")
    add_device(p)


def _check_model_options(args: argparse.Namespace, G, k: int) -> None:
    from synthlib.sample import is_iterative

    if not 0.0 <= args.truncation <= 1.0:
        raise UserError(f"--truncation must be in [0, 1] (1 = none), got {args.truncation}")
    if args.guidance < 0:
        raise UserError(f"--guidance must be >= 0 (0 = the plain conditional model), got {args.guidance}")
    if args.label is not None and k == 0:
        raise UserError(f"--class {args.label}: {args.checkpoint} holds an unconditional generator")
    if args.label is not None and not 0 <= args.label < k:
        raise UserError(f"--class {args.label} is out of range: this generator has classes 0..{k - 1}")
    if args.truncation != 1.0 and not callable(getattr(G, "truncate", None)):
        raise UserError(f"--truncation {args.truncation}: {args.checkpoint} holds a {type(G).__name__}, which has "
                        "no truncation (StyleGAN checkpoints do); leave it out")
    if (args.steps is not None or args.guidance != 0.0) and not is_iterative(G):
        raise UserError(f"--steps/--guidance: {args.checkpoint} holds a {type(G).__name__}, which draws in one "
                        "pass (diffusion and flow checkpoints take them); leave them out")
    process = getattr(getattr(G, "config", None), "process", None)
    if args.steps is not None and process == "diffusion" and args.steps > G.config.num_timesteps:
        raise UserError(f"--steps {args.steps} is more than the model's {G.config.num_timesteps} diffusion steps")
    if args.guidance != 0.0 and k == 0:
        raise UserError(f"--guidance {args.guidance}: classifier-free guidance needs a class-conditional model")


def _check_room(args: argparse.Namespace, shape: tuple[int, ...], to_folder: bool) -> None:
    """A .pt file holds every sample at once (memory); PNGs are written batch by batch (disk)."""
    per_sample = 4
    for s in shape:
        per_sample *= s
    if not to_folder:
        need, have = args.num * per_sample * 2, available_memory()  # the samples, and torch.save's copy
        if need > have:
            most = max(1, have // (per_sample * 2))
            raise UserError(f"--num {args.num}: a .pt file holds every sample in memory at once ({gib(need)}; "
                            f"{gib(have)} available), so at most --num {most} here; write PNGs to a folder instead")
    else:
        need = args.num * (per_sample // 4 + 128)  # PNG of uint8 pixels: at most about the raw size
        free = shutil.disk_usage(args.out_target.path.absolute().parent if not args.out_target.path.exists()
                                 else args.out_target.path).free
        if need > free:
            raise UserError(f"--num {args.num} PNGs need up to {gib(need)} of disk and {gib(free)} is free; "
                            "lower --num or write elsewhere")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from synthlib.cli.common import device as pick
    from synthlib.sample import (
        is_dir_target,
        iter_samples,
        load_generator,
        num_classes,
        sample_shape,
        write_png_batch,
    )

    dev = pick(args.device)
    out = Path(args.out)
    to_folder = is_dir_target(args.out)
    if not to_folder and out.suffix.lower() not in (".pt", ".pth"):
        raise UserError(f"--out {out}: give a .pt file or a folder for PNG files, not a {out.suffix} file")
    target = (FolderOutput if to_folder else FileOutput)(out, overwrite=args.overwrite)
    target.check(inputs(("checkpoint", args.checkpoint)))
    args.out_target = target
    G, name = load_generator(args.checkpoint, model=args.model, device=dev)
    k = num_classes(G)
    _check_model_options(args, G, k)
    shape = sample_shape(G)
    if to_folder and not (len(shape) == 3 and shape[0] in (1, 3)):
        raise UserError(f"PNG output needs images, these samples are {shape}; write a .pt file instead")
    _check_room(args, shape, to_folder)
    if args.model is None and name == "G":
        print("note: the checkpoint has no G_ema; sampling from G", file=sys.stderr)
    if k > 0 and args.label is None:
        print(f"note: conditional generator and no --class; drawing classes uniformly from 0..{k - 1}", file=sys.stderr)
    batches = iter_samples(G, args.num, seed=args.seed, label=args.label, batch_size=args.batch_size, device=dev,
                           truncation=args.truncation, steps=args.steps, guidance=args.guidance)
    with target.writing() as where:
        if to_folder:
            width = max(5, len(str(args.num - 1)))
            start = 0
            for batch in batches:
                write_png_batch(batch, where, start=start, width=width)
                start += len(batch)
        else:
            torch.save(torch.cat(list(batches)).contiguous(), where)
    print(f"wrote {args.num} samples {shape} from {name} to {out}", file=sys.stderr)
    return 0
