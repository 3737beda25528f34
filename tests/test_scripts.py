"""scripts/classifier_training.py, what the two feature-classifier scripts share: the same weights written twice give
the same bytes (so the SHA-256 their loaders check does not change between saves), and they load back whole."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _module():
    spec = importlib.util.spec_from_file_location("classifier_training", SCRIPTS / "classifier_training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_write_weights_gives_the_same_bytes_every_time_and_loads_back(tmp_path: Path):
    from synthlib.nn.classifier import FashionClassifier

    ct = _module()
    torch.manual_seed(0)
    model = FashionClassifier(FashionClassifier.Config())
    shas = set()
    for i in range(4):  # safetensors itself orders a metadata map differently from one save to the next
        shas.add(ct.write_weights(model, tmp_path / f"w{i}.safetensors", tmp_path / f"w{i}.json", test_accuracy=0.9,
                                  recipe={"seed": 0}, pixel_convention="float32 in [-1, 1]", manifest={"x": 1}))
    assert len(shas) == 1
    state = load_file(tmp_path / "w0.safetensors")
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with safe_open(tmp_path / "w0.safetensors", "pt") as f:
        meta = f.metadata()
    assert meta["arch"] == "FashionClassifier" and json.loads(meta["recipe"]) == {"seed": 0}
    manifest = json.loads((tmp_path / "w0.json").read_text())
    assert manifest["sha256"] == shas.pop() and manifest["x"] == 1 and manifest["arch"] == "FashionClassifier"

