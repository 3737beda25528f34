"""Chapter 4's pieces: AdaIN statistics, losses, colour handling, the two networks, Gatys and the trainers.

VGG16 here has random weights (the maths does not depend on them), cut at a shallow layer, and the
images are tiny, so every test runs in well under a second or two on a CPU.
"""

from __future__ import annotations

import pytest
import torch

from synthlib.core import checkpoint as ckpt_io
from synthlib.data import TensorBatches
from synthlib.nn.vgg import VGG16Features
from synthlib.style import (
    AdaINConfig,
    FastStyleConfig,
    GatysConfig,
    adain,
    adain_trainer,
    adain_transfer,
    content_loss,
    fast_style_trainer,
    fast_transfer,
    gatys,
    gram_style_loss,
    keep_colors,
    load_style_model,
    load_texture,
    match_luminance,
    mean_std,
    relative_mse,
    resize_shorter,
    rgb_to_yiq,
    stats_style_loss,
    style_targets,
    synthesize_texture,
    total_variation,
    transfer_scores,
    yiq_to_rgb,
)
from synthlib.style.style_nets import ADAIN_LAYERS, AdaINDecoder, TransformerNet
from synthlib.translation import ZipBatches
from tests.lr_schedule import rates_per_step


def _vgg(max_layer: str = "relu3_1") -> VGG16Features:
    torch.manual_seed(0)
    return VGG16Features(VGG16Features.Config(weights="offline-hed", max_layer=max_layer))


def _images(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, h, w, generator=g) * 2 - 1


# ----------------------------------------------------------------------------------------------
# AdaIN and statistics
# ----------------------------------------------------------------------------------------------


def test_mean_std_are_per_image_per_channel_biased():
    x = torch.randn(2, 5, 7, 9, dtype=torch.float64).float()
    mu, sd = mean_std(x, eps=0.0)
    assert mu.shape == sd.shape == (2, 5, 1, 1)
    flat = x.flatten(2)
    torch.testing.assert_close(mu[..., 0, 0], flat.mean(-1))
    torch.testing.assert_close(sd[..., 0, 0], flat.std(-1, unbiased=False))


