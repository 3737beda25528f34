"""DnCNN (Zhang, Zuo, Chen, Meng & Zhang, 2017): a plain stack of convolutions that predicts the noise.

"Beyond a Gaussian denoiser: residual learning of deep CNN for image denoising". Its two ideas:

* **residual learning**: the network outputs the noise ``v = y - x`` of a noisy image ``y``, not the
  clean image ``x``; the denoised image is ``y - R(y)``. Near the identity the noise is the small,
  simple part of ``y`` (a clean photo is the complicated part), so it is the easier target;
* **batch normalisation** in every middle layer, which the paper found to speed up and stabilise
  the training of this residual target a great deal.

The network is ``conv 3x3 + ReLU``, then ``depth - 2`` x ``conv 3x3 + BN + ReLU``, then ``conv 3x3``
(17 layers of 64 channels for a known noise level in the paper, 20 for the blind model DnCNN-B). With
no pooling and 3x3 kernels its receptive field is ``2 depth + 1`` pixels wide, so it applies to any
image size, and to tiles of a large one with an overlap of ``depth`` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from synthlib.core.config import check_min
from synthlib.core.registry import register


@register
class DnCNN(nn.Module):
    """N x 3 x H x W noisy images in [-1, 1] -> the denoised images, ``y - R(y)`` (see the module).

    :meth:`noise` is ``R(y)``, what the network itself predicts and is trained on. ``batch_norm=False``
    drops the batch norms (for the ablation the paper makes)."""

    @dataclass
    class Config:
        depth: int = 17  # layers of convolution (paper: 17 for one noise level, 20 blind)
        channels: int = 64  # width of the middle layers (paper: 64)
        image_channels: int = 3  # 3 for colour (CDnCNN), 1 for greyscale
        batch_norm: bool = True

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = cfg = config or self.Config()
        check_min("depth", cfg.depth, 2, owner="DnCNN")
        check_min("channels", cfg.channels, owner="DnCNN")
        check_min("image_channels", cfg.image_channels, owner="DnCNN")
        c, bn = cfg.channels, cfg.batch_norm
        layers: list[nn.Module] = [nn.Conv2d(cfg.image_channels, c, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(cfg.depth - 2):
            layers += [nn.Conv2d(c, c, 3, padding=1, bias=not bn)]  # no bias before BN: its mean would cancel it
            layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True)] if bn else [nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(c, cfg.image_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        for m in self.body:
            if isinstance(m, nn.Conv2d):  # He initialisation for the ReLU stack, as the paper
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        last = self.body[-1]
        last.weight.data.mul_(0.1)  # a fresh network predicts little noise: it starts near the identity

    @property
    def receptive_field(self) -> int:
        """Width in pixels of the input window one output pixel sees."""
        return 2 * self.config.depth + 1

    def noise(self, y: Tensor) -> Tensor:
        """The predicted noise ``R(y)`` of noisy images ``y`` (N x C x H x W)."""
        if y.ndim != 4 or y.shape[1] != self.config.image_channels:
            raise ValueError(f"DnCNN expects images of shape (N, {self.config.image_channels}, H, W), got {tuple(y.shape)}")
        return self.body(y)

    def forward(self, y: Tensor) -> Tensor:
        return y - self.noise(y)
