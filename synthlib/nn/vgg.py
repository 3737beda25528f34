"""VGG16 perceptual features: layer taps by name, for content, style and perceptual losses.

:class:`VGG16Features` takes synthlib images (float, [-1, 1], RGB, N x 3 x H x W) and returns the
activations of the named ReLU layers ``relu1_1`` ... ``relu5_3``. The input normalisation is done
ONCE, inside the module, and depends on the weights:

* ``"offline-hed"`` (default; works offline, see :mod:`synthlib.data.vgg_weights`): the VGG16 conv layers
  of HED (Xie & Tu 2015), fine-tuned from ImageNet VGG16 for *edge detection*. Input: BGR,
  0..255, minus the mean (104.007, 116.669, 122.679); max-pooling with ``ceil_mode=True``.
  Edge-tuned: strong on contours and texture, weaker on colour and object-level content.
* ``"torchvision-imagenet"``: torchvision's ImageNet VGG16 (``IMAGENET1K_V1``). Input: RGB in
  [0, 1], minus ImageNet mean (0.485, 0.456, 0.406), divided by std (0.229, 0.224, 0.225);
  max-pooling with ``ceil_mode=False`` as torchvision's.

Use :func:`load_vgg16_features` to get one with its weights loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from synthlib.core.config import check_choice
from synthlib.core.registry import register

# Layer name -> index of that ReLU in torchvision.models.vgg16().features.
VGG16_LAYERS: dict[str, int] = {
    "relu1_1": 1, "relu1_2": 3,
    "relu2_1": 6, "relu2_2": 8,
    "relu3_1": 11, "relu3_2": 13, "relu3_3": 15,
    "relu4_1": 18, "relu4_2": 20, "relu4_3": 22,
    "relu5_1": 25, "relu5_2": 27, "relu5_3": 29,
}  # fmt: skip

# The same for VGG19 (torchvision.models.vgg19().features): blocks 3-5 hold four convolutions each.
VGG19_LAYERS: dict[str, int] = {
    "relu1_1": 1, "relu1_2": 3,
    "relu2_1": 6, "relu2_2": 8,
    "relu3_1": 11, "relu3_2": 13, "relu3_3": 15, "relu3_4": 17,
    "relu4_1": 20, "relu4_2": 22, "relu4_3": 24, "relu4_4": 26,
    "relu5_1": 29, "relu5_2": 31, "relu5_3": 33, "relu5_4": 35,
}  # fmt: skip
VGG_LAYERS: dict[str, dict[str, int]] = {"vgg16": VGG16_LAYERS, "vgg19": VGG19_LAYERS}
ALL_LAYERS: tuple[str, ...] = tuple(dict.fromkeys([*VGG16_LAYERS, *VGG19_LAYERS]))

DEFAULT_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

VGGWeights = Literal["offline-hed", "torchvision-imagenet"]
_WEIGHTS = ("offline-hed", "torchvision-imagenet")

HED_MEAN_BGR: tuple[float, float, float] = (104.00699, 116.66877, 122.67892)  # = synthlib.data.vgg_weights.HED_MEAN_BGR
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


# torchvision's configuration "D" (VGG16): conv widths, "M" = 2x2 max-pooling.
_VGG16_CFG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                                     512, 512, 512, "M")  # fmt: skip
_VGG19_CFG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                                     512, 512, 512, 512, "M")  # fmt: skip
_VGG_CFG = {"vgg16": _VGG16_CFG, "vgg19": _VGG19_CFG}


def _vgg_feature_layers(ceil_mode: bool, arch: str = "vgg16") -> list[nn.Module]:
    """The modules of ``torchvision.models.vgg16().features`` (same indices, so the same state-dict keys),
    built without the 120M-parameter classifier, with torchvision's initialisation of the convolutions.
    ReLUs are not in-place: the taps are returned and must not be overwritten."""
    layers: list[nn.Module] = []
    in_ch = 3
    for v in _VGG_CFG[arch]:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
        else:
            conv = nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU(inplace=False)]
            in_ch = int(v)
    return layers


@register
class VGG16Features(nn.Module):
    """VGG16's convolutional part up to ``config.max_layer``, returning named ReLU activations.

    ``Config.arch = "vgg19"`` builds VGG19's instead (layers ``relu3_4``, ``relu4_4``, ``relu5_4`` exist
    there too); VGG19 has only torchvision's ImageNet weights (no offline ones).

    ``forward(x, layers)`` takes images in [-1, 1] (RGB, N x 3 x H x W) and returns
    ``{name: activation}`` for each name in ``layers``. Always in eval mode with frozen parameters
    (gradients still flow to the *input*, as Gatys-style optimisation needs).
    """

    @dataclass
    class Config:
        weights: VGGWeights = "offline-hed"
        max_layer: str = "relu5_3"
        arch: str = "vgg16"  # or "vgg19" (with weights="torchvision-imagenet")

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = config = config or self.Config()
        check_choice("weights", config.weights, _WEIGHTS)
        check_choice("arch", config.arch, VGG_LAYERS)
        if config.arch == "vgg19" and config.weights == "offline-hed":
            raise ValueError("the offline HED weights are VGG16's; VGG19 needs weights='torchvision-imagenet'")
        self.layers = VGG_LAYERS[config.arch]
        check_choice("max_layer", config.max_layer, self.layers)
        layers = _vgg_feature_layers(ceil_mode=config.weights == "offline-hed", arch=config.arch)
        layers = layers[: self.layers[config.max_layer] + 1]
        self.features = nn.Sequential(*layers)
        if config.weights == "offline-hed":
            mean, scale = torch.tensor(HED_MEAN_BGR), torch.ones(3)
        else:
            mean, scale = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        self.register_buffer("mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> VGG16Features:
        """Stays in eval mode whatever ``mode`` says (a frozen feature extractor)."""
        return super().train(False)

    def normalize(self, x: Tensor) -> Tensor:
        """synthlib images ([-1, 1], RGB) -> the network's input (see the module docstring)."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG16Features expects RGB images N x 3 x H x W in [-1, 1], got {tuple(x.shape)}")
        if self.config.weights == "offline-hed":
            x = (x + 1.0) * 127.5  # RGB 0..255
            x = x.flip(1)  # RGB -> BGR
        else:
            x = (x + 1.0) * 0.5  # RGB 0..1
        return (x - self.mean) / self.scale

    def forward(self, x: Tensor, layers: Iterable[str] = DEFAULT_LAYERS) -> dict[str, Tensor]:
        names = [layers] if isinstance(layers, str) else list(layers)
        for name in names:
            check_choice("layer", name, self.layers)
            if self.layers[name] > self.layers[self.config.max_layer]:
                raise ValueError(f"layer {name!r} is deeper than this extractor's max_layer={self.config.max_layer!r}")
        wanted = {self.layers[n]: n for n in names}
        out: dict[str, Tensor] = {}
        h = self.normalize(x)
        last = max(wanted, default=-1)
        for i, layer in enumerate(self.features):
            if i > last:
                break
            h = layer(h)
            if i in wanted:
                out[wanted[i]] = h
        return {n: out[n] for n in names}


