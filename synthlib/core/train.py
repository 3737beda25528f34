"""One training loop for every chapter.

A run is a list of :class:`Phase` objects -- "update D", "update G", "R1 penalty every 16 steps"
-- taken in order at every step whose number they divide. This is how StyleGAN2-ADA keeps lazy
regularisation simple, and it is all a GAN, a VAE or a diffusion model needs:

    trainer = Trainer(
        models={"G": G, "D": D},
        phases=[Phase("D", d_step, opt_d), Phase("G", g_step, opt_g, freeze=[D])],
        data=batches, config=cfg, kind="dcgan", ema=EMA(G, half_life_img=10_000),
    )
    history = trainer.fit(num_steps=2000)

Each phase's ``loss(batch, scratch)`` gets the batch (already on the device) and a dict that
lives for one step, so a D phase can hand the fakes it generated to the G phase (as
pytorch/examples' DCGAN does) instead of running G twice.

Device and precision belong here, not in the models: ``device="auto"`` picks CUDA, then Apple
MPS, then the CPU. On CUDA the loop turns on autocast (bf16 where the GPU supports it, else fp16
with a gradient scaler), channels_last and cudnn.benchmark; on CPU and MPS it runs fp32.
Phases marked ``fp32=True`` (gradient penalties) always run outside autocast.

Speed (measured in benchmarks/README.md): models and image batches are kept channels_last
(N x H x W x C in memory) on CUDA and on the CPU, where cuDNN and oneDNN convolutions and batch
norm run faster on it (the DCGAN step ~10% faster on a CPU). ``compile=True`` compiles each model
with ``torch.compile``: 5-20% faster steps on a CPU, but the first steps spend ~45 s compiling
(a few seconds once cached), which a short notebook run does not win back; so it is opt-in.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from synthlib.core import checkpoint as ckpt_io
from synthlib.core import distributed as dist_utils
from synthlib.core.config import asdict, check_choice

Precision = Literal["auto", "fp32", "bf16", "fp16"]
LossOutput = Tensor | tuple[Tensor, dict[str, Tensor]]


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite. The last checkpoint on disk is left untouched."""


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if present, else Apple MPS, else CPU; anything else is passed to torch."""
    if str(device) != "auto":
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} was asked for, but this machine has no CUDA GPU; use 'auto' or 'cpu'")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(f"device {device!r} was asked for, but MPS is not available; use 'auto' or 'cpu'")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device: torch.device, precision: Precision = "auto") -> torch.dtype | None:
    """The autocast dtype for a device, or None for plain fp32."""
    check_choice("precision", precision, ("auto", "fp32", "bf16", "fp16"))
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and precision == "fp16":
        raise ValueError("precision 'fp16' is not supported on the CPU; use 'fp32' (or 'bf16')")
    return torch.bfloat16 if precision == "bf16" else torch.float16


@dataclass
class Phase:
    """One optimiser step, taken at every step number divisible by ``every``.

    loss:      ``loss(batch, scratch) -> loss`` or ``(loss, {"name": value, ...})`` for extra logs.
    optimizer: the optimiser this phase steps.
    freeze:    modules whose parameters need no gradient in this phase (e.g. D during the G step),
               which saves their weight-gradient computation.
    fp32:      run outside autocast (gradient penalties must be computed in fp32).
    after:     called after the optimiser step (e.g. WGAN weight clipping).
    lr_scale:  ``lr_scale(step) -> factor``: the learning rate at ``step`` is the optimiser's own times
               this factor (a schedule such as :func:`cosine_decay`). A function of the step alone, so
               a resumed run follows the same schedule.
    """

    name: str
    loss: Callable[[Any, dict[str, Any]], LossOutput]
    optimizer: torch.optim.Optimizer
    every: int = 1
    freeze: Sequence[nn.Module] = ()
    fp32: bool = False
    after: Callable[[], None] | None = None
    lr_scale: Callable[[int], float] | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"Phase {self.name!r}: every must be >= 1, got {self.every}")


def cosine_decay(num_steps: int | Callable[[], int], final: float = 0.01, *, warmup: int = 0,
                 start: int = 0) -> Callable[[int], float]:
    """A learning-rate factor for :attr:`Phase.lr_scale`: a linear warm-up from 0 over ``warmup`` steps,
    the full rate until step ``start``, then half a cosine from 1 down to ``final`` at step ``num_steps``
    (``final`` after it). Holding the rate and decaying only at the end (``start`` > 0) lets a run be
    lengthened, or resumed under a longer budget, without redoing its first part. ``num_steps`` may be a
    function returning it, read at each step (for a budget set after the recipe is built)."""
    if not 0 <= final <= 1:
        raise ValueError(f"cosine_decay: final must be in [0, 1], got {final}")
    if warmup < 0 or start < 0:
        raise ValueError(f"cosine_decay: warmup and start must be >= 0, got {warmup} and {start}")

    def factor(step: int) -> float:
        n = num_steps() if callable(num_steps) else num_steps
        if step < warmup:
            return (step + 1) / warmup
        begin = max(warmup, start)
        if step < begin:
            return 1.0
        t = min(1.0, (step - begin) / max(1, n - begin))
        return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * t))

    return factor


def check_lr_final(owner: str, lr_final: float | None) -> None:
    """The check of a config's ``lr_final`` (None, or a fraction of its rate in [0, 1]) for :func:`hold_then_decay`."""
    if lr_final is not None and not 0 <= lr_final <= 1:
        raise ValueError(f"{owner}.lr_final is a fraction of lr in [0, 1], got {lr_final}")


