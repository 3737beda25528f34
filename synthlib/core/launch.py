"""Run a notebook on several GPUs: one papermill process per GPU, all training the same models together.

    torchrun --nproc_per_node=4 -m synthlib.core.launch notebooks/05_stylegan.ipynb runs/05_stylegan/05_stylegan.ipynb \\
        -p profile full

torchrun starts one process per GPU with ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set; each runs the notebook through
papermill, whose kernel inherits those variables. The notebook's ``synthlib.start_run`` joins the process group
(:func:`synthlib.core.distributed.setup`), so every Trainer in it trains data-parallel (see :mod:`synthlib.core.distributed`):
each rank takes its share of every batch, and the run directory's checkpoints, ``metrics.json`` and figures are
written by rank 0. The evaluation cells run on every rank (the same numbers; rank 0 keeps them). Rank 0 writes the
executed notebook to OUTPUT; rank r > 0 to OUTPUT with ``.rank<r>`` before the suffix, for its logs.

The global batch is the notebook's batch size; choose one divisible by the number of GPUs. Without torchrun this is
plain papermill.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _output_for_rank(output: Path, rank: int) -> Path:
    return output if rank == 0 else output.with_name(f"{output.stem}.rank{rank}{output.suffix}")


def _value(text: str) -> object:
    """A -p value as papermill's command line reads it: numbers, True/False/None, else the string."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m synthlib.core.launch", description=__doc__.split("\n\n")[0])
    p.add_argument("notebook", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    p.add_argument("--cwd", type=Path, default=None, help="working directory of the kernel (default: the notebook's)")
    args = p.parse_args(argv)
    if not args.notebook.is_file():
        print(f"launch: error: no notebook at {args.notebook}", file=sys.stderr)
        return 2
    import papermill

    rank = int(os.environ.get("RANK", "0"))
    output = _output_for_rank(args.output, rank)
    output.parent.mkdir(parents=True, exist_ok=True)
    params = {name: _value(value) for name, value in args.parameter}
    papermill.execute_notebook(str(args.notebook), str(output), parameters=params,
                               cwd=str(args.cwd or args.notebook.parent), progress_bar=rank == 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
