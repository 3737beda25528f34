"""Notebook parameters: a name that the notebook does not declare is an error, not a silent no-op.

papermill runs a notebook with other values by inserting a cell right after the one tagged
``parameters``::

    # Parameters
    losss = "hinge"

and only *warns* ("Passed unknown parameter: losss") when a name is not in the ``parameters``
cell. The notebook then runs to the end with the default ``loss``, and its ``metrics.json``
looks like a hinge run. Every course notebook calls :func:`synthlib.start_run` in the cell after
its parameters, and ``start_run`` calls :func:`check_notebook_parameters`, which reads the cells
the kernel has executed (IPython keeps their sources in ``In``), finds papermill's inserted cell
and the ``parameters`` cell executed just before it, and raises :class:`ParameterError` for any
inserted name that the ``parameters`` cell does not assign -- naming it, the closest declared
name, and every declared one. One mechanism for every notebook, ``make course`` and ``make sweep``
included, since they all run through papermill.

Outside papermill (JupyterLab, nbval, a plain script) there is no inserted cell and nothing to check.

The *values* are checked too, in every run (:func:`check_parameter_values`, also called by ``start_run``,
before anything is written): each parameter's type and range or choices come from the chapter's entry in
:data:`NOTEBOOK_PARAMETERS` -- one table for the course, so every chapter checks ``seed`` the same way --
and, for a name not in the table, from the value its ``parameters`` cell declares (``seed = 0`` makes ``seed``
an int: ``-p seed 1.5`` and ``-p seed abc`` are errors; a float accepts an int; a bool is not an int). A wrong
value raises :class:`ParameterError` with one line::

    parameter seed = 'abc': expected an int with 0 <= seed < 2**63 (the parameters cell declares seed = 0)
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from synthlib.core.config import PROFILES

# papermill's Python translator starts the cell it inserts with this comment line
PAPERMILL_MARKER = "# Parameters"


class ParameterError(ValueError):
    """A notebook was given a parameter that its ``parameters`` cell does not declare, or a value that the
    parameter does not accept (the wrong type, out of range, not one of its choices)."""


def assigned_names(source: str) -> list[str]:
    """The names a cell assigns at top level (``a = 1``, ``a: int = 1``, ``a = b = 1``), in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id not in names:
                names.append(target.id)
    return names


def _is_papermill_cell(source: str) -> bool:
    return source.lstrip().startswith(PAPERMILL_MARKER)