@dataclass
class HoldThenDecay:
    """The learning-rate schedule that the long runs' training configs share (DenoiseConfig, SRConfig, StyleGANConfig,
    FastStyleConfig inherit these fields): ``lr_final`` None keeps a constant rate (the chapters' minutes); else the
    rate holds until step ``lr_decay_start``, then falls along half a cosine to ``lr * lr_final`` at ``num_steps``
    (the run's budget in steps, as the course weights' recipes set it). :func:`hold_then_decay` turns it into a
    :attr:`Phase.lr_scale`; each config checks it with :func:`check_lr_final`."""

    lr_final: float | None = None
    lr_decay_start: int = 0
    num_steps: int = 1000


def hold_then_decay(cfg: Any) -> Callable[[int], float] | None:
    """The :attr:`Phase.lr_scale` of a training config with the fields ``lr_final``, ``lr_decay_start`` and
    ``num_steps`` (DenoiseConfig, SRConfig): None (a constant rate) when ``lr_final`` is None, else the full rate
    until step ``lr_decay_start``, then :func:`cosine_decay` down to ``lr * lr_final`` at ``num_steps``, read at
    each step."""
    if cfg.lr_final is None:
        return None
    return cosine_decay(lambda: cfg.num_steps, final=cfg.lr_final, start=cfg.lr_decay_start)


class EMA:
    """Exponential moving average of a model's weights, with its decay set by a half-life in images.

    After each step of ``batch_size`` images, ``ema <- beta * ema + (1 - beta) * model`` with
    ``beta = 0.5 ** (batch_size / half_life_img)``: an image seen ``half_life_img`` images ago
    weighs half as much as the newest (StyleGAN2-ADA's ``ema_kimg``). ``rampup`` (e.g. 0.05)
    shortens the half-life early in training to ``rampup * num_img`` so the average does not
    drag in the random initial weights. Buffers (batch-norm statistics) are copied.
    """

    def __init__(self, model: nn.Module, half_life_img: float, rampup: float | None = 0.05) -> None:
        if half_life_img <= 0:
            raise ValueError(f"half_life_img must be > 0, got {half_life_img}")
        self.source = model
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.half_life_img = float(half_life_img)
        self.rampup = rampup

    def beta(self, batch_size: int, num_img: int) -> float:
        half_life = self.half_life_img
        if self.rampup is not None:
            half_life = min(half_life, num_img * self.rampup)
        return 0.5 ** (batch_size / max(half_life, 1e-8))

    @torch.no_grad()
    def update(self, batch_size: int, num_img: int) -> None:
        beta = self.beta(batch_size, num_img)
        ema_p = [p for p in self.model.parameters()]
        src_p = [p.detach() for p in self.source.parameters()]
        torch._foreach_lerp_(ema_p, src_p, 1.0 - beta)  # ema += (1 - beta) * (src - ema)
        for b_ema, b in zip(self.model.buffers(), self.source.buffers()):
            b_ema.copy_(b)


