"""A latent-space explorer for image generators, usable with or without a browser.

All the logic lives in plain functions and in :class:`LatentExplorer`, whose methods return
image tensors; :func:`explorer_ui` only wires ipywidgets (imported lazily, there) to them::

    explorer = LatentExplorer(G_ema, z_dim=cfg.z_dim, num_classes=10, device=device)
    img = explorer.render(seed=3, offsets=[2.0, 0.0, -1.0], label=7)   # (C, H, W) in [-1, 1]
    strip = explorer.interpolation_strip(3, 4, steps=8)                # (8, C, H, W)
    explorer_ui(explorer, class_names=FASHION_MNIST_CLASSES)           # the interactive version

Directions (GANSpace-style, Haerkoenen et al. 2020, with G's output images as the features)
-------------------------------------------------------------------------------------------
1. Draw ``num_samples`` latents z ~ N(0, I) and generate their images y = G(z) (flattened).
2. PCA of the images: the top ``k`` principal components of y, and each image's coordinates
   (scores) x on them. For a conditional G the images are centred per class first, so the
   components describe variation *within* a class (pose, thickness, brightness), not between
   classes, which the class label already controls.
3. Map the components back into z-space by least squares, ``U = argmin_U sum_j ||x_j U - z_j||^2``:
   row i of U is the change of z that goes with one unit of component i.
4. Orthonormalise the rows of U (QR, in order, keeping each row's sign).

Because z ~ N(0, I), z's projection on any unit direction has standard deviation 1, so a slider
offset of 2 moves z by two standard deviations along that direction.
"""

from __future__ import annotations

import html
import io
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from synthlib.data import to_uint8
from synthlib.sample import evaluating, model_device

InterpMode = Literal["linear", "slerp"]

# ----------------------------------------------------------------------------------------------
# Interpolation
# ----------------------------------------------------------------------------------------------


def lerp(a: Tensor, b: Tensor, t: float | Tensor) -> Tensor:
    """Linear interpolation ``(1 - t) a + t b`` (t = 0 gives a, t = 1 gives b).

    Between two Gaussian latents the midpoint is shorter than either (|a + b| / 2 ~ sqrt(d / 2)
    against sqrt(d)): it lies where N(0, I) almost never samples, which is why :func:`slerp`
    is preferred for z.
    """
    return a + (b - a) * t


def slerp(a: Tensor, b: Tensor, t: float | Tensor, eps: float = 1e-7) -> Tensor:
    """Spherical linear interpolation along the last dimension (White, 2016, "Sampling
    Generative Networks")::

        slerp(a, b; t) = sin((1 - t) W) / sin W * a + sin(t W) / sin W * b,
        W = arccos(a . b / (|a| |b|)).

    It follows the great circle from a to b, so for |a| = |b| every point keeps that norm: the
    path stays on the shell where Gaussian latents live. Nearly parallel vectors (sin W ~ 0)
    fall back to :func:`lerp`.
    """
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    cos = (a_unit * b_unit).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    parallel = sin.abs() < 1e-4
    safe_sin = torch.where(parallel, torch.ones_like(sin), sin)
    out = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / safe_sin
    return torch.where(parallel, lerp(a, b, t), out)


def interpolate_latents(a: Tensor, b: Tensor, t: float | Tensor, mode: InterpMode = "slerp") -> Tensor:
    """:func:`slerp` or :func:`lerp` by name."""
    if mode == "slerp":
        return slerp(a, b, t)
    if mode == "linear":
        return lerp(a, b, t)
    raise ValueError(f"mode must be 'linear' or 'slerp', got {mode!r}")


# ----------------------------------------------------------------------------------------------
# Principal directions
# ----------------------------------------------------------------------------------------------


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


def _pca_scores(y: Tensor, k: int) -> Tensor:
    """Coordinates (n, k) of centred rows y (n, D) on their top k principal components.

    Eigen-decomposes the smaller of the two Gram matrices (D x D or n x n), which is much faster
    than an SVD of y in float64: y = U S V^T, so y^T y = V S^2 V^T, y y^T = U S^2 U^T, scores = U S = y V.
    """
    n, d = y.shape
    if d <= n:
        _, evecs = torch.linalg.eigh(y.T @ y)  # eigenvalues ascending
        return y @ evecs[:, -k:].flip(1)
    evals, evecs = torch.linalg.eigh(y @ y.T)
    return evecs[:, -k:].flip(1) * evals[-k:].flip(0).clamp_min(0).sqrt()


