"""synthlib: the shared package behind the image-synthesis course.

Pixel convention (stated once, here and in :mod:`synthlib.data`): images are float32 tensors in
[-1, 1], laid out N x C x H x W.

One package per family a chapter teaches -- ``gan`` (chapters 1-2), ``translation`` (3), ``style`` (4),
``stylegan`` (5), ``restoration`` (6), ``likelihood`` (7) -- each with its networks, its recipe for the one
training loop, its analyses, its explorer and its command-line verb; ``scoreboard`` (8). Shared: ``core``
(the loop, checkpoints, the model registry, configs, notebook parameters, runs), ``nn`` (networks several
families use), ``data``, ``metrics``, ``ui`` (the explorers' plumbing), ``plots``, ``sample``, ``cli`` and
``course_weights`` (the trained models the course ships).
"""

from synthlib.core.runs import collect, current_run, record, save_figure, start_run

__version__ = "0.1.0"
__all__ = ["collect", "current_run", "record", "save_figure", "start_run"]
