"""``python -m synthlib.course_weights train|list|verify|baseline|rescore|adopt`` (what ``make weights`` runs)."""

import sys

from synthlib.course_weights.build import main

if __name__ == "__main__":
    sys.exit(main())
