"""Native values: the plain Python value of each WIT type, checking it, and equality of two.

Every value the project passes around is a plain Python value, chosen by its WIT type (table
below); this module holds the classes (:class:`Variant`, :class:`Some`, :class:`Ok`,
:class:`Err`, :class:`Handle`), :data:`INT_RANGES`, the checks of primitive and compound values
that both the wasmtime lowerer and the WAVE writer apply, the :class:`Mismatch` error those
checks raise (with
its path inside the value, turned into :class:`~pytest_hotupdate.errors.ValueTypeError` by
:func:`to_value_error`), and :func:`values_equal`.

============================  =========================================================
WIT type                      native value
============================  =========================================================
``bool``                      ``bool``
``s8`` ... ``u64``            ``int`` (``bool`` is rejected)
``f32``, ``f64``              ``float`` (``int`` accepted on input)
``char``                      ``str`` of exactly one code point, never a surrogate
``string``                    ``str`` without lone surrogates
``list<u8>``                  ``bytes`` (``bytearray`` / list of ints accepted on input)
``list<T>``                   ``list`` (``tuple`` accepted on input)
``tuple<...>``                ``tuple`` (``list`` accepted on input)
``record``                    ``dict`` {field name: value}; every field is present on output,
                              on input a missing ``option`` field means ``None``
``variant``                   :class:`Variant` ``(case, payload=None)``, always tagged
``enum``                      ``str`` (the case name)
``flags``                     ``frozenset[str]`` (any set, list or tuple of names on input)
``option<T>``                 ``None`` or the value; when ``T`` is itself an ``option`` the
                              present value is wrapped in :class:`Some` so that nesting stays
                              unambiguous (``Some(None)`` is ``some(none)``). ``Some(x)`` is
                              accepted on input for every option.
``result<T, E>``              :class:`Ok` ``(value=None)`` or :class:`Err` ``(value=None)``
``own<R>``, ``borrow<R>``     :class:`Handle` ``(id)``, an index the worker assigns
============================  =========================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest_hotupdate.values.types as wit

from ..errors import Mismatch, ValueTypeError

#: Inclusive ranges of the WIT integer types.
INT_RANGES: dict[str, tuple[int, int]] = {
    "s8": (-(2**7), 2**7 - 1),
    "s16": (-(2**15), 2**15 - 1),
    "s32": (-(2**31), 2**31 - 1),
    "s64": (-(2**63), 2**63 - 1),
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
}


# ---------------------------------------------------------------------------------------------
# Native value classes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A variant value: the case name and its payload (``None`` when the case has none)."""

    case: str
    payload: Any = None


@dataclass(frozen=True)
class Some:
    """A present option value; required when the option's payload is itself an option."""

    value: Any


@dataclass(frozen=True)
class Ok:
    """The ``ok`` case of a result; ``value`` is ``None`` when the type has no ok payload."""

    value: Any = None


@dataclass(frozen=True)
class Err:
    """The ``err`` case of a result; ``value`` is ``None`` when the type has no err payload."""

    value: Any = None


@dataclass(frozen=True)
class Handle:
    """A resource handle (``own`` or ``borrow``): an index the worker assigns."""

    id: int


# ---------------------------------------------------------------------------------------------
# Errors raised inside the converters
# ---------------------------------------------------------------------------------------------


def show_int(v: int) -> str:
    """An integer for a message; huge ones by their bit length instead of all digits."""
    if v.bit_length() <= 128:
        return str(int(v))
    return f"{'-' if v < 0 else ''}<{v.bit_length()}-bit integer>"


def show_value(v: Any) -> str:
    """A value for a message: strings quoted, newlines escaped, at most 60 characters."""
    if isinstance(v, int) and not isinstance(v, bool):
        s = show_int(v)
    elif isinstance(v, str):
        s = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        try:
            s = repr(v)
        except Exception:  # pragma: no cover - exotic objects
            s = f"<{type(v).__name__}>"
    s = s.replace("\n", "\\n").replace("\r", "\\r")
    return s if len(s) <= 60 else s[:57] + "..."


