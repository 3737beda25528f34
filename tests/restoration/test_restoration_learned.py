"""Chapter 6's learned side: scores, degraded training batches, the losses, the inpainting and SR trainers,
Deep Image Prior, and applying trained networks to any image size (known pixels kept exactly)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from synthlib.data import TensorBatches
from synthlib.nn.patchgan import PatchGANDiscriminator
from synthlib.nn.vgg import VGG16Features
from synthlib.restoration import (
    DIPConfig,
    DownscaledBatches,
    InpaintConfig,
    InpaintUNet,
    MaskedBatches,
    SRConfig,
    SRResNet,
    composite,
    deep_image_prior,
    downscale,
    gram_loss,
    hole_total_variation,
    hole_valid_l1,
    inpaint_loss_terms,
    inpaint_phases,
    inpaint_term_gradients,
    inpaint_term_weights,
    inpaint_trainer,
    inpaint_with,
    load_restoration_model,
    perceptual_loss,
    psnr,
    random_hole,
    sr_trainer,
    ssim,
    upscale_with,
)
from tests.lr_schedule import rates_per_step


def _images(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Smooth random images in [-1, 1] (low-frequency noise, upsampled): something a network can fit."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, max(2, h // 8), max(2, w // 8), generator=g) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def _u8_batches(n: int, size: int, batch: int, seed: int = 0) -> TensorBatches:
    u8 = ((_images(n, size, size, seed) + 1) * 127.5).round().to(torch.uint8)
    return TensorBatches(u8, batch_size=batch, seed=seed, transform=lambda u: u.float() / 127.5 - 1)


def _vgg(max_layer: str = "relu2_1") -> VGG16Features:
    torch.manual_seed(0)
    return VGG16Features(VGG16Features.Config(max_layer=max_layer, weights="offline-hed")).eval()


# ----------------------------------------------------------------------------------------------
# Scores
# ----------------------------------------------------------------------------------------------


def test_psnr_is_the_formula_and_ssim_is_one_for_identical_images():
    x = _images(2, 24, 24)
    y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    y = y.clamp(-1, 1)
    mse = (x - y).pow(2).mean((1, 2, 3))
    torch.testing.assert_close(psnr(y, x), 10 * torch.log10(4.0 / mse), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ssim(x, x), torch.ones(2), atol=1e-4, rtol=0)
    assert bool((ssim(y, x) < 0.99).all())


def test_luma_psnr_matches_scikit_image_on_the_papers_convention():
    """psnr_y against scikit-image's BT.601 conversion and PSNR (data range 255 on Y in 16..235), border shaved."""
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio

    from synthlib.restoration.classical import psnr_y

    x = _images(2, 24, 24)
    y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    ours = psnr_y(y, x, shave=4)
    for i in range(2):
        luma = [rgb2ycbcr(((t[i] + 1) / 2).permute(1, 2, 0).double().numpy())[4:-4, 4:-4, 0] for t in (y, x)]
        assert float(ours[i]) == pytest.approx(peak_signal_noise_ratio(luma[1], luma[0], data_range=255), abs=1e-3)
    assert not torch.allclose(ours, psnr_y(y, x))  # the border counts when it is not shaved
    with pytest.raises(ValueError, match="two RGB batches of one shape"):
        psnr_y(y[:, :1], x[:, :1])


# ----------------------------------------------------------------------------------------------
# Degraded batches
# ----------------------------------------------------------------------------------------------


