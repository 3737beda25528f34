"""Neural style transfer: Gatys's optimisation, texture synthesis, and the losses and colour helpers that the
feed-forward methods (:mod:`synthlib.style.feedforward`) share with it.

All three methods describe an image by the activations of a frozen VGG16 (:mod:`synthlib.nn.vgg`):

* **content** = the feature maps themselves at a deep layer (where they are, not how they look);
* **style** = statistics with the positions summed away: Gram matrices (Gatys, Johnson), or
  per-channel means and standard deviations (Huang & Belongie's AdaIN).

Losses here are *relative* squared errors: each layer's error is divided by the mean square of its
target, so a loss of 1 means "as far from the target as the target is from zero". This keeps the
weights meaningful whichever VGG weights are loaded (the offline HED weights take 0..255 inputs,
torchvision's ImageNet ones standardised inputs: their raw feature scales differ by ~60x, their
Gram matrices by ~60**2x, their squared errors by ~60**4x) and makes the layers comparable with each other.

The methods:

* :func:`gatys` -- optimise the pixels of one image (L-BFGS or Adam) so that its content
  features match the photo's and its Gram matrices the style's; optional total variation,
  coarse-to-fine scales and luminance-only transfer (colour preservation).
* :func:`~synthlib.style.feedforward.fast_style_trainer` (in :mod:`~synthlib.style.feedforward`) -- train a
  :class:`~synthlib.style.style_nets.TransformerNet` on content
  crops to minimise the same kind of loss for one fixed style (Johnson et al., 2016).
* :func:`~synthlib.style.feedforward.adain_trainer` / :func:`~synthlib.style.feedforward.adain_transfer` (there too)
  -- encode with VGG, re-normalise the content
  features to the style's channel statistics, decode (Huang & Belongie, 2017). Any style, one pass.

Pixel convention: float in [-1, 1], N x 3 x H x W, RGB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from synthlib.core.config import check_choice
from synthlib.gan.losses import gram_matrix
from synthlib.nn.vgg import ALL_LAYERS, VGG16Features

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

        x* = argmin_x  mean_l ||G_l(x) - G_l(t)||^2 / ||G_l(t)||^2

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

        L(x) = w_c * mean_l ||F_l(x) - F_l(c)||^2 / ||F_l(c)||^2
             + w_s * mean_l ||G_l(x) - G_l(s)||^2 / ||G_l(s)||^2  + w_tv * TV(x)

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
