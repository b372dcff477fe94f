"""WIT value types, the project's native Python values, wasmtime-py conversion and WAVE text.

Type model
----------
:class:`WitType` and its frozen (hashable) subclasses describe component-model value types
independently of wasmtime: :class:`Prim`, :class:`ListType`, :class:`TupleType`,
:class:`RecordType`, :class:`VariantType`, :class:`EnumType`, :class:`FlagsType`,
:class:`OptionType`, :class:`ResultType` and :class:`HandleType`. :func:`from_valtype` and
:func:`func_signature` build them from wasmtime-py types; :func:`parse_wit` reads the text that
``WitType.wit()`` writes (``list<option<u32>>``, ``record { a: u8, b: string }`` ...).

Native values
-------------
Every value the project passes around is a plain Python value, chosen by its WIT type:

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

wasmtime-py conversion
----------------------
:func:`lowerer` builds (once per type, cached) a function that validates a native value and
turns it into exactly what wasmtime-py's ``convert_to_c`` accepts: ``Record`` objects whose
attributes are the WIT field names (``getattr(r, "price-cents")``), ``set`` for flags, ``bytes``
for ``list<u8>`` and, for variants, options and results, the *untagged* payload whenever
wasmtime's ``VariantLikeType._tagged()`` says the cases' Python classes are disjoint, and a
wasmtime ``Variant(tag, payload)`` otherwise. wasmtime does not range-check integers, so the
lowerer does. A few values of untagged variant-like types cannot be passed through wasmtime-py
at all, because its case matching is by ``isinstance`` in case order (for example ``err("x")``
of ``result<option<u8>, string>``, or ``b(true)`` of ``variant { a(u32), b(bool) }``); the
lowerer reports those with a :class:`~pytest_hotupdate.errors.ValueTypeError` instead of letting
wasmtime pick the wrong case. :func:`lifter` does the reverse for values wasmtime returns.

WAVE
----
:func:`wave_encode` writes the canonical form of the ``wasm-wave`` writer byte for byte (Rust
``Display`` floats with shortest round-trip digits in the value's own width, positional, ties to
the larger magnitude; ``escape_debug`` character escaping; ``%`` only for exact keywords; option
record fields that are ``none`` omitted). :func:`wave_parse` is a lexer, untyped parser and
type-directed conversion following the ``wasm-wave`` crate of wasm-tools, including
its quirks (unknown record fields ignored, commas between record fields not enforced, ``{%a}``
rejected for flags). Syntax errors raise :class:`~pytest_hotupdate.errors.WaveSyntaxError`,
values that do not fit the type raise :class:`~pytest_hotupdate.errors.ValueTypeError` with
the path inside the value (``.price-cents``, ``[2]``, ``(ok)``). Unlike ``wasm-wave``, the
whole text (including trailing characters) is checked for syntax before the type is applied,
so a syntax error always wins.

Project extension: resource handles, which WAVE cannot represent, are written ``handle(N)``
for ``own<R>`` and ``borrow<R>`` and read back as :class:`Handle` ``(N)``.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable, Sequence

from ..errors import ValueTypeError, WaveSyntaxError
from .convert import from_valtype, func_signature, lifter, lowerer, validate
from .native import (
    INT_RANGES,
    SURROGATE,
    Err,
    Handle,
    Mismatch,
    Ok,
    Some,
    Variant,
    text_position,
    to_value_error,
    values_equal,
)
from .types import (
    PRIM_KINDS,
    PRIM_U8,
    EnumType,
    FlagsType,
    HandleType,
    ListType,
    OptionType,
    Prim,
    RecordType,
    ResultType,
    TupleType,
    VariantType,
    WitType,
    parse_wit,
)
from .wave.encode import KEYWORDS, wave_encode, wave_encode_params
from .wave.floats import format_float, parse_f32

__all__ = [
    "PRIM_KINDS",
    "WitType",
    "Prim",
    "ListType",
    "TupleType",
    "RecordType",
    "VariantType",
    "EnumType",
    "FlagsType",
    "OptionType",
    "ResultType",
    "HandleType",
    "parse_wit",
    "from_valtype",
    "func_signature",
    "Variant",
    "Some",
    "Ok",
    "Err",
    "Handle",
    "lowerer",
    "lifter",
    "validate",
    "values_equal",
    "format_float",
    "wave_encode",
    "wave_parse",
    "wave_encode_params",
    "wave_parse_params",
    "INT_RANGES",
]

class BadSyntax(Exception):
    """A WAVE syntax error: message and 0-based character position."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