def principal_directions(
    G: nn.Module,
    *,
    z_dim: int,
    num_directions: int = 3,
    num_classes: int = 0,
    num_samples: int = 2000,
    seed: int = 0,
    batch_size: int = 500,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Orthonormal latent directions (num_directions, z_dim) along which G's images vary most.

    See the module docstring for the method. Runs G in eval mode without gradients and restores
    its mode. Deterministic for a given ``seed``.
    """
    if not 1 <= num_directions <= min(z_dim, num_samples):
        raise ValueError(f"num_directions must be in 1..{min(z_dim, num_samples)}, got {num_directions}")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, z_dim, generator=gen)  # (n, z_dim)
    labels = torch.randint(0, num_classes, (num_samples,), generator=gen) if num_classes > 0 else None
    feats = []
    with evaluating(G):
        for start in range(0, num_samples, batch_size):
            zb = z[start : start + batch_size].to(device)
            lb = None if labels is None else labels[start : start + batch_size].to(device)
            feats.append(_call(G, zb, lb).flatten(1).float().cpu())
    y = torch.cat(feats)  # (n, D) images, flattened
    if labels is None:
        y = y - y.mean(0)
    else:  # centre per class: PCA then sees within-class variation only
        for c in labels.unique():
            y[labels == c] -= y[labels == c].mean(0)
    scores = _pca_scores(y, num_directions)  # (n, k) coordinates on the top k components
    # z ~ x U: least squares, one row of U per component.
    coef = torch.linalg.lstsq(scores, z).solution  # (k, z_dim)
    q, r = torch.linalg.qr(coef.T)  # (z_dim, k): Gram-Schmidt of the rows of coef, in order
    signs = torch.diagonal(r).sign()
    signs[signs == 0] = 1.0
    q = q * signs  # QR fixes each column only up to sign: keep the sign of coef's row
    return q.T.contiguous()  # (k, z_dim)


# ----------------------------------------------------------------------------------------------
# The explorer
# ----------------------------------------------------------------------------------------------


class LatentExplorer:
    """Plain methods that turn (seed, direction offsets, class, interpolation) into images.

    G:              a generator ``G(z)`` or ``G(z, labels)`` returning N x C x H x W in [-1, 1].
    num_classes:    > 0 for a class-conditional G (then every method needs a ``label``).
    device:         where G's inputs go; None: G's own device.
    directions:     (k, z_dim) directions to use instead of computing them; rows are normalised.
    num_directions, num_samples, direction_seed: see :func:`principal_directions`.

    G runs in eval mode under ``torch.no_grad()``; its train/eval mode is restored after each call.
    """

    def __init__(
        self,
        G: nn.Module,
        *,
        z_dim: int,
        num_classes: int = 0,
        device: str | torch.device | None = None,
        num_directions: int = 3,
        directions: Tensor | None = None,
        num_samples: int = 2000,
        direction_seed: int = 0,
    ) -> None:
        self.G, self.z_dim, self.num_classes = G, z_dim, num_classes
        self.device = model_device(G) if device is None else torch.device(device)
        if model_device(G).type != self.device.type:
            raise ValueError(f"G is on {model_device(G)}, not on {self.device}: move it there first, G.to(device)")
        if directions is None:
            directions = principal_directions(
                G, z_dim=z_dim, num_directions=num_directions, num_classes=num_classes,
                num_samples=num_samples, seed=direction_seed, device=self.device,
            )
        elif directions.ndim != 2 or directions.shape[1] != z_dim:
            raise ValueError(f"directions must be shaped (k, {z_dim}), got {tuple(directions.shape)}")
        directions = directions.detach().float().cpu()
        self.directions = directions / directions.norm(dim=1, keepdim=True)  # (k, z_dim), unit rows

    @property
    def num_directions(self) -> int:
        return self.directions.shape[0]

    # -- latents -----------------------------------------------------------------------------
    def latent(self, seed: int, offsets: Sequence[float] = ()) -> Tensor:
        """z (z_dim,) for ``seed``, moved by ``offsets[i]`` standard deviations along direction i."""
        if len(offsets) > self.num_directions:
            raise ValueError(f"got {len(offsets)} offsets for {self.num_directions} directions")
        z = latent_for_seed(seed, self.z_dim)
        if len(offsets):
            z = z + torch.as_tensor(offsets, dtype=torch.float32) @ self.directions[: len(offsets)]
        return z

    def generate(self, z: Tensor, label: int | None = None) -> Tensor:
        """Images (N, C, H, W) for latents z (N, z_dim), all of class ``label`` (conditional G)."""
        if self.num_classes > 0:
            if label is None or not 0 <= label < self.num_classes:
                raise ValueError(f"this generator is conditional: give a label in 0..{self.num_classes - 1}, got {label}")
            labels: Tensor | None = torch.full((z.shape[0],), int(label), dtype=torch.long, device=self.device)
        elif label is not None:
            raise ValueError("this generator is unconditional (num_classes=0); it takes no label")
        else:
            labels = None
        with evaluating(self.G):
            return _call(self.G, z.to(self.device), labels).float().cpu()

    # -- images ------------------------------------------------------------------------------
    def render(
        self,
        seed: int,
        offsets: Sequence[float] = (),
        label: int | None = None,
        *,
        seed_b: int | None = None,
        t: float = 0.0,
        mode: InterpMode = "slerp",
    ) -> Tensor:
        """One image (C, H, W) in [-1, 1]: seed's z moved along the directions by ``offsets``
        (in standard deviations), then, if ``seed_b`` is given, interpolated a fraction ``t`` of
        the way towards seed_b's z."""
        z = self.latent(seed, offsets)
        if seed_b is not None and t != 0.0:
            z = interpolate_latents(z, latent_for_seed(seed_b, self.z_dim), t, mode)
        return self.generate(z[None], label)[0]

    def interpolate(
        self, seed_a: int, seed_b: int, t: float, mode: InterpMode = "slerp", label: int | None = None
    ) -> Tensor:
        """The image (C, H, W) a fraction ``t`` of the way from seed_a's z to seed_b's."""
        return self.render(seed_a, (), label, seed_b=seed_b, t=t, mode=mode)

    def interpolation_strip(
        self, seed_a: int, seed_b: int, steps: int = 8, mode: InterpMode = "slerp", label: int | None = None
    ) -> Tensor:
        """``steps`` images (steps, C, H, W) from seed_a (t = 0) to seed_b (t = 1)."""
        if steps < 2:
            raise ValueError(f"steps must be >= 2, got {steps}")
        za, zb = latent_for_seed(seed_a, self.z_dim), latent_for_seed(seed_b, self.z_dim)
        t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
        z = interpolate_latents(za.expand(steps, -1), zb.expand(steps, -1), t, mode)  # (steps, z_dim)
        return self.generate(z, label)


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
# The widget
# ----------------------------------------------------------------------------------------------


class ExplorerUI:
    """The widgets of :func:`explorer_ui` and the plain functions behind them.

    ``widget`` is the ipywidgets VBox (the object itself displays as it in Jupyter). Tests and
    notebooks can set ``seed.value``, ``sliders[i].value``, ``seed_b.value``, ``t.value``,
    ``mode.value`` or ``label.value`` and read ``image.value`` (PNG bytes): every change
    calls :meth:`update`, which renders :meth:`render_current` into the image.
    """

    def __init__(
        self, explorer: LatentExplorer, class_names: Sequence[str] | None = None, *, scale: int = 4, max_seed: int = 1000
    ) -> None:
        import ipywidgets as W  # lazily: only the interactive view needs it

        self.explorer, self.scale = explorer, scale
        k = explorer.num_classes
        if class_names is not None and len(class_names) != k:
            raise ValueError(f"got {len(class_names)} class names for a generator with {k} classes")
        self.seed = W.IntSlider(value=0, min=0, max=max_seed, description="seed")
        self.sliders = [
            W.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.1, description=f"PC {i + 1}")
            for i in range(explorer.num_directions)
        ]
        self.seed_b = W.IntSlider(value=1, min=0, max=max_seed, description="seed B")
        self.t = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="t (to B)")
        self.mode = W.ToggleButtons(options=["slerp", "linear"], value="slerp", description="path")
        self.label = None
        if k > 0:
            names = class_names if class_names is not None else [str(i) for i in range(k)]
            self.label = W.Dropdown(options=[(name, i) for i, name in enumerate(names)], value=0, description="class")
        self.image = W.Image(format="png")
        controls: list[Any] = [self.seed, *self.sliders, self.seed_b, self.t, self.mode]
        if self.label is not None:
            controls.append(self.label)
        for control in controls:
            control.observe(self._on_change, names="value")
        self.widget = W.VBox([self.image, *controls])
        self.update()

    def render_current(self) -> Tensor:
        """The image (C, H, W) the widgets' current values describe."""
        return self.explorer.render(
            self.seed.value,
            [s.value for s in self.sliders],
            None if self.label is None else self.label.value,
            seed_b=self.seed_b.value,
            t=self.t.value,
            mode=self.mode.value,
        )

    def update(self) -> None:
        """Render the current image into the Image widget."""
        self.image.value = to_png(self.render_current(), self.scale)

    def _on_change(self, change: dict[str, Any]) -> None:
        self.update()  # the observer stays a thin wrapper

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def explorer_ui(
    explorer: LatentExplorer, class_names: Sequence[str] | None = None, *, scale: int = 4, max_seed: int = 1000
) -> ExplorerUI:
    """Sliders for seed and directions, a second seed with an interpolation slider and a
    slerp/linear toggle, a class dropdown for a conditional G, and the image (enlarged ``scale``
    times). Show it with ``display(ui)`` or as a cell's last expression; ``ui.widget`` is the VBox."""
    return ExplorerUI(explorer, class_names, scale=scale, max_seed=max_seed)


