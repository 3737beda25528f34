"""The PatchGAN discriminator of pix2pix (Isola, Zhu, Zhou & Efros, 2017), also CycleGAN's.

Instead of one real/fake logit per image, a fully convolutional stack gives one logit per
*patch*: an N x 1 x h x w map whose every entry only sees a ``receptive_field(config)``-pixel
square of the input. The losses average over the map (any shape works in
:mod:`synthlib.gan.losses`). The idea (Li & Wand's Markovian GAN, 2016): an L1 loss already gets
the low frequencies right, so the adversarial loss only has to judge local texture and
sharpness, which a patch shows; a smaller D has fewer parameters, runs on any image size, and
sees every patch of an image as a separate example.

With ``num_layers = n`` (the reference code's ``n_layers``)::

    C(g) - C(2g) - ... - C(2**(n-1) g)    conv 4x4 stride 2 (norm from the second), LeakyReLU(0.2)
    C(2**n g)                             conv 4x4 stride 1, norm, LeakyReLU(0.2)
    conv 4x4 stride 1 -> 1 channel        the logits

n = 3 is the paper's 70x70 PatchGAN (Isola et al. compare 1x1, 16x16, 70x70 and 286x286 at
256x256). The patch size must be judged against the image; at 64x64:

    num_layers          1        2        3        4
    patch (receptive)   16x16    34x34    70x70    142x142
    logit map           30x30    14x14    6x6      2x2

70x70 patches already cover the whole 64x64 image (the 6x6 map is an ensemble of overlapping
image-level judgements, each partly over zero padding); the paper's texture-scale 70/256
corresponds to ``num_layers=1`` here (16/64). num_layers=5 (286x286) needs at least 96x96.

As a conditional discriminator (pix2pix), D(x, y) sees the input x and the output y
concatenated along the channels, so it judges whether y is a plausible translation *of x*;
CycleGAN's two discriminators are unconditional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from synthlib.core.config import check_choice
from synthlib.core.registry import register
from synthlib.nn.unet import NORMS, init_pix2pix_weights_, norm_layers

__all__ = ["PatchGANDiscriminator", "output_size", "receptive_field"]

KERNEL, PADDING = 4, 1  # every layer of the stack


def _conv_plan(config: PatchGANDiscriminator.Config) -> list[tuple[int, int, int, bool]]:
    """``(in_channels, out_channels, stride, normed)`` for each convolution, input to logits.

    The one description of the layer stack: the constructor builds it, and
    :func:`receptive_field` and :func:`output_size` compute from it.
    """
    n, g = config.num_layers, config.base_channels
    channels = [min(g * 2**i, config.max_channels) for i in range(n + 1)]
    plan = [(_in_channels(config), channels[0], 2, False)]  # no norm on the raw image
    plan += [(channels[i - 1], channels[i], 2, True) for i in range(1, n)]
    plan.append((channels[n - 1], channels[n], 1, True))
    plan.append((channels[n], 1, 1, False))  # to the logits: no norm, a bias
    return plan


def _in_channels(config: PatchGANDiscriminator.Config) -> int:
    if not config.conditional:
        return config.img_channels
    cond = config.img_channels if config.cond_channels is None else config.cond_channels
    return config.img_channels + cond


def receptive_field(config: PatchGANDiscriminator.Config) -> int:
    """Side of the input square that one output logit sees, from the layer stack.

    Walking back from one logit, a k x k convolution with stride s turns a region of r
    positions into (r - 1) * s + k positions of its input: r = 1 -> 4 -> 7 -> 16 -> 34 -> 70
    for ``num_layers=3``. Zero padding included: near the border part of it lies outside
    the image.
    """
    r = 1
    for _, _, stride, _ in reversed(_conv_plan(config)):
        r = (r - 1) * stride + KERNEL
    return r


def output_size(config: PatchGANDiscriminator.Config, size: int) -> int:
    """Side of the logit map for an input side of ``size``: floor((size + 2p - k) / s) + 1 per
    layer (halving with stride 2; one pixel less with stride 1). <= 0 means too small."""
    for _, _, stride, _ in _conv_plan(config):
        if size + 2 * PADDING < KERNEL:
            return 0
        size = (size + 2 * PADDING - KERNEL) // stride + 1
    return size


@register
class PatchGANDiscriminator(nn.Module):
    """image (N, img_channels, H, W) [+ cond (N, cond_channels, H, W)] -> logits (N, 1, h, w).

    One raw logit per patch (no sigmoid: the losses apply it). h = ``output_size(config, H)``,
    e.g. 6x6 at 64x64 with ``num_layers=3``; the input must be at least ``3 * 2**num_layers``
    pixels on each side, so that the map is not empty.
    """

    @dataclass
    class Config:
        img_channels: int = 3
        # False: D(y) (CycleGAN). True: D(x, y) on the condition x and the image y
        # concatenated along the channels (pix2pix).
        conditional: bool = False
        # Channels of the condition x when conditional; None = img_channels (photo -> photo).
        # E.g. 1 for edges -> photos.
        cond_channels: int | None = None
        base_channels: int = 64  # "ndf" in the pix2pix code
        num_layers: int = 3  # stride-2 layers; 3 = the 70x70 PatchGAN
        max_channels: int = 512  # channels double per layer up to this cap (512 in pix2pix)
        # "batch" as in pix2pix, "instance" as in CycleGAN (see unet.norm_layers); "none".
        norm: Literal["batch", "instance", "none"] = "batch"

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = cfg = config
        check_choice("norm", cfg.norm, NORMS)
        for name in ("img_channels", "base_channels", "num_layers"):
            if getattr(cfg, name) < 1:
                raise ValueError(f"parameter {name!r} must be >= 1, got {getattr(cfg, name)}")
        if cfg.max_channels < cfg.base_channels:
            raise ValueError(
                f"parameter 'max_channels' ({cfg.max_channels}) must be >= base_channels "
                f"({cfg.base_channels})"
            )
        if cfg.cond_channels is not None:
            if not cfg.conditional:
                raise ValueError(
                    "parameter 'cond_channels' is set but 'conditional' is False; "
                    "set conditional=True for a discriminator D(x, y) that sees a condition"
                )
            if cfg.cond_channels < 1:
                raise ValueError(f"parameter 'cond_channels' must be >= 1, got {cfg.cond_channels}")
        self.in_channels = _in_channels(cfg)

        *features, (last_in, _, last_stride, _) = _conv_plan(cfg)
        layers: list[nn.Module] = []
        for in_ch, out_ch, stride, normed in features:
            normed = normed and cfg.norm != "none"
            # No bias before a norm: its mean subtraction would cancel it.
            layers.append(nn.Conv2d(in_ch, out_ch, KERNEL, stride, PADDING, bias=not normed))
            if normed:
                layers += norm_layers(cfg.norm, out_ch)
            # LeakyReLU, as in DCGAN's D: a dead unit would also cut off G's gradient.
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(last_in, 1, KERNEL, last_stride, PADDING))  # the logits
        self.net = nn.Sequential(*layers)
        init_pix2pix_weights_(self)

    def forward(self, img: Tensor, cond: Tensor | None = None) -> Tensor:
        cfg = self.config
        if img.ndim != 4 or img.shape[1] != cfg.img_channels:
            raise ValueError(
                f"PatchGANDiscriminator: expected images of shape (N, {cfg.img_channels}, H, W), "
                f"got {tuple(img.shape)}"
            )
        if cfg.conditional:
            cond_channels = self.in_channels - cfg.img_channels
            if cond is None:
                raise ValueError(
                    "PatchGANDiscriminator is conditional and needs `cond`, the input image x "
                    f"of shape (N, {cond_channels}, H, W) that `img` is a translation of"
                )
            expected = (img.shape[0], cond_channels, *img.shape[2:])
            if tuple(cond.shape) != expected:
                raise ValueError(
                    f"PatchGANDiscriminator: expected cond of shape {expected} to match img "
                    f"{tuple(img.shape)} with {cond_channels} condition channels, "
                    f"got {tuple(cond.shape)}"
                )
            x = torch.cat([cond, img], dim=1)  # (N, cond_channels + img_channels, H, W)
        elif cond is not None:
            raise ValueError(
                "PatchGANDiscriminator is unconditional but got `cond`; "
                "build it with conditional=True for D(x, y)"
            )
        else:
            x = img
        height, width = x.shape[2:]
        if min(output_size(cfg, height), output_size(cfg, width)) < 1:
            smallest = min(s for s in range(1, 4 * 2**cfg.num_layers) if output_size(cfg, s) >= 1)
            raise ValueError(
                f"PatchGANDiscriminator: a {height}x{width} input is too small for "
                f"num_layers={cfg.num_layers}, which needs at least {smallest}x{smallest}"
            )
        return self.net(x)  # (N, 1, h, w): one logit per patch
