"""FID and KID for Fashion-MNIST generators, offline, plus class accuracy of generated samples.

What is measured
----------------
* **FID** (Heusel et al. 2017): fit a Gaussian to the features of the real images and another to
  those of the generated ones; ``FID = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``.
  Lower is better; 0 means the two Gaussians are equal.
* **KID** (Binkowski et al. 2018): the squared maximum mean discrepancy between the two feature
  sets under the kernel ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets (``kid_mean``,
  ``kid_std`` over the subsets). Its estimator is *unbiased*: for two samples of the same
  distribution it averages 0 (single values can be slightly negative; a set compared with itself
  gives a small negative value, as each image's kernel with itself is left out within a set but
  not across the two sets).
* :func:`classifier_accuracy` / :func:`per_class_accuracy`: how often the classifier recognises the
  class a conditional generator was asked for -- a "does it draw what it was told" score.

FID and KID are computed by torchmetrics (``FrechetInceptionDistance``,
``KernelInceptionDistance``) on the features of our own network, :class:`ClassifierFeatures`,
which also works as their ``feature=`` module.

These numbers are NOT Inception-FID
-----------------------------------
Published FIDs use an ImageNet Inception-v3 and its 2048-d pool features on 299x299 RGB images.
Here the features are the 128-d penultimate layer of :class:`~synthlib.nn.classifier.FashionClassifier`,
a small CNN trained on Fashion-MNIST (``synthlib/weights/fashion_classifier.*``; see
``scripts/train_classifier.py``). Different network, different feature space, different
dimension, different scale: compare these values only with each other (same weights, same number
of samples, same real set), never with a paper's FID. The upside is that the features know what
clothes look like, while Inception never saw 28x28 grayscale clothes.

FID is biased at small N
------------------------
The sample means and covariances are noisy, and noise only adds to the distance: FID's expected
value *grows as the number of samples shrinks*, even between two halves of the real data (Chong &
Forsyth 2020, "Effectively unbiased FID"). Always compare FIDs at the same N;
:func:`fid_vs_num_samples` returns the curve so a notebook can plot it. KID has no such bias.

Pixel convention and torchmetrics
---------------------------------
torchmetrics wants uint8 images (``normalize=False``) or floats in [0, 1] (``normalize=True``)
for its built-in Inception network, but with a custom ``feature`` module it passes the tensor given
to ``update`` unchanged to that module (``normalize`` then only chooses the dtype of a dummy input
used to find the feature size, which :class:`ClassifierFeatures` makes unnecessary with its
``num_features`` attribute). So ``update`` takes images in synthlib's convention: float in
[-1, 1], N x 1 x H x W (uint8 0..255 is accepted too and converted with ``from_uint8``; floats
are clamped to [-1, 1], as saving them as images would). ``normalize`` has no effect here; floats
in [0, 1] would be read as dark [-1, 1] images, so convert them with ``from_unit`` first.

Image size: 32x32 and 64x64 images are resized to 28x28 (antialiased) inside the classifier. Give
the real and generated sets the same size and preparation. Images that are 28x28 ones padded to
32x32 (``synthlib.data.pad_to``) are better cropped back (``x[..., 2:30, 2:30]``) than resized:
resizing shrinks the clothes, and the classifier's test accuracy drops from 92% to 85%.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from synthlib.core.registry import build
from synthlib.data.pixels import from_uint8
from synthlib.nn.classifier import FashionClassifier

__all__ = [
    "CLASSIFIER_MANIFEST", "CLASSIFIER_WEIGHTS", "ClassifierFeatures", "CorruptWeightsError", "FIDEvaluator",
    "WeightsNotFoundError", "classifier_accuracy", "classifier_features", "fid_kid", "fid_vs_num_samples",
    "load_fashion_classifier", "per_class_accuracy",
]  # fmt: skip

_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
CLASSIFIER_WEIGHTS = _WEIGHTS_DIR / "fashion_classifier.safetensors"
CLASSIFIER_MANIFEST = _WEIGHTS_DIR / "fashion_classifier.json"  # {"sha256": ..., "test_accuracy": ..., ...}
_REGENERATE = "regenerate both files with `python scripts/train_classifier.py` (about 3 minutes on a CPU)"

DEFAULT_NUM_SAMPLES = (250, 500, 1000, 2000, 4000, 8000)
"""Sample sizes :func:`fid_vs_num_samples` uses by default (those larger than both sets are dropped)."""


class WeightsNotFoundError(FileNotFoundError):
    """The classifier's weights or their manifest (JSON with the SHA-256) are missing."""


