"""The U-Net generator of pix2pix (Isola, Zhu, Zhou & Efros, 2017), and the layers that the
image-to-image networks share.

An encoder-decoder with skip connections (Ronneberger, Fischer & Brox, 2015). In image-to-image
translation input and output share their structure -- the edges of a sketch are the edges of
the photo -- so every encoder level hands its features straight to the decoder level of the same
resolution by concatenation; the bottleneck only has to carry what changes globally. Without the
skips all the detail would have to squeeze through a 1x1 map, and Isola et al.'s plain
encoder-decoder gives visibly blurrier results.

Layer by layer (pix2pix, Sec. 6.1.1), with g = ``base_channels`` and channels doubled per level up
to ``max_channels``::

    encoder  C(g) - C(2g) - C(4g) - C(8g) - ...     conv 4x4 stride 2, LeakyReLU(0.2)
    decoder  CD - CD - CD - C - ... - C(out), Tanh  conv-transpose 4x4 stride 2, ReLU

Each encoder level halves H and W, so ``num_downs`` levels need H and W divisible by
``2**num_downs``; 6 levels take a 64x64 image down to 1x1 (the reference code's "unet_256" uses 8
on 256x256). "D" marks dropout, the generator's only source of randomness (below).

The shared pieces used by :mod:`synthlib.translation.resnet` and :mod:`synthlib.nn.patchgan`
live here too: :func:`norm_layers` (the ``norm`` option of all three) and
:func:`init_pix2pix_weights_`.

Pixel convention: images are float32 in [-1, 1], N x C x H x W.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import register

__all__ = ["DropoutAtEval", "UNetGenerator", "init_pix2pix_weights_", "max_num_downs", "norm_layers"]

NORMS = ("batch", "instance", "none")
UPSAMPLES = ("transposed", "resize")


def norm_layers(norm: str, channels: int) -> list[nn.Module]:
    """The normalisation after a convolution: ``[]`` for ``"none"``, else one layer in a list.

    ``"instance"`` (Ulyanov, Vedaldi & Lempitsky, 2016) normalises each image's channels by
    their own mean and standard deviation, in training and evaluation alike (no running
    statistics: they would describe the training set, not the image at hand).

    We use ``affine=True``, unlike the pix2pix/CycleGAN code (``affine=False``). Without the
    learned scale and shift every channel that reaches the next ReLU is zero-mean with unit
    variance in every image, so about half of it is always switched off and the network cannot
    choose a per-channel threshold or gain; the affine pair gives that freedom back, as in
    batch norm (Ioffe & Szegedy, 2015). It costs 2 parameters per channel and replaces the
    convolution's bias, which the mean subtraction would cancel anyway (the reference code keeps
    those dead biases). Parameter counts therefore differ from the reference for ``"instance"``
    and equal its ``"batch"`` counts.
    """
    check_choice("norm", norm, NORMS)
    if norm == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "instance":
        return [nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)]
    return []


def init_pix2pix_weights_(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """The pix2pix/CycleGAN initialisation, in place: conv/linear weights ~ N(0, gain**2),
    biases 0, batch/instance-norm scales ~ N(1, gain**2) and shifts 0. Returns ``module``.

    The same scheme as DCGAN's (Radford et al., 2016), which pix2pix inherited; ``gain`` is the
    reference code's ``init_gain``. A spectrally normalised layer is initialised through its raw
    weight (``parametrizations.weight.original``).
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if parametrize.is_parametrized(m, "weight"):
                    nn.init.normal_(m.parametrizations.weight.original, 0.0, gain)
                else:
                    nn.init.normal_(m.weight, 0.0, gain)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.affine:
                nn.init.normal_(m.weight, 1.0, gain)
                nn.init.zeros_(m.bias)
    return module


