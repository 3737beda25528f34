"""The live view: a training cell shows its model learning while it trains.

A :class:`LiveView` is a :class:`~synthlib.core.train.Trainer` callback. In JupyterLab it keeps one output area
and redraws it every few seconds: a fixed-seed preview (a sample grid, or a chapter's before/after pair) beside
the loss curves, under a line with the step, images per second and the time left. The last frame stays in the
notebook. Under papermill, nbval or a script (no Jupyter server behind the kernel) it draws only the final
frame, so re-running a chapter gives no flood of outputs and no slowdown.

Its cost is bounded by construction: after each frame the next one waits until drawing has taken at most
``max_share`` (3 %) of the time since training began, and at least ``every_s`` seconds. ``draw_seconds`` and
``draws`` record what it spent (``benchmarks/live_view_cost.py`` measures it against the same training without
a view).

The drawing is a plain function of the trainer (:meth:`LiveView.figure`, :meth:`LiveView.png`), which the
tests call without a notebook::

    live = LiveView(samples_preview(16, seed=0), keys=["D/loss", "G/loss"], title="DCGAN")
    live.attach(trainer)                 # or Trainer(..., callbacks=[live.callback()])
    trainer.fit(max_seconds=120)         # redraws in JupyterLab; the final frame everywhere
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from synthlib.core.train import Callback

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from synthlib.core.train import Trainer

Preview = Callable[["Trainer"], Tensor]

# A kernel whose parent process runs one of these is in front of a person (JupyterLab, Notebook 7, Voila).
SERVERS = ("jupyter-lab", "jupyter_lab", "jupyter-server", "jupyter_server", "jupyter-notebook", "jupyterlab",
           "notebook.app", "voila")
# ... and one run by these executes a notebook unattended.
EXECUTORS = ("papermill", "nbconvert", "nbclient", "pytest", "nbval")


def is_interactive() -> bool:
    """Whether a person watches this kernel: ``$SYNTHLIB_LIVE`` (``1``/``0``) if set, else whether the kernel's
    parent process is a Jupyter server (not papermill, nbval/pytest, nbconvert, or no kernel at all)."""
    env = os.environ.get("SYNTHLIB_LIVE", "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a core dependency
        return False
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    return parent_is_server()


def parent_is_server(pid: int | None = None) -> bool:
    """Whether the parent of process ``pid`` (default: this one) runs a Jupyter server (and no executor)."""
    try:
        import psutil

        parent = psutil.Process(pid or os.getpid()).parent()
        cmdline = parent.cmdline() if parent is not None else []
    except Exception:  # no psutil, no permission, a vanished parent: not interactive
        return False
    return server_cmdline(cmdline)


def program(cmdline: Sequence[str]) -> str:
    """The program a command line runs: the script after the interpreter (``python .../jupyter-lab`` ->
    ``jupyter-lab``), the module of ``python -m MODULE``, else the executable itself; lower case, no folder."""
    args = list(cmdline)
    if args and os.path.basename(args[0]).lower().startswith("python"):
        args = args[1:]
        while args and args[0].startswith("-") and args[0] != "-m":  # interpreter options (-u, -X dev...)
            args = args[1:]
        if len(args) >= 2 and args[0] == "-m":
            return args[1].lower()
    return os.path.basename(args[0]).lower() if args else ""


def server_cmdline(cmdline: Sequence[str]) -> bool:
    """Whether a command line runs a Jupyter server that a person uses (not a notebook executor). Only the
    program counts, not its arguments (a server may serve a folder named after pytest)."""
    name = program(cmdline)
    return any(s in name for s in SERVERS) and not any(s in name for s in EXECUTORS)


def _model(trainer: Trainer, name: str) -> torch.nn.Module:
    """The trainer's model ``name`` (an EMA such as ``"G_ema"``), or its ``"G"`` when it keeps no such model."""
    return trainer.model(name if name in trainer.emas or name in trainer.models else "G")