# ---------------------------------------------------------------------------------------------
# WAVE lexer and untyped parser
# ---------------------------------------------------------------------------------------------
# The lexer is a scanner over the text by index, one token at a time (the parser looks one token
# ahead): no token list, no per-character objects, and every repetition in its regexes is
# possessive, so `re` keeps no backtracking state per character. That keeps parsing linear in
# time and memory however long a string, comment, label or list is (a 20 MB string used to
# cost several GB in the old `(?:char|escape)*` regex).

_LABEL_WORD = r"(?:[0-9]+(?:[a-z][a-z0-9]*|[A-Z][A-Z0-9]*)?|[a-z][a-z0-9]*|[A-Z][A-Z0-9]*)"
_ESCAPE = r"""(?:\\['"tnr\\]|\\u\{[0-9a-fA-F]{1,6}\})"""
_WS = re.compile(r"(?:[ \t\n\r]++|//[^\n]*+)++")
_NUM = re.compile(r"-inf|-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][-+]?[0-9]++)?")
_LABEL = re.compile(r"%?(?:[a-z][a-z0-9]*+|[A-Z][A-Z0-9]*+)(?:-" + _LABEL_WORD + r")*+")
_CHAR = re.compile(r"'(?:[^\\'\n\ud800-\udfff]{1,4}|" + _ESCAPE + r")'")
_STRING = re.compile(r'"(?:[^\\"\n\ud800-\udfff]++|' + _ESCAPE + r')*+"')
_PUNCT = frozenset("{}()[]:,")
_WS_START = frozenset(" \t\n\r/")
# JSON's C string scanner (control characters allowed, as WAVE allows them): see _lex_string.
_JSON = json.JSONDecoder(strict=False)
# Escapes JSON has and WAVE has not (`\/ \b \f \uXXXX`); see _lex_string.
_JSON_ONLY_ESCAPE = re.compile(r"\\[/bfu]")

#: Integer list elements each followed by a comma, matched by one regex and kept as one node
#: (kind ``ints``), so a million-element ``list<u8>`` is a few nodes, not a million. At most 20
#: digits per number (longer ones take the normal path) and 8192 numbers per node (bounded
#: temporaries when converting).
_INT_RUN = re.compile(r"(?:-?(?:0|[1-9][0-9]{0,19}+)[ \t\n\r]*+,[ \t\n\r]*+){1,8192}+")


_INT_ITEM = re.compile(r"-?[0-9]+")
#: The text of a byte between two commas, as the writer puts it (`[1, 2]`): a dict lookup is
#: several times faster than int() per element of a large list<u8>.
_U8_ITEMS = {**{str(i): i for i in range(256)}, **{" " + str(i): i for i in range(256)}}


#: A token: (kind, start, end, decoded string or None). kind is a punctuation character,
#: ``num``, ``label``, ``char``, ``str``, ``mstr``, ``ERR`` (an invalid token: the parser stops
#: there, as the lazy Rust lexer never looks further) or ``EOF``.
_Token = tuple[str, int, int, Any]


def _lex_string(text: str, pos: int) -> _Token:
    """The single-line string token at ``text[pos] == '"'``.

    Fast path: WAVE's escapes `\\" \\\\ \\t \\n \\r` are also JSON's and decode the same way, so
    when JSON's C scanner accepts the literal and it holds no LF, no lone surrogate and no
    backslash before `/ b f u` (JSON-only escapes, and WAVE's `\\u{...}`), the scanner's end
    and value are exactly WAVE's. Anything else (`\\'`, `\\u{41}`, an invalid literal) goes
    through the WAVE regex, and the value is decoded later by :func:`_decode_span`.
    """
    try:
        value, end = _JSON.raw_decode(text, pos)
    except ValueError:
        value = None
    else:
        if (
            text.find("\n", pos + 1, end) >= 0
            or _JSON_ONLY_ESCAPE.search(text, pos + 1, end) is not None
            or (not text.isascii() and SURROGATE.search(text, pos + 1, end) is not None)
        ):
            value = None
    if value is None:
        m = _STRING.match(text, pos)
        if m is None:
            return ("ERR", pos, pos + 1, None)
        end = m.end()
    return ("str", pos, end, value)


