"""Neural style transfer: Gatys's optimisation, Johnson's feed-forward network and AdaIN.

All three describe an image by the activations of a frozen VGG16 (:mod:`synthlib.models.vgg`):

* **content** = the feature maps themselves at a deep layer (where they are, not how they look);
* **style** = statistics with the positions summed away: Gram matrices (Gatys, Johnson), or
  per-channel means and standard deviations (Huang & Belongie's AdaIN).

Losses here are *relative* squared errors: each layer's error is divided by the mean square of its
target, so a loss of 1 means "as far from the target as the target is from zero". This keeps the
weights meaningful whichever VGG weights are loaded (the offline HED weights take 0..255 inputs,
torchvision's ImageNet ones standardised inputs: their raw feature scales differ by ~60x, their
Gram matrices by ~60**4x) and makes the layers comparable with each other.

The methods:

* :func:`gatys` -- optimise the pixels of one image (L-BFGS or Adam) so that its content
  features match the photo's and its Gram matrices the style's; optional total variation,
  coarse-to-fine scales and luminance-only transfer (colour preservation).
* :func:`fast_style_trainer` -- train a :class:`~synthlib.models.TransformerNet` on content
  crops to minimise the same kind of loss for one fixed style (Johnson et al., 2016).
* :func:`adain_trainer` / :func:`adain_transfer` -- encode with VGG, re-normalise the content
  features to the style's channel statistics, decode (Huang & Belongie, 2017). Any style, one pass.

Pixel convention: float in [-1, 1], N x 3 x H x W, RGB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.config import check_choice
from synthlib.losses import gram_matrix
from synthlib.models.vgg import ALL_LAYERS, VGG16_LAYERS, VGG16Features
from synthlib.train import EMA, Phase, Precision, Trainer

# Layers (VGG16 names). Gatys et al. (2016) used VGG19's conv4_2 for content and conv1_1..5_1 for
# style; Johnson et al. VGG16's relu2_2 for content and relu1_2, 2_2, 3_3, 4_3 for style.
GATYS_CONTENT: tuple[str, ...] = ("relu4_2",)
GATYS_STYLE: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
JOHNSON_CONTENT: tuple[str, ...] = ("relu2_2",)
JOHNSON_STYLE: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
# The chapter's common yardstick for every method's output (the table's two columns).
SCORE_CONTENT = GATYS_CONTENT
SCORE_STYLE = GATYS_STYLE

KINDS = ("fast-style", "adain")  # checkpoint kinds that stylize (gatys needs none)


# ----------------------------------------------------------------------------------------------
# Pure pieces: statistics, AdaIN, losses
# ----------------------------------------------------------------------------------------------

TEXTURES = ("brick", "grass", "gravel")  # scikit-image's textures (CC0), offline


def mean_std(features: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-image, per-channel mean and standard deviation over positions: two N x C x 1 x 1 tensors.

    The standard deviation is the biased one (divide by H*W), plus ``eps`` inside the square root.
    """
    if features.ndim != 4:
        raise ValueError(f"mean_std expects N x C x H x W features, got shape {tuple(features.shape)}")
    f = features.float()
    var = f.var(dim=(2, 3), keepdim=True, unbiased=False)
    return f.mean(dim=(2, 3), keepdim=True), (var + eps).sqrt()


def adain(content: Tensor, style: Tensor, eps: float = 1e-5) -> Tensor:
    """Adaptive instance normalisation (Huang & Belongie, 2017)::

        AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y)

    per image and channel: the content features keep their spatial layout but take the style
    features' channel means and standard deviations. ``style`` may be one image (1 x C x h x w) for
    a whole batch; the two may have different spatial sizes.
    """
    if content.ndim != 4 or style.ndim != 4 or content.shape[1] != style.shape[1]:
        raise ValueError(
            f"adain expects N x C x H x W content and style features with the same C, got {tuple(content.shape)} "
            f"and {tuple(style.shape)}"
        )
    mu_c, sd_c = mean_std(content, eps)
    mu_s, sd_s = mean_std(style, eps)
    return ((content.float() - mu_c) / sd_c * sd_s + mu_s).to(content.dtype)


