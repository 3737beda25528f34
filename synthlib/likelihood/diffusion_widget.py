"""Chapter 7's diffusion explorer: the reverse process step by step, with class and guidance controls.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from synthlib.sample import evaluating, model_device
from synthlib.ui import check_seed, side_by_side, to_png

# ----------------------------------------------------------------------------------------------
# Chapter 7: diffusion / flow-matching explorer -- class, guidance, steps, seed, and the reverse process
# ----------------------------------------------------------------------------------------------

NO_CLASS = "none"  # the class value that means "no class": the null label, the unconditional model


def _image_grid(images: Tensor, gap: int = 2, fill: float = 1.0) -> Tensor:
    """Rows of images (R, N, C, H, W) -> one picture (C, R*H + gaps, N*W + gaps), ``gap`` pixels of ``fill``."""
    rows = [side_by_side(list(row), gap=gap, fill=fill) for row in images]
    c, _, w = rows[0].shape
    spacer = torch.full((c, gap, w), fill)
    parts: list[Tensor] = []
    for i, row in enumerate(rows):
        if i:
            parts.append(spacer)
        parts.append(row)
    return torch.cat(parts, dim=1)


class DiffusionExplorer:
    """A small batch of images sampled by a :class:`~synthlib.likelihood.networks.DiffusionUNet` (diffusion
    or flow matching), and every state of its reverse process, from the noise to the images.

    State (changed through the setters, which check it): ``label`` (a class index, or None for "no class":
    the model's null label, i.e. the unconditional model; always None for an unconditional model),
    ``guidance`` (classifier-free guidance w >= 0; it only acts with a class), ``steps`` (sampler steps),
    ``seed`` (the starting noise: ``num_images`` images from ``torch.Generator().manual_seed(seed)``), and
    ``position`` in the reverse process: 0 is the noise, :attr:`max_position` (= steps) the final images.

    Changing class, guidance, steps or seed runs :func:`synthlib.likelihood.generate` with
    ``trajectory=True`` once and keeps every state (a few recent trajectories are cached), so
    :meth:`set_position` only picks a stored state. The model's guess of the final image at a position
    (:meth:`prediction`: diffusion's x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar), flow's
    x_t + (1 - t) v) costs one more network call, made when asked for and cached.

    The plain functions a widget calls: :meth:`set_class`, :meth:`set_guidance`, :meth:`set_steps`,
    :meth:`set_seed`, :meth:`set_position`; and to read: :meth:`noise`, :meth:`trajectory`,
    :meth:`state`, :meth:`images`, :meth:`prediction`, :meth:`image`, :meth:`position_text`.
    """

    _CACHE = 8  # trajectories kept (moving a control back and forth does not sample again)

    def __init__(
        self,
        model: nn.Module,
        class_names: Sequence[str] | None = None,
        *,
        label: int | str | None = 0,
        guidance: float = 0.0,
        steps: int = 20,
        seed: int = 0,
        num_images: int = 8,
        sampler: str | None = None,
        show_prediction: bool = True,
    ) -> None:
        cfg = getattr(model, "config", None)
        if getattr(cfg, "process", None) not in ("diffusion", "flow"):
            raise ValueError(f"DiffusionExplorer needs a DiffusionUNet (its config.process is 'diffusion' or "
                             f"'flow'), got {type(model).__name__}")
        self.model, self.config = model, cfg
        self.device = model_device(model)
        self.num_classes = int(cfg.num_classes)
        if class_names is not None:
            class_names = [str(name) for name in class_names]
            if len(class_names) != self.num_classes:
                raise ValueError(f"got {len(class_names)} class names for a model with {self.num_classes} classes")
        self.class_names = class_names
        if isinstance(num_images, bool) or int(num_images) != num_images or num_images < 1:
            raise ValueError(f"num_images must be a whole number >= 1, got {num_images!r}")
        self.num_images = int(num_images)
        from synthlib.likelihood.diffusion import SAMPLERS

        allowed = SAMPLERS[cfg.process]
        if sampler is not None and sampler not in allowed:
            raise ValueError(f"sampler {sampler!r} does not apply to a {cfg.process} model; use one of {allowed}")
        self.sampler = sampler or allowed[0]
        self.show_prediction = bool(show_prediction)
        self._trajectories: dict[tuple[Any, ...], list[Tensor]] = {}  # key -> states, oldest first
        self._predictions: dict[tuple[Any, ...], Tensor] = {}          # (key, position) -> prediction
        self.last_sample_ms = 0.0
        # Plain defaults, then the setters check the arguments; sampling waits until all are set.
        self._ready = False
        self.label: int | None = None
        self.guidance, self.steps, self.seed, self.position = 0.0, 1, 0, 0
        self.set_class(label if self.num_classes > 0 else None)
        self.set_guidance(guidance)
        self.set_seed(seed)
        self.set_steps(steps)
        self._ready = True
        self._sample()
        self.position = self.max_position

    @property
    def process(self) -> str:
        return str(self.config.process)

    # -- checks --------------------------------------------------------------------------------
    def _check_label(self, k: Any) -> int | None:
        if k is None or (isinstance(k, str) and k.strip().lower() == NO_CLASS):
            return None
        if self.num_classes == 0:
            raise ValueError(f"this model is unconditional (num_classes=0): its only class is {NO_CLASS!r} (or None), "
                             f"got {k!r}")
        if isinstance(k, str) and self.class_names is not None and k in self.class_names:
            return self.class_names.index(k)
        try:
            ok = not isinstance(k, bool) and int(k) == k and 0 <= k < self.num_classes
        except (TypeError, ValueError):
            ok = False
        if not ok:
            names = f" or one of {self.class_names}" if self.class_names is not None else ""
            raise ValueError(f"class must be in 0..{self.num_classes - 1}{names}, or {NO_CLASS!r} / None for no class "
                             f"(the unconditional model), got {k!r}")
        return int(k)

    # -- changing the state ----------------------------------------------------------------------
    def set_class(self, k: int | str | None) -> None:
        """Sample class ``k`` (an index, or a name from ``class_names``); None or "none": no class (the
        null label, so the unconditional model)."""
        self.label = self._check_label(k)
        self._sample()

    def set_guidance(self, w: float) -> None:
        """Classifier-free guidance ``cond + w (cond - uncond)``, w >= 0 (0: the plain conditional model)."""
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ValueError(f"guidance w must be a number >= 0 (0: no guidance), got {w!r}")
        if w != 0 and self.num_classes == 0:
            raise ValueError("guidance needs a class-conditional model (num_classes > 0); this one is unconditional")
        self.guidance = float(w)
        self._sample()

    def set_steps(self, n: int) -> None:
        """Sample in ``n`` steps. The position keeps its place in the process (the final images stay final)."""
        most = self.config.num_timesteps if self.process == "diffusion" else None
        try:
            ok = not isinstance(n, bool) and int(n) == n and n >= 1 and (most is None or n <= most)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            upto = f" and at most the model's {most} diffusion steps" if most is not None else ""
            raise ValueError(f"steps must be a whole number >= 1{upto}, got {n!r}")
        if not self._ready:
            self.steps = int(n)
            return
        old_max = self.max_position
        fraction = self.position / old_max if old_max else 1.0
        self.steps = int(n)
        self._sample()
        self.position = int(round(fraction * self.max_position))

    def set_seed(self, seed: int) -> None:
        """The starting noise: ``num_images`` images of N(0, I) from ``torch.Generator().manual_seed(seed)``."""
        self.seed = check_seed(seed)
        self._sample()

    def set_position(self, i: int) -> None:
        """Show state ``i`` of the reverse process: 0 the noise, :attr:`max_position` the final images."""
        top = self.max_position
        try:
            ok = not isinstance(i, bool) and int(i) == i and 0 <= i <= top
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"position must be a whole number in 0..{top} (0: the noise, {top}: the final "
                             f"images after {self.steps} steps), got {i!r}")
        self.position = int(i)

    # -- sampling ------------------------------------------------------------------------------
    def noise(self) -> Tensor:
        """The starting noise (num_images, C, H, W) the seed names (CPU)."""
        cfg = self.config
        shape = (self.num_images, cfg.img_channels, cfg.img_size, cfg.img_size)
        return torch.randn(shape, generator=torch.Generator().manual_seed(self.seed))

    def labels(self) -> Tensor | None:
        """The labels given to the model: the class for every image, the null label for no class
        (None for an unconditional model)."""
        if self.num_classes == 0:
            return None
        k = self.model.null_class if self.label is None else self.label
        return torch.full((self.num_images,), int(k), dtype=torch.long, device=self.device)

    @property
    def effective_guidance(self) -> float:
        """The w passed to the sampler: without a class, conditional and unconditional are the same
        prediction, so guidance does nothing and is left out (half the network calls)."""
        return 0.0 if self.label is None else self.guidance

    def _key(self) -> tuple[Any, ...]:
        return (self.label, self.effective_guidance, self.steps, self.seed)

    def _current(self) -> list[Tensor] | None:
        return self._trajectories.get(self._key())

    def _sample(self) -> None:
        """Run the sampler for the current class, guidance, steps and seed, unless it is cached."""
        from synthlib.likelihood.diffusion import generate

        if not self._ready:
            return
        key = self._key()
        if key in self._trajectories:
            self._trajectories[key] = self._trajectories.pop(key)  # most recent last
            return
        t0 = time.perf_counter()
        generator = torch.Generator().manual_seed(self.seed + 1)  # DDPM's per-step noise (unused otherwise)
        with evaluating(self.model):
            states = generate(self.model, self.noise().to(self.device), self.labels(), steps=self.steps,
                              guidance=self.effective_guidance, sampler=self.sampler, generator=generator,
                              trajectory=True)
        self.last_sample_ms = 1000 * (time.perf_counter() - t0)
        self._trajectories[key] = [s.float().cpu() for s in states]
        while len(self._trajectories) > self._CACHE:
            old = next(iter(self._trajectories))
            del self._trajectories[old]
            for k in [k for k in self._predictions if k[0] == old]:
                del self._predictions[k]

    def trajectory(self) -> list[Tensor]:
        """Every state of the reverse process (max_position + 1 tensors (N, C, H, W), CPU), noise first."""
        states = self._current()
        if states is None:  # evicted (cannot happen through the setters); sample again
            self._sample()
            states = self._trajectories[self._key()]
        return states

    @property
    def max_position(self) -> int:
        """The last position: the final images (equal to ``steps`` for the samplers here)."""
        return len(self.trajectory()) - 1

    def state(self) -> Tensor:
        """The state (N, C, H, W) at the current position, as the sampler holds it (not clamped:
        position 0 is the seed's noise exactly)."""
        return self.trajectory()[self.position].clone()

    def images(self) -> Tensor:
        """:meth:`state` clamped to [-1, 1]: at the last position exactly what ``generate`` returns."""
        return self.state().clamp(-1.0, 1.0)

    def _network_time(self, i: int) -> float:
        """The time the network sees at state ``i`` (diffusion: step / T, 1 = noise; flow: 0 = noise)."""
        if self.process == "flow":
            return torch.linspace(0.0, 1.0, self.steps + 1).tolist()[i]
        from synthlib.likelihood.diffusion import ddim_timesteps

        return ddim_timesteps(self.config.num_timesteps, self.steps)[i] / self.config.num_timesteps

    def prediction(self) -> Tensor:
        """The model's guess (N, C, H, W) in [-1, 1] of the final images from the current state: diffusion's
        predicted clean image x0, flow's x_t + (1 - t) v; the final images themselves at the last position."""
        states = self.trajectory()
        i = self.position
        if i == len(states) - 1:
            return states[i].clamp(-1.0, 1.0)
        key = (self._key(), i)
        if key not in self._predictions:
            from synthlib.likelihood.diffusion import (
                NoiseSchedule,
                ddim_timesteps,
                guided,
                predict_x0,
            )

            x = states[i].to(self.device)
            n = len(x)
            with evaluating(self.model):
                if self.process == "flow":
                    t = self._network_time(i)
                    v = guided(self.model, x, torch.full((n,), t, device=self.device), self.labels(),
                               self.effective_guidance)
                    out = x + (1.0 - t) * v
                else:
                    T = self.config.num_timesteps
                    t = ddim_timesteps(T, self.steps)[i]
                    ab = NoiseSchedule.of(self.model).alpha_bar[t]
                    eps = guided(self.model, x, torch.full((n,), t / T, device=self.device), self.labels(),
                                 self.effective_guidance)
                    out = predict_x0(x, eps, ab)
            self._predictions[key] = out.float().cpu().clamp(-1.0, 1.0)
        return self._predictions[key].clone()

    # -- the picture ---------------------------------------------------------------------------
    def image(self) -> Tensor:
        """The picture (C, H', W'): the current states in a row, and under them (``show_prediction``) the
        model's prediction of the final images from them; 2-pixel white gaps."""
        rows = [self.images()]
        if self.show_prediction:
            rows.append(self.prediction())
        return _image_grid(torch.stack(rows))

    def class_text(self) -> str:
        if self.label is None:
            return "no class (unconditional)"
        return self.class_names[self.label] if self.class_names is not None else f"class {self.label}"

    def position_text(self) -> str:
        """Where the current state is in the reverse process, in words."""
        i, top = self.position, self.max_position
        if i == top:
            where = "the final images"
        elif i == 0:
            where = "the starting noise"
        else:
            where = f"after {i} steps"
        t = "clean" if i == top and self.process == "diffusion" else f"{self._network_time(i):.3f}"
        return f"position {i} of {top} ({where}; network time t = {t})"

    def text(self) -> str:
        """The state in words: class, guidance, steps, seed, position."""
        w = f"guidance w {self.guidance:.2f}"
        if self.label is None and self.guidance != 0:
            w += " (no effect without a class)"
        rows = "x_t | predicted final images" if self.show_prediction else "x_t"
        return (f"{self.process} ({self.sampler}), {self.class_text()}, {w}, {self.steps} steps, seed {self.seed}: "
                f"{self.position_text()}; rows: {rows}")


class DiffusionExplorerUI:
    """The widgets of :func:`diffusion_ui`: a class dropdown ("none": no class), a guidance slider, a
    steps slider, a seed box, a position slider over the reverse process (its maximum follows the
    steps) and a "prediction" checkbox; the picture (``image``, PNG bytes) and a caption (``caption``).

    Every callback is a thin named method that calls the explorer's setter and then :meth:`update`, so
    tests can set ``guidance.value``, ``position.value``, ... in Python.
    """

    def __init__(self, explorer: DiffusionExplorer, *, scale: int = 2, max_steps: int = 100,
                 max_seed: int = 2**31 - 1) -> None:
        import ipywidgets as W

        if isinstance(scale, bool) or int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a whole number >= 1, got {scale}")
        self.explorer, self.scale = explorer, int(scale)
        ex = explorer
        names = ex.class_names if ex.class_names is not None else [str(i) for i in range(ex.num_classes)]
        options: list[tuple[str, Any]] = [("none (unconditional)", NO_CLASS)]
        options += [(name, i) for i, name in enumerate(names)]
        self.label = W.Dropdown(options=options, value=NO_CLASS if ex.label is None else ex.label,
                                description="class", disabled=ex.num_classes == 0)
        self.guidance = W.FloatSlider(value=ex.guidance, min=0.0, max=max(5.0, ex.guidance), step=0.25,
                                      description="guidance w", continuous_update=False, readout_format=".2f",
                                      disabled=ex.num_classes == 0)
        most = ex.config.num_timesteps if ex.process == "diffusion" else max_steps
        self.steps = W.IntSlider(value=ex.steps, min=min(2, ex.steps), max=max(min(max_steps, most), ex.steps),
                                 step=1, description="steps", continuous_update=False)
        self.seed = W.BoundedIntText(value=ex.seed, min=0, max=max(max_seed, ex.seed), description="seed")
        self.position = W.IntSlider(value=ex.position, min=0, max=ex.max_position, step=1, description="position")
        self.show_prediction = W.Checkbox(value=ex.show_prediction, description="prediction", indent=False)
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self._syncing = False
        self.label.observe(self.on_class, names="value")
        self.guidance.observe(self.on_guidance, names="value")
        self.steps.observe(self.on_steps, names="value")
        self.seed.observe(self.on_seed, names="value")
        self.position.observe(self.on_position, names="value")
        self.show_prediction.observe(self.on_prediction, names="value")
        rows = [W.HBox([self.label, self.guidance]), W.HBox([self.steps, self.seed]),
                W.HBox([self.position, self.show_prediction])]
        self.widget = W.VBox([*rows, self.image, self.caption])
        self.update()

    # -- callbacks: the explorer's setter, then a redraw -------------------------------------------
    def on_class(self, change: dict[str, Any]) -> None:
        self.explorer.set_class(change["new"])
        self.update()

    def on_guidance(self, change: dict[str, Any]) -> None:
        self.explorer.set_guidance(change["new"])
        self.update()

    def on_steps(self, change: dict[str, Any]) -> None:
        self.explorer.set_steps(change["new"])
        self._sync_position()
        self.update()

    def on_seed(self, change: dict[str, Any]) -> None:
        self.explorer.set_seed(change["new"])
        self.update()

    def on_position(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return  # the slider follows the explorer (new steps), not the other way round
        self.explorer.set_position(change["new"])
        self.update()

    def on_prediction(self, change: dict[str, Any]) -> None:
        self.explorer.show_prediction = bool(change["new"])
        self.update()

    def _sync_position(self) -> None:
        """The position slider's range and value from the explorer (after the steps changed)."""
        ex = self.explorer
        self._syncing = True
        try:
            if ex.max_position >= self.position.max:
                self.position.max = ex.max_position
                self.position.value = ex.position
            else:
                self.position.value = ex.position
                self.position.max = ex.max_position
        finally:
            self._syncing = False

    # -- the picture ---------------------------------------------------------------------------
    def update(self) -> None:
        """Render the explorer's current picture into the image and describe it in the caption."""
        t0 = time.perf_counter()
        picture = self.explorer.image()
        self.image.value = to_png(picture, self.scale)
        ms = 1000 * (time.perf_counter() - t0)
        self.caption.value = html.escape(
            f"{self.explorer.text()} (sampled in {self.explorer.last_sample_ms:.0f} ms, drawn in {ms:.0f} ms)")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def diffusion_ui(explorer: DiffusionExplorer, *, scale: int = 2, max_steps: int = 100) -> DiffusionExplorerUI:
    """Class (or none), classifier-free guidance w, the number of sampler steps (2 .. ``max_steps``) and the
    seed of a small batch of samples, with a slider along the reverse process from the noise (0) to the
    final images; under the states, the model's prediction of the final images from them. Show it with
    ``display(ui)`` or as a cell's last expression; ``ui.widget`` is the VBox."""
    return DiffusionExplorerUI(explorer, scale=scale, max_steps=max_steps)