# ----------------------------------------------------------------------------------------------
# Side-by-side comparison of image-to-image models (chapter 3)
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


class ComparisonViewer:
    """What several models made of the same inputs, per direction, looked up by name.

    ``columns[direction]`` maps a column title ("input", "L1", "Pix2Pix", ..., "true") to images
    (N, C, H, W) in [-1, 1], row i belonging to ``names[i]``. Everything is computed once, so
    moving a control only looks images up. The plain functions the widget calls:

    * :meth:`matches` -- indices whose name contains a query (case-insensitive), or equal its code;
    * :meth:`render`  -- the row of one item in one direction, side by side (C, H, W);
    * :meth:`scores`  -- per-item numbers to print under the picture (optional ``scores`` input).
    """

    def __init__(
        self,
        names: Sequence[str],
        columns: dict[str, dict[str, Tensor]],
        *,
        codes: Sequence[str] | None = None,
        scores: dict[str, dict[str, Tensor]] | None = None,
    ) -> None:
        if not columns:
            raise ValueError("ComparisonViewer needs at least one direction of columns")
        for direction, cols in columns.items():
            for title, imgs in cols.items():
                if len(imgs) != len(names):
                    raise ValueError(f"{direction}/{title}: {len(imgs)} images for {len(names)} names")
        self.names, self.columns = list(names), columns
        self.codes = list(codes) if codes is not None else None
        self.score_table = scores or {}

    @property
    def directions(self) -> list[str]:
        return list(self.columns)

    def titles(self, direction: str) -> list[str]:
        return list(self.columns[direction])

    def matches(self, query: str, limit: int = 200) -> list[int]:
        q = query.strip().lower()
        if not q:
            return list(range(min(limit, len(self.names))))
        hits = [i for i, n in enumerate(self.names) if q in n.lower()]
        if self.codes is not None:
            hits += [i for i, c in enumerate(self.codes) if c.lower() == q and i not in hits]
        return hits[:limit]

    def render(self, index: int, direction: str) -> Tensor:
        if direction not in self.columns:
            raise ValueError(f"direction {direction!r}; this viewer has {self.directions}")
        return side_by_side([imgs[index] for imgs in self.columns[direction].values()])

    def scores(self, index: int, direction: str) -> dict[str, float]:
        return {title: float(v[index]) for title, v in self.score_table.get(direction, {}).items()}


class ComparisonUI:
    """The widgets of :func:`comparison_ui`: a search box, a dropdown of the matching items, a
    direction toggle, the picture and a caption. Set ``search.value``, ``choice.value`` (an index)
    or ``direction.value`` and read ``image.value`` (PNG bytes); every change calls :meth:`update`."""

    def __init__(self, viewer: ComparisonViewer, *, scale: int = 3, score_name: str = "PSNR dB") -> None:
        import ipywidgets as W

        self.viewer, self.scale, self.score_name = viewer, scale, score_name
        self.search = W.Text(value="", placeholder="search by name, e.g. cat", description="search",
                             continuous_update=True)
        self.choice = W.Dropdown(options=self._options(""), description="emoji", layout=W.Layout(width="420px"))
        self.direction = W.ToggleButtons(options=viewer.directions, value=viewer.directions[0], description="direction")
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self.search.observe(self._on_search, names="value")
        self.choice.observe(self._on_change, names="value")
        self.direction.observe(self._on_change, names="value")
        self.widget = W.VBox([W.HBox([self.search, self.choice]), self.direction, self.image, self.caption])
        self.update()

    def _options(self, query: str) -> list[tuple[str, int]]:
        return [(self.viewer.names[i], i) for i in self.viewer.matches(query)]

    def set_query(self, query: str) -> None:
        """Filter the dropdown to the items matching ``query`` and show the first (no match: keep the current)."""
        options = self._options(query)
        if options:
            self.choice.options = options
            self.choice.value = options[0][1]

    def caption_text(self) -> str:
        index, direction = self.choice.value, self.direction.value
        titles = " | ".join(self.viewer.titles(direction))
        scores = self.viewer.scores(index, direction)
        numbers = ", ".join(f"{t} {v:.1f}" for t, v in scores.items())
        return f"<b>{self.viewer.names[index]}</b> ({direction}): {titles}" + (
            f"<br>{self.score_name} against the true image: {numbers}" if numbers else "")

    def render_current(self) -> Tensor:
        return self.viewer.render(self.choice.value, self.direction.value)

    def update(self) -> None:
        if self.choice.value is None:
            return
        self.image.value = to_png(self.render_current(), self.scale)
        self.caption.value = self.caption_text()

    def _on_search(self, change: dict[str, Any]) -> None:
        self.set_query(change["new"])

    def _on_change(self, change: dict[str, Any]) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def comparison_ui(viewer: ComparisonViewer, *, scale: int = 3, score_name: str = "PSNR dB") -> ComparisonUI:
    """Pick an item by name (search box + dropdown), toggle the direction, see every column side by side."""
    return ComparisonUI(viewer, scale=scale, score_name=score_name)


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
        from synthlib.style import adain_decode

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
        import time

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


# ----------------------------------------------------------------------------------------------
# Chapter 5: StyleGAN explorer -- truncation, style mixing, noise, projection
# ----------------------------------------------------------------------------------------------

ProjectFn = Callable[..., Any]  # project_fn(G, target (1, C, S, S), steps) -> w, ws, or (w or ws, noise list)


