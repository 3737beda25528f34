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
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Sequence
from typing import Any

# papermill's Python translator starts the cell it inserts with this comment line
PAPERMILL_MARKER = "# Parameters"


class ParameterError(ValueError):
    """A notebook was given a parameter that its ``parameters`` cell does not declare."""


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


def find_injected(history: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """``(injected names, declared names)`` from the sources of the executed cells, in order.

    The injected cell is the last one papermill inserted; the declared names are those of the
    cell executed just before it (papermill inserts right after the ``parameters`` cell; when a
    notebook has no such cell it inserts at the top, and nothing is declared). None when no
    cell was inserted (not a papermill run).
    """
    for i in range(len(history) - 1, -1, -1):
        if _is_papermill_cell(history[i]):
            previous = [s for s in history[:i] if s.strip()]
            declared = assigned_names(previous[-1]) if previous else []
            return assigned_names(history[i]), declared
    return None


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