def test_masked_batches_are_seeded_resumable_and_within_coverage():
    a = MaskedBatches(_u8_batches(16, 32, 4), kind="mixed", coverage=(0.1, 0.3), seed=3)
    first = [next(a) for _ in range(3)]
    for images, holes in first:
        assert images.shape == (4, 3, 32, 32) and holes.shape == (4, 1, 32, 32)
        cover = holes.mean((1, 2, 3))
        assert bool((cover >= 0.05).all()) and bool((cover <= 0.45).all()), cover
    state = a.state_dict()
    nxt = next(a)
    b = MaskedBatches(_u8_batches(16, 32, 4), kind="mixed", coverage=(0.1, 0.3), seed=3)
    b.load_state_dict(state)
    again = next(b)
    torch.testing.assert_close(again[0], nxt[0])
    torch.testing.assert_close(again[1], nxt[1])
    assert not torch.equal(first[0][1], first[1][1])  # every batch has new holes
    with pytest.raises(ValueError, match="mask kind"):
        MaskedBatches(_u8_batches(4, 16, 2), kind="circles")
    with pytest.raises(ValueError, match="seed"):
        MaskedBatches(_u8_batches(4, 16, 2), seed=1).load_state_dict(state)


def test_masked_batches_reference_draws_holes_at_full_size():
    """With reference=192, the strokes in 32 px crops are as wide in pixels as those drawn for 192 px
    pictures (3-9 % of 192 = 6-17 px), not 3-9 % of 32; every window keeps some hole and some context."""

    def core(holes: torch.Tensor) -> float:  # fraction of hole pixels with a 5 x 5 square of hole around them
        eroded = -F.max_pool2d(-holes, 5, stride=1, padding=2)
        return float(eroded.sum() / holes.sum())

    small = MaskedBatches(_u8_batches(16, 32, 8), kind="strokes", seed=0)
    big = MaskedBatches(_u8_batches(16, 32, 8), kind="strokes", seed=0, reference=192)
    small_holes = torch.cat([next(small)[1] for _ in range(2)])
    big_holes = torch.cat([next(big)[1] for _ in range(2)])
    assert big_holes.shape == small_holes.shape == (16, 1, 32, 32)
    assert core(big_holes) > 0.3 and core(small_holes) < 0.05, (core(big_holes), core(small_holes))
    cover = big_holes.mean((1, 2, 3))
    assert bool((cover >= 0.05).all()) and bool((cover <= 0.75).all()), cover
    with pytest.raises(ValueError, match="reference"):
        MaskedBatches(_u8_batches(4, 16, 2), reference=1)


def test_random_hole_kinds():
    g = torch.Generator().manual_seed(0)
    box = random_hole(40, 40, "boxes", (0.2, 0.2), g)
    rows, cols = box.any(1).nonzero(), box.any(0).nonzero()
    rect = box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    assert bool(rect.all())  # a box is one filled rectangle


def test_downscaled_batches_pair_low_and_high():
    low, high = next(DownscaledBatches(_u8_batches(4, 32, 2), factor=4))
    assert low.shape == (2, 3, 8, 8) and high.shape == (2, 3, 32, 32)
    torch.testing.assert_close(low, downscale(high, 4))
    with pytest.raises(ValueError, match="factor"):
        DownscaledBatches(_u8_batches(4, 32, 2), factor=1)


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------


def test_hole_valid_l1_splits_the_error_by_the_mask():
    target = torch.zeros(1, 3, 4, 4)
    pred = torch.ones(1, 3, 4, 4)
    hole = torch.zeros(1, 1, 4, 4)
    hole[..., :1, :] = 1  # one row of 4 missing: a quarter of the pixels
    h, v = hole_valid_l1(pred, target, hole)
    assert float(h) == pytest.approx(0.25) and float(v) == pytest.approx(0.75)


def test_feature_losses_zero_at_the_target_and_scale_free():
    f = {"a": torch.randn(2, 4, 5, 5, generator=torch.Generator().manual_seed(0))}
    g = {"a": f["a"] + 0.3}
    assert float(perceptual_loss(f, f)) == 0 and float(gram_loss(f, f)) == pytest.approx(0, abs=1e-7)
    scaled = {k: 7 * v for k, v in f.items()}
    both_scaled = perceptual_loss({k: 7 * v for k, v in g.items()}, scaled)
    assert float(both_scaled) == pytest.approx(float(perceptual_loss(g, f)), rel=1e-5)
    assert float(perceptual_loss(g, f)) > 0 and float(gram_loss(g, f)) > 0


