"""Multi-frame super-resolution: simulated bursts, their alignment, BurstSR and its trainer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from synthlib.data import TensorBatches
from synthlib.data.photos import load_photo
from synthlib.restoration import SRConfig, load_restoration_model
from synthlib.restoration.burst import (
    BurstBatches,
    align_burst,
    burst_trainer,
    burst_upscale_with,
    estimate_shifts,
    make_burst,
    shift_images,
)
from synthlib.restoration.vsr_net import BurstSR


def _images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Smooth random images in [-1, 1] (low-frequency noise, upsampled)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, max(2, size // 8), max(2, size // 8), generator=g) * 2 - 1
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)


def _u8_batches(n: int, size: int, batch: int, seed: int = 0) -> TensorBatches:
    u8 = ((_images(n, size, seed) + 1) * 127.5).round().to(torch.uint8)
    return TensorBatches(u8, batch_size=batch, seed=seed, transform=lambda u: u.float() / 127.5 - 1)


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().pow(2).mean())


def test_burst_shapes_and_seeded_determinism():
    x = _images(2, 32)
    frames, shifts = make_burst(x, frames=3, factor=4, generator=torch.Generator().manual_seed(5))
    assert frames.shape == (2, 3, 3, 8, 8) and shifts.shape == (2, 3, 2)
    assert bool((shifts[:, 0] == 0).all()) and bool((shifts.abs() <= 1).all())
    again, shifts2 = make_burst(x, frames=3, factor=4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(frames, again) and torch.equal(shifts, shifts2)
    other, _ = make_burst(x, frames=3, factor=4, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(frames, other)
    one, one_shifts = make_burst(x[0], frames=2, factor=2, sigma=0.0)
    assert one.shape == (2, 3, 16, 16) and one_shifts.shape == (2, 2)


def test_shift_images_moves_content_by_the_shift():
    x = torch.zeros(1, 1, 16, 16)
    x[..., 5, 7] = 1.0
    moved = shift_images(x, torch.tensor([[2.0, -3.0]]))
    assert moved[0, 0].flatten().argmax() == 7 * 16 + 4  # (5 + 2, 7 - 3)
    half = shift_images(x, torch.tensor([[0.5, 0.0]]))
    assert float(half[0, 0, 5, 7]) == pytest.approx(float(half[0, 0, 6, 7]), abs=1e-5)  # split between rows 5, 6


def test_estimated_shifts_match_the_true_ones_on_a_photo():
    photo = load_photo("astronaut", 128, square=True)
    frames, shifts = make_burst(photo, frames=4, factor=4, generator=torch.Generator().manual_seed(1))
    est = estimate_shifts(frames)
    assert est.shape == shifts.shape == (4, 2)
    assert float((est - shifts).abs().max()) < 0.15, (est, shifts)
    assert float(shifts[1:].abs().max()) > 0.3  # the shifts are not all trivially small


def test_aligning_brings_frames_onto_frame_0_at_low_and_high_resolution():
    photo = load_photo("chelsea", 128, square=True)
    frames, shifts = make_burst(photo, frames=4, factor=4, generator=torch.Generator().manual_seed(2))
    aligned = align_burst(frames, shifts)
    before = sum(_mse(frames[k], frames[0]) for k in range(1, 4))
    after = sum(_mse(aligned[k][:, 2:-2, 2:-2], aligned[0][:, 2:-2, 2:-2]) for k in range(1, 4))
    assert after < 0.5 * before, (before, after)
    wrong_sign = align_burst(frames, -shifts)
    assert sum(_mse(wrong_sign[k][:, 2:-2, 2:-2], frames[0][:, 2:-2, 2:-2]) for k in range(1, 4)) > after
    with pytest.raises(ValueError, match="do not match"):
        align_burst(frames, shifts[:3])
    # at high resolution (VSRNet's way): the frames agree as well, and their mean keeps frame 0's detail,
    # where the mean of the frames warped at low resolution is blurred by the sub-pixel interpolation
    high = align_burst(frames, shifts, 4)
    assert high.shape == (4, 3, 128, 128)
    bicubic0 = F.interpolate(frames[:1], scale_factor=4, mode="bicubic", align_corners=False)[0]
    torch.testing.assert_close(high[0], bicubic0, atol=1e-4, rtol=0)
    low_mean = F.interpolate(aligned.mean(0, keepdim=True), scale_factor=4, mode="bicubic", align_corners=False)[0]
    assert _mse(high.mean(0), photo) < _mse(low_mean, photo)


def test_burst_batches_are_aligned_seeded_and_resumable():
    a = BurstBatches(_u8_batches(16, 32, 4), frames=3, factor=4, seed=3)
    low, high = next(a)
    assert low.shape == (4, 3, 3, 32, 32) and high.shape == (4, 3, 32, 32)  # aligned after upscaling x4
    state = a.state_dict()
    nxt = next(a)
    b = BurstBatches(_u8_batches(16, 32, 4), frames=3, factor=4, seed=3)
    b.load_state_dict(state)
    again = next(b)
    assert torch.equal(again[0], nxt[0]) and torch.equal(again[1], nxt[1])
    with pytest.raises(ValueError, match="seed"):
        BurstBatches(_u8_batches(16, 32, 4), frames=3, seed=4).load_state_dict(state)
    with pytest.raises(ValueError, match="align"):
        BurstBatches(_u8_batches(4, 32, 2), align="optical-flow")  # type: ignore[arg-type]


def test_burst_sr_shapes_and_a_fresh_net_is_about_the_mean_of_the_frames():
    torch.manual_seed(0)
    for k in (1, 4):
        net = BurstSR(BurstSR.Config(frames=k, scale=4, base_channels=8, num_blocks=1))
        frames, shifts = make_burst(_images(2, 48), frames=k, factor=4)
        burst = align_burst(frames, shifts, 4)
        out = net(burst)
        assert out.shape == (2, 3, 48, 48)
        assert _mse(out, burst.mean(1)) < 1e-3
    with pytest.raises(ValueError, match="K=4"):
        net(_images(6, 48).view(2, 3, 3, 48, 48))
    with pytest.raises(ValueError, match="N, K, 3"):
        net(_images(2, 48))
    with pytest.raises(ValueError, match="multiples of 4"):
        net(_images(8, 10).view(2, 4, 3, 10, 10))


def test_bad_arguments_raise_clear_errors():
    x = _images(1, 32)
    with pytest.raises(ValueError, match="frames >= 1"):
        make_burst(x, frames=0)
    with pytest.raises(ValueError, match="factor"):
        make_burst(x, factor=3)
    with pytest.raises(ValueError, match="frames"):
        BurstSR(BurstSR.Config(frames=0))
    with pytest.raises(ValueError, match="scale"):
        BurstSR(BurstSR.Config(scale=3))
    net = BurstSR(BurstSR.Config(frames=2, base_channels=8, num_blocks=1))
    with pytest.raises(ValueError, match="K=2 frames but the bursts have K=3"):
        burst_trainer(net, BurstBatches(_u8_batches(4, 32, 2), frames=3), SRConfig(), device="cpu")
    with pytest.raises(ValueError, match="factor"):
        burst_trainer(net, BurstBatches(_u8_batches(4, 32, 2), frames=2, factor=2), SRConfig(), device="cpu")


def test_burst_trainer_learns_and_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    G = BurstSR(BurstSR.Config(frames=2, scale=4, base_channels=8, num_blocks=1))
    data = BurstBatches(_u8_batches(32, 32, 8), frames=2, factor=4, seed=0)
    t = burst_trainer(G, data, SRConfig(lr=2e-3, batch_size=8), run_dir=tmp_path / "burst", device="cpu",
                      progress=False, log_every=1)
    t.fit(20)
    pix = t.history["G/pixel"]["value"]
    assert sum(pix[-5:]) / 5 < sum(pix[:5]) / 5
    model = load_restoration_model(t.save(), kind="burst_sr")
    assert model.kind == "burst_sr" and isinstance(model.net, BurstSR)
    burst = align_burst(*make_burst(_images(1, 36), frames=2, factor=4), 4)
    out = burst_upscale_with(model.net, burst)
    assert out.shape == (1, 3, 36, 36) and float(out.abs().max()) <= 1
    torch.testing.assert_close(out, burst_upscale_with(G.eval(), burst))
    assert burst_upscale_with(model.net, burst[0]).shape == (3, 36, 36)
