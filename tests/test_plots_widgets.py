"""Plots (Agg backend) and the latent explorer: plain methods and the ipywidgets UI, no browser."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from synthlib import plots  # noqa: E402
from synthlib.data import Ring2D  # noqa: E402
from synthlib.gan.dcgan import DCGANGenerator  # noqa: E402
from synthlib.gan.latent_widget import LatentExplorer, explorer_ui, lerp, slerp
from synthlib.ui import to_png

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


def test_model_switch_shows_one_explorer_at_a_time() -> None:
    from synthlib.ui import ModelSwitch

    course, run = explorer_ui(explorer()), explorer_ui(explorer())
    switch = ModelSwitch({"course weights": course, "this run": run})
    assert switch.buttons.options == ("course weights", "this run") and switch.current is course
    assert switch.box.children == (course.widget,)
    switch.buttons.value = "this run"                       # what clicking the button does
    assert switch.current is run and switch.box.children == (run.widget,)
    switch.show("course weights")
    assert switch.buttons.value == "course weights" and switch.box.children == (course.widget,)
    with pytest.raises(ValueError, match="no model 'other': this switch has 'course weights', 'this run'"):
        switch.show("other")
    with pytest.raises(ValueError, match="at least one explorer"):
        ModelSwitch({})


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


# --- chapter 6: the inpainting mask painter -----------------------------------------------------


def photo(height: int = 32, width: int = 40, seed: int = 0) -> torch.Tensor:
    """A seeded photo with structure: blocks of colour plus a little noise, in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 4, 5, generator=g) * 2 - 1
    img = torch.nn.functional.interpolate(coarse, size=(height, width), mode="nearest")[0]
    return (img + 0.1 * torch.randn(img.shape, generator=g)).clamp(-1, 1)


