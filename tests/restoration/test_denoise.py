"""Chapter 6's denoisers: BM3D's wrapper, DnCNN (residual learning), its recipe, and the ``denoise`` verb.

BM3D and the trained networks are checked on what they must do whatever the weights' quality: remove noise
(PSNR up on a real photo), learn (a few steps lower the loss), round-trip through a checkpoint, and apply to any
size in tiles with the same result as the whole picture. The verb's mistakes end in one line, exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.__main__ import main
from synthlib.data import TensorBatches
from synthlib.data.photos import load_photo
from synthlib.restoration import (
    DenoiseConfig,
    DenoiseUNet,
    DnCNN,
    NoisyBatches,
    add_noise,
    denoise_bm3d,
    denoise_nl_means,
    denoise_trainer,
    denoise_with,
    load_restoration_model,
    psnr,
    residual_target,
    sigma_from_255,
    takes_noise_level,
)
from synthlib.style import resize_shorter
from tests.lr_schedule import rates_per_step

SIGMA = sigma_from_255(25)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """A real held-out photo, 64 px: what the classical methods are for."""
    return resize_shorter(load_photo("astronaut", 64)[None], 64)[..., :64, :64]


def _batches(seed: int = 0, size: int = 24, n: int = 8) -> TensorBatches:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 6, size // 6, generator=g) * 2 - 1
    smooth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    u8 = ((smooth + 1) * 127.5).round().to(torch.uint8)
    return TensorBatches(u8, batch_size=4, seed=seed, transform=lambda u: u.float() / 127.5 - 1)


def test_bm3d_removes_noise_and_beats_nl_means_on_a_photo(photo):
    noisy = add_noise(photo, SIGMA, generator=torch.Generator().manual_seed(1))
    out = denoise_bm3d(noisy[0], SIGMA)
    assert out.shape == photo[0].shape and out.min() >= -1 and out.max() <= 1
    before, after = float(psnr(noisy.clamp(-1, 1), photo)), float(psnr(out[None], photo))
    nlm = float(psnr(denoise_nl_means(noisy[0], SIGMA)[None], photo))
    assert after > before + 5, (before, after)
    assert after > nlm, (after, nlm)  # the classical reference is the strongest classical method here


@pytest.mark.parametrize("sigma", [0.0, -0.1, float("nan")])
def test_bm3d_refuses_a_bad_sigma(photo, sigma):
    with pytest.raises(ValueError, match="sigma"):
        denoise_bm3d(photo[0], sigma)


def test_dncnn_shapes_receptive_field_and_starts_near_identity():
    torch.manual_seed(0)
    net = DnCNN(DnCNN.Config(depth=5, channels=8)).eval()
    y = torch.rand(2, 3, 13, 17) * 2 - 1
    assert net(y).shape == y.shape and net.noise(y).shape == y.shape
    assert torch.allclose(net(y), y - net.noise(y))
    assert net.noise(y).abs().mean() < 0.2 * y.abs().mean()  # a fresh network predicts little noise
    # one pixel's output depends on a (2 depth + 1)-wide window: change a pixel depth + 1 away, nothing moves
    y2 = y.clone()
    y2[0, :, 6, 8 + net.config.depth + 1] += 1.0
    y3 = y.clone()
    y3[0, :, 6, 8 + net.config.depth] += 1.0
    assert net.receptive_field == 11
    assert torch.equal(net(y)[0, :, 6, 8], net(y2)[0, :, 6, 8])
    assert not torch.equal(net(y)[0, :, 6, 8], net(y3)[0, :, 6, 8])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        net(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="depth"):
        DnCNN(DnCNN.Config(depth=1))


def test_denoise_unet_any_size_residual_and_starts_near_identity():
    """The U-Net denoiser pads any size to its multiple and crops back; it sees far beyond DnCNN's window."""
    torch.manual_seed(0)
    net = DenoiseUNet(DenoiseUNet.Config(channels=8, levels=3, blocks=1)).eval()
    assert net.multiple == 4
    for h, w in ((13, 17), (16, 16), (3, 5)):
        y = torch.rand(2, 3, h, w) * 2 - 1
        assert net(y).shape == y.shape
        assert torch.allclose(net(y), y - net.noise(y))
    y = torch.rand(1, 3, 32, 32) * 2 - 1
    assert net.noise(y).abs().mean() < 0.2 * y.abs().mean()  # a fresh network predicts little noise
    far = y.clone()
    far[0, :, 16, 16 + 12] += 1.0  # 12 px away: beyond a 5-layer DnCNN's reach, inside the U-Net's
    assert not torch.equal(net(y)[0, :, 16, 16], net(far)[0, :, 16, 16])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        net(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="levels"):
        DenoiseUNet(DenoiseUNet.Config(levels=0))


