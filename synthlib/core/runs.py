"""Run directories and recorded metrics, so runs of a notebook can be compared.

A notebook starts a run once, records its headline numbers with one call, and saves its key
figures next to them::

    run = synthlib.start_run("01_gan_math", profile=profile, seed=seed, loss=loss)
    synthlib.record(fid=12.3, kid=0.004)
    synthlib.save_figure(fig, "samples")

The run directory is ``$SYNTHLIB_RUN_DIR`` if set, else ``$SYNTHLIB_RUNS_ROOT/<name>`` (default
root: ``<project>/runs``). ``metrics.json`` there holds the parameters, the profile, the device,
timings, every recorded value and the run's ``status``. :func:`collect` gathers many of them into one table.

A run's ``status`` says whether its numbers can be trusted:

* ``"running"`` -- started and no cell has failed so far (a run still in progress, or one whose process
  was killed before it could end: ``elapsed_s`` says how far it got);
* ``"complete"`` -- the kernel (or script) ended with no error after ``start_run``;
* ``"failed"`` -- a cell raised after ``start_run`` (``error`` holds the first error's first line). papermill
  stops at that cell, so the recorded numbers are partial. :func:`collect` leaves failed runs out and warns.

A run whose parameters are wrong never gets that far: ``start_run`` checks them (:mod:`synthlib.core.params`)
before it creates or writes anything.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from synthlib.core.config import resolve_profile
from synthlib.core.params import check_parameters
from synthlib.data.paths import project_root

RUN_DIR_ENV = "SYNTHLIB_RUN_DIR"
RUNS_ROOT_ENV = "SYNTHLIB_RUNS_ROOT"
RUNNING, COMPLETE, FAILED = "running", "complete", "failed"


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
    status: str = RUNNING
    error: str | None = None  # the first line of the error that failed the run
    #: the chapter's sizes and budgets for this profile and these parameters (synthlib.core.chapter); None for a
    #: notebook without a settings class
    settings: Any = None

    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.json"

    def record(self, **values: Any) -> dict[str, Any]:
        """Add headline numbers (a nested dict is fine) and rewrite ``metrics.json``."""
        self.metrics.update(_jsonable(values))
        self._write()
        return self.metrics

    def record_params(self, **values: Any) -> dict[str, Any]:
        """Record what a parameter resolved to (``steps=None`` -> the profile's 60) in place of its value."""
        self.params.update(values)
        self._write()
        return self.params

    def fail(self, error: BaseException | str) -> None:
        """Mark the run failed (its numbers are partial; :func:`collect` leaves it out). The first error is kept."""
        if self.status == FAILED:
            return
        self.status, self.error = FAILED, _first_line(error)
        self._write()

    def finish(self) -> None:
        """Mark a run that ended without an error complete (done at exit: see :func:`start_run`)."""
        if self.status == RUNNING:
            self.status = COMPLETE
            self._write()

    def _write(self) -> None:
        import torch

        from synthlib.core.distributed import is_main

        if not is_main():  # several processes (torchrun): rank 0 writes, the others keep their numbers
            return

        from synthlib.core.train import pick_device

        doc = {
            "notebook": self.name,
            "profile": self.profile,
            "params": _jsonable(self.params),
            "params_passed": list(self.passed),
            **({"settings": _jsonable(self.settings.as_dict())} if self.settings is not None else {}),
            "metrics": self.metrics,
            "device": str(pick_device("auto")),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu_threads": torch.get_num_threads(),
            "started": _dt.datetime.fromtimestamp(self.started).isoformat(timespec="seconds"),
            "elapsed_s": round(time.time() - self.started, 1),
            "status": self.status,
        }
        if self.error is not None:
            doc["error"] = self.error
        tmp = self.metrics_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, self.metrics_path)

    def save_figure(self, fig: Any, name: str, dpi: int = 110) -> Path:
        """Save a matplotlib figure as ``<run dir>/<name>.png``."""
        from synthlib.core.distributed import is_main

        path = self.dir / f"{name}.png"
        if is_main():
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return path

    def path(self, name: str) -> Path:
        return self.dir / name


_current: Run | None = None


