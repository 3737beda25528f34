"""Chapter 1's 2-D and 1-D toy distributions with exact densities, and their batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from synthlib.core.config import check_choice

# ----------------------------------------------------------------------------------------------
# Toy distributions with exact densities (Gaussian mixtures)
# ----------------------------------------------------------------------------------------------


class GaussianMixture:
    """Mixture of isotropic Gaussians in d dimensions with an exact ``log_prob``.

    Attributes: ``means`` (k x d), ``stds`` (k,), ``weights`` (k,, sums to 1), ``dim`` (d) and
    ``std``: the largest component standard deviation (the common one for Ring2D / Grid2D).
    """

    def __init__(self, means: Tensor, stds: Tensor, weights: Tensor | None = None) -> None:
        means = torch.as_tensor(means, dtype=torch.float32)
        k = means.shape[0]
        stds = torch.as_tensor(stds, dtype=torch.float32).expand(k).clone()
        weights = torch.ones(k) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        if means.ndim != 2 or weights.shape != (k,):
            raise ValueError(
                f"need means k x d and k weights, got means {tuple(means.shape)}, weights {tuple(weights.shape)}"
            )
        if (stds <= 0).any() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("standard deviations must be > 0 and weights >= 0 with a positive sum")
        self.means, self.stds, self.weights = means, stds, weights / weights.sum()
        self.dim = means.shape[1]
        self.std = float(stds.max())

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples, n x d float32 (on the CPU; reproducible with ``generator``)."""
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator)  # (n, d)
        return self.means[comp] + self.stds[comp, None] * noise

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log density at ``x`` (n x d; n for d = 1) -> (n,)."""
        x = x.to(self.means.device)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"log_prob expects points shaped n x {self.dim}, got {tuple(x.shape)}")
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)  # (n, k)
        var = self.stds**2  # (k,)
        # log N(x; mu_k, s_k^2 I) = -|x - mu_k|^2 / (2 s_k^2) - d log s_k - d/2 log(2 pi)
        log_normal = -0.5 * sq / var - self.dim * (self.stds.log() + 0.5 * math.log(2 * math.pi))
        return torch.logsumexp(log_normal + self.weights.log(), dim=1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={len(self.means)}, dim={self.dim}, std={self.std:g})"


class Mixture1D(GaussianMixture):
    """1-D Gaussian mixture, e.g. ``Mixture1D([-2, 2], [0.5, 0.5])``; ``weights`` default equal."""

    def __init__(self, means: list[float], stds: list[float], weights: list[float] | None = None) -> None:
        if len(means) != len(stds) or (weights is not None and len(weights) != len(means)):
            raise ValueError(f"need as many stds (and weights) as means, got {len(means)} means, {len(stds)} stds")
        w = None if weights is None else torch.tensor(weights)
        super().__init__(torch.tensor(means, dtype=torch.float32)[:, None], torch.tensor(stds), w)  # means: (k, 1)

    def pdf(self, x: Tensor) -> Tensor:
        """Density at the points ``x`` (shape n or n x 1) -> (n,), for plotting."""
        return self.log_prob(x).exp()


class Ring2D(GaussianMixture):
    """``num_modes`` equal-weight Gaussians on a circle of ``radius`` (the classic 8-Gaussians ring)."""

    def __init__(self, num_modes: int = 8, radius: float = 2.0, std: float = 0.05) -> None:
        angle = torch.arange(num_modes, dtype=torch.float32) * (2 * math.pi / num_modes)
        super().__init__(radius * torch.stack([angle.cos(), angle.sin()], dim=1), torch.tensor(std))


class Grid2D(GaussianMixture):
    """``side`` x ``side`` equal-weight Gaussians at ``spacing * (i - (side - 1) / 2)`` per axis."""

    def __init__(self, side: int = 5, spacing: float = 2.0, std: float = 0.05) -> None:
        axis = spacing * (torch.arange(side, dtype=torch.float32) - (side - 1) / 2)
        grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)  # (side^2, 2)
        super().__init__(grid, torch.tensor(std))


_TOY = {"ring": Ring2D, "grid": Grid2D, "mixture1d": Mixture1D}


def toy_distribution(name: str, **kw: Any) -> GaussianMixture:
    """Build a toy distribution by name: "ring", "grid" or "mixture1d"; ``kw`` go to its class."""
    return _TOY[check_choice("name", name, _TOY)](**kw)


class ToyBatches:
    """Endless batches of fresh samples from a toy distribution, from its own seeded generator.

    ``state_dict()``/``load_state_dict()`` hold the generator state, so a resumed run draws the
    same samples as an uninterrupted one.
    """

    def __init__(self, dist: GaussianMixture, batch_size: int, seed: int = 0) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.dist, self.batch_size = dist, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[Tensor]:
        return self

    def __next__(self) -> Tensor:
        return self.dist.sample(self.batch_size, generator=self.generator)  # (batch_size, d)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"].to("cpu", torch.uint8))
