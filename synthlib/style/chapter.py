"""Chapter 4's settings: what each run profile trains and measures (see :mod:`synthlib.core.chapter`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synthlib.core.chapter import ChapterSettings, profiled


def _share_minutes(minutes: float, by_profile: dict[str, float]) -> dict[str, float]:
    total = sum(by_profile.values())
    return {k: 60.0 * minutes * v / total for k, v in by_profile.items()}


@dataclass(frozen=True)
class StyleSettings(ChapterSettings):
    """Chapter 4 (Gatys, texture synthesis, the fast network, AdaIN): small networks for a CPU, the papers'
    sizes for a GPU. The two networks train for a time budget (seconds)."""

    NOTEBOOK: ClassVar[str] = "04_style_transfer"

    size: int = profiled(smoke=48, default=192, full=512, doc="px, the comparison's images", parameter="size")
    gatys_steps: int = profiled(smoke=3, default=50, full=300, doc="L-BFGS evaluations of the Gatys comparison",
                                parameter="gatys_steps")
    texture_steps: int = profiled(smoke=3, default=40, full=300, doc="L-BFGS evaluations per texture",
                                  parameter="texture_steps")
    texture_size: int = profiled(smoke=32, default=96, full=256, doc="px, square textures")
    demo_size: int = profiled(smoke=48, default=128, full=256, doc="px, the Gatys experiments")
    demo_steps: int = profiled(smoke=3, default=30, full=150, doc="L-BFGS evaluations of the Gatys experiments")
    num_photos: int = profiled(smoke=2, default=3, full=9, doc="held-out photos in the comparison")
    comparison_photos: tuple | None = profiled(smoke=("chelsea", "astronaut", "coffee"),
                                               default=("chelsea", "astronaut", "coffee"), full=None,
                                               doc="the comparison's held-out photos, first num_photos of them "
                                                   "(None: the catalogue's order); three very different photos")
    fast_net: dict = profiled(smoke=dict(base_channels=8, num_res=1), default=dict(base_channels=16, num_res=5),
                              full=dict(base_channels=32, num_res=5), doc="the fast network's size")
    adain_layer: str = profiled(smoke="relu2_1", default="relu2_1", full="relu4_1",
                                doc="the AdaIN decoder's VGG layer with ImageNet weights (the paper's relu4_1 needs "
                                    "the full profile's time; with the offline HED weights it is always relu2_1)")
    adain_width: float = profiled(smoke=0.25, default=0.5, full=1.0, doc="the AdaIN decoder's width (1: the paper's)")
    crop: int = profiled(smoke=32, default=96, full=256, doc="px, training crops")
    batch: dict = profiled(smoke=dict(fast=2, adain=2), default=dict(fast=4, adain=8), full=dict(fast=8, adain=8),
                           doc="images per step")
    budget_s: dict = profiled(smoke=dict(fast=2, adain=2), default=dict(fast=240, adain=240),
                              full=dict(fast=900, adain=1200), doc="training seconds per network",
                              parameter="minutes", given=_share_minutes)
    num_crops: int = profiled(smoke=64, default=6000, full=40_000, doc="training crops cut from the photos")
    mixer_size: int = profiled(smoke=48, default=256, full=384, doc="px, the style mixer's photos")
    mixer_photos: int = profiled(smoke=2, default=9, full=9, doc="held-out photos in the style mixer")
    mixer_styles: int = profiled(smoke=3, default=40, full=40, doc="styles in the style mixer")
