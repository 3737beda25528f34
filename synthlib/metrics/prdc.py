"""Precision and recall of a generator, after Kynkäänniemi et al. (2019).

FID folds two failures into one number: bad samples (low fidelity) and missing variety (mode
dropping). Precision and recall pull them apart, using k-nearest-neighbour balls as an estimate
of each set's support ("manifold") in a feature space:

* the real manifold is the union of balls around each real feature, with radius the distance to
  its k-th nearest real neighbour; likewise the generated manifold;
* **precision** = share of generated samples that fall inside the real manifold
  (are the samples realistic?);
* **recall** = share of real samples that fall inside the generated manifold
  (does the generator cover everything the data has?).

A generator that draws perfect T-shirts and nothing else has precision near 1 and recall near
0.1. Both are computed exactly, in chunks with ``torch.cdist``, so 10k x 10k sets fit in memory.
:func:`image_precision_recall` embeds Fashion-MNIST-like images with the classifier features of
:mod:`synthlib.metrics.fid` (not Inception/VGG features: compare values only with each other).
"""

from __future__ import annotations

import torch
from torch import Tensor

from synthlib.metrics.fid import classifier_features

__all__ = ["image_precision_recall", "knn_radii", "precision_recall"]

CHUNK_SIZE = 1024
"""Rows of the distance matrix computed at once: 1024 x 10,000 float64 distances = 80 MB."""


def _pairwise(a: Tensor, b: Tensor) -> Tensor:
    return torch.cdist(a, b)  # (len(a), len(b)); the matmul form |a|^2 + |b|^2 - 2 a.b for large sets


def knn_radii(features: Tensor, k: int = 3, *, chunk_size: int = CHUNK_SIZE) -> Tensor:
    """Distance from each row of ``features`` (N, d) to its k-th nearest other row -> (N,)."""
    n = len(features)
    if not 1 <= k < n:
        raise ValueError(f"k={k} must be in 1..{n - 1} (one less than the number of samples)")
    radii = []
    for start in range(0, n, chunk_size):
        d = _pairwise(features[start : start + chunk_size], features)  # (chunk, N)
        # the k+1 smallest include the point itself at distance 0, so index k is the k-th neighbour
        radii.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(radii)


def _inside(points: Tensor, centres: Tensor, radii: Tensor, chunk_size: int) -> Tensor:
    """Whether each of ``points`` lies in at least one ball (centre, radius) -> (len(points),) bool."""
    inside = []
    for start in range(0, len(points), chunk_size):
        d = _pairwise(points[start : start + chunk_size], centres)  # (chunk, num_centres)
        inside.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(inside)


def _as_features(x: Tensor, name: str) -> Tensor:
    if x.ndim != 2:
        raise ValueError(f"{name} must be a matrix of features (N, d), got shape {tuple(x.shape)}")
    # float64: cdist's matmul form loses small distances to rounding in float32, and a sample's
    # distance to itself (or to its copy in the other set) must come out as (nearly) 0.
    return x.detach().to(torch.float64)


@torch.no_grad()
def precision_recall(
    real_features: Tensor, fake_features: Tensor, k: int = 3, *, chunk_size: int = CHUNK_SIZE
) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of two feature sets (N, d) and (M, d).

    ``k``: the neighbour whose distance sets each ball's radius (the paper uses 3; larger k gives
    larger balls and higher values). Returns ``{"precision": float, "recall": float}``, each in [0, 1].
    """
    real, fake = _as_features(real_features, "real_features"), _as_features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature dimensions differ: real {real.shape[1]}, fake {fake.shape[1]}")
    fake = fake.to(real.device)
    real_radii = knn_radii(real, k, chunk_size=chunk_size)  # (N,)
    fake_radii = knn_radii(fake, k, chunk_size=chunk_size)  # (M,)
    # precision = (1/M) sum_j 1[ exists i: |fake_j - real_i| <= NN_k(real_i) ]
    precision = _inside(fake, real, real_radii, chunk_size).double().mean()
    # recall    = (1/N) sum_i 1[ exists j: |real_i - fake_j| <= NN_k(fake_j) ]
    recall = _inside(real, fake, fake_radii, chunk_size).double().mean()
    return {"precision": float(precision), "recall": float(recall)}


def image_precision_recall(
    real_images: Tensor,
    fake_images: Tensor,
    k: int = 3,
    *,
    batch_size: int = 500,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """:func:`precision_recall` of two image sets (float [-1, 1], N x 1 x H x W) in the classifier's
    128-d feature space (the FID features of :mod:`synthlib.metrics.fid`)."""
    real = classifier_features(real_images, batch_size=batch_size, device=device)
    fake = classifier_features(fake_images, batch_size=batch_size, device=device)
    return precision_recall(real, fake, k)
