"""The snapshots family: the ``golem:api`` save-snapshot / load-snapshot exports that manual
updates use (what Golem supports is :mod:`checker.snapshots`)."""

from __future__ import annotations

from collections.abc import Iterator

from ..snapshots import LOAD, SAVE, is_snapshot, snapshot_support
from .base import Change, Context, Rule, Severity, Verdict, iface_path

__all__ = ["RULES", "snapshot_changes"]


def snapshot_changes(ctx: Context) -> Iterator[Change]:
    """The ``golem:api`` snapshot exports added, removed, with a new version, or in a form Golem
    does not support (old side reported only when the new side does not repeat it)."""
    old, new = snapshot_support(ctx.old), snapshot_support(ctx.new)
    old_ifaces = {i.id: i for i in ctx.old.exports if is_snapshot(i)}
    new_ifaces = {i.id: i for i in ctx.new.exports if is_snapshot(i)}
    for iface_id, role in ((SAVE, "save"), (LOAD, "load")):
        o, n = old_ifaces.get(iface_id), new_ifaces.get(iface_id)
        if o is not None and n is None:
            consequence = (
                "workers on the new revision cannot be updated manually to a later one"
                if role == "save" else "no manual update can reach the new revision"
            )
            yield Change(
                "snapshot-export-removed", iface_path("export", o),
                f"the new revision no longer exports {o.qualified}: {consequence}",
                o.qualified, None,
            )
        elif o is None and n is not None:
            yield Change(
                "snapshot-export-added", iface_path("export", n),
                f"the new revision exports {n.qualified}", None, n.qualified,
            )
        elif o is not None and n is not None and o.version != n.version:
            yield Change(
                "snapshot-version-changed", iface_path("export", n),
                f"{iface_id} changed version from {o.version} to {n.version}: make sure `load` "
                "accepts what the old `save` wrote",
                o.qualified, n.qualified,
            )
    new_problems = {qualified for _, qualified, _ in new.problems}
    for side, snaps in (("old", old), ("new", new)):
        for _iface_id, qualified, reason in snaps.problems:
            if side == "old" and qualified in new_problems:
                continue  # reported once, for the new side
            yield Change(
                "snapshot-export-unsupported", f"export {qualified}",
                f"the {side} revision's {qualified} is not usable for manual updates: {reason}",
                qualified if side == "old" else None, qualified if side == "new" else None,
            )


RULES: tuple[Rule, ...] = (
    Rule(
        id="snapshot-export-added",
        severity=Severity.INFO,
        family="snapshots",
        affects=(Verdict.MANUAL,),
        breaks=(),
        summary="A snapshot interface (`golem:api/save-snapshot` or `load-snapshot`) is newly "
            "exported.",
        explanation="With `save-snapshot` the new revision can later be updated from manually; with "
            "`load-snapshot` it can be updated to.",
        before="world w { export api; }",
        after="world w { export api; export golem:api/save-snapshot@1.1.0; }",
        check=snapshot_changes,
    ),
    Rule(
        id="snapshot-export-removed",
        severity=Severity.WARNING,
        family="snapshots",
        affects=(Verdict.MANUAL,),
        breaks=(),
        summary="A snapshot interface is no longer exported.",
        explanation="Without `save-snapshot` workers on the new revision cannot be updated manually to a "
            "later one; without `load-snapshot` no manual update can reach it.",
        before="world w { export golem:api/save-snapshot@1.1.0; }",
        after="world w { }",
        check=snapshot_changes,
    ),
    Rule(
        id="snapshot-version-changed",
        severity=Severity.INFO,
        family="snapshots",
        affects=(Verdict.MANUAL,),
        breaks=(),
        summary="A snapshot interface changed version (e.g. 1.1.0 `list<u8>` -> 1.5.0 `snapshot`).",
        explanation="Golem calls whichever supported version a revision exports; bytes saved by one form "
            "reach the other as the payload. Make sure `load` accepts what the old `save` wrote.",
        before="export golem:api/save-snapshot@1.1.0;",
        after="export golem:api/save-snapshot@1.5.0;",
        check=snapshot_changes,
    ),
    Rule(
        id="snapshot-export-unsupported",
        severity=Severity.WARNING,
        family="snapshots",
        affects=(Verdict.MANUAL,),
        breaks=(),
        summary="A snapshot interface with an unknown version or the wrong signature.",
        explanation="Supported: golem:api 0.2.0, 0.2.2, 1.1.0, 1.1.6, 1.1.7, 1.3.0 (`save: func() -> "
            "list<u8>`, `load: func(bytes: list<u8>) -> result<_, string>`) and 1.5.0 (the "
            "`snapshot` record). Anything else is not used for manual updates.",
        before="export golem:api/save-snapshot@1.1.0;",
        after="export golem:api/save-snapshot@9.0.0;",
        check=snapshot_changes,
    ),
)
