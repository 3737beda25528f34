"""Likelihood-based generators (chapter 7): the VAE, denoising diffusion and flow matching.

``diffusion`` (noise schedules, losses, samplers and the recipes of all three), ``networks`` (the conv VAE and
the diffusion U-Net), ``diffusion_widget`` (the diffusion explorer).
"""

from synthlib.likelihood.diffusion import (
    DEFAULT_STEPS,
    SAMPLERS,
    DiffusionConfig,
    NoiseSchedule,
    Sampler,
    VAEConfig,
    ddim_step,
    ddim_timesteps,
    denoiser_trainer,
    diffusion_loss,
    drop_labels,
    flow_interpolate,
    flow_loss,
    flow_target,
    gaussian_kl,
    gaussian_nll,
    generate,
    guided,
    make_betas,
    predict_x0,
    q_iterate,
    q_sample,
    vae_terms,
    vae_trainer,
)

__all__ = [
    "DEFAULT_STEPS", "DiffusionConfig", "NoiseSchedule", "SAMPLERS", "Sampler", "VAEConfig", "ddim_step",
    "ddim_timesteps", "denoiser_trainer", "diffusion_loss", "drop_labels", "flow_interpolate", "flow_loss",
    "flow_target", "gaussian_kl", "gaussian_nll", "generate", "guided", "make_betas", "predict_x0", "q_iterate",
    "q_sample", "vae_terms", "vae_trainer"
]
