"""What ``inpaint``, ``upscale`` and ``denoise`` share: the output check and loading the right kind of restoration model."""

from __future__ import annotations

import argparse
from pathlib import Path

from synthlib.cli.outputs import FileOutput, inputs
from synthlib.core.errors import UserError
from synthlib.data.imageio import check_image_suffix

OTHER_VERB = {"sr": "upscale", "inpaint": "inpaint", "denoise": "denoise"}


def prepare_output(args: argparse.Namespace, extra: tuple[tuple[str, str], ...] = ()) -> FileOutput:
    """Check ``--out`` (an image name, not an input, not an existing file without --overwrite) before any work."""
    check_image_suffix(args.out, what="--out")
    return FileOutput(Path(args.out), overwrite=args.overwrite).check(
        inputs(("--input", args.input), *extra, ("checkpoint", args.checkpoint)))


def load_restorer(args: argparse.Namespace, kind: str):
    """The checkpoint's network, refusing the other restoration kind with a pointer to its verb."""
    from synthlib.cli.common import device
    from synthlib.restoration.learned import load_restoration_model

    model = load_restoration_model(args.checkpoint, kind=tuple(OTHER_VERB), device=device(args.device))
    if model.kind != kind:
        raise UserError(f"{args.checkpoint} holds a '{model.kind}' model; {args.command} needs a '{kind}' checkpoint "
                        f"(use `python -m synthlib {OTHER_VERB[model.kind]}` for this one)")
    return model
