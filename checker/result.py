"""The results of a check: frozen objects, one per pair of revisions, gathered in a report."""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Finding
from .rules import Severity

__all__ = [
    "AutomaticVerdict",
    "HistoryResult",
    "ManualVerdict",
    "PairResult",
    "Report",
    "Suppressed",
]

#: ``automatic`` verdict values.
INCOMPATIBLE = "incompatible"
INTERFACE_COMPATIBLE = "interface-compatible"
REPLAY_VERIFIED = "replay-verified"
DIVERGES = "diverges"
#: ``manual`` verdict values.
AVAILABLE = "available"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Suppressed:
    """A finding left out of the verdicts and the exit status by configuration."""

    finding: Finding
    """The finding as it would have been reported."""
    reason: str
    """Why: the configured reason for an ignored fingerprint, or ``rule ignored``."""

    def as_dict(self) -> dict[str, object]:
        return {**self.finding.as_dict(), "reason": self.reason}


@dataclass(frozen=True)
class HistoryResult:
    """One recorded history (oplog) replayed on the new revision (``--history``)."""

    path: str
    """The oplog file."""
    ok: bool
    """Replay reached the end without diverging."""
    divergence: str | None
    """One line describing the first divergence, or ``None``."""
    invocations: int
    """How many invocations were replayed."""

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path, "ok": self.ok, "divergence": self.divergence,
            "invocations": self.invocations,
        }


@dataclass(frozen=True)
class AutomaticVerdict:
    """The prediction for an automatic (replay) update."""

    value: str
    """``incompatible``, ``interface-compatible``, ``replay-verified`` or ``diverges``."""
    reason: str
    """One sentence saying why."""
    histories: tuple[HistoryResult, ...] = ()
    """The replayed histories (``--history``), if any."""

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.value, "reason": self.reason,
            "histories": [h.as_dict() for h in self.histories],
        }


@dataclass(frozen=True)
class ManualVerdict:
    """The prediction for a manual (snapshot) update."""

    value: str
    """``available`` or ``unavailable``."""
    reason: str
    """One sentence saying why (which export is missing)."""
    save: str | None = None
    """The old revision's supported ``golem:api/save-snapshot`` version, if any."""
    load: str | None = None
    """The new revision's supported ``golem:api/load-snapshot`` version, if any."""

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.value, "reason": self.reason,
            "save-snapshot": self.save, "load-snapshot": self.load,
        }


@dataclass(frozen=True)
class PairResult:
    """The check of one old revision against one new revision."""

    old: str
    """The old revision's file."""
    new: str
    """The new revision's file."""
    automatic: AutomaticVerdict
    """Automatic (replay) update verdict."""
    manual: ManualVerdict
    """Manual (snapshot) update verdict."""
    findings: tuple[Finding, ...]
    """Active findings, in diff order."""
    suppressed: tuple[Suppressed, ...] = ()
    """Findings left out by configuration."""
    skipped: tuple[str, ...] = ()
    """Toolchain artefacts left out of the comparison (both sides)."""

    def counts(self) -> dict[str, int]:
        """Active findings per severity: ``{"error": n, "warning": n, "info": n}``."""
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out


@dataclass(frozen=True)
class Report:
    """Everything one run of the checker found."""

    pairs: tuple[PairResult, ...]
    """One result per (old, new) pair."""
    host: str
    """The host profile used for import checks."""
    fail_on: Severity | None
    """The threshold for exit status 1 (``None`` = never)."""
    tool_version: str
    """The checker's version."""

    @property
    def fail_on_text(self) -> str:
        """``fail_on`` as ``--fail-on`` spells it (``never`` for None)."""
        return self.fail_on.value if self.fail_on else "never"

    def failing(self) -> list[Finding]:
        """Active findings at or above ``fail_on``."""
        if self.fail_on is None:
            return []
        rank = self.fail_on.rank
        return [f for p in self.pairs for f in p.findings if f.severity.rank >= rank]

    def diverging(self) -> list[tuple[PairResult, HistoryResult]]:
        """Recorded histories that diverge on a pair's new revision (``--history``). A
        divergence is an error-level result: it fails the run at every ``fail_on`` but
        ``never``, in every format."""
        return [(p, h) for p in self.pairs for h in p.automatic.histories if not h.ok]

    def failing_histories(self) -> list[tuple[PairResult, HistoryResult]]:
        """The diverging histories that fail the run (none with ``fail_on`` ``never``)."""
        return [] if self.fail_on is None else self.diverging()

    @property
    def exit_code(self) -> int:
        """0 when nothing is at or above ``fail_on`` and no history diverges, else 1."""
        return 1 if self.failing() or self.failing_histories() else 0
