"""The manual-update availability model: which ``golem:api`` snapshot interfaces a revision
exports in a form Golem supports (:func:`snapshot_support`), and the problems that make an
exported one unusable. :mod:`checker.verdicts` reads it for the manual verdict and
:mod:`checker.rules.snapshots` for the snapshot findings.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Interface, ListType, Prim, Ref, ResultType, Type, TypeKind, World

__all__ = [
    "LIST_FORM_VERSIONS",
    "LOAD",
    "RECORD_FORM_VERSIONS",
    "SAVE",
    "SNAPSHOT_INTERFACES",
    "Snapshots",
    "is_snapshot",
    "snapshot_support",
]

SAVE = "golem:api/save-snapshot"
LOAD = "golem:api/load-snapshot"
SNAPSHOT_INTERFACES = (SAVE, LOAD)
#: golem:api versions whose snapshot interfaces use `list<u8>`.
LIST_FORM_VERSIONS = ("0.2.0", "0.2.2", "1.1.0", "1.1.6", "1.1.7", "1.3.0")
#: golem:api versions whose snapshot interfaces use the `snapshot` record.
RECORD_FORM_VERSIONS = ("1.5.0",)


def is_snapshot(iface: Interface) -> bool:
    """Whether ``iface`` is one of the snapshot interfaces (left out of the export checks: the
    oplog never records their calls)."""
    return iface.id in SNAPSHOT_INTERFACES


@dataclass(frozen=True)
class Snapshots:
    """A revision's snapshot exports: the ``golem:api`` version of each, or ``None``; and the
    problems that make an exported one unusable."""

    save: str | None
    load: str | None
    problems: tuple[tuple[str, str, str], ...] = ()  # (interface id, qualified, reason)


def _is_bytes(world: World, ty: Type | None) -> bool:
    ty = world.resolve(ty) if ty is not None else None
    return isinstance(ty, ListType) and world.resolve(ty.element) == Prim("u8")


def _is_snapshot_record(world: World, ty: Type | None) -> bool:
    if ty is None:
        return False
    ty = world.resolve(ty)
    if not isinstance(ty, Ref):
        return False
    td = world.typedef(ty.key)
    if td is None or td.kind is not TypeKind.RECORD:
        return False
    fields = {f.name: f.type for f in td.fields}
    return (
        set(fields) == {"payload", "mime-type"}
        and _is_bytes(world, fields["payload"])
        and world.resolve(fields["mime-type"]) == Prim("string")
    )


def _is_load_result(world: World, ty: Type | None) -> bool:
    ty = world.resolve(ty) if ty is not None else None
    return (
        isinstance(ty, ResultType) and ty.ok is None and ty.err is not None
        and world.resolve(ty.err) == Prim("string")
    )


def _snapshot_problem(world: World, iface: Interface) -> str | None:
    version = iface.version or ""
    if version not in LIST_FORM_VERSIONS + RECORD_FORM_VERSIONS:
        supported = ", ".join(LIST_FORM_VERSIONS + RECORD_FORM_VERSIONS)
        return f"golem:api version {version or '(none)'} is not one Golem supports ({supported})"
    payload_ok = _is_snapshot_record if version in RECORD_FORM_VERSIONS else _is_bytes
    form = "snapshot" if version in RECORD_FORM_VERSIONS else "list<u8>"
    if iface.id == SAVE:
        f = iface.function("save")
        if f is None or f.params or not payload_ok(world, f.result):
            return f"expected `save: func() -> {form}`"
    else:
        f = iface.function("load")
        if (
            f is None or len(f.params) != 1 or not payload_ok(world, f.params[0].type)
            or not _is_load_result(world, f.result)
        ):
            return f"expected `load: func({form}) -> result<_, string>`"
    return None


def snapshot_support(world: World) -> Snapshots:
    """Which snapshot interfaces ``world`` exports in a form Golem supports."""
    save = load = None
    problems = []
    for iface in world.exports:
        if not is_snapshot(iface):
            continue
        problem = _snapshot_problem(world, iface)
        if problem is not None:
            problems.append((iface.id, iface.qualified, problem))
        elif iface.id == SAVE:
            save = iface.version
        else:
            load = iface.version
    return Snapshots(save, load, tuple(problems))
