"""Typed configs and run profiles.

Every method has a small config dataclass. Notebook parameters (flat values from a papermill
``parameters`` cell) are mapped onto it with :func:`from_dict`, which rejects unknown keys and
wrong types with a message that names the key. The same dataclass, as a dict, is saved in
every checkpoint.

Profiles pick sizes and step counts:

* ``smoke``   -- seconds; what ``make test`` runs under nbval.
* ``default`` -- minutes on a 2-core CPU, with real results.
* ``full``    -- a GPU run.

What each profile picks, chapter by chapter, is a typed table: :mod:`synthlib.core.chapter`.
A notebook's ``profile`` parameter wins; when it is ``None`` the environment variable
``SYNTHLIB_PROFILE`` decides, and failing that ``"default"``.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

PROFILES = ("smoke", "default", "full")
PROFILE_ENV = "SYNTHLIB_PROFILE"

T = TypeVar("T")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; else raise a ValueError naming the parameter."""
    allowed = tuple(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"parameter {name!r} is {value!r}; allowed values: {listed}")
    return value


def check_min(name: str, value: Any, minimum: Any = 1, *, owner: str | None = None) -> Any:
    """Return ``value`` if it is ``>= minimum``; else raise a ValueError naming the parameter (and, given
    ``owner``, the model or function it belongs to)."""
    if value < minimum:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(f"{prefix}parameter {name!r} must be >= {minimum}, got {value}")
    return value


def resolve_profile(profile: str | None = None) -> str:
    """The run profile: the explicit argument, else ``$SYNTHLIB_PROFILE``, else ``"default"``."""
    if profile is None:
        profile = os.environ.get(PROFILE_ENV) or "default"
    return check_choice("profile", profile, PROFILES)


def _type_ok(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (tuple, list):
        args = typing.get_args(hint)
        if not isinstance(value, (tuple, list)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_type_ok(v, h) for v, h in zip(value, args))
        return not args or all(_type_ok(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is type(None):
        return value is None
    if hint is float:  # an int is a fine float; a bool is not a number here
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def from_dict(cls: type[T], values: Mapping[str, Any] | None = None, **overrides: Any) -> T:
    """Build dataclass ``cls`` from ``values`` (plus keyword overrides), checking every key.

    Unknown keys and values of the wrong type raise ``TypeError``/``ValueError`` naming the key;
    ``Literal`` fields also list the allowed values. Tuples read back from JSON as lists are
    converted back to tuples.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    merged = {**(values or {}), **overrides}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(merged) - set(fields))
    if unknown:
        raise TypeError(
            f"{cls.__name__} has no field(s) {', '.join(map(repr, unknown))}; "
            f"valid fields: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in merged.items():
        hint = hints[key]
        if typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        if not _type_ok(value, hint):
            if typing.get_origin(hint) is typing.Literal:
                check_choice(key, value, typing.get_args(hint))
            raise TypeError(f"{cls.__name__}.{key} must be {_hint_name(hint)}, got {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def asdict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
