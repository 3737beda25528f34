"""StyleGAN2 (chapter 5): its operations, generator, discriminator, training recipe and explorer.

``ops`` (modulated convolution, blur, equalised layers), ``generator``, ``discriminator``, ``training`` (the
phases with lazy R1, path length and style mixing; measurements of a trained generator), ``stylegan_widget``.
"""

from synthlib.stylegan.discriminator import MinibatchStdDev, StyleGANDiscriminator
from synthlib.stylegan.generator import (
    MappingNetwork,
    NoiseInjection,
    StyledConv,
    StyleGANGenerator,
    ToRGB,
)
from synthlib.stylegan.ops import (
    EqualConv2d,
    EqualLinear,
    blur_kernel,
    downsample2d,
    modulated_conv2d,
    modulated_conv2d_loop,
    scaled_leaky_relu,
    upsample2d,
)
from synthlib.stylegan.training import (
    FeatureFn,
    PathLengthState,
    StyleGANConfig,
    crop_to_28,
    mixed_ws,
    noise_std_map,
    pad_to_32,
    path_lengths,
    perceptual_path_length,
    project,
    stylegan_phases,
    stylegan_trainer,
)

__all__ = [
    "EqualConv2d", "EqualLinear", "FeatureFn", "MappingNetwork", "MinibatchStdDev", "NoiseInjection",
    "PathLengthState", "StyleGANConfig", "StyleGANDiscriminator", "StyleGANGenerator", "StyledConv", "ToRGB",
    "blur_kernel", "crop_to_28", "downsample2d", "mixed_ws", "modulated_conv2d", "modulated_conv2d_loop",
    "noise_std_map", "pad_to_32", "path_lengths", "perceptual_path_length", "project", "scaled_leaky_relu",
    "stylegan_phases", "stylegan_trainer", "upsample2d"
]
