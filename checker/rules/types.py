"""The types family: named types reachable from the exports that changed on the way from the
old to the new revision (kind, alias target, record fields, variant/enum cases, flags):
recorded values of the old type must still be read as the new one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from ..compat import Direction
from ..model import Case, Field, OptionType, Type, TypeDef, TypeKey, TypeKind, World, type_text
from ..pairs import member_pairs, renames, type_pairs
from .base import Change, Context, Rule, Severity, Verdict, iface_path, join
from .docs import doc_changes

__all__ = ["RULES", "case_changes", "record_changes", "type_changes"]


#: The rule of a case (flag) that was added, removed or renamed, by the kind of its type.
_CASE_ADDED = {
    TypeKind.VARIANT: "variant-case-added",
    TypeKind.ENUM: "enum-case-added",
    TypeKind.FLAGS: "flags-flag-added",
}
_CASE_REMOVED = {
    TypeKind.VARIANT: "variant-case-removed",
    TypeKind.ENUM: "enum-case-removed",
    TypeKind.FLAGS: "flags-flag-removed",
}
_CASE_RENAMED = {  # flags are never matched as renames
    TypeKind.VARIANT: "variant-case-renamed",
    TypeKind.ENUM: "enum-case-renamed",
}


def _type_path(world: World, key: TypeKey, kind: TypeKind) -> str:
    for direction, lookup in (("export", world.export), ("import", world.imported)):
        iface = lookup(key.owner)
        if iface is not None:
            return join(iface_path(direction, iface), f"{kind.value} {key.name}")
    owner = f"{key.owner}@{key.version}" if key.version else key.owner
    return f"{owner} / {kind.value} {key.name}"


def type_changes(ctx: Context) -> Iterator[Change]:
    """Named types reachable from the exports on both sides: kind, alias target, record fields,
    variant/enum cases and flags."""
    for old, new in type_pairs(ctx.old, ctx.new):
        path = _type_path(ctx.new, new.key, new.kind)
        name = new.name
        if old.kind is not new.kind:
            yield Change(
                "type-kind-changed", _type_path(ctx.old, old.key, old.kind),
                f"type {name} changed from a {old.kind.value} to a {new.kind.value}",
                f"{old.kind.value} {name}", f"{new.kind.value} {name}",
            )
            continue
        if ctx.docs:
            yield from doc_changes(path, old.docs, new.docs, f"{new.kind.value} {name}")
        if new.kind is TypeKind.ALIAS:
            yield from _type_change(
                ctx, path, old.target, new.target,
                {
                    Direction.WIDER: "type-alias-widened",
                    Direction.NARROWER: "type-alias-narrowed",
                    Direction.CHANGED: "type-alias-changed",
                },
                f"type {name} now stands for {type_text(new.target)} instead of "
                f"{type_text(old.target)}",
            )
        elif new.kind is TypeKind.RECORD:
            yield from record_changes(ctx, path, old, new)
        elif new.kind in (TypeKind.VARIANT, TypeKind.ENUM, TypeKind.FLAGS):
            yield from case_changes(ctx, path, old, new)


_DIRECTION_WORDS = {
    Direction.WIDER: "wider: old values still fit",
    Direction.NARROWER: "narrower: some old values no longer fit",
    Direction.CHANGED: "incompatible: old values no longer fit",
}


def _type_change(
    ctx: Context,
    path: str,
    old: Type | None,
    new: Type | None,
    rule_ids: Mapping[Direction, str],
    what: str,
) -> Iterator[Change]:
    """The change of one type (an alias target, a field's, a case payload's) from ``old`` to
    ``new``, if it changed: the rule ``rule_ids`` gives for its direction, and ``what``
    followed by the direction's words as the message."""
    d = ctx.types.compare(old, new)
    if d is not Direction.SAME:
        yield Change(
            rule_ids[d], path, f"{what} ({_DIRECTION_WORDS[d]})", type_text(old), type_text(new)
        )


