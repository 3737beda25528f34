"""Command line: ``python -m synthlib {data,sample} ...``."""

from __future__ import annotations

import argparse
import sys


def _cmd_data(args: argparse.Namespace) -> int:
    from synthlib.data import prepare_fashion_mnist

    prepare_fashion_mnist(allow_apt=not args.no_apt)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="make sure the course's data sets are available offline")
    p.add_argument("--no-apt", action="store_true", help="never try apt-get; download instead")
    p.set_defaults(func=_cmd_data)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
