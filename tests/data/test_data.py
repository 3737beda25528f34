"""Tests for synthlib.data: offline, CPU, a few seconds."""

from __future__ import annotations

import gzip
import math
import shutil
from pathlib import Path

import pytest
import torch

from synthlib import data
from synthlib.data import (
    FASHION_MNIST_CLASSES,
    CorruptDataError,
    DataNotFoundError,
    Grid2D,
    Mixture1D,
    Ring2D,
    TensorBatches,
    ToyBatches,
    fashion,
    from_uint8,
    from_unit,
    load_fashion_mnist,
    read_idx,
    to_uint8,
    to_unit,
    toy_distribution,
)

DEBIAN = data.DEBIAN_FASHION_MNIST_DIR
needs_debian = pytest.mark.skipif(
    not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed (sudo apt-get install dataset-fashion-mnist)",
)


def write_idx(path: Path, array: torch.Tensor, compress: bool = False) -> None:
    """Write a uint8 tensor as an IDX file (test helper)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(s.to_bytes(4, "big") for s in array.shape)
    raw = header + array.contiguous().numpy().tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty data dir, empty 'Debian' dir, and a torchvision download that fails (no network)."""
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setattr(fashion, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "debian")
    import torchvision.datasets

    def no_download(*args, **kwargs):
        raise RuntimeError("offline test: download refused")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", no_download)
    return tmp_path


# --- pixel helpers ------------------------------------------------------------------------------


def test_pixel_helpers_round_trip():
    x = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    y = from_uint8(x)
    assert y.dtype == torch.float32 and y.min() == -1 and y.max() == 1
    assert torch.equal(to_uint8(y), x)
    assert torch.equal(to_uint8(from_unit(to_unit(y))), x)
    assert torch.equal(to_uint8(torch.tensor([-3.0, 3.0])), torch.tensor([0, 255], dtype=torch.uint8))
    assert to_unit(torch.tensor([-2.0, 0.0, 2.0])).tolist() == [0.0, 0.5, 1.0]


def test_pixel_helpers_reject_wrong_dtype():
    with pytest.raises(TypeError, match="uint8"):
        from_uint8(torch.zeros(2))
    with pytest.raises(TypeError, match="from_uint8"):
        to_uint8(torch.zeros(2, dtype=torch.uint8))
    with pytest.raises(TypeError):
        to_unit(torch.zeros(2, dtype=torch.int64))


def test_resize_and_pad():
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    y = data.resize(x, 32)
    assert y.shape == (3, 1, 32, 32) and y.min() >= -1 and y.max() <= 1
    assert data.resize(x, 14).shape == (3, 1, 14, 14)
    p = data.pad_to(x, 32)
    assert p.shape == (3, 1, 32, 32) and torch.equal(p[..., 2:30, 2:30], x) and (p[..., 0, :] == -1).all()
    with pytest.raises(ValueError, match="N x C x H x W"):
        data.resize(torch.zeros(28, 28), 32)


# --- IDX reader ---------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx(tmp_path, compress):
    a = torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8)
    write_idx(tmp_path / "a", a, compress)
    assert torch.equal(read_idx(tmp_path / "a"), a)


def test_corrupt_idx_is_a_clear_error(tmp_path):
    a = torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8)
    write_idx(tmp_path / "a", a)
    truncated = tmp_path / "truncated-idx3-ubyte"
    truncated.write_bytes((tmp_path / "a").read_bytes()[:-7])
    with pytest.raises(CorruptDataError, match="truncated-idx3-ubyte.*truncated"):
        read_idx(truncated)
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(CorruptDataError, match="bad magic"):
        read_idx(bad_magic)
    bad_gz = tmp_path / "bad.gz"
    bad_gz.write_bytes(gzip.compress((tmp_path / "a").read_bytes())[:30])
    with pytest.raises(CorruptDataError, match="bad.gz"):
        read_idx(bad_gz)


# --- Fashion-MNIST ------------------------------------------------------------------------------


