"""Feed-forward style transfer: Johnson's per-style network and Huang & Belongie's AdaIN decoder.

Both are trained with the VGG losses of :mod:`synthlib.style.gatys`; both then stylise a photo in one pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice
from synthlib.core.train import EMA, HoldThenDecay, Phase, Recipe, Trainer, check_lr_final, hold_then_decay
from synthlib.nn.vgg import ALL_LAYERS, VGG16_LAYERS, VGG16Features
from synthlib.style.gatys import (
    JOHNSON_CONTENT,
    JOHNSON_STYLE,
    KINDS,
    adain,
    color_stats_loss,
    content_loss,
    gram_style_loss,
    keep_colors,
    relative_mse,
    resize_shorter,
    stats_style_loss,
    style_targets,
    total_variation,
)

# ----------------------------------------------------------------------------------------------
# Johnson et al.: a feed-forward network for one style
# ----------------------------------------------------------------------------------------------


@dataclass
class FastStyleConfig(HoldThenDecay):
    """Training settings of the feed-forward network (Johnson et al. 2016; relative losses here), with the long
    runs' rate schedule (:class:`~synthlib.core.train.HoldThenDecay`; a constant rate unless asked)."""

    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.0
    color_weight: float = 0.0  # weight of color_stats_loss against the style image (not in the paper)
    lr: float = 1e-3  # Adam, as in the paper
    batch_size: int = 4  # paper: 4
    style_size: int = 256  # the style image's shorter side when its Grams are taken
    style_name: str = ""  # for the record (checkpoints, the CLI's messages)
    content_layers: tuple[str, ...] = JOHNSON_CONTENT
    style_layers: tuple[str, ...] = JOHNSON_STYLE
    vgg_weights: str = "offline-hed"  # which VGG weights defined the loss (for the record)
    vgg_arch: str = "vgg16"
    ema_half_life_img: float = 0.0  # > 0: also keep an EMA of the weights (saved as "net_ema", used at load)

    def __post_init__(self) -> None:
        check_lr_final("FastStyleConfig", self.lr_final)
        if self.ema_half_life_img < 0:
            raise ValueError(f"FastStyleConfig: ema_half_life_img must be >= 0, got {self.ema_half_life_img}")
        for name in (*self.content_layers, *self.style_layers):
            check_choice("layer", name, ALL_LAYERS)
        if min(self.content_weight, self.style_weight, self.tv_weight, self.color_weight) < 0 or self.lr <= 0:
            raise ValueError(f"FastStyleConfig: weights must be >= 0 and lr > 0, got {self}")


def fast_style_phases(net: nn.Module, vgg: VGG16Features, style: Tensor, cfg: FastStyleConfig) -> list[Phase]:
    """One phase: stylise a batch of content crops, compare with the crops (content) and the style (Gram).
    ``style`` must be on VGG's device (its Gram matrices are taken once, here)."""
    style = resize_shorter(style, cfg.style_size)
    grams = style_targets(vgg, style, cfg.style_layers)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    layers = tuple(dict.fromkeys((*cfg.content_layers, *cfg.style_layers)))

    def step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        y = net(x)
        with torch.no_grad():
            targets = vgg(x, cfg.content_layers)
        f = vgg(y, layers)
        c = content_loss({k: f[k] for k in cfg.content_layers}, targets)
        s = gram_style_loss({k: f[k] for k in cfg.style_layers}, grams)  # grams live on VGG's device already
        loss = cfg.content_weight * c + cfg.style_weight * s
        logs = {"content": c.detach(), "style": s.detach()}
        if cfg.tv_weight > 0:
            tv = total_variation(y)
            loss = loss + cfg.tv_weight * tv
            logs["tv"] = tv.detach()
        if cfg.color_weight > 0:
            col = color_stats_loss(y, style)
            loss = loss + cfg.color_weight * col
            logs["color"] = col.detach()
        return loss, logs

    return [Phase("net", step, opt, lr_scale=hold_then_decay(cfg))]


def _ema(name: str, model: nn.Module, half_life_img: float) -> dict[str, EMA] | None:
    """``{name + "_ema": EMA}`` for a Trainer, or None when the half-life is 0 (no average kept).

    The ramp-up caps the half-life at a quarter of the images seen so far: these networks train for
    minutes, not the days of a GAN, and GAN's 5 % ramp-up would leave the average a copy of the last
    weights for the whole run, while no ramp-up would drag in the random initial weights."""
    return {f"{name}_ema": EMA(model, half_life_img, rampup=0.25)} if half_life_img > 0 else None


