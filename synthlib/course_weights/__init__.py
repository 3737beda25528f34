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
    ckpt = synthlib.core.checkpoint.load("course:dcgan-fashion")      # {"format", "kind", "models": {...}, ...}

The file's SHA-256 is checked against the manifest at every load; a missing or corrupted file raises
:class:`~synthlib.core.checkpoint.CheckpointError` with one line that names the file and ``make weights NAME=...``.

Training (``make weights`` runs this under ``nice``)::

    python -m synthlib.course_weights train dcgan-fashion     # trains in runs/course-weights/dcgan-fashion/
    python -m synthlib.course_weights train                   # every name not yet in the manifest, in order
    python -m synthlib.course_weights list
    python -m synthlib.course_weights baseline adain       # the chapter's minutes measured again: record, compare

A run checkpoints every few minutes of work (``checkpoint.pt``: models, EMA, optimisers, RNG and data positions,
the training clock), so a killed run continues exactly where it stopped when started again; it logs to
``train.log`` beside it. At the end it exports the weights, scores them with the chapter's metrics on the same
number of samples as the chapter's default profile, and writes the manifest entry.

``$SYNTHLIB_COURSE_WEIGHTS`` points the weights folder elsewhere (the tests train tiny recipes into a temporary
folder through the same code path: ``train(name, tiny=True, ...)``).
"""

from synthlib.course_weights.build import adopt, export, main, rebaseline, rescore, train
from synthlib.course_weights.manifest import (
    MANIFEST_FORMAT,
    WEIGHTS_ENV,
    describe,
    list_weights,
    load,
    load_checkpoint,
    manifest_path,
    read_manifest,
    sha256_file,
    verify,
    weights_dir,
)
from synthlib.course_weights.recipes import (
    NAMES,
    PREFIX,
    RECIPES,
    Recipe,
    get_recipe,
    resolve_name,
)

__all__ = [
    "MANIFEST_FORMAT", "NAMES", "PREFIX", "RECIPES", "Recipe", "WEIGHTS_ENV", "adopt", "describe", "export", "get_recipe",
    "list_weights", "load", "load_checkpoint", "main", "manifest_path", "read_manifest", "resolve_name",
    "rebaseline", "rescore", "sha256_file", "train", "verify", "weights_dir"
]