def samples_preview(num: int = 16, *, seed: int = 0, model: str = "G_ema", **sample_kwargs: Any) -> Preview:
    """A preview of ``num`` samples of the trainer's ``model`` (its EMA generator by default, else ``"G"``) from
    the same seed at every frame, so a learner sees one set of images sharpen. ``sample_kwargs`` go to
    :func:`synthlib.sample.sample` (``steps=`` for diffusion and flow, ``label=``...)."""
    from synthlib.sample import sample

    def preview(trainer: Trainer) -> Tensor:
        return sample(_model(trainer, model), num, seed=seed, **sample_kwargs)

    return preview


def pair_preview(inputs: Tensor, apply: Callable[[Tensor], Tensor], *, model: str = "G_ema",
                 targets: Tensor | None = None) -> Preview:
    """A before/after preview, as rows: the fixed ``inputs`` (N x C x H x W in [-1, 1]), ``apply(net, inputs)``
    with the trainer's ``model`` (its EMA by default, else ``"G"``; inputs moved to its device, eval mode), and
    the ``targets`` if given. Inputs smaller than the output (super-resolution) are shown enlarged (nearest)."""
    import torch.nn.functional as F

    def preview(trainer: Trainer) -> Tensor:
        net = _model(trainer, model)
        device = next(net.parameters()).device
        was_training = net.training
        net.eval()
        try:
            with torch.no_grad():
                out = apply(net, inputs.to(device)).detach().float().cpu().clamp(-1, 1)
        finally:
            net.train(was_training)
        shown = inputs.float().cpu()
        if shown.shape[-2:] != out.shape[-2:]:
            shown = F.interpolate(shown, size=out.shape[-2:], mode="nearest")
        return torch.cat([shown, out] + ([targets.float().cpu()] if targets is not None else []))

    preview.title = "rows: input, output" + (", target" if targets is not None else "")  # type: ignore[attr-defined]
    preview.nrow = len(inputs)  # type: ignore[attr-defined]
    return preview


