"""environment.yml (conda) and pyproject.toml (pip) must name the same dependencies."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (a dev dependency there)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {d for d in pip_section if not d.startswith("-e")}
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"
    assert "python=3.11" in env["dependencies"] and "-e ." in pip_section


def test_top_level_layout():
    """The layout the course promises (README): a newcomer finds these at the top of the clone."""
    for name in ("notebooks", "synthlib", "data", "tests"):
        assert (ROOT / name).is_dir(), f"missing folder {name}/"
    for name in ("environment.yml", "README.md", "pyproject.toml", "Makefile", ".ci/run", "data/README.md"):
        assert (ROOT / name).is_file(), f"missing file {name}"
