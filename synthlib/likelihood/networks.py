"""The networks of chapter 7's likelihood-based generators: a convolutional VAE and a small
time-conditioned U-Net shared by the diffusion model and flow matching.

``DiffusionUNet(x_t, t, labels)`` predicts, from a noisy image ``x_t`` at time ``t`` in [0, 1]
(a float per image), either the noise epsilon that was added (diffusion) or the velocity
``x_1 - x_0`` of the straight path (flow matching): the same network, only the target differs.
Its layout follows Ho et al.'s DDPM U-Net at a CPU-friendly size:

* a sinusoidal embedding of ``t`` (Transformer positions of ``1000 t``) through a 2-layer MLP,
  added to every residual block (as a per-channel shift after its first convolution);
* residual blocks of GroupNorm -> SiLU -> 3x3 conv, twice, with a 1x1 skip where widths differ;
* strided 3x3 convolutions down, nearest up-sampling + 3x3 convolution up (no checkerboards),
  concatenated skips from the encoder;
* one self-attention block at the lowest resolution (7x7 for 28 px): the only layer that sees the
  whole image at once;
* class conditioning (``num_classes > 0``): a learned embedding added to the time embedding, with
  one extra "no class" entry (index ``num_classes``) so the same network is also unconditional:
  that is what classifier-free guidance needs (Ho & Salimans, 2022);
* a zero-initialised output convolution, so the untrained network predicts 0.

The process (``"diffusion"`` or ``"flow"``) and its schedule live in the config too, so a
checkpoint says how to sample from it (:func:`synthlib.likelihood.generate`).

``ConvVAE`` is an encoder ``x -> (mu, log sigma^2)`` and a decoder ``z -> x``; calling it on ``z``
decodes, so :func:`synthlib.sample.sample` draws from it like from a GAN's generator.

Pixel convention: images are float32 in [-1, 1], N x C x H x W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.config import check_choice, check_min
from synthlib.core.registry import check_images, register

__all__ = ["ConvVAE", "DiffusionUNet", "timestep_embedding"]


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal features of times ``t`` (N,) in [0, 1], scaled by 1000 as DDPM's step numbers:
    ``[cos(1000 t w_k), sin(1000 t w_k)]`` with frequencies ``w_k = max_period^(-k / (dim/2))``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _groups(channels: int) -> int:
    """GroupNorm groups: 8 channels per group where possible (at least one group)."""
    return max(1, min(32, channels // 8))


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]  # where the time (and class) enter
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, with a residual connection."""

    def __init__(self, channels: int, heads: int = 4) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)  # (N, H*W, C)
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.transpose(1, 2).reshape(n, c, h, w)


