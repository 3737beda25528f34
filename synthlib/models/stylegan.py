"""StyleGAN2: a style-based generator and a residual discriminator, in plain PyTorch.

Karras et al., "Analyzing and Improving the Image Quality of StyleGAN" (CVPR 2020). The ideas,
in the order the generator uses them:

* a **mapping network** turns the latent ``z`` into an intermediate latent ``w`` (same size,
  but free to follow the data's own layout instead of a Gaussian ball);
* the **synthesis network** starts from a learned constant 4x4 tensor, not from ``z``;
  ``w`` enters every convolution as a *style* ``s = A(w)`` (a learned affine map ``A``) that
  scales the convolution's input channels -- **modulation** -- after which each output channel
  is rescaled to unit expected variance -- **demodulation**, StyleGAN2's replacement for AdaIN;
* per-pixel **noise** with a learned strength adds stochastic detail (hair, pores, grain);
* RGB is produced at every resolution and the upsampled sums form the image (**skip**
  architecture);
* every layer uses an **equalised learning rate**: weights are stored as N(0, 1) and scaled at
  run time by He's constant, so Adam updates every layer at the same relative speed.

The discriminator is a residual network with a **minibatch standard deviation** channel at
4x4, which lets it see a lack of variety across a batch (mode collapse).

Everything is ordinary ``torch.nn.functional`` code: no compiled extensions, no custom CUDA
ops, so it runs on CPU, CUDA and MPS. The defaults (32x32, 32..256 channels) train on a 2-core
CPU in minutes; raise ``img_size``, ``base_channels`` and ``max_channels`` for a GPU.

Pixel convention: images are float in [-1, 1], N x C x H x W. The generator's output is
**linear** (no tanh, as in StyleGAN2): it lands near [-1, 1] once trained, and callers clamp
to [-1, 1] before displaying or saving it.

What the training loop must do that ``forward`` does not: call
:meth:`StyleGANGenerator.update_w_avg` with the batch's ``w`` (e.g. ``G.mapping(z)``) after
each step, so that truncation has a meaningful centre. ``forward`` never changes the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.config import check_choice, check_min
from synthlib.models.base import check_images, register

__all__ = [
    "EqualConv2d",
    "EqualLinear",
    "MappingNetwork",
    "MinibatchStdDev",
    "NoiseInjection",
    "StyleGANDiscriminator",
    "StyleGANGenerator",
    "StyledConv",
    "ToRGB",
    "blur_kernel",
    "downsample2d",
    "modulated_conv2d",
    "modulated_conv2d_loop",
    "scaled_leaky_relu",
    "upsample2d",
]

IMG_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
NoiseMode = Literal["random", "const", "none"]
NOISE_MODES = ("random", "const", "none")
OUTPUTS = ("linear", "tanh")
SQRT2 = math.sqrt(2.0)
UP_GAIN = 4.0  # gain of the low-pass filter after 2x zero insertion (up ** 2): three of four pixels are zeros


# --- small functional pieces -------------------------------------------------------------------


def scaled_leaky_relu(x: Tensor, slope: float = 0.2) -> Tensor:
    """``sqrt(2) * leaky_relu(x, 0.2)``.

    For x ~ N(0, 1), leaky ReLU keeps about half of the second moment
    (E[f(x)^2] = (1 + 0.2^2) / 2 ~ 0.52); the gain sqrt(2) restores it to ~1, so activations
    neither shrink nor grow from layer to layer (the same reasoning as He initialisation).
    """
    return F.leaky_relu(x, slope) * SQRT2


def blur_kernel(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """The fixed 4x4 low-pass filter ``k = outer(b, b) / sum``, ``b = [1, 3, 3, 1]``.

    [1, 3, 3, 1] is the binomial filter of width 4: a cheap approximation of a Gaussian that
    removes the frequencies which would alias when an image is resampled by a factor 2.
    It sums to 1, so blurring keeps the mean; upsampling by zero insertion multiplies it by 4
    (three of every four pixels are zeros). Separable: a 2-D filter made of two 1-D ones.
    """
    b = torch.tensor([1.0, 3.0, 3.0, 1.0], device=device, dtype=dtype)
    k = torch.outer(b, b)
    return k / k.sum()


def _depthwise(kernel: Tensor, channels: int, dtype: torch.dtype) -> Tensor:
    """``kernel`` (kh, kw) repeated for every channel: a (C, 1, kh, kw) depthwise weight."""
    return kernel.to(dtype)[None, None].expand(channels, 1, *kernel.shape)


def blur2d(x: Tensor, kernel: Tensor, padding: int) -> Tensor:
    """Low-pass ``x`` channel by channel (a depthwise ``F.conv2d``, groups = C)."""
    c = x.shape[1]
    return F.conv2d(x, _depthwise(kernel, c, x.dtype), padding=padding, groups=c)


def upsample2d(x: Tensor, kernel: Tensor) -> Tensor:
    """2x upsampling: insert zeros between pixels, then low-pass with ``4 * kernel``.

    Both steps are one depthwise transposed convolution with stride 2 (a stride-2 transposed
    conv *is* zero insertion followed by a convolution). Kernel 4, padding 1 gives exactly
    ``H -> 2H``: (H - 1) * 2 - 2 + 4 = 2H. Used for the skip RGB images.
    """
    c = x.shape[1]
    return F.conv_transpose2d(x, _depthwise(kernel * UP_GAIN, c, x.dtype), stride=2, padding=1, groups=c)


def downsample2d(x: Tensor, kernel: Tensor) -> Tensor:
    """2x downsampling: low-pass, then keep every second pixel (a stride-2 depthwise conv).

    Kernel 4, padding 1, stride 2: (H + 2 - 4) // 2 + 1 = H / 2. Blurring first keeps the
    frequencies that cannot survive subsampling from folding back as aliasing.
    """
    c = x.shape[1]
    return F.conv2d(x, _depthwise(kernel, c, x.dtype), stride=2, padding=1, groups=c)


def _up_blur_padding(kernel_size: int) -> int:
    """Padding of the blur after a stride-2 transposed conv with a k x k kernel.

    The transposed conv gives (H - 1) * 2 + k pixels; a 4-tap blur with padding p on each
    side gives (2H - 2 + k) + 2p - 3, which is 2H for p = (5 - k) / 2.
    """
    if kernel_size % 2 == 0 or kernel_size > 5:
        raise ValueError(
            f"modulated_conv2d(up=True) supports odd kernel sizes up to 5, got {kernel_size}; "
            "use a 1x1, 3x3 or 5x5 weight"
        )
    return (5 - kernel_size) // 2


def _check_modconv_inputs(x: Tensor, weight: Tensor, styles: Tensor) -> None:
    if x.ndim != 4 or weight.ndim != 4 or styles.ndim != 2:
        raise ValueError(
            "modulated_conv2d: expected x (N, C_in, H, W), weight (C_out, C_in, k, k) and "
            f"styles (N, C_in); got {tuple(x.shape)}, {tuple(weight.shape)}, {tuple(styles.shape)}"
        )
    n, c_in = x.shape[:2]
    if weight.shape[1] != c_in or tuple(styles.shape) != (n, c_in):
        raise ValueError(
            f"modulated_conv2d: x has {c_in} channels and batch {n}, so weight must be "
            f"(C_out, {c_in}, k, k) and styles ({n}, {c_in}); got weight {tuple(weight.shape)} "
            f"and styles {tuple(styles.shape)}"
        )
    if weight.shape[2] != weight.shape[3] or weight.shape[2] % 2 == 0:
        raise ValueError(f"modulated_conv2d: weight needs a square, odd kernel, got {tuple(weight.shape)}")


def modulated_conv2d(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    demodulate: bool = True,
    up: bool = False,
    eps: float = 1e-8,
    kernel: Tensor | None = None,
    fused: bool = True,
) -> Tensor:
    """StyleGAN2's modulated convolution, all samples at once.

    ``x`` (N, C_in, H, W), ``weight`` (C_out, C_in, k, k), ``styles`` (N, C_in) ->
    (N, C_out, H, W), or (N, C_out, 2H, 2W) with ``up=True``.

    Each sample i gets its own weight:

    * modulation:    w'_ioc.. = s_ic * w_oc..           (scale input channel c by its style)
    * demodulation:  w''_io.. = w'_io.. / sqrt(sum_{c,kh,kw} w'_io..^2 + eps)

    If the input has i.i.d. unit-variance entries, output channel o has variance
    sum w'^2, so demodulation restores unit variance: the *statistical* version of AdaIN's
    instance normalisation, without the "droplet" artifacts that normalising the actual
    feature maps caused in StyleGAN1.

    Two implementations of the same function (they agree to float rounding), chosen by ``fused``:

    * ``fused=True`` (the default here, and what the StyleGAN2 paper describes): N different
      weights are N independent convolutions. Folding the batch into the channel axis -- x as
      (1, N * C_in, H, W), the weights as (N * C_out, C_in, k, k) -- and using ``groups=N`` runs
      them as one grouped convolution (group i sees only sample i's channels and weights).
      It builds N modulated copies of the weight and runs a grouped convolution, a less
      optimised code path. On a GPU at small batch it can still be the faster one: the work
      is a single kernel on small weights, with no extra passes over the activations.
    * ``fused=False``: modulation and demodulation are per-sample scalings of the input and
      output *channels*, so they can be moved off the weight: ``out = d * conv(x * s, w)``
      with ``d[n, o] = 1 / sqrt(sum_{i,kh,kw} (w[o, i] s[n, i])^2 + eps)``, computed as
      ``(s^2) @ (sum_{kh,kw} w^2)^T`` without building per-sample weights. The convolution
      is then one ordinary convolution with the shared weight, which cuDNN / oneDNN run much
      better than a grouped one: on a 2-core CPU the 32x32 generator's forward + backward at
      batch 32 (base 32, max 256 channels) ran ~8x faster. The generator uses this form by
      default (``StyleGANGenerator.Config.fused_modconv = False``).

    ``up=True``: a stride-2 transposed convolution (= zero insertion + convolution) doubles the
    size, then the [1, 3, 3, 1] blur (``kernel``, default :func:`blur_kernel`) times 4 removes the
    checkerboard of the zero insertion -- the same gain-4 low-pass filter as :func:`upsample2d`
    (StyleGAN2: ``upfirdn2d(..., gain=up**2)``). The gain is needed: demodulation normalises the
    weight for a dense input, but three of every four pixels of the zero-inserted input are zeros,
    so without it the output is ~4x smaller than the plain convolution's, and the generator's
    features shrink ~4x more at every resolution (1/64 at 32 px), leaving the fine layers and
    their ToRGBs almost no say in the image. Both steps are linear and act on each output channel
    alone, so the non-fused form applies ``d`` after them.
    """
    _check_modconv_inputs(x, weight, styles)
    if not fused:
        return _modulated_conv2d_unfused(x, weight, styles, demodulate, up, eps, kernel)
    n, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    wgt = weight[None] * styles[:, None, :, None, None]  # modulate: (N, C_out, C_in, k, k)
    if demodulate:
        d = torch.rsqrt(wgt.square().sum(dim=(2, 3, 4)) + eps)  # (N, C_out)
        wgt = wgt * d[:, :, None, None, None]
    x = x.reshape(1, n * c_in, h, w)  # the batch becomes N groups of C_in channels
    if not up:
        out = F.conv2d(x, wgt.reshape(n * c_out, c_in, k, k), padding=k // 2, groups=n)
        return out.reshape(n, c_out, h, w)
    pad = _up_blur_padding(k)
    # A transposed conv's weight is laid out (in, out / groups, k, k): swap C_out and C_in.
    wgt = wgt.transpose(1, 2).reshape(n * c_in, c_out, k, k)
    out = F.conv_transpose2d(x, wgt, stride=2, groups=n)  # (1, N * C_out, 2H + k - 2, ...)
    out = out.reshape(n, c_out, out.shape[-2], out.shape[-1])
    if kernel is None:
        kernel = blur_kernel(x.device, x.dtype)
    return blur2d(out, kernel * UP_GAIN, padding=pad)  # (N, C_out, 2H, 2W)


def _modulated_conv2d_unfused(
    x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool, up: bool, eps: float, kernel: Tensor | None
) -> Tensor:
    """``modulated_conv2d(fused=False)``: scale the inputs, one shared convolution, scale the outputs."""
    k = weight.shape[-1]
    styles = styles.to(x.dtype)
    x = x * styles[:, :, None, None]  # modulation: s scales input channel i of sample n
    if not up:
        out = F.conv2d(x, weight, padding=k // 2)
    else:
        pad = _up_blur_padding(k)
        # A transposed conv's weight is laid out (in, out, k, k): swap C_out and C_in.
        out = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)  # (N, C_out, 2H + k - 2, ...)
        if kernel is None:
            kernel = blur_kernel(x.device, x.dtype)
        out = blur2d(out, kernel * UP_GAIN, padding=pad)  # (N, C_out, 2H, 2W)
    if demodulate:
        # sum_{i,kh,kw} (w_oi s_ni)^2 = sum_i s_ni^2 * (sum_{kh,kw} w_oi^2): a (N, C_in) @ (C_in, C_out)
        d = torch.rsqrt(styles.square() @ weight.square().sum(dim=(2, 3)).t() + eps)  # (N, C_out)
        out = out * d[:, :, None, None].to(out.dtype)
    return out


def modulated_conv2d_loop(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    demodulate: bool = True,
    up: bool = False,
    eps: float = 1e-8,
    kernel: Tensor | None = None,
) -> Tensor:
    """The same as :func:`modulated_conv2d`, one sample at a time (slow, for checking only).

    A direct reading of the equations: build sample i's weight, convolve sample i with it.
    """
    _check_modconv_inputs(x, weight, styles)
    k = weight.shape[-1]
    if kernel is None:
        kernel = blur_kernel(x.device, x.dtype)
    outs = []
    for i in range(x.shape[0]):
        w_i = weight * styles[i].reshape(1, -1, 1, 1)  # w'_oc = s_c * w_oc
        if demodulate:
            norm = (w_i.square().sum(dim=(1, 2, 3), keepdim=True) + eps).sqrt()
            w_i = w_i / norm  # each output channel's weights now have unit L2 norm
        if not up:
            outs.append(F.conv2d(x[i : i + 1], w_i, padding=k // 2))
            continue
        y = F.conv_transpose2d(x[i : i + 1], w_i.transpose(0, 1), stride=2)
        # the blur, one channel at a time, as a batch of single-channel images
        c, hh, ww = y.shape[1:]
        y = F.conv2d(y.reshape(c, 1, hh, ww), (kernel * UP_GAIN)[None, None].to(y.dtype), padding=_up_blur_padding(k))
        outs.append(y.reshape(1, c, y.shape[-2], y.shape[-1]))
    return torch.cat(outs)


# --- equalised learning rate ------------------------------------------------------------------


class EqualLinear(nn.Module):
    """A linear layer with an equalised learning rate (Karras et al., 2018).

    The weight is *stored* as ``V ~ N(0, 1) / lr_mul`` and *used* as ``W = V * lr_mul / sqrt(fan_in)``,
    so at initialisation ``W ~ N(0, 1 / fan_in)`` (He init, up to the activation gain) whatever
    ``lr_mul`` is. Why store it this way: Adam moves every stored number by about ``lr`` per step,
    so W moves by ``lr * lr_mul / sqrt(fan_in)`` -- in proportion to its own scale in every layer
    (``lr_mul / sqrt(fan_in)`` relative to ``1 / sqrt(fan_in)``). With He init applied once, wide
    layers would instead learn relatively slower than narrow ones. ``lr_mul < 1`` slows a layer
    down on purpose (the mapping network uses 0.01).

    The bias is stored as ``bias_init / lr_mul`` and used times ``lr_mul`` (same rate).
    ``activation=True`` applies :func:`scaled_leaky_relu` after the bias.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activation: bool = False,
    ) -> None:
        super().__init__()
        if lr_mul <= 0:
            raise ValueError(f"EqualLinear: lr_mul must be > 0, got {lr_mul}")
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul)) if bias else None
        self.lr_mul = lr_mul
        self.scale = lr_mul / math.sqrt(in_features)
        self.activation = activation

    def effective_weight(self) -> Tensor:
        """``W = V * lr_mul / sqrt(fan_in)``, the weight actually applied."""
        return self.weight * self.scale

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        out = F.linear(x, self.effective_weight(), bias)
        return scaled_leaky_relu(out) if self.activation else out

    def extra_repr(self) -> str:
        out_f, in_f = self.weight.shape
        return f"{in_f}, {out_f}, lr_mul={self.lr_mul}, activation={self.activation}"


