"""Pair iteration: match the old and the new side's items so that checks compare partners.

Interfaces by id (version left out), functions by name, record fields / cases / flags by name,
named types by owner and name (those reachable from the exports); unmatched items on either
side pair with ``None``, and :func:`renames` / :func:`with_renames` find the unmatched ones that
are the same item under a new name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from .model import Case, Field, Function, Interface, Ref, Type, TypeDef, TypeKey, World, children
from .snapshots import is_snapshot

__all__ = [
    "function_pairs",
    "interface_pairs",
    "member_pairs",
    "renames",
    "type_pairs",
    "with_renames",
]

T = TypeVar("T")


def _pairs(
    old: Sequence[T], new: Sequence[T], key: Callable[[T], str]
) -> Iterator[tuple[T | None, T | None]]:
    """Old items in order (with their new partner or ``None``), then the new-only items."""
    new_by_key = {key(n): n for n in new}
    old_keys = set()
    for o in old:
        k = key(o)
        old_keys.add(k)
        yield o, new_by_key.get(k)
    for n in new:
        if key(n) not in old_keys:
            yield None, n


def interface_pairs(
    old: Sequence[Interface], new: Sequence[Interface]
) -> Iterator[tuple[Interface | None, Interface | None]]:
    """Interfaces matched by id (``pkg:ns/name``, version left out)."""
    return _pairs(old, new, lambda i: i.id)


def function_pairs(
    old: Sequence[Function], new: Sequence[Function]
) -> Iterator[tuple[Function | None, Function | None]]:
    """Functions matched by their component-model name."""
    return _pairs(old, new, lambda f: f.name)


M = TypeVar("M", Field, Case)


def member_pairs(
    old: Sequence[M], new: Sequence[M]
) -> Iterator[tuple[M | None, M | None]]:
    """Record fields, cases or flags matched by name."""
    return _pairs(old, new, lambda m: m.name)


def renames(
    removed: list[T], added: list[T], same: Callable[[T, T], bool]
) -> list[tuple[T, T]]:
    """Pairs (old, new) where exactly one added item matches a removed one and vice versa."""
    out = []
    for r in removed:
        candidates = [a for a in added if same(r, a)]
        if len(candidates) == 1 and [x for x in removed if same(x, candidates[0])] == [r]:
            out.append((r, candidates[0]))
    return out


def with_renames(
    pairs: Sequence[tuple[T | None, T | None]], same: Callable[[T, T], bool]
) -> tuple[dict[int, T], set[int]]:
    """The renames among the unmatched items of ``pairs``: ``id()`` of each renamed old item
    -> its new partner, and the ``id()`` of those partners."""
    removed = [o for o, n in pairs if n is None and o is not None]
    added = [n for o, n in pairs if o is None and n is not None]
    found = {id(o): n for o, n in renames(removed, added, same)}
    return found, {id(n) for n in found.values()}


def _reachable(world: World) -> dict[tuple[str, str], TypeKey]:
    """Named types reachable from the exported functions (snapshot interfaces left out)."""
    found: dict[tuple[str, str], TypeKey] = {}
    stack: list[Type] = []
    for iface in world.exports:
        if is_snapshot(iface):
            continue
        for f in iface.functions:
            stack.extend(p.type for p in f.params)
            if f.result is not None:
                stack.append(f.result)
    while stack:
        ty = stack.pop()
        if isinstance(ty, Ref):
            if ty.key.match in found:
                continue
            found[ty.key.match] = ty.key
            td = world.typedef(ty.key)
            if td is None:
                continue
            if td.target is not None:
                stack.append(td.target)
            stack.extend(f.type for f in td.fields)
            stack.extend(c.type for c in td.cases if c.type is not None)
        else:
            stack.extend(children(ty))
    return found


def type_pairs(old: World, new: World) -> Iterator[tuple[TypeDef, TypeDef]]:
    """Named types reachable from either side's exports and defined on both sides (same
    owner and name), in the old side's declaration order."""
    old_keys, new_keys = _reachable(old), _reachable(new)
    old_all = {k.match: k for k in old.types}
    new_all = {k.match: k for k in new.types}
    wanted = list(old_keys) + [k for k in new_keys if k not in old_keys]
    order = {k.match: i for i, k in enumerate(old.types)}
    wanted.sort(key=lambda m: order.get(m, len(order)))
    for match in wanted:
        if match in old_all and match in new_all:
            yield old.types[old_all[match]], new.types[new_all[match]]
