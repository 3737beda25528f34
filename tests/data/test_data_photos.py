"""Tests for synthlib.data.photos: offline, CPU, a few seconds.

The .deb reader runs on tiny packages built here (an ar archive holding data.tar.xz); the loaders
and RandomCrops run on a fake prepared folder (MANIFEST.json + a few PNGs in the real layout).
The checks on the real pictures run when ``python -m synthlib data`` has set them up; without them
they are skipped, except under CI (``CI=true``), where a skip would hide a broken set-up.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.data import CorruptDataError, DataNotFoundError
from synthlib.data import crops as crops_mod
from synthlib.data import debs as debs_mod
from synthlib.data import photo_catalogue as photo_catalogue_mod
from synthlib.data import photos as ph

# ----------------------------------------------------------------------------------------------
# Building tiny .deb files
# ----------------------------------------------------------------------------------------------


def _tar(files: dict[str, bytes], compression: str = "xz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _ar(members: dict[str, bytes]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}".encode() + b"`\n"
        assert len(header) == 60
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def _deb(path: Path, files: dict[str, bytes], payload: str = "data.tar.xz") -> Path:
    compression = {"data.tar.xz": "xz", "data.tar.gz": "gz", "data.tar.bz2": "bz2"}.get(payload, "xz")
    path.write_bytes(_ar({
        "debian-binary": b"2.0\n",
        "control.tar.xz": _tar({"./control": b"Package: fake\n"}),
        payload: _tar(files, compression),
    }))  # fmt: skip
    return path


FILES = {"./usr/share/fake/a.txt": b"alpha" * 3, "./usr/share/fake/b.bin": bytes(range(7))}  # odd sizes: padding


@pytest.mark.parametrize("payload", ["data.tar.xz", "data.tar.gz"])
def test_extract_deb_members_takes_only_what_is_asked(tmp_path: Path, payload: str) -> None:
    deb = _deb(tmp_path / "fake_1.0_all.deb", FILES, payload)
    out = tmp_path / "out"
    debs_mod.extract_deb_members(deb, {"usr/share/fake/b.bin": out / "b"})
    assert (out / "b").read_bytes() == bytes(range(7))
    assert sorted(p.name for p in out.iterdir()) == ["b"]  # a.txt was not written anywhere
    assert not (tmp_path / "usr").exists()


def test_ar_members_are_listed_with_padding(tmp_path: Path) -> None:
    deb = _deb(tmp_path / "fake.deb", FILES)
    with open(deb, "rb") as f:
        names = [name for name, _, _ in debs_mod.iter_ar_members(f, deb)]
    assert names == ["debian-binary", "control.tar.xz", "data.tar.xz"]


def test_extract_rejects_a_file_that_is_not_a_deb(tmp_path: Path) -> None:
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(CorruptDataError, match=r"not a \.deb"):
        debs_mod.extract_deb_members(bad, {"usr/share/fake/a.txt": tmp_path / "a"})


def test_extract_names_every_missing_member(tmp_path: Path) -> None:
    deb = _deb(tmp_path / "fake.deb", FILES)
    wanted = {"usr/share/fake/a.txt": tmp_path / "a", "usr/share/fake/nope.jpg": tmp_path / "n",
              "usr/share/other.png": tmp_path / "o"}  # fmt: skip
    with pytest.raises(CorruptDataError, match="usr/share/fake/nope.jpg, usr/share/other.png"):
        debs_mod.extract_deb_members(deb, wanted)


def test_extract_refuses_zstd_payload_clearly(tmp_path: Path) -> None:
    deb = tmp_path / "ubuntu.deb"
    deb.write_bytes(_ar({"debian-binary": b"2.0\n", "data.tar.zst": b"\x28\xb5\x2f\xfd"}))
    with pytest.raises(CorruptDataError, match="zstd"):
        debs_mod.extract_deb_members(deb, {"usr/a": tmp_path / "a"})


def test_extract_reports_a_truncated_payload(tmp_path: Path) -> None:
    payload = _tar({"./usr/big.bin": os.urandom(20000)})
    deb = tmp_path / "cut.deb"
    deb.write_bytes(_ar({"debian-binary": b"2.0\n", "data.tar.xz": payload[: len(payload) // 2]}))
    with pytest.raises(CorruptDataError, match="cannot unpack data.tar.xz"):
        debs_mod.extract_deb_members(deb, {"usr/big.bin": tmp_path / "big"})


def test_deb_with_wrong_checksum_names_both_hashes(tmp_path: Path) -> None:
    """prepare_photos checks each .deb before unpacking anything and leaves no folder behind."""
    pkg = debs_mod.DEB_PACKAGES["opencv-doc"]
    debs = tmp_path / "debs"
    debs.mkdir()
    fake = _deb(debs / pkg.apt_filename, FILES)
    actual = hashlib.sha256(fake.read_bytes()).hexdigest()
    cache = tmp_path / "photos"
    with pytest.raises(CorruptDataError) as err:
        ph.prepare_photos(cache_dir=cache, debs_dir=debs, apt_get=None)
    assert pkg.sha256 in str(err.value) and actual in str(err.value)
    assert "apt-get download opencv-doc=4.6.0+dfsg-12" in str(err.value)  # says what to do
    assert fake.is_file()  # a file we were given is never deleted
    assert not cache.exists()


def test_debs_are_found_under_apt_and_pool_names(tmp_path: Path) -> None:
    pkg = debs_mod.DEB_PACKAGES["plasma-workspace-wallpapers"]
    assert pkg.apt_filename == "plasma-workspace-wallpapers_4%3a5.27.5-2_all.deb"
    assert pkg.pool_filename == "plasma-workspace-wallpapers_5.27.5-2_all.deb"
    (tmp_path / pkg.pool_filename).write_bytes(b"x")
    path, downloaded = debs_mod.fetch_deb(pkg, tmp_path / "dl", debs_dir=tmp_path, apt_get=None, mirrors=())
    assert path == tmp_path / pkg.pool_filename and not downloaded


# ----------------------------------------------------------------------------------------------
# The catalogue
# ----------------------------------------------------------------------------------------------


def test_catalogue_is_sane() -> None:
    names = [p.name for p in photo_catalogue_mod.CATALOGUE]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in names)
    for p in photo_catalogue_mod.CATALOGUE:
        assert p.role in ph.ROLES
        assert re.fullmatch(r"[0-9a-f]{64}", p.sha256), p.name
        assert p.license and p.credit, p.name
        assert p.source in debs_mod.DEB_PACKAGES or p.source in ph.PIP_SOURCES
        assert not p.member.startswith(("/", "./")) and ".." not in p.member
    by_role = {r: set(ph.photo_names(r)) for r in ph.ROLES}  # type: ignore[arg-type]
    assert sum(map(len, by_role.values())) == len(names)  # every picture has exactly one role
    assert not by_role["heldout"] & by_role["train"]
    # more training photos for the course weights' long runs: none held out, all MATE's nature photographs
    assert len(by_role["train_more"]) == 12 and not by_role["heldout"] & by_role["train_more"]
    assert {photo_catalogue_mod._BY_NAME[n].source for n in by_role["train_more"]} == {"mate-backgrounds"}
    # the course weights' long runs read both training roles, the chapters' first, and nothing else
    assert ph.training_photo_names() == ph.photo_names("train") + ph.photo_names("train_more")
    assert len(ph.training_photo_names()) == 38
    assert not by_role["style_heldout"] & by_role["style"]
    assert {"starry_night", "autumn"} == by_role["style_heldout"]
    assert {"astronaut", "coffee", "chelsea", "rocket", "grace_hopper"} <= by_role["heldout"]
    members = [(p.source, p.member) for p in photo_catalogue_mod.CATALOGUE]
    assert len(members) == len(set(members))  # no file is used twice under two names
    for pkg in debs_mod.DEB_PACKAGES.values():
        assert re.fullmatch(r"[0-9a-f]{64}", pkg.sha256) and pkg.pool_path.endswith(pkg.pool_filename)


def test_photo_info_and_names() -> None:
    info = ph.photo_info("starry_night")
    assert info["source"] == "opencv-doc" and info["version"] == "4.6.0+dfsg-12"
    assert info["license"] == "public domain" and info["crop"] == list(photo_catalogue_mod.STARRY_NIGHT_CROP)
    assert ph.photo_names()[: len(ph.photo_names("train"))] == ph.photo_names("train")
    with pytest.raises(ValueError, match="allowed values"):
        ph.photo_names("test")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# Loaders on a fake prepared folder
# ----------------------------------------------------------------------------------------------


def _fake_prepared(root: Path, sizes: dict[str, tuple[str, int, int]]) -> Path:
    """MANIFEST.json + PNGs in the real layout; ``sizes``: name -> (role, width, height)."""
    rng = np.random.default_rng(0)
    entries = []
    for name, (role, w, h) in sizes.items():
        rel = f"{role}/{name}.png"
        (root / role).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / rel)
        data = (root / rel).read_bytes()
        entries.append({"name": name, "role": role, "file": rel, "width": w, "height": h, "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
    (root / ph.MANIFEST_FILE).write_text(json.dumps({"format": 1, "photos": entries}))
    return root


def test_loaders_say_how_to_set_up(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"python -m synthlib data.*make data"):
        ph.load_photo("astronaut", cache_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="SYNTHLIB_DEBS"):
        ph.load_photos("heldout", 64, cache_dir=tmp_path)
    with pytest.raises(DataNotFoundError):
        crops_mod.RandomCrops("train", cache_dir=tmp_path)


def test_unknown_name_lists_close_matches(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown photo 'stary_night'; did you mean 'starry_night'") as err:
        ph.load_photo("stary_night", cache_dir=tmp_path)  # fails before looking for data
    assert "valid names:" in str(err.value) and "grace_hopper" in str(err.value)


def test_load_photo_sizes_and_range(tmp_path: Path) -> None:
    root = _fake_prepared(tmp_path, {"aero1": ("train", 90, 60), "astronaut": ("heldout", 40, 50)})
    x = ph.load_photo("aero1", cache_dir=root)
    assert x.shape == (3, 60, 90) and x.dtype == torch.float32 and -1 <= x.min() and x.max() <= 1
    assert ph.load_photo("aero1", 30, cache_dir=root).shape == (3, 30, 45)  # shorter side = size
    assert ph.load_photo("aero1", 30, square=True, cache_dir=root).shape == (3, 30, 30)
    assert ph.load_photo("aero1", square=True, cache_dir=root).shape == (3, 60, 60)
    assert ph.load_photos("heldout", 32, cache_dir=root).shape == (1, 3, 32, 32)
    assert [t.shape for t in ph.load_photos("train", 30, square=False, cache_dir=root)] == [(3, 30, 45)]
    with pytest.raises(DataNotFoundError, match="older catalogue"):
        ph.load_photo("coffee", cache_dir=root)  # a catalogue name the manifest lacks


def test_load_photo_notices_an_altered_file(tmp_path: Path) -> None:
    root = _fake_prepared(tmp_path, {"aero1": ("train", 20, 20)})
    with open(root / "train/aero1.png", "ab") as f:
        f.write(b"junk")
    with pytest.raises(CorruptDataError, match="altered or damaged"):
        ph.load_photo("aero1", cache_dir=root)
    with pytest.raises(CorruptDataError, match="aero1.png"):
        ph.verify_photos(root)


def test_random_crops(tmp_path: Path) -> None:
    root = _fake_prepared(tmp_path, {"a": ("train", 120, 80), "b": ("train", 70, 100), "c": ("heldout", 50, 50)})
    ds = crops_mod.RandomCrops("train", crop=32, n=50, scale=(0.3, 1.0), seed=3, max_short_side=64, cache_dir=root)
    assert len(ds) == 50 and ds.names == ["a", "b"]
    assert [tuple(im.shape) for im in ds.images] == [(3, 64, 96), (3, 91, 64)]  # shorter side capped, uint8
    assert all(im.dtype == torch.uint8 for im in ds.images)
    x = ds[7]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, ds[7])  # deterministic in (seed, i) ...
    same = crops_mod.RandomCrops("train", crop=32, n=50, scale=(0.3, 1.0), seed=3, max_short_side=64, cache_dir=root)
    assert torch.equal(x, same[7])  # ... across instances (DataLoader workers, resumed runs)
    assert not torch.equal(ds[7], ds[8])
    other = crops_mod.RandomCrops("train", crop=32, n=50, scale=(0.3, 1.0), seed=4, max_short_side=64, cache_dir=root)
    assert not torch.equal(x, other[7])
    assert {ds.params(i)[0] for i in range(50)} == {0, 1}  # both pictures are drawn
    assert any(ds.params(i)[4] for i in range(50)) and not all(ds.params(i)[4] for i in range(50))
    with pytest.raises(IndexError):
        ds[50]


def test_random_crops_log_scale_draws_fine_and_coarse_sides_alike(tmp_path: Path) -> None:
    root = _fake_prepared(tmp_path, {"a": ("train", 400, 400)})
    kw = dict(crop=8, n=4000, scale=(1 / 16, 1.0), seed=0, max_short_side=400, cache_dir=root)
    uniform = crops_mod.RandomCrops("train", **kw)
    log = crops_mod.RandomCrops("train", log_scale=True, **kw)
    u = np.array([uniform.params(i)[3] for i in range(4000)]) / 400
    v = np.array([log.params(i)[3] for i in range(4000)]) / 400
    assert 1 / 16 - 0.01 <= v.min() and v.max() <= 1.0
    # log-uniform: each factor of two of the range holds a quarter of the crops; uniform puts half above 1/2
    quarters = [np.mean((lo <= v) & (v < 2 * lo)) for lo in (1 / 16, 1 / 8, 1 / 4, 1 / 2)]
    assert all(abs(q - 0.25) < 0.04 for q in quarters), quarters
    assert np.mean(u >= 0.5) > 0.5 and np.mean(v >= 0.5) < 0.3
    for i in range(20):  # the default draw is still the plain uniform one (earlier runs resume with the same crops)
        rng = np.random.default_rng((0, i))
        rng.integers(1)  # the picture
        assert uniform.params(i)[3] == round(rng.uniform(1 / 16, 1.0) * 400)


def test_random_crops_can_refuse_to_enlarge(tmp_path: Path) -> None:
    """enlarge=False: a square drawn smaller than the crop is widened to the crop (no blurred targets for
    super-resolution); the rest of the draw (picture, larger sides) is unchanged, and a picture smaller than the crop
    gives its whole shorter side."""
    root = _fake_prepared(tmp_path, {"a": ("train", 400, 300), "b": ("train", 20, 30)})
    kw = dict(crop=64, n=2000, scale=(0.04, 1.0), log_scale=True, seed=0, max_short_side=400, cache_dir=root)
    blurred, native = crops_mod.RandomCrops("train", **kw), crops_mod.RandomCrops("train", enlarge=False, **kw)
    sides = []  # the default's sides on the large picture
    for i in range(2000):
        (k, _, _, side, _), (k2, top, left, side2, _) = blurred.params(i), native.params(i)
        short = min(native.images[k].shape[1:])
        assert k == k2 and side2 == min(short, max(side, 64)), (i, side, side2)
        assert 0 <= top <= native.images[k].shape[1] - side2 and 0 <= left <= native.images[k].shape[2] - side2
        if k == 0:
            sides.append(side)
    sides = np.array(sides)
    assert np.mean(sides < 64) > 0.2  # the default enlarges a good share of the crops at this scale range
    assert native[5].shape == (3, 64, 64)


def test_crop_batches_resume_exactly(tmp_path: Path) -> None:
    root = _fake_prepared(tmp_path, {"a": ("train", 60, 40)})
    ds = crops_mod.content_crops(crop=16, n=10, seed=1, cache_dir=root)
    it = ds.batches(4)
    first, second = next(it), next(it)
    state = it.state_dict()
    third = next(it)
    assert first.shape == (4, 3, 16, 16)
    assert torch.equal(second[0], ds.sample(4)) and torch.equal(third[3], ds.sample(11))  # crop k*B+j; past n too
    resumed = ds.batches(4)
    resumed.load_state_dict(state)
    assert torch.equal(next(resumed), third)
    with pytest.raises(ValueError, match="batch_size"):
        ds.batches(5).load_state_dict(it.state_dict())


# ----------------------------------------------------------------------------------------------
# The real pictures, when set up
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def real_root() -> Path:
    root = ph.photos_dir()
    if not (root / ph.MANIFEST_FILE).is_file():
        reason = f"photographs not set up in {root} (run `python -m synthlib data`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must test the real photographs: {reason}", pytrace=False)
        pytest.skip(reason)
    return root


def test_real_pngs_match_the_manifest(real_root: Path) -> None:
    assert ph.verify_photos(real_root) == len(photo_catalogue_mod.CATALOGUE)
    manifest = json.loads((real_root / ph.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert [p["name"] for p in manifest["photos"]] == ph.photo_names()
    assert all(max(p["width"], p["height"]) <= manifest["max_side"] for p in manifest["photos"])
    assert (real_root / ph.ATTRIBUTION_FILE).is_file()


def test_real_starry_night_has_no_black_frame(real_root: Path) -> None:
    x = ph.load_photo("starry_night", cache_dir=real_root)
    assert x.shape == (3, 566, 710)
    for side in (x[:, :3], x[:, -3:], x[:, :, :3], x[:, :, -3:]):  # outer 3 pixels of each side
        assert side.mean() > -0.75, "a black frame is left around the painting"
