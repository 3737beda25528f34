"""DCGAN and toy MLP models: shapes, ranges, conditioning, errors, init and checkpoint rebuild.

Tiny models (8 base channels) on CPU, so the whole file runs in seconds.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import synthlib.core.registry as models
from synthlib.gan.dcgan import ConditionalBatchNorm2d, DCGANDiscriminator, DCGANGenerator, init_dcgan_weights_
from synthlib.gan.mlp import MLPDiscriminator, MLPGenerator

SIZES = (28, 32, 64)
Z_DIM = 16


def tiny_g(**overrides) -> DCGANGenerator:
    values = {"z_dim": Z_DIM, "base_channels": 8, **overrides}
    return DCGANGenerator(DCGANGenerator.Config(**values))


def tiny_d(**overrides) -> DCGANDiscriminator:
    values = {"base_channels": 8, **overrides}
    return DCGANDiscriminator(DCGANDiscriminator.Config(**values))


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# --- shapes and ranges ------------------------------------------------------------------------


@pytest.mark.parametrize("upsample", ["transposed", "resize"])
@pytest.mark.parametrize("img_channels", [1, 3])
@pytest.mark.parametrize("img_size", SIZES)
def test_generator_shape_and_range(img_size: int, img_channels: int, upsample: str) -> None:
    G = tiny_g(img_size=img_size, img_channels=img_channels, upsample=upsample)
    fake_img = G(torch.randn(4, Z_DIM))
    assert fake_img.shape == (4, img_channels, img_size, img_size)
    assert fake_img.dtype == torch.float32
    assert fake_img.abs().max() <= 1.0  # the library's pixel range is [-1, 1]
    assert fake_img.std() > 0  # not a constant image


@pytest.mark.parametrize("norm", ["batch", "spectral", "none"])
@pytest.mark.parametrize("img_channels", [1, 3])
@pytest.mark.parametrize("img_size", SIZES)
def test_discriminator_shape(img_size: int, img_channels: int, norm: str) -> None:
    D = tiny_d(img_size=img_size, img_channels=img_channels, norm=norm)
    real_img = torch.rand(4, img_channels, img_size, img_size) * 2 - 1
    real_logits = D(real_img)
    assert real_logits.shape == (4,)
    assert torch.isfinite(real_logits).all()
    assert real_logits.std() > 0  # raw logits, one per image


def test_generator_feeds_discriminator() -> None:
    for img_size in SIZES:
        G, D = tiny_g(img_size=img_size, img_channels=3), tiny_d(img_size=img_size, img_channels=3)
        assert D(G(torch.randn(2, Z_DIM))).shape == (2,)


def test_batch_norm_only_where_radford_puts_it() -> None:
    D = tiny_d(norm="batch")
    first_two = list(D.features)[:2]
    assert isinstance(first_two[0], nn.Conv2d) and isinstance(first_two[1], nn.LeakyReLU)
    assert any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    for norm in ("spectral", "none"):
        assert not any(isinstance(m, nn.BatchNorm2d) for m in tiny_d(norm=norm).modules())
    G = tiny_g()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.to_img.modules())
    # bias=False wherever a BatchNorm follows (BN's mean subtraction would cancel it).
    for model in (G, D):
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                assert m.bias is None


def test_spectral_norm_wraps_every_conv() -> None:
    D = tiny_d(norm="spectral", num_classes=3)
    wrapped = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Embedding))]
    assert wrapped and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in wrapped)


def test_resize_upsampling_has_no_transposed_convs() -> None:
    G = tiny_g(upsample="resize")
    transposed = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert transposed == [G.project[0]]  # only the 1x1 -> 4x4 projection, which has stride 1
    assert any(isinstance(m, nn.Upsample) for m in G.modules())


def test_channels_last_matches_contiguous() -> None:
    G, D = tiny_g(img_channels=3).eval(), tiny_d(img_channels=3).eval()
    z = torch.randn(3, Z_DIM)
    img = G(z)
    logits = D(img)
    G_cl = G.to(memory_format=torch.channels_last)
    D_cl = D.to(memory_format=torch.channels_last)
    img_cl = G_cl(z)
    torch.testing.assert_close(img_cl, img)
    torch.testing.assert_close(D_cl(img_cl.contiguous(memory_format=torch.channels_last)), logits)


def test_eval_mode_is_per_sample() -> None:
    """In eval mode a sample's output does not depend on the rest of the batch."""
    G, D = tiny_g(num_classes=4).eval(), tiny_d(num_classes=4).eval()
    z, labels = torch.randn(5, Z_DIM), torch.arange(5) % 4
    img = G(z, labels)
    torch.testing.assert_close(G(z[2:3], labels[2:3]), img[2:3])
    torch.testing.assert_close(D(img[2:3], labels[2:3]), D(img, labels)[2:3])


