"""Run directories and recorded metrics, so runs of a notebook can be compared.

A notebook starts a run once, records its headline numbers with one call, and saves its key
figures next to them::

    run = synthlib.start_run("01_gan_math", profile=profile, seed=seed, loss=loss)
    synthlib.record(fid=12.3, kid=0.004)
    synthlib.save_figure(fig, "samples")

The run directory is ``$SYNTHLIB_RUN_DIR`` if set, else ``$SYNTHLIB_RUNS_ROOT/<name>`` (default
root: ``<project>/runs``). ``metrics.json`` there holds the parameters, the profile, the device,
timings and every recorded value. :func:`collect` gathers many of them into one table.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthlib.config import resolve_profile
from synthlib.data import project_root
from synthlib.params import check_notebook_parameters

RUN_DIR_ENV = "SYNTHLIB_RUN_DIR"
RUNS_ROOT_ENV = "SYNTHLIB_RUNS_ROOT"


def runs_root() -> Path:
    return Path(os.environ.get(RUNS_ROOT_ENV) or project_root() / "runs")


def _jsonable(value: Any) -> Any:
    """Numbers, strings, lists and dicts as JSON; tensors/numpy scalars as numbers; NaN as null."""
    if hasattr(value, "tolist"):  # torch / numpy
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class Run:
    name: str
    dir: Path
    params: dict[str, Any]
    profile: str
    metrics: dict[str, Any] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)  # the parameters papermill overrode
    started: float = field(default_factory=time.time)

    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.json"

    def record(self, **values: Any) -> dict[str, Any]:
        """Add headline numbers (a nested dict is fine) and rewrite ``metrics.json``."""
        self.metrics.update(_jsonable(values))
        self._write()
        return self.metrics

    def _write(self) -> None:
        import torch

        from synthlib.distributed import is_main

        if not is_main():  # several processes (torchrun): rank 0 writes, the others keep their numbers
            return

        from synthlib.train import pick_device

        doc = {
            "notebook": self.name,
            "profile": self.profile,
            "params": _jsonable(self.params),
            "params_passed": list(self.passed),
            "metrics": self.metrics,
            "device": str(pick_device("auto")),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu_threads": torch.get_num_threads(),
            "started": _dt.datetime.fromtimestamp(self.started).isoformat(timespec="seconds"),
            "elapsed_s": round(time.time() - self.started, 1),
        }
        tmp = self.metrics_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, self.metrics_path)

    def save_figure(self, fig: Any, name: str, dpi: int = 110) -> Path:
        """Save a matplotlib figure as ``<run dir>/<name>.png``."""
        from synthlib.distributed import is_main

        path = self.dir / f"{name}.png"
        if is_main():
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return path

    def path(self, name: str) -> Path:
        return self.dir / name


_current: Run | None = None


def start_run(name: str, *, profile: str | None = None, **params: Any) -> Run:
    """Open (and create) the run directory for notebook ``name`` and make it the current run.

    In a papermill run it first checks the parameters papermill inserted: a name that the
    notebook's ``parameters`` cell does not declare raises :class:`synthlib.params.ParameterError`
    before anything is written (see :mod:`synthlib.params`). Call it in the cell after the
    parameters, before any work. The names papermill overrode are recorded in ``metrics.json``.
    """
    global _current
    from synthlib import distributed

    distributed.setup()  # launched by torchrun (python -m synthlib.launch): join the other processes
    passed = check_notebook_parameters(name)["injected"]
    run_dir = Path(os.environ.get(RUN_DIR_ENV) or runs_root() / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    _current = Run(name=name, dir=run_dir, params=params, profile=resolve_profile(profile), passed=passed)
    _current._write()
    return _current


def current_run() -> Run:
    if _current is None:
        raise RuntimeError("no run started: call synthlib.start_run('<notebook name>', ...) first")
    return _current


def record(**values: Any) -> dict[str, Any]:
    """Record headline metrics of the current run into its ``metrics.json``."""
    return current_run().record(**values)


def save_figure(fig: Any, name: str, dpi: int = 110) -> Path:
    return current_run().save_figure(fig, name, dpi)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif not isinstance(v, list):
            out[key] = v
    return out


def collect(root: str | Path | None = None, pattern: str = "**/metrics.json"):
    """Every ``metrics.json`` under ``root`` as one pandas DataFrame, a row per run.

    Columns: ``run`` (the folder), ``notebook``, ``profile``, ``elapsed_s``, ``params.*`` and the
    recorded metrics (nested dicts flattened with dots, e.g. ``wgan-gp.modes_covered``).
    """
    import pandas as pd

    root = Path(root) if root is not None else runs_root()
    rows = []
    for path in sorted(root.glob(pattern)):
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            # A run killed while writing, or a file edited by hand: skip it, say which, keep the rest.
            warnings.warn(f"skipping {path}: not a readable metrics.json ({err})", stacklevel=2)
            continue
        row = {"run": str(path.parent.relative_to(root)), "notebook": doc.get("notebook"),
               "profile": doc.get("profile"), "elapsed_s": doc.get("elapsed_s")}
        row.update(_flatten(doc.get("params", {}), "params."))
        row.update(_flatten(doc.get("metrics", {})))
        rows.append(row)
    return pd.DataFrame(rows)
