"""StyleGAN2 training on the shared loop, and the measurements chapter 5 makes of a trained generator.

The phases (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", section 4
and appendix B), taken in this order at every step whose number they divide:

========== ======= ===========================================================================
phase      every   loss
========== ======= ===========================================================================
``D``      1       logistic: softplus(D(fake)) + softplus(-D(real))
``D_r1``   16      (gamma / 2) * E ||grad_x D(x)||^2 on reals, times 16 (lazy R1)
``G``      1       non-saturating: softplus(-D(fake))
``G_pl``   4       path-length regulariser, times 4 (lazy): (||J_w^T y|| - a)^2
========== ======= ===========================================================================

The fakes come from **style mixing**: with probability ``mixing_prob`` two latents are drawn and the
layers from a random crossover on take the second one's ``w``, so that no layer can rely on its
neighbours sharing its style. G's tracked average ``w`` (the centre of the truncation trick) follows the
batch's ``w`` after every D phase, and an EMA of G is what the chapter samples from.

With ``augment`` set (a policy such as ``"color,translation,cutout"``, see :mod:`synthlib.gan.augment`) every
image D sees -- real or fake, in every phase -- is augmented differentiably first (DiffAugment);
``ada_target`` > 0 makes the probability adaptive (ADA's ``r_t`` heuristic) instead of always-on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core import distributed as dist_utils
from synthlib.core.config import check_choice, check_min
from synthlib.core.train import EMA, HoldThenDecay, Phase, Recipe, Trainer, check_lr_final, hold_then_decay
from synthlib.gan import losses


@dataclass
class StyleGANConfig(HoldThenDecay):
    """Training hyper-parameters of StyleGAN2 (the models have configs of their own).

    Defaults follow StyleGAN2 (config F) where a small CPU run does not need otherwise: Adam with
    betas (0, 0.99) and lr 2e-3 for both networks, R1 every 16 steps, path length every 4 steps with
    weight 2 on half the batch, mixing probability 0.9, EMA half-life 10k images with a 5 % ramp-up.
    StyleGAN2 scales the optimisers of lazily regularised networks by ``c = interval / (interval + 1)``
    (lr * c, beta ** c) so that the combined steps average out to the intended ones; so does this.
    StyleGAN2 keeps its rates constant (the default here); a schedule
    (:class:`~synthlib.core.train.HoldThenDecay`) moves both networks' rates together.
    """

    batch_size: int = 32
    lr: float = 2e-3
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 0.05       # StyleGAN2-ADA uses 0.01 - 0.05 at 32 px, 10 at 1024 px
    r1_every: int = 16
    pl_weight: float = 2.0       # 0 turns the path-length regulariser off
    pl_every: int = 4
    pl_batch_shrink: int = 2     # the regulariser runs on batch_size // shrink fakes
    pl_decay: float = 0.01       # the running mean a of path lengths: a += decay * (mean - a)
    mixing_prob: float = 0.9
    w_avg_beta: float = 0.995    # G.w_avg += (1 - beta) * (batch mean of w - G.w_avg)
    augment: str = ""            # DiffAugment policy ("" = no augmentation), e.g. "color,translation,cutout"
    ada_target: float = 0.0      # > 0: adaptive probability aiming at E[sign D(real)] = target (ADA uses 0.6)
    ada_speed_img: int = 100_000 # images over which p may go from 0 to 1
    ema_half_life_img: float = 10_000.0
    ema_rampup: float | None = 0.05

    def __post_init__(self) -> None:
        check_lr_final("StyleGANConfig", self.lr_final)
        for name in ("batch_size", "r1_every", "pl_every", "pl_batch_shrink"):
            check_min(name, getattr(self, name), owner="StyleGANConfig")
        if not 0 <= self.mixing_prob <= 1:
            raise ValueError(f"StyleGANConfig: mixing_prob must be in [0, 1], got {self.mixing_prob}")


def mixed_ws(G: nn.Module, z: Tensor, prob: float, *, update_avg: float | None = None) -> Tensor:
    """The ``ws`` (N, num_ws, w_dim) of a training batch: ``mapping(z)`` for every layer, except that with
    probability ``prob`` a second latent takes over from a random crossover layer on (style mixing;
    one crossover for the batch, as in StyleGAN2). ``update_avg`` = beta: also move ``G.w_avg``."""
    w = G.mapping(z)
    if update_avg is not None:
        G.update_w_avg(w.detach(), beta=update_avg)
    ws = w[:, None].expand(-1, G.num_ws, -1)
    if prob > 0 and float(torch.rand(())) < prob:
        crossover = int(torch.randint(1, G.num_ws, ()))
        w2 = G.mapping(torch.randn_like(z))
        layer = torch.arange(G.num_ws, device=z.device)[None, :, None]
        ws = torch.where(layer < crossover, ws, w2[:, None].expand(-1, G.num_ws, -1))
    return ws


def path_lengths(G: nn.Module, ws: Tensor) -> Tensor:
    """||J_w^T y||_2 per sample, with y ~ N(0, I) / sqrt(H W) an image-shaped random direction and J_w the
    Jacobian of the image with respect to ``ws`` (summed over the layers' w, then the norm over w_dim,
    averaged over layers as in StyleGAN2). Constant lengths mean that a fixed step in W changes the image
    by a fixed amount wherever it is taken: the smoothness that the path-length regulariser asks for."""
    if not ws.requires_grad:
        ws = ws.detach().requires_grad_(True)
    fake = G.synthesis(ws)
    y = torch.randn_like(fake) / math.sqrt(fake.shape[2] * fake.shape[3])
    (grad,) = torch.autograd.grad((fake * y).sum(), ws, create_graph=True)
    return grad.square().sum(2).mean(1).sqrt()  # (N,)


class PathLengthState:
    """The running mean ``a`` of path lengths (saved in checkpoints through the Trainer's ``stateful``)."""

    def __init__(self) -> None:
        self.mean = torch.zeros(())

    def state_dict(self) -> dict[str, Tensor]:
        return {"mean": self.mean.detach().cpu().clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.mean = state["mean"].clone()


def stylegan_phases(G: nn.Module, D: nn.Module, cfg: StyleGANConfig, *, augment: Callable[[Tensor], Tensor] | None = None,
                    pl_state: PathLengthState | None = None, ada: Any = None) -> list[Phase]:
    """D, lazy R1, G and lazy path-length phases for :class:`~synthlib.core.train.Trainer`.

    ``augment``: applied to every image D sees (e.g. :func:`synthlib.gan.augment.diff_augment` or an
    :class:`~synthlib.gan.augment.AdaptiveAugment`); ``ada``: an object whose ``update(real_logits, n)``
    hears D's verdicts on reals (ADA). Batches are real images (N, C, S, S) in [-1, 1] (or ``(images, ...)``).
    """
    aug = augment if augment is not None else (lambda x: x)
    d_loss_fn, g_loss_fn = losses.get_gan_loss("nonsaturating")
    pl_state = pl_state or PathLengthState()

    def adam(module: nn.Module, every: int) -> torch.optim.Optimizer:
        c = every / (every + 1) if every > 0 else 1.0
        b1, b2 = cfg.betas
        return torch.optim.Adam(module.parameters(), lr=cfg.lr * c, betas=(b1**c, b2**c), eps=1e-8)

    opt_g = adam(G, cfg.pl_every if cfg.pl_weight > 0 else 0)
    opt_d = adam(D, cfg.r1_every if cfg.r1_gamma > 0 else 0)

    def reals(batch: Any) -> Tensor:
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def d_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        real = reals(batch)
        z = torch.randn(real.shape[0], G.config.z_dim, device=real.device)
        ws = mixed_ws(G, z, cfg.mixing_prob, update_avg=cfg.w_avg_beta)
        scratch["fake"] = fake = G.synthesis(ws)  # its graph is kept for the G phase that follows
        real_logits, fake_logits = D(aug(real)), D(aug(fake.detach()))
        logs = {"real_logits": real_logits.detach().mean(), "fake_logits": fake_logits.detach().mean()}
        if ada is not None:
            ada.update(real_logits.detach(), real.shape[0])
            logs["augment_p"] = torch.tensor(float(ada.p))
        return d_loss_fn(real_logits, fake_logits), logs

    def d_r1(batch: Any, scratch: dict[str, Any]) -> Tensor:
        real = reals(batch).detach().float().requires_grad_(True)
        r1 = losses.r1_penalty(real, D(aug(real)).float())
        return (cfg.r1_gamma / 2) * r1 * cfg.r1_every

    def g_step(batch: Any, scratch: dict[str, Any]) -> Tensor:
        return g_loss_fn(D(aug(scratch["fake"])))

    def g_pl(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        n = max(1, reals(batch).shape[0] // cfg.pl_batch_shrink)
        z = torch.randn(n, G.config.z_dim, device=reals(batch).device)
        lengths = path_lengths(G, mixed_ws(G, z, cfg.mixing_prob))
        batch_mean = dist_utils.average_values(lengths.detach().mean())
        a = pl_state.mean.to(lengths.device)
        a = a + cfg.pl_decay * (batch_mean - a)
        pl_state.mean = a.detach()
        penalty = (lengths - a).square().mean()
        return cfg.pl_weight * penalty * cfg.pl_every, {"penalty": penalty.detach(), "mean_length": a.detach()}

    scale = hold_then_decay(cfg)  # one factor for every phase (the lazy ones share their network's optimiser)
    phases = [Phase("D", d_step, opt_d, lr_scale=scale)]
    if cfg.r1_gamma > 0:
        phases.append(Phase("D_r1", d_r1, opt_d, every=cfg.r1_every, fp32=True, lr_scale=scale))
    phases.append(Phase("G", g_step, opt_g, freeze=[D], lr_scale=scale))
    if cfg.pl_weight > 0:
        phases.append(Phase("G_pl", g_pl, opt_g, every=cfg.pl_every, fp32=True, freeze=[D], lr_scale=scale))
    return phases


def stylegan_trainer(
    G: nn.Module, D: nn.Module, data: Iterator[Any], cfg: StyleGANConfig, *, run_config: Any = None, **run: Any,
) -> Trainer:
    """A Trainer of kind ``"stylegan"`` (models ``G``, ``D``, ``G_ema``; the path-length mean and the
    adaptive augmentation's state are saved with them). Several processes under torchrun: see
    :mod:`synthlib.core.distributed` (``cfg.batch_size`` is then the global batch).
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    ada = None
    augment: Callable[[Tensor], Tensor] | None = None
    if cfg.augment:
        from synthlib.gan import augment as augment_lib

        augment_lib.diff_augment(torch.zeros(1, 1, 8, 8), cfg.augment)  # a clear error for a bad policy now
        if cfg.ada_target > 0:
            ada = augment_lib.AdaptiveAugment(target=cfg.ada_target, speed_img=cfg.ada_speed_img, policy=cfg.augment)
            augment = ada
        else:
            augment = lambda x: augment_lib.diff_augment(x, cfg.augment)  # noqa: E731
    pl_state = PathLengthState()
    stateful: dict[str, Any] = {"path_length": pl_state}
    if ada is not None:
        stateful["ada"] = ada
    ema = EMA(G, cfg.ema_half_life_img, rampup=cfg.ema_rampup) if cfg.ema_half_life_img > 0 else None
    recipe = Recipe(
        models={"G": G, "D": D}, phases=stylegan_phases(G, D, cfg, augment=augment, pl_state=pl_state, ada=ada),
        data=data, config=run_config if run_config is not None else cfg, kind="stylegan", ema=ema, stateful=stateful,
    )
    return Trainer.from_recipe(recipe, **run)


def pad_to_32(images: Tensor, fill: float = -1.0) -> Tensor:
    """Fashion-MNIST's 28 x 28 images padded to 32 x 32 (StyleGAN's sizes are powers of two) with the
    background value; :func:`crop_to_28` undoes it for chapter 2's classifier-based FID."""
    return F.pad(images, (2, 2, 2, 2), value=fill)


def crop_to_28(images: Tensor) -> Tensor:
    """The central 28 x 28 of 32 x 32 images (see :func:`pad_to_32`)."""
    return images[..., 2:30, 2:30]


# ----------------------------------------------------------------------------------------------
# Measuring a trained generator (chapter 5)
# ----------------------------------------------------------------------------------------------

FeatureFn = Callable[[Tensor], Tensor]


def _images(G: nn.Module, ws: Tensor, noise_mode: str = "const") -> Tensor:
    return G.synthesis(ws, noise_mode=noise_mode).clamp(-1.0, 1.0)


@torch.no_grad()
def perceptual_path_length(G: nn.Module, features: FeatureFn, *, num: int = 1000, space: str = "w",
                           eps: float = 1e-4, batch_size: int = 250, seed: int = 0) -> float:
    """Karras et al.'s perceptual path length: the mean of d(G(p(t)), G(p(t + eps))) / eps^2 over random
    latent pairs and t ~ U(0, 1), with p the interpolation path between the pair -- spherical in Z
    (``space="z"``), linear in W (``space="w"``) -- and d the squared distance between ``features`` of the
    two images (the paper: LPIPS; here any feature network the caller trusts, e.g. chapter 2's classifier).
    Short means that small steps along the path change the image little and evenly: a smooth latent space.
    As in the paper, the top and bottom 1 % are dropped before averaging. Const noise, no truncation."""
    from synthlib.gan.latent_widget import slerp

    check_choice("space", space, ("z", "w"))
    gen = torch.Generator().manual_seed(seed)
    device = next(G.parameters()).device
    values = []
    for start in range(0, num, batch_size):
        n = min(batch_size, num - start)
        z0, z1 = torch.randn(n, G.config.z_dim, generator=gen), torch.randn(n, G.config.z_dim, generator=gen)
        t = torch.rand(n, 1, generator=gen)
        z0, z1, t = z0.to(device), z1.to(device), t.to(device)
        if space == "z":
            a, b = G.mapping(slerp(z0, z1, t)), G.mapping(slerp(z0, z1, t + eps))
        else:
            w0, w1 = G.mapping(z0), G.mapping(z1)
            a, b = torch.lerp(w0, w1, t), torch.lerp(w0, w1, t + eps)
        fa, fb = features(_images(G, a)), features(_images(G, b))
        values.append(((fa - fb).square().flatten(1).sum(1) / eps**2).cpu())
    d = torch.cat(values)
    lo, hi = torch.quantile(d, 0.01), torch.quantile(d, 0.99)
    return float(d[(d >= lo) & (d <= hi)].mean())


@torch.no_grad()
def noise_std_map(G: nn.Module, w: Tensor, *, num: int = 32, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``num`` images of one ``w`` (w_dim,) with fresh per-pixel noise each: ``(images, std)`` with std the
    per-pixel standard deviation over them (C averaged), the part of the image the noise inputs decide."""
    gen = torch.Generator().manual_seed(seed)
    ws = w.reshape(1, -1).expand(num, -1)
    noise = [n.to(w.device) for n in G.make_noise(num, gen)]
    images = G.synthesis(ws, noise=noise).clamp(-1.0, 1.0)
    return images, images.std(0).mean(0)


def project(G: nn.Module, target: Tensor, *, steps: int = 200, lr: float = 0.05, features: FeatureFn | None = None,
            feature_weight: float = 1.0, per_layer: bool = True, seed: int = 0) -> tuple[Tensor, list[float]]:
    """Find the ``ws`` whose image matches ``target`` (C, S, S) or (1, C, S, S) in [-1, 1]: start from the average w and
    descend ``mean (G(ws) - target)^2 [+ feature_weight * ||features(G(ws)) - features(target)||^2]``
    with Adam (const noise). ``per_layer``: one w per layer (W+, fits better, can leave the learned
    manifold) or one w for all (W). Returns ``(ws (1, num_ws, w_dim), losses)``. G is not changed."""
    device = next(G.parameters()).device
    if target.ndim == 3:
        target = target[None]
    if target.ndim != 4 or target.shape[0] != 1:
        raise ValueError(f"project: target must be one image (C, S, S) or (1, C, S, S), got {tuple(target.shape)}")
    target = target.to(device)
    start = G.w_avg.detach().clone()[None]
    if per_layer:
        start = start[:, None].expand(-1, G.num_ws, -1).clone()
    w = start.requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    target_features = features(target).detach() if features is not None else None
    trace = []
    requires = [p.requires_grad for p in G.parameters()]
    G.requires_grad_(False)
    try:
        for _ in range(steps):
            image = G.synthesis(w if per_layer else w[:, None].expand(-1, G.num_ws, -1), noise_mode="const")
            loss = (image - target).square().mean()
            if features is not None:
                loss = loss + feature_weight * (features(image) - target_features).square().sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            trace.append(float(loss.detach()))
    finally:
        for p, r in zip(G.parameters(), requires):
            p.requires_grad_(r)
    ws = w.detach() if per_layer else w.detach()[:, None].expand(-1, G.num_ws, -1)
    return ws, trace
