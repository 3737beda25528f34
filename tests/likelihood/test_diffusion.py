"""Chapter 7's maths against definitions, a reference library (diffusers) and exact cases."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from synthlib import likelihood as dm
from synthlib.data import TensorBatches
from synthlib.likelihood.networks import ConvVAE, DiffusionUNet, timestep_embedding

diffusers = pytest.importorskip("diffusers")  # a dev dependency (pyproject): the reference schedulers


def tiny_unet(process="diffusion", num_classes=10, seed=0, **kw) -> DiffusionUNet:
    torch.manual_seed(seed)
    m = DiffusionUNet(DiffusionUNet.Config(channels=(8, 16), patch=2, num_classes=num_classes, process=process, **kw))
    nn.init.normal_(m.out.weight, std=0.1)  # the output conv starts at zero; give it something to say
    return m.eval()


# ---------------------------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("ours, theirs", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
def test_schedules_match_diffusers(ours, theirs):
    sched = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=theirs)
    mine = dm.NoiseSchedule.of(ours, 1000)
    torch.testing.assert_close(mine.betas.float(), sched.betas.float(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(mine.alpha_bar.float(), sched.alphas_cumprod.float(), rtol=1e-4, atol=1e-6)
    assert mine.alpha_bar[-1] < 1e-3 < 0.99 < mine.alpha_bar[0]  # from nearly clean to nearly pure noise


def test_q_sample_matches_diffusers_add_noise():
    sched = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    mine = dm.NoiseSchedule.of("cosine", 1000)
    x0, noise = torch.rand(5, 1, 4, 4) * 2 - 1, torch.randn(5, 1, 4, 4)
    t = torch.tensor([0, 10, 400, 800, 999])
    torch.testing.assert_close(dm.q_sample(x0, t, noise, mine), sched.add_noise(x0, noise, t), rtol=1e-4, atol=1e-5)


def test_closed_form_forward_process_equals_iterating_it():
    """q(x_t | x_0) = N(sqrt(ab_t) x_0, (1 - ab_t) I): the moments of 40,000 step-by-step chains agree."""
    sched = dm.NoiseSchedule.of("linear", 1000)
    x0 = torch.tensor([-0.9, -0.2, 0.4, 1.0], dtype=torch.float64).repeat(40_000, 1)  # 4 "pixels", many chains
    steps = 300
    xt = dm.q_iterate(x0, steps, sched, generator=torch.Generator().manual_seed(0))
    ab = float(sched.alpha_bar[steps - 1])
    torch.testing.assert_close(xt.mean(0), math.sqrt(ab) * x0[0], atol=0.02, rtol=0)
    torch.testing.assert_close(xt.var(0), torch.full((4,), 1 - ab, dtype=torch.float64), atol=0.02, rtol=0)
    # and the closed form, with the same number of draws, lands on the same moments
    closed = dm.q_sample(x0, torch.full((len(x0),), steps - 1), torch.randn(x0.shape, dtype=torch.float64), sched)
    torch.testing.assert_close(closed.mean(0), xt.mean(0), atol=0.03, rtol=0)


# ---------------------------------------------------------------------------------------------- reverse steps


def test_ddim_step_matches_diffusers():
    sched = diffusers.DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=True,
                                    set_alpha_to_one=True)
    sched.set_timesteps(10)  # "leading" spacing: 900, 800, ..., 0; previous step = t - 100
    mine = dm.NoiseSchedule.of("linear", 1000)
    x, eps = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    for eta in (0.0, 1.0):
        z = torch.randn(3, 1, 4, 4)
        theirs = sched.step(eps, 500, x, eta=eta, use_clipped_model_output=True,
                            variance_noise=z if eta else None).prev_sample
        ours = dm.ddim_step(x, eps, mine.alpha_bar[500], mine.alpha_bar[400], eta=eta, noise=z)
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_eta_one_single_steps_are_ddpm_ancestral_steps():
    """DDIM with eta = 1 stepping t -> t-1 is DDPM's step: posterior mean of q(x_{t-1} | x_t, x0), variance beta~."""
    sched = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=True,
                                    variance_type="fixed_small")
    mine = dm.NoiseSchedule.of("linear", 1000)
    x, eps = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    for t in (999, 500, 1):
        theirs = sched.step(eps, t, x, generator=torch.Generator().manual_seed(t)).prev_sample
        z = torch.randn(x.shape, generator=torch.Generator().manual_seed(t))
        ours = dm.ddim_step(x, eps, mine.alpha_bar[t], mine.alpha_bar[t - 1], eta=1.0, noise=z)
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


