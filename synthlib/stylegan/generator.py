"""StyleGAN2's generator: the mapping network, styled (modulated) convolutions, noise inputs and ToRGB skips.

The operations they are built from (modulated convolution, blur, equalised layers) are in
:mod:`synthlib.stylegan.ops`; the discriminator is in :mod:`synthlib.stylegan.discriminator`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import register
from synthlib.stylegan.ops import (
    EqualLinear,
    blur_kernel,
    modulated_conv2d,
    scaled_leaky_relu,
    upsample2d,
)

IMG_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
NoiseMode = Literal["random", "const", "none"]
NOISE_MODES = ("random", "const", "none")
OUTPUTS = ("linear", "tanh")


# --- generator pieces ------------------------------------------------------------------------


class MappingNetwork(nn.Module):
    """z (N, z_dim) -> w (N, w_dim): pixel norm, then ``n_mlp`` fully connected layers.

    Pixel norm puts every z on the sphere of radius sqrt(z_dim): ``z / sqrt(mean(z^2) + 1e-8)``
    (dividing by the root mean square). Each layer is ``w <- sqrt(2) * lrelu(A w + b)``, with
    ``lr_mul = 0.01``: a 100x lower learning rate keeps w's space from changing faster than
    the synthesis network can follow.
    """

    def __init__(self, z_dim: int, w_dim: int, n_mlp: int, lr_mul: float = 0.01) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * n_mlp
        self.layers = nn.Sequential(
            *(EqualLinear(dims[i], dims[i + 1], lr_mul=lr_mul, activation=True) for i in range(n_mlp))
        )

    def forward(self, z: Tensor) -> Tensor:
        z = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)  # pixel norm
        return self.layers(z)


class NoiseInjection(nn.Module):
    """``x + strength * noise``: one N(0, 1) value per pixel, shared by all channels.

    ``strength`` is a learned scalar per layer, initialised to 0 (the network starts without
    noise and turns it up where randomness helps). Pass ``noise`` (N or 1, 1, H, W) to hold it
    fixed, or leave it ``None`` to draw fresh noise from the global RNG.
    """

    def __init__(self) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor, noise: Tensor | None = None) -> Tensor:
        n, _, h, w = x.shape
        if noise is None:
            noise = torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)
        elif noise.ndim != 4 or tuple(noise.shape[1:]) != (1, h, w) or noise.shape[0] not in (1, n):
            raise ValueError(
                f"NoiseInjection: noise must have shape ({n} or 1, 1, {h}, {w}) to match the "
                f"features {tuple(x.shape)}; got {tuple(noise.shape)}"
            )
        return x + self.strength * noise


class StyledConv(nn.Module):
    """One synthesis layer: ``sqrt(2) * lrelu(modconv(x, w, A(w)) + strength * noise + b)``.

    ``A`` is an :class:`EqualLinear` from w to one style per input channel, with its bias
    initialised to 1 so that at the start every style is about 1 (plain convolution).
    ``up=True`` doubles the resolution (see :func:`modulated_conv2d`). The layer owns a fixed
    noise image ``noise_const`` (1, 1, R, R) for ``noise_mode="const"``, filled by the generator.
    ``fused`` picks the grouped (True) or the shared-weight (False) form of the modulated
    convolution: the same function, different speed (see :func:`modulated_conv2d`).
    """

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
        kernel_size: int = 3, up: bool = False, fused: bool = False,
    ) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        # Equalised lr as in EqualConv2d; demodulation cancels the scale, but it keeps the
        # stored weights N(0, 1) and the eps of demodulation meaningful.
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.up = up
        self.fused = fused
        self.noise = NoiseInjection()
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("noise_const", torch.zeros(1, 1, resolution, resolution))
        self.register_buffer("kernel", blur_kernel(), persistent=False)

    def forward(
        self, x: Tensor, w: Tensor, noise_mode: str = "random", noise: Tensor | None = None
    ) -> Tensor:
        styles = self.affine(w)  # (N, C_in)
        weight = self.weight * self.scale
        x = modulated_conv2d(
            x, weight, styles, demodulate=True, up=self.up, kernel=self.kernel, fused=self.fused
        )
        if noise is not None or noise_mode == "random":
            x = self.noise(x, noise)
        elif noise_mode == "const":
            x = self.noise(x, self.noise_const)
        # noise_mode == "none": no noise at all
        return scaled_leaky_relu(x + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    """Features -> an RGB (or grey) image at this resolution, added to the upsampled previous one.

    ``rgb = modconv_1x1(x, A(w)) + b`` without demodulation (the output's scale is meaningful:
    it is the image), then ``rgb += upsample2d(skip)``: the skip architecture. The image is the
    sum of contributions from every resolution, each coarse one upsampled with the
    [1, 3, 3, 1] filter; early in training the low resolutions dominate and the finer ones
    learn to add detail. ``fused``: as in :class:`StyledConv`.
    """

    def __init__(self, in_channels: int, img_channels: int, w_dim: int, fused: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(img_channels, in_channels, 1, 1))
        self.scale = 1 / math.sqrt(in_channels)  # equalised lr: fan-in of a 1x1 conv
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.fused = fused
        self.register_buffer("kernel", blur_kernel(), persistent=False)

    def forward(self, x: Tensor, w: Tensor, skip: Tensor | None = None) -> Tensor:
        styles = self.affine(w)
        rgb = modulated_conv2d(x, self.weight * self.scale, styles, demodulate=False, fused=self.fused)
        rgb = rgb + self.bias[None, :, None, None]
        if skip is not None:
            rgb = rgb + upsample2d(skip, self.kernel)
        return rgb


def _channels(base: int, maximum: int, img_size: int, res: int) -> int:
    """Channels at resolution ``res``: ``min(max_channels, base_channels * img_size / res)``
    (base_channels at full resolution, doubling each halving, capped)."""
    return min(maximum, base * img_size // res)


def _check_common(name: str, img_size: int, img_channels: int, base: int, maximum: int) -> None:
    check_choice("img_size", img_size, IMG_SIZES)
    check_choice("img_channels", img_channels, (1, 3))
    check_min("base_channels", base, 1, owner=name)
    check_min("max_channels", maximum, 1, owner=name)


@register
class StyleGANGenerator(nn.Module):
    """z (N, z_dim) -> image (N, img_channels, img_size, img_size), linear output unless ``output="tanh"``.

    ``mapping``: z -> w. ``synthesis``: ws (N, num_ws, w_dim) -> image. Layout, with
    ``num_ws = 2 * log2(img_size) - 2`` styles (18 at 1024x1024, 8 at 32x32)::

        const 4x4 -> StyledConv (ws[0]) -> ToRGB (ws[1])
        for each resolution 8, 16, ..., img_size (block b = 1, 2, ...):
            StyledConv up (ws[2b - 1]) -> StyledConv (ws[2b]) -> ToRGB (ws[2b + 1]) + upsampled skip

    Each ToRGB shares the w of the convolution after it, and the last ToRGB has one of its own
    (StyleGAN2's indexing). Feeding the same w to every layer is the normal case; different ws
    per layer give style mixing (:meth:`mix`).

    ``w_avg`` is a buffer: the running mean of w, the centre for truncation. It is updated only
    by :meth:`update_w_avg`, which the training loop calls; it starts at 0.

    The output is not squashed (StyleGAN2): callers clamp to [-1, 1] to display it. ``output="tanh"``
    squashes it into (-1, 1) as DCGAN's generator does. Train with it against a discriminator with
    batch norm (chapter 2's): that discriminator cannot see the scale of a batch (its first
    convolution has no bias, leaky ReLU is positively homogeneous and the next batch norm divides
    any common factor out), so a generator with an unbounded output is free to drift far outside
    the data's range (chapter 5 measured saturated, over-bright samples).

    ``fused_modconv`` chooses how every modulated convolution is computed; both forms are the
    same function (same weights, same images to float rounding, so it can be flipped on a
    trained model). False (default): scale the input channels by the styles, run one ordinary
    convolution with the shared weight, scale the output channels by the demodulation
    coefficients -- a plain convolution that cuDNN / oneDNN run fast (several times faster
    forward + backward on the CPU at batch 32). True: the grouped convolution with one modulated weight
    per sample, as the StyleGAN2 paper describes it; it can be faster on a GPU at small batch.
    """

    @dataclass
    class Config:
        img_size: int = 32  # a power of two, 8 to 1024
        img_channels: int = 1
        z_dim: int = 128
        w_dim: int = 128
        n_mlp: int = 4  # layers of the mapping network (StyleGAN2: 8)
        base_channels: int = 32  # channels at full resolution; they double at each halving ...
        max_channels: int = 256  # ... up to this cap (StyleGAN2: 512)
        lr_mul: float = 0.01  # learning-rate multiplier of the mapping network
        fused_modconv: bool = False  # grouped modulated conv (paper form) instead of the shared-weight one
        output: str = "linear"  # "linear" (StyleGAN2) or "tanh" (bounded, for a batch-norm discriminator)

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = cfg = config
        _check_common(
            "StyleGANGenerator", cfg.img_size, cfg.img_channels, cfg.base_channels, cfg.max_channels
        )
        for name in ("z_dim", "w_dim", "n_mlp"):
            check_min(name, getattr(cfg, name), 1, owner="StyleGANGenerator")
        if cfg.lr_mul <= 0:
            raise ValueError(f"StyleGANGenerator: parameter 'lr_mul' must be > 0, got {cfg.lr_mul}")
        check_choice("output", cfg.output, OUTPUTS)
        log2 = int(math.log2(cfg.img_size))
        self.num_ws = 2 * log2 - 2

        def ch(res: int) -> int:
            return _channels(cfg.base_channels, cfg.max_channels, cfg.img_size, res)

        self.mapping_net = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.n_mlp, cfg.lr_mul)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        self.const = nn.Parameter(torch.randn(1, ch(4), 4, 4))
        fused = cfg.fused_modconv
        self.convs = nn.ModuleList([StyledConv(ch(4), ch(4), cfg.w_dim, 4, fused=fused)])
        self.to_rgbs = nn.ModuleList([ToRGB(ch(4), cfg.img_channels, cfg.w_dim, fused=fused)])
        for res in (2**i for i in range(3, log2 + 1)):
            self.convs.append(StyledConv(ch(res // 2), ch(res), cfg.w_dim, res, up=True, fused=fused))
            self.convs.append(StyledConv(ch(res), ch(res), cfg.w_dim, res, fused=fused))
            self.to_rgbs.append(ToRGB(ch(res), cfg.img_channels, cfg.w_dim, fused=fused))
        # Constant noise from a private, fixed-seed RNG: the same for every model of this
        # config, and drawing it leaves the global RNG (hence the weights' init) untouched.
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for conv in self.convs:
                conv.noise_const.copy_(torch.randn(conv.noise_const.shape, generator=gen))

    @property
    def num_layers(self) -> int:
        """Number of StyledConv layers, i.e. of noise inputs (``num_ws - 1``)."""
        return len(self.convs)

    def mapping(self, z: Tensor) -> Tensor:
        """z (N, z_dim) -> w (N, w_dim)."""
        if z.ndim != 2 or z.shape[1] != self.config.z_dim:
            raise ValueError(
                f"StyleGANGenerator: expected z of shape (N, {self.config.z_dim}), got {tuple(z.shape)}; "
                f"draw it as torch.randn(N, {self.config.z_dim})"
            )
        return self.mapping_net(z)

    def truncate(self, w: Tensor, psi: float) -> Tensor:
        """The truncation trick: ``w_avg + psi * (w - w_avg)``.

        psi = 1 leaves w alone; psi < 1 pulls it toward the average, trading variety for
        quality (typical, well-learned images); psi = 0 gives the "average image" for every z.
        Works for w (N, w_dim) and ws (N, num_ws, w_dim).
        """
        if psi == 1:
            return w
        return self.w_avg + psi * (w - self.w_avg)

    @torch.no_grad()
    def update_w_avg(self, w: Tensor, beta: float = 0.995) -> None:
        """Track the mean of w: ``w_avg <- beta * w_avg + (1 - beta) * mean_batch(w)``."""
        self.w_avg.lerp_(w.detach().reshape(-1, self.config.w_dim).mean(dim=0).to(self.w_avg), 1 - beta)

    def make_noise(self, n: int = 1, generator: torch.Generator | None = None) -> list[Tensor]:
        """One noise image (n, 1, R, R) per layer, for passing as ``synthesis(noise=...)``."""
        device = self.const.device
        return [
            torch.randn(n, 1, *conv.noise_const.shape[2:], generator=generator).to(device)
            for conv in self.convs
        ]

    def _ws(self, ws: Tensor) -> Tensor:
        cfg = self.config
        if ws.ndim == 2 and ws.shape[1] == cfg.w_dim:
            return ws[:, None].expand(-1, self.num_ws, -1)  # one w for every layer
        if ws.ndim == 3 and tuple(ws.shape[1:]) == (self.num_ws, cfg.w_dim):
            return ws
        raise ValueError(
            f"StyleGANGenerator: expected ws of shape (N, {self.num_ws}, {cfg.w_dim}) or (N, {cfg.w_dim}), "
            f"got {tuple(ws.shape)}; get w from G.mapping(z)"
        )

    def synthesis(
        self, ws: Tensor, noise_mode: NoiseMode = "random", noise: list[Tensor | None] | None = None
    ) -> Tensor:
        """ws (N, num_ws, w_dim) or w (N, w_dim) -> image (N, C, S, S).

        ``noise_mode``: "random" draws fresh noise, "const" uses each layer's fixed
        ``noise_const``, "none" adds none. ``noise``, a list with one (N or 1, 1, R, R) tensor
        (or None) per layer, overrides the mode layer by layer (see :meth:`make_noise`).
        """
        check_choice("noise_mode", noise_mode, NOISE_MODES)
        ws = self._ws(ws)
        if noise is None:
            noise = [None] * self.num_layers
        elif len(noise) != self.num_layers:
            raise ValueError(
                f"StyleGANGenerator: noise must be a list of {self.num_layers} tensors (one per layer), "
                f"got {len(noise)}; build it with G.make_noise(N)"
            )
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.convs[0](x, ws[:, 0], noise_mode, noise[0])
        rgb = self.to_rgbs[0](x, ws[:, 1])
        for b in range(1, len(self.to_rgbs)):
            i = 2 * b - 1  # index of the block's first conv and of its w
            x = self.convs[i](x, ws[:, i], noise_mode, noise[i])  # 2x up
            x = self.convs[i + 1](x, ws[:, i + 1], noise_mode, noise[i + 1])
            rgb = self.to_rgbs[b](x, ws[:, i + 2], skip=rgb)
        return torch.tanh(rgb) if self.config.output == "tanh" else rgb

    def forward(
        self, z: Tensor, psi: float = 1.0, noise_mode: NoiseMode = "random", labels: Tensor | None = None
    ) -> Tensor:
        """z (N, z_dim) -> image (N, C, S, S); ``psi < 1`` truncates w toward ``w_avg``.

        Called as ``G(z)`` like the DCGAN generator. Does not modify the model.
        """
        if labels is not None:
            raise ValueError(
                "StyleGANGenerator is unconditional but got `labels`; call it as G(z) "
                "(train it on unlabelled batches)"
            )
        w = self.truncate(self.mapping(z), psi)
        return self.synthesis(w, noise_mode)

    def mix(self, z1: Tensor, z2: Tensor, crossover: int, psi: float = 1.0) -> Tensor:
        """Style mixing: ws (N, num_ws, w_dim) with layers ``< crossover`` from z1, the rest from z2.

        A low crossover takes only the coarse layers (pose, shape) from z1; a high one also its
        colours and fine details. ``crossover=0`` is all z2, ``crossover=num_ws`` all z1.
        """
        if not 0 <= crossover <= self.num_ws:
            raise ValueError(
                f"StyleGANGenerator.mix: crossover must be in [0, {self.num_ws}], got {crossover}"
            )
        if z1.shape != z2.shape:
            raise ValueError(
                "StyleGANGenerator.mix: z1 and z2 must have the same shape, "
                f"got {tuple(z1.shape)} and {tuple(z2.shape)}"
            )
        w1 = self.truncate(self.mapping(z1), psi)
        w2 = self.truncate(self.mapping(z2), psi)
        layer = torch.arange(self.num_ws, device=w1.device)[None, :, None]
        return torch.where(layer < crossover, w1[:, None], w2[:, None])
