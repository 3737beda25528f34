"""Image-to-image translation recipes for the shared loop: Pix2Pix (paired) and CycleGAN (unpaired).

Pix2Pix (Isola et al., 2017) learns G: x -> y from pairs. D sees the input with a candidate output
and says whether the pair is real, patch by patch (a PatchGAN); G minimises

    L_cGAN(G, D) + lambda_l1 * E ||y - G(x)||_1        (paper: lambda_l1 = 100)

The L1 term alone gives the conditional *median*: where several outputs are plausible, a blur. The
adversarial term pushes each patch towards something that looks real. ``Pix2PixConfig(adversarial=False)``
trains the L1-only U-Net that the chapter uses as a baseline (no D at all).

CycleGAN (Zhu et al., 2017) learns G_AB: A -> B and G_BA: B -> A from two unpaired sets. Each G
is trained against its own D with the least-squares GAN loss, plus the cycle constraint and an
identity term:

    L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A)
        + lambda_cycle * (E ||G_BA(G_AB(a)) - a||_1 + E ||G_AB(G_BA(b)) - b||_1)
        + lambda_identity * lambda_cycle * (E ||G_AB(b) - b||_1 + E ||G_BA(a) - a||_1)

(paper: lambda_cycle = 10, lambda_identity = 0.5). Each D is updated on fakes drawn from a
history of the last 50 generated images (:class:`ImagePool`; Shrivastava et al., 2017), so it
does not chase only G's latest mistakes.

Both train through :class:`synthlib.core.train.Trainer` with phases, so checkpoints, exact resume,
EMA, autocast on CUDA and channels_last come from the one loop. Batches: Pix2Pix takes pairs
``(x, y)``; CycleGAN takes ``(a, b)`` from two independent iterators (:class:`ZipBatches`).
Pixel convention: float32 in [-1, 1], N x C x H x W.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.train import EMA, Phase, Recipe, Trainer
from synthlib.data.imageio import IMAGE_SUFFIXES
from synthlib.gan import losses
from synthlib.sample import evaluating, model_device

LossName = Literal["nonsaturating", "lsgan", "hinge"]
# What the translate CLI and the notebook can load: checkpoint kind -> generator names by direction
KINDS = {"pix2pix": {"a2b": "G"}, "cyclegan": {"a2b": "G_AB", "b2a": "G_BA"}}


# ----------------------------------------------------------------------------------------------
# Pure loss terms
# ----------------------------------------------------------------------------------------------


def l1_loss(output: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error E|output - target| (the reconstruction term of Pix2Pix)."""
    return (output - target).abs().mean()


def cycle_loss(real: Tensor, reconstructed: Tensor) -> Tensor:
    """E ||F(G(x)) - x||_1: going there and back must return the input."""
    return l1_loss(reconstructed, real)


def identity_loss(real: Tensor, mapped: Tensor) -> Tensor:
    """E ||G(y) - y||_1 for y already in G's target domain: G should leave it alone (keeps colours)."""
    return l1_loss(mapped, real)


def paired_flip(*images: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, ...]:
    """Flip the same random half of the batch left-right in every tensor (pairs stay aligned)."""
    n = images[0].shape[0]
    mask = torch.rand(n, generator=generator) < 0.5
    mask = mask.to(images[0].device).view(n, 1, 1, 1)
    return tuple(torch.where(mask, img.flip(-1), img) for img in images)


# ----------------------------------------------------------------------------------------------
# History buffer and zipped batches
# ----------------------------------------------------------------------------------------------


