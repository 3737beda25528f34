"""The two feed-forward style-transfer networks of Chapter 4.

:class:`TransformerNet` -- Johnson, Alahi & Fei-Fei (2016), "Perceptual losses for real-time style
transfer": one network per style, trained to map any photo to that style in one pass::

    c9s1-g  d2g  d4g  R4g x num_res  u2g  u1g  c9s1-3         (g = base_channels, paper g = 32)

``c9s1-k`` a 9x9 convolution with stride 1, ``dk`` a 3x3 convolution with stride 2, ``Rk`` a residual
block of two 3x3 convolutions, ``uk`` a nearest-neighbour 2x upsampling followed by a 3x3
convolution. Three choices of later work are built in: instance normalisation instead of batch
normalisation (Ulyanov, Vedaldi & Lempitsky, 2016: the contrast of one image should not depend on
the others in its batch), reflection padding (no dark frame), and *resize-convolution* instead of
transposed convolution (Odena, Dumoulin & Olah, 2016: transposed convolutions with stride 2 overlap
unevenly and paint a checkerboard).

:class:`AdaINDecoder` -- Huang & Belongie (2017), "Arbitrary style transfer in real time with
adaptive instance normalization": the encoder is the frozen VGG16 up to ``layer`` (``relu4_1`` in
the paper, ``relu2_1`` for the chapter's CPU budget, ``relu3_1`` for the course weights); this decoder
mirrors it back to pixels (reflection-padded
3x3 convolutions, nearest upsampling, no normalisation). It is the only trained part.

Both take and return synthlib images (float, [-1, 1], N x 3 x H x W); outputs are not squashed,
so callers clamp for display (:func:`~synthlib.style.feedforward.fast_transfer` and
:func:`~synthlib.style.feedforward.adain_transfer` do).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice
from synthlib.core.registry import register

__all__ = ["AdaINDecoder", "TransformerNet", "ADAIN_LAYERS"]


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Reflection padding + convolution: the border is continued, not darkened by zeros."""
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(in_ch, out_ch, kernel, stride))


class _ResidualBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(ch, ch, 3), nn.InstanceNorm2d(ch, affine=True), nn.ReLU(inplace=True),
            _conv(ch, ch, 3), nn.InstanceNorm2d(ch, affine=True),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class _Up(nn.Module):
    """Resize-convolution: nearest 2x upsampling, then a 3x3 convolution (no checkerboard)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = _conv(in_ch, out_ch, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


@register
class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network (one style per network), any input size.

    Two stride-2 convolutions make the network see a 4x coarser grid; inputs whose sides are not
    multiples of 4 (or are under 16 px) are padded up to one and the output is cropped back, so the
    output always has the input's size.
    """

    @dataclass
    class Config:
        base_channels: int = 32  # paper: 32 (then 64, 128 after the two downsamplings)
        num_res: int = 5  # paper: 5 residual blocks
        # True: output = input + network(input), with the last layer zero-initialised, so training starts
        # from the photo itself and only learns what the style changes (learns in far fewer steps; not
        # in the paper, whose network draws the whole output).
        residual: bool = False

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        if cfg.base_channels < 1 or cfg.num_res < 0:
            raise ValueError(f"TransformerNet needs base_channels >= 1 and num_res >= 0, got {cfg}")
        g = cfg.base_channels

        def cnr(i: int, o: int, k: int, s: int = 1) -> list[nn.Module]:
            return [_conv(i, o, k, s), nn.InstanceNorm2d(o, affine=True), nn.ReLU(inplace=True)]

        self.net = nn.Sequential(
            *cnr(3, g, 9), *cnr(g, 2 * g, 3, 2), *cnr(2 * g, 4 * g, 3, 2),
            *[_ResidualBlock(4 * g) for _ in range(cfg.num_res)],
            _Up(4 * g, 2 * g), nn.InstanceNorm2d(2 * g, affine=True), nn.ReLU(inplace=True),
            _Up(2 * g, g), nn.InstanceNorm2d(g, affine=True), nn.ReLU(inplace=True),
            _conv(g, 3, 9),
        )  # fmt: skip
        if cfg.residual:
            last = self.net[-1][1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"TransformerNet expects RGB images N x 3 x H x W, got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        # pad to multiples of 4, and to at least 16 px so the 9x9 and bottleneck paddings have room
        ph, pw = max(16, h + (-h) % 4) - h, max(16, w + (-w) % 4) - w
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        y = self.net(x)
        if self.config.residual:
            y = y + x
        return y[..., :h, :w]


# AdaIN layer -> (channels there, number of 2x poolings before it, the decoder's stages).
# Each stage: (number of 3x3 convs at this resolution, their output width); stages end in an upsampling
# except the last. The mirror of VGG16 (Huang & Belongie used VGG19, whose block 4 holds 4 convs).
ADAIN_LAYERS: dict[str, tuple[int, list[tuple[int, int]]]] = {
    "relu2_1": (128, [(1, 64), (2, 64)]),
    "relu3_1": (256, [(1, 128), (2, 128), (2, 64)]),  # 256 -> 128 ^ 128,64 ^ 64,64 -> rgb
    "relu4_1": (512, [(1, 256), (3, 256), (2, 128), (2, 64)]),
}


@register
class AdaINDecoder(nn.Module):
    """Decoder from VGG16 features at ``layer`` back to an RGB image (Huang & Belongie's, for VGG16).

    ``width`` scales every hidden width (1.0 = the mirror of VGG16). Output size = feature size
    times 2**(number of poolings before ``layer``).
    """

    @dataclass
    class Config:
        layer: str = "relu4_1"
        width: float = 1.0

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        check_choice("layer", cfg.layer, ADAIN_LAYERS)
        if cfg.width <= 0:
            raise ValueError(f"AdaINDecoder.Config.width must be > 0, got {cfg.width}")
        in_ch, stages = ADAIN_LAYERS[cfg.layer]
        layers: list[nn.Module] = []
        ch = in_ch
        for i, (n_conv, out) in enumerate(stages):
            out = max(8, round(out * cfg.width))
            for _ in range(n_conv):
                layers += [_conv(ch, out, 3), nn.ReLU(inplace=True)]
                ch = out
            if i < len(stages) - 1:
                layers.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
        layers.append(_conv(ch, 3, 3))
        self.net = nn.Sequential(*layers)
        self.in_channels = in_ch
        self.factor = 2 ** (len(stages) - 1)

    def forward(self, features: Tensor) -> Tensor:
        if features.ndim != 4 or features.shape[1] != self.in_channels:
            raise ValueError(
                f"AdaINDecoder({self.config.layer}) expects N x {self.in_channels} x h x w VGG features, "
                f"got shape {tuple(features.shape)}"
            )
        return self.net(features)
