"""Inpainting networks (Chapter 6): partial and gated convolutions, the classical fills, and the U-Net built from them.

The classical baselines and the degradations are in :mod:`synthlib.restoration`; this module gives
the learned methods that must beat them.

Inpainting -- a convolution cannot tell a missing pixel from a black one. Filling the hole with
zeros (or the mean) and letting a plain network sort it out gives colour shifts and blurred seams,
because every filter response near the hole mixes real and made-up values. Two fixes:

* :class:`PartialConv2d` (Liu, Reda, Shih, Wang, Tao & Catanzaro, 2018, "Image inpainting for
  irregular holes using partial convolutions"): convolve the known pixels only, rescale by how many
  of them the window held, and pass on a validity mask that grows with every layer, a fixed rule;
* :class:`GatedConv2d` (Yu, Lin, Yang, Shen, Lu & Huang, 2019, "Free-form image inpainting with
  gated convolution"): the mask is an input channel, and each layer *learns* a soft gate per pixel
  and channel in place of Liu's hard 0/1 rule.

:class:`InpaintUNet` is a U-Net built from either. It predicts the whole image; the caller keeps the
known pixels with :func:`composite`, and pads odd sizes with :func:`pad_to_multiple`.

The chapter's other networks have modules of their own: :mod:`synthlib.restoration.sr_net` (SRResNet) and
:mod:`synthlib.restoration.dip_net` (the deep image prior's encoder-decoder).

Pixel convention: images are float in [-1, 1], N x 3 x H x W. A hole mask is N x 1 x H x W, float
or bool, 1/True where pixels are MISSING (as in :mod:`synthlib.restoration`; a mask from there,
H x W or N x H x W, becomes one with ``mask[None, None]`` or ``mask[:, None]``). :class:`PartialConv2d`
alone takes the opposite, Liu et al.'s ``valid`` mask (1 = known).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import register

INPAINT_CONVS = ("gated", "partial")
INPAINT_PREFILLS = ("zeros", "harmonic", "biharmonic", "blend")
PAD_MODES = ("reflect", "replicate", "constant")


def _no_autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Switch autocast off on ``device``: the mask counts must stay exact float32 integers
    (bfloat16 holds integers exactly only up to 256, far below a 512-channel 3x3 window's 4608)."""
    try:
        return torch.autocast(device.type, enabled=False)
    except RuntimeError:  # a device type without autocast: nothing to switch off
        return contextlib.nullcontext()


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------


