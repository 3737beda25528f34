"""Tests for synthlib.data.emoji and synthlib.data.folders: offline, CPU, a few seconds.

The fetch -> verify -> unpack -> cache path runs on tiny tarballs written here in the npm layout
(``package/emoji.json`` + ``package/img/<set>/64/*.png``) with injected checksums, through all three
sources: a tarball folder, a fake ``npm`` on the command line, and a ``file://`` URL for the HTTPS
fallback. The split checks also run on the real data when ``python -m synthlib data`` has set it up;
without it they are skipped, except under CI (``CI=true``), where a skip would hide a broken set-up.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.data import (
    CorruptDataError,
    DataNotFoundError,
    EmojiPairs,
    PairedImageFolder,
    UnpairedImageFolders,
    download_cyclegan_dataset,
    download_pix2pix_dataset,
    emoji_unpaired,
    is_test_emoji,
    load_emoji,
    load_emoji_uint8,
    prepare_emoji,
)
from synthlib.data import emoji as emoji_mod
from synthlib.data import emoji_fetch as emoji_fetch_mod
from synthlib.data import folders as folders_mod
from synthlib.data.emoji import unpaired_halves
from synthlib.data.emoji_fetch import composite_on_white, tarball_name

# ----------------------------------------------------------------------------------------------
# The split rule on synthetic codes
# ----------------------------------------------------------------------------------------------


def test_split_rule_is_the_published_hash() -> None:
    for code in ("1F600", "1F608", "1F385", "2764-FE0F"):
        expected = int(hashlib.sha256(code.encode()).hexdigest(), 16) % 10 == 0
        assert is_test_emoji(code) is expected
        assert is_test_emoji(code.lower()) is expected  # case does not matter
    # Pinned values: a change of rule would silently move emoji between train and test.
    assert [is_test_emoji(c) for c in ("1F600", "1F601", "1F608", "1F60D")] == [False, False, True, True]


def test_split_rule_takes_about_ten_percent() -> None:
    codes = [f"{0x1F000 + i:04X}" for i in range(5000)]
    share = sum(map(is_test_emoji, codes)) / len(codes)
    assert 0.085 < share < 0.115


def test_split_indices_variants_follow_their_base() -> None:
    bases = ["1F600", "1F600", "1F608", "1F608", "1F601"]  # 1F608 is a test base, the others train
    assert emoji_mod._split_indices(bases, "test") == [2, 3]
    assert emoji_mod._split_indices(bases, "train") == [0, 1, 4]
    assert emoji_mod._split_indices(bases, "all") == [0, 1, 2, 3, 4]


def test_unpaired_halves_alternate_sorted_bases() -> None:
    bases = ["1F602", "1F600", "1F600", "1F601", "1F603", "1F601"]
    a, b = unpaired_halves(bases)
    # sorted distinct bases: 1F600 (A), 1F601 (B), 1F602 (A), 1F603 (B); variants follow their base
    assert a == [0, 1, 2] and b == [3, 4, 5]


# ----------------------------------------------------------------------------------------------
# Compositing on white
# ----------------------------------------------------------------------------------------------


def test_composite_on_white_pixels() -> None:
    #           transparent black, opaque colour,     half-alpha black, half-alpha colour
    rgba = torch.tensor([[0, 0, 0, 0], [10, 200, 30, 255], [0, 0, 0, 128], [200, 100, 0, 128]], dtype=torch.uint8)
    out = composite_on_white(rgba.T.reshape(1, 4, 1, 4))  # 1 x 4 x 1 x 4: four pixels in a row
    pixels = out[0, :, 0, :].T.tolist()
    assert pixels[0] == [255, 255, 255]  # fully transparent -> white, whatever colour it stored
    assert pixels[1] == [10, 200, 30]  # opaque keeps its colour
    assert pixels[2] == [127, 127, 127]  # 255 * (1 - 128/255) = 127
    assert pixels[3] == [227, 177, 127]  # 200*128/255 + 127 = 227.4 ...


def test_composite_on_white_matches_float_formula() -> None:
    g = torch.Generator().manual_seed(0)
    rgba = torch.randint(0, 256, (3, 4, 8, 8), generator=g, dtype=torch.uint8)
    x = rgba.double() / 255
    expected = (x[:, :3] * x[:, 3:] + (1 - x[:, 3:])).mul(255).round().to(torch.uint8)
    assert torch.equal(composite_on_white(rgba), expected)
    with pytest.raises(ValueError, match="RGBA"):
        composite_on_white(rgba[:, :3])


# ----------------------------------------------------------------------------------------------
# Tiny npm tarballs: fetch, verify, unpack, cache
# ----------------------------------------------------------------------------------------------

TONE = {"1F3FB": "light", "1F3FC": "medium-light"}


def _entry(code: str, name: str, short: str, category: str, google: bool = True, twitter: bool = True,
           variants: dict[str, tuple[bool, bool]] | None = None) -> dict[str, Any]:  # fmt: skip
    e: dict[str, Any] = {"unified": code, "name": name, "short_name": short, "category": category,
                         "image": f"{code.lower()}.png", "has_img_google": google,
                         "has_img_twitter": twitter}  # fmt: skip
    if variants:
        e["skin_variations"] = {
            tone: {"unified": f"{code}-{tone}", "image": f"{code.lower()}-{tone.lower()}.png",
                   "has_img_google": g, "has_img_twitter": t}  # fmt: skip
            for tone, (g, t) in variants.items()
        }
    return e


# 1F600..1F603 are train bases, 1F608 and 1F60D test bases (see the pinned values above).
META = [
    _entry("1F601", "GRINNING FACE WITH SMILING EYES", "grin", "Smileys & Emotion"),
    _entry("1F600", "GRINNING FACE", "grinning", "Smileys & Emotion",
           variants={"1F3FB": (True, True), "1F3FC": (False, True)}),  # 1F3FC: no Google image -> left out
    _entry("1F602", "FACE WITH TEARS OF JOY", "joy", "Smileys & Emotion"),
    _entry("1F603", "SMILING FACE WITH OPEN MOUTH", "smiley", "Smileys & Emotion"),
    _entry("1F604", "NO TWITTER IMAGE", "nope", "Smileys & Emotion", twitter=False),  # left out
    _entry("1F608", "SMILING FACE WITH HORNS", "smiling_imp", "Smileys & Emotion", variants={"1F3FB": (True, True)}),
    _entry("1F60D", "SMILING FACE WITH HEART-SHAPED EYES", "heart_eyes", "Smileys & Emotion"),
]  # fmt: skip
PAIRED = ["1F600", "1F600-1F3FB", "1F601", "1F602", "1F603", "1F608", "1F608-1F3FB", "1F60D"]  # sorted


def _colour(set_name: str, code: str) -> tuple[int, int, int]:
    """A distinct opaque colour per (set, emoji), so the tests can tell every image apart."""
    h = hashlib.sha256(f"{set_name}/{code}".encode()).digest()
    return h[0], h[1], h[2]


def _png(set_name: str, code: str) -> bytes:
    """64x64 RGBA: top half opaque colour, bottom half fully transparent (stored as black)."""
    a = np.zeros((64, 64, 4), dtype=np.uint8)
    a[:32, :, :3] = _colour(set_name, code)
    a[:32, :, 3] = 255
    buf = io.BytesIO()
    Image.fromarray(a, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def write_npm_tarball(folder: Path, set_name: str) -> Path:
    """An npm-layout tarball with images for every has_img_<set> entry of META, plus files to skip."""
    path = folder / tarball_name(set_name)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        _add(tf, "package/package.json", b'{"name": "fake"}')
        _add(tf, "package/emoji.json", json.dumps(META).encode())
        for e in META:
            records = [e, *e.get("skin_variations", {}).values()]
            for r in records:
                if r[f"has_img_{set_name}"]:
                    _add(tf, f"package/img/{set_name}/64/{r['image']}", _png(set_name, r["unified"]))
                    _add(tf, f"package/img/{set_name}/32/{r['image']}", b"not unpacked")
        _add(tf, f"package/img/{set_name}/64/../../../escape.png", b"must not be written anywhere")
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tarballs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("tarballs")
    sums = {s: sha(write_npm_tarball(folder, s)) for s in ("google", "twitter")}
    return folder, sums


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, tarballs: tuple[Path, dict[str, str]]) -> Path:
    folder, sums = tarballs
    root = tmp_path_factory.mktemp("data") / "emoji"
    assert prepare_emoji(cache_dir=root, tarball_dir=folder, checksums=sums) == root
    return root


def test_prepare_unpacks_only_what_it_needs(prepared: Path, tarballs: tuple[Path, dict[str, str]]) -> None:
    for s in ("google", "twitter"):
        assert json.loads((prepared / s / "emoji.json").read_text()) == META
        pngs = sorted(p.name for p in (prepared / s / "64").iterdir())
        assert len(pngs) == 9  # Google also has 1F604, Twitter 1F600-1F3FC: unpacked, but left out of the pairs
        assert not (prepared / s / "32").exists()
    names = sorted(p.name for p in prepared.iterdir())
    assert names == ["ATTRIBUTION", "MANIFEST.json", "emoji64.pt", "google", "twitter"]
    assert not list(prepared.parent.rglob("escape.png"))
    attribution = (prepared / "ATTRIBUTION").read_text()
    assert "Apache" in attribution and "CC-BY 4.0" in attribution and "MIT" in attribution
    manifest = json.loads((prepared / "MANIFEST.json").read_text())
    assert manifest["pairs"] == len(PAIRED) and manifest["sha256"] == tarballs[1]
    assert all((tarballs[0] / tarball_name(s)).is_file() for s in ("google", "twitter"))  # given tarballs stay
    data = torch.load(prepared / "emoji64.pt", weights_only=True)  # a plain dict: safe loading works
    assert data["google"].dtype == torch.uint8 and data["unified"] == PAIRED


def test_prepare_is_idempotent(prepared: Path, tarballs: tuple[Path, dict[str, str]], capsys: Any) -> None:
    before = (prepared / "emoji64.pt").stat().st_mtime_ns
    prepare_emoji(cache_dir=prepared, tarball_dir=tarballs[0] / "nowhere", checksums=tarballs[1])
    assert "already present" in capsys.readouterr().out
    assert (prepared / "emoji64.pt").stat().st_mtime_ns == before


def test_loaded_pairs(prepared: Path) -> None:
    pairs = load_emoji_uint8("all", cache_dir=prepared)
    assert pairs.unified == PAIRED and len(pairs) == 8
    assert pairs.google.shape == pairs.twitter.shape == (8, 3, 64, 64) and pairs.google.dtype == torch.uint8
    for i, code in enumerate(PAIRED):
        for s, images in (("google", pairs.google), ("twitter", pairs.twitter)):
            assert images[i, :, 0, 0].tolist() == list(_colour(s, code))  # opaque half keeps its colour
            assert (images[i, :, 32:] == 255).all()  # transparent half is white
    i = PAIRED.index("1F600-1F3FB")
    assert pairs.base_unified[i] == "1F600"
    assert pairs.name[i] == "GRINNING FACE: LIGHT SKIN TONE" and pairs.short_name[i] == "grinning::skin-tone-2"
    assert pairs.category[i] == "Smileys & Emotion"

    floats = load_emoji("all", cache_dir=prepared)
    assert floats.google.dtype == torch.float32 and floats.google.min() >= -1 and floats.google.max() == 1
    floats.google.zero_()  # callers get copies: the cache is untouched
    assert torch.equal(load_emoji_uint8("all", cache_dir=prepared).google, pairs.google)


def test_synthetic_split_and_unpaired_halves(prepared: Path) -> None:
    train, test = load_emoji_uint8("train", cache_dir=prepared), load_emoji_uint8("test", cache_dir=prepared)
    assert test.unified == ["1F608", "1F608-1F3FB", "1F60D"]  # a variant follows its test base
    assert train.unified == ["1F600", "1F600-1F3FB", "1F601", "1F602", "1F603"]
    unpaired = emoji_unpaired("train", cache_dir=prepared)
    assert unpaired.a_unified == ["1F600", "1F600-1F3FB", "1F602"] and unpaired.b_unified == ["1F601", "1F603"]
    a, b = unpaired
    assert a.shape == (3, 3, 64, 64) and b.shape == (2, 3, 64, 64)
    assert torch.equal(a[2], train.google[3]) and torch.equal(b[1], train.twitter[4])  # A: Google, B: Twitter


def test_index_search(prepared: Path) -> None:
    pairs = load_emoji_uint8("all", cache_dir=prepared)
    assert pairs.index("1F601") == 2 and pairs.index("u+1f601") == 2 and pairs.index("1f600-1f3fb") == 1
    assert pairs.index("\U0001F608") == 5  # the emoji character itself
    assert pairs.index("grinning") == 0  # exact short name beats the substring in "GRINNING FACE WITH ..."
    assert pairs.index("Tears") == 3  # case-insensitive, start of a word
    assert pairs.index("light skin") == 1
    with pytest.raises(ValueError, match="no emoji matches"):
        pairs.index("unicorn")


def test_checksum_mismatch_leaves_nothing(tmp_path: Path, tarballs: tuple[Path, dict[str, str]]) -> None:
    folder, sums = tarballs
    bad = {**sums, "twitter": "0" * 64}
    root = tmp_path / "emoji"
    with pytest.raises(CorruptDataError) as info:
        prepare_emoji(cache_dir=root, tarball_dir=folder, checksums=bad)
    message = str(info.value)
    assert tarball_name("twitter") in message and "0" * 64 in message and sums["twitter"] in message
    assert "Fix:" in message
    assert not root.exists()  # not even an empty folder, let alone half the data
    assert (folder / tarball_name("twitter")).is_file()  # a user's own tarball is never deleted


def test_checksum_mismatch_keeps_previous_data(
    tmp_path: Path, prepared: Path, tarballs: tuple[Path, dict[str, str]]
) -> None:
    import shutil

    root = tmp_path / "emoji"
    shutil.copytree(prepared, root)
    with pytest.raises(CorruptDataError):
        bad = {**tarballs[1], "google": "f" * 64}
        prepare_emoji(cache_dir=root, tarball_dir=tarballs[0], checksums=bad, force=True)
    assert sorted(p.name for p in root.iterdir()) == sorted(p.name for p in prepared.iterdir())  # no staging left
    assert load_emoji_uint8("all", cache_dir=root).unified == PAIRED


def test_missing_tarball_and_missing_data(tmp_path: Path, tarballs: tuple[Path, dict[str, str]]) -> None:
    with pytest.raises(DataNotFoundError, match=tarball_name("google")):
        prepare_emoji(cache_dir=tmp_path / "emoji", tarball_dir=tmp_path, checksums=tarballs[1])
    with pytest.raises(DataNotFoundError, match="python -m synthlib data"):
        load_emoji("train", cache_dir=tmp_path / "emoji")
    with pytest.raises(ValueError, match="split"):
        load_emoji_uint8("valid", cache_dir=tmp_path)  # type: ignore[arg-type]


def test_fetch_with_npm_pack(tmp_path: Path, tarballs: tuple[Path, dict[str, str]], capsys: Any) -> None:
    """A fake `npm` that copies the tarball `npm pack NAME@VERSION` would write into its cwd."""
    folder, sums = tarballs
    npm = tmp_path / "npm"
    npm.write_text(f'#!/bin/sh\n[ "$1" = pack ] || exit 2\nname="${{2%@*}}"; ver="${{2##*@}}"\n'
                   f'cp "{folder}/$name-$ver.tgz" .\n')  # fmt: skip
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    root = tmp_path / "emoji"
    prepare_emoji(cache_dir=root, checksums=sums, npm=str(npm), url_template="file:///nonexistent/{set}")
    assert "npm pack" in capsys.readouterr().out
    assert load_emoji_uint8("all", cache_dir=root).unified == PAIRED
    assert not list(root.glob("*.tgz"))  # downloaded tarballs are deleted by default


def test_fetch_falls_back_to_https_and_keeps(tmp_path: Path, tarballs: tuple[Path, dict[str, str]]) -> None:
    """npm failing -> the registry URL (a file:// URL here, same urllib code path); keep_tarballs keeps them."""
    folder, sums = tarballs
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error network' >&2\nexit 1\n")
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    root = tmp_path / "emoji"
    url = folder.as_uri() + "/emoji-datasource-{set}-{version}.tgz"
    prepare_emoji(cache_dir=root, checksums=sums, npm=str(npm), url_template=url, keep_tarballs=True)
    assert sorted(p.name for p in root.glob("*.tgz")) == [tarball_name("google"), tarball_name("twitter")]
    # a forced rebuild reuses the kept tarballs: no npm, no URL needed
    prepare_emoji(cache_dir=root, checksums=sums, npm=None, url_template="file:///nonexistent/{set}", force=True)
    assert load_emoji_uint8("test", cache_dir=root).unified == ["1F608", "1F608-1F3FB", "1F60D"]


def test_failed_download_says_what_to_do(tmp_path: Path, tarballs: tuple[Path, dict[str, str]]) -> None:
    with pytest.raises(DataNotFoundError, match="SYNTHLIB_EMOJI_TARBALLS"):
        prepare_emoji(cache_dir=tmp_path / "emoji", checksums=tarballs[1], npm=None,
                      url_template="file:///nonexistent/{set}-{version}.tgz")  # fmt: skip
    assert not (tmp_path / "emoji").exists()


# ----------------------------------------------------------------------------------------------
# The real data, when set up
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> EmojiPairs:
    path = emoji_fetch_mod.emoji_dir() / emoji_fetch_mod.CACHE_FILE
    if not path.is_file():
        reason = f"emoji data not set up ({path} missing; run `python -m synthlib data` or `make`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must test the real emoji split: {reason}", pytrace=False)
        pytest.skip(reason)
    return load_emoji_uint8("all")


