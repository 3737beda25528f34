"""Chapter 5's StyleGAN explorer: style mixing by layer range, truncation, noise and projection.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from synthlib.sample import evaluating, model_device
from synthlib.ui import check_seed, latent_for_seed, side_by_side, to_png

# ----------------------------------------------------------------------------------------------
# Chapter 5: StyleGAN explorer -- truncation, style mixing, noise, projection
# ----------------------------------------------------------------------------------------------

ProjectFn = Callable[..., Any]  # project_fn(G, target (1, C, S, S), steps) -> w, ws, or (w or ws, noise list)


class StyleGANExplorer:
    """Two seeds through a :class:`~synthlib.stylegan.StyleGANGenerator`, mixed, truncated and
    re-noised; optionally real images projected into its w space.

    State (plain attributes, changed through the setters, which check them): ``seed_a``, ``seed_b``,
    ``psi`` (truncation, 1: none, 0: every seed gives the average image), ``crossover`` (layers
    ``< crossover`` take seed A's w, the rest seed B's; ``G.num_ws``: all A, no mixing; 0: all B),
    ``noise_seed`` (the per-pixel noise: drawn from ``torch.Generator().manual_seed(noise_seed)`` by
    ``G.make_noise(1, generator)``, so a state always gives the same picture), ``target_index``.

    ``targets`` (N, C, S, S) in [-1, 1] are real images to project with ``project_fn(G, target, steps)``,
    which gets one target as (1, C, S, S) on G's device and returns its w (w_dim,) / (1, w_dim), its ws
    (num_ws, w_dim) / (1, num_ws, w_dim), or a pair (w or ws, noise list) when it fits the noise maps too.
    It runs with G in eval mode and gradients on (it optimises); everything else runs under ``no_grad``.

    ``G`` is one generator or several by name (``{"course weights": G_course, "this run": G_ema}``): the first is
    shown first and :meth:`set_model` switches (the seeds, psi and noise stay, so the same latents are compared;
    projections are per generator).

    The plain functions a widget calls: :meth:`set_model`, :meth:`set_seed_a`, :meth:`set_seed_b`, :meth:`set_psi`,
    :meth:`set_crossover`, :meth:`resample_noise`, :meth:`set_target`, :meth:`project`; and to read:
    :meth:`ws`, :meth:`image`, :meth:`images`, :meth:`projection`, :meth:`render`, :meth:`mixing_text`.
    Every image is (C, S, S), clamped to [-1, 1] (StyleGAN's output is linear).
    """

    def __init__(
        self,
        G: nn.Module | Mapping[str, nn.Module],
        *,
        seed_a: int = 0,
        seed_b: int = 1,
        psi: float = 1.0,
        crossover: int | None = None,
        noise_seed: int = 0,
        targets: Tensor | None = None,
        project_fn: ProjectFn | None = None,
    ) -> None:
        models = dict(G) if isinstance(G, Mapping) else {"model": G}
        if not models:
            raise ValueError("StyleGANExplorer needs a generator (got an empty mapping of models)")
        for label, model in models.items():
            for name in ("mapping", "synthesis", "truncate", "mix", "make_noise", "num_ws", "config"):
                if not hasattr(model, name):
                    raise ValueError(f"StyleGANExplorer needs a StyleGANGenerator ({label}: G.{name} is missing), "
                                     f"got {type(model).__name__}")
        shapes = {(m.config.img_channels, m.config.img_size) for m in models.values()}
        if len(shapes) > 1:
            raise ValueError(f"the generators draw different image shapes {sorted(shapes)}: explore them one at a time")
        self.models = models
        self.model_name = next(iter(models))
        cfg = self.G.config
        if targets is not None:
            expected = (cfg.img_channels, cfg.img_size, cfg.img_size)
            if not isinstance(targets, Tensor) or targets.ndim != 4 or tuple(targets.shape[1:]) != expected \
                    or targets.shape[0] < 1:
                got = tuple(targets.shape) if isinstance(targets, Tensor) else type(targets).__name__
                raise ValueError(f"targets must be real images shaped (N, {', '.join(map(str, expected))}) like G's "
                                 f"output, got {got}")
            targets = targets.detach().float().cpu().clamp(-1.0, 1.0)
        if project_fn is not None and not callable(project_fn):
            raise ValueError(f"project_fn must be a function (G, target, steps) -> w, got {project_fn!r}")
        self.targets, self.project_fn = targets, project_fn
        self.target_index = 0
        self._projected: dict[int, tuple[Tensor, list[Tensor] | None]] = {}  # target index -> (ws, noise or None)
        self.seed_a = self.seed_b = 0
        self.psi, self.crossover, self.noise_seed = 1.0, self.num_ws, 0
        self.set_seed_a(seed_a)
        self.set_seed_b(seed_b)
        self.set_psi(psi)
        self.set_crossover(self.num_ws if crossover is None else crossover)
        self.noise_seed = check_seed(noise_seed, "noise_seed")

    @property
    def G(self) -> nn.Module:
        """The generator shown now (see :meth:`set_model`)."""
        return self.models[self.model_name]

    @property
    def device(self) -> torch.device:
        return model_device(self.G)

    @property
    def num_ws(self) -> int:
        """How many w inputs (layers, for mixing) the generator has."""
        return int(self.G.num_ws)

    # -- changing the state ------------------------------------------------------------------

    def set_model(self, name: str) -> None:
        """Show generator ``name`` (one of :attr:`models`); the crossover is kept within its layers."""
        if name not in self.models:
            raise ValueError(f"no model {name!r}: this explorer has {', '.join(map(repr, self.models))}")
        if name != self.model_name:
            self.model_name = name
            self._projected.clear()     # a w fitted for one generator means nothing to another
            self.crossover = min(self.crossover, self.num_ws)

    def set_seed_a(self, seed: int) -> None:
        """The seed whose w feeds the layers below the crossover (the coarse ones)."""
        self.seed_a = check_seed(seed, "seed A")

    def set_seed_b(self, seed: int) -> None:
        """The seed whose w feeds the layers from the crossover on (the fine ones)."""
        self.seed_b = check_seed(seed, "seed B")

    def set_psi(self, psi: float) -> None:
        """Truncation ``w_avg + psi (w - w_avg)``, psi in [0, 1]."""
        if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0.0 <= psi <= 1.0:
            raise ValueError(f"psi must be in [0, 1] (1: no truncation, 0: every seed gives the average image "
                             f"w_avg), got {psi!r}")
        self.psi = float(psi)

    def set_crossover(self, k: int) -> None:
        """Layers ``0 .. k-1`` from seed A, ``k .. num_ws-1`` from seed B (k = num_ws: seed A alone)."""
        if isinstance(k, bool) or int(k) != k or not 0 <= k <= self.num_ws:
            raise ValueError(f"crossover must be a whole number in 0..{self.num_ws} (this G has {self.num_ws} "
                             f"layers of w; {self.num_ws}: all from seed A, 0: all from seed B), got {k!r}")
        self.crossover = int(k)

    def resample_noise(self) -> None:
        """Next noise seed: the same ws, fresh per-pixel noise (hair, grain -- the stochastic details)."""
        self.noise_seed += 1

    def set_target(self, i: int) -> None:
        """Show real image ``targets[i]`` (and its reconstruction, once :meth:`project` has run for it)."""
        targets = self._need_targets()
        if isinstance(i, bool) or int(i) != i or not 0 <= i < len(targets):
            raise ValueError(f"target index must be in 0..{len(targets) - 1}, got {i!r}")
        self.target_index = int(i)

    # -- latents and images ------------------------------------------------------------------
    def _mixed_ws(self, crossover: int) -> Tensor:
        z_dim = self.G.config.z_dim
        za = latent_for_seed(self.seed_a, z_dim)[None].to(self.device)
        zb = latent_for_seed(self.seed_b, z_dim)[None].to(self.device)
        with evaluating(self.G):
            return self.G.mix(za, zb, crossover, self.psi)  # (1, num_ws, w_dim)

    def ws(self) -> Tensor:
        """The current ws (num_ws, w_dim): seed A's (truncated) w below the crossover, seed B's above."""
        return self._mixed_ws(self.crossover)[0].float().cpu()

    def noise(self) -> list[Tensor]:
        """The current per-pixel noise, one (1, 1, R, R) tensor per layer, from ``noise_seed``."""
        return self.G.make_noise(1, torch.Generator().manual_seed(self.noise_seed))

    def _synthesize(self, ws: Tensor, noise: list[Tensor] | None = None) -> Tensor:
        """ws (N, num_ws, w_dim) -> images (N, C, S, S) in [-1, 1], with ``noise`` (default: the current)."""
        with evaluating(self.G):
            out = self.G.synthesis(ws.to(self.device), noise=self.noise() if noise is None else noise)
        return out.float().cpu().clamp(-1.0, 1.0)

    def image(self) -> Tensor:
        """The picture (C, S, S) of the current state: mixed, truncated, with the current noise."""
        return self._synthesize(self._mixed_ws(self.crossover))[0]

    def images(self) -> dict[str, Tensor]:
        """``{"A": seed A alone, "B": seed B alone, "mixed": the current state}``, each (C, S, S), all with
        the same psi and noise, drawn in one batch."""
        ws = torch.cat([self._mixed_ws(self.num_ws), self._mixed_ws(0), self._mixed_ws(self.crossover)])
        a, b, mixed = self._synthesize(ws)
        return {"A": a, "B": b, "mixed": mixed}

    def mixing_text(self) -> str:
        """Which layers come from which seed, e.g. "layers 0-3 from seed A, 4-7 from seed B"."""
        k, n = self.crossover, self.num_ws
        if k == n:
            return f"all {n} layers from seed A (no mixing)"
        if k == 0:
            return f"all {n} layers from seed B"
        first = "layer 0" if k == 1 else f"layers 0-{k - 1}"
        rest = f"{k}" if k == n - 1 else f"{k}-{n - 1}"
        return f"{first} from seed A, {rest} from seed B"

    # -- projection --------------------------------------------------------------------------
    def _need_targets(self) -> Tensor:
        if self.targets is None:
            raise ValueError("this explorer has no real images to project: build it with "
                             "StyleGANExplorer(G, targets=images, project_fn=fn)")
        return self.targets

    def _as_ws(self, w: Any) -> Tensor:
        cfg = self.G.config
        if not isinstance(w, Tensor):
            raise ValueError(f"project_fn must return a w or ws tensor (or (ws, noise)), got {type(w).__name__}")
        w = w.detach()
        if w.ndim == 1 or (w.ndim == 2 and tuple(w.shape) == (self.num_ws, cfg.w_dim)):
            w = w[None]
        if w.ndim == 2 and tuple(w.shape) == (1, cfg.w_dim):
            w = w[:, None].expand(-1, self.num_ws, -1)
        if w.ndim != 3 or tuple(w.shape) != (1, self.num_ws, cfg.w_dim):
            raise ValueError(f"project_fn must return one w ({cfg.w_dim},) / (1, {cfg.w_dim}) or one ws "
                             f"({self.num_ws}, {cfg.w_dim}) / (1, {self.num_ws}, {cfg.w_dim}), got {tuple(w.shape)}")
        return w.float().clone()

    def project(self, steps: int) -> tuple[Tensor, Tensor]:
        """Fit a w to the current target with ``project_fn(G, target, steps)``; returns :meth:`projection`."""
        targets = self._need_targets()
        if self.project_fn is None:
            raise ValueError("this explorer has no project_fn: build it with "
                             "StyleGANExplorer(G, targets=images, project_fn=fn), fn(G, target, steps) -> w")
        if isinstance(steps, bool) or int(steps) != steps or steps < 0:
            raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
        target = targets[self.target_index][None].to(self.device)
        modes = [(m, m.training) for m in self.G.modules()]
        self.G.eval()
        try:
            result = self.project_fn(self.G, target, int(steps))
        finally:
            for m, training in modes:
                m.training = training
        noise = None
        if isinstance(result, (tuple, list)):
            if len(result) != 2:
                raise ValueError("project_fn must return w, ws or a pair (ws, noise list)")
            result, noise = result
            if noise is not None:
                noise = [None if n is None else n.detach().to(self.device) for n in noise]
        self._projected[self.target_index] = (self._as_ws(result), noise)
        return self.projection()

    def projection(self) -> tuple[Tensor, Tensor]:
        """(target, reconstruction), each (C, S, S) in [-1, 1]: the real image and G's picture of the w
        :meth:`project` found for it (with the noise project_fn returned, else the current noise)."""
        targets = self._need_targets()
        if self.target_index not in self._projected:
            raise ValueError(f"target {self.target_index} has not been projected yet: call project(steps) first")
        ws, noise = self._projected[self.target_index]
        return targets[self.target_index].clone(), self._synthesize(ws, noise)[0]

    # -- the picture -------------------------------------------------------------------------
    def panels(self) -> dict[str, Tensor]:
        """Every picture :meth:`render` shows, by name: A, B, mixed, then (with targets) the target and,
        once projected, its reconstruction."""
        out = self.images()
        if self.targets is not None:
            if self.target_index in self._projected:
                out["target"], out["reconstruction"] = self.projection()
            else:
                out["target"] = self.targets[self.target_index].clone()
        return out

    def render(self) -> Tensor:
        """:meth:`panels` side by side (C, S, S')."""
        return side_by_side(list(self.panels().values()))


class StyleGANExplorerUI:
    """The widgets of :func:`stylegan_ui`: with several generators a ``model`` switch; seed A and seed B boxes,
    a ``psi`` slider, a ``crossover`` slider, a ``new noise`` button and, with targets, a ``target`` dropdown,
    a ``steps`` box and a ``project`` button; the picture (``image``, PNG bytes) and a caption (``caption``, HTML).

    Every callback is a thin named method that calls the explorer's setter and then :meth:`update`,
    so tests can set ``seed_a.value``, ``crossover.value``, ... or call ``on_noise()`` / ``on_project()``.
    """

    def __init__(
        self, explorer: StyleGANExplorer, *, scale: int = 4, steps: int = 200, max_seed: int = 2**31 - 1
    ) -> None:
        import ipywidgets as W

        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a whole number >= 1, got {scale}")
        self.explorer, self.scale = explorer, int(scale)
        ex = explorer
        self.seed_a = W.BoundedIntText(value=ex.seed_a, min=0, max=max(max_seed, ex.seed_a), description="seed A")
        self.seed_b = W.BoundedIntText(value=ex.seed_b, min=0, max=max(max_seed, ex.seed_b), description="seed B")
        self.psi = W.FloatSlider(value=ex.psi, min=0.0, max=1.0, step=0.05, description="psi",
                                 continuous_update=False, readout_format=".2f")
        self.crossover = W.IntSlider(value=ex.crossover, min=0, max=ex.num_ws, step=1, description="crossover",
                                     continuous_update=False)
        self.new_noise = W.Button(description="new noise", tooltip="same ws, fresh per-pixel noise")
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self.seed_a.observe(self.on_seed_a, names="value")
        self.seed_b.observe(self.on_seed_b, names="value")
        self.psi.observe(self.on_psi, names="value")
        self.crossover.observe(self.on_crossover, names="value")
        self.new_noise.on_click(self.on_noise)
        rows = [W.HBox([self.seed_a, self.seed_b]), W.HBox([self.psi, self.crossover, self.new_noise])]
        self.model = None
        if len(ex.models) > 1:
            self.model = W.ToggleButtons(options=list(ex.models), value=ex.model_name, description="model")
            self.model.observe(self.on_model, names="value")
            rows.insert(0, self.model)
        self.target = self.steps = self.project = None
        if ex.targets is not None:
            self.target = W.Dropdown(options=[(f"image {i}", i) for i in range(len(ex.targets))],
                                     value=ex.target_index, description="target")
            self.steps = W.BoundedIntText(value=steps, min=0, max=100_000, description="steps")
            self.project = W.Button(description="project", disabled=ex.project_fn is None,
                                    tooltip="fit a w to the target and show G's picture of it")
            self.target.observe(self.on_target, names="value")
            self.project.on_click(self.on_project)
            rows.append(W.HBox([self.target, self.steps, self.project]))
        self.widget = W.VBox([*rows, self.image, self.caption])
        self.update()

    # -- callbacks: the explorer's setter, then a redraw -------------------------------------------
    def on_model(self, change: dict[str, Any]) -> None:
        self.explorer.set_model(change["new"])
        self.crossover.max = self.explorer.num_ws
        self.crossover.value = self.explorer.crossover
        self.update()

    def on_seed_a(self, change: dict[str, Any]) -> None:
        self.explorer.set_seed_a(change["new"])
        self.update()

    def on_seed_b(self, change: dict[str, Any]) -> None:
        self.explorer.set_seed_b(change["new"])
        self.update()

    def on_psi(self, change: dict[str, Any]) -> None:
        self.explorer.set_psi(change["new"])
        self.update()

    def on_crossover(self, change: dict[str, Any]) -> None:
        self.explorer.set_crossover(change["new"])
        self.update()

    def on_noise(self, _: Any = None) -> None:
        self.explorer.resample_noise()
        self.update()

    def on_target(self, change: dict[str, Any]) -> None:
        self.explorer.set_target(change["new"])
        self.update()

    def on_project(self, _: Any = None) -> None:
        self.caption.value = f"projecting target {self.explorer.target_index} ..."
        self.explorer.project(self.steps.value if self.steps is not None else 0)
        self.update()

    # -- the picture ---------------------------------------------------------------------------
    def caption_text(self, names: Sequence[str], ms: float) -> str:
        ex = self.explorer
        which = f"{ex.model_name}: " if len(ex.models) > 1 else ""
        return (f"{which}{' | '.join(names)}: {ex.mixing_text()}; psi {ex.psi:.2f}, noise seed {ex.noise_seed} "
                f"(redrawn in {ms:.0f} ms)")

    def update(self) -> None:
        """Render the explorer's current panels into the image and say what they are in the caption."""
        t0 = time.perf_counter()
        panels = self.explorer.panels()
        picture = side_by_side(list(panels.values()))
        ms = 1000 * (time.perf_counter() - t0)
        self.image.value = to_png(picture, self.scale)
        self.caption.value = self.caption_text(list(panels), ms)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def stylegan_ui(explorer: StyleGANExplorer, *, scale: int = 4, steps: int = 200) -> StyleGANExplorerUI:
    """Seeds A and B, truncation psi, the style-mixing crossover and a new-noise button over
    A | B | mixed (enlarged ``scale`` times); with targets, pick one and project it (``steps`` iterations)
    to see target | reconstruction beside them."""
    return StyleGANExplorerUI(explorer, scale=scale, steps=steps)
