"""The one error type for mistakes a user can fix (a wrong path, a bad option, a file of the wrong kind).

Library functions raise :class:`UserError` (a ``ValueError``) with a one-line message that says what was
wrong and how to fix it. The command line (:mod:`synthlib.cli`) prints such an error as one line on
stderr and exits with code 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """A mistake the user can fix; its message is one line: what was wrong, and what to do."""
