"""Training the course weights: resumable runs under a lock, the training clock, export and the manifest entry.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from synthlib.core import checkpoint as ckpt_io
from synthlib.core.checkpoint import CheckpointError
from synthlib.course_weights.manifest import (
    MANIFEST_FORMAT,
    WEIGHTS_ENV,
    _entry,
    _update_manifest,
    hardware,
    list_weights,
    load_checkpoint,
    read_manifest,
    sha256_file,
    verify,
    weights_dir,
)
from synthlib.course_weights.recipes import (
    NAMES,
    RECIPES,
    Recipe,
    command,
    get_recipe,
    runs_dir,
)


class Clock:
    """Training time across sessions, saved in the checkpoint (``stateful``): a resumed run adds to it.

    Time in the watch callback (scoring during training) is not training time and is left out. Each session
    (start or resume) is recorded with its steps, seconds, hardware and load average. Besides wall time it counts
    the process's CPU time (``cpu_seconds``): on a machine shared with other work, the wall time of a one-thread
    run grows with the load, its CPU time stays close to what the run takes on the machine alone.

    Wall time while the process was stopped (``kill -STOP`` to free the machine for a timed run, a suspended
    laptop) is not training time either: :meth:`tick`, called after every step, counts a gap between two steps
    longer than :attr:`PAUSE_S` and 100 typical steps as one typical step (``paused_seconds`` in the session)."""

    #: a gap between two steps shorter than this is never taken for a pause
    PAUSE_S = 20.0

    def __init__(self, tiny: bool) -> None:
        self.tiny = tiny
        self.before = 0.0
        self.cpu_before = 0.0
        self.cpu_start = time.process_time()
        self.cpu_excluded = 0.0
        self.sessions: list[dict[str, Any]] = []
        self.start = time.perf_counter()
        self.excluded = 0.0
        self.session: dict[str, Any] = {}
        self.trainer: Any = None  # set by train(): each saved session records the step it reached
        self.stopped: tuple[float, float] | None = None  # (perf_counter, process_time) when training ended
        self.idle = False  # a session that trained nothing (resumed at the end of its budget) is not recorded
        self.last_tick: float | None = None  # perf_counter at the end of the last step (see tick)
        self.typical_step = 0.0              # a running average of a step's wall time

    def begin(self, step: int) -> None:
        self.start, self.excluded = time.perf_counter(), 0.0
        self.cpu_start, self.cpu_excluded = time.process_time(), 0.0
        self.session = {"date": _now(), "from_step": step, "hardware": hardware(), "loadavg_start": _loadavg()}
        self.last_tick, self.typical_step = None, 0.0

    def tick(self) -> None:
        """After each step: a gap since the last step that can only be a pause is left out of the wall time."""
        now = time.perf_counter()
        if self.last_tick is not None:
            dt = now - self.last_tick
            if self.typical_step > 0 and dt > max(self.PAUSE_S, 100 * self.typical_step):
                paused = dt - self.typical_step
                self.excluded += paused
                self.session["paused_seconds"] = round(self.session.get("paused_seconds", 0.0) + paused, 1)
            else:
                self.typical_step = dt if self.typical_step == 0 else 0.95 * self.typical_step + 0.05 * dt
        self.last_tick = now

    def restart_tick(self) -> None:
        """Time spent outside training since the last step is already left out (scoring): do not count it twice."""
        self.last_tick = time.perf_counter()

    def stop(self) -> None:
        """Training is over: scoring and export that follow are not training time."""
        self.stopped = (time.perf_counter(), time.process_time())
        self.session["loadavg_end"] = _loadavg()

    def session_seconds(self) -> float:
        if self.idle:
            return 0.0
        now = self.stopped[0] if self.stopped else time.perf_counter()
        return now - self.start - self.excluded

    def total(self) -> float:
        return self.before + self.session_seconds()

    def session_cpu_seconds(self) -> float:
        if self.idle:
            return 0.0
        now = self.stopped[1] if self.stopped else time.process_time()
        return now - self.cpu_start - self.cpu_excluded

    def total_cpu(self) -> float:
        return self.cpu_before + self.session_cpu_seconds()

    def state_dict(self) -> dict[str, Any]:
        return {"train_seconds": self.total(), "cpu_seconds": self.total_cpu(), "tiny": self.tiny,
                "sessions": self.sessions_now(getattr(self.trainer, "step", None))}

    def sessions_now(self, step: int | None = None) -> list[dict[str, Any]]:
        if self.idle:
            return list(self.sessions)
        now = {**self.session, "seconds": round(self.session_seconds(), 1),
               "cpu_seconds": round(self.session_cpu_seconds(), 1)}
        now.setdefault("loadavg_end", _loadavg())
        if step is not None:
            now["to_step"] = step
        return [*self.sessions, now]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if bool(state["tiny"]) != self.tiny:
            raise CheckpointError("this run folder holds a " + ("tiny" if state["tiny"] else "full") +
                                  " run; delete it or use another --run-dir")
        self.before = float(state["train_seconds"])
        self.cpu_before = float(state.get("cpu_seconds", 0.0))
        self.sessions = list(state["sessions"])


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


class _Log:
    def __init__(self, path: Path, echo: bool) -> None:
        self.path, self.echo = path, echo

    def __call__(self, message: str) -> None:
        line = f"{datetime.datetime.now().isoformat(timespec='seconds')} {message}"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        if self.echo:
            print(line, flush=True)


def _cpu_entries(trainer: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each exported model as a checkpoint entry on the CPU, contiguous (the trainer keeps channels_last)."""
    out = {}
    for name in names:
        entry = ckpt_io.model_entry(trainer.model(name))
        entry["state"] = {k: v.detach().to("cpu").contiguous().clone() for k, v in entry["state"].items()}
        out[name] = entry
    return out


