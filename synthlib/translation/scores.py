"""Scores for image-to-image translation (Chapter 3: Google emoji -> Twitter emoji, and back).

A translator is judged two ways, because each alone can be fooled:

**Paired scores** (:func:`paired_scores`): each output against the true image of the same emoji in
the target style (the test split holds both styles of every emoji).

* ``l1``: mean absolute pixel difference, on [-1, 1] (0 = identical, 2 = black vs white); the
  loss pix2pix trains with, so the one it is best at.
* ``psnr``: peak signal-to-noise ratio in dB, ``10 log10(2^2 / MSE)`` on [-1, 1] (data range 2),
  computed **per image and then averaged** (not from the mean MSE: one very bad image should not
  dominate, and per-image values are what a widget shows). An image identical to its target has
  MSE 0 and infinite PSNR; it is capped at :data:`PSNR_MAX_DB` (100 dB) so that one perfect
  image does not make the mean infinite. No two distinct 8-bit images come near the cap: one
  pixel off by one level in a 3 x 64 x 64 image gives 89 dB.
* ``ssim``: structural similarity (Wang et al. 2004) with torchmetrics, Gaussian 11 x 11 window
  (sigma 1.5), K1 = 0.01, K2 = 0.03, averaged over pixels and the three channels, per image.
  Computed on the images mapped to [0, 1] with ``data_range=1`` -- the same value as torchmetrics'
  SSIM of the saved 8-bit images with ``data_range=255``, the usual convention. Not on [-1, 1]
  with ``data_range=2``: SSIM's luminance term ``(2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)`` is
  not shift-invariant, and on [-1, 1] it calls two nearly equal mid-grey patches (means 0.05 and
  -0.05) almost opposite (-0.85 instead of ~1); on the test emoji it gives 0.355 instead of 0.407
  for the identity baseline. torchmetrics pads images by reflection and averages over every
  pixel, while scikit-image drops a 5-pixel border (29% of a 64x64 image, where Twemoji often
  reach the edge and Noto emoji do not): their values differ by up to ~0.1 per emoji, so compare
  SSIMs only from the same implementation.

Outputs are clamped to [-1, 1] first, as saving them as images would; uint8 images (0..255) are
accepted and converted with :func:`~synthlib.data.from_uint8`.

Pixel scores reward blur: a translator that hedges between possible outputs gets a low L1 and a
decent SSIM while looking nothing like a Twemoji. Hence:

**Realism scores** (:func:`realism_scores`): does the *set* of outputs look like a set of
real images of the target style? They use an offline network made for the job,
:class:`~synthlib.nn.classifier.EmojiStyleClassifier` (Google vs Twitter drawing style,
trained on the TRAIN split only, so no test emoji was seen; weights and manifest in
``synthlib/weights/emoji_style_classifier.*``, made by
``python scripts/train_emoji_style_classifier.py``):

* ``kid_mean`` / ``kid_std`` and ``fid``: KID and FID (see :mod:`synthlib.metrics.fid`) between
  the outputs and a reference set of real target-style images, in the classifier's 128-d feature
  space. KID is unbiased, so it can be compared at ~400 images (the test split); FID is biased
  upwards at small N -- compare FIDs only at equal numbers of images.
* ``style_share``: the mean probability the classifier gives the target style (``twemoji_share``
  when the target is Twitter, ``noto_share`` when it is Google): "how Twemoji-like, per the style
  classifier". Real test images get 0.92 (Twitter) and 0.95 (Google), not 1: the classifier is
  about 96.5% accurate, since many objects are drawn almost alike by both sets. **The share is not
  a quality score**: it rewards blur. Blurring real Twemoji (sigma 1.5) *raises* their share to
  0.99, and blurred Noto images drop to a Google share of 0.17 -- to this classifier smooth means
  flat means Twitter. A blurry Google -> Twitter translator therefore gets a flattering
  ``twemoji_share``; read it next to KID/FID, which do punish blur.

Reference set. Translating the test split, the recommended reference is the **train split's
images of the target style** (3,388): disjoint from the outputs' emoji, so the floor -- the real
test images scored against it -- is measurable (it is not 0: different emoji, and images the
classifier trained on), and large, so the reference adds little noise. The test split's own
target images (398) also work and give a lower floor, but scoring real images against
themselves then says nothing. Whatever you pick, use the same reference, the same outputs' count
and the same classifier weights for every model you compare. These are not Inception-FID/KID:
compare them only with each other.

``python -m synthlib.translation.scores`` prints the baselines (identity, true images, blurred
true images) on the test split.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, overload

import torch
from torch import Tensor, nn
from torchmetrics.functional.image import structural_similarity_index_measure

from synthlib.core.config import check_choice
from synthlib.data.pixels import from_uint8, to_unit
from synthlib.metrics.fid import (
    ClassifierFeatures,
    FIDEvaluator,
    _batches,
    _pick_device,
    load_verified_weights,
)
from synthlib.nn.classifier import EmojiStyleClassifier

__all__ = [
    "PSNR_MAX_DB", "STYLES", "STYLE_MANIFEST", "STYLE_WEIGHTS", "StyleFIDEvaluator", "StyleFeatures",
    "gaussian_blur", "load_emoji_style_classifier", "paired_scores", "realism_scores", "style_features",
    "style_probability", "twitter_probability", "emoji_baselines",
]  # fmt: skip

Style = Literal["google", "twitter"]
STYLES: tuple[str, str] = ("google", "twitter")
"""The style classifier's classes, by index: 0 = google (Noto), 1 = twitter (Twemoji)."""

