"""Chapter 2's latent explorer for image generators, usable with or without a browser.

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

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from synthlib.sample import evaluating, model_device
from synthlib.ui import _call, latent_for_seed, to_png

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
