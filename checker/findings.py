"""Findings: plain data, one per change, with a stable fingerprint.

The rule id (stable, for machines and configuration) and the message (for humans) are separate
fields; findings never render themselves (see :mod:`checker.report`).
"""

from __future__ import annotations

try:  # the builtin module: no OpenSSL to load (start-up time)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b

from dataclasses import dataclass

from .rules import Severity, get_rule

__all__ = ["Finding", "fingerprint", "make_finding"]


def fingerprint(rule_id: str, path: str) -> str:
    """16 hex digits identifying a finding across runs: the rule id and the WIT path (not the
    message or the old/new text, so that rewording or further changes keep it)."""
    return blake2b(f"{rule_id}\0{path}".encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Finding:
    """One change found between an old and a new revision.

    Attributes:
        rule_id: the rule's stable id (``export-function-removed``).
        severity: the effective severity (the rule's default unless configured).
        path: the WIT path of the changed item
            (``export golem:counter/api / func increment / param by``).
        message: what changed and why it matters, one line.
        old: the old item as WIT text (``u32``), or ``None``.
        new: the new item as WIT text, or ``None``.
        fingerprint: stable id of this finding (rule id + path), for ignore lists.
    """

    rule_id: str
    severity: Severity
    path: str
    message: str
    old: str | None = None
    new: str | None = None
    fingerprint: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict (the ``findings`` items of the JSON report)."""
        return {
            "rule": self.rule_id,
            "severity": self.severity.value,
            "path": self.path,
            "message": self.message,
            "old": self.old,
            "new": self.new,
            "fingerprint": self.fingerprint,
        }


def make_finding(
    rule_id: str, path: str, message: str, old: str | None = None, new: str | None = None
) -> Finding:
    """A finding with the rule's default severity and its fingerprint."""
    rule = get_rule(rule_id)
    return Finding(rule_id, rule.severity, path, message, old, new, fingerprint(rule_id, path))
