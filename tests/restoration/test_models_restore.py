"""Restoration networks (Chapter 6): partial and gated convolutions, the inpainting U-Net, SRResNet
and the deep image prior network.

The partial convolution's rule (equal to a plain convolution on a full mask, the hole shrinking by
the kernel's reach, exact zeros where nothing is known, renormalisation), that nothing under a hole
reaches an output, padding and compositing, the sub-pixel shapes and the bicubic skip, the size
errors, the checkpoint rebuild and that every weight trains. Tiny models on CPU.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import synthlib.core.registry as models
from synthlib.restoration import (
    DIPNet,
    GatedConv2d,
    InpaintUNet,
    PartialConv2d,
    SRResNet,
    composite,
    dip_input,
    pad_to_multiple,
)

pytestmark = pytest.mark.usefixtures("one_thread", "seeded")

CONVS = ("gated", "partial")


def images(n: int, height: int, width: int, channels: int = 3) -> torch.Tensor:
    return torch.rand(n, channels, height, width) * 2 - 1


def box_hole(n: int, height: int, width: int, top: int, left: int, size: int) -> torch.Tensor:
    hole = torch.zeros(n, 1, height, width)
    hole[..., top : top + size, left : left + size] = 1
    return hole


def tiny_inpaint(conv: str, **overrides) -> InpaintUNet:
    return InpaintUNet(InpaintUNet.Config(**{"conv": conv, "base_channels": 8, "depth": 2, **overrides}))


def tiny_sr(**overrides) -> SRResNet:
    return SRResNet(SRResNet.Config(**{"base_channels": 8, "num_blocks": 2, **overrides}))


def tiny_dip(**overrides) -> DIPNet:
    values = {"in_channels": 4, "channels": (8, 8, 16), "skip_channels": 2, **overrides}
    return DIPNet(DIPNet.Config(**values))


# --- PartialConv2d ------------------------------------------------------------------------------


@pytest.mark.parametrize("stride", [1, 2])
def test_partial_conv_with_a_full_mask_is_a_plain_conv(stride: int) -> None:
    pconv = PartialConv2d(3, 5, 3, stride=stride, padding=0)
    x = images(2, 9, 11)
    out, new_valid = pconv(x, torch.ones(2, 1, 9, 11))
    expected = F.conv2d(x, pconv.weight, pconv.bias, stride=stride)
    assert out.shape == expected.shape == (2, 5, *expected.shape[2:])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    assert new_valid.shape == (2, 1, *expected.shape[2:]) and bool((new_valid == 1).all())


def test_partial_conv_padding_counts_as_missing() -> None:
    """With padding, a full mask matches a plain convolution inside the image, and the border
    windows are rescaled (partial-convolution padding): a 3x3 corner window holds 4 real pixels."""
    pconv = PartialConv2d(1, 1, 3, padding=1, bias=False)
    nn.init.constant_(pconv.weight, 1.0)
    x = torch.full((1, 1, 6, 6), 0.5)
    out, new_valid = pconv(x, torch.ones(1, 1, 6, 6))
    plain = F.conv2d(x, pconv.weight, padding=1)
    torch.testing.assert_close(out[..., 1:-1, 1:-1], plain[..., 1:-1, 1:-1])
    assert plain[0, 0, 0, 0] == 4 * 0.5  # a zero-padded conv darkens the corner...
    torch.testing.assert_close(out, torch.full_like(out, 9 * 0.5))  # ...a partial one does not
    assert bool((new_valid == 1).all())


def test_partial_conv_hole_shrinks_and_nothing_under_it_leaks() -> None:
    pconv = PartialConv2d(3, 4, 3, padding=1)
    nn.init.constant_(pconv.bias, 0.7)  # a bias must not appear where nothing is known
    x = images(1, 9, 9)
    valid = 1 - box_hole(1, 9, 9, top=2, left=2, size=5)  # a 5x5 hole, rows/cols 2..6
    out, new_valid = pconv(x, valid)
    # a 3x3 kernel reaches one pixel into the hole from each side: a 3x3 hole is left
    assert torch.equal(new_valid, 1 - box_hole(1, 9, 9, top=3, left=3, size=3))
    assert bool((out[..., 3:6, 3:6] == 0).all())  # exactly 0 where the window saw no valid pixel
    assert bool((out[..., :3, :] != 0).all())
    # the values under the hole do not matter, not even huge, inf or NaN ones
    for fill in (torch.randn(1, 3, 5, 5) * 1e3, float("inf"), float("nan")):
        y = x.clone()
        y[..., 2:7, 2:7] = fill
        assert torch.equal(pconv(y, valid)[0], out)


def test_partial_conv_renormalises_next_to_a_hole() -> None:
    """A constant image through a kernel that weighs every tap of a window alike gives the same
    response whatever fraction of the window is missing (a zero-filled conv would fade to 0)."""
    pconv = PartialConv2d(2, 3, 3, stride=2, padding=1)
    with torch.no_grad():
        pconv.weight.copy_(torch.randn(3, 2, 1, 1).expand(3, 2, 3, 3))
    x = torch.full((1, 2, 8, 8), -0.3)
    valid = (torch.rand(1, 1, 8, 8) > 0.6).float()
    out, new_valid = pconv(x, valid)
    full, _ = pconv(x, torch.ones_like(valid))
    assert out.shape == (1, 3, 4, 4) and new_valid.shape == (1, 1, 4, 4)
    known = new_valid.bool().expand_as(out)
    assert 0 < int(new_valid.sum()) < 16
    torch.testing.assert_close(out[known], full[known])
    # a per-channel mask with the same mask on every channel is the same layer
    out2, valid2 = pconv(x, valid.expand(1, 2, 8, 8))
    torch.testing.assert_close(out2, out)
    assert torch.equal(valid2, new_valid)


def test_partial_conv_shape_errors() -> None:
    pconv = PartialConv2d(3, 4, 3, padding=1)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\).*mask\[:, None\]"):
        pconv(images(1, 8, 8), torch.ones(1, 8, 8))
    with pytest.raises(ValueError, match="'padding_mode'"):
        PartialConv2d(3, 4, 3, padding=1, padding_mode="reflect")


# --- GatedConv2d --------------------------------------------------------------------------------


def test_gated_conv_shape_and_closed_gate() -> None:
    gconv = GatedConv2d(4, 6, 3, stride=2)
    x = images(2, 10, 12, channels=4)
    assert gconv(x).shape == (2, 6, 5, 6)
    with torch.no_grad():
        gconv.conv.bias[6:] = -1e4  # the second half of the channels are the gates
    assert gconv(x).abs().max() < 1e-12
    # an open gate and no activation: the plain features, negative values included
    linear = GatedConv2d(4, 6, 5, activation=None)
    with torch.no_grad():
        linear.conv.bias[6:] = 1e4
    out = linear(x)
    features = F.conv2d(x, linear.conv.weight[:6], linear.conv.bias[:6], padding=2)
    torch.testing.assert_close(out, features)
    assert out.min() < 0


# --- InpaintUNet, padding, compositing ----------------------------------------------------------


@pytest.mark.parametrize("conv", CONVS)
def test_inpaint_shape_range_and_no_leak(conv: str) -> None:
    model = tiny_inpaint(conv)
    x = images(2, 16, 24)
    hole = box_hole(2, 16, 24, top=4, left=6, size=7)
    out = model(x, hole)
    assert out.shape == (2, 3, 16, 24)
    assert out.abs().max() <= 1 and out.std() > 0
    # whatever sits under the hole -- noise, huge values, NaN -- the prediction is the same
    for fill in (torch.randn(2, 3, 7, 7) * 100, torch.full((2, 3, 7, 7), float("nan"))):
        y = x.clone()
        y[..., 4:11, 6:13] = fill
        assert torch.equal(model(y, hole), out)
    assert torch.equal(model(x, hole.bool()), out)  # a bool mask means the same
    # ...and the known pixels do matter
    z = x.clone()
    z[..., 0, 0] += 0.5
    assert not torch.equal(model(z, hole), out)


@pytest.mark.parametrize("conv", CONVS)
def test_inpaint_size_and_config_errors(conv: str) -> None:
    model = tiny_inpaint(conv)  # depth 2: multiples of 4
    with pytest.raises(ValueError, match=r"divisible by 2\*\*2 = 4; got 18x24.*pad_to_multiple"):
        model(images(1, 18, 24), torch.zeros(1, 1, 18, 24))
    with pytest.raises(ValueError, match=r"hole mask of shape \(N, 1, H, W\)"):
        model(images(1, 16, 16), torch.zeros(1, 16, 16))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(images(1, 16, 16, channels=1), torch.zeros(1, 1, 16, 16))
    # the fix the message proposes works
    x, hole = images(1, 18, 23), box_hole(1, 18, 23, top=3, left=3, size=5)
    (xp, size), (hp, _) = pad_to_multiple(x, 4), pad_to_multiple(hole, 4)
    assert model(xp, hp)[..., : size[0], : size[1]].shape == (1, 3, 18, 23)


def test_inpaint_config_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match="'conv'.*'gated', 'partial'"):
        tiny_inpaint("vanilla")
    with pytest.raises(ValueError, match="'depth'"):
        tiny_inpaint("gated", depth=0)
    with pytest.raises(ValueError, match="'max_channels'"):
        tiny_inpaint("partial", max_channels=4)


def test_inpaint_channels_double_up_to_the_cap() -> None:
    model = tiny_inpaint("partial", depth=3, max_channels=16)
    assert [d.out_channels for d in model.down] == [16, 16, 16]
    assert model.first.out_channels == 8 and model.first.kernel_size == (5, 5)
    gated = tiny_inpaint("gated", depth=3, max_channels=16)
    assert [d.out_ch for d in gated.down] == [16, 16, 16] and gated.first.conv.in_channels == 4


@pytest.mark.parametrize(("height", "width", "multiple"), [(13, 22, 8), (3, 5, 8), (16, 16, 8), (7, 7, 1)])
def test_pad_to_multiple_and_crop_back(height: int, width: int, multiple: int) -> None:
    x = images(2, height, width)
    padded, size = pad_to_multiple(x, multiple)
    assert size == (height, width)
    assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
    assert padded.shape[-2] - height < multiple and padded.shape[-1] - width < multiple
    assert torch.equal(padded[..., :height, :width], x)


def test_pad_to_multiple_modes() -> None:
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    assert pad_to_multiple(x, 5)[0][0, 0, 0].tolist() == [0, 1, 2, 3, 2]  # reflect
    small = pad_to_multiple(x, 8)[0]  # 5 rows of padding > 3 rows of image: replicate
    assert small.shape == (1, 1, 8, 8) and small[0, 0, -1].tolist() == [8, 9, 10, 11, 11, 11, 11, 11]
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[1, 2] = True
    padded, _ = pad_to_multiple(mask, 4, mode="constant")
    assert padded.dtype == torch.bool and padded.shape == (4, 8) and int(padded.sum()) == 1
    with pytest.raises(ValueError, match="'mode'"):
        pad_to_multiple(x, 4, mode="wrap")


def test_composite_keeps_known_pixels_bit_exactly() -> None:
    x, prediction = images(2, 8, 8), images(2, 8, 8) * 3
    hole = box_hole(2, 8, 8, top=1, left=2, size=4)
    prediction[..., 0, 0] = float("nan")  # junk where the pixel is known
    for mask in (hole, hole.bool()):
        out = composite(x, prediction, mask)
        known = (mask == 0).expand_as(x)
        assert torch.equal(out[known], x[known])
        assert torch.equal(out[~known], prediction[~known])
    soft = torch.full((1, 1, 8, 8), 0.25)
    clean = prediction.nan_to_num()
    torch.testing.assert_close(composite(x, clean, soft), 0.75 * x + 0.25 * clean)


# --- SRResNet -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srresnet_subpixel_shapes(scale: int) -> None:
    model = tiny_sr(scale=scale, num_blocks=1)
    assert model(images(2, 7, 9)).shape == (2, 3, 7 * scale, 9 * scale)
    assert model(images(1, 1, 1)).shape == (1, 3, scale, scale)
    shuffles = [m for m in model.modules() if isinstance(m, nn.PixelShuffle)]
    assert len(shuffles) == {2: 1, 4: 2, 8: 3}[scale]


def test_srresnet_config_and_shape_errors() -> None:
    with pytest.raises(ValueError, match="'scale'.*2, 4, 8"):
        tiny_sr(scale=3)
    with pytest.raises(ValueError, match="'norm'"):
        tiny_sr(norm="instance")
    with pytest.raises(ValueError, match=r"\(N, 3, h, w\)"):
        tiny_sr()(images(1, 8, 8, channels=1))


def test_srresnet_bicubic_skip_starts_from_bicubic() -> None:
    model = tiny_sr(scale=4)
    x = images(2, 7, 9)
    bicubic = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    out = model(x)
    assert 0 < (out - bicubic).abs().max() < 0.2  # a fresh network starts near bicubic...
    with torch.no_grad():
        nn.init.zeros_(model.tail.weight)
        nn.init.zeros_(model.tail.bias)
    assert torch.equal(model(x), bicubic)  # ...and with the last conv zeroed it is bicubic


def test_srresnet_without_skip_and_with_batch_norm() -> None:
    model = tiny_sr(scale=2, bicubic_skip=False, norm="batch")
    out = model(images(2, 6, 5))
    assert out.shape == (2, 3, 12, 10) and out.abs().max() <= 1
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2 * 2 + 1
    assert not any(isinstance(m, nn.BatchNorm2d) for m in tiny_sr().modules())


# --- DIPNet -------------------------------------------------------------------------------------


def test_dip_shape_range_and_input() -> None:
    model = tiny_dip()
    z = dip_input(16, 24, 4)
    assert z.shape == (1, 4, 16, 24) and 0 <= z.min() and z.max() < 0.1
    assert torch.equal(z, dip_input(16, 24, 4))  # fixed seed by default
    assert not torch.equal(z, dip_input(16, 24, 4, generator=torch.Generator().manual_seed(1)))
    out = model(z)
    assert out.shape == (1, 3, 16, 24) and out.abs().max() <= 1 and out.std() > 0
    for upsample, skip in (("nearest", 0), ("bilinear", 3)):
        assert tiny_dip(upsample=upsample, skip_channels=skip)(z).shape == (1, 3, 16, 24)


def test_dip_size_and_config_errors() -> None:
    model = tiny_dip()  # 3 levels: multiples of 8
    with pytest.raises(ValueError, match=r"divisible by 2\*\*3 = 8; got 12x16"):
        model(dip_input(12, 16, 4))
    with pytest.raises(ValueError, match="1x1 map"):
        model(dip_input(8, 8, 4))
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        model(dip_input(16, 16, 3))
    with pytest.raises(ValueError, match="'upsample'"):
        tiny_dip(upsample="bicubic")
    with pytest.raises(ValueError, match="'channels'"):
        tiny_dip(channels=())
    assert DIPNet(DIPNet.Config(channels=[8, 16])).config.channels == (8, 16)  # a list is accepted


# --- all models: checkpoint rebuild, gradients --------------------------------------------------


def inpaint_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    return images(2, 8, 12), box_hole(2, 8, 12, top=2, left=3, size=4)


ROUND_TRIP = [
    (lambda: tiny_inpaint("gated"), inpaint_inputs),
    (lambda: tiny_inpaint("partial", max_channels=12), inpaint_inputs),
    (lambda: tiny_sr(scale=2, norm="batch"), lambda: (images(2, 5, 6),)),
    (lambda: tiny_dip(channels=[8, 16]), lambda: (dip_input(8, 12, 4),)),
]


@pytest.mark.parametrize(("make", "make_inputs"), ROUND_TRIP)
def test_spec_build_round_trip(make, make_inputs) -> None:
    model = make()
    for _ in range(2):  # move the batch-norm running statistics off their initial values
        model(*make_inputs())
    spec = json.loads(json.dumps(models.spec(model)))  # a checkpoint holds plain data only
    rebuilt = models.build(**spec)
    assert type(rebuilt) is type(model) and rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())  # strict: same keys and shapes
    model.eval(), rebuilt.eval()
    inputs = make_inputs()
    with torch.no_grad():
        assert torch.equal(rebuilt(*inputs), model(*inputs))


@pytest.mark.parametrize(
    "make",
    [lambda: tiny_inpaint("gated"), lambda: tiny_inpaint("partial"), lambda: tiny_sr(norm="batch"), tiny_sr],
)
def test_every_parameter_gets_a_gradient(make) -> None:
    model = make()
    if isinstance(model, InpaintUNet):
        x = images(2, 16, 16)
        out = model(x, box_hole(2, 16, 16, top=3, left=5, size=8))
    else:
        x = images(2, 6, 6)
        out = model(x)
    F.mse_loss(out, torch.rand_like(out) * 2 - 1).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_restore_models_registered_and_exported() -> None:
    for name in ("InpaintUNet", "SRResNet", "DIPNet"):
        assert name in models.registered() and models.model_class(name).__name__ == name


# ----------------------------------------------------------------------------------------------
# The harmonic fill and the U-Net that corrects it
# ----------------------------------------------------------------------------------------------


def test_harmonic_fill_solves_laplace_in_the_hole_and_keeps_known_pixels():
    from synthlib.restoration import harmonic_fill

    g = torch.Generator().manual_seed(0)
    img = torch.nn.functional.interpolate(torch.rand(2, 3, 4, 4, generator=g) * 2 - 1, size=(24, 20), mode="bilinear")
    hole = torch.zeros(2, 1, 24, 20, dtype=torch.bool)
    hole[:, :, 6:15, 4:13] = True
    out = harmonic_fill(img.masked_fill(hole, 5.0), hole, iters=300)  # the value under the hole must not matter
    assert torch.equal(out[~hole.expand_as(out)], img[~hole.expand_as(img)])
    padded = torch.nn.functional.pad(out, (1, 1, 1, 1), mode="replicate")
    mean4 = 0.25 * (padded[..., :-2, 1:-1] + padded[..., 2:, 1:-1] + padded[..., 1:-1, :-2] + padded[..., 1:-1, 2:])
    assert float((out - mean4)[hole.expand_as(out)].abs().max()) < 1e-3  # discrete Laplace equation holds
    flat = torch.full((1, 3, 16, 16), 0.3)
    torch.testing.assert_close(harmonic_fill(flat.masked_fill(hole[:1, :, :16, :16], 0), hole[:1, :, :16, :16]), flat)
    with pytest.raises(ValueError, match="iters"):
        harmonic_fill(flat, hole[:1, :, :16, :16], iters=-1)


def test_laplacian_adjoint_is_its_transpose():
    from synthlib.restoration.inpaint_net import _laplacian, _laplacian_adjoint

    g = torch.Generator().manual_seed(1)
    u, y = torch.randn(2, 3, 9, 11, generator=g, dtype=torch.float64), torch.randn(2, 3, 9, 11, generator=g, dtype=torch.float64)
    torch.testing.assert_close((_laplacian(u) * y).sum(), (u * _laplacian_adjoint(y)).sum())


def test_biharmonic_fill_continues_slopes_that_the_harmonic_fill_flattens():
    from synthlib.restoration import biharmonic_fill, harmonic_fill

    # x^2 + 0.5 y: its Laplacian is constant, so it is a thin plate (biharmonic) but not a membrane (harmonic)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    img = (xx.square() + 0.5 * yy)[None, None].expand(2, 3, -1, -1).contiguous()
    hole = torch.zeros(2, 1, 32, 32, dtype=torch.bool)
    hole[0, :, 8:24, 10:22] = True  # a box
    hole[1, :, 15:18, 3:29] = True  # a thin stroke
    damaged = img.masked_fill(hole, 7.0)  # the value under the hole must not matter
    plate = biharmonic_fill(damaged, hole, iters=200)
    membrane = harmonic_fill(damaged, hole, iters=300)
    inside = hole.expand_as(img)
    assert torch.equal(plate[~inside], img[~inside])  # known pixels returned exactly
    assert float((plate - img)[inside].abs().max()) < 2e-3
    assert float((membrane - img)[inside].abs().max()) > 20 * float((plate - img)[inside].abs().max())
    with pytest.raises(ValueError, match="iters"):
        biharmonic_fill(img, hole, iters=-1)


def test_biharmonic_fill_agrees_with_scikit_image():
    from skimage.restoration import inpaint_biharmonic

    from synthlib.restoration import biharmonic_fill

    g = torch.Generator().manual_seed(3)  # a smooth random image, then a free-form stroke mask
    img = torch.nn.functional.interpolate(torch.rand(1, 3, 6, 6, generator=g) * 2 - 1, size=(48, 48), mode="bicubic")
    hole = torch.zeros(1, 1, 48, 48, dtype=torch.bool)
    hole[..., 20:24, 6:40] = True
    hole[..., 8:40, 30:33] = True
    ours = biharmonic_fill(img, hole)
    theirs = inpaint_biharmonic(img[0].permute(1, 2, 0).numpy(), hole[0, 0].numpy(), channel_axis=-1)
    theirs = torch.from_numpy(theirs).permute(2, 0, 1)[None].float()
    error = lambda x: float((x - img)[hole.expand_as(img)].square().mean())  # noqa: E731
    assert abs(error(ours) - error(theirs)) < 0.05 * error(theirs) + 1e-6
    assert float((ours - theirs).abs().max()) < 0.02


def test_inpaint_unet_with_blend_prefill_starts_at_the_mean_of_both_fills():
    from synthlib.restoration import biharmonic_fill, harmonic_fill

    torch.manual_seed(0)
    for conv in ("gated", "partial"):
        net = InpaintUNet(InpaintUNet.Config(conv=conv, base_channels=8, depth=2, max_channels=16, prefill="blend",
                                             fill_iters=10))
        img = torch.rand(2, 3, 16, 16) * 2 - 1
        hole = torch.zeros(2, 1, 16, 16)
        hole[..., 3:9, 5:12] = 1
        with torch.no_grad():
            out = net(img, hole)
            (net.last.conv if conv == "gated" else net.last).weight.zero_()
            start = net(img, hole)
        x, m = img.masked_fill(hole > 0, 0), hole > 0
        torch.testing.assert_close(start, 0.5 * (harmonic_fill(x, m, 10) + biharmonic_fill(x, m, 10)))
        assert not torch.equal(out, start)  # a fresh network corrects the mean (by a little)
        assert float((out - start).abs().max()) < 0.5



def test_inpaint_unet_with_blend_prefill_runs_under_bf16_autocast():
    """The training loop turns on bf16 autocast on CUDA; the blend mixed a bf16 logit into fp32 fills and failed
    there (found by `make gpu-check` on an H100). The CPU's autocast reproduces the dtypes."""
    torch.manual_seed(0)
    net = InpaintUNet(InpaintUNet.Config(base_channels=8, depth=2, max_channels=16, prefill="blend", fill_iters=5))
    img = torch.rand(2, 3, 16, 16) * 2 - 1
    hole = torch.zeros(2, 1, 16, 16)
    hole[..., 3:9, 5:12] = 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(img, hole)
    out.float().square().mean().backward()
    assert out.shape == img.shape and torch.isfinite(out).all()
    assert net.last.conv.weight.grad is not None and torch.isfinite(net.last.conv.weight.grad).all()

def test_inpaint_unet_with_harmonic_prefill_starts_at_the_fill():
    from synthlib.restoration import harmonic_fill

    torch.manual_seed(0)
    net = InpaintUNet(InpaintUNet.Config(base_channels=8, depth=2, max_channels=16, prefill="harmonic", fill_iters=10))
    with torch.no_grad():
        net.last.conv.weight.zero_()
        net.last.conv.bias.zero_()
    img = torch.rand(1, 3, 16, 16) * 2 - 1
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 3:9, 5:12] = 1
    torch.testing.assert_close(net(img, hole), harmonic_fill(img.masked_fill(hole > 0, 0), hole > 0, 10))
    with pytest.raises(ValueError, match="prefill"):
        InpaintUNet(InpaintUNet.Config(prefill="mean"))
