"""Configs from notebook parameters, profiles, and recorded run metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import pytest

from synthlib.core import runs
from synthlib.core.config import check_choice, from_dict, resolve_profile


@dataclass
class Cfg:
    loss: Literal["hinge", "wgan-gp"] = "hinge"
    steps: int = 10
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.99)
    note: str | None = None


def test_from_dict_maps_and_converts():
    cfg = from_dict(Cfg, {"steps": 5, "lr": 1, "betas": [0.0, 0.9]})
    assert cfg == Cfg(steps=5, lr=1, betas=(0.0, 0.9))


@pytest.mark.parametrize(
    "values, message",
    [
        ({"stpes": 5}, r"no field\(s\) 'stpes'"),
        ({"steps": "5"}, r"Cfg.steps must be int, got '5'"),
        ({"steps": True}, r"Cfg.steps must be int"),
        ({"loss": "gan"}, r"parameter 'loss' is 'gan'; allowed values: 'hinge', 'wgan-gp'"),
        ({"betas": (0.5,)}, r"Cfg.betas must be"),
    ],
)
def test_from_dict_names_the_bad_key(values, message):
    with pytest.raises((TypeError, ValueError), match=message):
        from_dict(Cfg, values)


def test_profile_resolution(monkeypatch):
    monkeypatch.delenv("SYNTHLIB_PROFILE", raising=False)
    assert resolve_profile(None) == "default"
    monkeypatch.setenv("SYNTHLIB_PROFILE", "smoke")
    assert resolve_profile(None) == "smoke"
    assert resolve_profile("full") == "full"  # a papermill parameter beats the environment
    with pytest.raises(ValueError, match="parameter 'profile' is 'fast'; allowed values: 'smoke', 'default', 'full'"):
        resolve_profile("fast")
    monkeypatch.setenv("SYNTHLIB_PROFILE", "quick")
    with pytest.raises(ValueError, match="'profile' is 'quick'"):
        resolve_profile(None)


def test_check_choice():
    assert check_choice("distribution", "ring", ["ring", "grid"]) == "ring"
    with pytest.raises(ValueError, match="parameter 'distribution' is 'moons'; allowed values: 'ring', 'grid'"):
        check_choice("distribution", "moons", ["ring", "grid"])


def test_record_and_collect(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHLIB_RUNS_ROOT", str(tmp_path))
    monkeypatch.delenv("SYNTHLIB_RUN_DIR", raising=False)
    for seed in (0, 1):
        run = runs.start_run("nb", profile="smoke", seed=seed)
        runs.record(fid=10.0 + seed, per_loss={"hinge": {"modes": 8 - seed}})
        assert run.dir == tmp_path / "nb"
        doc = json.loads((tmp_path / "nb" / "metrics.json").read_text())
        assert doc["metrics"]["fid"] == 10.0 + seed and doc["params"] == {"seed": seed}
        (tmp_path / "nb").rename(tmp_path / f"nb-seed{seed}")
    table = runs.collect(tmp_path)
    assert list(table["run"]) == ["nb-seed0", "nb-seed1"]
    assert list(table["per_loss.hinge.modes"]) == [8, 7]
    assert list(table["params.seed"]) == [0, 1]

    # A half-written metrics.json (a run killed mid-write) is skipped with a warning naming it.
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text('{"notebook": "nb", "metr')
    with pytest.warns(UserWarning, match="broken.metrics.json"):
        table = runs.collect(tmp_path)
    assert list(table["run"]) == ["nb-seed0", "nb-seed1"]


def test_run_dir_env_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHLIB_RUN_DIR", str(tmp_path / "exact"))
    run = runs.start_run("nb", profile="smoke")
    assert run.dir == tmp_path / "exact" and (tmp_path / "exact" / "metrics.json").exists()
