"""Native values built for whatever shape a component's import declares.

Golem's interfaces changed shape between published versions in small ways (``worker-id`` with
``worker-name`` became ``agent-id`` with ``agent-id``, records gained fields, ``wasi:config``
dropped its ``result`` wrapper). Implementations describe the facts they know by field name and
let :func:`build` fit them to the imported type; a field nobody knows gets its type's zero value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ValueTypeError
from ...values import Ok, Variant, validate
from ...values import types as wit


def zero(ty: wit.WitType | None) -> Any:
    """The plainest value of ``ty`` (0, "", empty list, none, first case)."""
    if ty is None:
        return None
    if isinstance(ty, wit.Prim):
        if ty.kind == "bool":
            return False
        if ty.kind in ("f32", "f64"):
            return 0.0
        if ty.kind == "char":
            return "\0"
        if ty.kind == "string":
            return ""
        return 0
    if isinstance(ty, wit.ListType):
        return b"" if ty.element == wit.Prim("u8") else []
    if isinstance(ty, wit.TupleType):
        return tuple(zero(t) for t in ty.elements)
    if isinstance(ty, wit.RecordType):
        return {name: zero(t) for name, t in ty.fields}
    if isinstance(ty, wit.OptionType):
        return None
    if isinstance(ty, wit.ResultType):
        return Ok(zero(ty.ok))
    if isinstance(ty, wit.EnumType):
        return ty.cases[0]
    if isinstance(ty, wit.FlagsType):
        return frozenset()
    if isinstance(ty, wit.VariantType):
        case, payload = ty.cases[0]
        return Variant(case, zero(payload))
    if isinstance(ty, wit.HandleType):
        raise TypeError("a resource handle has no zero value")
    raise ValueError(f"no zero value for {ty.wit()}")  # pragma: no cover


def build(ty: wit.WitType, facts: Mapping[str, Any]) -> Any:
    """A record of type ``ty`` from ``facts`` by field name (missing fields: zero values).

    A fact that is itself a mapping fills a nested record field the same way.
    """
    if not isinstance(ty, wit.RecordType):
        raise TypeError(f"expected a record type, got {ty.wit()}")
    out: dict[str, Any] = {}
    for name, field_type in ty.fields:
        value = facts.get(name, _MISSING)
        if isinstance(value, Mapping) and isinstance(field_type, wit.RecordType):
            value = build(field_type, value)
        elif value is not _MISSING and not _fits(field_type, value):
            value = _MISSING  # a fact of another shape (a field renamed across versions)
        out[name] = zero(field_type) if value is _MISSING else value
    return out


_MISSING = object()


def _fits(ty: wit.WitType, value: Any) -> bool:
    try:
        validate(ty, value)
    except ValueTypeError:
        return False
    return True


def field_type(ty: wit.WitType | None, name: str) -> wit.WitType | None:
    """The type of field ``name`` of record ``ty`` (None if absent)."""
    if isinstance(ty, wit.RecordType):
        for field_name, t in ty.fields:
            if field_name == name:
                return t
    return None


def wrap_ok(ty: wit.WitType | None, value: Any) -> Any:
    """``Ok(value)`` when ``ty`` is a result, else ``value`` (versions with and without it)."""
    return Ok(value) if isinstance(ty, wit.ResultType) else value


def enum_case(ty: wit.WitType | None, wanted: str, fallback: str | None = None) -> Any:
    """The enum case (or payload-less variant case) ``wanted`` if ``ty`` has it."""
    if isinstance(ty, wit.EnumType):
        if wanted in ty.cases:
            return wanted
        return fallback if fallback in ty.cases else ty.cases[0]
    if isinstance(ty, wit.VariantType):
        names = [c for c, _ in ty.cases]
        return Variant(wanted if wanted in names else (fallback or names[0]))
    return wanted
