"""Chapter 5 with ``dataset="emoji"`` loads ``course:stylegan-emoji`` when it is built, scores it beside the run's
models, records it, and opens its explorer on it; when it is not built, the chapter says how to build it and goes on.

The weights here are the recipe's tiny build (four steps, seconds): what is checked is the chapter's wiring, which
the default test run (Fashion-MNIST) does not reach.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_stylegan.ipynb"


def _run(tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    import papermill

    run_dir = tmp_path / "run"
    monkeypatch.setenv("SYNTHLIB_COURSE_WEIGHTS", str(weights))
    monkeypatch.setenv("SYNTHLIB_RUN_DIR", str(run_dir))
    monkeypatch.setenv("MPLBACKEND", "agg")
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"profile": "smoke", "dataset": "emoji"},
                               kernel_name="python3", progress_bar=False, log_output=False, cwd=str(NOTEBOOK.parent))
    cells = {c.get("id"): c for c in json.loads(out.read_text())["cells"]}
    printed = "".join("".join(o.get("text", "")) for o in cells["daf510a9"]["outputs"] if o["output_type"] == "stream")
    return {"printed": printed}, json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.slow
def test_chapter5_emoji_scores_and_records_its_course_weights(tmp_path, monkeypatch):
    from synthlib.course_weights.build import main as weights_main

    weights = tmp_path / "course"
    assert weights_main(["train", "stylegan-emoji", "--tiny", "--out", str(weights),
                         "--run-dir", str(tmp_path / "train")]) == 0
    out, metrics = _run(tmp_path, weights, monkeypatch)
    assert "course:stylegan-emoji: 4 steps x 32 images" in out["printed"]
    course = metrics["metrics"]["course_weights"]
    assert course["steps"] == 4 and course["fid"] > 0 and 0 <= course["recall"] <= 1


@pytest.mark.slow
def test_chapter5_emoji_without_its_course_weights_says_how_to_build_them(tmp_path, monkeypatch):
    weights = tmp_path / "empty"
    weights.mkdir()
    out, metrics = _run(tmp_path, weights, monkeypatch)
    assert "course:stylegan-emoji is not built yet: `make weights NAME=stylegan-emoji`" in out["printed"]
    assert "course_weights" not in metrics["metrics"] and "stylegan" in metrics["metrics"]