def relative_mse(x: Tensor, target: Tensor) -> Tensor:
    """``mean((x - target)^2) / mean(target^2)``, per batch: a scale-free squared error (see module doc)."""
    x, target = x.float(), target.float()
    return (x - target).pow(2).mean() / target.pow(2).mean().clamp_min(1e-12)


def content_loss(features: dict[str, Tensor], targets: dict[str, Tensor]) -> Tensor:
    """Mean over layers of the relative squared error between feature maps (targets are detached)."""
    return torch.stack([relative_mse(features[k], targets[k].detach()) for k in targets]).mean()


def gram_style_loss(features: dict[str, Tensor], target_grams: dict[str, Tensor]) -> Tensor:
    """Mean over layers of the relative squared error between Gram matrices (Gatys, Johnson).

    ``target_grams[k]`` is C x C or 1 x C x C (one style for the batch) or N x C x C.
    """
    terms = []
    for k, g_target in target_grams.items():
        g = gram_matrix(features[k])
        terms.append(relative_mse(g, g_target.detach().float().expand_as(g)))
    return torch.stack(terms).mean()


def stats_style_loss(features: dict[str, Tensor], style_features: dict[str, Tensor]) -> Tensor:
    """Mean over layers of the relative squared errors of channel means and standard deviations (AdaIN)."""
    terms = []
    for k, fs in style_features.items():
        mu, sd = mean_std(features[k])
        mu_s, sd_s = mean_std(fs.detach())
        terms.append(relative_mse(mu, mu_s.expand_as(mu)) + relative_mse(sd, sd_s.expand_as(sd)))
    return torch.stack(terms).mean()


def color_stats_loss(images: Tensor, style: Tensor) -> Tensor:
    """Squared error between the per-channel RGB means and standard deviations of ``images`` and of the
    style: one style image (1 x 3 x h x w) for the whole batch, or one per image (N x 3 x h x w, compared
    pairwise). The palette as a statistic of "layer 0", the pixels. Plain (not relative) errors:
    pixels have a fixed scale. Edge-tuned VGG features see colour weakly (see the notebook), so the
    feed-forward methods can add this term to learn the style's palette."""
    mu, sd = mean_std(images)
    mu_s, sd_s = mean_std(style.detach())
    return (mu - mu_s).pow(2).mean() + (sd - sd_s).pow(2).mean()


def total_variation(images: Tensor) -> Tensor:
    """Mean squared difference between neighbouring pixels (horizontal + vertical): penalises noise."""
    dy = images[..., 1:, :] - images[..., :-1, :]
    dx = images[..., :, 1:] - images[..., :, :-1]
    return dy.float().pow(2).mean() + dx.float().pow(2).mean()


# ----------------------------------------------------------------------------------------------
# Colour: luminance-only transfer
# ----------------------------------------------------------------------------------------------

# RGB (0..1) -> YIQ (NTSC). Y is the luminance; I, Q carry the colour.
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]])


def rgb_to_yiq(images: Tensor) -> Tensor:
    """[-1, 1] RGB -> YIQ with Y in [0, 1] (N x 3 x H x W)."""
    x = (images.float() + 1) / 2
    return torch.einsum("ij,njhw->nihw", _RGB2YIQ.to(x.device), x)


