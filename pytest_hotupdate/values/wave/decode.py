"""WAVE reading: :func:`wave_parse` and :func:`wave_parse_params` parse text (:mod:`.parse`) and
convert the untyped tree, directed by the WIT type, into the native value, decoding string and
char literals on the way; this follows ``wasm-wave`` including its quirks (unknown record fields
ignored, commas between record fields not enforced, ``{%a}`` rejected for flags). Syntax errors
raise :class:`~pytest_hotupdate.errors.WaveSyntaxError`, values that do not fit the type raise
:class:`~pytest_hotupdate.errors.ValueTypeError` with the path inside the value
(``.price-cents``, ``[2]``, ``(ok)``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest_hotupdate.values.types as wit

from ...errors import BadSyntax, Mismatch, ValueTypeError, WaveSyntaxError
from ..native import (
    INT_RANGES,
    SURROGATE,
    Err,
    Handle,
    Ok,
    Some,
    Variant,
    arity_mismatch,
    text_position,
    to_value_error,
)
from .floats import parse_f32
from .parse import Node, parse_untyped

# ---------------------------------------------------------------------------------------------
# Tables of the fast path for integer lists
# ---------------------------------------------------------------------------------------------

_INT_ITEM = re.compile(r"-?[0-9]+")
#: The text of a byte between two commas, as the writer puts it (`[1, 2]`): a dict lookup is
#: several times faster than int() per element of a large list<u8>.
_U8_ITEMS = {**{str(i): i for i in range(256)}, **{" " + str(i): i for i in range(256)}}


# ---------------------------------------------------------------------------------------------
# WAVE strings
# ---------------------------------------------------------------------------------------------

_SIMPLE_UNESCAPES = {"\\": "\\", "'": "'", '"': '"', "t": "\t", "n": "\n", "r": "\r"}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class _Pieces:
    """Builds a long string from many short pieces with bounded overhead: the pieces are
    joined every few thousand, so a string with millions of escapes never holds millions of
    small string objects at once."""

    __slots__ = ("chunks", "pieces")
    BATCH = 4096

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.pieces: list[str] = []

    def add(self, piece: str) -> None:
        pieces = self.pieces
        pieces.append(piece)
        if len(pieces) >= self.BATCH:
            self.chunks.append("".join(pieces))
            pieces.clear()

    def value(self) -> str:
        self.chunks.append("".join(self.pieces))
        self.pieces.clear()
        return self.chunks[0] if len(self.chunks) == 1 else "".join(self.chunks)


def _unescape(text: str, i: int, end: int) -> tuple[str, int]:
    """Decode the escape at ``text[i] == '\\'`` (the literal ends at ``end``); returns
    (char, length)."""
    c = text[i + 1] if i + 1 < end else ""
    simple = _SIMPLE_UNESCAPES.get(c)
    if simple is not None:
        return simple, 2
    if c == "u" and text.startswith("{", i + 2, end):
        # at most 6 hex digits: look for the `}` no further than that (never scan the text)
        close = text.find("}", i + 3, min(end, i + 10))
        hexdigits = text[i + 3 : close] if close >= 0 else ""
        if 1 <= len(hexdigits) <= 6 and all(h in _HEX_DIGITS for h in hexdigits):
            cp = int(hexdigits, 16)
            if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
                return chr(cp), len(hexdigits) + 4
    raise BadSyntax("invalid character escape", i)


def _decode_span(text: str, start: int, end: int, out: _Pieces) -> None:
    """Append the decoded ``text[start:end]`` (escapes allowed, no quotes) to ``out``."""
    find = text.find
    i = start
    while True:
        j = find("\\", i, end)
        if j < 0:
            out.add(text[i:end])
            return
        if j > i:
            out.add(text[i:j])
        ch, n = _unescape(text, j, end)
        out.add(ch)
        i = j + n


def _decode_string(node: Node, text: str) -> str:
    if node.kind == "str":
        if node.children is not None:  # decoded by the lexer
            decoded: str = node.children
            return decoded
        start, end = node.start + 1, node.end - 1
        if text.find("\\", start, end) < 0:
            return text[start:end]
        out = _Pieces()
        _decode_span(text, start, end, out)
        return out.value()
    # multiline: `"""`, an optional CR, LF, content lines, a last line of spaces, `"""`
    pos = node.start + 3
    stop = node.end - 3
    if text.startswith("\r", pos, stop):
        pos += 1
    if not text.isascii():
        m = SURROGATE.search(text, pos, stop)
        if m is not None:
            raise BadSyntax(f"invalid character U+{ord(m.group()):04X}", m.start())
    last_nl = text.rfind("\n", pos, stop)
    indent = text[last_nl + 1 if last_nl >= 0 else pos : stop]
    if indent.strip(" "):
        raise BadSyntax(
            'invalid multiline string: closing """ must be on a line preceded only by spaces',
            node.end - 3,
        )
    if last_nl < 0 or text[pos] != "\n":
        raise BadSyntax(
            'invalid multiline string: opening """ must be followed immediately by newline',
            node.start,
        )
    out = _Pieces()
    line = pos + 1  # the first line break is not part of the value
    width = len(indent)
    while line <= last_nl:  # every content line ends with an LF, the last one at last_nl
        line_end = text.find("\n", line, last_nl + 1)
        if not text.startswith(indent, line, line_end):
            raise BadSyntax(
                'invalid multiline string: lines must be indented at least as much as closing """',
                line,
            )
        content_end = line_end
        if content_end > line + width and text[content_end - 1] == "\r":
            content_end -= 1
        if line > pos + 1:
            out.add("\n")
        _decode_span(text, line + width, content_end, out)
        line = line_end + 1
    return out.value()