def _imagenet_weights(arch: str = "vgg16"):  # type: ignore[no-untyped-def]
    from torchvision.models import VGG16_Weights, VGG19_Weights

    return VGG19_Weights.IMAGENET1K_V1 if arch == "vgg19" else VGG16_Weights.IMAGENET1K_V1


def torchvision_vgg16_cached(arch: str = "vgg16") -> Path | None:
    """Path of torchvision's ImageNet VGG16 (or VGG19) file in the torch hub cache, or None (never downloads)."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(_imagenet_weights(arch).url).name
    return path if path.is_file() else None


def load_vgg16_features(
    weights: Literal["auto", "offline-hed", "torchvision-imagenet"] = "auto",
    device: str | torch.device = "cpu",
    *,
    max_layer: str = "relu5_3",
    cache_dir: str | Path | None = None,
    arch: str = "vgg16",
) -> VGG16Features:
    """A :class:`VGG16Features` with pretrained weights, eval mode, no grads.

    ``weights``:

    * ``"auto"``: torchvision's ImageNet VGG16 if its file is already in the torch hub cache
      (:func:`torchvision_vgg16_cached`; never downloads), else the offline HED weights. With
      ``arch="vgg19"``: torchvision's ImageNet VGG19 (the only VGG19 weights).
    * ``"offline-hed"``: the edge-tuned HED weights set up by ``python -m synthlib data``
      (``cache_dir``: their folder, default ``data/vgg16``); checksum-checked.
    * ``"torchvision-imagenet"``: torchvision's ImageNet weights, downloaded through torchvision
      (into the torch hub cache) when not cached; needs internet the first time.

    ``model.config.weights`` says which were loaded. Raises synthlib.data's DataNotFoundError /
    CorruptDataError with what to do.
    """
    check_choice("weights", weights, ("auto", *_WEIGHTS))
    check_choice("arch", arch, VGG_LAYERS)
    if weights == "auto":
        weights = "torchvision-imagenet" if arch == "vgg19" or torchvision_vgg16_cached() is not None else "offline-hed"
    if arch == "vgg19" and weights == "offline-hed":
        raise ValueError("the offline HED weights are VGG16's; VGG19 needs weights='torchvision-imagenet' (or 'auto')")
    if weights == "offline-hed":
        from synthlib.data.vgg_weights import load_vgg16_hed_state

        state = load_vgg16_hed_state(cache_dir)
    else:
        from synthlib.data.paths import DataNotFoundError

        try:
            state = _imagenet_weights(arch).get_state_dict(progress=True)
        except OSError as e:  # URLError is an OSError
            raise DataNotFoundError(
                f"could not download torchvision's ImageNet {arch.upper()} weights ({e}); connect to the internet once, "
                "or use VGG16 with weights='offline-hed' (set up by `python -m synthlib data`)"
            ) from e
    model = VGG16Features(VGG16Features.Config(weights=weights, max_layer=max_layer, arch=arch))
    own = model.state_dict()
    model.load_state_dict({k: state[k] for k in own})
    return model.to(device)