def test_hole_total_variation_ignores_texture_away_from_the_hole():
    img = _images(1, 16, 16)
    noisy = img.clone()
    noisy[..., :, :6] += 0.5 * torch.randn(1, 3, 16, 6, generator=torch.Generator().manual_seed(0))
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 10:14, 10:14] = 1
    torch.testing.assert_close(hole_total_variation(noisy, hole), hole_total_variation(img, hole))
    flat = torch.zeros(1, 3, 16, 16)
    assert float(hole_total_variation(flat, hole)) == 0


# ----------------------------------------------------------------------------------------------
# Trainers, checkpoints, applying to any size
# ----------------------------------------------------------------------------------------------


def _inpaint_net(conv: str = "gated") -> InpaintUNet:
    torch.manual_seed(0)
    return InpaintUNet(InpaintUNet.Config(conv=conv, base_channels=8, depth=2, max_channels=16))


@pytest.mark.parametrize("conv", ["gated", "partial"])
def test_inpaint_trainer_learns_and_checkpoint_applies_to_any_size(conv, tmp_path):
    G = _inpaint_net(conv)
    data = MaskedBatches(_u8_batches(32, 32, 8), coverage=(0.1, 0.3), seed=0)
    cfg = InpaintConfig(lr=3e-3, batch_size=8)
    t = inpaint_trainer(G, data, cfg, run_dir=tmp_path, device="cpu", progress=False, log_every=1)
    t.fit(25)
    hole_loss = t.history["G/hole"]["value"]
    assert sum(hole_loss[-5:]) / 5 < 0.8 * sum(hole_loss[:5]) / 5
    model = load_restoration_model(t.save())
    assert model.kind == "inpaint" and model.config["hole_weight"] == 6.0
    img = _images(1, 21, 27, seed=5)[0]  # not a multiple of 2**depth
    hole = torch.zeros(21, 27, dtype=torch.bool)
    hole[5:12, 8:20] = True
    out = inpaint_with(model.net, img, hole)
    assert out.shape == img.shape
    assert torch.equal(out[:, ~hole], img[:, ~hole])  # every known pixel returned exactly
    assert not torch.equal(out[:, hole], img[:, hole])
    with pytest.raises(ValueError, match="does not match"):
        inpaint_with(model.net, img, hole[:20])


def test_inpaint_trainer_with_every_term_and_a_discriminator(tmp_path):
    G = _inpaint_net()
    D = PatchGANDiscriminator(PatchGANDiscriminator.Config(base_channels=8, num_layers=2, norm="none"))
    vgg = _vgg("relu2_1")
    cfg = InpaintConfig(perceptual_weight=0.1, style_weight=1.0, tv_weight=0.1, adv_weight=0.01,
                        layers=("relu1_1", "relu2_1"), batch_size=4)
    t = inpaint_trainer(G, MaskedBatches(_u8_batches(8, 32, 4)), cfg, vgg=vgg, D=D, device="cpu", progress=False,
                        log_every=1)
    t.fit(2)
    assert {"G/hole", "G/valid", "G/perceptual", "G/style", "G/tv", "G/adv", "D/loss"} <= set(t.history)
    assert all(math.isfinite(v) for h in t.history.values() for v in h["value"])
    with pytest.raises(ValueError, match="needs a VGG"):
        inpaint_trainer(_inpaint_net(), iter([]), InpaintConfig(perceptual_weight=1.0), device="cpu")
    with pytest.raises(ValueError, match="discriminator"):
        inpaint_trainer(_inpaint_net(), iter([]), InpaintConfig(adv_weight=0.1), device="cpu")
    with pytest.raises(ValueError, match="hole_weight"):
        InpaintConfig(hole_weight=-1)