class PartialConv2d(nn.Conv2d):
    """Liu et al.'s partial convolution: a convolution over the known pixels only.

    ``forward(x, valid)`` with ``valid`` N x 1 x H x W (or N x C_in x H x W), 1 where ``x`` is
    known, returns ``(out, new_valid)``. With ``sum(M)`` the number of valid entries under a window
    and ``sum(1)`` its size (k_h * k_w for a one-channel mask, C_in * k_h * k_w for a full one)::

        out = W^T (x * M) * sum(1) / sum(M) + b    where sum(M) > 0
        out = 0                                    where sum(M) = 0
        new_valid = 1 where sum(M) > 0, else 0     (N x 1 x H' x W')

    The rescaling keeps the response the same whatever fraction of the window is missing (a
    constant image gives the same value next to a hole as far from it), so nothing is darkened or
    shifted towards the zeros that stand in for the hole; and since the hole's values are
    set to 0 (inf and NaN too), they can never leak into the output. A hole shrinks by the kernel's reach at
    every layer, so a deep enough stack fills any hole.

    The zero padding counts as missing too, so border windows are rescaled like those next to a
    hole: "partial convolution based padding" (Liu et al., 2018, arXiv:1811.11718). Hence
    ``padding_mode`` must be ``"zeros"``, and with an all-ones mask the layer equals a plain
    convolution only where a window lies wholly inside the image (everywhere when padding is 0).

    A mask with C_in channels (one per input channel) is how Liu et al. handle a concatenation of
    feature maps with different holes, as in a U-Net decoder: each part brings its own mask.
    ``groups > 1`` is supported with one-channel masks only.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.padding_mode != "zeros":
            raise ValueError(
                f"PartialConv2d: parameter 'padding_mode' must be 'zeros' (the padding counts as "
                f"missing pixels and is rescaled, see the docstring), got {self.padding_mode!r}"
            )

    def forward(self, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"PartialConv2d expects x of shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        n, c, h, w = x.shape
        if (
            valid.ndim != 4
            or valid.shape[0] not in (1, n)
            or valid.shape[1] not in (1, c)
            or valid.shape[2:] != x.shape[2:]
        ):
            raise ValueError(
                f"PartialConv2d expects a validity mask of shape (N, 1, H, W) = (N, 1, {h}, {w}) "
                f"(or (N, {c}, {h}, {w}), one mask per channel), 1 where x is known; got "
                f"{tuple(valid.shape)}. Add the channel axis with mask[:, None]."
            )
        if valid.shape[1] > 1 and self.groups != 1:
            raise ValueError("PartialConv2d: per-channel masks need groups=1; pass a (N, 1, H, W) mask")
        if valid.shape[0] != n:
            valid = valid.expand(n, -1, -1, -1)
        valid = valid.to(x.dtype)

        with torch.no_grad(), _no_autocast(x.device):
            m = valid.float()
            kh, kw = self.kernel_size
            ones = m.new_ones(1, m.shape[1], kh, kw)
            count = F.conv2d(m, ones, None, self.stride, self.padding, self.dilation)
            window = float(m.shape[1] * kh * kw)
            covered = count > 0
            # sum(1) / sum(M) where the window holds a valid pixel, 0 elsewhere
            ratio = torch.where(covered, window / count.clamp_min(1e-8), torch.zeros_like(count))
            new_valid = covered.to(x.dtype)

        # where, not only a product: an inf or NaN under the hole must give 0 too, not NaN
        known = torch.where(valid > 0, x * valid, torch.zeros((), dtype=x.dtype, device=x.device))
        out = F.conv2d(known, self.weight, None, self.stride, self.padding, self.dilation, self.groups)
        out = out * ratio.to(out.dtype)
        if self.bias is not None:
            out = out + self.bias.to(out.dtype).view(1, -1, 1, 1) * new_valid.to(out.dtype)
        return out, new_valid


class GatedConv2d(nn.Module):
    """Yu et al.'s gated convolution: ``act(features) * sigmoid(gate)``, both from one convolution.

    Partial convolutions decide by a fixed rule whether a pixel is valid, all channels alike, and
    after a few layers call everything valid. A gated convolution learns that decision: one
    convolution gives 2 * out_ch maps, split into features f and gates g, and the sigmoid gate
    weighs each feature per pixel and channel. The mask enters as an ordinary input channel (and
    can carry user guidance too, such as sketches), so the network learns how much to trust each
    location at every depth.

    ``activation`` is LeakyReLU(0.2) by default (Yu et al.'s code uses ELU), any module, or None
    for a linear output (the last layer). ``padding`` defaults to "same" for odd kernels:
    ``dilation * (kernel_size - 1) // 2``.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        activation: nn.Module | Literal["leaky_relu"] | None = "leaky_relu",
    ) -> None:
        super().__init__()
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        self.out_ch = out_ch
        self.conv = nn.Conv2d(in_ch, 2 * out_ch, kernel_size, stride, padding, dilation)
        if isinstance(activation, str):
            check_choice("activation", activation, ("leaky_relu",))
            activation = nn.LeakyReLU(0.2)
        self.activation = activation if activation is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        features, gate = self.conv(x).split(self.out_ch, dim=1)
        return self.activation(features) * torch.sigmoid(gate)


# ----------------------------------------------------------------------------------------------
# Inpainting
# ----------------------------------------------------------------------------------------------


def _masked_pyramid(image: Tensor, missing: Tensor, smallest: int) -> tuple[list[Tensor], list[Tensor]]:
    """Levels of ``image * valid`` and of ``valid`` (the known fraction), each the 2x2 means of the one before,
    until a side is ``smallest`` or less; ``x / w`` at a level is the mean of its block's known pixels."""
    valid = (~missing).to(image.dtype)
    xs, ws = [image * valid], [valid]
    while min(xs[-1].shape[-2:]) > smallest:
        xs.append(F.avg_pool2d(xs[-1], 2, ceil_mode=True))
        ws.append(F.avg_pool2d(ws[-1], 2, ceil_mode=True))
    return xs, ws