def _decode_char(node: Node, text: str) -> str:
    start, end = node.start + 1, node.end - 1
    if text[start] != "\\":
        return text[start:end]
    ch, n = _unescape(text, start, end)
    if start + n != end:  # pragma: no cover - the lexer guarantees a single escape
        raise BadSyntax("multiple characters in char value", node.start)
    return ch


# ---------------------------------------------------------------------------------------------
# WAVE typed conversion
# ---------------------------------------------------------------------------------------------


def _node_text(node: Node, text: str) -> str:
    s = text[node.start : min(node.end, node.start + 41)]  # never copy a whole 20 MB token
    s = s.replace("\r", "\\r").replace("\n", "\\n")
    return s if len(s) <= 40 else s[:37] + "..."


def _type_mismatch(ty: wit.WitType, node: Node, text: str, what: str | None = None) -> Mismatch:
    w = ty.wit()
    return Mismatch(w, f"expected {what or w}, got {_node_text(node, text)}", node.start)


def _known_label(w: str, labels: frozenset[str], label: str, pos: int) -> str:
    """``label`` if it is one of the case (or flag) names of ``w``; else a :class:`Mismatch`."""
    if label not in labels:
        raise Mismatch(w, f'unknown case "{label}" (expected {w})', pos)
    return label


_INT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")

_Conv = Callable[[Node, str], Any]


def _make_int_conv(kind: str) -> _Conv:
    lo, hi = INT_RANGES[kind]
    ty = wit.Prim(kind)
    ranged = f"{kind} ({lo}..{hi})"
    unsigned = lo == 0

    def conv(node: Node, text: str) -> Any:
        if node.kind != "num":
            raise _type_mismatch(ty, node, text)
        t = text[node.start : node.end]
        if len(t) > 21 or _INT_TEXT.match(t) is None or (unsigned and t[0] == "-"):
            raise _type_mismatch(ty, node, text, ranged)
        v = int(t)
        if not lo <= v <= hi:
            raise _type_mismatch(ty, node, text, ranged)
        return v

    return conv


def _conv_bool(node: Node, text: str) -> Any:
    if node.kind == "true":
        return True
    if node.kind == "false":
        return False
    raise _type_mismatch(wit.Prim("bool"), node, text)


def _conv_f64(node: Node, text: str) -> Any:
    if node.kind != "num":
        raise _type_mismatch(wit.Prim("f64"), node, text)
    return float(text[node.start : node.end])


def _conv_f32(node: Node, text: str) -> Any:
    if node.kind != "num":
        raise _type_mismatch(wit.Prim("f32"), node, text)
    return parse_f32(text[node.start : node.end])


def _conv_char(node: Node, text: str) -> Any:
    if node.kind != "char":
        raise _type_mismatch(wit.Prim("char"), node, text)
    return _decode_char(node, text)


def _conv_string(node: Node, text: str) -> Any:
    if node.kind != "str" and node.kind != "mstr":
        raise _type_mismatch(wit.Prim("string"), node, text)
    return _decode_string(node, text)


_PRIM_CONV: dict[str, _Conv] = {
    "bool": _conv_bool,
    "f32": _conv_f32,
    "f64": _conv_f64,
    "char": _conv_char,
    "string": _conv_string,
    **{k: _make_int_conv(k) for k in INT_RANGES},
}


def _flattenable(ty: wit.WitType | None) -> bool:
    return ty is not None and not isinstance(ty, (wit.OptionType, wit.ResultType))


