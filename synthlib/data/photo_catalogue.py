"""The catalogue of the course's photographs: source, role, file, SHA-256, licence and credit of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# ----------------------------------------------------------------------------------------------
# Sources: four Debian packages and two pip packages
# ----------------------------------------------------------------------------------------------

Role = Literal["train", "heldout", "style", "style_heldout", "train_more"]

_OPENCV = "usr/share/doc/opencv-doc/examples/data/"
_KDE = "usr/share/wallpapers/"
_GNOME = "usr/share/backgrounds/gnome/"
_MATE = "usr/share/backgrounds/mate/nature/"
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


def _mate(name: str, file: str, sha: str, author: str) -> Photo:
    return Photo(name, "train_more", "mate-backgrounds", _MATE + file, sha, "GPL-2.0-or-later",
                 f"{author} (MATE background 'nature/{file}')")


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
    # --- train_more: more content photographs (MATE's nature backgrounds, mostly close-ups of plants), for the
    # course weights' long runs; the chapters train on "train" alone, so their measured numbers stay comparable ---
    _mate("aqua", "Aqua.jpg", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce", "Charles Barbin"),
    _mate("blinds", "Blinds.jpg", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600",
          "Lennart Poettering, Andrea Cimitan"),
    _mate("dune", "Dune.jpg", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91",
          "Marco Cogoni, Hylke Bons"),
    _mate("fresh_flower", "FreshFlower.jpg", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e",
          "Jens Ansorg"),
    _mate("garden", "Garden.jpg", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78", "Charles Barbin"),
    _mate("green_meadow", "GreenMeadow.jpg", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832",
          "Timothy Schellhase, Lapo Calamandrei"),
    _mate("lady_bird", "LadyBird.jpg", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d",
          "Charles Barbin"),
    _mate("rain_drops", "RainDrops.jpg", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16",
          "'blackcombwhistler07'"),
    _mate("storm", "Storm.jpg", "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957", "Sergey Nazarov"),
    _mate("two_wings", "TwoWings.jpg", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb",
          "Charles Barbin, Hylke Bons"),
    _mate("wood", "Wood.jpg", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07",
          "Jean-François Fortin Tam"),
    _mate("yellow_flower", "YellowFlower.jpg", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306",
          "Charles Barbin"),
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
