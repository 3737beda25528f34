"""Plug-and-play inpainting (synthlib.restoration.pnp): the iteration, the contrast gain, the coarse start, and
inpaint_with's use of a denoiser as the prior. The shipped prior's gain over biharmonic is checked in
tests/test_course_weights.py."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from synthlib.restoration import DenoiseUNet, inpaint_with
from synthlib.restoration.classical import apply_mask, psnr
from synthlib.restoration.pnp import (
    PNP_DEFAULTS,
    PNP_TOLD_DEFAULTS,
    PnPSettings,
    _half,
    classical_start,
    default_settings,
    gained_denoise,
    is_denoiser,
    levels_of,
    pnp_inpaint,
)


class TowardsPicture(nn.Module):
    """A 'denoiser' that knows the answer: it returns ``target`` whatever it is given (its predicted noise is
    ``y - target``), so one plug-and-play step without gain must put the target in the hole."""

    def __init__(self, target):
        super().__init__()
        self.register_buffer("target", target)
        self.calls = 0

    def noise(self, y):
        return y - self.target

    def forward(self, y):
        self.calls += 1
        return y - self.noise(y)


def _problem(size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    photo = torch.stack([torch.sin(3 * xx + yy), torch.cos(2 * yy), xx * yy])[None] * 0.8
    photo = photo + 0.05 * torch.randn(photo.shape, generator=g)
    hole = torch.zeros(1, 1, size, size)
    hole[..., 10:16, 4:28] = 1  # a stroke 6 px wide
    return photo.clamp(-1, 1), hole


def test_one_step_with_a_perfect_prior_puts_the_target_in_the_hole_and_keeps_the_rest():
    photo, hole = _problem()
    damaged = apply_mask(photo[0], hole[0, 0] > 0.5)[None]
    prior = TowardsPicture(photo)
    out = pnp_inpaint(prior, damaged, hole, PnPSettings(iters=1, coarse_iters=0, amp=1.0))
    inside = hole[0, 0] > 0.5
    assert torch.allclose(out[0][:, inside], photo[0][:, inside], atol=1e-6)  # the hole: the prior's answer
    assert torch.equal(out[0][:, ~inside], damaged[0][:, ~inside])  # the known pixels: the input's, exactly
    assert prior.calls == 1 and prior.training  # run in eval mode, then put back


def test_gain_is_the_identity_for_an_identity_denoiser_and_leaves_a_flat_picture_alone():
    x = torch.rand(2, 3, 20, 20) * 2 - 1
    identity = nn.Identity()
    for amp in (1.0, 1.5, 3.0):
        assert torch.allclose(gained_denoise(identity, x, amp), x, atol=1e-6)
    flat = torch.full((1, 3, 20, 20), 0.3)
    assert torch.allclose(gained_denoise(TowardsPicture(flat), flat, 2.0), flat, atol=1e-6)


def test_the_gain_divides_the_denoisers_correction():
    """Around a flat picture the local mean is the picture, so a denoiser that moves the (amplified) input by d
    moves the output by d / amp: the same denoiser acts as one for a lower noise level."""
    x = torch.zeros(1, 1, 16, 16)
    x[..., 8, 8] = 0.5  # one bright pixel
    shrink = lambda y: 0.5 * y  # noqa: E731  (a denoiser that halves everything)
    plain, gained = gained_denoise(shrink, x, 1.0), gained_denoise(shrink, x, 2.0)
    assert float(plain[..., 8, 8]) == pytest.approx(0.25)
    assert float(gained[..., 8, 8]) < 0.5 and float(gained[..., 8, 8]) > float(plain[..., 8, 8])


def test_half_size_hole_is_the_blocks_less_than_half_known():
    images = torch.arange(16.0).view(1, 1, 4, 4) / 16
    holes = torch.zeros(1, 1, 4, 4)
    holes[..., 0, 0] = 1                  # block (0, 0): 3 of 4 known -> known, mean of the 3 known pixels
    holes[..., 2:4, 2:4] = 1              # block (1, 1): none known -> missing
    holes[..., 0:2, 3] = 1                # block (0, 1): 2 of 4 known -> known (half is enough)
    half, half_holes = _half(images, holes)
    assert half_holes[0, 0].tolist() == [[0.0, 0.0], [0.0, 1.0]]
    assert float(half[0, 0, 0, 0]) == pytest.approx((1 + 4 + 5) / 16 / 3)
    assert float(half[0, 0, 1, 1]) == 0.0


def test_classical_start_is_the_mean_of_the_two_fills_and_keeps_known_pixels():
    photo, hole = _problem()
    damaged = apply_mask(photo[0], hole[0, 0] > 0.5)[None]
    start = classical_start(damaged, hole, iters=50)
    known = hole[0, 0] < 0.5
    assert torch.equal(start[0][:, known], damaged[0][:, known])
    assert float(psnr(start, photo)) > float(psnr(damaged, photo)) + 5  # a fill, not the zeros


def test_the_ensemble_leaves_an_equivariant_denoiser_alone():
    """(What the average is, over which symmetries: tests/restoration/test_ensemble.py; the calls it costs: below.)"""
    photo, hole = _problem(size=16)
    damaged = apply_mask(photo[0], hole[0, 0] > 0.5)[None]
    pointwise = Pointwise()  # commutes with every flip and turn: the ensemble changes nothing
    alone = pnp_inpaint(pointwise, damaged, hole, PnPSettings(iters=2, coarse_iters=0, amp=1.0))
    for count in (4, 8):
        out = pnp_inpaint(pointwise, damaged, hole, PnPSettings(iters=2, coarse_iters=0, amp=1.0, ensemble=count))
        assert torch.allclose(out, alone, atol=1e-6)


class Pointwise(nn.Module):
    def forward(self, y):
        return torch.tanh(2 * y)


class Sizes(nn.Module):
    """The identity, remembering the sizes it was given."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, y):
        self.seen.append(tuple(y.shape[-2:]))
        return y