def test_term_gradients_of_the_pixel_terms_are_their_derivatives():
    photo, out = _images(2, 16, 16, seed=1), _images(2, 16, 16, seed=2)
    hole = torch.zeros(2, 1, 16, 16)
    hole[:, :, 4:9, 3:12] = 1
    cfg = InpaintConfig(pixel_loss="mse", hole_weight=6.0, valid_weight=1.0)
    grads = inpaint_term_gradients(out, photo, hole, cfg)
    assert set(grads) == {"hole", "valid"}  # no other term is switched on
    n = out.numel()  # each term is a mean over all pixels
    torch.testing.assert_close(grads["hole"], 6.0 * 2 * (out - photo) * hole / n)
    torch.testing.assert_close(grads["valid"], 1.0 * 2 * (out - photo) * (1 - hole) / n)
    # so minus the hole term's gradient points straight at the photo, in the hole
    pull, error = -grads["hole"] * hole, (photo - out) * hole
    assert float(F.cosine_similarity(pull.flatten(), error.flatten(), dim=0)) == pytest.approx(1.0, abs=1e-6)
    l1 = inpaint_term_gradients(out, photo, hole, InpaintConfig(pixel_loss="l1"))["hole"]
    torch.testing.assert_close(l1, 6.0 * torch.sign(out - photo) * hole / n)  # L1: only the error's sign


def test_term_gradients_sum_to_the_training_steps_gradient_and_stay_where_each_term_looks():
    torch.manual_seed(0)
    G = _inpaint_net()
    D = PatchGANDiscriminator(PatchGANDiscriminator.Config(base_channels=8, num_layers=2, norm="none"))
    vgg = _vgg("relu2_1")
    cfg = InpaintConfig(perceptual_weight=0.1, style_weight=1.0, tv_weight=0.1, adv_weight=0.01,
                        layers=("relu1_1", "relu2_1"))
    photo = _images(2, 32, 32, seed=3)
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:20, 10:18] = 1
    with torch.no_grad():
        out = G(photo, hole)
    grads = inpaint_term_gradients(out, photo, hole, cfg, vgg=vgg, D=D)
    assert list(grads) == ["hole", "valid", "perceptual", "style", "tv", "adv"]
    assert all(float(g.abs().sum()) > 0 for g in grads.values())
    # the training step's loss, differentiated with respect to the same output, is their sum
    g_phase = inpaint_phases(G, cfg, vgg, D)[-1]
    scratch = {"out": out.clone().requires_grad_(True)}
    scratch["comp"] = composite(photo, scratch["out"], hole)
    loss, logs = g_phase.loss((photo, hole), scratch)
    (total,) = torch.autograd.grad(loss, scratch["out"])
    torch.testing.assert_close(sum(grads.values()), total)
    terms, weights = inpaint_loss_terms(out, photo, hole, cfg, vgg=vgg, D=D), inpaint_term_weights(cfg)
    assert {k: float(v) for k, v in logs.items()} == pytest.approx({k: float(v.detach()) for k, v in terms.items()})
    assert float(loss.detach()) == pytest.approx(sum(weights[k] * float(v.detach()) for k, v in terms.items()), rel=1e-6)
    # the hole term and the composite's terms (TV, adversarial) act in the hole only, the valid term outside it
    for name in ("hole", "tv", "adv"):
        assert float(grads[name][(hole == 0).expand_as(out)].abs().max()) == 0, name
    assert float(grads["valid"][(hole == 1).expand_as(out)].abs().max()) == 0
    with pytest.raises(ValueError, match="needs a VGG"):
        inpaint_term_gradients(out, photo, hole, InpaintConfig(style_weight=1.0))
    with pytest.raises(ValueError, match="discriminator"):
        inpaint_term_gradients(out, photo, hole, InpaintConfig(adv_weight=0.1))