def declared_values(source: str) -> dict[str, Any]:
    """The literal values a cell assigns at top level (``seed = 0`` -> ``{"seed": 0}``); other values are left out."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                values[target.id] = value
    return values


def parameter_cells(history: Sequence[str]) -> tuple[str, str] | None:
    """``(parameters cell, papermill's cell)``: the sources of the last cell papermill inserted and of the cell
    executed just before it ("" when there is none); None outside papermill."""
    for i in range(len(history) - 1, -1, -1):
        if _is_papermill_cell(history[i]):
            previous = [s for s in history[:i] if s.strip()]
            return (previous[-1] if previous else ""), history[i]
    return None


def find_injected(history: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """``(injected names, declared names)`` from the sources of the executed cells, in order.

    The injected cell is the last one papermill inserted; the declared names are those of the
    cell executed just before it (papermill inserts right after the ``parameters`` cell; when a
    notebook has no such cell it inserts at the top, and nothing is declared). None when no
    cell was inserted (not a papermill run).
    """
    cells = parameter_cells(history)
    if cells is None:
        return None
    declared_cell, injected_cell = cells
    return assigned_names(injected_cell), assigned_names(declared_cell)


def unknown_parameter_message(unknown: Sequence[str], declared: Sequence[str], notebook: str = "this notebook") -> str:
    """One message for every unknown name, with the closest declared name for each."""
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    listed = ", ".join(declared) if declared else "none (it has no cell tagged 'parameters')"
    s = "s" if len(unknown) > 1 else ""
    return (
        f"unknown parameter{s} {', '.join(parts)} passed to {notebook}; it declares: {listed}. "
        "Fix the name (papermill -p NAME VALUE; make sweep's variables); nothing was run."
    )


def _executed_sources() -> list[str] | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of every notebook run
        return None
    shell = get_ipython()
    if shell is None:
        return None
    history = shell.user_ns.get("_ih")
    return list(history) if isinstance(history, list) else None


def check_notebook_parameters(notebook: str = "this notebook", history: Sequence[str] | None = None) -> dict[str, Any]:
    """Raise :class:`ParameterError` if papermill passed a name the ``parameters`` cell does not declare.

    ``history``: the executed cells' sources (default: IPython's ``In``). Returns
    ``{"injected": [...], "declared": [...]}`` (empty lists outside papermill) so the caller can
    record which parameters were overridden.
    """
    if history is None:
        history = _executed_sources() or []
    found = find_injected(history)
    if found is None:
        return {"injected": [], "declared": []}
    injected, declared = found
    unknown = [name for name in injected if name not in declared]
    if unknown:
        raise ParameterError(unknown_parameter_message(unknown, declared, notebook))
    return {"injected": injected, "declared": declared}


# --- values: what each parameter accepts ------------------------------------------------------------------

_NUMBER_TYPES = {int: "an int", float: "a number", bool: "True or False", str: "a string"}


@dataclass(frozen=True)
class Spec:
    """What one notebook parameter accepts.

    ``type``: int, float, bool or str (or another type, checked with ``isinstance``). A float parameter accepts
    an int; an int parameter does not accept a float (``1.5``, nor ``2.0``); a bool is neither. ``optional``:
    None is allowed too (a ``parameters`` cell's None means "the profile's value"). Then at most one of:
    ``choices`` (the allowed values, or a function that lists them, called when checking), a range
    (``low``/``high``, strict when ``low_open``/``high_open``; numbers must be finite), ``multiple_of``, or
    ``test`` (a function that says whether a value is allowed, with ``allowed`` saying so in words).
    """

    type: type
    optional: bool = False
    choices: tuple[Any, ...] | Callable[[], Sequence[Any]] = ()
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    multiple_of: int | None = None
    test: Callable[[Any], bool] | None = None
    allowed: str | None = None

    def listed(self) -> tuple[Any, ...]:
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def type_ok(self, value: Any) -> bool:
        if self.type is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if self.type is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, self.type)

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if not self.type_ok(value):
            return False
        if self.choices:
            return value in self.listed()
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        if self.multiple_of and value % self.multiple_of:
            return False
        return self.test is None or bool(self.test(value))

    def describe(self, name: str) -> str:
        """What is allowed, in words: ``an int with 0 <= seed < 2**63``, ``one of 'ring', 'grid'``, ``a number > 0 or None``."""
        if self.choices:
            text = "one of " + ", ".join(repr(c) for c in self.listed())
        elif self.allowed:
            text = self.allowed
        else:
            text = _NUMBER_TYPES.get(self.type, f"a {self.type.__name__}")
            low = None if self.low is None else (">" if self.low_open else ">=", _bound(self.low))
            high = None if self.high is None else ("<" if self.high_open else "<=", _bound(self.high))
            if low and high:
                flip = {">": "<", ">=": "<="}[low[0]]
                text += f" with {low[1]} {flip} {name} {high[0]} {high[1]}"
            elif low or high:
                op, bound = low or high
                text += f" {op} {bound}"
            if self.multiple_of:
                text += f" that is a multiple of {self.multiple_of}"
        if self.optional:
            return ("True, False" if self.type is bool and text == "True or False" else text) + " or None"
        return text


def _bound(x: float) -> str:
    """A range's end for a message: 2**63 rather than 9223372036854775808."""
    if isinstance(x, int) and x >= 2**16 and x & (x - 1) == 0:
        return f"2**{x.bit_length() - 1}"
    return repr(x)


def integer(low: int | None = None, *, below: int | None = None, at_most: int | None = None,
            multiple_of: int | None = None, optional: bool = False) -> Spec:
    """An int ``>= low`` (and ``< below`` or ``<= at_most``)."""
    high = below if below is not None else at_most
    return Spec(int, optional, low=low, high=high, high_open=below is not None, multiple_of=multiple_of)


def number(*, above: float | None = None, at_least: float | None = None, at_most: float | None = None,
           optional: bool = False) -> Spec:
    """A finite number (an int or a float) ``> above`` or ``>= at_least`` (and ``<= at_most``)."""
    low = above if above is not None else at_least
    return Spec(float, optional, low=low, low_open=above is not None, high=at_most)


def choice(*values: Any, optional: bool = False) -> Spec:
    """One of ``values`` (all of one type: strings, or ints)."""
    return Spec(type(values[0]), optional, choices=tuple(values))


def choice_of(values: Callable[[], Sequence[Any]], *, optional: bool = False) -> Spec:
    """A string from a list that the library keeps (the losses, the photos), read when checking."""
    return Spec(str, optional, choices=values)


def flag(*, optional: bool = False) -> Spec:
    return Spec(bool, optional)


def text(*, optional: bool = False, test: Callable[[Any], bool] | None = None, allowed: str | None = None) -> Spec:
    """A string (a path, a device); ``test``/``allowed``: which strings."""
    return Spec(str, optional, test=test, allowed=allowed)


def _augment_policy_ok(policy: str) -> bool:
    from synthlib.gan.augment import parse_policy

    try:
        parse_policy(policy)
    except ValueError:
        return False
    return True


def _device_ok(device: str) -> bool:
    import torch

    if device == "auto":
        return True
    try:
        torch.device(device)
    except (RuntimeError, ValueError):
        return False
    return True


def _toy_losses() -> list[str]:
    from synthlib.gan.toygan import TOY_SETTINGS

    return ["all", *TOY_SETTINGS]


def _gan_losses() -> list[str]:
    from synthlib.gan.losses import GAN_LOSSES

    return list(GAN_LOSSES)


def _styles() -> list[str]:
    from synthlib.data.photos import photo_names

    return photo_names("style") + photo_names("style_heldout")


SEED = integer(0, below=2**63)           # what torch.manual_seed takes, with room for seed + k
PROFILE = choice(*PROFILES, optional=True)
MINUTES = number(above=0, optional=True)  # a training budget; None -> the profile's
STEPS = integer(1, optional=True)         # at most this many steps; None -> the profile's
VGG_WEIGHTS = choice("auto", "offline-hed", "torchvision-imagenet")

#: Every notebook's parameters beyond :data:`COMMON`: type and range or choices. A notebook not listed here
#: (or a name not listed) is checked against the type of the value its ``parameters`` cell declares.
#: tests/core/test_params.py checks that each chapter's entry names exactly the parameters its cell declares.
NOTEBOOK_PARAMETERS: dict[str, dict[str, Spec]] = {
    "01_gan_math": {
        "loss": choice_of(_toy_losses),
        "steps": STEPS,
        "distribution": choice("ring", "grid"),
    },
    "02_dcgan": {
        "loss": choice_of(_gan_losses),
        "conditional": flag(),
        "upsample": choice("transposed", "resize"),
        "minutes": MINUTES,
        "steps": STEPS,
    },
    "02b_sweep_report": {
        "root": text(optional=True, allowed="a folder (a string)"),
    },
    "03_translation": {
        "lambda_l1": number(at_least=0),
        "lambda_cycle": number(at_least=0),
        "generator": choice("unet", "resnet"),
        "norm": choice("batch", "instance", "none", optional=True),
        "upsample": choice("transposed", "resize", optional=True),
        "patch_layers": choice(1, 2, 3),
        "steps": STEPS,
        "minutes": MINUTES,
    },
    "04_style_transfer": {
        "vgg_weights": VGG_WEIGHTS,
        "vgg_arch": choice("vgg16", "vgg19"),
        "style": choice_of(_styles),
        "style_weight": number(above=0),
        "size": integer(1, optional=True),
        "gatys_steps": STEPS,
        "texture_steps": STEPS,
        "minutes": MINUTES,
    },
    "05_stylegan": {
        "minutes": MINUTES,
        "baseline_minutes": MINUTES,
        "augment": text(test=_augment_policy_ok, allowed="a DiffAugment policy: comma-separated names from "
                        "'color', 'translation', 'cutout', or '' for none"),
        "discriminator": choice("batchnorm", "stylegan", optional=True),
        "dataset": choice("fashion", "emoji"),
    },
    "06_restoration": {
        # the masks' generators are seeded with seed * 1_000_003 + k, which must stay below 2**64
        "seed": integer(0, below=2**44),
        "vgg_weights": VGG_WEIGHTS,
        "size": integer(16, multiple_of=16, optional=True),   # 4x downscaling and the U-Net's levels
        "minutes": MINUTES,
        "conv": choice("gated", "partial"),
        "sigma": number(above=0),
    },
    "07_likelihood": {
        "diffusion_minutes": MINUTES,
        "flow_minutes": MINUTES,
        "schedule": choice("cosine", "linear"),
        "beta": number(at_least=0),
        "guidance": number(at_least=0),
    },
    "08_scoreboard": {
        "runs_root": text(optional=True, allowed="a folder (a string)"),
        "num_samples": integer(2, optional=True),   # FID needs two images
        "denoiser_steps": integer(1, optional=True),
        "batch_size": integer(1),
        "device": text(test=_device_ok, allowed="'auto' or a torch device such as 'cpu', 'cuda', 'cuda:1'"),
        "demo": flag(optional=True),
    },
}

#: Parameters every notebook checks the same way.
COMMON: dict[str, Spec] = {"profile": PROFILE, "seed": SEED}

_UNSET = object()


def spec_from_value(value: Any) -> Spec | None:
    """The rule for a parameter the table does not list: the type of the value its ``parameters`` cell declares
    (``0`` -> an int, ``0.5`` -> a number, ``"a"`` -> a string, ``False`` -> a bool); None when that is None."""
    if value is None:
        return None
    kind = float if isinstance(value, float) else type(value)
    return Spec(kind)


def spec_for(notebook: str, name: str, declared: Any = _UNSET) -> Spec | None:
    """The rule for parameter ``name`` of ``notebook``: the table's, else :data:`COMMON`'s, else the declared value's."""
    spec = NOTEBOOK_PARAMETERS.get(notebook, {}).get(name) or COMMON.get(name)
    if spec is None and declared is not _UNSET:
        spec = spec_from_value(declared)
    return spec


def value_message(name: str, value: Any, spec: Spec, declared: Any = _UNSET) -> str:
    """``parameter seed = 'abc': expected an int with 0 <= seed < 2**63 (the parameters cell declares seed = 0)``."""
    allowed = spec.describe(name)
    if spec.type is float and isinstance(value, float) and not math.isfinite(value):
        allowed = allowed.replace("a number", "a finite number", 1)
    message = f"parameter {name} = {value!r}: expected {allowed}"
    if spec.choices and isinstance(value, str):
        close = difflib.get_close_matches(value, [str(c) for c in spec.listed()], n=1, cutoff=0.6)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    if declared is not _UNSET:
        message += f" (the parameters cell declares {name} = {declared!r})"
    return message


def check_parameter_values(notebook: str, values: Mapping[str, Any], declared: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`ParameterError` unless every value is allowed (see :data:`NOTEBOOK_PARAMETERS`).

    ``values``: name -> value (what the notebook passes to ``start_run``). ``declared``: name -> the value the
    ``parameters`` cell declares, when known (a papermill run): the rule for unlisted names, and named in the
    message. Every wrong value is named, on one line.
    """
    declared = declared or {}
    problems = []
    for name, value in values.items():
        default = declared.get(name, _UNSET)
        spec = spec_for(notebook, name, default)
        if spec is not None and not spec.accepts(value):
            problems.append(value_message(name, value, spec, default))
    if problems:
        raise ParameterError("; ".join(problems))


def check_parameters(notebook: str, values: Mapping[str, Any], history: Sequence[str] | None = None) -> list[str]:
    """Check a run's parameters before any work: the names papermill passed (:func:`check_notebook_parameters`)
    and every value (:func:`check_parameter_values`). Returns the names papermill passed.

    ``values``: what the notebook passes to ``start_run``; in a papermill run the values papermill inserted are
    checked too (a name the notebook forgot to pass to ``start_run`` is still checked).
    """
    if history is None:
        history = _executed_sources() or []
    injected = check_notebook_parameters(notebook, history)["injected"]
    cells = parameter_cells(history)
    declared: dict[str, Any] = {}
    given: dict[str, Any] = {}
    if cells is not None:
        declared = declared_values(cells[0])
        given = declared_values(cells[1])
    check_parameter_values(notebook, {**given, **values}, declared)
    return injected