def record_changes(ctx: Context, path: str, old: TypeDef, new: TypeDef) -> Iterator[Change]:
    """A record on both sides: fields reordered, renamed, removed, added, or of a changed type."""
    name = new.name
    pairs, renamed = _members(ctx, old.fields, new.fields, True)
    old_index = {f.name: i for i, f in enumerate(old.fields)}
    new_index = {f.name: i for i, f in enumerate(new.fields)}
    renamed_to = {n.name for n in renamed.values()}
    common_old = [f.name for f in old.fields if f.name in new_index]
    common_new = [f.name for f in new.fields if f.name in old_index]
    if common_old != common_new:
        yield Change(
            "record-field-reordered", path,
            f"the fields of record {name} were reordered",
            ", ".join(common_old), ", ".join(common_new),
        )
    for o, n in pairs:
        if o is not None and n is not None:
            fpath = f"{path} / field {n.name}"
            if ctx.docs:
                yield from doc_changes(fpath, o.docs, n.docs, f"field {name}.{n.name}")
            yield from _type_change(
                ctx, fpath, o.type, n.type,
                {
                    Direction.WIDER: "record-field-type-widened",
                    Direction.NARROWER: "record-field-type-narrowed",
                    Direction.CHANGED: "record-field-type-changed",
                },
                f"the type of field {n.name} of record {name} changed",
            )
        elif o is not None:
            fpath = f"{path} / field {o.name}"
            if o.name in renamed:
                yield Change(
                    "record-field-renamed", fpath,
                    f"field {o.name} of record {name} was renamed to {renamed[o.name].name}",
                    o.name, renamed[o.name].name,
                )
            else:
                yield Change(
                    "record-field-removed", fpath,
                    f"field {o.name} was removed from record {name}: recorded values carry it",
                    f"{o.name}: {type_text(o.type)}", None,
                )
        elif n is not None and n.name not in renamed_to:
            fpath = f"{path} / field {n.name}"
            if isinstance(ctx.new.resolve(n.type), OptionType):
                yield Change(
                    "record-option-field-added", fpath,
                    f"record {name} has a new option field {n.name} (old values read it as "
                    "none)",
                    None, f"{n.name}: {type_text(n.type)}",
                )
            else:
                yield Change(
                    "record-field-added", fpath,
                    f"record {name} has a new field {n.name}: recorded values lack it",
                    None, f"{n.name}: {type_text(n.type)}",
                )


def case_changes(ctx: Context, path: str, old: TypeDef, new: TypeDef) -> Iterator[Change]:
    """A variant, enum or flags type on both sides: cases (flags) renamed, removed, added, or
    with a changed payload."""
    kind = new.kind
    name = new.name
    member = "flag" if kind is TypeKind.FLAGS else "case"
    pairs, renamed = _members(ctx, old.cases, new.cases, kind is not TypeKind.FLAGS)
    renamed_to = {n.name for n in renamed.values()}
    for o, n in pairs:
        if o is not None and n is not None:
            cpath = f"{path} / {member} {n.name}"
            if ctx.docs:
                yield from doc_changes(cpath, o.docs, n.docs, f"{member} {name}.{n.name}")
            if kind is TypeKind.VARIANT:
                yield from _type_change(
                    ctx, cpath, o.type, n.type,
                    {
                        Direction.WIDER: "variant-case-type-widened",
                        Direction.NARROWER: "variant-case-type-narrowed",
                        Direction.CHANGED: "variant-case-type-changed",
                    },
                    f"the payload of case {n.name} of variant {name} changed",
                )
        elif o is not None:
            cpath = f"{path} / {member} {o.name}"
            if o.name in renamed:
                yield Change(
                    _CASE_RENAMED[kind], cpath,
                    f"{member} {o.name} of {kind.value} {name} was renamed to "
                    f"{renamed[o.name].name}",
                    o.name, renamed[o.name].name,
                )
            else:
                yield Change(
                    _CASE_REMOVED[kind], cpath,
                    f"{member} {o.name} was removed from {kind.value} {name}: recorded values "
                    "with it no longer type-check",
                    _case_text(o), None,
                )
        elif n is not None and n.name not in renamed_to:
            yield Change(
                _CASE_ADDED[kind], f"{path} / {member} {n.name}",
                f"{kind.value} {name} has a new {member} {n.name}: callers built against the "
                "old type cannot decode it",
                None, _case_text(n),
            )


