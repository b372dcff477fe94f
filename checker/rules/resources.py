"""The resources family: exported resources removed or added, and their constructors,
methods and static functions removed, renamed or added (changed signatures are the functions
family's)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..model import Function, FunctionKind, Interface, TypeKind, World, signature_text
from .base import REPLAY_MISSING, Change, Context, Rule, Severity, Verdict, join
from .functions import function_group

__all__ = ["RULES", "method_changes", "resource_changes"]


def resource_changes(ctx: Context, path: str, old: Interface, new: Interface) -> Iterator[Change]:
    """Resources of interface ``old``/``new`` removed, added, or with changed methods."""

    def resources(world: World, iface: Interface) -> list[str]:
        names = [
            k.name for k in iface.types
            if (td := world.typedef(k)) is not None and td.kind is TypeKind.RESOURCE
        ]
        for f in iface.functions:
            if f.resource is not None and f.resource not in names:
                names.append(f.resource)
        return names

    old_res, new_res = resources(ctx.old, old), resources(ctx.new, new)
    for name in old_res:
        rpath = join(path, f"resource {name}")
        old_funcs = [f for f in old.functions if f.resource == name]
        if name not in new_res:
            methods = ", ".join(f.golem_name for f in old_funcs) or "no methods"
            yield Change(
                "resource-removed", rpath,
                f"resource {name} was removed ({methods}): workers that used it cannot replay",
                f"resource {name}", None,
            )
            continue
        new_funcs = [f for f in new.functions if f.resource == name]
        yield from method_changes(ctx, rpath, old_funcs, new_funcs)
    for name in new_res:
        if name not in old_res:
            yield Change(
                "resource-added", join(path, f"resource {name}"),
                f"new resource {name}", None, f"resource {name}",
            )


def method_changes(
    ctx: Context, path: str, old: Sequence[Function], new: Sequence[Function]
) -> Iterator[Change]:
    """One resource's constructor, methods and static functions: removed, renamed, added, or
    changed (see :func:`~checker.rules.functions.function_group`)."""
    return function_group(ctx, path, old, new, _method_removed, _method_added)


def _method_removed(path: str, f: Function, rename: Function | None) -> Change:
    if rename is not None:
        return Change(
            "resource-method-renamed", join(path, f.label),
            f"{f.golem_name} was renamed to {rename.golem_name}: recorded invocations of it "
            "cannot be replayed",
            f.item, rename.item,
        )
    what = "constructor" if f.kind is FunctionKind.CONSTRUCTOR else f.kind.value
    return Change(
        "resource-method-removed", join(path, f.label),
        f"{what} {f.golem_name} was removed: workers that called it cannot replay their history",
        signature_text(f), None,
    )


def _method_added(path: str, f: Function) -> Change:
    return Change(
        "resource-method-added", join(path, f.label),
        f"new method {f.golem_name}", None, signature_text(f),
    )


RULES: tuple[Rule, ...] = (
    Rule(
        id="resource-removed",
        severity=Severity.ERROR,
        family="resources",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="An exported resource is gone (with its constructor and methods).",
        explanation=REPLAY_MISSING,
        before="resource cart { constructor(owner: string); }",
        after="(removed)",
        check=resource_changes,
    ),
    Rule(
        id="resource-added",
        severity=Severity.INFO,
        family="resources",
        affects=(),
        breaks=(),
        summary="A new resource is exported.",
        explanation="Old histories never use it: replay is unaffected.",
        before="(none)",
        after="resource cart { constructor(owner: string); }",
        check=resource_changes,
    ),
    Rule(
        id="resource-method-removed",
        severity=Severity.ERROR,
        family="resources",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A resource lost its constructor, a method or a static function.",
        explanation=REPLAY_MISSING,
        before="resource cart { total-cents: func() -> u64; }",
        after="resource cart { }",
        check=method_changes,
    ),
    Rule(
        id="resource-method-renamed",
        severity=Severity.ERROR,
        family="resources",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A resource method was renamed (same signature, new name).",
        explanation="Recorded invocations name the method (`api.{cart.total-cents}`); the old name no "
            "longer exists.",
        before="resource cart { total-cents: func() -> u64; }",
        after="resource cart { total: func() -> u64; }",
        check=method_changes,
    ),
    Rule(
        id="resource-method-added",
        severity=Severity.INFO,
        family="resources",
        affects=(),
        breaks=(),
        summary="A resource has a new method.",
        explanation="Old histories never call it: replay is unaffected.",
        before="resource cart { }",
        after="resource cart { item-count: func() -> u32; }",
        check=method_changes,
    ),
)
