"""Course weights: each chapter's headline model, trained once with the chapter's own recipe for a long budget.

Issue 23. Every name below is one recipe: the chapter's library recipe (its models, its trainer factory, its
hyper-parameters, its seed) with a budget in **steps**, so ``make weights NAME=...`` reproduces it on any
machine (only the wall time differs). What ships in ``synthlib/weights/course/`` is what sampling and the
explorers need -- the averaged generator's weights (safetensors, fp16 where the chapter's metrics do not change)
-- and one ``manifest.json`` that holds, per name, the models' architectures and configs, the file's SHA-256 and
size, the budget, the images seen, the training time and hardware, the command, and the chapter's metrics next to
the chapter's default-profile numbers.

Use them wherever a checkpoint path is accepted, as ``course:NAME``::

    G, _ = synthlib.sample.load_generator("course:dcgan-fashion")
    ckpt = synthlib.checkpoint.load("course:dcgan-fashion")      # {"format", "kind", "models": {...}, ...}

The file's SHA-256 is checked against the manifest at every load; a missing or corrupted file raises
:class:`~synthlib.checkpoint.CheckpointError` with one line that names the file and ``make weights NAME=...``.

Training (``make weights`` runs this under ``nice``)::

    python -m synthlib.course_weights train dcgan-fashion     # trains in runs/course-weights/dcgan-fashion/
    python -m synthlib.course_weights train                   # every name not yet in the manifest, in order
    python -m synthlib.course_weights list

A run checkpoints every few minutes of work (``checkpoint.pt``: models, EMA, optimisers, RNG and data positions,
the training clock), so a killed run continues exactly where it stopped when started again; it logs to
``train.log`` beside it. At the end it exports the weights, scores them with the chapter's metrics on the same
number of samples as the chapter's default profile, and writes the manifest entry.

``$SYNTHLIB_COURSE_WEIGHTS`` points the weights folder elsewhere (the tests train tiny recipes into a temporary
folder through the same code path: ``train(name, tiny=True, ...)``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import difflib
import functools
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from synthlib import checkpoint as ckpt_io
from synthlib.checkpoint import CheckpointError

__all__ = ["PREFIX", "RECIPES", "Recipe", "WEIGHTS_ENV", "list_weights", "load", "load_checkpoint", "manifest_path",
           "resolve_name", "train", "verify", "weights_dir"]  # fmt: skip

WEIGHTS_ENV = "SYNTHLIB_COURSE_WEIGHTS"
PREFIX = "course:"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "synthlib-course-weights-1"

# Every name issue 23 asks for, in the order `make weights` trains them. A name without a recipe yet is listed
# (with "no recipe yet") but not trained.
NAMES = ("dcgan-fashion", "diffusion-fashion", "stylegan-fashion", "vae-fashion", "flow-fashion", "pix2pix-emoji",
         "cyclegan-emoji", "fast-style-NAME", "adain", "stylegan-emoji", "inpaint", "sr-x4")  # fmt: skip


def weights_dir() -> Path:
    """Where the course weights and their manifest live: ``$SYNTHLIB_COURSE_WEIGHTS``, else ``synthlib/weights/course``."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else Path(__file__).resolve().parent / "weights" / "course"


def manifest_path(folder: str | os.PathLike | None = None) -> Path:
    return Path(folder if folder is not None else weights_dir()) / MANIFEST_NAME


def runs_dir() -> Path:
    """Where training runs go: ``<runs root>/course-weights`` (``runs/`` unless ``$SYNTHLIB_RUNS_ROOT``)."""
    from synthlib.runs import runs_root

    return runs_root() / "course-weights"


def command(name: str) -> str:
    return f"make weights NAME={name}"


# ----------------------------------------------------------------------------------------------
# Recipes


@dataclass(frozen=True)
class Recipe:
    """One course weight: how to build its trainer (the chapter's recipe), its budget, how to score it.

    build:   ``build(recipe, tiny) -> Trainer`` with its data; the chapter's models, config and trainer factory
             (``tiny``: the chapter's smoke-profile sizes, for tests). Seeded by :func:`train` before the call.
    score:   ``score(models, tiny) -> {metric: value}``: the chapter's metrics of the exported models
             (``{"G_ema": ...}``), on as many samples as the chapter's default profile (fewer when ``tiny``).
    watch:   a cheaper score logged to ``train.log`` every ``watch_every`` steps (None: no watch).
    goals:   per metric, ``"lower"`` or ``"higher"`` is better (what "beats the default profile" means).
    default_profile: the chapter's default-profile numbers, with their ``"source"``.
    export:  the trainer's models that ship (the averaged generator).
    threads: torch threads while training (None: torch's default).
    """

    name: str
    chapter: str
    description: str
    kind: str
    steps: int
    batch_size: int
    seed: int
    build: Callable[[Recipe, bool], Any]
    score: Callable[[dict[str, nn.Module], bool], dict[str, float]]
    goals: Mapping[str, str]
    default_profile: Mapping[str, Any]
    watch: Callable[[dict[str, nn.Module], bool], dict[str, float]] | None = None
    export: tuple[str, ...] = ("G_ema",)
    threads: int | None = None
    checkpoint_every: int = 2000
    log_every: int = 500
    watch_every: int = 5000
    tiny_steps: int = 6
    notes: str = ""

    @property
    def images(self) -> int:
        return self.steps * self.batch_size