def _rebuilt(entries: Mapping[str, dict[str, Any]], dtype: torch.dtype | None = None) -> dict[str, nn.Module]:
    """Fresh float32 models from entries, their floating weights first rounded to ``dtype`` (fp16 check)."""
    models = {}
    for name, e in entries.items():
        state = {k: (v.to(dtype).float() if dtype is not None and v.is_floating_point() else v)
                 for k, v in e["state"].items()}
        models[name] = ckpt_io.rebuild({**e, "state": state}).eval()
    return models


def _built_models(name: str, names: Sequence[str], folder: Path) -> dict[str, nn.Module]:
    """The built file of ``name`` in ``folder`` (SHA-256 checked), its models ``names`` rebuilt for scoring."""
    ckpt = load_checkpoint(name, folder=folder)
    return {n: ckpt_io.rebuild(ckpt["models"][n]).eval() for n in names}


def _same_scores(a: Mapping[str, float], b: Mapping[str, float], goals: Mapping[str, str]) -> bool:
    """Whether fp16 weights leave the chapter's metrics unchanged: within 1 % (at least 0.005) on every metric."""
    return all(abs(a[k] - b[k]) <= max(0.01 * abs(a[k]), 0.005) for k in goals if k in a and k in b)


def _against_default(recipe: Recipe, metrics: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """The entry's ``default_profile`` (the recipe's record of its chapter's minutes) and ``beats_default_profile``
    (each goal metric both have: better than the minutes?)."""
    default = dict(recipe.default_profile)
    beats = {}
    for k, goal in recipe.goals.items():
        if isinstance(default.get(k), (int, float)) and k in metrics:
            beats[k] = metrics[k] < default[k] if goal == "lower" else metrics[k] > default[k]
    return {"default_profile": default, "beats_default_profile": beats}


def export(recipe: Recipe, trainer: Any, clock: Clock, *, folder: Path, tiny: bool, log: Callable[[str], None],
           run_dir: Path) -> dict[str, Any]:
    """Write ``<folder>/<name>.safetensors`` (fp16 when the chapter's metrics do not change) and the manifest entry;
    a recipe that uses this one as its prior is rescored, logging beside ``run_dir`` (the run that trained it)."""
    from safetensors.torch import save_file

    entries = _cpu_entries(trainer, recipe.export)
    t0 = time.perf_counter()
    metrics32 = recipe.score(_rebuilt(entries), tiny)
    metrics16 = recipe.score(_rebuilt(entries, torch.float16), tiny)
    fp16 = _same_scores(metrics32, metrics16, recipe.goals)
    log(f"scored in {time.perf_counter() - t0:.0f} s: fp32 {_fmt(metrics32)}; fp16 {_fmt(metrics16)} -> ship "
        f"{'fp16' if fp16 else 'fp32'}")
    metrics = metrics16 if fp16 else metrics32
    tensors = {f"{name}.{k}": (v.half() if fp16 and v.is_floating_point() else v)
               for name, e in entries.items() for k, v in e["state"].items()}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{recipe.name}.safetensors"
    # one metadata key: safetensors writes its metadata map in an order that varies between processes, and the same
    # weights must give the same bytes (and SHA-256) every time
    _write_atomically(path, lambda tmp: save_file(tensors, tmp, metadata={"synthlib": f"{MANIFEST_FORMAT} {recipe.name}"}))
    entry = {
        "description": recipe.description,
        "chapter": f"notebooks/{recipe.chapter}.ipynb",
        "kind": trainer.kind,
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "dtype": "float16" if fp16 else "float32",
        "models": {name: {"arch": e["arch"], "config": e["config"]} for name, e in entries.items()},
        "steps": trainer.step,
        "batch_size": recipe.batch_size,
        "images_seen": trainer.num_img,
        "seed": recipe.seed,
        "train_seconds": round(clock.total(), 3),
        "cpu_seconds": round(clock.total_cpu(), 3),
        "hardware": hardware(),
        "sessions": clock.sessions_now(trainer.step),
        "command": command(recipe.name),
        "metrics": metrics,
        "metrics_fp32": metrics32,
        **_against_default(recipe, metrics),
        "train_config": dataclasses.asdict(trainer.config) if dataclasses.is_dataclass(trainer.config) else None,
        "notes": recipe.notes,
        "tiny": tiny,
        "date": _now(),
    }
    _update_manifest(folder, recipe.name, entry)
    log(f"exported {path} ({entry['bytes'] / 1e6:.2f} MB, {entry['dtype']}, sha256 {entry['sha256'][:16]}...); "
        f"metrics {_fmt(metrics)}; default profile {_fmt(entry['default_profile'])}; "
        f"beats it on {entry['beats_default_profile']}")
    for dependent in [r for r in RECIPES.values() if r.prior == recipe.name and r.name in read_manifest(folder)]:
        log(f"course:{dependent.name} uses this network: rescoring it")
        export_with_prior(dependent, tiny=tiny, folder=folder, echo=log.echo,  # its entry must name the new file's SHA
                          run_dir=run_dir.parent / dependent.name)  # beside the prior's run, not in runs/
    return entry


def export_with_prior(recipe: Recipe, *, steps: int | None = None, tiny: bool = False,
                      folder: str | os.PathLike | None = None, echo: bool = False,
                      run_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """A recipe with a ``prior`` (no network of its own): train the prior if it is not built in ``folder``, then
    score the prior's network with this recipe's metrics and write an entry that points at the prior's file (same
    SHA-256, same training record) with its own description, kind, scores and command. Its log goes to
    ``run_dir/train.log`` (default ``runs/course-weights/NAME``)."""
    folder = Path(folder) if folder is not None else weights_dir()
    prior_entry = read_manifest(folder).get(recipe.prior)
    if prior_entry is None:
        prior_dir = Path(run_dir).parent / recipe.prior if run_dir is not None else None
        prior_entry = train(recipe.prior, steps=steps, tiny=tiny, folder=folder, echo=echo, run_dir=prior_dir)
        if prior_entry is None:  # pragma: no cover - train() without stop_at always exports
            raise CheckpointError(f"course:{recipe.prior} did not finish; run `{command(recipe.prior)}` again")
    run_dir = Path(run_dir) if run_dir is not None else runs_dir() / recipe.name
    run_dir.mkdir(parents=True, exist_ok=True)
    log = _Log(run_dir / "train.log", echo)
    models = _built_models(recipe.prior, ("G_ema",), folder)
    t0 = time.perf_counter()
    metrics = recipe.score(models, tiny)
    log(f"{recipe.name}: course:{recipe.prior}'s network scored in {time.perf_counter() - t0:.0f} s: {_fmt(metrics)}")
    own = ("description", "chapter", "kind", "command", "metrics", "metrics_fp32", "default_profile",
           "beats_default_profile", "notes", "tiny", "date")
    entry = {
        "description": recipe.description,
        "chapter": f"notebooks/{recipe.chapter}.ipynb",
        "kind": recipe.kind,
        "prior": recipe.prior,
        **{k: v for k, v in prior_entry.items() if k not in own},  # the file, its SHA-256 and training record
        "command": command(recipe.name),
        "metrics": metrics,
        **_against_default(recipe, metrics),
        "notes": recipe.notes,
        "tiny": tiny,
        "date": _now(),
    }
    _update_manifest(folder, recipe.name, entry)
    log(f"wrote the manifest entry course:{recipe.name} (file {entry['file']}); beats the default profile on "
        f"{entry['beats_default_profile']}")
    return entry


def rebaseline(name: str, *, folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """Copy ``name``'s recipe ``default_profile`` (its chapter's minutes, when they are measured again) into its
    manifest entry and compare the entry's scores with it again; the weights, their scores and their training record
    are left as they are, so nothing is trained. Returns the updated entry."""
    recipe = get_recipe(name)
    folder = Path(folder) if folder is not None else weights_dir()
    entry = dict(_entry(recipe.name, folder))
    entry.update(_against_default(recipe, entry["metrics"]))
    _update_manifest(folder, recipe.name, entry)
    return entry


def rescore(name: str, *, folder: str | os.PathLike | None = None, echo: bool = False,
            run_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Score ``name``'s built file again with its recipe's metrics as they are now (a metric added, an inference
    setting changed) and write the new scores into its manifest entry, compared with the default profile again; the
    file, its SHA-256 and its training record are left as they are, so nothing is trained. A recipe with a ``prior``
    is scored on the prior's built file (:func:`export_with_prior`; its log in ``run_dir``). Returns the entry."""
    recipe = get_recipe(name)
    folder = Path(folder) if folder is not None else weights_dir()
    if recipe.prior is not None:
        return export_with_prior(recipe, folder=folder, echo=echo, run_dir=run_dir,
                                 tiny=bool(_entry(recipe.prior, folder).get("tiny")))
    entry = dict(_entry(recipe.name, folder))
    models = _built_models(recipe.name, recipe.export, folder)
    t0 = time.perf_counter()
    metrics = recipe.score(models, bool(entry.get("tiny")))
    if echo:
        print(f"course:{recipe.name} rescored in {time.perf_counter() - t0:.0f} s: {_fmt(metrics)}", flush=True)
    entry["metrics"] = metrics
    if entry.get("dtype") == "float32":  # the file is the float32 network: its scores are the float32 scores
        entry["metrics_fp32"] = metrics
    entry.update(_against_default(recipe, metrics))
    entry["rescored"] = _now()
    _update_manifest(folder, recipe.name, entry)
    return entry


def model_differences(model: str, net: nn.Module, saved: Mapping[str, Any]) -> list[str]:
    """How ``net`` (as a recipe builds it now) differs from ``saved``, a manifest entry's record of model ``model``
    (its arch and config); a config field added since, absent from ``saved``, must build at its default, which is
    what the file is rebuilt with. Empty when they agree."""
    import json

    built = ckpt_io.model_entry(net)
    out = [] if built["arch"] == saved["arch"] else [f"{model}: the recipe builds {built['arch']}, the file has "
                                                      f"{saved['arch']}"]
    config = json.loads(json.dumps(built["config"]))
    defaults = {f.name: f.default for f in dataclasses.fields(net.config)}
    for key in sorted(set(config) | set(saved["config"])):
        want = saved["config"][key] if key in saved["config"] else defaults.get(key)
        if key not in config or config[key] != want:
            out.append(f"{model}.{key}: the recipe builds {config.get(key)!r}, the file has {want!r}")
    return out


def _write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` a file beside ``path``, then move it into place (mode 0644: it ships in the repository), so a
    killed process leaves the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _differences(recipe: Recipe, entry: Mapping[str, Any]) -> list[str]:
    """How the networks and training config that ``recipe`` builds now differ from those ``entry``'s file was trained
    with (a config field added since, absent from the entry, must build at its default); empty when they agree."""
    import json

    trainer = recipe.build(recipe, bool(entry.get("tiny")))
    out = [d for model, saved in entry["models"].items() for d in model_differences(model, trainer.model(model), saved)]
    if dataclasses.is_dataclass(trainer.config) and entry.get("train_config") is not None:
        if hasattr(trainer.config, "num_steps"):
            trainer.config.num_steps = entry["steps"]
        built = json.loads(json.dumps(dataclasses.asdict(trainer.config)))
        for key in sorted(set(built) | set(entry["train_config"])):
            if key in entry["train_config"] and built.get(key) != entry["train_config"][key]:
                out.append(f"training {key}: the recipe uses {built.get(key)!r}, the file was trained with "
                           f"{entry['train_config'][key]!r}")
    return out


def adopt(name: str, source: str | os.PathLike, *, folder: str | os.PathLike | None = None,
          echo: bool = False) -> dict[str, Any]:
    """Ship a file trained elsewhere (a trial's export folder ``source``, written by :func:`train` with ``folder=``):
    copy ``source/NAME.safetensors`` into the weights folder and its manifest entry with it, with the recipe's
    description, notes and default-profile comparison as they are now and an ``adopted`` record. Refused unless the
    file matches its SHA-256 and the recipe now builds the same networks with the same training config, so that
    ``make weights NAME=...`` reproduces what ships (change the recipe first; data choices the config does not
    record, such as which photos, are the caller's to carry over). A recipe that uses this one as its prior is
    rescored. Returns the new entry."""
    import shutil

    recipe = get_recipe(name)
    if recipe.prior is not None:
        raise CheckpointError(f"course:{recipe.name} has no network of its own (it uses course:{recipe.prior}'s): adopt "
                              f"course:{recipe.prior}, and course:{recipe.name} is rescored with it")
    source, folder = Path(source), (Path(folder) if folder is not None else weights_dir())
    if source.resolve() == folder.resolve():
        raise CheckpointError(f"course:{recipe.name}: {source} is the weights folder itself; adopt from a trial's "
                              "export folder")
    entry = dict(_entry(recipe.name, source))
    src = source / entry["file"]
    if not src.is_file() or sha256_file(src) != entry["sha256"]:
        raise CheckpointError(f"course:{recipe.name}: {src} is missing or does not match the SHA-256 in "
                              f"{source / 'manifest.json'}; train it there again")
    differences = _differences(recipe, entry)
    if differences:
        raise CheckpointError(f"course:{recipe.name}: the recipe no longer builds what {src} was trained as "
                              f"({'; '.join(differences)}): change the recipe first, so that "
                              f"`{command(recipe.name)}` reproduces it")
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(folder / src.name, lambda tmp: shutil.copyfile(src, tmp))
    entry.update(description=recipe.description, chapter=f"notebooks/{recipe.chapter}.ipynb", notes=recipe.notes,
                 command=command(recipe.name), adopted={"from": str(source), "date": _now()},
                 **_against_default(recipe, entry["metrics"]))
    _update_manifest(folder, recipe.name, entry)
    if echo:
        print(f"course:{recipe.name}: adopted {src} (sha256 {entry['sha256'][:16]}...); scores {_fmt(entry['metrics'])}",
              flush=True)
    for dependent in [r for r in RECIPES.values() if r.prior == recipe.name and r.name in read_manifest(folder)]:
        export_with_prior(dependent, tiny=bool(entry.get("tiny")), folder=folder, echo=echo)
    return entry


def add_trial_options(parser: argparse.ArgumentParser, name: str) -> None:
    """An experiment that trains a variant of ``name``'s recipe (:func:`train_trial`): ``--steps`` and ``--tiny``."""
    parser.add_argument("--steps", type=int, default=None,
                        help=f"another budget than course:{name}'s {get_recipe(name).steps:,} steps")
    parser.add_argument("--tiny", action="store_true", help="the smoke-profile sizes and a few steps: checks the path")


def train_trial(name: str, run: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    """Train (or resume) a variant of ``name``'s recipe, patched by the calling experiment, into the experiment's
    ``run`` folder, export it to ``run.dir/export`` (whence :func:`adopt` can ship it) and record its entry's
    metrics, steps, training time and configs in the run. Returns the entry, or None when stopped early."""
    entry = train(name, run_dir=run.dir, folder=run.dir / "export", echo=True, tiny=args.tiny, steps=args.steps)
    if entry is not None:
        run.record(metrics=entry["metrics"], steps=entry["steps"], train_seconds=entry["train_seconds"],
                   train_config=entry["train_config"], models={m: e["config"] for m, e in entry["models"].items()})
    return entry


def _fmt(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items() if k != "source")


def train(name: str, *, steps: int | None = None, tiny: bool = False, run_dir: str | os.PathLike | None = None,
          folder: str | os.PathLike | None = None, stop_at: int | None = None, echo: bool = False,
          checkpoint_every: int | None = None) -> dict[str, Any] | None:
    """Train (or resume) ``name`` to its budget in ``run_dir`` (default ``runs/course-weights/NAME``), then export.

    ``steps``: another budget (tests); ``tiny``: the chapter's smoke-profile sizes; ``stop_at``: stop (and
    checkpoint) at this step without exporting, as if the run had been killed there. Returns the manifest
    entry, or None when stopped early.
    """
    recipe = get_recipe(name)
    if recipe.prior is not None:
        return export_with_prior(recipe, steps=steps, tiny=tiny, folder=folder, echo=echo, run_dir=run_dir)
    num_steps = steps if steps is not None else (recipe.tiny_steps if tiny else recipe.steps)
    run_dir = Path(run_dir) if run_dir is not None else runs_dir() / recipe.name
    folder = Path(folder) if folder is not None else weights_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(run_dir)
    log = _Log(run_dir / "train.log", echo)
    threads = torch.get_num_threads()
    if recipe.threads is not None and not tiny:
        torch.set_num_threads(recipe.threads)
    try:
        torch.manual_seed(recipe.seed)
        trainer = recipe.build(recipe, tiny)
        if dataclasses.is_dataclass(trainer.config) and hasattr(trainer.config, "num_steps"):
            trainer.config.num_steps = num_steps
        clock = Clock(tiny)
        clock.trainer = trainer
        trainer.run_dir = run_dir
        trainer.checkpoint_every = checkpoint_every or recipe.checkpoint_every
        trainer.stateful["course_clock"] = clock
        trainer.progress = False
        resumed_at_end = False
        if trainer.checkpoint_path.is_file():
            trainer.load()
            resumed_at_end = trainer.step >= num_steps
            log(f"resumed {recipe.name} at step {trainer.step:,}/{num_steps:,} ({clock.before:.0f} s of training so far)")
        else:
            log(f"started {recipe.name}: {num_steps:,} steps of batch {recipe.batch_size} "
                f"({num_steps * recipe.batch_size:,} images), seed {recipe.seed}, {'tiny' if tiny else 'course'} sizes; "
                f"{hardware()}")
        clock.begin(trainer.step)
        _add_callbacks(trainer, recipe, clock, log, num_steps, tiny)
        target = num_steps if stop_at is None else min(stop_at, num_steps)
        if trainer.step == num_steps and resumed_at_end:
            clock.idle = True  # only the export is left to do: no training session to record
            clock.stop()
        else:
            trainer.fit(target)
            clock.stop()
            trainer.save()  # again, with the clock stopped: a later export reads the same training time
        if trainer.step < num_steps:
            log(f"stopped at step {trainer.step:,} (checkpoint saved; run again to continue)")
            return None
        log(f"trained {trainer.step:,} steps, {trainer.num_img:,} images in {clock.total():.0f} s of training")
        return export(recipe, trainer, clock, folder=folder, tiny=tiny, log=log, run_dir=run_dir)
    finally:
        torch.set_num_threads(threads)
        lock.close()


def _lock(run_dir: Path) -> Any:
    """An exclusive lock on ``run_dir/lock`` (released when the process ends, however it ends), so two
    ``make weights`` cannot train the same run at once."""
    f = open(run_dir / "lock", "a+")
    try:
        import fcntl

        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # not POSIX: no lock
        pass
    except OSError:
        f.close()
        raise CheckpointError(f"{run_dir} is being trained by another process (its lock file is held); wait for it, "
                              "or stop it first") from None
    return f


def _add_callbacks(trainer: Any, recipe: Recipe, clock: Clock, log: Callable[[str], None], num_steps: int, tiny: bool) -> None:
    from synthlib.core.train import Callback

    state = {"step": trainer.step, "seconds": clock.session_seconds()}

    def progress(tr: Any) -> None:
        seconds = clock.session_seconds()
        rate = (tr.step - state["step"]) / max(seconds - state["seconds"], 1e-9)
        state.update(step=tr.step, seconds=seconds)
        losses = {k: h["value"][-1] for k, h in tr.history.items() if k.endswith("loss") and h["value"]}
        eta = (num_steps - tr.step) / max(rate, 1e-9)
        log(f"step {tr.step:,}/{num_steps:,} ({100 * tr.step / num_steps:.0f} %), {tr.num_img:,} images, "
            f"{clock.total():.0f} s training ({clock.total_cpu():.0f} s CPU), {rate:.1f} steps/s, eta {eta / 60:.0f} min, "
            f"load {_loadavg()}; "
            + ", ".join(f"{k} {v:.3g}" for k, v in losses.items()))

    def watch(tr: Any) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        models = {name: tr.model(name) for name in recipe.export}
        modes = {name: m.training for name, m in models.items()}
        scores = recipe.watch(models, tiny)  # type: ignore[misc]
        for name, m in models.items():
            m.train(modes[name])
        spent = time.perf_counter() - t0
        clock.excluded += spent
        clock.cpu_excluded += time.process_time() - c0
        clock.restart_tick()
        state["seconds"] = clock.session_seconds()
        for k, v in scores.items():
            tr.log(f"watch/{k}", v)
        log(f"watch at step {tr.step:,}: {_fmt(scores)} ({spent:.0f} s, not counted as training)")

    trainer.callbacks.insert(0, Callback(every=1, fn=lambda tr: clock.tick()))   # first: before any callback's work
    trainer.callbacks.append(Callback(every=recipe.log_every if not tiny else 2, fn=progress))
    if recipe.watch is not None and not tiny:
        trainer.callbacks.append(Callback(every=recipe.watch_every, fn=watch))


# ----------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthlib.course_weights", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    t = sub.add_parser("train", help="train (or resume) and export course weights; no NAME: every name not yet "
                                     "in the manifest, in order")
    t.add_argument("names", nargs="*", metavar="NAME")
    t.add_argument("--steps", type=int, default=None, help="another step budget (for trials; the manifest records it)")
    t.add_argument("--tiny", action="store_true", help="the chapter's smoke-profile sizes (for tests)")
    t.add_argument("--run-dir", default=None, help="the run folder (default runs/course-weights/NAME)")
    t.add_argument("--out", default=None, help=f"the weights folder (default ${WEIGHTS_ENV} or synthlib/weights/course)")
    sub.add_parser("list", help="list the course weights")
    v = sub.add_parser("verify", help="check every built file against its SHA-256")
    v.add_argument("names", nargs="*", metavar="NAME")
    b = sub.add_parser("baseline", help="copy each NAME's recipe default_profile (its chapter's minutes, measured "
                                        "again) into the manifest and compare again; trains nothing")
    b.add_argument("names", nargs="+", metavar="NAME")
    b.add_argument("--out", default=None, help=f"the weights folder (default ${WEIGHTS_ENV} or synthlib/weights/course)")
    r = sub.add_parser("rescore", help="score each NAME's built file again with its recipe's metrics as they are now "
                                       "and rewrite its scores; trains nothing")
    r.add_argument("names", nargs="+", metavar="NAME")
    r.add_argument("--out", default=None, help=f"the weights folder (default ${WEIGHTS_ENV} or synthlib/weights/course)")
    a = sub.add_parser("adopt", help="ship NAME's file from a trial's export folder (its SHA-256 and the recipe's "
                                     "networks and training config checked); trains nothing")
    a.add_argument("name", metavar="NAME")
    a.add_argument("source", metavar="FOLDER", help="the trial's export folder (its manifest.json names the file)")
    a.add_argument("--out", default=None, help=f"the weights folder (default ${WEIGHTS_ENV} or synthlib/weights/course)")
    args = parser.parse_args(argv)
    try:
        if args.verb == "list":
            for item in list_weights():
                state = "built" if item["available"] else ("not built" if item["recipe"] else "no recipe yet")
                print(f"course:{item['name']:<18} [{state}] {item['description']}")
                if item["steps"]:
                    took = (f", {item['train_seconds'] / 60:.0f} min" if item.get("train_seconds") else "")
                    print(f"  {'':18} {item['steps']:,} steps x {item['batch_size']}{took}; "
                          f"scores {_fmt(item.get('metrics') or {})}; default profile {_fmt(item['default_profile'] or {})}")
            return 0
        if args.verb == "verify":
            for name in args.names or [n for n, e in read_manifest().items()]:
                print(f"ok {verify(name)}")
            return 0
        if args.verb == "baseline":
            for name in args.names:
                entry = rebaseline(name, folder=args.out)
                print(f"course:{get_recipe(name).name}: default profile {_fmt(entry['default_profile'])}; "
                      f"beats it on {entry['beats_default_profile']}")
            return 0
        if args.verb == "rescore":
            for name in args.names:
                entry = rescore(name, folder=args.out, echo=True)
                print(f"course:{get_recipe(name).name}: scores {_fmt(entry['metrics'])}; beats the default profile on "
                      f"{entry['beats_default_profile']}")
            return 0
        if args.verb == "adopt":
            entry = adopt(args.name, args.source, folder=args.out, echo=True)
            print(f"course:{get_recipe(args.name).name}: beats the default profile on {entry['beats_default_profile']}")
            return 0
        names = args.names
        if not names:
            built = read_manifest(args.out)
            names = [n for n in RECIPES if n not in built]
            skipped = [n for n in NAMES if n not in RECIPES]
            print(f"course weights to train: {', '.join(names) or 'none'}"
                  + (f" (no recipe yet: {', '.join(skipped)})" if skipped else ""), flush=True)
        if len(names) > 1 and args.run_dir:
            parser.error("--run-dir takes one NAME")
        for name in names:
            train(name, steps=args.steps, tiny=args.tiny, run_dir=args.run_dir, folder=args.out, echo=True)
        return 0
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