class StyleGANExplorer:
    """Two seeds through a :class:`~synthlib.models.stylegan.StyleGANGenerator`, mixed, truncated and
    re-noised; optionally real images projected into its w space.

    State (plain attributes, changed through the setters, which check them): ``seed_a``, ``seed_b``,
    ``psi`` (truncation, 1: none, 0: every seed gives the average image), ``crossover`` (layers
    ``< crossover`` take seed A's w, the rest seed B's; ``G.num_ws``: all A, no mixing; 0: all B),
    ``noise_seed`` (the per-pixel noise: drawn from ``torch.Generator().manual_seed(noise_seed)`` by
    ``G.make_noise(1, generator)``, so a state always gives the same picture), ``target_index``.

    ``targets`` (N, C, S, S) in [-1, 1] are real images to project with ``project_fn(G, target, steps)``,
    which gets one target as (1, C, S, S) on G's device and returns its w (w_dim,) / (1, w_dim), its ws
    (num_ws, w_dim) / (1, num_ws, w_dim), or a pair (w or ws, noise list) when it fits the noise maps too.
    It runs with G in eval mode and gradients on (it optimises); everything else runs under ``no_grad``.

    The plain functions a widget calls: :meth:`set_seed_a`, :meth:`set_seed_b`, :meth:`set_psi`,
    :meth:`set_crossover`, :meth:`resample_noise`, :meth:`set_target`, :meth:`project`; and to read:
    :meth:`ws`, :meth:`image`, :meth:`images`, :meth:`projection`, :meth:`render`, :meth:`mixing_text`.
    Every image is (C, S, S), clamped to [-1, 1] (StyleGAN's output is linear).
    """

    def __init__(
        self,
        G: nn.Module,
        *,
        seed_a: int = 0,
        seed_b: int = 1,
        psi: float = 1.0,
        crossover: int | None = None,
        noise_seed: int = 0,
        targets: Tensor | None = None,
        project_fn: ProjectFn | None = None,
    ) -> None:
        for name in ("mapping", "synthesis", "truncate", "mix", "make_noise", "num_ws", "config"):
            if not hasattr(G, name):
                raise ValueError(f"StyleGANExplorer needs a StyleGANGenerator (G.{name} is missing), "
                                 f"got {type(G).__name__}")
        self.G = G
        self.device = model_device(G)
        cfg = G.config
        if targets is not None:
            expected = (cfg.img_channels, cfg.img_size, cfg.img_size)
            if not isinstance(targets, Tensor) or targets.ndim != 4 or tuple(targets.shape[1:]) != expected \
                    or targets.shape[0] < 1:
                got = tuple(targets.shape) if isinstance(targets, Tensor) else type(targets).__name__
                raise ValueError(f"targets must be real images shaped (N, {', '.join(map(str, expected))}) like G's "
                                 f"output, got {got}")
            targets = targets.detach().float().cpu().clamp(-1.0, 1.0)
        if project_fn is not None and not callable(project_fn):
            raise ValueError(f"project_fn must be a function (G, target, steps) -> w, got {project_fn!r}")
        self.targets, self.project_fn = targets, project_fn
        self.target_index = 0
        self._projected: dict[int, tuple[Tensor, list[Tensor] | None]] = {}  # target index -> (ws, noise or None)
        self.seed_a = self.seed_b = 0
        self.psi, self.crossover, self.noise_seed = 1.0, self.num_ws, 0
        self.set_seed_a(seed_a)
        self.set_seed_b(seed_b)
        self.set_psi(psi)
        self.set_crossover(self.num_ws if crossover is None else crossover)
        self.noise_seed = check_seed(noise_seed, "noise_seed")

    @property
    def num_ws(self) -> int:
        """How many w inputs (layers, for mixing) the generator has."""
        return int(self.G.num_ws)

    # -- changing the state ------------------------------------------------------------------

    def set_seed_a(self, seed: int) -> None:
        """The seed whose w feeds the layers below the crossover (the coarse ones)."""
        self.seed_a = check_seed(seed, "seed A")

    def set_seed_b(self, seed: int) -> None:
        """The seed whose w feeds the layers from the crossover on (the fine ones)."""
        self.seed_b = check_seed(seed, "seed B")

    def set_psi(self, psi: float) -> None:
        """Truncation ``w_avg + psi (w - w_avg)``, psi in [0, 1]."""
        if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0.0 <= psi <= 1.0:
            raise ValueError(f"psi must be in [0, 1] (1: no truncation, 0: every seed gives the average image "
                             f"w_avg), got {psi!r}")
        self.psi = float(psi)

    def set_crossover(self, k: int) -> None:
        """Layers ``0 .. k-1`` from seed A, ``k .. num_ws-1`` from seed B (k = num_ws: seed A alone)."""
        if isinstance(k, bool) or int(k) != k or not 0 <= k <= self.num_ws:
            raise ValueError(f"crossover must be a whole number in 0..{self.num_ws} (this G has {self.num_ws} "
                             f"layers of w; {self.num_ws}: all from seed A, 0: all from seed B), got {k!r}")
        self.crossover = int(k)

    def resample_noise(self) -> None:
        """Next noise seed: the same ws, fresh per-pixel noise (hair, grain -- the stochastic details)."""
        self.noise_seed += 1

    def set_target(self, i: int) -> None:
        """Show real image ``targets[i]`` (and its reconstruction, once :meth:`project` has run for it)."""
        targets = self._need_targets()
        if isinstance(i, bool) or int(i) != i or not 0 <= i < len(targets):
            raise ValueError(f"target index must be in 0..{len(targets) - 1}, got {i!r}")
        self.target_index = int(i)

    # -- latents and images ------------------------------------------------------------------
    def _mixed_ws(self, crossover: int) -> Tensor:
        z_dim = self.G.config.z_dim
        za = latent_for_seed(self.seed_a, z_dim)[None].to(self.device)
        zb = latent_for_seed(self.seed_b, z_dim)[None].to(self.device)
        with evaluating(self.G):
            return self.G.mix(za, zb, crossover, self.psi)  # (1, num_ws, w_dim)

    def ws(self) -> Tensor:
        """The current ws (num_ws, w_dim): seed A's (truncated) w below the crossover, seed B's above."""
        return self._mixed_ws(self.crossover)[0].float().cpu()

    def noise(self) -> list[Tensor]:
        """The current per-pixel noise, one (1, 1, R, R) tensor per layer, from ``noise_seed``."""
        return self.G.make_noise(1, torch.Generator().manual_seed(self.noise_seed))

    def _synthesize(self, ws: Tensor, noise: list[Tensor] | None = None) -> Tensor:
        """ws (N, num_ws, w_dim) -> images (N, C, S, S) in [-1, 1], with ``noise`` (default: the current)."""
        with evaluating(self.G):
            out = self.G.synthesis(ws.to(self.device), noise=self.noise() if noise is None else noise)
        return out.float().cpu().clamp(-1.0, 1.0)

    def image(self) -> Tensor:
        """The picture (C, S, S) of the current state: mixed, truncated, with the current noise."""
        return self._synthesize(self._mixed_ws(self.crossover))[0]

    def images(self) -> dict[str, Tensor]:
        """``{"A": seed A alone, "B": seed B alone, "mixed": the current state}``, each (C, S, S), all with
        the same psi and noise, drawn in one batch."""
        ws = torch.cat([self._mixed_ws(self.num_ws), self._mixed_ws(0), self._mixed_ws(self.crossover)])
        a, b, mixed = self._synthesize(ws)
        return {"A": a, "B": b, "mixed": mixed}

    def mixing_text(self) -> str:
        """Which layers come from which seed, e.g. "layers 0-3 from seed A, 4-7 from seed B"."""
        k, n = self.crossover, self.num_ws
        if k == n:
            return f"all {n} layers from seed A (no mixing)"
        if k == 0:
            return f"all {n} layers from seed B"
        first = "layer 0" if k == 1 else f"layers 0-{k - 1}"
        rest = f"{k}" if k == n - 1 else f"{k}-{n - 1}"
        return f"{first} from seed A, {rest} from seed B"

    # -- projection --------------------------------------------------------------------------
    def _need_targets(self) -> Tensor:
        if self.targets is None:
            raise ValueError("this explorer has no real images to project: build it with "
                             "StyleGANExplorer(G, targets=images, project_fn=fn)")
        return self.targets

    def _as_ws(self, w: Any) -> Tensor:
        cfg = self.G.config
        if not isinstance(w, Tensor):
            raise ValueError(f"project_fn must return a w or ws tensor (or (ws, noise)), got {type(w).__name__}")
        w = w.detach()
        if w.ndim == 1 or (w.ndim == 2 and tuple(w.shape) == (self.num_ws, cfg.w_dim)):
            w = w[None]
        if w.ndim == 2 and tuple(w.shape) == (1, cfg.w_dim):
            w = w[:, None].expand(-1, self.num_ws, -1)
        if w.ndim != 3 or tuple(w.shape) != (1, self.num_ws, cfg.w_dim):
            raise ValueError(f"project_fn must return one w ({cfg.w_dim},) / (1, {cfg.w_dim}) or one ws "
                             f"({self.num_ws}, {cfg.w_dim}) / (1, {self.num_ws}, {cfg.w_dim}), got {tuple(w.shape)}")
        return w.float().clone()

    def project(self, steps: int) -> tuple[Tensor, Tensor]:
        """Fit a w to the current target with ``project_fn(G, target, steps)``; returns :meth:`projection`."""
        targets = self._need_targets()
        if self.project_fn is None:
            raise ValueError("this explorer has no project_fn: build it with "
                             "StyleGANExplorer(G, targets=images, project_fn=fn), fn(G, target, steps) -> w")
        if isinstance(steps, bool) or int(steps) != steps or steps < 0:
            raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
        target = targets[self.target_index][None].to(self.device)
        modes = [(m, m.training) for m in self.G.modules()]
        self.G.eval()
        try:
            result = self.project_fn(self.G, target, int(steps))
        finally:
            for m, training in modes:
                m.training = training
        noise = None
        if isinstance(result, (tuple, list)):
            if len(result) != 2:
                raise ValueError("project_fn must return w, ws or a pair (ws, noise list)")
            result, noise = result
            if noise is not None:
                noise = [None if n is None else n.detach().to(self.device) for n in noise]
        self._projected[self.target_index] = (self._as_ws(result), noise)
        return self.projection()

    def projection(self) -> tuple[Tensor, Tensor]:
        """(target, reconstruction), each (C, S, S) in [-1, 1]: the real image and G's picture of the w
        :meth:`project` found for it (with the noise project_fn returned, else the current noise)."""
        targets = self._need_targets()
        if self.target_index not in self._projected:
            raise ValueError(f"target {self.target_index} has not been projected yet: call project(steps) first")
        ws, noise = self._projected[self.target_index]
        return targets[self.target_index].clone(), self._synthesize(ws, noise)[0]

    # -- the picture -------------------------------------------------------------------------
    def panels(self) -> dict[str, Tensor]:
        """Every picture :meth:`render` shows, by name: A, B, mixed, then (with targets) the target and,
        once projected, its reconstruction."""
        out = self.images()
        if self.targets is not None:
            if self.target_index in self._projected:
                out["target"], out["reconstruction"] = self.projection()
            else:
                out["target"] = self.targets[self.target_index].clone()
        return out

    def render(self) -> Tensor:
        """:meth:`panels` side by side (C, S, S')."""
        return side_by_side(list(self.panels().values()))