def harmonic_fill(image: Tensor, hole: Tensor, iters: int = 40) -> Tensor:
    """Fill the hole with the solution of Laplace's equation (every missing pixel the mean of its four
    neighbours, the known pixels as boundary): the smoothest membrane over the hole, a classical
    inpainting method (harmonic interpolation) in plain PyTorch, for batches, on any device.

    Solved by Jacobi iterations on an image pyramid, a simple multigrid: the hole is first filled with
    mask-weighted averages of coarser and coarser levels (push-pull), then, level by level from the
    second-coarsest up to full size, the coarser fill is upsampled into the hole and ``iters`` Jacobi sweeps
    refine it. ``image`` N x C x H x W, ``hole``
    N x 1 x H x W (1/True = missing). Known pixels are returned exactly.
    """
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    missing = (hole > 0.5) if hole.dtype != torch.bool else hole
    xs, ws = _masked_pyramid(image, missing, 2)  # push: mask-weighted means of 2x2 blocks
    channels = image.shape[1]
    kernel = image.new_tensor([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]]).expand(channels, 1, 3, 3)
    filled = xs[-1] / ws[-1].clamp_min(1e-6)
    for x, w in zip(reversed(xs[:-1]), reversed(ws[:-1])):  # pull, then smooth each level
        coarse = F.interpolate(filled, size=x.shape[-2:], mode="bilinear", align_corners=False)
        filled = x + (1 - w) * coarse  # = w * (known mean) + (1 - w) * coarser estimate
        free = w < 0.999
        for _ in range(iters):
            mean4 = F.conv2d(F.pad(filled, (1, 1, 1, 1), mode="replicate"), kernel, groups=channels)
            filled = torch.where(free, mean4, filled)
    return torch.where(missing, filled, image)


_LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def _laplacian(u: Tensor) -> Tensor:
    """The 5-point Laplacian of every channel, the border replicated (no flux across the image's edge)."""
    c = u.shape[1]
    kernel = u.new_tensor(_LAPLACIAN).expand(c, 1, 3, 3)
    return F.conv2d(F.pad(u, (1, 1, 1, 1), mode="replicate"), kernel, groups=c)


def _laplacian_adjoint(y: Tensor) -> Tensor:
    """The transpose of :func:`_laplacian`: spread each value over its stencil, then fold what landed on the
    replicated border back onto the edge pixels it copied (<L u, y> = <u, L^T y>, checked in the tests)."""
    c = y.shape[1]
    z = F.conv_transpose2d(y, y.new_tensor(_LAPLACIAN).expand(c, 1, 3, 3), groups=c)  # (H + 2, W + 2)
    z[:, :, 1, :] += z[:, :, 0, :]
    z[:, :, -2, :] += z[:, :, -1, :]
    z[:, :, :, 1] += z[:, :, :, 0]
    z[:, :, :, -2] += z[:, :, :, -1]
    return z[:, :, 1:-1, 1:-1]


def _biharmonic_cg(u: Tensor, free: Tensor, iters: int) -> Tensor:
    """``iters`` conjugate-gradient steps on the free pixels of u toward the minimum of ||L u||^2, each image
    and channel its own problem; the other pixels stay fixed and act as the boundary."""
    m = free.to(u.dtype)

    def a(p: Tensor) -> Tensor:  # the normal operator, restricted to the free pixels
        return m * _laplacian_adjoint(_laplacian(p))

    r = -a(u)  # minus the gradient: the residual of L^T L u = 0 on the free pixels
    p = r.clone()
    rs = r.square().sum((2, 3), keepdim=True)
    for _ in range(iters):
        ap = a(p)
        alpha = rs / (p * ap).sum((2, 3), keepdim=True).clamp_min(1e-30)
        u = u + alpha * p
        r = r - alpha * ap
        rs_next = r.square().sum((2, 3), keepdim=True)
        p = r + (rs_next / rs.clamp_min(1e-30)) * p
        rs = rs_next
    return u


