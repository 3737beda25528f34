"""Multi-frame super-resolution: a hand-held burst, its alignment, and a network that fuses the frames.

A phone held in the hand moves a little between the frames of a burst. Each frame is the same scene sampled
on a grid offset by a fraction of a pixel, so what one frame's low-resolution grid misses (the detail that
its downscaling folded into aliasing, and the noise on it) the others sample elsewhere. To use that, the
frames must first be aligned: this module simulates a burst (:func:`make_burst`), measures each frame's
shift by phase correlation (:func:`estimate_shifts`), warps every frame onto frame 0's grid
(:func:`align_burst`), and trains :class:`~synthlib.restoration.vsr_net.BurstSR` on aligned bursts made on
the fly (:class:`BurstBatches`, :func:`burst_trainer`) -- VSRNet's recipe (Kappeler et al., 2016).

Conventions: pixels float in [-1, 1]; a burst is N x K x 3 x h x w (frame 0 the reference); a shift is
``(dy, dx)`` in low-resolution pixels and means that the frame's content moved by it: frame k at
``(y, x)`` shows what frame 0 shows at ``(y - dy, x - dx)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice
from synthlib.core.train import EMA, Recipe, Trainer
from synthlib.restoration.classical import add_noise, downscale
from synthlib.restoration.learned import SeededBatches, SRConfig, sr_phases
from synthlib.restoration.sr_net import SR_SCALES

Align = Literal["known", "estimated", "none"]
ALIGNS = ("known", "estimated", "none")
DEFAULT_SIGMA = 4.0 / 255.0  # 2/255 on a [0, 1] scale: a well-lit phone photo's noise


def _check_burst_args(frames: int, factor: int) -> None:
    if frames < 1:
        raise ValueError(f"a burst needs frames >= 1, got {frames}")
    if factor not in SR_SCALES:
        raise ValueError(f"factor must be one of {SR_SCALES}, got {factor}")


def shift_images(images: Tensor, shifts: Tensor) -> Tensor:
    """Translate each image (N x C x H x W) by its own sub-pixel ``shifts`` (N x 2, ``(dy, dx)`` in its pixels):
    ``out(y, x) = in(y - dy, x - dx)``, read with bicubic interpolation; pixels that come from outside the
    picture are mirrored back in (reflection), so the borders hold plausible content rather than black.
    ``torch.roll`` could only move whole pixels, and a burst's information is in the fractions."""
    n, _, h, w = images.shape
    ys = torch.arange(h, dtype=torch.float32, device=images.device)
    xs = torch.arange(w, dtype=torch.float32, device=images.device)
    src_y = ys.view(1, h, 1) - shifts[:, 0].float().view(n, 1, 1).to(images.device)
    src_x = xs.view(1, 1, w) - shifts[:, 1].float().view(n, 1, 1).to(images.device)
    # grid_sample wants the source positions in [-1, 1], pixel centres at (2i + 1) / size - 1 (align_corners=False)
    grid = torch.stack([((2 * src_x + 1) / w - 1).expand(n, h, w), ((2 * src_y + 1) / h - 1).expand(n, h, w)], -1)
    return F.grid_sample(images.float(), grid, mode="bicubic", padding_mode="reflection", align_corners=False)


def make_burst(image: Tensor, *, frames: int = 4, factor: int = 4, sigma: float = DEFAULT_SIGMA,
               max_shift: float = 1.0, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """A simulated hand-held burst of a clean photo ``image`` (3 x H x W or N x 3 x H x W, sides multiples of
    ``factor``): ``(frames, shifts)``, N x K x 3 x (H/factor) x (W/factor) and N x K x 2 (K x ... for one image).

    Frame 0 is not moved; frame k > 0 is moved by a random ``(dy, dx)``, each uniform in ``[-max_shift,
    max_shift]`` low-resolution pixels (``factor`` times as many high-resolution ones), *at high
    resolution*, as the camera moves before the sensor samples. Then every frame gets the same
    degradation as single-image SR (:func:`~synthlib.restoration.classical.downscale`, antialiased bicubic)
    and its own Gaussian noise of std ``sigma`` ([-1, 1] units). Seeded by ``generator`` (default: seed 0).
    """
    _check_burst_args(frames, factor)
    if sigma < 0 or max_shift < 0:
        raise ValueError(f"sigma and max_shift must be >= 0, got sigma={sigma}, max_shift={max_shift}")
    single = image.ndim == 3
    x = image.unsqueeze(0) if single else image
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"make_burst expects an image 3 x H x W or N x 3 x H x W, got {tuple(image.shape)}")
    g = generator or torch.Generator().manual_seed(0)
    n, _, hh, ww = x.shape
    shifts = (torch.rand(n, frames, 2, generator=g) * 2 - 1) * max_shift
    shifts[:, 0] = 0.0
    moved = shift_images(x.float().repeat_interleave(frames, 0), factor * shifts.view(n * frames, 2))
    low = add_noise(downscale(moved, factor), sigma, generator=g) if sigma > 0 else downscale(moved, factor)
    low = low.view(n, frames, 3, hh // factor, ww // factor)
    return (low[0], shifts[0]) if single else (low, shifts)


def _grey(frames: Tensor) -> Any:
    """Greyscale (ITU-R 601 luma) of K x 3 x h x w frames, as a K x h x w float64 NumPy array."""
    luma = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)
    return (frames.detach().cpu().double() * luma).sum(1).numpy()