def test_real_split(real: EmojiPairs) -> None:
    train, test = load_emoji_uint8("train"), load_emoji_uint8("test")
    assert len(train) + len(test) == len(real) > 3000
    assert train.unified == sorted(train.unified) and test.unified == sorted(test.unified)
    assert real.unified == sorted(real.unified) and len(set(real.unified)) == len(real)
    test_bases, train_bases = set(test.base_unified), set(train.base_unified)
    assert not test_bases & train_bases  # no test emoji, in any skin tone, is in train
    assert all(is_test_emoji(b) for b in test.base_unified)
    assert not any(is_test_emoji(b) for b in train.base_unified)
    share = len(test_bases) / (len(test_bases) + len(train_bases))
    assert 0.07 < share < 0.13, share
    # every variant's base is itself a pair; variants carry skin-tone modifiers (not always as a suffix:
    # 1F3C3-1F3FB-200D-2640-FE0F is a variant of 1F3C3-200D-2640-FE0F, and two-person variants of 1F46C
    # are whole ZWJ sequences)
    assert set(real.base_unified) <= set(real.unified)
    tones = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")
    assert all(any(t in u for t in tones) for u, b in zip(real.unified, real.base_unified) if u != b)
    assert torch.equal(test.google[0], real.google[real.unified.index(test.unified[0])])