# --- class conditioning -----------------------------------------------------------------------


def test_conditional_generator_uses_labels() -> None:
    G = tiny_g(num_classes=10).eval()
    z = torch.randn(4, Z_DIM)
    img_a = G(z, torch.zeros(4, dtype=torch.long))
    img_b = G(z, torch.full((4,), 7, dtype=torch.long))
    assert img_a.shape == (4, 1, 64, 64)
    assert not torch.allclose(img_a, img_b)
    # conditional batch norm: the first layer sees z alone; every norm has a scale and shift per class
    assert G.project[0].in_channels == Z_DIM
    norms = [m for m in G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(norms) == 1 + len(G.blocks) // 3 and not any(isinstance(m, nn.BatchNorm2d) and m.affine for m in G.modules())
    # a class's output is gamma[y] * BN(x) + beta[y]: changing class 7's shift changes class 7 only
    with torch.no_grad():
        norms[-1].shift.weight[7] += 1.0
    assert torch.equal(G(z, torch.zeros(4, dtype=torch.long)), img_a)
    assert not torch.allclose(G(z, torch.full((4,), 7, dtype=torch.long)), img_b)


@pytest.mark.parametrize("norm", ["batch", "spectral"])
def test_projection_discriminator(norm: str) -> None:
    D = tiny_d(img_size=32, num_classes=5, norm=norm).eval()
    img = torch.rand(3, 1, 32, 32) * 2 - 1
    labels_a, labels_b = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 0])
    logits_a, logits_b = D(img, labels_a), D(img, labels_b)
    assert logits_a.shape == (3,)
    assert not torch.allclose(logits_a, logits_b)

    # logit = linear(h) + <embed(y), sum_xy h>, checked term by term
    h = D.features(img)
    projection = (D.embed(labels_a) * h.sum(dim=(2, 3))).sum(dim=1)
    torch.testing.assert_close(logits_a, D.to_logit(h).flatten() + projection)

    # The label enters only through the projection term: with a zero embedding it is ignored.
    plain = tiny_d(img_size=32, num_classes=5, norm="none").eval()
    with torch.no_grad():
        plain.embed.weight.zero_()
    torch.testing.assert_close(plain(img, labels_a), plain(img, labels_b))


# --- errors -------------------------------------------------------------------------------


def test_label_errors() -> None:
    z = torch.randn(2, Z_DIM)
    with pytest.raises(ValueError, match="class-conditional.*needs `labels`"):
        tiny_g(num_classes=3)(z)
    with pytest.raises(ValueError, match="unconditional.*got `labels`"):
        tiny_g()(z, torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"labels of shape \(2,\)"):
        tiny_g(num_classes=3)(z, torch.zeros(2, 1, dtype=torch.long))
    img = torch.zeros(2, 1, 64, 64)
    with pytest.raises(ValueError, match="class-conditional.*needs `labels`"):
        tiny_d(num_classes=3)(img)
    with pytest.raises(ValueError, match="unconditional.*got `labels`"):
        tiny_d()(img, torch.zeros(2, dtype=torch.long))


