"""StyleGAN2 generator and discriminator: modulated convolution, shapes, truncation, mixing,
noise, w_avg, minibatch std, equalised learning rate, gradients, rebuild and input errors.

Tiny models (16x16, 8..32 channels, z/w of 16) on CPU, so the whole file runs in seconds.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import synthlib.core.registry as models
import synthlib.stylegan.generator as stylegan_generator
from synthlib.stylegan import (
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    NoiseInjection,
    StyledConv,
    StyleGANDiscriminator,
    StyleGANGenerator,
    ToRGB,
    blur_kernel,
    downsample2d,
    modulated_conv2d,
    modulated_conv2d_loop,
    upsample2d,
)

pytestmark = pytest.mark.usefixtures("one_thread", "seeded")

DIM = 16


def tiny_g(**overrides) -> StyleGANGenerator:
    values = {"img_size": 16, "img_channels": 1, "base_channels": 8, "max_channels": 32,
              "z_dim": DIM, "w_dim": DIM, "n_mlp": 2, **overrides}
    return StyleGANGenerator(StyleGANGenerator.Config(**values))


def tiny_d(**overrides) -> StyleGANDiscriminator:
    values = {"img_size": 16, "img_channels": 1, "base_channels": 8, "max_channels": 32, **overrides}
    return StyleGANDiscriminator(StyleGANDiscriminator.Config(**values))


def set_noise_strength(G: StyleGANGenerator, value: float) -> None:
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, NoiseInjection):
                m.strength.fill_(value)


# --- modulated convolution ----------------------------------------------------------------------


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kernel_size", [1, 3])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("up", [False, True])
def test_modconv_matches_loop(up: bool, demodulate: bool, kernel_size: int, fused: bool) -> None:
    x = torch.randn(3, 5, 6, 6)
    weight = torch.randn(7, 5, kernel_size, kernel_size)
    styles = torch.randn(3, 5)
    fast = modulated_conv2d(x, weight, styles, demodulate=demodulate, up=up, fused=fused)
    slow = modulated_conv2d_loop(x, weight, styles, demodulate=demodulate, up=up)
    size = 12 if up else 6
    assert fast.shape == slow.shape == (3, 7, size, size)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
    # samples really get different weights: swapping styles changes the result
    swapped = modulated_conv2d(x, weight, styles.flip(0), demodulate=demodulate, up=up, fused=fused)
    assert not torch.allclose(swapped, fast, atol=1e-3)


@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("up", [False, True])
def test_fused_and_unfused_modconv_agree(up: bool, demodulate: bool) -> None:
    """The grouped form and the shared-weight form are one function: same values, same gradients."""
    x = torch.randn(4, 6, 5, 5)
    weight = torch.randn(8, 6, 3, 3)
    styles = torch.randn(4, 6) + 1.0
    outs, grads = [], []
    for fused in (True, False):
        leaves = [t.clone().requires_grad_() for t in (x, weight, styles)]
        out = modulated_conv2d(*leaves, demodulate=demodulate, up=up, fused=fused)
        # a non-uniform upstream gradient, so every output element counts differently
        (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
        outs.append(out.detach())
        grads.append([t.grad for t in leaves])
    assert outs[0].shape == (4, 8, 10 if up else 5, 10 if up else 5)
    assert outs[0].abs().max() > 0.1
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    for g_fused, g_plain, name in zip(*grads, ("x", "weight", "styles")):
        assert g_fused.abs().max() > 0, name
        torch.testing.assert_close(g_plain, g_fused, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("fused", [True, False])
def test_fused_modconv_is_threaded_to_every_layer(fused: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    G = tiny_g(fused_modconv=fused)
    layers = [m for m in G.modules() if isinstance(m, (StyledConv, ToRGB))]
    assert len(layers) == G.num_layers + len(G.to_rgbs) and all(m.fused is fused for m in layers)
    seen = []
    original = stylegan_generator.modulated_conv2d

    def spy(*args, **kwargs):
        seen.append(kwargs.get("fused", True))
        return original(*args, **kwargs)

    monkeypatch.setattr(stylegan_generator, "modulated_conv2d", spy)
    G(torch.randn(2, DIM))
    assert seen == [fused] * len(layers)


def test_generator_fused_modconv_gives_the_same_image() -> None:
    assert StyleGANGenerator.Config().fused_modconv is False  # the faster form by default
    plain = tiny_g(img_channels=3)
    fused = tiny_g(img_channels=3, fused_modconv=True)
    fused.load_state_dict(plain.state_dict())  # same weights: the flag adds no parameters
    for G in (plain, fused):
        set_noise_strength(G, 0.3)
    z = torch.randn(4, DIM)
    a, b = plain(z, noise_mode="const"), fused(z, noise_mode="const")
    assert a.std() > 0.05
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    # and the flag survives a checkpoint round trip
    rebuilt = models.build("StyleGANGenerator", dataclasses.asdict(fused.config))
    assert rebuilt.config.fused_modconv is True


def test_demodulation_gives_unit_variance() -> None:
    x = torch.randn(8, 64, 24, 24)
    weight = torch.randn(16, 64, 3, 3) * 3.0
    styles = torch.randn(8, 64) * 2.0 + 0.5
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # away from the zero padding
    out = modulated_conv2d(x, weight, styles, demodulate=True)[inner]
    std = out.transpose(0, 1).reshape(16, -1).std(dim=1)  # per output channel
    assert torch.all((std > 0.9) & (std < 1.1)), std
    # without demodulation the scale follows the weights and styles instead
    raw = modulated_conv2d(x, weight, styles, demodulate=False)[inner]
    assert raw.std() > 10


def test_blur_resampling_keeps_constants_and_sizes() -> None:
    k = blur_kernel()
    assert k.shape == (4, 4) and math.isclose(k.sum().item(), 1.0, rel_tol=1e-6)
    x = torch.full((2, 3, 8, 8), 0.7)
    up, down = upsample2d(x, k), downsample2d(x, k)
    assert up.shape == (2, 3, 16, 16) and down.shape == (2, 3, 4, 4)
    # the x4 gain of zero-insertion upsampling: a constant stays the same constant (inside)
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.full_like(up[..., 2:-2, 2:-2], 0.7))
    torch.testing.assert_close(down[..., 1:-1, 1:-1], torch.full_like(down[..., 1:-1, 1:-1], 0.7))


# --- shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("img_channels", [1, 3])
@pytest.mark.parametrize("img_size", [16, 32])
def test_shapes(img_size: int, img_channels: int) -> None:
    G = tiny_g(img_size=img_size, img_channels=img_channels)
    D = tiny_d(img_size=img_size, img_channels=img_channels)
    assert G.num_ws == 2 * int(math.log2(img_size)) - 2 == G.num_layers + 1
    img = G(torch.randn(4, DIM))
    assert img.shape == (4, img_channels, img_size, img_size) and img.dtype == torch.float32
    assert img.std() > 0.05  # not a constant image
    w = G.mapping(torch.randn(4, DIM))
    assert w.shape == (4, DIM)
    assert G.synthesis(w[:, None].expand(-1, G.num_ws, -1)).shape == img.shape
    logits = D(img)
    assert logits.shape == (4,)  # as DCGANDiscriminator: what synthlib.gan.losses expect


def test_channel_schedule() -> None:
    G = tiny_g(img_size=32, base_channels=8, max_channels=32)
    # min(32, 8 * 32 / r): 32 at 4x4, 32 at 8x8, 16 at 16x16, 8 at 32x32
    assert G.const.shape == (1, 32, 4, 4)
    assert [c.weight.shape[0] for c in G.convs] == [32, 32, 32, 16, 16, 8, 8]
    D = tiny_d(img_size=32, base_channels=8, max_channels=32)
    assert D.from_rgb.weight.shape[0] == 8 and D.fc.weight.shape == (32, 32 * 16)


# --- truncation, mixing, noise, w_avg ----------------------------------------------------------


def test_truncation() -> None:
    G = tiny_g().eval()
    set_noise_strength(G, 0.5)
    G.update_w_avg(G.mapping(torch.randn(64, DIM)), beta=0.0)  # w_avg = a batch mean, not 0
    z1, z2 = torch.randn(2, DIM), torch.randn(2, DIM)
    with torch.no_grad():
        a0, b0 = G(z1, psi=0.0, noise_mode="const"), G(z2, psi=0.0, noise_mode="const")
        torch.testing.assert_close(a0, b0)  # every z maps to the average image
        torch.testing.assert_close(a0[0], a0[1])
        untruncated = G.synthesis(G.mapping(z1), noise_mode="const")
        torch.testing.assert_close(G(z1, psi=1.0, noise_mode="const"), untruncated)
        half = G(z1, psi=0.5, noise_mode="const")
    assert not torch.allclose(half, untruncated, atol=1e-4) and not torch.allclose(half, a0, atol=1e-4)
    w = torch.randn(3, DIM)
    torch.testing.assert_close(G.truncate(w, 0.3), G.w_avg + 0.3 * (w - G.w_avg))


def test_style_mixing() -> None:
    G = tiny_g().eval()
    z1, z2 = torch.randn(2, DIM), torch.randn(2, DIM)
    with torch.no_grad():
        img1, img2 = G(z1, noise_mode="const"), G(z2, noise_mode="const")
        ws0 = G.mix(z1, z2, crossover=0)
        assert ws0.shape == (2, G.num_ws, DIM)
        torch.testing.assert_close(G.synthesis(ws0, noise_mode="const"), img2)
        torch.testing.assert_close(G.synthesis(G.mix(z1, z2, crossover=G.num_ws), noise_mode="const"), img1)
        ws = G.mix(z1, z2, crossover=2)
        torch.testing.assert_close(ws[:, :2], G.mapping(z1)[:, None].expand(-1, 2, -1))
        torch.testing.assert_close(ws[:, 2:], G.mapping(z2)[:, None].expand(-1, G.num_ws - 2, -1))
        mixed = G.synthesis(ws, noise_mode="const")
    assert not torch.allclose(mixed, img1, atol=1e-4) and not torch.allclose(mixed, img2, atol=1e-4)


def test_noise_modes() -> None:
    G = tiny_g().eval()
    strengths = [m.strength for m in G.modules() if isinstance(m, NoiseInjection)]
    assert len(strengths) == G.num_layers and all(s.item() == 0.0 for s in strengths)
    z = torch.randn(2, DIM)
    with torch.no_grad():
        # strength 0: noise has no effect yet, whatever the mode
        torch.testing.assert_close(G(z, noise_mode="random"), G(z, noise_mode="none"))
        set_noise_strength(G, 1.0)
        torch.testing.assert_close(G(z, noise_mode="const"), G(z, noise_mode="const"))
        assert not torch.allclose(G(z, noise_mode="random"), G(z, noise_mode="random"), atol=1e-4)
        assert not torch.allclose(G(z, noise_mode="const"), G(z, noise_mode="none"), atol=1e-4)
        # explicit noise: held fixed -> same image; resampled -> a different one
        w = G.mapping(z)
        noise = G.make_noise(2)
        assert [tuple(n.shape) for n in noise][:2] == [(2, 1, 4, 4), (2, 1, 8, 8)]
        fixed = G.synthesis(w, noise=noise)
        torch.testing.assert_close(G.synthesis(w, noise=noise), fixed)
        assert not torch.allclose(G.synthesis(w, noise=G.make_noise(2)), fixed, atol=1e-4)
    # const noise is part of the config, not of the global RNG: two models agree
    torch.manual_seed(123)
    other = tiny_g()
    for a, b in zip(G.convs, other.convs):
        torch.testing.assert_close(a.noise_const, b.noise_const)


def test_update_w_avg_moves_toward_batch_mean() -> None:
    G = tiny_g()
    assert torch.all(G.w_avg == 0)
    w = torch.randn(32, DIM) + 3.0
    mean = w.mean(dim=0)
    G.update_w_avg(w, beta=0.9)
    torch.testing.assert_close(G.w_avg, 0.1 * mean)
    before = (G.w_avg - mean).norm()
    G.update_w_avg(w, beta=0.9)
    assert (G.w_avg - mean).norm() < before
    # forward leaves w_avg alone
    snapshot = G.w_avg.clone()
    G(torch.randn(4, DIM))
    torch.testing.assert_close(G.w_avg, snapshot)


# --- discriminator pieces ------------------------------------------------------------------------


def test_minibatch_stddev() -> None:
    mbstd = MinibatchStdDev(group_size=4)
    x = torch.randn(8, 5, 4, 4)
    out = mbstd(x)
    assert out.shape == (8, 6, 4, 4)
    torch.testing.assert_close(out[:, :5], x)
    assert out[:, 5].min() > 0.1  # different images: a clearly positive spread
    same = mbstd(x[:1].expand(8, -1, -1, -1))
    assert same[:, 5].abs().max() < 1e-3  # identical images: only sqrt(eps) = 1e-4 is left
    # N = 6 is not a multiple of 4: groups of 3, images i and i + 2 ... in group i % 2
    y = torch.randn(6, 2, 3, 3)
    stat = mbstd(y)[:, 2, 0, 0]
    groups = y.reshape(3, 2, 2, 3, 3)
    expected = (groups.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
    torch.testing.assert_close(stat, expected.repeat(3))


def test_equalised_learning_rate() -> None:
    fan_in = 256
    plain, slow = EqualLinear(fan_in, 512, lr_mul=1.0), EqualLinear(fan_in, 512, lr_mul=0.01)
    for layer, lr_mul in ((plain, 1.0), (slow, 0.01)):
        # stored ~ N(0, 1 / lr_mul^2); applied ~ N(0, 1 / fan_in) whatever lr_mul is
        assert abs(layer.weight.std().item() * lr_mul - 1) < 0.02
        assert abs(layer.effective_weight().std().item() * math.sqrt(fan_in) - 1) < 0.02
    # one Adam step moves every stored number by ~lr, so the applied weight moves by
    # lr * lr_mul / sqrt(fan_in): lr_mul scales the learning rate, not the initial weights
    x = torch.randn(32, fan_in)
    steps = []
    for layer in (plain, slow):
        before = layer.effective_weight().detach().clone()
        opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
        layer(x).square().mean().backward()
        opt.step()
        steps.append((layer.effective_weight().detach() - before).abs().median().item())
    assert math.isclose(steps[0], 1e-3 / math.sqrt(fan_in), rel_tol=0.05)
    assert math.isclose(steps[1] / steps[0], 0.01, rel_tol=0.05)
    conv = EqualConv2d(16, 8, 3)
    assert math.isclose(conv.scale, 1 / math.sqrt(16 * 9))
    # with activation: sqrt(2) * lrelu keeps the second moment of N(0, 1) inputs near 1
    act = EqualLinear(fan_in, 1024, activation=True)
    assert 0.85 < act(torch.randn(256, fan_in)).square().mean().item() < 1.15


# --- training-level properties -------------------------------------------------------------------


def test_gradients_reach_every_parameter() -> None:
    G, D = tiny_g(img_channels=3), tiny_d(img_channels=3)
    # "const" (or "random") noise: the noise strengths get a gradient too. With
    # noise_mode="none" they would be the only parameters left without one.
    img = G(torch.randn(4, DIM), noise_mode="const")
    D(img).sum().backward()
    for model in (G, D):
        for name, p in model.named_parameters():
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_deterministic_given_seed() -> None:
    torch.manual_seed(7)
    a = tiny_g()
    out_a = a(torch.randn(2, DIM))
    torch.manual_seed(7)
    b = tiny_g()
    out_b = b(torch.randn(2, DIM))
    torch.testing.assert_close(out_a, out_b)


def test_registered_and_rebuilt() -> None:
    for name in ("StyleGANGenerator", "StyleGANDiscriminator"):
        assert name in models.registered() and models.model_class(name).__name__ == name
    G, D = tiny_g(img_channels=3), tiny_d(img_channels=3)
    G2 = models.build("StyleGANGenerator", dataclasses.asdict(G.config))
    D2 = models.build("StyleGANDiscriminator", dataclasses.asdict(D.config))
    assert G2.config == G.config and D2.config == D.config
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    z = torch.randn(2, DIM)
    torch.testing.assert_close(G2(z, noise_mode="const"), G(z, noise_mode="const"))
    img = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(D2(img), D(img))
    assert models.spec(G) == {"arch": "StyleGANGenerator", "config": dataclasses.asdict(G.config)}


# --- errors --------------------------------------------------------------------------------------


def test_bad_inputs_raise_helpful_errors() -> None:
    G, D = tiny_g(), tiny_d()
    with pytest.raises(ValueError, match=r"expected z of shape \(N, 16\), got \(4, 8\)"):
        G(torch.randn(4, 8))
    with pytest.raises(ValueError, match="unconditional but got `labels`"):
        G(torch.randn(4, DIM), labels=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 1, 16, 16\), got \(2, 1, 32, 32\)"):
        D(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="unconditional but got `labels`"):
        D(torch.randn(2, 1, 16, 16), labels=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected ws of shape \(N, 6, 16\) or \(N, 16\)"):
        G.synthesis(torch.randn(2, 3, DIM))
    with pytest.raises(ValueError, match="noise_mode"):
        G(torch.randn(2, DIM), noise_mode="fixed")
    with pytest.raises(ValueError, match=r"noise must be a list of 5 tensors"):
        G.synthesis(torch.randn(2, DIM), noise=G.make_noise(2)[:2])
    with pytest.raises(ValueError, match=r"crossover must be in \[0, 6\]"):
        G.mix(torch.randn(2, DIM), torch.randn(2, DIM), crossover=7)
    with pytest.raises(ValueError, match="img_size"):
        tiny_g(img_size=24)
    with pytest.raises(ValueError, match="img_channels"):
        tiny_d(img_channels=2)
    with pytest.raises(ValueError, match="StyleGANGenerator: parameter 'n_mlp' must be >= 1"):
        tiny_g(n_mlp=0)
    with pytest.raises(ValueError, match=r"styles \(2, 5\)"):
        modulated_conv2d(torch.randn(2, 5, 4, 4), torch.randn(3, 5, 3, 3), torch.randn(2, 4))


def test_low_pass_upsampler_and_downsampler_match_their_definitions():
    """upsample2d = insert a zero after every pixel, then convolve with 4 x the [1,3,3,1] binomial filter;
    downsample2d = convolve with the filter, then keep every second pixel. A constant stays constant
    (inside the border): no checkerboard, the gain of 4 makes up for the zeros."""
    k = blur_kernel()
    assert torch.allclose(k, torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64)
    x = torch.randn(2, 3, 5, 5)
    zeros_between = torch.zeros(2, 3, 9, 9)
    zeros_between[..., ::2, ::2] = x
    depthwise = (4 * k).expand(3, 1, 4, 4)
    by_definition = torch.nn.functional.conv2d(torch.nn.functional.pad(zeros_between, (2, 2, 2, 2)), depthwise, groups=3)
    torch.testing.assert_close(upsample2d(x, k), by_definition)
    up = upsample2d(torch.ones(1, 1, 6, 6), k)
    assert up.shape == (1, 1, 12, 12) and torch.allclose(up[..., 2:-2, 2:-2], torch.ones(1, 1, 8, 8))
    y = torch.randn(2, 3, 8, 8)
    full = torch.nn.functional.conv2d(torch.nn.functional.pad(y, (1, 1, 1, 1)), k.expand(3, 1, 4, 4), groups=3)
    torch.testing.assert_close(downsample2d(y, k), full[..., ::2, ::2])


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("kernel_size", [1, 3])
def test_upsampling_modconv_matches_its_definition(kernel_size: int, demodulate: bool, fused: bool) -> None:
    """modulated_conv2d(up=True), as StyleGAN2 defines it: insert a zero between pixels, convolve (full) with the
    modulated (and demodulated) weight -- together a stride-2 transposed conv -- then low-pass with 4 x the
    [1,3,3,1] filter, the same gain-4 filter as upsample2d (NVlabs' conv2d_resample: upfirdn2d gain = up**2)."""
    n, c_in, c_out, h, k = 2, 3, 4, 5, kernel_size
    x, weight, styles = torch.randn(n, c_in, h, h), torch.randn(c_out, c_in, k, k), torch.randn(n, c_in) + 1.0
    outs = []
    for i in range(n):
        w_i = weight * styles[i].reshape(1, -1, 1, 1)
        if demodulate:
            w_i = w_i / (w_i.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        zeros_between = torch.zeros(1, c_in, 2 * h - 1, 2 * h - 1)
        zeros_between[..., ::2, ::2] = x[i : i + 1]
        y = torch.nn.functional.conv2d(zeros_between, w_i.flip(-1, -2), padding=k - 1)  # (1, C_out, 2H + k - 2, ...)
        pad = (5 - k) // 2
        outs.append(torch.nn.functional.conv2d(y, (4 * blur_kernel()).expand(c_out, 1, 4, 4), padding=pad, groups=c_out))
    by_definition = torch.cat(outs)
    out = modulated_conv2d(x, weight, styles, demodulate=demodulate, up=True, fused=fused)
    assert out.shape == by_definition.shape == (n, c_out, 2 * h, 2 * h)
    torch.testing.assert_close(out, by_definition, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(modulated_conv2d_loop(x, weight, styles, demodulate=demodulate, up=True), by_definition,
                               rtol=1e-5, atol=1e-5)


def test_upsampling_modconv_keeps_the_scale_of_the_plain_one() -> None:
    """A constant input gives (inside the border) the same constant with up=True as with up=False: the gain of 4
    makes up for the zeros, so the features do not shrink ~4x at every resolution of the generator."""
    x = torch.full((2, 3, 6, 6), 0.5)
    weight, styles = torch.randn(4, 3, 3, 3), torch.rand(2, 3) + 0.5
    plain = modulated_conv2d(x, weight, styles)[..., 2:-2, 2:-2]
    up = modulated_conv2d(x, weight, styles, up=True)[..., 3:-3, 3:-3]
    torch.testing.assert_close(up, plain[..., :1, :1].expand_as(up), rtol=1e-4, atol=1e-5)
    # and the generator's activations keep their size from 4x4 to full resolution
    G = tiny_g(img_size=32)
    ws = G._ws(G.mapping(torch.randn(16, DIM)))
    x = G.convs[0](G.const.expand(16, -1, -1, -1), ws[:, 0])
    first = x.std().item()
    for conv in G.convs[1:]:
        x = conv(x, ws[:, 0])
    assert x.std().item() > 0.25 * first


def test_tanh_output_is_the_linear_output_squashed():
    torch.manual_seed(0)
    cfg = StyleGANGenerator.Config(img_size=16, img_channels=3, z_dim=8, w_dim=8, n_mlp=1, base_channels=4, max_channels=8)
    linear = StyleGANGenerator(cfg)
    bounded = StyleGANGenerator(dataclasses.replace(cfg, output="tanh"))
    bounded.load_state_dict(linear.state_dict())
    z = torch.randn(5, 8)
    with torch.no_grad():
        raw, squashed = linear(z, noise_mode="const"), bounded(z, noise_mode="const")
    torch.testing.assert_close(squashed, torch.tanh(raw))
    assert squashed.abs().max() < 1
    with pytest.raises(ValueError, match="parameter 'output' is 'sigmoid'; allowed values: 'linear', 'tanh'"):
        StyleGANGenerator(dataclasses.replace(cfg, output="sigmoid"))


def test_batch_norm_discriminator_cannot_see_the_scale_of_a_batch():
    """Why chapter 5 gives the generator a tanh when it trains against chapter 2's discriminator: with batch norm
    (training mode) D scores a batch and the same batch times 3 alike, so nothing stops G's range from drifting."""
    from synthlib.gan.dcgan import DCGANDiscriminator

    torch.manual_seed(0)
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    for norm in ("batch", "none"):
        D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=32, img_channels=3, base_channels=8, norm=norm)).train()
        with torch.no_grad():
            logits, logits_3x = D(x), D(3 * x)
        change = float((logits_3x - logits).abs().max() / logits.abs().max())
        if norm == "batch":
            assert change < 0.01, change   # the same verdicts, up to batch norm's eps
        else:
            assert change > 1, change      # without batch norm: 3x the logits (a positively homogeneous net)