class ImagePool:
    """A history of generated images for D (Shrivastava et al., 2017; CycleGAN uses 50).

    ``query(fakes)`` returns a batch of the same size: while the pool is filling, the new images
    (and they are stored); after that, each image is, with probability 1/2, swapped for a random
    stored one (which the new image replaces), else passed through. ``size=0`` disables it.
    Draws come from the pool's own seeded generator, and :meth:`state_dict` holds the stored
    images, so a resumed run continues exactly.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"ImagePool size must be >= 0, got {size}")
        self.size = size
        self.images: list[Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, fakes: Tensor) -> Tensor:
        if self.size == 0:
            return fakes.detach()
        out = []
        for img in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif float(torch.rand((), generator=self.generator)) < 0.5:
                j = int(torch.randint(0, self.size, (), generator=self.generator))
                out.append(self.images[j].clone())
                self.images[j] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack([i.cpu() for i in self.images]) if self.images else torch.empty(0)
        return {"size": self.size, "images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = int(state["size"])
        self.images = list(state["images"].unbind(0)) if state["images"].numel() else []
        self.generator.set_state(state["generator"])


class ZipBatches:
    """Batches ``(a, b)`` from two independent iterators (CycleGAN's two unpaired domains), resumable."""

    def __init__(self, *iterators: Iterator[Any]) -> None:
        if len(iterators) < 2:
            raise ValueError("ZipBatches needs at least two iterators")
        self.iterators = iterators

    def __iter__(self) -> ZipBatches:
        return self

    def __next__(self) -> tuple[Any, ...]:
        return tuple(next(it) for it in self.iterators)

    def state_dict(self) -> dict[str, Any]:
        return {"parts": [it.state_dict() if hasattr(it, "state_dict") else None for it in self.iterators]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for it, part in zip(self.iterators, state["parts"]):
            if part is not None:
                it.load_state_dict(part)


# ----------------------------------------------------------------------------------------------
# Pix2Pix
# ----------------------------------------------------------------------------------------------


@dataclass
class Pix2PixConfig:
    """Hyper-parameters of Pix2Pix training (the networks have configs of their own)."""

    lambda_l1: float = 100.0        # weight of the L1 term (paper: 100)
    adversarial: bool = True        # False: the L1-only baseline, no discriminator
    loss: LossName = "nonsaturating"  # the paper's cGAN loss is the (non-saturating) binary cross-entropy
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 16
    flip: bool = True               # random left-right flips of each pair (the same flip for x and y)
    ema_half_life_img: float = 0.0  # EMA of G, half-life in images; 0 turns it off
    num_steps: int = 1000

    def __post_init__(self) -> None:
        losses.get_gan_loss(self.loss)
        if self.lambda_l1 < 0:
            raise ValueError(f"Pix2PixConfig.lambda_l1 must be >= 0, got {self.lambda_l1}")
        if not self.adversarial and self.lambda_l1 == 0:
            raise ValueError("Pix2PixConfig: with adversarial=False and lambda_l1=0 there is nothing to train")


def pix2pix_phases(G: nn.Module, D: nn.Module | None, cfg: Pix2PixConfig) -> list[Phase]:
    """The D step (pairs (x, y) real, (x, G(x)) fake, objective halved as in the paper), then the G step."""
    d_loss_fn, g_loss_fn = losses.get_gan_loss(cfg.loss)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=True)

    def prepare(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        x, y = batch
        if cfg.flip:
            x, y = paired_flip(x, y)
        scratch["x"], scratch["y"] = x, y
        return x, y

    def d_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        x, y = prepare(batch, scratch)
        fake = G(x)
        scratch["fake"] = fake
        real_logits = D(y, x)
        fake_logits = D(fake.detach(), x)
        loss = 0.5 * d_loss_fn(real_logits, fake_logits)  # halved: D learns slower relative to G (paper, sec. 3.3)
        return loss, {"real_logits": real_logits.detach().mean(), "fake_logits": fake_logits.detach().mean()}

    def g_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        if "fake" not in scratch:  # the L1-only model has no D step
            x, y = prepare(batch, scratch)
            scratch["fake"] = G(x)
        x, y, fake = scratch["x"], scratch["y"], scratch["fake"]
        l1 = l1_loss(fake, y)
        if D is None:
            return cfg.lambda_l1 * l1, {"l1": l1.detach()}
        adv = g_loss_fn(D(fake, x))
        return adv + cfg.lambda_l1 * l1, {"l1": l1.detach(), "adv": adv.detach()}

    phases = []
    if D is not None:
        opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas, fused=True)
        phases.append(Phase("D", d_step, opt_d))
    phases.append(Phase("G", g_step, opt_g, freeze=[D] if D is not None else []))
    return phases


def pix2pix_trainer(
    G: nn.Module,
    D: nn.Module | None,
    data: Iterator[Any],
    cfg: Pix2PixConfig,
    **run: Any,
) -> Trainer:
    """A Trainer of kind ``"pix2pix"`` (models ``G`` and, when adversarial, ``D``; ``G_ema`` if asked).
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    if cfg.adversarial and D is None:
        raise ValueError("Pix2Pix with adversarial=True needs a discriminator D (or set adversarial=False)")
    D = D if cfg.adversarial else None
    models = {"G": G} if D is None else {"G": G, "D": D}
    ema = EMA(G, cfg.ema_half_life_img) if cfg.ema_half_life_img > 0 else None
    recipe = Recipe(models=models, phases=pix2pix_phases(G, D, cfg), data=data, config=cfg, kind="pix2pix", ema=ema)
    return Trainer.from_recipe(recipe, **run)


# ----------------------------------------------------------------------------------------------
# CycleGAN
# ----------------------------------------------------------------------------------------------


@dataclass
class CycleGANConfig:
    """Hyper-parameters of CycleGAN training (paper values as defaults, except the batch size)."""

    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5    # times lambda_cycle (paper: 0.5; 0 turns the identity term off)
    loss: LossName = "lsgan"        # CycleGAN's least-squares GAN loss
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 16            # the paper uses 1; larger batches use a CPU's cores better
    pool_size: int = 50             # history of fakes for each D; 0 turns it off
    flip: bool = True
    ema_half_life_img: float = 0.0  # EMA of both generators; 0 turns it off
    num_steps: int = 1000

    def __post_init__(self) -> None:
        losses.get_gan_loss(self.loss)
        for name in ("lambda_cycle", "lambda_identity", "pool_size"):
            if getattr(self, name) < 0:
                raise ValueError(f"CycleGANConfig.{name} must be >= 0, got {getattr(self, name)}")


def cyclegan_phases(
    G_AB: nn.Module, G_BA: nn.Module, D_A: nn.Module, D_B: nn.Module, cfg: CycleGANConfig,
    pools: tuple[ImagePool, ImagePool],
) -> list[Phase]:
    """The G step (both generators: GAN + cycle + identity), then the D step (both critics, on pooled fakes)."""
    d_loss_fn, g_loss_fn = losses.get_gan_loss(cfg.loss)
    params_g = [*G_AB.parameters(), *G_BA.parameters()]
    params_d = [*D_A.parameters(), *D_B.parameters()]
    opt_g = torch.optim.Adam(params_g, lr=cfg.lr, betas=cfg.betas, fused=True)
    opt_d = torch.optim.Adam(params_d, lr=cfg.lr, betas=cfg.betas, fused=True)
    pool_a, pool_b = pools
    lam_id = cfg.lambda_identity * cfg.lambda_cycle
    # CycleGAN's generator term is the plain mean squared error (D(G(x)) - 1)^2, twice synthlib's LSGAN
    # loss (which keeps Mao et al.'s 1/2); the weights lambda_* are calibrated against the former.
    adv_scale = 2.0 if cfg.loss == "lsgan" else 1.0

    def g_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        a, b = batch
        if cfg.flip:
            (a,), (b,) = paired_flip(a), paired_flip(b)  # independent flips: the domains are unpaired anyway
        fake_b, fake_a = G_AB(a), G_BA(b)
        adv = adv_scale * (g_loss_fn(D_B(fake_b)) + g_loss_fn(D_A(fake_a)))
        cyc = cycle_loss(a, G_BA(fake_b)) + cycle_loss(b, G_AB(fake_a))
        loss = adv + cfg.lambda_cycle * cyc
        logs = {"adv": adv.detach(), "cycle": cyc.detach()}
        if lam_id > 0:
            idt = identity_loss(b, G_AB(b)) + identity_loss(a, G_BA(a))
            loss = loss + lam_id * idt
            logs["identity"] = idt.detach()
        scratch.update(a=a, b=b, fake_a=fake_a.detach(), fake_b=fake_b.detach())
        return loss, logs

    def d_step(batch: Any, scratch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        a, b = scratch["a"], scratch["b"]
        fake_a = pool_a.query(scratch["fake_a"]).to(a.device)
        fake_b = pool_b.query(scratch["fake_b"]).to(b.device)
        loss_a = d_loss_fn(D_A(a), D_A(fake_a))
        loss_b = d_loss_fn(D_B(b), D_B(fake_b))
        return loss_a + loss_b, {"D_A": loss_a.detach(), "D_B": loss_b.detach()}

    return [Phase("G", g_step, opt_g, freeze=[D_A, D_B]), Phase("D", d_step, opt_d, freeze=[G_AB, G_BA])]


def cyclegan_trainer(
    G_AB: nn.Module,
    G_BA: nn.Module,
    D_A: nn.Module,
    D_B: nn.Module,
    data: Iterator[Any],
    cfg: CycleGANConfig,
    *,
    seed: int = 0,
    **run: Any,
) -> Trainer:
    """A Trainer of kind ``"cyclegan"``: models G_AB, G_BA, D_A, D_B (+ G_AB_ema, G_BA_ema if asked).
    ``run``: the run's settings (:data:`~synthlib.core.train.RUN_SETTINGS`: device, precision, compile, ...)."""
    pools = (ImagePool(cfg.pool_size, seed=seed), ImagePool(cfg.pool_size, seed=seed + 1))
    emas = ({"G_AB_ema": EMA(G_AB, cfg.ema_half_life_img), "G_BA_ema": EMA(G_BA, cfg.ema_half_life_img)}
            if cfg.ema_half_life_img > 0 else None)
    recipe = Recipe(
        models={"G_AB": G_AB, "G_BA": G_BA, "D_A": D_A, "D_B": D_B},
        phases=cyclegan_phases(G_AB, G_BA, D_A, D_B, cfg, pools), data=data, config=cfg, kind="cyclegan",
        ema=emas, stateful={"pool_a": pools[0], "pool_b": pools[1]},
    )
    return Trainer.from_recipe(recipe, **run)


# ----------------------------------------------------------------------------------------------
# Applying a trained generator
# ----------------------------------------------------------------------------------------------


def size_multiple(G: nn.Module) -> int:
    """The number an input's height and width must be a multiple of for this generator."""
    config = getattr(G, "config", None)
    num_downs = getattr(config, "num_downs", None)
    if isinstance(num_downs, int):
        return 2**num_downs
    return 2 ** int(getattr(config, "num_downsamplings", 2))


def check_input(G: nn.Module, images: Tensor, what: str = "input") -> None:
    """Raise ValueError (one line) unless ``images`` is N x C x H x W with G's channels and a size it takes."""
    from synthlib.core.errors import UserError

    channels = int(getattr(getattr(G, "config", None), "in_channels", 3))
    if images.ndim != 4:
        raise UserError(f"{what} must be images N x C x H x W, got shape {tuple(images.shape)}")
    if images.shape[1] != channels:
        raise UserError(f"{what} has {images.shape[1]} channels, this generator takes {channels} (RGB)")
    m = size_multiple(G)
    h, w = images.shape[-2:]
    if h % m or w % m or h < m or w < m:
        raise UserError(
            f"{what} is {h}x{w} pixels; this generator needs height and width that are multiples of {m} "
            f"(e.g. {max(m, (h // m) * m)}x{max(m, (w // m) * m)}); resize or crop it"
        )


def translate(G: nn.Module, images: Tensor, *, batch_size: int = 64, device: str | torch.device | None = None) -> Tensor:
    """``G(images)`` in eval mode without gradients, in batches: a CPU float32 tensor of the same shape."""
    check_input(G, images)
    device = model_device(G) if device is None else torch.device(device)
    chunks = []
    with evaluating(G):
        for start in range(0, len(images), batch_size):
            chunks.append(G(images[start : start + batch_size].to(device)).float().cpu())
    return torch.cat(chunks)


def resize_to_multiple(images: Tensor, multiple: int) -> Tensor:
    """Bilinear resize to the nearest size that is a multiple of ``multiple`` (at least one multiple)."""
    h, w = images.shape[-2:]
    size = (max(multiple, round(h / multiple) * multiple), max(multiple, round(w / multiple) * multiple))
    if size == (h, w):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)


