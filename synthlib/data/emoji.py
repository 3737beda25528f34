"""Emoji pairs for Chapter 3 (image-to-image translation): the same emoji drawn by Google and by Twitter.

Why emoji: pix2pix-style models need *paired* pictures (the same content in two styles), and the
usual pairs (facades, maps, shoes) are hundreds of megabytes of photographs behind a university
web server. The npm packages ``emoji-datasource-google`` and ``emoji-datasource-twitter`` hold the
same ~3,800 emoji (base emoji plus skin-tone variants) as 64x64 RGBA PNGs under the same file
names, so pairing them by Unicode codepoint gives a clean, small, openly licensed paired data set:
Google's rounded, shaded Noto style -> Twitter's flat Twemoji style.

Set-up (:func:`prepare_emoji`, run by ``python -m synthlib data`` / ``make``) fetches both
tarballs (``npm pack``, else a plain HTTPS download from the npm registry), checks their SHA-256
against :data:`EMOJI_SHA256`, unpacks only ``emoji.json`` and the 64 px PNGs into
``data_dir()/emoji/<set>/``, and writes ``emoji64.pt``: every emoji with an image in both sets,
composited on white, as uint8 tensors. Loading that file takes well under a second.

The split is fixed and public (:func:`is_test_emoji`): an emoji is in the test split when the
SHA-256 of its *base* emoji's ``unified`` code is 0 mod 10; skin-tone variants follow their base,
so no test emoji leaks into training in another skin tone.

Licences (see :data:`EMOJI_ATTRIBUTION`): Noto Emoji images Apache-2.0; Twemoji graphics
CC-BY 4.0 (attribution required); the emoji-datasource packages MIT.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

from synthlib.core.config import check_choice
from synthlib.data.emoji_fetch import (
    _LIST_FIELDS,
    CACHE_FILE,
    CACHE_SHA256_KEY,
    EMOJI_SETS,
    EMOJI_SIZE,
    EMOJI_TARBALL_URL,
    EMOJI_TARBALLS_ENV,
    EMOJI_VERSION,
    MANIFEST_FILE,
    _build_cache,
    _fetch_tarball,
    _missing_message,
    _unpack,
    _verify,
    emoji_dir,
    tarball_name,
    verify_cache,
)
from synthlib.data.fashion import FileKey, _file_key
from synthlib.data.fetch import sha256_file
from synthlib.data.paths import CorruptDataError, DataNotFoundError, read_manifest
from synthlib.data.pixels import from_uint8

# SHA-256 of the npm tarballs emoji-datasource-<set>-16.0.0.tgz (as `npm pack` and the registry
# URL deliver them). A mismatch means a damaged or substituted file.
EMOJI_SHA256: dict[str, str] = {
    "google": "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    "twitter": "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
}
ATTRIBUTION_FILE = "ATTRIBUTION"

EMOJI_LICENSES: dict[str, str] = {
    "google": "Apache-2.0",
    "twitter": "CC-BY-4.0",
    "emoji-datasource": "MIT",
}

EMOJI_ATTRIBUTION = f"""\
Emoji images used by synthlib (Chapter 3, image-to-image translation)
=====================================================================

These files were unpacked from the npm packages emoji-datasource-google@{EMOJI_VERSION} and
emoji-datasource-twitter@{EMOJI_VERSION} by `python -m synthlib data` (synthlib.data.emoji).

google/   Noto Emoji images, Copyright Google Inc.
          Licensed under the Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0
          Source: https://github.com/googlefonts/noto-emoji

twitter/  Twemoji graphics, Copyright Twitter, Inc and other contributors.
          Licensed under CC-BY 4.0: https://creativecommons.org/licenses/by/4.0/
          Source: https://github.com/twitter/twemoji (this release comes from the maintained fork
          https://github.com/jdecked/twemoji, v16.0.1, under the same licence).
          Attribution is required wherever you show or share these images or images derived from them.

emoji.json and packaging: emoji-datasource by Cal Henderson (iamcal), MIT licence,
          Copyright (c) 2013 Cal Henderson. https://github.com/iamcal/emoji-data