def test_sr_trainer_learns_and_srgan_phases_run(tmp_path):
    torch.manual_seed(0)
    G = SRResNet(SRResNet.Config(scale=4, base_channels=8, num_blocks=1))
    data = DownscaledBatches(_u8_batches(32, 32, 8), factor=4)
    t = sr_trainer(G, data, SRConfig(lr=2e-3, batch_size=8), run_dir=tmp_path / "sr", device="cpu", progress=False,
                   log_every=1)
    t.fit(20)
    pix = t.history["G/pixel"]["value"]
    assert sum(pix[-5:]) / 5 < sum(pix[:5]) / 5
    model = load_restoration_model(t.save(), kind="sr")
    low = _images(1, 7, 9, seed=3)
    assert upscale_with(model.net, low).shape == (1, 3, 28, 36)
    D = PatchGANDiscriminator(PatchGANDiscriminator.Config(base_channels=8, num_layers=2, norm="none"))
    gan = sr_trainer(G, data, SRConfig(perceptual_weight=1.0, adv_weight=1e-3, layers=("relu1_1", "relu2_1"),
                                       batch_size=8), vgg=_vgg(), D=D, device="cpu", progress=False, log_every=1)
    gan.fit(2)
    assert {"G/pixel", "G/perceptual", "G/adv", "D/loss"} <= set(gan.history)
    with pytest.raises(ValueError, match="upscales x4"):
        sr_trainer(G, data, SRConfig(factor=2), device="cpu")


def test_sr_schedule_decays_only_the_generators_rate(tmp_path):
    """The course recipe's schedule: G's rate holds until lr_decay_start, then falls along a cosine; a resumed
    run follows the same rates (the factor is a function of the step); SRGAN's D keeps its constant rate."""
    torch.manual_seed(0)
    G = SRResNet(SRResNet.Config(scale=4, base_channels=8, num_blocks=1))
    D = PatchGANDiscriminator(PatchGANDiscriminator.Config(base_channels=8, num_layers=2, norm="none"))
    data = DownscaledBatches(_u8_batches(32, 32, 8), factor=4)
    cfg = SRConfig(lr=1e-3, lr_d=5e-4, batch_size=8, lr_final=0.01, lr_decay_start=3, num_steps=6, adv_weight=1e-3)
    t = sr_trainer(G, data, cfg, D=D, run_dir=tmp_path / "sr", device="cpu", progress=False)
    rates = rates_per_step(t, 6)
    g = [r["G"] for r in rates]
    assert g[:4] == [1e-3] * 4 and g[3] > g[4] > g[5] > 1e-5
    assert all(r["D"] == 5e-4 for r in rates)
    assert SRConfig().lr_final is None  # the chapter's minutes: a constant rate
    with pytest.raises(ValueError, match="lr_final"):
        SRConfig(lr_final=1.5)


# ----------------------------------------------------------------------------------------------
# Deep Image Prior
# ----------------------------------------------------------------------------------------------


def test_dip_fits_the_image_and_traces_psnr():
    clean = _images(1, 32, 32, seed=2)[0]
    noisy = clean + 0.2 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    cfg = DIPConfig(steps=60, channels=(8, 16), input_channels=8, eval_every=10, average=0.0)
    res = deep_image_prior(noisy, cfg, clean=clean)
    assert res.steps == 60 and res.trace["step"] == [10, 20, 30, 40, 50, 60]
    assert res.trace["loss"][-1] < res.trace["loss"][0]
    assert res.trace["psnr"][-1] > res.trace["psnr"][0]
    assert res.best is not None and res.best_step in res.trace["step"]
    assert max(res.trace["psnr_avg"]) == pytest.approx(float(psnr(res.best, clean)), abs=0.05)


def test_dip_inpainting_keeps_known_pixels_and_checks_shapes():
    clean = _images(1, 32, 32, seed=4)[0]
    hole = torch.zeros(32, 32, dtype=torch.bool)
    hole[10:20, 5:25] = True
    res = deep_image_prior(clean.masked_fill(hole, 0), DIPConfig(steps=5, channels=(8, 16), input_channels=8),
                           hole=hole)
    assert torch.equal(res.final[:, ~hole], clean[:, ~hole]) and res.best is None
    with pytest.raises(ValueError, match="3 x H x W"):
        deep_image_prior(clean[0], DIPConfig(steps=1))
    with pytest.raises(ValueError, match="clean must be"):
        deep_image_prior(clean, DIPConfig(steps=1, channels=(8,), input_channels=4), clean=clean[:, :16])
    with pytest.raises(ValueError, match="DIPConfig"):
        DIPConfig(average=1.0)
