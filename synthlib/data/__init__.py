"""Data: pixel conversions, Fashion-MNIST, resumable batch iterators and toy distributions.

Pixel convention (the ONE convention of synthlib)
-------------------------------------------------
Images are ``torch.float32`` tensors with values in **[-1, 1]**, laid out **N x C x H x W**.
-1 is black, +1 is white. Every model, loss, metric and plot in synthlib takes and returns
images in this form. Convert only at the edges, with the helpers here:

* :func:`from_uint8` -- uint8 0..255 -> float [-1, 1]
* :func:`to_uint8`   -- float [-1, 1] -> uint8 0..255 (clamped, rounded)
* :func:`to_unit`    -- float [-1, 1] -> float [0, 1] (clamped; for matplotlib)
* :func:`from_unit`  -- float [0, 1]  -> float [-1, 1]

Data files live in :func:`data_dir` (``$SYNTHLIB_DATA_DIR`` or ``<project>/data``).
"""

from synthlib.data.batches import TensorBatches, Transform

# ----------------------------------------------------------------------------------------------
# Chapter 3: emoji pairs and the pix2pix / CycleGAN folder readers (submodules)
# ----------------------------------------------------------------------------------------------
from synthlib.data.emoji import (
    EmojiPairs,
    EmojiUnpaired,
    emoji_unpaired,
    is_test_emoji,
    load_emoji,
    load_emoji_uint8,
    prepare_emoji,
)
from synthlib.data.fashion import (
    DEBIAN_FASHION_MNIST_DIR,
    FileKey,
    Split,
    fashion_mnist_source,
    load_fashion_mnist,
    load_fashion_mnist_uint8,
    prepare_fashion_mnist,
    read_idx,
)
from synthlib.data.folders import (
    PairedImageFolder,
    UnpairedImageFolders,
    download_cyclegan_dataset,
    download_pix2pix_dataset,
)
from synthlib.data.paths import (
    DATA_DIR_ENV,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_SHA256,
    CorruptDataError,
    DataNotFoundError,
    data_dir,
    project_root,
    read_manifest,
)
from synthlib.data.pixels import (
    from_uint8,
    from_unit,
    pad_to,
    resize,
    to_uint8,
    to_unit,
)
from synthlib.data.toy_densities import (
    GaussianMixture,
    Grid2D,
    Mixture1D,
    Ring2D,
    ToyBatches,
    toy_distribution,
)

__all__ = [
    "CorruptDataError", "DATA_DIR_ENV", "DEBIAN_FASHION_MNIST_DIR", "DataNotFoundError", "EmojiPairs",
    "EmojiUnpaired", "FASHION_MNIST_CLASSES", "FASHION_MNIST_SHA256", "FileKey", "GaussianMixture", "Grid2D",
    "Mixture1D", "PairedImageFolder", "Ring2D", "Split", "TensorBatches", "ToyBatches", "Transform",
    "UnpairedImageFolders", "data_dir", "download_cyclegan_dataset", "download_pix2pix_dataset", "emoji_unpaired",
    "fashion_mnist_source", "from_uint8", "from_unit", "is_test_emoji", "load_emoji", "load_emoji_uint8",
    "load_fashion_mnist", "load_fashion_mnist_uint8", "pad_to", "prepare_emoji", "prepare_fashion_mnist",
    "project_root", "read_idx", "read_manifest", "resize", "to_uint8", "to_unit", "toy_distribution"
]
