"""Issue 21 (reliability): damage is named as damage, saves survive kills and Ctrl-C, caches are checked
against the hash recorded when they were built, and downloads are HTTPS, hashed and unpacked safely.

* checkpoints: ``torch.save``'s zip archive records a CRC-32 per member that ``torch.load`` never checks;
  ``checkpoint.load`` does, so a flipped byte in a tensor is a one-line CheckpointError, not a silent change;
* ``save_atomic``: a process SIGKILLed mid-save leaves the old checkpoint loadable and a ``.tmp`` file that
  the next save removes; SIGINT during a save is raised as KeyboardInterrupt after the rename;
* data caches (``emoji64.pt``, the photos' PNGs, the VGG safetensors) are checked against the SHA-256 in
  their manifests, and ``python -m synthlib data`` rebuilds what fails;
* ``safe_extract`` refuses ``..``, absolute paths, links out and device files, with and without tarfile's
  ``filter="data"``; the pix2pix/CycleGAN downloaders use HTTPS and record the SHA-256 (no network here:
  the download function is monkeypatched).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import urllib.error
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from synthlib.core import checkpoint as ckpt_io
from synthlib.core.checkpoint import CheckpointError, load, save_atomic
from synthlib.data import CorruptDataError, DataNotFoundError
from synthlib.data import debs as debs_mod
from synthlib.data import emoji as emoji_mod
from synthlib.data import emoji_fetch as emoji_fetch_mod
from synthlib.data import folders as folders_mod
from synthlib.data import photos as ph
from synthlib.data import vgg_weights as dvgg

REPO = Path(__file__).resolve().parents[2]
POSIX_SIGNALS = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL / SIGINT to a child need POSIX")


def flip_member_byte(path: Path, member: str | None = None) -> str:
    """Flip one bit in the middle of a zip member's data (the largest member unless ``member`` ends its name)."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        info = (max(infos, key=lambda i: i.file_size) if member is None
                else next(i for i in infos if i.filename.endswith(member)))  # fmt: skip
    with open(path, "r+b") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        name_len, extra_len = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
        offset = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x10]))
    return info.filename


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x10
    path.write_bytes(bytes(data))


def _checkpoint(step: int = 1, size: int = 64) -> dict[str, Any]:
    g = torch.Generator().manual_seed(step)
    return {"format": ckpt_io.FORMAT, "kind": "dcgan", "step": step,
            "models": {"G": {"arch": "X", "config": {}, "state": {"w": torch.randn(size, size, generator=g)}}}}


# ----------------------------------------------------------------------------------------------
# 1. Damaged checkpoints are named as damaged
# ----------------------------------------------------------------------------------------------


def test_torch_writes_crcs_that_catch_a_flipped_byte(tmp_path: Path) -> None:
    """The premise: torch.save's members carry correct CRC-32s, and a flipped byte in tensor data breaks one."""
    path = save_atomic(_checkpoint(size=256), tmp_path / "checkpoint.pt")
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert all(i.CRC != 0 for i in zf.infolist() if i.file_size)
    member = flip_member_byte(path)
    assert member.endswith("data/0")  # the 256 x 256 tensor
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() == member


def test_load_names_a_damaged_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save(_checkpoint(size=256), path)  # plain torch.save, as older synthlib versions wrote: checked too
    assert load(path)["step"] == 1
    member = flip_member_byte(path)
    with pytest.raises(CheckpointError) as err:
        load(path)
    message = str(err.value)
    assert message == (f"{path} is damaged: the data of {member} fails its checksum (a disk or copy error?); "
                       "copy it again or use an earlier checkpoint")  # fmt: skip
    assert "\n" not in message


def test_load_names_damaged_pickle_and_header(tmp_path: Path) -> None:
    path = save_atomic(_checkpoint(), tmp_path / "a.pt")
    member = flip_member_byte(path, "data.pkl")
    with pytest.raises(CheckpointError, match=rf"damaged: the data of {re.escape(member)} fails its checksum"):
        load(path)
    path = save_atomic(_checkpoint(), tmp_path / "b.pt")
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("data/0"))
    flip_byte(path, info.header_offset + 30 + 2)  # a letter of the member's name in its local header
    with pytest.raises(CheckpointError, match=r"damaged: the zip header of .*data/0 is corrupt \(a disk or copy"):
        load(path)


