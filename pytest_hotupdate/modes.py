"""Update modes: the names ``automatic`` and ``manual`` and the aliases users may type for them
(``auto``, ``snapshot``), defined once for the updates (:mod:`pytest_hotupdate.update`) and the
pytest plugin; it imports only the errors, so the plugin can check a mode without loading the
runtime.
"""

from __future__ import annotations

from .errors import UpdateError

__all__ = ["MODES", "normalise_mode"]

#: Every mode name accepted, mapped to the mode it means.
MODES: dict[str, str] = {"automatic": "automatic", "auto": "automatic", "manual": "manual",
                         "snapshot": "manual"}


def normalise_mode(mode: str) -> str:
    """``auto`` -> ``automatic``, ``snapshot`` -> ``manual``; UpdateError for anything else."""
    normalised = MODES.get(mode) if isinstance(mode, str) else None
    if normalised is None:
        raise UpdateError(f"unknown update mode {mode!r} (use automatic/auto or manual/snapshot)")
    return normalised