@needs_debian
def test_fashion_mnist_from_debian(isolated, monkeypatch):
    monkeypatch.setattr(fashion, "DEBIAN_FASHION_MNIST_DIR", DEBIAN)
    assert "Debian" in data.fashion_mnist_source()
    for split, n in (("train", 60000), ("test", 10000)):
        x, y = load_fashion_mnist(split, download=False)
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32
        assert x.min() == -1 and x.max() == 1
        assert y.shape == (n,) and y.dtype == torch.int64
        assert torch.equal(torch.bincount(y, minlength=10), torch.full((10,), n // 10))
    assert len(FASHION_MNIST_CLASSES) == 10
    # cached: a second call is cheap and returns fresh tensors
    x2, _ = load_fashion_mnist("test", download=False)
    x2.zero_()
    assert load_fashion_mnist("test", download=False)[0].min() == -1


@needs_debian
def test_data_dir_takes_precedence(isolated, monkeypatch):
    monkeypatch.setattr(fashion, "DEBIAN_FASHION_MNIST_DIR", DEBIAN)
    raw = isolated / "data" / "FashionMNIST" / "raw"
    # a real copy, uncompressed (torchvision's layout), is found before the Debian files
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        raw.mkdir(parents=True, exist_ok=True)
        with gzip.open(DEBIAN / f"{name}.gz") as src, open(raw / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    assert str(raw) in data.fashion_mnist_source("test")
    x, y = load_fashion_mnist("test", download=False)
    assert x.shape == (10000, 1, 28, 28) and y.shape == (10000,)
    # a tiny fake set there is still read first, and rejected with a message naming the file
    write_idx(raw / "t10k-images-idx3-ubyte", torch.zeros(2, 28, 28, dtype=torch.uint8))
    write_idx(raw / "t10k-labels-idx1-ubyte", torch.zeros(2, dtype=torch.uint8))
    with pytest.raises(CorruptDataError, match=r"t10k-images-idx3-ubyte.*expected \(10000, 28, 28\)"):
        load_fashion_mnist("test", download=False)


def test_checksum_mismatch_names_file(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", torch.zeros(10000, 28, 28, dtype=torch.uint8), compress=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", torch.zeros(10000, dtype=torch.uint8), compress=True)
    with pytest.raises(CorruptDataError, match="t10k-images-idx3-ubyte.gz: SHA-256.*python -m synthlib data"):
        load_fashion_mnist("test", download=False, search_dirs=[tmp_path])


@pytest.mark.parametrize("download", [True, False])
def test_not_found_names_all_three_ways(isolated, download):
    with pytest.raises(DataNotFoundError) as info:
        load_fashion_mnist("train", download=download)
    msg = str(info.value)
    assert str(isolated / "data" / "FashionMNIST" / "raw") in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "python -m synthlib data" in msg and "internet" in msg
    if download:
        assert "download refused" in msg
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(DataNotFoundError):
        data.fashion_mnist_source()


@needs_debian
def test_prepare_when_present(isolated, monkeypatch, capsys):
    monkeypatch.setattr(fashion, "DEBIAN_FASHION_MNIST_DIR", DEBIAN)
    assert data.prepare_fashion_mnist(allow_apt=False) == DEBIAN
    assert "already present" in capsys.readouterr().out


def test_paths(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    assert data.data_dir() == data.project_root() / "data"
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    assert data.data_dir() == tmp_path


# --- TensorBatches ------------------------------------------------------------------------------


def test_tensor_batches_cover_each_epoch_once():
    x = torch.arange(10, dtype=torch.uint8)
    y = torch.arange(10) * 2
    it = TensorBatches(x, y, batch_size=3, seed=1)
    assert len(it) == 3
    for epoch in range(3):
        seen = []
        for _ in range(len(it)):
            bx, by = next(it)
            assert bx.dtype == torch.uint8 and torch.equal(by, bx.long() * 2)
            seen += bx.tolist()
        assert len(seen) == len(set(seen)) == 9  # drop_last: 9 of 10, no repeats
        assert it.epoch == epoch + 1
    full = TensorBatches(x, batch_size=4, drop_last=False)
    assert len(full) == 3
    assert sorted(torch.cat([next(full) for _ in range(3)]).tolist()) == list(range(10))


def test_tensor_batches_transform_and_single_tensor():
    x = torch.full((6, 1, 2, 2), 255, dtype=torch.uint8)
    bx, by = next(TensorBatches(x, torch.zeros(6), batch_size=2, transform=from_uint8))
    assert bx.dtype == torch.float32 and (bx == 1).all() and by.shape == (2,)
    assert isinstance(next(TensorBatches(x, batch_size=2)), torch.Tensor)


def test_tensor_batches_resume_exactly(tmp_path):
    x = torch.arange(50)
    reference = TensorBatches(x, batch_size=8, seed=3)
    expected = [next(reference) for _ in range(20)]  # crosses several epochs

    run = TensorBatches(x, batch_size=8, seed=3)
    first = [next(run) for _ in range(9)]  # stop mid-epoch
    torch.save(run.state_dict(), tmp_path / "ckpt.pt")
    resumed = TensorBatches(x, batch_size=8, seed=99)  # seed is overwritten by the state
    resumed.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=True))
    assert resumed.epoch == run.epoch
    rest = [next(resumed) for _ in range(11)]
    assert all(torch.equal(a, b) for a, b in zip(first + rest, expected))
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches(x, batch_size=5).load_state_dict(run.state_dict())


# --- toy distributions --------------------------------------------------------------------------


@pytest.mark.parametrize("dist", [Ring2D(), Grid2D(), Mixture1D([-2.0, 1.0], [0.3, 0.3])], ids=repr)
def test_toy_sample_statistics(dist):
    g = torch.Generator().manual_seed(0)
    x = dist.sample(20000, generator=g)
    assert x.shape == (20000, dist.dim)
    nearest = torch.cdist(x, dist.means).argmin(1)  # modes are far apart: assign each sample to one
    resid = x - dist.means[nearest]
    assert resid.mean(0).abs().max() < 0.02
    assert abs(resid.std().item() - dist.std) < 0.05 * dist.std
    counts = torch.bincount(nearest, minlength=len(dist.means)).float() / len(x)
    assert (counts - dist.weights).abs().max() < 0.02
    # same generator seed -> same samples
    a, b = (dist.sample(5, generator=torch.Generator().manual_seed(1)) for _ in range(2))
    assert torch.equal(a, b)


def test_log_prob_integrates_to_one_1d():
    dist = Mixture1D([-1.0, 2.0], [0.2, 0.5], weights=[0.3, 0.7])
    t = torch.linspace(-6, 8, 14001)
    total = torch.trapezoid(dist.pdf(t).double(), t.double())
    assert abs(total.item() - 1) < 1e-4
    exact = 0.3 * math.exp(-0.5 * (0.5 / 0.2) ** 2) / (0.2 * math.sqrt(2 * math.pi)) + 0.7 * math.exp(
        -0.5 * (2.5 / 0.5) ** 2
    ) / (0.5 * math.sqrt(2 * math.pi))
    assert math.isclose(dist.pdf(torch.tensor([-0.5])).item(), exact, rel_tol=1e-5)


@pytest.mark.parametrize(
    "dist", [Ring2D(num_modes=6, radius=1.5, std=0.1), Grid2D(side=3, spacing=1.0, std=0.1)], ids=repr
)
def test_log_prob_integrates_to_one_2d(dist):
    step = 0.02
    t = torch.arange(-2.5, 2.5 + step / 2, step)
    xy = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    total = dist.log_prob(xy).double().exp().sum() * step**2
    assert abs(total.item() - 1) < 1e-3


def test_toy_factory_and_batches():
    assert isinstance(toy_distribution("ring", num_modes=4), Ring2D)
    assert len(toy_distribution("grid").means) == 25
    assert toy_distribution("mixture1d", means=[0.0], stds=[1.0]).dim == 1
    with pytest.raises(ValueError, match="'ring', 'grid', 'mixture1d'"):
        toy_distribution("spiral")

    batches = ToyBatches(Ring2D(), batch_size=16, seed=5)
    next(batches)
    state = batches.state_dict()
    expected = [next(batches) for _ in range(3)]
    resumed = ToyBatches(Ring2D(), batch_size=16, seed=0)
    resumed.load_state_dict(state)
    assert all(torch.equal(a, next(resumed)) for a in expected)
