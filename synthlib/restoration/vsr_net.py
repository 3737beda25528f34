"""BurstSR: multi-frame x2/x4/x8 super-resolution in the manner of VSRNet, with SRResNet's body.

Kappeler et al. (2016, "Video super-resolution with convolutional neural networks") showed that a CNN
upscales a video frame better when it also sees its neighbours, *after* motion compensation: each
neighbour is warped onto the centre frame's grid, and the aligned frames are stacked as channels and fused
by the very first convolution ("early fusion"). The frames then agree about where every edge is but not
about the fine detail, because each was sampled at a different sub-pixel offset of the scene: together
they hold detail that no single low-resolution frame has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import register
from synthlib.restoration.sr_net import SR_SCALES, _conv3_bn, _SRBlock


@register
class BurstSR(nn.Module):
    """K aligned low-resolution frames N x K x 3 x h x w -> N x 3 x (scale h) x (scale w).

    With C = ``base_channels`` and B = ``num_blocks``, the body is :class:`~synthlib.restoration.sr_net.SRResNet`'s
    without batch norm (EDSR's choice); only the first convolution differs, taking all K frames at once::

        concat frames as channels (3K) - conv 9x9 (C) - PReLU          -> x0   (VSRNet's early fusion)
        B x residual block [conv 3x3 - PReLU - conv 3x3, + input]
        conv 3x3, + x0                                                  (long skip)
        log2(scale) x [conv 3x3 (4C) - PixelShuffle(2) - PReLU]         (sub-pixel convolution)
        conv 9x9 (3), + bicubic upscaling of frame 0                   (learn only the residual)

    ``frames=1`` is a single-frame network with the same body: the fair baseline for what the extra
    frames bring. Frame 0 is the reference: the output is on its grid, and the other frames must
    have been aligned to it (:func:`synthlib.restoration.burst.align_burst`).
    """

    @dataclass
    class Config:
        frames: int = 4  # K, the burst length the network is built for
        scale: int = 4  # 2, 4 or 8
        base_channels: int = 64
        num_blocks: int = 16

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        check_min("frames", cfg.frames, 1, owner="BurstSR")
        check_choice("scale", cfg.scale, SR_SCALES)
        check_min("base_channels", cfg.base_channels, owner="BurstSR")
        check_min("num_blocks", cfg.num_blocks, 0, owner="BurstSR")
        c = cfg.base_channels
        self.head = nn.Sequential(nn.Conv2d(3 * cfg.frames, c, 9, padding=4), nn.PReLU(c))
        self.blocks = nn.Sequential(*[_SRBlock(c, False) for _ in range(cfg.num_blocks)])
        self.trunk_end = nn.Sequential(*_conv3_bn(c, False))
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c))
            for _ in range(int(math.log2(cfg.scale)))
        ])  # fmt: skip
        self.tail = nn.Conv2d(c, 3, 9, padding=4)
        with torch.no_grad():  # start near bicubic (small, not zero, so every layer gets a gradient)
            self.tail.weight.mul_(0.1)
            self.tail.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        k = self.config.frames
        if x.ndim != 5 or x.shape[2] != 3 or x.shape[3] < 1 or x.shape[4] < 1:
            raise ValueError(f"BurstSR expects bursts of shape (N, K, 3, h, w), got {tuple(x.shape)}")
        if x.shape[1] != k:
            raise ValueError(f"this BurstSR was built for K={k} frames, got bursts of {x.shape[1]}")
        n, _, _, h, w = x.shape
        f = self.head(x.reshape(n, 3 * k, h, w))  # early fusion: frames side by side as channels
        f = f + self.trunk_end(self.blocks(f))
        s = self.config.scale
        base = F.interpolate(x[:, 0], size=(s * h, s * w), mode="bicubic", align_corners=False)
        return self.tail(self.upsample(f)) + base
