"""Chapter 7's diffusion / flow explorer: the plain methods (class, guidance, steps, seed, position along
the reverse process) against synthlib.likelihood.generate, and the ipywidgets UI calling them, no browser."""

from __future__ import annotations

import pytest
import torch

from synthlib.data import FASHION_MNIST_CLASSES
from synthlib.likelihood import generate
from synthlib.likelihood.diffusion_widget import DiffusionExplorer, DiffusionExplorerUI, _image_grid, diffusion_ui
from synthlib.likelihood.networks import DiffusionUNet
from synthlib.ui import to_png

PROCESSES = ["diffusion", "flow"]


def tiny_unet(process: str, num_classes: int = 10) -> DiffusionUNet:
    """A tiny untrained DiffusionUNet whose output is not zero: the zero-initialised output convolution
    would make every prediction 0 (no class, guidance or step would change anything)."""
    torch.manual_seed(0)
    model = DiffusionUNet(DiffusionUNet.Config(channels=(8, 16), patch=2, num_classes=num_classes, process=process))
    with torch.no_grad():
        model.out.weight.normal_(0.0, 0.1)
        model.out.bias.normal_(0.0, 0.1)
    # eval mode, as the explorer samples: MultiheadAttention takes its fused path there, which rounds
    # differently from the training path, and the comparisons with generate() below are exact.
    return model.eval()