def _first_line(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        lines = str(error).strip().splitlines()
        return type(error).__name__ + (f": {lines[0]}" if lines else "")
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "error"


def _after_cell(result: Any) -> None:
    """IPython's ``post_run_cell`` event: a cell that raised fails the current run."""
    error = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
    if error is not None and _current is not None:
        _current.fail(error)


def _at_exit() -> None:
    """The process ends: a run still running is complete -- unless an uncaught error ends a script."""
    run = _current
    if run is None or run.status != RUNNING or not run.dir.is_dir():
        return
    try:
        last = getattr(sys, "last_value", None)
        if last is not None and last is not _error_at_start and _shell() is None:
            run.fail(last)
        else:
            run.finish()
    except Exception:  # pragma: no cover - at exit, never mask the process's own outcome
        pass


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    return get_ipython()


_error_at_start: Any = None
_exit_registered = False


def _watch(run: Run) -> None:
    """Mark ``run`` failed when a later cell raises, complete when the process ends without an error."""
    global _exit_registered, _error_at_start
    _error_at_start = getattr(sys, "last_value", None)  # an error from before this run is not its own
    shell = _shell()
    if shell is not None and hasattr(shell, "events"):
        callbacks = shell.events.callbacks.get("post_run_cell", [])
        if not any(getattr(cb, "__qualname__", None) == _after_cell.__qualname__
                   and getattr(cb, "__module__", None) == __name__ for cb in callbacks):
            shell.events.register("post_run_cell", _after_cell)
    if not _exit_registered:
        atexit.register(_at_exit)
        _exit_registered = True


def start_run(name: str, *, profile: str | None = None, **params: Any) -> Run:
    """Check the parameters, open (and create) the run directory for notebook ``name`` and make it the current run.

    Pass every parameter of the notebook's ``parameters`` cell, as given (``seed=seed``): each value is
    checked against the chapter's rules (:data:`synthlib.core.params.NOTEBOOK_PARAMETERS`: type, range, choices),
    and in a papermill run every name papermill inserted must be declared. Anything wrong raises
    :class:`synthlib.core.params.ParameterError` with one line before anything is created or written. Call it in
    the cell after the parameters, before any work; ``run.profile`` is the resolved profile and ``run.settings``
    the chapter's sizes and budgets for it (:mod:`synthlib.core.chapter`), recorded in ``metrics.json``.

    ``metrics.json`` records the parameters, the names papermill overrode and the run's ``status``: from
    here on, a cell that raises marks the run ``"failed"`` (an IPython ``post_run_cell`` callback), and a
    process that ends without an error marks it ``"complete"``.
    """
    global _current
    from synthlib.core import distributed
    from synthlib.core.chapter import chapter_settings

    passed = check_parameters(name, {"profile": profile, **params})
    profile = resolve_profile(profile)
    settings = chapter_settings(name, profile, **params)
    distributed.setup()  # launched by torchrun (python -m synthlib.core.launch): join the other processes
    run_dir = Path(os.environ.get(RUN_DIR_ENV) or runs_root() / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    _current = Run(name=name, dir=run_dir, params=params, profile=profile, passed=passed, settings=settings)
    _current._write()
    _watch(_current)
    return _current


def current_run() -> Run:
    if _current is None:
        raise RuntimeError("no run started: call synthlib.start_run('<notebook name>', ...) first")
    return _current


def record(**values: Any) -> dict[str, Any]:
    """Record headline metrics of the current run into its ``metrics.json``."""
    return current_run().record(**values)


def metric_name(column: str) -> str:
    """A table's column name as a metrics.json key: ``"kid x 1000"`` -> ``"kid_x1000"``, ``"s / image"`` ->
    ``"s_per_image"``, ``"train s"`` -> ``"train_s"``."""
    return column.replace(" x 1000", "_x1000").replace(" / ", "_per_").replace(" ", "_")


def numbers(row: Any, keep: Any = None) -> dict[str, float]:
    """The numeric entries of one table row (a pandas Series or a dict) as ``{metric_name: float}``, for
    :func:`record`: names cleaned by :func:`metric_name`; missing values (None, NaN) and text left out;
    ``keep``: only these columns, in this order."""
    items = row.items() if hasattr(row, "items") else dict(row).items()
    values = dict(items)
    if keep is not None:
        values = {k: values[k] for k in keep if k in values}
    out: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, (bool, str)) or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isnan(number):
            out[metric_name(str(key))] = number
    return out


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), seconds)``: wall time, with the GPU's queued work finished on both sides."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def stopwatch() -> Callable[[], float]:
    """A clock started now: ``clock = stopwatch()``, then ``clock()`` is the wall time in seconds since, as often as
    needed (a callback logging the time so far, a total over several cells). It does not wait for the GPU: the
    training loop reads it between steps. One call to time: :func:`timed`; a training run: ``Trainer.fit(...).seconds``."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


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


def read_status(run_dir: str | Path) -> tuple[str | None, str | None]:
    """``(status, error)`` of the run in ``run_dir``: ``status`` is "running", "complete", "failed", or None
    when its ``metrics.json`` is missing, unreadable or older than statuses; ``error`` is set when failed."""
    try:
        doc = json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    return doc.get("status"), doc.get("error")


def collect(root: str | Path | None = None, pattern: str = "**/metrics.json"):
    """Every run's ``metrics.json`` under ``root`` as one pandas DataFrame, a row per run.

    Columns: ``run`` (the folder), ``notebook``, ``profile``, ``status``, ``elapsed_s``, ``params.*`` and the
    recorded metrics (nested dicts flattened with dots, e.g. ``wgan-gp.modes_covered``).

    A failed run (a cell raised: see :func:`start_run`) is not a run to compare: it is left out, with one
    warning that names every such run and its error; ``table.attrs["failed"]`` maps each to its error. An
    unreadable file is left out with a warning too. ``status`` is None for files written before statuses.
    """
    import pandas as pd

    root = Path(root) if root is not None else runs_root()
    rows = []
    failed: dict[str, str] = {}
    for path in sorted(root.glob(pattern)):
        try:
            doc = json.loads(path.read_text())
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as err:
            # A run killed while writing, or a file edited by hand: skip it, say which, keep the rest.
            warnings.warn(f"skipping {path}: not a readable metrics.json ({err})", stacklevel=2)
            continue
        run = str(path.parent.relative_to(root))
        if doc.get("status") == FAILED:
            failed[run] = str(doc.get("error") or "no error recorded")
            continue
        row = {"run": run, "notebook": doc.get("notebook"), "profile": doc.get("profile"),
               "status": doc.get("status"), "elapsed_s": doc.get("elapsed_s")}
        row.update(_flatten(doc.get("params", {}), "params."))
        row.update(_flatten(doc.get("metrics", {})))
        rows.append(row)
    if failed:
        listed = "; ".join(f"{run} ({error})" for run, error in failed.items())
        warnings.warn(f"skipping {len(failed)} failed run(s) under {root}: {listed}", stacklevel=2)
    table = pd.DataFrame(rows)
    table.attrs["failed"] = failed
    return table


class _ExperimentHelp(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help keeps the script's docstring as written and shows each option's default."""