def test_shape_errors() -> None:
    G = tiny_g()
    with pytest.raises(ValueError, match=rf"z of shape \(N, {Z_DIM}\), got \(2, {Z_DIM + 1}\)"):
        G(torch.randn(2, Z_DIM + 1))
    with pytest.raises(ValueError, match="z of shape"):
        G(torch.randn(2, Z_DIM, 1, 1))  # pytorch/examples' 4-D noise is not accepted
    with pytest.raises(ValueError, match=r"images of shape \(N, 1, 64, 64\), got \(2, 3, 64, 64\)"):
        tiny_d()(torch.zeros(2, 3, 64, 64))
    with pytest.raises(ValueError, match="images of shape"):
        tiny_d(img_size=28)(torch.zeros(2, 1, 32, 32))


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match="'img_size'.*28, 32, 64"):
        tiny_g(img_size=48)
    with pytest.raises(ValueError, match="'upsample'"):
        tiny_g(upsample="bilinear")
    with pytest.raises(ValueError, match="'norm'"):
        tiny_d(norm="layer")
    with pytest.raises(ValueError, match="'img_size'"):
        models.build("DCGANDiscriminator", {"img_size": 48})
    with pytest.raises(TypeError, match="'ngf'"):
        models.build("DCGANGenerator", {"ngf": 64})


# --- initialisation and parameter counts ---------------------------------------------------


def test_radford_init_statistics() -> None:
    G = DCGANGenerator(DCGANGenerator.Config(img_channels=3))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_channels=3))
    for model in (G, D):
        convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        weights = torch.cat([m.weight.flatten() for m in convs])
        assert abs(weights.mean().item()) < 1e-3
        assert weights.std().item() == pytest.approx(0.02, rel=0.02)
        for m in convs:  # each layer, not only the pooled weights (smallest has 3,072)
            assert m.weight.std().item() == pytest.approx(0.02, rel=0.1)
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        scale = torch.cat([m.weight for m in bns])
        assert scale.mean().item() == pytest.approx(1.0, abs=0.01)
        assert scale.std().item() == pytest.approx(0.02, rel=0.2)
        assert all(torch.count_nonzero(m.bias) == 0 for m in bns)


def test_init_reaches_spectral_norm_raw_weights() -> None:
    D = tiny_d(base_channels=32, norm="spectral")
    raw = D.features[2].parametrizations.weight.original
    assert raw.std().item() == pytest.approx(0.02, rel=0.1)
    with torch.no_grad():
        raw.fill_(1.0)
    init_dcgan_weights_(D)  # re-initialising a wrapped model writes the raw weight
    assert raw.std().item() == pytest.approx(0.02, rel=0.1)


def test_init_handles_linear_and_leaves_other_modules() -> None:
    net = nn.Sequential(nn.Linear(256, 256), nn.BatchNorm1d(256), nn.Embedding(3, 4))
    emb = net[2].weight.detach().clone()
    assert init_dcgan_weights_(net) is net
    assert net[0].weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.count_nonzero(net[0].bias) == 0
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(net[2].weight, emb)


def test_parameter_counts_match_pytorch_examples() -> None:
    """pytorch/examples/dcgan at 64x64, nz=100, ngf=ndf=64, nc=3: the same network."""
    G = DCGANGenerator(DCGANGenerator.Config(img_channels=3))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_channels=3))
    assert (G.config.upsample, D.config.norm, G.config.z_dim) == ("transposed", "batch", 100)
    assert num_params(G) == 3_576_704
    assert num_params(D) == 2_765_568


# --- checkpoint round trip and training ----------------------------------------------------


