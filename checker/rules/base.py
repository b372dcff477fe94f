"""What a rule is made of: :class:`Rule`, its :class:`Severity` and :class:`Verdict`, the
:class:`Change` its check yields, and the :class:`Context` and WIT-path helpers every check uses.

The family modules (:mod:`checker.rules.exports`, ...) define the rules and their checks with
these; :mod:`checker.rules` registers them in one list.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ..compat import TypePair
from ..hosts import HostProfile
from ..model import Interface, World

__all__ = [
    "REPLAY_MISSING",
    "Change",
    "Context",
    "Rule",
    "Severity",
    "Verdict",
    "iface_path",
    "join",
]


class Severity(str, enum.Enum):
    """How bad a finding is; ``--fail-on`` compares against it."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """3 for error, 2 for warning, 1 for info."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Verdict(str, enum.Enum):
    """The two ways a running worker moves to a new revision."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class Change(NamedTuple):
    """What a check yields for one change: the rule id and the finding's text (the caller adds
    the rule's severity and the fingerprint, see :func:`checker.findings.make_finding`)."""

    rule_id: str
    path: str
    message: str
    old: str | None = None
    new: str | None = None


@dataclass(frozen=True)
class Context:
    """Everything a check reads: both worlds, the host profile, two type comparers (shallow:
    named types by name; deep: through their definitions) and whether docs can be compared."""

    old: World
    new: World
    host: HostProfile
    types: TypePair
    deep: TypePair
    docs: bool  # both sides came from WIT text (components carry no docs)


@dataclass(frozen=True)
class Rule:
    """One kind of change.

    Attributes:
        id: stable kebab-case identifier (``export-function-removed``).
        severity: the default severity (configurable per project).
        family: the group it belongs to (exports, functions, types, resources, imports,
            snapshots, docs).
        affects: the update verdicts it is about.
        breaks: the verdicts one finding of it proves failing (for workers that used the item):
            ``automatic`` -> ``incompatible``; ``manual`` -> ``unavailable``.
        summary: one line.
        explanation: why it matters for a running worker.
        before, after: a minimal WIT example of the change.
        check: the function that detects it and yields its :class:`Change` (not part of the
            catalogue's data: left out of :meth:`as_dict`, comparison and repr).
    """

    id: str
    severity: Severity
    family: str
    affects: tuple[Verdict, ...]
    summary: str
    explanation: str
    before: str
    after: str
    breaks: tuple[Verdict, ...] = ()
    check: Callable[..., Iterator[Change]] | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "family": self.family,
            "affects": [v.value for v in self.affects],
            "breaks": [v.value for v in self.breaks],
            "summary": self.summary,
            "explanation": self.explanation,
            "before": self.before,
            "after": self.after,
        }


REPLAY_MISSING = (
    "Automatic update replays the worker's whole oplog on the new revision; a recorded "
    "invocation of an item that no longer exists cannot be replayed, so the update fails for "
    "every worker that ever called it (the worker stays on the old revision)."
)


def iface_path(direction: str, iface: Interface) -> str:
    """``export pkg:ns/api@1.0.0`` (or just ``export`` for world-level functions)."""
    return f"{direction} {iface.qualified}" if iface.id else direction


def join(prefix: str, segment: str) -> str:
    """Append one segment to a WIT path (``export`` + ``func f`` -> ``export func f``)."""
    if prefix in ("export", "import"):
        return f"{prefix} {segment}"
    return f"{prefix} / {segment}"