def _payload_conv(
    ty: wit.WitType, case: str, ptype: wit.WitType | None, pconv: _Conv | None, seg: str
) -> Callable[[Node, Node | None, str], Any]:
    """Converter of an optional payload node for a case, checking presence."""
    w = ty.wit()

    def conv(node: Node, payload: Node | None, text: str) -> Any:
        if pconv is None:
            if payload is not None:
                raise Mismatch(w, f"unexpected payload for case `{case}` of {w}", node.start)
            return None
        if payload is None:
            raise Mismatch(w, f"missing payload for case `{case}` of {w}", node.start)
        try:
            return pconv(payload, text)
        except Mismatch as b:
            if seg:
                b.segs.append(seg)
            raise

    return conv


@functools.lru_cache(maxsize=2048)
def _converter(ty: wit.WitType) -> _Conv:
    w = ty.wit()
    if isinstance(ty, wit.Prim):
        return _PRIM_CONV[ty.kind]

    if isinstance(ty, wit.ListType):
        el = _converter(ty.element)
        to_bytes = ty.element == wit.PRIM_U8
        kind = ty.element.kind if isinstance(ty.element, wit.Prim) else ""
        lo, hi = INT_RANGES.get(kind, (0, -1))

        def run_values(c: Node, text: str) -> Any:
            """The integers of an ``ints`` node in one go, or None if one of them does not fit
            (the caller then converts them one by one, for the exact error)."""
            if hi < 0 or (lo == 0 and text.find("-", c.start, c.end) >= 0):  # `-0` is not a u8
                return None
            # `12 ,\n 3 , ` -> ["12 ", "\n 3 ", " "]: int() ignores the surrounding whitespace
            items = text[c.start : c.end].split(",")
            items.pop()  # the whitespace after the last comma
            if to_bytes:
                try:
                    return bytes(map(_U8_ITEMS.__getitem__, items))
                except KeyError:
                    pass
                try:
                    return bytes(map(int, items))  # ValueError outside 0..255
                except ValueError:
                    return None
            values = list(map(int, items))
            return values if lo <= min(values) and max(values) <= hi else None

        def conv_list(node: Node, text: str) -> Any:
            if node.kind != "list":
                raise _type_mismatch(ty, node, text)
            out: Any = bytearray() if to_bytes else []
            try:
                for c in node.children:
                    if c.kind != "ints":
                        out.append(el(c, text))
                        continue
                    values = run_values(c, text)
                    if values is not None:
                        out += values
                        continue
                    for m in _INT_ITEM.finditer(text, c.start, c.end):
                        out.append(el(Node("num", m.start(), m.end()), text))
            except Mismatch as b:
                b.segs.append(f"[{len(out)}]")
                raise
            return bytes(out) if to_bytes else out

        return conv_list

    if isinstance(ty, wit.TupleType):
        els = [_converter(t) for t in ty.elements]
        n = len(els)

        def conv_tuple(node: Node, text: str) -> Any:
            if node.kind != "tuple":
                raise _type_mismatch(ty, node, text)
            if len(node.children) != n:
                raise arity_mismatch(w, n, len(node.children), node.start)
            out: list[Any] = []
            try:
                for f, c in zip(els, node.children):
                    out.append(f(c, text))
            except Mismatch as b:
                b.segs.append(f"[{len(out)}]")
                raise
            return tuple(out)

        return conv_tuple

    if isinstance(ty, wit.RecordType):
        fields = [(name, _converter(t), isinstance(t, wit.OptionType)) for name, t in ty.fields]

        def conv_record(node: Node, text: str) -> Any:
            if node.kind != "record":
                raise _type_mismatch(ty, node, text)
            given = {name: value for name, _, value in node.children}
            out: dict[str, Any] = {}
            for name, f, opt in fields:
                value = given.get(name)
                if value is not None:
                    try:
                        out[name] = f(value, text)
                    except Mismatch as b:
                        b.segs.append(f".{name}")
                        raise
                elif opt:
                    out[name] = None
                else:
                    raise Mismatch(w, f'missing field "{name}" (expected {w})', node.start)
            return out

        return conv_record

    if isinstance(ty, wit.EnumType):
        cases = frozenset(ty.cases)

        def conv_enum(node: Node, text: str) -> Any:
            if node.kind == "label":
                return _known_label(w, cases, node.label, node.start)
            raise _type_mismatch(ty, node, text)

        return conv_enum

    if isinstance(ty, wit.FlagsType):
        names = frozenset(ty.names)

        def conv_flags(node: Node, text: str) -> Any:
            if node.kind != "flags":
                raise _type_mismatch(ty, node, text)
            # wasm-wave compares the raw label: `{%read}` is an unknown flag "%read".
            return frozenset([_known_label(w, names, raw, pos) for raw, pos in node.children])

        return conv_flags

    if isinstance(ty, wit.HandleType):

        def conv_handle(node: Node, text: str) -> Any:
            if node.kind == "vpayload" and node.label == "handle":
                p = node.children[0]
                t = text[p.start : p.end]
                if p.kind == "num" and len(t) <= 20 and _INT_TEXT.match(t) and t[0] != "-":
                    return Handle(int(t))
            raise _type_mismatch(ty, node, text, f"{w} written handle(N)")

        return conv_handle

    if isinstance(ty, wit.OptionType):
        pconv = _converter(ty.payload)
        nested = isinstance(ty.payload, wit.OptionType)
        flat = _flattenable(ty.payload)

        def conv_option(node: Node, text: str) -> Any:
            k = node.kind
            if k == "none":
                return None
            if k == "some":
                v = pconv(node.children[0], text)
            elif flat:
                v = pconv(node, text)
            else:
                raise _type_mismatch(ty, node, text)
            return Some(v) if nested else v

        return conv_option

    if isinstance(ty, wit.ResultType):
        ok_p = _payload_conv(
            ty, "ok", ty.ok, None if ty.ok is None else _converter(ty.ok), "(ok)"
        )
        err_p = _payload_conv(
            ty, "err", ty.err, None if ty.err is None else _converter(ty.err), "(err)"
        )
        bare = _converter(ty.ok) if _flattenable(ty.ok) else None

        def conv_result(node: Node, text: str) -> Any:
            k = node.kind
            if k == "ok":
                return Ok(ok_p(node, node.children[0] if node.children else None, text))
            if k == "err":
                return Err(err_p(node, node.children[0] if node.children else None, text))
            if bare is None:
                raise _type_mismatch(ty, node, text)
            try:
                return Ok(bare(node, text))
            except Mismatch as b:
                b.segs.append("(ok)")
                raise

        return conv_result

    assert isinstance(ty, wit.VariantType)
    case_convs = {
        name: _payload_conv(ty, name, t, None if t is None else _converter(t), f"({name})")
        for name, t in ty.cases
    }

    def conv_variant(node: Node, text: str) -> Any:
        if node.kind == "label":
            payload = None
        elif node.kind == "vpayload":
            payload = node.children[0]
        else:
            raise _type_mismatch(ty, node, text)
        f = case_convs.get(node.label)
        if f is None:
            raise Mismatch(w, f'unknown case "{node.label}" (expected {w})', node.start)
        return Variant(node.label, f(node, payload, text))

    return conv_variant


