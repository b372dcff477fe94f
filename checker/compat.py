"""Value compatibility of two WIT types: does every old value still fit the new type?

:func:`compare` answers with a :class:`Direction`:

- ``SAME``: the same values on both sides;
- ``WIDER``: the new type accepts every old value, and more (``u32 -> u64``, a case added);
- ``NARROWER``: every new value is an old value, not the other way round;
- ``CHANGED``: neither (``string -> u32``, a field removed and another added).

Values are compared as the oplog records them (WAVE text; record fields by name; an ``option``
field may be left out of a record value). Integer widths nest (``u8 < u16 < u32 < u64``,
``s8 < ... < s64``, ``uN < s(2N)``), ``f32 < f64``.

Named types of the same name on both sides compare as ``SAME`` when ``shallow`` is set: their
own changes are reported once, at the type's definition, instead of at every function using
them. Aliases are looked through.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .model import (
    Case,
    Field,
    Handle,
    ListType,
    OptionType,
    OtherType,
    Prim,
    Ref,
    ResultType,
    TupleType,
    Type,
    TypeDef,
    TypeKind,
    World,
)

__all__ = ["Direction", "TypePair", "combine", "compare", "compare_defs"]


class Direction(enum.Enum):
    """How the set of values of a type changed from old to new."""

    SAME = "same"
    WIDER = "wider"
    NARROWER = "narrower"
    CHANGED = "changed"


def combine(a: Direction, b: Direction) -> Direction:
    """The direction of a structure whose parts changed in directions ``a`` and ``b``."""
    if a is Direction.SAME:
        return b
    if b is Direction.SAME or a is b:
        return a
    return Direction.CHANGED




_UNSIGNED = {"u8": 8, "u16": 16, "u32": 32, "u64": 64}
_SIGNED = {"s8": 8, "s16": 16, "s32": 32, "s64": 64}
_FLOAT = {"f32": 32, "f64": 64}


def _value_range(name: str) -> tuple[str, int, int] | None:
    if name in _UNSIGNED:
        return ("int", 0, 2 ** _UNSIGNED[name] - 1)
    if name in _SIGNED:
        bits = _SIGNED[name]
        return ("int", -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if name in _FLOAT:
        return ("float", 0, _FLOAT[name])
    return None


def _compare_prims(old: str, new: str) -> Direction:
    if old == new:
        return Direction.SAME
    a, b = _value_range(old), _value_range(new)
    if a is None or b is None or a[0] != b[0]:
        return Direction.CHANGED
    if a[0] == "float":
        return Direction.WIDER if b[2] > a[2] else Direction.NARROWER
    if b[1] <= a[1] and a[2] <= b[2]:
        return Direction.WIDER
    if a[1] <= b[1] and b[2] <= a[2]:
        return Direction.NARROWER
    return Direction.CHANGED


@dataclass(frozen=True)
class TypePair:
    """The two worlds whose types are compared."""

    old: World
    new: World
    shallow: bool = True

    def compare(self, old: Type | None, new: Type | None) -> Direction:
        return compare(self, old, new)


def compare(pair: TypePair, old: Type | None, new: Type | None) -> Direction:
    """Compare an old and a new type (``None`` = no type, e.g. a function without a result)."""
    if old is None or new is None:
        return Direction.SAME if old is new else Direction.CHANGED
    if (
        pair.shallow and isinstance(old, Ref) and isinstance(new, Ref)
        and old.key.match == new.key.match
    ):
        return Direction.SAME
    old_r, new_r = pair.old.resolve(old), pair.new.resolve(new)
    if isinstance(old_r, Ref) or isinstance(new_r, Ref):
        if not (isinstance(old_r, Ref) and isinstance(new_r, Ref)):
            return Direction.CHANGED
        if pair.shallow and old_r.key.match == new_r.key.match:
            return Direction.SAME
        old_def, new_def = pair.old.typedef(old_r.key), pair.new.typedef(new_r.key)
        if old_def is None or new_def is None:
            return Direction.CHANGED
        return compare_defs(pair, old_def, new_def)
    if type(old_r) is not type(new_r):
        return Direction.CHANGED
    if isinstance(old_r, Prim):
        assert isinstance(new_r, Prim)
        return _compare_prims(old_r.name, new_r.name)
    if isinstance(old_r, ListType):
        assert isinstance(new_r, ListType)
        return compare(pair, old_r.element, new_r.element)
    if isinstance(old_r, OptionType):
        assert isinstance(new_r, OptionType)
        return compare(pair, old_r.inner, new_r.inner)
    if isinstance(old_r, ResultType):
        assert isinstance(new_r, ResultType)
        return combine(compare(pair, old_r.ok, new_r.ok), compare(pair, old_r.err, new_r.err))
    if isinstance(old_r, TupleType):
        assert isinstance(new_r, TupleType)
        if len(old_r.items) != len(new_r.items):
            return Direction.CHANGED
        out = Direction.SAME
        for a, b in zip(old_r.items, new_r.items):
            out = combine(out, compare(pair, a, b))
        return out
    if isinstance(old_r, Handle):
        assert isinstance(new_r, Handle)
        same = old_r.mode == new_r.mode and old_r.resource.match == new_r.resource.match
        return Direction.SAME if same else Direction.CHANGED
    assert isinstance(old_r, OtherType)
    return Direction.SAME if old_r == new_r else Direction.CHANGED


def _is_option(world: World, ty: Type) -> bool:
    return isinstance(world.resolve(ty), OptionType)


def compare_defs(pair: TypePair, old: TypeDef, new: TypeDef) -> Direction:
    """Compare two named type definitions member by member (names matter, order does not)."""
    if old.kind is not new.kind:
        return Direction.CHANGED
    if old.kind is TypeKind.RESOURCE:
        return Direction.SAME if old.key.match == new.key.match else Direction.CHANGED
    if old.kind is TypeKind.ALIAS:
        return compare(pair, old.target, new.target)
    if old.kind is TypeKind.RECORD:
        return _compare_members(
            pair, old.fields, new.fields,
            # old values may carry a removed option field; new values (without it) are still
            # old values
            lambda f: Direction.NARROWER if _is_option(pair.old, f.type) else Direction.CHANGED,
            lambda f: Direction.WIDER if _is_option(pair.new, f.type) else Direction.CHANGED,
        )
    # variant, enum, flags: cases by name
    return _compare_members(
        pair, old.cases, new.cases, lambda c: Direction.NARROWER, lambda c: Direction.WIDER
    )


_Member = TypeVar("_Member", Field, Case)


def _compare_members(
    pair: TypePair,
    old: Sequence[_Member],
    new: Sequence[_Member],
    only_old: Callable[[_Member], Direction],
    only_new: Callable[[_Member], Direction],
) -> Direction:
    """Fields or cases matched by name: the types of those on both sides compared, and the
    direction ``only_old``/``only_new`` gives for one on a single side (``CHANGED`` ends it)."""
    old_by_name = {m.name: m for m in old}
    new_by_name = {m.name: m for m in new}
    out = Direction.SAME
    for name, m in old_by_name.items():
        if name in new_by_name:
            out = combine(out, compare(pair, m.type, new_by_name[name].type))
            continue
        one_side = only_old(m)
        if one_side is Direction.CHANGED:
            return one_side
        out = combine(out, one_side)
    for name, m in new_by_name.items():
        if name not in old_by_name:
            one_side = only_new(m)
            if one_side is Direction.CHANGED:
                return one_side
            out = combine(out, one_side)
    return out
