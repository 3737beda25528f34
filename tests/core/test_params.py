"""Issue 13: a parameter that a notebook does not declare stops a papermill run before any work.
Issue 21: so does a value of the wrong type or out of range, the same in every chapter."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from synthlib.core.params import (
    COMMON,
    NOTEBOOK_PARAMETERS,
    ParameterError,
    assigned_names,
    check_notebook_parameters,
    check_parameter_values,
    check_parameters,
    choice,
    declared_values,
    find_injected,
    flag,
    integer,
    number,
    spec_for,
    text,
)

ROOT = Path(__file__).resolve().parents[2]
PARAMS_CELL = 'profile = None   # "smoke" | ...\nseed = 0\nloss = "nonsaturating"\nsteps: int = 10\n'


def test_assigned_names():
    assert assigned_names(PARAMS_CELL) == ["profile", "seed", "loss", "steps"]
    assert assigned_names("a = b = 1\nc += 2\nprint(a)\n") == ["a", "b"]
    assert assigned_names("this is not python") == []


def test_outside_papermill_nothing_to_check():
    assert check_notebook_parameters(history=["", PARAMS_CELL, "import synthlib"]) == {"injected": [], "declared": []}
    assert find_injected([]) is None


def test_known_parameters_pass_and_are_reported():
    history = ["", PARAMS_CELL, '# Parameters\nloss = "hinge"\nseed = 3\n', "run = start_run(...)"]
    assert check_notebook_parameters(history=history) == {
        "injected": ["loss", "seed"], "declared": ["profile", "seed", "loss", "steps"]}


def test_misspelled_parameter_names_it_the_closest_and_all_declared():
    history = ["", PARAMS_CELL, '# Parameters\nlosss = "hinge"\nprofile = "smoke"\n', "run = start_run(...)"]
    with pytest.raises(ParameterError) as err:
        check_notebook_parameters("02_dcgan", history=history)
    message = str(err.value)
    assert "'losss'" in message and "did you mean 'loss'?" in message and "02_dcgan" in message
    assert "profile, seed, loss, steps" in message
    assert "'profile'" not in message.split("declares")[0]  # only the unknown name is blamed


def test_several_unknown_and_no_close_match():
    history = [PARAMS_CELL, "# Parameters\nlearning_rate = 0.1\nsed = 1\n"]
    with pytest.raises(ParameterError, match=r"parameters 'learning_rate', 'sed' \(did you mean 'seed'\?\)"):
        check_notebook_parameters(history=history)


def test_notebook_without_parameters_cell():
    # papermill inserts its cell at the top when no cell is tagged 'parameters'
    with pytest.raises(ParameterError, match="it has no cell tagged 'parameters'"):
        check_notebook_parameters(history=["", "# Parameters\nseed = 1\n"])


def test_the_latest_inserted_cell_counts():
    # a re-executed notebook: only the last papermill cell and the cell before it are read
    history = ["", PARAMS_CELL, "# Parameters\nbogus = 1\n", "x = 1", PARAMS_CELL, "# Parameters\nseed = 2\n"]
    assert check_notebook_parameters(history=history)["injected"] == ["seed"]


def test_every_notebook_starts_its_run_right_after_the_parameters():
    """start_run does the check, so it must come before any work: in the cell after the parameters."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert "synthlib.start_run(" in "".join(code[1]["source"]), f"{path.name}: call start_run in the 2nd code cell"


def _papermill(notebook: str, out: Path, run_dir: Path, **params):
    import papermill

    env = {"SYNTHLIB_RUN_DIR": str(run_dir), "MPLBACKEND": "agg"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return papermill.execute_notebook(
            str(ROOT / "notebooks" / notebook), str(out), parameters=params, cwd=str(ROOT / "notebooks"),
            kernel_name="python3", progress_bar=False, log_output=False,
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.slow
def test_papermill_run_with_a_typo_stops_before_any_work(tmp_path: Path):
    from papermill.exceptions import PapermillExecutionError

    run_dir = tmp_path / "run"
    with pytest.raises(PapermillExecutionError) as err:
        _papermill("02_dcgan.ipynb", tmp_path / "out.ipynb", run_dir, profile="smoke", losss="hinge")
    assert err.value.ename == "ParameterError"
    assert "'losss' (did you mean 'loss'?)" in err.value.evalue and "upsample" in err.value.evalue
    assert not (run_dir / "metrics.json").exists()  # no run was started, nothing trained
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    ran = [c for c in executed["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    assert len(ran) == 3  # parameters, papermill's cell, and the cell that stopped


@pytest.mark.slow
def test_papermill_run_records_the_parameters_it_was_given(tmp_path: Path):
    run_dir = tmp_path / "report"
    _papermill("02b_sweep_report.ipynb", tmp_path / "out.ipynb", run_dir, profile="smoke", root=str(tmp_path / "none"))
    doc = json.loads((run_dir / "metrics.json").read_text())
    assert doc["params_passed"] == ["profile", "root"]
    assert doc["params"]["root"] == str(tmp_path / "none") and doc["profile"] == "smoke"


@pytest.mark.slow
def test_chapter5_on_emoji_trains_in_colour_and_compares_augmentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from synthlib.course_weights.build import main as weights_main
    from synthlib.sample import load_generator

    # course:stylegan-emoji as the recipe's tiny build (four steps, seconds), in a folder of its own: the chapter's
    # emoji branch loads it, scores it beside the run's models and records it (the Fashion-MNIST default never does)
    weights = tmp_path / "course"
    assert weights_main(["train", "stylegan-emoji", "--tiny", "--out", str(weights), "--run-dir", str(tmp_path / "cw")]) == 0
    monkeypatch.setenv("SYNTHLIB_COURSE_WEIGHTS", str(weights))
    run_dir = tmp_path / "run"
    # budgets of 1.2 s (the smoke profile's are 3-4 s): this test checks the emoji path, not what training buys
    _papermill("05_stylegan.ipynb", tmp_path / "out.ipynb", run_dir, profile="smoke", dataset="emoji",
               minutes=0.02, baseline_minutes=0.02)
    doc = json.loads((run_dir / "metrics.json").read_text())
    assert doc["params"]["dataset"] == "emoji" and doc["params"]["discriminator"] == "batchnorm"
    metrics = doc["metrics"]
    # the emoji run spends the time of the discriminator comparison on the augmentation comparison instead
    assert "augmentation_switched" in metrics and "other_discriminator" not in metrics
    assert metrics["course_weights"]["steps"] == 4 and 0 < metrics["course_weights"]["fid"] < float("inf")
    for key in ("stylegan", "dcgan", "augmentation_switched"):
        assert metrics[key]["steps"] > 0 and 0 < metrics[key]["fid"] < float("inf"), (key, metrics[key])
    gaps = (metrics["d_gap_equal_time"], metrics["augmentation_switched"]["d_gap"])  # D's memorisation, both runs
    assert all(isinstance(g, float) and abs(g) < 1e6 for g in gaps), gaps
    G, _ = load_generator(run_dir / "checkpoint.pt")
    assert G.config.output == "tanh"  # the batch-norm D's generator is bounded
    assert G.config.img_channels == 3 and G.config.img_size == 32
    from synthlib.__main__ import main

    ckpt = str(run_dir / "checkpoint.pt")
    assert main(["sample", ckpt, "--num", "3", "--out", str(tmp_path / "e.pt"), "--truncation", "0.7"]) == 0
    drawn = torch.load(tmp_path / "e.pt")
    assert drawn.shape == (3, 3, 32, 32) and float(drawn.abs().max()) <= 1.0  # tanh saturates to exactly 1.0 in float32
    assert (run_dir / "augmentation" / "checkpoint.pt").is_file() and (run_dir / "augmentation.png").is_file()


# --- Issue 21: values ------------------------------------------------------------------------------------------

def _code_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_chapter5_rejects_an_unknown_dataset_before_any_work():
    # In process: start_run runs this very check on every parameter it is passed (each notebook passes every one,
    # test_every_notebook_passes_every_parameter_as_given), and a papermill run that fails it stops before any
    # work (test_papermill_run_with_a_typo_stops_before_any_work), so a kernel here would only add 12 s.
    declared = declared_values(_code_cells(ROOT / "notebooks" / "05_stylegan.ipynb")[0])
    with pytest.raises(ParameterError) as err:
        check_parameter_values("05_stylegan", {**declared, "dataset": "cifar"}, declared)
    assert str(err.value) == ("parameter dataset = 'cifar': expected one of 'fashion', 'emoji' "
                              "(the parameters cell declares dataset = 'fashion')")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_has_a_rule_its_default_meets(path: Path):
    """The library's table names exactly the parameters the cell declares, and accepts every declared value."""
    declared = declared_values(_code_cells(path)[0])
    table = NOTEBOOK_PARAMETERS[path.stem]
    assert set(declared) - set(COMMON) == set(table) - set(COMMON), f"{path.stem}: synthlib.core.params.NOTEBOOK_PARAMETERS"
    for name, value in declared.items():
        spec = spec_for(path.stem, name, value)
        assert spec is not None and spec.accepts(value), (name, value)
    check_parameter_values(path.stem, declared, declared)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_passes_every_parameter_as_given(path: Path):
    """start_run checks what it is passed: every declared name, as ``name=name`` (before anything changes it)."""
    import ast

    cells = _code_cells(path)
    calls = [node for node in ast.walk(ast.parse(cells[1])) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", None) == "start_run"]
    assert len(calls) == 1
    passed = {k.arg: k.value.id for k in calls[0].keywords if isinstance(k.value, ast.Name)}
    assert passed == {name: name for name in assigned_names(cells[0])}
    before = "\n".join(cells[1].splitlines()[: calls[0].lineno - 1])  # the lines before the call
    assert "import synthlib" in before
    for name in assigned_names(cells[0]):
        assert name not in assigned_names(before), f"{path.stem}: {name} is changed before start_run checks it"


def _message(notebook: str, **values) -> str:
    with pytest.raises(ParameterError) as err:
        check_parameter_values(notebook, values)
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("value", ["abc", 1.5, 2.0, True, None, -1, 2**63, 2**64])
def test_seed_is_an_int_in_64_bits(value):
    assert _message("02_dcgan", seed=value) == f"parameter seed = {value!r}: expected an int with 0 <= seed < 2**63"


def test_seed_limits_pass_and_chapter_6_keeps_its_mask_seeds_in_64_bits():
    check_parameter_values("02_dcgan", {"seed": 0})
    check_parameter_values("02_dcgan", {"seed": 2**63 - 1})
    check_parameter_values("some_new_notebook", {"seed": 5})  # the common rule holds in every notebook
    assert _message("06_restoration", seed=2**44).endswith("0 <= seed < 2**44")  # seed * 1_000_003 + k < 2**64


def test_a_number_accepts_an_int_not_a_bool_nor_a_string_nor_nan():
    check_parameter_values("07_likelihood", {"beta": 0, "guidance": 2, "diffusion_minutes": 0.5, "flow_minutes": None})
    assert _message("07_likelihood", beta=True) == "parameter beta = True: expected a number >= 0"
    assert _message("07_likelihood", beta="1") == "parameter beta = '1': expected a number >= 0"
    assert _message("07_likelihood", beta=-0.1) == "parameter beta = -0.1: expected a number >= 0"
    assert _message("07_likelihood", beta=None) == "parameter beta = None: expected a number >= 0"
    assert _message("07_likelihood", beta=float("nan")) == "parameter beta = nan: expected a finite number >= 0"
    assert _message("02_dcgan", minutes=0) == "parameter minutes = 0: expected a number > 0 or None"
    assert _message("02_dcgan", minutes=float("inf")) == "parameter minutes = inf: expected a finite number > 0 or None"


def test_counts_and_bools():
    check_parameter_values("02_dcgan", {"steps": 1, "conditional": True})
    assert _message("02_dcgan", steps=0) == "parameter steps = 0: expected an int >= 1 or None"
    assert _message("02_dcgan", steps=10.0) == "parameter steps = 10.0: expected an int >= 1 or None"
    assert _message("02_dcgan", conditional=1) == "parameter conditional = 1: expected True or False"
    assert _message("08_scoreboard", demo="yes") == "parameter demo = 'yes': expected True, False or None"
    assert _message("08_scoreboard", num_samples=1) == "parameter num_samples = 1: expected an int >= 2 or None"
    assert _message("06_restoration", size=40) == (
        "parameter size = 40: expected an int >= 16 that is a multiple of 16 or None")


def test_choices_name_the_closest():
    check_parameter_values("03_translation", {"norm": None, "patch_layers": 3, "upsample": "resize"})
    assert _message("02_dcgan", loss="hnge") == (
        "parameter loss = 'hnge': expected one of 'minimax', 'nonsaturating', 'lsgan', 'hinge', 'wgan', 'wgan-gp' "
        "(did you mean 'hinge'?)")
    assert _message("03_translation", patch_layers=4) == "parameter patch_layers = 4: expected one of 1, 2, 3"
    assert _message("03_translation", patch_layers=True) == "parameter patch_layers = True: expected one of 1, 2, 3"
    assert _message("03_translation", norm="batchnorm").startswith(
        "parameter norm = 'batchnorm': expected one of 'batch', 'instance', 'none' or None")
    assert "'starry_night'" in _message("04_style_transfer", style="starry")  # the photos' catalogue lists the styles
    assert _message("05_stylegan", augment="color,flip").startswith("parameter augment = 'color,flip': expected a DiffAugment")
    check_parameter_values("05_stylegan", {"augment": "translation,cutout"})
    check_parameter_values("08_scoreboard", {"device": "cuda:1"})
    assert "expected 'auto' or a torch device" in _message("08_scoreboard", device="gpu")


def test_probabilities_and_the_spec_helpers():
    p = number(at_least=0, at_most=1)
    assert [p.accepts(v) for v in (0, 0.5, 1, 1.01, -0.1, True)] == [True, True, True, False, False, False]
    assert p.describe("p") == "a number with 0 <= p <= 1"
    assert integer(1, below=10).describe("k") == "an int with 1 <= k < 10"
    assert choice("a", "b", optional=True).describe("x") == "one of 'a', 'b' or None"
    assert flag().accepts(False) and not flag().accepts(0)
    assert text(optional=True).accepts(None) and not text().accepts(3)


def test_every_wrong_value_is_named_on_one_line():
    message = _message("02_dcgan", seed="abc", upsample="nearest", minutes=-1)
    assert message.count("parameter ") == 3 and message.count("; ") == 2


def test_an_unlisted_parameter_takes_the_type_its_cell_declares():
    history = ["", "profile = None\nseed = 0\nrate = 0.5\nname = 'x'\nflag = False\nthing = None\n",
               "# Parameters\nrate = 1\n"]
    assert check_parameters("tiny", {"rate": 1, "name": "y", "flag": True, "thing": [1]}, history) == ["rate"]
    for name, value, expected in (("rate", "fast", "a number"), ("name", 3, "a string"), ("flag", 0, "True or False")):
        with pytest.raises(ParameterError) as err:
            check_parameters("tiny", {name: value}, history)
        declared = declared_values(history[1])[name]
        assert str(err.value) == (f"parameter {name} = {value!r}: expected {expected} "
                                  f"(the parameters cell declares {name} = {declared!r})")


def test_papermills_values_are_checked_even_if_not_passed_on():
    history = ["", PARAMS_CELL, "# Parameters\nsteps = 2.5\n"]
    expected = r"^parameter steps = 2.5: expected an int \(the parameters cell declares steps = 10\)$"
    with pytest.raises(ParameterError, match=expected):
        check_parameters("tiny", {}, history)
