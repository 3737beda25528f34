"""The shared training loop: phases, EMA, checkpoints, exact resume, NaN handling."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from synthlib.core import checkpoint as ckpt_io
from synthlib.core.registry import register
from synthlib.core.train import (
    EMA,
    Callback,
    NonFiniteLossError,
    Phase,
    Trainer,
    autocast_dtype,
    cosine_decay,
    pick_device,
)
from synthlib.data import Ring2D, ToyBatches
from synthlib.gan import losses


@register
class TinyMLP(nn.Module):
    @dataclass
    class Config:
        in_dim: int = 2
        out_dim: int = 2
        hidden: int = 16

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.net = nn.Sequential(nn.Linear(config.in_dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, config.out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass
class RunConfig:
    z_dim: int = 4
    lr: float = 1e-3


def make_trainer(tmp_path, *, checkpoint_every=0, seed=0, nan_at=None, r1_every=2, lr_scale=None):
    """A complete little GAN run: D step, R1 every `r1_every` steps, G step, EMA."""
    torch.manual_seed(seed)
    cfg = RunConfig()
    G = TinyMLP(TinyMLP.Config(in_dim=cfg.z_dim))
    D = TinyMLP(TinyMLP.Config(out_dim=1))
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(0.5, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(0.5, 0.99))
    calls = {"step": 0}

    def d_step(real, scratch):
        z = torch.randn(real.shape[0], cfg.z_dim, device=real.device)
        scratch["fake"] = fake = G(z)
        loss = losses.d_logistic_loss(D(real).flatten(), D(fake.detach()).flatten())
        calls["step"] += 1
        if nan_at is not None and calls["step"] == nan_at + 1:
            loss = loss * float("nan")
        return loss

    def d_reg(real, scratch):
        real = real.detach().requires_grad_(True)
        return 0.5 * losses.r1_penalty(real, D(real).flatten()) * r1_every

    def g_step(real, scratch):
        return losses.g_nonsaturating_loss(D(scratch["fake"]).flatten())

    phases = [
        Phase("D", d_step, opt_d),
        Phase("D_r1", d_reg, opt_d, every=r1_every, fp32=True),
        Phase("G", g_step, opt_g, freeze=[D], lr_scale=lr_scale),
    ]
    return Trainer(
        models={"G": G, "D": D}, phases=phases, data=ToyBatches(Ring2D(), batch_size=32, seed=seed),
        config=cfg, kind="test-gan", ema=EMA(G, half_life_img=500), device="cpu",
        run_dir=tmp_path, checkpoint_every=checkpoint_every, log_every=3, progress=False,
    )


def all_weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.clone() for n, m in trainer._all_models().items() for k, v in m.state_dict().items()}


def test_resume_matches_uninterrupted_run_exactly(tmp_path):
    straight = make_trainer(tmp_path / "a")
    straight.fit(20)

    first = make_trainer(tmp_path / "b", checkpoint_every=7)
    first.fit(9)  # stopped after step 9 (its last checkpoint is written then)
    assert (tmp_path / "b" / "checkpoint.pt").exists()
    # A fresh process would rebuild everything with a different RNG state; simulate that.
    torch.manual_seed(1234)
    resumed = make_trainer(tmp_path / "b", checkpoint_every=7, seed=0)
    resumed.load()
    assert resumed.step == 9
    resumed.fit(20)

    a, b = all_weights(straight), all_weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert straight.history["G/loss"]["value"] == resumed.history["G/loss"]["value"]


def test_cosine_decay_holds_then_falls_to_its_final_fraction():
    f = cosine_decay(10, final=0.1, warmup=2, start=4)
    assert [f(0), f(1)] == [0.5, 1.0]  # linear warm-up
    assert f(2) == f(3) == f(4) == 1.0  # held until `start`
    values = [f(s) for s in range(4, 11)]
    assert all(a > b for a, b in zip(values, values[1:]))  # then strictly falling
    assert abs(f(7) - 0.55) < 1e-9  # half-way: the mean of 1 and final
    assert f(10) == f(50) == pytest.approx(0.1)
    n = {"steps": 10}
    g = cosine_decay(lambda: n["steps"], final=0.0)
    assert g(5) == pytest.approx(0.5)
    n["steps"] = 20  # a budget set later is read at each step
    assert g(10) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="final"):
        cosine_decay(10, final=1.5)


def test_lr_schedule_sets_the_rate_and_a_resumed_run_follows_it_exactly(tmp_path):
    schedule = cosine_decay(20, final=0.01, start=5)
    straight = make_trainer(tmp_path / "a", lr_scale=schedule)
    straight.fit(12)
    opt_g = straight.phases[-1].optimizer
    assert opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 * schedule(11))  # the rate of the last step taken
    assert straight.phases[0].optimizer.param_groups[0]["lr"] == 1e-3  # a phase without a schedule keeps its rate
    straight.fit(20)

    first = make_trainer(tmp_path / "b", checkpoint_every=100, lr_scale=schedule)
    first.fit(9)
    first.save()
    resumed = make_trainer(tmp_path / "b", lr_scale=schedule)
    resumed.load()
    resumed.fit(20)
    a, b = all_weights(straight), all_weights(resumed)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_phases_run_on_their_schedule_and_history_is_recorded(tmp_path):
    trainer = make_trainer(tmp_path, r1_every=4)
    history = trainer.fit(12)
    assert history["D/loss"]["step"] == list(range(12))
    assert history["D_r1/loss"]["step"] == [0, 4, 8]
    assert trainer.num_img == 12 * 32


def test_frozen_module_gets_no_gradient(tmp_path):
    trainer = make_trainer(tmp_path)
    D = trainer.models["D"]
    seen = []
    g_phase = trainer.phases[-1]
    inner = g_phase.loss

    def spy(batch, scratch):
        seen.append([p.requires_grad for p in D.parameters()])
        return inner(batch, scratch)

    g_phase.loss = spy
    trainer.fit(2)
    assert seen and not any(any(flags) for flags in seen)
    assert all(p.requires_grad for p in D.parameters())  # restored after the step


def test_nan_loss_stops_with_step_and_phase_and_keeps_last_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, checkpoint_every=1, nan_at=5)
    with pytest.raises(NonFiniteLossError, match=r"D/loss became nan at step 5"):
        trainer.fit(20)
    saved = ckpt_io.load(tmp_path / "checkpoint.pt", kind="test-gan")
    assert saved["step"] == 5
    for entry in saved["models"].values():
        assert all(torch.isfinite(t).all() for t in entry["state"].values())


def test_checkpoint_is_safe_and_rebuilds_models(tmp_path):
    trainer = make_trainer(tmp_path, checkpoint_every=5)
    trainer.fit(5)
    raw = torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # no pickled code
    assert raw["step"] == 5 and raw["config"] == {"z_dim": 4, "lr": 1e-3}
    assert set(raw["optimizers"]) == {"D", "G"}  # D and D_r1 share one optimizer
    models = ckpt_io.load_models(tmp_path / "checkpoint.pt", kind="test-gan")
    z = torch.randn(8, 4)
    with torch.no_grad():
        assert torch.equal(models["G_ema"](z), trainer.ema.model(z))
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left nothing behind


def test_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(ckpt_io.CheckpointError, match="does not exist"):
        ckpt_io.load(tmp_path / "missing.pt")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ckpt_io.CheckpointError, match="is a text file, not a synthlib checkpoint"):
        ckpt_io.load(tmp_path / "notes.txt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(ckpt_io.CheckpointError, match="not a synthlib checkpoint"):
        ckpt_io.load(tmp_path / "plain.pt")
    trainer = make_trainer(tmp_path)
    trainer.save()
    with pytest.raises(ckpt_io.CheckpointError, match="'test-gan' checkpoint, but a 'dcgan'"):
        ckpt_io.load(tmp_path / "checkpoint.pt", kind="dcgan")


def test_ema_half_life_in_images():
    src = nn.Linear(1, 1, bias=False)
    ema = EMA(src, half_life_img=64, rampup=None)
    with torch.no_grad():
        src.weight.fill_(1.0)
        ema.model.weight.fill_(0.0)
    for _ in range(8):  # 8 steps x 8 images = one half-life
        ema.update(batch_size=8, num_img=10_000)
    assert ema.model.weight.item() == pytest.approx(0.5, abs=1e-6)
    assert EMA(src, 1000, rampup=0.05).beta(10, num_img=100) == pytest.approx(0.5 ** (10 / 5))


def test_callbacks_run_on_schedule_and_at_the_end(tmp_path):
    trainer = make_trainer(tmp_path)
    steps = []
    trainer.callbacks.append(Callback(every=4, fn=lambda t: steps.append(t.step)))
    trainer.fit(10)
    assert steps == [4, 8, 10]


def test_device_and_precision_choice():
    assert pick_device("cpu").type == "cpu"
    assert autocast_dtype(torch.device("cpu")) is None  # CPU trains in fp32 by default
    if not torch.cuda.is_available():
        assert pick_device("auto").type in ("cpu", "mps")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="'precision'"):
        autocast_dtype(torch.device("cpu"), "fp8")


# ----------------------------------------------------------------------------------------------
# One recipe shape: Recipe + the run's settings, optimisers named by their models, fit by time
# ----------------------------------------------------------------------------------------------


def test_optimisers_are_named_by_their_models_so_phase_order_does_not_matter(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.fit(4)
    trainer.save()
    again = make_trainer(tmp_path)
    again.phases = [again.phases[2], again.phases[0], again.phases[1]]  # G first: the old names would swap
    again._optimizers = again._name_optimizers()
    assert set(again._optimizers) == {"G", "D"}
    assert again._optimizers["G"] is trainer_opt(again, "G")
    again.load()
    for name in ("G", "D"):  # each optimiser got its own moments back, not the other's
        saved = trainer._optimizers[name].state_dict()["state"]
        loaded = again._optimizers[name].state_dict()["state"]
        torch.testing.assert_close(loaded[0]["exp_avg"], saved[0]["exp_avg"])


def trainer_opt(trainer: Trainer, model: str) -> torch.optim.Optimizer:
    params = {id(p) for p in trainer.models[model].parameters()}
    return next(p.optimizer for p in trainer.phases if id(p.optimizer.param_groups[0]["params"][0]) in params)


def test_checkpoint_keyed_by_phase_names_still_resumes(tmp_path):
    """Checkpoints written before optimisers were named by models keyed them by the first phase of each."""
    trainer = make_trainer(tmp_path)
    trainer.fit(4)
    state = trainer.state_dict()
    assert set(state["optimizers"]) == {"G", "D"}
    state["optimizers"] = {"D": state["optimizers"]["D"], "G": state["optimizers"]["G"]}  # phases D, D_r1, G
    # a model named differently from its first phase, as the VAE ("G", phase "elbo") has
    net = TinyMLP(TinyMLP.Config())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    vae_like = Trainer(models={"G": net}, phases=[Phase("elbo", lambda b, s: net(b).square().mean(), opt)],
                       data=ToyBatches(Ring2D(), batch_size=8, seed=0), kind="test-elbo", device="cpu",
                       run_dir=tmp_path / "elbo", progress=False)
    vae_like.fit(2)
    old = vae_like.state_dict()
    old["optimizers"] = {"elbo": old["optimizers"]["G"]}
    ckpt_io.save_atomic(old, tmp_path / "elbo" / "checkpoint.pt")
    vae_like.load()
    assert vae_like.step == 2
    old["optimizers"] = {"something_else": old["optimizers"]["elbo"]}
    ckpt_io.save_atomic(old, tmp_path / "elbo" / "checkpoint.pt")
    with pytest.raises(ckpt_io.CheckpointError, match="optimisers"):
        vae_like.load()


def test_fit_by_time_alone_reports_what_it_did(tmp_path):
    trainer = make_trainer(tmp_path)
    with pytest.raises(ValueError, match="num_steps or max_seconds"):
        trainer.fit()
    done = trainer.fit(max_seconds=0.0)  # at least one step, then out of time
    assert done.steps == trainer.step == 1 and done.images == 32 and done.seconds >= 0
    more = trainer.fit(5)
    assert more.steps == 4 and more.images == 4 * 32 and trainer.step == 5
    assert "D/loss" in more and more is not trainer.history  # the history, as a dict, plus the counts


def test_every_family_takes_the_run_settings_the_same_way(tmp_path):
    import inspect

    from synthlib.core.train import RUN_SETTINGS, Recipe
    from synthlib.gan import gan_trainer
    from synthlib.likelihood import denoiser_trainer, vae_trainer
    from synthlib.restoration import inpaint_trainer, sr_trainer
    from synthlib.style import adain_trainer, fast_style_trainer
    from synthlib.stylegan import stylegan_trainer
    from synthlib.translation import cyclegan_trainer, pix2pix_trainer

    for factory in (gan_trainer, stylegan_trainer, pix2pix_trainer, cyclegan_trainer, fast_style_trainer,
                    adain_trainer, inpaint_trainer, sr_trainer, vae_trainer, denoiser_trainer):
        params = inspect.signature(factory).parameters
        assert any(p.kind is p.VAR_KEYWORD for p in params.values()), factory.__name__
        assert not set(params) & set(RUN_SETTINGS), f"{factory.__name__} re-lists run settings"
    # a setting only some factories used to pass on reaches the loop; a typo is an error
    from synthlib.gan import GANConfig
    from synthlib.gan.mlp import MLPDiscriminator, MLPGenerator

    G, D = MLPGenerator(MLPGenerator.Config(z_dim=2)), MLPDiscriminator(MLPDiscriminator.Config())
    t = gan_trainer(G, D, ToyBatches(Ring2D(), 8), GANConfig(z_dim=2), kind="toy-gan", device="cpu",
                    channels_last=False, progress=False, log_every=1)
    assert t.channels_last is False and t.log_every == 1
    with pytest.raises(TypeError, match="unknown run setting.*'chanels_last'"):
        gan_trainer(G, D, ToyBatches(Ring2D(), 8), GANConfig(z_dim=2), kind="toy-gan", chanels_last=False)
    # a recipe's precision requirement wins over the run's; frozen networks are placed like the models
    vgg_like = nn.Conv2d(3, 3, 1)
    recipe = Recipe(models={"G": G}, phases=[], data=iter([]), config=None, kind="k", frozen=[vgg_like],
                    precision="fp32")
    t = Trainer.from_recipe(recipe, device="cpu", precision="bf16", channels_last=True, progress=False)
    assert t.amp_dtype is None and vgg_like.weight.is_contiguous(memory_format=torch.channels_last)
    assert t.model("G") is G
    with pytest.raises(KeyError, match="no model 'G_ema'"):
        t.model("G_ema")