def show_got(v: Any) -> str:
    """``value (type)`` for the ``got ...`` part of a message."""
    return f"{show_value(v)} ({type(v).__name__})"


def value_mismatch(ty: wit.WitType, v: Any) -> Mismatch:
    """The :class:`Mismatch` ``expected <ty>, got <value (type)>``."""
    w = ty.wit()
    return Mismatch(w, f"expected {w}, got {show_got(v)}")


def to_value_error(b: Mismatch, label: str, path: str, text: str | None = None) -> ValueTypeError:
    """The :class:`ValueTypeError` for a :class:`Mismatch` found under ``label``/``path``
    (with the position in ``text`` when the mismatch has one)."""
    sub = "".join(reversed(b.segs))
    msg = f"{label}{sub}: {b.tail}"
    if text is not None and b.pos is not None:
        msg += f" ({text_position(text, b.pos)})"
    return ValueTypeError(msg, path=path + sub, expected=b.expected)


def root_label(name: str, label: str | None) -> str:
    """The root of error paths: ``label``, else ``param `name``` or ``value``."""
    if label is not None:
        return label
    return f"param `{name}`" if name else "value"


def text_position(text: str, pos: int) -> str:
    """``at column N`` (or ``at line L, column N`` in multi-line text) for a 0-based ``pos``."""
    if "\n" in text:
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return f"at line {line}, column {col}"
    return f"at column {pos + 1}"


# ---------------------------------------------------------------------------------------------
# Checks of primitive values (shared by the wasmtime lowerer and the WAVE writer)
# ---------------------------------------------------------------------------------------------

#: Matches a lone surrogate (which no WIT ``char`` or ``string`` may hold).
SURROGATE = re.compile("[\ud800-\udfff]")


def lower_bool(v: Any) -> Any:
    """Check a ``bool`` (the lowerer's and the WAVE writer's check; returns it)."""
    if v is True or v is False:
        return v
    raise Mismatch("bool", f"expected bool, got {show_got(v)}")


