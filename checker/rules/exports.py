"""The exports family: exported interfaces and free functions removed, renamed, added, or
with a new package version: what recorded invocations need to find on the new revision. The
snapshot interfaces are left out (the oplog never records their calls; see
:mod:`checker.rules.snapshots`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..compat import TypePair
from ..model import Function, Interface, signature_text
from ..pairs import interface_pairs, with_renames
from ..snapshots import is_snapshot
from .base import REPLAY_MISSING, Change, Context, Rule, Severity, Verdict, iface_path, join
from .docs import doc_changes
from .functions import function_group, same_signature
from .resources import resource_changes

__all__ = ["RULES", "export_changes", "free_function_changes", "interface_changes"]


def _same_interface(pair: TypePair, a: Interface, b: Interface) -> bool:
    fa = {f.name: f for f in a.functions}
    fb = {f.name: f for f in b.functions}
    return bool(fa) and fa.keys() == fb.keys() and all(
        same_signature(pair, fa[n], fb[n]) for n in fa
    )


def export_changes(ctx: Context) -> Iterator[Change]:
    """Exported interfaces (snapshot interfaces left out) removed, renamed or added, and the
    changes inside those on both sides."""
    old_ifaces = [i for i in ctx.old.exports if not is_snapshot(i)]
    new_ifaces = [i for i in ctx.new.exports if not is_snapshot(i)]
    pairs = list(interface_pairs(old_ifaces, new_ifaces))
    renamed, renamed_to = with_renames(pairs, lambda a, b: _same_interface(ctx.types, a, b))
    for o, n in pairs:
        if o is not None and n is not None:
            yield from interface_changes(ctx, o, n)
        elif o is not None:
            path = iface_path("export", o)
            target = renamed.get(id(o))
            if target is not None:
                yield Change(
                    "export-interface-renamed", path,
                    f"exported interface {o.qualified} was renamed to {target.qualified}: "
                    "recorded invocations of its functions name the old interface",
                    o.qualified, target.qualified,
                )
            elif o.id == "":
                for f in o.functions:
                    yield _function_removed(path, f, None)
            else:
                names = ", ".join(f.golem_name for f in o.functions) or "no functions"
                yield Change(
                    "export-interface-removed", path,
                    f"exported interface {o.qualified} was removed: workers that called any of "
                    f"its functions ({names}) cannot replay",
                    o.qualified, None,
                )
        elif n is not None and id(n) not in renamed_to:
            path = iface_path("export", n)
            if n.id == "":
                for f in n.functions:
                    yield Change(
                        "export-function-added", join(path, f.label),
                        f"new exported function {f.item}", None, signature_text(f),
                    )
            else:
                yield Change(
                    "export-interface-added", path,
                    f"new exported interface {n.qualified}", None, n.qualified,
                )


def _function_removed(path: str, f: Function, rename: Function | None) -> Change:
    fpath = join(path, f.label)
    if rename is not None:
        return Change(
            "export-function-renamed", fpath,
            f"exported function {f.golem_name} was renamed to {rename.golem_name}: recorded "
            "invocations of it cannot be replayed",
            f.item, rename.item,
        )
    return Change(
        "export-function-removed", fpath,
        f"exported function {f.golem_name} was removed: workers that called it cannot replay "
        "their history",
        signature_text(f), None,
    )


def interface_changes(ctx: Context, old: Interface, new: Interface) -> Iterator[Change]:
    """One exported interface on both sides: its version, docs, functions and resources."""
    path = iface_path("export", new)
    if old.version != new.version:
        yield Change(
            "export-version-changed", path,
            f"package version of exported interface {old.id} changed from "
            f"{old.version or '(none)'} to {new.version or '(none)'}: recorded invocation "
            "names carry the old version",
            old.qualified, new.qualified,
        )
    if ctx.docs and old.id:
        yield from doc_changes(path, old.docs, new.docs, f"interface {new.qualified}")
    # free functions
    old_free = [f for f in old.functions if f.resource is None]
    new_free = [f for f in new.functions if f.resource is None]
    yield from free_function_changes(ctx, path, old_free, new_free)
    # resources
    yield from resource_changes(ctx, path, old, new)


def free_function_changes(
    ctx: Context, path: str, old: Sequence[Function], new: Sequence[Function]
) -> Iterator[Change]:
    """An interface's free functions: removed, renamed, added, or changed (see
    :func:`~checker.rules.functions.function_group`)."""
    return function_group(ctx, path, old, new, _function_removed, _function_added)


def _function_added(path: str, f: Function) -> Change:
    return Change(
        "export-function-added", join(path, f.label),
        f"new exported function {f.golem_name}", None, signature_text(f),
    )


RULES: tuple[Rule, ...] = (
    Rule(
        id="export-interface-removed",
        severity=Severity.ERROR,
        family="exports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="An exported interface is gone.",
        explanation=REPLAY_MISSING,
        before="world w { export api; }",
        after="world w { }",
        check=export_changes,
    ),
    Rule(
        id="export-interface-renamed",
        severity=Severity.ERROR,
        family="exports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="An exported interface was renamed (same functions, new name).",
        explanation="Recorded invocations name the interface (`pkg:ns/api.{f}`); after a rename they name "
            "nothing, so replay fails for every worker that called it. " + "Keep the old name "
            "exported next to the new one if workers must update automatically.",
        before="interface api { f: func(); }",
        after="interface service { f: func(); }",
        check=export_changes,
    ),
    Rule(
        id="export-interface-added",
        severity=Severity.INFO,
        family="exports",
        affects=(),
        breaks=(),
        summary="A new interface is exported.",
        explanation="Old histories never call it: replay is unaffected.",
        before="world w { export api; }",
        after="world w { export api; export admin; }",
        check=export_changes,
    ),
    Rule(
        id="export-version-changed",
        severity=Severity.ERROR,
        family="exports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="The package version of an exported interface changed.",
        explanation="Recorded invocation names carry the interface's full name, version included "
            "(`pkg:ns/api@1.0.0.{f}`); after the bump they no longer resolve. Keep the version, or "
            "update workers manually (snapshot).",
        before="package pkg:ns@1.0.0;",
        after="package pkg:ns@1.1.0;",
        check=interface_changes,
    ),
    Rule(
        id="export-function-removed",
        severity=Severity.ERROR,
        family="exports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="An exported function is gone.",
        explanation=REPLAY_MISSING,
        before="increment: func(by: u64) -> u64;",
        after="(removed)",
        check=free_function_changes,
    ),
    Rule(
        id="export-function-renamed",
        severity=Severity.ERROR,
        family="exports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="An exported function was renamed (same signature, new name).",
        explanation="Recorded invocations name the function; the old name no longer exists, so replay "
            "fails for every worker that called it.",
        before="total-cents: func() -> u64;",
        after="total: func() -> u64;",
        check=free_function_changes,
    ),
    Rule(
        id="export-function-added",
        severity=Severity.INFO,
        family="exports",
        affects=(),
        breaks=(),
        summary="A new function is exported.",
        explanation="Old histories never call it: replay is unaffected.",
        before="get: func() -> u64;",
        after="get: func() -> u64;\nreset: func();",
        check=free_function_changes,
    ),
)
