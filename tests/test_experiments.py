"""Issue 22: the experiments behind the chapters' claims (experiments/<chapter>/*.py) still start.

Each experiment trains for minutes, so the tests never run one; they run every script with ``--help``, which imports
everything it uses from synthlib (all imports sit at the top of each script) and builds its argparse interface: a
renamed or removed library name breaks this test rather than the next person who reruns the experiment.

To keep it fast, one subprocess imports torch once and runs every script in turn the way ``python SCRIPT --help``
does (``runpy`` as ``__main__``, the script's folder first on ``sys.path``, its own ``sys.argv``); one more subprocess
runs one script for real, from another folder, to check the command line itself.

The same subprocess then opens each script's run with its default options (``start_experiment(NAME,
parse_args([]))``, the first thing ``main`` does; nothing is trained) under a temporary runs root: each lands in
``runs/experiments/<name>/metrics.json`` with its options as parameters, and ``synthlib.collect`` gathers them like
notebook runs.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"


def _is_script(path: Path) -> bool:
    """A script has an ``if __name__ == "__main__":`` block; a helper module (inpaint_common.py) has none."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            names = [n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)]
            values = [n.value for n in ast.walk(node.test) if isinstance(n, ast.Constant)]
            if "__name__" in names and "__main__" in values:
                return True
    return False


FILES = sorted(EXPERIMENTS.rglob("*.py"))
SCRIPTS = [p for p in FILES if _is_script(p)]
HELPERS = [p for p in FILES if p not in SCRIPTS]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# Runs each script as `python SCRIPT --help` would, in one interpreter, then opens its run with the default options;
# prints {path: [--help's exit code, stdout, stderr, {dir, defaults} or {error}]}.
_DRIVER = r"""
import contextlib, io, json, os, runpy, sys, traceback
results = {}
base_path = list(sys.path)
paths, started_root = json.loads(sys.argv[1]), sys.argv[2]
for path in paths:
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [path, "--help"]
    sys.path[:] = [os.path.dirname(os.path.abspath(path))] + base_path[1:]
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(path, run_name="__main__")
            print(f"{path} --help returned without exiting", file=sys.stderr)
            code = 1
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    results[path] = [code, out.getvalue(), err.getvalue()]
# Then each script's run with its default options, under another runs root (start_experiment(NAME, parse_args([])),
# no training).
os.environ["SYNTHLIB_RUNS_ROOT"] = started_root
for path in paths:
    sys.argv = [path]
    sys.path[:] = [os.path.dirname(os.path.abspath(path))] + base_path[1:]
    os.environ.pop("SYNTHLIB_RUN_DIR", None)  # start_experiment() sets it for the rest of its process
    try:
        module = runpy.run_path(path, run_name="experiment_check")
        args = module["parse_args"]([])
        run = module["start_experiment"](module["NAME"], args)
        run.finish()  # one current run per process: the next start_experiment() replaces it, so end this one as main() would
        results[path].append({"dir": str(run.dir), "defaults": json.loads(json.dumps(vars(args), default=str))})
    except BaseException:
        results[path].append({"error": traceback.format_exc()})
print(json.dumps(results))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SYNTHLIB_RUN_DIR", None)
    env["SYNTHLIB_RUNS_ROOT"] = str(tmp_path / "runs")  # should anything start a run, it writes here, not in runs/
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> tuple[dict[str, list], Path]:
    """({script: [--help's exit code, stdout, stderr, its default run]}, the runs root of those runs)."""
    tmp = tmp_path_factory.mktemp("experiments")
    proc = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps([str(p) for p in SCRIPTS]), str(tmp / "started")],
                          cwd=ROOT, env=_env(tmp), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not (tmp / "runs").exists(), "--help started a run"
    return {_rel(Path(path)): result for path, result in results.items()}, tmp / "started"


def test_the_experiments_are_found():
    assert SCRIPTS, f"no experiment scripts under {EXPERIMENTS}"
    for chapter in sorted(p for p in EXPERIMENTS.iterdir() if p.is_dir() and p.name != "__pycache__"):
        assert any(s.parent == chapter for s in SCRIPTS), f"{_rel(chapter)} holds no experiment script"


@pytest.mark.parametrize("helper", HELPERS, ids=_rel)
def test_a_file_that_is_not_a_script_is_a_helper_that_a_script_imports(helper):
    """So that a new script without a ``__main__`` block cannot slip past the --help test below."""
    users = [s for s in SCRIPTS if s.parent == helper.parent
             and any(isinstance(n, (ast.Import, ast.ImportFrom))
                     and (getattr(n, "module", None) == helper.stem or any(a.name == helper.stem for a in n.names))
                     for n in ast.walk(ast.parse(s.read_text())))]
    assert users, (f"{_rel(helper)} has no `if __name__ == '__main__':` block and no script beside it imports it: "
                   "give a script that block (the tests run it with --help), or remove the file")


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=_rel)
def test_help_exits_0_and_prints_the_usage(script, checked):
    code, out, err, _ = checked[0][_rel(script)]
    assert code == 0, f"{_rel(script)} --help exited {code}:\n{err[-4000:]}"
    assert out.startswith(f"usage: experiments/{script.parent.name}/{script.name}"), out[:500]  # synthlib's experiment_parser
    assert "--run-dir" in out  # every experiment records its numbers in a run directory (synthlib.start_run)


@pytest.mark.parametrize("script", SCRIPTS, ids=_rel)
def test_its_run_lands_in_runs_experiments(script, checked):
    started = checked[0][_rel(script)][3]
    assert "error" not in started, started.get("error")
    root = checked[1]
    run_dir = root / "experiments" / script.stem
    assert Path(started["dir"]) == run_dir
    doc = json.loads((run_dir / "metrics.json").read_text())
    assert doc["notebook"] == script.stem and doc["status"] == "complete"
    defaults = {k: v for k, v in started["defaults"].items() if k != "run_dir"}
    assert doc["params"] == defaults  # every option is recorded, with its value


def test_collect_gathers_the_experiments(checked):
    from synthlib import collect

    table = collect(checked[1])
    assert sorted(table["notebook"]) == sorted(s.stem for s in SCRIPTS)
    assert set(table["run"]) == {f"experiments/{s.stem}" for s in SCRIPTS}


def test_a_script_runs_from_another_folder(tmp_path):
    """The real command line: the inpainting experiments import inpaint_common.py from beside them."""
    script = EXPERIMENTS / "06_restoration" / "inpaint_mixer.py"
    proc = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.startswith("usage: experiments/06_restoration/inpaint_mixer.py")
