"""Hypothesis strategies for WIT values.

``values(wit_type)`` generates native values (see :mod:`pytest_hotupdate.values`) of any WIT
type, shrinking towards small, simple ones. Imported lazily: hypothesis is only needed by suites
that use it.
"""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import strategies as st

from .values import (
    EnumType,
    Err,
    FlagsType,
    Handle,
    ListType,
    Ok,
    OptionType,
    Prim,
    RecordType,
    ResultType,
    Some,
    TupleType,
    Variant,
    VariantType,
    WitType,
    HandleType,
)

_INT_RANGES = {
    "s8": (-(2**7), 2**7 - 1),
    "s16": (-(2**15), 2**15 - 1),
    "s32": (-(2**31), 2**31 - 1),
    "s64": (-(2**63), 2**63 - 1),
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
}

#: Unicode scalar values (no surrogates): what a WIT ``char`` may hold.
_SCALARS = st.characters(blacklist_categories=("Cs",))


def _f32_from_bits(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits))[0])


def _f64_from_bits(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


def values(ty: WitType | None, *, max_size: int = 4) -> st.SearchStrategy[Any]:
    """A strategy for native values of ``ty`` (``None`` -> the unit value ``None``).

    Floats cover every bit pattern (NaNs, infinities, subnormals, -0); ``f32`` values are exactly
    representable in 32 bits. Lists, strings and flags hold at most ``max_size`` items.
    """
    if ty is None:
        return st.none()
    if isinstance(ty, Prim):
        return _prim(ty.kind, max_size)
    if isinstance(ty, ListType):
        if ty.element == Prim("u8"):
            return st.binary(max_size=max_size)
        return st.lists(values(ty.element, max_size=max_size), max_size=max_size)
    if isinstance(ty, TupleType):
        return st.tuples(*(values(t, max_size=max_size) for t in ty.elements))
    if isinstance(ty, RecordType):
        return st.fixed_dictionaries({n: values(t, max_size=max_size) for n, t in ty.fields})
    if isinstance(ty, VariantType):
        return st.one_of(*(
            st.just(Variant(name)) if payload is None
            else values(payload, max_size=max_size).map(lambda p, name=name: Variant(name, p))
            for name, payload in ty.cases
        ))
    if isinstance(ty, EnumType):
        return st.sampled_from(ty.cases)
    if isinstance(ty, FlagsType):
        if not ty.names:
            return st.just(frozenset())
        return st.frozensets(st.sampled_from(ty.names))
    if isinstance(ty, OptionType):
        inner = values(ty.payload, max_size=max_size)
        if isinstance(ty.payload, OptionType):
            inner = inner.map(Some)
        return st.one_of(st.none(), inner)
    if isinstance(ty, ResultType):
        return st.one_of(values(ty.ok, max_size=max_size).map(Ok),
                         values(ty.err, max_size=max_size).map(Err))
    if isinstance(ty, HandleType):
        return st.integers(1, 2**32).map(Handle)
    raise TypeError(f"no strategy for WIT type {ty!r}")


def _prim(kind: str, max_size: int) -> st.SearchStrategy[Any]:
    if kind == "bool":
        return st.booleans()
    if kind == "f32":
        return st.integers(0, 2**32 - 1).map(_f32_from_bits)
    if kind == "f64":
        return st.one_of(st.floats(), st.integers(0, 2**64 - 1).map(_f64_from_bits))
    if kind == "char":
        return _SCALARS
    if kind == "string":
        return st.text(_SCALARS, max_size=max_size * 2)
    low, high = _INT_RANGES[kind]
    return st.integers(low, high)