def experiment_parser(script: str | os.PathLike, doc: str | None) -> argparse.ArgumentParser:
    """An experiment script's argument parser: ``experiments/<chapter>/<name>.py`` as its program name, its docstring
    ``doc`` as the description, and ``--run-dir`` (see :func:`start_experiment`, called with the script's name)."""
    path = Path(script)
    parser = argparse.ArgumentParser(prog=f"experiments/{path.parent.name}/{path.name}", description=doc,
                                     formatter_class=_ExperimentHelp)
    add_run_dir_option(parser, path.stem)
    return parser


def add_run_dir_option(parser: Any, name: str) -> None:
    """An experiment script's ``--run-dir`` option (see :func:`start_experiment`)."""
    parser.add_argument("--run-dir", type=Path, default=None,
                        help=f"where metrics.json goes; default: $SYNTHLIB_RUN_DIR if set, else "
                             f"runs/experiments/{name}/ (under $SYNTHLIB_RUNS_ROOT when set)")


def start_experiment(name: str, args: Any) -> Run:
    """An experiment script's run: in ``args.run_dir``, else ``$SYNTHLIB_RUN_DIR``, else ``runs/experiments/NAME``;
    every other option of ``args`` recorded as a parameter. An experiment has no profile: it records "default"."""
    run_dir = args.run_dir or os.environ.get(RUN_DIR_ENV) or runs_root() / "experiments" / name
    os.environ[RUN_DIR_ENV] = str(run_dir)
    params = {k: v for k, v in vars(args).items() if k != "run_dir"}
    return start_run(name, profile="default", **params)
