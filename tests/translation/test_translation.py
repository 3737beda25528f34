"""Pix2Pix and CycleGAN recipes on the shared loop, the history buffer, the loss terms, and `python -m synthlib translate`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.__main__ import main
from synthlib.core import checkpoint as ckpt_io
from synthlib.data import TensorBatches, from_uint8
from synthlib.data.imageio import pixels_to_tensor, read_pixels, tensor_to_pixels
from synthlib.nn.patchgan import PatchGANDiscriminator
from synthlib.nn.unet import UNetGenerator
from synthlib.translation import (
    CycleGANConfig,
    ImagePool,
    Pix2PixConfig,
    ZipBatches,
    cycle_loss,
    cyclegan_trainer,
    identity_loss,
    l1_loss,
    load_translator,
    paired_flip,
    pix2pix_trainer,
    translate,
)
from synthlib.translation.resnet import ResnetGenerator

SIZE = 16


def unet(seed: int = 0) -> UNetGenerator:
    torch.manual_seed(seed)
    return UNetGenerator(UNetGenerator.Config(base_channels=4, num_downs=3, max_channels=16, dropout=0.0))


def patch_d(conditional: bool) -> PatchGANDiscriminator:
    return PatchGANDiscriminator(PatchGANDiscriminator.Config(conditional=conditional, base_channels=4, num_layers=2))


def resnet() -> ResnetGenerator:
    return ResnetGenerator(ResnetGenerator.Config(base_channels=4, num_blocks=1))


def pairs(n: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random colour images x (4x4 noise upsampled) and y = their negative: a mapping a U-Net learns fast."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g)
    x = (torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear") * 255).round().to(torch.uint8)
    return x, 255 - x


# --- loss terms -------------------------------------------------------------------------------


def test_loss_terms_on_known_inputs():
    a = torch.zeros(2, 3, 4, 4)
    assert l1_loss(a + 0.5, a) == pytest.approx(0.5)
    assert cycle_loss(a, a - 0.25) == pytest.approx(0.25)   # |F(G(x)) - x| averaged over every pixel
    assert identity_loss(a, a) == 0
    b = a.clone()
    b[0] = 1.0  # half the batch off by 1
    assert cycle_loss(a, b) == pytest.approx(0.5)


def test_paired_flip_keeps_pairs_aligned():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4).repeat(8, 1, 1, 1)
    fx, fy = paired_flip(x, x + 100, generator=torch.Generator().manual_seed(0))
    assert torch.equal(fy, fx + 100)
    flipped = (fx != x).flatten(1).any(1)
    assert 0 < int(flipped.sum()) < len(x)
    assert torch.equal(fx[flipped], x[flipped].flip(-1))


# --- the history buffer -----------------------------------------------------------------------


def test_image_pool_fills_then_mixes_history():
    pool = ImagePool(4, seed=0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 4  # filling: passed through and stored
    seen_old = 0
    for step in range(20):
        new = torch.full((4, 1, 1, 1), 100.0 + step)
        out = pool.query(new)
        assert out.shape == new.shape and len(pool) == 4
        seen_old += int((out < 100.0 + step).sum())
    assert 20 < seen_old < 60  # about half the images come from the history (80 draws, p = 1/2)
    assert ImagePool(0).query(first).data_ptr() != 0 and torch.equal(ImagePool(0).query(first), first)


def test_image_pool_state_round_trip():
    a, b = ImagePool(3, seed=1), ImagePool(3, seed=2)
    for i in range(5):
        a.query(torch.full((2, 1, 2, 2), float(i)))
    b.load_state_dict(a.state_dict())
    x = torch.full((3, 1, 2, 2), 9.0)
    assert torch.equal(a.query(x), b.query(x))


# --- training through the shared loop ---------------------------------------------------------


def test_pix2pix_learns_a_paired_mapping(tmp_path: Path):
    x, y = pairs(32)
    data = TensorBatches(x, y, batch_size=8, transform=[from_uint8, from_uint8])
    G, D = unet(), patch_d(conditional=True)
    cfg = Pix2PixConfig(batch_size=8, lr_g=2e-3, lr_d=2e-3, flip=False, ema_half_life_img=50.0)
    trainer = pix2pix_trainer(G, D, data, cfg, run_dir=tmp_path, checkpoint_every=60, device="cpu", progress=False)
    trainer.fit(60)
    l1 = trainer.history["G/l1"]["value"]
    assert sum(l1[-5:]) < 0.5 * sum(l1[:5]), l1  # the L1 term falls: G learns the mapping
    assert {"D/loss", "G/loss", "G/l1", "G/adv"} <= set(trainer.history)
    saved = ckpt_io.load(tmp_path / "checkpoint.pt", kind="pix2pix")
    assert set(saved["models"]) == {"G", "D", "G_ema"}


def test_l1_only_has_no_discriminator(tmp_path: Path):
    x, y = pairs(8)
    data = TensorBatches(x, y, batch_size=4, transform=[from_uint8, from_uint8])
    trainer = pix2pix_trainer(unet(), None, data, Pix2PixConfig(adversarial=False, batch_size=4), device="cpu",
                              progress=False, run_dir=tmp_path, checkpoint_every=2)
    trainer.fit(2)
    assert set(trainer.models) == {"G"} and "G/adv" not in trainer.history
    with pytest.raises(ValueError, match="needs a discriminator"):
        pix2pix_trainer(unet(), None, data, Pix2PixConfig(), device="cpu")


def _cyclegan(tmp_path: Path, seed: int = 0):
    a, _ = pairs(16, seed=0)
    b, _ = pairs(16, seed=1)
    data = ZipBatches(TensorBatches(a, batch_size=4, seed=0, transform=from_uint8),
                      TensorBatches(b, batch_size=4, seed=1, transform=from_uint8))
    torch.manual_seed(seed)
    cfg = CycleGANConfig(batch_size=4, pool_size=6, ema_half_life_img=40.0)
    return cyclegan_trainer(resnet(), resnet(), patch_d(False), patch_d(False), data, cfg, run_dir=tmp_path,
                            checkpoint_every=3, device="cpu", progress=False)


def test_cyclegan_trains_saves_and_resumes_exactly(tmp_path: Path):
    straight = _cyclegan(tmp_path / "straight")
    straight.fit(6)
    assert {"G/adv", "G/cycle", "G/identity", "D/D_A", "D/D_B"} <= set(straight.history)
    saved = ckpt_io.load(tmp_path / "straight" / "checkpoint.pt", kind="cyclegan")
    assert set(saved["models"]) == {"G_AB", "G_BA", "D_A", "D_B", "G_AB_ema", "G_BA_ema"}
    assert saved["extra"]["pool_a"]["images"].shape[0] == 6  # the history buffer is in the checkpoint

    first = _cyclegan(tmp_path / "resumed")
    first.fit(3)  # checkpoint at step 3
    resumed = _cyclegan(tmp_path / "resumed", seed=123)  # other initial weights: all must come from the file
    resumed.load()
    resumed.fit(6)
    for name, model in straight._all_models().items():
        for (k, p), q in zip(model.state_dict().items(), resumed._all_models()[name].state_dict().values()):
            assert torch.equal(p, q), (name, k)


# --- the translate command line ---------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("translate")
    x, y = pairs(8)
    data = TensorBatches(x, y, batch_size=4, transform=[from_uint8, from_uint8])
    p2p = pix2pix_trainer(unet(), patch_d(True), data, Pix2PixConfig(batch_size=4, ema_half_life_img=20.0),
                          run_dir=root / "pix2pix", checkpoint_every=2, device="cpu", progress=False)
    p2p.fit(2)
    cyc = _cyclegan(root / "cyclegan")
    cyc.fit(3)
    return {"pix2pix": root / "pix2pix" / "checkpoint.pt", "cyclegan": root / "cyclegan" / "checkpoint.pt"}


def run(*args: object) -> int:
    return main(["translate", *map(str, args)])


def test_translate_pt_to_pt_matches_the_library(checkpoints, tmp_path: Path, capsys):
    x = from_uint8(pairs(5)[0])
    torch.save(x, tmp_path / "in.pt")
    assert run(checkpoints["pix2pix"], "--input", tmp_path / "in.pt", "--out", tmp_path / "out.pt") == 0
    assert "G_ema" in capsys.readouterr().err
    out = torch.load(tmp_path / "out.pt", weights_only=True)
    G, name = load_translator(checkpoints["pix2pix"])
    assert name == "G_ema" and out.shape == x.shape
    assert torch.allclose(out, translate(G, x), atol=1e-5)
    assert run(checkpoints["pix2pix"], "--input", tmp_path / "in.pt", "--out", tmp_path / "raw.pt", "--model", "G") == 0
    assert not torch.allclose(out, torch.load(tmp_path / "raw.pt", weights_only=True))


def test_translate_both_directions_of_a_cyclegan(checkpoints, tmp_path: Path):
    x = from_uint8(pairs(3)[0])
    torch.save(x, tmp_path / "in.pt")
    assert run(checkpoints["cyclegan"], "-i", tmp_path / "in.pt", "-o", tmp_path / "ab.pt") == 0
    assert run(checkpoints["cyclegan"], "-i", tmp_path / "in.pt", "-o", tmp_path / "ba.pt", "--direction", "b2a") == 0
    ab, ba = (torch.load(tmp_path / f"{d}.pt", weights_only=True) for d in ("ab", "ba"))
    G_BA, name = load_translator(checkpoints["cyclegan"], direction="b2a")
    assert name == "G_BA_ema" and torch.allclose(ba, translate(G_BA, x), atol=1e-5)
    assert not torch.allclose(ab, ba)


def test_translate_image_files_and_folders_keep_size_and_names(checkpoints, tmp_path: Path):
    src = tmp_path / "imgs"
    src.mkdir()
    Image.new("RGBA", (16, 16), (255, 0, 0, 0)).save(src / "transparent.png")  # composited on white
    Image.new("RGB", (32, 16), (0, 128, 255)).save(src / "wide.jpg")
    (src / "readme.txt").write_text("not an image: ignored")
    assert run(checkpoints["pix2pix"], "--input", src, "--out", tmp_path / "outs/") == 0
    outs = sorted(p.name for p in (tmp_path / "outs").iterdir())
    assert outs == ["transparent.png", "wide.png"]
    assert Image.open(tmp_path / "outs" / "wide.png").size == (32, 16)
    assert run(checkpoints["pix2pix"], "--input", src / "wide.jpg", "--out", tmp_path / "one") == 0
    assert Image.open(tmp_path / "one" / "wide.png").size == (32, 16)


def test_translate_large_pictures_go_through_in_tiles(checkpoints, tmp_path: Path):
    """A picture no larger than a tile comes out exactly as the whole-picture translation; a larger one is translated
    tile by tile (each a size the network takes). CycleGAN's instance norm sees each tile's own statistics, so
    tiles do not reproduce the whole picture exactly (hence the large default tile); they stay close to it."""
    G, _ = load_translator(checkpoints["cyclegan"])
    rng = np.random.default_rng(0)
    img = tmp_path / "p.png"
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(img)
    whole = tensor_to_pixels(translate(G, pixels_to_tensor(read_pixels(img))))
    assert run(checkpoints["cyclegan"], "-i", img, "-o", tmp_path / "one/") == 0  # default tile 512: one tile
    assert np.array_equal(np.asarray(Image.open(tmp_path / "one" / "p.png")), whole)
    assert run(checkpoints["cyclegan"], "-i", img, "-o", tmp_path / "tiled/", "--tile", "9", "--tile-overlap", "20") == 0
    tiled = np.asarray(Image.open(tmp_path / "tiled" / "p.png")).astype(int)  # tiles of 12 (rounded up), margins 20
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole.astype(int)).mean() < 8  # of 255: this 2-step network's tiles shift a few levels
    assert np.corrcoef(tiled.ravel(), whole.ravel())[0, 1] > 0.9


@pytest.mark.parametrize("case", ["channels", "size", "range", "b2a-pix2pix", "not-a-tensor", "missing-input",
                                  "mixed-sizes-to-pt", "bad-suffix"])
def test_translate_errors_are_one_line_exit_2_nothing_written(case, checkpoints, tmp_path: Path, capsys):
    ckpt, extra = checkpoints["pix2pix"], []
    inp, out = tmp_path / "in.pt", tmp_path / "result" / "out.pt"
    words = {"channels": "has 1 channels", "size": "multiples of 8", "range": "[-1, 1]", "b2a-pix2pix": "one way",
             "not-a-tensor": "holds a dict", "missing-input": "does not exist", "mixed-sizes-to-pt": "different sizes",
             "bad-suffix": ".jpg"}[case]
    if case == "channels":
        torch.save(torch.zeros(2, 1, 16, 16), inp)
    elif case == "size":
        torch.save(torch.zeros(2, 3, 20, 20), inp)
    elif case == "range":
        torch.save(torch.full((2, 3, 16, 16), 255.0), inp)
    elif case == "b2a-pix2pix":
        torch.save(torch.zeros(2, 3, 16, 16), inp)
        extra = ["--direction", "b2a"]
    elif case == "not-a-tensor":
        torch.save({"x": torch.zeros(1)}, inp)
    elif case == "missing-input":
        inp = tmp_path / "nope.pt"
    elif case == "mixed-sizes-to-pt":
        inp = tmp_path / "imgs"
        inp.mkdir()
        Image.new("RGB", (16, 16)).save(inp / "a.png")
        Image.new("RGB", (32, 16)).save(inp / "b.png")
    elif case == "bad-suffix":
        torch.save(torch.zeros(2, 3, 16, 16), inp)
        out = tmp_path / "result" / "out.jpg"
    code = run(ckpt, "--input", inp, "--out", out, *extra)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
    assert not (tmp_path / "result").exists()


def test_translate_refuses_other_kinds(tmp_path: Path, capsys):
    from tests.cli.test_sample_cli import write_checkpoint

    dcgan = write_checkpoint(tmp_path / "dcgan")
    torch.save(torch.zeros(1, 3, 16, 16), tmp_path / "in.pt")
    assert run(dcgan, "--input", tmp_path / "in.pt", "--out", tmp_path / "o.pt") == 2
    assert "'dcgan' checkpoint, but a 'pix2pix' or 'cyclegan' checkpoint is needed" in capsys.readouterr().err
