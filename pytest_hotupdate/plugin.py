"""pytest plugin entry point (``pytest11: hotupdate``).

Kept import-light: loading the plugin must cost little for suites that never use it.
Fixtures, options and markers arrive with the plugin issue.
"""

from __future__ import annotations
