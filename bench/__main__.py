"""``python -m bench``: run the benchmarks and print one table."""

import sys

from .run import main

sys.exit(main())
