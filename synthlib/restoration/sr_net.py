"""SRResNet (Ledig et al., 2017): residual blocks, then sub-pixel convolution (Shi et al., 2016) for x2/x4/x8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import register

SR_NORMS = ("batch", "none")
SR_SCALES = (2, 4, 8)


# ----------------------------------------------------------------------------------------------
# Super-resolution
# ----------------------------------------------------------------------------------------------


def _conv3_bn(ch: int, batch_norm: bool) -> list[nn.Module]:
    """conv 3x3 [- BN]; no bias before a batch norm, whose mean subtraction would cancel it."""
    conv = nn.Conv2d(ch, ch, 3, padding=1, bias=not batch_norm)
    return [conv, nn.BatchNorm2d(ch)] if batch_norm else [conv]


class _SRBlock(nn.Module):
    """conv3 - [BN] - PReLU - conv3 - [BN], plus the input."""

    def __init__(self, ch: int, batch_norm: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv3_bn(ch, batch_norm), nn.PReLU(ch),
            *_conv3_bn(ch, batch_norm),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


@register
class SRResNet(nn.Module):
    """Ledig et al.'s SRResNet: N x 3 x h x w -> N x 3 x (scale h) x (scale w), any h, w >= 1.

    With C = ``base_channels`` (paper 64) and B = ``num_blocks`` (paper 16)::

        conv 9x9 (C) - PReLU                                            -> x0
        B x residual block [conv 3x3 - BN - PReLU - conv 3x3 - BN, + input]
        conv 3x3 - BN, + x0                                             (long skip)
        log2(scale) x [conv 3x3 (4C) - PixelShuffle(2) - PReLU]         (sub-pixel convolution)
        conv 9x9 (3)

    All the work happens at the low resolution; the sub-pixel convolution (Shi et al., 2016,
    "Real-time single image and video super-resolution using an efficient sub-pixel convolutional
    neural network") computes 4 values per pixel and :class:`torch.nn.PixelShuffle` arranges them
    as a 2x2 block, a learned upsampling without the uneven overlaps of transposed convolutions.

    ``norm="none"`` (the default) drops the batch norms, as EDSR (Lim et al., 2017, "Enhanced deep
    residual networks for single image super-resolution") found they hurt: they normalise away the
    range of the features and make the output depend on the batch; ``"batch"`` is the paper's.

    ``bicubic_skip`` (not in the paper): the output is the network's output plus the bicubic
    upscaling of the input, so the network only learns the missing detail, a residual, and a fresh
    network already starts at bicubic quality. The last convolution is initialised small (weights
    x 0.1, bias 0), not zero, so every earlier layer gets a gradient from the first step. No tanh
    then, since it would distort the bicubic base; bicubic overshoots [-1, 1] a little at edges
    and callers clamp. Without the skip the network draws the whole image and ends in tanh, as
    SRGAN's images in [-1, 1].
    """

    @dataclass
    class Config:
        scale: int = 4  # 2, 4 or 8: one x2 sub-pixel stage per factor 2
        base_channels: int = 64  # paper: 64
        num_blocks: int = 16  # paper: 16 residual blocks
        norm: str = "none"  # "batch" (the paper) or "none" (EDSR)
        bicubic_skip: bool = True  # learn the residual over bicubic upscaling

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        check_choice("scale", cfg.scale, SR_SCALES)
        check_choice("norm", cfg.norm, SR_NORMS)
        check_min("base_channels", cfg.base_channels, owner="SRResNet")
        check_min("num_blocks", cfg.num_blocks, 0, owner="SRResNet")
        c, bn = cfg.base_channels, cfg.norm == "batch"
        self.head = nn.Sequential(nn.Conv2d(3, c, 9, padding=4), nn.PReLU(c))
        self.blocks = nn.Sequential(*[_SRBlock(c, bn) for _ in range(cfg.num_blocks)])
        self.trunk_end = nn.Sequential(*_conv3_bn(c, bn))
        self.upsample = nn.Sequential(
            *[
                nn.Sequential(nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c))
                for _ in range(int(math.log2(cfg.scale)))
            ]
        )
        self.tail = nn.Conv2d(c, 3, 9, padding=4)
        if cfg.bicubic_skip:
            with torch.no_grad():
                self.tail.weight.mul_(0.1)
                self.tail.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] < 1 or x.shape[3] < 1:
            raise ValueError(f"SRResNet expects images of shape (N, 3, h, w), got {tuple(x.shape)}")
        h = self.head(x)
        h = h + self.trunk_end(self.blocks(h))
        y = self.tail(self.upsample(h))
        if not self.config.bicubic_skip:
            return torch.tanh(y)
        s = self.config.scale
        base = F.interpolate(x, size=(s * x.shape[2], s * x.shape[3]), mode="bicubic", align_corners=False)
        return y + base
