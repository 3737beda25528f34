"""The emoji sets' source: fetch the npm tarballs, verify them, unpack and build the cache the chapters read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from synthlib.data.fetch import download, sha256_file
from synthlib.data.paths import (
    CorruptDataError,
    DataNotFoundError,
    data_dir,
    read_manifest,
)

# ----------------------------------------------------------------------------------------------
# Constants: versions, checksums, licences
# ----------------------------------------------------------------------------------------------

EMOJI_VERSION = "16.0.0"
EMOJI_SETS: tuple[str, ...] = ("google", "twitter")
EMOJI_SIZE = 64

EMOJI_TARBALL_URL = "https://registry.npmjs.org/emoji-datasource-{set}/-/emoji-datasource-{set}-{version}.tgz"

# Folder holding already downloaded tarballs (e.g. from `npm pack` on another machine); when set,
# prepare_emoji takes the tarballs from there and fetches nothing.
EMOJI_TARBALLS_ENV = "SYNTHLIB_EMOJI_TARBALLS"

CACHE_FILE = "emoji64.pt"
MANIFEST_FILE = "MANIFEST.json"  # written last: its presence means the set-up finished
CACHE_SHA256_KEY = "cache_sha256"  # the manifest's record of emoji64.pt's SHA-256, checked on every load

# Skin-tone modifiers -> the Unicode names used in variant names, and Slack-style short-name suffixes.
_SKIN_TONES: dict[str, tuple[str, str]] = {
    "1F3FB": ("LIGHT SKIN TONE", "skin-tone-2"),
    "1F3FC": ("MEDIUM-LIGHT SKIN TONE", "skin-tone-3"),
    "1F3FD": ("MEDIUM SKIN TONE", "skin-tone-4"),
    "1F3FE": ("MEDIUM-DARK SKIN TONE", "skin-tone-5"),
    "1F3FF": ("DARK SKIN TONE", "skin-tone-6"),
}
_LIST_FIELDS = ("unified", "base_unified", "name", "short_name", "category")


def emoji_dir() -> Path:
    """Where the emoji data live: ``data_dir()/emoji``."""
    return data_dir() / "emoji"


def tarball_name(set_name: str, version: str = EMOJI_VERSION) -> str:
    """File name of an npm tarball, as ``npm pack`` writes it: ``emoji-datasource-<set>-<version>.tgz``."""
    return f"emoji-datasource-{set_name}-{version}.tgz"


def _missing_message(where: Path, reason: str) -> str:
    return (
        f"the emoji data set is not set up ({reason}; looked in {where}).\n"
        "Set it up once with `python -m synthlib data` (or `make`), which fetches the npm packages "
        f"emoji-datasource-google and emoji-datasource-twitter {EMOJI_VERSION} (136 MB, needs the npm registry).\n"
        f"Offline: put {tarball_name('google')} and {tarball_name('twitter')} (from `npm pack` elsewhere) "
        f"into a folder and set ${EMOJI_TARBALLS_ENV} to it before running `python -m synthlib data`."
    )


# ----------------------------------------------------------------------------------------------
# Pixels: compositing on white
# ----------------------------------------------------------------------------------------------


def composite_on_white(rgba: Tensor) -> Tensor:
    """uint8 RGBA images (... x 4 x H x W) -> uint8 RGB (... x 3 x H x W) over a white background.

    PNG stores straight (not premultiplied) alpha, so each colour is weighted by its alpha:
    ``out = rgb * a + 255 * (1 - a)`` with ``a = alpha / 255``, computed exactly in integers and
    rounded to nearest. Why white: emoji are designed to be seen on light backgrounds, and a fully
    transparent pixel's stored colour is arbitrary (often black), so dropping alpha would leave
    ragged dark fringes that a model would learn as content.
    """
    if not isinstance(rgba, Tensor) or rgba.dtype != torch.uint8 or rgba.ndim < 3 or rgba.shape[-3] != 4:
        got = f"{rgba.dtype} {tuple(rgba.shape)}" if isinstance(rgba, Tensor) else type(rgba).__name__
        raise ValueError(f"composite_on_white expects uint8 ... x 4 x H x W (RGBA), got {got}")
    x = rgba.to(torch.int32)
    rgb, a = x[..., :3, :, :], x[..., 3:, :, :]
    out = (rgb * a + 255 * (255 - a) + 127) // 255  # exact rounding of the float formula
    return out.to(torch.uint8)


def _read_rgba(path: Path) -> np.ndarray:
    """A PNG as an H x W x 4 uint8 array (palette / grey / RGB images are converted to RGBA)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGBA"))
    except (OSError, UnidentifiedImageError) as e:
        raise CorruptDataError(f"{path.name}: cannot read this PNG ({e}); is the tarball genuine?") from e


