"""``python -m synthlib inpaint`` and ``upscale`` on tiny checkpoints: what they write and how they refuse bad input.

The checkpoints are trained for two steps (the CLI's job is loading and applying them, not their quality). What
must hold whatever the weights: any image size works, every known pixel of an inpainted image is the input's
exactly, the upscaled image is the checkpoint's factor times larger, and every mistake a user can make ends in one
line on stderr, exit code 2, with nothing written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.__main__ import main
from synthlib.data import TensorBatches
from synthlib.restoration import (
    DenoiseConfig,
    DnCNN,
    DownscaledBatches,
    InpaintConfig,
    InpaintUNet,
    MaskedBatches,
    NoisyBatches,
    SRConfig,
    SRResNet,
    denoise_trainer,
    inpaint_trainer,
    sr_trainer,
)


def _batches(seed: int, size: int = 32) -> TensorBatches:
    g = torch.Generator().manual_seed(seed)
    return TensorBatches(torch.randint(0, 256, (4, 3, size, size), generator=g, dtype=torch.uint8), batch_size=2,
                         transform=lambda u: u.float() / 127.5 - 1)  # fmt: skip


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("restore_ckpts")
    torch.manual_seed(0)
    out = {}
    for prefill in ("zeros", "harmonic", "blend"):
        G = InpaintUNet(InpaintUNet.Config(base_channels=8, depth=3, max_channels=16, prefill=prefill))
        t = inpaint_trainer(G, MaskedBatches(_batches(0)), InpaintConfig(), run_dir=root / f"inpaint_{prefill}",
                            device="cpu", progress=False)
        t.fit(2)
        out[f"inpaint_{prefill}"] = t.save()
    G = SRResNet(SRResNet.Config(scale=4, base_channels=8, num_blocks=1))
    t = sr_trainer(G, DownscaledBatches(_batches(1)), SRConfig(), run_dir=root / "sr", device="cpu", progress=False)
    t.fit(2)
    out["sr"] = t.save()
    t = denoise_trainer(DnCNN(DnCNN.Config(depth=3, channels=8)), NoisyBatches(_batches(2), 0.2), DenoiseConfig(),
                        run_dir=root / "denoise", device="cpu", progress=False)
    t.fit(2)
    out["denoise"] = t.save()
    return out


def _photo(path: Path, w: int, h: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def _mask(path: Path, w: int, h: int, box: tuple[int, int, int, int]) -> Path:
    m = Image.new("L", (w, h), 0)
    m.paste(255, box)
    m.save(path)
    return path


@pytest.mark.parametrize("prefill", ["zeros", "harmonic", "blend"])
def test_inpaint_any_size_keeps_every_known_pixel(ckpts, tmp_path, capsys, prefill):
    img = _photo(tmp_path / "photo.png", 37, 29)  # not a multiple of 2**depth = 8
    mask = _mask(tmp_path / "mask.png", 37, 29, (5, 4, 20, 15))
    out = tmp_path / "out" / "filled.png"
    code = main(["inpaint", str(ckpts[f"inpaint_{prefill}"]), "--image", str(img), "--mask", str(mask),
                 "--out", str(out), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    a, b = np.asarray(Image.open(img)), np.asarray(Image.open(out))
    hole = np.asarray(Image.open(mask)) > 127
    assert b.shape == a.shape
    assert np.array_equal(a[~hole], b[~hole])  # known pixels exactly the input's
    assert not np.array_equal(a[hole], b[hole])
    assert "inpainted" in capsys.readouterr().err


def test_inpaint_empty_mask_writes_the_image_unchanged(ckpts, tmp_path, capsys):
    img = _photo(tmp_path / "photo.png", 20, 16)
    Image.new("L", (20, 16), 0).save(tmp_path / "mask.png")
    assert main(["inpaint", str(ckpts["inpaint_zeros"]), "--image", str(img), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "o.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(img)), np.asarray(Image.open(tmp_path / "o.png")))
    assert "no white pixels" in capsys.readouterr().err


def test_upscale_by_the_checkpoints_factor(ckpts, tmp_path, capsys):
    img = _photo(tmp_path / "small.png", 13, 9)
    out = tmp_path / "big.png"
    assert main(["upscale", str(ckpts["sr"]), "--image", str(img), "--out", str(out), "--device", "cpu"]) == 0
    assert Image.open(out).size == (52, 36)
    assert "x4" in capsys.readouterr().err
    ens = tmp_path / "big_ens.png"
    assert main(["upscale", str(ckpts["sr"]), "--image", str(img), "--out", str(ens), "--ensemble", "--device", "cpu"]) == 0
    assert Image.open(ens).size == (52, 36) and "self-ensemble" in capsys.readouterr().err
    assert not np.array_equal(np.asarray(Image.open(ens)), np.asarray(Image.open(out)))


def _errors(ckpts, tmp: Path):
    img = _photo(tmp / "photo.png", 24, 16)
    mask = _mask(tmp / "mask.png", 24, 16, (2, 2, 8, 8))
    small_mask = _mask(tmp / "small_mask.png", 20, 16, (2, 2, 8, 8))
    full = _mask(tmp / "full.png", 24, 16, (0, 0, 24, 16))
    (tmp / "notes.txt").write_text("not an image")
    inp, sr = str(ckpts["inpaint_zeros"]), str(ckpts["sr"])
    out = str(tmp / "out" / "o.png")
    return {
        "mask size": (["inpaint", inp, "--image", str(img), "--mask", str(small_mask), "--out", out],
                      ["20x16", "24x16", "same size"]),
        "unreadable image": (["inpaint", inp, "--image", str(tmp / "notes.txt"), "--mask", str(mask), "--out", out],
                             ["--input", "not an image"]),
        "missing mask": (["inpaint", inp, "--image", str(img), "--mask", str(tmp / "nope.png"), "--out", out],
                         ["--mask", "does not exist"]),
        "all missing": (["inpaint", inp, "--image", str(img), "--mask", str(full), "--out", out],
                        ["every pixel", "nothing to inpaint"]),
        "sr checkpoint for inpaint": (["inpaint", sr, "--image", str(img), "--mask", str(mask), "--out", out],
                                      ["'sr' model", "upscale"]),
        "inpaint checkpoint for upscale": (["upscale", inp, "--image", str(img), "--out", out],
                                           ["'inpaint' model", "inpaint"]),
        "bad out suffix": (["upscale", sr, "--image", str(img), "--out", str(tmp / "out" / "o.txt")],
                           ["--out", "image file name"]),
        "out overwrites input": (["upscale", sr, "--image", str(img), "--out", str(img)],
                                 ["is the --input", "choose another name"]),
        "sr checkpoint for denoise": (["denoise", sr, "--image", str(img), "--out", out], ["'sr' model", "upscale"]),
        "denoise checkpoint for upscale": (["upscale", str(ckpts["denoise"]), "--image", str(img), "--out", out],
                                           ["'denoise' model", "denoise"]),
    }


@pytest.mark.parametrize("case", ["mask size", "unreadable image", "missing mask", "all missing",
                                  "sr checkpoint for inpaint", "inpaint checkpoint for upscale", "bad out suffix",
                                  "out overwrites input", "sr checkpoint for denoise", "denoise checkpoint for upscale"])
def test_one_line_errors_exit_2_nothing_written(ckpts, tmp_path, capsys, case):
    args, words = _errors(ckpts, tmp_path)[case]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"python -m synthlib {args[0]}: error: "), err
    for w in words:
        assert w in err[0], err[0]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before  # nothing written or touched
