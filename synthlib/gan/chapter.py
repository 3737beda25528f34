"""Chapters 1 and 2's settings: what each run profile trains and measures (see :mod:`synthlib.core.chapter`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synthlib.core.chapter import ChapterSettings, minutes_to_seconds, profiled


def _either(given: bool, by_profile: bool) -> bool:
    return bool(given or by_profile)


@dataclass(frozen=True)
class GANMathSettings(ChapterSettings):
    """Chapter 1 (the GAN objective on 1-D and 2-D toy densities)."""

    NOTEBOOK: ClassVar[str] = "01_gan_math"

    num_steps: int = profiled(smoke=60, default=3000, full=10_000, doc="training steps per 2-D run",
                              parameter="steps")
    d_steps: int = profiled(smoke=400, default=2000, full=4000, doc="steps of the optimal-discriminator experiment")
    num_seeds: int = profiled(smoke=1, default=1, full=3, doc="seeds per 2-D setting (seed, seed + 1, ...)")
    optimal_d_tolerance: float = profiled(smoke=0.05, default=0.03, full=0.03,
                                          doc="largest mass-weighted |sigmoid(D) - D*| the chapter accepts")


@dataclass(frozen=True)
class DCGANSettings(ChapterSettings):
    """Chapter 2 (DCGAN on Fashion-MNIST). The default sizes suit a CPU; "full" is the classic 64-channel DCGAN."""

    NOTEBOOK: ClassVar[str] = "02_dcgan"

    z_dim: int = profiled(smoke=16, default=64, full=100, doc="latent size")
    base_channels: int = profiled(smoke=8, default=32, full=64, doc="channels of the generator's last layer")
    budget_s: float = profiled(smoke=20, default=210, full=600, doc="training seconds per model",
                               parameter="minutes", given=minutes_to_seconds)
    num_steps: int = profiled(smoke=20, default=50_000, full=50_000, doc="at most this many steps per model",
                              parameter="steps")
    train_conditional: bool = profiled(smoke=True, default=False, full=True, doc="also train the class-conditional "
                                       "model", parameter="conditional", given=_either)
    cpu_threads: int | None = profiled(smoke=1, default=1, full=None,
                                       doc="torch threads on a CPU: these small networks run fastest on one (12 steps/s "
                                           "against 4 with two, on a loaded 2-core CPU); None: PyTorch's default")
    eval_every: int = profiled(smoke=10, default=250, full=1000, doc="steps between FID checks and snapshots")
    checkpoint_every: int = profiled(smoke=10, default=1000, full=5000, doc="steps between checkpoints")
    num_real_eval: int = profiled(smoke=200, default=5000, full=10_000, doc="real test images FID compares with")
    num_fake_watch: int = profiled(smoke=100, default=1000, full=5000, doc="generated images per FID check in training")
    num_fake_eval: int = profiled(smoke=200, default=5000, full=10_000, doc="generated images for the final table")
    ema_half_life_img: int = profiled(smoke=1000, default=3000, full=10_000, doc="G_ema's half-life, in images")
    smooth: int = profiled(smoke=1, default=20, full=50, doc="moving-average window of the loss plots")
    explorer_samples: int = profiled(smoke=100, default=500, full=2000, doc="samples the explorers' PCA directions "
                                     "come from")
    fid_curve_sizes: tuple = profiled(smoke=(50, 100, 200), default=(250, 500, 1000, 2000, 5000, 10_000),
                                      full=(250, 500, 1000, 2000, 5000, 10_000),
                                      doc="set sizes N of the FID/KID-against-N curve (those the sets hold)")
    num_midpoints: int = profiled(smoke=100, default=2000, full=5000, doc="pairs in the lerp/slerp midpoint test")
    latent_pool: int = profiled(smoke=400, default=4000, full=10_000, doc="latents classified for the latent "
                                "arithmetic")