# ----------------------------------------------------------------------------------------------
# Files: the translate command line
# ----------------------------------------------------------------------------------------------


def load_translator(
    path: str | Path, *, direction: str = "a2b", model: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, str]:
    """The generator of a ``pix2pix`` or ``cyclegan`` checkpoint for ``direction``: ``(G, name)``.

    ``model``: "G_ema" (the averaged weights) or "G"; None picks the average when the checkpoint
    has one. Raises :class:`~synthlib.core.checkpoint.CheckpointError` (one line) when the file is not a
    translation checkpoint or has no generator for that direction.
    """
    from synthlib.core import checkpoint as ckpt_io

    ckpt = ckpt_io.load(path, kind=tuple(KINDS))
    kind = ckpt["kind"]
    names = KINDS[kind]
    if direction not in names:
        raise ckpt_io.CheckpointError(
            f"{path} is a {kind} checkpoint, which translates one way only (a2b); leave out --direction {direction}, "
            "or use a cyclegan checkpoint"
        )
    base = names[direction]
    models = ckpt["models"]
    if model is None:
        name = f"{base}_ema" if f"{base}_ema" in models else base
    elif model in ("G", "G_ema"):
        name = base if model == "G" else f"{base}_ema"
    else:
        raise ValueError(f"--model must be G_ema or G, got {model!r}")
    if name not in models:
        raise ckpt_io.CheckpointError(f"{path} has no {name!r} (it has {sorted(models)}); use --model G")
    return ckpt_io.rebuild(models[name]).to(device).eval(), name


