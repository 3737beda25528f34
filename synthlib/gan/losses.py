"""GAN losses and regularizers as small pure functions.

Conventions used by every function here:

* ``real_logits`` / ``fake_logits`` are the raw discriminator outputs for real and generated
  images, *before* any sigmoid: D(x) = sigmoid(logit). Any shape works; each loss is a mean over
  all elements and returns a 0-dim tensor.
* The log-sigmoid terms use softplus, which is stable for large logits:
  ``-log(sigmoid(t)) = softplus(-t)`` and ``-log(1 - sigmoid(t)) = softplus(t)``.
* Every ``d_*_loss`` is minimized by the discriminator (or critic), every ``g_*_loss`` by the
  generator.
* Gradient penalties (WGAN-GP, R1) are computed in fp32 outside autocast: the training loop
  runs the discriminator for them a second time with autocast disabled. Half-precision
  input gradients underflow, and a GradScaler does not rescale ``torch.autograd.grad``.
  Both penalty functions raise a ValueError on fp16/bf16 discriminator outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice

DLoss = Callable[[Tensor, Tensor], Tensor]
"""A discriminator loss: ``d_loss(real_logits, fake_logits) -> scalar``."""
GLoss = Callable[[Tensor], Tensor]
"""A generator loss: ``g_loss(fake_logits) -> scalar``."""


# --- minimax / non-saturating (Goodfellow et al. 2014) ---------------------------------------


def d_minimax_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of the original GAN: binary cross-entropy, real = 1 and fake = 0.

    L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))]
        = E[softplus(-real_logits)] + E[softplus(fake_logits)]

    Equals 2 log 2 when all logits are 0 (D(.) = 1/2 everywhere).
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


d_logistic_loss = d_minimax_loss
"""The same discriminator loss under the name StyleGAN uses; pairs with the non-saturating G loss."""


def g_minimax_loss(fake_logits: Tensor) -> Tensor:
    """Saturating generator loss: the generator minimizes the minimax objective directly.

    L_G = E_z[log(1 - D(G(z)))] = -E[softplus(fake_logits)]

    Its gradient d L_G / d logit = -sigmoid(logit) vanishes when D confidently rejects the
    fakes (logit << 0), which is exactly the situation early in training.
    """
    return -F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss (the "-log D trick" of the same paper).

    L_G = -E_z[log D(G(z))] = E[softplus(-fake_logits)]

    Its gradient d L_G / d logit = sigmoid(logit) - 1 is close to -1 when D rejects the fakes.
    """
    return F.softplus(-fake_logits).mean()


# --- least squares (Mao et al. 2017), labels a = 0 (fake), b = 1 (real), c = 1 -----------------


def d_lsgan_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """LSGAN discriminator loss, with the paper's 1/2 factors and a linear (no sigmoid) output.

    L_D = 1/2 E_x[(D(x) - b)^2] + 1/2 E_z[(D(G(z)) - a)^2],  a = 0, b = 1
    """
    return 0.5 * (real_logits - 1).square().mean() + 0.5 * fake_logits.square().mean()


def g_lsgan_loss(fake_logits: Tensor) -> Tensor:
    """LSGAN generator loss, with the paper's 1/2 factor.

    L_G = 1/2 E_z[(D(G(z)) - c)^2],  c = 1
    """
    return 0.5 * (fake_logits - 1).square().mean()


# --- hinge (Lim & Ye 2017; used by SAGAN and BigGAN) ------------------------------------------


def d_hinge_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge discriminator loss: only logits on the wrong side of the +-1 margin are penalized.

    L_D = E_x[max(0, 1 - D(x))] + E_z[max(0, 1 + D(G(z)))]
    """
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge_loss(fake_logits: Tensor) -> Tensor:
    """Hinge generator loss (no margin on the generator side).

    L_G = -E_z[D(G(z))]
    """
    return -fake_logits.mean()


# --- Wasserstein (Arjovsky et al. 2017) -----------------------------------------------------


def d_wasserstein_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Critic loss: the negated estimate of W1 = sup_{||f||_L <= 1} E[f(x)] - E[f(G(z))].

    L_D = E_z[f(G(z))] - E_x[f(x)]

    The critic f must be kept (roughly) 1-Lipschitz: by :func:`clip_weights_` after every
    critic step, or by adding :func:`gradient_penalty`.
    """
    return fake_scores.mean() - real_scores.mean()


def g_wasserstein_loss(fake_scores: Tensor) -> Tensor:
    """Generator loss of WGAN: L_G = -E_z[f(G(z))]."""
    return -fake_scores.mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """WGAN weight clipping, in place: every parameter w of ``module`` becomes clamp(w, -c, c).

    Call it after each critic optimizer step (the paper uses c = 0.01).
    """
    if c <= 0:
        raise ValueError(f"clip value c must be positive, got {c}")
    for p in module.parameters():
        p.clamp_(-c, c)


# --- gradient penalties ------------------------------------------------------------------


def _check_fp32(scores: Tensor, name: str) -> None:
    if scores.dtype in (torch.float16, torch.bfloat16):
        raise ValueError(
            f"{name} got {scores.dtype} discriminator outputs; compute gradient penalties in fp32 "
            "with autocast disabled (torch.autocast(device_type, enabled=False))"
        )


