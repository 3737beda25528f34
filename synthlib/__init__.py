"""synthlib: the shared package behind the image-synthesis course.

Pixel convention (stated once, here and in :mod:`synthlib.data`): images are float32 tensors in
[-1, 1], laid out N x C x H x W.
"""

__version__ = "0.1.0"
