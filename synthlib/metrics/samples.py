"""The four numbers every generator in the course is scored by, in one place.

FID and KID (:class:`~synthlib.metrics.fid.FIDEvaluator`) against a fixed reference set, and precision and recall
(:func:`~synthlib.metrics.prdc.precision_recall`, k = 3) in the same classifier's features. Chapters 2, 5, 7 and 8
and the course weights' recipes all score with :class:`SampleScorer`, so a number means the same in each.

    score = SampleScorer(real_test)                 # Fashion-MNIST: the offline Fashion-MNIST classifier
    score(fake)  # {"fid", "kid_mean", "kid_std", "precision", "recall", "num_real", "num_fake"}

    # another ruler: any FIDEvaluator-like callable and the features of the same classifier, e.g. chapter 5's emoji
    score = SampleScorer(real_emoji, evaluator=StyleFIDEvaluator(real_emoji, kid_subsets=50), features=style_features)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from synthlib.metrics.prdc import precision_recall


class SampleScorer:
    """FID/KID and precision/recall of images against ``real``; the reference features are computed once.

    ``evaluator``: called on the images, returns at least ``fid`` and ``kid_mean`` (default:
    ``FIDEvaluator(real, kid_subsets=kid_subsets, batch_size=batch_size, device=device, seed=seed)``);
    ``features``: images -> (N, d) features of the same classifier, for precision and recall (default:
    :func:`~synthlib.metrics.fid.classifier_features`). Everything the evaluator returns is passed on (the emoji
    ruler adds its style share).
    """

    def __init__(self, real: Tensor, *, evaluator: Callable[[Tensor], dict[str, Any]] | None = None,
                 features: Callable[[Tensor], Tensor] | None = None, kid_subsets: int = 100, batch_size: int = 500,
                 device: Any = None, seed: int = 0, k: int = 3) -> None:
        from synthlib.metrics.fid import FIDEvaluator, classifier_features

        if evaluator is None:
            evaluator = FIDEvaluator(real, kid_subsets=kid_subsets, batch_size=batch_size, device=device, seed=seed)
        if features is None:
            def features(images: Tensor) -> Tensor:
                return classifier_features(images, batch_size=batch_size, device=device)
        self.evaluate, self.features, self.k = evaluator, features, k
        self.real_features = features(real)

    def __call__(self, images: Tensor) -> dict[str, Any]:
        return {**self.evaluate(images), **precision_recall(self.real_features, self.features(images), k=self.k)}