def biharmonic_fill(image: Tensor, hole: Tensor, iters: int = 60) -> Tensor:
    """Fill the hole with the solution of the biharmonic equation (the discrete Laplacian squared is 0 in
    the hole): the smoothest *thin plate* over it, which, unlike the membrane of :func:`harmonic_fill`,
    continues the slopes at the hole's edge as well as the values -- scikit-image's
    ``inpaint_biharmonic``, in plain PyTorch for batches on any device.

    Solved as the minimum of ``sum (L u)^2`` over the missing pixels (L the 5-point Laplacian, the
    image's border replicated), by conjugate gradients on an image pyramid: the coarsest level starts
    from the harmonic fill, every finer level from the coarser solution, and ``iters`` CG steps refine
    each. A thin plate is not bounded by its boundary values (it overshoots past sharp edges); callers
    clamp. ``image`` N x C x H x W, ``hole`` N x 1 x H x W (1/True = missing); known pixels are returned
    exactly.
    """
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    missing = (hole > 0.5) if hole.dtype != torch.bool else hole
    xs, ws = _masked_pyramid(image, missing, 4)
    filled = None
    for x, w in zip(reversed(xs), reversed(ws)):
        known = w > 0.999  # a coarse pixel is a boundary value only if all of its block was known
        mean = x / w.clamp_min(1e-6)
        if filled is None:
            filled = harmonic_fill(torch.where(known, mean, torch.zeros_like(mean)), ~known)
        else:
            coarse = F.interpolate(filled, size=x.shape[-2:], mode="bilinear", align_corners=False)
            filled = torch.where(known, mean, coarse)
        filled = _biharmonic_cg(filled, (~known).expand_as(filled), iters)
    return torch.where(missing, filled, image)