def _parse_one(ty: wit.WitType, text: str, label: str, path: str, prefix: str) -> Any:
    try:
        node = parse_untyped(text)
        return _converter(ty)(node, text)
    except BadSyntax as s:
        raise WaveSyntaxError(
            f"{prefix}{s.msg} {text_position(text, s.pos)}", text, s.pos
        ) from None
    except Mismatch as b:
        raise to_value_error(b, label, path, text) from None


def wave_parse(ty: wit.WitType, text: str) -> Any:
    """Parse WAVE text as a value of ``ty`` and return the native value.

    Raises :class:`WaveSyntaxError` (``.position`` set, message with the column) for text that
    is not WAVE, and :class:`ValueTypeError` (``.path`` such as ``.price-cents`` or ``[2]``)
    for a value that does not fit the type.
    """
    return _parse_one(ty, text, "value", "", "")


def wave_parse_params(params: Sequence[tuple[str, wit.WitType]], texts: Sequence[str]) -> list[Any]:
    """Parse one WAVE text per parameter (golem-cli style) into native values.

    Trailing ``option`` parameters may be left out and become ``None`` (as in WAVE function
    calls). Errors name the parameter: ``param `by`: ...``.
    """
    if len(texts) > len(params):
        raise ValueTypeError(
            f"more arguments than parameters: expected at most {len(params)}, got {len(texts)}",
            path="params",
        )
    out = []
    for (name, ty), text in zip(params, texts):
        label = f"param `{name}`"
        out.append(_parse_one(ty, text, label, label, label + ": "))
    for name, ty in params[len(texts) :]:
        if not isinstance(ty, wit.OptionType):
            raise ValueTypeError(
                f"param `{name}`: missing argument (expected {ty.wit()})",
                path=f"param `{name}`",
                expected=ty.wit(),
            )
        out.append(None)
    return out
