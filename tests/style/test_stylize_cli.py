"""``python -m synthlib stylize`` on tiny checkpoints: what it writes and how it refuses bad input.

The fast and AdaIN checkpoints are trained for two steps here (the CLI's job is loading and
applying them, not their quality). AdaIN and Gatys need the offline VGG16 weights that set-up
prepares; without them those tests skip (they fail under CI=true, where set-up must have run).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.__main__ import main
from synthlib.data import TensorBatches
from synthlib.nn.vgg import VGG16Features
from synthlib.style import AdaINConfig, FastStyleConfig, adain_trainer, fast_style_trainer
from synthlib.style.style_nets import AdaINDecoder, TransformerNet
from synthlib.translation import ZipBatches


def _vgg_weights_ready() -> bool:
    from synthlib.data.vgg_weights import WEIGHTS_FILE, vgg_dir

    return (vgg_dir() / WEIGHTS_FILE).is_file()


needs_vgg = pytest.mark.skipif(
    not _vgg_weights_ready() and os.environ.get("CI") != "true",
    reason="offline VGG16 weights not set up (run `python -m synthlib data`)",
)


def _batches(seed: int) -> TensorBatches:
    g = torch.Generator().manual_seed(seed)
    return TensorBatches(torch.randint(0, 256, (4, 3, 16, 16), generator=g, dtype=torch.uint8), batch_size=2,
                         transform=lambda u: u.float() / 127.5 - 1)  # fmt: skip


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("style_ckpts")
    torch.manual_seed(0)
    vgg = VGG16Features(VGG16Features.Config(max_layer="relu2_1"))
    net = TransformerNet(TransformerNet.Config(base_channels=4, num_res=1))
    cfg = FastStyleConfig(style_size=16, content_layers=("relu2_1",), style_layers=("relu1_1",), style_name="test")
    t = fast_style_trainer(net, vgg, torch.zeros(1, 3, 16, 16), _batches(0), cfg, run_dir=root / "fast",
                           device="cpu", progress=False)  # fmt: skip
    t.fit(2)
    out = {"fast": t.save()}
    dec = AdaINDecoder(AdaINDecoder.Config(layer="relu2_1", width=0.25))
    t = adain_trainer(dec, vgg, ZipBatches(_batches(1), _batches(2)), AdaINConfig(layer="relu2_1"),
                      run_dir=root / "adain", device="cpu", progress=False)  # fmt: skip
    t.fit(2)
    out["adain"] = t.save()
    return out


@pytest.fixture()
def photos(tmp_path: Path) -> tuple[Path, Path]:
    g = torch.Generator().manual_seed(3)
    content, style = tmp_path / "photo.jpg", tmp_path / "style.png"
    Image.fromarray(torch.randint(0, 256, (30, 45, 3), generator=g, dtype=torch.uint8).numpy()).save(content)
    Image.fromarray(torch.randint(0, 256, (20, 20, 4), generator=g, dtype=torch.uint8).numpy(), "RGBA").save(style)
    return content, style


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["stylize", *map(str, args)])
    return code, capsys.readouterr().err


def test_fast_writes_the_photo_stylized_and_says_it_ignores_style(ckpts, photos, tmp_path, capsys):
    content, style = photos
    out = tmp_path / "res" / "fast.png"
    code, err = _run(["--method", "fast", "--checkpoint", ckpts["fast"], "--content", content, "--style", style,
                      "--size", 24, "--out", out], capsys)  # fmt: skip
    assert code == 0, err
    assert "ignores --style" in err
    with Image.open(out) as img:
        assert img.size == (36, 24)  # shorter side --size, aspect kept


@needs_vgg
def test_adain_alpha_and_colour(ckpts, photos, tmp_path, capsys):
    content, style = photos
    outs = []
    for i, extra in enumerate((["--alpha", "1.0"], ["--alpha", "0.0"], ["--preserve-color"])):
        out = tmp_path / f"adain{i}.png"
        code, err = _run(["--method", "adain", "--checkpoint", ckpts["adain"], "--content", content, "--style", style,
                          "--size", 32, "--out", out, *extra], capsys)  # fmt: skip
        assert code == 0, err
        with Image.open(out) as img:
            assert img.size == (48, 32)
            outs.append(torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32)))
    assert (outs[0] - outs[1]).abs().mean() > 1.0  # alpha changes the picture
    assert (outs[0] - outs[2]).abs().mean() > 1.0  # so does keeping the photo's colours


@needs_vgg
def test_gatys_needs_no_checkpoint(photos, tmp_path, capsys):
    content, style = photos
    out = tmp_path / "gatys.png"
    code, err = _run(["--method", "gatys", "--content", content, "--style", style, "--size", 20, "--steps", 2,
                      "--vgg-weights", "offline-hed", "--out", out], capsys)  # fmt: skip
    assert code == 0, err
    with Image.open(out) as img:
        assert img.size == (30, 20)


def _errors(ckpts: dict[str, Path], content: Path, style: Path, tmp: Path) -> dict[str, tuple[list, str]]:
    text = tmp / "notes.jpg"
    text.write_text("not a picture")
    base = ["--content", content, "--style", style, "--out", tmp / "out" / "x.png"]
    return {
        "missing content": (["--method", "fast", "--checkpoint", ckpts["fast"], "--content", tmp / "nope.jpg",
                             "--out", tmp / "out" / "x.png"], "--input"),  # fmt: skip
        "unreadable style": (["--method", "adain", "--checkpoint", ckpts["adain"], "--content", content,
                              "--style", text, "--out", tmp / "out" / "x.png"], "not an image"),  # fmt: skip
        "fast without checkpoint": (["--method", "fast", *base], "needs a checkpoint"),
        "gatys with checkpoint": (["--method", "gatys", "--checkpoint", ckpts["fast"], *base], "takes no checkpoint"),
        "adain without style": (["--method", "adain", "--checkpoint", ckpts["adain"], "--content", content,
                                 "--out", tmp / "out" / "x.png"], "needs --style"),  # fmt: skip
        "wrong kind": (["--method", "fast", "--checkpoint", ckpts["adain"], *base], "'adain' model"),
        "wrong kind 2": (["--method", "adain", "--checkpoint", ckpts["fast"], *base], "'fast-style' model"),
        "missing checkpoint": (["--method", "adain", "--checkpoint", tmp / "none.pt", *base], "none.pt"),
        "bad out": (["--method", "fast", "--checkpoint", ckpts["fast"], "--content", content,
                     "--out", tmp / "out" / "x.pt"], "image file name"),  # fmt: skip
        "alpha range": (["--method", "adain", "--checkpoint", ckpts["adain"], *base, "--alpha", "1.5"], "--alpha"),
        "alpha for fast": (["--method", "fast", "--checkpoint", ckpts["fast"], *base, "--alpha", "0.5"], "adain only"),
        "size": (["--method", "fast", "--checkpoint", ckpts["fast"], *base, "--size", "4"], "--size"),
    }


@pytest.mark.parametrize("case", [
    "missing content", "unreadable style", "fast without checkpoint", "gatys with checkpoint", "adain without style",
    "wrong kind", "wrong kind 2", "missing checkpoint", "bad out", "alpha range", "alpha for fast", "size",
])  # fmt: skip
def test_bad_input_one_line_exit_2_nothing_written(case, ckpts, photos, tmp_path, capsys):
    content, style = photos
    args, words = _errors(ckpts, content, style, tmp_path)[case]
    before = sorted(tmp_path.rglob("*"))
    code, err = _run(args, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m synthlib stylize: error: "), err
    assert words in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_size_that_does_not_fit_in_memory_names_the_largest_that_does(ckpts, photos, tmp_path, capsys, monkeypatch):
    """Style transfer cannot be tiled: ``--size`` is checked against the memory the network needs per pixel (probed
    on a small picture) and what the machine has (here pretended: 40 MB), and the largest size that fits works."""
    import re

    from synthlib.style import stylize_verb

    monkeypatch.setattr(stylize_verb, "available_memory", lambda: 40 * 2**20)
    content, _ = photos
    out = tmp_path / "big.png"
    code, err = _run(["--method", "fast", "--checkpoint", ckpts["fast"], "--content", content, "--size", 4096,
                      "--out", out], capsys)  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    found = re.search(r"--size 4096 needs about .* available; the largest --size that fits is (\d+)$", err.strip())
    assert found, err
    largest = int(found.group(1))
    assert 16 <= largest < 4096 and not out.exists()
    code, err = _run(["--method", "fast", "--checkpoint", ckpts["fast"], "--content", content, "--size", largest,
                      "--out", out], capsys)  # fmt: skip
    assert code == 0, err
    with Image.open(out) as img:
        assert min(img.size) == largest
