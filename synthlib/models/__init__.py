"""Models, one file per family. Every model is built from its ``Config`` dataclass."""

from synthlib.models.base import build, register, registered, spec

__all__ = ["build", "register", "registered", "spec"]
