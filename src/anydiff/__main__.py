"""``python -m anydiff ...``: the same command line as ``anydiff ...``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
