"""``python -m scenegym``: the same as the ``scenegym`` command."""

import sys

from scenegym.cli import main

if __name__ == "__main__":
    sys.exit(main())
