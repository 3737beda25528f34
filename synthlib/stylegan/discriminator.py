"""StyleGAN2's residual discriminator with the minibatch standard-deviation layer (Karras et al., 2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from synthlib.core.config import check_min
from synthlib.core.registry import check_images, register
from synthlib.stylegan.generator import _channels, _check_common
from synthlib.stylegan.ops import SQRT2, EqualConv2d, EqualLinear

# --- discriminator -----------------------------------------------------------------------------


class MinibatchStdDev(nn.Module):
    """Append one channel: how much the images of a group differ from each other.

    The batch is split into groups of ``G = min(group_size, N)`` images (the largest divisor of
    N not above that, if N is not a multiple). For each group: the standard deviation of every
    feature (channel, pixel) over the G images, ``sqrt(var + 1e-8)``, averaged over C, H, W to
    one number, which fills the new channel for the images of that group. A generator that
    collapses to a few outputs gives small values here, which D can learn to spot.
    Identical images give sqrt(1e-8) = 1e-4 (the eps keeps the gradient of sqrt finite).
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        check_min("group_size", group_size, 1, owner="MinibatchStdDev")
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        while n % g:
            g -= 1
        m = n // g
        y = x.reshape(g, m, c, h, w)  # image i = j * m + k is member j of group k
        std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (M, C, H, W)
        stat = std.mean(dim=(1, 2, 3))  # (M,)
        stat = stat.repeat(g).reshape(n, 1, 1, 1).expand(n, 1, h, w)  # image i gets stat[i % m]
        return torch.cat([x, stat.to(x.dtype)], dim=1)


class DiscriminatorBlock(nn.Module):
    """Residual block: ``(skip(x) + conv1_down(conv0(x))) / sqrt(2)``, halving the resolution.

    Main path: 3x3 conv + lrelu, then blur + stride-2 3x3 conv + lrelu. Skip: blur + stride-2
    1x1 conv, no bias. The 1 / sqrt(2) keeps the variance of the sum of two ~unit paths at ~1.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3, activation=True)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, activation=True, down=True)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, down=True)

    def forward(self, x: Tensor) -> Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) / SQRT2


@register
class StyleGANDiscriminator(nn.Module):
    """image (N, img_channels, img_size, img_size) -> raw logits (N,), as DCGANDiscriminator.

    fromRGB (1x1 conv) at full resolution, one :class:`DiscriminatorBlock` per halving down to
    4x4, then the epilogue: :class:`MinibatchStdDev`, a 3x3 conv, flatten, a fully connected
    layer with lrelu and a final one to a single logit. Channels follow the generator's rule,
    ``min(max_channels, base_channels * img_size / res)``. Unbounded logits: the losses apply
    the sigmoid/softplus.
    """

    @dataclass
    class Config:
        img_size: int = 32  # a power of two, 8 to 1024
        img_channels: int = 1
        base_channels: int = 32
        max_channels: int = 256
        mbstd_group: int = 4  # group size of the minibatch standard deviation

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = cfg = config
        _check_common(
            "StyleGANDiscriminator", cfg.img_size, cfg.img_channels, cfg.base_channels, cfg.max_channels
        )
        check_min("mbstd_group", cfg.mbstd_group, 1, owner="StyleGANDiscriminator")

        def ch(res: int) -> int:
            return _channels(cfg.base_channels, cfg.max_channels, cfg.img_size, res)

        log2 = int(math.log2(cfg.img_size))
        self.from_rgb = EqualConv2d(cfg.img_channels, ch(cfg.img_size), 1, activation=True)
        self.blocks = nn.Sequential(
            *(DiscriminatorBlock(ch(2**i), ch(2 ** (i - 1))) for i in range(log2, 2, -1))
        )
        self.mbstd = MinibatchStdDev(cfg.mbstd_group)
        self.conv = EqualConv2d(ch(4) + 1, ch(4), 3, activation=True)
        self.fc = EqualLinear(ch(4) * 4 * 4, ch(4), activation=True)
        self.out = EqualLinear(ch(4), 1)

    def forward(self, img: Tensor, labels: Tensor | None = None) -> Tensor:
        cfg = self.config
        check_images(img, cfg.img_channels, cfg.img_size, "StyleGANDiscriminator",
                     "resize the data or build D with matching img_size / img_channels")
        if labels is not None:
            raise ValueError("StyleGANDiscriminator is unconditional but got `labels`; call it as D(img)")
        x = self.blocks(self.from_rgb(img))  # (N, C4, 4, 4)
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1))).reshape(img.shape[0])  # (N,)