class StyleGANExplorerUI:
    """The widgets of :func:`stylegan_ui`: seed A and seed B boxes, a ``psi`` slider, a ``crossover``
    slider, a ``new noise`` button and, with targets, a ``target`` dropdown, a ``steps`` box and a
    ``project`` button; the picture (``image``, PNG bytes) and a caption (``caption``, HTML).

    Every callback is a thin named method that calls the explorer's setter and then :meth:`update`,
    so tests can set ``seed_a.value``, ``crossover.value``, ... or call ``on_noise()`` / ``on_project()``.
    """

    def __init__(
        self, explorer: StyleGANExplorer, *, scale: int = 4, steps: int = 200, max_seed: int = 2**31 - 1
    ) -> None:
        import ipywidgets as W

        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a whole number >= 1, got {scale}")
        self.explorer, self.scale = explorer, int(scale)
        ex = explorer
        self.seed_a = W.BoundedIntText(value=ex.seed_a, min=0, max=max(max_seed, ex.seed_a), description="seed A")
        self.seed_b = W.BoundedIntText(value=ex.seed_b, min=0, max=max(max_seed, ex.seed_b), description="seed B")
        self.psi = W.FloatSlider(value=ex.psi, min=0.0, max=1.0, step=0.05, description="psi",
                                 continuous_update=False, readout_format=".2f")
        self.crossover = W.IntSlider(value=ex.crossover, min=0, max=ex.num_ws, step=1, description="crossover",
                                     continuous_update=False)
        self.new_noise = W.Button(description="new noise", tooltip="same ws, fresh per-pixel noise")
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self.seed_a.observe(self.on_seed_a, names="value")
        self.seed_b.observe(self.on_seed_b, names="value")
        self.psi.observe(self.on_psi, names="value")
        self.crossover.observe(self.on_crossover, names="value")
        self.new_noise.on_click(self.on_noise)
        rows = [W.HBox([self.seed_a, self.seed_b]), W.HBox([self.psi, self.crossover, self.new_noise])]
        self.target = self.steps = self.project = None
        if ex.targets is not None:
            self.target = W.Dropdown(options=[(f"image {i}", i) for i in range(len(ex.targets))],
                                     value=ex.target_index, description="target")
            self.steps = W.BoundedIntText(value=steps, min=0, max=100_000, description="steps")
            self.project = W.Button(description="project", disabled=ex.project_fn is None,
                                    tooltip="fit a w to the target and show G's picture of it")
            self.target.observe(self.on_target, names="value")
            self.project.on_click(self.on_project)
            rows.append(W.HBox([self.target, self.steps, self.project]))
        self.widget = W.VBox([*rows, self.image, self.caption])
        self.update()

    # -- callbacks: the explorer's setter, then a redraw -------------------------------------------
    def on_seed_a(self, change: dict[str, Any]) -> None:
        self.explorer.set_seed_a(change["new"])
        self.update()

    def on_seed_b(self, change: dict[str, Any]) -> None:
        self.explorer.set_seed_b(change["new"])
        self.update()

    def on_psi(self, change: dict[str, Any]) -> None:
        self.explorer.set_psi(change["new"])
        self.update()

    def on_crossover(self, change: dict[str, Any]) -> None:
        self.explorer.set_crossover(change["new"])
        self.update()

    def on_noise(self, _: Any = None) -> None:
        self.explorer.resample_noise()
        self.update()

    def on_target(self, change: dict[str, Any]) -> None:
        self.explorer.set_target(change["new"])
        self.update()

    def on_project(self, _: Any = None) -> None:
        self.caption.value = f"projecting target {self.explorer.target_index} ..."
        self.explorer.project(self.steps.value if self.steps is not None else 0)
        self.update()

    # -- the picture ---------------------------------------------------------------------------
    def caption_text(self, names: Sequence[str], ms: float) -> str:
        ex = self.explorer
        return (f"{' | '.join(names)}: {ex.mixing_text()}; psi {ex.psi:.2f}, noise seed {ex.noise_seed} "
                f"(redrawn in {ms:.0f} ms)")

    def update(self) -> None:
        """Render the explorer's current panels into the image and say what they are in the caption."""
        t0 = time.perf_counter()
        panels = self.explorer.panels()
        picture = side_by_side(list(panels.values()))
        ms = 1000 * (time.perf_counter() - t0)
        self.image.value = to_png(picture, self.scale)
        self.caption.value = self.caption_text(list(panels), ms)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def stylegan_ui(explorer: StyleGANExplorer, *, scale: int = 4, steps: int = 200) -> StyleGANExplorerUI:
    """Seeds A and B, truncation psi, the style-mixing crossover and a new-noise button over
    A | B | mixed (enlarged ``scale`` times); with targets, pick one and project it (``steps`` iterations)
    to see target | reconstruction beside them."""
    return StyleGANExplorerUI(explorer, scale=scale, steps=steps)