# ---------------------------------------------------------------------------------------------- Fashion-MNIST
@functools.lru_cache(maxsize=4)
def _fashion_evaluator(num_real: int, kid_subsets: int) -> tuple[Any, Tensor]:
    """Chapters 2, 5 and 7's ruler: FID/KID against the first ``num_real`` test images, and their features."""
    from synthlib.data import from_uint8, load_fashion_mnist_uint8
    from synthlib.metrics.fid import FIDEvaluator, classifier_features

    test_u8, _ = load_fashion_mnist_uint8("test")
    real = from_uint8(test_u8[:num_real])
    return FIDEvaluator(real, kid_subsets=kid_subsets), classifier_features(real)


def fashion_scores(images: Tensor, *, num_real: int, kid_subsets: int) -> dict[str, float]:
    """FID, KID x 1000, precision and recall of 28 px images in the Fashion-MNIST classifier's features, as the
    chapters compute them (:class:`~synthlib.metrics.fid.FIDEvaluator`, ``precision_recall`` with k = 3)."""
    from synthlib.metrics.fid import classifier_features
    from synthlib.metrics.prdc import precision_recall

    evaluate, real_features = _fashion_evaluator(num_real, kid_subsets)
    r = evaluate(images)
    return {"fid": r["fid"], "kid_x1000": 1000 * r["kid_mean"],
            **precision_recall(real_features, classifier_features(images)), "num_samples": len(images)}


GAN_GOALS = {"fid": "lower", "kid_x1000": "lower", "precision": "higher", "recall": "higher"}


def _fashion_u8() -> Tensor:
    from synthlib.data import load_fashion_mnist_uint8

    return load_fashion_mnist_uint8("train")[0]


# dcgan-fashion: chapter 2's improved DCGAN (lr 2e-3, lazy R1, EMA), default-profile sizes
def _dcgan_build(r: Recipe, tiny: bool) -> Any:
    from synthlib.data import TensorBatches, from_uint8
    from synthlib.gan import GANConfig, gan_trainer
    from synthlib.models.dcgan import DCGANDiscriminator, DCGANGenerator

    z_dim, base = (16, 8) if tiny else (64, 32)  # chapter 2's smoke / default sizes
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=z_dim, img_size=28, img_channels=1, base_channels=base))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=28, img_channels=1, base_channels=base, norm="batch"))
    cfg = GANConfig(loss="nonsaturating", z_dim=z_dim, batch_size=r.batch_size, lr_g=2e-3, lr_d=2e-3,
                    betas=(0.5, 0.999), r1_gamma=0.1, r1_every=16,
                    ema_half_life_img=1000 if tiny else 10_000, ema_rampup=0.05)  # the full profile's half-life
    data = TensorBatches(_fashion_u8(), batch_size=r.batch_size, seed=r.seed, transform=from_uint8)
    return gan_trainer(G, D, data, cfg, kind="dcgan", progress=False)


def _dcgan_score(models: dict[str, nn.Module], tiny: bool, num: int | None = None) -> dict[str, float]:
    from synthlib.sample import sample

    n = num or (200 if tiny else 5000)  # chapter 2: num_fake_eval = num_real_eval = 5000, eval_seed = 7, 50 KID subsets
    return fashion_scores(sample(models["G_ema"], n, seed=7), num_real=n, kid_subsets=5 if tiny else 50)


def _dcgan_watch(models: dict[str, nn.Module], tiny: bool) -> dict[str, float]:
    from synthlib.sample import sample

    # chapter 2's check during training: 1,000 samples (seed 99) against the 5,000 real test images
    n = 100 if tiny else 1000
    out = fashion_scores(sample(models["G_ema"], n, seed=99), num_real=200 if tiny else 5000, kid_subsets=5)
    return {k: out[k] for k in ("fid", "precision", "recall")}


RECIPES: dict[str, Recipe] = {}


def _register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


_register(Recipe(
    name="dcgan-fashion", chapter="02_dcgan",
    description="chapter 2's improved DCGAN (lr 2e-3, lazy R1, EMA) on Fashion-MNIST, 28 px, G_ema",
    kind="dcgan", steps=50_000, batch_size=64, seed=0,
    build=_dcgan_build, score=_dcgan_score, watch=_dcgan_watch, goals=GAN_GOALS,
    default_profile={"fid": 6.4, "kid_x1000": 74.0, "precision": 0.62, "recall": 0.72, "steps": 5458,
                     "train_seconds": 210,
                     "source": "notebooks/02_dcgan.ipynb, 'What the numbers say' (default profile, make course "
                               "2026-11-24): improved G_ema, 5,000 samples"},
    threads=1,  # chapter 2 trains its small networks on one thread (two are slower on a busy 2-core CPU)
    checkpoint_every=5000, log_every=1000, watch_every=5000,
    notes="chapter 2's default-profile sizes (z_dim 64, 32 base channels) and recipe; EMA half-life 10,000 images "
          "(the full profile's: a long run averages over more)",
))


# diffusion-fashion: chapter 7's class-conditional U-Net, epsilon prediction, cosine schedule
def _denoiser_build(process: str) -> Callable[[Recipe, bool], Any]:
    def build(r: Recipe, tiny: bool) -> Any:
        from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8
        from synthlib.diffusion import DiffusionConfig, denoiser_trainer
        from synthlib.models.diffusion import DiffusionUNet

        arch = dict(channels=(8, 16), patch=2) if tiny else dict(channels=(32, 64), patch=2)  # smoke / default
        model = DiffusionUNet(DiffusionUNet.Config(num_classes=10, process=process, schedule="cosine", **arch))
        cfg = DiffusionConfig(batch_size=r.batch_size, lr=2e-3 if tiny else 1e-3,
                              ema_half_life_img=100 if tiny else 200_000)  # the full profile's half-life
        train_u8, train_labels = load_fashion_mnist_uint8("train")
        data = TensorBatches(train_u8, train_labels, batch_size=r.batch_size, seed=r.seed, transform=from_uint8)
        return denoiser_trainer(model, data, cfg, log_every=25)
    return build