def estimate_shifts(frames: Tensor, *, upsample_factor: int = 20, refinements: int = 2) -> Tensor:
    """Each frame's shift relative to frame 0, measured by phase correlation (N x K x 2, or K x 2 for one burst).

    Phase correlation (scikit-image's ``phase_cross_correlation``, on the luma): a translation multiplies
    a picture's Fourier transform by a phase ramp, so the normalised cross-power spectrum of two frames is
    a pure ramp whose inverse transform is a spike at the shift. ``upsample_factor`` locates the peak to
    1/20 pixel by an upsampled DFT around it (Guizar-Sicairos et al., 2008). Two things spoil it on small
    frames: the DFT treats the picture as periodic, so its borders jump (we taper both frames with a
    Hann window), and the sub-pixel peak is pulled towards the nearest whole pixel (we warp the frame
    back by the estimate and measure the small remaining shift ``refinements`` times, with plain cross-
    correlation, whose smooth peak is located more precisely). On 32 x 32 frames this is within
    ~0.1 px. scikit-image returns the move that *registers* the frame, minus our shift.
    """
    from skimage.filters import window
    from skimage.registration import phase_cross_correlation

    single = frames.ndim == 4
    burst = frames.unsqueeze(0) if single else frames
    if burst.ndim != 5 or burst.shape[2] != 3:
        raise ValueError(f"estimate_shifts expects frames K x 3 x h x w or N x K x 3 x h x w, got {tuple(frames.shape)}")
    taper = window("hann", tuple(burst.shape[-2:]))
    out = torch.zeros(burst.shape[0], burst.shape[1], 2)
    for i in range(burst.shape[0]):
        reference = _grey(burst[i, :1])[0] * taper
        for k in range(1, burst.shape[1]):
            for step in range(1 + refinements):
                moved = burst[i, k : k + 1] if step == 0 else shift_images(burst[i, k : k + 1], -out[i, k : k + 1])
                register, _, _ = phase_cross_correlation(reference, _grey(moved)[0] * taper, upsample_factor=upsample_factor,
                                                         normalization="phase" if step == 0 else None)
                out[i, k] -= torch.as_tensor(register, dtype=torch.float32)
    return out[0] if single else out


def align_burst(frames: Tensor, shifts: Tensor, factor: int = 1) -> Tensor:
    """The burst resampled onto frame 0's grid: frame k moved back by ``-shifts[k]`` (sub-pixel, bicubic,
    reflected at the borders), so that the same scene point sits at the same pixel in every frame, which
    a convolution needs to fuse them (VSRNet's motion compensation). ``shifts`` in low-resolution pixels,
    as :func:`make_burst` and :func:`estimate_shifts` give them; frames K x 3 x h x w or N x K x 3 x h x w.

    ``factor=1`` warps the low-resolution frames themselves. That throws away what a burst is for: moving
    a frame by a fraction of *its own* pixel interpolates between its samples, a low-pass filter that
    nearly erases the finest detail the frame holds (at half a pixel, bicubic interpolation removes the
    Nyquist frequency entirely), which is where the other frames' extra information lives. Averaging
    4 frames aligned that way scores 0.2 dB *below* bicubic of frame 0 on the chapter's photos.
    ``factor > 1`` does what VSRNet did: each frame is first upscaled by ``factor`` (bicubic), then moved
    by ``factor * shift`` high-resolution pixels, where a sub-pixel move hardly blurs the upscaled frame.
    The result is then N x K x 3 x (factor h) x (factor w): what :class:`~synthlib.restoration.vsr_net.BurstSR`
    takes (it folds it back to low resolution without loss, so its work stays at low resolution).
    """
    if factor < 1:
        raise ValueError(f"align_burst: factor must be >= 1, got {factor}")
    single = frames.ndim == 4
    burst, sh = (frames.unsqueeze(0), shifts.unsqueeze(0)) if single else (frames, shifts)
    if burst.ndim != 5 or sh.shape != (*burst.shape[:2], 2):
        raise ValueError(f"align_burst: frames {tuple(frames.shape)} and shifts {tuple(shifts.shape)} do not match "
                         "(N x K x 3 x h x w and N x K x 2)")
    n, k, c, h, w = burst.shape
    flat = burst.reshape(n * k, c, h, w).float()
    if factor > 1:
        flat = F.interpolate(flat, scale_factor=factor, mode="bicubic", align_corners=False)
    aligned = shift_images(flat, -factor * sh.reshape(n * k, 2)).view(n, k, c, factor * h, factor * w)
    return aligned[0] if single else aligned


