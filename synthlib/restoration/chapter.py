"""Chapter 6's settings: what each run profile trains and measures (see :mod:`synthlib.core.chapter`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synthlib.core.chapter import ChapterSettings, profiled


def _share_minutes(minutes: float, by_profile: dict[str, float]) -> dict[str, float]:
    """The networks' budgets scaled to the total asked for (Deep Image Prior's, an optimisation per photo, stays)."""
    total = sum(v for k, v in by_profile.items() if k != "dip")
    return {k: v if k == "dip" else 60.0 * minutes * v / total for k, v in by_profile.items()}


@dataclass(frozen=True)
class RestorationSettings(ChapterSettings):
    """Chapter 6 (denoising, inpainting, super-resolution): the learned models small for a CPU, larger for a GPU;
    their training is bounded by time (seconds)."""

    NOTEBOOK: ClassVar[str] = "06_restoration"

    size: int = profiled(smoke=32, default=192, full=256, doc="px, the held-out photos", parameter="size")
    num_photos: int = profiled(smoke=2, default=9, full=9, doc="held-out photos scored")
    dip_size: int = profiled(smoke=32, default=96, full=256, doc="px, Deep Image Prior's photo (one)")
    dip_channels: tuple[int, ...] = profiled(smoke=(8, 16), default=(32, 64, 64, 128),
                                             full=(64, 128, 128, 128, 128), doc="Deep Image Prior's U-Net")
    unet: dict = profiled(smoke=dict(base_channels=8, depth=2, max_channels=16),
                          default=dict(base_channels=24, depth=4, max_channels=128),
                          full=dict(base_channels=48, depth=5, max_channels=384), doc="the inpainting U-Net")
    srnet: dict = profiled(smoke=dict(base_channels=8, num_blocks=1), default=dict(base_channels=32, num_blocks=4),
                           full=dict(base_channels=64, num_blocks=16), doc="SRResNet")
    crop: int = profiled(smoke=32, default=64, full=128, doc="px, training crops")
    dncnn: dict = profiled(smoke=dict(depth=3, channels=8), default=dict(depth=10, channels=32),
                           full=dict(depth=17, channels=64), doc="DnCNN (the paper's 17 x 64 in the full profile)")
    dn_crop: int = profiled(smoke=24, default=48, full=64, doc="px, DnCNN's patches (the paper's 40-50)")
    batch: int = profiled(smoke=4, default=16, full=16, doc="images per step")
    budget_s: dict = profiled(
        smoke=dict(dip=1, denoise=1, denoise_blind=1, inpaint=1.5, inpaint_scratch=1, inpaint_ft=1, sr=1.5, srgan=1,
                   burst=1),
        default=dict(dip=75, denoise=90, denoise_blind=45, inpaint=120, inpaint_scratch=90, inpaint_ft=60, sr=90,
                     srgan=50, burst=45),
        full=dict(dip=600, denoise=900, denoise_blind=900, inpaint=2400, inpaint_scratch=2400, inpaint_ft=900,
                  sr=1800, srgan=900, burst=600),
        doc="training seconds per model", parameter="minutes", given=_share_minutes)
    burst_frames: int = profiled(smoke=2, default=4, full=8, doc="the longest burst")
    burst_models: tuple[int, ...] = profiled(smoke=(1, 2), default=(1, 4), full=(1, 2, 4, 8),
                                             doc="burst lengths a network is trained for")
    sweep_levels: tuple[int, ...] = profiled(smoke=(25,), default=(15, 25, 50), full=(15, 25, 50),
                                             doc="noise levels (sigma x 255) of the denoising sweep")
    sweep_n: int = profiled(smoke=1, default=3, full=3, doc="photos per noise level in the sweep")
    ablation: tuple[str, ...] = profiled(smoke=("perceptual",), default=(),
                                         full=("perceptual", "style", "tv", "adversarial"),
                                         doc="loss terms the inpainting ablation removes one at a time")
