"""Image-to-image translation (chapter 3): Pix2Pix and CycleGAN.

``pix2pix_cyclegan`` (losses, phases and trainers; applying a trained translator), ``resnet`` (CycleGAN's ResNet
generator; the U-Net and PatchGAN are shared, in :mod:`synthlib.nn`), ``scores`` (held-out PSNR/SSIM,
style classifier share, KID), ``compare_widget`` (the comparison viewer).
"""

from synthlib.translation.pix2pix_cyclegan import (
    KINDS,
    CycleGANConfig,
    ImagePool,
    LossName,
    Pix2PixConfig,
    ZipBatches,
    check_input,
    cycle_loss,
    cyclegan_phases,
    cyclegan_trainer,
    identity_loss,
    l1_loss,
    load_translator,
    paired_flip,
    pix2pix_phases,
    pix2pix_trainer,
    read_tensor_input,
    resize_to_multiple,
    size_multiple,
    translate,
)

__all__ = [
    "CycleGANConfig", "ImagePool", "KINDS", "LossName", "Pix2PixConfig", "ZipBatches", "check_input", "cycle_loss",
    "cyclegan_phases", "cyclegan_trainer", "identity_loss", "l1_loss", "load_translator", "paired_flip",
    "pix2pix_phases", "pix2pix_trainer", "read_tensor_input", "resize_to_multiple", "size_multiple", "translate"
]
