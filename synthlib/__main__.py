"""``python -m synthlib VERB ...``: see :mod:`synthlib.cli` (one module per verb)."""

import sys

from synthlib.cli import main

if __name__ == "__main__":
    sys.exit(main())
