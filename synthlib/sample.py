"""Sampling from a trained generator, in a notebook or from the command line.

In a notebook::

    G = synthlib.core.checkpoint.load_models("runs/dcgan/checkpoint.pt")["G_ema"]
    fake_img = sample(G, 64, seed=0)                       # (64, C, H, W) in [-1, 1]
    fake_img = sample(G, 64, seed=0, label=7)              # a conditional G: all of class 7

From a shell (see ``python -m synthlib sample --help``)::

    python -m synthlib sample runs/dcgan/checkpoint.pt --num 1000 --out samples.pt --seed 0
    python -m synthlib sample runs/dcgan/checkpoint.pt --num 64 --out samples/   # 00000.png ...

Samples are repeatable: every latent (and every random class) is drawn on the CPU from a
``torch.Generator`` seeded with ``seed``, so the same seed gives the same samples whatever the
batch size or device. Images follow synthlib's pixel convention: float32 in [-1, 1], N x C x H x W.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from synthlib.core import checkpoint as ckpt_io
from synthlib.core.checkpoint import CheckpointError

# Kinds written by synthlib whose checkpoints hold a generator "G" with a ``z_dim`` in its config.
# The check itself is structural (see load_generator); these names are for messages.
GENERATOR_KINDS = ("dcgan", "toy-gan", "stylegan", "vae", "diffusion", "flow")


def is_iterative(G: nn.Module) -> bool:
    """Whether ``G`` is a denoising network that samples in steps (diffusion or flow matching): its
    config names a ``process``; it starts from image-shaped noise instead of a latent z."""
    return isinstance(getattr(getattr(G, "config", None), "process", None), str)


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode without gradients, then restore every submodule's own mode."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for m, training in modes:
            m.training = training


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); the CPU for a model with neither."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def _z_dim(G: nn.Module) -> int:
    if is_iterative(G):
        cfg = G.config
        return cfg.img_channels * cfg.img_size * cfg.img_size
    z_dim = getattr(getattr(G, "config", None), "z_dim", None)
    if not isinstance(z_dim, int):
        raise ValueError(f"{type(G).__name__} has no config.z_dim, so it is not a generator sample() can drive")
    return z_dim


def num_classes(G: nn.Module) -> int:
    """``G.config.num_classes`` (0 for an unconditional generator, or one without that field)."""
    return int(getattr(getattr(G, "config", None), "num_classes", 0) or 0)


def sample(
    G: nn.Module,
    num: int,
    *,
    seed: int = 0,
    label: int | Tensor | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    truncation: float = 1.0,
    steps: int | None = None,
    guidance: float = 0.0,
) -> Tensor:
    """``num`` samples of ``G`` as one CPU float32 tensor, e.g. (num, C, H, W) in [-1, 1].

    z ~ N(0, I) of shape (num, G.config.z_dim), drawn from ``torch.Generator().manual_seed(seed)``.
    ``label``: for a class-conditional G (``config.num_classes > 0``) an int (every sample of that
    class) or a LongTensor (num,); None draws classes uniformly from the same seeded generator.
    An unconditional G takes no label. ``device`` defaults to G's own device. G runs in eval mode
    under ``torch.no_grad()``; its train/eval mode is restored afterwards.

    ``truncation`` = psi < 1 (generators with a ``truncate`` method, StyleGAN): each w is pulled towards
    the average w, ``w_avg + psi (w - w_avg)`` (more typical images, less variety). Such generators
    draw their per-pixel noise from fixed buffers here (``noise_mode="const"``), so a seed gives the
    same images every time, and their linear outputs are clamped to [-1, 1].

    Diffusion and flow-matching networks (:func:`is_iterative`) start from noise shaped like the
    images, drawn the same way, and run :func:`synthlib.likelihood.generate` with ``steps`` network
    evaluations (default 50: DDIM for diffusion, Euler for flow) and classifier-free ``guidance`` w
    (0 = the plain conditional model). Both samplers are deterministic given the noise.
    """
    return torch.cat(list(iter_samples(G, num, seed=seed, label=label, batch_size=batch_size, device=device,
                                       truncation=truncation, steps=steps, guidance=guidance)))


# Latents are drawn this many samples at a time, so memory does not grow with ``num``; a run of at most
# one chunk draws exactly what one torch.randn(num, z_dim) would.
SEED_CHUNK = 4096


def iter_samples(
    G: nn.Module,
    num: int,
    *,
    seed: int = 0,
    label: int | Tensor | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    truncation: float = 1.0,
    steps: int | None = None,
    guidance: float = 0.0,
) -> Iterator[Tensor]:
    """:func:`sample`'s batches one at a time (CPU float32, at most ``batch_size`` each), so a caller can
    write them as they come: memory stays bounded whatever ``num``. The latents (and random classes) are
    drawn from one seeded generator in chunks of :data:`SEED_CHUNK`, so the samples do not depend on
    ``batch_size`` or ``device``."""
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    styled = callable(getattr(G, "truncate", None))
    iterative = is_iterative(G)
    if not iterative and (steps is not None or guidance != 0.0):
        raise ValueError(f"{type(G).__name__} draws an image in one pass; steps and guidance apply to diffusion "
                         "and flow-matching models")
    if truncation != 1.0 and not styled:
        raise ValueError(f"{type(G).__name__} has no truncation (no average w to pull towards); "
                         "truncation applies to StyleGAN generators, leave it at 1")
    if not 0.0 <= truncation <= 1.0:
        raise ValueError(f"truncation psi must be in [0, 1] (1 = none), got {truncation}")
    z_dim, k = _z_dim(G), num_classes(G)
    device = model_device(G) if device is None else torch.device(device)
    fixed: Tensor | None = None
    if k > 0 and label is not None:
        fixed = torch.as_tensor(label, dtype=torch.long)
        bad = fixed[(fixed < 0) | (fixed >= k)].flatten()
        if len(bad):
            raise ValueError(f"class {int(bad[0])} is out of range: this generator has classes 0..{k - 1}")
        if fixed.ndim and len(fixed) != num:
            raise ValueError(f"label holds {len(fixed)} classes for {num} samples")
    elif label is not None:
        raise ValueError(f"{type(G).__name__} is unconditional (num_classes=0); it takes no class label")

    gen = torch.Generator().manual_seed(seed)
    with evaluating(G):
        for c0 in range(0, num, SEED_CHUNK):
            n = min(SEED_CHUNK, num - c0)
            z = torch.randn(n, z_dim, generator=gen)  # (n, z_dim), on the CPU: repeatable anywhere
            labels: Tensor | None = None
            if k > 0:
                if fixed is None:
                    labels = torch.randint(0, k, (n,), generator=gen)
                else:
                    labels = fixed.expand(num)[c0 : c0 + n].clone()
            for start in range(0, n, batch_size):
                zb = z[start : start + batch_size].to(device)
                lb = None if labels is None else labels[start : start + batch_size].to(device)
                if iterative:
                    from synthlib.likelihood.diffusion import generate

                    cfg = G.config
                    noise = zb.view(-1, cfg.img_channels, cfg.img_size, cfg.img_size)
                    out = generate(G, noise, lb, steps=steps, guidance=guidance)
                elif styled:
                    out = G(zb, psi=truncation, noise_mode="const").clamp(-1.0, 1.0)
                elif lb is None:
                    out = G(zb)
                else:
                    out = G(zb, lb)
                yield out.float().cpu()


def sample_shape(G: nn.Module) -> tuple[int, ...]:
    """The shape of one sample of ``G`` (e.g. (1, 28, 28)), from one forward pass on one latent."""
    return tuple(next(iter_samples(G, 1, seed=0, label=0 if num_classes(G) else None, steps=1
                                   if is_iterative(G) else None)).shape[1:])


def write_png_batch(batch: Tensor, folder: Path, *, start: int = 0, width: int = 5) -> None:
    """Write images (N x C x H x W in [-1, 1], C = 1 or 3) as PNGs ``{start:0{width}d}.png ...`` into ``folder``."""
    from PIL import Image

    from synthlib.data.pixels import to_uint8

    if batch.ndim != 4 or batch.shape[1] not in (1, 3):
        raise ValueError(f"PNG output needs images N x C x H x W with C = 1 or 3, these are {tuple(batch.shape)}")
    pixels = to_uint8(batch).permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    for i, img in enumerate(pixels):
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(folder / f"{start + i:0{width}d}.png")


def load_generator(
    path: str | os.PathLike, *, model: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, str]:
    """Rebuild a checkpoint's generator in eval mode on ``device``: ``(G, name)``.

    ``model``: "G_ema" or "G"; None picks "G_ema" when the checkpoint has one, else "G".
    Raises :class:`~synthlib.core.checkpoint.CheckpointError` when the file is missing or unreadable,
    or holds no generator (a "G" whose config has ``z_dim`` or, for diffusion and flow, ``process``).
    """
    ckpt = ckpt_io.load(path)
    models: dict[str, Any] = ckpt.get("models") or {}
    g_entry = models.get("G")
    g_config = (g_entry.get("config") or {}) if isinstance(g_entry, dict) else {}
    if "z_dim" not in g_config and "process" not in g_config:
        raise CheckpointError(
            f"{path} is a {ckpt.get('kind')!r} checkpoint with models {sorted(models)}, but sampling needs a "
            f"generator 'G' (a z_dim or a diffusion process in its config); "
            f"supported kinds: {', '.join(map(repr, GENERATOR_KINDS))}"
        )
    if model is None:
        model = "G_ema" if "G_ema" in models else "G"
    if model not in ("G", "G_ema"):
        raise ValueError(f"model must be 'G_ema' or 'G', got {model!r}")
    if model not in models:
        raise CheckpointError(f"{path} has no {model!r} (it has {sorted(models)}); use --model G")
    return ckpt_io.rebuild(models[model]).to(device).eval(), model


def is_dir_target(out: str | os.PathLike) -> bool:
    """Whether ``out`` names a folder for PNG files: it exists as one, ends with "/", or has no suffix."""
    text = os.fspath(out)
    return Path(text).is_dir() or text.endswith(("/", os.sep)) or Path(text).suffix == ""


def prepare_target(out: str | os.PathLike) -> Path:
    """Check ``out`` (a ``.pt``/``.pth`` file or a folder) and create the folder it needs, so a bad
    target fails before any sampling. Raises ValueError (wrong suffix) or OSError (not writable)."""
    out = Path(out)
    if is_dir_target(out):
        out.mkdir(parents=True, exist_ok=True)
    elif out.suffix in (".pt", ".pth"):
        out.parent.mkdir(parents=True, exist_ok=True)
    else:
        raise ValueError(f"--out {out}: give a .pt file or a folder for PNG files, not a {out.suffix} file")
    return out


def save_samples(samples: Tensor, out: str | os.PathLike) -> Path:
    """Write samples to ``out``: a ``.pt`` file (one tensor, loads with ``weights_only=True``) or
    a folder of PNGs ``00000.png, 00001.png, ...`` (images N x C x H x W in [-1, 1], C = 1 or 3).

    Raises ValueError for an unsupported target and OSError when it cannot be written.
    """
    out = prepare_target(out)
    if not out.is_dir():
        torch.save(samples.contiguous(), out)
        return out

    write_png_batch(samples, out, width=max(5, len(str(len(samples) - 1))))
    return out
