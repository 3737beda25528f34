"""Chapter settings: every profile's sizes in one typed table per chapter, tied to the notebooks' parameters."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import ClassVar

import pytest

from synthlib.core import runs
from synthlib.core.chapter import CHAPTER_SETTINGS, ChapterSettings, chapter_settings, profiled, settings_class
from synthlib.core.config import PROFILES
from synthlib.core.params import assigned_names, declared_values

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def parameters_cell(notebook: str) -> str:
    cells = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text())["cells"]
    return "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])


@pytest.mark.parametrize("notebook", sorted(CHAPTER_SETTINGS))
def test_every_chapter_has_settings_for_every_profile(notebook):
    cls = settings_class(notebook)
    assert cls is not None and issubclass(cls, ChapterSettings) and cls.NOTEBOOK == notebook
    for f in cls.profiled_fields():
        assert set(f.metadata["profiles"]) == set(PROFILES), f.name
        assert f.metadata["doc"], f"{cls.__name__}.{f.name} says nothing about what it is"
    for profile in PROFILES:
        settings = cls.for_profile(profile)          # from_dict checks each value against the field's type
        assert settings.profile == profile
        assert all(getattr(settings, f.name) is not None or f.metadata["profiles"][profile] is None
                   for f in cls.profiled_fields())


@pytest.mark.parametrize("notebook", sorted(CHAPTER_SETTINGS))
def test_a_field_tied_to_a_parameter_names_one_the_notebook_declares(notebook):
    declared = assigned_names(parameters_cell(notebook))
    for name in settings_class(notebook).parameters():
        assert name in declared, f"{notebook}'s settings read parameter {name!r}, which its parameters cell lacks"


@pytest.mark.parametrize("notebook", sorted(CHAPTER_SETTINGS))
def test_the_notebook_reads_its_settings_and_keeps_no_profile_table_of_its_own(notebook):
    text = (NOTEBOOKS / f"{notebook}.ipynb").read_text()
    assert "run.settings" in text
    assert "pick(profile" not in text


@pytest.mark.parametrize("notebook", sorted(CHAPTER_SETTINGS))
def test_the_parameters_cells_defaults_give_the_profiles_values(notebook):
    """A notebook run with its parameters cell as written gets exactly each profile's table."""
    cls = settings_class(notebook)
    defaults = declared_values(parameters_cell(notebook))
    defaults.pop("profile", None)
    for profile in PROFILES:
        with_defaults = cls.for_profile(profile, **defaults)
        plain = cls.for_profile(profile)
        for f in cls.profiled_fields():
            if defaults.get(f.metadata["parameter"]) is None:
                assert getattr(with_defaults, f.name) == getattr(plain, f.name), (notebook, f.name)


def test_a_parameter_overrides_its_field_and_none_keeps_the_profiles():
    dcgan = settings_class("02_dcgan")
    assert dcgan.for_profile("default").budget_s == 210
    assert dcgan.for_profile("default", minutes=None).budget_s == 210
    assert dcgan.for_profile("default", minutes=2).budget_s == 120          # minutes -> seconds
    assert dcgan.for_profile("default", steps=7).num_steps == 7
    assert dcgan.for_profile("default").train_conditional is False
    assert dcgan.for_profile("default", conditional=True).train_conditional is True
    assert dcgan.for_profile("smoke", conditional=False).train_conditional is True   # the smoke run always trains it
    assert dcgan.for_profile("default", loss="hinge") == dcgan.for_profile("default")   # not a profile setting

    translation = settings_class("03_translation")
    capped = translation.for_profile("default", steps=100).num_steps
    assert capped == {"l1": 100, "pix2pix": 100, "cyclegan": 100}
    assert translation.for_profile("default", steps=10**9).num_steps == translation.for_profile("default").num_steps
    shared = translation.for_profile("default", minutes=1).budget_s
    assert sum(shared.values()) == pytest.approx(60) and shared["cyclegan"] > shared["pix2pix"] > shared["l1"]

    restoration = settings_class("06_restoration").for_profile("default", minutes=10)
    assert restoration.budget_s["dip"] == 75          # Deep Image Prior's optimisation keeps its own budget
    assert sum(v for k, v in restoration.budget_s.items() if k != "dip") == pytest.approx(600)


def test_the_profile_comes_from_the_environment_when_not_given(monkeypatch):
    monkeypatch.setenv("SYNTHLIB_PROFILE", "smoke")
    assert chapter_settings("02_dcgan").z_dim == 16
    monkeypatch.delenv("SYNTHLIB_PROFILE")
    assert chapter_settings("02_dcgan").z_dim == 64
    assert chapter_settings("no-such-notebook") is None


def test_a_wrong_value_in_a_table_is_caught_by_its_type():
    @dataclasses.dataclass(frozen=True)
    class Broken(ChapterSettings):
        NOTEBOOK: ClassVar[str] = "broken"
        width: int = profiled(smoke=8, default="16", full=32, doc="a width")

    assert Broken.for_profile("smoke").width == 8
    with pytest.raises(TypeError, match="Broken.width must be int, got '16'"):
        Broken.for_profile("default")


def test_table_lists_every_field_with_its_three_values():
    cls = settings_class("05_stylegan")
    lines = cls.table().splitlines()
    assert lines[0].split()[:4] == ["field", *PROFILES]
    assert len(lines) == 1 + len(cls.profiled_fields())
    train = next(line for line in lines if line.startswith("train_s "))
    assert train.split()[1:4] == ["2", "300", "3600"] and "parameter 'minutes' overrides" in train


def test_start_run_keeps_the_settings_and_records_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHLIB_RUN_DIR", str(tmp_path / "run"))
    run = runs.start_run("02_dcgan", profile="smoke", seed=0, loss="hinge", conditional=False, upsample="resize",
                         minutes=0.5, steps=None)
    assert run.settings == settings_class("02_dcgan").for_profile("smoke", minutes=0.5)
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())["settings"]
    assert recorded["budget_s"] == 30 and recorded["z_dim"] == 16 and recorded["profile"] == "smoke"
    other = runs.start_run("some-notebook", profile="smoke")   # a notebook without a settings class
    assert other.settings is None
