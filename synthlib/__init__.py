"""synthlib: the shared package behind the image-synthesis course.

Pixel convention (stated once, here and in :mod:`synthlib.data`): images are float32 tensors in
[-1, 1], laid out N x C x H x W.

The modules: ``data`` (datasets, pixel helpers, toy densities), ``models`` (one file per family),
``losses`` (pure functions), ``train`` (the one training loop), ``gan`` (GAN phases for the loop),
``checkpoint``, ``metrics``, ``plots``, ``widgets``, ``runs`` (recorded metrics), ``config``.
"""

from synthlib.core.runs import collect, current_run, record, save_figure, start_run

__version__ = "0.1.0"
__all__ = ["collect", "current_run", "record", "save_figure", "start_run"]