def _denoiser_images(G: nn.Module, n: int, *, steps: int, w: float, seed: int = 3, batch: int = 500) -> Tensor:
    """Chapter 7's ``sample_with``: n class-balanced samples (labels 0..9 in turn) from noise seeded ``seed``."""
    from synthlib.diffusion import generate

    g = torch.Generator().manual_seed(seed)
    noise, labels = torch.randn(n, 1, 28, 28, generator=g), torch.arange(n) % 10
    with torch.no_grad():
        return torch.cat([generate(G, noise[i:i + batch], labels[i:i + batch], steps=steps, guidance=w, generator=g)
                          for i in range(0, n, batch)])


def _denoiser_score(models: dict[str, nn.Module], tiny: bool) -> dict[str, float]:
    """Chapter 7's table: 1,000 class-balanced samples, 20 sampler steps (DDIM / Euler), w = 0 and w = 2
    (the chapter's ``guidance``); FID/KID against the first 1,000 test images, precision, recall, class accuracy."""
    import numpy as np

    from synthlib.metrics.fid import per_class_accuracy

    n, steps = (100, 4) if tiny else (1000, 20)
    out: dict[str, float] = {}
    for w, prefix in ((0.0, ""), (2.0, "w2_")):
        images = _denoiser_images(models["G_ema"], n, steps=steps, w=w)
        s = fashion_scores(images, num_real=n, kid_subsets=5 if tiny else 50)
        s["class_accuracy"] = float(np.nanmean(per_class_accuracy(images, torch.arange(n) % 10)))
        out.update({f"{prefix}{k}": v for k, v in s.items() if not (prefix and k == "num_samples")})
    out["sampler_steps"] = steps
    return out


def _denoiser_watch(models: dict[str, nn.Module], tiny: bool) -> dict[str, float]:
    images = _denoiser_images(models["G_ema"], 500, steps=20, w=0.0)
    s = fashion_scores(images, num_real=1000, kid_subsets=5)
    return {k: s[k] for k in ("fid", "precision", "recall")}


DENOISER_GOALS = {**GAN_GOALS, "class_accuracy": "higher"}

_register(Recipe(
    name="diffusion-fashion", chapter="07_likelihood",
    description="chapter 7's class-conditional diffusion U-Net (epsilon prediction, cosine schedule) on "
                "Fashion-MNIST, G_ema; DDIM sampling, classifier-free guidance",
    kind="diffusion", steps=21_000, batch_size=64, seed=0,
    build=_denoiser_build("diffusion"), score=_denoiser_score, watch=_denoiser_watch, goals=DENOISER_GOALS,
    default_profile={"fid": 17.5, "recall": 0.61, "class_accuracy": 0.55, "train_seconds": 240,
                     "source": "notebooks/07_likelihood.ipynb, 'What the numbers say' (default profile, 2026-11-25): "
                               "diffusion, DDIM 20 steps, w = 0, 1,000 samples"},
    threads=1,  # a busy 2-core machine: two threads run this U-Net several times slower than one
    checkpoint_every=1000, log_every=250, watch_every=4000,
    notes="chapter 7's default-profile U-Net (channels 32, 64; patch 2) and learning rate 1e-3; EMA half-life "
          "200,000 images (the full profile's: a long run averages over more)",
))


_register(Recipe(
    name="flow-fashion", chapter="07_likelihood",
    description="chapter 7's class-conditional U-Net trained by flow matching (straight paths) on Fashion-MNIST, "
                "G_ema; Euler sampling, classifier-free guidance",
    kind="flow", steps=24_000, batch_size=64, seed=0,
    build=_denoiser_build("flow"), score=_denoiser_score, watch=_denoiser_watch, goals=DENOISER_GOALS,
    default_profile={"fid": 13.7, "train_seconds": 120,
                     "source": "notebooks/07_likelihood.ipynb, 'What the numbers say' (default profile, 2026-11-25): "
                               "flow matching, Euler 20 steps, w = 0, 1,000 samples"},
    threads=1, checkpoint_every=1000, log_every=250, watch_every=4000,
    notes="the diffusion-fashion recipe with the flow-matching objective, as chapter 7 trains both",
))


# vae-fashion: chapter 7's convolutional VAE (z 16), the ELBO with beta = 1
def _vae_build(r: Recipe, tiny: bool) -> Any:
    from synthlib.data import TensorBatches, from_uint8
    from synthlib.diffusion import VAEConfig, vae_trainer
    from synthlib.models.diffusion import ConvVAE

    size = dict(z_dim=4, channels=(8, 16), hidden=32) if tiny else dict(z_dim=16)  # chapter 7's smoke / default
    vae = ConvVAE(ConvVAE.Config(**size))
    cfg = VAEConfig(batch_size=r.batch_size, beta=1.0)
    data = TensorBatches(_fashion_u8(), batch_size=r.batch_size, seed=r.seed, transform=from_uint8)
    return vae_trainer(vae, data, cfg, log_every=25)


def _vae_score(models: dict[str, nn.Module], tiny: bool) -> dict[str, float]:
    from synthlib.sample import sample

    n = 100 if tiny else 1000  # chapter 7: num_eval = 1000 prior samples, seed 1, 50 KID subsets
    return fashion_scores(sample(models["G_ema"], n, seed=1), num_real=n, kid_subsets=5 if tiny else 50)