emoji64.pt is derived from the two image sets above (composited on white); it carries their licences.
"""

EmojiSplit = Literal["train", "test", "all"]
_SPLITS = ("train", "test", "all")


# ----------------------------------------------------------------------------------------------
# The split
# ----------------------------------------------------------------------------------------------


def is_test_emoji(base_unified: str) -> bool:
    """True if the emoji whose BASE code is ``base_unified`` (e.g. "1F385") is in the test split.

    Rule: ``int(sha256(base_unified.upper()).hexdigest(), 16) % 10 == 0`` (about 10% of the base
    emoji). A hash, not a random draw, so anyone can recompute the split from the code alone, and
    adding emoji in a later release never moves an existing one. Pass the *base* code: skin-tone
    variants (e.g. "1F385-1F3FB") follow their base so that no test emoji is seen in training.
    """
    digest = hashlib.sha256(base_unified.upper().encode()).hexdigest()
    return int(digest, 16) % 10 == 0


def _split_indices(base_unified: Sequence[str], split: str) -> list[int]:
    """Positions of ``split`` ("train", "test", "all") in a list of base codes (order kept)."""
    if split == "all":
        return list(range(len(base_unified)))
    want_test = split == "test"
    return [i for i, b in enumerate(base_unified) if is_test_emoji(b) == want_test]


# ----------------------------------------------------------------------------------------------
# prepare_emoji
# ----------------------------------------------------------------------------------------------


def _read_manifest(root: Path) -> dict[str, Any] | None:
    return read_manifest(root / MANIFEST_FILE)


def _is_prepared(root: Path, checksums: Mapping[str, str]) -> bool:
    """Check (no image is read; hashing the 93 MB cache takes about 0.1 s): the manifest names this
    release and these tarballs, and ``emoji64.pt`` has the size and SHA-256 recorded there
    (:func:`verify_cache`, which also records the hash of a cache built before hashes were kept)."""
    manifest = _read_manifest(root)
    if manifest is None:
        return False
    cache = root / CACHE_FILE
    if not (
        manifest.get("version") == EMOJI_VERSION
        and manifest.get("sha256") == dict(checksums)
        and cache.is_file()
        and cache.stat().st_size == manifest.get("cache_bytes")
    ):
        return False
    try:
        verify_cache(cache)
    except CorruptDataError as e:
        print(f"  {e}")  # then prepare_emoji sets everything up again from the pinned tarballs
        return False
    return True


def _install(staging: Path, root: Path, sets: Sequence[str]) -> None:
    """Move the finished files from ``staging`` into ``root``, replacing older ones; manifest last."""
    (root / MANIFEST_FILE).unlink(missing_ok=True)  # from here on, a crash leaves "not prepared"
    for name in (*sets, CACHE_FILE, ATTRIBUTION_FILE):
        src, dst = staging / name, root / name
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        elif dst.exists() or dst.is_symlink():
            dst.unlink()
        src.replace(dst)


def prepare_emoji(
    *,
    cache_dir: str | Path | None = None,
    tarball_dir: str | Path | None = None,
    checksums: Mapping[str, str] | None = None,
    keep_tarballs: bool = False,
    force: bool = False,
    npm: str | None | Literal["auto"] = "auto",
    url_template: str = EMOJI_TARBALL_URL,
) -> Path:
    """Set up the emoji pairs once (used by ``make`` / ``python -m synthlib data``); return their folder.

    ``cache_dir``: where they go (default ``data_dir()/emoji``). If its ``MANIFEST.json`` says the
    set-up finished for this release and these checksums, nothing is done (a cheap check). Else:

    1. get ``emoji-datasource-{google,twitter}-16.0.0.tgz``: from ``tarball_dir`` if given (or
       ``$SYNTHLIB_EMOJI_TARBALLS``; nothing is fetched then), else from ``cache_dir`` if a
       previous run kept them, else ``npm pack`` (``npm``: path to npm, "auto" = look on PATH, None
       = never) and, failing that, an HTTPS download of the registry URL;
    2. check every tarball's SHA-256 against ``checksums`` (default :data:`EMOJI_SHA256`) BEFORE
       unpacking anything: a mismatch raises CorruptDataError and leaves ``cache_dir`` as it was;
    3. unpack only ``emoji.json`` and the 64 px PNGs into ``<cache_dir>/<set>/``, build
       ``emoji64.pt`` and write ``ATTRIBUTION``, all in a staging folder moved into place at the end
       (so an interrupted run never leaves half the data looking complete), then ``MANIFEST.json``;
    4. delete the tarballs it downloaded (136 MB) unless ``keep_tarballs``, in which case they stay
       in ``cache_dir`` and a later ``force=True`` run reuses them. Tarballs from ``tarball_dir``
       are never deleted.

    ``checksums`` and ``tarball_dir`` exist so tests can run the whole path offline on tiny
    tarballs they write themselves.
    """
    root = Path(cache_dir) if cache_dir is not None else emoji_dir()
    sums = dict(EMOJI_SHA256 if checksums is None else checksums)
    sets = tuple(s for s in EMOJI_SETS if s in sums)
    if sets != EMOJI_SETS:
        raise ValueError(f"checksums must give a SHA-256 for each of {EMOJI_SETS}, got {sorted(sums)}")
    if not force and _is_prepared(root, sums):
        print(f"Emoji pairs already present: {root}")
        return root
    if tarball_dir is None and os.environ.get(EMOJI_TARBALLS_ENV):
        tarball_dir = os.environ[EMOJI_TARBALLS_ENV]
    npm_path = shutil.which("npm") if npm == "auto" else npm

    t0 = time.perf_counter()
    print(f"setting up the emoji pairs (emoji-datasource {EMOJI_VERSION}, {' + '.join(sets)}) in {root}")
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    downloads = staging / "downloads"
    downloads.mkdir()
    fetched: list[Path] = []
    try:
        tarballs: dict[str, Path] = {}
        for s in sets:
            if tarball_dir is not None:
                path, downloaded = Path(tarball_dir) / tarball_name(s), False
                if not path.is_file():
                    raise DataNotFoundError(_missing_message(Path(tarball_dir), f"{path.name} is not in {tarball_dir}"))
                print(f"  using {path}")
            elif (root / tarball_name(s)).is_file():
                path, downloaded = root / tarball_name(s), False
                print(f"  using the kept tarball {path}")
            else:
                path, downloaded = _fetch_tarball(s, downloads, npm=npm_path, url_template=url_template), True
                fetched.append(path)
            _verify(path, sums[s], downloaded=downloaded)
            tarballs[s] = path
        print("  SHA-256 verified; unpacking emoji.json and the 64 px PNGs")
        for s in sets:
            n = _unpack(tarballs[s], s, staging / s)
            print(f"  {s}: {n} PNGs")
        cache = _build_cache(staging, sets)
        torch.save(cache, staging / CACHE_FILE)
        (staging / ATTRIBUTION_FILE).write_text(EMOJI_ATTRIBUTION, encoding="utf-8")
        _install(staging, root, sets)
        if keep_tarballs:
            for path in fetched:
                path.replace(root / path.name)
        n_test = sum(is_test_emoji(b) for b in set(cache["base_unified"]))
        manifest = {
            "version": EMOJI_VERSION,
            "sha256": sums,
            "pairs": len(cache["unified"]),
            "base_emoji": len(set(cache["base_unified"])),
            "test_base_emoji": n_test,
            "cache_bytes": (root / CACHE_FILE).stat().st_size,
            CACHE_SHA256_KEY: sha256_file(root / CACHE_FILE),  # checked on every load (verify_cache)
            "licenses": EMOJI_LICENSES,
        }
        (root / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # also deletes the downloaded tarballs not kept
        if created_root and root.is_dir() and not any(root.iterdir()):
            root.rmdir()  # a failed first set-up leaves no trace
    print(
        f"Emoji pairs ready: {manifest['pairs']} pairs ({manifest['base_emoji']} base emoji, "
        f"{n_test} of them in the test split) in {root} ({time.perf_counter() - t0:.0f} s)"
    )
    return root


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------

_HEX_CODE = re.compile(r"^(?:u\+)?[0-9a-f]{1,6}(?:[- ](?:u\+)?[0-9a-f]{1,6})*$", re.IGNORECASE)


def _as_unified(query: str) -> str:
    """A query as an emoji-datasource code: "1f600", "U+1F600", "1F385-1F3FB" or the emoji itself -> "1F600"."""
    q = query.strip()
    if _HEX_CODE.match(q):
        parts = re.split(r"[- ]", q.upper().replace("U+", ""))
        return "-".join(p.zfill(4) for p in parts)
    if any(ord(c) > 127 for c in q):
        return "-".join(f"{ord(c):04X}" for c in q)
    return ""


@dataclass
class EmojiPairs:
    """Paired emoji: ``google[i]`` and ``twitter[i]`` are the same emoji ``unified[i]`` in two styles.

    ``google``, ``twitter``: N x 3 x 64 x 64 images on white (uint8 from :func:`load_emoji_uint8`,
    float32 in [-1, 1] from :func:`load_emoji`). The lists hold per-emoji metadata:
    ``unified`` (codepoints, e.g. "1F385-1F3FB"), ``base_unified`` (its base emoji, "1F385"; the
    split follows it), ``name`` ("FATHER CHRISTMAS: LIGHT SKIN TONE"), ``short_name``
    ("santa::skin-tone-2") and ``category`` ("People & Body").
    """

    google: Tensor
    twitter: Tensor
    unified: list[str]
    base_unified: list[str]
    name: list[str]
    short_name: list[str]
    category: list[str]

    def __len__(self) -> int:
        return len(self.unified)

    def subset(self, indices: Sequence[int]) -> EmojiPairs:
        """The pairs at ``indices``, in that order (new tensors)."""
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        lists = {f: [getattr(self, f)[i] for i in idx.tolist()] for f in _LIST_FIELDS}
        return EmojiPairs(google=self.google.index_select(0, idx), twitter=self.twitter.index_select(0, idx), **lists)

    def index(self, query: str) -> int:
        """Position of the emoji matching ``query`` (e.g. for a widget's search box).

        Tried in order: a unified code ("1F600", "u+1f600", "1f385-1f3fb") or the emoji character
        itself (also without the invisible variation selector FE0F); then names and short names,
        case-insensitive: an exact match, then a match at the start of a word, then any substring.
        Among equal matches the first in order wins (a base emoji sorts before its variants).
        Raises ValueError, like ``list.index``, when nothing matches.
        """
        code = _as_unified(query)
        if code:
            for candidate in (code, code.replace("-FE0F", "")):
                for i, u in enumerate(self.unified):
                    if u == candidate or u.replace("-FE0F", "") == candidate:
                        return i
        q = query.strip().lower()
        if q:
            texts = [(n.lower(), s.lower()) for n, s in zip(self.name, self.short_name)]
            word_start = re.compile(r"(?:^|[\s_:\-])" + re.escape(q))
            for test in (q.__eq__, lambda t: word_start.search(t) is not None, lambda t: q in t):
                for i, (n, s) in enumerate(texts):
                    if test(n) or test(s):
                        return i
        raise ValueError(
            f"no emoji matches {query!r} among {len(self)}: give a unified code such as '1F600', "
            "the emoji itself, or part of a name such as 'grinning'"
        )


@dataclass
class EmojiUnpaired:
    """Two unpaired domains for CycleGAN-style training: ``a`` (Google) and ``b`` (Twitter), uint8.

    No emoji appears in both: see :func:`emoji_unpaired` for the rule. ``A, B = emoji_unpaired()``
    unpacks the two image tensors.
    """

    a: Tensor
    b: Tensor
    a_unified: list[str]
    b_unified: list[str]

    def __iter__(self) -> Iterator[Tensor]:
        yield self.a
        yield self.b


def _cache_path(cache_dir: str | Path | None) -> Path:
    return (Path(cache_dir) if cache_dir is not None else emoji_dir()) / CACHE_FILE


@functools.lru_cache(maxsize=2)
def _read_cache(key: FileKey) -> EmojiPairs:
    """Read and check ``emoji64.pt``; cached per (path, mtime, size), so a rebuilt file is read again.

    The file's SHA-256 is checked first against the one recorded when it was built (:func:`verify_cache`).
    """
    path = Path(key[0])
    fix = "rebuild it with `python -m synthlib data` (or `make`)"
    verify_cache(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle, zip and unpickler errors differ by torch version
        raise CorruptDataError(f"{path}: cannot load ({type(e).__name__}: {e}); {fix}") from e
    if not isinstance(data, dict) or any(k not in data for k in ("google", "twitter", *_LIST_FIELDS)):
        raise CorruptDataError(f"{path}: not an emoji cache file (missing keys); {fix}")
    n = len(data["unified"])
    for s in EMOJI_SETS:
        t = data[s]
        if not isinstance(t, Tensor) or t.dtype != torch.uint8 or tuple(t.shape) != (n, 3, EMOJI_SIZE, EMOJI_SIZE):
            got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, Tensor) else type(t).__name__
            raise CorruptDataError(f"{path}: '{s}' is {got}, expected uint8 {(n, 3, EMOJI_SIZE, EMOJI_SIZE)}; {fix}")
    if any(len(data[f]) != n for f in _LIST_FIELDS):
        raise CorruptDataError(f"{path}: metadata lists of different lengths; {fix}")
    return EmojiPairs(google=data["google"], twitter=data["twitter"], **{f: list(data[f]) for f in _LIST_FIELDS})


def _load_all(cache_dir: str | Path | None) -> EmojiPairs:
    """Every pair, as cached (do not modify the tensors)."""
    path = _cache_path(cache_dir)
    if not path.is_file():
        raise DataNotFoundError(_missing_message(path.parent, f"{path.name} not found"))
    return _read_cache(_file_key(path))


def load_emoji_uint8(split: EmojiSplit = "train", *, cache_dir: str | Path | None = None) -> EmojiPairs:
    """Emoji pairs of ``split`` ("train", "test" or "all") as uint8 0..255, sorted by ``unified``.

    The split rule is :func:`is_test_emoji` on each emoji's base code. Tensors are fresh copies
    (the file is read once per process and cached). Raises DataNotFoundError, saying to run
    ``python -m synthlib data``, when the set-up has not been run.
    """
    check_choice("split", split, _SPLITS)
    pairs = _load_all(cache_dir)
    return pairs.subset(_split_indices(pairs.base_unified, split))


def load_emoji(split: EmojiSplit = "train", *, cache_dir: str | Path | None = None) -> EmojiPairs:
    """Emoji pairs of ``split`` as float32 in [-1, 1] (synthlib's convention), N x 3 x 64 x 64.

    Google style in ``.google``, Twitter style in ``.twitter``; see :func:`load_emoji_uint8`.
    """
    pairs = load_emoji_uint8(split, cache_dir=cache_dir)
    pairs.google, pairs.twitter = from_uint8(pairs.google), from_uint8(pairs.twitter)
    return pairs


def unpaired_halves(base_unified: Sequence[str]) -> tuple[list[int], list[int]]:
    """Positions of half A and half B: distinct base codes sorted, even ranks -> A, odd -> B."""
    ranks = {b: r for r, b in enumerate(sorted(set(base_unified)))}
    half_a = [i for i, b in enumerate(base_unified) if ranks[b] % 2 == 0]
    half_b = [i for i, b in enumerate(base_unified) if ranks[b] % 2 == 1]
    return half_a, half_b


def emoji_unpaired(split: EmojiSplit = "train", *, cache_dir: str | Path | None = None) -> EmojiUnpaired:
    """Unpaired domains from ``split``: Google images of half A and Twitter images of half B (uint8).

    Rule: sort the split's distinct BASE codes; the base emoji at even positions (0, 2, 4, ...) and
    all their skin-tone variants form half A, the odd positions half B. Domain A = Google images of
    half A, domain B = Twitter images of half B. So no emoji (nor another skin tone of it) appears
    in both domains, and a CycleGAN trained on them never sees a pair, while the test split keeps
    both styles of every emoji to score it. Deterministic: no random numbers.
    """
    pairs = load_emoji_uint8(split, cache_dir=cache_dir)
    half_a, half_b = unpaired_halves(pairs.base_unified)
    ia, ib = torch.as_tensor(half_a, dtype=torch.long), torch.as_tensor(half_b, dtype=torch.long)
    return EmojiUnpaired(
        a=pairs.google.index_select(0, ia),
        b=pairs.twitter.index_select(0, ib),
        a_unified=[pairs.unified[i] for i in half_a],
        b_unified=[pairs.unified[i] for i in half_b],
    )
