"""The live view (synthlib.core.live): its frame is a plain function of a trainer, it redraws only when a person
watches (JupyterLab), its drawing stays under its share of the training time, and papermill/nbval get one frame."""

from __future__ import annotations

import torch

from synthlib.core import live as live_mod
from synthlib.core.live import LiveView, pair_preview, samples_preview
from synthlib.data.batches import TensorBatches
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.gan.phases import GANConfig, gan_trainer


def tiny_gan(seed: int = 0):
    torch.manual_seed(seed)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=8, img_size=28, img_channels=1, base_channels=4))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=28, img_channels=1, base_channels=4))
    data = TensorBatches(torch.rand(64, 1, 28, 28) * 2 - 1, batch_size=8, seed=seed)
    cfg = GANConfig(z_dim=8, batch_size=8, lr_g=2e-3, lr_d=2e-3, ema_half_life_img=50)
    return gan_trainer(G, D, data, cfg, kind="dcgan", device="cpu", progress=False, log_every=1)


def decode(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32)


def test_the_frame_shows_the_preview_the_losses_and_the_status():
    trainer = tiny_gan()
    view = LiveView(samples_preview(8, seed=3), keys=["D/loss", "G/loss"], title="tiny DCGAN", live=False)
    view.attach(trainer)
    trainer.fit(num_steps=4)
    assert view.draws == 1  # not live: the final frame only
    fig = view.figure(trainer)
    grid, curves = fig.axes
    assert grid.get_title() == "fixed-seed preview" and grid.images  # the sample grid is drawn
    assert len(curves.get_lines()) == 2  # one curve per key
    title = fig._suptitle.get_text()
    assert title.startswith("tiny DCGAN: step 4 |") and "img/s" in title and "done in" in title, title
    first = decode(view.png(trainer))
    assert first.std() > 5  # not a blank picture
    trainer.fit(num_steps=12)  # the same fixed-seed preview, from a model that trained more: a new picture
    assert view.draws == 2 and abs(decode(view.png(trainer)) - first).mean() > 0.5


def test_the_status_line_counts_down_a_time_or_step_budget():
    trainer = tiny_gan()
    view = LiveView(live=False)
    trainer.fit(num_steps=2)
    trainer.finishing = False  # as during a fit of 10 steps
    trainer.fit_info = {**trainer.fit_info, "num_steps": 10}
    assert view.status(trainer).startswith("step 2 |") and "s left" in view.status(trainer)
    trainer.fit_info = {**trainer.fit_info, "num_steps": None, "max_seconds": 3600}
    left = float(view.status(trainer).split("|")[-1].split()[0].replace(",", ""))
    assert 3500 < left <= 3600


def test_drawing_takes_at_most_its_share_of_the_training_time(monkeypatch):
    """A fake clock: each step takes 0.1 s and each frame 1 s. Live, with no minimum gap, the view still redraws
    (many frames) while keeping drawing under max_share of the elapsed time (plus the frame in progress)."""
    clock = {"t": 0.0}
    monkeypatch.setattr(live_mod.time, "perf_counter", lambda: clock["t"])

    class FakeTrainer:
        step, num_img, history, emas, models, callbacks, finishing = 0, 0, {}, {}, {}, [], False
        fit_info = {"start": 0.0, "first_step": 0, "first_img": 0, "num_steps": None, "max_seconds": 600}

        def _flush(self):
            return {}

    view = LiveView(every_s=0.0, max_share=0.05, live=True)

    def slow_png(trainer):
        clock["t"] += 1.0
        return b""

    monkeypatch.setattr(view, "png", slow_png)
    trainer = FakeTrainer()
    for _ in range(6000):  # 600 s of training
        clock["t"] += 0.1
        trainer.step += 1
        view(trainer)
    assert view.draws > 10  # it does redraw while training
    assert view.draw_seconds <= 0.05 * clock["t"] + 1.0, (view.draw_seconds, clock["t"])
    assert view.draw_seconds >= 0.05 * (clock["t"] - view.draw_seconds) - 2.0  # and uses its share, not far less


def test_a_live_view_pays_matplotlibs_start_before_training_and_not_in_its_share(monkeypatch):
    """Live, the view renders a small frame when it is made (matplotlib's one-off start), shows nothing and charges
    nothing to the throttle, so the first real frame costs what later ones do; unattended, it does not warm up."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a))
    view = LiveView(samples_preview(4, seed=0), live=True)
    assert view.warmup_seconds > 0 and view.draws == 0 and view.draw_seconds == 0.0 and view._next == 0.0
    assert shown == [] and view._handle is None
    assert LiveView(live=False).warmup_seconds == 0.0


def test_unattended_kernels_are_not_live(monkeypatch):
    monkeypatch.setenv("SYNTHLIB_LIVE", "1")
    assert live_mod.is_interactive()
    monkeypatch.setenv("SYNTHLIB_LIVE", "0")
    assert not live_mod.is_interactive()
    monkeypatch.delenv("SYNTHLIB_LIVE")
    assert not live_mod.is_interactive()  # pytest: no kernel
    assert not live_mod.parent_is_server()  # pytest's parent is a shell or make, not a Jupyter server
    lab = ["/venv/bin/python", "/venv/bin/jupyter-lab", "--no-browser", "--notebook-dir=/tmp/pytest-of-me/lab0"]
    assert live_mod.server_cmdline(lab)  # the folder's name does not matter, the program does
    assert live_mod.server_cmdline(["/usr/bin/python3.11", "-m", "jupyterlab", "--port=8888"])
    assert live_mod.server_cmdline(["/opt/conda/bin/jupyter-lab"])
    assert not live_mod.server_cmdline(["/venv/bin/python", "/venv/bin/papermill", "jupyter-lab.ipynb", "o.ipynb"])
    assert not live_mod.server_cmdline(["python", "-m", "pytest", "notebooks", "--nbval-lax"])
    assert not live_mod.server_cmdline(["/venv/bin/python", "/venv/bin/jupyter-nbconvert", "--execute", "ch.ipynb"])
    assert not live_mod.server_cmdline([])


def test_a_pair_preview_shows_inputs_outputs_and_targets_as_rows():
    net = torch.nn.Conv2d(3, 3, 1)
    trainer = type("T", (), {"emas": {}, "models": {"G": net}, "model": lambda self, name: net})()
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    rows = pair_preview(x, lambda m, inp: m(inp), targets=x.flip(0))(trainer)
    assert rows.shape == (6, 3, 8, 8) and torch.equal(rows[:2], x) and torch.equal(rows[4:], x.flip(0))
    assert float(rows.abs().max()) <= 1.0 and net.training  # clamped; the net's mode restored


def test_a_pair_preview_enlarges_inputs_smaller_than_the_output():
    net = torch.nn.Upsample(scale_factor=2)
    net.register_parameter("w", torch.nn.Parameter(torch.zeros(1)))  # a device to read
    trainer = type("T", (), {"emas": {}, "models": {"G": net}, "model": lambda self, name: net})()
    low = torch.rand(3, 1, 4, 4) * 2 - 1
    rows = pair_preview(low, lambda m, x: m(x))(trainer)
    assert rows.shape == (6, 1, 8, 8) and torch.equal(rows[:3], rows[3:])  # nearest x2 both ways
