"""The one rule every synthlib model follows: it is built from a typed config dataclass.

A model class is registered with :func:`register`, takes a single ``config`` argument (a
dataclass instance) and keeps it as ``self.config``. A checkpoint then stores the registered
name and ``dataclasses.asdict(config)`` next to the weights, and :func:`build` rebuilds the
model from those two plain values. No pickled modules, no import strings.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, TypeVar

from torch import Tensor, nn

from synthlib.core.config import from_dict

_REGISTRY: dict[str, type[nn.Module]] = {}

M = TypeVar("M", bound=type[nn.Module])


def register(cls: M) -> M:
    """Class decorator: make ``cls`` rebuildable from a checkpoint by its class name.

    The class must define ``Config`` (a dataclass) and accept ``cls(config)``.
    """
    if not dataclasses.is_dataclass(getattr(cls, "Config", None)):
        raise TypeError(f"{cls.__name__} needs a nested dataclass `Config` to be registered")
    name = cls.__name__
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"two model classes are both called {name!r}; rename one")
    _REGISTRY[name] = cls
    return cls


def spec(model: nn.Module) -> dict[str, Any]:
    """The plain-data description of a registered model: ``{"arch": name, "config": {...}}``."""
    name = type(model).__name__
    if _REGISTRY.get(name) is not type(model):
        raise TypeError(
            f"{name} is not a registered synthlib model, so a checkpoint could not rebuild it. "
            "Decorate the class with @synthlib.core.registry.register and give it a `Config` dataclass."
        )
    return {"arch": name, "config": dataclasses.asdict(model.config)}


# Every module that registers models, by family. Imported on first use of the registry's look-ups, so that
# a checkpoint written by any chapter can be rebuilt without the caller importing its family first.
MODEL_MODULES: tuple[str, ...] = (
    "synthlib.gan.mlp", "synthlib.gan.dcgan",
    "synthlib.nn.unet", "synthlib.nn.patchgan", "synthlib.nn.vgg", "synthlib.nn.classifier",
    "synthlib.translation.resnet", "synthlib.style.style_nets",
    "synthlib.stylegan.generator", "synthlib.stylegan.discriminator",
    "synthlib.restoration.inpaint_net", "synthlib.restoration.sr_net", "synthlib.restoration.dip_net",
    "synthlib.restoration.dncnn_net", "synthlib.restoration.drunet_net", "synthlib.restoration.vsr_net",
    "synthlib.likelihood.networks",
)


def load_all() -> None:
    """Import every family's model modules (each registers its classes on import)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def model_class(arch: str) -> type[nn.Module]:
    """The registered class named ``arch`` (a class name, as checkpoints store it)."""
    load_all()
    try:
        return _REGISTRY[arch]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"unknown model architecture {arch!r}; registered: {known}") from None


def build(arch: str, config: dict[str, Any]) -> nn.Module:
    """Rebuild a registered model from :func:`spec` output (weights are loaded separately)."""
    cls = model_class(arch)
    return cls(from_dict(cls.Config, config))


def registered() -> list[str]:
    load_all()
    return sorted(_REGISTRY)


def check_images(img: Tensor, channels: int, size: int, owner: str, hint: str = "") -> None:
    """Raise a ValueError unless ``img`` is a batch (N, channels, size, size), naming ``owner`` and the
    shapes (``hint``, if given, follows after "; ": what to do about it)."""
    expected = (channels, size, size)
    if img.ndim != 4 or tuple(img.shape[1:]) != expected:
        raise ValueError(f"{owner}: expected images of shape (N, {', '.join(map(str, expected))}), "
                         f"got {tuple(img.shape)}" + (f"; {hint}" if hint else ""))