def fast_style_trainer(
    net: nn.Module, vgg: VGG16Features, style: Tensor, data: Iterator[Any], cfg: FastStyleConfig, **run: Any,
) -> Trainer:
    """A Trainer of kind ``"fast-style"`` (model ``net``) over batches of content crops.
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    from synthlib.core.train import pick_device

    run["device"] = dev = pick_device(run.get("device", "auto"))
    vgg.to(dev)  # the style's targets are computed once, on the run's device
    recipe = Recipe(models={"net": net}, phases=fast_style_phases(net, vgg, style.to(dev), cfg), data=data, config=cfg,
                    kind="fast-style", ema=_ema("net", net, cfg.ema_half_life_img), frozen=[vgg])
    return Trainer.from_recipe(recipe, **run)


# ----------------------------------------------------------------------------------------------
# Huang & Belongie: AdaIN, any style in one pass
# ----------------------------------------------------------------------------------------------


def _adain_style_layers(layer: str) -> tuple[str, ...]:
    """relu1_1 ... up to the AdaIN layer: where the decoder's output must carry the style's statistics."""
    return tuple(n for n in ("relu1_1", "relu2_1", "relu3_1", "relu4_1") if VGG16_LAYERS[n] <= VGG16_LAYERS[layer])


@dataclass
class AdaINConfig:
    """Training settings of the AdaIN decoder (Huang & Belongie 2017; relative losses here)."""

    layer: str = "relu4_1"  # where AdaIN acts (= the decoder's input)
    style_weight: float = 1.0
    # Weight of an extra term, not in the paper: decode the content's own features and compare with the
    # content photo pixel by pixel (mean absolute error). It teaches the decoder colours and edges from the
    # first steps (Li et al. 2017 train their decoders with reconstruction alone); 0 turns it off.
    recon_weight: float = 0.0
    color_weight: float = 0.0  # weight of color_stats_loss between each output and its style crop (not in the paper)
    lr: float = 1e-4  # Adam, as in the paper
    batch_size: int = 8  # paper: 8 content + 8 style images
    vgg_weights: str = "offline-hed"  # the encoder the decoder was trained against: must match at use
    vgg_arch: str = "vgg16"  # ... and its architecture
    # > 0: also keep an exponential moving average of the decoder's weights with this half-life in images
    # (saved as "decoder_ema" and preferred at load). With a high learning rate and a short budget the last
    # weights swing from step to step; their average is steadier (see chapter 4).
    ema_half_life_img: float = 0.0

    def __post_init__(self) -> None:
        from synthlib.style.style_nets import ADAIN_LAYERS

        check_choice("layer", self.layer, ADAIN_LAYERS)
        if min(self.style_weight, self.recon_weight, self.color_weight, self.ema_half_life_img) < 0 or self.lr <= 0:
            raise ValueError(f"AdaINConfig: the weights must be >= 0 and lr > 0, got {self}")


def adain_phases(decoder: nn.Module, vgg: VGG16Features, cfg: AdaINConfig) -> list[Phase]:
    """One phase on batches ``(content, style)``: t = AdaIN(f(c), f(s)); loss = ||f(g(t)) - t|| + w * stats(g(t), s)."""
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    style_layers = _adain_style_layers(cfg.layer)

    def step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        c, s = batch
        with torch.no_grad():
            fc = vgg(c, (cfg.layer,))[cfg.layer]
            fs = vgg(s, style_layers)
            t = adain(fc, fs[cfg.layer])
        g = decoder(t)
        f = vgg(g, style_layers)
        lc = relative_mse(f[cfg.layer], t)
        ls = stats_style_loss(f, fs)
        loss = lc + cfg.style_weight * ls
        logs = {"content": lc.detach(), "style": ls.detach()}
        if cfg.recon_weight > 0:
            rec = (decoder(fc)[..., : c.shape[-2], : c.shape[-1]] - c).abs().mean()
            loss = loss + cfg.recon_weight * rec
            logs["recon"] = rec.detach()
        if cfg.color_weight > 0:
            col = color_stats_loss(g, s)  # each output against its own style crop
            loss = loss + cfg.color_weight * col
            logs["color"] = col.detach()
        return loss, logs

    return [Phase("decoder", step, opt)]


def adain_trainer(
    decoder: nn.Module, vgg: VGG16Features, data: Iterator[Any], cfg: AdaINConfig, **run: Any,
) -> Trainer:
    """A Trainer of kind ``"adain"`` (model ``decoder``) over batches ``(content crops, style crops)``.
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    if cfg.vgg_weights != vgg.config.weights or cfg.vgg_arch != vgg.config.arch:
        raise ValueError(f"AdaINConfig.vgg_weights/vgg_arch = {cfg.vgg_weights!r}/{cfg.vgg_arch!r} but the encoder has "
                         f"{vgg.config.weights!r}/{vgg.config.arch!r}")
    if getattr(decoder, "config", None) is not None and decoder.config.layer != cfg.layer:
        raise ValueError(f"decoder is for {decoder.config.layer!r}, AdaINConfig.layer is {cfg.layer!r}")
    recipe = Recipe(models={"decoder": decoder}, phases=adain_phases(decoder, vgg, cfg), data=data, config=cfg,
                    kind="adain", ema=_ema("decoder", decoder, cfg.ema_half_life_img), frozen=[vgg])
    return Trainer.from_recipe(recipe, **run)