class EqualConv2d(nn.Module):
    """A convolution with an equalised learning rate: ``W = V * lr_mul / sqrt(C_in * k * k)``.

    See :class:`EqualLinear`; here the fan-in is ``C_in * k * k``. Padding keeps the size
    (``k // 2``). ``down=True`` halves it the StyleGAN2 way: blur with [1, 3, 3, 1] (padding
    ``(k + 1) // 2``, size H + 1 for k = 3, H - 1 for k = 1), then a stride-2 convolution without
    padding, which gives H / 2 exactly.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: bool = False,
        down: bool = False,
        lr_mul: float = 1.0,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"EqualConv2d: kernel_size must be odd, got {kernel_size}")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.lr_mul = lr_mul
        self.scale = lr_mul / math.sqrt(in_channels * kernel_size**2)
        self.activation = activation
        self.down = down
        if down:
            self.register_buffer("kernel", blur_kernel(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        k = self.weight.shape[-1]
        bias = self.bias * self.lr_mul if self.bias is not None else None
        if self.down:
            x = blur2d(x, self.kernel, padding=(k + 1) // 2)
            out = F.conv2d(x, self.weight * self.scale, bias, stride=2)
        else:
            out = F.conv2d(x, self.weight * self.scale, bias, padding=k // 2)
        return scaled_leaky_relu(out) if self.activation else out

    def extra_repr(self) -> str:
        o, i, k, _ = self.weight.shape
        return f"{i}, {o}, kernel_size={k}, down={self.down}, activation={self.activation}"


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