_register(Recipe(
    name="vae-fashion", chapter="07_likelihood",
    description="chapter 7's convolutional VAE (z 16, Gaussian decoder, the ELBO) on Fashion-MNIST, G_ema",
    kind="vae", steps=20_000, batch_size=128, seed=0,
    build=_vae_build, score=_vae_score, watch=lambda models, tiny: {k: v for k, v in _vae_score(models, tiny).items()
                                                                   if k in ("fid", "precision", "recall")},
    goals=GAN_GOALS, tiny_steps=6,
    default_profile={"fid": 28.0, "recall": 0.37, "train_seconds": 45,
                     "source": "notebooks/07_likelihood.ipynb, 'What the numbers say' (default profile, 2026-11-25): "
                               "VAE z 16 after 45 s, 1,000 prior samples"},
    threads=1, checkpoint_every=2000, log_every=500, watch_every=5000,
    notes="chapter 7's default-profile VAE and recipe (batch 128, lr 2e-3, decoder sigma 0.3, EMA half-life 10,000 "
          "images)",
))


# stylegan-fashion: chapter 5's StyleGAN2 generator against StyleGAN2's own residual D, the paper's regularisers
def _stylegan_build(r: Recipe, tiny: bool) -> Any:
    from synthlib.data import TensorBatches, from_uint8
    from synthlib.models.stylegan import StyleGANDiscriminator, StyleGANGenerator
    from synthlib.stylegan import StyleGANConfig, pad_to_32, stylegan_trainer

    arch = (dict(base_channels=4, max_channels=16, z_dim=16, n_mlp=1) if tiny        # chapter 5's smoke sizes
            else dict(base_channels=16, max_channels=128, z_dim=64, n_mlp=2))        # ... and default sizes
    G = StyleGANGenerator(StyleGANGenerator.Config(img_size=32, img_channels=1, w_dim=arch["z_dim"], output="linear",
                                                   **arch))
    D = StyleGANDiscriminator(StyleGANDiscriminator.Config(img_size=32, img_channels=1,
                                                           base_channels=arch["base_channels"],
                                                           max_channels=arch["max_channels"]))
    # chapter 5's full profile: StyleGAN2's regularisers (R1 0.05, path length 2, mixing 0.9), lr 2.5e-3
    cfg = StyleGANConfig(batch_size=r.batch_size, lr=2.5e-3, r1_gamma=0.05, pl_weight=2.0, mixing_prob=0.9,
                         augment="", ema_half_life_img=100 if tiny else 20_000)
    data = TensorBatches(_fashion_u8(), batch_size=r.batch_size, seed=r.seed, transform=lambda u8: pad_to_32(from_uint8(u8)))
    return stylegan_trainer(G, D, data, cfg, progress=False)


def _stylegan_score(models: dict[str, nn.Module], tiny: bool) -> dict[str, float]:
    from synthlib.sample import sample
    from synthlib.stylegan import crop_to_28

    n = 200 if tiny else 5000  # chapter 5: num_eval = 5000, samples seed 1 cropped to 28 px, 50 KID subsets
    return fashion_scores(crop_to_28(sample(models["G_ema"], n, seed=1)), num_real=n, kid_subsets=5 if tiny else 50)


def _stylegan_watch(models: dict[str, nn.Module], tiny: bool) -> dict[str, float]:
    from synthlib.sample import sample
    from synthlib.stylegan import crop_to_28

    s = fashion_scores(crop_to_28(sample(models["G_ema"], 1000, seed=99)), num_real=5000, kid_subsets=5)
    return {k: s[k] for k in ("fid", "precision", "recall")}


_register(Recipe(
    name="stylegan-fashion", chapter="05_stylegan",
    description="chapter 5's StyleGAN2 (mapping network, modulated convs, noise) with StyleGAN2's own residual D and "
                "the paper's regularisers (lazy R1, path length, style mixing) on Fashion-MNIST at 32 px, G_ema",
    kind="stylegan", steps=20_000, batch_size=32, seed=0,
    build=_stylegan_build, score=_stylegan_score, watch=_stylegan_watch, goals=GAN_GOALS,
    default_profile={"fid": 7.1, "recall": 0.50, "train_seconds": 300,
                     "stylegan2_pair": {"fid": 42.0, "recall": 0.0004, "train_seconds": 150},
                     "source": "README / notebooks/05_stylegan.ipynb (default profile): the StyleGAN generator against "
                               "chapter 2's batch-norm D after 300 s; the StyleGAN2 pair (this recipe's D) after 150 s"},
    threads=1, checkpoint_every=1000, log_every=250, watch_every=2500,
    notes="chapter 5's default-profile sizes (base 16, max 128 channels, z/w 64, 2 mapping layers), StyleGAN2's "
          "residual D with minibatch std, the full profile's regularisers and EMA half-life (20,000 images)",
))


def resolve_name(name: str) -> str:
    """``"course:NAME"`` or ``"NAME"`` -> ``"NAME"``; an unknown name raises CheckpointError naming the known ones."""
    name = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if name in RECIPES or name in NAMES:
        return name
    close = difflib.get_close_matches(name, [*RECIPES, *NAMES], n=1)
    hint = f" (did you mean course:{close[0]}?)" if close else ""
    raise CheckpointError(f"course:{name} is not a course weight{hint}; the names are: {', '.join(NAMES)}")


def get_recipe(name: str) -> Recipe:
    name = resolve_name(name)
    if name not in RECIPES:
        raise CheckpointError(f"course:{name} has no training recipe yet (issue 23); recipes: {', '.join(RECIPES)}")
    return RECIPES[name]


