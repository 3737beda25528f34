"""The ResNet generator of CycleGAN (Zhu, Park, Isola & Efros, 2017), after Johnson, Alahi &
Fei-Fei's style-transfer network (2016).

Where pix2pix's U-Net passes detail around its bottleneck through skip connections, this
network never goes below a quarter of the input resolution: two stride-2 convolutions, a stack
of residual blocks that transform the features at H/4 x W/4, and two 2x up-samplings back. In
CycleGAN's notation (Appendix 7.2), for 9 blocks::

    c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3

``c7s1-k``: 7x7 convolution, stride 1, k filters, norm, ReLU (the last one: Tanh instead);
``dk``: 3x3 convolution, stride 2; ``Rk``: residual block of two 3x3 convolutions;
``uk``: 2x up-sampling convolution. CycleGAN uses 6 blocks at 128x128 and 9 at 256x256; the
default here is 6 at 64x64, where each output pixel already sees a region (about 120 pixels
across, mostly from the twelve 3x3 convolutions at quarter resolution) wider than the image.

Reflection padding instead of zero padding before the 7x7 and residual convolutions "was used to
reduce artifacts" (CycleGAN, App. 7.2): a zero border is an edge the network can see, and what it
learns from it shows up along the borders of the translated images.

Pixel convention: images are float32 in [-1, 1], N x C x H x W.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from synthlib.core.config import check_choice
from synthlib.core.registry import register
from synthlib.nn.unet import NORMS, UPSAMPLES, init_pix2pix_weights_, norm_layers

__all__ = ["ResnetBlock", "ResnetGenerator"]


class ResnetBlock(nn.Module):
    """x + F(x), F = pad - conv 3x3 - norm - ReLU - pad - conv 3x3 - norm (He et al., 2016).

    No ReLU after the addition, as in CycleGAN and following Gross & Wilber (2016), who found
    it trains better: the identity path then passes features, and gradients, through unchanged.
    """

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        bias = norm == "none"  # a norm's mean subtraction would cancel a bias
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            *norm_layers(norm, channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            *norm_layers(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


@register
class ResnetGenerator(nn.Module):
    """image (N, in_channels, H, W) -> image (N, out_channels, H, W) in [-1, 1].

    H and W must be multiples of 4 (two exact halvings and doublings) and at least 8 (the
    residual blocks reflect-pad a map of H/4 by 1, which needs 2 pixels).
    """

    @dataclass
    class Config:
        in_channels: int = 3
        out_channels: int = 3
        base_channels: int = 64  # "ngf": channels after the first layer; 4x that in the blocks
        num_blocks: int = 6  # CycleGAN: 6 at 128x128, 9 at 256x256
        # "instance" as in CycleGAN (and Johnson et al.'s fast style transfer, after Ulyanov
        # et al.): a translation should not depend on which other images share the batch.
        norm: Literal["batch", "instance", "none"] = "instance"
        # "transposed": 3x3 stride-2 transposed convs (CycleGAN). Their kernel size is not a
        # multiple of the stride, so output pixels get 1 or 2 kernel taps per axis: the
        # uneven-overlap checkerboard of Odena, Dumoulin & Olah (2016). "resize": nearest 2x
        # upsample + reflection pad + 3x3 conv, which treats every output pixel alike.
        upsample: Literal["transposed", "resize"] = "transposed"

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = cfg = config
        check_choice("norm", cfg.norm, NORMS)
        check_choice("upsample", cfg.upsample, UPSAMPLES)
        for name in ("in_channels", "out_channels", "base_channels"):
            if getattr(cfg, name) < 1:
                raise ValueError(f"parameter {name!r} must be >= 1, got {getattr(cfg, name)}")
        if cfg.num_blocks < 0:
            raise ValueError(f"parameter 'num_blocks' must be >= 0, got {cfg.num_blocks}")
        g, bias = cfg.base_channels, cfg.norm == "none"

        self.stem = nn.Sequential(  # c7s1-g
            nn.ReflectionPad2d(3),
            nn.Conv2d(cfg.in_channels, g, 7, bias=bias),
            *norm_layers(cfg.norm, g),
            nn.ReLU(inplace=True),
        )
        down: list[nn.Module] = []
        for mult in (1, 2):  # d2g, d4g
            down += [
                nn.Conv2d(g * mult, g * mult * 2, 3, 2, 1, bias=bias),
                *norm_layers(cfg.norm, g * mult * 2),
                nn.ReLU(inplace=True),
            ]
        self.down = nn.Sequential(*down)
        self.blocks = nn.Sequential(*(ResnetBlock(4 * g, cfg.norm) for _ in range(cfg.num_blocks)))
        up: list[nn.Module] = []
        for mult in (4, 2):  # u2g, ug
            up += [
                self._up(g * mult, g * mult // 2, bias),
                *norm_layers(cfg.norm, g * mult // 2),
                nn.ReLU(inplace=True),
            ]
        self.up = nn.Sequential(*up)
        self.to_img = nn.Sequential(  # c7s1-out: no norm on the output, a bias, Tanh to [-1, 1]
            nn.ReflectionPad2d(3),
            nn.Conv2d(g, cfg.out_channels, 7),
            nn.Tanh(),
        )
        init_pix2pix_weights_(self)

    def _up(self, in_channels: int, out_channels: int, bias: bool) -> nn.Module:
        if self.config.upsample == "transposed":
            # output_padding=1 makes the output exactly twice the input size
            return nn.ConvTranspose2d(in_channels, out_channels, 3, 2, 1, output_padding=1, bias=bias)
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ReflectionPad2d(1),
            nn.Conv2d(in_channels, out_channels, 3, bias=bias),
        )

    def check_input(self, x: Tensor) -> None:
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != cfg.in_channels:
            raise ValueError(
                f"ResnetGenerator: expected images of shape (N, {cfg.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        height, width = x.shape[2:]
        if height % 4 or width % 4 or min(height, width) < 8:
            raise ValueError(
                "ResnetGenerator: H and W must be multiples of 4 (two 2x down-samplings and two "
                f"up-samplings) and at least 8, e.g. 32, 64, 128, 256; got {height}x{width}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        h = self.down(self.stem(x))  # (N, 4g, H/4, W/4)
        h = self.up(self.blocks(h))  # (N, g, H, W)
        return self.to_img(h)  # (N, out_channels, H, W) in [-1, 1]