@dataclass
class Callback:
    """``fn(trainer)`` called every ``every`` steps (and after the last step)."""

    every: int
    fn: Callable[["Trainer"], None]


History = dict[str, dict[str, list[float]]]


class FitResult(dict):
    """What :meth:`Trainer.fit` returns: the run's whole history (a dict, ``{key: {"step": [...], "value": [...]}}``)
    plus what this call did: ``steps`` and ``images`` trained, ``seconds`` of wall time."""

    def __init__(self, history: History, *, steps: int, images: int, seconds: float) -> None:
        super().__init__(history)
        self.steps, self.images, self.seconds = steps, images, seconds

    def __repr__(self) -> str:
        return f"FitResult(steps={self.steps}, images={self.images}, seconds={self.seconds:.1f}, keys={sorted(self)})"


@dataclass
class Recipe:
    """What a family builds from its config for the loop -- the same shape for every family.

    models:   the trained models by name (``{"G": G, "D": D}``); saved in checkpoints.
    phases:   the :class:`Phase` list, taken in order at every step.
    data:     the batches (resumable if it has ``state_dict``/``load_state_dict``).
    config:   the config saved in checkpoints; kind: what the checkpoint holds (``"dcgan"``, ``"inpaint"``...).
    ema:      an :class:`EMA` (saved as ``G_ema``) or ``{name: EMA}``; stateful: other state a resumed run needs.
    frozen:   networks the phases use that nothing trains (a VGG feature extractor): placed on the run's device
              and memory format like the models, never saved.
    precision: a requirement of the method that overrides the run's setting (the VAE's ELBO runs in fp32);
              None: the run decides.

    The run's own settings -- device, precision, compile, channels_last, distributed, progress, checkpoints,
    callbacks -- are not part of a recipe: :meth:`Trainer.from_recipe` takes them, the same for every family.
    """

    models: dict[str, nn.Module]
    phases: list[Phase]
    data: Iterator[Any]
    config: Any
    kind: str
    ema: EMA | dict[str, EMA] | None = None
    stateful: dict[str, Any] = field(default_factory=dict)
    frozen: list[nn.Module] = field(default_factory=list)
    precision: Precision | None = None


#: The run's settings every family's trainer factory accepts (``**run``), passed on to :class:`Trainer`.
RUN_SETTINGS = ("device", "precision", "run_dir", "checkpoint_every", "log_every", "callbacks", "progress",
                "channels_last", "compile", "distributed")


