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
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import register
from synthlib.restoration.sr_net import SR_SCALES, _conv3_bn, _SRBlock


@register
class BurstSR(nn.Module):
    """K frames aligned at high resolution, N x K x 3 x H x W -> N x 3 x H x W (H, W multiples of ``scale``).

    The input is what :func:`synthlib.restoration.burst.align_burst` gives with ``factor=scale``: each
    low-resolution frame upscaled (bicubic) and moved onto frame 0's grid there, as VSRNet's motion
    compensation did. VSRNet then ran its CNN on those large frames; here a pixel unshuffle (space to
    depth, the inverse of the sub-pixel convolution's PixelShuffle) folds every ``scale`` x ``scale``
    block into channels first, losing nothing, so the body works at low resolution as SRResNet's does.
    With C = ``base_channels`` and B = ``num_blocks``::

        concat the K frames, PixelUnshuffle(scale) (3K s^2 channels) - conv 3x3 (C) - PReLU  -> x0  (early fusion)
        B x residual block [conv 3x3 - PReLU - conv 3x3, + input]
        conv 3x3, + x0                                                  (long skip)
        log2(scale) x [conv 3x3 (4C) - PixelShuffle(2) - PReLU]         (sub-pixel convolution)
        conv 9x9 (3), + the mean of the K aligned frames                 (learn only the residual)

    The skip is the classical answer, "shift and add": the mean of the aligned frames, which averages
    the noise away (1/K of its variance); the network adds the detail that the frames' different
    sampling offsets reveal. A fresh network (last layer small) outputs about that mean. ``frames=1``
    is a single-frame network with the same body (its skip: bicubic of the frame), the fair baseline
    for what the extra frames bring.
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
        c, s = cfg.base_channels, cfg.scale
        self.head = nn.Sequential(nn.PixelUnshuffle(s), nn.Conv2d(3 * cfg.frames * s * s, c, 3, padding=1), nn.PReLU(c))
        self.blocks = nn.Sequential(*[_SRBlock(c, False) for _ in range(cfg.num_blocks)])
        self.trunk_end = nn.Sequential(*_conv3_bn(c, False))
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c))
            for _ in range(int(math.log2(s)))
        ])  # fmt: skip
        self.tail = nn.Conv2d(c, 3, 9, padding=4)
        with torch.no_grad():  # start near the mean of the frames (small, not zero: every layer gets a gradient)
            self.tail.weight.mul_(0.1)
            self.tail.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        k, s = self.config.frames, self.config.scale
        if x.ndim != 5 or x.shape[2] != 3 or x.shape[3] < s or x.shape[3] % s or x.shape[4] < s or x.shape[4] % s:
            raise ValueError(f"BurstSR expects aligned bursts of shape (N, K, 3, H, W), H and W multiples of {s}, "
                             f"got {tuple(x.shape)}")
        if x.shape[1] != k:
            raise ValueError(f"this BurstSR was built for K={k} frames, got bursts of {x.shape[1]}")
        n, _, _, h, w = x.shape
        f = self.head(x.reshape(n, 3 * k, h, w))  # early fusion: the frames side by side as channels
        f = f + self.trunk_end(self.blocks(f))
        return self.tail(self.upsample(f)) + x.mean(1)
