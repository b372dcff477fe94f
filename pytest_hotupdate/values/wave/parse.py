"""The WAVE lexer and untyped parser: WAVE text to a tree of :class:`Node` (kind, span, children),
following the ``wasm-wave`` crate of wasm-tools, with no WIT type involved yet. The whole text
(including trailing characters) is checked, so a syntax error (:class:`BadSyntax`, a message and
a position) always wins over a type error found later. Lexing and parsing are linear in time and
memory however long a string, comment, label or list is.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...errors import BadSyntax
from ..native import SURROGATE
from .encode import KEYWORDS

# ---------------------------------------------------------------------------------------------
# Syntax errors
# ---------------------------------------------------------------------------------------------


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
    """Parse the whole of ``text`` into a :class:`Node`; raises :class:`BadSyntax`."""
    p = _Parser(text)
    node = p.node()
    p.finish()
    return node