def read_tensor_input(source: str | Path) -> Tensor:
    """A ``.pt`` file of images to translate (N x 3 x H x W or 3 x H x W) as N x 3 x H x W float32.

    Raises :class:`~synthlib.core.errors.UserError` (one line) for a file that is missing, not a tensor, not
    float images, holds NaN or infinity, or has values outside [-1, 1].
    """
    from synthlib.core.errors import UserError

    source = Path(source)
    if source.suffix.lower() not in (".pt", ".pth"):
        raise UserError(f"--input {source}: give a .pt tensor, an image file ({', '.join(IMAGE_SUFFIXES)}) or a folder")
    try:
        x = torch.load(source, map_location="cpu", weights_only=True)
    except Exception:
        raise UserError(f"--input {source} could not be read as a tensor saved with torch.save") from None
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim not in (3, 4):
        what = f"a {type(x).__name__}" if not isinstance(x, Tensor) else f"a {x.dtype} tensor of shape {tuple(x.shape)}"
        raise UserError(f"--input {source} holds {what}; expected float images N x 3 x H x W in [-1, 1]")
    x = x.float().unsqueeze(0) if x.ndim == 3 else x.float()
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise UserError(f"--input {source} holds {bad} NaN or infinite value(s); synthlib images are finite, in [-1, 1]")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1.01 or hi > 1.01:
        raise UserError(
            f"--input {source} has values in [{lo:.3g}, {hi:.3g}]; synthlib images are in [-1, 1] "
            "(convert uint8 with synthlib.data.from_uint8, [0, 1] with from_unit)"
        )
    return x
