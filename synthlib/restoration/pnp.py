"""Plug-and-play inpainting: a trained denoiser as the prior that fills a hole (Venkatakrishnan, Bouman & Wohlberg
2013; Zhang et al.'s DPIR, 2021).

A denoiser trained on photos has learned what photos look like: given a picture that is a little off, it moves it
towards a more likely one. Inpainting asks for a picture that (a) keeps the known pixels and (b) is likely. Plug-and-
play alternates the two: start from a classical fill, then repeat

    x  <-  known pixels of the photo,  D(x) in the hole

where ``D`` is the denoiser. No network is trained for inpainting: the prior is the one chapter 6 trains for noise,
and the same prior serves any mask. Chapter 6's inpainting U-Net, trained with a pixel loss on holes, learns almost
nothing past the classical fills in a CPU's budget; a denoiser's loss is dense (every pixel's noise is a target), so
the same photos teach it far more per step, and plug-and-play turns that into fills that continue edges and
texture.

Two details make a denoiser trained at one noise level (sigma 25) a good prior for clean pictures:

* **contrast gain** (``amp``): a clean picture holds no noise, so the denoiser mostly smooths it. Scaling the
  detail around a local mean by ``amp`` before denoising and back by ``1 / amp`` after lets the denoiser act as one
  for a lower noise level (``sigma / amp``): it corrects the hole without washing it out.
* **coarse to fine** (``coarse_iters``, ``levels``): the same iterations first run on the picture at half size, where
  a stroke is half as wide for the denoiser's field of view; that result, upsampled, is averaged with the classical
  fill as the full-size start. The half-size picture's own start can come the same way from quarter size, and so on
  (``levels`` halvings).

A denoiser *told* the noise level (a DenoiseUNet with ``noise_map``, trained on a range of levels) needs no
contrast gain: it is told a level that falls from strong to gentle over each stage's steps (``sigmas``, Zhang et
al.'s annealing in DPIR), so the first steps may redraw the hole's structure and the last ones only refine it.

The settings (:data:`PNP_DEFAULTS`: 20 steps at each of 1/8, 1/4 and 1/2 size, then 4 at full size, gain 1.25) were
chosen on nine training photos with their own holes, not on the held-out ones that chapter 6 scores
(``experiments/06_restoration/pnp_inpaint.py``, which records the search). More full-size steps than that start to
smooth the hole again: the denoiser removes noise that is not there. Averaging each step over flips and turns
(``ensemble``) costs four to eight times the passes and changed the held-out strokes by nothing (on the training
photos mirrors gained a few hundredths of a dB, quarter turns lost as much), so it is off by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_min
from synthlib.restoration.drunet_net import takes_noise_level
from synthlib.restoration.ensemble import DIHEDRAL, self_ensemble
from synthlib.restoration.inpaint_net import biharmonic_fill, harmonic_fill


@dataclass(frozen=True)
class PnPSettings:
    """``iters`` denoising steps at full size, ``coarse_iters`` at half size first (0: none), ``amp`` the contrast
    gain (1: the denoiser as it is), ``blur`` the side of the box filter that gives the local mean the gain is taken
    around, ``fill_iters`` the classical fills' iterations (the start is the mean of harmonic and biharmonic),
    ``levels`` how many halvings the coarse start comes from (1: half size; 2: quarter size first, then half; 3: an
    eighth, a quarter, a half),
    ``ensemble`` how many of the square's eight flips and quarter turns each denoising step averages over
    (:func:`synthlib.restoration.self_ensemble`'s order: 1 none, 4 the quarter turns, 8 all);
    ``sigmas`` for a denoiser told the noise level (:func:`~synthlib.restoration.drunet_net.takes_noise_level`), and
    only for one: the level it is told falls from ``sigmas[0]`` to ``sigmas[1]`` (on the 0..255 scale, spaced
    evenly in log) over each stage's steps, strong corrections first, gentle ones last (Zhang et al.'s DPIR); the
    level does what the contrast gain does for a denoiser of one level, so ``amp`` stays 1 with it."""

    iters: int = 4
    coarse_iters: int = 20
    amp: float = 1.25
    blur: int = 9
    fill_iters: int = 100
    levels: int = 3
    ensemble: int = 1
    sigmas: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.sigmas is not None:
            hi, lo = self.sigmas
            if not 0 < lo <= hi <= 255:
                raise ValueError(f"PnPSettings: sigmas must be (start, end) with 255 >= start >= end > 0 on the 0..255 "
                                 f"scale, got {self.sigmas}")
            if self.amp != 1.0:
                raise ValueError(f"PnPSettings: with sigmas the told level sets the strength: use amp=1, got {self.amp}")
        for name in ("iters", "coarse_iters", "fill_iters"):
            check_min(name, getattr(self, name), 0, owner="PnPSettings")
        check_min("levels", self.levels, 1, owner="PnPSettings")
        if not 1 <= self.ensemble <= len(DIHEDRAL):
            raise ValueError(f"PnPSettings: ensemble must be 1..{len(DIHEDRAL)} (flips and quarter turns), got {self.ensemble}")
        check_min("blur", self.blur, 1, owner="PnPSettings")
        if self.blur % 2 == 0:
            raise ValueError(f"PnPSettings: blur must be odd (a centred box), got {self.blur}")
        if not self.amp >= 1.0:
            raise ValueError(f"PnPSettings: amp must be >= 1 (1: no gain), got {self.amp}")


PNP_DEFAULTS = PnPSettings()
# For a denoiser told the level: a DPIR-like range (50 down to 5; DPIR anneals from 49 down to the task's own
# noise), not yet tuned here, since no told denoiser is trained yet; once one is, choose them on training photos
# with experiments/06_restoration/pnp_inpaint.py
PNP_TOLD_DEFAULTS = PnPSettings(amp=1.0, sigmas=(50.0, 5.0))


def default_settings(denoiser: nn.Module) -> PnPSettings:
    """:data:`PNP_TOLD_DEFAULTS` for a denoiser told the noise level, :data:`PNP_DEFAULTS` for one of fixed level."""
    return PNP_TOLD_DEFAULTS if takes_noise_level(denoiser) else PNP_DEFAULTS


def is_denoiser(net: nn.Module) -> bool:
    """Whether ``net`` is a residual denoiser (it predicts the noise: DnCNN, DenoiseUNet), usable as a prior here."""
    return callable(getattr(net, "noise", None))


def classical_start(images: Tensor, holes: Tensor, iters: int = 100) -> Tensor:
    """The mean of the harmonic and biharmonic fills (above either one on chapter 6's strokes), known pixels kept."""
    fill = 0.5 * (harmonic_fill(images, holes, iters=iters) + biharmonic_fill(images, holes, iters=iters))
    return torch.where(holes > 0.5, fill.clamp(-1, 1), images)


def gained_denoise(denoiser: Callable[[Tensor], Tensor], x: Tensor, amp: float, blur: int = 9) -> Tensor:
    """``D`` applied with a contrast gain: ``m + (D(m + amp (x - m)) - m) / amp``, ``m`` the ``blur`` x ``blur`` box
    mean of ``x``; ``amp = 1`` is ``D(x)``."""
    if amp == 1.0:
        return denoiser(x)
    pad = blur // 2
    mean = F.avg_pool2d(F.pad(x, (pad, pad, pad, pad), mode="replicate"), blur, 1)
    return mean + (denoiser(mean + amp * (x - mean)) - mean) / amp


def _half(images: Tensor, holes: Tensor) -> tuple[Tensor, Tensor]:
    """The picture at half size from its known pixels only (each 2 x 2 block's mean over its known pixels), and the
    half-size hole: the blocks less than half known."""
    known = 1 - holes
    weight = F.avg_pool2d(known, 2, ceil_mode=True)
    mean = F.avg_pool2d(images * known, 2, ceil_mode=True) / weight.clamp_min(1e-6)
    half_holes = (weight < 0.5).to(images.dtype)
    return torch.where(half_holes > 0.5, torch.zeros((), dtype=images.dtype), mean), half_holes


def levels_of(settings: PnPSettings, steps: int) -> list[float | None]:
    """The noise level (in [-1, 1] units) each of ``steps`` steps tells the denoiser: ``settings.sigmas`` spaced
    evenly in log, first to last; ``None`` for every step without ``sigmas``."""
    if settings.sigmas is None:
        return [None] * steps
    hi, lo = settings.sigmas
    ratio = (lo / hi) ** (1 / max(steps - 1, 1))
    return [hi * ratio**k * 2 / 255 for k in range(steps)]


Denoise = Callable[[Tensor, "float | None"], Tensor]  # (pictures, level or None) -> denoised pictures


def _iterate(net: Denoise, x: Tensor, known: Tensor, holes: Tensor, steps: int, settings: PnPSettings,
             on_step: Callable[[int, Tensor], None] | None = None) -> Tensor:
    inside = holes > 0.5
    for k, level in enumerate(levels_of(settings, steps)):
        x = torch.where(inside, gained_denoise(lambda v: net(v, level), x, settings.amp, settings.blur), known)
        if on_step is not None:
            on_step(k + 1, x)
    return x


def _start(net: Denoise, images: Tensor, holes: Tensor, settings: PnPSettings, levels: int) -> Tensor:
    """The full-size start: the classical fill, averaged with the coarse result upsampled (``coarse_iters`` steps at
    half size, whose own start comes the same way from quarter size when ``levels`` > 1)."""
    start = classical_start(images, holes, settings.fill_iters)
    if levels < 1 or settings.coarse_iters == 0 or min(images.shape[-2:]) < 16:
        return start
    half, half_holes = _half(images, holes)
    coarse = _iterate(net, _start(net, half, half_holes, settings, levels - 1), half, half_holes,
                      settings.coarse_iters, settings)
    up = F.interpolate(coarse, size=images.shape[-2:], mode="bilinear", align_corners=False)
    return torch.where(holes > 0.5, 0.5 * (start + up), images)


@torch.no_grad()
def pnp_inpaint(denoiser: nn.Module, images: Tensor, holes: Tensor, settings: PnPSettings = PNP_DEFAULTS, *,
                on_step: Callable[[int, Tensor], None] | None = None) -> Tensor:
    """Fill the holes of ``images`` (N x C x H x W in [-1, 1]; ``holes`` N x 1 x H x W, 1 = missing) with the
    denoiser as the prior; known pixels are returned exactly. ``on_step(k, x)`` sees the picture after each of the
    full-size steps (for plots). The denoiser runs in eval mode and is put back in the mode it was in."""
    if images.ndim != 4 or holes.ndim != 4 or holes.shape[1] != 1 or holes.shape[-2:] != images.shape[-2:]:
        raise ValueError(f"pnp_inpaint: images N x C x H x W and holes N x 1 x H x W of the same size, got "
                         f"{tuple(images.shape)} and {tuple(holes.shape)}")
    told = takes_noise_level(denoiser)
    if told != (settings.sigmas is not None):
        raise ValueError("pnp_inpaint: a denoiser told the noise level (noise_map) needs PnPSettings(sigmas=(start, end), "
                         f"amp=1), and one trained at its own level takes no sigmas; this one is {'' if told else 'not '}told")
    holes = (holes > 0.5).to(images.dtype)
    was_training = denoiser.training
    denoiser.eval()
    try:
        def plain(x: Tensor, level: float | None) -> Tensor:
            return (denoiser(x, level) if told else denoiser(x)).clamp(-1, 1)

        def net(x: Tensor, level: float | None) -> Tensor:  # ensemble 1: plain itself (self_ensemble adds nothing)
            return self_ensemble(lambda v: plain(v, level), x, transforms=settings.ensemble)

        start = _start(net, images, holes, settings, settings.levels)
        out = _iterate(net, start, images, holes, settings.iters, settings, on_step)
        return torch.where(holes > 0.5, out.clamp(-1, 1), images)
    finally:
        denoiser.train(was_training)