def test_residual_target_is_the_noise_and_its_loss_is_the_denoised_mse():
    clean = torch.rand(2, 3, 8, 8) * 2 - 1
    noise = 0.1 * torch.randn(2, 3, 8, 8)
    assert torch.allclose(residual_target(clean + noise, clean), noise, atol=1e-6)
    net = DnCNN(DnCNN.Config(depth=3, channels=4))
    y = clean + noise
    residual_loss = torch.nn.functional.mse_loss(net.noise(y), residual_target(y, clean))
    assert torch.allclose(residual_loss, torch.nn.functional.mse_loss(net(y), clean), atol=1e-6)


def test_noisy_batches_levels_seeding_and_resume():
    one = NoisyBatches(_batches(), SIGMA, seed=3)
    noisy, clean = next(one)
    assert abs(float((noisy - clean).std()) - SIGMA) < 0.1 * SIGMA
    blind = NoisyBatches(_batches(), (0.0, 2 * SIGMA), seed=3)
    stds = [float((n - c).std((1, 2, 3)).max() - (n - c).std((1, 2, 3)).min()) for n, c in [next(blind) for _ in range(3)]]
    assert max(stds) > 0.1 * SIGMA  # each image draws its own level
    a = NoisyBatches(_batches(), SIGMA, seed=3)
    next(a)
    state = a.state_dict()
    want = next(a)
    b = NoisyBatches(_batches(), SIGMA, seed=3)
    b.load_state_dict(state)
    got = next(b)
    assert torch.equal(want[0], got[0]) and torch.equal(want[1], got[1])
    with pytest.raises(ValueError, match="seed"):
        NoisyBatches(_batches(), SIGMA, seed=4).load_state_dict(state)
    for bad in (0.0, (0.2, 0.1), float("inf")):
        with pytest.raises(ValueError, match="sigma"):
            NoisyBatches(_batches(), bad)


@pytest.mark.parametrize("make", [lambda: DnCNN(DnCNN.Config(depth=3, channels=16)),
                                  lambda: DenoiseUNet(DenoiseUNet.Config(channels=8, levels=2, blocks=1))],
                         ids=["DnCNN", "DenoiseUNet"])
def test_a_few_steps_lower_the_loss_and_the_checkpoint_round_trips(tmp_path, make):
    """The residual recipe trains either denoiser, and its checkpoint rebuilds the same network."""
    torch.manual_seed(0)
    net = make()
    cfg = DenoiseConfig(sigma=SIGMA, lr=3e-3, batch_size=4)
    tr = denoise_trainer(net, NoisyBatches(_batches(size=16, n=16), SIGMA, seed=0), cfg, run_dir=tmp_path / "dn",
                         device="cpu", progress=False, log_every=1)
    tr.fit(25)
    loss = tr.history["G/loss"]["value"]
    assert np.mean(loss[-5:]) < 0.7 * np.mean(loss[:5]), (loss[:5], loss[-5:])
    path = tr.save()
    model = load_restoration_model(path, kind="denoise")
    assert model.kind == "denoise" and type(model.net) is type(net) and not model.net.training
    x = torch.rand(1, 3, 20, 20) * 2 - 1
    net.eval()
    assert torch.allclose(denoise_with(model.net, x), net(x).clamp(-1, 1), atol=1e-6)
    net.train()
    denoise_with(net, x)
    assert net.training  # applying a network puts it back in the mode it was in


def _told(**kw) -> DenoiseUNet:
    return DenoiseUNet(DenoiseUNet.Config(channels=8, levels=2, blocks=1, noise_map=True, **kw))