def gradient_penalty(
    D: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
    center: float = 1.0,
    alpha: Tensor | None = None,
) -> Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al. 2017), without the lambda factor.

    x_hat   = alpha * x + (1 - alpha) * G(z),   alpha ~ U[0, 1], one alpha per sample
    penalty = E_x_hat[(||grad_x_hat D(x_hat)||_2 - center)^2]

    alpha is drawn once per sample, shape (N, 1, ..., 1), so each x_hat lies on the straight
    line between a real and a fake image (drawing it per pixel would leave that line).
    The norm runs over all non-batch dimensions. ``fake`` is detached, so backpropagating the
    penalty reaches only D's parameters; the graph is kept (create_graph=True) for that.

    Args:
        D: the critic, mapping (N, ...) images to N scores (any shape with N elements per batch).
        real, fake: (N, ...) batches of the same shape.
        generator: optional RNG for alpha; it must live on ``real``'s device.
        center: the target norm (1 in the paper; 0 gives a zero-centered penalty).
        alpha: optional given interpolation coefficients, N of them (shape (N,) or
            (N, 1, ..., 1)); for tests. Drawn from U[0, 1] when None.

    Returns:
        The penalty, a 0-dim tensor; the caller multiplies it by lambda (10 in the paper).
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must have the same shape")
    n = real.shape[0]
    alpha_shape = (n,) + (1,) * (real.ndim - 1)  # (N, 1, ..., 1): broadcast over each sample
    if alpha is None:
        alpha = torch.rand(alpha_shape, generator=generator, device=real.device, dtype=real.dtype)
    elif alpha.numel() != n:
        raise ValueError(f"alpha needs one value per sample ({n}), got shape {tuple(alpha.shape)}")
    alpha = alpha.reshape(alpha_shape).to(device=real.device, dtype=real.dtype)

    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = D(x_hat)
    _check_fp32(scores, "gradient_penalty")
    (grad,) = torch.autograd.grad(
        outputs=scores.sum(), inputs=x_hat, create_graph=True, allow_unused=True, materialize_grads=True
    )
    grad_norm = grad.flatten(1).norm(2, dim=1)  # (N,): ||grad_x_hat D(x_hat)||_2 per sample
    return (grad_norm - center).square().mean()


def r1_penalty(real_img: Tensor, real_logits: Tensor) -> Tensor:
    """R1 regularizer (Mescheder et al. 2018), without the gamma / 2 factor.

    R1 = E_x[||grad_x D(x)||_2^2]

    ``real_img`` must have had ``requires_grad_(True)`` set before ``real_logits = D(real_img)``
    was computed. Compute both in fp32 outside autocast (see the module docstring); the
    caller adds ``r1_gamma / 2 * r1_penalty(...)`` to the discriminator loss (times the lazy
    regularization interval when it is applied only every few steps).

    Returns:
        A 0-dim tensor: squared gradient norm summed over non-batch dims, averaged over the batch.
    """
    if not real_img.requires_grad:
        raise ValueError("r1_penalty needs real_img.requires_grad_(True) before computing real_logits = D(real_img)")
    _check_fp32(real_logits, "r1_penalty")
    (grad,) = torch.autograd.grad(
        outputs=real_logits.sum(), inputs=real_img, create_graph=True, allow_unused=True, materialize_grads=True
    )
    return grad.square().flatten(1).sum(1).mean()  # sum over (C, H, W), mean over N


# --- by name -------------------------------------------------------------------------------

GAN_LOSSES: dict[str, tuple[DLoss, GLoss]] = {
    "minimax": (d_minimax_loss, g_minimax_loss),
    "nonsaturating": (d_logistic_loss, g_nonsaturating_loss),
    "lsgan": (d_lsgan_loss, g_lsgan_loss),
    "hinge": (d_hinge_loss, g_hinge_loss),
    "wgan": (d_wasserstein_loss, g_wasserstein_loss),  # with clip_weights_ after each D step
    "wgan-gp": (d_wasserstein_loss, g_wasserstein_loss),  # plus lambda * gradient_penalty
}
"""(d_loss, g_loss) for each loss name a config may give."""


def get_gan_loss(name: str) -> tuple[DLoss, GLoss]:
    """The (d_loss, g_loss) pair called ``name``; a ValueError lists the allowed names."""
    return GAN_LOSSES[check_choice("loss", name, GAN_LOSSES)]


# --- perceptual: Gram matrices (Gatys et al. 2016) ------------------------------------------


def gram_matrix(features: Tensor) -> Tensor:
    """Gram matrices of feature maps: N x C x H x W -> N x C x C, normalised by C*H*W.

    ``G[n, i, j] = sum_{y,x} F[n, i, y, x] * F[n, j, y, x] / (C * H * W)``: the correlations
    between channels, with the spatial layout summed away (what a style loss compares). Symmetric
    and positive semi-definite. Computed in fp32 for half-precision inputs.
    """
    if features.ndim != 4:
        raise ValueError(f"gram_matrix expects N x C x H x W features, got shape {tuple(features.shape)}")
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    if f.dtype in (torch.float16, torch.bfloat16):
        f = f.float()
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)
