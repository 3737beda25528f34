"""DCGAN: the deep convolutional GAN of Radford, Metz & Chintala (2016).

The recipe that first made GANs train reliably on images:

* no pooling and no fully connected hidden layers -- strided convolutions learn their own
  down-sampling (D) and transposed convolutions their own up-sampling (G);
* BatchNorm in both networks, except at G's output and D's input;
* ReLU in G with a Tanh output, LeakyReLU(0.2) in D;
* every weight drawn from N(0, 0.02) (:func:`init_dcgan_weights_`).

With the defaults (64x64, ``z_dim=100``, 64 base channels) and ``img_channels=3`` both networks
are layer for layer those of ``pytorch/examples/dcgan``: 3,576,704 parameters in G and 2,765,568
in D, so speed comparisons with it compare the same network.

Three extensions, all off by default:

* class conditioning (``num_classes > 0``): every BatchNorm of G becomes a conditional batch
  norm whose scale and shift are learned per class (label embeddings, as in SNGAN and BigGAN);
  D adds a projection term (Miyato & Koyama, 2018);
* ``upsample="resize"`` in G: nearest-neighbour 2x up-sampling followed by a 3x3 convolution
  instead of a stride-2 transposed convolution, which removes checkerboard artifacts
  (Odena, Dumoulin & Olah, 2016);
* ``norm="spectral"`` in D: spectral normalisation (Miyato et al., 2018) instead of BatchNorm.

Pixel convention: images are float32 in [-1, 1], N x C x H x W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from synthlib.core.config import check_choice
from synthlib.core.registry import check_images, register

__all__ = ["ConditionalBatchNorm2d", "DCGANDiscriminator", "DCGANGenerator", "init_dcgan_weights_"]

IMG_SIZES = (28, 32, 64)


def _resolution_plan(img_size: int) -> tuple[int, int]:
    """``(start, num_stages)``: the smallest feature map and how many 2x steps lead to ``img_size``.

    64 = 4 * 2**4 and 32 = 4 * 2**3 start from 4x4; 28 = 7 * 2**2 (MNIST) starts from 7x7.
    """
    check_choice("img_size", img_size, IMG_SIZES)
    start = 7 if img_size == 28 else 4
    return start, int(math.log2(img_size // start))


def init_dcgan_weights_(module: nn.Module) -> nn.Module:
    """Radford et al.'s initialisation, in place: conv/linear weights ~ N(0, 0.02), biases 0,
    BatchNorm scale ~ N(1, 0.02) and shift 0. Returns ``module``.

    A spectrally normalised layer keeps its raw weight in ``parametrizations.weight.original``;
    that is the tensor initialised here (its power-iteration vectors catch up while training).
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if parametrize.is_parametrized(m, "weight"):
                    nn.init.normal_(m.parametrizations.weight.original, 0.0, 0.02)
                else:
                    nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
    return module


def _check_labels(labels: Tensor | None, n: int, num_classes: int, who: str) -> None:
    """Labels are required exactly when the model is class-conditional."""
    if num_classes > 0:
        if labels is None:
            raise ValueError(
                f"{who} is class-conditional (num_classes={num_classes}) and needs `labels`, "
                f"a LongTensor of shape ({n},) with values in [0, {num_classes})"
            )
        if labels.shape != (n,):
            raise ValueError(f"{who}: expected labels of shape ({n},), got {tuple(labels.shape)}")
    elif labels is not None:
        raise ValueError(
            f"{who} is unconditional (num_classes=0) but got `labels`; "
            "build it with num_classes > 0 to condition on classes"
        )