def _make_int_lower(kind: str) -> Callable[[Any], Any]:
    lo, hi = INT_RANGES[kind]
    ranged = f"{kind} ({lo}..{hi})"

    def slow(v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            if lo <= v <= hi:
                return int(v)
            raise Mismatch(kind, f"expected {ranged}, got {show_int(v)}")
        raise Mismatch(kind, f"expected {kind}, got {show_got(v)}")

    def low(v: Any) -> Any:
        if type(v) is int and lo <= v <= hi:
            return v
        return slow(v)

    return low


def _make_float_lower(kind: str) -> Callable[[Any], Any]:
    def low(v: Any) -> Any:
        if type(v) is float:
            return v
        if isinstance(v, float):
            return float(v)
        if isinstance(v, int) and not isinstance(v, bool):
            try:
                return float(v)
            except OverflowError:
                raise Mismatch(kind, f"expected {kind}, got {show_value(v)} (too large)") from None
        raise Mismatch(kind, f"expected {kind}, got {show_got(v)}")

    return low


def lower_char(v: Any) -> Any:
    """Check a ``char`` (one code point, not a surrogate); returns it as ``str``."""
    if type(v) is str and len(v) == 1 and not ("\ud800" <= v <= "\udfff"):
        return v
    if isinstance(v, str) and len(v) == 1 and not ("\ud800" <= v <= "\udfff"):
        return str(v)
    if isinstance(v, str):
        what = "a surrogate" if len(v) == 1 else f"{len(v)} code points"
        raise Mismatch("char", f"expected char (one code point), got {show_value(v)} ({what})")
    raise Mismatch("char", f"expected char, got {show_got(v)}")


def lower_string(v: Any) -> Any:
    """Check a ``string`` (no lone surrogates); returns it as ``str``."""
    if type(v) is str and (v.isascii() or SURROGATE.search(v) is None):
        return v
    if isinstance(v, str):
        m = SURROGATE.search(v)
        if m is None:
            return str(v)
        raise Mismatch(
            "string", f"expected string, got a lone surrogate U+{ord(m.group()):04X} at {m.start()}"
        )
    raise Mismatch("string", f"expected string, got {show_got(v)}")


def lower_bytes(v: Any) -> Any:
    """Check a ``list<u8>`` (bytes-like or a list of ints 0..255); returns ``bytes``."""
    if type(v) is bytes:
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            if type(x) is not int or not 0 <= x <= 255:
                got = show_got(x) if type(x) is not int else show_int(x)
                b = Mismatch("u8", f"expected u8 (0..255), got {got}")
                b.segs.append(f"[{i}]")
                raise b
        return bytes(v)
    raise Mismatch("list<u8>", f"expected list<u8> (bytes), got {show_got(v)}")


#: The check of each primitive kind (``PRIM_KINDS``).
PRIM_LOWER: dict[str, Callable[[Any], Any]] = {
    "bool": lower_bool,
    "char": lower_char,
    "string": lower_string,
    "f32": _make_float_lower("f32"),
    "f64": _make_float_lower("f64"),
    **{k: _make_int_lower(k) for k in INT_RANGES},
}


# ---------------------------------------------------------------------------------------------
# Checks of compound values (shared by the wasmtime lowerer and the WAVE writer)
# ---------------------------------------------------------------------------------------------

_F = TypeVar("_F")
_R = TypeVar("_R")


def arity_mismatch(w: str, n: int, got: int, pos: int | None = None) -> Mismatch:
    """The :class:`Mismatch` of a tuple of ``got`` elements where type ``w`` has ``n``."""
    return Mismatch(w, f"expected {w} ({n} elements), got {got} elements", pos)


def tuple_items(ty: wit.WitType, w: str, fs: Sequence[Callable[[Any], _R]], v: Any) -> list[_R]:
    """``[f(x) for f, x in zip(fs, v)]`` for a native tuple value ``v`` (a tuple or list of
    ``len(fs)`` elements); a :class:`Mismatch` of an element gets its path segment ``[i]``."""
    if not isinstance(v, (tuple, list)):
        raise value_mismatch(ty, v)
    if len(v) != len(fs):
        raise arity_mismatch(w, len(fs), len(v))
    out: list[_R] = []
    try:
        for f, x in zip(fs, v):
            out.append(f(x))
    except Mismatch as b:
        b.segs.append(f"[{len(out)}]")
        raise
    return out


def unknown_fields(w: str, v: dict[Any, Any], names: frozenset[str]) -> Mismatch:
    """The :class:`Mismatch` of a record value ``v`` with keys that are not among ``names``."""
    extra = sorted(repr(k) for k in v if k not in names)
    return Mismatch(w, f"unknown field(s) {', '.join(extra)} (expected {w})")


def option_present(w: str, nested: bool, v: Any) -> Any:
    """The payload of a native option value that is not ``None``: ``Some(x)`` gives ``x``; a
    bare ``x`` is ``x`` itself unless the payload is itself an option (``nested``)."""
    if type(v) is Some:
        return v.value
    if nested:
        raise Mismatch(w, f"expected {w} (None or Some(...)), got {show_got(v)}")
    return v


def result_case(w: str, v: Any, ok: _F | None, err: _F | None) -> tuple[str, _F | None]:
    """``("ok", ok)`` or ``("err", err)`` for a native result value ``Ok(...)``/``Err(...)``
    (``ok``/``err``: what belongs to each case, ``None`` for a case without payload)."""
    t = type(v)
    if t is Ok:
        name, f = "ok", ok
    elif t is Err:
        name, f = "err", err
    else:
        raise Mismatch(w, f"expected {w} (Ok(...) or Err(...)), got {show_got(v)}")
    if f is None and v.value is not None:
        raise Mismatch(w, f"unexpected payload for `{name}` of {w}: {show_value(v.value)}")
    return name, f


def variant_case(w: str, v: Any, cases: Mapping[str, _F | None]) -> _F | None:
    """What ``cases`` holds for the case of a native :class:`Variant` value ``v`` (``None`` for
    a case without payload)."""
    if type(v) is not Variant:
        raise Mismatch(w, f"expected {w} (a Variant), got {show_got(v)}")
    if v.case not in cases:
        raise Mismatch(w, f"unknown case {show_value(v.case)} (expected {w})")
    f = cases[v.case]
    if f is None and v.payload is not None:
        raise Mismatch(w, f"unexpected payload for case `{v.case}`: {show_value(v.payload)}")
    return f


# ---------------------------------------------------------------------------------------------
# Structural equality
# ---------------------------------------------------------------------------------------------


def _opt_parts(v: Any) -> tuple[bool, Any]:
    if v is None:
        return False, None
    if type(v) is Some:
        return True, v.value
    return True, v


def values_equal(ty: wit.WitType, a: Any, b: Any) -> bool:
    """Structural equality of two native values of ``ty``.

    NaN equals NaN (also inside containers); ``-0.0 == 0.0`` as in Python. Input spellings
    are normalised (``Some(x)`` vs ``x``, ``bytes`` vs a list of ints, any set-like for flags,
    a missing option record field vs ``None``). Mismatched shapes give ``False``.
    """
    try:
        return _eq(ty, a, b)
    except (TypeError, AttributeError, ValueError, ArithmeticError):
        return False


def _eq(ty: wit.WitType | None, a: Any, b: Any) -> bool:
    if ty is None:
        return a is None and b is None
    if isinstance(ty, wit.Prim):
        if ty.kind in ("f32", "f64"):
            if isinstance(a, bool) or isinstance(b, bool):
                return False
            fa, fb = float(a), float(b)
            return fa == fb or (fa != fa and fb != fb)
        if ty.kind == "bool":
            return (a is True or a is False) and a is b
        if ty.kind in ("char", "string"):
            return isinstance(a, str) and isinstance(b, str) and a == b
        return (
            isinstance(a, int) and isinstance(b, int)
            and not isinstance(a, bool) and not isinstance(b, bool) and a == b
        )
    if isinstance(ty, wit.ListType):
        if ty.element == wit.PRIM_U8:
            return bytes(a) == bytes(b)
        if not isinstance(a, (list, tuple)) or not isinstance(b, (list, tuple)):
            return False
        return len(a) == len(b) and all(_eq(ty.element, x, y) for x, y in zip(a, b))
    if isinstance(ty, wit.TupleType):
        if not isinstance(a, (list, tuple)) or not isinstance(b, (list, tuple)):
            return False
        n = len(ty.elements)
        return len(a) == n == len(b) and all(
            _eq(t, x, y) for t, x, y in zip(ty.elements, a, b)
        )
    if isinstance(ty, wit.RecordType):
        if not isinstance(a, dict) or not isinstance(b, dict):
            return False
        names = {n for n, _ in ty.fields}
        if any(k not in names for k in a) or any(k not in names for k in b):
            return False
        for name, t in ty.fields:
            if isinstance(t, wit.OptionType):
                if not _eq(t, a.get(name), b.get(name)):
                    return False
            elif name not in a or name not in b or not _eq(t, a[name], b[name]):
                return False
        return True
    if isinstance(ty, wit.VariantType):
        if type(a) is not Variant or type(b) is not Variant or a.case != b.case:
            return False
        for name, case_type in ty.cases:
            if name == a.case:
                return _eq(case_type, a.payload, b.payload)
        return False
    if isinstance(ty, wit.EnumType):
        return isinstance(a, str) and a == b
    if isinstance(ty, wit.FlagsType):
        return set(a) == set(b)
    if isinstance(ty, wit.OptionType):
        pa, va = _opt_parts(a)
        pb, vb = _opt_parts(b)
        return pa == pb and (not pa or _eq(ty.payload, va, vb))
    if isinstance(ty, wit.ResultType):
        if type(a) not in (Ok, Err) or type(a) is not type(b):
            return False
        return _eq(ty.ok if type(a) is Ok else ty.err, a.value, b.value)
    if isinstance(ty, wit.HandleType):
        return bool(a == b)
    return False
