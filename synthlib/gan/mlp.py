"""Small MLPs for toy GANs on 1-D and 2-D data (a mixture of Gaussians, a ring, a spiral).

With two-dimensional samples every point G makes can be plotted next to the data, so mode
collapse and the shape of D's decision surface can be seen directly. Both models train in
seconds on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from synthlib.core.config import check_choice
from synthlib.core.registry import register

__all__ = ["MLPDiscriminator", "MLPGenerator"]


def _mlp(in_dim: int, hidden: int, num_layers: int, out_dim: int, act: nn.Module) -> nn.Sequential:
    """``num_layers`` hidden layers (Linear + activation) followed by a Linear output layer."""
    if num_layers < 1:
        raise ValueError(f"parameter 'num_layers' must be >= 1, got {num_layers}")
    layers: list[nn.Module] = []
    for i in range(num_layers):
        layers += [nn.Linear(in_dim if i == 0 else hidden, hidden), act]
    layers.append(nn.Linear(hidden, out_dim))
    return nn.Sequential(*layers)


def _check_shape(x: Tensor, dim: int, name: str, who: str) -> None:
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{who}: expected {name} of shape (N, {dim}), got {tuple(x.shape)}")


@register
class MLPGenerator(nn.Module):
    """z (N, z_dim) -> samples (N, out_dim). The output is linear: toy data is not image-bounded."""

    @dataclass
    class Config:
        z_dim: int = 8
        out_dim: int = 2
        hidden: int = 128
        num_layers: int = 3  # hidden layers; one more Linear maps to out_dim
        activation: Literal["relu", "leaky_relu"] = "relu"

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        check_choice("activation", config.activation, ("relu", "leaky_relu"))
        act = nn.ReLU() if config.activation == "relu" else nn.LeakyReLU(0.2)
        self.net = _mlp(config.z_dim, config.hidden, config.num_layers, config.out_dim, act)

    def forward(self, z: Tensor) -> Tensor:
        _check_shape(z, self.config.z_dim, "z", "MLPGenerator")
        return self.net(z)


@register
class MLPDiscriminator(nn.Module):
    """samples (N, in_dim) -> raw logits of shape (N,), like every synthlib discriminator.

    LeakyReLU keeps a gradient for G everywhere, also where a ReLU unit would be switched off.
    """

    @dataclass
    class Config:
        in_dim: int = 2
        hidden: int = 128
        num_layers: int = 3  # hidden layers; one more Linear maps to the logit
        leaky_slope: float = 0.2

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        act = nn.LeakyReLU(config.leaky_slope)
        self.net = _mlp(config.in_dim, config.hidden, config.num_layers, 1, act)

    def forward(self, x: Tensor) -> Tensor:
        _check_shape(x, self.config.in_dim, "x", "MLPDiscriminator")
        return self.net(x).squeeze(1)  # (N, 1) -> (N,)
