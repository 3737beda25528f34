"""Restoration (chapter 6): inpainting, denoising and super-resolution, classical and learned.

``classical`` (degradations, masks, the classical methods incl. BM3D, and the scores), ``inpaint_net``, ``sr_net``,
``dncnn_net`` and ``dip_net`` (the networks), ``learned`` (the inpainting and super-resolution recipes and applying
them), ``denoise`` (DnCNN's residual recipe), ``dip`` (the deep image prior),
``painter_widget`` (the mask painter).
"""

from synthlib.restoration.classical import (
    add_noise,
    apply_mask,
    box_mask,
    denoise_bm3d,
    denoise_nl_means,
    denoise_tv,
    downscale,
    inpaint_biharmonic,
    inpaint_telea,
    psnr,
    scores,
    sigma_from_255,
    ssim,
    stroke_mask,
    upscale,
)
from synthlib.restoration.denoise import (
    DenoiseConfig,
    NoisyBatches,
    denoise_phases,
    denoise_trainer,
    denoise_with,
    residual_target,
)
from synthlib.restoration.dip import DIPConfig, DIPResult, deep_image_prior
from synthlib.restoration.dip_net import DIPNet, dip_input
from synthlib.restoration.dncnn_net import DnCNN
from synthlib.restoration.drunet_net import DenoiseUNet, takes_noise_level
from synthlib.restoration.ensemble import self_ensemble
from synthlib.restoration.inpaint_net import (
    GatedConv2d,
    InpaintUNet,
    PartialConv2d,
    biharmonic_fill,
    composite,
    harmonic_fill,
    pad_to_multiple,
)
from synthlib.restoration.learned import (
    KINDS,
    MASK_KINDS,
    PERCEPTUAL_LAYERS,
    SR_PERCEPTUAL_LAYERS,
    DownscaledBatches,
    InpaintConfig,
    MaskedBatches,
    MaskKind,
    RestorationModel,
    SRConfig,
    gram_loss,
    hole_total_variation,
    hole_valid_l1,
    inpaint_loss_terms,
    inpaint_phases,
    inpaint_term_gradients,
    inpaint_term_weights,
    inpaint_trainer,
    inpaint_with,
    load_restoration_model,
    perceptual_loss,
    random_hole,
    sr_phases,
    sr_trainer,
    upscale_with,
)
from synthlib.restoration.sr_net import SRResNet

__all__ = [
    "add_noise", "apply_mask", "biharmonic_fill", "box_mask", "composite", "deep_image_prior", "denoise_bm3d",
    "denoise_nl_means", "denoise_phases", "denoise_trainer", "denoise_tv", "denoise_with", "DenoiseConfig",
    "dip_input", "DIPConfig", "DIPNet", "DIPResult", "DnCNN", "DenoiseUNet", "downscale", "DownscaledBatches", "GatedConv2d",
    "gram_loss", "harmonic_fill", "hole_total_variation", "hole_valid_l1", "inpaint_biharmonic", "inpaint_loss_terms",
    "inpaint_phases", "inpaint_telea", "inpaint_term_gradients", "inpaint_term_weights", "inpaint_trainer",
    "inpaint_with", "InpaintConfig", "InpaintUNet", "KINDS", "load_restoration_model", "MASK_KINDS", "MaskedBatches",
    "MaskKind", "NoisyBatches", "pad_to_multiple", "PartialConv2d", "PERCEPTUAL_LAYERS", "perceptual_loss", "psnr",
    "random_hole", "residual_target", "RestorationModel", "scores", "self_ensemble", "sigma_from_255", "SR_PERCEPTUAL_LAYERS",
    "sr_phases", "sr_trainer", "SRConfig", "SRResNet", "ssim", "stroke_mask", "takes_noise_level", "upscale", "upscale_with"
]
