"""Metrics for low-dimensional toy data (mixtures of Gaussians, 1-D densities).

* :func:`mode_coverage` -- modes covered, share of high-quality samples and the reverse KL over
  modes, as in the 2-D ring / grid experiments of VEEGAN (Srivastava et al. 2017) and PacGAN
  (Lin et al. 2018).
* :func:`kl_divergence`, :func:`js_divergence` -- between two densities evaluated on the same
  uniform 1-D grid (trapezoid rule, natural log, so JS is at most log 2).
* :func:`wasserstein_1d` -- exact W1 between two 1-D empirical samples.

All return plain Python numbers, ready for a metrics table.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

KL_EPS = 1e-12
"""Floor under the probabilities inside ``log`` in :func:`mode_coverage`'s reverse KL. It only
keeps ``0 * log 0`` from becoming nan: empty modes contribute exactly 0, as in the definition."""


def mode_coverage(
    samples: Tensor,
    means: Tensor,
    std: float,
    *,
    num_std: float = 3.0,
    min_count: int | None = None,
) -> dict[str, Any]:
    """How well generated samples cover the k modes of a Gaussian mixture with equal weights.

    Each sample is assigned to its nearest mode (Euclidean distance). It is *high quality* when
    that distance is at most ``num_std * std``.

    Rule for a covered mode: it receives at least ``min_count`` high-quality samples. By default
    ``min_count = max(1, ceil(0.2 * n / k))``, i.e. 20% of what a perfect generator that spreads
    its n samples evenly over the k modes would put there. Pass ``min_count`` to use a fixed
    count instead (some papers do).

    Args:
        samples: (n, d) generated points.
        means: (k, d) mode centres.
        std: standard deviation of each (isotropic) mixture component.
        num_std: radius of the high-quality ball, in units of ``std``.
        min_count: high-quality samples a mode needs to count as covered (default above).

    Returns:
        ``modes_covered`` (int), ``high_quality`` (float, share of all n samples),
        ``mode_counts`` (list of k ints: high-quality samples per mode) and ``reverse_kl``
        (float): KL(p || u) = sum_i p_i log(p_i k), with p the distribution of the high-quality
        samples over the modes and u uniform. It is 0 for perfect balance, log k when all
        high-quality samples sit on one mode, and nan when there are no high-quality samples.
    """
    if samples.ndim != 2 or means.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(
            f"samples must be (n, d) and means (k, d); got {tuple(samples.shape)} and {tuple(means.shape)}"
        )
    n, k = samples.shape[0], means.shape[0]
    if n == 0 or k == 0:
        raise ValueError("mode_coverage needs at least one sample and one mode")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    if min_count is None:
        min_count = max(1, math.ceil(0.2 * n / k))

    samples, means = samples.detach().double(), means.detach().to(samples.device).double()
    dist = torch.cdist(samples, means)  # (n, k)
    nearest_dist, nearest = dist.min(dim=1)  # (n,), (n,)
    is_high = nearest_dist <= num_std * std
    counts = torch.bincount(nearest[is_high], minlength=k)  # (k,)

    n_high = int(counts.sum())
    if n_high > 0:
        p = counts.double() / n_high
        reverse_kl = float((p * (p.clamp_min(KL_EPS).log() + math.log(k))).sum())
    else:
        reverse_kl = math.nan
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality": n_high / n,
        "mode_counts": counts.tolist(),
        "reverse_kl": reverse_kl,
    }


def _check_densities(p: Tensor, q: Tensor, dx: float) -> tuple[Tensor, Tensor]:
    if p.ndim != 1 or p.shape != q.shape:
        raise ValueError(f"p and q must be 1-D and of the same length; got {tuple(p.shape)} and {tuple(q.shape)}")
    if dx <= 0:
        raise ValueError(f"dx must be positive, got {dx}")
    p, q = p.detach().double(), q.detach().double()
    if (p < 0).any() or (q < 0).any():
        raise ValueError("densities must be non-negative")
    return p, q


def _normalized(f: Tensor, dx: float) -> Tensor:
    mass = torch.trapezoid(f, dx=dx)
    if mass <= 0:
        raise ValueError("a density is zero on the whole grid")
    return f / mass


def kl_divergence(p: Tensor, q: Tensor, dx: float, *, normalize: bool = True) -> float:
    """KL(p || q) = integral p(x) log(p(x) / q(x)) dx, by the trapezoid rule on a uniform grid.

    ``p`` and ``q`` are densities evaluated at the same grid points, ``dx`` apart. Where
    p = 0 the integrand is 0 (whatever q is); where p > 0 and q = 0 the result is inf. With
    ``normalize`` (the default) both are first rescaled to integrate to 1 on the grid, so a
    truncated tail or quadrature error cannot make the divergence negative.
    """
    p, q = _check_densities(p, q, dx)
    if normalize:
        p, q = _normalized(p, dx), _normalized(q, dx)
    integrand = torch.xlogy(p, p) - torch.xlogy(p, q)  # p log p - p log q; xlogy(0, .) = 0
    return float(torch.trapezoid(integrand, dx=dx))


def js_divergence(p: Tensor, q: Tensor, dx: float, *, normalize: bool = True) -> float:
    """Jensen-Shannon divergence JS(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2.

    Same grid conventions as :func:`kl_divergence`. Natural log: 0 for equal densities,
    log 2 for densities with disjoint support. Always finite.
    """
    p, q = _check_densities(p, q, dx)
    if normalize:
        p, q = _normalized(p, dx), _normalized(q, dx)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, dx, normalize=False) + 0.5 * kl_divergence(q, m, dx, normalize=False)


def wasserstein_1d(samples_a: Tensor, samples_b: Tensor) -> float:
    """Exact Wasserstein-1 distance between two 1-D empirical distributions.

    For equal sizes n, W1 = 1/n sum_i |a_(i) - b_(i)| with both samples sorted. For unequal
    sizes it uses ``scipy.stats.wasserstein_distance`` (the integral of |F_a - F_b|).
    Inputs of shape (n,) or (n, 1).
    """
    for name, s in (("samples_a", samples_a), ("samples_b", samples_b)):
        if s.numel() == 0 or s.ndim not in (1, 2) or s.numel() != s.shape[0]:
            raise ValueError(f"{name} must be a non-empty (n,) or (n, 1) tensor, got {tuple(s.shape)}")
    a, b = samples_a.detach().double().flatten(), samples_b.detach().double().flatten()
    if a.numel() == b.numel():
        return float((a.sort().values - b.to(a.device).sort().values).abs().mean())
    from scipy.stats import wasserstein_distance  # only needed for unequal sizes

    return float(wasserstein_distance(a.cpu().numpy(), b.cpu().numpy()))
