"""The command line: ``python -m synthlib VERB ...``, one small module per verb.

Each verb module has ``NAME``, ``HELP`` (its one line in ``python -m synthlib --help``), ``register(parser)``
and ``run(args) -> int``. Everything they share is written once: the option types and shared options
(:mod:`synthlib.cli.common`), the output policy (:mod:`synthlib.cli.outputs`), and the error path here:

- a mistake the user can fix (:class:`synthlib.core.errors.UserError`, a checkpoint that is missing or of the
  wrong kind, a file that cannot be read or written, a bad option value, out of memory) ends in ONE line
  on stderr, ``python -m synthlib VERB: error: ...``, and exit code 2;
- Ctrl-C ends in one line and exit code 130, leaving no partial output;
- anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys
from types import ModuleType

from synthlib.core.errors import UserError


def _verbs() -> list[ModuleType]:
    """Every verb's module. The generic verbs live here; a family's own verb lives with its family."""
    from synthlib.cli import cmd_data, cmd_sample, cmd_weights
    from synthlib.restoration import denoise_verb, inpaint_verb, upscale_verb
    from synthlib.style import stylize_verb
    from synthlib.translation import translate_verb

    return [cmd_sample, translate_verb, stylize_verb, inpaint_verb, upscale_verb, denoise_verb, cmd_weights, cmd_data]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (``prog: error: ...``) and exit code 2, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        import re

        message = re.sub(r"^argument ([^\s:/]+)(/[^\s:]+)?: ", r"\1 ", message)  # "--num must be >= 1, got 0"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from synthlib import __version__

    parser = _Parser(prog="python -m synthlib",
                     description="Apply the course's trained models from a shell. Every verb takes its checkpoint "
                     "first (a checkpoint.pt or course:NAME), reads --input and writes --out; it never overwrites "
                     "an input and replaces an existing output only with --overwrite.")
    parser.add_argument("--version", action="version", version=f"synthlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="VERB", parser_class=_Parser)
    for verb in _verbs():
        p = sub.add_parser(verb.NAME, help=verb.HELP, description=verb.__doc__.strip().split("\n\n")[0])
        verb.register(p)
        p.set_defaults(_verb=verb)
    return parser


def fail(verb: str, message: str, code: int = 2) -> int:
    print(f"python -m synthlib {verb}: error: {message}", file=sys.stderr)
    return code


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _os_message(e: OSError) -> str:
    where = f" {e.filename}" if e.filename else ""
    if e.errno == errno.ENOSPC:
        return f"the disk is full while writing{where}; free some space or write elsewhere (nothing was kept)"
    return f"{e.strerror or first_line(e)}:{where}" if e.strerror else first_line(e)


def run(args: argparse.Namespace) -> int:
    """Run a parsed command through the one error path."""
    import torch

    from synthlib.core.checkpoint import CheckpointError

    verb = args.command
    try:
        return int(args._verb.run(args) or 0)
    except (UserError, CheckpointError) as e:
        return fail(verb, first_line(e))
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return fail(verb, "out of GPU memory; use a smaller --batch-size or --tile, or --device cpu")
    except MemoryError:
        return fail(verb, "out of memory; use a smaller --batch-size, --tile or --size")
    except KeyboardInterrupt:
        return fail(verb, "interrupted; no output was written", code=130)
    except OSError as e:  # a file the user named cannot be read or written (permissions, a full disk...)
        if e.errno is None:
            raise
        if e.errno == errno.EPIPE:  # `python -m synthlib weights | head`: the reader has what it wanted
            return 0
        return fail(verb, _os_message(e))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a bad option (already printed in one line)
        return int(e.code or 0)
    return run(args)
