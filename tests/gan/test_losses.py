"""GAN losses against their paper formulas, computed naively in float64."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from synthlib.gan import losses as L

LOG2 = math.log(2.0)


@pytest.fixture
def logits() -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(64, 1, generator=g, dtype=torch.float64) * 3
    fake = torch.randn(64, 1, generator=g, dtype=torch.float64) * 3
    return real, fake


def _d(t: Tensor) -> Tensor:  # D(x) = sigmoid(logit), naively
    return torch.sigmoid(t)


# --- values at zero logits ---------------------------------------------------------------


def test_values_at_zero_logits() -> None:
    zero = torch.zeros(8)
    assert L.d_logistic_loss(zero, zero).item() == pytest.approx(2 * LOG2)
    assert L.d_minimax_loss(zero, zero).item() == pytest.approx(2 * LOG2)
    assert L.g_nonsaturating_loss(zero).item() == pytest.approx(LOG2)
    assert L.g_minimax_loss(zero).item() == pytest.approx(-LOG2)


def test_logistic_is_an_alias_not_a_copy() -> None:
    assert L.d_logistic_loss is L.d_minimax_loss


def test_losses_return_scalars(logits: tuple[Tensor, Tensor]) -> None:
    real, fake = logits
    for d_loss, g_loss in L.GAN_LOSSES.values():
        assert d_loss(real, fake).shape == ()
        assert g_loss(fake).shape == ()


# --- against the formulas ----------------------------------------------------------------


def test_minimax_and_nonsaturating_match_formula(logits: tuple[Tensor, Tensor]) -> None:
    real, fake = logits
    d_ref = -torch.log(_d(real)).mean() - torch.log(1 - _d(fake)).mean()
    torch.testing.assert_close(L.d_minimax_loss(real, fake), d_ref)
    torch.testing.assert_close(L.g_minimax_loss(fake), torch.log(1 - _d(fake)).mean())
    torch.testing.assert_close(L.g_nonsaturating_loss(fake), -torch.log(_d(fake)).mean())


def test_softplus_forms_are_stable_for_large_logits() -> None:
    big = torch.tensor([200.0, -200.0])
    for value in (L.d_minimax_loss(big, big), L.g_minimax_loss(big), L.g_nonsaturating_loss(big)):
        assert torch.isfinite(value)
    assert L.g_nonsaturating_loss(torch.tensor([-200.0])).item() == pytest.approx(200.0)


def test_lsgan_matches_formula(logits: tuple[Tensor, Tensor]) -> None:
    real, fake = logits
    torch.testing.assert_close(L.d_lsgan_loss(real, fake), 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean())
    torch.testing.assert_close(L.g_lsgan_loss(fake), 0.5 * ((fake - 1) ** 2).mean())


def test_lsgan_values() -> None:
    # perfect D: real -> 1, fake -> 0
    assert L.d_lsgan_loss(torch.ones(4), torch.zeros(4)).item() == 0.0
    # real at 0 and fake at 1: 1/2 * 1 + 1/2 * 1
    assert L.d_lsgan_loss(torch.zeros(4), torch.ones(4)).item() == pytest.approx(1.0)
    assert L.g_lsgan_loss(torch.ones(4)).item() == 0.0
    assert L.g_lsgan_loss(torch.full((4,), 3.0)).item() == pytest.approx(2.0)  # 1/2 * (3 - 1)^2


def test_hinge_matches_formula(logits: tuple[Tensor, Tensor]) -> None:
    real, fake = logits
    ref = torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean()
    torch.testing.assert_close(L.d_hinge_loss(real, fake), ref)
    torch.testing.assert_close(L.g_hinge_loss(fake), -fake.mean())


def test_hinge_values() -> None:
    # beyond the margins: no loss
    assert L.d_hinge_loss(torch.tensor([1.5, 1.0]), torch.tensor([-1.0, -3.0])).item() == 0.0
    # real 0 -> 1, fake 0 -> 1
    assert L.d_hinge_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(2.0)
    # real 0.5 -> 0.5, fake 2 -> 3
    assert L.d_hinge_loss(torch.tensor([0.5]), torch.tensor([2.0])).item() == pytest.approx(3.5)
    assert L.g_hinge_loss(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)


def test_wasserstein_matches_formula(logits: tuple[Tensor, Tensor]) -> None:
    real, fake = logits
    torch.testing.assert_close(L.d_wasserstein_loss(real, fake), fake.mean() - real.mean())
    torch.testing.assert_close(L.g_wasserstein_loss(fake), -fake.mean())


# --- gradients ---------------------------------------------------------------------------


def test_saturating_gradient_vanishes_but_nonsaturating_does_not() -> None:
    # D rejects the fakes strongly: D(G(z)) = sigmoid(-10) ~ 4.5e-5
    fake = torch.full((4,), -10.0, requires_grad=True)
    (grad_sat,) = torch.autograd.grad(L.g_minimax_loss(fake), fake)
    (grad_ns,) = torch.autograd.grad(L.g_nonsaturating_loss(fake), fake)
    n = fake.numel()
    # d/dt log(1 - sigmoid(t)) = -sigmoid(t);  d/dt -log sigmoid(t) = sigmoid(t) - 1
    assert grad_sat.abs().max() * n < 1e-4
    assert (grad_ns * n).allclose(torch.full_like(fake, -1.0), atol=1e-4)
    # both push the logit up (gradient descent increases it): the signs agree
    assert (grad_sat < 0).all() and (grad_ns < 0).all()


# --- weight clipping ---------------------------------------------------------------------


def test_clip_weights_clamps_in_place() -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 1.0)
    small = net[0].weight.abs() < 0.05
    before = net[0].weight.detach().clone()
    ident = id(net[0].weight)
    assert L.clip_weights_(net, 0.05) is None
    for p in net.parameters():
        assert p.abs().max() <= 0.05
    assert id(net[0].weight) == ident and net[0].weight.requires_grad
    assert torch.equal(net[0].weight[small], before[small])  # values inside the box untouched
    with pytest.raises(ValueError):
        L.clip_weights_(net, 0.0)


# --- WGAN-GP -----------------------------------------------------------------------------


def _linear_critic(norm: float, dim: int = 12) -> nn.Module:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(dim, 1))
    with torch.no_grad():
        w = torch.randn(1, dim, generator=torch.Generator().manual_seed(1))
        critic[1].weight.copy_(norm * w / w.norm())
    return critic


@pytest.mark.parametrize(("norm", "expected"), [(1.0, 0.0), (3.0, 4.0), (0.5, 0.25)])
def test_gradient_penalty_linear_critic(norm: float, expected: float) -> None:
    critic = _linear_critic(norm)
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    gp = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    assert gp.shape == ()
    assert gp.item() == pytest.approx(expected, abs=1e-5)


def test_gradient_penalty_center_zero() -> None:
    critic = _linear_critic(3.0)
    gp = L.gradient_penalty(critic, torch.randn(4, 12), torch.randn(4, 12), center=0.0)
    assert gp.item() == pytest.approx(9.0, rel=1e-5)


def test_gradient_penalty_alpha_is_per_sample() -> None:
    # Critic D(x) = 1/2 ||x||^2 records its input. With real = 1 and fake = 0 everywhere,
    # x_hat = alpha, so each sample must be constant over (C, H, W) -- false for a per-pixel alpha.
    seen: list[Tensor] = []

    def critic(x: Tensor) -> Tensor:
        seen.append(x.detach().clone())
        return 0.5 * x.square().flatten(1).sum(1)

    n = 8
    real, fake = torch.ones(n, 3, 4, 4), torch.zeros(n, 3, 4, 4)
    gp = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    (x_hat,) = seen
    alpha = x_hat[:, 0, 0, 0]
    assert torch.equal(x_hat, alpha.view(n, 1, 1, 1).expand_as(x_hat))  # one alpha per sample
    assert alpha.unique().numel() == n  # ... and a different one for each sample
    assert ((alpha >= 0) & (alpha <= 1)).all()
    # grad of 1/2 ||x||^2 is x_hat, whose norm is alpha * sqrt(48)
    expected = ((alpha * math.sqrt(3 * 4 * 4) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_penalty_given_alpha() -> None:
    seen: list[Tensor] = []

    def critic(x: Tensor) -> Tensor:
        seen.append(x.detach().clone())
        return x.flatten(1).sum(1)

    real, fake = torch.randn(3, 2, 5), torch.randn(3, 2, 5)
    alpha = torch.tensor([0.0, 0.5, 1.0])
    L.gradient_penalty(critic, real, fake, alpha=alpha)
    torch.testing.assert_close(seen[0], alpha.view(3, 1, 1) * real + (1 - alpha.view(3, 1, 1)) * fake)
    with pytest.raises(ValueError, match="one value per sample"):
        L.gradient_penalty(critic, real, fake, alpha=torch.rand(3, 2, 5))


def test_gradient_penalty_seeded_generator_is_reproducible() -> None:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Tanh(), nn.Linear(4, 1))
    real, fake = torch.randn(6, 12), torch.randn(6, 12)
    a = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    b = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_gradient_penalty_backprops_to_critic_only() -> None:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Tanh(), nn.Linear(4, 1))
    G = nn.Linear(2, 12)
    fake = G(torch.randn(6, 2))
    gp = L.gradient_penalty(critic, torch.randn(6, 12), fake)
    gp.backward()
    assert G.weight.grad is None  # fake was detached
    # create_graph=True: the penalty reaches every weight (the last bias cannot change grad_x D)
    for p in (critic[1].weight, critic[1].bias, critic[3].weight):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_gradient_penalty_rejects_half_precision() -> None:
    with pytest.raises(ValueError, match="fp32"):
        L.gradient_penalty(lambda x: x.sum(1).to(torch.bfloat16), torch.randn(2, 3), torch.randn(2, 3))


# --- R1 ----------------------------------------------------------------------------------


def test_r1_is_zero_for_constant_critic() -> None:
    real_img = torch.randn(4, 3, 2, 2).requires_grad_(True)
    bias = torch.tensor(0.7, requires_grad=True)
    # one critic that ignores its input, one that uses it with zero weight
    for real_logits in (bias.expand(4), 0.0 * real_img.flatten(1).sum(1) + bias):
        assert L.r1_penalty(real_img, real_logits).item() == 0.0


def test_r1_equals_squared_weight_norm_for_linear_critic() -> None:
    critic = _linear_critic(3.0)
    real_img = torch.randn(5, 3, 2, 2).requires_grad_(True)
    r1 = L.r1_penalty(real_img, critic(real_img).squeeze(1))
    w = critic[1].weight
    assert r1.item() == pytest.approx(w.square().sum().item(), rel=1e-5)
    assert r1.item() == pytest.approx(9.0, rel=1e-5)
    r1.backward()
    torch.testing.assert_close(w.grad, 2 * w.detach())  # d ||w||^2 / dw: create_graph=True


def test_r1_needs_requires_grad() -> None:
    real_img = torch.randn(2, 3)
    with pytest.raises(ValueError, match="requires_grad"):
        L.r1_penalty(real_img, real_img.sum(1))


def test_r1_rejects_half_precision() -> None:
    real_img = torch.randn(2, 3).requires_grad_(True)
    with pytest.raises(ValueError, match="autocast"):
        L.r1_penalty(real_img, real_img.sum(1).half())


# --- table -------------------------------------------------------------------------------


def test_gan_loss_table() -> None:
    assert set(L.GAN_LOSSES) == {"minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgan-gp"}
    assert L.get_gan_loss("minimax") == (L.d_minimax_loss, L.g_minimax_loss)
    assert L.get_gan_loss("nonsaturating") == (L.d_logistic_loss, L.g_nonsaturating_loss)
    assert L.get_gan_loss("lsgan") == (L.d_lsgan_loss, L.g_lsgan_loss)
    assert L.get_gan_loss("hinge") == (L.d_hinge_loss, L.g_hinge_loss)
    assert L.get_gan_loss("wgan") == L.get_gan_loss("wgan-gp") == (L.d_wasserstein_loss, L.g_wasserstein_loss)


def test_get_gan_loss_error_names_allowed_values() -> None:
    with pytest.raises(ValueError) as info:
        L.get_gan_loss("wasserstein")
    message = str(info.value)
    assert "'wasserstein'" in message
    for name in L.GAN_LOSSES:
        assert repr(name) in message
