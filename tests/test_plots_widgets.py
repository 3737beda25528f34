"""Plots (Agg backend) and the latent explorer: plain methods and the ipywidgets UI, no browser."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from synthlib import plots  # noqa: E402
from synthlib.data import Ring2D  # noqa: E402
from synthlib.models.dcgan import DCGANGenerator  # noqa: E402
from synthlib.widgets import LatentExplorer, explorer_ui, lerp, slerp, to_png  # noqa: E402

Z_DIM = 16


@pytest.fixture(autouse=True)
def _seed_and_close_figures():
    torch.manual_seed(0)
    yield
    plt.close("all")


def tiny_g(num_classes: int = 0) -> DCGANGenerator:
    """A tiny DCGAN G whose images have contrast: with DCGAN's N(0, 0.02) init an untrained G's
    pixels all stay within 0.002 of 0 (one grey level), too little for the PNG bytes to show a change."""
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=Z_DIM, img_size=28, base_channels=8, num_classes=num_classes))
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, torch.nn.ConvTranspose2d):
                m.weight.normal_(0.0, 0.2)  # pixel std ~0.45
    return G


def explorer(num_classes: int = 0, G: DCGANGenerator | None = None) -> LatentExplorer:
    G = tiny_g(num_classes) if G is None else G
    return LatentExplorer(G, z_dim=Z_DIM, num_classes=num_classes, device="cpu", num_samples=256)


# --- plots ------------------------------------------------------------------------------------


def test_image_grid_gray_and_rgb() -> None:
    for channels in (1, 3):
        images = torch.rand(10, channels, 8, 8) * 2 - 1
        fig = plots.image_grid(images, nrow=4, title="x")
        assert isinstance(fig, Figure)
        (ax,) = fig.axes
        (im,) = ax.get_images()
        h, w, c = im.get_array().shape
        assert c == 3 and h == 3 * 8 + 4 * 2 and w == 4 * 8 + 5 * 2  # 3 rows, 4 columns, padding 2
        assert ax.get_title() == "x"


def test_image_grid_into_given_axes() -> None:
    fig, axes = plt.subplots(1, 2)
    assert plots.image_grid(torch.zeros(2, 1, 4, 4), ax=axes[1]) is fig
    assert len(axes[1].get_images()) == 1 and len(axes[0].get_images()) == 0


def test_loss_curves_skips_missing_keys_and_smooths() -> None:
    history = {
        "D/loss": {"step": list(range(10)), "value": [float(i) for i in range(10)]},
        "G/loss": {"step": [0, 5], "value": [1.0, 2.0]},
        "D/real_logits": {"step": [], "value": []},
    }
    fig = plots.loss_curves(history, keys=["D/loss", "G/loss", "not/there", "D/real_logits"], smooth=3)
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"D/loss", "G/loss"}
    x, y = lines["D/loss"].get_data()
    assert list(x) == list(range(2, 10)) and list(y) == pytest.approx([i + 1.0 for i in range(8)])
    x, y = lines["G/loss"].get_data()  # window shrinks to the series' length
    assert list(x) == [5] and list(y) == [1.5]
    fig = plots.loss_curves({}, keys=["D/loss"])  # nothing to draw: still a figure
    assert len(fig.axes[0].get_lines()) == 0


def test_toy_plots() -> None:
    ring = Ring2D()
    gen = torch.Generator().manual_seed(0)
    fake, real = ring.sample(100, gen), ring.sample(200, gen)
    fig = plots.scatter_2d(fake, means=ring.means, real=real, lim=3, title="t")
    (ax,) = fig.axes
    assert len(ax.collections) == 3 and ax.get_xlim() == (-3, 3)
    fig = plots.snapshot_row([(0, fake), (100, fake.numpy()), (200, fake)], ring.means, lim=(-3, 3))
    assert len(fig.axes) == 3 and [a.get_title() for a in fig.axes] == ["step 0", "step 100", "step 200"]
    x = torch.linspace(-4, 4, 50)
    fig = plots.density_1d(x, {"p": torch.exp(-x**2), "q": torch.ones(50)}, samples={"G": torch.randn(100)})
    assert len(fig.axes[0].get_lines()) == 2 and len(fig.axes[0].patches) > 0


# --- interpolation ----------------------------------------------------------------------------


def test_lerp_and_slerp_endpoints() -> None:
    a, b = torch.randn(5, Z_DIM), torch.randn(5, Z_DIM)
    for fn in (lerp, slerp):
        assert torch.allclose(fn(a, b, 0.0), a, atol=1e-5)
        assert torch.allclose(fn(a, b, 1.0), b, atol=1e-5)
    assert torch.allclose(lerp(a, b, 0.5), (a + b) / 2, atol=1e-6)


def test_slerp_keeps_norm_and_lerp_shrinks_it() -> None:
    a = torch.randn(Z_DIM)
    b = torch.randn(Z_DIM)
    b = b / b.norm() * a.norm()  # equal norms
    for t in torch.linspace(0, 1, 11):
        assert slerp(a, b, t).norm().item() == pytest.approx(a.norm().item(), rel=1e-5)
    assert lerp(a, b, 0.5).norm() < a.norm()
    # constant angular speed: the angle from a grows linearly in t
    angle = lambda u, v: torch.arccos((u @ v) / (u.norm() * v.norm())).item()  # noqa: E731
    assert angle(a, slerp(a, b, 0.25)) == pytest.approx(angle(a, b) / 4, rel=1e-4)
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a)  # parallel vectors fall back to lerp


# --- LatentExplorer ---------------------------------------------------------------------------


def test_render_shape_range_repeatable_and_directions() -> None:
    ex = explorer()
    img = ex.render(3, [0.0, 0.0, 0.0])
    assert img.shape == (1, 28, 28) and img.min() >= -1 and img.max() <= 1
    assert torch.equal(img, ex.render(3))
    assert not torch.equal(img, ex.render(4))
    assert not torch.allclose(img, ex.render(3, [2.0]))
    assert not torch.allclose(ex.render(3, [0.0, 0.0, 2.0]), img)
    d = ex.directions
    assert d.shape == (3, Z_DIM)
    assert torch.allclose(d @ d.T, torch.eye(3), atol=1e-5)
    # an offset of s moves z by exactly s along the unit direction
    assert torch.allclose(ex.latent(3, [1.5]) - ex.latent(3), 1.5 * d[0], atol=1e-6)


def test_directions_are_deterministic_and_can_be_given() -> None:
    G = tiny_g()
    assert torch.allclose(explorer(G=G).directions, explorer(G=G).directions)
    given = torch.zeros(2, Z_DIM)
    given[0, 0], given[1, 1] = 3.0, 1.0
    ex = LatentExplorer(G, z_dim=Z_DIM, directions=given)
    assert torch.equal(ex.directions, torch.eye(Z_DIM)[:2])
    with pytest.raises(ValueError, match="offsets"):
        ex.render(0, [1.0, 1.0, 1.0])


def test_interpolation() -> None:
    ex = explorer()
    strip = ex.interpolation_strip(1, 2, steps=5, mode="slerp")
    assert strip.shape == (5, 1, 28, 28)
    assert torch.allclose(strip[0], ex.render(1), atol=1e-5)
    assert torch.allclose(strip[-1], ex.render(2), atol=1e-5)
    assert torch.allclose(strip[2], ex.interpolate(1, 2, 0.5, mode="slerp"), atol=1e-5)
    linear = ex.interpolation_strip(1, 2, steps=5, mode="linear")
    assert not torch.allclose(linear[2], strip[2])
    with pytest.raises(ValueError, match="mode"):
        ex.interpolate(1, 2, 0.5, mode="cubic")  # type: ignore[arg-type]


def test_conditional_explorer_labels() -> None:
    ex = explorer(num_classes=3)
    a, b = ex.render(0, label=0), ex.render(0, label=2)
    assert a.shape == (1, 28, 28) and not torch.allclose(a, b)
    assert ex.interpolation_strip(0, 1, steps=3, label=1).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="conditional"):
        ex.render(0)
    with pytest.raises(ValueError, match="unconditional"):
        explorer().render(0, label=1)


def test_explorer_restores_training_mode() -> None:
    G = tiny_g()
    G.train()
    G.project[1].eval()  # a mixed state must come back exactly
    before = [m.training for m in G.modules()]
    ex = explorer(G=G)
    ex.render(0, [1.0])
    ex.interpolation_strip(0, 1, steps=3)
    assert [m.training for m in G.modules()] == before
    assert torch.is_grad_enabled()


# --- the widget -------------------------------------------------------------------------------


def test_to_png_scales() -> None:
    from io import BytesIO

    from PIL import Image

    png = to_png(torch.zeros(1, 7, 5), scale=4)
    assert Image.open(BytesIO(png)).size == (20, 28)
    assert Image.open(BytesIO(to_png(torch.zeros(3, 7, 5), scale=1))).mode == "RGB"


def test_explorer_ui_updates_image_on_changes() -> None:
    ui = explorer_ui(explorer())
    assert ui.label is None and ui.widget.children[0] is ui.image
    first = bytes(ui.image.value)
    assert first.startswith(b"\x89PNG")
    ui.seed.value = 5
    after_seed = bytes(ui.image.value)
    assert after_seed != first
    ui.sliders[1].value = 2.5
    after_direction = bytes(ui.image.value)
    assert after_direction != after_seed
    ui.t.value = 0.5
    assert bytes(ui.image.value) != after_direction
    ui.mode.value = "linear"
    assert torch.allclose(ui.render_current(), ui.explorer.render(5, [0.0, 2.5, 0.0], seed_b=1, t=0.5, mode="linear"))
    assert "application/vnd.jupyter.widget-view+json" in ui._repr_mimebundle_()


def test_explorer_ui_class_dropdown_only_when_conditional() -> None:
    ui = explorer_ui(explorer(num_classes=3), class_names=["a", "b", "c"])
    assert ui.label is not None and ui.label in ui.widget.children
    assert [name for name, _ in ui.label.options] == ["a", "b", "c"]
    before = bytes(ui.image.value)
    ui.label.value = 2
    assert bytes(ui.image.value) != before
    assert torch.equal(ui.render_current(), ui.explorer.render(0, [0.0] * 3, 2))
    with pytest.raises(ValueError, match="class names"):
        explorer_ui(ui.explorer, class_names=["a"])


def test_slerp_formula_matches_two_dimensional_rotation() -> None:
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    t = 1 / 3
    assert torch.allclose(slerp(a, b, t), torch.tensor([math.cos(math.pi / 6), math.sin(math.pi / 6)]))
