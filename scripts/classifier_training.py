"""What the two feature-classifier scripts share: the one-cycle AdamW fit, test accuracy, and writing the
weights with their manifest (``train_classifier.py`` for Fashion-MNIST, ``train_emoji_style_classifier.py`` for
the emoji styles). Not a script itself: each of those imports it from beside it."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthlib.core.checkpoint import safetensors_bytes
from synthlib.core.registry import spec
from synthlib.core.train import Phase, Trainer


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 500) -> float:
    """Share of ``images`` (float [-1, 1]) whose predicted class is ``labels``; model in eval mode."""
    model.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        correct += int((model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum())
    return correct / len(images)


def fit(model: nn.Module, batches: Any, recipe: dict[str, Any], *, kind: str, log_every: int) -> float:
    """Train ``model`` on ``batches`` (yielding (images, labels)) for ``recipe["num_epochs"]`` passes: AdamW with
    ``weight_decay``, a one-cycle learning rate peaking at ``lr_max`` after ``pct_start`` of the steps, cross-entropy.
    Returns the training seconds; the model is left in eval mode."""
    num_steps = recipe["num_epochs"] * len(batches)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe["lr_max"], weight_decay=recipe["weight_decay"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe["lr_max"], total_steps=num_steps, pct_start=recipe["pct_start"]
    )

    def classifier_loss(batch: tuple[Tensor, Tensor], scratch: dict[str, Any]) -> Tensor:
        images, labels = batch
        return F.cross_entropy(model(images), labels)

    trainer = Trainer(models={"C": model}, phases=[Phase("C", classifier_loss, opt, after=schedule.step)],
                      data=batches, kind=kind, device=recipe["device"], precision=recipe["precision"],
                      log_every=log_every)
    start = time.perf_counter()
    trainer.fit(num_steps)
    model.eval()
    return time.perf_counter() - start


def write_weights(model: nn.Module, weights_file: Path, manifest_file: Path, *, test_accuracy: float,
                  recipe: dict[str, Any], pixel_convention: str, manifest: dict[str, Any]) -> str:
    """Write ``weights_file`` (safetensors; metadata: arch, config, test accuracy, recipe, pixel convention) and
    ``manifest_file`` (its SHA-256, arch, config, recipe and ``manifest``'s entries); returns the SHA-256."""
    arch_config = spec(model)  # {"arch": ..., "config": {...}}
    metadata = {
        "arch": arch_config["arch"],
        "config": json.dumps(arch_config["config"], sort_keys=True),
        "test_accuracy": f"{test_accuracy:.4f}",
        "recipe": json.dumps(recipe, sort_keys=True),
        "pixel_convention": pixel_convention,
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights_file.parent.mkdir(parents=True, exist_ok=True)
    data = safetensors_bytes(state, metadata=metadata)  # sorted header: the same weights, the same SHA-256
    weights_file.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    body = {"sha256": sha256, "arch": arch_config["arch"], "config": arch_config["config"], "recipe": recipe,
            **manifest}
    manifest_file.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    return sha256