# ----------------------------------------------------------------------------------------------
# Chapter 7: diffusion / flow-matching explorer -- class, guidance, steps, seed, and the reverse process
# ----------------------------------------------------------------------------------------------

NO_CLASS = "none"  # the class value that means "no class": the null label, the unconditional model


def _image_grid(images: Tensor, gap: int = 2, fill: float = 1.0) -> Tensor:
    """Rows of images (R, N, C, H, W) -> one picture (C, R*H + gaps, N*W + gaps), ``gap`` pixels of ``fill``."""
    rows = [side_by_side(list(row), gap=gap, fill=fill) for row in images]
    c, _, w = rows[0].shape
    spacer = torch.full((c, gap, w), fill)
    parts: list[Tensor] = []
    for i, row in enumerate(rows):
        if i:
            parts.append(spacer)
        parts.append(row)
    return torch.cat(parts, dim=1)


class DiffusionExplorer:
    """A small batch of images sampled by a :class:`~synthlib.models.diffusion.DiffusionUNet` (diffusion
    or flow matching), and every state of its reverse process, from the noise to the images.

    State (changed through the setters, which check it): ``label`` (a class index, or None for "no class":
    the model's null label, i.e. the unconditional model; always None for an unconditional model),
    ``guidance`` (classifier-free guidance w >= 0; it only acts with a class), ``steps`` (sampler steps),
    ``seed`` (the starting noise: ``num_images`` images from ``torch.Generator().manual_seed(seed)``), and
    ``position`` in the reverse process: 0 is the noise, :attr:`max_position` (= steps) the final images.

    Changing class, guidance, steps or seed runs :func:`synthlib.diffusion.generate` with
    ``trajectory=True`` once and keeps every state (a few recent trajectories are cached), so
    :meth:`set_position` only picks a stored state. The model's guess of the final image at a position
    (:meth:`prediction`: diffusion's x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar), flow's
    x_t + (1 - t) v) costs one more network call, made when asked for and cached.

    The plain functions a widget calls: :meth:`set_class`, :meth:`set_guidance`, :meth:`set_steps`,
    :meth:`set_seed`, :meth:`set_position`; and to read: :meth:`noise`, :meth:`trajectory`,
    :meth:`state`, :meth:`images`, :meth:`prediction`, :meth:`image`, :meth:`position_text`.
    """

    _CACHE = 8  # trajectories kept (moving a control back and forth does not sample again)

    def __init__(
        self,
        model: nn.Module,
        class_names: Sequence[str] | None = None,
        *,
        label: int | str | None = 0,
        guidance: float = 0.0,
        steps: int = 20,
        seed: int = 0,
        num_images: int = 8,
        sampler: str | None = None,
        show_prediction: bool = True,
    ) -> None:
        cfg = getattr(model, "config", None)
        if getattr(cfg, "process", None) not in ("diffusion", "flow"):
            raise ValueError(f"DiffusionExplorer needs a DiffusionUNet (its config.process is 'diffusion' or "
                             f"'flow'), got {type(model).__name__}")
        self.model, self.config = model, cfg
        self.device = model_device(model)
        self.num_classes = int(cfg.num_classes)
        if class_names is not None:
            class_names = [str(name) for name in class_names]
            if len(class_names) != self.num_classes:
                raise ValueError(f"got {len(class_names)} class names for a model with {self.num_classes} classes")
        self.class_names = class_names
        if isinstance(num_images, bool) or int(num_images) != num_images or num_images < 1:
            raise ValueError(f"num_images must be a whole number >= 1, got {num_images!r}")
        self.num_images = int(num_images)
        from synthlib.diffusion import SAMPLERS

        allowed = SAMPLERS[cfg.process]
        if sampler is not None and sampler not in allowed:
            raise ValueError(f"sampler {sampler!r} does not apply to a {cfg.process} model; use one of {allowed}")
        self.sampler = sampler or allowed[0]
        self.show_prediction = bool(show_prediction)
        self._trajectories: dict[tuple[Any, ...], list[Tensor]] = {}  # key -> states, oldest first
        self._predictions: dict[tuple[Any, ...], Tensor] = {}          # (key, position) -> prediction
        self.last_sample_ms = 0.0
        # Plain defaults, then the setters check the arguments; sampling waits until all are set.
        self._ready = False
        self.label: int | None = None
        self.guidance, self.steps, self.seed, self.position = 0.0, 1, 0, 0
        self.set_class(label if self.num_classes > 0 else None)
        self.set_guidance(guidance)
        self.set_seed(seed)
        self.set_steps(steps)
        self._ready = True
        self._sample()
        self.position = self.max_position

    @property
    def process(self) -> str:
        return str(self.config.process)

    # -- checks --------------------------------------------------------------------------------
    def _check_label(self, k: Any) -> int | None:
        if k is None or (isinstance(k, str) and k.strip().lower() == NO_CLASS):
            return None
        if self.num_classes == 0:
            raise ValueError(f"this model is unconditional (num_classes=0): its only class is {NO_CLASS!r} (or None), "
                             f"got {k!r}")
        if isinstance(k, str) and self.class_names is not None and k in self.class_names:
            return self.class_names.index(k)
        try:
            ok = not isinstance(k, bool) and int(k) == k and 0 <= k < self.num_classes
        except (TypeError, ValueError):
            ok = False
        if not ok:
            names = f" or one of {self.class_names}" if self.class_names is not None else ""
            raise ValueError(f"class must be in 0..{self.num_classes - 1}{names}, or {NO_CLASS!r} / None for no class "
                             f"(the unconditional model), got {k!r}")
        return int(k)

    # -- changing the state ----------------------------------------------------------------------
    def set_class(self, k: int | str | None) -> None:
        """Sample class ``k`` (an index, or a name from ``class_names``); None or "none": no class (the
        null label, so the unconditional model)."""
        self.label = self._check_label(k)
        self._sample()

    def set_guidance(self, w: float) -> None:
        """Classifier-free guidance ``cond + w (cond - uncond)``, w >= 0 (0: the plain conditional model)."""
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ValueError(f"guidance w must be a number >= 0 (0: no guidance), got {w!r}")
        if w != 0 and self.num_classes == 0:
            raise ValueError("guidance needs a class-conditional model (num_classes > 0); this one is unconditional")
        self.guidance = float(w)
        self._sample()

    def set_steps(self, n: int) -> None:
        """Sample in ``n`` steps. The position keeps its place in the process (the final images stay final)."""
        most = self.config.num_timesteps if self.process == "diffusion" else None
        try:
            ok = not isinstance(n, bool) and int(n) == n and n >= 1 and (most is None or n <= most)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            upto = f" and at most the model's {most} diffusion steps" if most is not None else ""
            raise ValueError(f"steps must be a whole number >= 1{upto}, got {n!r}")
        if not self._ready:
            self.steps = int(n)
            return
        old_max = self.max_position
        fraction = self.position / old_max if old_max else 1.0
        self.steps = int(n)
        self._sample()
        self.position = int(round(fraction * self.max_position))

    def set_seed(self, seed: int) -> None:
        """The starting noise: ``num_images`` images of N(0, I) from ``torch.Generator().manual_seed(seed)``."""
        self.seed = check_seed(seed)
        self._sample()

    def set_position(self, i: int) -> None:
        """Show state ``i`` of the reverse process: 0 the noise, :attr:`max_position` the final images."""
        top = self.max_position
        try:
            ok = not isinstance(i, bool) and int(i) == i and 0 <= i <= top
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"position must be a whole number in 0..{top} (0: the noise, {top}: the final "
                             f"images after {self.steps} steps), got {i!r}")
        self.position = int(i)

    # -- sampling ------------------------------------------------------------------------------
    def noise(self) -> Tensor:
        """The starting noise (num_images, C, H, W) the seed names (CPU)."""
        cfg = self.config
        shape = (self.num_images, cfg.img_channels, cfg.img_size, cfg.img_size)
        return torch.randn(shape, generator=torch.Generator().manual_seed(self.seed))

    def labels(self) -> Tensor | None:
        """The labels given to the model: the class for every image, the null label for no class
        (None for an unconditional model)."""
        if self.num_classes == 0:
            return None
        k = self.model.null_class if self.label is None else self.label
        return torch.full((self.num_images,), int(k), dtype=torch.long, device=self.device)

    @property
    def effective_guidance(self) -> float:
        """The w passed to the sampler: without a class, conditional and unconditional are the same
        prediction, so guidance does nothing and is left out (half the network calls)."""
        return 0.0 if self.label is None else self.guidance

    def _key(self) -> tuple[Any, ...]:
        return (self.label, self.effective_guidance, self.steps, self.seed)

    def _current(self) -> list[Tensor] | None:
        return self._trajectories.get(self._key())

    def _sample(self) -> None:
        """Run the sampler for the current class, guidance, steps and seed, unless it is cached."""
        from synthlib.diffusion import generate

        if not self._ready:
            return
        key = self._key()
        if key in self._trajectories:
            self._trajectories[key] = self._trajectories.pop(key)  # most recent last
            return
        t0 = time.perf_counter()
        generator = torch.Generator().manual_seed(self.seed + 1)  # DDPM's per-step noise (unused otherwise)
        with evaluating(self.model):
            states = generate(self.model, self.noise().to(self.device), self.labels(), steps=self.steps,
                              guidance=self.effective_guidance, sampler=self.sampler, generator=generator,
                              trajectory=True)
        self.last_sample_ms = 1000 * (time.perf_counter() - t0)
        self._trajectories[key] = [s.float().cpu() for s in states]
        while len(self._trajectories) > self._CACHE:
            old = next(iter(self._trajectories))
            del self._trajectories[old]
            for k in [k for k in self._predictions if k[0] == old]:
                del self._predictions[k]

    def trajectory(self) -> list[Tensor]:
        """Every state of the reverse process (max_position + 1 tensors (N, C, H, W), CPU), noise first."""
        states = self._current()
        if states is None:  # evicted (cannot happen through the setters); sample again
            self._sample()
            states = self._trajectories[self._key()]
        return states

    @property
    def max_position(self) -> int:
        """The last position: the final images (equal to ``steps`` for the samplers here)."""
        return len(self.trajectory()) - 1

    def state(self) -> Tensor:
        """The state (N, C, H, W) at the current position, as the sampler holds it (not clamped:
        position 0 is the seed's noise exactly)."""
        return self.trajectory()[self.position].clone()

    def images(self) -> Tensor:
        """:meth:`state` clamped to [-1, 1]: at the last position exactly what ``generate`` returns."""
        return self.state().clamp(-1.0, 1.0)

    def _network_time(self, i: int) -> float:
        """The time the network sees at state ``i`` (diffusion: step / T, 1 = noise; flow: 0 = noise)."""
        if self.process == "flow":
            return torch.linspace(0.0, 1.0, self.steps + 1).tolist()[i]
        from synthlib.diffusion import ddim_timesteps

        return ddim_timesteps(self.config.num_timesteps, self.steps)[i] / self.config.num_timesteps

    def prediction(self) -> Tensor:
        """The model's guess (N, C, H, W) in [-1, 1] of the final images from the current state: diffusion's
        predicted clean image x0, flow's x_t + (1 - t) v; the final images themselves at the last position."""
        states = self.trajectory()
        i = self.position
        if i == len(states) - 1:
            return states[i].clamp(-1.0, 1.0)
        key = (self._key(), i)
        if key not in self._predictions:
            from synthlib.diffusion import NoiseSchedule, ddim_timesteps, guided, predict_x0

            x = states[i].to(self.device)
            n = len(x)
            with evaluating(self.model):
                if self.process == "flow":
                    t = self._network_time(i)
                    v = guided(self.model, x, torch.full((n,), t, device=self.device), self.labels(),
                               self.effective_guidance)
                    out = x + (1.0 - t) * v
                else:
                    T = self.config.num_timesteps
                    t = ddim_timesteps(T, self.steps)[i]
                    ab = NoiseSchedule.of(self.model).alpha_bar[t]
                    eps = guided(self.model, x, torch.full((n,), t / T, device=self.device), self.labels(),
                                 self.effective_guidance)
                    out = predict_x0(x, eps, ab)
            self._predictions[key] = out.float().cpu().clamp(-1.0, 1.0)
        return self._predictions[key].clone()

    # -- the picture ---------------------------------------------------------------------------
    def image(self) -> Tensor:
        """The picture (C, H', W'): the current states in a row, and under them (``show_prediction``) the
        model's prediction of the final images from them; 2-pixel white gaps."""
        rows = [self.images()]
        if self.show_prediction:
            rows.append(self.prediction())
        return _image_grid(torch.stack(rows))

    def class_text(self) -> str:
        if self.label is None:
            return "no class (unconditional)"
        return self.class_names[self.label] if self.class_names is not None else f"class {self.label}"

    def position_text(self) -> str:
        """Where the current state is in the reverse process, in words."""
        i, top = self.position, self.max_position
        if i == top:
            where = "the final images"
        elif i == 0:
            where = "the starting noise"
        else:
            where = f"after {i} steps"
        t = "clean" if i == top and self.process == "diffusion" else f"{self._network_time(i):.3f}"
        return f"position {i} of {top} ({where}; network time t = {t})"

    def text(self) -> str:
        """The state in words: class, guidance, steps, seed, position."""
        w = f"guidance w {self.guidance:.2f}"
        if self.label is None and self.guidance != 0:
            w += " (no effect without a class)"
        rows = "x_t | predicted final images" if self.show_prediction else "x_t"
        return (f"{self.process} ({self.sampler}), {self.class_text()}, {w}, {self.steps} steps, seed {self.seed}: "
                f"{self.position_text()}; rows: {rows}")