def pad_to_multiple(x: Tensor, multiple: int, mode: str = "reflect") -> tuple[Tensor, tuple[int, int]]:
    """Pad the last two axes on the right and bottom up to multiples of ``multiple``.

    Returns ``(padded, (h, w))`` with the original size, so the caller crops back with
    ``out[..., :h, :w]``. ``mode`` is ``"reflect"`` (mirror the image: no new edge for the network
    to react to), ``"replicate"`` or ``"constant"`` (zeros). Reflection needs the image to be larger
    than the padding; when it is not, replication is used instead. Any tensor of 2 or more axes
    works, bool masks included (they come back bool).
    """
    check_choice("mode", mode, PAD_MODES)
    if multiple < 1:
        raise ValueError(f"pad_to_multiple: parameter 'multiple' must be >= 1, got {multiple}")
    if x.ndim < 2:
        raise ValueError(f"pad_to_multiple expects a tensor (..., H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return x, (h, w)
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "replicate"
    flat = x.reshape(-1, 1, h, w)  # F.pad's reflect/replicate want a batch and a channel axis
    as_bool = flat.dtype == torch.bool
    if as_bool:
        flat = flat.to(torch.float32)
    padded = F.pad(flat, (0, pw, 0, ph), mode=mode)
    if as_bool:
        padded = padded > 0.5
    return padded.reshape(*x.shape[:-2], h + ph, w + pw), (h, w)


def composite(image: Tensor, prediction: Tensor, hole: Tensor) -> Tensor:
    """``image * (1 - hole) + prediction * hole``: keep the known pixels, take the rest predicted.

    Pixels with ``hole == 0`` are copied from ``image`` bit-exactly (also when the prediction holds
    inf or NaN there) and pixels with ``hole == 1`` from ``prediction``; a soft mask blends between.
    """
    if hole.dtype == torch.bool:
        return torch.where(hole, prediction, image)
    hole = hole.to(image.dtype)
    blended = image * (1 - hole) + prediction * hole
    blended = torch.where(hole == 1, prediction, blended)
    return torch.where(hole == 0, image, blended)


@register
class InpaintUNet(nn.Module):
    """``forward(image, hole)`` -> the whole image predicted, N x 3 x H x W in [-1, 1] (tanh).

    A U-Net (Ronneberger et al., 2015) of gated (Yu et al., 2019) or partial (Liu et al., 2018)
    convolutions, with g = ``base_channels`` doubled per level up to ``max_channels``::

        encoder  conv 5x5 (g) - depth x [conv 3x3 stride 2]     H -> H / 2**depth
        decoder  depth x [nearest 2x up, concat skip, conv 3x3] - conv 3x3 (3) - tanh

    The pixels under the hole are set to 0 first, so whatever the caller left there cannot change
    the output. ``"gated"`` then reads cat(image, hole) (4 channels; the gates learn what the mask
    means), ``"partial"`` reads the image with ``valid = 1 - hole`` and carries the mask through the
    layers. Activations: LeakyReLU(0.2) in gated layers; ReLU in the partial encoder and
    LeakyReLU(0.2) in its decoder, as Liu et al.

    Decoder skips of the partial version: the upsampled features and the skip have different
    holes (the deeper map is filled further), so, as Liu et al. do, their masks are concatenated
    along with them, one mask channel per feature channel, and :class:`PartialConv2d` counts the
    valid entries of each part separately. (The simpler alternative, the max of the two masks,
    would pass the skip's zeros as real values where only the deeper map is valid.)

    No normalisation. Batch norm mixes the statistics of images with different holes and ties
    the output to the batch; Liu et al. had to freeze its encoder statistics for fine-tuning.
    Instance norm's mean would include the zeros that stand for the hole in the first layers, and
    on the small maps near the bottleneck it has few pixels (none at 1x1) to average. Yu et al.'s
    gated generator uses none either; the rescaling of partial convolutions and the gates already
    keep the activations in range.

    H and W must be divisible by 2**depth; pad with :func:`pad_to_multiple` and crop back.
    A float hole is rounded (> 0.5 = missing); :func:`composite` blends with the soft values.

    ``prefill="harmonic"`` (not in the papers) hands the network the hole already filled by
    :func:`harmonic_fill`, and its output becomes ``fill + correction`` in the hole (no tanh; callers
    clamp). A network trained for minutes on a CPU cannot learn smooth continuation from scratch as
    well as a few Jacobi sweeps compute it; given the fill, it spends its training on what a
    membrane cannot do -- edges that cross the hole, texture, shading. The same idea as SRResNet's
    ``bicubic_skip``, and a fixed version of the coarse stage of Yu et al.'s coarse-to-fine networks.
    ``prefill="biharmonic"`` does the same with :func:`biharmonic_fill` (the thin plate: better than the
    membrane on thin strokes, worse in large boxes, where it overshoots). ``prefill="blend"`` reads both
    fills (6 channels) and returns ``lerp(membrane, plate, sigmoid(a)) + correction`` in the hole, with a
    fourth output channel ``a`` that starts at exactly 0: the network starts from the mean of the two
    fills and learns, pixel by pixel, which to trust.
    """

    @dataclass
    class Config:
        conv: str = "gated"  # "gated" (Yu et al. 2019) or "partial" (Liu et al. 2018)
        base_channels: int = 32  # channels of the full-resolution level
        depth: int = 4  # stride-2 levels: 4 takes 256x256 down to 16x16
        max_channels: int = 256  # channels double per level up to this cap
        # What the network sees in the hole: "zeros" (the papers), or a classical fill that the network
        # corrects (not in the papers; see below): "harmonic" (harmonic_fill), "biharmonic"
        # (biharmonic_fill) or "blend" (both, mixed per pixel by the network, then corrected).
        prefill: str = "zeros"
        fill_iters: int = 40  # Jacobi sweeps (harmonic) / CG steps (biharmonic) per pyramid level

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        check_choice("conv", cfg.conv, INPAINT_CONVS)
        check_choice("prefill", cfg.prefill, INPAINT_PREFILLS)
        check_min("base_channels", cfg.base_channels, owner="InpaintUNet")
        check_min("depth", cfg.depth, owner="InpaintUNet")
        check_min("max_channels", cfg.max_channels, cfg.base_channels, owner="InpaintUNet")
        ch = [min(cfg.base_channels * 2**i, cfg.max_channels) for i in range(cfg.depth + 1)]
        self.gated = cfg.conv == "gated"
        blend = cfg.prefill == "blend"
        c_in = 6 if blend else 3  # "blend": both fills side by side
        c_out = 4 if blend else 3  # "blend": a mixing logit beside the three correction channels
        if self.gated:
            self.first = GatedConv2d(c_in + 1, ch[0], 5)
            self.down = nn.ModuleList(GatedConv2d(ch[i], ch[i + 1], 3, stride=2) for i in range(cfg.depth))
            # up[i] takes level i + 1 back to level i (its input: upsampled level i + 1, skip i)
            self.up = nn.ModuleList(GatedConv2d(ch[i + 1] + ch[i], ch[i], 3) for i in range(cfg.depth))
            self.last = GatedConv2d(ch[0], c_out, 3, activation=None)
        else:
            self.first = PartialConv2d(c_in, ch[0], 5, padding=2)
            self.down = nn.ModuleList(
                PartialConv2d(ch[i], ch[i + 1], 3, stride=2, padding=1) for i in range(cfg.depth)
            )
            self.up = nn.ModuleList(
                PartialConv2d(ch[i + 1] + ch[i], ch[i], 3, padding=1) for i in range(cfg.depth)
            )
            self.last = PartialConv2d(ch[0], c_out, 3, padding=1)
        if cfg.prefill != "zeros":  # start near the fill itself: a small last layer, as in SRResNet
            last = self.last.conv if self.gated else self.last
            with torch.no_grad():
                last.weight.mul_(0.1)
                if last.bias is not None:
                    last.bias.zero_()
                if blend:  # the mixing logit starts at exactly 0: the mean of the two fills
                    last.weight[3].zero_()  # (of a gated layer: the feature, not its gate)

    def check_input(self, image: Tensor, hole: Tensor) -> None:
        """Raise a ValueError saying what is wrong with the shapes and how to fix it."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"InpaintUNet expects images of shape (N, 3, H, W), got {tuple(image.shape)}")
        n, _, h, w = image.shape
        if hole.ndim != 4 or hole.shape[0] not in (1, n) or hole.shape[1:] != (1, h, w):
            raise ValueError(
                f"InpaintUNet expects a hole mask of shape (N, 1, H, W) = ({n}, 1, {h}, {w}), "
                f"1/True where pixels are missing; got {tuple(hole.shape)}. A synthlib.restoration "
                "mask (H x W or N x H x W) becomes one with mask[None, None] or mask[:, None]."
            )
        step = 2**self.config.depth
        if h % step or w % step:
            raise ValueError(
                f"InpaintUNet: depth={self.config.depth} halves the image {self.config.depth} times, "
                f"so H and W must be divisible by 2**{self.config.depth} = {step}; got {h}x{w}. "
                f"Pad image and hole with pad_to_multiple(x, {step}) "
                "(synthlib.restoration) and crop the output back to [..., :h, :w]."
            )

    def forward(self, image: Tensor, hole: Tensor) -> Tensor:
        self.check_input(image, hole)
        missing = hole if hole.dtype == torch.bool else hole > 0.5
        missing = missing.expand(image.shape[0], -1, -1, -1)
        # torch.where, not a product: also an inf or NaN under the hole becomes a plain 0
        x = torch.where(missing, torch.zeros((), dtype=image.dtype, device=image.device), image)
        prefill, iters = self.config.prefill, self.config.fill_iters
        fills = []  # the classical fills the network corrects: the membrane, the plate, or both
        if prefill in ("harmonic", "blend"):
            fills.append(harmonic_fill(x, missing, iters))
        if prefill in ("biharmonic", "blend"):
            fills.append(biharmonic_fill(x, missing, iters))
        if fills:
            x = torch.cat(fills, dim=1)
        if self.gated:
            out = self._forward_gated(x, missing.to(image.dtype))
        else:
            out = self._forward_partial(x, (~missing).to(image.dtype))
        if not fills:
            return torch.tanh(out)
        # "blend": mix the membrane and the plate per pixel by the fourth channel's logit
        # (under autocast the net's output is bf16 while the fills stay fp32: lerp needs one dtype)
        fill = fills[0] if len(fills) == 1 else torch.lerp(fills[0], fills[1], torch.sigmoid(out[:, 3:]).to(fills[0].dtype))
        return fill + out[:, :3] * missing.to(out.dtype)  # a correction of the fill, in the hole only; callers clamp

    def _forward_gated(self, x: Tensor, hole: Tensor) -> Tensor:
        h = self.first(torch.cat([x, hole], dim=1))
        skips = [h]  # skips[i]: level i, (N, ch[i], H / 2**i, W / 2**i)
        for down in self.down:
            h = down(h)
            skips.append(h)
        for i in reversed(range(self.config.depth)):
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = self.up[i](torch.cat([h, skips[i]], dim=1))
        return self.last(h)

    def _forward_partial(self, x: Tensor, valid: Tensor) -> Tensor:
        h, m = self.first(x, valid)
        h = F.relu(h)
        skips = [(h, m)]
        for down in self.down:
            h, m = down(h, m)
            h = F.relu(h)
            skips.append((h, m))
        for i in reversed(range(self.config.depth)):
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            m = F.interpolate(m, scale_factor=2.0, mode="nearest")
            s, ms = skips[i]
            masks = torch.cat([m.expand(-1, h.shape[1], -1, -1), ms.expand(-1, s.shape[1], -1, -1)], dim=1)
            h, m = self.up[i](torch.cat([h, s], dim=1), masks)
            h = F.leaky_relu(h, 0.2)
        h, _ = self.last(h, m)
        return h
