"""Photographs and paintings for Chapter 4 (neural style transfer) and Chapter 6 (restoration).

Why these sources: style transfer needs real photographs as *content* and pictures with a
strong look as *styles*; restoration needs natural photographs to degrade. The usual sets
(COCO, WikiArt) are gigabytes behind web servers with unclear terms. Instead every picture
here comes from a package registry that Debian and PyPI mirror for ever, with a recorded
licence, and is checked against a SHA-256 written in this file:

* three Debian bookworm packages, fetched as ``.deb`` files (nothing is installed):
  ``opencv-doc`` (OpenCV's sample images: test photographs, Oxford's Leuven and Graffiti
  scenes, Middlebury's stereo/flow scenes, and a reproduction of Van Gogh's *Starry Night*),
  ``plasma-workspace-wallpapers`` (KDE's wallpapers: photographs and illustrations, each with
  its author and licence in its ``metadata.json``) and ``gnome-backgrounds`` (GNOME's 4096 px
  illustrations);
* files already inside two pip packages synthlib depends on: scikit-image's ``skimage.data``
  (astronaut, coffee, chelsea, rocket and three grey textures) and matplotlib's
  ``grace_hopper.jpg``.

The catalogue (:data:`CATALOGUE`) gives each picture a unique name and one role:

* ``"train"``: content photographs that models train on (random crops, :class:`RandomCrops`);
* ``"heldout"``: content photographs never trained on; every score is computed on them;
* ``"style"``: styles used in training;
* ``"style_heldout"``: styles never trained on (does a model generalise to a new style?).

Set-up (:func:`prepare_photos`, run by ``python -m synthlib data`` / ``make data``): fetch each
``.deb`` (from ``$SYNTHLIB_DEBS``, else ``apt-get download``, else a plain download from
deb.debian.org, HTTPS first), check its SHA-256, unpack only the wanted files with pure Python (a ``.deb`` is
an ``ar`` archive holding ``data.tar.xz``: :func:`extract_deb_members`), check each file's
SHA-256, decode it (alpha composited on white, grey made RGB), crop where the catalogue says,
shrink so the longer side is at most 1024 px (never enlarged) and store it as
``data_dir()/photos/<role>/<name>.png``. ``ATTRIBUTION.md`` lists every picture's author,
source and licence; ``MANIFEST.json`` is written last and means "set-up finished". The
``.deb`` files (about 220 MB) are deleted afterwards.

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
import gzip
import importlib.metadata
import importlib.util
import io
import json
import lzma
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, overload

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from synthlib.config import check_choice
from synthlib.data import CorruptDataError, DataNotFoundError, FileKey, _file_key, data_dir, from_uint8, read_manifest
from synthlib.data.emoji import sha256_file

# ----------------------------------------------------------------------------------------------
# Sources: three Debian packages and two pip packages
# ----------------------------------------------------------------------------------------------

Role = Literal["train", "heldout", "style", "style_heldout"]
ROLES: tuple[str, ...] = ("train", "heldout", "style", "style_heldout")

DEBS_ENV = "SYNTHLIB_DEBS"  # a folder of already downloaded .deb files; used before any download
# Tried in order. HTTPS first; plain HTTP stays as a fallback (as apt itself uses it) for systems without CA
# certificates and for archive.debian.org, whose HTTPS is not relied on here. Plain HTTP is safe for these files:
# every .deb is checked against the SHA-256 in DEB_PACKAGES (from Debian's signed Packages index) before any
# byte of it is unpacked, and each picture inside against its own SHA-256 in CATALOGUE.
DEBIAN_MIRRORS: tuple[str, ...] = (
    "https://deb.debian.org/debian", "http://deb.debian.org/debian", "http://archive.debian.org/debian",
)  # fmt: skip

MANIFEST_FILE = "MANIFEST.json"  # written last: its presence means the set-up finished
ATTRIBUTION_FILE = "ATTRIBUTION.md"
MANIFEST_FORMAT = 1
DEFAULT_MAX_SIDE = 1024


@dataclass(frozen=True)
class DebPackage:
    """One Debian package (``Architecture: all``) and the SHA-256 of its ``.deb`` (from bookworm's Packages file)."""

    name: str
    version: str  # with the epoch, as apt writes it: "4:5.27.5-2"
    pool_path: str  # under a Debian mirror's root
    sha256: str
    license: str  # the package's pictures, in a word; each picture has its own in CATALOGUE
    homepage: str

    @property
    def apt_filename(self) -> str:
        """The name ``apt-get download`` saves it under (the epoch's ':' URL-quoted as '%3a')."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_all.deb"

    @property
    def pool_filename(self) -> str:
        """The name on the mirror (no epoch)."""
        return self.pool_path.rsplit("/", 1)[-1]


DEB_PACKAGES: dict[str, DebPackage] = {
    p.name: p
    for p in (
        DebPackage(
            "opencv-doc", "4.6.0+dfsg-12", "pool/main/o/opencv/opencv-doc_4.6.0+dfsg-12_all.deb",
            "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
            "Apache-2.0 AND BSD-3-Clause", "https://github.com/opencv/opencv/tree/4.6.0/samples/data",
        ),
        DebPackage(
            "plasma-workspace-wallpapers", "4:5.27.5-2",
            "pool/main/p/plasma-workspace-wallpapers/plasma-workspace-wallpapers_5.27.5-2_all.deb",
            "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b",
            "LGPL-3.0 or CC-BY-SA-4.0 (per wallpaper); package GPL-2+",
            "https://invent.kde.org/plasma/plasma-workspace-wallpapers",
        ),
        DebPackage(
            "gnome-backgrounds", "43.1-1", "pool/main/g/gnome-backgrounds/gnome-backgrounds_43.1-1_all.deb",
            "a670dea21572652127d6e55f9cdb3a226d0037854fdbfd037003c7d00ee0dc4e",
            "CC-BY-SA-3.0", "https://gitlab.gnome.org/GNOME/gnome-backgrounds",
        ),
    )
}  # fmt: skip

# pip sources: distribution name -> importable module whose folder holds the files.
PIP_SOURCES: dict[str, str] = {"scikit-image": "skimage", "matplotlib": "matplotlib"}

_OPENCV = "usr/share/doc/opencv-doc/examples/data/"
_KDE = "usr/share/wallpapers/"
_GNOME = "usr/share/backgrounds/gnome/"
_OPENCV_LICENSE = "Apache-2.0 AND BSD-3-Clause"
_GNOME_CREDIT = "GNOME Design Team (gnome-backgrounds 43)"


@dataclass(frozen=True)
class Photo:
    """One catalogue entry: where the picture comes from, its checksum, licence and role."""

    name: str  # unique, lowercase: the file is <role>/<name>.png
    role: str  # one of ROLES
    source: str  # a key of DEB_PACKAGES or PIP_SOURCES
    member: str  # path inside the .deb (no leading "./"), or relative to the pip package's folder
    sha256: str  # of the source file as packaged
    license: str
    credit: str  # author or origin, for ATTRIBUTION.md
    crop: tuple[int, int, int, int] | None = None  # (left, top, right, bottom) in source pixels, before resizing


def _ocv(name: str, role: str, file: str, sha: str, credit: str = "OpenCV sample data", **kw: Any) -> Photo:
    return Photo(name, role, "opencv-doc", _OPENCV + file, sha, kw.pop("license", _OPENCV_LICENSE), credit, **kw)


def _kde(name: str, role: str, folder: str, image: str, sha: str, author: str, lic: str) -> Photo:
    member = f"{_KDE}{folder}/contents/images/{image}"  # the largest size the wallpaper ships
    return Photo(name, role, "plasma-workspace-wallpapers", member, sha, lic, f"{author} (KDE wallpaper {folder!r})")


def _gnome(name: str, role: str, file: str, sha: str) -> Photo:
    return Photo(name, role, "gnome-backgrounds", _GNOME + file, sha, "CC-BY-SA-3.0", _GNOME_CREDIT)


def _sk(name: str, role: str, file: str, sha: str, lic: str, credit: str) -> Photo:
    return Photo(name, role, "scikit-image", "data/" + file, sha, lic, credit)


_LGPL, _CCBYSA4 = "LGPL-3.0", "CC-BY-SA-4.0"

# Van Gogh's painting sits in a black frame (7-8 px) with the canvas's unpainted beige edge inside
# it (another 6-12 px), measured on the 752 x 600 file: the share of black or beige pixels per row
# and column falls below 15% at x = 21 (left), x = 733 (right), y = 15 (top), y = 583 (bottom).
# The box cuts 1 px further in on each side.
STARRY_NIGHT_CROP = (22, 16, 732, 582)

CATALOGUE: tuple[Photo, ...] = (
    # --- train: content photographs (OpenCV samples) ---
    _ocv("aero1", "train", "aero1.jpg", "d9a69191f6e3642ea361bc3c62e677b2f40fe6534b78da540f4155e0734b59ef"),
    _ocv("aero3", "train", "aero3.jpg", "1c407146f8762b3b14a7953ff9bc4c01ed64c467d7277122e769bf7e816017a4"),
    _ocv("apple", "train", "apple.jpg", "e86879de3d9a807dedc742a8f464f39e6b74bbb531a1fba3583155d94997d1cd"),
    _ocv("baboon", "train", "baboon.jpg", "1a1dd18d78eec44420af3b0b7f08ee3d41c982916cae3ce203d7ff35d754cc0f",
         "OpenCV sample data (the classic 'Mandrill' test image, USC-SIPI)"),
    _ocv("building", "train", "building.jpg", "742a1baad62ac82e91e718e77eedf7e85c2eddc4badfb8c87c6cbc86c45a8b07"),
    _ocv("orange", "train", "orange.jpg", "152c20d2f380ac985de25e474e1a5f06ed34b932191342099b8272a63a15a079"),
    _ocv("leuven_a", "train", "leuvenA.jpg", "b2977cdbd9fb3f94dadd6f76cf586d145676deb8a22b5f0f42149d21c058c09f",
         "OpenCV sample data ('Leuven' scene, Oxford affine-covariant regions data set)"),
    _ocv("aloe_l", "train", "aloeL.jpg", "cce5736808efe80d9f04b118dbb978c344d4345672b332718c3e039a3eeb8eee",
         "OpenCV sample data ('Aloe', Middlebury stereo data set)"),
    _ocv("chicky", "train", "chicky_512.png", "4d2cf040de084fd3f34d5e3f96f1251faaa4787c1ac3b548fec5809a0d01854e"),
    _ocv("stuff", "train", "stuff.jpg", "21cd00afbdd0727f445dd91c0a09633e6345ed5b05a3d2355453a1f3c314c6c5"),
    _ocv("board", "train", "board.jpg", "4c9a24ba67138ad5486d550f586cc5dd1161be112f1c1bea336d6c550cdf255f"),
    _ocv("licenseplate_motion", "train", "licenseplate_motion.jpg",
         "ea6fa9cea75df91bec656d1d3b903111a9c0708c6a3b88f405a5156de38ff9d6"),
    _ocv("rubberwhale", "train", "rubberwhale1.png", "eb312435369dac9efcc92f7e098edbd9ed8d7e6dfede8b3b4d8e3702cd80b796",
         "OpenCV sample data ('RubberWhale', Middlebury optical-flow data set)"),
    _ocv("ela_original", "train", "ela_original.jpg",
         "b55798b35e2dcb24675f0865a2442d0e4887eeb6aff322ecb1968d936cc23e7f"),
    # --- train: content photographs (KDE wallpapers) ---
    _kde("by_the_water", "train", "BytheWater", "2560x1600.jpg",
         "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f", "Maciej Wiklo", _LGPL),
    _kde("cold_ripple", "train", "ColdRipple", "2560x1600.jpg",
         "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f", "Risto Saukonpää", _LGPL),
    _kde("colorful_cups", "train", "ColorfulCups", "2560x1600.jpg",
         "6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d", "Dmitri Popov", _LGPL),
    _kde("darkest_hour", "train", "DarkestHour", "2560x1600.jpg",
         "8e3703fae3a3c217b1fc2b399b706cd3720584268d071ba153e4809daa55f1ce", "Risto Saukonpää", _LGPL),
    _kde("evening_glow", "train", "EveningGlow", "2560x1600.jpg",
         "586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a", "Ian Hex", _LGPL),
    _kde("fallen_leaf", "train", "FallenLeaf", "2560x1600.jpg",
         "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de", "Martin Klapetek", _LGPL),
    _kde("grey", "train", "Grey", "2560x1600.jpg",
         "88c31d8944b7e6935d1b9a296654c692f0772cb512491713eb30a972a604c0ed", "Sigi Sagi", _LGPL),
    _kde("kite", "train", "Kite", "2560x1600.jpg",
         "bdca288ce296a981e80659c021cf707caddc702c0c8d4247e60bd618476d47f8", "Risto Saukonpää", _LGPL),
    _kde("one_stands_out", "train", "OneStandsOut", "2560x1600.jpg",
         "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd", "Risto Saukonpää", _LGPL),
    _kde("path", "train", "Path", "2560x1600.jpg",
         "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8", "Risto Saukonpää", _LGPL),
    _kde("summer_1am", "train", "summer_1am", "2560x1600.jpg",
         "c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8", "Risto Saukonpää", _LGPL),
    _kde("volna", "train", "Volna", "5120x2880.jpg",
         "abc30b4fc6f6a83b6156e6b59ac283c067de40af820aafac8ac7c4fd83a9607c", "Nikita Babin", _CCBYSA4),
    # --- heldout: content photographs never trained on ---
    _sk("astronaut", "heldout", "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        "public domain", "NASA: astronaut Eileen Collins (scikit-image sample data)"),
    _sk("coffee", "heldout", "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
        "CC0-1.0", "Rachel Michetti, courtesy of Pikolo Espresso Bar (scikit-image sample data)"),
    _sk("chelsea", "heldout", "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
        "CC0-1.0", "Stefan van der Walt: Chelsea the cat (scikit-image sample data)"),
    _sk("rocket", "heldout", "rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
        "public domain", "SpaceX: launch of DSCOVR on Falcon 9 (scikit-image sample data)"),
    Photo("grace_hopper", "heldout", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg",
          "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130", "public domain",
          "US Navy: official portrait of Rear Admiral Grace M. Hopper (matplotlib sample data)"),
    _ocv("butterfly", "heldout", "butterfly.jpg", "34a99716b78ded10eae87b4880de739d3e68cc7dd1a96812bb28f469d5eeaea8"),
    _ocv("home", "heldout", "home.jpg", "23b8cf46a1965d0ec33459b875aed43187802834db49e0daa9fa2cc842e9d8d2"),
    _ocv("squirrel", "heldout", "squirrel_cls.jpg", "20bb6e8ae96918a36c9886b6d48e54eedeb3948591e1485c206bc1dc60c8dc8b"),
    _ocv("fruits", "heldout", "fruits.jpg", "9c031d80a1c52da5eca790db896baffec6a7e52bf786cdb7bbfca5c7f880e6a1"),
    # --- style: illustrations and textures used in training ---
    _kde("altai", "style", "Altai", "5120x2880.png",
         "f693f572875536b41935417f88d523bb0174b77c2dd7f00b71cd55436f93387d", "Alesya Khoteeva", _CCBYSA4),
    _kde("canopee", "style", "Canopee", "3840x2160.png",
         "c538a5a7f7f78fbc129006b889acd8580e088f070df83509a1a7a7af9681ae43", "Ken Vermette", _LGPL),
    _kde("cascade", "style", "Cascade", "3840x2160.png",
         "1915b53a6c0679595cdc3601dd3fc2984774152cbe40550b338d0121a41828c8", "Ken Vermette", _LGPL),
    _kde("cluster", "style", "Cluster", "3840x2160.png",
         "e3e77c68791e1b7cc2e46bc9428798ac5582e9f88e1d6ca570078129437e596f", "Ken Vermette", _LGPL),
    _kde("elarun", "style", "Elarun", "2560x1600.png",
         "ce4d7a22554fdc4d170c56bdee699e92ef6d721f4507f963702ed866029c01ed", "Nuno Pinheiro", _LGPL),
    _kde("flow", "style", "Flow", "5120x2880.jpg",
         "b2f1fbe9ebf772fed224de83ee4159cc3735c633a88cc42f8f45d49ccd12efc3", "Sandra Smukaste", _CCBYSA4),
    _kde("flying_konqui", "style", "FlyingKonqui", "2560x1600.png",
         "856ecdf80b8253759629ae2c76d25d63d79fa81dbf05e4ee7ae0c95454e555bb", "Timothée Giet", _LGPL),
    _kde("honeywave", "style", "Honeywave", "5120x2880.jpg",
         "e75adbd953e9b7dc8946223e7f1f2c4a9378496e7597198f65b095356995c7ad", "Ken Vermette", _CCBYSA4),
    _kde("ice_cold", "style", "IceCold", "5120x2880.png",
         "4f000813086b839f4845e40bb51385e2e2afaf1df5bf55514d808f70611a63e6", "Santiago Cézar", _CCBYSA4),
    _kde("kay", "style", "Kay", "5120x2880.png",
         "2b2fcfe33dbf701deb524f04231a3966e40f3239baf70469318c00c3961c2458", "ruvkr", _CCBYSA4),
    _kde("kokkini", "style", "Kokkini", "3840x2160.png",
         "ba6fbd6ca54e4fef11e6c3e0b4f8fce21305846c7fcc2bcac6b4e15c75343d46", "Ken Vermette", _LGPL),
    _kde("milky_way", "style", "MilkyWay", "5120x2880.png",
         "777b501b626c0e8417167229187a787bbaf2b59c83f8343c18d1b0486e754296", "ruvkr", _CCBYSA4),
    _kde("opal", "style", "Opal", "3840x2160.png",
         "bdc37f083dd498c54b853a273b2518a6402dbece172cc2d7873c478d70e06b20", "Ken Vermette", _LGPL),
    _kde("pastel_hills", "style", "PastelHills", "3200x2000.jpg",
         "8a5f3dc3ddc75687b5cc83833acb1ec9ce0b03d6529b2dace584707485447506", "Lionel", _LGPL),
    _kde("patak", "style", "Patak", "5120x2880.png",
         "e8f6167bafea78c54e2b736c448ce22809cc0bd085fb3a371d71546e956e7391", "Áron Kovács", _CCBYSA4),
    _kde("shell", "style", "Shell", "5120x2880.jpg",
         "220d5fe725453dba2329b6733cb7094d8615f2e0bbbb8a150e9f113101c02213", "Lucas Andrade", _CCBYSA4),
    _kde("safe_landing", "style", "SafeLanding", "5120x2880.jpg",
         "7341ff2532d1a13a2ba35f2a9219a2c6cb070446f1aae4ce9a3a981c3bedd32f", "Louis Durrant", _CCBYSA4),
    _gnome("adwaita_dark", "style", "adwaita-d.webp",
           "c4b3fed40deae59f4d296b8f12b0ece7c178c4cfabe9442a260126af5a67819c"),
    _gnome("grid_light", "style", "grid-l.webp", "5c4cb676405e7eb0d89757feb0e4ddb1f1003450066206c5ee928771f5e475af"),
    _gnome("licorice_light", "style", "licorice-l.webp",
           "728c5dbcb399902570deb83fa10f5c142a87ed22c05140d6b41a1894c1fd4bb9"),
    _gnome("truchet_light", "style", "truchet-l.webp",
           "ad1bb88c2aa30babe41f61c58f5c59a024fc73d5072ae37b7ae5035328ac0591"),
    _gnome("truchet_dark", "style", "truchet-d.webp",
           "1ea4da549d93dd4a7fadf08705883435f8158159d9c57e72f7cb56a758ccef15"),
    _gnome("wood_light", "style", "wood-l.webp", "37c8e62479bc5282a0e890d0bcbe1762223cc541b79730dcfaf38b0a57d2e80e"),
    _gnome("pixels_light", "style", "pixels-l.webp",
           "1ee02e123d937bdcbc6ec848cda8b54f7acdddf5c0cec9f8aa6f4b2182835711"),
    _ocv("graffiti", "style", "graf1.png", "1504b769303c7bde00fa578eeaad3c68e02aceabeb1242e556f1f8d19e4bdea5",
         "OpenCV sample data ('Graffiti' scene, Oxford affine-covariant regions data set)"),
    _ocv("happy_fish", "style", "HappyFish.jpg", "ade5b67347d7f89b1539c93843f3f7178782a7e34eb1fe586f4a785c3e60a432"),
    _sk("brick", "style", "brick.png", "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
        "CC0-1.0", "CC0Textures 'Bricks25' (scikit-image sample data)"),
    _sk("grass", "style", "grass.png", "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
        "CC0-1.0", "linolafett on DeviantArt, 'Grass 01' (scikit-image sample data)"),
    _sk("gravel", "style", "gravel.png", "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12",
        "CC0-1.0", "CC0Textures 'Gravel04' (scikit-image sample data)"),
    # --- style_heldout: styles never trained on ---
    _ocv("starry_night", "style_heldout", "starry_night.jpg",
         "accda7a19a90f22a4a922fdc8c230167d7abf5f80882171e2cee125c5f12481d",
         "Vincent van Gogh, The Starry Night (1889), via OpenCV sample data", license="public domain",
         crop=STARRY_NIGHT_CROP),
    _kde("autumn", "style_heldout", "Autumn", "2560x1600.jpg",
         "dfded25df13f5c2dfee68cafb23f69c3efb32b8a6931d82ebbe42de9810dd1e4", "RJ Quiralta", _LGPL),
)  # fmt: skip

_BY_NAME: dict[str, Photo] = {p.name: p for p in CATALOGUE}
_RERUN = "run `python -m synthlib data` (or `make data`) to set it up again"


def photos_dir() -> Path:
    """Where the prepared pictures live: ``data_dir()/photos``."""
    return data_dir() / "photos"


def _root(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else photos_dir()


def _missing_message(where: Path, reason: str) -> str:
    debs = ", ".join(p.apt_filename for p in DEB_PACKAGES.values())
    return (
        f"the photographs are not set up ({reason}; looked in {where}).\n"
        "Set them up once with `python -m synthlib data` (or `make data`): it fetches three Debian packages "
        "(opencv-doc, plasma-workspace-wallpapers, gnome-backgrounds; about 220 MB, with `apt-get download` or "
        "from deb.debian.org, deleted afterwards) and reads a few files shipped inside scikit-image and matplotlib.\n"
        f"Offline: put the .deb files ({debs}) in a folder and set ${DEBS_ENV} to it before `python -m synthlib data`."
    )


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
    """Names of the catalogue's pictures of ``role`` ("train", "heldout", "style", "style_heldout"; None = all),
    in catalogue order. Needs no data."""
    if role is not None:
        check_choice("role", role, ROLES)
    return [p.name for p in CATALOGUE if role is None or p.role == role]


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


# ----------------------------------------------------------------------------------------------
# .deb files: an ar archive holding data.tar.<xz|gz|bz2>
# ----------------------------------------------------------------------------------------------

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60  # name 16, mtime 12, uid 6, gid 6, mode 8, size 10, magic 2 ("`\n")
_TAR_MODES = {"data.tar.xz": "r|xz", "data.tar.gz": "r|gz", "data.tar.bz2": "r|bz2", "data.tar": "r|"}


def iter_ar_members(f: BinaryIO, path: Path | str = "archive") -> Iterator[tuple[str, int, int]]:
    """``(name, offset, size)`` of each member of the ``ar`` archive open as ``f`` (positioned at its start).

    Raises CorruptDataError (naming ``path``) when ``f`` is not an ar archive or a header is damaged.
    The caller may read or seek freely between members: the next header is found from the offsets.
    """
    if f.read(len(_AR_MAGIC)) != _AR_MAGIC:
        raise CorruptDataError(f"{path}: not a .deb (no ar archive header '!<arch>'); delete it and fetch it again")
    offset = len(_AR_MAGIC)
    while True:
        f.seek(offset)
        header = f.read(_AR_HEADER)
        if not header:
            return
        if len(header) < _AR_HEADER or header[58:60] != b"`\n":
            raise CorruptDataError(f"{path}: damaged ar member header at byte {offset}; delete it and fetch it again")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")  # GNU ar ends names with '/'
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise CorruptDataError(f"{path}: bad member size in the ar header at byte {offset}") from None
        yield name, offset + _AR_HEADER, size
        offset += _AR_HEADER + size + (size & 1)  # data are padded to an even length


class _Window(io.RawIOBase):
    """Read-only view of ``size`` bytes of ``f`` from its current position (one ar member)."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f, self._left = f, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._left)
        if n <= 0:
            return 0
        data = self._f.read(n)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


# What a damaged payload raises (tarfile wraps most decompression errors in ReadError, a TarError).
_UNPACK_ERRORS = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def extract_deb_members(deb: str | Path, wanted: Mapping[str, str | Path]) -> None:
    """Copy the files ``wanted`` (member path inside the package -> target file) out of the ``.deb`` at ``deb``.

    Member paths are as installed, without the leading ``./`` (``"usr/share/doc/x/y.jpg"``).
    The ``data.tar`` member is streamed once, decompressed with the standard library (xz, gzip,
    bzip2 or none) and left as soon as every wanted file is out; each file goes to the target path
    given, never to a path taken from the archive. Raises CorruptDataError when ``deb`` is not an
    ar archive, has no ``data.tar.*``, uses zstd (Ubuntu's; not readable with the standard library),
    is damaged, or lacks a wanted member (all missing ones are named).
    """
    deb = Path(deb)
    todo = {k.removeprefix("./"): Path(v) for k, v in wanted.items()}
    if not todo:
        return
    with open(deb, "rb") as f:
        for name, offset, size in iter_ar_members(f, deb):
            if not name.startswith("data.tar"):
                continue
            if name not in _TAR_MODES:
                zst = " (zstd, as Ubuntu builds them: Python's standard library cannot read it; use Debian's .deb)"
                raise CorruptDataError(f"{deb}: unsupported payload {name}{zst if 'zst' in name else ''}")
            f.seek(offset)
            try:
                with tarfile.open(fileobj=io.BufferedReader(_Window(f, size), 1 << 20), mode=_TAR_MODES[name]) as tf:
                    for member in tf:
                        key = member.name.removeprefix("./")
                        if key not in todo or not member.isfile():
                            continue
                        src = tf.extractfile(member)
                        assert src is not None  # regular files always have a stream
                        target = todo.pop(key)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
                        if not todo:
                            return
            except _UNPACK_ERRORS as e:
                raise CorruptDataError(
                    f"{deb}: cannot unpack {name} ({type(e).__name__}: {e}); delete it and fetch it again"
                ) from e
            missing = ", ".join(sorted(todo))
            raise CorruptDataError(f"{deb}: {name} has no {missing}; is it the expected package and version?")
    raise CorruptDataError(f"{deb}: no data.tar member; is it really a .deb?")


# ----------------------------------------------------------------------------------------------
# Fetching and verifying the .deb files
# ----------------------------------------------------------------------------------------------


def _apt_get_download(pkg: DebPackage, dest: Path, apt_get: str) -> Path:
    """``apt-get download NAME=VERSION`` in ``dest`` (works without root; needs the package in apt's lists)."""
    spec = f"{pkg.name}={pkg.version}"
    proc = subprocess.run([apt_get, "download", spec], cwd=dest, capture_output=True, text=True, timeout=1800)
    found = sorted(dest.glob(f"{pkg.name}_*.deb"))
    if proc.returncode != 0 or not found:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
        raise RuntimeError(f"`apt-get download {spec}` failed (exit {proc.returncode}): {tail}")
    return found[0]


def _http_download(pkg: DebPackage, dest: Path, mirror: str) -> Path:
    """Plain download of the pool file from ``mirror`` with urllib, via a .part file."""
    url = f"{mirror.rstrip('/')}/{pkg.pool_path}"
    path = dest / pkg.pool_filename
    part = path.with_name(path.name + ".part")
    with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    part.replace(path)
    return path


def _find_deb(pkg: DebPackage, folder: Path) -> Path | None:
    for name in (pkg.apt_filename, pkg.pool_filename):
        if (folder / name).is_file():
            return folder / name
    return None


def fetch_deb(
    pkg: DebPackage,
    dest: Path,
    *,
    debs_dir: str | Path | None = None,
    apt_get: str | None = None,
    mirrors: Sequence[str] = DEBIAN_MIRRORS,
) -> tuple[Path, bool]:
    """Get ``pkg``'s ``.deb``: ``(path, downloaded)``; ``downloaded`` False when it came from ``debs_dir``.

    Tried in order: ``debs_dir`` (a folder holding the file under apt's name, e.g.
    ``plasma-workspace-wallpapers_4%3a5.27.5-2_all.deb``, or the pool's name); ``apt-get download``
    into ``dest`` when ``apt_get`` (its path) is given; a plain download from each of ``mirrors`` in turn.
    Nothing is verified here (see :func:`verify_deb`). Raises DataNotFoundError with every reason.
    """
    if debs_dir is not None:
        found = _find_deb(pkg, Path(debs_dir))
        if found is not None:
            print(f"  using {found}", flush=True)
            return found, False
        print(f"  {pkg.apt_filename} is not in {debs_dir}; fetching it", flush=True)
    t0, errors = time.perf_counter(), []
    if apt_get is not None:
        print(f"  fetching {pkg.name}={pkg.version} with apt-get download ...", flush=True)
        try:
            path = _apt_get_download(pkg, dest, apt_get)
            print(f"  got {path.name} ({path.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t0:.0f} s)")
            return path, True
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            errors.append(str(e))
            print(f"  apt-get download failed ({e}); trying a plain download", flush=True)
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{pkg.pool_path}"
        print(f"  downloading {url} ...", flush=True)
        try:
            path = _http_download(pkg, dest, mirror)
        except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors
            errors.append(f"download of {url} failed: {e}")
            continue
        print(f"  got {path.name} ({path.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t0:.0f} s)")
        return path, True
    raise DataNotFoundError(_missing_message(dest, f"cannot get {pkg.pool_filename}: " + "; ".join(errors)))


def verify_deb(path: Path, pkg: DebPackage, *, downloaded: bool, expected: str | None = None) -> None:
    """Raise CorruptDataError unless the ``.deb`` at ``path`` has the SHA-256 ``expected`` (default
    ``pkg.sha256``); a downloaded file that fails is deleted. The message names both hashes."""
    expected = pkg.sha256 if expected is None else expected
    actual = sha256_file(path)
    if actual == expected:
        return
    if downloaded:
        path.unlink(missing_ok=True)
        what = "the download was damaged, or the mirror serves another build; it was deleted"
        fix = "run `python -m synthlib data` again; if it fails the same way, report it (the pinned checksum is stale)"
    else:
        what = "the file is damaged, truncated or another version"
        fix = (f"replace it with `apt-get download {pkg.name}={pkg.version}` (Debian bookworm), "
               f"or unset ${DEBS_ENV} to download it")  # fmt: skip
    raise CorruptDataError(
        f"{path}: SHA-256 mismatch (expected {expected}, got {actual}); {what}. Nothing was unpacked. Fix: {fix}."
    )


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
    stored file exists with the size and SHA-256 recorded (hashing the 42 MB takes well under a second)."""
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
    print(f"setting up {len(CATALOGUE)} photographs and paintings (3 Debian packages, scikit-image, matplotlib) "
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


# ----------------------------------------------------------------------------------------------
# Random crops for training
# ----------------------------------------------------------------------------------------------


class RandomCrops(Dataset[Tensor]):
    """Random square crops of the pictures of a role: a virtual epoch of ``n`` crops, each decided by ``(seed, i)``.

    ``ds[i]`` is a float32 3 x crop x crop tensor in [-1, 1]: a picture drawn uniformly from
    ``names`` (default: every prepared picture of ``role``), a square whose side is a fraction
    ``s ~ U(scale)`` of the picture's shorter side at a uniform position, resized to ``crop``
    (bilinear, antialiased), flipped left-right with probability 1/2 if ``flip``. The draw comes from
    ``numpy.random.default_rng((seed, i))``, so the same (seed, i) gives the same crop in any process,
    DataLoader worker or resumed run. :meth:`sample` draws crop ``i`` for any ``i >= 0`` (beyond ``n``
    too), which :meth:`batches` uses for an endless, resumable batch iterator for synthlib's Trainer.

    The pictures are decoded once and kept in memory as uint8, shrunk so their shorter side is at
    most ``max_short_side`` (512: about 30 MB for the 27 training photographs). With ``scale[0] *
    max_short_side >= crop`` no crop is ever enlarged.
    """

    def __init__(
        self,
        role: Role = "train",
        crop: int = 128,
        n: int = 10_000,
        *,
        scale: tuple[float, float] = (0.25, 1.0),
        flip: bool = True,
        seed: int = 0,
        max_short_side: int = 512,
        names: Sequence[str] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        check_choice("role", role, ROLES)
        lo, hi = scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"scale must satisfy 0 < lo <= hi <= 1, got {scale}")
        if crop < 1 or n < 1 or max_short_side < 1 or seed < 0:
            raise ValueError(
                f"need crop, n, max_short_side >= 1 and seed >= 0; got {crop}, {n}, {max_short_side}, {seed}"
            )
        root = _root(cache_dir)
        self.names = list(names) if names is not None else _role_names(role, root)
        self.role, self.crop, self.n, self.scale, self.flip, self.seed = role, crop, n, (lo, hi), flip, seed
        self.images: list[Tensor] = []  # uint8 3 x H x W each
        for name in self.names:
            im = _read_u8(root, _entry(name, root))
            if min(im.size) > max_short_side:
                im = _resize_short(im, max_short_side)
            self.images.append(_to_tensor_u8(im))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Tensor:
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} crops")
        return self.sample(i % self.n)

    def params(self, i: int) -> tuple[int, int, int, int, bool]:
        """Where crop ``i`` comes from: (picture index, top, left, side in stored pixels, flipped)."""
        rng = np.random.default_rng((self.seed, i))
        k = int(rng.integers(len(self.images)))
        _, h, w = self.images[k].shape
        side = max(1, min(h, w, round(rng.uniform(*self.scale) * min(h, w))))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        flipped = bool(self.flip and rng.random() < 0.5)
        return k, top, left, side, flipped

    def sample(self, i: int) -> Tensor:
        """Crop number ``i`` (any ``i >= 0``): float32 3 x crop x crop in [-1, 1]."""
        if i < 0:
            raise ValueError(f"crop index must be >= 0, got {i}")
        k, top, left, side, flipped = self.params(i)
        x = from_uint8(self.images[k][:, top : top + side, left : left + side])
        if side != self.crop:
            x = F.interpolate(x[None], size=(self.crop, self.crop), mode="bilinear", antialias=True,
                              align_corners=False)[0].clamp_(-1.0, 1.0)  # fmt: skip
        return x.flip(-1) if flipped else x

    def batches(self, batch_size: int) -> CropBatches:
        """An endless, resumable iterator of ``batch_size`` x 3 x crop x crop batches (crops 0, 1, 2, ... in order)."""
        return CropBatches(self, batch_size)


class CropBatches:
    """Endless batches of :class:`RandomCrops`: batch ``k`` holds crops ``k*B .. k*B+B-1``, resumable.

    ``state_dict()`` / ``load_state_dict()`` hold the position, so synthlib's Trainer resumes with
    the exact batches an uninterrupted run would see. Crops never repeat: indices run past ``n``.
    """

    def __init__(self, crops: RandomCrops, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.crops, self.batch_size, self.position = crops, batch_size, 0

    def __iter__(self) -> CropBatches:
        return self

    def __next__(self) -> Tensor:
        start, self.position = self.position, self.position + self.batch_size
        return torch.stack([self.crops.sample(i) for i in range(start, start + self.batch_size)])

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position, "batch_size": self.batch_size, "seed": self.crops.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if (state["batch_size"], state["seed"]) != (self.batch_size, self.crops.seed):
            raise ValueError(
                f"checkpoint was taken with batch_size={state['batch_size']}, seed={state['seed']}, but these batches "
                f"have batch_size={self.batch_size}, seed={self.crops.seed}; use the same ones"
            )
        self.position = int(state["position"])


def content_crops(crop: int = 128, n: int = 10_000, *, seed: int = 0, **kw: Any) -> RandomCrops:
    """Random crops of the training photographs: ``RandomCrops("train", crop, n, seed=seed, **kw)``."""
    return RandomCrops("train", crop, n, seed=seed, **kw)