_Member = TypeVar("_Member", Field, Case)


def _members(
    ctx: Context, old: Sequence[_Member], new: Sequence[_Member], find_renames: bool
) -> tuple[list[tuple[_Member | None, _Member | None]], dict[str, _Member]]:
    """Fields or cases matched by name, and (with ``find_renames``) the renames among the
    unmatched ones: old name -> new member, for a removed and an added member at the same
    position with the same type."""
    pairs = list(member_pairs(old, new))
    if not find_renames:
        return pairs, {}
    removed = [o for o, n in pairs if n is None and o is not None]
    added = [n for o, n in pairs if o is None and n is not None]
    old_index = {m.name: i for i, m in enumerate(old)}
    new_index = {m.name: i for i, m in enumerate(new)}

    def same(a: _Member, b: _Member) -> bool:
        return (
            old_index[a.name] == new_index[b.name]
            and ctx.types.compare(a.type, b.type) is Direction.SAME
        )

    return pairs, {o.name: n for o, n in renames(removed, added, same)}


def _case_text(case: Case) -> str:
    return case.name if case.type is None else f"{case.name}({type_text(case.type)})"


RULES: tuple[Rule, ...] = (
    Rule(
        id="type-kind-changed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A named type changed kind (record, variant, enum, flags, resource, alias).",
        explanation="Recorded values of the old kind cannot be read as the new kind: replay fails for "
            "workers whose history carries the type.",
        before="record id { v: u64 }",
        after="variant id { num(u64), text(string) }",
        check=type_changes,
    ),
    Rule(
        id="record-field-added",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A record has a new (non-option) field.",
        explanation="Recorded values lack the field, so they no longer type-check; results now carry a "
            "field old records lack. Add it as `option<T>` to keep old values valid.",
        before="record item { sku: string }",
        after="record item { sku: string, qty: u32 }",
        check=record_changes,
    ),
    Rule(
        id="record-option-field-added",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A record has a new `option<T>` field.",
        explanation="Recorded values may leave an option field out (it reads as `none`), so old "
            "arguments still fit; results carry a field old callers do not know.",
        before="record item { sku: string }",
        after="record item { sku: string, note: option<string> }",
        check=record_changes,
    ),
    Rule(
        id="record-field-removed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A record lost a field.",
        explanation="Recorded values carry a field the new type does not have: they no longer type-check.",
        before="record item { sku: string, price-cents: u32 }",
        after="record item { sku: string }",
        check=record_changes,
    ),
    Rule(
        id="record-field-renamed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A record field was renamed (same position and type).",
        explanation="Recorded values name their fields; the old name no longer exists.",
        before="record item { price-cents: u32 }",
        after="record item { price: u32 }",
        check=record_changes,
    ),
    Rule(
        id="record-field-reordered",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A record's fields are in a different order.",
        explanation="The canonical ABI lays fields out by position: a host or caller that records values "
            "positionally reads them into the wrong fields.",
        before="record p { x: s32, y: s32 }",
        after="record p { y: s32, x: s32 }",
        check=record_changes,
    ),
    Rule(
        id="record-field-type-changed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A record field's type changed incompatibly.",
        explanation="Recorded values of the field do not fit the new type.",
        before="record item { price: u32 }",
        after="record item { price: money }",
        check=record_changes,
    ),
    Rule(
        id="record-field-type-widened",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A record field accepts more values than before.",
        explanation="Old values still fit; where the record is a result, callers built against the old "
            "type cannot represent every new value.",
        before="record item { quantity: u16 }",
        after="record item { quantity: u32 }",
        check=record_changes,
    ),
    Rule(
        id="record-field-type-narrowed",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A record field accepts fewer values than before.",
        explanation="Recorded values outside the new range no longer type-check.",
        before="record item { quantity: u32 }",
        after="record item { quantity: u16 }",
        check=record_changes,
    ),
    Rule(
        id="variant-case-added",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A variant has a new case.",
        explanation="Old values still fit; where the variant is a result, callers built against the old "
            "type cannot decode the new case.",
        before="variant err { not-found(string) }",
        after="variant err { not-found(string), mismatch(currency) }",
        check=case_changes,
    ),
    Rule(
        id="variant-case-removed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A variant lost a case.",
        explanation="Recorded values with that case no longer type-check: replay fails for workers whose "
            "history carries it.",
        before="variant shape { circle(f64), square(f64) }",
        after="variant shape { circle(f64) }",
        check=case_changes,
    ),
    Rule(
        id="variant-case-renamed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A variant case was renamed (same position and payload).",
        explanation="Recorded values name the case; the old name no longer exists.",
        before="variant d { pct(u8) }",
        after="variant d { percent(u8) }",
        check=case_changes,
    ),
    Rule(
        id="variant-case-type-changed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A variant case's payload changed incompatibly (or was added or removed).",
        explanation="Recorded values of the case do not fit the new payload.",
        before="variant d { fixed(u32) }",
        after="variant d { fixed(string) }",
        check=case_changes,
    ),
    Rule(
        id="variant-case-type-widened",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A variant case's payload accepts more values than before.",
        explanation="Old values still fit; callers built against the old type may not decode new ones.",
        before="variant d { fixed(u32) }",
        after="variant d { fixed(u64) }",
        check=case_changes,
    ),
    Rule(
        id="variant-case-type-narrowed",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A variant case's payload accepts fewer values than before.",
        explanation="Recorded values outside the new range no longer type-check.",
        before="variant d { fixed(u64) }",
        after="variant d { fixed(u32) }",
        check=case_changes,
    ),
    Rule(
        id="enum-case-added",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="An enum has a new case.",
        explanation="Old values still fit; where the enum is a result, callers built against the old type "
            "cannot decode the new case.",
        before="enum currency { usd, eur }",
        after="enum currency { usd, eur, gbp }",
        check=case_changes,
    ),
    Rule(
        id="enum-case-removed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="An enum lost a case.",
        explanation="Recorded values with that case no longer type-check.",
        before="enum currency { usd, eur, gbp }",
        after="enum currency { usd, eur }",
        check=case_changes,
    ),
    Rule(
        id="enum-case-renamed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="An enum case was renamed (same position).",
        explanation="Recorded values name the case; the old name no longer exists.",
        before="enum color { grey }",
        after="enum color { gray }",
        check=case_changes,
    ),
    Rule(
        id="flags-flag-added",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A flags type has a new flag.",
        explanation="Old values still fit; callers built against the old type may not decode the new "
            "flag.",
        before="flags perms { read, write }",
        after="flags perms { read, write, exec }",
        check=case_changes,
    ),
    Rule(
        id="flags-flag-removed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A flags type lost a flag.",
        explanation="Recorded values with that flag set no longer type-check.",
        before="flags perms { read, write, exec }",
        after="flags perms { read, write }",
        check=case_changes,
    ),
    Rule(
        id="type-alias-changed",
        severity=Severity.ERROR,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(Verdict.AUTOMATIC,),
        summary="A type alias now stands for an incompatible type.",
        explanation="Recorded values of the alias do not fit the new type.",
        before="type id = string;",
        after="type id = u64;",
        check=type_changes,
    ),
    Rule(
        id="type-alias-widened",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A type alias now stands for a wider type.",
        explanation="Old values still fit; where it is a result, callers built against the old type "
            "cannot represent every new value.",
        before="type item-id = u32;",
        after="type item-id = u64;",
        check=type_changes,
    ),
    Rule(
        id="type-alias-narrowed",
        severity=Severity.WARNING,
        family="types",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A type alias now stands for a narrower type.",
        explanation="Recorded values outside the new range no longer type-check.",
        before="type item-id = u64;",
        after="type item-id = u32;",
        check=type_changes,
    ),
)
