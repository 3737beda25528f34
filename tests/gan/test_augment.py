"""Differentiable augmentation (DiffAugment) and the adaptive probability of ADA.

Small tensors on the CPU: the whole file runs in a few seconds.
"""

from __future__ import annotations

import io

import pytest
import torch

from synthlib.gan.augment import AdaptiveAugment, contrast, diff_augment, saturation

pytestmark = pytest.mark.usefixtures("one_thread", "seeded")

POLICIES = ["color", "translation", "cutout", "color,translation,cutout"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n: int = 8, c: int = 3, size: int = 16, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(n, c, size, size, dtype=dtype) * 2 - 1


def no_zero_images(n: int = 8, c: int = 3, size: int = 16) -> torch.Tensor:
    """Distinct values in [0.1, 1]: no zeros, and every pixel can be told apart."""
    values = torch.randperm(n * c * size * size).float() / (n * c * size * size)
    return (0.1 + 0.9 * values).reshape(n, c, size, size)


# --- diff_augment ----------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_gradients_flow_through_every_policy(policy: str) -> None:
    x = images(2, 3, 8, dtype=torch.float64).requires_grad_()
    # the same random parameters at every call, so the function of x is fixed: gradcheck
    # compares autograd's Jacobian with finite differences
    assert torch.autograd.gradcheck(lambda t: diff_augment(t, policy, generator=gen(3)), (x,))
    out = diff_augment(x, policy, generator=gen(3))
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_kept(policy: str, channels: int, dtype: torch.dtype) -> None:
    x = images(4, channels, 16, dtype=dtype)
    out = diff_augment(x, policy)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_changes_images_reproducibly(policy: str) -> None:
    x = images()
    out = diff_augment(x, policy, generator=gen(1))
    assert not torch.allclose(out, x)
    torch.testing.assert_close(diff_augment(x, policy, generator=gen(1)), out, rtol=0, atol=0)
    assert not torch.allclose(diff_augment(x, policy, generator=gen(2)), out)
    # the parameters are drawn per sample: the same image gets different augmentations
    same = diff_augment(x[:1].expand(8, -1, -1, -1), policy, generator=gen(1))
    assert not torch.allclose(same[0], same[1]) or not torch.allclose(same[0], same[2])


def test_color_brightness_and_contrast() -> None:
    # grey images (equal channels): saturation has nothing to scale, so color is
    # out = k * (x - mean) + mean + b with k ~ U(0.5, 1.5) and b ~ U(-0.5, 0.5) per sample
    grey = images(16, 1, 8).expand(-1, 3, -1, -1)
    out = diff_augment(grey, "color", generator=gen(0))
    dev_in = grey - grey.mean(dim=(1, 2, 3), keepdim=True)
    dev_out = out - out.mean(dim=(1, 2, 3), keepdim=True)
    k = (dev_out * dev_in).sum(dim=(1, 2, 3)) / dev_in.square().sum(dim=(1, 2, 3))
    torch.testing.assert_close(dev_out, k[:, None, None, None] * dev_in, rtol=1e-4, atol=1e-5)
    assert torch.all((k >= 0.5) & (k <= 1.5)) and k.std() > 0.05
    b = out.mean(dim=(1, 2, 3)) - grey.mean(dim=(1, 2, 3))
    assert torch.all(b.abs() <= 0.5) and b.std() > 0.05
    # constant images stay constant: only the brightness moves them
    const = torch.linspace(-0.9, 0.9, 16)[:, None, None, None].expand(16, 3, 8, 8)
    out = diff_augment(const, "color", generator=gen(0))
    torch.testing.assert_close(out, out[:, :1, :1, :1].expand_as(out))
    torch.testing.assert_close(out[:, 0, 0, 0] - const[:, 0, 0, 0], b, rtol=1e-5, atol=1e-5)


def test_saturation_and_contrast_scale_deviations_from_their_means() -> None:
    x = images(16, 3, 8)
    out = saturation(x, generator=gen(0))
    mean = x.mean(dim=1, keepdim=True)
    torch.testing.assert_close(out.mean(dim=1, keepdim=True), mean)  # per pixel: grey kept
    dev, dev_out = x - mean, out - mean
    k = (dev_out * dev).sum(dim=(1, 2, 3)) / dev.square().sum(dim=(1, 2, 3))
    torch.testing.assert_close(dev_out, k[:, None, None, None] * dev, rtol=1e-4, atol=1e-5)
    assert torch.all((k >= 0) & (k <= 2)) and k.std() > 0.1
    # contrast: the deviation from the mean of the whole image (not of each channel) scales
    out = contrast(x, generator=gen(0))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(out.mean(dim=(1, 2, 3), keepdim=True), mean)
    dev, dev_out = x - mean, out - mean
    k = (dev_out * dev).sum(dim=(1, 2, 3)) / dev.square().sum(dim=(1, 2, 3))
    torch.testing.assert_close(dev_out, k[:, None, None, None] * dev, rtol=1e-4, atol=1e-5)
    assert torch.all((k >= 0.5) & (k <= 1.5)) and k.std() > 0.05
    # one channel: no colour to scale, returned untouched; contrast still acts
    grey = images(4, 1, 8)
    assert saturation(grey, generator=gen(0)) is grey
    assert not torch.allclose(contrast(grey, generator=gen(0)), grey)


def test_translation_is_a_zero_padded_shift() -> None:
    x = no_zero_images(16, 2, 16)
    out = diff_augment(x, "translation", generator=gen(4))
    # every output pixel is 0 (shifted in) or a pixel of the same input image
    for xi, oi in zip(x, out):
        assert torch.all((oi == 0) | torch.isin(oi, xi))
    # and each image is exactly its input shifted by (dy, dx), |dy|, |dx| <= 16 / 8 = 2
    shifts = []
    for xi, oi in zip(x, out):
        found = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = torch.zeros_like(xi)
                ref[:, max(dy, 0) : 16 + min(dy, 0), max(dx, 0) : 16 + min(dx, 0)] = xi[
                    :, max(-dy, 0) : 16 + min(-dy, 0), max(-dx, 0) : 16 + min(-dx, 0)
                ]
                if torch.equal(ref, oi):
                    found.append((dy, dx))
        assert len(found) == 1, found
        shifts.append(found[0])
    assert len(set(shifts)) > 3  # a random shift per sample
    assert any(dy == 2 or dy == -2 for dy, _ in shifts) or any(dx in (-2, 2) for _, dx in shifts)


@pytest.mark.parametrize("size", [8, 16])
def test_cutout_zeroes_one_square_of_half_the_size(size: int) -> None:
    x = no_zero_images(12, 3, size)
    out = diff_augment(x, "cutout", generator=gen(5))
    half = size // 2
    corners = set()
    for xi, oi in zip(x, out):
        hole = oi == 0
        assert torch.equal(hole, hole[:1].expand_as(hole))  # the same hole in every channel
        hole = hole[0]
        assert hole.sum() == half * half
        rows = hole.any(dim=1).nonzero().flatten()
        cols = hole.any(dim=0).nonzero().flatten()
        top, left = rows.min().item(), cols.min().item()
        assert len(rows) == len(cols) == half  # bounding box half x half, fully zero: a square
        assert hole[top : top + half, left : left + half].all()
        torch.testing.assert_close(oi[:, ~hole], xi[:, ~hole], rtol=0, atol=0)  # the rest kept
        corners.add((top, left))
    assert len(corners) > 3  # a random position per sample


def test_unknown_policy_raises() -> None:
    with pytest.raises(ValueError, match=r"unknown augmentation\(s\) 'blur'.*known: color, translation, cutout"):
        diff_augment(images(), "color,blur")
    with pytest.raises(ValueError, match="'zoom'"):
        AdaptiveAugment(policy="zoom")
    # an empty policy is the identity
    x = images()
    assert diff_augment(x, "") is x


# --- AdaptiveAugment -------------------------------------------------------------------------------


def test_ada_p_rises_when_d_overfits_and_falls_back() -> None:
    aug = AdaptiveAugment(speed_img=1000, interval=4)
    assert aug.p == 0.0 and isinstance(aug.p, float) and aug.rt is None
    positive, negative = torch.full((25,), 3.0), torch.full((25,), -3.0)
    for _ in range(3):
        assert aug.update(positive, 25) == 0.0  # no adjustment before `interval` updates
    aug.update(positive, 25)
    assert aug.p == pytest.approx(25 * 4 / 1000) and aug.rt == 1.0  # r_t = 1 > 0.6: up
    history = [aug.p]
    for _ in range(60):
        history.append(aug.update(positive, 25))
    assert all(b >= a for a, b in zip(history, history[1:])) and aug.p == 1.0  # clipped at 1
    for _ in range(4):
        aug.update(negative, 25)
    assert aug.p == pytest.approx(0.9) and aug.rt == -1.0
    for _ in range(60):
        aug.update(negative, 25)
        assert 0.0 <= aug.p <= 1.0
    assert aug.p == 0.0  # back to 0, not below


def test_ada_compares_mean_sign_with_target() -> None:
    # 90% positive logits: E[sign] = 0.8 > 0.6 -> up; 70% positive: E[sign] = 0.4 < 0.6 -> down
    mostly = torch.tensor([1.0] * 9 + [-1.0])
    some = torch.tensor([1.0] * 7 + [-1.0] * 3)
    aug = AdaptiveAugment(speed_img=1000, interval=2, p=0.5)
    aug.update(mostly, 10)
    aug.update(mostly, 10)
    assert aug.rt == pytest.approx(0.8) and aug.p == pytest.approx(0.5 + 10 * 2 / 1000)
    aug.update(some, 10)
    aug.update(some, 10)
    assert aug.rt == pytest.approx(0.4) and aug.p == pytest.approx(0.5)
    # batch_size sets the step (e.g. the global batch), not the number of logits passed
    aug.update(mostly, 100)
    aug.update(mostly, 100)
    assert aug.p == pytest.approx(0.5 + 100 * 2 / 1000)


def test_ada_applies_augmentation_per_sample_with_probability_p() -> None:
    x = images(64)
    off = AdaptiveAugment()
    assert off(x) is x  # p = 0: the identity
    always = AdaptiveAugment(p=1.0, generator=gen(0))
    changed = (always(x) - x).flatten(1).abs().amax(dim=1) > 0
    assert changed.all()
    half = AdaptiveAugment(p=0.5, generator=gen(0))
    xg = x.clone().requires_grad_()
    out = half(xg)
    same = (out - x).flatten(1).abs().amax(dim=1) == 0  # passed through untouched
    assert 16 <= same.sum() <= 48
    out.sum().backward()
    # untouched samples get the identity's gradient; augmented ones their own (cutout zeroes some)
    torch.testing.assert_close(xg.grad[same], torch.ones_like(xg.grad[same]))
    assert (xg.grad[~same] != 1).any()


def test_ada_state_dict_round_trip() -> None:
    aug = AdaptiveAugment(speed_img=1000, interval=4)
    for _ in range(6):  # one adjustment, two updates pending
        aug.update(torch.ones(25), 25)
    buffer = io.BytesIO()
    torch.save(aug.state_dict(), buffer)  # as a Trainer checkpoint would
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    resumed = AdaptiveAugment(speed_img=1000, interval=4)
    resumed.load_state_dict(state)
    assert resumed.p == aug.p == pytest.approx(0.1) and resumed.rt == aug.rt
    assert resumed.state_dict() == aug.state_dict()
    # the pending updates were saved too: both adjust at the same call
    for model in (aug, resumed):
        model.update(torch.ones(25), 25)
        assert model.p == pytest.approx(0.1)
        model.update(torch.ones(25), 25)
    assert resumed.p == aug.p == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        resumed.load_state_dict({**state, "p": 1.5})