class DiffusionExplorerUI:
    """The widgets of :func:`diffusion_ui`: a class dropdown ("none": no class), a guidance slider, a
    steps slider, a seed box, a position slider over the reverse process (its maximum follows the
    steps) and a "prediction" checkbox; the picture (``image``, PNG bytes) and a caption (``caption``).

    Every callback is a thin named method that calls the explorer's setter and then :meth:`update`, so
    tests can set ``guidance.value``, ``position.value``, ... in Python.
    """

    def __init__(self, explorer: DiffusionExplorer, *, scale: int = 2, max_steps: int = 100,
                 max_seed: int = 2**31 - 1) -> None:
        import ipywidgets as W

        if isinstance(scale, bool) or int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a whole number >= 1, got {scale}")
        self.explorer, self.scale = explorer, int(scale)
        ex = explorer
        names = ex.class_names if ex.class_names is not None else [str(i) for i in range(ex.num_classes)]
        options: list[tuple[str, Any]] = [("none (unconditional)", NO_CLASS)]
        options += [(name, i) for i, name in enumerate(names)]
        self.label = W.Dropdown(options=options, value=NO_CLASS if ex.label is None else ex.label,
                                description="class", disabled=ex.num_classes == 0)
        self.guidance = W.FloatSlider(value=ex.guidance, min=0.0, max=max(5.0, ex.guidance), step=0.25,
                                      description="guidance w", continuous_update=False, readout_format=".2f",
                                      disabled=ex.num_classes == 0)
        most = ex.config.num_timesteps if ex.process == "diffusion" else max_steps
        self.steps = W.IntSlider(value=ex.steps, min=min(2, ex.steps), max=max(min(max_steps, most), ex.steps),
                                 step=1, description="steps", continuous_update=False)
        self.seed = W.BoundedIntText(value=ex.seed, min=0, max=max(max_seed, ex.seed), description="seed")
        self.position = W.IntSlider(value=ex.position, min=0, max=ex.max_position, step=1, description="position")
        self.show_prediction = W.Checkbox(value=ex.show_prediction, description="prediction", indent=False)
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self._syncing = False
        self.label.observe(self.on_class, names="value")
        self.guidance.observe(self.on_guidance, names="value")
        self.steps.observe(self.on_steps, names="value")
        self.seed.observe(self.on_seed, names="value")
        self.position.observe(self.on_position, names="value")
        self.show_prediction.observe(self.on_prediction, names="value")
        rows = [W.HBox([self.label, self.guidance]), W.HBox([self.steps, self.seed]),
                W.HBox([self.position, self.show_prediction])]
        self.widget = W.VBox([*rows, self.image, self.caption])
        self.update()

    # -- callbacks: the explorer's setter, then a redraw -------------------------------------------
    def on_class(self, change: dict[str, Any]) -> None:
        self.explorer.set_class(change["new"])
        self.update()

    def on_guidance(self, change: dict[str, Any]) -> None:
        self.explorer.set_guidance(change["new"])
        self.update()

    def on_steps(self, change: dict[str, Any]) -> None:
        self.explorer.set_steps(change["new"])
        self._sync_position()
        self.update()

    def on_seed(self, change: dict[str, Any]) -> None:
        self.explorer.set_seed(change["new"])
        self.update()

    def on_position(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return  # the slider follows the explorer (new steps), not the other way round
        self.explorer.set_position(change["new"])
        self.update()

    def on_prediction(self, change: dict[str, Any]) -> None:
        self.explorer.show_prediction = bool(change["new"])
        self.update()

    def _sync_position(self) -> None:
        """The position slider's range and value from the explorer (after the steps changed)."""
        ex = self.explorer
        self._syncing = True
        try:
            if ex.max_position >= self.position.max:
                self.position.max = ex.max_position
                self.position.value = ex.position
            else:
                self.position.value = ex.position
                self.position.max = ex.max_position
        finally:
            self._syncing = False

    # -- the picture ---------------------------------------------------------------------------
    def update(self) -> None:
        """Render the explorer's current picture into the image and describe it in the caption."""
        t0 = time.perf_counter()
        picture = self.explorer.image()
        self.image.value = to_png(picture, self.scale)
        ms = 1000 * (time.perf_counter() - t0)
        self.caption.value = html.escape(
            f"{self.explorer.text()} (sampled in {self.explorer.last_sample_ms:.0f} ms, drawn in {ms:.0f} ms)")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def diffusion_ui(explorer: DiffusionExplorer, *, scale: int = 2, max_steps: int = 100) -> DiffusionExplorerUI:
    """Class (or none), classifier-free guidance w, the number of sampler steps (2 .. ``max_steps``) and the
    seed of a small batch of samples, with a slider along the reverse process from the noise (0) to the
    final images; under the states, the model's prediction of the final images from them. Show it with
    ``display(ui)`` or as a cell's last expression; ``ui.widget`` is the VBox."""
    return DiffusionExplorerUI(explorer, scale=scale, max_steps=max_steps)
