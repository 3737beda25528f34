"""Neural style transfer (chapter 4): Gatys's optimisation, texture synthesis, Johnson's network and AdaIN.

``gatys`` (VGG content and style losses, colour handling, the optimisation and texture synthesis),
``feedforward`` (the fast network's and AdaIN's recipes, applying them), ``style_nets`` (TransformerNet, the
AdaIN decoder), ``mixer_widget`` (the style mixer).
"""

from synthlib.style.feedforward import (
    AdaINConfig,
    FastStyleConfig,
    StyleModel,
    adain_decode,
    adain_phases,
    adain_trainer,
    adain_transfer,
    fast_style_phases,
    fast_style_trainer,
    fast_transfer,
    load_style_model,
)
from synthlib.style.gatys import (
    GATYS_CONTENT,
    GATYS_STYLE,
    JOHNSON_CONTENT,
    JOHNSON_STYLE,
    KINDS,
    SCORE_CONTENT,
    SCORE_STYLE,
    TEXTURES,
    GatysConfig,
    GatysResult,
    adain,
    color_stats_loss,
    content_loss,
    gatys,
    gram_style_loss,
    keep_colors,
    load_texture,
    luminance,
    match_colors,
    match_luminance,
    mean_std,
    relative_mse,
    resize_shorter,
    rgb_to_yiq,
    stats_style_loss,
    style_targets,
    synthesize_texture,
    total_variation,
    transfer_scores,
    yiq_to_rgb,
)

__all__ = [
    "AdaINConfig", "FastStyleConfig", "GATYS_CONTENT", "GATYS_STYLE", "GatysConfig", "GatysResult",
    "JOHNSON_CONTENT", "JOHNSON_STYLE", "KINDS", "SCORE_CONTENT", "SCORE_STYLE", "StyleModel", "TEXTURES", "adain",
    "adain_decode", "adain_phases", "adain_trainer", "adain_transfer", "color_stats_loss", "content_loss", "load_texture",
    "fast_style_phases", "fast_style_trainer", "fast_transfer", "gatys", "gram_style_loss", "keep_colors",
    "load_style_model", "luminance", "match_colors", "match_luminance", "mean_std", "relative_mse",
    "resize_shorter", "rgb_to_yiq", "stats_style_loss", "style_targets", "synthesize_texture", "total_variation",
    "transfer_scores", "yiq_to_rgb"
]