# ----------------------------------------------------------------------------------------------
# The manifest, and loading


def read_manifest(folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The manifest's ``"weights"`` entries ({} when there is no manifest yet)."""
    path = manifest_path(folder)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["weights"]
        if not isinstance(entries, dict):
            raise TypeError("'weights' is not an object")
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path} is not a valid course-weights manifest ({e}); restore it from git "
                              "(git checkout -- synthlib/weights/course) or rebuild with `make weights`") from None
    return entries


def _write_json_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the file ships in the repository
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _update_manifest(folder: Path, name: str, entry: dict[str, Any]) -> None:
    entries = read_manifest(folder)
    entries[name] = entry
    order = {n: i for i, n in enumerate(NAMES)}
    ordered = dict(sorted(entries.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    _write_json_atomic({"format": MANIFEST_FORMAT,
                        "about": "Course weights (issue 23): one entry per name; see synthlib/course_weights.py. "
                                 "Each file's sha256 is checked at load; `make weights NAME=...` reproduces it.",
                        "weights": ordered}, manifest_path(folder))


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(name: str, folder: Path) -> dict[str, Any]:
    entry = read_manifest(folder).get(name)
    if entry is None:
        raise CheckpointError(f"course:{name} is not built yet: {manifest_path(folder)} has no entry for it; "
                              f"train it with `{command(name)}`")
    return entry


def verify(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The weights file of ``name`` after checking that it exists and matches the manifest's SHA-256."""
    name = resolve_name(name)
    folder = Path(folder) if folder is not None else weights_dir()
    entry = _entry(name, folder)
    path = folder / entry["file"]
    if not path.is_file():
        raise CheckpointError(f"{path} is missing (course:{name}): restore it from git "
                              f"(git checkout -- {path.name}) or rebuild it with `{command(name)}`")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise CheckpointError(f"{path} is corrupt (course:{name}): its SHA-256 is {actual[:16]}..., the manifest "
                              f"expects {entry['sha256'][:16]}...; restore it from git or rebuild it with `{command(name)}`")
    return path


def load_checkpoint(name: str, *, kind: str | Sequence[str] | None = None, map_location: Any = "cpu",
                    folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """``course:NAME`` as a dict in synthlib's checkpoint format (what :func:`synthlib.checkpoint.load` returns).

    ``{"format", "kind", "step", "num_img", "config", "models": {"G_ema": {"arch", "config", "state"}, "G": <the
    same entry>}, "course": <manifest entry>}``. Only the averaged generator ships; "G" names the same entry so that
    code asking for a checkpoint's G (``load_generator(..., model="G")``) gets it too. Weights are float32 (files
    stored in fp16 are widened). Raises :class:`CheckpointError` (one line) for an unknown name, a name not built
    yet, a missing or corrupted file, or another ``kind``.
    """
    from safetensors.torch import load_file

    name = resolve_name(name)
    path = verify(name, folder)
    entry = _entry(name, Path(folder) if folder is not None else weights_dir())
    accepted = (kind,) if isinstance(kind, str) else tuple(kind) if kind is not None else None
    if accepted is not None and entry["kind"] not in accepted:
        raise CheckpointError(f"course:{name} is a {entry['kind']!r} checkpoint, but a "
                              f"{' or '.join(map(repr, accepted))} checkpoint is needed")
    try:
        flat = load_file(str(path), device=str(map_location) if isinstance(map_location, (str, torch.device)) else "cpu")
    except Exception as e:  # the checksum matched, so this file was written by something else
        raise CheckpointError(f"{path} could not be read as safetensors ({type(e).__name__}); "
                              f"rebuild it with `{command(name)}`") from None
    models: dict[str, Any] = {}
    for model_name, spec in entry["models"].items():
        prefix = f"{model_name}."
        state = {k[len(prefix):]: (v.float() if v.is_floating_point() else v) for k, v in flat.items()
                 if k.startswith(prefix)}
        models[model_name] = {"arch": spec["arch"], "config": spec["config"], "state": state}
    if "G_ema" in models and "G" not in models:
        models["G"] = models["G_ema"]
    return {"format": ckpt_io.FORMAT, "synthlib_version": ckpt_io._version(), "kind": entry["kind"],
            "step": entry.get("steps"), "num_img": entry.get("images_seen"), "config": entry.get("train_config"),
            "models": models, "course": {"name": name, **entry}}


load = load_checkpoint


def list_weights(folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Every course weight, in order: what it is, its budget, whether it is built, and its scores.

    Each item: ``name``, ``description``, ``chapter``, ``kind``, ``available`` (built and in the manifest),
    ``recipe`` (a recipe exists), ``steps`` (the budget), ``batch_size``, ``images`` (steps x batch), ``command``,
    and for built ones ``train_seconds``, ``hardware`` (one line), ``bytes``, ``dtype``, ``date``,
    ``metrics`` (the chapter's metrics) and ``default_profile`` (the chapter's default-profile numbers).
    """
    try:
        entries = read_manifest(folder)
    except CheckpointError:
        entries = {}
    out = []
    for name in [*NAMES, *sorted(set(entries) - set(NAMES))]:
        recipe = RECIPES.get(name)
        e = entries.get(name, {})
        item: dict[str, Any] = {
            "name": name,
            "description": e.get("description") or (recipe.description if recipe else "no recipe yet (issue 23)"),
            "chapter": e.get("chapter") or (recipe.chapter if recipe else None),
            "kind": e.get("kind") or (recipe.kind if recipe else None),
            "available": bool(e), "recipe": recipe is not None,
            "steps": e.get("steps", recipe.steps if recipe else None),
            "batch_size": e.get("batch_size", recipe.batch_size if recipe else None),
            "images": e.get("images_seen", recipe.images if recipe else None),
            "command": command(name),
            "default_profile": e.get("default_profile") or (dict(recipe.default_profile) if recipe else None),
        }
        if e:
            item.update({k: e.get(k) for k in ("train_seconds", "cpu_seconds", "hardware", "bytes", "dtype", "date", "metrics",
                                               "beats_default_profile", "file", "sha256")})
        out.append(item)
    return out


# ----------------------------------------------------------------------------------------------
# Training


def hardware() -> str:
    """One line: CPU model (or GPU), logical CPUs, torch threads, torch version, OS."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = f"GPU {torch.cuda.get_device_name(0)}, " if torch.cuda.is_available() else ""
    return (f"{device}CPU {cpu} ({os.cpu_count()} logical CPUs, {torch.get_num_threads()} torch threads), "
            f"torch {torch.__version__}, Python {platform.python_version()}, {platform.system()} {platform.machine()}")


class Clock:
    """Training time across sessions, saved in the checkpoint (``stateful``): a resumed run adds to it.

    Time in the watch callback (scoring during training) is not training time and is left out. Each session
    (start or resume) is recorded with its steps, seconds, hardware and load average. Besides wall time it counts
    the process's CPU time (``cpu_seconds``): on a machine shared with other work, the wall time of a one-thread
    run grows with the load, its CPU time stays close to what the run takes on the machine alone."""

    def __init__(self, tiny: bool) -> None:
        self.tiny = tiny
        self.before = 0.0
        self.cpu_before = 0.0
        self.cpu_start = time.process_time()
        self.cpu_excluded = 0.0
        self.sessions: list[dict[str, Any]] = []
        self.start = time.perf_counter()
        self.excluded = 0.0
        self.session: dict[str, Any] = {}
        self.trainer: Any = None  # set by train(): each saved session records the step it reached
        self.stopped: tuple[float, float] | None = None  # (perf_counter, process_time) when training ended
        self.idle = False  # a session that trained nothing (resumed at the end of its budget) is not recorded

    def begin(self, step: int) -> None:
        self.start, self.excluded = time.perf_counter(), 0.0
        self.cpu_start, self.cpu_excluded = time.process_time(), 0.0
        self.session = {"date": _now(), "from_step": step, "hardware": hardware(), "loadavg_start": _loadavg()}

    def stop(self) -> None:
        """Training is over: scoring and export that follow are not training time."""
        self.stopped = (time.perf_counter(), time.process_time())
        self.session["loadavg_end"] = _loadavg()

    def session_seconds(self) -> float:
        if self.idle:
            return 0.0
        now = self.stopped[0] if self.stopped else time.perf_counter()
        return now - self.start - self.excluded

    def total(self) -> float:
        return self.before + self.session_seconds()

    def session_cpu_seconds(self) -> float:
        if self.idle:
            return 0.0
        now = self.stopped[1] if self.stopped else time.process_time()
        return now - self.cpu_start - self.cpu_excluded

    def total_cpu(self) -> float:
        return self.cpu_before + self.session_cpu_seconds()

    def state_dict(self) -> dict[str, Any]:
        return {"train_seconds": self.total(), "cpu_seconds": self.total_cpu(), "tiny": self.tiny,
                "sessions": self.sessions_now(getattr(self.trainer, "step", None))}

    def sessions_now(self, step: int | None = None) -> list[dict[str, Any]]:
        if self.idle:
            return list(self.sessions)
        now = {**self.session, "seconds": round(self.session_seconds(), 1),
               "cpu_seconds": round(self.session_cpu_seconds(), 1)}
        now.setdefault("loadavg_end", _loadavg())
        if step is not None:
            now["to_step"] = step
        return [*self.sessions, now]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if bool(state["tiny"]) != self.tiny:
            raise CheckpointError("this run folder holds a " + ("tiny" if state["tiny"] else "full") +
                                  " run; delete it or use another --run-dir")
        self.before = float(state["train_seconds"])
        self.cpu_before = float(state.get("cpu_seconds", 0.0))
        self.sessions = list(state["sessions"])


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


class _Log:
    def __init__(self, path: Path, echo: bool) -> None:
        self.path, self.echo = path, echo

    def __call__(self, message: str) -> None:
        line = f"{datetime.datetime.now().isoformat(timespec='seconds')} {message}"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        if self.echo:
            print(line, flush=True)


def _trainer_model(trainer: Any, name: str) -> nn.Module:
    return trainer.emas[name].model if name in trainer.emas else trainer.models[name]


def _cpu_entries(trainer: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each exported model as a checkpoint entry on the CPU, contiguous (the trainer keeps channels_last)."""
    out = {}
    for name in names:
        entry = ckpt_io.model_entry(_trainer_model(trainer, name))
        entry["state"] = {k: v.detach().to("cpu").contiguous().clone() for k, v in entry["state"].items()}
        out[name] = entry
    return out


def _rebuilt(entries: Mapping[str, dict[str, Any]], dtype: torch.dtype | None = None) -> dict[str, nn.Module]:
    """Fresh float32 models from entries, their floating weights first rounded to ``dtype`` (fp16 check)."""
    models = {}
    for name, e in entries.items():
        state = {k: (v.to(dtype).float() if dtype is not None and v.is_floating_point() else v)
                 for k, v in e["state"].items()}
        models[name] = ckpt_io.rebuild({**e, "state": state}).eval()
    return models


def _same_scores(a: Mapping[str, float], b: Mapping[str, float], goals: Mapping[str, str]) -> bool:
    """Whether fp16 weights leave the chapter's metrics unchanged: within 1 % (at least 0.005) on every metric."""
    return all(abs(a[k] - b[k]) <= max(0.01 * abs(a[k]), 0.005) for k in goals if k in a and k in b)


def _beats(metrics: Mapping[str, float], default: Mapping[str, Any], goals: Mapping[str, str]) -> dict[str, bool]:
    out = {}
    for k, goal in goals.items():
        if isinstance(default.get(k), (int, float)) and k in metrics:
            out[k] = metrics[k] < default[k] if goal == "lower" else metrics[k] > default[k]
    return out


def export(recipe: Recipe, trainer: Any, clock: Clock, *, folder: Path, tiny: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Write ``<folder>/<name>.safetensors`` (fp16 when the chapter's metrics do not change) and the manifest entry."""
    from safetensors.torch import save_file

    entries = _cpu_entries(trainer, recipe.export)
    t0 = time.perf_counter()
    metrics32 = recipe.score(_rebuilt(entries), tiny)
    metrics16 = recipe.score(_rebuilt(entries, torch.float16), tiny)
    fp16 = _same_scores(metrics32, metrics16, recipe.goals)
    log(f"scored in {time.perf_counter() - t0:.0f} s: fp32 {_fmt(metrics32)}; fp16 {_fmt(metrics16)} -> ship "
        f"{'fp16' if fp16 else 'fp32'}")
    metrics = metrics16 if fp16 else metrics32
    tensors = {f"{name}.{k}": (v.half() if fp16 and v.is_floating_point() else v)
               for name, e in entries.items() for k, v in e["state"].items()}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{recipe.name}.safetensors"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        # one metadata key: safetensors writes its metadata map in an order that varies between processes, and the
        # same weights must give the same bytes (and SHA-256) every time
        save_file(tensors, tmp, metadata={"synthlib": f"{MANIFEST_FORMAT} {recipe.name}"})
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the file ships in the repository
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    default = dict(recipe.default_profile)
    entry = {
        "description": recipe.description,
        "chapter": f"notebooks/{recipe.chapter}.ipynb",
        "kind": trainer.kind,
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "dtype": "float16" if fp16 else "float32",
        "models": {name: {"arch": e["arch"], "config": e["config"]} for name, e in entries.items()},
        "steps": trainer.step,
        "batch_size": recipe.batch_size,
        "images_seen": trainer.num_img,
        "seed": recipe.seed,
        "train_seconds": round(clock.total(), 1),
        "cpu_seconds": round(clock.total_cpu(), 1),
        "hardware": hardware(),
        "sessions": clock.sessions_now(trainer.step),
        "command": command(recipe.name),
        "metrics": metrics,
        "metrics_fp32": metrics32,
        "default_profile": default,
        "beats_default_profile": _beats(metrics, default, recipe.goals),
        "train_config": dataclasses.asdict(trainer.config) if dataclasses.is_dataclass(trainer.config) else None,
        "notes": recipe.notes,
        "tiny": tiny,
        "date": _now(),
    }
    _update_manifest(folder, recipe.name, entry)
    log(f"exported {path} ({entry['bytes'] / 1e6:.2f} MB, {entry['dtype']}, sha256 {entry['sha256'][:16]}...); "
        f"metrics {_fmt(metrics)}; default profile {_fmt(default)}; beats it on {entry['beats_default_profile']}")
    return entry


def _fmt(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items() if k != "source")


def train(name: str, *, steps: int | None = None, tiny: bool = False, run_dir: str | os.PathLike | None = None,
          folder: str | os.PathLike | None = None, stop_at: int | None = None, echo: bool = False,
          checkpoint_every: int | None = None) -> dict[str, Any] | None:
    """Train (or resume) ``name`` to its budget in ``run_dir`` (default ``runs/course-weights/NAME``), then export.

    ``steps``: another budget (tests); ``tiny``: the chapter's smoke-profile sizes; ``stop_at``: stop (and
    checkpoint) at this step without exporting, as if the run had been killed there. Returns the manifest
    entry, or None when stopped early.
    """
    recipe = get_recipe(name)
    num_steps = steps if steps is not None else (recipe.tiny_steps if tiny else recipe.steps)
    run_dir = Path(run_dir) if run_dir is not None else runs_dir() / recipe.name
    folder = Path(folder) if folder is not None else weights_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(run_dir)
    log = _Log(run_dir / "train.log", echo)
    threads = torch.get_num_threads()
    if recipe.threads is not None and not tiny:
        torch.set_num_threads(recipe.threads)
    try:
        torch.manual_seed(recipe.seed)
        trainer = recipe.build(recipe, tiny)
        if dataclasses.is_dataclass(trainer.config) and hasattr(trainer.config, "num_steps"):
            trainer.config.num_steps = num_steps
        clock = Clock(tiny)
        clock.trainer = trainer
        trainer.run_dir = run_dir
        trainer.checkpoint_every = checkpoint_every or recipe.checkpoint_every
        trainer.stateful["course_clock"] = clock
        trainer.progress = False
        resumed_at_end = False
        if trainer.checkpoint_path.is_file():
            trainer.load()
            resumed_at_end = trainer.step >= num_steps
            log(f"resumed {recipe.name} at step {trainer.step:,}/{num_steps:,} ({clock.before:.0f} s of training so far)")
        else:
            log(f"started {recipe.name}: {num_steps:,} steps of batch {recipe.batch_size} "
                f"({num_steps * recipe.batch_size:,} images), seed {recipe.seed}, {'tiny' if tiny else 'course'} sizes; "
                f"{hardware()}")
        clock.begin(trainer.step)
        _add_callbacks(trainer, recipe, clock, log, num_steps, tiny)
        target = num_steps if stop_at is None else min(stop_at, num_steps)
        if trainer.step == num_steps and resumed_at_end:
            clock.idle = True  # only the export is left to do: no training session to record
            clock.stop()
        else:
            trainer.fit(target)
            clock.stop()
            trainer.save()  # again, with the clock stopped: a later export reads the same training time
        if trainer.step < num_steps:
            log(f"stopped at step {trainer.step:,} (checkpoint saved; run again to continue)")
            return None
        log(f"trained {trainer.step:,} steps, {trainer.num_img:,} images in {clock.total():.0f} s of training")
        return export(recipe, trainer, clock, folder=folder, tiny=tiny, log=log)
    finally:
        torch.set_num_threads(threads)
        lock.close()


def _lock(run_dir: Path) -> Any:
    """An exclusive lock on ``run_dir/lock`` (released when the process ends, however it ends), so two
    ``make weights`` cannot train the same run at once."""
    f = open(run_dir / "lock", "a+")
    try:
        import fcntl

        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # not POSIX: no lock
        pass
    except OSError:
        f.close()
        raise CheckpointError(f"{run_dir} is being trained by another process (its lock file is held); wait for it, "
                              "or stop it first") from None
    return f


def _add_callbacks(trainer: Any, recipe: Recipe, clock: Clock, log: Callable[[str], None], num_steps: int, tiny: bool) -> None:
    from synthlib.train import Callback

    state = {"step": trainer.step, "seconds": clock.session_seconds()}

    def progress(tr: Any) -> None:
        seconds = clock.session_seconds()
        rate = (tr.step - state["step"]) / max(seconds - state["seconds"], 1e-9)
        state.update(step=tr.step, seconds=seconds)
        losses = {k: h["value"][-1] for k, h in tr.history.items() if k.endswith("loss") and h["value"]}
        eta = (num_steps - tr.step) / max(rate, 1e-9)
        log(f"step {tr.step:,}/{num_steps:,} ({100 * tr.step / num_steps:.0f} %), {tr.num_img:,} images, "
            f"{clock.total():.0f} s training ({clock.total_cpu():.0f} s CPU), {rate:.1f} steps/s, eta {eta / 60:.0f} min, load {_loadavg()}; "
            + ", ".join(f"{k} {v:.3g}" for k, v in losses.items()))

    def watch(tr: Any) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        models = {name: _trainer_model(tr, name) for name in recipe.export}
        modes = {name: m.training for name, m in models.items()}
        scores = recipe.watch(models, tiny)  # type: ignore[misc]
        for name, m in models.items():
            m.train(modes[name])
        spent = time.perf_counter() - t0
        clock.excluded += spent
        clock.cpu_excluded += time.process_time() - c0
        state["seconds"] = clock.session_seconds()
        for k, v in scores.items():
            tr.log(f"watch/{k}", v)
        log(f"watch at step {tr.step:,}: {_fmt(scores)} ({spent:.0f} s, not counted as training)")

    trainer.callbacks.append(Callback(every=recipe.log_every if not tiny else 2, fn=progress))
    if recipe.watch is not None and not tiny:
        trainer.callbacks.append(Callback(every=recipe.watch_every, fn=watch))


# ----------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthlib.course_weights", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    t = sub.add_parser("train", help="train (or resume) and export course weights; no NAME: every name not yet "
                                     "in the manifest, in order")
    t.add_argument("names", nargs="*", metavar="NAME")
    t.add_argument("--steps", type=int, default=None, help="another step budget (for trials; the manifest records it)")
    t.add_argument("--tiny", action="store_true", help="the chapter's smoke-profile sizes (for tests)")
    t.add_argument("--run-dir", default=None, help="the run folder (default runs/course-weights/NAME)")
    t.add_argument("--out", default=None, help=f"the weights folder (default ${WEIGHTS_ENV} or synthlib/weights/course)")
    sub.add_parser("list", help="list the course weights")
    v = sub.add_parser("verify", help="check every built file against its SHA-256")
    v.add_argument("names", nargs="*", metavar="NAME")
    args = parser.parse_args(argv)
    try:
        if args.verb == "list":
            for item in list_weights():
                state = "built" if item["available"] else ("not built" if item["recipe"] else "no recipe yet")
                print(f"course:{item['name']:<18} [{state}] {item['description']}")
                if item["steps"]:
                    took = (f", {item['train_seconds'] / 60:.0f} min" if item.get("train_seconds") else "")
                    print(f"  {'':18} {item['steps']:,} steps x {item['batch_size']}{took}; "
                          f"scores {_fmt(item.get('metrics') or {})}; default profile {_fmt(item['default_profile'] or {})}")
            return 0
        if args.verb == "verify":
            for name in args.names or [n for n, e in read_manifest().items()]:
                print(f"ok {verify(name)}")
            return 0
        names = args.names
        if not names:
            built = read_manifest(args.out)
            names = [n for n in RECIPES if n not in built]
            skipped = [n for n in NAMES if n not in RECIPES]
            print(f"course weights to train: {', '.join(names) or 'none'}"
                  + (f" (no recipe yet: {', '.join(skipped)})" if skipped else ""), flush=True)
        if len(names) > 1 and args.run_dir:
            parser.error("--run-dir takes one NAME")
        for name in names:
            train(name, steps=args.steps, tiny=args.tiny, run_dir=args.run_dir, folder=args.out, echo=True)
        return 0
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
