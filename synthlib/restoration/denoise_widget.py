"""Chapter 6's denoising explorer: move the noise level and see every denoiser on the same noisy photo.

The noise is seeded by (seed, level), so a level always shows the same noisy picture and every method gets
exactly that picture; the caption gives each method's PSNR against the clean photo and its time. What a
learner sees moving the slider: a network trained at one level falls behind away from it, the blind
network and BM3D (told the level) follow it.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from synthlib.ui import check_seed, side_by_side, to_png

DenoiseMethod = Callable[[Tensor, float], Tensor]  # (noisy 3 x H x W in [-1, 1], sigma in [-1, 1] units) -> image

MAX_SIGMA_255 = 100


class DenoiseExplorer:
    """A clean ``photo`` (3 x H x W in [-1, 1]), ``methods`` by name, a noise level ``sigma`` (0..255 scale)
    and a ``seed``. :meth:`results` denoises the current noisy picture with every method; :meth:`render` puts
    the noisy picture, the results and the photo side by side. Plain methods: tests drive them directly."""

    def __init__(self, photo: Tensor, methods: dict[str, DenoiseMethod], *, sigma: float = 25.0, seed: int = 0) -> None:
        if photo.ndim != 3 or photo.shape[0] != 3:
            raise ValueError(f"the photo must be one RGB image 3 x H x W, got shape {tuple(photo.shape)}")
        if not methods:
            raise ValueError("DenoiseExplorer needs at least one method")
        self.photo, self.methods = photo.detach().float().cpu(), dict(methods)
        self.sigma, self.seed = self._check_sigma(sigma), check_seed(seed)
        self.seconds: dict[str, float] = {}
        self.psnr: dict[str, float] = {}

    @staticmethod
    def _check_sigma(sigma: float) -> float:
        try:
            ok = 0 < float(sigma) <= MAX_SIGMA_255
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"sigma must be a noise level in (0, {MAX_SIGMA_255}] on the 0..255 scale, got {sigma!r}")
        return float(sigma)

    def set_sigma(self, sigma: float) -> None:
        self.sigma = self._check_sigma(sigma)

    def noisy(self) -> Tensor:
        """The photo plus Gaussian noise of the current level, seeded by (seed, level); not clipped."""
        from synthlib.restoration.classical import add_noise, sigma_from_255

        g = torch.Generator().manual_seed(self.seed * 1_000_003 + round(10 * self.sigma))
        return add_noise(self.photo, sigma_from_255(self.sigma), generator=g)

    def results(self) -> dict[str, Tensor]:
        """``{"noisy": the noisy picture (clipped for display), name: each method's output}`` (3 x H x W each);
        ``self.psnr`` and ``self.seconds`` hold each one's PSNR against the photo and wall time."""
        from synthlib.restoration.classical import psnr, sigma_from_255

        y = self.noisy()
        out = {"noisy": y.clamp(-1, 1)}
        self.seconds = {}
        for name, method in self.methods.items():
            t0 = time.perf_counter()
            restored = method(y.clone(), sigma_from_255(self.sigma))
            self.seconds[name] = time.perf_counter() - t0
            if not isinstance(restored, Tensor) or tuple(restored.shape) != tuple(self.photo.shape):
                got = tuple(restored.shape) if isinstance(restored, Tensor) else type(restored).__name__
                raise ValueError(f"denoising method {name!r} returned {got}; it must return one image shaped like "
                                 f"the photo, {tuple(self.photo.shape)}")
            out[name] = restored.detach().float().cpu().clamp(-1, 1)
        self.psnr = {k: float(psnr(v[None], self.photo[None])) for k, v in out.items()}
        return out

    def render(self) -> Tensor:
        """Noisy | every method | the clean photo, side by side (3 x H x W')."""
        return side_by_side([*self.results().values(), self.photo])

    def caption(self) -> str:
        """One line: the level, then each picture's PSNR (and each method's time), in :meth:`render`'s order."""
        parts = [f"{html.escape(k)} {v:.2f} dB" + (f" ({self.seconds[k]:.2f} s)" if k in self.seconds else "")
                 for k, v in self.psnr.items()]
        return f"sigma {self.sigma:g} | " + " | ".join(parts) + " | clean photo"


class DenoiseUI:
    """The widgets of :func:`denoise_ui`: a ``sigma`` slider (0..255 scale) and a ``seed`` box above the
    pictures (``image``, PNG bytes) and their caption. :meth:`on_sigma` and :meth:`on_seed` are the
    callbacks, plain methods taking ipywidgets' change dict."""

    def __init__(self, explorer: DenoiseExplorer, *, scale: int = 2, step: int = 5) -> None:
        import ipywidgets as W

        self.explorer, self.scale = explorer, int(scale)
        self.slider = W.IntSlider(value=round(explorer.sigma), min=step, max=min(MAX_SIGMA_255, 12 * step), step=step,
                                  description="sigma", continuous_update=False)
        self.seed = W.BoundedIntText(value=explorer.seed, min=0, max=2**31 - 1, description="seed")
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self.slider.observe(self.on_sigma, names="value")
        self.seed.observe(self.on_seed, names="value")
        self.widget = W.VBox([W.HBox([self.slider, self.seed]), self.image, self.caption])
        self.refresh()

    def on_sigma(self, change: dict[str, Any]) -> None:
        self.explorer.set_sigma(change["new"])
        self.refresh()

    def on_seed(self, change: dict[str, Any]) -> None:
        self.explorer.seed = check_seed(change["new"])
        self.refresh()

    def refresh(self) -> None:
        self.image.value = to_png(self.explorer.render(), self.scale)
        self.caption.value = self.explorer.caption()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def denoise_ui(explorer: DenoiseExplorer, *, scale: int = 2) -> DenoiseUI:
    """A noise-level slider over ``explorer``'s photo: every method denoises the same noisy picture at each level."""
    return DenoiseUI(explorer, scale=scale)
