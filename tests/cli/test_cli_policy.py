"""The command line as a user meets it: the one output policy, bounded memory, faithful decoding, one-line errors.

Every verb goes through synthlib.cli (one error path, one output policy); these tests drive
``python -m synthlib`` (``main``) with tiny checkpoints trained for two steps by the real Trainer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.cli import main
from synthlib.cli.outputs import unique_names
from synthlib.core.tiling import plan_tiles
from synthlib.data.imageio import read_image, read_pixels
from tests.cli.test_sample_cli import write_checkpoint  # noqa: E402
from tests.restoration.test_restore_cli import ckpts as restore_ckpts  # noqa: E402,F401  (module-scoped fixture, reused)
from tests.translation.test_translation import checkpoints as translate_ckpts  # noqa: E402,F401


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("policy"))


def one_line_error(capsys: pytest.CaptureFixture[str], code: int, *words: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and " error: " in err[0] and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], err[0]
    return err[0]


def snapshot(root: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def photo(path: Path, w: int, h: int, seed: int = 0) -> Path:
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


# --- nothing the user owns is overwritten ------------------------------------------------------------


def test_sample_refuses_to_write_over_its_checkpoint_even_through_a_link(ckpt, tmp_path, capsys):
    before = ckpt.read_bytes()
    one_line_error(capsys, main(["sample", str(ckpt), "--num", "2", "--out", str(ckpt)]), "is the checkpoint")
    link = tmp_path / "link.pt"
    link.symlink_to(ckpt)
    one_line_error(capsys, main(["sample", str(ckpt), "--num", "2", "--out", str(link), "--overwrite"]),
                   "is the checkpoint", "through a link")
    assert ckpt.read_bytes() == before


def test_existing_output_needs_overwrite(ckpt, tmp_path, capsys):
    out = tmp_path / "s.pt"
    out.write_bytes(b"mine")
    one_line_error(capsys, main(["sample", str(ckpt), "--num", "2", "--out", str(out)]), "exists", "--overwrite")
    assert out.read_bytes() == b"mine"
    assert main(["sample", str(ckpt), "--num", "2", "--out", str(out), "--overwrite"]) == 0
    assert torch.load(out, weights_only=True).shape == (2, 1, 28, 28)


def test_png_folder_must_be_empty_or_overwrite(ckpt, tmp_path, capsys):
    folder = tmp_path / "pngs"
    folder.mkdir()
    (folder / "old.png").write_bytes(b"old")
    one_line_error(capsys, main(["sample", str(ckpt), "--num", "3", "--out", str(folder)]), "not empty", "--overwrite")
    assert sorted(p.name for p in folder.iterdir()) == ["old.png"]
    assert main(["sample", str(ckpt), "--num", "3", "--out", str(folder), "--overwrite"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["00000.png", "00001.png", "00002.png", "old.png"]
    assert main(["sample", str(ckpt), "--num", "3", "--out", str(tmp_path / "new") + "/"]) == 0
    assert len(list((tmp_path / "new").iterdir())) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_stylize_refuses_out_equal_to_content_or_style(tmp_path, capsys):
    content, style = photo(tmp_path / "c.png", 24, 20), photo(tmp_path / "s.png", 24, 20, 1)
    before = snapshot(tmp_path)
    for out in (content, style):
        one_line_error(capsys, main(["stylize", "--input", str(content), "--style", str(style), "--out", str(out),
                                     "--overwrite"]), "choose another name")
    assert snapshot(tmp_path) == before


def test_translate_refuses_its_inputs_and_names_outputs_apart(translate_ckpts, tmp_path, capsys):
    ck = str(translate_ckpts["pix2pix"])
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    torch.save(x, tmp_path / "in.pt")
    one_line_error(capsys, main(["translate", ck, "--input", str(tmp_path / "in.pt"), "--out", str(tmp_path / "in.pt"),
                                 "--overwrite"]), "is the --input")
    folder = tmp_path / "emoji"
    folder.mkdir()
    photo(folder / "a.png", 64, 64)
    Image.open(folder / "a.png").convert("RGB").save(folder / "a.jpg")
    before = snapshot(tmp_path)
    one_line_error(capsys, main(["translate", ck, "--input", str(folder), "--out", str(folder), "--overwrite"]),
                   "is the --input")
    one_line_error(capsys, main(["translate", ck, "--input", str(folder / "a.png"), "--out", str(folder) + "/",
                                 "--overwrite"]), "holds the --input")
    assert snapshot(tmp_path) == before
    assert main(["translate", ck, "--input", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert "translated 2 image(s)" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_jpg.png", "a_png.png"]


def test_unique_names():
    assert unique_names([Path("a.png"), Path("a.jpg"), Path("b.png")]) == ["a_png", "a_jpg", "b"]
    assert unique_names([Path("x/a.png"), Path("y/a.png")]) == ["a_png_1", "a_png_2"]


def test_an_error_while_writing_leaves_nothing(ckpt, tmp_path, capsys, monkeypatch):
    import synthlib.sample as sample_mod

    calls = []

    def failing(batch, folder, **kw):
        calls.append(1)
        (folder / "partial.png").write_bytes(b"x")
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing
    monkeypatch.setattr(sample_mod, "write_png_batch", failing)
    code = main(["sample", str(ckpt), "--num", "4", "--batch-size", "2", "--out", str(tmp_path / "pngs/")])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- bad values: one line, exit 2 ---------------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    (["--guidance", "nan"], ["--guidance", "finite"]),
    (["--truncation", "inf"], ["--truncation", "finite"]),
    (["--seed", str(2**64)], ["--seed", "2**63"]),
    (["--seed", "-1"], ["--seed"]),
    (["--num", "1.5"], ["--num", "whole number"]),
    (["--device", "cuda:7"], ["--device"]),
])  # fmt: skip
def test_bad_option_values_are_one_line(ckpt, tmp_path, capsys, args, words):
    if "cuda:7" in args and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    base = ["sample", str(ckpt), "--num", "2", "--out", str(tmp_path / "s.pt")]
    if args[0] == "--num":
        base = ["sample", str(ckpt), "--out", str(tmp_path / "s.pt")]
    one_line_error(capsys, main(base + args), *words)
    assert not (tmp_path / "s.pt").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
@pytest.mark.parametrize("verb", ["sample", "translate", "stylize", "inpaint", "upscale", "denoise"])
def test_cuda_on_a_machine_without_it_is_one_line(verb, ckpt, restore_ckpts, translate_ckpts, tmp_path, capsys):
    img = photo(tmp_path / "p.png", 16, 16)
    mask = tmp_path / "m.png"
    Image.new("L", (16, 16), 0).save(mask)
    args = {
        "sample": ["sample", str(ckpt), "--num", "2", "--out", str(tmp_path / "o.pt")],
        "translate": ["translate", str(translate_ckpts["pix2pix"]), "--input", str(img), "--out", str(tmp_path / "o/")],
        "stylize": ["stylize", "--input", str(img), "--style", str(img), "--out", str(tmp_path / "o.png")],
        "inpaint": ["inpaint", str(restore_ckpts["inpaint_zeros"]), "--input", str(img), "--mask", str(mask),
                    "--out", str(tmp_path / "o.png")],
        "upscale": ["upscale", str(restore_ckpts["sr"]), "--input", str(img), "--out", str(tmp_path / "o.png")],
        "denoise": ["denoise", str(restore_ckpts["denoise"]), "--input", str(img), "--out", str(tmp_path / "o.png")],
    }[verb]
    one_line_error(capsys, main(args + ["--device", "cuda"]), "--device cuda", "no CUDA")


def test_sample_num_beyond_memory_or_disk(ckpt, tmp_path, capsys):
    one_line_error(capsys, main(["sample", str(ckpt), "--num", str(10**9), "--out", str(tmp_path / "s.pt")]),
                   "in memory at once", "folder")
    one_line_error(capsys, main(["sample", str(ckpt), "--num", str(10**12), "--out", str(tmp_path / "pngs/")]),
                   "of disk")
    assert list(tmp_path.iterdir()) == []


def test_sample_streams_the_same_samples_as_one_batch(ckpt, tmp_path):
    from synthlib.sample import SEED_CHUNK, iter_samples, load_generator, sample

    G, _ = load_generator(ckpt)
    n = SEED_CHUNK + 3
    whole = sample(G, n, seed=5, batch_size=n)
    assert torch.equal(whole, torch.cat(list(iter_samples(G, n, seed=5, batch_size=1000))))
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.allclose(sample(G, 3, seed=5), G.eval()(z), atol=1e-6)  # one chunk = one randn(num, z_dim)


def test_translate_rejects_nan_tensors(translate_ckpts, tmp_path, capsys):
    x = torch.zeros(1, 3, 64, 64)
    x[0, 0, 0, 0] = float("nan")
    torch.save(x, tmp_path / "nan.pt")
    one_line_error(capsys, main(["translate", str(translate_ckpts["pix2pix"]), "--input", str(tmp_path / "nan.pt"),
                                 "--out", str(tmp_path / "o.pt")]), "NaN")


# --- decoding keeps the values ------------------------------------------------------------------------


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 8).reshape(8, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    x = read_image(tmp_path / "deep.png")
    assert x.shape == (1, 3, 8, 64)
    assert abs(float(x.mean())) < 0.01  # a ramp from black to white averages grey, not white
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0


def test_palette_grey_rgba_and_exif_orientation(tmp_path):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[:, :10] = (255, 0, 0)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(tmp_path / "p.png")
    assert np.array_equal(read_pixels(tmp_path / "p.png"), rgb)
    Image.fromarray(np.full((4, 4), 100, np.uint8)).save(tmp_path / "g.png")
    assert np.array_equal(read_pixels(tmp_path / "g.png"), np.full((4, 4, 3), 100, np.uint8))
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent: composited on white
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert np.array_equal(read_pixels(tmp_path / "a.png"), np.full((4, 4, 3), 255, np.uint8))
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    assert read_pixels(tmp_path / "r.jpg").shape == (20, 10, 3)


def test_picture_over_the_megapixel_guard_is_one_line(restore_ckpts, tmp_path, capsys):
    img = photo(tmp_path / "big.png", 1500, 1000)
    one_line_error(capsys, main(["upscale", str(restore_ckpts["sr"]), "--input", str(img), "--out",
                                 str(tmp_path / "o.png"), "--max-megapixels", "1"]), "1500x1000", "--max-megapixels 2")


def huge_png_header(path: Path, w: int, h: int) -> Path:
    """A PNG that claims to be w x h (a decompression bomb's header) with one empty IDAT: opening it costs nothing,
    decoding it fails. PIL's own guard raises DecompressionBombError on it when merely opened."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("verb", ["translate", "stylize", "inpaint", "upscale", "denoise"])
def test_a_decompression_bomb_is_one_line_at_the_default_limit(verb, restore_ckpts, translate_ckpts, tmp_path, capsys):
    """14000 x 14000 (196 megapixels, over PIL's 178): refused from the header in one line naming the option, and a
    raised limit gets past the guard to the next one-line error (this file's data are empty), never a traceback."""
    bomb = huge_png_header(tmp_path / "bomb.png", 14000, 14000)
    mask = huge_png_header(tmp_path / "mask.png", 14000, 14000)
    out = str(tmp_path / "o.png")
    args = {
        "translate": ["translate", str(translate_ckpts["pix2pix"]), "--input", str(bomb), "--out", str(tmp_path / "o/")],
        "stylize": ["stylize", "--input", str(bomb), "--style", str(bomb), "--out", out],
        "inpaint": ["inpaint", str(restore_ckpts["inpaint_zeros"]), "--input", str(bomb), "--mask", str(mask), "--out", out],
        "upscale": ["upscale", str(restore_ckpts["sr"]), "--input", str(bomb), "--out", out],
        "denoise": ["denoise", str(restore_ckpts["denoise"]), "--input", str(bomb), "--out", out],
    }[verb]
    one_line_error(capsys, main(args), "14000x14000", "196 megapixels", "--max-megapixels 196")
    err = one_line_error(capsys, main(args + ["--max-megapixels", "200"]))
    assert "megapixel" not in err and "Decompression" not in err, err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o").exists()


# --- tiles: the same pictures, bounded memory ---------------------------------------------------------


def test_tiles_cover_the_picture_once():
    cover = np.zeros((37, 53), int)
    for t in plan_tiles(37, 53, 16, 5):
        cover[t.core] += 1
        gy, gx = t.grown
        assert gy.start >= 0 and gx.stop <= 53
    assert (cover == 1).all()


def test_tiled_upscale_equals_the_whole_picture(restore_ckpts, tmp_path):
    img = photo(tmp_path / "p.png", 45, 38)
    whole, tiled = tmp_path / "whole.png", tmp_path / "tiled.png"
    assert main(["upscale", str(restore_ckpts["sr"]), "--input", str(img), "--out", str(whole), "--tile", "0"]) == 0
    assert main(["upscale", str(restore_ckpts["sr"]), "--input", str(img), "--out", str(tiled), "--tile", "16",
                 "--tile-overlap", "12"]) == 0
    a, b = np.asarray(Image.open(whole)).astype(int), np.asarray(Image.open(tiled)).astype(int)
    assert a.shape == b.shape == (152, 180, 3)
    assert np.abs(a - b).max() <= 1  # the tiny network's receptive field fits in the overlap


def test_tiled_inpaint_keeps_known_pixels_and_matches_whole(restore_ckpts, tmp_path):
    img = photo(tmp_path / "p.png", 70, 50)
    m = Image.new("L", (70, 50), 0)
    m.paste(255, (30, 20, 38, 27))
    m.save(tmp_path / "m.png")
    outs = []
    for tile in ("0", "24"):
        out = tmp_path / f"o{tile}.png"
        assert main(["inpaint", str(restore_ckpts["inpaint_harmonic"]), "--input", str(img), "--mask",
                     str(tmp_path / "m.png"), "--out", str(out), "--tile", tile, "--tile-overlap", "16"]) == 0
        outs.append(np.asarray(Image.open(out)).astype(int))
    hole = np.asarray(m) > 127
    assert np.array_equal(outs[1][~hole], np.asarray(Image.open(img)).astype(int)[~hole])
    assert np.abs(outs[0] - outs[1])[hole].mean() < 12  # same fill up to the tile's own boundary


def _peak_rss_mb(args: list[str]) -> float:
    # VmHWM is this process image's own peak. ru_maxrss is not: Linux carries the forking parent's
    # peak across exec, so under a large pytest process every child would report the parent's size.
    code = ("import sys; from synthlib.cli import main; rc = main(sys.argv[1:]); "
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]; "
            "print(int(hwm.split()[1]) / 1024); sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert res.returncode == 0, res.stderr
    return float(res.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from Linux's /proc")
def test_upscale_memory_does_not_grow_with_the_picture(restore_ckpts, tmp_path):
    """Peak memory of a 64x64 and a 384x384 picture (x4: 1536x1536), tiled, and the large one whole.

    Tiled, the large picture costs only its pixels (input and output as uint8, and PIL's copy while
    encoding) beyond the small one's peak; whole, the network's activations grow with it."""
    sr = str(restore_ckpts["sr"])
    small, large = photo(tmp_path / "s.png", 64, 64), photo(tmp_path / "l.png", 384, 384)
    base = _peak_rss_mb(["upscale", sr, "--input", str(small), "--out", str(tmp_path / "s4.png"), "--tile", "64"])
    tiled = _peak_rss_mb(["upscale", sr, "--input", str(large), "--out", str(tmp_path / "l4.png"), "--tile", "64"])
    whole = _peak_rss_mb(["upscale", sr, "--input", str(large), "--out", str(tmp_path / "w4.png"), "--tile", "0"])
    pixels_mb = (384 * 384 * 3 + 2 * 1536 * 1536 * 3) / 2**20  # input, output, the encoder's copy
    print(f"peak RSS: small {base:.0f} MB, large tiled {tiled:.0f} MB, large whole {whole:.0f} MB; "
          f"pixels {pixels_mb:.0f} MB")
    assert tiled - base < pixels_mb + 64
    assert whole - base > 4 * (tiled - base)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from Linux's /proc")
def test_inpaint_memory_does_not_grow_with_the_picture(restore_ckpts, tmp_path):
    """The same for inpaint (64x64 against 1024x1024, a stroke across each): tiled, the large picture costs its
    pixels (picture, mask, output, the encoder's copy) beyond the small one's peak; whole, far more."""
    ck = str(restore_ckpts["inpaint_zeros"])
    peaks = {}
    for name, side, tile in (("small", 64, "64"), ("tiled", 1024, "64"), ("whole", 1024, "0")):
        img = photo(tmp_path / f"{name}.png", side, side)
        mask = Image.new("L", (side, side), 0)
        mask.paste(255, (side // 4, side // 3, 3 * side // 4, side // 3 + max(4, side // 16)))
        mask.save(tmp_path / f"{name}_m.png")
        peaks[name] = _peak_rss_mb(["inpaint", ck, "--input", str(img), "--mask", str(tmp_path / f"{name}_m.png"),
                                    "--out", str(tmp_path / f"{name}_o.png"), "--tile", tile])
    pixels_mb = 1024 * 1024 * (3 + 3 + 3 + 3) / 2**20
    print(f"peak RSS: {peaks}; pixels {pixels_mb:.0f} MB")
    assert peaks["tiled"] - peaks["small"] < pixels_mb + 64
    assert peaks["whole"] - peaks["small"] > 3 * (peaks["tiled"] - peaks["small"])
