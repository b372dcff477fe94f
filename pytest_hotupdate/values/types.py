"""The WIT value type model: what a component-model value type is, independently of wasmtime.

:class:`WitType` and its frozen (hashable) subclasses :class:`Prim`, :class:`ListType`,
:class:`TupleType`, :class:`RecordType`, :class:`VariantType`, :class:`EnumType`,
:class:`FlagsType`, :class:`OptionType`, :class:`ResultType` and :class:`HandleType` describe the
types; :func:`parse_wit` reads the text that ``WitType.wit()`` writes (``list<option<u32>>``,
``record { a: u8, b: string }`` ...), and :func:`variant_cases` lists the cases of the
variant-like types (variant, option, result) for the converters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------------------------
# Type model
# ---------------------------------------------------------------------------------------------

PRIM_KINDS: tuple[str, ...] = (
    "bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char", "string",
)


@dataclass(frozen=True)
class WitType:
    """Base class of the WIT value type model. ``str(t)`` is ``t.wit()``."""

    def wit(self) -> str:
        """WIT-like text of the type, for messages (``list<u8>``, ``option<string>`` ...)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.wit()


@dataclass(frozen=True)
class Prim(WitType):
    """A primitive type; ``kind`` is one of :data:`PRIM_KINDS`."""

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in PRIM_KINDS:
            raise ValueError(f"unknown primitive WIT type {self.kind!r}")

    def wit(self) -> str:
        return self.kind


@dataclass(frozen=True)
class ListType(WitType):
    """``list<element>``."""

    element: WitType

    def wit(self) -> str:
        return f"list<{self.element.wit()}>"


@dataclass(frozen=True)
class TupleType(WitType):
    """``tuple<elements...>``."""

    elements: tuple[WitType, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))

    def wit(self) -> str:
        return "tuple<" + ", ".join(e.wit() for e in self.elements) + ">"


@dataclass(frozen=True)
class RecordType(WitType):
    """``record { name: type, ... }``; ``fields`` keeps the definition order."""

    fields: tuple[tuple[str, WitType], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple((n, t) for n, t in self.fields))

    def wit(self) -> str:
        if not self.fields:
            return "record {}"
        return "record { " + ", ".join(f"{n}: {t.wit()}" for n, t in self.fields) + " }"


