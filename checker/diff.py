"""The structural, direction-aware diff of two worlds: :func:`find_changes`.

It runs the rule families' checks in a fixed order (exports with their functions and resources,
then named types, imports and snapshots) over one :class:`~checker.rules.base.Context` and
turns each change they yield into a :class:`~checker.findings.Finding` with the rule's default
severity. Pair iteration is :mod:`checker.pairs`; the rules and checks are :mod:`checker.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator

from .compat import TypePair
from .findings import Finding, make_finding
from .hosts import HostProfile, get_host
from .model import World
from .rules.base import Context
from .rules.exports import export_changes
from .rules.imports import import_changes
from .rules.snapshots import snapshot_changes
from .rules.types import type_changes

__all__ = ["find_changes"]


def find_changes(
    old: World, new: World, host: HostProfile | str | None = None
) -> Iterator[Finding]:
    """Every change from ``old`` to ``new`` as findings (default severities, in a stable order).

    Args:
        old: the revision workers run now.
        new: the revision they would be updated to.
        host: the host profile (or its name) used for import checks; default ``golem``.
    """
    profile = get_host(host or "golem") if not isinstance(host, HostProfile) else host
    ctx = Context(
        old, new, profile,
        TypePair(old, new, shallow=True), TypePair(old, new, shallow=False),
        docs=not old.is_component and not new.is_component,
    )
    for check in (export_changes, type_changes, import_changes, snapshot_changes):
        for change in check(ctx):
            yield make_finding(*change)