def test_a_denoiser_told_the_level_reads_it_as_one_more_plane():
    """noise_map: the level is a constant input plane, one number or one per image; a network without the map
    refuses a level and one with it needs one."""
    torch.manual_seed(0)
    told, plain = _told().eval(), DenoiseUNet(DenoiseUNet.Config(channels=8, levels=2, blocks=1)).eval()
    assert told.head.in_channels == 4 and plain.head.in_channels == 3
    assert takes_noise_level(told) and not takes_noise_level(plain) and not takes_noise_level(DnCNN())
    y = torch.rand(2, 3, 13, 17) * 2 - 1
    both = told(y, torch.tensor([0.1, 0.3]))
    assert both.shape == y.shape
    assert torch.allclose(both[:1], told(y[:1], 0.1), atol=1e-6) and torch.allclose(both[1:], told(y[1:], 0.3), atol=1e-6)
    assert not torch.allclose(told(y, 0.1), told(y, 0.3))  # the level changes what it does
    with pytest.raises(ValueError, match=r"net\(y, sigma\)"):
        told(y)
    with pytest.raises(ValueError, match="takes no noise level"):
        plain(y, 0.1)
    with pytest.raises(ValueError, match="one per image"):
        told(y, torch.tensor([0.1, 0.2, 0.3]))


def test_noisy_batches_with_levels_give_the_same_noise_and_each_images_level():
    lo, hi = 0.0, 2 * SIGMA
    noisy, clean, levels = next(NoisyBatches(_batches(), (lo, hi), seed=3, with_levels=True))
    noisy2, clean2 = next(NoisyBatches(_batches(), (lo, hi), seed=3))
    assert torch.equal(noisy, noisy2) and torch.equal(clean, clean2) and levels.shape == (4,)
    assert float(levels.min()) >= lo and float(levels.max()) <= hi and float(levels.std()) > 0
    spread = (noisy - clean).flatten(1).std(dim=1)
    assert torch.allclose(spread, levels, rtol=0.1, atol=0.01), (spread, levels)


def test_a_told_denoiser_trains_on_its_levels_and_round_trips(tmp_path):
    """The residual recipe trains a network told the level (each batch image's own level goes in as its plane),
    its checkpoint rebuilds it, and applying it needs the level. The trainer refuses batches that do not match the
    network. (Whether it learns to *use* the plane is a question for long training on photos, where the level is
    hard to read off the picture: these smooth toy images give it away, and a tiny net ignores the plane.)"""
    torch.manual_seed(0)
    net = _told()
    cfg = DenoiseConfig(sigma=(0.0, 2 * SIGMA), lr=3e-3, batch_size=4)
    with pytest.raises(ValueError, match="with_levels"):
        denoise_trainer(net, NoisyBatches(_batches(), cfg.sigma), cfg)
    with pytest.raises(ValueError, match="with_levels"):
        denoise_trainer(DnCNN(DnCNN.Config(depth=3, channels=4)), NoisyBatches(_batches(), SIGMA, with_levels=True), cfg)
    tr = denoise_trainer(net, NoisyBatches(_batches(size=16, n=16), cfg.sigma, seed=0, with_levels=True), cfg,
                         run_dir=tmp_path / "dn", device="cpu", progress=False, log_every=1)
    tr.fit(60)
    loss = tr.history["G/loss"]["value"]
    assert np.mean(loss[-10:]) < 0.7 * np.mean(loss[:10]), (loss[:10], loss[-10:])
    clean = next(iter(_batches(seed=5, size=16, n=4)))
    noisy = clean + SIGMA * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    assert float(psnr(denoise_with(net, noisy, SIGMA), clean).mean()) > float(psnr(noisy, clean).mean()) + 3
    model = load_restoration_model(tr.save(), kind="denoise")
    assert takes_noise_level(model.net)
    assert torch.allclose(denoise_with(model.net, noisy, SIGMA), denoise_with(net, noisy, SIGMA), atol=1e-6)
    with pytest.raises(ValueError, match="pass sigma"):
        denoise_with(model.net, noisy)