def mean_fill(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The cheapest inpainting: every missing pixel the mean colour of the known ones."""
    mean = image[:, ~hole].mean(1)
    return torch.where(hole, mean[:, None, None], image)


def painter(**kwargs):
    from synthlib.restoration import inpaint_telea
    from synthlib.restoration.painter_widget import MaskPainter

    return MaskPainter(photo(), {"mean fill": mean_fill, "telea": inpaint_telea}, **kwargs)


def test_mask_painter_paints_discs_and_clips_at_the_border() -> None:
    p = painter(brush=3)
    assert p.hole.shape == (32, 40) and p.hole.dtype == torch.bool and p.coverage == 0.0
    p.paint(20, 16)
    ys, xs = torch.nonzero(p.hole, as_tuple=True)
    assert ((xs - 20) ** 2 + (ys - 16) ** 2 <= 9).all()  # inside the disc only...
    assert int(p.hole.sum()) == 29  # ...and all of it: the lattice points within radius 3
    assert p.coverage == pytest.approx(29 / (32 * 40))
    p.clear()
    p.paint(0, 0, radius=5)  # a quarter disc in the corner, no error
    assert p.hole[0, 0] and p.hole[5, 0] and p.hole[0, 5] and not p.hole[5, 5]
    assert int(p.hole.sum()) == sum(1 for x in range(6) for y in range(6) if x * x + y * y <= 25)
    p.clear()
    p.paint(45, 16, radius=6)  # centred off the right edge: only the part that overlaps the photo
    assert p.hole[:, 39].any() and not p.hole[:, :38].any()
    p.paint(100, 100)  # entirely outside: nothing
    p.clear()
    p.paint(7.3, 4.8, radius=0)  # a brush under a pixel still paints the nearest one
    assert torch.nonzero(p.hole).tolist() == [[5, 7]]
    with pytest.raises(ValueError, match="radius"):
        p.paint(1, 1, radius=-1)


def test_mask_painter_stroke_is_continuous() -> None:
    p = painter(brush=2)
    p.stroke([(2, 10), (40, 10)])  # two points far apart, as a fast mouse move sends them
    assert p.hole[10, 2:40].all(), "the stroke left a gap along y = 10"
    assert p.hole[8:13, 4:38].all() and not p.hole[13:].any() and not p.hole[:8].any()
    p.clear()
    p.stroke([(1, 1), (30, 25), (5, 30)], radius=1)  # a polyline, diagonal segments
    for (x0, y0), (x1, y1) in [((1, 1), (30, 25)), ((30, 25), (5, 30))]:
        for t in torch.linspace(0, 1, 200):
            x, y = round(float(x0 + (x1 - x0) * t)), round(float(y0 + (y1 - y0) * t))
            assert p.hole[y, x], f"gap at ({x}, {y})"
    p.clear()
    p.stroke([])  # nothing to paint
    p.stroke([(3, 3)])  # one point: one disc
    assert p.coverage > 0


def test_mask_painter_results_keep_known_pixels_and_show_the_hole_white() -> None:
    p = painter(brush=4)
    empty = p.results()
    assert list(empty) == ["masked", "mean fill", "telea"]
    assert all(torch.equal(img, p.image) for img in empty.values()), "no hole: every result is the photo"
    assert p.seconds == {"mean fill": 0.0, "telea": 0.0}

    p.stroke([(5, 5), (30, 20)])
    hole = p.hole
    results = p.results()
    assert list(results) == ["masked", "mean fill", "telea"]
    assert (results["masked"][:, hole] == 1.0).all()
    for name, img in results.items():
        assert img.shape == (3, 32, 40)
        assert torch.equal(img[:, ~hole], p.image[:, ~hole]), f"{name} changed known pixels"
    assert not torch.equal(results["mean fill"][:, hole], p.image[:, hole])
    assert not torch.equal(results["telea"], results["mean fill"])
    assert set(p.seconds) == {"mean fill", "telea"} and all(s >= 0 for s in p.seconds.values())
    assert p.render().shape == (3, 32, 3 * 40 + 2 * 2)


def test_mask_painter_methods_see_the_hole_not_the_photo_and_cannot_touch_known_pixels() -> None:
    from synthlib.restoration.painter_widget import MaskPainter

    seen = {}

    def scribbler(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        seen["image"], seen["hole"] = image.clone(), hole.clone()
        image.fill_(0.5)  # writes into its input and into the known pixels
        hole.zero_()
        return image

    p = MaskPainter(photo(), {"scribble": scribbler}, fill=-1.0)
    p.paint(10, 10, radius=3)
    out = p.results()["scribble"]
    assert torch.equal(seen["hole"], p.hole) and p.hole.any(), "the method's writes reached the painter's hole"
    assert (seen["image"][:, p.hole] == -1.0).all(), "the method saw true pixels in the hole"
    assert torch.equal(out[:, ~p.hole], p.image[:, ~p.hole]) and (out[:, p.hole] == 0.5).all()


def test_mask_painter_rejects_bad_inputs_and_bad_method_outputs() -> None:
    from synthlib.restoration.painter_widget import MaskPainter

    img = photo()
    with pytest.raises(ValueError, match="3 x H x W"):
        MaskPainter(img[0], {"m": mean_fill})
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        MaskPainter(img * 3, {"m": mean_fill})
    with pytest.raises(ValueError, match="non-empty dict"):
        MaskPainter(img, {})
    with pytest.raises(ValueError, match="masked"):
        MaskPainter(img, {"masked": mean_fill})
    with pytest.raises(ValueError, match="callable"):
        MaskPainter(img, {"m": 3})
    with pytest.raises(ValueError, match="brush"):
        MaskPainter(img, {"m": mean_fill}, brush=-2)
    p = MaskPainter(img, {"garbage": lambda image, hole: image[:, :8, :8]})
    with pytest.raises(ValueError, match="bool tensor"):
        p.set_hole(torch.ones(32, 40))
    with pytest.raises(ValueError, match="bool tensor"):
        p.set_hole(torch.ones(8, 8, dtype=torch.bool))
    p.set_hole(torch.ones(32, 40, dtype=torch.bool))
    assert p.coverage == 1.0
    with pytest.raises(ValueError, match=r"'garbage' returned \(3, 8, 8\).*\(3, 32, 40\)"):
        p.results()
    p.methods = {"nan": lambda image, hole: torch.full_like(image, float("nan"))}
    with pytest.raises(ValueError, match="'nan' returned NaN"):
        p.results()


def test_inpaint_ui_callbacks_paint_refresh_and_clear() -> None:
    from synthlib.restoration.painter_widget import InpaintUI, inpaint_ui

    ui = inpaint_ui(painter(brush=2), scale=3)
    assert isinstance(ui, InpaintUI)
    assert (ui.canvas.width, ui.canvas.height) == (40 * 3, 32 * 3) and ui.canvas.sync_image_data is False
    assert ui.canvas in ui.widget.children[0].children and ui.image in ui.widget.children
    assert "application/vnd.jupyter.widget-view+json" in ui._repr_mimebundle_()
    first = bytes(ui.image.value)
    assert first.startswith(b"\x89PNG") and ui.caption.value.startswith("coverage 0.0 %")
    assert "names: masked | mean fill | telea" in ui.caption.value

    ui.on_move(30, 30)  # no button down: moving paints nothing
    assert not ui.painter.hole.any()
    ui.on_down(3 * 5 + 1, 3 * 10 + 1)  # canvas pixels; image pixel (5, 10)
    assert ui.painter.hole[10, 5]
    for x in range(20, 3 * 35, 15):
        ui.on_move(x, 3 * 10 + 1)
    assert bytes(ui.image.value) == first, "the methods ran before the stroke ended"
    ui.on_up(3 * 35 + 1, 3 * 10 + 1)
    assert ui.painter.hole[10, 5:36].all() and not ui.painter.hole[20:].any()
    painted = bytes(ui.image.value)
    assert painted != first
    assert re.match(r"coverage (\d+\.\d) % \| mean fill \d+\.\d\d s \| telea \d+\.\d\d s \| names:", ui.caption.value)
    shown = float(ui.caption.value.split()[1])
    assert shown > 0 and shown == pytest.approx(100 * ui.painter.coverage, abs=0.05)
    ui.on_move(3 * 5, 3 * 25)  # the stroke is over
    ui.on_up(3 * 5, 3 * 25)  # a release without a press: nothing happens
    assert not ui.painter.hole[20:].any() and bytes(ui.image.value) == painted

    ui.on_down(3, 3 * 28)  # a stroke that leaves the canvas ends there
    ui.on_move(40, 3 * 28)
    ui.on_out(0, 3 * 28)
    assert ui.painter.hole[28, 1:13].any() and bytes(ui.image.value) != painted
    ui.on_move(100, 3 * 28)
    assert not ui.painter.hole[28, 30:].any()

    ui.on_clear(None)
    assert not ui.painter.hole.any() and ui.caption.value.startswith("coverage 0.0 %")
    assert bytes(ui.image.value) == first


def test_inpaint_ui_brush_slider_sets_the_radius() -> None:
    from synthlib.restoration.painter_widget import inpaint_ui

    ui = inpaint_ui(painter(brush=1), scale=2)
    assert ui.brush.description == "brush" and ui.brush.value == 1 and ui.clear.description == "clear"
    ui.on_down(2 * 20 + 1, 2 * 16 + 1)
    ui.on_up(2 * 20 + 1, 2 * 16 + 1)
    small = int(ui.painter.hole.sum())
    assert small == 5  # radius 1: the pixel and its four neighbours
    ui.clear.click()
    assert not ui.painter.hole.any()
    ui.brush.value = 4
    assert ui.painter.brush == 4
    ui.on_down(2 * 20 + 1, 2 * 16 + 1)
    ui.on_up(2 * 20 + 1, 2 * 16 + 1)
    assert int(ui.painter.hole.sum()) == sum(1 for x in range(-4, 5) for y in range(-4, 5) if x * x + y * y <= 16)
    with pytest.raises(ValueError, match="scale"):
        inpaint_ui(ui.painter, scale=0)


# --- chapter 5: the StyleGAN explorer ----------------------------------------------------------


def tiny_stylegan(noise_strength: float = 0.5):
    """A 16 x 16 StyleGAN G (6 ws, 5 noise inputs) with visible noise and a nonzero w_avg: an untrained G
    has every noise strength at 0 (noise would change nothing) and w_avg = 0."""
    from synthlib.stylegan import NoiseInjection, StyleGANGenerator

    torch.manual_seed(0)
    G = StyleGANGenerator(StyleGANGenerator.Config(img_size=16, img_channels=1, z_dim=16, w_dim=16, n_mlp=2,
                                                   base_channels=8, max_channels=32))
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, NoiseInjection):
                m.strength.fill_(noise_strength)
        G.w_avg.copy_(G.mapping(torch.randn(64, 16)).mean(0) + 0.5 * torch.randn(16))
    return G


def stylegan_explorer(G=None, **kwargs):
    from synthlib.stylegan.stylegan_widget import StyleGANExplorer

    return StyleGANExplorer(tiny_stylegan() if G is None else G, **kwargs)


def seed_image(G, seed: int, psi: float = 1.0, noise_seed: int = 0) -> torch.Tensor:
    """G's picture of one seed, computed here without the explorer: the reference to compare with."""
    from synthlib.ui import latent_for_seed

    with torch.no_grad():
        w = G.truncate(G.mapping(latent_for_seed(seed, G.config.z_dim)[None]), psi)
        noise = G.make_noise(1, torch.Generator().manual_seed(noise_seed))
        return G.synthesis(w, noise=noise).clamp(-1, 1)[0]


def ex_z(seed: int) -> torch.Tensor:
    """Seed's z as a batch of one (1, 16)."""
    from synthlib.ui import latent_for_seed

    return latent_for_seed(seed, 16)[None]


def test_stylegan_explorer_crossover_takes_layers_from_each_seed() -> None:
    G = tiny_stylegan()
    ex = stylegan_explorer(G, seed_a=3, seed_b=7)
    assert ex.crossover == G.num_ws == 6 and ex.psi == 1.0  # default: no mixing
    a, b = seed_image(G, 3), seed_image(G, 7)
    assert (a - b).abs().mean() > 0.05, "the two seeds' pictures are too alike to tell apart"
    assert ex.image().shape == (1, 16, 16)
    torch.testing.assert_close(ex.image(), a, atol=1e-5, rtol=0)
    ex.set_crossover(0)
    torch.testing.assert_close(ex.image(), b, atol=1e-5, rtol=0)
    ex.set_crossover(3)
    mixed = ex.image()
    assert (mixed - a).abs().mean() > 1e-3 and (mixed - b).abs().mean() > 1e-3
    # ws: layers 0-2 are seed A's w, 3-5 seed B's
    ws = ex.ws()
    assert ws.shape == (6, 16)
    torch.testing.assert_close(ws[:3], G.mapping(ex_z(3))[0].expand(3, -1).detach())
    torch.testing.assert_close(ws[3:], G.mapping(ex_z(7))[0].expand(3, -1).detach())
    # images(): A, B and the current mix, all with the same noise
    shown = ex.images()
    assert list(shown) == ["A", "B", "mixed"]
    torch.testing.assert_close(shown["A"], a, atol=1e-5, rtol=0)
    torch.testing.assert_close(shown["B"], b, atol=1e-5, rtol=0)
    torch.testing.assert_close(shown["mixed"], mixed, atol=1e-5, rtol=0)
    assert ex.render().shape == (1, 16, 3 * 16 + 2 * 2)
    assert ex.mixing_text() == "layers 0-2 from seed A, 3-5 from seed B"
    ex.set_crossover(1)
    assert ex.mixing_text() == "layer 0 from seed A, 1-5 from seed B"
    ex.set_crossover(6)
    assert ex.mixing_text() == "all 6 layers from seed A (no mixing)"
    for bad in (-1, 7, 2.5):
        with pytest.raises(ValueError, match=r"crossover must be a whole number in 0\.\.6"):
            ex.set_crossover(bad)


def test_stylegan_explorer_seeds_change_the_picture() -> None:
    ex = stylegan_explorer(seed_a=0, seed_b=1)
    first = ex.images()
    ex.set_seed_a(5)
    second = ex.images()
    assert (second["A"] - first["A"]).abs().mean() > 0.01 and (second["mixed"] - first["mixed"]).abs().mean() > 0.01
    torch.testing.assert_close(second["B"], first["B"])
    ex.set_seed_b(9)
    assert (ex.images()["B"] - first["B"]).abs().mean() > 0.01
    for bad in (-1, 1.5, "x"):
        with pytest.raises(ValueError, match="seed A must be a whole number >= 0"):
            ex.set_seed_a(bad)


def test_stylegan_explorer_psi_zero_gives_the_average_image_for_every_seed() -> None:
    G = tiny_stylegan()
    ex = stylegan_explorer(G, seed_a=0, seed_b=1)
    full = ex.image()
    ex.set_psi(0.5)
    half = ex.image()
    assert (half - full).abs().mean() > 0.01, "psi did not change the picture"
    torch.testing.assert_close(half, seed_image(G, 0, psi=0.5), atol=1e-5, rtol=0)
    ex.set_psi(0.0)
    shown = ex.images()
    with torch.no_grad():
        average = G.synthesis(G.w_avg[None], noise=G.make_noise(1, torch.Generator().manual_seed(0))).clamp(-1, 1)[0]
    for name in ("A", "B", "mixed"):
        torch.testing.assert_close(shown[name], average, atol=1e-5, rtol=0)
    ex.set_seed_a(42)
    torch.testing.assert_close(ex.image(), average, atol=1e-5, rtol=0)
    torch.testing.assert_close(ex.ws(), G.w_avg.expand(6, -1))


def test_stylegan_explorer_psi_out_of_range_is_refused_with_a_helpful_message() -> None:
    ex = stylegan_explorer()
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"psi must be in \[0, 1\].*average image"):
            ex.set_psi(bad)
    assert ex.psi == 1.0  # unchanged
    with pytest.raises(ValueError, match=r"psi must be in \[0, 1\]"):
        stylegan_explorer(psi=2.0)


