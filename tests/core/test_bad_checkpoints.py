"""Every command-line verb answers a file that is not a usable checkpoint with one line and exit code 2.

Issue 13: torch's own error for a text file or a pickled module advises re-running ``torch.load`` with
``weights_only=False`` -- advice that would execute code from an untrusted file -- and a truncated file
gives a multi-line miniz message. synthlib says in one line what the file is, what was expected and
what to do, never suggests an unsafe load, and writes nothing.

Each verb that takes a checkpoint is listed in ``VERBS`` with a function that makes its whole
command line around a given checkpoint; a chapter that adds a verb adds it here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from synthlib.__main__ import main
from synthlib.core import checkpoint as ckpt_io
from tests.cli.test_sample_cli import write_checkpoint


def _sample_args(tmp: Path, ckpt: Path) -> list[str]:
    return ["sample", str(ckpt), "--num", "2", "--out", str(tmp / "out" / "samples.pt")]


def _translate_args(tmp: Path, ckpt: Path) -> list[str]:
    torch.save(torch.zeros(1, 3, 64, 64), tmp / "input.pt")
    return ["translate", str(ckpt), "--input", str(tmp / "input.pt"), "--out", str(tmp / "out" / "translated.pt")]


def _stylize_args(method: str):  # noqa: ANN202
    def args(tmp: Path, ckpt: Path) -> list[str]:
        from PIL import Image

        Image.new("RGB", (40, 30), (200, 100, 50)).save(tmp / "photo.png")
        return ["stylize", "--method", method, "--checkpoint", str(ckpt), "--content", str(tmp / "photo.png"),
                "--style", str(tmp / "photo.png"), "--size", "32", "--out", str(tmp / "out" / "styled.png")]

    return args


def _inpaint_args(tmp: Path, ckpt: Path) -> list[str]:
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 100, 50)).save(tmp / "photo.png")
    mask = Image.new("L", (40, 30), 0)
    mask.paste(255, (10, 10, 20, 20))
    mask.save(tmp / "mask.png")
    return ["inpaint", str(ckpt), "--image", str(tmp / "photo.png"), "--mask", str(tmp / "mask.png"),
            "--out", str(tmp / "out" / "filled.png")]


def _upscale_args(tmp: Path, ckpt: Path) -> list[str]:
    from PIL import Image

    Image.new("RGB", (20, 15), (200, 100, 50)).save(tmp / "small.png")
    return ["upscale", str(ckpt), "--image", str(tmp / "small.png"), "--out", str(tmp / "out" / "big.png")]


VERBS = {
    "sample": _sample_args, "translate": _translate_args,
    "stylize-fast": _stylize_args("fast"), "stylize-adain": _stylize_args("adain"),
    "inpaint": _inpaint_args, "upscale": _upscale_args,
}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("good"))


def _truncated(good: Path, tmp: Path) -> Path:
    data = good.read_bytes()
    path = tmp / "truncated.pt"
    path.write_bytes(data[: len(data) // 2])
    return path


def _text(good: Path, tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("these are my notes, not a checkpoint\n")
    return path


def _empty(good: Path, tmp: Path) -> Path:
    path = tmp / "empty.pt"
    path.write_bytes(b"")
    return path


def _png(good: Path, tmp: Path) -> Path:
    from PIL import Image

    path = tmp / "picture.pt"
    Image.new("RGB", (4, 4)).save(path, format="PNG")
    return path


def _pickled_module(good: Path, tmp: Path) -> Path:
    path = tmp / "whole_model.pt"
    torch.save(nn.Linear(2, 2), path)  # pickles the class: loading it would run code
    return path


def _state_dict(good: Path, tmp: Path) -> Path:
    path = tmp / "state_dict.pt"
    torch.save(nn.Linear(2, 2).state_dict(), path)
    return path


def _other_kind(good: Path, tmp: Path) -> Path:
    saved = ckpt_io.load(good)
    saved["kind"] = "classifier"
    saved["models"] = {"D": saved["models"]["D"]}
    return ckpt_io.save_atomic(saved, tmp / "other_kind.pt")


def _newer(good: Path, tmp: Path) -> Path:
    saved = ckpt_io.load(good)
    saved["format"] = f"{ckpt_io.FORMAT_PREFIX}{ckpt_io.FORMAT_VERSION + 1}"
    saved["synthlib_version"] = "9.0.0"
    return ckpt_io.save_atomic(saved, tmp / "newer.pt")


def _folder(good: Path, tmp: Path) -> Path:
    path = tmp / "a_run_dir"
    path.mkdir()
    return path


# case -> (file maker, words the one-line message must contain)
CASES = {
    "truncated": (_truncated, ("truncated or damaged",)),
    "text": (_text, ("a text file", "not a synthlib checkpoint")),
    "empty": (_empty, ("empty file",)),
    "png": (_png, ("PNG image",)),
    "pickled-module": (_pickled_module, ("stores Python objects", "never unpickles")),
    "state-dict": (_state_dict, ("bare state_dict", "not a synthlib checkpoint")),
    "other-kind": (_other_kind, ("'classifier'", "checkpoint")),
    "newer": (_newer, ("newer synthlib", "9.0.0", "update synthlib")),
    "folder": (_folder, ("is a folder",)),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_line_exit_2_nothing_written(
    verb: str, case: str, good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, words = CASES[case]
    bad = make(good, tmp_path)
    args = VERBS[verb](tmp_path, bad)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one short line, no traceback, no miniz dump
    assert lines[0].startswith(f"python -m synthlib {args[0]}: error: "), err
    for word in words:
        assert word in err, err
    assert "weights_only" not in err and "Traceback" not in err  # never a hint to load unsafely
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_load_names_what_was_expected(good: Path, tmp_path: Path) -> None:
    ckpt_io.load(good, kind="dcgan")
    ckpt_io.load(good, kind=("pix2pix", "dcgan"))  # one of several accepted kinds
    with pytest.raises(ckpt_io.CheckpointError, match="'dcgan' checkpoint, but a 'pix2pix' or 'cyclegan'"):
        ckpt_io.load(good, kind=("pix2pix", "cyclegan"))


def test_checkpoints_record_format_and_version(good: Path) -> None:
    import synthlib

    saved = ckpt_io.load(good)
    assert saved["format"] == ckpt_io.FORMAT == f"synthlib-checkpoint-{ckpt_io.FORMAT_VERSION}"
    assert saved["synthlib_version"] == synthlib.__version__


@pytest.mark.slow
def test_in_a_subprocess_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    result = subprocess.run(
        [sys.executable, "-m", "synthlib", "sample", str(bad), "--num", "2", "--out", str(tmp_path / "s.pt")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "a text file" in result.stderr
    assert not (tmp_path / "s.pt").exists()
