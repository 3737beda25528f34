"""The loop's speed options: channels_last by default on the CPU, fused Adam, opt-in torch.compile.

None of them may change what is trained: a resumed run still matches an uninterrupted one
exactly, and channels_last gives the same network as the default layout.
"""

from __future__ import annotations

import pytest
import torch

from synthlib.core.train import Trainer
from synthlib.data import TensorBatches, from_uint8
from synthlib.gan import GANConfig, gan_trainer
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator

CL = torch.channels_last


def tiny_dcgan_trainer(run_dir=None, *, checkpoint_every=0, **options) -> Trainer:
    """A 32x32 RGB DCGAN with 8 base channels: all of DCGAN's layers, in milliseconds."""
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=8, img_size=32, img_channels=3, base_channels=8))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=32, img_channels=3, base_channels=8))
    images = torch.randint(0, 256, (48, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cfg = GANConfig(z_dim=8, batch_size=16, ema_half_life_img=200)
    data = TensorBatches(images, batch_size=cfg.batch_size, seed=0, transform=from_uint8)
    return gan_trainer(
        G, D, data, cfg, kind="dcgan", device="cpu", run_dir=run_dir, checkpoint_every=checkpoint_every,
        log_every=2, progress=False, **options,
    )


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.clone() for n, m in trainer._all_models().items() for k, v in m.state_dict().items()}


def test_cpu_default_is_channels_last_for_models_and_batches():
    trainer = tiny_dcgan_trainer()
    assert trainer.channels_last is True
    for model in trainer._all_models().values():
        for p in model.parameters():
            if p.dim() == 4:
                assert p.is_contiguous(memory_format=CL)
    seen = []
    d_phase = trainer.phases[0]
    inner = d_phase.loss
    d_phase.loss = lambda batch, scratch: (seen.append(batch.is_contiguous(memory_format=CL)), inner(batch, scratch))[1]
    trainer.fit(1)
    assert seen == [True]


def test_channels_last_false_keeps_the_default_layout():
    trainer = tiny_dcgan_trainer(channels_last=False)
    assert all(p.is_contiguous() for p in trainer.models["D"].parameters())


def test_channels_last_trains_the_same_network():
    cl, plain = tiny_dcgan_trainer(), tiny_dcgan_trainer(channels_last=False)
    for trainer in (cl, plain):
        torch.manual_seed(1)  # the same z for both
        trainer.fit(3)
    for key in ("D/loss", "G/loss"):
        torch.testing.assert_close(cl.history[key]["value"], plain.history[key]["value"], rtol=1e-4, atol=1e-5)
    a, b = weights(cl), weights(plain)
    for key in a:  # Adam moves each weight ~lr per step, whatever the rounding of its gradient
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-3, msg=key)


def test_gan_optimizers_are_fused():
    trainer = tiny_dcgan_trainer()
    assert all(phase.optimizer.defaults["fused"] for phase in trainer.phases)


@pytest.mark.slow
@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
def test_dcgan_resume_matches_uninterrupted_run_exactly(tmp_path, compile):
    straight = tiny_dcgan_trainer(tmp_path / "a", compile=compile)
    straight.fit(6)

    first = tiny_dcgan_trainer(tmp_path / "b", checkpoint_every=3, compile=compile)
    first.fit(3)
    torch.manual_seed(1234)  # a fresh process starts from another RNG state
    resumed = tiny_dcgan_trainer(tmp_path / "b", checkpoint_every=3, compile=compile)
    resumed.load()
    resumed.fit(6)

    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys() and not any(k.startswith(("G._orig", "D._orig")) for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert straight.history["G/loss"]["value"] == resumed.history["G/loss"]["value"]
