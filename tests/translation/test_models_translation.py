"""Image-to-image translation networks (Chapter 3): the pix2pix U-Net, the CycleGAN ResNet
generator and the PatchGAN discriminator.

Shapes and ranges, the size rules and their errors, what the skip connections and dropout do,
the PatchGAN's receptive field (analytic against measured), checkerboards, initialisation,
parameter counts against the reference architectures and the checkpoint rebuild.
Tiny models (4-8 base channels) on CPU.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import synthlib.core.registry as models
from synthlib.nn.patchgan import PatchGANDiscriminator, output_size, receptive_field
from synthlib.nn.unet import DropoutAtEval, UNetGenerator, init_pix2pix_weights_, max_num_downs
from synthlib.translation.resnet import ResnetBlock, ResnetGenerator

NORMS = ("batch", "instance", "none")
UPSAMPLES = ("transposed", "resize")


def tiny_unet(**overrides) -> UNetGenerator:
    return UNetGenerator(UNetGenerator.Config(**{"base_channels": 8, **overrides}))


def tiny_resnet(**overrides) -> ResnetGenerator:
    values = {"base_channels": 4, "num_blocks": 2, **overrides}
    return ResnetGenerator(ResnetGenerator.Config(**values))


def tiny_patchgan(**overrides) -> PatchGANDiscriminator:
    return PatchGANDiscriminator(PatchGANDiscriminator.Config(**{"base_channels": 8, **overrides}))


def images(n: int, size: int | tuple[int, int], channels: int = 3) -> torch.Tensor:
    height, width = (size, size) if isinstance(size, int) else size
    return torch.rand(n, channels, height, width) * 2 - 1


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# --- U-Net: shapes, depth, size errors ----------------------------------------------------------


@pytest.mark.parametrize("upsample", UPSAMPLES)
@pytest.mark.parametrize(("size", "num_downs"), [(32, 1), (32, 3), (32, 5), (64, 2), (64, 4), (64, 6)])
def test_unet_shape_and_range(size: int, num_downs: int, upsample: str) -> None:
    G = tiny_unet(num_downs=num_downs, upsample=upsample, in_channels=1, out_channels=3)
    fake_img = G(images(2, size, channels=1))
    assert fake_img.shape == (2, 3, size, size)
    assert fake_img.abs().max() <= 1.0 and fake_img.std() > 0
    assert len(G.down) == len(G.up) == num_downs


def test_unet_runs_on_other_sizes_and_channel_cap() -> None:
    G = tiny_unet(num_downs=4, max_channels=32)
    assert G(images(1, (32, 64))).shape == (1, 3, 32, 64)  # size-agnostic, not only square
    convs = [m for m in G.down.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 32]  # doubling, capped at 32
    # the paper's encoder for 256x256: C64-C128-C256-C512-C512-C512-C512-C512
    G = UNetGenerator(UNetGenerator.Config(num_downs=8))
    assert [m.out_channels for m in G.down.modules() if isinstance(m, nn.Conv2d)] == [
        64, 128, 256, 512, 512, 512, 512, 512,
    ]


def test_unet_size_errors_say_which_sizes_work() -> None:
    G = tiny_unet(num_downs=6)
    expected = r"multiples of 2\*\*6 = 64.*got 32x32: for 32x32 use num_downs <= 5"
    with pytest.raises(ValueError, match=expected):
        G(images(1, 32))
    with pytest.raises(ValueError, match=r"got 48x64: for 48x64 use num_downs <= 4"):
        G(images(1, (48, 64)))
    with pytest.raises(ValueError, match="odd size"):
        tiny_unet(num_downs=1)(images(1, 33))
    with pytest.raises(ValueError, match=r"images of shape \(N, 3, H, W\), got \(1, 1, 64, 64\)"):
        G(images(1, 64, channels=1))
    assert max_num_downs(64, 64) == 6 and max_num_downs(48, 64) == 4 and max_num_downs(33, 64) == 0


def test_unet_config_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match="'norm'"):
        tiny_unet(norm="group")
    with pytest.raises(ValueError, match="'upsample'"):
        tiny_unet(upsample="bilinear")
    with pytest.raises(ValueError, match="'num_downs'"):
        tiny_unet(num_downs=0)
    with pytest.raises(ValueError, match="'dropout'"):
        tiny_unet(dropout=1.0)
    with pytest.raises(ValueError, match="'max_channels'"):
        tiny_unet(max_channels=4)
    with pytest.raises(TypeError, match="'ngf'"):
        models.build("UNetGenerator", {"ngf": 64})


# --- U-Net: where the norms are, the skips, dropout -------------------------------------------


@pytest.mark.parametrize("norm", NORMS)
def test_unet_no_norm_on_first_and_innermost_encoder_layer(norm: str) -> None:
    G = tiny_unet(norm=norm)
    normed = [any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in level) for level in G.down]
    assert normed == [False] + [norm != "none"] * 4 + [False]
    assert not isinstance(G.down[0][0], nn.LeakyReLU)  # the raw image goes straight into a conv
    output_layer = G.up[0]
    assert isinstance(output_layer[-1], nn.Tanh)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.Dropout)) for m in output_layer)
    # a batch of ONE at full depth trains: no norm ever sees a single value per channel
    G.train()
    G(images(1, 64)).mean().backward()


def test_batch_norm_on_a_1x1_map_would_erase_the_bottleneck() -> None:
    """Why the innermost layer has no norm: in training mode a batch of one 1x1 map is
    normalised by its own value, so every image gives the same output."""
    bn = nn.BatchNorm2d(4).train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(torch.randn(1, 4, 1, 1))
    inorm = nn.InstanceNorm2d(4, affine=True)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        inorm(torch.randn(2, 4, 1, 1))


@pytest.mark.parametrize("upsample", UPSAMPLES)
@pytest.mark.parametrize("norm", ["batch", "none"])
def test_unet_skips_carry_local_detail(norm: str, upsample: str) -> None:
    """At full depth (1x1 bottleneck) every output pixel depends on every input pixel, but
    through the skip connections mostly on the input pixels right around it."""
    G = tiny_unet(num_downs=6, norm=norm, upsample=upsample, dropout_at_eval=False).eval()
    x = images(1, 64).requires_grad_()
    G(x)[0, :, 32, 32].sum().backward()
    grad = x.grad.abs().sum(dim=1)[0]  # (64, 64): |d out(32, 32) / d in|
    assert (grad > 0).all()  # the bottleneck sees the whole image
    local = grad[28:37, 28:37].sum() / grad.sum()
    assert local > 0.9  # a 9x9 window (2% of the pixels) holds over 90% of the gradient
    # and the skip concatenations are there: each decoder level but the innermost takes 2x
    up_convs = [level[1][1] if upsample == "resize" else level[1] for level in G.up]  # after the ReLU
    assert [c.in_channels for c in up_convs] == [16, 32, 64, 128, 256, 256]


def test_unet_dropout_layers_where_the_paper_puts_them() -> None:
    G = tiny_unet(num_downs=6)
    with_dropout = [any(isinstance(m, DropoutAtEval) for m in level) for level in G.up]
    assert with_dropout == [False, False, False, True, True, True]  # the 3 nearest the bottleneck
    shallow = tiny_unet(num_downs=2)  # at most num_downs - 1: never on the output layer
    assert [any(isinstance(m, DropoutAtEval) for m in level) for level in shallow.up] == [False, True]
    for G in (tiny_unet(dropout=0.0), tiny_unet(num_dropout_layers=0)):
        assert not any(isinstance(m, nn.Dropout) for m in G.modules())


def test_unet_dropout_at_eval() -> None:
    x = images(2, 32)
    G = tiny_unet(num_downs=5, dropout_at_eval=True).eval()
    with torch.no_grad():
        assert not torch.allclose(G(x), G(x))  # pix2pix: dropout is the noise, also at test time
    G = tiny_unet(num_downs=5, dropout_at_eval=False).eval()
    with torch.no_grad():
        assert torch.equal(G(x), G(x))  # the usual deterministic evaluation
        G.train()
        assert not torch.allclose(G(x), G(x))  # ... but dropout while training


# --- ResNet generator ----------------------------------------------------------------------------


@pytest.mark.parametrize("upsample", UPSAMPLES)
@pytest.mark.parametrize("size", [32, 64, (32, 64), 8])
def test_resnet_generator_preserves_shape(size, upsample: str) -> None:
    G = tiny_resnet(upsample=upsample, out_channels=1)
    x = images(2, size)
    fake_img = G(x)
    assert fake_img.shape == (2, 1, *x.shape[2:])
    assert fake_img.abs().max() <= 1.0 and fake_img.std() > 0


def test_resnet_generator_structure_and_errors() -> None:
    G = tiny_resnet(num_blocks=6)
    assert len(G.blocks) == 6 and all(isinstance(b, ResnetBlock) for b in G.blocks)
    assert G.config.norm == "instance"  # CycleGAN's default
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in G.modules()) == 2 + 2 * 6
    h = G.down(G.stem(images(1, 32)))
    assert h.shape == (1, 16, 8, 8)  # 4g channels at a quarter of the resolution
    # a residual block with a zeroed last conv and norm is the identity
    block = G.blocks[0]
    with torch.no_grad():
        for m in block.body.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.bias.zero_(), m.weight.zero_()
    torch.testing.assert_close(block(h), h)
    with pytest.raises(ValueError, match=r"multiples of 4.*got 30x32"):
        G(images(1, (30, 32)))
    with pytest.raises(ValueError, match="at least 8.*got 4x4"):
        G(images(1, 4))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\), got \(1, 1, 32, 32\)"):
        G(images(1, 32, channels=1))
    with pytest.raises(ValueError, match="'norm'"):
        tiny_resnet(norm="layer")
    with pytest.raises(ValueError, match="'num_blocks'"):
        tiny_resnet(num_blocks=-1)


# --- PatchGAN ------------------------------------------------------------------------------------


# (num_layers, receptive field, logit map side at 64x64, at 256x256)
PATCHES = [(1, 16, 30, 126), (2, 34, 14, 62), (3, 70, 6, 30), (4, 142, 2, 14), (5, 286, 0, 6)]


@pytest.mark.parametrize(("num_layers", "field", "at_64", "at_256"), PATCHES)
def test_patchgan_receptive_field_and_map_size(num_layers: int, field: int, at_64: int, at_256: int) -> None:
    config = PatchGANDiscriminator.Config(base_channels=4, num_layers=num_layers)
    assert receptive_field(config) == field  # 70 for pix2pix's default, 286 for its "ImageGAN"
    assert output_size(config, 64) == at_64 and output_size(config, 256) == at_256
    if at_64:
        D = PatchGANDiscriminator(config)
        assert D(images(2, 64)).shape == (2, 1, at_64, at_64)
    else:
        with pytest.raises(ValueError, match="too small for num_layers=5, which needs at least 96x96"):
            PatchGANDiscriminator(config)(images(1, 64))


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_patchgan_receptive_field_measured(num_layers: int) -> None:
    """Backpropagate from the centre logit and measure the square of input pixels it reaches.

    All weights positive and a positive input: every activation is positive, so no gradient is
    zero by accident (a negative LeakyReLU input would only scale it, but a zero weight would
    not). The input is large enough that the centre patch does not touch the border.
    """
    config = PatchGANDiscriminator.Config(base_channels=2, num_layers=num_layers, norm="none")
    D = PatchGANDiscriminator(config)
    with torch.no_grad():
        for m in D.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.uniform_(0.5, 1.0).div_(m.weight[0].numel())
                m.bias.zero_()
    size = 2 * receptive_field(config) + 16
    x = (torch.rand(1, 3, size, size) + 0.1).requires_grad_()
    logits = D(x)
    h, w = logits.shape[2:]
    logits[0, 0, h // 2, w // 2].backward()
    seen = x.grad[0].abs().sum(dim=0) > 0  # (size, size)
    rows, cols = seen.any(dim=1).nonzero().flatten(), seen.any(dim=0).nonzero().flatten()
    assert rows.min() > 0 and rows.max() < size - 1  # not clipped by the border
    measured = (rows.max() - rows.min() + 1).item(), (cols.max() - cols.min() + 1).item()
    assert measured == (receptive_field(config),) * 2
    assert seen[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # a full square


def test_patchgan_conditional_concatenates() -> None:
    D = tiny_patchgan(conditional=True, norm="none").eval()
    assert D.in_channels == 6 and D.net[0].in_channels == 6  # pix2pix's D(x, y): 3 + 3 channels
    x, y = images(2, 64), images(2, 64)
    logits = D(y, x)
    assert logits.shape == (2, 1, 6, 6)
    torch.testing.assert_close(logits, D.net(torch.cat([x, y], dim=1)))  # condition first
    assert not torch.allclose(logits, D(y, images(2, 64)))  # the condition matters
    edges = tiny_patchgan(conditional=True, cond_channels=1)  # edges -> photos
    assert edges.in_channels == 4 and edges(y, images(2, 64, channels=1)).shape == (2, 1, 6, 6)

    with pytest.raises(ValueError, match="conditional and needs `cond`"):
        D(y)
    with pytest.raises(ValueError, match=r"expected cond of shape \(2, 3, 64, 64\).*got \(2, 1, 64, 64\)"):
        D(y, images(2, 64, channels=1))
    with pytest.raises(ValueError, match=r"expected cond of shape \(2, 3, 64, 64\).*got \(2, 3, 32, 32\)"):
        D(y, images(2, 32))
    with pytest.raises(ValueError, match=r"images of shape \(N, 3, H, W\), got \(2, 6, 64, 64\)"):
        D(torch.cat([x, y], dim=1))  # the concatenation is D's job, not the caller's
    with pytest.raises(ValueError, match="unconditional but got `cond`"):
        tiny_patchgan()(y, x)
    with pytest.raises(ValueError, match="'cond_channels' is set but 'conditional' is False"):
        tiny_patchgan(cond_channels=1)
    with pytest.raises(ValueError, match="'norm'"):
        tiny_patchgan(norm="spectral")


def test_patchgan_norm_placement() -> None:
    D = tiny_patchgan(norm="batch")
    layers = list(D.net)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)  # no norm first
    assert isinstance(layers[-1], nn.Conv2d) and layers[-1].out_channels == 1  # raw logits
    assert sum(isinstance(m, nn.BatchNorm2d) for m in layers) == 3
    assert [m.stride for m in layers if isinstance(m, nn.Conv2d)] == [(2, 2)] * 3 + [(1, 1)] * 2


# --- every norm, every model ---------------------------------------------------------------------


MAKERS = {
    "unet": lambda norm: tiny_unet(num_downs=5, norm=norm),
    "resnet": lambda norm: tiny_resnet(norm=norm),
    "patchgan": lambda norm: tiny_patchgan(norm=norm, conditional=True),
}


def _inputs(model: nn.Module, n: int = 2, size: int = 32) -> tuple[torch.Tensor, ...]:
    if isinstance(model, PatchGANDiscriminator):
        cfg = model.config
        cond = (images(n, size, model.in_channels - cfg.img_channels),) if cfg.conditional else ()
        return (images(n, size, cfg.img_channels), *cond)
    return (images(n, size, model.config.in_channels),)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("family", MAKERS)
def test_every_norm_constructs_trains_and_evaluates(family: str, norm: str) -> None:
    model = MAKERS[family](norm)
    out = model(*_inputs(model))
    out.mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(*_inputs(model))).all()
    norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))]
    assert bool(norms) == (norm != "none")
    instance_norms = [m for m in norms if isinstance(m, nn.InstanceNorm2d)]
    assert all(m.affine and not m.track_running_stats for m in instance_norms)
    # a conv followed by a norm has no bias (the norm's mean subtraction would cancel it)
    for seq in model.modules():
        children = list(seq.children()) if isinstance(seq, nn.Sequential) else []
        for conv, nxt in zip(children, children[1:]):
            if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)):
                normed = isinstance(nxt, (nn.BatchNorm2d, nn.InstanceNorm2d))
                assert (conv.bias is None) == normed


# --- checkerboards -------------------------------------------------------------------------------


def period2_share(img: torch.Tensor, border: int = 8) -> float:
    """Fraction of the interior's variance that is a period-2 pattern (a checkerboard or
    stripes): the variance of the mean of each of the four pixel phases of a 2x2 cell."""
    img = img[..., border:-border, border:-border]
    n, c, h, w = img.shape
    phases = img.reshape(n, c, h // 2, 2, w // 2, 2).mean(dim=(2, 4))  # (N, C, 2, 2)
    pattern = phases - phases.mean(dim=(-2, -1), keepdim=True)
    var = img.var().item()
    return pattern.pow(2).mean().item() / var if var > 0 else 0.0  # 0: perfectly flat


@pytest.mark.parametrize("make", [lambda **kw: tiny_unet(dropout_at_eval=False, **kw), tiny_resnet])
def test_resize_upsampling_leaves_no_checkerboard(make) -> None:
    """A constant image through the freshly initialised generator (as the Chapter 2 notebook
    does for DCGAN): transposed convolutions print a period-2 pattern on it, resize-convolutions
    do not. The border is left out: zero padding there is a real, non-periodic signal."""
    share = {}
    for upsample in UPSAMPLES:
        torch.manual_seed(0)
        G = make(upsample=upsample, norm="none").eval()
        with torch.no_grad():
            share[upsample] = period2_share(G(torch.full((1, 3, 64, 64), 0.5)))
    assert share["transposed"] > 0.05
    assert share["resize"] < 1e-3


# --- initialisation and parameter counts ---------------------------------------------------------


def test_pix2pix_init_statistics() -> None:
    for model in (
        UNetGenerator(UNetGenerator.Config(base_channels=32, norm="instance")),
        ResnetGenerator(ResnetGenerator.Config(base_channels=32, norm="batch")),
        PatchGANDiscriminator(PatchGANDiscriminator.Config(base_channels=32)),
    ):
        convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        for m in convs:
            if m.weight.numel() >= 4096:
                assert m.weight.std().item() == pytest.approx(0.02, rel=0.1)
            assert m.bias is None or torch.count_nonzero(m.bias) == 0
        norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))]
        scale = torch.cat([m.weight for m in norms])
        assert scale.mean().item() == pytest.approx(1.0, abs=0.01)
        assert scale.std().item() == pytest.approx(0.02, rel=0.25)
    net = nn.Sequential(nn.Conv2d(64, 64, 3), nn.InstanceNorm2d(64, affine=True))
    assert init_pix2pix_weights_(net, gain=0.1) is net
    assert net[0].weight.std().item() == pytest.approx(0.1, rel=0.05)
    assert net[1].weight.std().item() == pytest.approx(0.1, rel=0.3)


def test_parameter_counts_against_the_reference_architectures() -> None:
    """Counted from the pix2pix/CycleGAN papers' layer tables (ngf = ndf = 64, 3 channels).

    * unet_256 (8 levels, batch norm): 54,413,955 in the reference code ("54.414 M"), which
      also leaves the bias out of the two encoder convs that no norm follows; here they have one:
      + 64 + 512.
    * CycleGAN's resnet_9blocks: 11,383,427 with batch norm. Its instance norm has no affine
      parameters but keeps the conv biases (11,378,179); ours has affine and no biases: +1 per
      normalised channel, 64 + 128 + 256 + 18 * 256 + 128 + 64 = 5,248.
    * The 70x70 PatchGAN, batch norm: 2,768,705 for pix2pix's D(x, y) on 6 channels, 2,765,633
      on 3 (the reference's instance-norm variant: 2,764,737 = 896 fewer).
    """
    assert num_params(UNetGenerator(UNetGenerator.Config(num_downs=8))) == 54_413_955 + 64 + 512
    for norm in ("batch", "instance"):
        G = ResnetGenerator(ResnetGenerator.Config(num_blocks=9, norm=norm))
        assert num_params(G) == 11_383_427 == 11_378_179 + 5_248
    D = PatchGANDiscriminator(PatchGANDiscriminator.Config(conditional=True))
    assert num_params(D) == 2_768_705
    assert num_params(PatchGANDiscriminator(PatchGANDiscriminator.Config())) == 2_765_633


# --- checkpoint round trip -----------------------------------------------------------------------


ROUND_TRIP = [
    lambda: tiny_unet(num_downs=5),
    lambda: tiny_unet(num_downs=3, norm="instance", upsample="resize", in_channels=1, max_channels=16),
    lambda: tiny_resnet(),
    lambda: tiny_resnet(norm="batch", upsample="resize", num_blocks=0),
    lambda: tiny_patchgan(),
    lambda: tiny_patchgan(conditional=True, cond_channels=1, num_layers=2, norm="instance"),
]


@pytest.mark.parametrize("make", ROUND_TRIP)
def test_spec_build_round_trip(make) -> None:
    model = make()
    for _ in range(2):  # move the batch-norm running statistics off their initial values
        model(*_inputs(model))
    spec = json.loads(json.dumps(models.spec(model)))  # a checkpoint holds plain data only
    assert spec["arch"] == type(model).__name__
    rebuilt = models.build(**spec)
    assert type(rebuilt) is type(model) and rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())  # strict: same keys and shapes
    model.eval(), rebuilt.eval()
    inputs = _inputs(model)
    with torch.no_grad():
        torch.manual_seed(1)  # the same dropout masks (pix2pix's dropout stays on in eval)
        expected = model(*inputs)
        torch.manual_seed(1)
        assert torch.equal(rebuilt(*inputs), expected)


def test_translation_models_registered_and_exported() -> None:
    for name in ("UNetGenerator", "ResnetGenerator", "PatchGANDiscriminator"):
        assert name in models.registered() and models.model_class(name).__name__ == name