@dataclass
class Trainer:
    """Runs phases over batches; owns device, precision, EMA, logging and checkpoints.

    models:   named models (``{"G": G, "D": D}``) -- moved to the device and saved in checkpoints.
    phases:   the :class:`Phase` list taken in order each step.
    data:     an iterator of batches (tensors or tuples of tensors). If it has ``state_dict`` /
              ``load_state_dict`` (like :class:`synthlib.data.TensorBatches`), its position is saved
              too, so a resumed run sees exactly the batches an uninterrupted one would.
    config:   the run's config dataclass (saved in checkpoints).
    ema:      an :class:`EMA` (saved as ``ema_name``), or ``{name: EMA}`` for several averaged
              models (CycleGAN averages both generators).
    stateful: other objects with ``state_dict``/``load_state_dict`` that a resumed run needs
              (e.g. CycleGAN's history buffers of fakes), saved under their names.
    kind:     what the checkpoint holds (``"toy-gan"``, ``"dcgan"``...), checked when it is loaded.
    run_dir:  where ``checkpoint.pt`` goes (None: no checkpoints).
    channels_last: keep models and 4-D batches channels_last; None (default) = on for CUDA and
              the CPU, off for MPS. Numerically the same network (only the memory layout changes).
    compile:  compile each model in place with ``torch.compile`` (``nn.Module.compile``: state-dict
              keys and checkpoints are unchanged). The first steps pay the compile time; on the
              CPU it needs a C++ compiler.
    distributed: data-parallel over the processes of a torchrun launch (see :mod:`synthlib.core.distributed`):
              None (default) = whenever a process group of 2+ processes is running. Each rank takes
              its slice of every global batch, gradients are averaged per phase, rank 0 writes.
    """

    models: dict[str, nn.Module]
    phases: list[Phase]
    data: Iterator[Any]
    config: Any = None
    kind: str = "model"
    ema: EMA | dict[str, EMA] | None = None
    ema_name: str = "G_ema"
    stateful: dict[str, Any] = field(default_factory=dict)
    device: str | torch.device = "auto"
    precision: Precision = "auto"
    run_dir: str | Path | None = None
    checkpoint_every: int = 0
    log_every: int = 10
    callbacks: list[Callback] = field(default_factory=list)
    progress: bool = True
    channels_last: bool | None = None
    compile: bool = False
    distributed: bool | None = None

    def __post_init__(self) -> None:
        if self.distributed is None:
            self.distributed = dist_utils.is_running()
        elif self.distributed and not dist_utils.is_running():
            raise RuntimeError("Trainer(distributed=True) needs a process group: launch with torchrun and call "
                               "synthlib.core.distributed.setup() first")
        self.dist = dist_utils.info() if self.distributed else dist_utils.DistInfo()
        self.device = pick_device(self.device)
        self.amp_dtype = autocast_dtype(self.device, self.precision)
        self.step = 0
        self.num_img = 0
        self.history: History = {}
        self.fit_info: dict[str, Any] = {}  # set by fit (see there)
        self.finishing = False
        self._pending: list[tuple[int, str, Tensor]] = []  # losses not yet copied to the host
        self._optimizers = self._name_optimizers()
        self.emas: dict[str, EMA] = (
            {} if self.ema is None else {self.ema_name: self.ema} if isinstance(self.ema, EMA) else dict(self.ema)
        )
        use_scaler = self.amp_dtype == torch.float16
        self.scalers = {p.name: torch.amp.GradScaler(self.device.type, enabled=use_scaler) for p in self.phases}
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        if self.channels_last is None:
            self.channels_last = self.device.type in ("cuda", "cpu")
        for model in self._all_models().values():
            self.place(model)
        if self.distributed:  # every rank starts from rank 0's weights, and draws its own noise
            for model in self._all_models().values():
                dist_utils.broadcast_module(model)
            self._seed_rank()
        if self.compile:
            for model in self.models.values():  # not the EMA copy: it only samples
                model.compile()

    @classmethod
    def from_recipe(cls, recipe: Recipe, **run: Any) -> Trainer:
        """The Trainer for ``recipe`` with the run's settings (any of :data:`RUN_SETTINGS`)."""
        unknown = sorted(set(run) - set(RUN_SETTINGS))
        if unknown:
            raise TypeError(f"unknown run setting(s) {unknown}; a trainer takes {', '.join(RUN_SETTINGS)}")
        if run.get("callbacks") is None:
            run.pop("callbacks", None)
        if recipe.precision is not None:
            run["precision"] = recipe.precision
        trainer = cls(models=recipe.models, phases=recipe.phases, data=recipe.data, config=recipe.config,
                      kind=recipe.kind, ema=recipe.ema, stateful=recipe.stateful, **run)
        for module in recipe.frozen:
            trainer.place(module)
        return trainer

    def model(self, name: str) -> nn.Module:
        """A model by its checkpoint name: a trained one (``"G"``) or an averaged one (``"G_ema"``)."""
        if name in self.models:
            return self.models[name]
        if name in self.emas:
            return self.emas[name].model
        raise KeyError(f"this trainer has no model {name!r}; it has {sorted(self._all_models())}")

    def _seed_rank(self) -> None:
        """Give ranks > 0 their own random stream (noise, z) so that they do not all draw rank 0's;
        rank 0 keeps its own, so one process and rank 0 of many draw the same."""
        if self.dist.rank > 0:
            torch.manual_seed((torch.initial_seed() + 1_000_003 * self.dist.rank + self.step) % 2**63)

    def place(self, module: nn.Module) -> nn.Module:
        """Move ``module`` to this trainer's device and memory format, as its own models are. For networks
        the phases use but the trainer neither trains nor saves (a frozen VGG feature extractor)."""
        module.to(self.device)
        if self.channels_last:
            module.to(memory_format=torch.channels_last)
        return module

    # ----------------------------------------------------------------------------------------
    def _all_models(self) -> dict[str, nn.Module]:
        models = dict(self.models)
        for name, ema in self.emas.items():
            models[name] = ema.model
        return models

    def _name_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Each optimiser named after the models whose parameters it updates (``"D"``, ``"G_AB+G_BA"``), so that
        reordering or renaming phases does not change a checkpoint's keys; a phase's name if it updates none."""
        owners = {id(p): name for name, m in self.models.items() for p in m.parameters()}
        named: dict[str, torch.optim.Optimizer] = {}
        for phase in self.phases:
            if any(o is phase.optimizer for o in named.values()):
                continue
            params = [p for g in phase.optimizer.param_groups for p in g["params"]]
            models = sorted({owners[id(p)] for p in params if id(p) in owners}, key=list(self.models).index)
            name = "+".join(models) or phase.name
            if name in named:
                name = f"{name}@{phase.name}"
            named[name] = phase.optimizer
        return named

    def _legacy_optimizer_names(self) -> dict[str, str]:
        """Checkpoints written before optimisers were named by their models keyed them by the first phase
        that stepped each one: {old key: new key}."""
        legacy: dict[str, str] = {}
        for phase in self.phases:
            for name, opt in self._optimizers.items():
                if opt is phase.optimizer and name not in legacy.values():
                    legacy[phase.name] = name
        return legacy

    def _to_device(self, batch: Any) -> Any:
        if isinstance(batch, Tensor):
            batch = batch.to(self.device, non_blocking=True)
            if self.channels_last and batch.dim() == 4 and batch.is_floating_point():
                batch = batch.contiguous(memory_format=torch.channels_last)
            return batch
        if isinstance(batch, (tuple, list)):
            return type(batch)(self._to_device(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self._to_device(v) for k, v in batch.items()}
        return batch

    def autocast(self, enabled: bool = True) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None or not enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @staticmethod
    def _batch_size(batch: Any) -> int:
        first = batch[0] if isinstance(batch, (tuple, list)) else batch
        if isinstance(first, dict):
            first = next(iter(first.values()))
        return int(first.shape[0])

    # ----------------------------------------------------------------------------------------
    def log(self, key: str, value: float | Tensor, step: int | None = None) -> None:
        """Add a value to the history (tensors are copied to the host lazily, at the next flush)."""
        step = self.step if step is None else step
        if isinstance(value, Tensor):
            self._pending.append((step, key, value.detach().float()))
        else:
            self._record(step, key, float(value))

    def _record(self, step: int, key: str, value: float) -> None:
        h = self.history.setdefault(key, {"step": [], "value": []})
        h["step"].append(step)
        h["value"].append(value)

    def _flush(self) -> dict[str, float]:
        """Copy pending loss values to the host (one sync) and stop the run at a NaN/inf loss."""
        if not self._pending:
            return {}
        values = dist_utils.average_values(torch.stack([v.reshape(()) for _, _, v in self._pending])).cpu().tolist()
        latest: dict[str, float] = {}
        for (step, key, _), value in zip(self._pending, values):
            if not math.isfinite(value) and key.endswith("loss"):
                self._pending.clear()
                where = f" ({self.run_dir}/checkpoint.pt is the last good checkpoint)" if self.run_dir else ""
                raise NonFiniteLossError(
                    f"{key} became {value} at step {step}; training stopped{where}. "
                    "Lower the learning rate, check the data range, or use precision='fp32'."
                )
            self._record(step, key, value)
            latest[key] = value
        self._pending.clear()
        return latest

    # ----------------------------------------------------------------------------------------
    def train_step(self, batch: Any) -> None:
        """One step: every phase due at this step, in order, then the EMA update."""
        step = self.step
        global_batch_size = self._batch_size(batch)
        batch = self._to_device(dist_utils.shard(batch, self.dist.rank, self.dist.world_size))
        scratch: dict[str, Any] = {"step": step}
        all_models = list(self.models.values())
        for phase in self.phases:
            if step % phase.every:
                continue
            frozen = {id(m) for m in phase.freeze}
            for m in all_models:
                m.requires_grad_(id(m) not in frozen)
            if phase.lr_scale is not None:
                factor = phase.lr_scale(step)
                for group in phase.optimizer.param_groups:
                    group["lr"] = group.setdefault("base_lr", group["lr"]) * factor
            phase.optimizer.zero_grad(set_to_none=True)
            with self.autocast(enabled=not phase.fp32):
                out = phase.loss(batch, scratch)
            loss, extras = out if isinstance(out, tuple) else (out, {})
            scaler = self.scalers[phase.name]
            scaler.scale(loss).backward()
            if self.distributed:
                dist_utils.average_gradients(p for g in phase.optimizer.param_groups for p in g["params"])
            scaler.step(phase.optimizer)
            scaler.update()
            if phase.after is not None:
                phase.after()
            self.log(f"{phase.name}/loss", loss)
            for key, value in extras.items():
                self.log(f"{phase.name}/{key}", value)
        for m in all_models:
            m.requires_grad_(True)
            if self.distributed:
                dist_utils.broadcast_buffers(m)
        self.num_img += global_batch_size
        for ema in self.emas.values():
            ema.update(global_batch_size, self.num_img)
        self.step += 1

    def fit(self, num_steps: int | None = None, *, max_seconds: float | None = None) -> FitResult:
        """Train until ``self.step == num_steps``, or for ``max_seconds`` of wall time, whichever comes first
        (one of them is needed). Returns the history with what this call did (steps, images, seconds).

        Resuming: build the same objects, call :meth:`load`, then ``fit`` with the same
        ``num_steps``; the run continues where the checkpoint left it.
        """
        from tqdm.auto import tqdm

        if num_steps is None and max_seconds is None:
            raise ValueError("fit needs num_steps or max_seconds (or both)")
        if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds >= 0):
            raise ValueError(f"max_seconds must be a finite number >= 0, got {max_seconds}")
        for m in self.models.values():
            m.train()
        start = time.perf_counter()
        first_step, first_img = self.step, self.num_img
        # what callbacks (the live view) read: this fit's start, target and budget, and whether it is ending
        self.fit_info = {"start": start, "first_step": first_step, "first_img": first_img, "num_steps": num_steps,
                         "max_seconds": max_seconds}
        self.finishing = False
        bar = tqdm(total=num_steps, initial=self.step, disable=not self.progress or not dist_utils.is_main(),
                   desc=self.kind, dynamic_ncols=True)
        try:
            while num_steps is None or self.step < num_steps:
                self.train_step(next(self.data))
                last = self.step == num_steps
                if self.step % self.log_every == 0 or last:
                    latest = self._flush()
                    if latest:
                        bar.set_postfix({k: f"{v:.3g}" for k, v in latest.items()}, refresh=False)
                out_of_time = max_seconds is not None and time.perf_counter() - start > max_seconds
                if self.distributed and max_seconds is not None:  # the ranks' clocks differ: stop together
                    out_of_time = dist_utils.any_rank(out_of_time)
                self.finishing = last or out_of_time
                for cb in self.callbacks:
                    if self.step % cb.every == 0 or last or out_of_time:
                        cb.fn(self)
                if self.checkpoint_every and (self.step % self.checkpoint_every == 0 or last or out_of_time):
                    self.save()
                bar.update(1)
                if out_of_time:
                    break
            self._flush()
        finally:
            bar.close()
        return FitResult(self.history, steps=self.step - first_step, images=self.num_img - first_img,
                         seconds=time.perf_counter() - start)

    # ----------------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        if self.run_dir is None:
            raise ValueError("this Trainer has no run_dir, so it has nowhere to write checkpoints")
        return Path(self.run_dir) / "checkpoint.pt"

    def state_dict(self) -> dict[str, Any]:
        self._flush()  # never save weights that followed a NaN loss
        return {
            "format": ckpt_io.FORMAT,
            "synthlib_version": ckpt_io._version(),
            "kind": self.kind,
            "step": self.step,
            "num_img": self.num_img,
            "config": asdict(self.config) if self.config is not None else None,
            "models": {name: ckpt_io.model_entry(m) for name, m in self._all_models().items()},
            "optimizers": {name: opt.state_dict() for name, opt in self._optimizers.items()},
            "scalers": {name: s.state_dict() for name, s in self.scalers.items()},
            "rng": ckpt_io.rng_state(),
            "data": self.data.state_dict() if hasattr(self.data, "state_dict") else None,
            "extra": {name: obj.state_dict() for name, obj in self.stateful.items()},
            "history": self.history,
        }

    def save(self, path: str | Path | None = None) -> Path:
        """Write a checkpoint atomically (default: ``run_dir/checkpoint.pt``). With several processes
        rank 0 writes it (the ranks hold the same weights) and the others wait until it is written."""
        path = Path(path or self.checkpoint_path)
        if not self.distributed:
            return ckpt_io.save_atomic(self.state_dict(), path)
        self._flush()  # a collective: every rank takes part
        if dist_utils.is_main():
            ckpt_io.save_atomic(self.state_dict(), path)
        dist_utils.barrier()
        return path

    def load(self, path: str | Path | None = None) -> None:
        """Restore everything from a checkpoint so that ``fit`` continues the same run."""
        state = ckpt_io.load(path or self.checkpoint_path, kind=self.kind)  # on the CPU; load_state_dict copies
        models = self._all_models()
        if set(state["models"]) != set(models):
            raise ckpt_io.CheckpointError(
                f"checkpoint has models {sorted(state['models'])}, this trainer has {sorted(models)}"
            )
        for name, model in models.items():
            model.load_state_dict(state["models"][name]["state"])
        saved = state["optimizers"]
        if set(saved) != set(self._optimizers):
            legacy = self._legacy_optimizer_names()
            saved = {legacy.get(k, k): v for k, v in saved.items()}
            if set(saved) != set(self._optimizers):
                raise ckpt_io.CheckpointError(
                    f"checkpoint has optimisers {sorted(state['optimizers'])}, this trainer has {sorted(self._optimizers)}"
                )
        for name, opt in self._optimizers.items():
            opt.load_state_dict(saved[name])
        for name, scaler in self.scalers.items():
            scaler.load_state_dict(state["scalers"][name])
        if state["data"] is not None and hasattr(self.data, "load_state_dict"):
            self.data.load_state_dict(state["data"])
        for name, obj in self.stateful.items():
            obj.load_state_dict(state.get("extra", {})[name])
        ckpt_io.set_rng_state(state["rng"])
        self.step, self.num_img = state["step"], state["num_img"]
        if self.distributed:
            self._seed_rank()
        self.history = state["history"]