PSNR_MAX_DB = 100.0
"""PSNR of identical images (MSE 0), instead of infinity; see the module docstring."""

_SHARE_KEYS = {"twitter": "twemoji_share", "google": "noto_share"}

_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
STYLE_WEIGHTS = _WEIGHTS_DIR / "emoji_style_classifier.safetensors"
STYLE_MANIFEST = _WEIGHTS_DIR / "emoji_style_classifier.json"
_REGENERATE = (
    "regenerate both files with `python scripts/train_emoji_style_classifier.py` "
    "(a few minutes on a CPU; needs the emoji data from `python -m synthlib data`)"
)


# ----------------------------------------------------------------------------------------------
# Paired scores
# ----------------------------------------------------------------------------------------------


def _as_images(x: Tensor, name: str) -> Tensor:
    """uint8 or float N x C x H x W -> float32 in [-1, 1] (clamped), with a clear error otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must be images shaped N x C x H x W, got shape {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return from_uint8(x)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be float images in [-1, 1] or uint8 0..255, got {x.dtype}")
    return x.detach().float().clamp(-1.0, 1.0)


@overload
def paired_scores(pred: Tensor, target: Tensor, *, per_image: Literal[False] = ...) -> dict[str, float]: ...
@overload
def paired_scores(pred: Tensor, target: Tensor, *, per_image: Literal[True]) -> dict[str, Tensor]: ...


@torch.no_grad()
def paired_scores(pred: Tensor, target: Tensor, *, per_image: bool = False) -> dict[str, float] | dict[str, Tensor]:
    """L1, PSNR and SSIM of each output against its true target image (see the module docstring).

    ``pred``, ``target``: the same shape, N x C x H x W, float in [-1, 1] or uint8. Returns
    ``{"l1", "psnr", "ssim"}`` as floats averaged over the N images (PSNR: mean of per-image dB,
    each capped at :data:`PSNR_MAX_DB`), plus ``"num_images"``; with ``per_image=True``, tensors
    of shape (N,) on the CPU instead (for a widget that shows each emoji's scores), no count.
    """
    p, t = _as_images(pred, "pred"), _as_images(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(p.shape)} and {tuple(t.shape)}")
    if len(p) == 0:
        raise ValueError("no images to score (N = 0)")
    t = t.to(p.device)
    diff = p - t
    l1 = diff.abs().mean(dim=(1, 2, 3))
    mse = diff.square().mean(dim=(1, 2, 3))
    # 10 log10(4 / mse) with mse = 0 -> +inf -> capped; clamp_min avoids log10(0) warnings.
    psnr = (10.0 * torch.log10(4.0 / mse.clamp_min(1e-30))).clamp_max(PSNR_MAX_DB)
    ssim = structural_similarity_index_measure(
        to_unit(p), to_unit(t), data_range=1.0, gaussian_kernel=True, sigma=1.5, kernel_size=11, reduction="none"
    )
    scores = {"l1": l1.cpu(), "psnr": psnr.cpu(), "ssim": ssim.reshape(-1).cpu()}
    if per_image:
        return scores
    return {**{k: float(v.mean()) for k, v in scores.items()}, "num_images": len(p)}


def gaussian_blur(images: Tensor, sigma: float) -> Tensor:
    """``images`` (float [-1, 1], N x C x H x W) blurred by a Gaussian of std ``sigma`` pixels.

    Kernel size ``2 * ceil(3 sigma) + 1``, reflected borders (torchvision). For baselines: a
    blurred true target keeps a good L1 and PSNR while losing the crisp look KID should punish.
    """
    from torchvision.transforms.v2.functional import gaussian_blur as _tv_blur

    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    size = 2 * math.ceil(3 * sigma) + 1
    return _tv_blur(_as_images(images, "images"), kernel_size=[size, size], sigma=[sigma, sigma])


# ----------------------------------------------------------------------------------------------
# The style classifier
# ----------------------------------------------------------------------------------------------


def load_emoji_style_classifier(
    device: str | torch.device = "cpu",
    *,
    weights_path: str | Path | None = None,
    manifest_path: str | Path | None = None,
) -> EmojiStyleClassifier:
    """The trained :class:`EmojiStyleClassifier`, in eval mode with gradients off, on ``device``.

    Reads ``synthlib/weights/emoji_style_classifier.safetensors`` (or ``weights_path``) after
    checking its SHA-256 against the ``.json`` manifest beside it (or ``manifest_path``), exactly
    like :func:`synthlib.metrics.fid.load_fashion_classifier`: raises
    :class:`~synthlib.metrics.fid.WeightsNotFoundError` if a file is missing and
    :class:`~synthlib.metrics.fid.CorruptWeightsError` if the checksum differs. Cached per file
    and device: every call returns the same module, so do not train or modify it.
    """
    weights = Path(weights_path) if weights_path is not None else STYLE_WEIGHTS
    return load_verified_weights(weights, Path(manifest_path) if manifest_path is not None else None, device=device,
                                 expected_arch="EmojiStyleClassifier", what="emoji style classifier",
                                 regenerate=_REGENERATE)


class StyleFeatures(ClassifierFeatures):
    """The style classifier's 128-d features as a torchmetrics ``feature`` module.

    :class:`synthlib.metrics.fid.ClassifierFeatures` with the emoji style classifier instead of
    the Fashion-MNIST one: images float in [-1, 1] (or uint8), N x 3 x H x W -> (N, 128) float64.
    """

    def __init__(self, classifier: EmojiStyleClassifier | None = None) -> None:
        model = classifier if classifier is not None else load_emoji_style_classifier()
        super().__init__(model)  # type: ignore[arg-type]  # duck-typed: config.feature_dim and features()


def _target_index(style: str) -> int:
    check_choice("style", style, STYLES)
    return STYLES.index(style)


@torch.no_grad()
def style_features(images: Tensor, *, batch_size: int = 500, device: str | torch.device | None = None) -> Tensor:
    """The style classifier's features of ``images`` (float [-1, 1], N x 3 x H x W) -> (N, 128) float32, CPU."""
    dev = _pick_device(device)
    features = StyleFeatures(load_emoji_style_classifier(dev))
    return torch.cat([features(b).float().cpu() for b in _batches(images, batch_size, dev)])


@torch.no_grad()
def style_probability(
    images: Tensor, style: Style = "twitter", *, batch_size: int = 500, device: str | torch.device | None = None
) -> Tensor:
    """P(``style``) per image, per the style classifier: (N,) float32 on the CPU.

    ``images``: float in [-1, 1] (clamped) or uint8, N x 3 x H x W; other sizes than 64x64 are
    resized. Meaningful for emoji-like pictures on white; anything else gets an arbitrary answer.
    """
    index = _target_index(style)
    dev = _pick_device(device)
    features = StyleFeatures(load_emoji_style_classifier(dev))
    head = features.classifier.head  # type: ignore[union-attr]
    out = [head(features(b).float()).softmax(1)[:, index].cpu() for b in _batches(images, batch_size, dev)]
    return torch.cat(out)


def twitter_probability(
    images: Tensor, *, batch_size: int = 500, device: str | torch.device | None = None
) -> Tensor:
    """How Twemoji-like each image is, per the style classifier: P(twitter), (N,) float32 on the CPU."""
    return style_probability(images, "twitter", batch_size=batch_size, device=device)


# ----------------------------------------------------------------------------------------------
# Realism: KID / FID in the style classifier's feature space, and the target style's share
# ----------------------------------------------------------------------------------------------


class StyleFIDEvaluator(FIDEvaluator):
    """KID, FID and target-style share of translated emoji against a fixed reference set.

        evaluate = StyleFIDEvaluator(load_emoji("train").twitter)   # reference: real target-style images
        evaluate(outputs)  # -> {"kid_mean", "kid_std", "fid", "style_share", "twemoji_share", "num_real", "num_fake"}

    :class:`synthlib.metrics.fid.FIDEvaluator` (reference features computed once, each call
    resets only the outputs' statistics, seeded KID subsets) in the feature space of
    :class:`~synthlib.nn.classifier.EmojiStyleClassifier`. Each batch of outputs goes through
    the classifier once: its features update KID and FID, and its logits give the share.

    ``target_style``: the style the outputs should have ("twitter" for Google -> Twitter,
    "google" for the way back); it names the share (``twemoji_share`` / ``noto_share``, both
    also as ``style_share``). ``kid_subset_size``: images per KID subset, by default
    ``min(100, N_ref // 2, N_out // 2)`` -- 100 for the ~400 test emoji; half the smaller set at
    most, since subsets that all hold every image would all give the same value (``kid_std`` 0).
    """

    def __init__(
        self,
        reference: Tensor,
        *,
        target_style: Style = "twitter",
        batch_size: int = 500,
        kid_subset_size: int | None = None,
        kid_subsets: int = 100,
        device: str | torch.device | None = None,
        seed: int = 0,
    ) -> None:
        self.target_style = target_style
        self._target = _target_index(target_style)
        self._shares: list[Tensor] = []
        super().__init__(reference, batch_size=batch_size, kid_subset_size=kid_subset_size, kid_subsets=kid_subsets,
                         device=device, seed=seed)

    def _load_features(self, device: torch.device) -> nn.Module:
        self.classifier = load_emoji_style_classifier(device)
        return StyleFeatures(self.classifier)

    @torch.no_grad()
    def _update(self, images: Tensor, real: bool) -> None:
        for batch in _batches(images, self.batch_size, self.device):
            features = self.features(batch)  # (B, 128) float64
            self.fid.update(features, real=real)
            self.kid.update(features, real=real)
            if not real:
                probs = self.classifier.head(features.float()).softmax(1)
                self._shares.append(probs[:, self._target].cpu())

    @torch.no_grad()
    def __call__(self, fake_images: Tensor) -> dict[str, float]:
        """Realism scores of ``fake_images`` (the outputs; float [-1, 1] or uint8, N x 3 x H x W)."""
        num_fake = len(fake_images)
        default_size = self.kid_subset_size is None
        if default_size:
            self.kid_subset_size = max(2, min(100, self.num_real // 2, num_fake // 2))
        self._shares = []
        try:
            out = super().__call__(fake_images)
        finally:
            if default_size:
                self.kid_subset_size = None
        share = float(torch.cat(self._shares).mean())
        return {**out, "style_share": share, _SHARE_KEYS[self.target_style]: share}


def realism_scores(
    pred: Tensor,
    reference: Tensor,
    *,
    target_style: Style = "twitter",
    batch_size: int = 500,
    kid_subset_size: int | None = None,
    kid_subsets: int = 100,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """KID, FID and target-style share of the outputs ``pred`` against real ``reference`` images.

    Both float in [-1, 1] (or uint8), N x 3 x H x W. One-off version of
    :class:`StyleFIDEvaluator` (which see for the arguments; for evaluations during training,
    build one evaluator and call it repeatedly). Returns ``{"kid_mean", "kid_std", "fid",
    "style_share", "twemoji_share" | "noto_share", "num_real", "num_fake"}``: lower KID/FID and a
    higher share are better. See the module docstring for the recommended reference set.
    """
    evaluate = StyleFIDEvaluator(
        reference,
        target_style=target_style,
        batch_size=batch_size,
        kid_subset_size=kid_subset_size,
        kid_subsets=kid_subsets,
        device=device,
        seed=seed,
    )
    return evaluate(pred)


# ----------------------------------------------------------------------------------------------
# Baselines on the test split
# ----------------------------------------------------------------------------------------------


def emoji_baselines(*, blur_sigma: float = 1.5, device: str | torch.device | None = None) -> list[dict[str, object]]:
    """The score ladder on the test split (sorted order), for calibrating Chapter 3's models.

    Rows (``direction`` a2b = Google -> Twitter, b2a = Twitter -> Google), each with paired scores
    against the true target and realism scores against two references, ``train`` (the train
    split's target-style images, recommended) and ``test`` (the test split's own target images):

    * ``identity``: the input itself as the output (a translator that does nothing);
    * ``true target``: the real target images (the floor: best possible);
    * ``blurred target``: the real target blurred with ``blur_sigma`` (good pixels, wrong look);
    * ``shuffled target``: real target images of *other* test emoji (perfect look, wrong content:
      paired scores catch it, realism scores cannot).

    Needs the emoji data (``python -m synthlib data``). Returns one dict per row.
    """
    from synthlib.data import load_emoji

    test, train = load_emoji("test"), load_emoji("train")
    shift = torch.roll(torch.arange(len(test)), 1)  # each emoji gets its neighbour's image
    rows: list[dict[str, object]] = []
    for direction, source, target, target_style, train_ref in (
        ("a2b", test.google, test.twitter, "twitter", train.twitter),
        ("b2a", test.twitter, test.google, "google", train.google),
    ):
        evaluators = {
            name: StyleFIDEvaluator(ref, target_style=target_style, device=device)  # type: ignore[arg-type]
            for name, ref in (("train", train_ref), ("test", target))
        }
        candidates = {
            "identity": source,
            "true target": target,
            f"blurred target (sigma {blur_sigma})": gaussian_blur(target, blur_sigma),
            "shuffled target": target[shift],
        }
        for name, pred in candidates.items():
            row: dict[str, object] = {"direction": direction, "prediction": name}
            row.update({k: v for k, v in paired_scores(pred, target).items() if k != "num_images"})
            for ref_name, evaluate in evaluators.items():
                out = evaluate(pred)
                row.update({f"{k}@{ref_name}": out[k] for k in ("kid_mean", "kid_std", "fid")})
                row["style_share"] = out["style_share"]
            rows.append(row)
    return rows


def _main() -> None:
    import time

    start = time.perf_counter()
    rows = emoji_baselines()
    columns = [
        "l1", "psnr", "ssim", "kid_mean@train", "kid_std@train", "fid@train", "kid_mean@test", "fid@test", "style_share",
    ]  # fmt: skip
    print(f"{'dir':4} {'prediction':28} " + " ".join(f"{c:>14}" for c in columns))
    for row in rows:
        values = " ".join(f"{float(row[c]):14.4f}" for c in columns)  # type: ignore[arg-type]
        print(f"{row['direction']:4} {row['prediction']!s:28} {values}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    _main()
