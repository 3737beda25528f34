"""The course weights' recipes: for each name, the chapter's models, trainer, budget in steps and scores.

This module holds what every recipe shares (:class:`Recipe`, the registry, the names, Fashion-MNIST's ruler); the
recipes themselves are in :mod:`synthlib.course_weights.generators` (the Fashion-MNIST and emoji generators of
chapters 2, 5 and 7) and :mod:`synthlib.course_weights.image_to_image` (the translation, style and restoration
networks of chapters 3, 4 and 6).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from synthlib.core.checkpoint import CheckpointError

PREFIX = "course:"

# Every name issue 23 asks for, in the order `make weights` trains them. A name without a recipe yet is listed
# (with "no recipe yet") but not trained.
NAMES = ("dcgan-fashion", "diffusion-fashion", "stylegan-fashion", "vae-fashion", "flow-fashion", "pix2pix-emoji",
         "cyclegan-emoji", "fast-style-starry_night", "adain", "stylegan-emoji", "inpaint", "sr-x4", "denoise")  # fmt: skip


def runs_dir() -> Path:
    """Where training runs go: ``<runs root>/course-weights`` (``runs/`` unless ``$SYNTHLIB_RUNS_ROOT``)."""
    from synthlib.core.runs import runs_root

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
    prior:   another name whose trained network this one uses as it is (plug-and-play inpainting uses the
             denoiser): no training of its own; its manifest entry points at the prior's file and training record,
             with its own scores. ``build``, ``steps`` and ``batch_size`` are the prior's.
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
    prior: str | None = None

    @property
    def images(self) -> int:
        return self.steps * self.batch_size


# ---------------------------------------------------------------------------------------------- Fashion-MNIST
@functools.lru_cache(maxsize=4)
def _fashion_scorer(num_real: int, kid_subsets: int) -> Any:
    """Chapters 2, 5 and 7's ruler: FID/KID, precision/recall against the first ``num_real`` test images."""
    from synthlib.data.fashion import load_fashion_mnist_uint8
    from synthlib.data.pixels import from_uint8
    from synthlib.metrics.samples import SampleScorer

    test_u8, _ = load_fashion_mnist_uint8("test")
    return SampleScorer(from_uint8(test_u8[:num_real]), kid_subsets=kid_subsets)


def fashion_scores(images: Tensor, *, num_real: int, kid_subsets: int) -> dict[str, float]:
    """FID, KID x 1000, precision and recall of 28 px images in the Fashion-MNIST classifier's features, as the
    chapters compute them (:class:`~synthlib.metrics.samples.SampleScorer`)."""
    r = _fashion_scorer(num_real, kid_subsets)(images)
    return {"fid": r["fid"], "kid_x1000": 1000 * r["kid_mean"], "precision": r["precision"], "recall": r["recall"],
            "num_samples": len(images)}


GAN_GOALS = {"fid": "lower", "kid_x1000": "lower", "precision": "higher", "recall": "higher"}


def _fashion_u8() -> Tensor:
    from synthlib.data.fashion import load_fashion_mnist_uint8

    return load_fashion_mnist_uint8("train")[0]


RECIPES: dict[str, Recipe] = {}


def chapter_settings(settings_class: Any, tiny: bool) -> Any:
    """The chapter's own settings table (synthlib.core.chapter), smoke profile when ``tiny`` else default: recipes
    read their networks' sizes from it, so the course weights cannot drift from the chapter they serve."""
    return settings_class.for_profile("smoke" if tiny else "default")


def _register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


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


# Each family's recipes register themselves when their module is imported (at the end: they need Recipe above)
from synthlib.course_weights import generators, image_to_image  # noqa: E402,F401
