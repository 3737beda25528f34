"""StyleGAN2's operations in plain PyTorch: the modulated convolution, the blur, and the equalised layers.

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

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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