class CorruptWeightsError(ValueError):
    """The classifier's weights file does not match the SHA-256 in its manifest, or cannot be read."""


# ----------------------------------------------------------------------------------------------
# The classifier
# ----------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _load_verified_cached(
    weights: str, manifest: str, file_key: tuple[int, int], device: str, expected_arch: str, regenerate: str
) -> nn.Module:
    """A registered model from a safetensors file whose SHA-256 matches its JSON manifest; eval mode, no grads.

    The one loader behind every network synthlib ships (the Fashion-MNIST classifier, the emoji
    style classifier): the checksum is checked before anything is read, the architecture and its
    config come from the file's metadata, and the model must be of class ``expected_arch``.
    ``regenerate`` ends each error message (how to rebuild the file). Cached per
    (files, their mtime and size, device): callers share one module, so do not modify it.
    """
    weights_path, manifest_path = Path(weights), Path(manifest)
    try:
        expected = json.loads(manifest_path.read_text())["sha256"]
    except (ValueError, KeyError, TypeError) as e:
        raise CorruptWeightsError(
            f"{manifest_path} is not a valid manifest (no 'sha256' entry: {e}); {regenerate}"
        ) from e
    actual = _sha256(weights_path)
    if actual != expected:
        raise CorruptWeightsError(
            f"{weights_path} is corrupt or not the {expected_arch} its manifest describes: its SHA-256 is "
            f"{actual}, {manifest_path.name} expects {expected}. Restore it from git "
            f"(git checkout -- synthlib/weights) or {regenerate}."
        )
    try:
        with safe_open(str(weights_path), framework="pt") as f:
            metadata = f.metadata() or {}
        arch, config = metadata["arch"], json.loads(metadata["config"])
        state = load_file(str(weights_path))
        model = build(arch, config)
    except Exception as e:  # checksum passed, so this is a file written by something else
        raise CorruptWeightsError(f"{weights_path} could not be read as classifier weights ({e}); {regenerate}") from e
    if type(model).__name__ != expected_arch:
        raise CorruptWeightsError(f"{weights_path} holds a {arch}, not a {expected_arch}; {regenerate}")
    model.load_state_dict(state)
    # channels_last: on CPUs PyTorch's max-pooling is several times faster in this layout
    return model.to(device, memory_format=torch.channels_last).eval().requires_grad_(False)


def load_verified_weights(
    weights: Path, manifest: Path | None, *, device: str | torch.device, expected_arch: str, what: str, regenerate: str
) -> nn.Module:
    """Check that both files exist, then load (cached per files, their size and mtime, and device).

    ``manifest`` None: the ``.json`` beside ``weights``. ``what`` names the file in the
    :class:`WeightsNotFoundError` message; see :func:`_load_verified_cached` for the rest.
    """
    manifest = manifest if manifest is not None else weights.with_suffix(".json")
    for path in (weights, manifest):
        if not path.is_file():
            raise WeightsNotFoundError(
                f"the {what} file {path} is missing; restore it from git (git checkout -- synthlib/weights) or {regenerate}"
            )
    st = weights.stat()  # size and mtime in the cache key: a replaced file is checked again
    return _load_verified_cached(str(weights.resolve()), str(manifest.resolve()), (st.st_size, st.st_mtime_ns),
                                 str(torch.device(device)), expected_arch, regenerate)


