"""The two verdicts of a pair, from its findings and the two worlds' snapshot exports."""

from __future__ import annotations

from collections.abc import Sequence

from .findings import Finding
from .model import World
from .result import (
    AVAILABLE,
    DIVERGES,
    INCOMPATIBLE,
    INTERFACE_COMPATIBLE,
    REPLAY_VERIFIED,
    UNAVAILABLE,
    AutomaticVerdict,
    HistoryResult,
    ManualVerdict,
)
from .rules import Verdict, get_rule
from .snapshots import LOAD, SAVE, snapshot_support

__all__ = ["automatic_verdict", "manual_verdict"]


def automatic_verdict(
    findings: Sequence[Finding], histories: Sequence[HistoryResult] = ()
) -> AutomaticVerdict:
    """``incompatible`` when an active finding's rule proves replay fails, else
    ``interface-compatible``; with replayed histories, ``replay-verified`` or ``diverges``."""
    proving = [f for f in findings if Verdict.AUTOMATIC in get_rule(f.rule_id).breaks]
    if histories:
        bad = [h for h in histories if not h.ok]
        if bad:
            first = bad[0]
            return AutomaticVerdict(
                DIVERGES, f"{first.path} diverges: {first.divergence or 'replay failed'}",
                tuple(histories),
            )
        total = sum(h.invocations for h in histories)
        note = (
            f"; {len(proving)} static finding(s) concern items these histories never used"
            if proving else ""
        )
        return AutomaticVerdict(
            REPLAY_VERIFIED,
            f"{len(histories)} recorded history(ies), {total} invocation(s), replayed on the new "
            f"revision without divergence{note}",
            tuple(histories),
        )
    if proving:
        ids = sorted({f.rule_id for f in proving})
        return AutomaticVerdict(
            INCOMPATIBLE,
            f"{len(proving)} finding(s) prove replay fails for workers that used the changed "
            f"items ({', '.join(ids)})",
        )
    return AutomaticVerdict(
        INTERFACE_COMPATIBLE,
        "no finding proves replay fails; behaviour changes are not visible in the interface: "
        "replay recorded histories with --history to verify",
    )


def manual_verdict(old: World, new: World, findings: Sequence[Finding]) -> ManualVerdict:
    """``available`` when the old revision exports a supported ``save-snapshot`` and the new one
    a supported ``load-snapshot`` (any versions), and nothing stops the new revision from
    being instantiated; else ``unavailable`` with the reasons."""
    save = snapshot_support(old).save
    load = snapshot_support(new).load
    reasons = []
    if save is None:
        reasons.append(f"the old revision exports no supported {SAVE}")
    if load is None:
        reasons.append(f"the new revision exports no supported {LOAD}")
    blocking = [f for f in findings if Verdict.MANUAL in get_rule(f.rule_id).breaks]
    if blocking:
        reasons.append(f"the new revision cannot run on the host ({blocking[0].message})")
    if reasons:
        return ManualVerdict(UNAVAILABLE, "; ".join(reasons), save, load)
    how = f"old save-snapshot@{save} -> new load-snapshot@{load}"
    return ManualVerdict(
        AVAILABLE, f"{how}; whether `load` accepts the bytes is behaviour, not interface", save,
        load,
    )
