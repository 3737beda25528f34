"""The scoreboard: every Fashion-MNIST generator of the course, measured the same way on one machine.

Each chapter scores its own models, but with its own number of samples, its own seeds and on
whatever the machine was doing at the time. The scoreboard loads every generator the chapters left
behind and measures them side by side::

    found, missing = find_generators()            # runs/<chapter>/<...>/checkpoint.pt that exist
    for message in missing:
        print(message)                            # "runs/07_likelihood/flow/checkpoint.pt is missing: run ..."
    table = score(found, real_images, num_samples=2000, seed=0)
    fig = plot_costs(table)

What every row gets, the same way for all:

* FID and KID against the same real images, with one :class:`~synthlib.metrics.fid.FIDEvaluator`
  (the course's offline Fashion-MNIST classifier) and the same number of generated images;
* precision and recall (:func:`~synthlib.metrics.prdc.precision_recall`) in that classifier's
  feature space;
* the training time the chapter recorded in its ``metrics.json`` (NaN, with a note, when absent);
* the sampling time per 1,000 images, timed here, on one device, after a small warm-up;
* the number of parameters of the network that was sampled (G_ema when the checkpoint has one).

Sampling is unconditional for every model: a class-conditional generator gets classes drawn
uniformly by :func:`synthlib.sample.sample`. The table of known generators is :data:`GENERATORS`;
a new chapter adds one :class:`Entry`. :func:`make_demo_runs` trains tiny stand-ins for a few steps
(the tests, and the notebook's smoke profile on a fresh clone, score those).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from synthlib.core.chapter import ChapterSettings, profiled
from synthlib.data.paths import project_root
from synthlib.likelihood.diffusion import DEFAULT_STEPS
from synthlib.likelihood.networks import ConvVAE
from synthlib.metrics.fid import _pick_device
from synthlib.sample import is_iterative, load_generator, sample
from synthlib.stylegan.training import crop_to_28

__all__ = ["COURSE_GENERATORS", "Entry", "Found", "GENERATORS", "find_generators", "make_demo_runs", "num_parameters",
           "plot_costs", "read_metric", "resolve_device", "score"]  # fmt: skip


@dataclass
class Entry:
    """One generator a chapter leaves behind.

    ``chapter``: its run directory's name (also the notebook's name, ``notebooks/<chapter>.ipynb``);
    ``checkpoint``: the checkpoint's path inside that directory; ``seconds_key``: where the training
    time is in the run's ``metrics.json`` (dotted, inside its ``"metrics"``: ``"improved.train_seconds"``);
    ``sample_kwargs``: extra arguments of :func:`synthlib.sample.sample` (``steps`` for diffusion and
    flow); ``postprocess``: applied to the samples before scoring (StyleGAN's 32 px -> the centre
    28 px); ``how``: what makes the checkpoint, for the message when it is missing (default: run
    the chapter's notebook).
    """

    name: str
    chapter: str
    checkpoint: str
    seconds_key: str | None
    sample_kwargs: dict[str, Any] = field(default_factory=dict)
    postprocess: Callable[[Tensor], Tensor] | None = None
    how: str | None = None
    course: str | None = None  # a course-weights name (synthlib.course_weights): the checkpoint is course:NAME

    @property
    def make_command(self) -> str:
        if self.course:
            return self.how or f"make weights NAME={self.course}"
        return self.how or f"run notebooks/{self.chapter}.ipynb (make course)"


GENERATORS: tuple[Entry, ...] = (
    Entry("DCGAN (improved)", "02_dcgan", "checkpoint.pt", "improved.train_seconds"),
    Entry("DCGAN (Radford baseline)", "02_dcgan", "baseline/checkpoint.pt", "baseline.train_seconds"),
    Entry("DCGAN (class-conditional)", "02_dcgan", "conditional/checkpoint.pt", "conditional.train_seconds",
          how="run notebooks/02_dcgan.ipynb with -p conditional True"),
    Entry("StyleGAN (chapter 5)", "05_stylegan", "checkpoint.pt", "stylegan.seconds", postprocess=crop_to_28),
    Entry("DCGAN (chapter 5)", "05_stylegan", "dcgan/checkpoint.pt", "dcgan.seconds"),
    Entry("VAE", "07_likelihood", "vae/checkpoint.pt", "vae.train_seconds"),
    Entry("diffusion (DDIM, 20 steps)", "07_likelihood", "diffusion/checkpoint.pt", "diffusion.train_seconds",
          sample_kwargs={"steps": 20}),
    Entry("flow matching (Euler, 20 steps)", "07_likelihood", "flow/checkpoint.pt", "flow.train_seconds",
          sample_kwargs={"steps": 20}),
)
"""Every generator of the course the scoreboard knows, in chapter order."""

def _course(name: str, chapter: str, course: str, **kwargs: Any) -> Entry:
    """An entry for course weights: checkpoint ``course:NAME``, training time from the manifest."""
    return Entry(f"{name}, course weights", chapter, f"course:{course}", None, course=course, **kwargs)


COURSE_GENERATORS: tuple[Entry, ...] = (
    _course("DCGAN (improved)", "02_dcgan", "dcgan-fashion"),
    _course("StyleGAN2 pair", "05_stylegan", "stylegan-fashion", postprocess=crop_to_28),
    _course("VAE", "07_likelihood", "vae-fashion"),
    _course("diffusion (DDIM, 20 steps)", "07_likelihood", "diffusion-fashion", sample_kwargs={"steps": 20}),
    _course("flow matching (Euler, 20 steps)", "07_likelihood", "flow-fashion", sample_kwargs={"steps": 20}),
)
"""The same families trained once for hours (synthlib/weights/course/): shipped, so found on every machine."""


@dataclass
class Found:
    """An :class:`Entry` whose checkpoint exists: ``path`` to it, ``run_dir`` the chapter's run directory."""

    entry: Entry
    path: Path
    run_dir: Path
    course: dict[str, Any] | None = None  # course weights: their manifest item (synthlib.course_weights.list_weights)


def _shown(path: Path) -> str:
    """``path`` relative to the project root when it lies inside it (``runs/02_dcgan/...``), else as is."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def find_generators(runs_root: str | Path | None = None,
                    entries: Sequence[Entry] = GENERATORS) -> tuple[list[Found], list[str]]:
    """Which of ``entries`` have a checkpoint under ``runs_root`` (default :func:`synthlib.core.runs.runs_root`).

    Returns ``(found, missing)``: a :class:`Found` per existing checkpoint, and for each missing one
    (or one whose run recorded a ``dataset`` parameter other than "fashion") a message naming the file
    and what makes it, e.g.
    ``"runs/07_likelihood/flow/checkpoint.pt is missing: run notebooks/07_likelihood.ipynb (make course)"``.
    """
    if runs_root is None:
        from synthlib.core.runs import runs_root as default_root

        runs_root = default_root()
    root = Path(runs_root)
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"generator names must be unique, got {names}")
    found, missing = [], []
    for entry in entries:
        if entry.course:  # shipped course weights: found when built, whatever runs_root holds
            item = _course_entry(entry.course)
            if item is None:
                missing.append(f"{entry.checkpoint} is not built: {entry.make_command}")
            else:
                found.append(Found(entry, Path(entry.checkpoint), root, course=item))
            continue
        run_dir = root / entry.chapter
        path = run_dir / entry.checkpoint
        if not path.is_file():
            missing.append(f"{_shown(path)} is missing: {entry.make_command}")
        elif (dataset := _run_params(run_dir).get("dataset", "fashion")) != "fashion":
            # e.g. chapter 5 run with -p dataset emoji: other images, other channels
            missing.append(f"{_shown(path)} was trained on {dataset!r}, not Fashion-MNIST: {entry.make_command} "
                           "with dataset='fashion' (the default)")
        else:
            found.append(Found(entry, path, run_dir))
    return found, missing


def _course_entry(name: str) -> dict[str, Any] | None:
    """The manifest entry of a built course weight (None when it is not built or its file is missing)."""
    from synthlib.course_weights import list_weights

    item = {i["name"]: i for i in list_weights()}.get(name)
    return item if item and item.get("available") else None


def read_metric(run_dir: str | Path, key: str) -> tuple[float, str | None]:
    """A number from ``<run_dir>/metrics.json``'s recorded metrics by dotted ``key``: ``(value, note)``.

    ``(nan, "why")`` when the file, the key or a number there is missing; ``note`` is None otherwise.
    """
    path = Path(run_dir) / "metrics.json"
    try:
        value: Any = json.loads(path.read_text()).get("metrics", {})
    except FileNotFoundError:
        return math.nan, f"no {_shown(path)}"
    except (OSError, ValueError) as err:
        return math.nan, f"{_shown(path)} is unreadable ({err})"
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return math.nan, f"no {key} in {_shown(path)}"
        value = value[part]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return math.nan, f"{key} in {_shown(path)} is {value!r}, not a number"
    return float(value), None


def _run_record(run_dir: Path) -> dict[str, Any]:
    """A run's metrics.json as a dict ({} when there is none or it is unreadable): what the run recorded
    besides its metrics (``params``, ``profile``)."""
    try:
        record = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _run_params(run_dir: Path) -> dict[str, Any]:
    """The parameters a run recorded ({} when there are none)."""
    params = _run_record(run_dir).get("params", {})
    return params if isinstance(params, dict) else {}


def _run_profile(run_dir: Path) -> str | None:
    return _run_record(run_dir).get("profile")


resolve_device = _pick_device  # None or "auto": CUDA when available, else the CPU (the metrics' device rule)


def num_parameters(model: nn.Module) -> int:
    """Parameters of the network that draws the samples: a VAE's decoder (its encoder is only for training),
    everything of any other generator."""
    sampler = model.decoder if isinstance(model, ConvVAE) else model
    return sum(p.numel() for p in sampler.parameters())


def score(
    found: Sequence[Found],
    real_images: Tensor,
    *,
    num_samples: int,
    seed: int = 0,
    batch_size: int = 250,
    device: str | torch.device | None = None,
    denoiser_steps: int | None = None,
    controls: Mapping[str, Tensor] | None = None,
    log: Callable[[str], None] | None = print,
):
    """Score every generator in ``found`` the same way: a pandas DataFrame, one row per generator.

    ``real_images``: the reference set (float [-1, 1], N x 1 x 28 x 28), e.g. held-out test images;
    every generator draws ``num_samples`` images from ``seed`` (the same latents for generators of the
    same latent size) on ``device`` (None or "auto": CUDA if available, else the CPU), in batches of
    ``batch_size``. ``denoiser_steps`` replaces the number of steps of the iterative samplers
    (diffusion, flow). ``controls``: name -> images scored like a generator's samples (e.g. real
    training images: the FID floor at this N); their cost columns are NaN.

    Columns: ``generator``, ``chapter``, ``fid``, ``kid_x1000``, ``precision``, ``recall``,
    ``train_seconds`` (from the chapter's metrics.json), ``sample_s_per_1000`` (timed here, after a
    warm-up), ``params`` (of the sampled network), ``evaluations`` (network passes per image),
    ``network``, ``model`` ("G_ema" or "G"), ``trained_profile``, ``num_samples``, ``device``,
    ``checkpoint``, ``note``.
    """
    import pandas as pd

    from synthlib.metrics.samples import SampleScorer

    if num_samples < 2:
        raise ValueError(f"num_samples must be at least 2 (FID needs two images), got {num_samples}")
    dev = resolve_device(device)
    say = log or (lambda _msg: None)
    scorer = SampleScorer(real_images, batch_size=batch_size, device=dev, seed=seed)

    def quality(images: Tensor) -> dict[str, float]:
        if images.ndim != 4 or tuple(images.shape[1:]) != tuple(real_images.shape[1:]):
            raise ValueError(f"samples are {tuple(images.shape)}, the real images "
                             f"{tuple(real_images.shape)}: give both the same size (see Entry.postprocess)")
        out = scorer(images)
        return {"fid": out["fid"], "kid_x1000": 1000 * out["kid_mean"], "precision": out["precision"],
                "recall": out["recall"]}

    rows = []
    for item in found:
        entry = item.entry
        G, which = load_generator(entry.checkpoint if item.course else item.path, device=dev)
        kwargs = dict(entry.sample_kwargs)
        if denoiser_steps is not None and is_iterative(G):
            kwargs["steps"] = denoiser_steps

        def draw(num: int, seed_: int, G: nn.Module = G, kwargs: dict[str, Any] = kwargs, entry: Entry = entry) -> Tensor:
            images = sample(G, num, seed=seed_, batch_size=batch_size, device=dev, **kwargs)
            return entry.postprocess(images) if entry.postprocess is not None else images

        draw(2, seed + 1)  # warm-up: first-call costs (allocations, kernel choice) stay out of the timing
        start = time.perf_counter()
        fake = draw(num_samples, seed)  # sample() returns CPU tensors, so a GPU has finished here
        seconds = time.perf_counter() - start
        if item.course:  # the manifest records the training time of the course weights
            train_seconds, note = float(item.course.get("train_seconds", math.nan)), None
        else:
            train_seconds, note = (math.nan, f"{entry.name} names no training-time key") if entry.seconds_key is None \
                else read_metric(item.run_dir, entry.seconds_key)
        row = {
            "generator": entry.name, "chapter": entry.chapter, **quality(fake),
            "train_seconds": train_seconds, "sample_s_per_1000": 1000 * seconds / num_samples,
            "params": num_parameters(G),
            "evaluations": (kwargs.get("steps") or DEFAULT_STEPS) if is_iterative(G) else 1,
            "network": type(G).__name__, "model": which,
            "trained_profile": "course weights" if item.course else _run_profile(item.run_dir),
            "num_samples": num_samples, "device": str(dev),
            "checkpoint": entry.checkpoint if item.course else _shown(item.path), "note": note or "",
        }
        rows.append(row)
        say(f"{entry.name}: FID {row['fid']:.2f}, {row['sample_s_per_1000']:.3g} s per 1,000 samples, "
            f"{row['params']:,} parameters" + (f" ({note})" if note else ""))
        del G, fake
    for name, images in (controls or {}).items():
        rows.append({"generator": name, "chapter": "control", **quality(images), "train_seconds": math.nan,
                     "sample_s_per_1000": math.nan, "params": math.nan, "evaluations": math.nan, "network": "",
                     "model": "", "trained_profile": None, "num_samples": len(images), "device": str(dev),
                     "checkpoint": "", "note": "control: images, not a generator"})
        say(f"{name} (control): FID {rows[-1]['fid']:.2f}")
    columns = ["generator", "chapter", "fid", "kid_x1000", "precision", "recall", "train_seconds", "sample_s_per_1000",
               "params", "evaluations", "network", "model", "trained_profile", "num_samples", "device", "checkpoint",
               "note"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    # whole numbers stay whole beside the controls' missing values
    return table.astype({"params": "Int64", "evaluations": "Int64", "num_samples": "Int64"})


COST_COLUMNS = {"train_seconds": ("training time (s, as recorded by the chapter)", "quality against training cost"),
                "sample_s_per_1000": ("sampling time per 1,000 images (s, measured here)",
                                      "quality against sampling cost")}


def plot_costs(table, *, columns: Sequence[str] = ("train_seconds", "sample_s_per_1000"), axes=None):
    """FID against each cost in ``columns`` (training time; sampling time per 1,000 images), log x,
    one labelled point per generator, one panel per column; control rows (``chapter == "control"``)
    as dashed horizontal lines. ``axes``: one per column (default: a new figure). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if axes is None:
        fig, axes = plt.subplots(1, len(columns), figsize=(6 * len(columns), 4.2), squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    models = table[table["chapter"] != "control"]
    controls = table[table["chapter"] == "control"]
    if len(axes) != len(columns):
        raise ValueError(f"give one axes per column: {len(axes)} axes for {list(columns)}")
    for ax, column in zip(axes, columns):
        label, title = COST_COLUMNS.get(column, (column, f"quality against {column}"))
        ok = models[(models[column] > 0) & models["fid"].notna()]
        ax.scatter(ok[column], ok["fid"], s=40, zorder=3)
        for _, r in controls.iterrows():
            ax.axhline(r["fid"], ls="--", lw=1, color="grey")
            ax.annotate(r["generator"], (0.01, r["fid"]), xycoords=("axes fraction", "data"), textcoords="offset points",
                        xytext=(0, 3), fontsize=8, color="grey")
        left_out = sorted(set(models["generator"]) - set(ok["generator"]))
        if left_out:
            ax.text(0.99, 0.98, "not shown (no time): " + ", ".join(left_out), transform=ax.transAxes, ha="right",
                    va="top", fontsize=7, color="grey", wrap=True)
        if len(ok):
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            lo, hi = ok[column].min(), ok[column].max()
            ax.set_xlim(lo / 2, hi * 5)  # room for the labels on the right
        ax.set_xlabel(label)
        ax.set_ylabel("FID (classifier features; lower is better)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(*ax.get_ylim())  # freeze the limits, then label the points where they are
        _label_points(ax, list(ok[column]), list(ok["fid"]), list(ok["generator"]))
    fig.tight_layout()
    return fig


def _label_points(ax, xs: list[float], ys: list[float], texts: list[str], fontsize: int = 8) -> None:
    """Label each point up and to its right; a label that would overlap one already placed moves down
    (with a thin line to its point), so close points (same time, similar FID) stay readable."""
    to_axes = ax.transAxes.inverted()
    points = [to_axes.transform(ax.transData.transform((x, y))) for x, y in zip(xs, ys)]
    height, char_width = 0.055, 0.0125  # in axes fractions, for 8-point text on a 6-inch-wide panel
    placed: list[tuple[float, float, float]] = []  # (left, bottom, width)
    for i in sorted(range(len(points)), key=lambda i: -points[i][1]):
        px, py = points[i]
        left, bottom, width = px + 0.015, py + 0.015, char_width * len(texts[i])
        while any(abs(bottom - b) < height and left < x + w and x < left + width for x, b, w in placed):
            bottom -= height
        placed.append((left, bottom, width))
        moved = bottom < py + 0.015
        ax.annotate(texts[i], (xs[i], ys[i]), xytext=(left, bottom), textcoords="axes fraction", fontsize=fontsize,
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "grey"} if moved else None)


# ----------------------------------------------------------------------------------------------
# Tiny stand-ins, for the tests and for the notebook's smoke profile on a fresh clone
# ----------------------------------------------------------------------------------------------


def make_demo_runs(root: str | Path, *, steps: int = 20, seed: int = 0, images: Tensor | None = None,
                   labels: Tensor | None = None, device: str | torch.device = "cpu") -> list[str]:
    """Train tiny stand-ins for ``steps`` steps each into ``root``, laid out like the chapters' runs.

    Writes ``02_dcgan/checkpoint.pt`` (an improved DCGAN with G_ema), ``07_likelihood/{vae,diffusion,flow}/
    checkpoint.pt`` (a ConvVAE and two class-conditional DiffusionUNets) and each chapter's
    ``metrics.json`` with the training seconds where :data:`GENERATORS` looks for them. ``images``
    (uint8 N x 1 x 28 x 28) and ``labels``: the training data (default: the first 2,048
    Fashion-MNIST training images). These are NOT the course's models: a few steps of networks
    with a few thousand parameters. Returns the names of the entries made.
    """
    from synthlib.core.runs import Run
    from synthlib.data.batches import TensorBatches
    from synthlib.data.fashion import load_fashion_mnist_uint8
    from synthlib.data.pixels import from_uint8
    from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator
    from synthlib.gan.phases import GANConfig, gan_trainer
    from synthlib.likelihood.diffusion import (
        DiffusionConfig,
        VAEConfig,
        denoiser_trainer,
        vae_trainer,
    )
    from synthlib.likelihood.networks import ConvVAE, DiffusionUNet

    root = Path(root)
    if images is None:
        images, labels = load_fashion_mnist_uint8("train")
        images, labels = images[:2048], labels[:2048]
    if labels is None:
        labels = torch.zeros(len(images), dtype=torch.long)
    batch = 32

    def fit(trainer: Any) -> float:
        start = time.perf_counter()
        trainer.fit(steps)
        seconds = time.perf_counter() - start
        trainer.save()
        return round(seconds, 3)

    torch.manual_seed(seed)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=16, img_size=28, base_channels=8))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=28, base_channels=8))
    cfg = GANConfig(z_dim=16, batch_size=batch, lr_g=2e-3, lr_d=2e-3, ema_half_life_img=200, ema_rampup=None)
    dcgan_dir = root / "02_dcgan"
    gan = gan_trainer(G, D, TensorBatches(images, batch_size=batch, seed=seed, transform=from_uint8), cfg,
                      kind="dcgan", run_dir=dcgan_dir, device=device, progress=False)
    dcgan_seconds = fit(gan)

    likelihood_dir = root / "07_likelihood"
    vae = ConvVAE(ConvVAE.Config(z_dim=8, channels=(8, 16), hidden=32))
    vae_seconds = fit(vae_trainer(vae, TensorBatches(images, batch_size=batch, seed=seed, transform=from_uint8),
                                  VAEConfig(batch_size=batch), run_dir=likelihood_dir / "vae", device=device))
    denoiser_seconds = {}
    for process in ("diffusion", "flow"):
        net = DiffusionUNet(DiffusionUNet.Config(channels=(8, 16), patch=2, num_classes=10, process=process))
        data = TensorBatches(images, labels, batch_size=batch, seed=seed, transform=[from_uint8, None])
        trainer = denoiser_trainer(net, data, DiffusionConfig(batch_size=batch, ema_half_life_img=200),
                                   run_dir=likelihood_dir / process, device=device, precision="fp32")
        denoiser_seconds[process] = fit(trainer)

    demo = {"demo": True, "steps": steps, "seed": seed}
    Run("02_dcgan", dcgan_dir, demo, "smoke").record(improved={"train_seconds": dcgan_seconds, "steps": steps})
    Run("07_likelihood", likelihood_dir, demo, "smoke").record(
        vae={"train_seconds": vae_seconds, "steps": steps},
        **{p: {"train_seconds": s, "steps": steps} for p, s in denoiser_seconds.items()})
    return ["DCGAN (improved)", "VAE", "diffusion (DDIM, 20 steps)", "flow matching (Euler, 20 steps)"]


@dataclass(frozen=True)
class ScoreboardSettings(ChapterSettings):
    """Chapter 8 (the scoreboard): how many samples each generator is scored on (see :mod:`synthlib.core.chapter`)."""

    NOTEBOOK: ClassVar[str] = "08_scoreboard"

    num_samples: int = profiled(smoke=200, default=2000, full=10_000, doc="samples per generator",
                                parameter="num_samples")
    denoiser_steps: int = profiled(smoke=4, default=20, full=20, doc="sampler steps of the iterative generators",
                                   parameter="denoiser_steps")
    demo: bool = profiled(smoke=True, default=False, full=False, doc="score the demo runs made in place of the "
                          "chapters' own (when none is found)", parameter="demo")