class _ExactDenoiser(nn.Module):
    """The ideal network for a data set of ONE image c: for diffusion eps = (x - sqrt(ab) c) / sqrt(1 - ab),
    for flow the velocity (c - x) / (1 - t) that carries x to c by t = 1."""

    def __init__(self, c: torch.Tensor, process: str) -> None:
        super().__init__()
        self.c = c
        self.config = DiffusionUNet.Config(img_size=c.shape[-1], channels=(8,), process=process, num_timesteps=100)
        self.sched = dm.NoiseSchedule.of(self) if process == "diffusion" else None

    def forward(self, x, t, labels=None):
        if self.sched is None:
            return (self.c - x) / (1 - t).view(-1, 1, 1, 1)
        ab = self.sched.ab(torch.round(t * 100).long(), x)
        return (x - ab.sqrt() * self.c) / (1 - ab).sqrt()


@pytest.mark.parametrize("process, sampler, steps", [("diffusion", "ddim", 4), ("diffusion", "ddpm", 100),
                                                     ("flow", "euler", 3), ("flow", "heun", 2)])
def test_exact_denoiser_gives_its_one_image_back(process, sampler, steps):
    c = torch.rand(1, 1, 4, 4) * 1.6 - 0.8
    out = dm.generate(_ExactDenoiser(c, process), torch.randn(5, 1, 4, 4), steps=steps, sampler=sampler,
                      generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, c.expand(5, -1, -1, -1), atol=1e-4, rtol=0)


def test_ddim_with_eta_zero_is_deterministic_for_a_seed():
    from synthlib.sample import sample

    model = tiny_unet("diffusion")
    a = sample(model, 4, seed=3, steps=5, label=2)
    assert torch.equal(a, sample(model, 4, seed=3, steps=5, label=2))
    assert not torch.allclose(a, sample(model, 4, seed=4, steps=5, label=2))
    # DDPM (eta = 1) is not: its per-step noise changes the result unless the generator repeats
    noise = torch.randn(4, 1, 28, 28)
    def run(seed):
        return dm.generate(model, noise, steps=5, sampler="ddpm", generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(0), run(0)) and not torch.allclose(run(0), run(1))


@pytest.mark.parametrize("process", ["diffusion", "flow"])
def test_guidance_zero_is_the_conditional_model_and_w_extrapolates(process):
    model = tiny_unet(process)
    x, t, y = torch.randn(3, 1, 28, 28), torch.rand(3), torch.tensor([0, 4, 9])
    with torch.no_grad():
        cond, uncond = model(x, t, y), model(x, t, torch.full_like(y, model.null_class))
        torch.testing.assert_close(dm.guided(model, x, t, y, 0.0), cond)
        torch.testing.assert_close(dm.guided(model, x, t, y, 2.5), cond + 2.5 * (cond - uncond), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(cond, uncond)  # the label matters, so the test above can fail
    noise = torch.randn(3, 1, 28, 28)
    plain = dm.generate(model, noise, y, steps=3)
    assert torch.equal(plain, dm.generate(model, noise, y, steps=3, guidance=0.0))
    assert not torch.allclose(plain, dm.generate(model, noise, y, steps=3, guidance=2.0))


def test_sampler_arguments_are_checked():
    model, flow = tiny_unet("diffusion"), tiny_unet("flow")
    noise = torch.randn(1, 1, 28, 28)
    with pytest.raises(ValueError, match="does not apply to a flow model"):
        dm.generate(flow, noise, sampler="ddim")
    with pytest.raises(ValueError, match="more than the model's 1000"):
        dm.generate(model, noise, steps=1001)
    with pytest.raises(ValueError, match="class-conditional"):
        dm.generate(tiny_unet("flow", num_classes=0), noise, steps=2, guidance=1.0)
    with pytest.raises(ValueError, match="steps. must be >= 1"):
        dm.generate(model, noise, steps=0)


def test_ddim_timesteps_are_evenly_spaced_and_end_at_zero():
    assert dm.ddim_timesteps(1000, 4) == [999, 666, 333, 0]
    assert dm.ddim_timesteps(10, 10) == list(range(9, -1, -1))


# ---------------------------------------------------------------------------------------------- flow matching


def test_flow_target_on_known_inputs():
    x0, x1 = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2) * torch.tensor([1.0, -0.5]).view(2, 1, 1, 1)
    t = torch.tensor([0.25, 0.5])
    torch.testing.assert_close(dm.flow_interpolate(x0, x1, t), x1 * t.view(2, 1, 1, 1))
    torch.testing.assert_close(dm.flow_target(x0, x1), x1)
    # the target is the path's time derivative (a finite difference of the interpolation)
    a, b, h = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4), 1e-3
    fd = (dm.flow_interpolate(a, b, torch.full((3,), 0.3 + h)) - dm.flow_interpolate(a, b, torch.full((3,), 0.3))) / h
    torch.testing.assert_close(fd, dm.flow_target(a, b), atol=1e-3, rtol=1e-3)


# ---------------------------------------------------------------------------------------------- VAE


