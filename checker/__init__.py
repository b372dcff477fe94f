"""hotupdate-check: the static compatibility checker for hot updates of WebAssembly components.

Library use::

    from checker.api import Checker

    report = Checker(host="golem").check(["counter-v1.wasm", "counter-v2.wasm"])
    for pair in report.pairs:
        print(pair.automatic.value, pair.manual.value, [f.rule_id for f in pair.findings])

The package imports nothing heavy at import time (no pytest, no runtime): ``hotupdate-check
--version`` stays close to a bare interpreter start.
"""

from __future__ import annotations

import os
import sys

__all__ = ["DISTRIBUTION", "version"]

DISTRIBUTION = "pytest-hotupdate"
_FALLBACK_VERSION = "0+unknown"


def version() -> str:
    """The installed distribution's version, read from its ``*.dist-info`` folder name on
    ``sys.path`` (cheap), else through :mod:`importlib.metadata`."""
    prefix = DISTRIBUTION.replace("-", "_") + "-"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith(prefix) and name.endswith(".dist-info"):
                return name[len(prefix):-len(".dist-info")]
    try:
        import importlib.metadata

        return importlib.metadata.version(DISTRIBUTION)
    except Exception:  # noqa: BLE001 - not installed: a source checkout
        return _FALLBACK_VERSION
