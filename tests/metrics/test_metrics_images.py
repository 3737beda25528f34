"""Image metrics: the committed classifier, FID/KID on real Fashion-MNIST, precision/recall."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from synthlib.data import DataNotFoundError, load_fashion_mnist, resize, to_uint8
from synthlib.metrics.fid import (
    CLASSIFIER_MANIFEST,
    CLASSIFIER_WEIGHTS,
    ClassifierFeatures,
    CorruptWeightsError,
    FIDEvaluator,
    WeightsNotFoundError,
    classifier_accuracy,
    classifier_features,
    fid_kid,
    fid_vs_num_samples,
    load_fashion_classifier,
    per_class_accuracy,
)
from synthlib.metrics.prdc import image_precision_recall, knn_radii, precision_recall
from synthlib.nn.classifier import FashionClassifier


@pytest.fixture(scope="module")
def test_set() -> tuple[torch.Tensor, torch.Tensor]:
    try:
        images, labels = load_fashion_mnist("test", download=False)
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    return images[:4000], labels[:4000]


@pytest.fixture(scope="module")
def train_set() -> torch.Tensor:
    try:
        images, _ = load_fashion_mnist("train", download=False)
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    return images[:4000]


# --- the classifier ----------------------------------------------------------------------


def test_classifier_loads_and_checksum_verifies() -> None:
    model = load_fashion_classifier()
    assert isinstance(model, FashionClassifier) and not model.training
    manifest = json.loads(CLASSIFIER_MANIFEST.read_text())
    assert hashlib.sha256(CLASSIFIER_WEIGHTS.read_bytes()).hexdigest() == manifest["sha256"]
    assert manifest["test_accuracy"] >= 0.90
    assert CLASSIFIER_WEIGHTS.stat().st_size < 2_000_000
    assert load_fashion_classifier() is model  # cached


def test_corrupt_or_missing_weights_are_clear_errors(tmp_path: Path) -> None:
    data = bytearray(CLASSIFIER_WEIGHTS.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one weight
    weights = tmp_path / "fashion_classifier.safetensors"
    weights.write_bytes(bytes(data))
    shutil.copy(CLASSIFIER_MANIFEST, tmp_path / "fashion_classifier.json")
    with pytest.raises(CorruptWeightsError, match=r"corrupt(.|\n)*scripts/train_classifier\.py"):
        load_fashion_classifier(weights_path=weights)
    with pytest.raises(WeightsNotFoundError, match=r"missing(.|\n)*scripts/train_classifier\.py"):
        load_fashion_classifier(weights_path=tmp_path / "nowhere.safetensors")


def test_classifier_accuracy_and_resized_inputs(test_set) -> None:
    images, labels = test_set[0][:2000], test_set[1][:2000]
    assert classifier_accuracy(images, labels) >= 0.90
    # DCGANs make 32x32 and 64x64 images: resized back to 28x28 inside, still recognised
    assert classifier_accuracy(resize(images[:500], 32), labels[:500]) >= 0.85
    assert classifier_accuracy(resize(images[:500], 64), labels[:500]) >= 0.85
    assert classifier_features(images[:10]).shape == (10, 128)


def test_per_class_accuracy_on_real_images(test_set) -> None:
    images, labels = test_set
    accuracies = per_class_accuracy(images[:2000], labels[:2000])
    assert len(accuracies) == 10 and min(accuracies) >= 0.7, accuracies
    assert math.isnan(per_class_accuracy(images[:5], torch.zeros(5, dtype=torch.long))[1])


# --- FID and KID -------------------------------------------------------------------------

KID_SUBSETS = 20  # fewer than the default 100: KID's cost is in its subsets, and tests must be quick


@pytest.fixture(scope="module")
def evaluate(test_set) -> FIDEvaluator:
    return FIDEvaluator(test_set[0][:2000], kid_subsets=KID_SUBSETS)  # real statistics, computed once


def test_fid_of_a_set_with_itself_is_zero(test_set) -> None:
    images = test_set[0][:1000]
    out = fid_kid(images, images, kid_subset_size=1000, kid_subsets=2)
    assert abs(out["fid"]) < 1e-6, out
    # KID's unbiased estimator leaves out k(x_i, x_i) within a set but not across sets, so for a
    # set against itself it is slightly negative: -2 / (m - 1) * (mean of diag(K) - mean of K).
    f = classifier_features(images).double()
    kernel = (f @ f.T / f.shape[1] + 1) ** 3  # (m, m), torchmetrics' default polynomial kernel
    expected = -2 / (len(f) - 1) * (kernel.diag().mean() - kernel.mean())
    assert out["kid_mean"] == pytest.approx(float(expected), rel=1e-4)


def test_torchmetrics_with_classifier_features_matches_evaluator(test_set, train_set) -> None:
    real, fake = test_set[0][:1000], train_set[:1000]
    fid = FrechetInceptionDistance(feature=ClassifierFeatures())
    fid.update(real, real=True)
    fid.update(to_uint8(fake), real=False)  # uint8 0..255 is converted with from_uint8
    expected = fid_kid(real, fake, kid_subsets=2)["fid"]
    assert float(fid.compute()) == pytest.approx(expected, rel=1e-3)


@pytest.mark.slow
def test_fid_real_vs_real_small_real_vs_noise_large(evaluate, train_set) -> None:
    real_vs_real = evaluate(train_set[:2000])  # the training split against the test split
    noise = torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    real_vs_noise = evaluate(noise)
    assert real_vs_noise["fid"] > 50 * real_vs_real["fid"], (real_vs_real, real_vs_noise)
    assert real_vs_noise["kid_mean"] > 50 * abs(real_vs_real["kid_mean"])
    assert evaluate(train_set[:2000]) == real_vs_real  # reusable, and KID's subsets are seeded


def test_kid_is_unbiased_fid_is_not(evaluate, train_set) -> None:
    # Two disjoint sets of real images: KID estimates 0 without bias, FID sits clearly above 0
    out = evaluate(train_set[2000:4000])
    assert abs(out["kid_mean"]) < max(3 * out["kid_std"], 1e-3), out
    assert out["fid"] > 0.2, out


def test_fid_grows_as_the_number_of_samples_shrinks(test_set, train_set) -> None:
    rows = fid_vs_num_samples(train_set[:2000], test_set[0][:2000], sizes=(250, 500, 2000), kid_subsets=5)
    fids = [r["fid"] for r in rows]
    assert [r["num_samples"] for r in rows] == [250, 500, 2000]
    assert fids[0] > fids[1] > fids[2] > 0, rows


# --- precision and recall ----------------------------------------------------------------


def _blob(n: int, centre: float, seed: int, dim: int = 2) -> torch.Tensor:
    return centre + torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_knn_radii_against_a_naive_loop() -> None:
    x = _blob(50, 0.0, 0, dim=8).double()
    d = torch.cdist(x, x)
    naive = torch.stack([d[i].sort().values[3] for i in range(50)])  # [0] is the point itself
    torch.testing.assert_close(knn_radii(x, 3, chunk_size=7), naive)


def test_precision_recall_identical_far_and_half_covered() -> None:
    real = torch.cat([_blob(500, -10.0, 0), _blob(500, 10.0, 1)])  # two well separated modes
    assert precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(real, _blob(500, 100.0, 2))
    assert far == {"precision": 0.0, "recall": 0.0}
    half = precision_recall(real, _blob(1000, 10.0, 3), chunk_size=128)  # only the second mode
    assert half["precision"] > 0.95 and abs(half["recall"] - 0.5) < 0.05, half


def test_image_precision_recall_real_sets(test_set, train_set) -> None:
    out = image_precision_recall(train_set[:1000], test_set[0][:1000])
    assert out["precision"] > 0.6 and out["recall"] > 0.6, out


def test_sample_scorer_is_fid_kid_and_precision_recall_in_one_call(evaluate, test_set, train_set) -> None:
    """The chapters' and the scoreboard's one scorer gives exactly what FIDEvaluator and precision_recall give
    separately, and tells real images from noise."""
    from synthlib.metrics.samples import SampleScorer

    real, fake = test_set[0][:2000], train_set[:500]
    score = SampleScorer(real, evaluator=evaluate)  # the module's evaluator on the same 2,000 test images
    got = score(fake)
    want = {**evaluate(fake), **precision_recall(classifier_features(real), classifier_features(fake))}
    assert got == pytest.approx(want, rel=1e-6, abs=1e-9)
    noise = score(torch.rand(500, 1, 28, 28) * 2 - 1)
    assert noise["fid"] > 10 * got["fid"] and noise["precision"] < got["precision"] - 0.3, (noise, got)
    # by default it builds that evaluator itself
    small = SampleScorer(real[:200], kid_subsets=2)(fake[:200])
    assert small["fid"] == pytest.approx(FIDEvaluator(real[:200], kid_subsets=2)(fake[:200])["fid"], rel=1e-6)