@torch.no_grad()
def adain_transfer(
    decoder: nn.Module, vgg: VGG16Features, content: Tensor, styles: Tensor | Sequence[Tensor],
    *, alpha: float = 1.0, weights: Sequence[float] | None = None, preserve_color: bool = False,
) -> Tensor:
    """Stylise ``content`` (N x 3 x H x W) with one style or a weighted mix of several, in one pass.

    ``t = alpha * sum_k w_k AdaIN(f(c), f(s_k)) + (1 - alpha) * f(c)``; output ``decoder(t)``, cropped
    to the content's size and clamped to [-1, 1]. ``alpha`` in [0, 1] trades content for style;
    ``weights`` (summing to 1) interpolate between styles. Styles may have any sizes.
    """
    style_list = [styles] if isinstance(styles, Tensor) else list(styles)
    layer = decoder.config.layer
    device = next(decoder.parameters()).device
    content = content.to(device).float()
    fc = vgg(content, (layer,))[layer]
    fs = [vgg(st.to(device).float()[:1], (layer,))[layer] for st in style_list]
    return adain_decode(decoder, content, fc, fs, alpha=alpha, weights=weights, preserve_color=preserve_color)


@torch.no_grad()
def adain_decode(
    decoder: nn.Module, content: Tensor, content_features: Tensor, style_features: Sequence[Tensor],
    *, alpha: float = 1.0, weights: Sequence[float] | None = None, preserve_color: bool = False,
) -> Tensor:
    """The second half of :func:`adain_transfer`, for callers that keep the encoder's features
    (the widget caches them): blend ``alpha * sum_k w_k AdaIN(f(c), f(s_k)) + (1 - alpha) * f(c)``,
    decode, crop to the content's size, clamp, and optionally put the content's colours back."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if weights is None:
        weights = [1.0 / len(style_features)] * len(style_features)
    if len(weights) != len(style_features) or abs(sum(weights) - 1.0) > 1e-6 or min(weights) < 0:
        raise ValueError(f"weights must be {len(style_features)} non-negative numbers summing to 1, got {list(weights)}")
    fc = content_features
    t = sum(w * adain(fc, fs) for w, fs in zip(weights, style_features))
    t = alpha * t + (1 - alpha) * fc
    out = decoder(t)[..., : content.shape[-2], : content.shape[-1]]
    if out.shape[-2:] != content.shape[-2:]:
        out = F.interpolate(out, size=content.shape[-2:], mode="bilinear", align_corners=False)
    out = out.clamp(-1, 1)
    return keep_colors(out, content) if preserve_color else out


# ----------------------------------------------------------------------------------------------
# Loading trained models; one entry point for all three methods
# ----------------------------------------------------------------------------------------------


@dataclass
class StyleModel:
    """A trained stylizer from a checkpoint: ``kind`` "fast-style" (``net``) or "adain" (``decoder``),
    its VGG16 encoder when it needs one, and the training config (a dict)."""

    kind: str
    net: nn.Module
    vgg: VGG16Features | None
    config: dict[str, Any]


def load_style_model(path: str | Path, *, device: str | torch.device = "cpu") -> StyleModel:
    """Rebuild the model of a ``fast-style`` or ``adain`` checkpoint (one-line CheckpointError otherwise),
    with its moving-average weights when it has them (``net_ema`` / ``decoder_ema``).
    AdaIN loads the VGG16 weights it was trained against (``config["vgg_weights"]``)."""
    from synthlib.core import checkpoint as ckpt_io
    from synthlib.nn.vgg import load_vgg16_features

    ckpt = ckpt_io.load(path, kind=KINDS)
    name = "net" if ckpt["kind"] == "fast-style" else "decoder"
    if f"{name}_ema" in ckpt["models"]:  # the averaged weights, when training kept them
        name = f"{name}_ema"
    elif name not in ckpt["models"]:
        raise ckpt_io.CheckpointError(f"{path}: a {ckpt['kind']} checkpoint without its {name!r} model")
    net = ckpt_io.rebuild(ckpt["models"][name]).to(device).eval()
    config = ckpt.get("config") or {}
    vgg = None
    if ckpt["kind"] == "adain":
        vgg = load_vgg16_features(config.get("vgg_weights", "offline-hed"), device, max_layer=net.config.layer,
                                  arch=config.get("vgg_arch", "vgg16"))
    return StyleModel(kind=ckpt["kind"], net=net, vgg=vgg, config=config)


@torch.no_grad()
def fast_transfer(net: nn.Module, content: Tensor, *, preserve_color: bool = False) -> Tensor:
    """One pass of a trained :class:`~synthlib.style.style_nets.TransformerNet` (clamped to [-1, 1])."""
    device = next(net.parameters()).device
    content = content.to(device).float()
    out = net(content).clamp(-1, 1)
    return keep_colors(out, content) if preserve_color else out