def test_stylegan_explorer_new_noise_keeps_the_ws() -> None:
    G = tiny_stylegan()
    ex = stylegan_explorer(G, seed_a=2, seed_b=4, crossover=2)
    ws, image = ex.ws(), ex.image()
    torch.testing.assert_close(ex.image(), image)  # a state always gives the same picture
    ex.resample_noise()
    assert ex.noise_seed == 1
    torch.testing.assert_close(ex.ws(), ws)
    assert (ex.image() - image).abs().mean() > 1e-3, "new noise did not change the picture"
    with torch.no_grad():  # without noise the two states are the same picture: only the noise changed
        before = G.synthesis(ws[None], noise_mode="none")
        after = G.synthesis(ex.ws()[None], noise_mode="none")
    torch.testing.assert_close(after, before)
    # with the noise strengths at 0 nothing changes: the difference above was the noise
    quiet = stylegan_explorer(tiny_stylegan(noise_strength=0.0), seed_a=2, seed_b=4, crossover=2)
    image = quiet.image()
    quiet.resample_noise()
    torch.testing.assert_close(quiet.image(), image)


def test_stylegan_explorer_without_targets_cannot_project() -> None:
    ex = stylegan_explorer()
    for call in (lambda: ex.project(10), ex.projection, lambda: ex.set_target(0)):
        with pytest.raises(ValueError, match="no real images to project.*targets="):
            call()
    targets = torch.zeros(2, 1, 16, 16)
    ex = stylegan_explorer(targets=targets)  # targets but no project_fn
    with pytest.raises(ValueError, match="no project_fn"):
        ex.project(10)
    with pytest.raises(ValueError, match="not been projected yet"):
        ex.projection()
    with pytest.raises(ValueError, match=r"target index must be in 0\.\.1"):
        ex.set_target(2)
    with pytest.raises(ValueError, match=r"targets must be real images shaped \(N, 1, 16, 16\)"):
        stylegan_explorer(targets=torch.zeros(2, 3, 16, 16))