ROUND_TRIP = [
    tiny_g,
    lambda: tiny_g(img_size=28, img_channels=3, num_classes=10, upsample="resize"),
    tiny_d,
    lambda: tiny_d(img_size=32, img_channels=3, num_classes=10, norm="spectral"),
    lambda: tiny_d(img_size=28, norm="none"),
    lambda: MLPGenerator(MLPGenerator.Config(activation="leaky_relu", num_layers=2)),
    lambda: MLPDiscriminator(MLPDiscriminator.Config(in_dim=1, hidden=32)),
]


def _inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    cfg = model.config
    if isinstance(model, DCGANGenerator):
        x = torch.randn(3, cfg.z_dim)
    elif isinstance(model, DCGANDiscriminator):
        x = torch.rand(3, cfg.img_channels, cfg.img_size, cfg.img_size) * 2 - 1
    elif isinstance(model, MLPGenerator):
        return (torch.randn(3, cfg.z_dim),)
    else:
        return (torch.randn(3, cfg.in_dim),)
    return (x, torch.tensor([0, 1, 2])) if cfg.num_classes else (x,)


@pytest.mark.parametrize("make", ROUND_TRIP)
def test_spec_build_round_trip(make) -> None:
    model = make()
    # a few training-mode passes so BatchNorm statistics and spectral-norm vectors move away
    # from their initial values and have to be carried by the state_dict
    for _ in range(2):
        model(*_inputs(model))
    spec = json.loads(json.dumps(models.spec(model)))  # a checkpoint holds plain data only
    assert spec["arch"] == type(model).__name__
    rebuilt = models.build(**spec)
    assert type(rebuilt) is type(model) and rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())  # strict: same keys and shapes
    model.eval(), rebuilt.eval()
    inputs = _inputs(model)
    with torch.no_grad():
        assert torch.equal(rebuilt(*inputs), model(*inputs))


def test_all_models_registered() -> None:
    for name in ("DCGANGenerator", "DCGANDiscriminator", "MLPGenerator", "MLPDiscriminator"):
        assert name in models.registered()


@pytest.mark.parametrize("norm", ["batch", "spectral"])
def test_backward_reaches_every_parameter(norm: str) -> None:
    G = tiny_g(img_size=32, img_channels=3, num_classes=4, upsample="resize")
    D = tiny_d(img_size=32, img_channels=3, num_classes=4, norm=norm)
    labels = torch.tensor([0, 1, 2, 3])
    fake_logits = D(G(torch.randn(4, Z_DIM), labels), labels)
    nn.functional.softplus(-fake_logits).mean().backward()  # non-saturating G loss
    for model in (G, D):
        for name, p in model.named_parameters():
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in G.parameters())


# --- toy MLPs -----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_toy_mlp_shapes(activation: str) -> None:
    G = MLPGenerator(MLPGenerator.Config(activation=activation))
    D = MLPDiscriminator(MLPDiscriminator.Config())
    assert G.config.z_dim == 8 and G.config.out_dim == 2
    fake = G(torch.randn(5, 8))
    assert fake.shape == (5, 2)
    assert D(fake).shape == (5,)  # flattened logits, like the DCGAN discriminator
    n_linear = sum(isinstance(m, nn.Linear) for m in G.modules())
    assert n_linear == G.config.num_layers + 1


def test_toy_mlp_one_dimensional_and_errors() -> None:
    G = MLPGenerator(MLPGenerator.Config(z_dim=1, out_dim=1, hidden=16, num_layers=1))
    D = MLPDiscriminator(MLPDiscriminator.Config(in_dim=1, hidden=16, num_layers=1))
    assert D(G(torch.randn(7, 1))).shape == (7,)
    with pytest.raises(ValueError, match=r"z of shape \(N, 1\)"):
        G(torch.randn(7))
    with pytest.raises(ValueError, match=r"x of shape \(N, 1\)"):
        D(torch.randn(7, 2))
    with pytest.raises(ValueError, match="'activation'"):
        MLPGenerator(MLPGenerator.Config(activation="tanh"))
    with pytest.raises(ValueError, match="'num_layers'"):
        MLPDiscriminator(MLPDiscriminator.Config(num_layers=0))