def load_fashion_classifier(
    device: str | torch.device = "cpu",
    *,
    weights_path: str | Path | None = None,
    manifest_path: str | Path | None = None,
) -> FashionClassifier:
    """The trained :class:`FashionClassifier`, in eval mode with gradients off, on ``device``.

    Reads ``synthlib/weights/fashion_classifier.safetensors`` (or ``weights_path``) after checking
    its SHA-256 against ``fashion_classifier.json`` (or ``manifest_path``; by default the ``.json``
    next to the weights). Raises :class:`WeightsNotFoundError` if either file is missing and
    :class:`CorruptWeightsError` if the checksum differs. The model is cached per file and device:
    every call returns the same module, so do not train or modify it.
    """
    weights = Path(weights_path) if weights_path is not None else CLASSIFIER_WEIGHTS
    return load_verified_weights(weights, Path(manifest_path) if manifest_path is not None else None, device=device,
                                 expected_arch="FashionClassifier", what="Fashion-MNIST classifier", regenerate=_REGENERATE)


def _pick_device(device: str | torch.device | None) -> torch.device:
    """None or "auto": CUDA when available, else the CPU; anything else as given.
    Not MPS: torchmetrics keeps FID statistics in float64, which MPS does not have."""
    if device is not None and str(device) != "auto":
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class ClassifierFeatures(nn.Module):
    """The classifier's 128-d features as a torchmetrics ``feature`` module.

    ``ClassifierFeatures()(images) -> (N, num_features)`` float64 features, for images that are
    float in [-1, 1] (or uint8 0..255), N x 1 x H x W. Use it as
    ``FrechetInceptionDistance(feature=ClassifierFeatures())`` or
    ``KernelInceptionDistance(feature=ClassifierFeatures(), subset_size=...)`` and pass images in
    synthlib's convention to ``update``. The features are float64, the precision torchmetrics
    keeps FID's statistics in anyway; KID's cubic kernel in float32 would be off by ~1e-4
    (relative). The classifier stays in eval mode even if a metric calls ``.train()``.
    """

    def __init__(self, classifier: FashionClassifier | None = None) -> None:
        super().__init__()
        self.classifier = classifier if classifier is not None else load_fashion_classifier()
        self.num_features = self.classifier.config.feature_dim  # torchmetrics reads this attribute
        self.classifier.eval()

    def train(self, mode: bool = True) -> ClassifierFeatures:
        super().train(mode)
        self.classifier.eval()  # BatchNorm must use its stored statistics, always
        return self

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        if images.dtype == torch.uint8:
            images = from_uint8(images)
        # What saving the images would do; a tanh output never needs it, a linear one might.
        images = images.clamp(-1.0, 1.0)
        return self.classifier.features(images).double()  # (N, num_features)


def _batches(images: Tensor, batch_size: int, device: torch.device) -> list[Tensor]:
    if images.ndim != 4:
        raise ValueError(f"expected images shaped N x C x H x W, got {tuple(images.shape)}")
    return [images[i : i + batch_size].to(device) for i in range(0, len(images), batch_size)]


@torch.no_grad()
def classifier_features(
    images: Tensor, *, batch_size: int = 500, device: str | torch.device | None = None
) -> Tensor:
    """The classifier's features of ``images`` (float [-1, 1], N x 1 x H x W) -> (N, 128) float32 on the CPU."""
    dev = _pick_device(device)
    features = ClassifierFeatures(load_fashion_classifier(dev))
    return torch.cat([features(b).float().cpu() for b in _batches(images, batch_size, dev)])


# ----------------------------------------------------------------------------------------------
# FID and KID
# ----------------------------------------------------------------------------------------------


