"""Issue 21: a run whose parameters are wrong writes nothing; a run where a cell raises is marked failed,
and ``synthlib.collect`` leaves it out (and says so)."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from synthlib.core import runs
from synthlib.core.params import ParameterError


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHLIB_RUNS_ROOT", str(tmp_path))
    monkeypatch.delenv("SYNTHLIB_RUN_DIR", raising=False)
    monkeypatch.setattr(runs, "_current", None)
    return tmp_path


def _doc(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.parametrize("seed", ["abc", 1.5, 2**64, -1, True])
def test_a_wrong_value_creates_nothing(runs_root, seed):
    with pytest.raises(ParameterError, match=r"^parameter seed = .*: expected an int with 0 <= seed < 2\*\*63$"):
        runs.start_run("01_gan_math", profile="smoke", seed=seed, loss="all", steps=None, distribution="ring")
    assert list(runs_root.iterdir()) == []  # no run directory, no metrics.json
    assert runs._current is None


def test_a_wrong_profile_is_a_parameter_error(runs_root):
    with pytest.raises(ParameterError, match=r"parameter profile = 'smok': expected one of 'smoke', 'default', "
                                             r"'full' or None \(did you mean 'smoke'\?\)"):
        runs.start_run("nb", profile="smok")
    assert list(runs_root.iterdir()) == []


def test_a_run_is_running_then_complete(runs_root):
    run = runs.start_run("01_gan_math", profile="smoke", seed=2**63 - 1, steps=None)
    assert _doc(run.dir)["status"] == "running" and "error" not in _doc(run.dir)
    run.record_params(steps=60)  # what None resolved to
    runs.record(fid=1.5)
    run.finish()
    doc = _doc(run.dir)
    assert doc["status"] == "complete" and doc["params"] == {"seed": 2**63 - 1, "steps": 60}
    assert runs.read_status(run.dir) == ("complete", None)
    run.fail(ValueError("too late"))  # a finished run can still be failed by a later cell (a kernel kept open)
    assert runs.read_status(run.dir) == ("failed", "ValueError: too late")


def test_a_cell_that_raises_fails_the_run_and_keeps_the_first_error(runs_root):
    run = runs.start_run("nb", profile="smoke", seed=0)
    runs.record(fid=3.0)
    ok = SimpleNamespace(error_before_exec=None, error_in_exec=None)
    runs._after_cell(ok)
    assert _doc(run.dir)["status"] == "running"
    runs._after_cell(SimpleNamespace(error_before_exec=None, error_in_exec=AssertionError("FID 3.0 > 2\nmore lines")))
    runs._after_cell(SimpleNamespace(error_before_exec=None, error_in_exec=KeyError("later")))
    runs.record(fid=4.0)  # numbers recorded after the failure keep the status
    doc = _doc(run.dir)
    assert doc["status"] == "failed" and doc["error"] == "AssertionError: FID 3.0 > 2"
    assert doc["metrics"] == {"fid": 4.0}
    run.finish()  # at exit: a failed run stays failed
    assert _doc(run.dir)["status"] == "failed"


def test_collect_leaves_failed_runs_out_and_names_them(runs_root, monkeypatch):
    for name, fail in (("good", False), ("bad", True), ("old", False)):
        monkeypatch.setenv("SYNTHLIB_RUN_DIR", str(runs_root / name))
        run = runs.start_run("nb", profile="smoke", seed=1)
        runs.record(fid=2.0)
        if fail:
            run.fail(RuntimeError("CUDA out of memory"))
    legacy = _doc(runs_root / "old")  # written before runs had a status: counted
    del legacy["status"]
    (runs_root / "old" / "metrics.json").write_text(json.dumps(legacy))
    with pytest.warns(UserWarning, match=r"skipping 1 failed run\(s\) under .*: bad \(RuntimeError: CUDA out of memory\)"):
        table = runs.collect(runs_root)
    assert list(table["run"]) == ["good", "old"]
    assert table["status"][0] == "running" and table["status"].isna()[1]  # None: no status recorded
    assert table.attrs["failed"] == {"bad": "RuntimeError: CUDA out of memory"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no failed run: no warning
        assert runs.collect(runs_root / "good").attrs["failed"] == {}


# --- through papermill: a tiny notebook built here -------------------------------------------------------------

def _tiny_notebook(path: Path, *later: str) -> Path:
    import nbformat

    params = nbformat.v4.new_code_cell("profile = None\nseed = 0\nrate = 0.5\n")
    params.metadata["tags"] = ["parameters"]
    cells = [params, nbformat.v4.new_code_cell(
        "import synthlib\nrun = synthlib.start_run('tiny', profile=profile, seed=seed, rate=rate)")]
    cells += [nbformat.v4.new_code_cell(src) for src in later]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _papermill(notebook: Path, run_dir: Path, **params):
    import papermill

    old = os.environ.get("SYNTHLIB_RUN_DIR")
    os.environ["SYNTHLIB_RUN_DIR"] = str(run_dir)
    try:
        return papermill.execute_notebook(str(notebook), str(notebook.with_name("out.ipynb")), parameters=params,
                                          kernel_name="python3", progress_bar=False, log_output=False)
    finally:
        if old is None:
            os.environ.pop("SYNTHLIB_RUN_DIR", None)
        else:
            os.environ["SYNTHLIB_RUN_DIR"] = old


@pytest.mark.slow
def test_papermill_seed_abc_stops_with_one_line_and_leaves_no_run(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    notebook = _tiny_notebook(tmp_path / "tiny.ipynb", "synthlib.record(fid=1.0)")
    with pytest.raises(PapermillExecutionError) as err:
        _papermill(notebook, tmp_path / "runs" / "tiny", profile="smoke", seed="abc")
    assert err.value.ename == "ParameterError"
    assert err.value.evalue == ("parameter seed = 'abc': expected an int with 0 <= seed < 2**63 "
                                "(the parameters cell declares seed = 0)")
    assert not (tmp_path / "runs").exists()
    assert len(runs.collect(tmp_path)) == 0


@pytest.mark.slow
def test_papermill_cell_raising_after_record_is_failed_and_not_collected(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    failing = _tiny_notebook(tmp_path / "a" / "tiny.ipynb", "synthlib.record(fid=1.0)",
                             "raise RuntimeError('the claim does not hold\\nsecond line')", "synthlib.record(fid=2.0)")
    passing = _tiny_notebook(tmp_path / "b" / "tiny.ipynb", "synthlib.record(fid=rate)")
    runs_dir = tmp_path / "runs"
    with pytest.raises(PapermillExecutionError):
        _papermill(failing, runs_dir / "failed", rate=2)
    _papermill(passing, runs_dir / "done", seed=7)
    failed, done = _doc(runs_dir / "failed"), _doc(runs_dir / "done")
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: the claim does not hold"
    assert failed["metrics"] == {"fid": 1.0}  # the cells after the error never ran
    assert done["status"] == "complete" and done["params"] == {"seed": 7, "rate": 0.5}  # complete once the kernel ended
    with pytest.warns(UserWarning, match=r"skipping 1 failed run\(s\).*failed \(RuntimeError: the claim does not hold\)"):
        table = runs.collect(runs_dir)
    assert list(table["run"]) == ["done"] and list(table["fid"]) == [0.5]


def test_numbers_flattens_a_table_row_for_record():
    import numpy as np
    import pandas as pd

    from synthlib.core.runs import metric_name, numbers, timed

    row = pd.Series({"fid": 3.25, "kid x 1000": np.float32(41.5), "s / image": 2, "train s": np.int64(7),
                     "model": "DCGAN", "recall": float("nan"), "missing": None, "flag": True})
    assert numbers(row) == {"fid": 3.25, "kid_x1000": 41.5, "s_per_image": 2.0, "train_s": 7.0}
    assert list(numbers(row, keep=("train s", "fid", "absent"))) == ["train_s", "fid"]
    assert metric_name("kid x 1000") == "kid_x1000" and metric_name("PSNR / dB") == "PSNR_per_dB"
    out, seconds = timed(sorted, [3, 1, 2])
    assert out == [1, 2, 3] and 0 <= seconds < 5


def test_stopwatch_reads_the_seconds_since_it_started(monkeypatch):
    import time

    from synthlib.core.runs import stopwatch

    now = [100.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    clock = stopwatch()
    assert clock() == 0.0
    now[0] = 102.5
    assert clock() == 2.5
    now[0] = 110.0
    assert clock() == 10.0 and clock() == 10.0  # reading it does not restart it