@register
class DCGANGenerator(nn.Module):
    """z (N, z_dim) [+ labels (N,)] -> image (N, img_channels, img_size, img_size) in [-1, 1].

    A transposed convolution turns z, seen as a 1x1 image, into a 4x4 map (7x7 for 28x28) with
    ``base_channels * 2**(num_stages - 1)`` channels; each following block doubles the resolution
    and halves the channels (64x64: 8g -> 4g -> 2g -> g -> img_channels, g = base_channels).
    """

    @dataclass
    class Config:
        z_dim: int = 100
        img_size: Literal[28, 32, 64] = 64
        img_channels: int = 1
        base_channels: int = 64  # "ngf" in pytorch/examples
        # 0 = unconditional. > 0: conditional batch norm, a learned scale and shift per class
        # in every normalisation layer (see ConditionalBatchNorm2d).
        num_classes: int = 0
        # "transposed": stride-2 4x4 transposed convs (Radford et al.).
        # "resize": nearest 2x upsample + 3x3 conv, free of checkerboard artifacts (Odena et al.).
        upsample: Literal["transposed", "resize"] = "transposed"

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        check_choice("upsample", config.upsample, ("transposed", "resize"))
        start, num_stages = _resolution_plan(config.img_size)
        channels = config.base_channels * 2 ** (num_stages - 1)

        in_dim = config.z_dim
        # A 4x4 transposed conv applied to a 1x1 input is a linear layer whose output is
        # reshaped to (channels, 4, 4). bias=False wherever BatchNorm follows: BN subtracts the
        # batch mean, which would cancel any bias, and its own shift plays that role.
        self.project = nn.Sequential(
            nn.ConvTranspose2d(in_dim, channels, start, 1, 0, bias=False),
            self._norm(channels),
            nn.ReLU(inplace=True),
        )
        blocks = []
        for _ in range(num_stages - 1):
            blocks += [
                self._up(channels, channels // 2),
                self._norm(channels // 2),
                nn.ReLU(inplace=True),
            ]
            channels //= 2
        self.blocks = nn.Sequential(*blocks)
        # No BatchNorm on the output layer: it would pin every image's statistics to the batch's
        # (Radford et al. found it made samples oscillate). Tanh maps to the [-1, 1] pixel range.
        # No bias either, exactly as in pytorch/examples, so the parameter counts match.
        self.to_img = nn.Sequential(self._up(channels, config.img_channels), nn.Tanh())
        init_dcgan_weights_(self)

    def _norm(self, channels: int) -> nn.Module:
        if self.config.num_classes > 0:
            return ConditionalBatchNorm2d(channels, self.config.num_classes)
        return nn.BatchNorm2d(channels)

    def _up(self, in_channels: int, out_channels: int) -> nn.Module:
        """A 2x up-sampling convolution (no bias: see above)."""
        if self.config.upsample == "transposed":
            # kernel 4, stride 2, padding 1: exactly doubles H and W. The kernel overlaps
            # unevenly across output pixels, which is where checkerboard patterns come from.
            return nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=False)
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        cfg = self.config
        if z.ndim != 2 or z.shape[1] != cfg.z_dim:
            raise ValueError(
                f"DCGANGenerator: expected z of shape (N, {cfg.z_dim}), got {tuple(z.shape)}"
            )
        _check_labels(labels, z.shape[0], cfg.num_classes, "DCGANGenerator")
        x = z[:, :, None, None]  # (N, z_dim, 1, 1)
        if labels is None:
            x = self.blocks(self.project(x))
        else:  # the conditional norms also take the labels
            for layer in (*self.project, *self.blocks):
                x = layer(x, labels) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
        # project: -> (N, 8g, 4, 4) at 64x64; blocks: -> (N, g, S/2, S/2)
        return self.to_img(x)  # (N, C, S, S) in [-1, 1]


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift depend on the class: ``gamma[y] * BN(x) + beta[y]``.

    (De Vries et al., 2017; the generators of SNGAN and BigGAN.) Normalisation statistics are
    shared by all classes; only the affine part is per class, so a label cannot wash out the
    variation that z brings. An earlier version of this generator concatenated a label
    embedding to z instead: on Fashion-MNIST it collapsed to about one image per class
    (recall 0.002 against 0.56 with this layer after 1,500 steps).
    Initialised as a plain BatchNorm: gamma ~ N(1, 0.02), beta = 0 for every class.
    """

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.scale = nn.Embedding(num_classes, num_features)
        self.shift = nn.Embedding(num_classes, num_features)
        with torch.no_grad():
            nn.init.normal_(self.scale.weight, 1.0, 0.02)
            nn.init.zeros_(self.shift.weight)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        gamma = self.scale(labels)[:, :, None, None]  # (N, C, 1, 1)
        beta = self.shift(labels)[:, :, None, None]
        return gamma * self.bn(x) + beta


@register
class DCGANDiscriminator(nn.Module):
    """image (N, img_channels, img_size, img_size) [+ labels (N,)] -> raw logits (N,).

    The mirror image of :class:`DCGANGenerator`: stride-2 4x4 convolutions halve the resolution
    and double the channels down to a 4x4 map (7x7 for 28x28); a final convolution covering that
    whole map gives one logit. Logits are unbounded: the losses apply the sigmoid/softplus.
    """

    @dataclass
    class Config:
        img_size: Literal[28, 32, 64] = 64
        img_channels: int = 1
        base_channels: int = 64  # "ndf" in pytorch/examples
        # 0 = unconditional. > 0: projection discriminator (Miyato & Koyama, 2018),
        # logit = linear(h) + <embed(y), sum_xy h>.
        num_classes: int = 0
        # "batch": BatchNorm except on the first layer (Radford et al.).
        # "spectral": spectral norm on every layer, no BatchNorm. "none": neither.
        norm: Literal["batch", "spectral", "none"] = "batch"

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        check_choice("norm", config.norm, ("batch", "spectral", "none"))
        start, num_stages = _resolution_plan(config.img_size)
        batch_norm = config.norm == "batch"
        # Without BatchNorm a conv needs its bias. With it, biases are pointless before BN, and
        # pytorch/examples leaves them out of the first and last layers as well; so do we.
        bias = not batch_norm

        # LeakyReLU instead of ReLU: a dead (zero-gradient) unit in D also blocks the gradient
        # that G learns from, so negative inputs keep a small slope. No BatchNorm on the first
        # layer: normalising the raw images would throw away their absolute intensity and colour.
        channels = config.base_channels
        layers: list[nn.Module] = [
            nn.Conv2d(config.img_channels, channels, 4, 2, 1, bias=bias),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(num_stages - 1):
            layers.append(nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=bias))
            if batch_norm:
                layers.append(nn.BatchNorm2d(channels * 2))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            channels *= 2
        self.features = nn.Sequential(*layers)
        # A conv whose kernel covers the whole start x start map: a linear layer on flattened h.
        self.to_logit = nn.Conv2d(channels, 1, start, 1, 0, bias=bias)

        self.embed: nn.Embedding | None = None
        if config.num_classes > 0:
            self.embed = nn.Embedding(config.num_classes, channels)
        init_dcgan_weights_(self)
        if self.embed is not None:
            # Same scale as the weights of `to_logit`, so neither term dominates at the start.
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

        if config.norm == "spectral":
            # Wrap after initialising, so that spectral_norm's power iteration starts from the
            # final weights. Dividing each weight by its largest singular value bounds D's
            # Lipschitz constant, which is what keeps its gradients useful for G.
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Embedding)):
                    spectral_norm(m)

    def forward(self, img: Tensor, labels: Tensor | None = None) -> Tensor:
        cfg = self.config
        check_images(img, cfg.img_channels, cfg.img_size, "DCGANDiscriminator")
        n = img.shape[0]
        _check_labels(labels, n, cfg.num_classes, "DCGANDiscriminator")
        h = self.features(img)  # (N, 8g, 4, 4) at 64x64
        logits = self.to_logit(h).reshape(n)  # (N,)
        if self.embed is not None:
            # Projection term <embed(y), phi(x)> with phi(x) = h summed over positions (N, 8g):
            # the label enters as an inner product instead of being concatenated to the input.
            logits = logits + (self.embed(labels) * h.sum(dim=(2, 3))).sum(dim=1)
        return logits
