"""A small Fashion-MNIST classifier: the feature network behind synthlib's image metrics.

Published FID uses an ImageNet Inception-v3, whose weights cannot be had offline here and which
knows nothing about 28x28 grayscale clothes. :mod:`synthlib.metrics.fid` uses this network
instead: its 128-d penultimate layer (:meth:`FashionClassifier.features`) is the feature space of
FID, KID and precision/recall, and its logits score class-conditional generators. The trained
weights ship in ``synthlib/weights/`` and are rebuilt by ``python scripts/train_classifier.py``.

Architecture (28x28 input, default channels ``(c1, c2, c3) = (32, 64, 128)``)::

    5x5 conv, stride 2  1 -> c1   + BN + ReLU      (N, c1, 14, 14)
    3x3 conv            c1 -> c2  + BN + ReLU      (N, c2, 14, 14)
    2x2 max-pool                                   (N, c2, 7, 7)
    3x3 conv            c2 -> c3  + BN + ReLU      (N, c3, 7, 7)
    2x2 max-pool                                   (N, c3, 3, 3)
    linear              9 c3 -> feature_dim + BN + ReLU  = features   (N, 128)
    dropout, linear     feature_dim -> num_classes       = logits     (N, 10)

The stride-2 first layer keeps the 28x28 work small: on a 2-core CPU most of a convnet's time
goes into the element-wise passes (BatchNorm, ReLU, pooling) over the full-resolution maps.

Pixel convention: float32 in [-1, 1], N x 1 x H x W. Images that are not ``img_size`` pixels
(DCGANs make 32x32 and 64x64 images) are resized to it with antialiased bilinear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.registry import register

__all__ = ["EmojiStyleClassifier", "FashionClassifier"]


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> list[nn.Module]:
    # bias=False: the BatchNorm that follows subtracts the batch mean, cancelling any bias.
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


def _prepare(x: Tensor, cfg: Any, expects: str) -> Tensor:
    """Check N x C x H x W float images (``cfg.img_channels``) and resize them to ``cfg.img_size`` if needed."""
    if x.ndim != 4 or x.shape[1] != cfg.img_channels or not x.is_floating_point():
        raise ValueError(f"{expects} in [-1, 1] shaped (N, {cfg.img_channels}, H, W), got {x.dtype} "
                         f"{tuple(x.shape)}; convert uint8 images with synthlib.data.from_uint8")
    if x.shape[-2:] != (cfg.img_size, cfg.img_size):
        # antialias: without it a 64 -> 28 bilinear resize samples every other pixel and aliases
        size = (cfg.img_size, cfg.img_size)
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return x


@register
class FashionClassifier(nn.Module):
    """image (N, 1, H, W) in [-1, 1] -> logits (N, num_classes); :meth:`features` -> (N, feature_dim)."""

    @dataclass
    class Config:
        channels: tuple[int, int, int] = (32, 64, 128)
        feature_dim: int = 128
        num_classes: int = 10
        img_size: int = 28  # the resolution the network works at; other sizes are resized to it
        img_channels: int = 1
        dropout: float = 0.3  # before the last linear layer only, so the features never see it

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        c1, c2, c3 = config.channels
        pooled = config.img_size // 2 // 2 // 2  # 28 -> 14 (stride 2) -> 7 -> 3 (floor)
        self.trunk = nn.Sequential(
            *_conv_bn_relu(config.img_channels, c1, 5, stride=2),
            *_conv_bn_relu(c1, c2, 3),
            nn.MaxPool2d(2),
            *_conv_bn_relu(c2, c3, 3),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c3 * pooled * pooled, config.feature_dim, bias=False),
            nn.BatchNorm1d(config.feature_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.feature_dim, config.num_classes))

    def _prepare(self, x: Tensor) -> Tensor:
        return _prepare(x, self.config, "FashionClassifier expects float images")

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer (after BN and ReLU): (N, 1, H, W) -> (N, feature_dim).

        This is the feature space of synthlib's FID/KID and precision/recall; call it in eval mode.
        """
        return self.trunk(self._prepare(x))

    def forward(self, x: Tensor) -> Tensor:
        """(N, 1, H, W) in [-1, 1] -> logits (N, num_classes)."""
        return self.head(self.features(x))


@register
class EmojiStyleClassifier(nn.Module):
    """Emoji drawing style: image (N, 3, H, W) in [-1, 1] -> logits (N, 2), 0 = Google (Noto), 1 = Twitter (Twemoji).

    The feature network behind Chapter 3's realism scores (:mod:`synthlib.translation.scores`):
    its 128-d penultimate layer (:meth:`features`) is the feature space of KID/FID for translated
    emoji, and its softmax says how Twemoji-like (or Noto-like) an output looks. Inception cannot
    be had offline and never saw 64x64 emoji; this network knows exactly the difference a
    Google -> Twitter translator has to make. The shipped weights
    (``synthlib/weights/emoji_style_classifier.*``, made by
    ``python scripts/train_emoji_style_classifier.py``) were trained on the TRAIN split only, so
    every test-split emoji is unseen by it.

    Architecture (64x64 input, default ``channels = (32, 64, 128, 128)``)::

        4 x [3x3 conv, stride 2 + BN + ReLU]   64 -> 32 -> 16 -> 8 -> 4 pixels   (N, 128, 4, 4)
        global average pool                                                       (N, 128)
        linear 128 -> feature_dim + BN + ReLU  = features                         (N, 128)
        dropout, linear feature_dim -> 2       = logits                           (N, 2)

    The global average pool makes the features mostly about *how* an emoji is drawn (flat fills
    and outlines vs shading and gradients), not *where* things are; a style score should not care
    which emoji it is looking at.
    """

    @dataclass
    class Config:
        channels: tuple[int, int, int, int] = (32, 64, 128, 128)
        feature_dim: int = 128
        num_classes: int = 2  # 0 = google, 1 = twitter
        img_size: int = 64  # the resolution the network works at; other sizes are resized to it
        img_channels: int = 3
        dropout: float = 0.2  # before the last linear layer only, so the features never see it

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        in_channels = config.img_channels
        for out_channels in config.channels:
            layers += _conv_bn_relu(in_channels, out_channels, 3, stride=2)
            in_channels = out_channels
        self.trunk = nn.Sequential(
            *layers,
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(in_channels, config.feature_dim, bias=False),
            nn.BatchNorm1d(config.feature_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.feature_dim, config.num_classes))

    def _prepare(self, x: Tensor) -> Tensor:
        return _prepare(x, self.config, "EmojiStyleClassifier expects float RGB images")

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer (after BN and ReLU): (N, 3, H, W) -> (N, feature_dim).

        The feature space of the translation realism scores (KID/FID); call it in eval mode.
        """
        return self.trunk(self._prepare(x))

    def forward(self, x: Tensor) -> Tensor:
        """(N, 3, H, W) in [-1, 1] -> logits (N, 2); softmax column 1 is P(Twitter style)."""
        return self.head(self.features(x))
