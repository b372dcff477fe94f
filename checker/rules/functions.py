"""The functions family: an exported function (or resource method) present on both sides whose
parameters or result changed: :func:`function_changes`; and the walk over one interface's or
resource's functions (:func:`function_group`) that the exports and resources families run with
their own findings for removed, renamed and added functions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ..compat import Direction, TypePair
from ..model import Function, FunctionKind, Param, Type, type_text
from ..pairs import function_pairs, with_renames
from .base import Change, Context, Rule, Severity, Verdict, join
from .docs import doc_changes

__all__ = ["RULES", "Added", "Gone", "function_changes", "function_group", "same_signature"]


def same_signature(pair: TypePair, a: Function, b: Function) -> bool:
    if a.kind is not b.kind or len(a.params) != len(b.params):
        return False
    if any(pair.compare(x.type, y.type) is not Direction.SAME for x, y in zip(a.params, b.params)):
        return False
    return pair.compare(a.result, b.result) is Direction.SAME


def visible_params(f: Function) -> list[Param]:
    if f.kind is FunctionKind.METHOD and f.params and f.params[0].name == "self":
        return list(f.params[1:])
    return list(f.params)


def function_changes(ctx: Context, fpath: str, old: Function, new: Function) -> Iterator[Change]:
    if ctx.docs:
        yield from doc_changes(fpath, old.docs, new.docs, f"{new.golem_name}")
    op, np = visible_params(old), visible_params(new)
    on, nn = [p.name for p in op], [p.name for p in np]
    matched: list[tuple[str, Type, Type]] = []  # (name used in the path, old type, new type)
    if on == nn:
        matched = [(o.name, o.type, n.type) for o, n in zip(op, np)]
    else:
        removed = [p for p in op if p.name not in nn]
        added = [p for p in np if p.name not in on]
        positional = (
            len(op) == len(np)
            and removed
            and all(op.index(r) == np.index(a) for r, a in zip(removed, added))
            and len(removed) == len(added)
        )
        if positional:
            for o, n in zip(op, np):
                if o.name != n.name:
                    yield Change(
                        "param-renamed", join(fpath, f"param {o.name}"),
                        f"parameter {o.name} of {new.golem_name} was renamed to {n.name}",
                        o.name, n.name,
                    )
                matched.append((n.name, o.type, n.type))
        else:
            common_old = [n for n in on if n in nn]
            common_new = [n for n in nn if n in on]
            if common_old != common_new:
                yield Change(
                    "param-reordered", fpath,
                    f"the parameters of {new.golem_name} were reordered: recorded arguments "
                    "are positional",
                    f"({', '.join(on)})", f"({', '.join(nn)})",
                )
            for p in removed:
                yield Change(
                    "param-removed", join(fpath, f"param {p.name}"),
                    f"parameter {p.name} of {new.golem_name} was removed: recorded invocations "
                    "carry an argument for it",
                    f"{p.name}: {type_text(p.type)}", None,
                )
            for p in added:
                yield Change(
                    "param-added", join(fpath, f"param {p.name}"),
                    f"{new.golem_name} has a new parameter {p.name}: recorded invocations carry "
                    "no argument for it",
                    None, f"{p.name}: {type_text(p.type)}",
                )
            by_name = {p.name: p for p in np}
            matched = [(o.name, o.type, by_name[o.name].type) for o in op if o.name in by_name]
    for name, ot, nt in matched:
        d = ctx.types.compare(ot, nt)
        if d is Direction.SAME:
            continue
        what = {
            Direction.WIDER: "was widened: recorded arguments still fit",
            Direction.NARROWER: "was narrowed: recorded arguments outside the new range no "
            "longer type-check",
            Direction.CHANGED: "changed: recorded arguments no longer type-check",
        }[d]
        yield Change(
            {
                Direction.WIDER: "param-type-widened",
                Direction.NARROWER: "param-type-narrowed",
                Direction.CHANGED: "param-type-changed",
            }[d], join(fpath, f"param {name}"),
            f"the type of parameter {name} of {new.golem_name} {what}",
            type_text(ot), type_text(nt),
        )
    if new.kind is FunctionKind.CONSTRUCTOR:
        return
    d = ctx.types.compare(old.result, new.result)
    if d is not Direction.SAME:
        what = {
            Direction.WIDER: "was widened: callers built against the old type cannot "
            "represent every new result",
            Direction.NARROWER: "was narrowed: every new result is a valid old result",
            Direction.CHANGED: "changed: replayed results no longer match the recorded ones",
        }[d]
        yield Change(
            {
                Direction.WIDER: "result-type-widened",
                Direction.NARROWER: "result-type-narrowed",
                Direction.CHANGED: "result-type-changed",
            }[d], join(fpath, "result"),
            f"the result type of {new.golem_name} {what}",
            type_text(old.result), type_text(new.result),
        )



#: The change for a function that is gone: (path of its interface or resource, the old
#: function, the new function it was renamed to or ``None``).
Gone = Callable[[str, Function, Function | None], Change]
#: The change for a new function: (path of its interface or resource, the new function).
Added = Callable[[str, Function], Change]


def function_group(
    ctx: Context, path: str, old: Sequence[Function], new: Sequence[Function],
    gone: Gone, added: Added,
) -> Iterator[Change]:
    """The functions of one interface or resource matched by name, in pair order: the changes of
    each pair (:func:`function_changes`), ``gone`` for each removed or renamed one (with its
    rename target) and ``added`` for each new one that is not a rename target."""
    pairs = list(function_pairs(old, new))
    renamed, renamed_to = with_renames(pairs, lambda a, b: same_signature(ctx.types, a, b))
    for o, n in pairs:
        if o is not None and n is not None:
            yield from function_changes(ctx, join(path, n.label), o, n)
        elif o is not None:
            yield gone(path, o, renamed.get(id(o)))
        elif n is not None and id(n) not in renamed_to:
            yield added(path, n)


RULES: tuple[Rule, ...] = (
    Rule(
        id="param-added",
        severity=Severity.ERROR,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A function has a new parameter.",
        explanation="Recorded invocations carry the old number of arguments; they no longer type-check "
            "against the new signature, so replay fails.",
        before="f: func(a: u32);",
        after="f: func(a: u32, b: u32);",
        check=function_changes,
    ),
    Rule(
        id="param-removed",
        severity=Severity.ERROR,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A function lost a parameter.",
        explanation="Recorded invocations carry an argument the new signature has no place for: replay "
            "fails.",
        before="f: func(a: u32, b: u32);",
        after="f: func(a: u32);",
        check=function_changes,
    ),
    Rule(
        id="param-renamed",
        severity=Severity.INFO,
        family="functions",
        affects=(),
        breaks=(),
        summary="A parameter was renamed (same position and type).",
        explanation="Arguments are recorded by position: replay is unaffected. Callers that name "
            "arguments must follow the rename.",
        before="f: func(speed: u32);",
        after="f: func(speed-ms: u32);",
        check=function_changes,
    ),
    Rule(
        id="param-reordered",
        severity=Severity.ERROR,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="The same parameters in a different order.",
        explanation="Arguments are recorded by position: replaying old invocations passes each value to "
            "the wrong parameter (or fails to type-check).",
        before="f: func(a: u32, b: string);",
        after="f: func(b: string, a: u32);",
        check=function_changes,
    ),
    Rule(
        id="param-type-changed",
        severity=Severity.ERROR,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A parameter's type changed incompatibly.",
        explanation="Recorded arguments are values of the old type; they do not fit the new one, so "
            "replay fails for workers that called the function.",
        before="f: func(id: string);",
        after="f: func(id: u64);",
        check=function_changes,
    ),
    Rule(
        id="param-type-widened",
        severity=Severity.INFO,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A parameter accepts more values than before.",
        explanation="Every recorded argument still fits (a parameter may widen): replay is unaffected.",
        before="f: func(n: u32);",
        after="f: func(n: u64);",
        check=function_changes,
    ),
    Rule(
        id="param-type-narrowed",
        severity=Severity.WARNING,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A parameter accepts fewer values than before.",
        explanation="Recorded arguments outside the new range no longer type-check: replay fails for "
            "workers that passed such values.",
        before="f: func(n: u64);",
        after="f: func(n: u32);",
        check=function_changes,
    ),
    Rule(
        id="result-type-changed",
        severity=Severity.ERROR,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A function's result type changed incompatibly (or was added or removed).",
        explanation="Replay compares each re-executed invocation's result with the recorded one; a result "
            "of another type never matches, so replay diverges.",
        before="f: func() -> u32;",
        after="f: func() -> string;",
        check=function_changes,
    ),
    Rule(
        id="result-type-widened",
        severity=Severity.WARNING,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A function can return values the old type could not.",
        explanation="Replay still matches when the new code returns the same values, but callers built "
            "against the old type (and recorded results) cannot represent the new ones.",
        before="f: func() -> u32;",
        after="f: func() -> u64;",
        check=function_changes,
    ),
    Rule(
        id="result-type-narrowed",
        severity=Severity.INFO,
        family="functions",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A function returns a subset of the old type's values.",
        explanation="Every new result is a valid old result (a result may narrow): callers and replay are "
            "unaffected as long as the values are the same.",
        before="f: func() -> u64;",
        after="f: func() -> u32;",
        check=function_changes,
    ),
)
