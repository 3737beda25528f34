"""Issue 13: a parameter that a notebook does not declare stops a papermill run before any work."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

from synthlib.params import ParameterError, assigned_names, check_notebook_parameters, find_injected

ROOT = Path(__file__).resolve().parents[1]
PARAMS_CELL = 'profile = None   # "smoke" | ...\nseed = 0\nloss = "nonsaturating"\nsteps: int = 10\n'


def test_assigned_names():
    assert assigned_names(PARAMS_CELL) == ["profile", "seed", "loss", "steps"]
    assert assigned_names("a = b = 1\nc += 2\nprint(a)\n") == ["a", "b"]
    assert assigned_names("this is not python") == []


def test_outside_papermill_nothing_to_check():
    assert check_notebook_parameters(history=["", PARAMS_CELL, "import synthlib"]) == {"injected": [], "declared": []}
    assert find_injected([]) is None


def test_known_parameters_pass_and_are_reported():
    history = ["", PARAMS_CELL, '# Parameters\nloss = "hinge"\nseed = 3\n', "run = start_run(...)"]
    assert check_notebook_parameters(history=history) == {
        "injected": ["loss", "seed"], "declared": ["profile", "seed", "loss", "steps"]}


def test_misspelled_parameter_names_it_the_closest_and_all_declared():
    history = ["", PARAMS_CELL, '# Parameters\nlosss = "hinge"\nprofile = "smoke"\n', "run = start_run(...)"]
    with pytest.raises(ParameterError) as err:
        check_notebook_parameters("02_dcgan", history=history)
    message = str(err.value)
    assert "'losss'" in message and "did you mean 'loss'?" in message and "02_dcgan" in message
    assert "profile, seed, loss, steps" in message
    assert "'profile'" not in message.split("declares")[0]  # only the unknown name is blamed


def test_several_unknown_and_no_close_match():
    history = [PARAMS_CELL, "# Parameters\nlearning_rate = 0.1\nsed = 1\n"]
    with pytest.raises(ParameterError, match=r"parameters 'learning_rate', 'sed' \(did you mean 'seed'\?\)"):
        check_notebook_parameters(history=history)


def test_notebook_without_parameters_cell():
    # papermill inserts its cell at the top when no cell is tagged 'parameters'
    with pytest.raises(ParameterError, match="it has no cell tagged 'parameters'"):
        check_notebook_parameters(history=["", "# Parameters\nseed = 1\n"])


def test_the_latest_inserted_cell_counts():
    # a re-executed notebook: only the last papermill cell and the cell before it are read
    history = ["", PARAMS_CELL, "# Parameters\nbogus = 1\n", "x = 1", PARAMS_CELL, "# Parameters\nseed = 2\n"]
    assert check_notebook_parameters(history=history)["injected"] == ["seed"]


def test_every_notebook_starts_its_run_right_after_the_parameters():
    """start_run does the check, so it must come before any work: in the cell after the parameters."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert "synthlib.start_run(" in "".join(code[1]["source"]), f"{path.name}: call start_run in the 2nd code cell"


def _papermill(notebook: str, out: Path, run_dir: Path, **params):
    import papermill

    env = {"SYNTHLIB_RUN_DIR": str(run_dir), "MPLBACKEND": "agg"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return papermill.execute_notebook(
            str(ROOT / "notebooks" / notebook), str(out), parameters=params, cwd=str(ROOT / "notebooks"),
            kernel_name="python3", progress_bar=False, log_output=False,
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_papermill_run_with_a_typo_stops_before_any_work(tmp_path: Path):
    from papermill.exceptions import PapermillExecutionError

    run_dir = tmp_path / "run"
    with pytest.raises(PapermillExecutionError) as err:
        _papermill("02_dcgan.ipynb", tmp_path / "out.ipynb", run_dir, profile="smoke", losss="hinge")
    assert err.value.ename == "ParameterError"
    assert "'losss' (did you mean 'loss'?)" in err.value.evalue and "upsample" in err.value.evalue
    assert not (run_dir / "metrics.json").exists()  # no run was started, nothing trained
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    ran = [c for c in executed["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    assert len(ran) == 3  # parameters, papermill's cell, and the cell that stopped


def test_papermill_run_records_the_parameters_it_was_given(tmp_path: Path):
    run_dir = tmp_path / "report"
    _papermill("02b_sweep_report.ipynb", tmp_path / "out.ipynb", run_dir, profile="smoke", root=str(tmp_path / "none"))
    doc = json.loads((run_dir / "metrics.json").read_text())
    assert doc["params_passed"] == ["profile", "root"]
    assert doc["params"]["root"] == str(tmp_path / "none") and doc["profile"] == "smoke"


def test_chapter5_on_emoji_trains_in_colour_and_compares_augmentation(tmp_path: Path):
    from synthlib.sample import load_generator

    run_dir = tmp_path / "run"
    _papermill("05_stylegan.ipynb", tmp_path / "out.ipynb", run_dir, profile="smoke", dataset="emoji")
    doc = json.loads((run_dir / "metrics.json").read_text())
    assert doc["params"]["dataset"] == "emoji" and doc["params"]["discriminator"] == "batchnorm"
    metrics = doc["metrics"]
    # the emoji run spends the time of the discriminator comparison on the augmentation comparison instead
    assert "augmentation_switched" in metrics and "other_discriminator" not in metrics
    for key in ("stylegan", "dcgan", "augmentation_switched"):
        assert metrics[key]["steps"] > 0 and 0 < metrics[key]["fid"] < float("inf"), (key, metrics[key])
    gaps = (metrics["d_gap_equal_time"], metrics["augmentation_switched"]["d_gap"])  # D's memorisation, both runs
    assert all(isinstance(g, float) and abs(g) < 1e6 for g in gaps), gaps
    G, _ = load_generator(run_dir / "checkpoint.pt")
    assert G.config.output == "tanh"  # the batch-norm D's generator is bounded
    assert G.config.img_channels == 3 and G.config.img_size == 32
    from synthlib.__main__ import main  # the command line samples colour emoji from it

    assert main(["sample", str(run_dir / "checkpoint.pt"), "--num", "3", "--out", str(tmp_path / "e.pt"), "--truncation", "0.7"]) == 0
    drawn = torch.load(tmp_path / "e.pt")
    assert drawn.shape == (3, 3, 32, 32) and float(drawn.abs().max()) <= 1.0  # tanh saturates to exactly 1.0 in float32
    assert (run_dir / "augmentation" / "checkpoint.pt").is_file() and (run_dir / "augmentation.png").is_file()


def test_chapter5_rejects_an_unknown_dataset_before_any_work(tmp_path: Path):
    from papermill.exceptions import PapermillExecutionError

    run_dir = tmp_path / "run"
    with pytest.raises(PapermillExecutionError) as err:
        _papermill("05_stylegan.ipynb", tmp_path / "out.ipynb", run_dir, profile="smoke", dataset="cifar")
    assert "parameter 'dataset' must be 'fashion' or 'emoji', got 'cifar'" in err.value.evalue
    assert not (run_dir / "metrics.json").exists()
