"""The docs family: doc comments that changed (only when both sides are WIT text; components
carry no docs). The other families call :func:`doc_changes` for the items they compare."""

from __future__ import annotations

from collections.abc import Iterator

from .base import Change, Rule, Severity

__all__ = ["RULES", "doc_changes"]


def doc_changes(path: str, old: str | None, new: str | None, what: str) -> Iterator[Change]:
    """A ``doc-changed`` change at ``path`` when the doc comments ``old`` and ``new`` of ``what``
    differ (whitespace aside)."""
    if (old or "").strip() != (new or "").strip():
        yield Change(
            "doc-changed", path, f"the doc comment of {what} changed",
            _short(old), _short(new),
        )


def _short(text: str | None) -> str | None:
    if text is None:
        return None
    line = " ".join(text.split())
    return line if len(line) <= 80 else line[:77] + "..."


RULES: tuple[Rule, ...] = (
    Rule(
        id="doc-changed",
        severity=Severity.INFO,
        family="docs",
        affects=(),
        breaks=(),
        summary="Only a doc comment changed (WIT inputs: components carry no docs).",
        explanation="Docs never reach the runtime: replay and snapshots are unaffected.",
        before="/// Adds one.\ninc: func();",
        after="/// Adds one to the counter.\ninc: func();",
        check=doc_changes,
    ),
)