class _Passthrough(nn.Module):
    """A torchmetrics ``feature`` module for features computed beforehand: returns its input."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


class FIDEvaluator:
    """FID and KID against a fixed real set, whose features are computed once.

        evaluate = FIDEvaluator(real_img)          # float [-1, 1], N x 1 x H x W
        evaluate(fake_img)  # -> {"fid": ..., "kid_mean": ..., "kid_std": ..., "num_real": ..., "num_fake": ...}

    Call it as often as you like (e.g. every few hundred steps of training); each call resets the
    generated-image statistics only (torchmetrics' ``reset_real_features=False``). Each batch of
    images goes through the classifier once; its features then update both torchmetrics metrics,
    which therefore get a pass-through ``feature`` module. (Used directly, torchmetrics would
    run :class:`ClassifierFeatures` once per metric; the numbers are the same.)

    ``kid_subsets``: how many random subsets KID averages over (``kid_mean``) and spreads over
    (``kid_std``); ``kid_subset_size``: images per subset, by default ``min(1000, N // 2)`` with
    N the smaller set -- 1000 as in Binkowski et al., but never the whole set, since subsets that
    all hold every image would all give the same value and ``kid_std`` would say 0. The subsets
    are drawn from a generator seeded with ``seed``, so the same images give the same KID.
    """

    def __init__(
        self,
        real_images: Tensor,
        *,
        batch_size: int = 500,
        kid_subset_size: int | None = None,
        kid_subsets: int = 100,
        device: str | torch.device | None = None,
        seed: int = 0,
    ) -> None:
        if len(real_images) < 2:
            raise ValueError(f"FID needs at least 2 real images, got {len(real_images)}")
        self.device = _pick_device(device)
        self.batch_size, self.kid_subset_size, self.seed = batch_size, kid_subset_size, seed
        self.num_real = len(real_images)
        self.features = self._load_features(self.device)
        passthrough = _Passthrough(self.features.num_features)
        self.fid = FrechetInceptionDistance(feature=passthrough, reset_real_features=False).to(self.device)
        with warnings.catch_warnings():  # "KID will save all extracted features in buffer": 128-d, that is fine
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            # subset_size is set per call, once the number of generated images is known
            self.kid = KernelInceptionDistance(
                feature=passthrough, subsets=kid_subsets, subset_size=1, reset_real_features=False
            ).to(self.device)
        self._update(real_images, real=True)

    def _load_features(self, device: torch.device) -> nn.Module:
        """The feature module (a ``num_features`` attribute; images -> float64 features): the Fashion-MNIST
        classifier's. A subclass with another feature space overrides this, and nothing else of ``__init__``."""
        return ClassifierFeatures(load_fashion_classifier(device))

    @torch.no_grad()
    def _update(self, images: Tensor, real: bool) -> None:
        for batch in _batches(images, self.batch_size, self.device):
            features = self.features(batch)  # (B, 128) float64
            self.fid.update(features, real=real)
            self.kid.update(features, real=real)

    @torch.no_grad()
    def __call__(self, fake_images: Tensor) -> dict[str, float]:
        """FID and KID of ``fake_images`` (float [-1, 1], N x 1 x H x W) against the real set."""
        num_fake = len(fake_images)
        if num_fake < 2:
            raise ValueError(f"FID needs at least 2 generated images, got {num_fake}")
        subset_size = self.kid_subset_size or max(2, min(1000, self.num_real // 2, num_fake // 2))
        if subset_size > min(self.num_real, num_fake):
            raise ValueError(
                f"kid_subset_size={subset_size} is larger than the real ({self.num_real}) "
                f"or the generated ({num_fake}) set"
            )
        self.fid.reset()  # generated-image statistics only: the real ones are kept
        self.kid.reset()
        self._update(fake_images, real=False)
        self.kid.subset_size = subset_size
        fid = float(self.fid.compute())
        with torch.random.fork_rng(devices=[]):  # KID draws its subsets with torch.randperm on the CPU
            torch.manual_seed(self.seed)
            kid_mean, kid_std = self.kid.compute()
        return {
            "fid": fid,
            "kid_mean": float(kid_mean),
            "kid_std": float(kid_std),
            "num_real": self.num_real,
            "num_fake": num_fake,
        }


def fid_kid(
    real: Tensor,
    fake: Tensor,
    *,
    batch_size: int = 500,
    kid_subset_size: int | None = None,
    kid_subsets: int = 100,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """FID, KID mean and KID std between two image sets (float [-1, 1], N x 1 x H x W each).

    One-off version of :class:`FIDEvaluator` (which see for the arguments); see the module
    docstring for what the numbers mean (and do not mean).
    Returns ``{"fid", "kid_mean", "kid_std", "num_real", "num_fake"}``.
    """
    evaluate = FIDEvaluator(
        real, batch_size=batch_size, kid_subset_size=kid_subset_size, kid_subsets=kid_subsets, device=device
    )
    return evaluate(fake)


def fid_vs_num_samples(
    real: Tensor,
    fake: Tensor,
    sizes: Sequence[int] | None = None,
    *,
    seed: int = 0,
    batch_size: int = 500,
    kid_subsets: int = 100,
    device: str | torch.device | None = None,
) -> list[dict[str, float]]:
    """FID and KID on random subsets of ``n`` real and ``n`` generated images, for each ``n`` in ``sizes``.

    Shows FID's small-sample bias: it falls as ``n`` grows, while KID stays put. Subsets are
    nested (the first ``n`` of one fixed random order per set, drawn with ``seed``). Default
    sizes: :data:`DEFAULT_NUM_SAMPLES` up to the smaller set. Returns one dict per size:
    ``{"num_samples", "fid", "kid_mean", "kid_std"}``, e.g. for ``pandas.DataFrame(...)``.
    """
    available = min(len(real), len(fake))
    if sizes is None:
        sizes = [n for n in DEFAULT_NUM_SAMPLES if n <= available] or [available]
    too_big = [n for n in sizes if n > available or n < 2]
    if too_big:
        raise ValueError(f"sizes {too_big} are not in 2..{available} (the smaller of the two sets)")
    g = torch.Generator().manual_seed(seed)
    real_order, fake_order = torch.randperm(len(real), generator=g), torch.randperm(len(fake), generator=g)
    rows = []
    for n in sizes:
        out = fid_kid(
            real[real_order[:n]], fake[fake_order[:n]], batch_size=batch_size, kid_subsets=kid_subsets, device=device
        )
        rows.append({"num_samples": n, "fid": out["fid"], "kid_mean": out["kid_mean"], "kid_std": out["kid_std"]})
    return rows


# ----------------------------------------------------------------------------------------------
# Class accuracy of generated images
# ----------------------------------------------------------------------------------------------


@torch.no_grad()
def _predict(images: Tensor, batch_size: int, device: str | torch.device | None) -> Tensor:
    dev = _pick_device(device)
    model = load_fashion_classifier(dev)
    preds = []
    for batch in _batches(images, batch_size, dev):
        if batch.dtype == torch.uint8:
            batch = from_uint8(batch)
        preds.append(model(batch.clamp(-1.0, 1.0)).argmax(1).cpu())
    return torch.cat(preds)  # (N,)


def _check_labels(images: Tensor, labels: Tensor) -> Tensor:
    labels = torch.as_tensor(labels).cpu().long()
    if labels.shape != (len(images),):
        raise ValueError(f"expected {len(images)} labels shaped ({len(images)},), got {tuple(labels.shape)}")
    return labels


def classifier_accuracy(
    images: Tensor, labels: Tensor, *, batch_size: int = 500, device: str | torch.device | None = None
) -> float:
    """Share of ``images`` (float [-1, 1], N x 1 x H x W) the classifier assigns to ``labels`` (N,)."""
    labels = _check_labels(images, labels)
    return float((_predict(images, batch_size, device) == labels).float().mean())


def per_class_accuracy(
    images: Tensor,
    labels: Tensor,
    *,
    num_classes: int = 10,
    batch_size: int = 500,
    device: str | torch.device | None = None,
) -> list[float]:
    """Classifier accuracy on the images of each class: a list of ``num_classes`` floats.

    For a conditional generator: generate images for each label and pass those labels; entry
    ``c`` says how often a "class c" sample is recognised as class c (``FASHION_MNIST_CLASSES[c]``).
    A class with no images gives ``nan``.
    """
    labels = _check_labels(images, labels)
    correct = (_predict(images, batch_size, device) == labels).float()
    accuracies = []
    for c in range(num_classes):
        in_class = labels == c
        accuracies.append(float(correct[in_class].mean()) if in_class.any() else math.nan)
    return accuracies