def test_more_levels_start_from_a_smaller_picture_and_the_ensemble_multiplies_the_calls():
    photo, hole = _problem(size=64)
    damaged = apply_mask(photo[0], hole[0, 0] > 0.5)[None]
    for levels, ensemble, smallest, calls in ((1, 1, 32, 3 + 2), (2, 1, 16, 3 + 2 + 2), (2, 4, 16, 4 * (3 + 2 + 2))):
        net = Sizes()
        out = pnp_inpaint(net, damaged, hole, PnPSettings(iters=3, coarse_iters=2, levels=levels, ensemble=ensemble))
        assert min(h for h, _ in net.seen) == smallest and len(net.seen) == calls
        assert torch.equal(out[0][:, hole[0, 0] < 0.5], damaged[0][:, hole[0, 0] < 0.5])


def test_settings_are_checked():
    with pytest.raises(ValueError, match="ensemble must be 1..8"):
        PnPSettings(ensemble=9)
    with pytest.raises(ValueError, match="levels"):
        PnPSettings(levels=0)
    with pytest.raises(ValueError, match="amp must be >= 1"):
        PnPSettings(amp=0.5)
    with pytest.raises(ValueError, match="blur must be odd"):
        PnPSettings(blur=4)
    with pytest.raises(ValueError, match="iters"):
        PnPSettings(iters=-1)
    with pytest.raises(ValueError, match="same size"):
        pnp_inpaint(nn.Identity(), torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 4, 4))


class Told(nn.Module):
    """The identity, told the level: it remembers each level (on 0..255) it was given, as a DenoiseUNet with
    noise_map is called."""

    config = SimpleNamespace(noise_map=True)

    def __init__(self):
        super().__init__()
        self.levels = []
        self.unused = nn.Parameter(torch.zeros(1))  # inpaint_with reads the device from the parameters

    def noise(self, y, sigma):
        return torch.zeros_like(y)

    def forward(self, y, sigma):
        self.levels.append(round(float(sigma) * 255 / 2, 6))
        return y


