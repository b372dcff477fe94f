"""The WAVE writer: :func:`wave_encode` and :func:`wave_encode_params` write the canonical form
of the ``wasm-wave`` writer byte for byte (Rust ``Display`` floats, see :mod:`.floats`;
``escape_debug`` character escaping; ``%`` only for exact keywords; option record fields that
are ``none`` omitted; ``handle(N)`` for resource handles), checking the value against its type
on the way (:class:`~pytest_hotupdate.errors.ValueTypeError` with the path inside the value).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import pytest_hotupdate.values.native as native
import pytest_hotupdate.values.types as wit

from ...errors import Mismatch, ValueTypeError
from ..native import Handle
from .floats import format_float

# ---------------------------------------------------------------------------------------------
# WAVE character escaping
# ---------------------------------------------------------------------------------------------

# Other_Grapheme_Extend; with Mn and Me it makes Grapheme_Extend, which Rust escapes. The list
# is Unicode 14 PropList.txt plus the spacing marks Unicode 16 added (rustc 1.95 uses those
# tables); U+1171E is Mn in Python's Unicode 14 but Mc, not extending, in Rust's tables.
# Checked against rustc 1.95 `escape_debug` for every code point assigned in Unicode 14.
_OTHER_GRAPHEME_EXTEND: frozenset[int] = frozenset(
    [0x09BE, 0x09D7, 0x0B3E, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57,
     0x0DCF, 0x0DDF, 0x1B35, 0x200C, 0x302E, 0x302F, 0xFF9E, 0xFF9F, 0x1133E, 0x11357,
     0x114B0, 0x114BD, 0x115AF, 0x11930, 0x1D165, 0x1D16E, 0x1D16F, 0x1D170, 0x1D171,
     0x1D172,
     # Unicode 16 additions
     0x0CC0, 0x0CC7, 0x0CC8, 0x0CCA, 0x0CCB, 0x1715, 0x1734, 0x1B3B, 0x1B3D, 0x1B43, 0x1B44,
     0x1BAA, 0x1BF2, 0x1BF3, 0xA953, 0xA9C0, 0x111C0, 0x11235, 0x1134D, 0x116B6, 0x1193D,
     0x16FF0, 0x16FF1, 0x1D166, 0x1D16D]
    + list(range(0xE0020, 0xE0080))
)
_NOT_GRAPHEME_EXTEND: frozenset[int] = frozenset([0x1171E])

_SIMPLE_ESCAPES = {
    "\\": "\\\\", '"': '\\"', "'": "\\'", "\t": "\\t", "\r": "\\r", "\n": "\\n",
}
_ESCAPE_CACHE: dict[str, str] = {}
_ASCII_NEEDS_ESCAPE = re.compile(r"[\\\"'\x00-\x1f\x7f]")


def _escape_char(ch: str) -> str:
    r = _ESCAPE_CACHE.get(ch)
    if r is not None:
        return r
    r = _SIMPLE_ESCAPES.get(ch)
    if r is None:
        cat = unicodedata.category(ch)
        cp = ord(ch)
        if (
            cat == "Cc"
            or (cat in ("Mn", "Me") and cp not in _NOT_GRAPHEME_EXTEND)
            or cp in _OTHER_GRAPHEME_EXTEND
            or not ch.isprintable()
        ):
            r = f"\\u{{{ord(ch):x}}}"
        else:
            r = ch
    if len(_ESCAPE_CACHE) < 65536:
        _ESCAPE_CACHE[ch] = r
    return r


# ASCII escapes, in an order where no step sees the backslashes an earlier one inserted.
_ASCII_ESCAPE_STEPS = (
    ("\\", "\\\\"), ('"', '\\"'), ("'", "\\'"), ("\t", "\\t"), ("\r", "\\r"), ("\n", "\\n"),
)
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Long strings are escaped in slices of this many code points (escaping is per code point),
#: so the temporary objects of one slice, not of the whole string, are alive at once.
_ESCAPE_SLICE = 1 << 16


def _escape_control(m: re.Match[str]) -> str:
    return f"\\u{{{ord(m.group()):x}}}"


def _escape_slice(s: str) -> str:
    if s.isascii():
        # str.replace per escape kind: C speed, no object per character
        for ch, escaped in _ASCII_ESCAPE_STEPS:
            if ch in s:
                s = s.replace(ch, escaped)
        if _ASCII_CONTROL.search(s) is not None:
            s = _ASCII_CONTROL.sub(_escape_control, s)
        return s
    cache = _ESCAPE_CACHE
    return "".join([cache.get(c) or _escape_char(c) for c in s])


def _escape_str(s: str) -> str:
    if s.isascii() and _ASCII_NEEDS_ESCAPE.search(s) is None:
        return s
    if len(s) <= _ESCAPE_SLICE:
        return _escape_slice(s)
    step = _ESCAPE_SLICE
    return "".join([_escape_slice(s[i : i + step]) for i in range(0, len(s), step)])


# ---------------------------------------------------------------------------------------------
# WAVE encoding
# ---------------------------------------------------------------------------------------------

#: WAVE keywords: a label spelled like one is written `%label`; the parser reads the bare word.
KEYWORDS = frozenset(["true", "false", "some", "none", "ok", "err", "inf", "nan"])


def _case_label(name: str) -> str:
    return "%" + name if name in KEYWORDS else name


def _make_int_enc(kind: str) -> Callable[[Any], str]:
    low = native.PRIM_LOWER[kind]

    def enc(v: Any) -> str:
        return f"{low(v):d}"

    return enc


def _enc_bool(v: Any) -> str:
    return "true" if native.lower_bool(v) else "false"


def _enc_char(v: Any) -> str:
    return "'" + _escape_char(native.lower_char(v)) + "'"


def _enc_string(v: Any) -> str:
    return f'"{_escape_str(native.lower_string(v))}"'  # one copy of a long string, not two


def _make_float_enc(kind: str) -> Callable[[Any], str]:
    low = native.PRIM_LOWER[kind]

    def enc(v: Any) -> str:
        return format_float(low(v), kind)

    return enc


_BYTE_TEXT = [str(i) for i in range(256)]


def _enc_bytes(v: Any) -> str:
    # A table lookup per byte: about 5x faster than str() per byte on large payloads. Large
    # payloads go in slices, so the per-byte strings of one slice only are alive at once, and
    # the brackets join the first and last slices, so the text is copied once at the end.
    data = native.lower_bytes(v)
    table = _BYTE_TEXT
    step = _ESCAPE_SLICE
    parts = [", ".join([table[b] for b in data[i : i + step]]) for i in range(0, len(data), step)]
    if not parts:
        return "[]"
    parts[0] = "[" + parts[0]
    parts[-1] += "]"
    return ", ".join(parts)


_PRIM_ENC: dict[str, Callable[[Any], str]] = {
    "bool": _enc_bool,
    "char": _enc_char,
    "string": _enc_string,
    "f32": _make_float_enc("f32"),
    "f64": _make_float_enc("f64"),
    **{k: _make_int_enc(k) for k in native.INT_RANGES},
}


@functools.lru_cache(maxsize=2048)
def _encoder(ty: wit.WitType) -> Callable[[Any], str]:
    w = ty.wit()
    if isinstance(ty, wit.Prim):
        return _PRIM_ENC[ty.kind]

    if isinstance(ty, wit.ListType):
        if ty.element == wit.PRIM_U8:
            return _enc_bytes
        el = _encoder(ty.element)

        def enc_list(v: Any) -> str:
            if not isinstance(v, (list, tuple)):
                raise native.value_mismatch(ty, v)
            parts: list[str] = []
            try:
                for x in v:
                    parts.append(el(x))
            except Mismatch as b:
                b.segs.append(f"[{len(parts)}]")
                raise
            return f"[{', '.join(parts)}]"

        return enc_list

    if isinstance(ty, wit.TupleType):
        els = [_encoder(t) for t in ty.elements]

        def enc_tuple(v: Any) -> str:
            return "(" + ", ".join(native.tuple_items(ty, w, els, v)) + ")"

        return enc_tuple

    if isinstance(ty, wit.RecordType):
        fields = [(name, _encoder(t), isinstance(t, wit.OptionType)) for name, t in ty.fields]
        names = frozenset(name for name, _ in ty.fields)

        def enc_record(v: Any) -> str:
            if not isinstance(v, dict):
                raise native.value_mismatch(ty, v)
            parts: list[str] = []
            present = 0
            for name, f, opt in fields:
                if name in v:
                    present += 1
                    x = v[name]
                    if opt and x is None:
                        continue
                    try:
                        parts.append(name + ": " + f(x))
                    except Mismatch as b:
                        b.segs.append(f".{name}")
                        raise
                elif not opt:
                    raise Mismatch(w, f"missing field `{name}` (expected {w})")
            if present != len(v):
                raise native.unknown_fields(w, v, names)
            if not parts:
                return "{:}"
            return "{" + ", ".join(parts) + "}"

        return enc_record

    if isinstance(ty, wit.EnumType):
        cases = frozenset(ty.cases)

        def enc_enum(v: Any) -> str:
            if isinstance(v, str) and v in cases:
                return _case_label(v)
            if isinstance(v, str):
                raise Mismatch(w, f"unknown case {native.show_value(v)} (expected {w})")
            raise native.value_mismatch(ty, v)

        return enc_enum

    if isinstance(ty, wit.FlagsType):
        flag_names = ty.names
        name_set = frozenset(flag_names)

        def enc_flags(v: Any) -> str:
            if not isinstance(v, (set, frozenset, list, tuple)):
                raise native.value_mismatch(ty, v)
            s = set(v)
            if not s <= name_set:
                bad = sorted(native.show_value(x) for x in s - name_set)
                raise Mismatch(w, f"unknown flag(s) {', '.join(bad)} (expected {w})")
            return "{" + ", ".join(n for n in flag_names if n in s) + "}"

        return enc_flags

    if isinstance(ty, wit.HandleType):

        def enc_handle(v: Any) -> str:
            if type(v) is Handle and type(v.id) is int and v.id >= 0:
                return f"handle({v.id})"
            raise Mismatch(w, f"expected {w} (a Handle), got {native.show_got(v)}")

        return enc_handle

    if isinstance(ty, wit.OptionType):
        payload = _encoder(ty.payload)
        nested = isinstance(ty.payload, wit.OptionType)

        def enc_option(v: Any) -> str:
            if v is None:
                return "none"
            return "some(" + payload(native.option_present(w, nested, v)) + ")"

        return enc_option

    if isinstance(ty, wit.ResultType):
        ok_enc = None if ty.ok is None else _encoder(ty.ok)
        err_enc = None if ty.err is None else _encoder(ty.err)

        def enc_result(v: Any) -> str:
            name, f = native.result_case(w, v, ok_enc, err_enc)
            if f is None:
                return name
            try:
                return name + "(" + f(v.value) + ")"
            except Mismatch as b:
                b.segs.append(f"({name})")
                raise

        return enc_result

    assert isinstance(ty, wit.VariantType)
    case_map = {name: (None if t is None else _encoder(t)) for name, t in ty.cases}

    def enc_variant(v: Any) -> str:
        f = native.variant_case(w, v, case_map)
        if f is None:
            return _case_label(v.case)
        try:
            return _case_label(v.case) + "(" + f(v.payload) + ")"
        except Mismatch as b:
            b.segs.append(f"({v.case})")
            raise

    return enc_variant


def wave_encode(ty: wit.WitType, value: Any) -> str:
    """The canonical WAVE text of a native value, exactly as the ``wasm-wave`` writer prints it.

    Raises :class:`ValueTypeError` if ``value`` is not a valid native value of ``ty``.
    """
    try:
        return _encoder(ty)(value)
    except Mismatch as b:
        raise native.to_value_error(b, "value", "") from None


def wave_encode_params(
    params: Sequence[tuple[str, wit.WitType]], values: Sequence[Any]
) -> list[str]:
    """One canonical WAVE text per parameter (golem-cli style); errors name the parameter."""
    if len(values) != len(params):
        raise ValueTypeError(
            f"expected {len(params)} argument(s), got {len(values)}", path="params"
        )
    out = []
    for (name, ty), v in zip(params, values):
        try:
            out.append(_encoder(ty)(v))
        except Mismatch as b:
            label = f"param `{name}`"
            raise native.to_value_error(b, label, label) from None
    return out