def _lex(text: str, pos: int) -> _Token:
    """The next token at or after ``pos`` (whitespace and comments skipped)."""
    n = len(text)
    while pos < n:
        c = text[pos]
        if c in _WS_START:
            if c == " " and pos + 1 < n and text[pos + 1] not in _WS_START:
                pos += 1  # the single space of `, ` and `: `: no regex call
                continue
            m = _WS.match(text, pos)
            if m is None:  # a lone `/`
                return ("ERR", pos, pos + 1, None)
            pos = m.end()
            continue
        if c in _PUNCT:
            return (c, pos, pos + 1, None)
        if c == '"':
            if text.startswith('"""', pos):
                close = text.find('"""', pos + 3)
                if close < 0:
                    return ("ERR", pos, n, None)
                return ("mstr", pos, close + 3, None)
            return _lex_string(text, pos)
        if c == "'":
            m = _CHAR.match(text, pos)
            if m is None:
                return ("ERR", pos, pos + 1, None)
            end = m.end()
            if text[pos + 1] != "\\" and end - pos != 3:
                return ("ERR", pos, end, None)
            return ("char", pos, end, None)
        m = _NUM.match(text, pos)
        if m is not None:
            return ("num", pos, m.end(), None)
        m = _LABEL.match(text, pos)
        if m is not None:
            return ("label", pos, m.end(), None)
        return ("ERR", pos, pos + 1, None)
    return ("EOF", n, n, None)


class Node:
    """An untyped WAVE node.

    kinds: ``true false num char str mstr tuple list record flags label vpayload some none ok
    err``, and ``ints`` (only in a list's children: a run of integers, each followed by a comma,
    from ``start`` to ``end``). ``label`` is the case name without ``%`` (``label``/``vpayload``);
    ``children`` holds value nodes, ``(name, pos, node)`` for records, ``(raw_label, pos)`` for
    flags, and for a ``str`` the value if the lexer already decoded it (else ``None``).
    """

    __slots__ = ("kind", "start", "end", "children", "label")

    def __init__(
        self, kind: str, start: int, end: int, children: Any = (), label: str = ""
    ) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.children = children
        self.label = label


_MAX_DEPTH = 100