class LiveView:
    """A training cell's live view (a Trainer callback); see the module's docstring.

    preview:   ``preview(trainer) -> N x C x H x W`` in [-1, 1] (None: curves only); ``nrow`` images per row.
    keys:      the history keys to plot (default: every ``*/loss``); ``smooth``: moving-average window.
    every_s:   the shortest time between frames; ``max_share``: drawing's largest share of the training time.
    live:      redraw while training (None: :func:`is_interactive`); False: the final frame only.
    """

    def __init__(self, preview: Preview | None = None, *, keys: Sequence[str] | None = None, title: str = "",
                 nrow: int = 8, smooth: int = 5, every_s: float = 5.0, max_share: float = 0.03,
                 live: bool | None = None, figsize: tuple[float, float] = (11.0, 3.6)) -> None:
        if not (every_s >= 0 and 0 < max_share <= 1):
            raise ValueError(f"every_s must be >= 0 and max_share in (0, 1], got {every_s} and {max_share}")
        self.preview, self.keys, self.title, self.nrow, self.smooth = preview, keys, title, nrow, smooth
        self.every_s, self.max_share, self.figsize = every_s, max_share, figsize
        self.live = is_interactive() if live is None else bool(live)
        self.draws, self.draw_seconds = 0, 0.0
        self._handle: Any = None
        self._fit_start: float | None = None  # the start (wall clock) of the fit being drawn: Trainer.fit_info
        self._next = 0.0
        # A live view pays matplotlib's one-off start (fonts, the PNG writer, the layout engine: ~1 s on a slow CPU,
        # three times a later frame) here, before training, so that the throttle charges each frame only its own
        # cost: charged to the first frame, it would hold the second back ~45 s at the default 3 % share.
        self.warmup_seconds = self._warm_up() if self.live else 0.0

    def _warm_up(self) -> float:
        """Render and discard a small frame of the same kind (image, curve, title, constrained layout) to PNG;
        nothing is shown. Returns the seconds it took."""
        from matplotlib.figure import Figure

        t0 = time.perf_counter()
        fig = Figure(figsize=(2.0, 1.0), dpi=40, layout="constrained")
        left, right = fig.subplots(1, 2)
        left.imshow([[0.0, 1.0], [1.0, 0.0]], cmap="gray")
        right.plot([0.0, 1.0], [1.0, 0.0], label="loss")
        right.legend()
        fig.suptitle("warm-up")
        fig.savefig(io.BytesIO(), format="png")
        return time.perf_counter() - t0

    # -- the Trainer side ----------------------------------------------------------------------
    def callback(self) -> Callback:
        """The :class:`Callback` to give a Trainer: called every step, it draws only when a frame is due."""
        return Callback(every=1, fn=self)

    def attach(self, trainer: Trainer) -> Trainer:
        trainer.callbacks.append(self.callback())
        return trainer

    def __call__(self, trainer: Trainer) -> None:
        from synthlib.core import distributed as dist_utils

        if not dist_utils.is_main():  # one view per run: rank 0 draws
            return
        now = time.perf_counter()
        if trainer.fit_info["start"] != self._fit_start:  # a new fit: its first frame every_s from now
            self._fit_start = trainer.fit_info["start"]
            self._next = now + self.every_s
        if trainer.finishing or (self.live and now >= self._next):
            self.draw(trainer)
            # the next frame once drawing is back under max_share of the time trained, and at least every_s away
            self._next = max(time.perf_counter() + self.every_s, self._fit_start + self.draw_seconds / self.max_share)

    # -- the drawing (plain functions) ------------------------------------------------------------
    def status(self, trainer: Trainer) -> str:
        """``step 1,234 | 312 img/s | 45 s left`` (what the header line says)."""
        fit = trainer.fit_info  # {} before the first fit: no rate or time left yet
        elapsed = max(time.perf_counter() - fit.get("start", time.perf_counter()), 1e-9)
        images = trainer.num_img - fit.get("first_img", trainer.num_img)
        steps = trainer.step - fit.get("first_step", trainer.step)
        parts = [f"step {trainer.step:,}", f"{images / elapsed:,.0f} img/s"]
        left = []
        if fit.get("max_seconds") is not None:
            left.append(fit["max_seconds"] - elapsed)
        if fit.get("num_steps") is not None and steps > 0:
            left.append((fit["num_steps"] - trainer.step) * elapsed / steps)
        if trainer.finishing:
            parts.append(f"done in {elapsed:,.0f} s")
        elif left:
            parts.append(f"{max(0.0, min(left)):,.0f} s left")
        return " | ".join(parts)

    def figure(self, trainer: Trainer) -> Figure:
        """The frame: the preview grid (if any) beside the loss curves, the status line above."""
        from matplotlib.figure import Figure

        from synthlib import plots

        fig = Figure(figsize=self.figsize, dpi=80, layout="constrained")
        panels = 2 if self.preview is not None else 1
        axes = fig.subplots(1, panels, gridspec_kw={"width_ratios": [1.2, 1][:panels]})
        axes = list(axes) if panels > 1 else [axes]
        if self.preview is not None:
            images = self.preview(trainer)
            nrow = getattr(self.preview, "nrow", self.nrow)  # a pair preview: one row per kind of image
            plots.image_grid(images, nrow=min(nrow, len(images)), ax=axes[0],
                             title=getattr(self.preview, "title", "fixed-seed preview"))
        keys = self.keys if self.keys is not None else [k for k in trainer.history if k.endswith("/loss")]
        smooth = max(1, min(self.smooth, min((len(trainer.history[k]["value"]) for k in keys
                                              if k in trainer.history), default=1)))
        plots.loss_curves(trainer.history, keys, smooth=smooth, ax=axes[-1], title="losses")
        fig.suptitle(f"{self.title + ': ' if self.title else ''}{self.status(trainer)}", fontsize=11)
        return fig

    def png(self, trainer: Trainer) -> bytes:
        buf = io.BytesIO()
        self.figure(trainer).savefig(buf, format="png")
        return buf.getvalue()

    def draw(self, trainer: Trainer) -> bytes:
        """Render a frame and show it: the first into a new output, later ones (later fits too) into the same
        one, so a view is one picture in the notebook however often it trains."""
        t0 = time.perf_counter()
        trainer._flush()  # the losses not yet copied to the host
        data = self.png(trainer)
        try:
            from IPython import get_ipython
            from IPython.display import Image, display

            if get_ipython() is not None:
                if self._handle is None:
                    self._handle = display(Image(data=data), display_id=True)
                else:
                    self._handle.update(Image(data=data))
        except ImportError:  # pragma: no cover - IPython is a core dependency
            pass
        self.draws += 1
        self.draw_seconds += time.perf_counter() - t0
        return data