@dataclass(frozen=True)
class VariantType(WitType):
    """``variant { case(payload), case, ... }``; a case without payload has ``None``."""

    cases: tuple[tuple[str, WitType | None], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", tuple((n, t) for n, t in self.cases))

    def wit(self) -> str:
        parts = [n if t is None else f"{n}({t.wit()})" for n, t in self.cases]
        return "variant { " + ", ".join(parts) + " }"


@dataclass(frozen=True)
class EnumType(WitType):
    """``enum { case, ... }``."""

    cases: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", tuple(self.cases))

    def wit(self) -> str:
        return "enum { " + ", ".join(self.cases) + " }"


@dataclass(frozen=True)
class FlagsType(WitType):
    """``flags { name, ... }``; ``names`` keeps the definition order."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))

    def wit(self) -> str:
        if not self.names:
            return "flags {}"
        return "flags { " + ", ".join(self.names) + " }"


@dataclass(frozen=True)
class OptionType(WitType):
    """``option<payload>``."""

    payload: WitType

    def wit(self) -> str:
        return f"option<{self.payload.wit()}>"


@dataclass(frozen=True)
class ResultType(WitType):
    """``result<ok, err>``; either side may be ``None`` (no payload)."""

    ok: WitType | None = None
    err: WitType | None = None

    def wit(self) -> str:
        if self.ok is None and self.err is None:
            return "result"
        if self.err is None:
            return f"result<{self.ok.wit()}>"  # type: ignore[union-attr]
        ok = "_" if self.ok is None else self.ok.wit()
        return f"result<{ok}, {self.err.wit()}>"


@dataclass(frozen=True)
class HandleType(WitType):
    """``own<resource>`` (``own=True``) or ``borrow<resource>``; ``resource`` is a display name."""

    own: bool = True
    resource: str = "resource"

    def wit(self) -> str:
        return f"{'own' if self.own else 'borrow'}<{self.resource}>"


#: ``u8``, whose ``list`` is ``bytes`` natively.
PRIM_U8 = Prim("u8")

# --- parse_wit ---------------------------------------------------------------------------------

_WIT_TOKEN = re.compile(r"\s*(?:([A-Za-z%_][A-Za-z0-9_-]*)|([<>,{}():]))")


def parse_wit(text: str) -> WitType:
    """Parse the WIT-like type text that :meth:`WitType.wit` writes.

    Accepts the anonymous type syntax of WIT (``list<T>``, ``option<T>``, ``tuple<...>``,
    ``result``, ``result<T>``, ``result<_, E>``, ``result<T, E>``, ``own<r>``, ``borrow<r>``)
    plus inline ``record { a: T, ... }``, ``variant { a(T), b, ... }``, ``enum { a, ... }`` and
    ``flags { a, ... }``. Raises :class:`ValueError` on anything else.
    """
    toks: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _WIT_TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"cannot parse WIT type {text!r} at offset {pos}")
        toks.append(m.group(1) or m.group(2))
        pos = m.end()
    i = 0

    def peek() -> str | None:
        return toks[i] if i < len(toks) else None

    def take(expect: str | None = None) -> str:
        nonlocal i
        if i >= len(toks):
            raise ValueError(f"unexpected end of WIT type {text!r}")
        t = toks[i]
        if expect is not None and t != expect:
            raise ValueError(f"expected {expect!r}, got {t!r} in WIT type {text!r}")
        i += 1
        return t

    def name() -> str:
        t = take()
        if not (t[0].isalpha() or t[0] == "%"):
            raise ValueError(f"expected a name, got {t!r} in WIT type {text!r}")
        return t.lstrip("%")

    def braced(item: Callable[[], Any]) -> list[Any]:
        take("{")
        items: list[Any] = []
        while peek() != "}":
            items.append(item())
            if peek() == ",":
                take(",")
            elif peek() != "}":
                raise ValueError(f"expected ',' or '}}' in WIT type {text!r}")
        take("}")
        return items

    def ty() -> WitType:
        t = take()
        if t in PRIM_KINDS:
            return Prim(t)
        if t in ("list", "option"):
            take("<")
            inner = ty()
            take(">")
            return ListType(inner) if t == "list" else OptionType(inner)
        if t == "tuple":
            take("<")
            elems = [ty()]
            while peek() == ",":
                take(",")
                elems.append(ty())
            take(">")
            return TupleType(tuple(elems))
        if t == "result":
            if peek() != "<":
                return ResultType()
            take("<")
            if peek() == "_":
                take("_")
                ok = None
            else:
                ok = ty()
            err = None
            if peek() == ",":
                take(",")
                err = ty()
            take(">")
            return ResultType(ok, err)
        if t in ("own", "borrow"):
            take("<")
            res = name()
            take(">")
            return HandleType(t == "own", res)
        if t == "record":
            def field() -> tuple[str, WitType]:
                n = name()
                take(":")
                return (n, ty())
            return RecordType(tuple(braced(field)))
        if t == "variant":
            def case() -> tuple[str, WitType | None]:
                n = name()
                if peek() == "(":
                    take("(")
                    p = ty()
                    take(")")
                    return (n, p)
                return (n, None)
            return VariantType(tuple(braced(case)))
        if t == "enum":
            return EnumType(tuple(braced(name)))
        if t == "flags":
            return FlagsType(tuple(braced(name)))
        raise ValueError(f"unknown WIT type {t!r} in {text!r}")

    result = ty()
    if i != len(toks):
        raise ValueError(f"trailing text in WIT type {text!r}")
    return result


def variant_cases(ty: WitType) -> tuple[tuple[str, WitType | None], ...]:
    """``(name, payload type or None)`` of each case of a variant, option or result."""
    if isinstance(ty, VariantType):
        return ty.cases
    if isinstance(ty, OptionType):
        return (("none", None), ("some", ty.payload))
    if isinstance(ty, ResultType):
        return (("ok", ty.ok), ("err", ty.err))
    raise TypeError(f"not a variant-like type: {ty.wit()}")