def test_damaged_checkpoint_on_the_command_line(tmp_path: Path, capsys: Any) -> None:
    from synthlib.__main__ import main
    from tests.cli.test_sample_cli import write_checkpoint

    path = write_checkpoint(tmp_path / "run")
    flip_member_byte(path)
    out = tmp_path / "samples.pt"
    assert main(["sample", str(path), "--num", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is damaged: the data of" in err and "\n" not in err and not out.exists()


def test_archive_without_crcs_still_loads(tmp_path: Path) -> None:
    config = pytest.importorskip("torch.utils.serialization").config
    if not hasattr(config.save, "compute_crc32"):
        pytest.skip("this torch always writes CRC-32s")
    before = config.save.compute_crc32  # (monkeypatch cannot undo on torch's config module)
    config.save.compute_crc32 = False
    try:
        path = save_atomic(_checkpoint(), tmp_path / "checkpoint.pt")
    finally:
        config.save.compute_crc32 = before
    with zipfile.ZipFile(path) as zf:
        assert all(i.CRC == 0 for i in zf.infolist())
    assert load(path)["step"] == 1  # nothing to verify: not called damaged


# ----------------------------------------------------------------------------------------------
# 2. Stale temporary files, SIGKILL and SIGINT during save_atomic
# ----------------------------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_next_save_removes_stale_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "old_style": ".checkpoint.pt.k2x_9abc.tmp",  # written before the pid was part of the name
            "dead": f".checkpoint.pt.{_dead_pid()}.ab12cd34.tmp",
            "own": f".checkpoint.pt.{os.getpid()}.zz99yy88.tmp",  # this process is not writing it: stale
            "live": f".checkpoint.pt.{live.pid}.abcdefgh.tmp",  # another process may still be writing it
            "other_target": ".other.pt.12345678.tmp",
            "not_ours": "checkpoint.pt.tmp",
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"half a checkpoint")
        save_atomic(_checkpoint(), path)
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {"checkpoint.pt", names["live"], names["other_target"], names["not_ours"]}
    finally:
        live.kill()
        live.wait()
    save_atomic(_checkpoint(), path)  # that process is gone now
    assert {p.name for p in tmp_path.iterdir()} == {"checkpoint.pt", names["other_target"], names["not_ours"]}


_CHILD = textwrap.dedent(
    """
    import io, signal, sys, time
    import torch
    from synthlib.core import checkpoint as ckpt_io

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the parent ignores SIGINT
    real_save = torch.save

    def slow_save(obj, f):  # a slow disk: the bytes go out in 20 pieces, 20 ms apart
        buf = io.BytesIO()
        real_save(obj, buf)
        data = buf.getvalue()
        step = len(data) // 20 + 1
        for i in range(0, len(data), step):
            f.write(data[i:i + step])
            f.flush()
            time.sleep(0.02)

    path = sys.argv[1]
    for step in range(1, 1000):
        w = torch.full((1024, 1024), float(step))  # 4 MB of tensor data
        ckpt = {"format": ckpt_io.FORMAT, "kind": "dcgan", "step": step,
                "models": {"G": {"arch": "X", "config": {}, "state": {"w": w}}}}
        if step == 2:
            torch.save = slow_save
        ckpt_io.save_atomic(ckpt, path)
        print(f"saved {step}", flush=True)
    """
)


def _start_child(path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip


def _temp_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def _wait_mid_save(proc: subprocess.Popen[str], path: Path) -> None:
    """Wait until the child finished its first (fast) save and has written part of a slow one."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "saved 1", line + (proc.stderr.read() if proc.stderr else "")
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in _temp_files(path) if p.exists()):
        assert time.monotonic() < deadline and proc.poll() is None, "the child never started its second save"
        time.sleep(0.001)


@POSIX_SIGNALS
def test_sigkill_mid_save_keeps_the_old_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    proc = _start_child(path)
    try:
        _wait_mid_save(proc, path)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert load(path)["step"] == 1  # the last complete save, intact
    stale = _temp_files(path)
    assert len(stale) == 1 and 0 < stale[0].stat().st_size < path.stat().st_size
    save_atomic(_checkpoint(step=5), path)
    assert _temp_files(path) == [] and load(path)["step"] == 5


@POSIX_SIGNALS
def test_sigint_mid_save_finishes_the_save_then_interrupts(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    proc = _start_child(path)
    try:
        _wait_mid_save(proc, path)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, err
    assert "RuntimeError" not in err and "raise_signal" in err, err  # held back, raised after the rename
    assert "saved 2" not in out  # the interrupt ended the program right after save_atomic's rename
    ckpt = load(path)
    assert ckpt["step"] == 2 and torch.equal(ckpt["models"]["G"]["state"]["w"], torch.full((1024, 1024), 2.0))
    assert _temp_files(path) == []


def test_save_atomic_in_a_thread(tmp_path: Path) -> None:
    """Signal handlers can only be set in the main thread: elsewhere save_atomic just saves."""
    errors: list[BaseException] = []
    before = signal.getsignal(signal.SIGINT)

    def run() -> None:
        try:
            save_atomic(_checkpoint(step=3), tmp_path / "checkpoint.pt")
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert errors == [] and load(tmp_path / "checkpoint.pt")["step"] == 3
    assert signal.getsignal(signal.SIGINT) is before  # the main thread's handler is untouched


def test_sigint_handler_is_restored(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    save_atomic(_checkpoint(), tmp_path / "checkpoint.pt")
    assert signal.getsignal(signal.SIGINT) is before


# ----------------------------------------------------------------------------------------------
# 3. Data caches checked against the hash recorded when they were built
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def emoji_root(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    from tests.data.test_data_emoji import sha, write_npm_tarball

    folder = tmp_path / "tarballs"
    sums = {s: sha(write_npm_tarball(folder, s)) for s in ("google", "twitter")}
    root = emoji_mod.prepare_emoji(cache_dir=tmp_path / "emoji", tarball_dir=folder, checksums=sums)
    return root, folder, sums


def _manifest(root: Path) -> dict[str, Any]:
    return json.loads((root / emoji_fetch_mod.MANIFEST_FILE).read_text())


def test_emoji_cache_hash_is_recorded_and_checked(emoji_root: tuple[Path, Path, dict[str, str]], capsys: Any) -> None:
    root, folder, sums = emoji_root
    cache = root / emoji_fetch_mod.CACHE_FILE
    assert _manifest(root)[emoji_fetch_mod.CACHE_SHA256_KEY] == hashlib.sha256(cache.read_bytes()).hexdigest()
    n = len(emoji_mod.load_emoji_uint8("all", cache_dir=root))
    flip_member_byte(cache)  # same size: only the hash can tell
    with pytest.raises(CorruptDataError) as err:
        emoji_mod.load_emoji_uint8("all", cache_dir=root)
    message = str(err.value)
    assert str(cache) in message and "python -m synthlib data" in message and "recorded" in message
    assert "\n" not in message
    capsys.readouterr()
    emoji_mod.prepare_emoji(cache_dir=root, tarball_dir=folder, checksums=sums)  # what the message says to run
    out = capsys.readouterr().out
    assert "already present" not in out and "SHA-256" in out  # it saw the damage and set the pairs up again
    assert len(emoji_mod.load_emoji_uint8("all", cache_dir=root)) == n


def test_emoji_cache_of_another_size_is_refused(emoji_root: tuple[Path, Path, dict[str, str]]) -> None:
    root = emoji_root[0]
    with open(root / emoji_fetch_mod.CACHE_FILE, "ab") as f:
        f.write(b"\0")
    with pytest.raises(CorruptDataError, match=r"bytes, but MANIFEST.json recorded .*python -m synthlib data"):
        emoji_mod.load_emoji_uint8("all", cache_dir=root)


def test_emoji_cache_built_before_hashes_were_recorded(emoji_root: tuple[Path, Path, dict[str, str]]) -> None:
    root, folder, sums = emoji_root
    cache = root / emoji_fetch_mod.CACHE_FILE
    manifest = _manifest(root)
    digest = manifest.pop(emoji_fetch_mod.CACHE_SHA256_KEY)
    (root / emoji_fetch_mod.MANIFEST_FILE).write_text(json.dumps(manifest))
    # intact: its CRC-32s pass, so it loads and its SHA-256 is recorded from now on
    assert len(emoji_mod.load_emoji_uint8("all", cache_dir=root)) > 0
    assert _manifest(root)[emoji_fetch_mod.CACHE_SHA256_KEY] == digest
    # damaged before the hash was recorded: the CRC-32s torch.save wrote catch it
    (root / emoji_fetch_mod.MANIFEST_FILE).write_text(json.dumps(manifest))
    member = flip_member_byte(cache)
    with pytest.raises(CorruptDataError, match=rf"damaged \(the data of {re.escape(member)} fail their CRC-32"):
        emoji_mod.load_emoji_uint8("all", cache_dir=root)
    assert emoji_fetch_mod.CACHE_SHA256_KEY not in _manifest(root)  # a damaged file's hash is never recorded
    assert not emoji_mod._is_prepared(root, sums)  # so `python -m synthlib data` builds it again


def test_emoji_cache_without_manifest_is_crc_checked(
    emoji_root: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    copy = tmp_path / "copied"
    copy.mkdir()
    (copy / emoji_fetch_mod.CACHE_FILE).write_bytes((emoji_root[0] / emoji_fetch_mod.CACHE_FILE).read_bytes())
    assert len(emoji_mod.load_emoji_uint8("all", cache_dir=copy)) > 0
    assert sorted(p.name for p in copy.iterdir()) == [emoji_fetch_mod.CACHE_FILE]  # no manifest invented
    flip_member_byte(copy / emoji_fetch_mod.CACHE_FILE)
    with pytest.raises(CorruptDataError, match="CRC-32"):
        emoji_mod.load_emoji_uint8("all", cache_dir=copy)


def test_photo_with_a_flipped_byte_is_refused(tmp_path: Path) -> None:
    from tests.data.test_data_photos import _fake_prepared

    root = _fake_prepared(tmp_path, {"aero1": ("train", 30, 20)})
    assert ph.load_photo("aero1", cache_dir=root).shape == (3, 20, 30)
    flip_byte(root / "train/aero1.png")  # same size: the byte count alone would not notice
    with pytest.raises(CorruptDataError) as err:
        ph.load_photo("aero1", cache_dir=root)
    message = str(err.value)
    assert "aero1.png: SHA-256" in message and "python -m synthlib data" in message and "\n" not in message


def test_vgg_weights_with_a_flipped_byte_are_set_up_again(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    root = tmp_path / "vgg16"
    root.mkdir()
    weights = root / dvgg.WEIGHTS_FILE
    save_file({"features.0.weight": torch.randn(4, 3, 3, 3)}, str(weights))
    manifest = {"sha256": hashlib.sha256(weights.read_bytes()).hexdigest(), "bytes": weights.stat().st_size}
    (root / dvgg.MANIFEST_FILE).write_text(json.dumps(manifest))
    assert dvgg._is_prepared(root)
    flip_byte(weights, weights.stat().st_size - 5)
    assert not dvgg._is_prepared(root)  # python -m synthlib data converts it again
    with pytest.raises(CorruptDataError, match="SHA-256 is .*altered or damaged"):
        dvgg.load_vgg16_hed_state(root)


# ----------------------------------------------------------------------------------------------
# 4. Safe unpacking and HTTPS downloads
# ----------------------------------------------------------------------------------------------


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            payload = (data or {}).get(m.name, b"x" if m.isfile() else b"")
            if m.isfile():
                m.size = len(payload)
            tf.addfile(m, io.BytesIO(payload) if m.isfile() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
    return info


EVIL_TARS = {
    "dotdot": [_info("facades/"), _info("facades/../../evil.txt")],
    "absolute": [_info("/tmp/synthlib-evil-absolute.txt")],
    "symlink_out": [_info("facades/link", tarfile.SYMTYPE, "../../outside")],
    "symlink_absolute": [_info("facades/passwd", tarfile.SYMTYPE, "/etc/passwd")],
    "hardlink_out": [_info("facades/hard", tarfile.LNKTYPE, "../outside.txt")],
    "write_through_link": [_info("facades/d", tarfile.SYMTYPE, "."), _info("facades/d/x.txt")],
    "link_chain": [_info("d", tarfile.SYMTYPE, "."), _info("e", tarfile.SYMTYPE, "d/..")],
    "char_device": [_info("facades/null", tarfile.CHRTYPE)],
    "fifo": [_info("facades/pipe", tarfile.FIFOTYPE)],
}


@pytest.mark.parametrize("data_filter", [True, False], ids=["with-data-filter", "own-check-only"])
@pytest.mark.parametrize("case", sorted(EVIL_TARS))
def test_safe_extract_refuses_evil_tar_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, data_filter: bool
) -> None:
    monkeypatch.setattr(folders_mod, "_HAS_DATA_FILTER", data_filter and folders_mod._HAS_DATA_FILTER)
    archive = _tar(tmp_path / "evil.tar.gz", [_info("facades/ok.txt"), *EVIL_TARS[case]])
    dest = tmp_path / "a" / "b" / "dest"
    with pytest.raises(CorruptDataError, match=r"evil\.tar\.gz: refusing to unpack") as err:
        folders_mod.safe_extract(archive, dest)
    assert "\n" not in str(err.value)
    assert list(dest.iterdir()) == []  # checked before anything is written
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["evil.tar.gz"]
    assert not Path("/tmp/synthlib-evil-absolute.txt").exists()


@pytest.mark.parametrize("data_filter", [True, False], ids=["with-data-filter", "own-check-only"])
def test_safe_extract_unpacks_a_good_tar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_filter: bool) -> None:
    monkeypatch.setattr(folders_mod, "_HAS_DATA_FILTER", data_filter and folders_mod._HAS_DATA_FILTER)
    members = [_info("facades/", tarfile.DIRTYPE), _info("facades/train/", tarfile.DIRTYPE),
               _info("facades/train/1.jpg"), _info("./facades/latest", tarfile.SYMTYPE, "train"),
               _info("facades/same.jpg", tarfile.LNKTYPE, "facades/train/1.jpg")]  # fmt: skip
    archive = _tar(tmp_path / "good.tar.gz", members, {"facades/train/1.jpg": b"jpeg"})
    names = folders_mod.safe_extract(archive, tmp_path / "out")
    assert len(names) == 5
    assert (tmp_path / "out/facades/latest/1.jpg").read_bytes() == b"jpeg"
    assert (tmp_path / "out/facades/same.jpg").read_bytes() == b"jpeg"


def _zip(path: Path, entries: list[tuple[str, bytes, int]]) -> Path:
    """``(name, data, unix mode)`` entries; mode 0 leaves the attribute unset."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


EVIL_ZIPS = {
    "dotdot": [("horse2zebra/../../evil.txt", b"x", 0)],
    "absolute": [("/tmp/synthlib-evil-absolute.txt", b"x", 0)],
    "symlink_out": [("horse2zebra/link", b"../../../etc", 0o120777)],
    "char_device": [("horse2zebra/null", b"", 0o020666)],
}


@pytest.mark.parametrize("case", sorted(EVIL_ZIPS))
def test_safe_extract_refuses_evil_zip_members(tmp_path: Path, case: str) -> None:
    archive = _zip(tmp_path / "evil.zip", [("horse2zebra/trainA/1.jpg", b"jpeg", 0o100644), *EVIL_ZIPS[case]])
    dest = tmp_path / "dest"
    with pytest.raises(CorruptDataError, match=r"evil\.zip: refusing to unpack"):
        folders_mod.safe_extract(archive, dest)
    assert list(dest.iterdir()) == []
    assert not Path("/tmp/synthlib-evil-absolute.txt").exists()


def test_safe_extract_unpacks_a_good_zip(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "good.zip", [("horse2zebra/", b"", 0o40755), ("horse2zebra/trainA/1.jpg", b"jpeg", 0),
                                           ("horse2zebra/latest", b"trainA", 0o120777)])  # fmt: skip
    folders_mod.safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out/horse2zebra/trainA/1.jpg").read_bytes() == b"jpeg"
    assert (tmp_path / "out/horse2zebra/latest").read_bytes() == b"trainA"  # zipfile writes links as files


def _jpeg_bytes(w: int = 8, h: int = 4) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _facades_tar(path: Path, extra: list[tarfile.TarInfo] | None = None) -> Path:
    jpg = _jpeg_bytes()
    return _tar(path, [_info("facades/train/1.jpg"), _info("facades/train/2.jpg"), *(extra or [])],
                {"facades/train/1.jpg": jpg, "facades/train/2.jpg": jpg})  # fmt: skip


def test_download_pix2pix_over_https_records_the_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    source = _facades_tar(tmp_path / "served.tar.gz")
    urls: list[str] = []

    def fake_download(url: str, path: Path) -> None:
        urls.append(url)
        path.write_bytes(source.read_bytes())

    monkeypatch.setattr(folders_mod, "download", fake_download)
    root = tmp_path / "datasets"
    assert folders_mod.download_pix2pix_dataset("facades", root) == root / "facades"
    assert urls == ["https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert digest in capsys.readouterr().out
    assert (root / "facades.tar.gz.sha256").read_text() == f"{digest}  facades.tar.gz\n"
    assert not (root / "facades.tar.gz").exists()  # the downloaded archive is deleted after unpacking
    assert len(folders_mod.PairedImageFolder(root / "facades")) == 2
    # a later download of the same archive must give the same bytes
    _facades_tar(source, [_info("facades/train/3.jpg")])
    recorded = r"an earlier download recorded [0-9a-f]{64} in .*/facades\.tar\.gz\.sha256"
    with pytest.raises(CorruptDataError, match=recorded):
        folders_mod.download_pix2pix_dataset("facades", root)
    assert not (root / "facades.tar.gz").exists() and not (root / "facades/train/3.jpg").exists()


def test_download_with_an_evil_member_unpacks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _facades_tar(tmp_path / "served.tar.gz", [_info("facades/../../../evil.txt")])
    monkeypatch.setattr(folders_mod, "download", lambda url, path: path.write_bytes(source.read_bytes()))
    root = tmp_path / "datasets"
    with pytest.raises(CorruptDataError, match="refusing to unpack 'facades/../../../evil.txt'"):
        folders_mod.download_pix2pix_dataset("facades", root)
    assert sorted(p.name for p in root.iterdir()) == []  # archive deleted, nothing unpacked, no hash recorded
    assert not list(tmp_path.rglob("evil.txt"))


def test_download_cyclegan_zip_and_a_failed_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jpg = _jpeg_bytes(4, 4)
    source = _zip(tmp_path / "served.zip", [(f"horse2zebra/{d}/1.jpg", jpg, 0o100644) for d in ("trainA", "trainB")])
    urls: list[str] = []
    monkeypatch.setattr(folders_mod, "download",
                        lambda url, path: (urls.append(url), path.write_bytes(source.read_bytes())))  # fmt: skip
    root = tmp_path / "datasets"
    assert folders_mod.download_cyclegan_dataset("horse2zebra", root) == root / "horse2zebra"
    assert urls == ["https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"]
    assert folders_mod.UnpairedImageFolders(root / "horse2zebra").num_b == 1
    assert (root / "horse2zebra.zip.sha256").is_file()

    def offline(url: str, path: Path) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(folders_mod, "download", offline)
    with pytest.raises(DataNotFoundError, match=r"could not download https://.*apple2orange\.zip.*by hand") as err:
        folders_mod.download_cyclegan_dataset("apple2orange", root)
    assert "\n" not in str(err.value) and not (root / "apple2orange.zip").exists()


def test_an_archive_downloaded_by_hand_is_used_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "datasets"
    root.mkdir()
    _facades_tar(root / "facades.tar.gz")

    def no_network(url: str, path: Path) -> None:
        raise AssertionError("must not download")

    monkeypatch.setattr(folders_mod, "download", no_network)
    folders_mod.download_pix2pix_dataset("facades", root)
    assert (root / "facades.tar.gz").is_file() and len(folders_mod.PairedImageFolder(root / "facades")) == 2


def test_data_downloads_use_https() -> None:
    """Every URL in synthlib/data is HTTPS, except the plain-HTTP Debian fallbacks (their .debs are SHA-256-pinned)."""
    allowed = {"http://deb.debian.org/debian", "http://archive.debian.org/debian"}
    sources = sorted(Path(folders_mod.__file__).parent.glob("*.py"))
    assert len(sources) >= 10  # every module of synthlib/data, not a few named ones
    for path in sources:
        plain = set(re.findall(r"http://[A-Za-z0-9][^\s\"'`)]*", path.read_text(encoding="utf-8"))) - allowed
        assert not plain, f"synthlib/data/{path.name} still uses plain HTTP: {sorted(plain)}"
    assert debs_mod.DEBIAN_MIRRORS[0].startswith("https://")


def test_safetensors_bytes_sorts_the_header_and_keeps_the_format_and_the_data() -> None:
    from safetensors.torch import load

    from synthlib.core.checkpoint import safetensors_bytes

    tensors = {"b": torch.arange(5, dtype=torch.float32), "a": torch.ones(2, 3, dtype=torch.float16)}
    meta = {k: f"value {k}" for k in "zyxwv"}
    outs = {safetensors_bytes(tensors, metadata=meta) for _ in range(4)}  # safetensors alone: a new order each save
    assert len(outs) == 1
    data = outs.pop()
    header_len = int.from_bytes(data[:8], "little")
    assert header_len % 8 == 0  # the format pads its header to a multiple of 8 bytes
    header = json.loads(data[8 : 8 + header_len])
    assert list(header["__metadata__"]) == sorted(meta)
    back = load(data)
    assert all(torch.equal(back[k], v) for k, v in tensors.items())
