"""StyleGAN2's training recipe (synthlib.stylegan) on the shared loop: the regularisers on inputs whose
answer is known, style mixing, a tiny run through checkpoint and resume, and `sample --truncation`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from synthlib.__main__ import main
from synthlib.core import checkpoint as ckpt_io
from synthlib.data import TensorBatches, from_uint8
from synthlib.stylegan import (
    StyleGANConfig,
    StyleGANDiscriminator,
    StyleGANGenerator,
    crop_to_28,
    mixed_ws,
    pad_to_32,
    path_lengths,
    stylegan_phases,
    stylegan_trainer,
)
from tests.lr_schedule import rates_per_step

torch.set_num_threads(1)

TINY_G = dict(img_size=16, img_channels=1, z_dim=16, w_dim=16, n_mlp=2, base_channels=8, max_channels=32)
TINY_D = dict(img_size=16, img_channels=1, base_channels=8, max_channels=32, mbstd_group=4)


class LinearSynthesis(nn.Module):
    """A stand-in generator whose image is a fixed linear map A of the summed ws: J_w^T y = A^T y per layer."""

    def __init__(self, num_ws: int = 3, w_dim: int = 5, shape: tuple[int, int, int] = (1, 4, 6)) -> None:
        super().__init__()
        self.num_ws, self.shape = num_ws, shape
        self.A = nn.Parameter(torch.randn(w_dim, math.prod(shape), generator=torch.Generator().manual_seed(0)))

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        return (ws.sum(1) @ self.A).view(-1, *self.shape)


def test_path_lengths_of_a_linear_generator_match_the_closed_form():
    """E ||A y||^2 with y ~ N(0, I / (H W)) is ||A||_F^2 / (H W)."""
    torch.manual_seed(0)
    G = LinearSynthesis()
    ws = torch.randn(20_000, G.num_ws, 5)
    lengths = path_lengths(G, ws).detach()
    expected = G.A.detach().square().sum() / (4 * 6)
    assert lengths.shape == (20_000,)
    assert float(lengths.square().mean()) == pytest.approx(float(expected), rel=0.03)


def test_r1_phase_of_a_linear_discriminator_is_gamma_half_norm_squared_times_interval():
    class LinearD(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Parameter(torch.linspace(-1, 1, 16 * 16).view(1, 1, 16, 16))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x * self.a).flatten(1).sum(1)

    G, D = StyleGANGenerator(StyleGANGenerator.Config(**TINY_G)), LinearD()
    cfg = StyleGANConfig(r1_gamma=0.5, r1_every=16)
    r1 = {p.name: p for p in stylegan_phases(G, D, cfg)}["D_r1"]
    assert r1.every == 16 and r1.fp32
    loss = r1.loss(torch.randn(4, 1, 16, 16), {})
    assert float(loss.detach()) == pytest.approx(0.5 / 2 * float(D.a.detach().square().sum()) * 16, rel=1e-5)


def test_lazy_phases_scale_adam_as_stylegan2_does():
    G, D = StyleGANGenerator(StyleGANGenerator.Config(**TINY_G)), StyleGANDiscriminator(StyleGANDiscriminator.Config(**TINY_D))
    phases = {p.name: p for p in stylegan_phases(G, D, StyleGANConfig(lr=2e-3, betas=(0.0, 0.99)))}
    assert [p.every for p in phases.values()] == [1, 16, 1, 4]
    d_group = phases["D"].optimizer.param_groups[0]
    assert d_group["lr"] == pytest.approx(2e-3 * 16 / 17) and d_group["betas"][1] == pytest.approx(0.99 ** (16 / 17))
    assert phases["G_pl"].optimizer is phases["G"].optimizer
    assert phases["G"].optimizer.param_groups[0]["lr"] == pytest.approx(2e-3 * 4 / 5)


def test_style_mixing_takes_the_second_latent_from_the_crossover_on():
    torch.manual_seed(3)
    G = StyleGANGenerator(StyleGANGenerator.Config(**TINY_G))
    z = torch.randn(5, 16)
    plain = mixed_ws(G, z, 0.0)
    assert torch.equal(plain, G.mapping(z)[:, None].expand(-1, G.num_ws, -1))
    mixed = mixed_ws(G, z, 1.0)
    same = (mixed == plain).all(2).all(0)  # (num_ws,): layers that kept z's w
    k = int(same.sum())
    assert 1 <= k < G.num_ws and bool(same[:k].all()) and not bool(same[k:].any())
    before = G.w_avg.clone()
    mixed_ws(G, z, 0.0, update_avg=0.9)
    torch.testing.assert_close(G.w_avg, 0.9 * before + 0.1 * G.mapping(z).mean(0))


def test_pad_and_crop_undo_each_other():
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    padded = pad_to_32(x)
    assert padded.shape == (2, 1, 32, 32) and float(padded[..., 0, :].max()) == -1.0
    assert torch.equal(crop_to_28(padded), x)


def _data(seed: int = 0) -> TensorBatches:
    images = torch.zeros(32, 1, 16, 16, dtype=torch.uint8)
    images[:, :, 4:12, 4:12] = 255  # white squares on black: something to learn
    return TensorBatches(images, batch_size=8, seed=seed, transform=from_uint8)


def _trainer(run_dir: Path, **cfg_kw: object):
    torch.manual_seed(0)
    G = StyleGANGenerator(StyleGANGenerator.Config(**TINY_G))
    D = StyleGANDiscriminator(StyleGANDiscriminator.Config(**TINY_D))
    cfg = StyleGANConfig(batch_size=8, r1_every=2, pl_every=2, ema_half_life_img=50.0, **cfg_kw)  # type: ignore[arg-type]
    return G, stylegan_trainer(G, D, _data(), cfg, run_dir=run_dir, checkpoint_every=4, device="cpu", progress=False,
                               log_every=1)


def test_tiny_run_takes_every_phase_saves_and_resumes(tmp_path: Path):
    G, t = _trainer(tmp_path / "a")
    t.fit(6)
    for key in ("D/loss", "D_r1/loss", "G/loss", "G_pl/loss", "G_pl/mean_length"):
        values = t.history[key]["value"]
        assert values and all(math.isfinite(v) for v in values), key
    assert len(t.history["G_pl/loss"]["value"]) == 3  # steps 0, 2, 4
    assert float(G.w_avg.abs().sum()) > 0  # the average w followed the batches
    saved = ckpt_io.load(tmp_path / "a" / "checkpoint.pt", kind="stylegan")
    assert {"G", "D", "G_ema"} <= set(saved["models"]) and saved["extra"]["path_length"]["mean"] > 0
    # resume from step 6 and go to 8 == an uninterrupted run to 8
    G2, t2 = _trainer(tmp_path / "a")
    t2.load()
    t2.fit(8)
    G3, t3 = _trainer(tmp_path / "b")
    t3.fit(8)
    for (name, p2), p3 in zip(G2.named_parameters(), G3.parameters()):
        torch.testing.assert_close(p2, p3, msg=name)


def test_a_long_run_can_hold_its_rates_then_decay_both(tmp_path: Path):
    _, t = _trainer(tmp_path, lr=1e-3, lr_final=0.01, lr_decay_start=3, num_steps=6)
    rates = [(r["G"], r["D"]) for r in rates_per_step(t, 6)]  # G and D (each shares its optimiser with a lazy phase)
    assert rates[0] == pytest.approx((1e-3 * 2 / 3, 1e-3 * 2 / 3))  # lazy intervals 2: lr * 2 / 3
    assert rates[:4] == [rates[0]] * 4 and rates[3][0] > rates[4][0] > rates[5][0] > 1e-5
    assert rates[5][0] == pytest.approx(rates[5][1])  # both networks on the same schedule
    assert StyleGANConfig().lr_final is None  # StyleGAN2's constant rate unless asked
    with pytest.raises(ValueError, match="lr_final"):
        StyleGANConfig(lr_final=-0.5)


def test_augmented_run_hears_d_and_saves_the_probability(tmp_path: Path):
    _, t = _trainer(tmp_path, augment="translation,cutout", ada_target=0.6, ada_speed_img=64)
    t.fit(4)
    assert "D/augment_p" in t.history
    saved = ckpt_io.load(tmp_path / "checkpoint.pt", kind="stylegan")
    assert "ada" in saved["extra"]
    with pytest.raises(ValueError, match="policy|known"):
        _trainer(tmp_path / "bad", augment="colour")


def test_sample_cli_truncation(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _, t = _trainer(tmp_path)
    t.fit(4)
    ckpt = tmp_path / "checkpoint.pt"
    assert main(["sample", str(ckpt), "--num", "6", "--out", str(tmp_path / "psi0.pt"), "--truncation", "0"]) == 0
    at_avg = torch.load(tmp_path / "psi0.pt")
    assert at_avg.shape == (6, 1, 16, 16) and float(at_avg.abs().max()) <= 1.0
    torch.testing.assert_close(at_avg[1:], at_avg[:1].expand(5, -1, -1, -1))  # psi = 0: every image is the average w's
    assert main(["sample", str(ckpt), "--num", "6", "--out", str(tmp_path / "psi1.pt")]) == 0
    free = torch.load(tmp_path / "psi1.pt")
    assert float((free[1:] - free[:1]).abs().max()) > 1e-4  # without truncation the seeds differ
    assert main(["sample", str(ckpt), "--num", "6", "--out", str(tmp_path / "again.pt")]) == 0
    assert torch.equal(torch.load(tmp_path / "again.pt"), free)  # const noise: a seed repeats
    assert main(["sample", str(ckpt), "--num", "2", "--out", str(tmp_path / "x.pt"), "--truncation", "1.5"]) == 2
    assert "--truncation must be in [0, 1]" in capsys.readouterr().err


def _tiny_g(seed: int = 0) -> StyleGANGenerator:
    torch.manual_seed(seed)
    G = StyleGANGenerator(StyleGANGenerator.Config(**TINY_G)).eval()
    with torch.no_grad():
        G.w_avg.copy_(G.mapping(torch.randn(256, 16)).mean(0))
    return G


def test_noise_std_map_is_zero_without_noise_and_positive_with_it():
    from synthlib.stylegan import noise_std_map

    G = _tiny_g()
    w = G.mapping(torch.randn(1, 16))[0].detach()
    images, std = noise_std_map(G, w, num=8)
    assert images.shape == (8, 1, 16, 16) and std.shape == (16, 16)
    assert float(std.max()) < 1e-6  # noise strengths start at 0
    with torch.no_grad():
        for name, p in G.named_parameters():
            if "strength" in name:
                p.fill_(0.5)
    _, std = noise_std_map(G, w, num=8)
    assert float(std.mean()) > 1e-3


def test_perceptual_path_length_scales_with_the_square_of_the_features():
    from synthlib.stylegan import perceptual_path_length

    G = _tiny_g()
    flat = lambda x: x.flatten(1)  # noqa: E731
    ppl_w = perceptual_path_length(G, flat, num=64, space="w", batch_size=32)
    ppl_w2 = perceptual_path_length(G, lambda x: 2 * x.flatten(1), num=64, space="w", batch_size=32)
    ppl_z = perceptual_path_length(G, flat, num=64, space="z", batch_size=32)
    assert ppl_w > 0 and ppl_z > 0 and ppl_z != ppl_w
    assert ppl_w2 == pytest.approx(4 * ppl_w, rel=1e-3)
    with pytest.raises(ValueError, match="space"):
        perceptual_path_length(G, flat, num=4, space="x")


def test_projection_recovers_an_image_the_generator_can_make_and_leaves_g_alone():
    from synthlib.stylegan import project

    G = _tiny_g()
    before = [p.detach().clone() for p in G.parameters()]
    with torch.no_grad():
        target = G.synthesis(G.mapping(torch.randn(1, 16)), noise_mode="const")[0].clamp(-1, 1)
    ws, trace = project(G, target, steps=60, lr=0.05)
    assert ws.shape == (1, G.num_ws, 16)
    assert trace[-1] < 0.25 * trace[0]
    for p, b in zip(G.parameters(), before):
        assert torch.equal(p, b) and p.requires_grad