def test_adain_output_takes_the_style_statistics_and_keeps_the_layout():
    g = torch.Generator().manual_seed(1)
    content = torch.randn(3, 8, 10, 12, generator=g) * 4 + 2
    style = torch.randn(1, 8, 6, 5, generator=g) * 0.3 - 1  # another size, one style for the batch
    out = adain(content, style)
    mu_o, sd_o = mean_std(out, eps=0.0)
    mu_s, sd_s = mean_std(style, eps=0.0)
    torch.testing.assert_close(mu_o, mu_s.expand_as(mu_o), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(sd_o, sd_s.expand_as(sd_o), atol=1e-3, rtol=1e-3)
    # the spatial pattern is the content's: per channel an increasing affine map of it
    corr = torch.corrcoef(torch.stack([out[0, 0].flatten(), content[0, 0].flatten()]))[0, 1]
    assert corr > 0.9999


def test_adain_rejects_mismatched_channels():
    with pytest.raises(ValueError, match="same C"):
        adain(torch.randn(1, 4, 5, 5), torch.randn(1, 3, 5, 5))


def test_relative_losses_are_scale_free_and_zero_at_the_target():
    x, t = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    assert float(relative_mse(t, t)) == 0.0
    torch.testing.assert_close(relative_mse(x * 60, t * 60), relative_mse(x, t))
    assert float(relative_mse(torch.zeros_like(t), t)) == pytest.approx(1.0)
    feats = {"a": x}
    assert float(content_loss(feats, {"a": x})) == 0.0
    grams = {"a": torch.einsum("nchw,ndhw->ncd", x, x) / (4 * 36)}
    assert float(gram_style_loss(feats, grams)) == pytest.approx(0.0, abs=1e-6)
    assert float(stats_style_loss(feats, {"a": x})) == pytest.approx(0.0, abs=1e-6)
    assert float(stats_style_loss(feats, {"a": x * 2 + 1})) > 0.1


def test_total_variation_zero_for_flat_positive_for_noise():
    assert float(total_variation(torch.full((1, 3, 8, 8), 0.3))) == 0.0
    assert float(total_variation(_images(1, 8, 8))) > 0.1


# ----------------------------------------------------------------------------------------------
# Colour
# ----------------------------------------------------------------------------------------------


def test_yiq_round_trip_and_gray_has_no_chroma():
    x = _images(2, 5, 6)
    torch.testing.assert_close(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5, rtol=1e-5)
    gray = torch.full((1, 3, 4, 4), 0.2)
    assert rgb_to_yiq(gray)[:, 1:].abs().max() < 1e-6


def test_keep_colors_takes_luminance_from_one_and_colour_from_the_other():
    stylised, content = _images(1, 8, 8, 1) * 0.5, _images(1, 8, 8, 2) * 0.5  # inside [-1, 1] after mixing
    out = keep_colors(stylised, content)
    torch.testing.assert_close(rgb_to_yiq(out)[:, 0], rgb_to_yiq(stylised)[:, 0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="same shapes"):
        keep_colors(stylised, content[..., :4])


def test_match_luminance_moves_the_style_to_the_content_brightness():
    style = _images(1, 16, 16, 3) * 0.2 + 0.6  # bright, low contrast
    content = _images(1, 12, 12, 4) * 0.5 - 0.2
    m = match_luminance(style, content)
    y_m, y_c = rgb_to_yiq(m)[:, 0], rgb_to_yiq(content)[:, 0]
    assert abs(float(y_m.mean() - y_c.mean())) < 0.02
    assert abs(float(y_m.std() - y_c.std())) < 0.02
    assert rgb_to_yiq(m)[:, 1:].abs().max() < 1e-5  # gray


# ----------------------------------------------------------------------------------------------
# Networks
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hw", [(32, 32), (37, 50), (3, 5), (64, 21)])
def test_transformer_net_keeps_any_size(hw):
    net = TransformerNet(TransformerNet.Config(base_channels=4, num_res=1))
    x = _images(2, *hw)
    assert net(x).shape == x.shape


def test_transformer_net_rejects_gray():
    with pytest.raises(ValueError, match="RGB"):
        TransformerNet(TransformerNet.Config(base_channels=4, num_res=1))(torch.zeros(1, 1, 8, 8))


@pytest.mark.parametrize("layer", sorted(ADAIN_LAYERS))
def test_adain_decoder_inverts_the_encoder_size(layer):
    vgg = _vgg(layer)
    dec = AdaINDecoder(AdaINDecoder.Config(layer=layer, width=0.25))
    f = vgg(_images(1, 32, 48), (layer,))[layer]
    assert dec(f).shape == (1, 3, 32, 48)
    with pytest.raises(ValueError, match="VGG features"):
        dec(torch.zeros(1, 7, 4, 4))


# ----------------------------------------------------------------------------------------------
# Gatys
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_gatys_spends_exactly_its_evaluations_and_lowers_the_loss(optimizer):
    vgg = _vgg("relu3_1")
    cfg = GatysConfig(size=24, steps=12, optimizer=optimizer, lr=0.05, content_layers=("relu2_1",),
                      style_layers=("relu1_1", "relu2_1", "relu3_1"))  # fmt: skip
    r = gatys(vgg, _images(1, 30, 40, 1), _images(1, 20, 20, 2), cfg)
    assert r.evaluations == 12 and len(r.losses) == 12
    assert r.losses[-1] < 0.8 * r.losses[0]
    assert r.image.shape == (1, 3, 24, 32) and r.image.abs().max() <= 1.0


def test_texture_synthesis_from_noise_lowers_the_style_loss():
    """The style loss alone, from noise: the Gram matrices of a striped texture are matched (the loss falls about 10x),
    the output has the asked size, and it is not the texture copied (it starts from noise, at another size)."""
    vgg = _vgg("relu3_1")
    stripes = torch.sin(torch.arange(32.0) * 1.2).view(1, 1, 1, 32).expand(1, 3, 32, 32).clone()
    stripes[:, 1] *= -1  # colour: red-blue stripes against green
    layers = ("relu1_1", "relu2_1", "relu3_1")
    r = synthesize_texture(vgg, stripes, size=24, width=40, steps=20, style_layers=layers, texture_size=32)
    assert r.evaluations == 20 and r.image.shape == (1, 3, 24, 40) and r.image.abs().max() <= 1
    assert r.losses[-1] < 0.25 * r.losses[0]
    grams = style_targets(vgg, stripes, layers)
    noise = torch.randn(1, 3, 24, 40, generator=torch.Generator().manual_seed(0)) * 0.5
    with torch.no_grad():
        before = float(gram_style_loss(vgg(noise.clamp(-1, 1), layers), grams))
        after = float(gram_style_loss(vgg(r.image, layers), grams))
    assert after < 0.5 * before  # the clamped output: 0.32 of the noise's loss (unclamped optimum: 0.11)


def test_gatys_multiscale_and_colour_preservation():
    vgg = _vgg("relu3_1")
    content = _images(1, 32, 32, 5) * 0.5
    seen = []
    cfg = GatysConfig(size=32, steps=6, scales=(0.5, 1.0), preserve_color=True, content_layers=("relu2_1",),
                      style_layers=("relu1_1", "relu2_1"))  # fmt: skip
    r = gatys(vgg, content, _images(1, 32, 32, 6), cfg, callback=lambda n, img: seen.append((n, img.shape[-1])))
    assert seen == [(3, 16), (6, 32)]
    torch.testing.assert_close(rgb_to_yiq(r.image)[:, 1:], rgb_to_yiq(content)[:, 1:], atol=2e-3, rtol=0)


def test_gatys_config_checks():
    with pytest.raises(ValueError, match="scales"):
        GatysConfig(scales=(1.0, 0.5))
    with pytest.raises(ValueError, match="optimizer"):
        GatysConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="layer"):
        GatysConfig(style_layers=("relu9_9",))


def test_transfer_scores_zero_for_the_content_itself():
    vgg = _vgg("relu3_1")
    c, s = _images(2, 16, 16, 1), _images(1, 16, 16, 2)
    own = transfer_scores(vgg, c, c, s, content_layers=("relu2_1",), style_layers=("relu1_1", "relu3_1"))
    assert own["content"] == 0.0 and own["style"] > 0
    styled = transfer_scores(vgg, s.expand(2, -1, -1, -1), c, s, content_layers=("relu2_1",),
                             style_layers=("relu1_1", "relu3_1"))  # fmt: skip
    assert styled["style"] == pytest.approx(0.0, abs=1e-6) and styled["content"] > 0


# ----------------------------------------------------------------------------------------------
# Trainers, checkpoints, resume
# ----------------------------------------------------------------------------------------------


def _fast(run_dir, steps_done: int = 0, **cfg_kw):
    torch.manual_seed(0)
    net = TransformerNet(TransformerNet.Config(base_channels=4, num_res=1))
    data = TensorBatches((_images(8, 16, 16, 3) * 127.5 + 127.5).round().to(torch.uint8), batch_size=2,
                         transform=lambda u: u.float() / 127.5 - 1)  # fmt: skip
    cfg = FastStyleConfig(style_size=16, content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1"),
                          style_name="noise", tv_weight=0.1, **cfg_kw)  # fmt: skip
    return fast_style_trainer(net, _vgg("relu2_1"), _images(1, 20, 20, 4), data, cfg, run_dir=run_dir,
                              device="cpu", progress=False, log_every=1)  # fmt: skip


def test_fast_style_resume_is_exact_and_checkpoint_rebuilds(tmp_path):
    straight = _fast(tmp_path / "a")
    straight.fit(4)
    half = _fast(tmp_path / "b")
    half.fit(2)
    half.save()
    resumed = _fast(tmp_path / "b")
    resumed.load()
    resumed.fit(4)
    for p, q in zip(straight.models["net"].parameters(), resumed.models["net"].parameters()):
        torch.testing.assert_close(p, q)
    assert set(straight.history) >= {"net/content", "net/style", "net/tv"}
    path = straight.save()
    model = load_style_model(path)
    assert model.kind == "fast-style" and model.vgg is None and model.config["style_name"] == "noise"
    x = _images(1, 18, 22, 9)
    torch.testing.assert_close(fast_transfer(model.net, x), straight.models["net"].eval()(x).clamp(-1, 1))


def test_fast_style_long_run_holds_its_rate_then_decays_it(tmp_path):
    t = _fast(tmp_path / "lr", lr=1e-3, lr_final=0.01, lr_decay_start=2, num_steps=5)
    rates = [r["net"] for r in rates_per_step(t, 5)]
    assert rates[:3] == [1e-3] * 3 and rates[2] > rates[3] > rates[4] > 1e-5
    assert FastStyleConfig().lr_final is None  # the chapter's minutes: a constant rate
    with pytest.raises(ValueError, match="lr_final"):
        FastStyleConfig(lr_final=1.5)


def _adain(tmp_path, **cfg):
    """A tiny AdaIN decoder (relu2_1) and its trainer over 16x16 random content and style crops."""
    torch.manual_seed(0)
    layer = "relu2_1"
    vgg = _vgg(layer)
    dec = AdaINDecoder(AdaINDecoder.Config(layer=layer, width=0.25))
    u8 = (_images(16, 16, 16, 1) * 127.5 + 127.5).round().to(torch.uint8)
    to_float = lambda u: u.float() / 127.5 - 1  # noqa: E731
    data = ZipBatches(TensorBatches(u8[:8], batch_size=4, transform=to_float),
                      TensorBatches(u8[8:], batch_size=4, seed=1, transform=to_float))  # fmt: skip
    trainer = adain_trainer(dec, vgg, data, AdaINConfig(layer=layer, lr=1e-3, **cfg), run_dir=tmp_path, device="cpu",
                            progress=False, log_every=1)  # fmt: skip
    return dec, vgg, trainer


def test_adain_trainer_learns_to_decode_and_transfer_mixes(tmp_path):
    dec, vgg, trainer = _adain(tmp_path)
    layer = "relu2_1"
    trainer.fit(15)
    loss = trainer.history["decoder/loss"]["value"]
    assert sum(loss[-3:]) / 3 < 0.7 * sum(loss[:3]) / 3
    c, s1, s2 = _images(2, 16, 20, 5), _images(1, 12, 12, 6), _images(1, 24, 16, 7)
    dec.eval()
    out = adain_transfer(dec, vgg, c, s1)
    assert out.shape == c.shape and out.abs().max() <= 1
    # alpha = 0 decodes the content's own features; weights (1, 0) equal the first style alone
    f = vgg(c, (layer,))[layer]
    torch.testing.assert_close(adain_transfer(dec, vgg, c, s1, alpha=0.0), dec(f).clamp(-1, 1))
    torch.testing.assert_close(adain_transfer(dec, vgg, c, [s1, s2], weights=[1.0, 0.0]), out)
    with pytest.raises(ValueError, match="summing to 1"):
        adain_transfer(dec, vgg, c, [s1, s2], weights=[0.7, 0.7])
    with pytest.raises(ValueError, match="alpha"):
        adain_transfer(dec, vgg, c, s1, alpha=1.5)


def test_adain_ema_is_saved_and_preferred_at_load(tmp_path):
    dec, _, trainer = _adain(tmp_path, ema_half_life_img=16)
    trainer.fit(6)
    ema = trainer.model("decoder_ema")
    # the average lags behind the trained weights: it is a different model, and the one loaded
    assert any(not torch.equal(p, q) for p, q in zip(dec.parameters(), ema.parameters()))
    model = load_style_model(trainer.save())
    for p, q in zip(model.net.parameters(), ema.parameters()):
        torch.testing.assert_close(p, q)
    with pytest.raises(ValueError, match="ema_half_life_img"):
        FastStyleConfig(ema_half_life_img=-1)


def test_adain_config_guards_against_the_wrong_encoder():
    with pytest.raises(ValueError, match="vgg_weights"):
        adain_trainer(AdaINDecoder(AdaINDecoder.Config(layer="relu2_1", width=0.25)), _vgg("relu2_1"), iter([]),
                      AdaINConfig(layer="relu2_1", vgg_weights="torchvision-imagenet"))  # fmt: skip
    with pytest.raises(ValueError, match="decoder is for"):
        adain_trainer(AdaINDecoder(AdaINDecoder.Config(layer="relu3_1", width=0.25)), _vgg("relu3_1"), iter([]),
                      AdaINConfig(layer="relu2_1"))  # fmt: skip


def test_load_style_model_refuses_other_kinds(tmp_path):
    path = tmp_path / "c.pt"
    ckpt_io.save_atomic({"format": ckpt_io.FORMAT, "kind": "dcgan", "models": {}}, path)
    with pytest.raises(ckpt_io.CheckpointError):
        load_style_model(path)


def test_style_targets_are_one_gram_per_layer():
    g = style_targets(_vgg("relu2_1"), _images(1, 16, 16), ("relu1_1", "relu2_1"))
    assert g["relu1_1"].shape == (1, 64, 64) and g["relu2_1"].shape == (1, 128, 128)


# ----------------------------------------------------------------------------------------------
# The widget's plain functions
# ----------------------------------------------------------------------------------------------


def _mixer():
    from synthlib.style.mixer_widget import StyleMixer

    torch.manual_seed(0)
    vgg = _vgg("relu2_1")
    dec = AdaINDecoder(AdaINDecoder.Config(layer="relu2_1", width=0.25))
    contents = {"a": _images(1, 20, 30, 1), "b": _images(1, 24, 24, 2)[0]}
    styles = {"s": _images(1, 16, 16, 3) * 0.3, "t": _images(1, 10, 40, 4)}
    return StyleMixer(dec, vgg, contents, styles)


def test_style_mixer_functions():
    mixer = _mixer()
    one = mixer.stylize("a", "s", alpha=1.0)
    assert one.shape == (1, 3, 20, 30)
    assert not torch.equal(one, mixer.stylize("a", "s", alpha=0.0))
    assert not torch.equal(one, mixer.stylize("a", "t"))
    assert not torch.equal(one, mixer.stylize("a", "s", style2="t", mix=0.5))
    torch.testing.assert_close(mixer.stylize("a", "s", style2="t", mix=0.0), one)
    assert mixer.render("a", "s").shape == (3, 20, 30 + 2 + 20 + 2 + 30)  # photo | style at 20 px high | result
    with pytest.raises(ValueError, match="unknown style"):
        mixer.stylize("a", "nope")


def test_style_ui_redraws_on_every_control():
    from synthlib.style.mixer_widget import style_ui

    ui = style_ui(_mixer())
    seen = [bytes(ui.image.value)]
    for widget, value in ((ui.alpha, 0.3), (ui.style, "t"), (ui.content, "b"), (ui.color, True)):
        widget.value = value
        seen.append(bytes(ui.image.value))
    assert all(s.startswith(b"\x89PNG") for s in seen) and len(set(seen)) == len(seen)
    assert "alpha 0.30" in ui.caption.value and "photo colours" in ui.caption.value


def test_match_colors_takes_the_style_palette():
    from synthlib.style import match_colors

    content, style = _images(1, 12, 12, 1) * 0.4, _images(1, 8, 8, 2) * 0.2 + 0.3
    out = match_colors(content, style)
    mu_o, sd_o = mean_std(out, eps=0)
    mu_s, sd_s = mean_std(style, eps=0)
    torch.testing.assert_close(mu_o, mu_s, atol=1e-4, rtol=0)
    torch.testing.assert_close(sd_o, sd_s, atol=1e-3, rtol=0)


def test_color_stats_loss_zero_for_the_same_palette_and_logged_in_training():
    from synthlib.style import color_stats_loss

    style = _images(1, 16, 16, 1) * 0.3 + 0.2
    assert float(color_stats_loss(style, style)) == pytest.approx(0.0, abs=1e-10)
    assert float(color_stats_loss(style.flip(-1), style)) == pytest.approx(0.0, abs=1e-10)  # positions do not matter
    assert float(color_stats_loss(-style, style)) > 0.05
    torch.manual_seed(0)
    net = TransformerNet(TransformerNet.Config(base_channels=4, num_res=1))
    data = TensorBatches(torch.zeros(4, 3, 16, 16, dtype=torch.uint8), batch_size=2, transform=lambda u: u.float() / 127.5 - 1)
    cfg = FastStyleConfig(style_size=16, content_layers=("relu2_1",), style_layers=("relu1_1",), color_weight=1.0)
    t = fast_style_trainer(net, _vgg("relu2_1"), style, data, cfg, device="cpu", progress=False, log_every=1)
    t.fit(2)
    assert "net/color" in t.history


def test_load_texture_and_synthesis_on_a_real_texture():
    """scikit-image's brick as a 1 x 3 x H x W tensor in [-1, 1]; synthesis from noise lowers its style loss and the
    result is neither the noise start nor the texture."""
    brick = load_texture("brick", 32)
    assert brick.shape == (1, 3, 32, 32) and brick.min() >= -1 and brick.max() <= 1 and brick.std() > 0.05
    with pytest.raises(ValueError, match="texture"):
        load_texture("bricks")
    vgg = _vgg("relu2_1")
    layers = ("relu1_1", "relu2_1")
    r = synthesize_texture(vgg, brick, size=24, steps=10, style_layers=layers)
    assert r.losses[-1] < 0.5 * r.losses[0]
    assert not torch.allclose(r.image, resize_shorter(brick, 24), atol=0.1)
