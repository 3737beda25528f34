"""Chapter 6's mask painter: paint a hole with the mouse and see each method fill it.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from synthlib.data.pixels import to_uint8
from synthlib.ui import side_by_side, to_png

# ----------------------------------------------------------------------------------------------
# Chapter 6: paint an inpainting mask, see the classical and learned fills
# ----------------------------------------------------------------------------------------------

InpaintMethod = Callable[[Tensor, Tensor], Tensor]


class MaskPainter:
    """A hole painted into one photo with a round brush, and what each inpainting method makes of it.

    ``image``:   the photo, 3 x H x W in [-1, 1].
    ``methods``: names -> functions ``(image with holes, hole) -> restored image``, all 3 x H x W; the hole
                 is a bool H x W tensor, True where pixels are missing (the convention of
                 :mod:`synthlib.restoration`, so ``inpaint_biharmonic`` and ``inpaint_telea`` plug in as is).
    ``brush``:   the default brush radius in image pixels.
    ``fill``:    the value the methods see in the hole (0: mid grey, what :func:`restoration.apply_mask`
                 writes); the true pixels never reach them, so a method cannot cheat.

    Coordinates are image pixels, x to the right and y down, integers at pixel centres: pixel
    ``hole[y, x]`` is painted when its centre lies within ``radius`` of the brush (and the pixel nearest
    the brush always is, so a radius 0 brush paints single pixels). The plain functions a widget calls:

    * :meth:`paint`, :meth:`stroke`, :meth:`clear`, :meth:`set_hole` -- change the hole;
    * :meth:`results` -- the masked photo and every method's fill, known pixels kept exactly;
    * :meth:`render`  -- those side by side (3 x H x W').
    """

    def __init__(self, image: Tensor, methods: dict[str, InpaintMethod], *, brush: int = 6, fill: float = 0.0) -> None:
        if not isinstance(image, Tensor) or image.ndim != 3 or image.shape[0] != 3 or min(image.shape[1:]) < 1:
            shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
            raise ValueError(f"MaskPainter needs one RGB image 3 x H x W, got {shape}")
        if not image.is_floating_point():
            raise ValueError(f"MaskPainter needs a float image in [-1, 1], got {image.dtype}")
        image = image.detach().float().cpu()
        if not torch.isfinite(image).all() or image.abs().max() > 1 + 1e-6:
            raise ValueError(f"MaskPainter needs pixels in [-1, 1], got [{image.min():.3g}, {image.max():.3g}]")
        if not isinstance(methods, dict) or not methods:
            raise ValueError("MaskPainter needs a non-empty dict of methods, name -> f(image, hole) -> image")
        for name, method in methods.items():
            if not isinstance(name, str) or not name or name == "masked":
                raise ValueError(f"method names must be non-empty strings other than 'masked', got {name!r}")
            if not callable(method):
                raise ValueError(f"method {name!r} is not callable: {method!r}")
        if int(brush) != brush or brush < 0:
            raise ValueError(f"brush must be a radius >= 0 in pixels, got {brush}")
        self.image = image.clone()
        self.methods = dict(methods)
        self.brush = int(brush)
        self.fill = float(fill)
        _, h, w = image.shape
        self.hole = torch.zeros(h, w, dtype=torch.bool)
        self.seconds: dict[str, float] = {}

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the photo."""
        return tuple(self.hole.shape)  # type: ignore[return-value]

    def _radius(self, radius: float | None) -> float:
        r = self.brush if radius is None else radius
        if not r >= 0:  # also catches NaN
            raise ValueError(f"the brush radius must be >= 0, got {r}")
        return float(r)

    # -- changing the hole -------------------------------------------------------------------
    def paint(self, x: float, y: float, radius: float | None = None) -> None:
        """Mark a filled disc of ``radius`` (default: ``brush``) pixels around (x, y) as missing; the
        parts outside the photo are dropped, so a brush at the border paints what it covers."""
        r = self._radius(radius)
        h, w = self.size
        # Only the disc's bounding box, clipped to the image, is looked at.
        top, bottom = max(0, math.ceil(y - r)), min(h - 1, math.floor(y + r))
        left, right = max(0, math.ceil(x - r)), min(w - 1, math.floor(x + r))
        if top <= bottom and left <= right:
            ys = torch.arange(top, bottom + 1, dtype=torch.float32)[:, None]
            xs = torch.arange(left, right + 1, dtype=torch.float32)[None, :]
            self.hole[top : bottom + 1, left : right + 1] |= (xs - x) ** 2 + (ys - y) ** 2 <= r * r
        # The nearest pixel as well: a disc narrower than a pixel may hold no pixel centre at all.
        cx, cy = math.floor(x + 0.5), math.floor(y + 0.5)
        if 0 <= cx < w and 0 <= cy < h:
            self.hole[cy, cx] = True

    def stroke(self, points: Sequence[tuple[float, float]], radius: float | None = None) -> None:
        """Paint along the polyline through ``points`` [(x, y), ...]: discs at most half a radius apart
        (half a pixel for brushes under one pixel) on every segment, so fast mouse moves, which arrive
        as points far apart, still leave a continuous line."""
        r = self._radius(radius)
        pts = [(float(px), float(py)) for px, py in points]
        if not pts:
            return
        step = max(r, 1.0) / 2
        self.paint(*pts[0], radius=r)
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
            for i in range(1, n + 1):
                t = i / n
                self.paint(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, radius=r)

    def clear(self) -> None:
        """No missing pixels any more."""
        self.hole.zero_()

    def set_hole(self, mask: Tensor) -> None:
        """Replace the hole by ``mask`` (bool H x W, True = missing), e.g. one of
        :func:`restoration.box_mask` or :func:`restoration.stroke_mask`."""
        mask = torch.as_tensor(mask)
        if mask.dtype != torch.bool or tuple(mask.shape) != self.size:
            raise ValueError(f"the hole must be a bool tensor of the photo's size {self.size}, got "
                             f"{mask.dtype} {tuple(mask.shape)}")
        self.hole = mask.detach().cpu().clone()

    @property
    def coverage(self) -> float:
        """The fraction of the photo's pixels that are missing, in [0, 1]."""
        return float(self.hole.float().mean())

    # -- the fills ---------------------------------------------------------------------------
    def masked(self, value: float = 1.0) -> Tensor:
        """The photo with its missing pixels set to ``value`` (white by default, to show the hole)."""
        return torch.where(self.hole, torch.tensor(value), self.image)

    def results(self) -> dict[str, Tensor]:
        """``{"masked": photo with the hole white, name: fill for each method, in order}``, all 3 x H x W.

        Each method sees the photo with ``fill`` in the hole and the hole itself (copies: a method that
        writes into its inputs changes nothing here). Its output is kept only inside the hole -- the
        known pixels are the photo's, exactly, whatever the method did to them -- so the pictures
        differ where the methods' guesses do. Without a hole the methods are not run and every result
        is the photo. ``self.seconds`` holds each method's wall time for this call.
        """
        out = {"masked": self.masked(1.0)}
        self.seconds = {}
        hole = self.hole.clone()
        has_hole = bool(hole.any())
        holed = self.masked(self.fill)
        for name, method in self.methods.items():
            if not has_hole:
                out[name], self.seconds[name] = self.image.clone(), 0.0
                continue
            t0 = time.perf_counter()
            restored = method(holed.clone(), hole.clone())
            self.seconds[name] = time.perf_counter() - t0
            if not isinstance(restored, Tensor) or tuple(restored.shape) != tuple(self.image.shape):
                got = tuple(restored.shape) if isinstance(restored, Tensor) else type(restored).__name__
                raise ValueError(f"inpainting method {name!r} returned {got}; it must return one image shaped "
                                 f"like the photo, {tuple(self.image.shape)}")
            restored = restored.detach().float().cpu()
            if not torch.isfinite(restored[:, hole]).all():
                raise ValueError(f"inpainting method {name!r} returned NaN or infinite pixels in the hole")
            out[name] = torch.where(hole, restored, self.image)
        return out

    def render(self) -> Tensor:
        """The masked photo and every method's fill side by side (3 x H x W'), in :meth:`results`' order."""
        return side_by_side(list(self.results().values()))


class InpaintUI:
    """The widgets of :func:`inpaint_ui`: a canvas showing the photo with its hole, painted with the
    mouse; a ``brush`` slider and a ``clear`` button; the masked photo and every method's fill side by
    side (``image``, PNG bytes) and a caption with the hole's coverage and each method's time.

    Every callback is a named method taking what the canvas sends, canvas pixels (x, y), so tests and
    notebooks drive it without a browser: :meth:`on_down` starts a stroke, :meth:`on_move` extends it
    (painting at once, and drawing the brush's trace on the canvas), :meth:`on_up` or :meth:`on_out`
    ends it and :meth:`refresh` runs the methods. The methods run once per stroke, not per mouse move:
    a classical fill takes a noticeable fraction of a second, far longer than mouse events come.
    """

    def __init__(self, painter: MaskPainter, *, scale: int = 2) -> None:
        import ipywidgets as W
        from ipycanvas import Canvas

        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a whole number >= 1, got {scale}")
        self.painter, self.scale = painter, int(scale)
        h, w = painter.size
        self.canvas = Canvas(width=w * self.scale, height=h * self.scale,
                             layout=W.Layout(width=f"{w * self.scale}px", height=f"{h * self.scale}px"))
        self.canvas.sync_image_data = False  # nothing here reads the pixels back: keep them in the browser
        self.canvas.add_class("synthlib-mask-canvas")
        self.brush = W.IntSlider(value=painter.brush, min=0, max=max(painter.brush, min(h, w) // 2, 1),
                                 description="brush")
        self.clear = W.Button(description="clear", tooltip="remove the whole hole")
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self._last: tuple[float, float] | None = None  # the stroke's latest point, in image pixels; None: no stroke

        self.canvas.on_mouse_down(self.on_down)
        self.canvas.on_mouse_move(self.on_move)
        self.canvas.on_mouse_up(self.on_up)
        self.canvas.on_mouse_out(self.on_out)
        # A browser view that (re)connects gets a blank canvas: draw the photo again for it.
        self.canvas.on_client_ready(self.draw_canvas)
        self.brush.observe(self.on_brush, names="value")
        self.clear.on_click(self.on_clear)
        self.widget = W.VBox([W.HBox([self.canvas, W.VBox([self.brush, self.clear])]), self.image, self.caption])
        self.refresh()

    # -- coordinates and drawing -------------------------------------------------------------
    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """Canvas pixels -> image pixels: image pixel i covers canvas [i * scale, (i + 1) * scale), so its
        centre, image coordinate i, is at canvas (i + 0.5) * scale."""
        return x / self.scale - 0.5, y / self.scale - 0.5

    def _to_canvas(self, x: float, y: float) -> tuple[float, float]:
        return (x + 0.5) * self.scale, (y + 0.5) * self.scale

    def draw_canvas(self) -> None:
        """Draw the photo with its hole in white, each image pixel a scale x scale block."""
        import numpy as np
        from ipycanvas import hold_canvas

        pixels = to_uint8(self.painter.masked(1.0)).permute(1, 2, 0).numpy()  # (H, W, 3)
        big = np.repeat(np.repeat(pixels, self.scale, axis=0), self.scale, axis=1)
        with hold_canvas():
            self.canvas.put_image_data(big, 0, 0)

    def _draw_trace(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """White round-capped line from ``start`` to ``end`` (image pixels) as wide as the brush: quick
        feedback while the stroke goes on; :meth:`refresh` redraws the exact pixels afterwards."""
        from ipycanvas import hold_canvas

        width = (2 * self.painter.brush + 1) * self.scale
        (x0, y0), (x1, y1) = self._to_canvas(*start), self._to_canvas(*end)
        with hold_canvas():
            self.canvas.fill_style = "white"
            self.canvas.stroke_style = "white"
            self.canvas.line_width = width
            self.canvas.line_cap = "round"
            if (x0, y0) == (x1, y1):
                self.canvas.fill_circle(x0, y0, width / 2)
            else:
                self.canvas.stroke_line(x0, y0, x1, y1)

    # -- callbacks (canvas pixels in) ------------------------------------------------------------
    def on_down(self, x: float, y: float) -> None:
        """Mouse button pressed on the canvas: start a stroke with a dot of the brush."""
        point = self.to_image(x, y)
        self.painter.paint(*point)
        self._draw_trace(point, point)
        self._last = point

    def on_move(self, x: float, y: float) -> None:
        """Mouse moved: with the button down, paint from the previous point to this one."""
        if self._last is None:
            return
        point = self.to_image(x, y)
        self.painter.stroke([self._last, point])
        self._draw_trace(self._last, point)
        self._last = point

    def on_up(self, x: float, y: float) -> None:
        """Mouse button released: end the stroke (at this point) and run the methods."""
        if self._last is None:
            return
        self.on_move(x, y)
        self._last = None
        self.refresh()

    def on_out(self, x: float, y: float) -> None:
        """The mouse left the canvas: the button's release would never reach it, so end the stroke here."""
        self.on_up(x, y)

    def on_brush(self, change: dict[str, Any]) -> None:
        self.painter.brush = int(change["new"])

    def on_clear(self, _: Any = None) -> None:
        """The ``clear`` button: no hole, the photo redrawn, the results refreshed."""
        self._last = None
        self.painter.clear()
        self.refresh()

    # -- results -----------------------------------------------------------------------------
    def caption_text(self, names: Sequence[str]) -> str:
        times = " | ".join(f"{html.escape(name)} {sec:.2f} s" for name, sec in self.painter.seconds.items())
        return (f"coverage {100 * self.painter.coverage:.1f} % | {times} | names: "
                + " | ".join(html.escape(name) for name in names))

    def refresh(self) -> None:
        """Run every method on the current hole; show the results, the caption and the exact hole."""
        results = self.painter.results()
        self.image.value = to_png(side_by_side(list(results.values())), self.scale)
        self.caption.value = self.caption_text(list(results))
        self.draw_canvas()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def inpaint_ui(painter: MaskPainter, *, scale: int = 2) -> InpaintUI:
    """Paint a hole into ``painter``'s photo with the mouse (each image pixel ``scale`` x ``scale`` on screen);
    at the end of every stroke each inpainting method fills it, shown side by side with the masked photo."""
    return InpaintUI(painter, scale=scale)
