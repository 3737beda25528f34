"""Differentiable augmentation for GANs trained on little data.

A discriminator trained on a few thousand images soon memorises them: it scores every real
image as real with high confidence, its feedback to the generator stops being informative and
the generated images get worse (the FID curve turns back up). Augmenting the data in the usual
way does not help a GAN: the discriminator would learn that augmented images are "real", and
the generator would learn to produce them (cut-out squares, shifted borders...).

The fix (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training";
Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data", ADA) is to
augment *inside the discriminator's input*, for every image D sees:

* **both real and fake images**, with the same distribution of augmentations. D then compares
  augmented reals with augmented fakes, so the augmentation carries no "real" signal, and what
  G is pushed toward is "fakes whose augmentations look like the reals' augmentations", whose
  solution (for augmentations that do not destroy the distribution, see below) is the real
  distribution itself. Augmenting only the reals would teach G the augmentations; augmenting
  only in D's step and not in G's would make D and G play different games.
* **differentiably**: G's loss is ``loss(D(T(G(z))))``; G learns from the gradient flowing
  back through ``T``. Every operation here is a composition of per-pixel affine maps, masks
  and index shuffles of ``x``, so autograd differentiates it w.r.t. ``x`` (not w.r.t. the
  random parameters, which need no gradient).

Usage in a GAN step: ``D(diff_augment(real))`` and ``D(diff_augment(G(z)))`` in D's loss,
``D(diff_augment(G(z)))`` in G's loss -- or with an :class:`AdaptiveAugment` ``aug`` in place
of ``diff_augment``, calling ``aug.update(logits_real, batch_size)`` after D's step.

Images are float in [-1, 1], N x C x H x W; the output has the input's shape, dtype and device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["AUGMENTATIONS", "AdaptiveAugment", "diff_augment", "parse_policy"]


def _rand(x: Tensor, *shape: int, generator: torch.Generator | None = None) -> Tensor:
    """U(0, 1) numbers of ``shape``, drawn on the generator's device (or x's), cast to x's."""
    device = generator.device if generator is not None else x.device
    u = torch.rand(shape, generator=generator, device=device)
    return u.to(device=x.device, dtype=x.dtype)


def _randint(x: Tensor, low: int, high: int, n: int, generator: torch.Generator | None = None) -> Tensor:
    """n integers in [low, high) (int64, on x's device)."""
    device = generator.device if generator is not None else x.device
    return torch.randint(low, high, (n,), generator=generator, device=device).to(x.device)


# --- the augmentations ---------------------------------------------------------------------------


def brightness(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Add one U(-0.5, 0.5) offset per sample to every pixel and channel."""
    return x + (_rand(x, x.shape[0], 1, 1, 1, generator=generator) - 0.5)


def saturation(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Scale each pixel's deviation from its mean over the channels by U(0, 2) per sample.

    0 turns the image grey, 2 doubles its colourfulness. A 1-channel image has no colour (the
    deviation is zero), so it is returned as is, without drawing random numbers.
    """
    if x.shape[1] == 1:
        return x
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_rand(x, x.shape[0], 1, 1, 1, generator=generator) * 2) + mean


