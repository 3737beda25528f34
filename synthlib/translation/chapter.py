"""Chapter 3's settings: what each run profile trains and measures (see :mod:`synthlib.core.chapter`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synthlib.core.chapter import ChapterSettings, profiled

#: the default profile's steps take about 100 / 180 / 290 s on a quiet 2-core CPU: a ``minutes`` budget is shared
#: between the three models in these proportions
SHARES = {"l1": 100, "pix2pix": 180, "cyclegan": 290}


def _cap_steps(steps: int, by_profile: dict[str, int]) -> dict[str, int]:
    return {k: min(v, steps) for k, v in by_profile.items()}


def _share_minutes(minutes: float, _: dict) -> dict[str, float]:
    return {k: 60.0 * minutes * v / sum(SHARES.values()) for k, v in SHARES.items()}


@dataclass(frozen=True)
class TranslationSettings(ChapterSettings):
    """Chapter 3 (Pix2Pix and CycleGAN on the emoji): small networks for a CPU, the papers' widths for a GPU.

    Each model's budget is in steps, so that the chapter's claims do not depend on how busy or fast the CPU is
    (a time budget on a loaded 2-core machine gave CycleGAN 80 steps instead of 666). ``steps`` caps all three;
    ``minutes`` adds a time budget shared in :data:`SHARES`' proportions; the full profile (a GPU) is timed.
    """

    NOTEBOOK: ClassVar[str] = "03_translation"

    base_channels: int = profiled(smoke=8, default=16, full=64, doc='"ngf" and "ndf"')
    batch_size: int = profiled(smoke=8, default=16, full=16, doc="images per step")
    num_steps: dict = profiled(smoke={"l1": 6, "pix2pix": 6, "cyclegan": 6},
                               default={"l1": 2_600, "pix2pix": 3_000, "cyclegan": 650},
                               full={"l1": 10**6, "pix2pix": 10**6, "cyclegan": 10**6},
                               doc="steps per model", parameter="steps", given=_cap_steps)
    budget_s: dict = profiled(smoke={"l1": None, "pix2pix": None, "cyclegan": None},
                              default={"l1": None, "pix2pix": None, "cyclegan": None},
                              full={"l1": 120, "pix2pix": 300, "cyclegan": 600},
                              doc="seconds per model (None: steps only)", parameter="minutes", given=_share_minutes)
    lr: float = profiled(smoke=5e-4, default=5e-4, full=2e-4, doc="Adam's rate (the paper's 2e-4 on a GPU; 5e-4 "
                         "got further in the steps a CPU affords)")
    ema_half_life_img: int = profiled(smoke=100, default=2000, full=10_000, doc="the generators' EMA half-life")
    checkpoint_every: int = profiled(smoke=5, default=1000, full=5000, doc="steps between checkpoints")
    num_test: int | None = profiled(smoke=64, default=None, full=None, doc="test pairs scored (None: all)")
    num_ref: int | None = profiled(smoke=256, default=None, full=None, doc="training images of the realism "
                                   "reference (None: all)")
    kid_subsets: int = profiled(smoke=10, default=100, full=100, doc="KID's subsets")
    smooth: int = profiled(smoke=1, default=25, full=100, doc="moving-average window of the loss plots")
