"""Plots for the notebooks: image grids, loss curves and toy-GAN scatter plots.

Every plotting function but :func:`snapshot_row` (which makes its own figure) draws into ``ax`` when one is
given (else into a new figure), returns the
:class:`~matplotlib.figure.Figure` and never calls ``plt.show()``, so a figure can be shown by
the notebook, saved with :func:`synthlib.core.runs.save_figure`, or checked in a test.

Images follow synthlib's pixel convention: float in [-1, 1], N x C x H x W
(see :mod:`synthlib.data`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from synthlib.data.pixels import to_unit

ArrayLike = Tensor | np.ndarray | Sequence[float]
Lim = float | tuple[float, float] | None


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure with one axes."""
    if ax is not None:
        return ax.get_figure(), ax  # type: ignore[return-value]
    import matplotlib.pyplot as plt  # lazily: importing pyplot picks a backend

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def _numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


# ----------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------


def image_grid(
    images: Tensor, nrow: int = 8, *, ax: Axes | None = None, title: str | None = None, padding: int = 2
) -> Figure:
    """Show images (N x C x H x W in [-1, 1], C = 1 or 3) as one grid with ``nrow`` per row.

    One-channel images are shown in grey. A single C x H x W image is accepted too.
    """
    from torchvision.utils import make_grid

    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"image_grid expects N x C x H x W images with C = 1 or 3, got {tuple(images.shape)}")
    grid = make_grid(to_unit(images.detach().float().cpu()), nrow=nrow, padding=padding, pad_value=1.0)  # (3, H', W')
    rows = -(-images.shape[0] // nrow)  # ceil
    cols = min(nrow, images.shape[0])
    fig, ax = _axes(ax, (max(2.0, 1.0 * cols), max(2.0, 1.0 * rows)))
    # make_grid repeats a single channel three times, so grey images stay grey.
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")  # (H', W', 3)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------------------------
# Training curves
# ----------------------------------------------------------------------------------------------


def moving_average(values: ArrayLike, window: int) -> np.ndarray:
    """Mean of each ``window`` consecutive values (length ``len(values) - window + 1``).

    ``window`` larger than the series is shrunk to its length; ``window <= 1`` returns a copy.
    """
    v = _numpy(values).astype(np.float64)
    window = max(1, min(int(window), len(v)))
    if window == 1:
        return v.copy()
    c = np.cumsum(np.insert(v, 0, 0.0))
    return (c[window:] - c[:-window]) / window


def loss_curves(
    history: Mapping[str, Mapping[str, Sequence[float]]],
    keys: Sequence[str] | None = None,
    *,
    smooth: int = 1,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Plot ``history[key]["value"]`` against ``history[key]["step"]`` for each key.

    ``history`` is :attr:`synthlib.core.train.Trainer.history` (``{"D/loss": {"step": [...], "value":
    [...]}, ...}``). ``keys`` default to every key; keys missing from the history are skipped.
    ``smooth > 1`` plots a moving average over that many logged values, each point placed at the
    last step of its window.
    """
    fig, ax = _axes(ax, (6.0, 3.5))
    keys = list(history) if keys is None else list(keys)
    drawn = 0
    for key in keys:
        series = history.get(key)
        if not series or not series.get("value"):
            continue
        steps, values = _numpy(series["step"]), _numpy(series["value"])
        smoothed = moving_average(values, smooth)
        ax.plot(steps[len(steps) - len(smoothed):], smoothed, label=key)
        drawn += 1
    if drawn:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no logged values for these keys", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    ax.set_title(title if title else ("loss" if smooth <= 1 else f"loss (moving average of {smooth})"))
    return fig


# ----------------------------------------------------------------------------------------------
# Toy GANs
# ----------------------------------------------------------------------------------------------


def _set_lim(ax: Axes, lim: Lim) -> None:
    if lim is None:
        return
    lo, hi = (-lim, lim) if isinstance(lim, (int, float)) else lim
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)


def scatter_2d(
    samples: ArrayLike,
    *,
    means: ArrayLike | None = None,
    real: ArrayLike | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    lim: Lim = None,
) -> Figure:
    """Scatter 2-D generated ``samples`` (n x 2) in colour over ``real`` samples (grey).

    ``means`` (k x 2): the data's mode centres, drawn as black crosses, so dropped modes show.
    ``lim``: ``r`` for a square [-r, r] window or ``(lo, hi)`` for both axes.
    """
    fig, ax = _axes(ax, (4.0, 4.0))
    fake = _numpy(samples)
    if fake.ndim != 2 or fake.shape[1] != 2:
        raise ValueError(f"scatter_2d expects samples shaped n x 2, got {fake.shape}")
    if real is not None:
        r = _numpy(real)
        ax.scatter(r[:, 0], r[:, 1], s=4, c="0.7", alpha=0.5, label="real", linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="C0", alpha=0.7, label="generated", linewidths=0)
    if means is not None:
        m = _numpy(means)
        ax.scatter(m[:, 0], m[:, 1], marker="x", s=40, c="k", label="modes")
    ax.set_aspect("equal")
    _set_lim(ax, lim)
    if title:
        ax.set_title(title)
    return fig


def snapshot_row(
    snapshots: Sequence[tuple[int, ArrayLike]],
    means: ArrayLike | None = None,
    *,
    real: ArrayLike | None = None,
    lim: Lim = None,
    size: float = 3.0,
    title: str | None = None,
) -> Figure:
    """One :func:`scatter_2d` per ``(step, samples)`` snapshot, side by side, titled by step."""
    import matplotlib.pyplot as plt

    if not snapshots:
        raise ValueError("snapshot_row needs at least one (step, samples) snapshot")
    fig, axes = plt.subplots(1, len(snapshots), figsize=(size * len(snapshots), size), squeeze=False)
    for ax, (step, samples) in zip(axes[0], snapshots):
        scatter_2d(samples, means=means, real=real, ax=ax, lim=lim, title=f"step {step}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def density_1d(
    x: ArrayLike,
    curves: Mapping[str, ArrayLike],
    *,
    samples: Mapping[str, ArrayLike] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    bins: int = 60,
) -> Figure:
    """Plot 1-D densities ``curves[name]`` evaluated at the points ``x``.

    ``samples`` (optional, name -> 1-D samples) are drawn as normalised histograms underneath,
    e.g. ``density_1d(x, {"data": dist.pdf(x)}, samples={"G": fake})``.
    """
    fig, ax = _axes(ax, (6.0, 3.0))
    xs = _numpy(x).reshape(-1)
    for name, values in (samples or {}).items():
        ax.hist(_numpy(values).reshape(-1), bins=bins, density=True, alpha=0.4, label=name)
    for name, y in curves.items():
        ax.plot(xs, _numpy(y).reshape(-1), label=name)
    if curves or samples:
        ax.legend(fontsize="small")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    return fig

