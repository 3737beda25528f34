"""`python -m synthlib sample` and synthlib.sample, on tiny checkpoints written by the real Trainer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from synthlib.__main__ import main
from synthlib.core import checkpoint as ckpt_io
from synthlib.data import TensorBatches
from synthlib.gan import GANConfig, gan_trainer
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.sample import load_generator, sample

Z_DIM = 8


def write_checkpoint(run_dir: Path, *, num_classes: int = 0, ema: bool = True, kind: str = "dcgan") -> Path:
    """Two training steps of a tiny (conditional) DCGAN on random data -> run_dir/checkpoint.pt."""
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=Z_DIM, img_size=28, base_channels=4, num_classes=num_classes))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=28, base_channels=4, num_classes=num_classes))
    images = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8)
    from synthlib.data import from_uint8

    if num_classes:
        data = TensorBatches(images, torch.randint(0, num_classes, (16,)), batch_size=8, transform=from_uint8)
    else:
        data = TensorBatches(images, batch_size=8, transform=from_uint8)
    cfg = GANConfig(z_dim=Z_DIM, batch_size=8, ema_half_life_img=100.0 if ema else 0.0, num_steps=2)
    trainer = gan_trainer(G, D, data, cfg, kind=kind, run_dir=run_dir, checkpoint_every=2, device="cpu", progress=False)
    trainer.fit(2)
    return run_dir / "checkpoint.pt"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("uncond"))


@pytest.fixture(scope="module")
def cond_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("cond"), num_classes=3, ema=False)


def run(*args: object) -> int:
    return main(["sample", *map(str, args)])


def test_checkpoint_is_a_dcgan_with_ema(ckpt: Path) -> None:
    saved = ckpt_io.load(ckpt, kind="dcgan")
    assert {"G", "D", "G_ema"} <= set(saved["models"])


def test_sample_to_pt_is_repeatable(ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ckpt, "--num", 5, "--out", tmp_path / "s.pt", "--seed", 1, "--device", "cpu") == 0
    assert "G_ema" in capsys.readouterr().err
    s = torch.load(tmp_path / "s.pt", weights_only=True)
    assert s.shape == (5, 1, 28, 28) and s.dtype == torch.float32
    assert s.min() >= -1 and s.max() <= 1
    assert run(ckpt, "--num", 5, "--out", tmp_path / "again.pt", "--seed", 1, "--batch-size", 2) == 0
    assert torch.allclose(s, torch.load(tmp_path / "again.pt", weights_only=True), atol=1e-6)
    assert run(ckpt, "--num", 5, "--out", tmp_path / "other.pt", "--seed", 2) == 0
    assert not torch.allclose(s, torch.load(tmp_path / "other.pt", weights_only=True))
    assert run(ckpt, "--num", 5, "--out", tmp_path / "g.pt", "--seed", 1, "--model", "G") == 0
    assert not torch.allclose(s, torch.load(tmp_path / "g.pt", weights_only=True))


def test_sample_function_matches_cli(ckpt: Path, tmp_path: Path) -> None:
    G, name = load_generator(ckpt)
    assert name == "G_ema" and not G.training
    assert run(ckpt, "--num", 3, "--out", tmp_path / "s.pt", "--seed", 4) == 0
    assert torch.allclose(sample(G, 3, seed=4), torch.load(tmp_path / "s.pt", weights_only=True), atol=1e-6)
    G.train()
    sample(G, 2, seed=0)
    assert G.training  # mode restored


@pytest.mark.parametrize("out", ["pngs", "pngs2/"])
def test_sample_to_png_folder(ckpt: Path, tmp_path: Path, out: str) -> None:
    target = str(tmp_path / out)
    assert main(["sample", str(ckpt), "--num", "3", "--out", target]) == 0
    files = sorted(p.name for p in Path(target).iterdir())
    assert files == ["00000.png", "00001.png", "00002.png"]
    with Image.open(Path(target) / "00000.png") as img:
        assert img.size == (28, 28) and img.mode == "L"


def test_conditional_class(cond_ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cond_ckpt, "--num", 4, "--out", tmp_path / "c0.pt", "--class", 0) == 0
    assert "no G_ema" in capsys.readouterr().err
    assert run(cond_ckpt, "--num", 4, "--out", tmp_path / "c2.pt", "--class", 2) == 0
    c0, c2 = (torch.load(tmp_path / f"c{k}.pt", weights_only=True) for k in (0, 2))
    assert c0.shape == (4, 1, 28, 28) and not torch.allclose(c0, c2)
    assert run(cond_ckpt, "--num", 4, "--out", tmp_path / "any.pt") == 0  # classes drawn at random
    assert "uniformly" in capsys.readouterr().err
    assert run(cond_ckpt, "--num", 4, "--out", tmp_path / "c3.pt", "--class", 3) == 2
    assert "out of range" in capsys.readouterr().err


def test_sample_labels_per_sample(cond_ckpt: Path) -> None:
    G, _ = load_generator(cond_ckpt)
    labels = torch.tensor([0, 2, 0, 2])
    mixed = sample(G, 4, seed=0, label=labels)
    assert torch.allclose(mixed[0], sample(G, 4, seed=0, label=0)[0])
    assert torch.allclose(mixed[1], sample(G, 4, seed=0, label=2)[1])


def check_error(capsys: pytest.CaptureFixture[str], code: int, *words: str) -> None:
    err = capsys.readouterr().err
    assert code == 2
    assert "error:" in err and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_errors(ckpt: Path, cond_ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.pt"
    check_error(capsys, run(tmp_path / "missing.pt", "--num", 2, "--out", out), "does not exist")
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("not a checkpoint")
    check_error(capsys, run(garbage, "--num", 2, "--out", out), "a text file", "not a synthlib checkpoint")
    check_error(capsys, run(ckpt, "--num", 0, "--out", out), "--num")
    check_error(capsys, run(ckpt, "--num", 2, "--out", out, "--class", 1), "unconditional")
    check_error(capsys, run(cond_ckpt, "--num", 2, "--out", out, "--model", "G_ema"), "G_ema")
    check_error(capsys, run(ckpt, "--num", 2, "--out", tmp_path / "s.npy"), ".pt")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    check_error(capsys, run(ckpt, "--num", 2, "--out", blocker / "pngs"), str(blocker))  # not writable
    assert not out.exists()


def test_checkpoint_without_generator(ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = ckpt_io.load(ckpt)
    saved["kind"] = "classifier"
    saved["models"] = {"D": saved["models"]["D"]}
    bad = ckpt_io.save_atomic(saved, tmp_path / "d_only.pt")
    check_error(capsys, run(bad, "--num", 2, "--out", tmp_path / "s.pt"), "'classifier'", "'dcgan'", "'toy-gan'")


def test_toy_gan_checkpoint_samples_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synthlib.data import Ring2D, ToyBatches
    from synthlib.gan.mlp import MLPDiscriminator, MLPGenerator

    G = MLPGenerator(MLPGenerator.Config(z_dim=4, hidden=8, num_layers=1))
    D = MLPDiscriminator(MLPDiscriminator.Config(hidden=8, num_layers=1))
    cfg = GANConfig(z_dim=4, batch_size=8)
    trainer = gan_trainer(G, D, ToyBatches(Ring2D(), 8), cfg, kind="toy-gan", run_dir=tmp_path, device="cpu", progress=False)
    trainer.fit(1)
    path = trainer.save()
    assert run(path, "--num", 6, "--out", tmp_path / "p.pt") == 0
    assert torch.load(tmp_path / "p.pt", weights_only=True).shape == (6, 2)
    check_error(capsys, run(path, "--num", 6, "--out", tmp_path / "pngs"), "PNG")


def test_help_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "synthlib", "sample", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "--num" in result.stdout and "--class" in result.stdout and "--out" in result.stdout


# ---------------------------------------------------------------------------------------------- chapter 7


def write_denoiser_checkpoint(run_dir: Path, process: str) -> Path:
    """Two steps of a tiny class-conditional diffusion or flow U-Net -> run_dir/checkpoint.pt."""
    from synthlib.data import from_uint8
    from synthlib.likelihood import DiffusionConfig, denoiser_trainer
    from synthlib.likelihood.networks import DiffusionUNet

    torch.manual_seed(0)
    model = DiffusionUNet(DiffusionUNet.Config(channels=(4, 8), patch=2, num_classes=3, process=process,
                                               num_timesteps=50))
    torch.nn.init.normal_(model.out.weight, std=0.1)
    data = TensorBatches(torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 3, (16,)),
                         batch_size=8, transform=from_uint8)
    trainer = denoiser_trainer(model, data, DiffusionConfig(batch_size=8, ema_half_life_img=100), run_dir=run_dir,
                               checkpoint_every=2, device="cpu")
    trainer.fit(2)
    return run_dir / "checkpoint.pt"


@pytest.mark.parametrize("process", ["diffusion", "flow"])
def test_denoiser_checkpoints_sample_with_steps_and_guidance(process: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = write_denoiser_checkpoint(tmp_path / "run", process)
    assert ckpt_io.load(path)["kind"] == process
    outs = []
    for i, extra in enumerate([(), (), ("--guidance", 3), ("--steps", 7)]):
        assert run(path, "--num", 3, "--out", tmp_path / f"s{i}.pt", "--seed", 1, "--class", 2, "--steps", 4, *extra) == 0
        outs.append(torch.load(tmp_path / f"s{i}.pt", weights_only=True))
    assert outs[0].shape == (3, 1, 28, 28) and outs[0].abs().max() <= 1
    assert torch.equal(outs[0], outs[1])                       # deterministic samplers: a seed repeats
    assert not torch.allclose(outs[0], outs[2])                # guidance changes the images
    G, _ = load_generator(path)
    torch.testing.assert_close(outs[0], sample(G, 3, seed=1, label=2, steps=4))  # the CLI is sample()


def test_denoiser_and_one_pass_errors(ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_denoiser_checkpoint(tmp_path / "run", "diffusion")
    capsys.readouterr()
    check_error(capsys, run(path, "--num", 2, "--out", tmp_path / "a.pt", "--steps", 0), "--steps must be >= 1")
    check_error(capsys, run(path, "--num", 2, "--out", tmp_path / "a.pt", "--steps", 51), "more than the model's 50")
    check_error(capsys, run(path, "--num", 2, "--out", tmp_path / "a.pt", "--guidance", -1), "--guidance must be >= 0")
    check_error(capsys, run(ckpt, "--num", 2, "--out", tmp_path / "a.pt", "--steps", 10), "draws in one pass")
    check_error(capsys, run(ckpt, "--num", 2, "--out", tmp_path / "a.pt", "--guidance", 1), "draws in one pass")


def test_vae_checkpoint_samples_by_decoding(tmp_path: Path) -> None:
    from synthlib.data import from_uint8
    from synthlib.likelihood import VAEConfig, vae_trainer
    from synthlib.likelihood.networks import ConvVAE

    torch.manual_seed(0)
    vae = ConvVAE(ConvVAE.Config(z_dim=3, channels=(4, 8), hidden=16))
    data = TensorBatches(torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8), batch_size=8, transform=from_uint8)
    vae_trainer(vae, data, VAEConfig(batch_size=8), run_dir=tmp_path, checkpoint_every=2, device="cpu").fit(2)
    assert run(tmp_path / "checkpoint.pt", "--num", 5, "--out", tmp_path / "v.pt", "--seed", 2) == 0
    got = torch.load(tmp_path / "v.pt", weights_only=True)
    G, name = load_generator(tmp_path / "checkpoint.pt")
    assert name == "G_ema" and got.shape == (5, 1, 28, 28)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(got, G.decode(z))            # a sample is the decoder's mean at z ~ N(0, I)
