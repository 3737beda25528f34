"""Chapter 5's settings: what each run profile trains and measures (see :mod:`synthlib.core.chapter`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synthlib.core.chapter import ChapterSettings, minutes_to_seconds, profiled


@dataclass(frozen=True)
class StyleGANSettings(ChapterSettings):
    """Chapter 5 (StyleGAN2 on Fashion-MNIST or the emoji, against a DCGAN at equal time). StyleGAN's channels at
    resolution r are ``min(max_channels, base_channels * 32 / r)``."""

    NOTEBOOK: ClassVar[str] = "05_stylegan"

    discriminator: str = profiled(smoke="batchnorm", default="batchnorm", full="stylegan",
                                  doc="StyleGAN's opponent: the DCGAN's batch-norm D, or StyleGAN2's own",
                                  parameter="discriminator")
    arch: dict = profiled(smoke=dict(base_channels=4, max_channels=16, z_dim=16, n_mlp=1),
                          default=dict(base_channels=16, max_channels=128, z_dim=64, n_mlp=2),
                          full=dict(base_channels=64, max_channels=512, z_dim=256, n_mlp=4), doc="StyleGAN's size")
    dcgan_d_channels: int = profiled(smoke=32, default=32, full=64, doc="the batch-norm D's base channels")
    batch_size: int = profiled(smoke=8, default=32, full=64, doc="images per step")
    train_s: float = profiled(smoke=2, default=300, full=3600, doc="StyleGAN's training seconds",
                              parameter="minutes", given=minutes_to_seconds)
    baseline_s: float = profiled(smoke=2, default=150, full=900, doc="the DCGAN baseline's training seconds",
                                 parameter="baseline_minutes", given=minutes_to_seconds)
    r1_gamma: float = profiled(smoke=0.01, default=0.01, full=0.05, doc="R1 weight")
    pl_weight: float = profiled(smoke=2.0, default=0.0, full=2.0, doc="path-length regularisation (the paper's 2; "
                                "off for the CPU's minutes)")
    mixing_prob: float = profiled(smoke=0.9, default=0.0, full=0.9, doc="style-mixing probability")
    ema_half_life_img: int = profiled(smoke=100, default=5000, full=20_000, doc="G_ema's half-life, in images")
    num_eval: int = profiled(smoke=200, default=5000, full=10_000, doc="images per FID / precision / recall")
    kid_subsets: int = profiled(smoke=5, default=50, full=100, doc="KID's subsets")
    num_sweep: int = profiled(smoke=100, default=2000, full=10_000, doc="images per truncation value")
    num_ppl: int = profiled(smoke=32, default=10_000, full=10_000,
                            doc="latent pairs per path-length estimate (10,000: about 13 s on a CPU; with 1,000 the W/Z "
                                "ratio swung from 0.78 to 0.93 between runs, too close to the claim's 1)")
    project_steps: int = profiled(smoke=5, default=200, full=1000, doc="steps of the projection into W")
    noise_samples: int = profiled(smoke=8, default=64, full=64, doc="noise draws of the per-pixel noise map")