def test_the_course_schedule_holds_the_rate_then_decays_it():
    net = DnCNN(DnCNN.Config(depth=3, channels=4))
    cfg = DenoiseConfig(sigma=SIGMA, lr=1e-3, batch_size=4, lr_final=0.01, lr_decay_start=3, num_steps=6)
    tr = denoise_trainer(net, NoisyBatches(_batches(size=8, n=8), SIGMA, seed=0), cfg, device="cpu", progress=False)
    rates = [r["G"] for r in rates_per_step(tr, 6)]
    assert rates[:4] == [1e-3] * 4 and rates[3] > rates[4] > rates[5] > 1e-5
    assert DenoiseConfig().lr_final is None  # the chapter's minutes: a constant rate
    with pytest.raises(ValueError, match="lr_final"):
        DenoiseConfig(lr_final=2.0)


def test_the_trainer_refuses_a_network_that_is_not_residual():
    with pytest.raises(TypeError, match="noise"):
        denoise_trainer(torch.nn.Conv2d(3, 3, 3), NoisyBatches(_batches(), SIGMA), DenoiseConfig())


# ----------------------------------------------------------------------------------------------
# python -m synthlib denoise
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    net = DnCNN(DnCNN.Config(depth=4, channels=8))
    tr = denoise_trainer(net, NoisyBatches(_batches(), SIGMA), DenoiseConfig(), device="cpu", progress=False,
                         run_dir=tmp_path_factory.mktemp("dn") / "denoise")
    tr.fit(2)
    return tr.save()


def _noisy_png(path: Path, photo: torch.Tensor, w: int = 64, h: int = 48) -> Path:
    noisy = add_noise(photo, SIGMA, generator=torch.Generator().manual_seed(2))[0, :, :h, :w]
    Image.fromarray(noisy.clamp(-1, 1).add(1).mul(127.5).round().byte().permute(1, 2, 0).numpy()).save(path)
    return path


