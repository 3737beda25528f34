"""Chapter 7's settings: what each run profile trains and measures (see :mod:`synthlib.core.chapter`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synthlib.core.chapter import ChapterSettings, minutes_to_seconds, profiled


@dataclass(frozen=True)
class LikelihoodSettings(ChapterSettings):
    """Chapter 7 (VAE, diffusion and flow matching on Fashion-MNIST at 28 px)."""

    NOTEBOOK: ClassVar[str] = "07_likelihood"

    unet_arch: dict = profiled(smoke=dict(channels=(8, 16), patch=2), default=dict(channels=(32, 64), patch=2),
                               full=dict(channels=(64, 128, 256), patch=1, blocks=2),
                               doc="the diffusion and flow U-Net")
    vae_arch: dict = profiled(smoke=dict(channels=(8, 16), hidden=32), default={},
                              full=dict(channels=(64, 128), hidden=512), doc="the VAE ({}: ConvVAE.Config's own)")
    vae_z_dim: int = profiled(smoke=4, default=16, full=32, doc="the VAE's latent size")
    vae_batch_size: int = profiled(smoke=16, default=128, full=128, doc="the VAEs' images per step")
    vae_s: float = profiled(smoke=1, default=45, full=600, doc="the VAE's training seconds")
    vae2_s: float = profiled(smoke=1, default=25, full=300, doc="the 2-D VAE's training seconds")
    diffusion_s: float = profiled(smoke=2, default=240, full=1800, doc="the diffusion model's training seconds",
                                  parameter="diffusion_minutes", given=minutes_to_seconds)
    flow_s: float = profiled(smoke=2, default=120, full=1800, doc="the flow model's training seconds",
                             parameter="flow_minutes", given=minutes_to_seconds)
    batch_size: int = profiled(smoke=16, default=64, full=128, doc="the denoisers' images per step")
    lr: float = profiled(smoke=2e-3, default=1e-3, full=2e-4, doc="the denoisers' Adam rate")
    ema_half_life_img: int = profiled(smoke=100, default=20_000, full=200_000, doc="the denoisers' EMA half-life")
    num_eval: int = profiled(smoke=100, default=1000, full=10_000, doc="images per FID / precision / recall")
    kid_subsets: int = profiled(smoke=5, default=50, full=100, doc="KID's subsets")
    num_sweep: int = profiled(smoke=50, default=500, full=2000, doc="images per point of the steps sweep")
    num_ddpm: int = profiled(smoke=20, default=100, full=2000, doc="DDPM's many-step samples (the slow ones)")
    eval_steps: int = profiled(smoke=4, default=20, full=50, doc="sampler steps of the main table")
    ddpm_steps: int = profiled(smoke=10, default=1000, full=1000, doc="DDPM's steps in the sampler table")
    ddim_steps: int = profiled(smoke=3, default=20, full=50, doc="DDIM's steps beside it")
    guidance_ws: tuple[float, ...] = profiled(smoke=(0.0,), default=(0.0, 4.0), full=(0.0, 0.5, 1.0, 2.0, 4.0),
                                              doc="guidance weights compared (plus the guidance parameter)")
    sweep_steps: tuple[int, ...] = profiled(smoke=(2, 5), default=(2, 5, 10, 25), full=(2, 5, 10, 25, 50, 100),
                                            doc="sampler steps of the sweep")