def _describe_token(text: str, tok: tuple[str, int, int] | _Token) -> str:
    s = text[tok[1] : min(tok[2], tok[1] + 21)]  # never copy a whole 20 MB token
    if len(s) > 20:
        s = s[:17] + "..."
    return repr(s)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.peeked: _Token = _lex(text, 0)
        self.cur: _Token = ("", 0, 0, None)
        self.depth = 0

    def advance(self) -> str:
        t = self.peeked
        kind = t[0]
        if kind == "EOF":
            raise BadSyntax("unexpected end of input", len(self.text))
        if kind == "ERR":
            raise BadSyntax(f"invalid token {_describe_token(self.text, t)}", t[1])
        self.cur = t
        self.peeked = _lex(self.text, t[2])
        return kind

    def next_is(self, kind: str) -> bool:
        return self.peeked[0] == kind

    def expect(self, kind: str) -> None:
        if self.cur[0] != kind:
            self.unexpected()

    def unexpected(self) -> None:
        raise BadSyntax(f"unexpected token {_describe_token(self.text, self.cur)}", self.cur[1])

    def finish(self) -> None:
        t = self.peeked
        if t[0] != "EOF":
            raise BadSyntax(f"trailing characters {_describe_token(self.text, t)}", t[1])

    def node(self) -> Node:
        if self.depth >= _MAX_DEPTH:
            raise BadSyntax("value nesting too deep", self.cur[1])
        self.depth += 1
        try:
            return self._node()
        finally:
            self.depth -= 1

    def _node(self) -> Node:
        k = self.advance()
        _, s, e, value = self.cur
        if k == "str":
            return Node(k, s, e, value)
        if k in ("num", "char", "mstr"):
            return Node(k, s, e)
        if k == "(":
            children = self.comma_separated(")")
            if not children:
                raise BadSyntax("empty tuple", s)
            return Node("tuple", s, self.cur[2], children)
        if k == "[":
            children = self.comma_separated("]", ints=True)
            return Node("list", s, self.cur[2], children)
        if k == "{":
            return self.record_or_flags(s)
        if k == "label":
            word = self.text[s:e]
            if word in KEYWORDS:
                if word in ("true", "false"):
                    return Node(word, s, e)
                if word in ("inf", "nan"):
                    return Node("num", s, e)
                if word == "some":
                    self.advance()
                    self.expect("(")
                    payload = self.node()
                    self.advance()
                    self.expect(")")
                    return Node("some", s, self.cur[2], [payload])
                if word == "none":
                    return Node("none", s, e)
                # ok / err
                if self.next_is("("):
                    self.advance()
                    payload = self.node()
                    self.advance()
                    self.expect(")")
                    return Node(word, s, self.cur[2], [payload])
                return Node(word, s, e)
            name = word[1:] if word[0] == "%" else word
            if self.next_is("("):
                self.advance()
                payload = self.node()
                self.advance()
                self.expect(")")
                return Node("vpayload", s, self.cur[2], [payload], name)
            return Node("label", s, e, (), name)
        self.unexpected()
        raise AssertionError("unreachable")  # pragma: no cover

    def comma_separated(self, end: str, ints: bool = False) -> list[Node]:
        nodes: list[Node] = []
        if self.next_is(end):
            self.advance()
            return nodes
        append = nodes.append
        text = self.text
        ints = ints and self.depth < _MAX_DEPTH  # else the first element is too deep
        while True:
            if ints and self.peeked[0] == "num":
                m = _INT_RUN.match(text, self.peeked[1])
                if m is not None:
                    # the same tokens as `num , num , ...`: the parser stands after the last comma
                    start, stop = self.peeked[1], m.end()
                    append(Node("ints", start, stop))
                    comma = text.rfind(",", start, stop)
                    self.cur = (",", comma, comma + 1, None)
                    self.peeked = _lex(text, stop)
                    if self.next_is(end):
                        self.advance()
                        break
                    continue
            append(self.node())
            if self.advance() == ",":
                if self.next_is(end):
                    self.advance()
                    break
            else:
                self.expect(end)
                break
        return nodes

    def label(self) -> tuple[str, str, int]:
        self.expect("label")
        _, s, e, _ = self.cur
        raw = self.text[s:e]
        return raw, raw.lstrip("%"), s

    def record_or_flags(self, start: int) -> Node:
        k = self.advance()
        if k == ":":
            self.advance()
            self.expect("}")
            return Node("record", start, self.cur[2], [])
        if k == "}":
            return Node("flags", start, self.cur[2], [])
        if self.next_is(":"):
            fields: list[tuple[str, int, Node]] = []
            seen: set[str] = set()
            while True:
                _, name, pos = self.label()
                if name in seen:
                    raise BadSyntax(f'duplicate field "{name}"', pos)
                seen.add(name)
                self.advance()
                self.expect(":")
                value = self.node()
                fields.append((name, pos, value))
                if self.advance() == ",":
                    self.advance()
                if self.cur[0] == "}":
                    break
            return Node("record", start, self.cur[2], fields)
        flags: dict[str, tuple[str, int]] = {}
        while True:
            raw, name, pos = self.label()
            if name in flags:
                raise BadSyntax(f'duplicate flag "{name}"', pos)
            flags[name] = (raw, pos)
            if self.advance() == ",":
                self.advance()
            if self.cur[0] == "}":
                break
        return Node("flags", start, self.cur[2], [flags[n] for n in sorted(flags)])


def parse_untyped(text: str) -> Node:
    p = _Parser(text)
    node = p.node()
    p.finish()
    return node


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


def _type_mismatch(ty: WitType, node: Node, text: str, what: str | None = None) -> Mismatch:
    w = ty.wit()
    return Mismatch(w, f"expected {what or w}, got {_node_text(node, text)}", node.start)


_INT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")

_Conv = Callable[[Node, str], Any]


def _make_int_conv(kind: str) -> _Conv:
    lo, hi = INT_RANGES[kind]
    ty = Prim(kind)
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
    raise _type_mismatch(Prim("bool"), node, text)


def _conv_f64(node: Node, text: str) -> Any:
    if node.kind != "num":
        raise _type_mismatch(Prim("f64"), node, text)
    return float(text[node.start : node.end])


def _conv_f32(node: Node, text: str) -> Any:
    if node.kind != "num":
        raise _type_mismatch(Prim("f32"), node, text)
    return parse_f32(text[node.start : node.end])


def _conv_char(node: Node, text: str) -> Any:
    if node.kind != "char":
        raise _type_mismatch(Prim("char"), node, text)
    return _decode_char(node, text)


def _conv_string(node: Node, text: str) -> Any:
    if node.kind != "str" and node.kind != "mstr":
        raise _type_mismatch(Prim("string"), node, text)
    return _decode_string(node, text)