def test_real_unpaired_halves(real: EmojiPairs) -> None:
    train = load_emoji_uint8("train")
    unpaired = emoji_unpaired("train")
    base = dict(zip(train.unified, train.base_unified))
    bases_a = {base[u] for u in unpaired.a_unified}
    bases_b = {base[u] for u in unpaired.b_unified}
    assert not bases_a & bases_b
    assert sorted(unpaired.a_unified + unpaired.b_unified) == train.unified  # together they cover train
    assert len(unpaired.a) == len(unpaired.a_unified) and len(unpaired.b) == len(unpaired.b_unified)
    assert abs(len(bases_a) - len(bases_b)) <= 1


# ----------------------------------------------------------------------------------------------
# pix2pix / CycleGAN folder readers
# ----------------------------------------------------------------------------------------------

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def _solid(w: int, h: int, colour: tuple[int, int, int], mode: str = "RGB") -> Image.Image:
    return Image.new("RGB", (w, h), colour).convert(mode)


def _pair(h: int, left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    im = _solid(2 * h, h, left)
    im.paste(_solid(h, h, right), (h, 0))
    return im


def test_paired_folder(tmp_path: Path) -> None:
    train = tmp_path / "facades" / "train"
    train.mkdir(parents=True)
    _pair(16, RED, BLUE).save(train / "1.jpg", quality=95)
    _pair(16, GREEN, RED).save(train / "2.png")
    (train / "notes.txt").write_text("ignored")
    ds = PairedImageFolder(tmp_path / "facades")
    assert len(ds) == 2
    a, b = ds.load_all()
    assert a.shape == b.shape == (2, 3, 16, 16) and a.dtype == torch.float32
    expect = lambda c: torch.tensor(c, dtype=torch.float32) / 127.5 - 1  # noqa: E731
    assert torch.allclose(a[0].mean((1, 2)), expect(RED), atol=0.08)  # JPEG: nearly the colour
    assert torch.allclose(b[0].mean((1, 2)), expect(BLUE), atol=0.08)
    assert torch.equal(a[1, :, 0, 0], expect(GREEN))  # PNG: exactly
    src, tgt = PairedImageFolder(tmp_path / "facades", direction="BtoA", size=8)[1]
    assert src.shape == (3, 8, 8) and torch.allclose(src[:, 0, 0], expect(RED), atol=1e-5)


def test_paired_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="download_pix2pix_dataset"):
        PairedImageFolder(tmp_path / "nothing")
    (tmp_path / "d" / "val").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match=r"holds the folders \['val'\]"):
        PairedImageFolder(tmp_path / "d")
    (tmp_path / "d" / "train").mkdir()
    with pytest.raises(DataNotFoundError, match="no images"):
        PairedImageFolder(tmp_path / "d")
    _solid(16, 16, RED).save(tmp_path / "d" / "train" / "square.png")
    with pytest.raises(CorruptDataError, match="twice as wide as high"):
        PairedImageFolder(tmp_path / "d")[0]
    (tmp_path / "d" / "train" / "square.png").unlink()
    _pair(16, RED, BLUE).save(tmp_path / "d" / "train" / "a.png")
    _pair(8, RED, BLUE).save(tmp_path / "d" / "train" / "b.png")
    with pytest.raises(ValueError, match="size="):
        PairedImageFolder(tmp_path / "d").load_all()
    assert PairedImageFolder(tmp_path / "d", size=8).load_all()[0].shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="direction"):
        PairedImageFolder(tmp_path / "d", direction="sideways")  # type: ignore[arg-type]


