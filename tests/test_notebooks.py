"""Every notebook keeps the course's conventions (nbval executes them; this checks how they are committed).

Committed without outputs and with the python3 kernelspec (else JupyterLab asks for a kernel); the first code
cell is a papermill ``parameters`` cell of flat literal values including ``profile``; the notebook states its
timings per profile and records its headline numbers with ``synthlib.record``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2, NOTEBOOKS


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_clean_with_python3_kernel(path: Path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3", "set the notebook's kernel to python3"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name} cell {i} has outputs: clear them before committing "
                "(jupyter nbconvert --clear-output --inplace)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_a_flat_parameters_cell(path: Path):
    code = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    first = code[0]
    assert "parameters" in first["metadata"].get("tags", []), f"{path.name}: tag the first code cell 'parameters'"
    tree = ast.parse("".join(first["source"]))
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.dump(node)
        assert isinstance(node.targets[0], ast.Name)
        ast.literal_eval(node.value)  # flat values only: papermill replaces them as literals
        names.append(node.targets[0].id)
    assert "profile" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_states_its_timings_and_records_its_numbers(path: Path):
    cells = load(path)["cells"]
    prose = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").lower()
    code = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "smoke" in prose and ("default" in prose or "seconds" in prose), f"{path.name}: say how long each profile takes"
    assert "synthlib.record(" in code or "run.record(" in code, f"{path.name}: record the headline numbers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_prose_quotes_no_dated_run(path: Path):
    """The run prints its own numbers (issue 22): prose that quotes one dated run goes stale the day the chapter changes.
    A date may appear only in the notebook's timing statement (how long each profile took, and when it was measured)."""
    import re

    for i, cell in enumerate(load(path)["cells"]):
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.search(r"\b20\d\d-\d\d-\d\d\b", text):
            assert "smoke" in text.lower() and "default" in text.lower(), (
                f"{path.name} cell {i} quotes a dated run: let the run print its numbers (a code cell after its table), "
                "and keep dates to the timing statement")