def yiq_to_rgb(yiq: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_yiq` (back to [-1, 1] RGB, not clamped)."""
    inv = torch.linalg.inv(_RGB2YIQ).to(yiq.device)
    return torch.einsum("ij,njhw->nihw", inv, yiq.float()) * 2 - 1


def luminance(images: Tensor) -> Tensor:
    """The luminance Y as a gray RGB image in [-1, 1] (N x 3 x H x W)."""
    y = rgb_to_yiq(images)[:, :1]
    return (y * 2 - 1).expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: Tensor, content: Tensor) -> Tensor:
    """The style's luminance, shifted and scaled to the content's luminance mean and standard
    deviation (Gatys et al. 2016b, "Preserving color in neural artistic style transfer")."""
    ys, yc = luminance(style), luminance(content)
    return ((ys - ys.mean()) / ys.std().clamp_min(1e-6) * yc.std() + yc.mean()).clamp(-1, 1)


def keep_colors(stylised: Tensor, content: Tensor) -> Tensor:
    """The stylised image's luminance with the content's colour (I and Q): the photo's palette with
    the style's strokes. Sizes must match."""
    if stylised.shape != content.shape:
        raise ValueError(f"keep_colors needs the same shapes, got {tuple(stylised.shape)} and {tuple(content.shape)}")
    yiq = rgb_to_yiq(content)
    yiq[:, :1] = rgb_to_yiq(stylised)[:, :1]
    return yiq_to_rgb(yiq).clamp(-1, 1)


def match_colors(content: Tensor, style: Tensor) -> Tensor:
    """The photo recoloured to the style's palette: each RGB channel shifted and scaled to the style's
    channel mean and standard deviation (AdaIN on pixels instead of features). The chapter's baseline:
    a method that only does this has not transferred any strokes or textures."""
    mu_c, sd_c = mean_std(content.float())
    mu_s, sd_s = mean_std(style.float())
    return ((content.float() - mu_c) / sd_c * sd_s + mu_s).clamp(-1, 1)


# ----------------------------------------------------------------------------------------------
# Helpers: sizes and features
# ----------------------------------------------------------------------------------------------


def resize_shorter(images: Tensor, size: int) -> Tensor:
    """Resize (antialiased bilinear) so the shorter side is ``size`` pixels, keeping the aspect ratio."""
    h, w = images.shape[-2:]
    if min(h, w) == size:
        return images
    scale = size / min(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(images.float(), size=new, mode="bilinear", align_corners=False, antialias=True)


def load_texture(name: str, size: int | None = None) -> Tensor:
    """One of scikit-image's offline textures (``"brick"``, ``"grass"``, ``"gravel"``: 512 x 512 grey) as a
    1 x 3 x H x W float tensor in [-1, 1] (grey repeated on the three channels), its shorter side ``size`` if given."""
    from skimage import data as skdata

    check_choice("texture", name, TEXTURES)
    img = torch.from_numpy(getattr(skdata, name)()).float() / 127.5 - 1.0  # uint8 H x W -> [-1, 1]
    img = img.view(1, 1, *img.shape[-2:]).expand(1, 3, -1, -1).contiguous()
    return resize_shorter(img, size) if size else img


def style_targets(vgg: VGG16Features, style: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
    """Gram matrices (1 x C x C each) of one style image at ``layers``, without gradients."""
    with torch.no_grad():
        feats = vgg(style[:1], layers)
    return {k: gram_matrix(v) for k, v in feats.items()}


def synthesize_texture(
    vgg: VGG16Features, texture: Tensor, *, size: int = 128, width: int | None = None, steps: int = 200,
    style_layers: Sequence[str] = GATYS_STYLE, texture_size: int | None = None, seed: int = 0,
    callback: Callable[[int, Tensor], None] | None = None,
) -> GatysResult:
    """Texture synthesis from the style loss alone (Gatys, Ecker & Bethge, 2015), from noise::

        x* = argmin_x  sum_l ||G_l(x) - G_l(t)||^2 / ||G_l(t)||^2

    Neural style transfer is this plus a content term. ``texture``: 1 x 3 x H x W in [-1, 1], resized so its
    shorter side is ``texture_size`` (default ``size``); the output is ``size`` x ``width`` (default square).
    The deepest layer in ``style_layers`` sets the largest structure the texture keeps (its receptive field).
    """
    canvas = torch.zeros(1, 3, size, width or size)  # only its shape is used: no content term
    cfg = GatysConfig(size=size, steps=steps, content_weight=0.0, style_weight=1.0, init="noise",
                      content_layers=(), style_layers=tuple(style_layers), style_size=texture_size or size, seed=seed)
    return gatys(vgg, canvas, texture, cfg, callback=callback)


@torch.no_grad()
def transfer_scores(
    vgg: VGG16Features, outputs: Tensor, contents: Tensor, style: Tensor,
    *, content_layers: Sequence[str] = SCORE_CONTENT, style_layers: Sequence[str] = SCORE_STYLE,
) -> dict[str, float]:
    """The chapter's yardstick for any method: mean content loss (outputs vs their content photos)
    and mean Gram style loss (outputs vs the style image) over the batch, both relative (see the
    module doc) and measured at the same layers for every method. Lower is better for both; the
    photo itself scores content 0, the style image itself style 0."""
    if outputs.shape != contents.shape:
        raise ValueError(f"outputs {tuple(outputs.shape)} and contents {tuple(contents.shape)} must match")
    grams = style_targets(vgg, style, style_layers)
    c_terms, s_terms = [], []
    for out, con in zip(outputs.split(1), contents.split(1)):
        f = vgg(out, (*content_layers, *style_layers))
        fc = vgg(con, content_layers)
        c_terms.append(float(content_loss({k: f[k] for k in content_layers}, fc)))
        s_terms.append(float(gram_style_loss({k: f[k] for k in style_layers}, grams)))
    return {"content": sum(c_terms) / len(c_terms), "style": sum(s_terms) / len(s_terms)}


# ----------------------------------------------------------------------------------------------
# Gatys et al.: optimisation of one image
# ----------------------------------------------------------------------------------------------


@dataclass
class GatysConfig:
    """Settings of :func:`gatys`.

    ``steps``: loss evaluations (forward + backward passes through VGG) in all; L-BFGS may take
    several per iteration (line search), so L-BFGS and Adam are compared at equal cost.
    ``scales``: coarse-to-fine fractions of ``size`` (e.g. (0.5, 1.0)); the steps are split
    between them, and each scale starts from the previous result, upsampled.
    ``preserve_color``: transfer on luminance only (the style's luminance matched to the photo's),
    then put the photo's colour back.
    """

    size: int = 256  # shorter side of the output, pixels
    steps: int = 100
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    lr: float = 0.02  # Adam only (pixels are in [-1, 1])
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.0
    init: Literal["content", "noise"] = "content"
    scales: tuple[float, ...] = (1.0,)
    style_size: int | None = None  # shorter side of the style image (None: same as size)
    preserve_color: bool = False
    content_layers: tuple[str, ...] = GATYS_CONTENT
    style_layers: tuple[str, ...] = GATYS_STYLE
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, ("lbfgs", "adam"))
        check_choice("init", self.init, ("content", "noise"))
        if self.steps < 1 or self.size < 16:
            raise ValueError(f"GatysConfig needs steps >= 1 and size >= 16, got steps={self.steps}, size={self.size}")
        if not self.scales or any(not 0 < s <= 1 for s in self.scales) or list(self.scales) != sorted(self.scales):
            raise ValueError(f"GatysConfig.scales must be increasing fractions in (0, 1], got {self.scales}")
        for name in (*self.content_layers, *self.style_layers):
            check_choice("layer", name, ALL_LAYERS)


class _BudgetSpent(Exception):
    """Raised inside the closure once the evaluation budget is spent."""


@dataclass
class GatysResult:
    image: Tensor  # 1 x 3 x H x W in [-1, 1]
    losses: list[float] = field(default_factory=list)  # total loss after each evaluation
    seconds: float = 0.0
    evaluations: int = 0


def gatys(
    vgg: VGG16Features, content: Tensor, style: Tensor, cfg: GatysConfig | None = None,
    *, callback: Callable[[int, Tensor], None] | None = None,
) -> GatysResult:
    """Stylise one photo by optimising its pixels (Gatys, Ecker & Bethge, 2016)::

        L(x) = w_c * sum_l ||F_l(x) - F_l(c)||^2 / ||F_l(c)||^2
             + w_s * sum_l ||G_l(x) - G_l(s)||^2 / ||G_l(s)||^2  + w_tv * TV(x)

    ``content``, ``style``: 1 x 3 x H x W in [-1, 1] (any sizes; resized here). The output has the
    content's aspect ratio with its shorter side ``cfg.size``. ``callback(evaluation, image)`` is
    called after each scale. The result is the evaluated image with the lowest loss.
    """
    cfg = cfg or GatysConfig()
    device = next(vgg.parameters()).device
    content = content.to(device).float()
    style = style.to(device).float()
    if cfg.preserve_color:
        style = match_luminance(resize_shorter(style, cfg.style_size or cfg.size), content)
        content_in = luminance(content)
    else:
        content_in = content
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    per_scale = [cfg.steps // len(cfg.scales)] * len(cfg.scales)
    per_scale[-1] += cfg.steps - sum(per_scale)
    result = GatysResult(image=content)
    x: Tensor | None = None
    start = time.perf_counter()
    for scale, steps in zip(cfg.scales, per_scale):
        size = max(16, round(cfg.size * scale))
        c = resize_shorter(content_in, size)
        s = resize_shorter(style, max(16, round((cfg.style_size or cfg.size) * scale)))
        with torch.no_grad():
            targets = vgg(c, cfg.content_layers)
        grams = style_targets(vgg, s, cfg.style_layers)
        if x is None:
            init = c.clone() if cfg.init == "content" else torch.randn(c.shape, generator=gen).to(device) * 0.5
        else:
            init = F.interpolate(x.detach(), size=c.shape[-2:], mode="bilinear", align_corners=False)
        x = init.detach().requires_grad_(True)
        layers = (*cfg.content_layers, *cfg.style_layers)
        evals = 0
        best: tuple[float, Tensor] = (float("inf"), x.detach().clone())

        def closure() -> Tensor:
            nonlocal evals, best
            if evals >= steps:  # L-BFGS's line search may ask for more than max_eval: stop exactly
                raise _BudgetSpent
            opt.zero_grad(set_to_none=True)
            f = vgg(x, layers)
            loss = cfg.style_weight * gram_style_loss({k: f[k] for k in cfg.style_layers}, grams)
            if cfg.content_layers:  # texture synthesis has none (synthesize_texture)
                loss = loss + cfg.content_weight * content_loss({k: f[k] for k in cfg.content_layers}, targets)
            if cfg.tv_weight > 0:
                loss = loss + cfg.tv_weight * total_variation(x)
            loss.backward()
            evals += 1
            value = float(loss.detach())
            result.losses.append(value)
            if value < best[0]:
                best = (value, x.detach().clone())
            return loss

        try:
            if cfg.optimizer == "lbfgs":
                opt = torch.optim.LBFGS([x], lr=1.0, max_iter=steps, max_eval=steps, history_size=50,
                                        tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")
                while evals < steps:
                    before = evals
                    opt.step(closure)
                    if evals == before:  # converged exactly: nothing left to gain
                        break
            else:
                opt = torch.optim.Adam([x], lr=cfg.lr)
                while evals < steps:
                    closure()
                    opt.step()
        except _BudgetSpent:
            pass
        x = best[1]  # the evaluated image with the lowest loss (L-BFGS may stop mid line search)
        result.evaluations += evals
        if callback is not None:
            callback(result.evaluations, x.detach().clamp(-1, 1))
    assert x is not None
    out = x.detach().clamp(-1, 1)
    if cfg.preserve_color:
        out = keep_colors(out, resize_shorter(content, out.shape[-2]) if out.shape != content.shape else content)
    result.image = out
    result.seconds = time.perf_counter() - start
    return result


# ----------------------------------------------------------------------------------------------
# Johnson et al.: a feed-forward network for one style
# ----------------------------------------------------------------------------------------------


@dataclass
class FastStyleConfig:
    """Training settings of the feed-forward network (Johnson et al. 2016; relative losses here)."""

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

    return [Phase("net", step, opt)]


def _ema(name: str, model: nn.Module, half_life_img: float) -> dict[str, EMA] | None:
    """``{name + "_ema": EMA}`` for a Trainer, or None when the half-life is 0 (no average kept).

    The ramp-up caps the half-life at a quarter of the images seen so far: these networks train for
    minutes, not the days of a GAN, and GAN's 5 % ramp-up would leave the average a copy of the last
    weights for the whole run, while no ramp-up would drag in the random initial weights."""
    return {f"{name}_ema": EMA(model, half_life_img, rampup=0.25)} if half_life_img > 0 else None


def fast_style_trainer(
    net: nn.Module, vgg: VGG16Features, style: Tensor, data: Iterator[Any], cfg: FastStyleConfig,
    *, run_dir: str | Path | None = None, checkpoint_every: int = 0, device: str | torch.device = "auto",
    precision: Precision = "auto", progress: bool = True, log_every: int = 10, callbacks: list | None = None,
) -> Trainer:
    """A Trainer of kind ``"fast-style"`` (model ``net``) over batches of content crops."""
    from synthlib.train import pick_device

    dev = pick_device(device)
    vgg.to(dev)
    phases = fast_style_phases(net, vgg, style.to(dev), cfg)
    trainer = Trainer(
        models={"net": net}, phases=phases, data=data, config=cfg, kind="fast-style", device=dev,
        ema=_ema("net", net, cfg.ema_half_life_img), precision=precision, run_dir=run_dir,
        checkpoint_every=checkpoint_every, progress=progress, log_every=log_every, callbacks=callbacks or [],
    )  # fmt: skip
    trainer.place(vgg)
    return trainer


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
        from synthlib.models.stylenets import ADAIN_LAYERS

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
    decoder: nn.Module, vgg: VGG16Features, data: Iterator[Any], cfg: AdaINConfig,
    *, run_dir: str | Path | None = None, checkpoint_every: int = 0, device: str | torch.device = "auto",
    precision: Precision = "auto", progress: bool = True, log_every: int = 10, callbacks: list | None = None,
) -> Trainer:
    """A Trainer of kind ``"adain"`` (model ``decoder``) over batches ``(content crops, style crops)``."""
    if cfg.vgg_weights != vgg.config.weights or cfg.vgg_arch != vgg.config.arch:
        raise ValueError(f"AdaINConfig.vgg_weights/vgg_arch = {cfg.vgg_weights!r}/{cfg.vgg_arch!r} but the encoder has "
                         f"{vgg.config.weights!r}/{vgg.config.arch!r}")
    if getattr(decoder, "config", None) is not None and decoder.config.layer != cfg.layer:
        raise ValueError(f"decoder is for {decoder.config.layer!r}, AdaINConfig.layer is {cfg.layer!r}")
    trainer = Trainer(
        models={"decoder": decoder}, phases=adain_phases(decoder, vgg, cfg), data=data, config=cfg, kind="adain",
        ema=_ema("decoder", decoder, cfg.ema_half_life_img), device=device, precision=precision, run_dir=run_dir,
        checkpoint_every=checkpoint_every, progress=progress, log_every=log_every, callbacks=callbacks or [],
    )  # fmt: skip
    trainer.place(vgg)
    return trainer


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
    from synthlib import checkpoint as ckpt_io
    from synthlib.models.vgg import load_vgg16_features

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
    """One pass of a trained :class:`~synthlib.models.TransformerNet` (clamped to [-1, 1])."""
    device = next(net.parameters()).device
    content = content.to(device).float()
    out = net(content).clamp(-1, 1)
    return keep_colors(out, content) if preserve_color else out
