"""pytest-hotupdate: prove that what runs the old version of a WebAssembly component survives
the hot update to the new one.

The public surface, importable from here:

- :class:`Registry` (revisions and workers), :class:`Worker`, :class:`WorkerLimits`;
- the update policies :func:`update`, :func:`revert`, :func:`swap`, and their
  :class:`UpdateOutcome`;
- :func:`replay_history` and its :class:`ReplayResult` (replay a recorded history on a
  candidate revision);
- :class:`SandboxGrants` (what a guest may see of the host);
- the modules :mod:`~pytest_hotupdate.values` (WIT values and WAVE) and
  :mod:`~pytest_hotupdate.errors` (every exception; all derive from ``HotUpdateError``).

The pytest plugin (:mod:`pytest_hotupdate.plugin`) and the assertions and strategies are
imported from their own modules. Names are loaded on first use: the plugin is imported by
every pytest run where the package is installed, and must not load wasmtime then.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # the re-export form (`X as X`) tells type checkers these are the package's names
    from . import errors as errors
    from . import values as values
    from .history import UpdateOutcome as UpdateOutcome
    from .host import SandboxGrants as SandboxGrants
    from .registry import Registry as Registry
    from .replayer import ReplayResult as ReplayResult
    from .replayer import replay_history as replay_history
    from .update import revert as revert
    from .update import swap as swap
    from .update import update as update
    from .worker import Worker as Worker
    from .worker import WorkerLimits as WorkerLimits

#: Each public name and the module that defines it.
_PUBLIC = {
    "Registry": "registry",
    "Worker": "worker",
    "WorkerLimits": "worker",
    "update": "update",
    "revert": "update",
    "swap": "update",
    "UpdateOutcome": "history",
    "replay_history": "replayer",
    "ReplayResult": "replayer",
    "SandboxGrants": "host",
}
_MODULES = ("errors", "values")

__all__ = sorted([*_PUBLIC, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return __all__