def test_gaussian_kl_matches_a_monte_carlo_estimate():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([[0.5, -1.0, 0.0]]), torch.tensor([[0.2, -1.5, 0.7]])
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    z = q.sample((200_000,))
    mc = (q.log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum(-1).mean()
    assert abs(float(dm.gaussian_kl(mu, logvar)) - float(mc)) < 0.02
    assert float(dm.gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3))) == 0.0


def test_gaussian_nll_is_the_normal_log_density():
    x, mean = torch.randn(2, 1, 3, 3), torch.randn(2, 1, 3, 3)
    ref = -torch.distributions.Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(dm.gaussian_nll(x, mean, 0.3), ref, rtol=1e-5, atol=1e-4)


def test_vae_decodes_z_and_checks_shapes():
    vae = ConvVAE(ConvVAE.Config(z_dim=4, channels=(8, 16), hidden=32))
    assert vae(torch.randn(3, 4)).shape == (3, 1, 28, 28)
    mu, logvar = vae.encode(torch.zeros(2, 1, 28, 28))
    assert mu.shape == logvar.shape == (2, 4)
    with pytest.raises(ValueError, match=r"expected z of shape \(N, 4\)"):
        vae(torch.randn(3, 5))
    with pytest.raises(ValueError, match="ConvVAE.encode"):
        vae.encode(torch.zeros(2, 3, 28, 28))


# ---------------------------------------------------------------------------------------------- models


def test_timestep_embedding_distinguishes_times():
    e = timestep_embedding(torch.tensor([0.0, 0.001, 0.5]), 16)
    assert e.shape == (3, 16) and torch.allclose(e[0, :8], torch.ones(8))  # cos(0) = 1
    assert (e[1] - e[0]).abs().max() > 0.1 and (e[2] - e[1]).abs().max() > 0.1


def test_unet_shapes_zero_init_and_errors():
    m = DiffusionUNet(DiffusionUNet.Config(channels=(8, 16), patch=2, num_classes=10))
    x = torch.randn(2, 1, 28, 28)
    out = m(x, torch.rand(2), torch.tensor([1, 10])).detach()  # 10 = the "no class" entry
    assert out.shape == x.shape and float(out.abs().max()) == 0.0  # zero-initialised output
    with pytest.raises(ValueError, match="cannot be halved"):
        DiffusionUNet(DiffusionUNet.Config(img_size=28, channels=(8, 16, 32), patch=2))
    with pytest.raises(ValueError, match="unconditional"):
        DiffusionUNet(DiffusionUNet.Config(channels=(8, 16), patch=2))(x, torch.rand(2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="process"):
        DiffusionUNet(DiffusionUNet.Config(process="score"))


def test_label_dropout_rate():
    labels = torch.zeros(20_000, dtype=torch.long)
    dropped = dm.drop_labels(labels, 0.1, null_class=10)
    assert 0.09 < float((dropped == 10).float().mean()) < 0.11 and set(dropped.tolist()) <= {0, 10}
    assert dm.drop_labels(labels, 0.0, 10) is labels


# ---------------------------------------------------------------------------------------------- training


def _toy_images(n=64) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes of 28 px images: a bright square on the left or on the right (uint8)."""
    x = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    y = torch.arange(n) % 2
    x[y == 0, :, 8:20, 2:14] = 255
    x[y == 1, :, 8:20, 14:26] = 255
    return x, y


@pytest.mark.slow
@pytest.mark.parametrize("process", ["diffusion", "flow"])
def test_denoiser_trainer_learns_and_checkpoints(tmp_path, process, one_thread):
    from synthlib.data import from_uint8

    x, y = _toy_images()
    torch.manual_seed(0)
    model = DiffusionUNet(DiffusionUNet.Config(channels=(8, 16), patch=2, num_classes=2, process=process))
    tr = dm.denoiser_trainer(model, TensorBatches(x, y, batch_size=32, transform=from_uint8),
                             dm.DiffusionConfig(batch_size=32, lr=3e-3, ema_half_life_img=200), run_dir=tmp_path,
                             device="cpu", log_every=1)
    tr.fit(120)
    losses = tr.history[f"{process}/loss"]["value"]
    assert sum(losses[-20:]) / 20 < 0.6 * sum(losses[:5]) / 5
    tr.save()
    from synthlib.core.checkpoint import load

    ckpt = load(tmp_path / "checkpoint.pt")
    assert ckpt["kind"] == process and {"G", "G_ema"} <= set(ckpt["models"])


def test_vae_trainer_improves_the_elbo(one_thread):
    from synthlib.data import from_uint8

    x, _ = _toy_images()
    torch.manual_seed(0)
    vae = ConvVAE(ConvVAE.Config(z_dim=2, channels=(8, 16), hidden=32))
    tr = dm.vae_trainer(vae, TensorBatches(x, batch_size=32, transform=from_uint8), dm.VAEConfig(batch_size=32),
                        device="cpu", log_every=1)
    tr.fit(80)
    recon = tr.history["elbo/recon"]["value"]
    assert recon[-1] < 0.5 * recon[0]
    assert tr.kind == "vae"
