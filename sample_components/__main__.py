"""``python -m sample_components [SAMPLE[/REV] ...]``: same as ``python -m sample_components.build``."""

from __future__ import annotations

import sys

from sample_components.build import main

if __name__ == "__main__":
    sys.exit(main())