def test_unpaired_folders(tmp_path: Path) -> None:
    root = tmp_path / "horse2zebra"
    for name, colours in (("trainA", [RED, GREEN, BLUE]), ("trainB", [BLUE, RED])):
        (root / name).mkdir(parents=True)
        for i, c in enumerate(colours):
            _solid(12, 12, c, mode="L" if i == 1 else "RGB").save(root / name / f"{i}.jpg")
    ds = UnpairedImageFolders(root)
    assert (ds.num_a, ds.num_b) == (3, 2)
    a, b = ds.load_all()
    assert a.shape == (3, 3, 12, 12) and b.shape == (2, 3, 12, 12)  # the grey image became RGB
    assert a.min() >= -1 and a.max() <= 1
    assert ds.load_domain("B", limit=1).shape == (1, 3, 12, 12)
    assert UnpairedImageFolders(root, size=6).load_domain("A").shape == (3, 3, 6, 6)
    with pytest.raises(DataNotFoundError, match="testA"):
        UnpairedImageFolders(root, split="test")
    (root / "trainB" / "0.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(CorruptDataError, match="0.jpg"):
        ds.load_domain("B")


def test_download_names_are_checked_before_any_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="facades.*edges2shoes"):
        download_pix2pix_dataset("edges2cats", tmp_path)
    with pytest.raises(ValueError, match="horse2zebra"):
        download_cyclegan_dataset("cats2dogs", tmp_path)
    with pytest.raises(ValueError, match="cityscapes-dataset.com"):
        download_pix2pix_dataset("cityscapes", tmp_path)
    calls: list[str] = []
    monkeypatch.setattr(folders_mod, "_download_and_extract", lambda url, root: calls.append(url))
    assert download_pix2pix_dataset("facades", tmp_path) == tmp_path / "facades"
    assert download_cyclegan_dataset("horse2zebra", tmp_path) == tmp_path / "horse2zebra"
    assert calls == [
        "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz",
        "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip",
    ]
    assert folders_mod.PIX2PIX_DATASETS and folders_mod.CYCLEGAN_DATASETS
