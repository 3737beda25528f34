"""Chapter 4's style mixer: AdaIN between two styles, and how far towards them, on one content photo.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor, nn

from synthlib.sample import model_device
from synthlib.ui import side_by_side, to_png

# ----------------------------------------------------------------------------------------------
# Chapter 4: AdaIN style mixer
# ----------------------------------------------------------------------------------------------


class StyleMixer:
    """AdaIN style transfer on named photos and styles, with the encoder's work cached.

    ``contents`` and ``styles`` map names to images (1 x 3 x H x W or 3 x H x W in [-1, 1]). Each
    image is encoded once (VGG16 up to the decoder's layer); a redraw then costs one AdaIN and one
    decoder pass. The plain functions the widget calls:

    * :meth:`stylize` -- the stylised photo (1 x 3 x H x W) for a content, a style, ``alpha`` and
      colour preservation; a second style with ``mix`` in [0, 1] interpolates between the two;
    * :meth:`render`  -- content | style | result side by side (3 x H x W), styles shown at the
      content's height.
    """

    def __init__(self, decoder: nn.Module, vgg: nn.Module, contents: dict[str, Tensor], styles: dict[str, Tensor]) -> None:
        if not contents or not styles:
            raise ValueError("StyleMixer needs at least one content image and one style image")
        self.decoder, self.vgg = decoder.eval(), vgg.eval()
        self.layer = decoder.config.layer
        self.device = model_device(decoder)
        as4 = lambda x: (x if x.ndim == 4 else x.unsqueeze(0)).float().to(self.device)  # noqa: E731
        self.contents = {k: as4(v) for k, v in contents.items()}
        self.styles = {k: as4(v) for k, v in styles.items()}
        self._features: dict[tuple[str, str], Tensor] = {}

    def _encode(self, kind: str, name: str) -> Tensor:
        key = (kind, name)
        if key not in self._features:
            table = self.contents if kind == "content" else self.styles
            if name not in table:
                raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(table)}")
            with torch.no_grad():
                self._features[key] = self.vgg(table[name], (self.layer,))[self.layer]
        return self._features[key]

    @torch.no_grad()
    def stylize(
        self, content: str, style: str, alpha: float = 1.0, preserve_color: bool = False,
        style2: str | None = None, mix: float = 0.0,
    ) -> Tensor:
        from synthlib.style.feedforward import adain_decode

        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"mix must be in [0, 1], got {mix}")
        styles, weights = [style], [1.0]
        if style2 is not None and mix > 0:
            styles, weights = [style, style2], [1 - mix, mix]
        fc = self._encode("content", content)  # checks the name first
        return adain_decode(self.decoder, self.contents[content], fc, [self._encode("style", n) for n in styles],
                            alpha=alpha, weights=weights, preserve_color=preserve_color)

    def render(self, content: str, style: str, alpha: float = 1.0, preserve_color: bool = False,
               style2: str | None = None, mix: float = 0.0) -> Tensor:
        import torch.nn.functional as F

        out = self.stylize(content, style, alpha, preserve_color, style2, mix)
        h = out.shape[-2]
        thumbs = []
        for name in [style] + ([style2] if style2 is not None and mix > 0 else []):
            s = self.styles[name]
            w = max(1, round(s.shape[-1] * h / s.shape[-2]))
            thumbs.append(F.interpolate(s, size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0])
        return side_by_side([self.contents[content][0], *thumbs, out[0]])


class StyleMixerUI:
    """The widgets of :func:`style_ui`: photo and style dropdowns, an ``alpha`` slider, a colour checkbox,
    the picture and a caption with the redraw time. Set their ``.value`` and read ``image.value``."""

    def __init__(self, mixer: StyleMixer, *, alpha: float = 1.0) -> None:
        import ipywidgets as W

        self.mixer = mixer
        self.content = W.Dropdown(options=list(mixer.contents), description="photo")
        self.style = W.Dropdown(options=list(mixer.styles), description="style")
        self.alpha = W.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha",
                                   continuous_update=False, readout_format=".2f")
        self.color = W.Checkbox(value=False, description="keep the photo's colours")
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        for w in (self.content, self.style, self.alpha, self.color):
            w.observe(self._on_change, names="value")
        self.widget = W.VBox([W.HBox([self.content, self.style]), W.HBox([self.alpha, self.color]), self.image,
                              self.caption])
        self.update()

    def render_current(self) -> Tensor:
        return self.mixer.render(self.content.value, self.style.value, self.alpha.value, self.color.value)

    def update(self) -> None:

        t0 = time.perf_counter()
        picture = self.render_current()
        ms = 1000 * (time.perf_counter() - t0)
        self.image.value = to_png(picture, 1)
        self.caption.value = (f"<b>{self.content.value}</b> in the style of <b>{self.style.value}</b>, "
                              f"alpha {self.alpha.value:.2f}{', photo colours' if self.color.value else ''} "
                              f"(photo | style | AdaIN; redrawn in {ms:.0f} ms)")

    def _on_change(self, change: dict[str, Any]) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def style_ui(mixer: StyleMixer, *, alpha: float = 1.0) -> StyleMixerUI:
    """Choose a photo, a style, alpha and colour preservation; AdaIN redraws the result."""
    return StyleMixerUI(mixer, alpha=alpha)
