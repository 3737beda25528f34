"""What the learning-rate schedule tests share (not a test module): train one step at a time and read the rates."""

from __future__ import annotations

from typing import Any


def rates_per_step(trainer: Any, steps: int) -> list[dict[str, float]]:
    """After each of the trainer's next ``steps`` single steps, every phase's learning rate (phase name -> lr of its
    optimiser's first group)."""
    rates = []
    for n in range(trainer.step + 1, trainer.step + steps + 1):
        trainer.fit(n)
        rates.append({phase.name: phase.optimizer.param_groups[0]["lr"] for phase in trainer.phases})
    return rates