_PRIM_CONV: dict[str, _Conv] = {
    "bool": _conv_bool,
    "f32": _conv_f32,
    "f64": _conv_f64,
    "char": _conv_char,
    "string": _conv_string,
    **{k: _make_int_conv(k) for k in INT_RANGES},
}


def _flattenable(ty: WitType | None) -> bool:
    return ty is not None and not isinstance(ty, (OptionType, ResultType))


def _payload_conv(
    ty: WitType, case: str, ptype: WitType | None, pconv: _Conv | None, seg: str
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
def _converter(ty: WitType) -> _Conv:
    w = ty.wit()
    if isinstance(ty, Prim):
        return _PRIM_CONV[ty.kind]

    if isinstance(ty, ListType):
        el = _converter(ty.element)
        to_bytes = ty.element == PRIM_U8
        kind = ty.element.kind if isinstance(ty.element, Prim) else ""
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

    if isinstance(ty, TupleType):
        els = [_converter(t) for t in ty.elements]
        n = len(els)

        def conv_tuple(node: Node, text: str) -> Any:
            if node.kind != "tuple":
                raise _type_mismatch(ty, node, text)
            if len(node.children) != n:
                raise Mismatch(
                    w,
                    f"expected {w} ({n} elements), got {len(node.children)} elements",
                    node.start,
                )
            out: list[Any] = []
            try:
                for f, c in zip(els, node.children):
                    out.append(f(c, text))
            except Mismatch as b:
                b.segs.append(f"[{len(out)}]")
                raise
            return tuple(out)

        return conv_tuple

    if isinstance(ty, RecordType):
        fields = [(name, _converter(t), isinstance(t, OptionType)) for name, t in ty.fields]

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

    if isinstance(ty, EnumType):
        cases = frozenset(ty.cases)

        def conv_enum(node: Node, text: str) -> Any:
            if node.kind != "label":
                raise _type_mismatch(ty, node, text)
            if node.label not in cases:
                raise Mismatch(w, f'unknown case "{node.label}" (expected {w})', node.start)
            return node.label

        return conv_enum

    if isinstance(ty, FlagsType):
        names = frozenset(ty.names)

        def conv_flags(node: Node, text: str) -> Any:
            if node.kind != "flags":
                raise _type_mismatch(ty, node, text)
            out = []
            for raw, pos in node.children:
                # wasm-wave compares the raw label: `{%read}` is an unknown flag "%read".
                if raw not in names:
                    raise Mismatch(w, f'unknown case "{raw}" (expected {w})', pos)
                out.append(raw)
            return frozenset(out)

        return conv_flags

    if isinstance(ty, HandleType):

        def conv_handle(node: Node, text: str) -> Any:
            if node.kind == "vpayload" and node.label == "handle":
                p = node.children[0]
                t = text[p.start : p.end]
                if p.kind == "num" and len(t) <= 20 and _INT_TEXT.match(t) and t[0] != "-":
                    return Handle(int(t))
            raise _type_mismatch(ty, node, text, f"{w} written handle(N)")

        return conv_handle

    if isinstance(ty, OptionType):
        pconv = _converter(ty.payload)
        nested = isinstance(ty.payload, OptionType)
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

    if isinstance(ty, ResultType):
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

    assert isinstance(ty, VariantType)
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


def _parse_one(ty: WitType, text: str, label: str, path: str, prefix: str) -> Any:
    try:
        node = parse_untyped(text)
        return _converter(ty)(node, text)
    except BadSyntax as s:
        raise WaveSyntaxError(
            f"{prefix}{s.msg} {text_position(text, s.pos)}", text, s.pos
        ) from None
    except Mismatch as b:
        raise to_value_error(b, label, path, text) from None


def wave_parse(ty: WitType, text: str) -> Any:
    """Parse WAVE text as a value of ``ty`` and return the native value.

    Raises :class:`WaveSyntaxError` (``.position`` set, message with the column) for text that
    is not WAVE, and :class:`ValueTypeError` (``.path`` such as ``.price-cents`` or ``[2]``)
    for a value that does not fit the type.
    """
    return _parse_one(ty, text, "value", "", "")


def wave_parse_params(params: Sequence[tuple[str, WitType]], texts: Sequence[str]) -> list[Any]:
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
        if not isinstance(ty, OptionType):
            raise ValueTypeError(
                f"param `{name}`: missing argument (expected {ty.wit()})",
                path=f"param `{name}`",
                expected=ty.wit(),
            )
        out.append(None)
    return out
