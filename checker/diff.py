"""The structural, direction-aware diff of two worlds: :func:`find_changes`.

The pairs of :mod:`checker.pairs` (interfaces, functions, named types, members) go through
small check functions that turn each pair into findings. Export checks
look at what recorded invocations need (the names and types they were recorded with); import
checks at what the host provides and what recorded host calls expect; snapshot checks at the
``golem:api`` snapshot interfaces, which are left out of the export checks (the oplog never
records their calls).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .compat import Direction, TypePair
from .findings import Finding, make_finding
from .hosts import HostProfile, Status, get_host
from .model import (
    Case,
    Field,
    Function,
    FunctionKind,
    Interface,
    OptionType,
    Param,
    Type,
    TypeDef,
    TypeKey,
    TypeKind,
    World,
    signature_text,
    type_text,
)
from .pairs import function_pairs, interface_pairs, member_pairs, type_pairs
from .pairs import renames as _renames
from .snapshots import LOAD, SAVE, is_snapshot, snapshot_support

__all__ = ["find_changes"]

# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Ctx:
    old: World
    new: World
    host: HostProfile
    types: TypePair
    deep: TypePair
    docs: bool  # both sides came from WIT text (components carry no docs)


_RULE_SUFFIX = {
    Direction.WIDER: "widened",
    Direction.NARROWER: "narrowed",
    Direction.CHANGED: "changed",
}


def _direction_rule(prefix: str, d: Direction) -> str:
    """``param-type`` + WIDER -> ``param-type-widened``."""
    return f"{prefix}-{_RULE_SUFFIX[d]}"


def _iface_path(direction: str, iface: Interface) -> str:
    return f"{direction} {iface.qualified}" if iface.id else direction


def _join(prefix: str, segment: str) -> str:
    if prefix in ("export", "import"):
        return f"{prefix} {segment}"
    return f"{prefix} / {segment}"


def _doc_finding(path: str, old: str | None, new: str | None, what: str) -> Iterator[Finding]:
    if (old or "").strip() != (new or "").strip():
        yield make_finding(
            "doc-changed", path, f"the doc comment of {what} changed",
            _short(old), _short(new),
        )


def _short(text: str | None) -> str | None:
    if text is None:
        return None
    line = " ".join(text.split())
    return line if len(line) <= 80 else line[:77] + "..."


# --------------------------------------------------------------------------- entry point


def find_changes(
    old: World, new: World, host: HostProfile | str | None = None
) -> Iterator[Finding]:
    """Every change from ``old`` to ``new`` as findings (default severities, in a stable order).

    Args:
        old: the revision workers run now.
        new: the revision they would be updated to.
        host: the host profile (or its name) used for import checks; default ``golem``.
    """
    profile = get_host(host or "golem") if not isinstance(host, HostProfile) else host
    ctx = _Ctx(
        old, new, profile,
        TypePair(old, new, shallow=True), TypePair(old, new, shallow=False),
        docs=not old.is_component and not new.is_component,
    )
    yield from _export_changes(ctx)
    yield from _type_changes(ctx)
    yield from _import_changes(ctx)
    yield from _snapshot_changes(ctx)


# --------------------------------------------------------------------------- exports


def _same_signature(pair: TypePair, a: Function, b: Function) -> bool:
    if a.kind is not b.kind or len(a.params) != len(b.params):
        return False
    if any(pair.compare(x.type, y.type) is not Direction.SAME for x, y in zip(a.params, b.params)):
        return False
    return pair.compare(a.result, b.result) is Direction.SAME


def _same_interface(pair: TypePair, a: Interface, b: Interface) -> bool:
    fa = {f.name: f for f in a.functions}
    fb = {f.name: f for f in b.functions}
    return bool(fa) and fa.keys() == fb.keys() and all(
        _same_signature(pair, fa[n], fb[n]) for n in fa
    )


def _export_changes(ctx: _Ctx) -> Iterator[Finding]:
    old_ifaces = [i for i in ctx.old.exports if not is_snapshot(i)]
    new_ifaces = [i for i in ctx.new.exports if not is_snapshot(i)]
    pairs = list(interface_pairs(old_ifaces, new_ifaces))
    removed = [o for o, n in pairs if n is None and o is not None]
    added = [n for o, n in pairs if o is None and n is not None]
    renames = {
        id(o): n
        for o, n in _renames(removed, added, lambda a, b: _same_interface(ctx.types, a, b))
    }
    renamed_to = {id(n) for n in renames.values()}
    for o, n in pairs:
        if o is not None and n is not None:
            yield from _interface_changes(ctx, o, n)
        elif o is not None:
            path = _iface_path("export", o)
            target = renames.get(id(o))
            if target is not None:
                yield make_finding(
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
                yield make_finding(
                    "export-interface-removed", path,
                    f"exported interface {o.qualified} was removed: workers that called any of "
                    f"its functions ({names}) cannot replay",
                    o.qualified, None,
                )
        elif n is not None and id(n) not in renamed_to:
            path = _iface_path("export", n)
            if n.id == "":
                for f in n.functions:
                    yield make_finding(
                        "export-function-added", _join(path, f.label),
                        f"new exported function {f.item}", None, signature_text(f),
                    )
            else:
                yield make_finding(
                    "export-interface-added", path,
                    f"new exported interface {n.qualified}", None, n.qualified,
                )


def _function_removed(path: str, f: Function, rename: Function | None) -> Finding:
    fpath = _join(path, f.label)
    if rename is not None:
        return make_finding(
            "export-function-renamed", fpath,
            f"exported function {f.golem_name} was renamed to {rename.golem_name}: recorded "
            "invocations of it cannot be replayed",
            f.item, rename.item,
        )
    return make_finding(
        "export-function-removed", fpath,
        f"exported function {f.golem_name} was removed: workers that called it cannot replay "
        "their history",
        signature_text(f), None,
    )


def _interface_changes(ctx: _Ctx, old: Interface, new: Interface) -> Iterator[Finding]:
    path = _iface_path("export", new)
    if old.version != new.version:
        yield make_finding(
            "export-version-changed", path,
            f"package version of exported interface {old.id} changed from "
            f"{old.version or '(none)'} to {new.version or '(none)'}: recorded invocation "
            "names carry the old version",
            old.qualified, new.qualified,
        )
    if ctx.docs and old.id:
        yield from _doc_finding(path, old.docs, new.docs, f"interface {new.qualified}")
    # free functions
    old_free = [f for f in old.functions if f.resource is None]
    new_free = [f for f in new.functions if f.resource is None]
    yield from _function_group(ctx, path, old_free, new_free, resource=False)
    # resources
    yield from _resource_changes(ctx, path, old, new)


def _function_group(
    ctx: _Ctx, path: str, old: Sequence[Function], new: Sequence[Function], *, resource: bool
) -> Iterator[Finding]:
    pairs = list(function_pairs(old, new))
    removed = [o for o, n in pairs if n is None and o is not None]
    added = [n for o, n in pairs if o is None and n is not None]
    renames = {
        id(o): n for o, n in _renames(removed, added, lambda a, b: _same_signature(ctx.types, a, b))
    }
    renamed_to = {id(n) for n in renames.values()}
    for o, n in pairs:
        if o is not None and n is not None:
            yield from _function_changes(ctx, _join(path, n.label), o, n)
        elif o is not None:
            target = renames.get(id(o))
            if not resource:
                yield _function_removed(path, o, target)
            elif target is not None:
                yield make_finding(
                    "resource-method-renamed", _join(path, o.label),
                    f"{o.golem_name} was renamed to {target.golem_name}: recorded invocations "
                    "of it cannot be replayed",
                    o.item, target.item,
                )
            else:
                what = "constructor" if o.kind is FunctionKind.CONSTRUCTOR else o.kind.value
                yield make_finding(
                    "resource-method-removed", _join(path, o.label),
                    f"{what} {o.golem_name} was removed: workers that called it cannot replay "
                    "their history",
                    signature_text(o), None,
                )
        elif n is not None and id(n) not in renamed_to:
            rule = "resource-method-added" if resource else "export-function-added"
            yield make_finding(
                rule, _join(path, n.label),
                f"new {'method' if resource else 'exported function'} {n.golem_name}",
                None, signature_text(n),
            )


def _resource_changes(ctx: _Ctx, path: str, old: Interface, new: Interface) -> Iterator[Finding]:
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
        rpath = _join(path, f"resource {name}")
        old_funcs = [f for f in old.functions if f.resource == name]
        if name not in new_res:
            methods = ", ".join(f.golem_name for f in old_funcs) or "no methods"
            yield make_finding(
                "resource-removed", rpath,
                f"resource {name} was removed ({methods}): workers that used it cannot replay",
                f"resource {name}", None,
            )
            continue
        new_funcs = [f for f in new.functions if f.resource == name]
        yield from _function_group(ctx, rpath, old_funcs, new_funcs, resource=True)
    for name in new_res:
        if name not in old_res:
            yield make_finding(
                "resource-added", _join(path, f"resource {name}"),
                f"new resource {name}", None, f"resource {name}",
            )


def _visible_params(f: Function) -> list[Param]:
    if f.kind is FunctionKind.METHOD and f.params and f.params[0].name == "self":
        return list(f.params[1:])
    return list(f.params)


def _function_changes(ctx: _Ctx, fpath: str, old: Function, new: Function) -> Iterator[Finding]:
    if ctx.docs:
        yield from _doc_finding(fpath, old.docs, new.docs, f"{new.golem_name}")
    op, np = _visible_params(old), _visible_params(new)
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
                    yield make_finding(
                        "param-renamed", _join(fpath, f"param {o.name}"),
                        f"parameter {o.name} of {new.golem_name} was renamed to {n.name}",
                        o.name, n.name,
                    )
                matched.append((n.name, o.type, n.type))
        else:
            common_old = [n for n in on if n in nn]
            common_new = [n for n in nn if n in on]
            if common_old != common_new:
                yield make_finding(
                    "param-reordered", fpath,
                    f"the parameters of {new.golem_name} were reordered: recorded arguments "
                    "are positional",
                    f"({', '.join(on)})", f"({', '.join(nn)})",
                )
            for p in removed:
                yield make_finding(
                    "param-removed", _join(fpath, f"param {p.name}"),
                    f"parameter {p.name} of {new.golem_name} was removed: recorded invocations "
                    "carry an argument for it",
                    f"{p.name}: {type_text(p.type)}", None,
                )
            for p in added:
                yield make_finding(
                    "param-added", _join(fpath, f"param {p.name}"),
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
        yield make_finding(
            _direction_rule("param-type", d), _join(fpath, f"param {name}"),
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
        yield make_finding(
            _direction_rule("result-type", d), _join(fpath, "result"),
            f"the result type of {new.golem_name} {what}",
            type_text(old.result), type_text(new.result),
        )


# --------------------------------------------------------------------------- named types


def _type_path(world: World, key: TypeKey, kind: TypeKind) -> str:
    for direction, lookup in (("export", world.export), ("import", world.imported)):
        iface = lookup(key.owner)
        if iface is not None:
            return _join(_iface_path(direction, iface), f"{kind.value} {key.name}")
    owner = f"{key.owner}@{key.version}" if key.version else key.owner
    return f"{owner} / {kind.value} {key.name}"


def _type_changes(ctx: _Ctx) -> Iterator[Finding]:
    for old, new in type_pairs(ctx.old, ctx.new):
        path = _type_path(ctx.new, new.key, new.kind)
        name = new.name
        if old.kind is not new.kind:
            yield make_finding(
                "type-kind-changed", _type_path(ctx.old, old.key, old.kind),
                f"type {name} changed from a {old.kind.value} to a {new.kind.value}",
                f"{old.kind.value} {name}", f"{new.kind.value} {name}",
            )
            continue
        if ctx.docs:
            yield from _doc_finding(path, old.docs, new.docs, f"{new.kind.value} {name}")
        if new.kind is TypeKind.ALIAS:
            d = ctx.types.compare(old.target, new.target)
            if d is not Direction.SAME:
                yield make_finding(
                    _direction_rule("type-alias", d), path,
                    f"type {name} now stands for {type_text(new.target)} instead of "
                    f"{type_text(old.target)} ({_DIRECTION_WORDS[d]})",
                    type_text(old.target), type_text(new.target),
                )
        elif new.kind is TypeKind.RECORD:
            yield from _record_changes(ctx, path, old, new)
        elif new.kind in (TypeKind.VARIANT, TypeKind.ENUM, TypeKind.FLAGS):
            yield from _case_changes(ctx, path, old, new)


_DIRECTION_WORDS = {
    Direction.WIDER: "wider: old values still fit",
    Direction.NARROWER: "narrower: some old values no longer fit",
    Direction.CHANGED: "incompatible: old values no longer fit",
}


def _record_changes(ctx: _Ctx, path: str, old: TypeDef, new: TypeDef) -> Iterator[Finding]:
    name = new.name
    pairs = list(member_pairs(old.fields, new.fields))
    removed = [o for o, n in pairs if n is None and o is not None]
    added = [n for o, n in pairs if o is None and n is not None]
    old_index = {f.name: i for i, f in enumerate(old.fields)}
    new_index = {f.name: i for i, f in enumerate(new.fields)}

    def same(a: Field, b: Field) -> bool:
        return (
            old_index[a.name] == new_index[b.name]
            and ctx.types.compare(a.type, b.type) is Direction.SAME
        )

    renames = {o.name: n for o, n in _renames(removed, added, same)}
    renamed_to = {n.name for n in renames.values()}
    common_old = [f.name for f in old.fields if f.name in new_index]
    common_new = [f.name for f in new.fields if f.name in old_index]
    if common_old != common_new:
        yield make_finding(
            "record-field-reordered", path,
            f"the fields of record {name} were reordered",
            ", ".join(common_old), ", ".join(common_new),
        )
    for o, n in pairs:
        if o is not None and n is not None:
            fpath = f"{path} / field {n.name}"
            if ctx.docs:
                yield from _doc_finding(fpath, o.docs, n.docs, f"field {name}.{n.name}")
            d = ctx.types.compare(o.type, n.type)
            if d is not Direction.SAME:
                yield make_finding(
                    _direction_rule("record-field-type", d), fpath,
                    f"the type of field {n.name} of record {name} changed "
                    f"({_DIRECTION_WORDS[d]})",
                    type_text(o.type), type_text(n.type),
                )
        elif o is not None:
            fpath = f"{path} / field {o.name}"
            if o.name in renames:
                yield make_finding(
                    "record-field-renamed", fpath,
                    f"field {o.name} of record {name} was renamed to {renames[o.name].name}",
                    o.name, renames[o.name].name,
                )
            else:
                yield make_finding(
                    "record-field-removed", fpath,
                    f"field {o.name} was removed from record {name}: recorded values carry it",
                    f"{o.name}: {type_text(o.type)}", None,
                )
        elif n is not None and n.name not in renamed_to:
            fpath = f"{path} / field {n.name}"
            if isinstance(ctx.new.resolve(n.type), OptionType):
                yield make_finding(
                    "record-option-field-added", fpath,
                    f"record {name} has a new option field {n.name} (old values read it as "
                    "none)",
                    None, f"{n.name}: {type_text(n.type)}",
                )
            else:
                yield make_finding(
                    "record-field-added", fpath,
                    f"record {name} has a new field {n.name}: recorded values lack it",
                    None, f"{n.name}: {type_text(n.type)}",
                )


def _case_changes(ctx: _Ctx, path: str, old: TypeDef, new: TypeDef) -> Iterator[Finding]:
    kind = new.kind
    name = new.name
    prefix = {TypeKind.VARIANT: "variant-case", TypeKind.ENUM: "enum-case",
              TypeKind.FLAGS: "flags-flag"}[kind]
    member = "flag" if kind is TypeKind.FLAGS else "case"
    pairs = list(member_pairs(old.cases, new.cases))
    removed = [o for o, n in pairs if n is None and o is not None]
    added = [n for o, n in pairs if o is None and n is not None]
    old_index = {c.name: i for i, c in enumerate(old.cases)}
    new_index = {c.name: i for i, c in enumerate(new.cases)}

    def same(a: Case, b: Case) -> bool:
        return (
            old_index[a.name] == new_index[b.name]
            and ctx.types.compare(a.type, b.type) is Direction.SAME
        )

    renames = {} if kind is TypeKind.FLAGS else {
        o.name: n for o, n in _renames(removed, added, same)
    }
    renamed_to = {n.name for n in renames.values()}
    for o, n in pairs:
        if o is not None and n is not None:
            cpath = f"{path} / {member} {n.name}"
            if ctx.docs:
                yield from _doc_finding(cpath, o.docs, n.docs, f"{member} {name}.{n.name}")
            if kind is TypeKind.VARIANT:
                d = ctx.types.compare(o.type, n.type)
                if d is not Direction.SAME:
                    yield make_finding(
                        _direction_rule("variant-case-type", d), cpath,
                        f"the payload of case {n.name} of variant {name} changed "
                        f"({_DIRECTION_WORDS[d]})",
                        type_text(o.type), type_text(n.type),
                    )
        elif o is not None:
            cpath = f"{path} / {member} {o.name}"
            if o.name in renames:
                yield make_finding(
                    f"{prefix}-renamed", cpath,
                    f"{member} {o.name} of {kind.value} {name} was renamed to "
                    f"{renames[o.name].name}",
                    o.name, renames[o.name].name,
                )
            else:
                yield make_finding(
                    f"{prefix}-removed", cpath,
                    f"{member} {o.name} was removed from {kind.value} {name}: recorded values "
                    "with it no longer type-check",
                    _case_text(o), None,
                )
        elif n is not None and n.name not in renamed_to:
            yield make_finding(
                f"{prefix}-added", f"{path} / {member} {n.name}",
                f"{kind.value} {name} has a new {member} {n.name}: callers built against the "
                "old type cannot decode it",
                None, _case_text(n),
            )


def _case_text(case: Case) -> str:
    return case.name if case.type is None else f"{case.name}({type_text(case.type)})"


# --------------------------------------------------------------------------- imports


def _import_changes(ctx: _Ctx) -> Iterator[Finding]:
    host = ctx.host
    for o, n in interface_pairs(ctx.old.imports, ctx.new.imports):
        if n is not None and o is None:
            path = _iface_path("import", n)
            if n.id == "":
                for f in n.functions:
                    yield from _new_import(ctx, _join(path, f.label), f"function {f.item}", None)
                continue
            yield from _new_import(ctx, path, n.qualified, n)
        elif o is not None and n is None:
            path = _iface_path("import", o)
            if o.id == "":
                for f in o.functions:
                    yield make_finding(
                        "import-removed", _join(path, f.label),
                        f"imported function {f.item} is gone: histories that recorded calls to "
                        "it diverge on replay",
                        signature_text(f), None,
                    )
                continue
            yield make_finding(
                "import-removed", path,
                f"import {o.qualified} is gone: histories that recorded calls to it diverge "
                "on replay",
                o.qualified, None,
            )
        elif o is not None and n is not None:
            path = _iface_path("import", n)
            if o.version != n.version:
                support = host.lookup(n.id, n.version)
                if support.status is Status.NOT_PROVIDED:
                    yield make_finding(
                        "import-not-provided", path,
                        f"{support.note}: the new revision cannot be instantiated there",
                        o.qualified, n.qualified,
                    )
                else:
                    yield make_finding(
                        "import-version-changed", path,
                        f"import {o.id} changed version from {o.version or '(none)'} to "
                        f"{n.version or '(none)'}",
                        o.qualified, n.qualified,
                    )
                continue
            for fo, fn in function_pairs(o.functions, n.functions):
                fpath = _join(path, (fo or fn).label)  # type: ignore[union-attr]
                if fo is None and fn is not None:
                    yield make_finding(
                        "import-function-added", fpath,
                        f"the new revision calls {n.qualified}.{{{fn.golem_name}}}: if old code "
                        "paths now call it, replay diverges",
                        None, signature_text(fn),
                    )
                elif fn is None and fo is not None:
                    yield make_finding(
                        "import-function-removed", fpath,
                        f"the new revision no longer imports {o.qualified}.{{{fo.golem_name}}}: "
                        "histories that recorded calls to it diverge",
                        signature_text(fo), None,
                    )
                elif fo is not None and fn is not None and not _same_signature(ctx.deep, fo, fn):
                    yield make_finding(
                        "import-function-changed", fpath,
                        f"imported function {n.qualified}.{{{fn.golem_name}}} changed signature "
                        "without a version change: the host implements the old one",
                        signature_text(fo), signature_text(fn),
                    )


def _new_import(
    ctx: _Ctx, path: str, what: str, iface: Interface | None
) -> Iterator[Finding]:
    if iface is None:  # a world-level function import: only the embedder can provide it
        support_status, note = Status.NOT_PROVIDED, f"{ctx.host.display} does not provide {what}"
        if ctx.host.name == "wasmcloud":
            support_status = Status.NEEDS_CONFIG
            note = f"wasmCloud needs a new link for {what} (a full rollout, not a plain update)"
    else:
        support = ctx.host.lookup(iface.id, iface.version)
        support_status, note = support.status, support.note
    if support_status is Status.NOT_PROVIDED:
        yield make_finding(
            "import-not-provided", path,
            f"{note}: the new revision cannot be instantiated there", None, what,
        )
    elif support_status is Status.NEEDS_CONFIG:
        yield make_finding("import-needs-config", path, note, None, what)
    else:
        yield make_finding(
            "import-added", path,
            f"new import {what} ({note}): if old code paths now call it, replay meets host "
            "calls the oplog never recorded",
            None, what,
        )


# --------------------------------------------------------------------------- snapshots


def _snapshot_changes(ctx: _Ctx) -> Iterator[Finding]:
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
            yield make_finding(
                "snapshot-export-removed", _iface_path("export", o),
                f"the new revision no longer exports {o.qualified}: {consequence}",
                o.qualified, None,
            )
        elif o is None and n is not None:
            yield make_finding(
                "snapshot-export-added", _iface_path("export", n),
                f"the new revision exports {n.qualified}", None, n.qualified,
            )
        elif o is not None and n is not None and o.version != n.version:
            yield make_finding(
                "snapshot-version-changed", _iface_path("export", n),
                f"{iface_id} changed version from {o.version} to {n.version}: make sure `load` "
                "accepts what the old `save` wrote",
                o.qualified, n.qualified,
            )
    new_problems = {qualified for _, qualified, _ in new.problems}
    for side, snaps in (("old", old), ("new", new)):
        for _iface_id, qualified, reason in snaps.problems:
            if side == "old" and qualified in new_problems:
                continue  # reported once, for the new side
            yield make_finding(
                "snapshot-export-unsupported", f"export {qualified}",
                f"the {side} revision's {qualified} is not usable for manual updates: {reason}",
                qualified if side == "old" else None, qualified if side == "new" else None,
            )