@register
class DiffusionUNet(nn.Module):
    """A time- (and optionally class-) conditioned U-Net: ``model(x_t, t, labels) -> prediction``."""

    @dataclass
    class Config:
        img_size: int = 28
        img_channels: int = 1
        channels: tuple[int, ...] = (32, 64, 128)  # widths per resolution: 28, 14, 7 px
        blocks: int = 1                   # residual blocks per resolution (the decoder has one more)
        patch: int = 1                    # 2: fold 2x2 pixels into channels first (4x less work per layer)
        attention: bool = True            # self-attention at the lowest resolution
        num_classes: int = 0              # > 0: class-conditional, with a "no class" entry for guidance
        dropout: float = 0.0
        # how the network is used (read by synthlib.likelihood): what it predicts and its noise schedule
        process: Literal["diffusion", "flow"] = "diffusion"
        schedule: Literal["linear", "cosine"] = "cosine"   # diffusion only
        num_timesteps: int = 1000                          # diffusion only: T of the discrete chain

    def __init__(self, config: Config) -> None:
        super().__init__()
        cfg = self.config = config
        check_choice("process", cfg.process, ("diffusion", "flow"))
        check_choice("schedule", cfg.schedule, ("linear", "cosine"))
        check_min("blocks", cfg.blocks, owner="DiffusionUNet")
        check_min("num_timesteps", cfg.num_timesteps, 2, owner="DiffusionUNet")
        if not cfg.channels:
            raise ValueError("DiffusionUNet.channels needs at least one width")
        check_min("patch", cfg.patch, owner="DiffusionUNet")
        if cfg.img_size % (cfg.patch * 2 ** (len(cfg.channels) - 1)):
            raise ValueError(f"img_size {cfg.img_size} cannot be halved {len(cfg.channels) - 1} times; "
                             "use fewer channel levels or another size")
        emb_dim = 4 * cfg.channels[0]
        self.time_mlp = nn.Sequential(nn.Linear(cfg.channels[0], emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(cfg.num_classes + 1, emb_dim) if cfg.num_classes > 0 else None
        self.stem = nn.Conv2d(cfg.img_channels * cfg.patch**2, cfg.channels[0], 3, padding=1)

        self.down = nn.ModuleList()
        skips = [cfg.channels[0]]
        width = cfg.channels[0]
        for level, c in enumerate(cfg.channels):
            for _ in range(cfg.blocks):
                self.down.append(ResBlock(width, c, emb_dim, cfg.dropout))
                width = c
                skips.append(width)
            if level < len(cfg.channels) - 1:
                self.down.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
                skips.append(width)
        self.mid1 = ResBlock(width, width, emb_dim, cfg.dropout)
        self.mid_attn = SelfAttention(width) if cfg.attention else nn.Identity()
        self.mid2 = ResBlock(width, width, emb_dim, cfg.dropout)

        self.up = nn.ModuleList()
        for level, c in reversed(list(enumerate(cfg.channels))):
            for _ in range(cfg.blocks + 1):
                self.up.append(ResBlock(width + skips.pop(), c, emb_dim, cfg.dropout))
                width = c
            if level > 0:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             nn.Conv2d(width, width, 3, padding=1)))
        self.out_norm = nn.GroupNorm(_groups(width), width)
        self.out = nn.Conv2d(width, cfg.img_channels * cfg.patch**2, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def null_class(self) -> int:
        """The label that means "no class" (classifier-free guidance's unconditional branch)."""
        return self.config.num_classes

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        cfg = self.config
        check_images(x, cfg.img_channels, cfg.img_size, "DiffusionUNet")
        t = torch.as_tensor(t, dtype=torch.float32, device=x.device).expand(x.shape[0])
        emb = self.time_mlp(timestep_embedding(t, cfg.channels[0]))
        if self.class_emb is not None:
            if labels is None:
                labels = torch.full((x.shape[0],), self.null_class, dtype=torch.long, device=x.device)
            emb = emb + self.class_emb(labels)
        elif labels is not None:
            raise ValueError("this DiffusionUNet is unconditional (num_classes=0); it takes no labels")
        h = self.stem(F.pixel_unshuffle(x, cfg.patch) if cfg.patch > 1 else x)
        hs = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for layer in self.up:
            h = layer(torch.cat([h, hs.pop()], dim=1), emb) if isinstance(layer, ResBlock) else layer(h)
        out = self.out(F.silu(self.out_norm(h)))
        return F.pixel_shuffle(out, cfg.patch) if cfg.patch > 1 else out


@register
class ConvVAE(nn.Module):
    """A convolutional VAE: ``encode(x) -> (mu, logvar)``, ``decode(z) -> x``; ``model(z)`` decodes.

    Encoder 28 -> 14 -> 7 (stride-2 convolutions, BatchNorm-free: the ELBO is per image), a linear
    layer to the mean and log-variance of q(z | x); the decoder mirrors it with nearest up-sampling.
    The decoder's output is the mean of p(x | z), squashed to [-1, 1] by tanh.
    """

    @dataclass
    class Config:
        img_size: int = 28
        img_channels: int = 1
        z_dim: int = 16
        channels: tuple[int, int] = (32, 64)
        hidden: int = 256

    def __init__(self, config: Config) -> None:
        super().__init__()
        cfg = self.config = config
        check_min("z_dim", cfg.z_dim, owner="ConvVAE")
        if cfg.img_size % 4:
            raise ValueError(f"ConvVAE halves the image twice; img_size must be a multiple of 4, got {cfg.img_size}")
        c1, c2 = cfg.channels
        s = cfg.img_size // 4
        self.encoder = nn.Sequential(
            nn.Conv2d(cfg.img_channels, c1, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.SiLU(),
            nn.Flatten(), nn.Linear(c2 * s * s, cfg.hidden), nn.SiLU(),
            nn.Linear(cfg.hidden, 2 * cfg.z_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(cfg.z_dim, cfg.hidden), nn.SiLU(),
            nn.Linear(cfg.hidden, c2 * s * s), nn.SiLU(), nn.Unflatten(1, (c2, s, s)),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c2, c1, 3, padding=1), nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c1, cfg.img_channels, 3, padding=1), nn.Tanh(),
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The mean and log-variance of the Gaussian q(z | x), each (N, z_dim)."""
        check_images(x, self.config.img_channels, self.config.img_size, "ConvVAE.encode")
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.config.z_dim:
            raise ValueError(f"ConvVAE.decode: expected z of shape (N, {self.config.z_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, z: Tensor) -> Tensor:
        return self.decode(z)