# ----------------------------------------------------------------------------------------------
# Fetching, verifying and unpacking the tarballs
# ----------------------------------------------------------------------------------------------


def bad_zip_member(path: Path) -> str | None:
    """The first member of the zip archive at ``path`` whose data fail their CRC-32, else None.

    ``torch.save`` files are zip archives that record a CRC-32 per member; this checks them, which
    catches a damaged cache that was built before its SHA-256 was recorded. A file that is not a
    readable zip at all is named as ``"(the zip directory)"``; an archive without CRC-32s (written
    with torch's ``compute_crc32`` turned off: every field 0) passes.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if all(m.CRC == 0 for m in members if m.file_size):
                return None
            for member in members:
                try:
                    with zf.open(member) as f:
                        while f.read(1 << 22):  # the CRC-32 is compared at the end of the member
                            pass
                except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
                    return member.filename
    except (zipfile.BadZipFile, OSError, EOFError):
        return "(the zip directory)"
    return None


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` through a temporary file renamed into place."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        part.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def verify_cache(path: str | Path) -> str:
    """Check ``emoji64.pt`` against the SHA-256 recorded in ``MANIFEST.json`` when it was built; return it.

    Raises CorruptDataError (one line: the file, both hashes, and ``python -m synthlib data`` to
    rebuild it) on a mismatch, or when the file's size differs from the one recorded. The cache is
    not rebuilt here: its sources (the unpacked PNGs) carry no checksums of their own, so a rebuild
    from them could bake in the same damage; ``python -m synthlib data`` sees the mismatch and
    redoes the set-up from the SHA-256-pinned tarballs.

    A cache built before the hash was recorded (the manifest has ``cache_bytes`` but no
    ``cache_sha256``) is checked against the CRC-32s ``torch.save`` stored inside it, and then its
    SHA-256 is written into the manifest (skipped silently where the folder is read-only). A cache
    without any manifest (copied by hand) is checked by its CRC-32s only, on every load.
    """
    path = Path(path)
    manifest_path = path.parent / MANIFEST_FILE
    manifest = read_manifest(manifest_path)
    rebuild = "rebuild it with `python -m synthlib data` (or `make`)"
    expected = manifest.get(CACHE_SHA256_KEY) if manifest is not None else None
    recorded_bytes = manifest.get("cache_bytes") if manifest is not None else None
    size = path.stat().st_size
    if isinstance(recorded_bytes, int) and size != recorded_bytes:
        raise CorruptDataError(
            f"{path}: {size} bytes, but {MANIFEST_FILE} recorded {recorded_bytes} when it was built: the file was "
            f"altered, truncated or replaced; {rebuild}"
        )
    actual = sha256_file(path)
    if isinstance(expected, str):
        if actual != expected:
            raise CorruptDataError(
                f"{path}: SHA-256 is {actual}, but {MANIFEST_FILE} recorded {expected} when it was built: the file "
                f"was altered or damaged; {rebuild}"
            )
        return actual
    bad = bad_zip_member(path)
    if bad is not None:
        raise CorruptDataError(f"{path}: damaged (the data of {bad} fail their CRC-32 checksum); {rebuild}")
    if manifest is not None and recorded_bytes == size:  # built by an older synthlib: record the hash now
        try:
            write_json_atomic(manifest_path, {**manifest, CACHE_SHA256_KEY: actual})
        except OSError:
            pass  # a read-only data folder: the CRC-32s are checked again next time
    return actual


def _npm_pack(set_name: str, dest: Path, npm: str) -> Path:
    """Fetch one tarball with ``npm pack`` run in ``dest``: it downloads without installing anything."""
    spec = f"emoji-datasource-{set_name}@{EMOJI_VERSION}"
    proc = subprocess.run([npm, "pack", spec], cwd=dest, capture_output=True, text=True, timeout=1800)
    path = dest / tarball_name(set_name)
    if proc.returncode != 0 or not path.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"`npm pack {spec}` failed (exit {proc.returncode}): {' | '.join(tail)}")
    return path


def _https_download(set_name: str, dest: Path, url_template: str) -> Path:
    """Fetch one tarball from the registry URL (no npm needed)."""
    return download(url_template.format(set=set_name, version=EMOJI_VERSION), dest / tarball_name(set_name))


def _fetch_tarball(
    set_name: str, dest: Path, *, npm: str | None, url_template: str = EMOJI_TARBALL_URL
) -> Path:
    """Download one tarball into ``dest``: ``npm pack`` if ``npm`` is given, else (or if it fails) HTTPS.

    Raises DataNotFoundError when both ways fail, with both reasons.
    """
    t0 = time.perf_counter()
    errors = []
    if npm is not None:
        print(f"  fetching emoji-datasource-{set_name}@{EMOJI_VERSION} with npm pack ...", flush=True)
        try:
            path = _npm_pack(set_name, dest, npm)
            print(f"  got {path.name} ({path.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t0:.0f} s)")
            return path
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            errors.append(str(e))
            print(f"  npm pack failed ({e}); trying a plain HTTPS download")
    url = url_template.format(set=set_name, version=EMOJI_VERSION)
    print(f"  downloading {url} ...", flush=True)
    try:
        path = _https_download(set_name, dest, url_template)
    except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors
        errors.append(f"download of {url} failed: {e}")
        raise DataNotFoundError(_missing_message(dest, "; ".join(errors))) from e
    print(f"  got {path.name} ({path.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t0:.0f} s)")
    return path


def _verify(path: Path, expected: str, *, downloaded: bool) -> None:
    """Raise CorruptDataError unless ``path`` has SHA-256 ``expected`` (a downloaded file is deleted)."""
    actual = sha256_file(path)
    if actual == expected:
        return
    if downloaded:
        path.unlink(missing_ok=True)
        what = "the downloaded file was damaged in transit or the registry serves a different file; it was deleted"
        fix = "run `python -m synthlib data` again; if it fails the same way, report it (the pinned checksum is stale)"
    else:
        what = "the file is damaged, truncated or another release"
        fix = (
            f"replace it with a fresh `npm pack emoji-datasource-<set>@{EMOJI_VERSION}`, "
            f"or unset ${EMOJI_TARBALLS_ENV} to download it"
        )
    raise CorruptDataError(
        f"{path}: SHA-256 mismatch (expected {expected}, got {actual}); {what}. Nothing was unpacked. Fix: {fix}."
    )


_UNPACK_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


def _unpack(tarball: Path, set_name: str, dest: Path) -> int:
    """Copy ``package/emoji.json`` and ``package/img/<set>/64/*.png`` out of ``tarball`` into ``dest``.

    Writes ``dest/emoji.json`` and ``dest/64/*.png``; returns the number of PNGs. Each file is
    written to a path built here from its base name, never to the member's own path, so a tarball
    cannot write outside ``dest``. Everything else (other sizes, sprite sheets: most of the 70 MB)
    is skipped.
    """
    prefix = f"package/img/{set_name}/{EMOJI_SIZE}/"
    (dest / str(EMOJI_SIZE)).mkdir(parents=True, exist_ok=True)
    n_png, saw_json = 0, False
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            for member in tf:
                if not member.isfile():
                    continue
                name = member.name.removeprefix("./")
                if name == "package/emoji.json":
                    target, saw_json = dest / "emoji.json", True
                elif name.startswith(prefix) and name.endswith(".png"):
                    base = name[len(prefix) :]
                    if "/" in base or base.startswith("."):
                        continue
                    target, n_png = dest / str(EMOJI_SIZE) / base, n_png + 1
                else:
                    continue
                src = tf.extractfile(member)
                assert src is not None  # regular files always have a stream
                with src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except _UNPACK_ERRORS as e:
        raise CorruptDataError(
            f"{tarball}: cannot unpack ({type(e).__name__}: {e}); delete it and fetch it again"
        ) from e
    if not saw_json or n_png == 0:
        raise CorruptDataError(
            f"{tarball}: not the npm layout expected (package/emoji.json: {'found' if saw_json else 'missing'}, "
            f"PNGs under {prefix}: {n_png}); is it really emoji-datasource-{set_name}?"
        )
    return n_png


# ----------------------------------------------------------------------------------------------
# Building emoji64.pt
# ----------------------------------------------------------------------------------------------


def _variant_names(base_name: str, base_short: str, key: str) -> tuple[str, str]:
    """(name, short_name) of a skin-tone variant, e.g. ("FATHER CHRISTMAS: LIGHT SKIN TONE", "santa::skin-tone-2").

    emoji.json names only base emoji; the variant names follow Unicode's "<name>: <tone>" form.
    """
    tones = [_SKIN_TONES.get(code.upper(), (code.upper(), code.lower())) for code in key.split("-")]
    name = f"{base_name}: " + ", ".join(t[0] for t in tones)
    short = base_short + "".join(f"::{t[1]}" for t in tones)
    return name, short


def _emoji_entries(meta: list[dict[str, Any]], sets: Sequence[str]) -> list[dict[str, str]]:
    """One record per emoji (base or skin-tone variant) with an image in every set, sorted by unified."""

    def has_all(record: Mapping[str, Any]) -> bool:
        return all(bool(record.get(f"has_img_{s}")) for s in sets)

    entries: list[dict[str, str]] = []
    for e in meta:
        base = str(e["unified"]).upper()
        name = str(e.get("name") or e.get("short_name") or base)
        short = str(e.get("short_name") or name.lower())
        category = str(e.get("category") or "")
        if has_all(e):
            entries.append(dict(unified=base, base_unified=base, name=name, short_name=short,
                                category=category, image=str(e["image"])))  # fmt: skip
        for key, v in (e.get("skin_variations") or {}).items():
            if has_all(v):
                vname, vshort = _variant_names(name, short, key)
                entries.append(dict(unified=str(v["unified"]).upper(), base_unified=base, name=vname,
                                    short_name=vshort, category=category, image=str(v["image"])))  # fmt: skip
    entries.sort(key=lambda r: r["unified"])
    codes = [r["unified"] for r in entries]
    if len(set(codes)) != len(codes):
        dup = sorted({c for c in codes if codes.count(c) > 1})[:5]
        raise CorruptDataError(
            f"emoji.json lists some emoji twice ({', '.join(dup)}); is it a genuine emoji-datasource file?"
        )
    return entries


def _build_cache(root: Path, sets: Sequence[str] = EMOJI_SETS) -> dict[str, Any]:
    """Read ``root/<set>/emoji.json`` and the PNGs into the dict saved as ``emoji64.pt``."""
    meta_path = root / sets[0] / "emoji.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CorruptDataError(f"{meta_path}: cannot read emoji.json ({e})") from e
    entries = _emoji_entries(meta, sets)
    if not entries:
        raise CorruptDataError(f"{meta_path}: no emoji has an image in all of {', '.join(sets)}")
    cache: dict[str, Any] = {"version": EMOJI_VERSION, "sets": list(sets)}
    for s in sets:
        images = []
        for r in entries:
            path = root / s / str(EMOJI_SIZE) / r["image"]
            if not path.is_file():
                raise CorruptDataError(f"{path}: missing, though emoji.json says {s} has an image for {r['unified']}")
            rgba = _read_rgba(path)
            if rgba.shape != (EMOJI_SIZE, EMOJI_SIZE, 4):
                size = f"{rgba.shape[1]}x{rgba.shape[0]}"
                raise CorruptDataError(f"{path.name}: {size} pixels, expected {EMOJI_SIZE}x{EMOJI_SIZE}")
            images.append(rgba)
        stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)  # N x 4 x H x W
        cache[s] = composite_on_white(stacked).contiguous()
    for field in _LIST_FIELDS:
        cache[field] = [r[field] for r in entries]
    return cache
