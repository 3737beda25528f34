"""The plumbing every explorer shares: seeds, PNG images for the widgets, pictures side by side.

Each family's explorer (``gan/latent_widget.py``, ``translation/compare_widget.py``, ``style/mixer_widget.py``,
``stylegan/stylegan_widget.py``, ``restoration/painter_widget.py``, ``likelihood/diffusion_widget.py``) keeps its
logic in plain methods that return image tensors, which tests call without a browser, and wires ipywidgets to them
in a ``*_ui`` function that imports ipywidgets lazily. What they all need is here, once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from synthlib.data.pixels import to_uint8


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int if it is a whole number in [0, 2**63) (a torch.Generator seed), else a ValueError naming it."""
    try:
        ok = not isinstance(seed, bool) and int(seed) == seed and 0 <= seed < 2**63
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a whole number >= 0, got {seed!r}")
    return int(seed)


def latent_for_seed(seed: int, z_dim: int) -> Tensor:
    """The latent z (z_dim,) ~ N(0, I) that ``seed`` names: same seed, same z, on any device."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def _call(G: nn.Module, z: Tensor, labels: Tensor | None) -> Tensor:
    return G(z) if labels is None else G(z, labels)


def to_png(image: Tensor, scale: int = 4) -> bytes:
    """PNG bytes of one image (C, H, W) in [-1, 1], enlarged ``scale`` times (nearest neighbour)."""
    from PIL import Image

    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"to_png expects one C x H x W image with C = 1 or 3, got {tuple(image.shape)}")
    pixels = to_uint8(image.cpu()).permute(1, 2, 0).numpy()  # (H, W, C)
    pil = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    if scale != 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# Side by side (chapter 3's viewer, chapter 6's painter)
# ----------------------------------------------------------------------------------------------


def side_by_side(images: Sequence[Tensor], gap: int = 2, fill: float = 1.0) -> Tensor:
    """Images (C, H, W) of one size in a row, ``gap`` pixels of ``fill`` between them: (C, H, K*W + gaps)."""
    if not images:
        raise ValueError("side_by_side needs at least one image")
    c, h, _ = images[0].shape
    spacer = torch.full((c, h, gap), fill)
    parts: list[Tensor] = []
    for i, img in enumerate(images):
        if i:
            parts.append(spacer)
        parts.append(img.float().cpu())
    return torch.cat(parts, dim=2)


class ModelSwitch:
    """Several explorers, one shown at a time, under a row of buttons that name them::

        ModelSwitch({"course weights": explorer_ui(course_explorer), "this run": explorer_ui(run_explorer)})

    A chapter's explorer opens on its course weights (the first entry) and the buttons switch to the model the
    chapter just trained; each explorer keeps its own state. ``show(name)`` is what clicking a button does, as a
    plain method for tests; ``current`` is the explorer shown. Any explorer UI works: one with a ``widget``
    attribute (the course's ``*_ui`` objects) or an ipywidget itself.
    """

    def __init__(self, uis: Any, *, description: str = "model") -> None:
        import ipywidgets as W

        self.uis = dict(uis)
        if not self.uis:
            raise ValueError("ModelSwitch needs at least one explorer, e.g. {'course weights': ui}")
        self.name = next(iter(self.uis))
        self.buttons = W.ToggleButtons(options=list(self.uis), value=self.name, description=description)
        self.box = W.Box([_widget_of(self.uis[self.name])])
        self.widget = W.VBox([self.buttons, self.box])
        self.buttons.observe(self.on_model, names="value")

    @property
    def current(self) -> Any:
        return self.uis[self.name]

    def show(self, name: str) -> None:
        """Show explorer ``name`` in place of the current one."""
        if name not in self.uis:
            raise ValueError(f"no model {name!r}: this switch has {', '.join(map(repr, self.uis))}")
        self.name = name
        self.box.children = (_widget_of(self.uis[name]),)
        if self.buttons.value != name:
            self.buttons.value = name

    def on_model(self, change: dict[str, Any]) -> None:
        self.show(change["new"])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _widget_of(ui: Any) -> Any:
    return getattr(ui, "widget", ui)