def test_stylegan_explorer_projection_shows_the_found_w() -> None:
    G = tiny_stylegan()
    targets = torch.rand(3, 1, 16, 16) * 2 - 1
    z = torch.randn(1, 16, generator=torch.Generator().manual_seed(123))
    calls = []

    def project_fn(G_, target, steps):
        calls.append((target.clone(), steps, G_.training))
        return G_.mapping(z)  # (1, w_dim): the w of a fixed z, whatever the target

    G.train()
    ex = stylegan_explorer(G, targets=targets, project_fn=project_fn, noise_seed=5)
    assert ex.render().shape == (1, 16, 4 * 16 + 3 * 2)  # A | B | mixed | target
    ex.set_target(2)
    target, recon = ex.project(50)
    (got_target, steps, training), = calls
    torch.testing.assert_close(got_target, targets[2:3])
    assert steps == 50 and training is False and G.training  # eval while projecting, mode restored after
    torch.testing.assert_close(target, targets[2])
    with torch.no_grad():
        expected = G.synthesis(G.mapping(z), noise=G.make_noise(1, torch.Generator().manual_seed(5))).clamp(-1, 1)[0]
    torch.testing.assert_close(recon, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(ex.projection()[1], recon)
    panels = ex.panels()
    assert list(panels) == ["A", "B", "mixed", "target", "reconstruction"]
    torch.testing.assert_close(panels["reconstruction"], expected, atol=1e-5, rtol=0)
    assert ex.render().shape == (1, 16, 5 * 16 + 4 * 2)
    # another target has no projection yet; going back shows the one found
    ex.set_target(0)
    assert "reconstruction" not in ex.panels()
    ex.set_target(2)
    torch.testing.assert_close(ex.projection()[1], recon)
    # a ws (num_ws, w_dim) with a noise list is used as given
    ws = torch.randn(6, 16)
    noise = G.make_noise(1, torch.Generator().manual_seed(9))
    ex.project_fn = lambda G_, target, steps: (ws, noise)
    _, recon2 = ex.project(1)
    with torch.no_grad():
        torch.testing.assert_close(recon2, G.synthesis(ws[None], noise=noise).clamp(-1, 1)[0], atol=1e-5, rtol=0)
    ex.project_fn = lambda G_, target, steps: torch.zeros(5, 16)
    with pytest.raises(ValueError, match="project_fn must return one w"):
        ex.project(1)


def test_stylegan_ui_redraws_on_every_control() -> None:
    from synthlib.stylegan.stylegan_widget import StyleGANExplorerUI, stylegan_ui

    ui = stylegan_ui(stylegan_explorer(seed_a=0, seed_b=1), scale=2)
    assert isinstance(ui, StyleGANExplorerUI) and ui.target is None and ui.project is None
    assert ui.crossover.max == 6 and ui.crossover.value == 6 and ui.psi.value == 1.0
    png = ui.image.value
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert to_png(ui.explorer.render(), 2) == png
    assert "all 6 layers from seed A" in ui.caption.value

    ui.crossover.value = 3
    assert ui.explorer.crossover == 3
    assert ui.image.value != png, "moving the crossover slider did not redraw"
    assert "layers 0-2 from seed A, 3-5 from seed B" in ui.caption.value
    ui.seed_a.value = 4
    ui.seed_b.value = 8
    ui.psi.value = 0.5
    ui.new_noise.click()
    assert (ui.explorer.seed_a, ui.explorer.seed_b, ui.explorer.psi, ui.explorer.noise_seed) == (4, 8, 0.5, 1)
    assert to_png(ui.explorer.render(), 2) == ui.image.value
    assert "psi 0.50" in ui.caption.value and "noise seed 1" in ui.caption.value


def test_stylegan_ui_each_control_changes_the_picture() -> None:
    from synthlib.stylegan.stylegan_widget import stylegan_ui

    ui = stylegan_ui(stylegan_explorer(seed_a=0, seed_b=1, crossover=3))
    changes = [("seed A", lambda: setattr(ui.seed_a, "value", 4)), ("seed B", lambda: setattr(ui.seed_b, "value", 8)),
               ("psi", lambda: setattr(ui.psi, "value", 0.5)), ("new noise", ui.new_noise.click),
               ("crossover", lambda: setattr(ui.crossover, "value", 1))]
    for what, change in changes:
        before = ui.image.value
        change()
        assert ui.image.value != before, f"{what} did not change the picture"


def test_stylegan_explorer_switches_between_generators() -> None:
    """Course weights and this run's model in one explorer: the same seeds, psi and noise, the other generator."""
    from synthlib.stylegan.stylegan_widget import stylegan_ui

    G_a, G_b = tiny_stylegan(), tiny_stylegan()
    with torch.no_grad():
        for p in G_b.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ex = stylegan_explorer({"course weights": G_a, "this run": G_b}, seed_a=3, seed_b=5, psi=0.7)
    assert ex.model_name == "course weights" and ex.G is G_a
    assert torch.allclose(ex.images()["A"], seed_image(G_a, 3, 0.7), atol=1e-5)
    ex.set_model("this run")
    assert ex.G is G_b and (ex.seed_a, ex.psi) == (3, 0.7)
    assert torch.allclose(ex.images()["A"], seed_image(G_b, 3, 0.7), atol=1e-5)
    with pytest.raises(ValueError, match="no model 'other': this explorer has 'course weights', 'this run'"):
        ex.set_model("other")
    ui = stylegan_ui(ex, scale=2)
    assert ui.model is not None and ui.model.options == ("course weights", "this run") and ui.model.value == "this run"
    before = ui.image.value
    ui.model.value = "course weights"             # what clicking the switch does
    assert ex.G is G_a and ui.image.value != before and ui.caption.value.startswith("course weights: ")
    assert to_png(ex.render(), 2) == ui.image.value
    assert stylegan_ui(stylegan_explorer()).model is None     # one generator: no switch
    with pytest.raises(ValueError, match="draw different image shapes"):
        from synthlib.stylegan import StyleGANGenerator
        big = StyleGANGenerator(StyleGANGenerator.Config(img_size=32, img_channels=1, z_dim=16, w_dim=16, n_mlp=1,
                                                         base_channels=4, max_channels=16))
        stylegan_explorer({"a": G_a, "b": big})


def test_stylegan_ui_projects_the_chosen_target() -> None:
    from synthlib.stylegan.stylegan_widget import stylegan_ui

    G = tiny_stylegan()
    z = torch.randn(1, 16, generator=torch.Generator().manual_seed(1))
    seen = []

    def project_fn(G_, target, steps):
        seen.append(steps)
        return G_.mapping(z)

    ex = stylegan_explorer(G, targets=torch.rand(2, 1, 16, 16) * 2 - 1, project_fn=project_fn)
    ui = stylegan_ui(ex, scale=1, steps=7)
    assert ui.target.options == (("image 0", 0), ("image 1", 1)) and ui.steps.value == 7
    before = ui.image.value
    ui.target.value = 1
    assert ex.target_index == 1 and ui.image.value != before
    before = ui.image.value
    ui.project.click()
    assert seen == [7]
    assert ui.image.value != before and "target | reconstruction" in ui.caption.value
    assert to_png(ex.render(), 1) == ui.image.value