def test_denoise_verb_tiles_give_the_whole_picture_result(ckpt, photo, tmp_path, capsys):
    img = _noisy_png(tmp_path / "noisy.png", photo)
    whole, tiled = tmp_path / "whole.png", tmp_path / "tiled.png"
    assert main(["denoise", str(ckpt), "--input", str(img), "--out", str(whole), "--tile", "0", "--device", "cpu"]) == 0
    assert main(["denoise", str(ckpt), "--input", str(img), "--out", str(tiled), "--tile", "16", "--tile-overlap", "0",
                 "--device", "cpu"]) == 0
    a, b = np.asarray(Image.open(whole)), np.asarray(Image.open(tiled))
    assert a.shape == (48, 64, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # the overlap is raised to the depth: seams vanish
    assert "DnCNN" in capsys.readouterr().err


def test_denoise_verb_ensemble_averages_the_flips_and_turns_tile_by_tile(ckpt, photo, tmp_path, capsys):
    from synthlib.data.imageio import pixels_to_tensor, read_pixels
    from synthlib.restoration import load_restoration_model, self_ensemble

    img = _noisy_png(tmp_path / "noisy.png", photo)
    plain, ens = tmp_path / "plain.png", tmp_path / "ens.png"
    assert main(["denoise", str(ckpt), "--input", str(img), "--out", str(plain), "--tile", "0", "--device", "cpu"]) == 0
    assert main(["denoise", str(ckpt), "--input", str(img), "--out", str(ens), "--tile", "16", "--ensemble",
                 "--device", "cpu"]) == 0
    assert "x8 self-ensemble" in capsys.readouterr().err
    net = load_restoration_model(ckpt, kind="denoise").net
    expected = self_ensemble(lambda v: denoise_with(net, v), pixels_to_tensor(read_pixels(str(img))))
    expected = expected[0].add(1).mul(127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy().astype(int)
    got = np.asarray(Image.open(ens)).astype(int)
    assert np.abs(got - expected).max() <= 1   # in tiles, the same as the whole picture's ensemble
    assert np.abs(got - np.asarray(Image.open(plain)).astype(int)).max() > 0   # and not the plain network's output


def test_denoise_verb_bm3d_removes_noise(photo, tmp_path, capsys):
    img = _noisy_png(tmp_path / "noisy.png", photo)
    out = tmp_path / "clean.png"
    assert main(["denoise", "bm3d", "--input", str(img), "--out", str(out), "--sigma", "25"]) == 0
    clean = ((photo[0, :, :48, :64] + 1) * 127.5).permute(1, 2, 0).numpy()

    def err(p):
        return float(np.mean((np.asarray(Image.open(p)).astype(float) - clean) ** 2))

    assert err(out) < 0.4 * err(img)
    assert "BM3D at sigma 25" in capsys.readouterr().err


def test_denoise_verb_notes_a_sigma_the_network_never_saw(ckpt, photo, tmp_path, capsys):
    img = _noisy_png(tmp_path / "noisy.png", photo)
    assert main(["denoise", str(ckpt), "--input", str(img), "--out", str(tmp_path / "o.png"), "--sigma", "60"]) == 0
    assert "trained at sigma 25, not 60" in capsys.readouterr().err


@pytest.fixture(scope="module")
def told_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    cfg = DenoiseConfig(sigma=(0.0, 2 * SIGMA))
    tr = denoise_trainer(_told(), NoisyBatches(_batches(), cfg.sigma, with_levels=True), cfg, device="cpu",
                         progress=False, run_dir=tmp_path_factory.mktemp("dn") / "denoise_told")
    tr.fit(2)
    return tr.save()


def test_estimate_level_reads_the_noise_off_a_photo():
    from skimage.restoration import estimate_sigma

    from synthlib.restoration.denoise_verb import estimate_level

    photo = resize_shorter(load_photo("astronaut", 256)[None], 256)[0]  # a black background: clipping at 0
    for level in (5, 15, 25, 40, 50):
        noisy = add_noise(photo[None], sigma_from_255(level), generator=torch.Generator().manual_seed(3))[0]
        pixels = noisy.clamp(-1, 1).add(1).mul(127.5).round().byte().permute(1, 2, 0).numpy()
        assert abs(estimate_level(pixels) - level) < 0.15 * level + 1, (level, estimate_level(pixels))
        big = (pixels.astype(np.uint16) * 257)  # 16-bit: the same picture, the same level on 0..255
        assert abs(estimate_level(big) - estimate_level(pixels)) < 0.5
        assert abs(estimate_level(pixels, side=64) - level) < 0.3 * level + 2  # a window of the middle is enough
    # clipping hides strong noise from an estimate over every pixel (scikit-image's reads about 41 here); the
    # mid-tones do not hide it
    everywhere = float(estimate_sigma(pixels.astype(np.float32) / 255, channel_axis=-1, average_sigmas=True)) * 255
    assert everywhere < 45 and estimate_level(pixels) > everywhere + 3, (everywhere, estimate_level(pixels))


def test_denoise_verb_tells_a_told_network_the_level_given_or_estimated(told_ckpt, photo, tmp_path, capsys):
    from synthlib.data.imageio import pixels_to_tensor, read_pixels
    from synthlib.restoration.denoise_verb import estimate_level

    img = _noisy_png(tmp_path / "noisy.png", photo)
    net = load_restoration_model(told_ckpt, kind="denoise").net
    x = pixels_to_tensor(read_pixels(str(img)))

    def expected(level: float) -> np.ndarray:
        out = denoise_with(net, x, sigma_from_255(level))[0]
        return out.add(1).mul(127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy().astype(int)

    given, guessed = tmp_path / "given.png", tmp_path / "guessed.png"
    assert main(["denoise", str(told_ckpt), "--input", str(img), "--out", str(given), "--sigma", "40", "--tile", "0"]) == 0
    err = capsys.readouterr().err
    assert "told sigma 40.0" in err and "estimated" not in err
    assert np.abs(np.asarray(Image.open(given)).astype(int) - expected(40)).max() <= 1
    assert main(["denoise", str(told_ckpt), "--input", str(img), "--out", str(guessed), "--tile", "0"]) == 0
    err = capsys.readouterr().err
    level = estimate_level(read_pixels(str(img)))
    assert f"estimated from the photo: sigma {level:.1f}" in err and 15 < level < 35, (level, err)
    assert np.abs(np.asarray(Image.open(guessed)).astype(int) - expected(level)).max() <= 1


@pytest.mark.parametrize("case", ["bm3d without sigma", "sigma out of range", "sigma nan", "out is input",
                                  "existing out", "missing input", "bm3d ensemble"])
def test_denoise_verb_one_line_errors_exit_2_nothing_written(ckpt, photo, tmp_path, capsys, case):
    img = _noisy_png(tmp_path / "noisy.png", photo)
    (tmp_path / "taken.png").write_bytes(img.read_bytes())
    out = str(tmp_path / "out.png")
    args, words = {
        "bm3d without sigma": (["denoise", "bm3d", "--input", str(img), "--out", out], ["--sigma", "bm3d"]),
        "sigma out of range": (["denoise", str(ckpt), "--input", str(img), "--out", out, "--sigma", "0"],
                               ["--sigma", "(0, 100]"]),
        "sigma nan": (["denoise", "bm3d", "--input", str(img), "--out", out, "--sigma", "nan"], ["--sigma", "finite"]),
        "out is input": (["denoise", str(ckpt), "--input", str(img), "--out", str(img)], ["is the --input"]),
        "existing out": (["denoise", str(ckpt), "--input", str(img), "--out", str(tmp_path / "taken.png")], ["--overwrite"]),
        "missing input": (["denoise", "bm3d", "--input", str(tmp_path / "nope.png"), "--out", out, "--sigma", "25"],
                          ["--input", "does not exist"]),
        "bm3d ensemble": (["denoise", "bm3d", "--input", str(img), "--out", out, "--sigma", "25", "--ensemble"],
                          ["--ensemble", "not a network"]),
    }[case]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m synthlib denoise: error: "), err
    for w in words:
        assert w in err[0], err[0]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


# ----------------------------------------------------------------------------------------------
# The denoising explorer (its callbacks as plain functions; tests/test_lab_browser.py drives it in Chromium)
# ----------------------------------------------------------------------------------------------


def _explorer(photo, **kwargs):
    from synthlib.restoration.denoise_widget import DenoiseExplorer

    blur = lambda y, sigma: torch.nn.functional.avg_pool2d(y[None], 3, stride=1, padding=1,  # noqa: E731
                                                          count_include_pad=False)[0]
    return DenoiseExplorer(photo[0], {"blur": blur, "NL-means": denoise_nl_means}, **kwargs)


def test_denoise_explorer_follows_the_noise_level_and_seed(photo):
    ex = _explorer(photo, sigma=10)
    a = ex.render()
    assert a.shape == (3, 64, 4 * 64 + 3 * 2)
    low = dict(ex.psnr)
    assert torch.equal(ex.render(), a)  # the same level and seed: the same picture
    ex.set_sigma(40)
    b = ex.render()
    assert not torch.equal(a[:, :, :64], b[:, :, :64])
    assert torch.equal(a[:, :, -64:], b[:, :, -64:])  # the clean photo stays
    assert ex.psnr["noisy"] < low["noisy"] - 8 and ex.psnr["NL-means"] > ex.psnr["noisy"] + 3
    assert "sigma 40 |" in ex.caption() and "NL-means" in ex.caption()
    ex.seed = 1
    assert not torch.equal(ex.render()[:, :, :64], b[:, :, :64])


def test_denoise_explorer_refuses_bad_levels_and_methods(photo):
    for bad in (0, -5, 101, "x", float("nan")):
        with pytest.raises(ValueError, match="sigma"):
            _explorer(photo, sigma=bad)
    from synthlib.restoration.denoise_widget import DenoiseExplorer

    ex = DenoiseExplorer(photo[0], {"crop": lambda y, sigma: y[:, :8, :8]})
    with pytest.raises(ValueError, match="'crop' returned"):
        ex.render()


def test_denoise_ui_callbacks_redraw(photo):
    from synthlib.restoration.denoise_widget import denoise_ui

    ui = denoise_ui(_explorer(photo, sigma=15), scale=1)
    first, caption = ui.image.value, ui.caption.value
    ui.on_sigma({"new": 45})
    assert ui.image.value != first and "sigma 45" in ui.caption.value and caption != ui.caption.value
    shown = ui.image.value
    ui.on_seed({"new": 3})
    assert ui.image.value != shown