class DropoutAtEval(nn.Dropout):
    """Dropout that, with ``at_eval=True``, keeps dropping in evaluation mode too.

    pix2pix gives its generator no noise vector z: Isola et al. found that G learned to ignore
    it. The only randomness is dropout, "applied on several layers of our generator at both
    training and test time" (Sec. 3.1); switching it off at test time would make G deterministic
    and change the statistics the next layers were trained on.
    """

    def __init__(self, p: float, at_eval: bool) -> None:
        super().__init__(p)
        self.at_eval = at_eval

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training or self.at_eval, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, at_eval={self.at_eval}"


def max_num_downs(height: int, width: int) -> int:
    """The deepest U-Net an H x W input allows: how often both sizes can be halved exactly."""
    if height < 1 or width < 1:
        return 0
    k = 0
    while height % 2 ** (k + 1) == 0 and width % 2 ** (k + 1) == 0:
        k += 1
    return k


@register
class UNetGenerator(nn.Module):
    """image (N, in_channels, H, W) -> image (N, out_channels, H, W) in [-1, 1].

    H and W must be multiples of ``2**num_downs`` (a ValueError says which sizes work); the
    network is otherwise size-agnostic, so one trained at 64x64 runs on 128x64 too.

    Normalisation follows the reference code: none on the first encoder layer (normalising the
    raw image would discard its absolute intensities and colours, as in DCGAN's discriminator)
    and none on the innermost layer. At full depth that layer outputs a 1x1 map, and batch
    norm over a batch of one 1x1 map (pix2pix trains with batch size 1) computes its mean
    from the single value it normalises: the output is the constant shift beta whatever the
    image, and the bottleneck carries nothing (PyTorch refuses outright; instance norm on 1x1
    is zero for the same reason). The innermost layer stays unnormalised at every depth, so
    depth changes only how many levels there are.
    """

    @dataclass
    class Config:
        in_channels: int = 3
        out_channels: int = 3
        base_channels: int = 64  # "ngf" in the pix2pix code: channels of the first level
        # Encoder levels, each halving H and W; 6 takes 64x64 down to a 1x1 bottleneck.
        num_downs: int = 6
        # Channels double per level up to this cap. pix2pix caps at 8 * base_channels (512 for
        # its 64); with base_channels=32, 256 keeps that ratio (and 7.3M instead of 16.8M weights).
        max_channels: int = 512
        # "batch" as in pix2pix (with its batch size 1 that is per-image normalisation in
        # training); "instance": see norm_layers; "none": convolutions get biases instead.
        norm: Literal["batch", "instance", "none"] = "batch"
        # Dropout probability in the decoder's first `num_dropout_layers` layers, counted
        # from the bottleneck (the paper's CD512-CD1024-CD1024; the reference code skips the
        # innermost layer and drops in the next three). 0 disables it. The Tanh output layer
        # never gets dropout, so shallow nets use at most num_downs - 1 dropout layers.
        dropout: float = 0.5
        num_dropout_layers: int = 3
        # True: dropout stays active after .eval(), as pix2pix runs it at test time (its noise
        # source; see DropoutAtEval). False: the usual deterministic evaluation.
        # Batch-norm statistics are a separate matter: .eval() uses running statistics,
        # whereas pix2pix's test script normalises with the test batch's own.
        dropout_at_eval: bool = True
        # "transposed": 4x4 stride-2 transposed convs (pix2pix). "resize": nearest 2x upsample
        # + 3x3 conv, free of checkerboard artifacts (Odena, Dumoulin & Olah, 2016).
        upsample: Literal["transposed", "resize"] = "transposed"

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = cfg = config
        check_choice("norm", cfg.norm, NORMS)
        check_choice("upsample", cfg.upsample, UPSAMPLES)
        for name in ("in_channels", "out_channels", "base_channels", "num_downs"):
            check_min(name, getattr(cfg, name))
        check_min("max_channels", cfg.max_channels, cfg.base_channels)
        check_min("num_dropout_layers", cfg.num_dropout_layers, 0)
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"parameter 'dropout' must be in [0, 1), got {cfg.dropout}")

        depth = cfg.num_downs
        # channels[i]: channels of encoder level i's output (i = 1..depth); channels[0]: input
        channels = [cfg.in_channels] + [
            min(cfg.base_channels * 2**i, cfg.max_channels) for i in range(depth)
        ]
        with_norm = cfg.norm != "none"
        num_dropout = min(cfg.num_dropout_layers, depth - 1) if cfg.dropout > 0 else 0

        # Encoder, down[i - 1] is level i: [LeakyReLU] - conv 4x4 s2 - [norm]. The activation
        # opens the next level instead of closing this one, so the skip carries the
        # pre-activation features; the decoder's ReLU on the concatenation gives the same
        # result either way, since ReLU(LeakyReLU(h)) = ReLU(h). Not in place: that input is
        # also held for the skip connection.
        down: list[nn.Module] = []
        for i in range(1, depth + 1):
            normed = with_norm and 1 < i < depth  # not the first, not the innermost level
            layers: list[nn.Module] = [] if i == 1 else [nn.LeakyReLU(0.2)]
            # No bias before a norm: its mean subtraction would cancel it.
            layers.append(nn.Conv2d(channels[i - 1], channels[i], 4, 2, 1, bias=not normed))
            if normed:
                layers += norm_layers(cfg.norm, channels[i])
            down.append(nn.Sequential(*layers))
        self.down = nn.ModuleList(down)

        # Decoder, up[i - 1] is level i: ReLU - 2x up-conv - norm [- dropout], or, at level 1,
        # ReLU - up-conv - Tanh. Every level except the innermost sees its own output
        # concatenated with encoder level i's, hence twice the input channels.
        up: list[nn.Module] = []
        for i in range(1, depth + 1):
            in_ch = channels[i] if i == depth else 2 * channels[i]
            if i == 1:  # output layer: no norm (it would fix the image statistics), a bias
                layers = [nn.ReLU(inplace=True), self._up(in_ch, cfg.out_channels, bias=True), nn.Tanh()]
            else:
                layers = [nn.ReLU(inplace=True), self._up(in_ch, channels[i - 1], bias=not with_norm)]
                layers += norm_layers(cfg.norm, channels[i - 1])
                if depth - i < num_dropout:  # the num_dropout levels nearest the bottleneck
                    layers.append(DropoutAtEval(cfg.dropout, cfg.dropout_at_eval))
            up.append(nn.Sequential(*layers))
        self.up = nn.ModuleList(up)
        init_pix2pix_weights_(self)

    def _up(self, in_channels: int, out_channels: int, bias: bool) -> nn.Module:
        """A 2x up-sampling convolution."""
        if self.config.upsample == "transposed":
            # kernel 4, stride 2, padding 1 exactly doubles H and W; each output pixel of a 2x2
            # cell uses a different quarter of the kernel, which can leave a period-2 pattern.
            return nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=bias)
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=bias),
        )

    def check_input(self, x: Tensor) -> None:
        """Raise a ValueError that says what is wrong with ``x`` and which sizes would work."""
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != cfg.in_channels:
            raise ValueError(
                f"UNetGenerator: expected images of shape (N, {cfg.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        height, width = x.shape[2:]
        step = 2**cfg.num_downs
        if height % step or width % step:
            fits = max_num_downs(height, width)
            hint = (
                f"for {height}x{width} use num_downs <= {fits}"
                if fits
                else "an odd size cannot be halved at all: pad or crop the image"
            )
            raise ValueError(
                f"UNetGenerator: num_downs={cfg.num_downs} halves the image {cfg.num_downs} "
                f"times, so H and W must be multiples of 2**{cfg.num_downs} = {step} "
                f"(e.g. {step}, {2 * step}, {4 * step}); got {height}x{width}: {hint}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        skips = []
        h = x
        for down in self.down:  # level i: (N, channels[i], H / 2**i, W / 2**i)
            h = down(h)
            skips.append(h)
        h = self.up[-1](skips.pop())  # innermost: the bottleneck alone, no skip to join
        for up in reversed(self.up[:-1]):
            h = up(torch.cat([skips.pop(), h], dim=1))  # (N, 2 * channels[i], ...) in
        return h  # (N, out_channels, H, W) in [-1, 1]
