"""``python -m checker``: the same as ``hotupdate-check``."""

import sys

from .cli import main

sys.exit(main())