class BurstBatches(SeededBatches):
    """Training batches ``(aligned bursts N x K x 3 x H x W, photos N x 3 x H x W)`` made on the fly from the
    clean crops of ``batches``: each burst upscaled by ``factor`` and aligned there (``align_burst(..., factor)``,
    BurstSR's input). Batch ``b``'s shifts and noise come from ``Generator().manual_seed(seed * 1_000_003 + b)``,
    so a resumed run sees the same bursts; ``state_dict`` also holds the crops' position.

    ``align``: "known" warps with the true shifts (the upper bound), "estimated" with those of
    :func:`estimate_shifts` (what a camera can do; slow on small crops), "none" only upscales the frames as shot.
    """

    WHAT = "bursts"

    def __init__(self, batches: Iterator[Tensor], *, frames: int = 4, factor: int = 4, sigma: float = DEFAULT_SIGMA,
                 seed: int = 0, align: Align = "known", max_shift: float = 1.0) -> None:
        _check_burst_args(frames, factor)
        check_choice("align", align, ALIGNS)
        self.batches, self.frames, self.factor, self.sigma, self.seed = batches, frames, factor, sigma, seed
        self.align, self.max_shift, self.count = align, max_shift, 0

    def __next__(self) -> tuple[Tensor, Tensor]:
        high = next(self.batches)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.count)
        self.count += 1
        burst, shifts = make_burst(high, frames=self.frames, factor=self.factor, sigma=self.sigma,
                                   max_shift=self.max_shift, generator=g)
        if self.align != "known":
            shifts = estimate_shifts(burst) if self.align == "estimated" else torch.zeros_like(shifts)
        return align_burst(burst, shifts, self.factor), high



def burst_trainer(G: nn.Module, data: Iterator[Any], cfg: SRConfig, **run: Any) -> Trainer:
    """A Trainer of kind ``"burst_sr"`` (model ``G`` [, ``G_ema``]) over batches ``(bursts, photos)``.

    The recipe is SRResNet's (:func:`~synthlib.restoration.learned.sr_phases`: the pixel loss between
    ``G(batch[0])`` and ``batch[1]``), only the input is a burst; ``cfg``'s feature and adversarial
    terms are not used here. ``run``: the run's settings (device, precision, run_dir, ...)."""
    if cfg.perceptual_weight > 0 or cfg.adv_weight > 0:
        raise ValueError("burst_trainer trains with the pixel loss only; set perceptual_weight and adv_weight to 0")
    net_cfg = getattr(G, "config", None)
    if net_cfg is not None and getattr(net_cfg, "scale", cfg.factor) != cfg.factor:
        raise ValueError(f"the network upscales x{net_cfg.scale} but SRConfig.factor is {cfg.factor}")
    if getattr(data, "factor", cfg.factor) != cfg.factor:
        raise ValueError(f"the bursts are downscaled x{data.factor} but SRConfig.factor is {cfg.factor}")
    if net_cfg is not None and hasattr(data, "frames") and getattr(net_cfg, "frames", data.frames) != data.frames:
        raise ValueError(f"the network fuses K={net_cfg.frames} frames but the bursts have K={data.frames}")
    recipe = Recipe(models={"G": G}, phases=sr_phases(G, cfg), data=data, config=cfg, kind="burst_sr",
                    ema=EMA(G, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None)
    return Trainer.from_recipe(recipe, **run)


@torch.no_grad()
def burst_upscale_with(G: nn.Module, frames: Tensor) -> Tensor:
    """Apply a trained burst network to bursts aligned at high resolution (``align_burst(frames, shifts, factor)``:
    N x K x 3 x H x W, or K x 3 x H x W for one): one picture per burst on frame 0's grid, clamped to [-1, 1]."""
    single = frames.ndim == 4
    device = next(G.parameters()).device
    out = G((frames.unsqueeze(0) if single else frames).to(device).float()).clamp(-1, 1)
    return out[0] if single else out