def seed_noise(seed: int, n: int = 8) -> torch.Tensor:
    return torch.randn((n, 1, 28, 28), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("process", PROCESSES)
def test_position_zero_is_the_seeds_noise_and_the_end_is_generate(process: str) -> None:
    model = tiny_unet(process)
    ex = DiffusionExplorer(model, FASHION_MNIST_CLASSES, label=3, guidance=1.5, steps=6, seed=5)
    assert (ex.label, ex.guidance, ex.steps, ex.seed) == (3, 1.5, 6, 5)
    assert ex.position == ex.max_position == 6, "the explorer starts on the final images"
    final = ex.images()
    labels = torch.full((8,), 3, dtype=torch.long)
    expected = generate(model, seed_noise(5), labels, steps=6, guidance=1.5)
    assert torch.equal(final, expected), "the final position is not what generate() makes of the same noise"
    assert float((final - seed_noise(5).clamp(-1, 1)).abs().mean()) > 0.05, "the model did nothing: the test is blind"

    ex.set_position(0)
    assert torch.equal(ex.state(), seed_noise(5)), "position 0 is not the seed's noise"
    assert torch.equal(ex.noise(), seed_noise(5))
    assert torch.equal(ex.image(), _image_grid(torch.stack([seed_noise(5).clamp(-1, 1), ex.prediction()])))

    # Every state is generate()'s trajectory; each picture is states | predictions, 28 px with 2 px gaps.
    states = generate(model, seed_noise(5), labels, steps=6, guidance=1.5, trajectory=True)
    assert len(ex.trajectory()) == len(states) == 7
    for i, state in enumerate(states):
        ex.set_position(i)
        assert torch.equal(ex.state(), state)
        assert ex.image().shape == (1, 2 * 28 + 2, 8 * 28 + 7 * 2)


@pytest.mark.parametrize("process", PROCESSES)
def test_prediction_one_step_before_the_end_is_the_final_image(process: str) -> None:
    """The predicted final image is what the last step jumps to: DDIM's last step (abar_prev = 1) returns the
    predicted x0, Euler's last step is x + (1 - t) v. At the last position it is the final image itself."""
    ex = DiffusionExplorer(tiny_unet(process), label=2, guidance=1.0, steps=5, seed=1)
    final = ex.images()
    ex.set_position(4)
    torch.testing.assert_close(ex.prediction(), final, atol=1e-6, rtol=0)
    ex.set_position(1)
    assert float((ex.prediction() - final).abs().mean()) > 1e-3, "the prediction from an early state is the result"
    assert ex.prediction().abs().max() <= 1.0
    ex.set_position(5)
    assert torch.equal(ex.prediction(), final)
    ex.show_prediction = False
    assert torch.equal(ex.image(), _image_grid(final[None]))


@pytest.mark.parametrize("process", PROCESSES)
def test_guidance_class_and_seed_change_the_final_images(process: str) -> None:
    ex = DiffusionExplorer(tiny_unet(process), FASHION_MNIST_CLASSES, label=1, steps=4, seed=0)
    plain = ex.images()
    ex.set_guidance(3.0)
    guided_images = ex.images()
    assert float((guided_images - plain).abs().mean()) > 1e-3, "guidance did not change the final images"
    ex.set_class("Bag")
    assert ex.label == 8 and float((ex.images() - guided_images).abs().mean()) > 1e-3
    ex.set_seed(9)
    assert float((ex.images() - plain).abs().mean()) > 1e-3
    # No class: the null label; guidance then has no effect (cond = uncond) and is left out.
    ex.set_class("none")
    assert ex.label is None and ex.effective_guidance == 0.0
    null = torch.full((8,), 10, dtype=torch.long)
    assert torch.equal(ex.images(), generate(ex.model, seed_noise(9), null, steps=4))
    no_guidance = ex.images()
    ex.set_guidance(0.0)
    assert torch.equal(ex.images(), no_guidance)
    assert "no class" in ex.text()


@pytest.mark.parametrize("process", PROCESSES)
def test_moving_the_position_does_not_sample_again(process: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import synthlib.likelihood

    calls = []
    real = synthlib.likelihood.generate

    def counting(*args, **kwargs):
        calls.append(kwargs.get("steps"))
        return real(*args, **kwargs)

    monkeypatch.setattr(synthlib.likelihood.diffusion, "generate", counting)
    ex = DiffusionExplorer(tiny_unet(process), steps=6)
    assert calls == [6], "the constructor should sample once"
    for i in (0, 3, 6, 2):
        ex.set_position(i)
        ex.image()
    assert calls == [6], "moving the position sampled again"
    ex.set_guidance(1.0)
    ex.set_guidance(0.0)  # back to a cached trajectory
    ex.set_steps(6)
    assert calls == [6, 6]


@pytest.mark.parametrize("process", PROCESSES)
def test_position_range_follows_the_steps(process: str) -> None:
    ex = DiffusionExplorer(tiny_unet(process), steps=10)
    assert ex.max_position == 10 and ex.position == 10
    ex.set_steps(4)
    assert ex.max_position == 4 and ex.position == 4, "the final images should stay final"
    ex.set_position(2)
    ex.set_steps(8)
    assert ex.max_position == 8 and ex.position == 4, "the position should keep its place in the process"
    ex.set_position(0)
    ex.set_steps(3)
    assert ex.position == 0
    with pytest.raises(ValueError, match="position must be a whole number in 0..3"):
        ex.set_position(4)

    ui = diffusion_ui(ex, scale=1)
    assert ui.position.max == 3 and ui.position.value == 0
    ui.position.value = 3
    ui.steps.value = 12
    assert ex.steps == 12 and ui.position.max == 12 and ui.position.value == 12 == ex.position
    ui.position.value = 6
    ui.steps.value = 2
    assert ui.position.max == 2 and ui.position.value == 1 == ex.position
    assert to_png(ex.image(), 1) == ui.image.value


def test_bad_input_raises_a_clear_error() -> None:
    ex = DiffusionExplorer(tiny_unet("diffusion"), FASHION_MNIST_CLASSES, steps=3)
    with pytest.raises(ValueError, match=r"class must be in 0..9"):
        ex.set_class(10)
    with pytest.raises(ValueError, match=r"class must be in 0..9"):
        ex.set_class(-1)
    with pytest.raises(ValueError, match=r"class must be in 0..9"):
        ex.set_class("Hat")
    with pytest.raises(ValueError, match="guidance w must be a number >= 0"):
        ex.set_guidance(-0.5)
    with pytest.raises(ValueError, match="steps must be a whole number >= 1"):
        ex.set_steps(0)
    with pytest.raises(ValueError, match="at most the model's 1000 diffusion steps"):
        ex.set_steps(1001)
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        ex.set_seed(-1)
    with pytest.raises(ValueError, match="position must be"):
        ex.set_position(-1)
    assert (ex.label, ex.guidance, ex.steps, ex.seed, ex.position) == (0, 0.0, 3, 0, 3), "a bad value changed the state"
    with pytest.raises(ValueError, match="class must be in"):
        DiffusionExplorer(tiny_unet("flow"), label=12)
    with pytest.raises(ValueError, match="steps must be"):
        DiffusionExplorer(tiny_unet("flow"), steps=0)
    with pytest.raises(ValueError, match="3 class names for a model with 10 classes"):
        DiffusionExplorer(tiny_unet("flow"), ["a", "b", "c"])
    with pytest.raises(ValueError, match="sampler 'euler' does not apply to a diffusion model"):
        DiffusionExplorer(tiny_unet("diffusion"), sampler="euler")
    with pytest.raises(ValueError, match="needs a DiffusionUNet"):
        DiffusionExplorer(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("process", PROCESSES)
def test_unconditional_model(process: str) -> None:
    model = tiny_unet(process, num_classes=0)
    ex = DiffusionExplorer(model, steps=4, seed=2)
    assert ex.label is None and ex.labels() is None
    assert torch.equal(ex.images(), generate(model, seed_noise(2), steps=4))
    with pytest.raises(ValueError, match="unconditional"):
        ex.set_class(1)
    with pytest.raises(ValueError, match="guidance needs a class-conditional model"):
        ex.set_guidance(1.0)
    ui = diffusion_ui(ex)
    assert ui.label.disabled and ui.guidance.disabled and ui.label.value == "none"


def test_ddpm_sampler_repeats_with_the_seed() -> None:
    model = tiny_unet("diffusion")
    a = DiffusionExplorer(model, sampler="ddpm", steps=5, seed=3).images()
    b = DiffusionExplorer(model, sampler="ddpm", steps=5, seed=3).images()
    assert torch.equal(a, b)


@pytest.mark.parametrize("process", PROCESSES)
def test_ui_controls_call_the_explorer_and_redraw(process: str) -> None:
    ex = DiffusionExplorer(tiny_unet(process), FASHION_MNIST_CLASSES, steps=6)
    ui = diffusion_ui(ex, scale=2)
    assert isinstance(ui, DiffusionExplorerUI)
    assert ui.label.options[0] == ("none (unconditional)", "none") and ui.label.options[1] == ("T-shirt/top", 0)
    assert (ui.label.value, ui.guidance.value, ui.steps.value, ui.seed.value) == (0, 0.0, 6, 0)
    assert (ui.guidance.min, ui.guidance.max, ui.steps.min, ui.steps.max) == (0.0, 5.0, 2, 100)
    assert ui.position.value == ui.position.max == 6
    png = ui.image.value
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and to_png(ex.image(), 2) == png
    assert "T-shirt/top" in ui.caption.value and "position 6 of 6" in ui.caption.value

    changes = [("position", lambda: setattr(ui.position, "value", 2), lambda: ex.position == 2),
               ("guidance", lambda: setattr(ui.guidance, "value", 2.5), lambda: ex.guidance == 2.5),
               ("class", lambda: setattr(ui.label, "value", 7), lambda: ex.label == 7),
               ("seed", lambda: setattr(ui.seed, "value", 11), lambda: ex.seed == 11),
               ("steps", lambda: setattr(ui.steps, "value", 9), lambda: ex.steps == 9),
               ("no class", lambda: setattr(ui.label, "value", "none"), lambda: ex.label is None),
               ("prediction off", lambda: setattr(ui.show_prediction, "value", False), lambda: not ex.show_prediction)]
    for what, change, done in changes:
        before = ui.image.value
        change()
        assert done(), f"{what}: the explorer's state did not follow the widget"
        assert ui.image.value != before, f"{what} did not change the picture"
        assert to_png(ex.image(), 2) == ui.image.value, f"{what}: the picture is not the explorer's"
    assert "no class" in ui.caption.value and "seed 11" in ui.caption.value and "9 steps" in ui.caption.value


def test_sampling_runs_in_eval_mode_and_restores_the_models_mode() -> None:
    model = tiny_unet("flow").train()
    ex = DiffusionExplorer(model, steps=3)
    ex.set_position(1)
    ex.prediction()
    assert all(m.training for m in model.modules()), "the explorer left the model in eval mode"
    ex.set_position(3)
    assert torch.equal(ex.images(), DiffusionExplorer(tiny_unet("flow"), steps=3).images())
