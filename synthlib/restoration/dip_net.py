"""The deep image prior's encoder-decoder (Ulyanov, Vedaldi & Lempitsky, 2018) and its fixed noise input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import register

DIP_UPSAMPLES = ("bilinear", "nearest")


# ----------------------------------------------------------------------------------------------
# Deep image prior
# ----------------------------------------------------------------------------------------------


def dip_input(
    height: int, width: int, channels: int = 32, generator: torch.Generator | None = None
) -> Tensor:
    """The fixed input of the deep image prior: uniform noise in [0, 0.1), 1 x channels x H x W.

    Ulyanov et al. scale the noise by 1/10 so the input is close to constant and the early
    iterations fit the smooth content first. Without ``generator``, a fixed seed (0): the same
    input every call. The tensor lives on the generator's device.
    """
    for name, value in (("height", height), ("width", width), ("channels", channels)):
        check_min(name, value, owner="dip_input")
    g = generator or torch.Generator().manual_seed(0)
    return torch.rand(1, channels, height, width, generator=g, device=g.device) * 0.1


def _conv_bn_lrelu(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    # no bias: the batch norm's mean subtraction would cancel it
    return [
        nn.Conv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.LeakyReLU(0.2),
    ]


@register
class DIPNet(nn.Module):
    """The deep image prior's "skip" encoder-decoder: noise z (1 x in_channels x H x W) -> image.

    One level per entry of ``channels`` (c_i); level i, at H / 2**i::

        down_i  conv 3x3 stride 2 (c_i) - BN - LeakyReLU - conv 3x3 (c_i) - BN - LeakyReLU
        skip_i  conv 1x1 (skip_channels) - BN - LeakyReLU            (on level i's input)
        up_i    concat(skip_i, deeper upsampled x2) - BN - conv 3x3 (c_i) - BN - LeakyReLU
                - conv 1x1 (c_i) - BN - LeakyReLU
        output  conv 1x1 (3) - tanh                                  (synthlib images in [-1, 1])

    "deeper" is down_i's output at the last level, up_{i+1}'s output otherwise. The paper ends in
    a sigmoid for [0, 1] images; tanh is the same curve rescaled to [-1, 1]. ``skip_channels=0``
    drops the skips (their plain encoder-decoder). Zero padding, so that maps down to 1 px work.

    Batch norm as in the paper, which optimises on the single image (N = 1) in training mode: the
    statistics are then those of that image's feature maps. H and W must be divisible by
    2**len(channels), and in training mode the coarsest map must hold more than one value per
    channel (the batch norm needs two).
    """

    @dataclass
    class Config:
        in_channels: int = 32  # channels of the noise input (paper: 32)
        channels: tuple[int, ...] = (32, 64, 64, 128)  # one per level (paper's inpainting: 128 x 5)
        skip_channels: int = 4  # paper: 4 (0: no skips)
        upsample: str = "bilinear"  # "bilinear" or "nearest"

        def __post_init__(self) -> None:
            self.channels = tuple(self.channels)  # a list from JSON or a notebook works too

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        check_choice("upsample", cfg.upsample, DIP_UPSAMPLES)
        check_min("in_channels", cfg.in_channels, owner="DIPNet")
        check_min("skip_channels", cfg.skip_channels, 0, owner="DIPNet")
        if not cfg.channels or any(int(c) < 1 for c in cfg.channels):
            raise ValueError(
                f"DIPNet: parameter 'channels' needs one or more widths >= 1, got {cfg.channels}"
            )
        chans, s = [int(c) for c in cfg.channels], cfg.skip_channels
        inputs = [cfg.in_channels, *chans[:-1]]  # channels entering level i
        self.down = nn.ModuleList(
            nn.Sequential(*_conv_bn_lrelu(i, c, 3, 2), *_conv_bn_lrelu(c, c, 3))
            for i, c in zip(inputs, chans)
        )
        self.skip = nn.ModuleList(nn.Sequential(*_conv_bn_lrelu(i, s, 1)) for i in inputs) if s else None
        self.up = nn.ModuleList()
        for level, c in enumerate(chans):
            deeper = chans[level + 1] if level + 1 < len(chans) else c
            self.up.append(
                nn.Sequential(
                    nn.BatchNorm2d(s + deeper), *_conv_bn_lrelu(s + deeper, c, 3), *_conv_bn_lrelu(c, c, 1)
                )
            )
        self.out = nn.Conv2d(chans[0], 3, 1)

    def check_input(self, z: Tensor) -> None:
        cfg = self.config
        if z.ndim != 4 or z.shape[1] != cfg.in_channels:
            raise ValueError(
                f"DIPNet expects noise of shape (N, {cfg.in_channels}, H, W) (see dip_input), "
                f"got {tuple(z.shape)}"
            )
        levels = len(cfg.channels)
        step = 2**levels
        n, _, h, w = z.shape
        if h % step or w % step:
            raise ValueError(
                f"DIPNet: {levels} levels halve the input {levels} times, so H and W must be divisible "
                f"by 2**{levels} = {step}; got {h}x{w}. Pad the image to a multiple (pad_to_multiple) "
                "and crop the output back, or use fewer levels."
            )
        if self.training and n * (h // step) * (w // step) < 2:
            raise ValueError(
                f"DIPNet: a {h}x{w} input leaves a 1x1 map after {levels} levels, and batch norm in "
                f"training mode needs more than one value per channel; use H or W >= {2 * step}."
            )

    def forward(self, z: Tensor) -> Tensor:
        self.check_input(z)
        level_inputs = []
        h = z
        for down in self.down:
            level_inputs.append(h)
            h = down(h)
        for level in reversed(range(len(self.down))):
            h = F.interpolate(h, scale_factor=2.0, mode=self.config.upsample)
            if self.skip is not None:
                h = torch.cat([self.skip[level](level_inputs[level]), h], dim=1)
            h = self.up[level](h)
        return torch.tanh(self.out(h))
