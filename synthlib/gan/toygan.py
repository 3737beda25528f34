"""GANs on 2-D toy distributions with exact densities (chapter 1).

The same small MLP generator and discriminator are trained with each loss in
:data:`TOY_SETTINGS` through the shared loop, and judged by mode coverage
(:func:`synthlib.metrics.toy.mode_coverage`), as in the VEEGAN and PacGAN evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from synthlib.core.config import check_choice, from_dict
from synthlib.core.train import Callback
from synthlib.data.toy_densities import GaussianMixture, ToyBatches
from synthlib.gan.mlp import MLPDiscriminator, MLPGenerator
from synthlib.gan.phases import GANConfig, gan_trainer
from synthlib.metrics.toy import mode_coverage

# What every toy run shares: Adam at 1e-3, batch 256, an 8-d latent. Each setting then changes
# only what its paper changes. WGAN (clipping) keeps the paper's small learning rate and 5 critic
# steps; WGAN-GP uses lambda = 1: with modes this narrow (std 0.05) the images' lambda = 10 makes
# the critic so smooth that samples stay smeared between modes in a CPU-sized budget.
TOY_BASE: dict[str, Any] = dict(z_dim=8, batch_size=256, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.99))
TOY_SETTINGS: dict[str, dict[str, Any]] = {
    "minimax": dict(loss="minimax"),
    "nonsaturating": dict(loss="nonsaturating"),
    "nonsaturating+r1": dict(loss="nonsaturating", r1_gamma=0.1),
    "lsgan": dict(loss="lsgan"),
    "hinge": dict(loss="hinge"),
    "wgan": dict(loss="wgan", n_critic=5, lr_g=5e-5, lr_d=5e-5, clip=0.01),
    "wgan-gp": dict(loss="wgan-gp", gp_lambda=1.0, betas=(0.0, 0.9)),
}


def toy_config(setting: str, num_steps: int) -> GANConfig:
    """The :class:`GANConfig` of a named toy setting."""
    check_choice("loss", setting, TOY_SETTINGS)
    return from_dict(GANConfig, {**TOY_BASE, **TOY_SETTINGS[setting], "num_steps": num_steps})


@dataclass
class ToyRun:
    setting: str
    G: MLPGenerator
    D: MLPDiscriminator
    history: dict[str, Any]
    snapshots: list[tuple[int, Tensor]] = field(default_factory=list)  # (step, samples (n, 2))
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@torch.no_grad()
def generate(G: MLPGenerator, num: int, seed: int = 1234) -> Tensor:
    """``num`` samples from G with a fixed latent batch (so snapshots over training compare)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num, G.config.z_dim, generator=gen)
    was_training = G.training
    G.eval()
    out = G(z.to(next(G.parameters()).device)).cpu()
    G.train(was_training)
    return out


def train_toy_gan(
    setting: str,
    dist: GaussianMixture,
    *,
    num_steps: int,
    seed: int = 0,
    snapshot_every: int = 0,
    num_eval: int = 2000,
    hidden: int = 128,
    progress: bool = False,
) -> ToyRun:
    """Train the toy MLP GAN with one setting and measure its mode coverage."""
    import time

    cfg = toy_config(setting, num_steps)
    torch.manual_seed(seed)
    dim = dist.means.shape[1]
    G = MLPGenerator(from_dict(MLPGenerator.Config, z_dim=cfg.z_dim, out_dim=dim, hidden=hidden))
    D = MLPDiscriminator(from_dict(MLPDiscriminator.Config, in_dim=dim, hidden=hidden))
    snapshots: list[tuple[int, Tensor]] = [(0, generate(G, num_eval))]
    callbacks = []
    if snapshot_every:
        callbacks.append(Callback(snapshot_every, lambda t: snapshots.append((t.step, generate(G, num_eval)))))
    # Tiny MLPs run fastest on the CPU: a GPU launch per layer costs more than the layer.
    trainer = gan_trainer(G, D, ToyBatches(dist, cfg.batch_size, seed=seed), cfg, kind="toy-gan",
                          callbacks=callbacks, device="cpu", progress=progress, log_every=50)
    start = time.perf_counter()
    history = trainer.fit(num_steps)
    seconds = time.perf_counter() - start
    final = generate(G, num_eval)
    if not snapshots or snapshots[-1][0] != trainer.step:
        snapshots.append((trainer.step, final))
    metrics = mode_coverage(final, dist.means, dist.std)
    return ToyRun(setting, G, D, history, snapshots, metrics, seconds)
