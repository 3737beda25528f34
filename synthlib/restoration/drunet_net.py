"""A small DRUNet (Zhang, Li, Zuo, Zhang, Van Gool & Timofte, 2021): a residual U-Net denoiser.

"Plug-and-play image restoration with deep denoiser prior". DnCNN sees the image at one scale only: a
17-layer stack sees 35 x 35 pixels and pays for every layer at full resolution. DRUNet keeps DnCNN's
residual blocks but arranges them as a U-Net: a few blocks at full resolution, a strided convolution
that halves the image and doubles the channels, more blocks there, and so on; then transposed
convolutions back up, each level's features *added* to the way back (no concatenation). Each halving
makes a level's 3 x 3 convolutions see twice as far for a quarter of the pixels, so a three-level net
of 32, 64 and 128 channels sees up to 91 pixels across for 62 % of our 17 x 48 DnCNN's multiply-adds per
pixel (194,000 against 314,000, measured with torch's FLOP counter; it has 1.0 M parameters against
0.3 M). No batch norm (the paper drops it; residual blocks train without it).

Like :class:`~synthlib.restoration.dncnn_net.DnCNN` it predicts the noise (:meth:`DenoiseUNet.noise`)
and returns ``y - noise``, so the same residual recipe (:func:`~synthlib.restoration.denoise.denoise_trainer`)
trains it and :func:`~synthlib.restoration.denoise.denoise_with` applies it. Any image size works: the
input is padded (reflected) to a multiple of ``2 ** (levels - 1)`` and the output cropped back.
The paper also feeds the noise level as an extra input channel, so that one network serves every level and is
*told* which: ``Config(noise_map=True)`` adds that channel (a constant plane of ``sigma`` in [-1, 1] units, see
:func:`~synthlib.restoration.classical.sigma_from_255`), and the network is then called as ``net(y, sigma)``. A
blind network (trained on a range of levels without the map) has to guess the level from the picture; the map lets
the caller choose how strongly it denoises, which plug-and-play uses to anneal from strong to gentle
(:mod:`synthlib.restoration.pnp`). Without the map (the default, and ``course:denoise``) the network takes no level.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_min
from synthlib.core.registry import register


class _ResBlock(nn.Module):
    """``x + conv(relu(conv(x)))``: DRUNet's block (no batch norm)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


@register
class DenoiseUNet(nn.Module):
    """N x 3 x H x W noisy images in [-1, 1] -> the denoised images, ``y - R(y)`` (see the module)."""

    @dataclass
    class Config:
        channels: int = 32  # the full-resolution level's width; each level below doubles it
        levels: int = 3  # resolutions: full, 1/2, 1/4 (the paper: 4 levels of 64..512)
        blocks: int = 2  # residual blocks per level on the way down, on the way up and at the bottom (paper: 4)
        image_channels: int = 3
        noise_map: bool = False  # the noise level as one more input channel (the paper's): net(y, sigma)

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        check_min("channels", cfg.channels, owner="DenoiseUNet")
        check_min("levels", cfg.levels, 1, owner="DenoiseUNet")
        check_min("blocks", cfg.blocks, 1, owner="DenoiseUNet")
        check_min("image_channels", cfg.image_channels, owner="DenoiseUNet")
        widths = [cfg.channels * 2**k for k in range(cfg.levels)]
        blocks = lambda c: nn.Sequential(*[_ResBlock(c) for _ in range(cfg.blocks)])  # noqa: E731
        self.head = nn.Conv2d(cfg.image_channels + int(cfg.noise_map), widths[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Sequential(blocks(c), nn.Conv2d(c, 2 * c, 2, stride=2)) for c in widths[:-1])
        self.bottom = blocks(widths[-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(2 * c, c, 2, stride=2) for c in widths[:-1])
        self.up_blocks = nn.ModuleList(blocks(c) for c in widths[:-1])
        self.tail = nn.Conv2d(widths[0], cfg.image_channels, 3, padding=1)
        self.tail.weight.data.mul_(0.1)  # a fresh network predicts little noise: it starts near the identity
        self.tail.bias.data.zero_()

    @property
    def receptive_field(self) -> int:
        """An upper bound on the width in pixels of the input window one output pixel sees (the exact width
        depends on where the pixel sits on the strided grid): each 3 x 3 convolution at level ``l`` widens it by
        ``2 * 2**l``, each 2 x 2 step down or up by ``2**l``."""
        c = self.config
        rf = 1 + 2 + 2  # head and tail
        for level in range(c.levels - 1):
            rf += 2 * (2 * c.blocks) * 2 * 2**level + 2 * 2**level  # blocks down and up; the step down and up
        return rf + (2 * c.blocks) * 2 * 2 ** (c.levels - 1)

    @property
    def multiple(self) -> int:
        """Inputs are padded to a multiple of this many pixels."""
        return 2 ** (self.config.levels - 1)

    def _with_level(self, y: Tensor, sigma: float | Tensor | None) -> Tensor:
        """``y`` with the noise-level plane appended (``noise_map``), or ``y`` itself (no map, no ``sigma``)."""
        if not self.config.noise_map:
            if sigma is not None:
                raise ValueError("this DenoiseUNet takes no noise level (it was built with noise_map=False and "
                                 "trained at its own levels): call it without sigma")
            return y
        if sigma is None:
            raise ValueError("this DenoiseUNet takes the noise level as an input (noise_map=True): call it as "
                             "net(y, sigma), sigma in [-1, 1] units (sigma_from_255(25) for 25 on the 0..255 scale)")
        level = torch.as_tensor(sigma, dtype=y.dtype, device=y.device).reshape(-1, 1, 1, 1)
        if level.shape[0] not in (1, y.shape[0]):
            raise ValueError(f"sigma must be one number or one per image ({y.shape[0]}), got {level.shape[0]} values")
        return torch.cat([y, level.expand(y.shape[0], 1, *y.shape[-2:])], dim=1)

    def noise(self, y: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        """The predicted noise ``R(y)`` of noisy images ``y`` (N x C x H x W, any H and W); ``sigma`` (one number,
        or one per image, in [-1, 1] units) only for a network with ``noise_map``."""
        if y.ndim != 4 or y.shape[1] != self.config.image_channels:
            raise ValueError(f"DenoiseUNet expects images of shape (N, {self.config.image_channels}, H, W), "
                             f"got {tuple(y.shape)}")
        h, w = y.shape[-2:]
        m = self.multiple
        ph, pw = -h % m, -w % m
        x = self._with_level(y, sigma)
        x = F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate") if ph or pw else x
        x = self.head(x)
        skips = []
        for down in self.down:
            skips.append(x)
            x = down(x)
        x = self.bottom(x)
        for up, blocks, skip in zip(reversed(self.up), reversed(self.up_blocks), reversed(skips)):
            x = blocks(up(x) + skip)
        return self.tail(x)[..., :h, :w]

    def forward(self, y: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        return y - self.noise(y, sigma)


def takes_noise_level(net: nn.Module) -> bool:
    """Whether a denoiser is told the noise level (``net(y, sigma)``: a :class:`DenoiseUNet` with ``noise_map``); DnCNN and a
    DenoiseUNet without the map are not."""
    return bool(getattr(getattr(net, "config", None), "noise_map", False))