def test_levels_fall_evenly_in_log_from_the_first_to_the_last():
    assert levels_of(PNP_DEFAULTS, 3) == [None] * 3
    levels = [v * 255 / 2 for v in levels_of(PnPSettings(amp=1.0, sigmas=(40.0, 5.0)), 4)]
    assert levels[0] == pytest.approx(40) and levels[-1] == pytest.approx(5)
    assert levels[1] / levels[0] == pytest.approx(levels[2] / levels[1]) == pytest.approx(levels[3] / levels[2])
    assert [v * 255 / 2 for v in levels_of(PnPSettings(amp=1.0, sigmas=(40.0, 5.0)), 1)] == pytest.approx([40])


def test_a_told_denoiser_is_annealed_at_every_stage_and_an_untold_one_takes_no_levels():
    photo, hole = _problem(size=32)
    damaged = apply_mask(photo[0], hole[0, 0] > 0.5)[None]
    told = Told()
    out = pnp_inpaint(told, damaged, hole, PnPSettings(iters=3, coarse_iters=2, levels=1, amp=1.0, sigmas=(40.0, 10.0)))
    assert told.levels == pytest.approx([40, 10, 40, 20, 10])  # the half-size stage, then full size: each falls
    assert torch.equal(out[0][:, hole[0, 0] < 0.5], damaged[0][:, hole[0, 0] < 0.5])
    assert default_settings(told) is PNP_TOLD_DEFAULTS and default_settings(Sizes()) is PNP_DEFAULTS
    with pytest.raises(ValueError, match="needs PnPSettings"):
        pnp_inpaint(told, damaged, hole, PNP_DEFAULTS)
    with pytest.raises(ValueError, match="takes no sigmas"):
        pnp_inpaint(Sizes(), damaged, hole, PNP_TOLD_DEFAULTS)
    with pytest.raises(ValueError, match="start >= end"):
        PnPSettings(amp=1.0, sigmas=(5.0, 40.0))
    with pytest.raises(ValueError, match="use amp=1"):
        PnPSettings(sigmas=(40.0, 5.0))


def test_inpaint_with_uses_a_denoiser_as_the_prior_and_keeps_known_pixels():
    torch.manual_seed(0)
    net = DenoiseUNet(DenoiseUNet.Config(channels=8, levels=2, blocks=1))
    assert is_denoiser(net) and not is_denoiser(nn.Conv2d(3, 3, 1))
    photo, hole = _problem(size=30)  # not a multiple of the U-Net's step: it pads
    damaged = apply_mask(photo[0], hole[0, 0] > 0.5)
    out = inpaint_with(net, damaged, hole[0, 0] > 0.5)
    assert out.shape == photo[0].shape and out.min() >= -1 and out.max() <= 1
    known = hole[0, 0] < 0.5
    assert torch.equal(out[:, known], damaged[:, known])
    assert not torch.equal(out, damaged)  # the hole was filled
    assert net.training  # put back in the mode it was in


def test_inpaint_with_a_told_denoiser_anneals_with_its_defaults():
    torch.manual_seed(0)
    net = DenoiseUNet(DenoiseUNet.Config(channels=8, levels=2, blocks=1, noise_map=True))
    photo, hole = _problem(size=32)
    damaged = apply_mask(photo[0], hole[0, 0] > 0.5)
    out = inpaint_with(net, damaged, hole[0, 0] > 0.5)
    known = hole[0, 0] < 0.5
    assert torch.equal(out[:, known], damaged[:, known]) and not torch.equal(out, damaged)
    told = Told()
    inpaint_with(told, damaged, hole[0, 0] > 0.5, PnPSettings(iters=2, coarse_iters=0, amp=1.0, sigmas=(30.0, 15.0)))
    assert told.levels == pytest.approx([30, 15])  # settings given: used instead of the defaults
