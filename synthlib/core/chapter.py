"""A chapter's settings: every size, budget and count that its run profile picks, in one typed table.

A notebook runs in three profiles (``smoke``: seconds, for the tests; ``default``: minutes on a 2-core CPU;
``full``: a GPU). Each chapter's settings class lists, field by field, the value each profile takes, so that
a reader sees in one place what the profiles change, and so that the notebook reads ``settings.z_dim`` instead
of repeating ``pick(profile, smoke=16, default=64, full=100)`` wherever the value is needed::

    @dataclass(frozen=True)
    class DCGANSettings(ChapterSettings):
        z_dim: int = profiled(smoke=16, default=64, full=100, doc="latent size")
        budget_s: float = profiled(smoke=20, default=210, full=600, doc="training seconds per model",
                                   parameter="minutes", given=minutes_to_seconds)

A field tied to a notebook parameter (``parameter=``) takes the parameter's value when it is not None (the
``parameters`` cell's None means "the profile's value"); ``given(value, profile_value)`` converts it.
:func:`synthlib.start_run` builds the chapter's settings from the resolved profile and the notebook's
parameters (the values are checked first, by :mod:`synthlib.core.params`) and keeps them as ``run.settings``,
which the run's ``metrics.json`` records.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from synthlib.core.config import PROFILES, asdict, from_dict, resolve_profile

S = TypeVar("S", bound="ChapterSettings")

def minutes_to_seconds(minutes: float, _: float) -> float:
    """``given`` for a budget field in seconds that a ``minutes`` parameter overrides."""
    return 60.0 * minutes


def profiled(*, smoke: Any, default: Any, full: Any, doc: str = "", parameter: str | None = None,
             given: Callable[[Any, Any], Any] | None = None) -> Any:
    """A settings field whose value depends on the profile. ``parameter``: the notebook parameter that
    overrides it when not None; ``given(parameter value, profile value)``: the field's value then
    (default: the parameter's value)."""
    return dataclasses.field(default=None, metadata={
        "profiles": {"smoke": smoke, "default": default, "full": full},
        "doc": doc, "parameter": parameter, "given": given,
    })


@dataclasses.dataclass(frozen=True)
class ChapterSettings:
    """The base of every chapter's settings (see the module docstring). ``profile``: the resolved profile."""

    profile: str = "default"

    #: the notebook these settings belong to ("02_dcgan"), for messages
    NOTEBOOK: ClassVar[str] = ""

    @classmethod
    def profiled_fields(cls) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(cls) if "profiles" in f.metadata]

    @classmethod
    def parameters(cls) -> list[str]:
        """The notebook parameters that override a field."""
        return [f.metadata["parameter"] for f in cls.profiled_fields() if f.metadata["parameter"]]

    @classmethod
    def for_profile(cls: type[S], profile: str | None = None, **parameters: Any) -> S:
        """The settings for ``profile`` (None: ``$SYNTHLIB_PROFILE``, else "default"), with the notebook's
        ``parameters``: those tied to a field override its value when not None; the others are ignored (they
        are the notebook's own choices, such as the loss)."""
        profile = resolve_profile(profile)
        values: dict[str, Any] = {}
        for f in cls.profiled_fields():
            value = f.metadata["profiles"][profile]
            name = f.metadata["parameter"]
            if name is not None and parameters.get(name) is not None:
                given = f.metadata["given"]
                value = given(parameters[name], value) if given else parameters[name]
            values[f.name] = value
        return from_dict(cls, values, profile=profile)

    def as_dict(self) -> dict[str, Any]:
        """The values by field name (``metrics.json`` records them)."""
        return asdict(self)

    @classmethod
    def table(cls) -> str:
        """Every profiled field with its three values and what it is: the chapter's profile table, as text."""
        rows = [("field", *PROFILES, "what")]
        for f in cls.profiled_fields():
            by = f.metadata["profiles"]
            what = f.metadata["doc"] + (f" (parameter {f.metadata['parameter']!r} overrides)" if f.metadata["parameter"] else "")
            rows.append((f.name, *(repr(by[p]) for p in PROFILES), what))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows)


#: notebook name -> "module:Class" of its settings (imported when a run starts)
CHAPTER_SETTINGS: dict[str, str] = {
    "01_gan_math": "synthlib.gan.chapter:GANMathSettings",
    "02_dcgan": "synthlib.gan.chapter:DCGANSettings",
    "03_translation": "synthlib.translation.chapter:TranslationSettings",
    "04_style_transfer": "synthlib.style.chapter:StyleSettings",
    "05_stylegan": "synthlib.stylegan.chapter:StyleGANSettings",
    "06_restoration": "synthlib.restoration.chapter:RestorationSettings",
    "07_likelihood": "synthlib.likelihood.chapter:LikelihoodSettings",
    "08_scoreboard": "synthlib.scoreboard:ScoreboardSettings",
}


def settings_class(notebook: str) -> type[ChapterSettings] | None:
    """The settings class of ``notebook``, or None when it has none (a notebook outside the course's chapters)."""
    target = CHAPTER_SETTINGS.get(notebook)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def chapter_settings(notebook: str, profile: str | None = None, **parameters: Any) -> ChapterSettings | None:
    """``notebook``'s settings for ``profile`` and its parameters (None when the chapter has no settings class)."""
    cls = settings_class(notebook)
    return None if cls is None else cls.for_profile(profile, **parameters)
