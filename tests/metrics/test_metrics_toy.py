"""Toy-data metrics on hand-made samples with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from synthlib.metrics.toy import js_divergence, kl_divergence, mode_coverage, wasserstein_1d


def _ring(k: int = 8, radius: float = 2.0) -> torch.Tensor:
    angle = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    return radius * torch.stack([angle.cos(), angle.sin()], dim=1)  # (k, 2)


# --- mode_coverage -----------------------------------------------------------------------


def test_samples_on_every_mode() -> None:
    means = _ring()
    samples = means.repeat(50, 1)  # 50 per mode, exactly on it
    out = mode_coverage(samples, means, std=0.02)
    assert out["modes_covered"] == 8
    assert out["high_quality"] == 1.0
    assert out["mode_counts"] == [50] * 8
    assert out["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert isinstance(out["modes_covered"], int) and isinstance(out["high_quality"], float)


def test_samples_on_one_mode() -> None:
    means = _ring()
    samples = means[3].repeat(100, 1)
    out = mode_coverage(samples, means, std=0.02)
    assert out["modes_covered"] == 1
    assert out["high_quality"] == 1.0
    assert out["mode_counts"] == [0, 0, 0, 100, 0, 0, 0, 0]
    assert out["reverse_kl"] == pytest.approx(math.log(8))


def test_samples_far_from_modes() -> None:
    means = _ring()
    samples = torch.randn(200, 2, dtype=torch.float64) * 0.01 + 100.0
    out = mode_coverage(samples, means, std=0.02)
    assert out["high_quality"] == 0.0
    assert out["modes_covered"] == 0
    assert out["mode_counts"] == [0] * 8
    assert math.isnan(out["reverse_kl"])


def test_high_quality_radius_and_min_count() -> None:
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    # 2.9 std and 3.1 std from mode 0; 20 samples on mode 1
    samples = torch.cat([torch.tensor([[0.29, 0.0], [0.0, 0.31]]), means[1].repeat(20, 1)])
    out = mode_coverage(samples, means, std=0.1)
    assert out["mode_counts"] == [1, 20]
    assert out["high_quality"] == pytest.approx(21 / 22)
    # default rule: >= ceil(0.2 * 22 / 2) = 3 samples, so mode 0 (1 sample) is not covered
    assert out["modes_covered"] == 1
    assert mode_coverage(samples, means, std=0.1, min_count=1)["modes_covered"] == 2
    assert mode_coverage(samples, means, std=0.1, num_std=4.0)["mode_counts"] == [2, 20]


def test_reverse_kl_formula() -> None:
    means = torch.tensor([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]])
    samples = torch.cat([means[0].repeat(6, 1), means[1].repeat(2, 1)])  # p = (3/4, 1/4, 0)
    out = mode_coverage(samples, means, std=0.1)
    expected = 0.75 * math.log(0.75 * 3) + 0.25 * math.log(0.25 * 3)
    assert out["reverse_kl"] == pytest.approx(expected)


def test_mode_coverage_shape_errors() -> None:
    with pytest.raises(ValueError):
        mode_coverage(torch.zeros(5, 3), _ring(), std=0.1)
    with pytest.raises(ValueError):
        mode_coverage(torch.zeros(5, 2), _ring(), std=0.0)


# --- divergences on a grid ---------------------------------------------------------------


def _gauss(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def test_js_of_identical_densities_is_zero() -> None:
    x = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    p = _gauss(x, 0.0, 1.0)
    assert js_divergence(p, p, dx=float(x[1] - x[0])) == pytest.approx(0.0, abs=1e-12)
    assert kl_divergence(p, p, dx=float(x[1] - x[0])) == pytest.approx(0.0, abs=1e-12)


def test_js_of_disjoint_densities_is_log2() -> None:
    x = torch.linspace(0, 4, 4001, dtype=torch.float64)
    p = ((x > 0.5) & (x < 1.5)).double()  # uniform on (0.5, 1.5)
    q = ((x > 2.5) & (x < 3.5)).double()  # uniform on (2.5, 3.5)
    dx = float(x[1] - x[0])
    assert js_divergence(p, q, dx) == pytest.approx(math.log(2), abs=1e-9)
    assert js_divergence(q, p, dx) == pytest.approx(math.log(2), abs=1e-9)
    assert kl_divergence(p, q, dx) == math.inf


def test_kl_of_gaussians_matches_closed_form() -> None:
    # KL(N(0, 1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2
    x = torch.linspace(-15, 15, 30001, dtype=torch.float64)
    p, q = _gauss(x, 0.0, 1.0), _gauss(x, 1.0, 2.0)
    expected = math.log(2.0) + 2.0 / 8 - 0.5
    assert kl_divergence(p, q, dx=float(x[1] - x[0])) == pytest.approx(expected, rel=1e-6)
    js = js_divergence(p, q, dx=float(x[1] - x[0]))
    assert 0 < js < math.log(2)


def test_divergences_safe_at_zeros() -> None:
    p = torch.tensor([0.0, 1.0, 1.0, 0.0])
    q = torch.tensor([1.0, 1.0, 1.0, 1.0])
    assert math.isfinite(kl_divergence(p, q, dx=1.0))
    assert math.isfinite(js_divergence(p, q, dx=1.0))
    with pytest.raises(ValueError):
        js_divergence(torch.tensor([-1.0, 1.0]), torch.tensor([1.0, 1.0]), dx=1.0)


# --- 1-D Wasserstein ---------------------------------------------------------------------


def test_wasserstein_1d_of_shifted_samples() -> None:
    a = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    assert wasserstein_1d(a, a + 2.5) == pytest.approx(2.5)
    assert wasserstein_1d(a + 2.5, a) == pytest.approx(2.5)
    assert wasserstein_1d(a, a[torch.randperm(1000)]) == pytest.approx(0.0, abs=1e-12)
    assert wasserstein_1d(a.view(-1, 1), (a - 1).view(-1, 1)) == pytest.approx(1.0)


def test_wasserstein_1d_unequal_sizes() -> None:
    a = torch.tensor([0.0, 1.0])
    b = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert wasserstein_1d(a, b) == pytest.approx(0.0, abs=1e-12)
    assert wasserstein_1d(a, b + 3.0) == pytest.approx(3.0)
    assert wasserstein_1d(torch.tensor([0.0]), torch.tensor([1.0, 3.0])) == pytest.approx(2.0)


def test_wasserstein_1d_rejects_2d_samples() -> None:
    with pytest.raises(ValueError):
        wasserstein_1d(torch.zeros(4, 2), torch.zeros(4, 2))