def contrast(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Scale the deviation from the image's mean (over C, H, W) by U(0.5, 1.5) per sample."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, x.shape[0], 1, 1, 1, generator=generator) + 0.5) + mean


def translation(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> Tensor:
    """Shift each sample by whole pixels, up to ``ratio`` (1/8) of the size in each direction.

    The pixels shifted in from outside are 0 (zero padding); those shifted out are dropped.
    Implemented as zero padding and one gather per sample: output pixel (i, j) of sample n is
    padded pixel (i - dy_n + py, j - dx_n + px). Indexing is differentiable w.r.t. ``x`` (the
    gradient of a moved pixel goes back to where it came from).
    """
    n, c, h, w = x.shape
    py, px = int(h * ratio + 0.5), int(w * ratio + 0.5)  # the largest shift
    dy = _randint(x, -py, py + 1, n, generator)
    dx = _randint(x, -px, px + 1, n, generator)
    padded = F.pad(x, [px, px, py, py])  # (N, C, H + 2py, W + 2px), zeros around
    rows = torch.arange(h, device=x.device)[None, :, None] - dy[:, None, None] + py  # (N, H, 1)
    cols = torch.arange(w, device=x.device)[None, None, :] - dx[:, None, None] + px  # (N, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None]  # (N, 1, 1)
    # advanced indices (N, H, W) on dims 0, 2, 3 with the channel slice between them: the
    # indexed dims come first in the result, (N, H, W, C)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)


def cutout(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> Tensor:
    """Zero one random rectangle of ``ratio`` (1/2) of the height and width per sample.

    The rectangle always lies inside the image, so exactly ``(H / 2) * (W / 2)`` pixels (a
    quarter of the image) are zeroed in every channel. A multiplication by a 0/1 mask: the
    gradient is 1 outside the hole and 0 inside.
    """
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    top = _randint(x, 0, h - ch + 1, n, generator)
    left = _randint(x, 0, w - cw + 1, n, generator)
    rows = torch.arange(h, device=x.device)[None, :]  # (1, H)
    cols = torch.arange(w, device=x.device)[None, :]  # (1, W)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + ch)  # (N, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + cw)  # (N, W)
    hole = in_rows[:, :, None] & in_cols[:, None, :]  # (N, H, W)
    return x * (~hole).to(x.dtype)[:, None]


Augmentation = Callable[..., Tensor]

#: policy name -> the functions it applies, in order
AUGMENTATIONS: dict[str, tuple[Augmentation, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(policy: str | Sequence[str]) -> list[str]:
    """``"color,translation"`` (or a list of names) -> the list of names, checked.

    Empty names are skipped, so ``""`` is the identity. Unknown names raise ``ValueError``.
    """
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = [name.strip() for name in names if name.strip()]
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"diff_augment: unknown augmentation(s) {', '.join(map(repr, unknown))} in policy "
            f"{policy!r}; known: {', '.join(AUGMENTATIONS)}"
        )
    return names


def diff_augment(
    x: Tensor,
    policy: str | Sequence[str] = "color,translation,cutout",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Differentiable augmentation (DiffAugment) of a batch ``x`` (N, C, H, W) in [-1, 1].

    Every sample gets its own random parameters; the policies are applied in the order given:

    * ``color``: brightness (add U(-0.5, 0.5)), saturation (scale the deviation from the
      channel mean by U(0, 2); skipped for 1-channel images), contrast (scale the deviation
      from the image mean by U(0.5, 1.5));
    * ``translation``: shift by up to 1/8 of the size (whole pixels, zero padding);
    * ``cutout``: zero a random square of half the size (a quarter of the pixels).

    Differentiable w.r.t. ``x``, so G's gradient flows through it: apply it to the real *and*
    the fake images D sees, in both D's and G's losses (see the module docstring). ``generator``
    (a ``torch.Generator``) makes the draws reproducible; None uses the global RNG. The output
    may exceed [-1, 1] (brightness, saturation); D does not mind.
    """
    if x.ndim != 4:
        raise ValueError(f"diff_augment: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    for name in parse_policy(policy):
        for fn in AUGMENTATIONS[name]:
            x = fn(x, generator=generator)
    return x


# --- adaptive probability ------------------------------------------------------------------------


class AdaptiveAugment:
    """Augment each image with a probability ``p`` that adapts to how much D overfits (ADA).

    Why adapt ``p``: with ``p = 1`` every image D sees is augmented, and some augmentations
    then *leak*: if D only ever sees augmented images, a generator producing augmented-looking
    images (cut-out holes, shifted borders, odd colours) can be just as good in D's eyes. As
    long as a fraction ``1 - p`` of the images reaches D unchanged, the clean distribution is
    still visible and G has no reason to imitate the augmentations (Karras et al. found the
    leak starts around p ~ 0.8 for such transforms). On the other hand with little data D
    overfits, and more augmentation is what prevents it. So ``p`` should be as small as
    possible and as large as needed, and that depends on the dataset size and on the point of
    training: ADA measures it instead of tuning it by hand.

    The overfitting indicator is ``r_t = E[sign(D(real))]`` over recent real batches: 0 when D
    cannot tell reals from fakes (its logits straddle 0), 1 when it is sure of every training
    image -- memorised. ``p`` starts at 0 and, every ``interval`` calls to :meth:`update`,
    moves by ``sign(r_t - target) * batch_size * interval / speed_img``: up when D overfits
    (``r_t > target``, default 0.6), down otherwise, clipped to [0, 1]. ``speed_img`` is how
    many images it takes p to go from 0 to 1 (500k by default; small values react faster).

    ``aug(x)`` augments each sample with :func:`diff_augment` with probability ``p`` (the
    others pass through unchanged); use it on the real and the fake images D sees, in D's and
    G's losses. Call ``aug.update(D(aug(real)), batch_size)`` with D's raw logits on the reals
    after each D step. With several processes, ``batch_size`` should be the global batch and
    the logits gathered (or their sign sums reduced) across ranks so all ranks agree on p.

    It has ``state_dict`` / ``load_state_dict`` (plain numbers), so a :class:`synthlib.core.train.Trainer`
    saves it in its checkpoints when passed in ``stateful={"ada": aug}``.
    """

    def __init__(
        self,
        target: float = 0.6,
        speed_img: int = 500_000,
        interval: int = 4,
        policy: str | Sequence[str] = "color,translation,cutout",
        p: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"AdaptiveAugment: target must be in [0, 1], got {target}")
        if speed_img <= 0:
            raise ValueError(f"AdaptiveAugment: speed_img must be > 0, got {speed_img}")
        if interval < 1:
            raise ValueError(f"AdaptiveAugment: interval must be >= 1, got {interval}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"AdaptiveAugment: p must be in [0, 1], got {p}")
        self.target = float(target)
        self.speed_img = speed_img
        self.interval = interval
        self.policy = parse_policy(policy)
        self.generator = generator
        self._p = float(p)
        self._rt: float | None = None  # the last measured E[sign(D(real))]
        self._sign_sum: Tensor | float = 0.0  # accumulated since the last adjustment (on D's device)
        self._count = 0  # logits accumulated since the last adjustment
        self._calls = 0  # update() calls since the last adjustment

    @property
    def p(self) -> float:
        """The current augmentation probability, in [0, 1]."""
        return self._p

    @property
    def rt(self) -> float | None:
        """The overfitting indicator ``E[sign(D(real))]`` of the last adjustment (None before)."""
        return self._rt

    def update(self, real_logits: Tensor, batch_size: int | None = None) -> float:
        """Accumulate ``sign(real_logits)``; every ``interval`` calls adjust ``p``. Returns ``p``.

        ``batch_size``: images per step, for the speed of adjustment (default: the number of
        logits). The signs are summed on the logits' device; the host only reads them back
        once per ``interval`` calls.
        """
        logits = real_logits.detach().reshape(-1)
        if logits.numel() == 0:
            raise ValueError("AdaptiveAugment.update: got no logits")
        self._sign_sum = self._sign_sum + logits.sign().sum(dtype=torch.float32)  # exact up to 2^24 logits
        self._count += logits.numel()
        self._calls += 1
        if self._calls >= self.interval:
            batch = logits.numel() if batch_size is None else batch_size
            self._rt = float(self._sign_sum) / self._count
            step = batch * self.interval / self.speed_img
            direction = (self._rt > self.target) - (self._rt < self.target)  # sign(r_t - target)
            self._p = min(1.0, max(0.0, self._p + direction * step))
            self._sign_sum, self._count, self._calls = 0.0, 0, 0
        return self._p

    def __call__(self, x: Tensor) -> Tensor:
        """Augment each sample of ``x`` with probability ``p``; the others are returned as they are."""
        if self._p <= 0.0:
            return x
        augmented = diff_augment(x, self.policy, generator=self.generator)
        if self._p >= 1.0:
            return augmented
        chosen = _rand(x, x.shape[0], generator=self.generator) < self._p  # (N,) bool
        return torch.where(chosen[:, None, None, None], augmented, x)

    def state_dict(self) -> dict[str, Any]:
        return {
            "p": self._p,
            "rt": self._rt,
            "sign_sum": float(self._sign_sum),
            "count": self._count,
            "calls": self._calls,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        p = float(state["p"])
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"AdaptiveAugment.load_state_dict: p must be in [0, 1], got {p}")
        self._p = p
        self._rt = None if state.get("rt") is None else float(state["rt"])
        self._sign_sum = float(state.get("sign_sum", 0.0))
        self._count = int(state.get("count", 0))
        self._calls = int(state.get("calls", 0))

    def __repr__(self) -> str:
        return (
            f"AdaptiveAugment(p={self._p:.4f}, target={self.target}, speed_img={self.speed_img}, "
            f"interval={self.interval}, policy={','.join(self.policy)!r})"
        )
