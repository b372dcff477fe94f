"""Tests of the WAVE parser and canonical writer (values.py), against wave.md and rustc output."""

from __future__ import annotations

import math
import struct
import sys
import tracemalloc
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_hotupdate.errors import ValueTypeError, WaveSyntaxError
from pytest_hotupdate.strategies import values
from pytest_hotupdate.values import (
    PRIM_KINDS,
    EnumType,
    Err,
    FlagsType,
    Handle,
    HandleType,
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
    format_float,
    parse_wit,
    values_equal,
    wave_encode,
    wave_encode_params,
    wave_parse,
    wave_parse_params,
)

SYN = WaveSyntaxError
TYP = ValueTypeError


def roundtrip(type_text: str, text: str) -> str:
    ty = parse_wit(type_text)
    return wave_encode(ty, wave_parse(ty, text))


# ---------------------------------------------------------------------------------------------
# wave.md section 7: every example (⏎ = LF)
# ---------------------------------------------------------------------------------------------

REC26 = "record { must-have: u8, optional: option<u8> }"
VAR31 = "variant { empty, body(list<u8>), err(string), none }"

SECTION_7: list[tuple[str, str, str, Any]] = [
    ("1", "bool", "true", "true"),
    ("2", "s8", "-128", "-128"),
    ("3", "s32", "-0", "0"),
    ("4a", "u8", "-0", TYP),
    ("4b", "u8", "256", TYP),
    ("4c", "u8", "1.0", TYP),
    ("5", "u64", "18446744073709551615", "18446744073709551615"),
    ("6", "s64", "-9223372036854775808", "-9223372036854775808"),
    ("7", "f32", "3.14", "3.14"),
    ("8", "f64", "6.022e+23", "602200000000000000000000"),
    ("9", "f64", "1E-7", "0.0000001"),
    ("10", "f64", "-0.0", "-0"),
    ("11", "f32", "1e39", "inf"),
    ("12a", "f64", "nan", "nan"),
    ("12b", "f64", "-inf", "-inf"),
    ("13", "f32", "16777217", "16777216"),
    ("14", "char", "'\\u{1F600}'", "'😀'"),
    ("15", "char", "'\"'", "'\\\"'"),
    ("16", "char", "'\\''", "'\\''"),
    ("17", "char", "'\u0301'", "'\\u{301}'"),
    ("18", "string", "\"a'b\"", "\"a\\'b\""),
    ("19", "string", '"\\u{41}\\u{0041}"', '"AA"'),
    ("20", "string", '"""\n  a\n   b\n  """', '"a\\n b"'),
    ("21", "string", '"""\n  Must break up: ""\\"\n  """', '"Must break up: \\"\\"\\""'),
    ("22", "list<u8>", "[1,2,3,]", "[1, 2, 3]"),
    ("23", "list<string>", "[]", "[]"),
    ("24", "tuple<u8, string>", '(1, "a",)', '(1, "a")'),
    ("25", "tuple<u8>", "(1)", "(1)"),
    ("26", REC26, "{optional: 2, must-have: 1,}", "{must-have: 1, optional: some(2)}"),
    ("27", REC26, "{must-have: 1, optional: none}", "{must-have: 1}"),
    ("28", REC26, "{optional: none}", TYP),
    ("29a", "record { a: option<u8>, b: option<u8> }", "{:}", "{:}"),
    ("29b", "record { a: option<u8>, b: option<u8> }", "{a: none}", "{:}"),
    ("29c", "record { a: option<u8>, b: option<u8> }", "{}", TYP),
    (
        "30",
        "record { true: bool, some: option<u8>, ok: result }",
        "{true: true, some: 1, ok: ok}",
        "{true: true, some: some(1), ok: ok}",
    ),
    ("31a", VAR31, "body([79, 75])", "body([79, 75])"),
    ("31b", VAR31, "empty", "empty"),
    ("32a", VAR31, '%err("oops")', '%err("oops")'),
    ("32b", VAR31, "%none", "%none"),
    ("32c", VAR31, 'err("oops")', TYP),
    ("32d", VAR31, "none", TYP),
    ("33a", "variant { x(tuple<u8, u8>) }", "x((1, 2))", "x((1, 2))"),
    ("33b", "variant { x(tuple<u8, u8>) }", "x(1, 2)", SYN),
    ("34a", "enum { ok, not-found, HTTP3 }", "%ok", "%ok"),
    ("34b", "enum { ok, not-found, HTTP3 }", "%not-found", "not-found"),
    ("34c", "enum { ok, not-found, HTTP3 }", "HTTP3", "HTTP3"),
    ("34d", "enum { ok, not-found, HTTP3 }", "ok", TYP),
    ("35a", "option<u8>", "1", "some(1)"),
    ("35b", "option<u8>", "some(1)", "some(1)"),
    ("35c", "option<u8>", "none", "none"),
    ("36a", "option<option<u8>>", "some(none)", "some(none)"),
    ("36b", "option<option<u8>>", "some(1)", "some(some(1))"),
    ("36c", "option<option<u8>>", "1", TYP),
    ("37a", "option<result<u8>>", "ok(1)", TYP),
    ("37b", "option<result<u8>>", "some(ok(1))", "some(ok(1))"),
    ("38", "option<list<u8>>", "[1]", "some([1])"),
    ("39a", "result<u8, string>", "1", "ok(1)"),
    ("39b", "result<u8, string>", 'err("x")', 'err("x")'),
    ("39c", "result<u8, string>", '"x"', TYP),
    ("40a", "result<_, string>", "ok", "ok"),
    ("40b", "result<_, string>", "ok()", SYN),
    ("41", "result", "err", "err"),
    ("42a", "result<option<u8>>", "ok(1)", "ok(some(1))"),
    ("42b", "result<option<u8>>", "none", TYP),
    ("43a", "flags { read, write, exec }", "{exec, read,}", "{read, exec}"),
    ("43b", "flags { read, write, exec }", "{}", "{}"),
    ("44", "list<option<u32>>", "[none, some(1), 2]", "[none, some(1), some(2)]"),
    (
        "45",
        "list<tuple<char, f64>>",
        "[('a', 1.5), ('\\n', -0.0)]",
        "[('a', 1.5), ('\\n', -0)]",
    ),
    # 46: own/borrow are not representable in WAVE; this project writes handle(N).
    ("46a", "own<r>", "handle(3)", "handle(3)"),
    ("46b", "borrow<r>", "handle(0)", "handle(0)"),
    ("46c", "own<r>", "3", TYP),
    ("46d", "own<r>", "handle(-1)", TYP),
    ("46e", "borrow<r>", '"r"', TYP),
]


@pytest.mark.parametrize(
    "type_text,text,expected", [c[1:] for c in SECTION_7], ids=[c[0] for c in SECTION_7]
)
def test_section_7(type_text: str, text: str, expected: Any) -> None:
    if isinstance(expected, str):
        assert roundtrip(type_text, text) == expected
        # canonical output is a fixed point
        assert roundtrip(type_text, expected) == expected
    else:
        with pytest.raises(expected):
            roundtrip(type_text, text)
        if expected is TYP:
            # not a syntax error: the error class is exact, not WaveSyntaxError
            try:
                roundtrip(type_text, text)
            except WaveSyntaxError:  # pragma: no cover
                pytest.fail("type error reported as syntax error")
            except ValueTypeError:
                pass


def test_section_7_native_values() -> None:
    rec = parse_wit(REC26)
    assert wave_parse(rec, "{must-have: 1}") == {"must-have": 1, "optional": None}
    assert wave_parse(parse_wit("option<option<u8>>"), "some(none)") == Some(None)
    assert wave_parse(parse_wit("option<option<u8>>"), "some(1)") == Some(1)
    assert wave_parse(parse_wit("option<u8>"), "some(1)") == 1
    assert wave_parse(parse_wit(VAR31), "body([79, 75])") == Variant("body", b"OK")
    assert wave_parse(parse_wit(VAR31), "%none") == Variant("none")
    assert wave_parse(parse_wit("result<_, string>"), "ok") == Ok()
    assert wave_parse(parse_wit("result<u8, string>"), "1") == Ok(1)
    assert wave_parse(parse_wit("flags { read, write }"), "{write}") == frozenset({"write"})
    assert wave_parse(parse_wit("own<r>"), "handle(7)") == Handle(7)
    assert wave_parse(parse_wit("enum { ok, b }"), "%ok") == "ok"
    assert wave_parse(parse_wit("list<u8>"), "[1, 2]") == b"\x01\x02"


# ---------------------------------------------------------------------------------------------
# Section 1: lexical layer
# ---------------------------------------------------------------------------------------------

LEXICAL: list[tuple[str, str, Any]] = [
    # whitespace and comments
    ("u8", " \t\r\n1 \n", "1"),
    ("u8", "\u00a01", SYN),
    ("u8", "\u000c1", SYN),
    ("u8", "\ufeff1", SYN),
    ("list<u8>", "[1, // one\n 2 // two\n]", "[1, 2]"),
    ("u8", "// leading\n1 // trailing", "1"),
    ("u8", "/* c */ 1", SYN),
    ("string", '"a // b"', '"a // b"'),
    ("f64", "- inf", SYN),
    ("option<u8>", "% none", SYN),
    ("s8", "-  1", SYN),
    # numbers
    ("u8", "007", SYN),
    ("f64", "1.", SYN),
    ("f64", ".5", SYN),
    ("f64", "+1", SYN),
    ("f64", "1e05", "100000"),
    ("f64", "1E+2", "100"),
    ("f64", "-nan", SYN),
    ("f64", "NaN", SYN),
    ("f64", "Inf", SYN),
    ("f64", "infinity", TYP),
    ("f64", "inf", "inf"),
    ("u8", "0x1f", SYN),
    ("u32", "1_000", SYN),
    ("u8", "1e2", TYP),
    ("u8", "nan", TYP),
    ("s8", "-inf", TYP),
    ("f32", "1", "1"),
    ("f32", "1.000000059604644775390625000001", "1.0000001"),
    ("f32", "-1e-50", "-0"),
    ("f32", "1e-46", "0"),
    ("f32", "3.4028235677973366e38", "340282350000000000000000000000000000000"),
    ("f32", "3.4028235677973367e38", "inf"),
    ("f32", "340282356779733661637539395458142568448", "inf"),  # exact tie: to even
    ("f32", "3.4028235e38", "340282350000000000000000000000000000000"),
    ("f32", "1e99999999999", "inf"),
    ("f64", "1e99999999999", "inf"),
    ("f64", "-1e-99999999999", "-0"),
    ("f32", "1e" + "0" * 5000 + "1", "10"),
    ("f64", "1e" + "0" * 5000 + "1", "10"),
    ("f32", "1.000000059604644775390625" + "0" * 5000 + "1", "1.0000001"),
    ("f32", "1.000000059604644775390625" + "0" * 5000, "1"),
    ("u64", "1" * 5000, TYP),
    ("s8", "-" + "1" * 5000, TYP),
    # keywords and labels
    ("enum { some-thing, none-x, true-false }", "some-thing", "some-thing"),
    ("enum { some-thing, none-x, true-false }", "none-x", "none-x"),
    ("enum { some-thing, none-x, true-false }", "true-false", "true-false"),
    ("enum { color-42-2A-5d, a-9b }", "color-42-2A-5d", "color-42-2A-5d"),
    ("enum { color-42-2A-5d, a-9b }", "a-9b", "a-9b"),
    ("enum { HTTP3, method-GET }", "method-GET", "method-GET"),
    ("enum { HTTP3, method-GET }", "%HTTP3", "HTTP3"),
    ("enum { empty }", "Empty", SYN),
    ("enum { a }", "a-", SYN),
    ("enum { a }", "A", TYP),
    ("enum { true, inf, nan, some }", "%inf", "%inf"),
    ("enum { true, inf, nan, some }", "%true", "%true"),
    ("enum { true, inf, nan, some }", "nan", TYP),
    ("enum { true, inf, nan, some }", "some", SYN),
    ("bool", "%true", TYP),
    # chars
    ("char", "''", SYN),
    ("char", "'ab'", SYN),
    ("char", "'\u2603\ufe0e'", SYN),
    ("char", "'\n'", SYN),
    ("char", "'\\'", SYN),
    ("char", "'''", SYN),
    ("char", "'\t'", "'\\t'"),
    ("char", "'\r'", "'\\r'"),
    ("char", "'\\u{000041}'", "'A'"),
    ("char", "'\\u{D800}'", SYN),
    ("char", "'\\u{110000}'", SYN),
    ("char", "'\\u{1234567}'", SYN),
    ("char", "'\\0'", SYN),
    ("char", "'\\x1f'", SYN),
    ("char", "'😀'", "'😀'"),
    # strings
    ("string", '"a\nb"', SYN),
    ("string", '"a\\"', SYN),
    ("string", "\"'\t\r\u0007\"", "\"\\'\\t\\r\\u{7}\""),
    ("string", '"\\u{000041}"', '"A"'),
    ("string", '"\\0"', SYN),
    ("string", '"\\x1f"', SYN),
    ("string", '"\\u1f"', SYN),
    ("string", '"\\u{}"', SYN),
    ("string", '"\\z"', SYN),
    ("string", '"\\b"', SYN),
    ("string", '"\\f"', SYN),
    ("string", '"\\u{dfff}"', SYN),
    ("string", '"\\u{10FFFF}"', '"\\u{10ffff}"'),
    ("string", '""', '""'),
    # multiline strings
    ("string", '"""\n"""', '""'),
    ("string", '""" \n  a\n  """', SYN),
    ("string", '"""a\n"""', SYN),
    ("string", '"""\n  a\n\t"""', SYN),
    ("string", '"""\n  a\n\n  b\n  """', SYN),
    ("string", '"""\n  a\n  \n  b\n  """', '"a\\n\\nb"'),
    ("string", '"""\r\n  a\r\n  b\r\n  """', '"a\\nb"'),
    ("string", '"""\n  a\\r\n  """', '"a\\r"'),
    ("string", '"""\n  \t"x\'\n  """', '"\\t\\"x\\\'"'),
    ("string", '"""\n a\n  """', SYN),
    ("string", '"""\n  a\\z\n  """', SYN),
    ("string", '"""\n  a\n  ', SYN),
    ("string", '"""\n  \\u{41}\n"""', '"  A"'),
    ("list<string>", '["""\n  a\n  """, "b"]', '["a", "b"]'),
    ("string", '"""\n  a\ud800\n  """', SYN),
    ("string", '"a\ud800"', SYN),
    ("char", "'\udc00'", SYN),
]


@pytest.mark.parametrize("type_text,text,expected", LEXICAL)
def test_lexical(type_text: str, text: str, expected: Any) -> None:
    if isinstance(expected, str):
        assert roundtrip(type_text, text) == expected
    else:
        with pytest.raises(expected):
            roundtrip(type_text, text)


def test_nesting_limit() -> None:
    ty: WitType = Prim("u8")
    for _ in range(99):
        ty = ListType(ty)
    ok = "[" * 99 + "1" + "]" * 99  # 100 value nodes counting the leaf
    assert roundtrip(ty.wit(), ok) == ok
    deeper = ListType(ty)
    with pytest.raises(WaveSyntaxError, match="value nesting too deep"):
        wave_parse(deeper, "[" * 100 + "1" + "]" * 100)
    # the limit is syntactic: it holds whatever the type
    with pytest.raises(WaveSyntaxError, match="value nesting too deep"):
        wave_parse(Prim("u8"), "[" * 150 + "]" * 150)


def test_syntax_error_position_and_message() -> None:
    with pytest.raises(WaveSyntaxError) as info:
        wave_parse(parse_wit("list<u8>"), "[1, 2 3]")
    assert info.value.position == 6
    assert str(info.value) == "unexpected token '3' at column 7"
    assert "\n" not in str(info.value)
    with pytest.raises(WaveSyntaxError) as info:
        wave_parse(parse_wit("list<u8>"), "[1,\n  @]")
    assert info.value.position == 6
    assert "at line 2, column 3" in str(info.value)
    assert info.value.text == "[1,\n  @]"


# ---------------------------------------------------------------------------------------------
# Section 2: syntax
# ---------------------------------------------------------------------------------------------

SYNTAX: list[tuple[str, str, Any]] = [
    ("list<u8>", "[,]", SYN),
    ("list<u8>", "[1 2]", SYN),
    ("list<u8>", "[1,,]", SYN),
    ("list<u8>", "[1", SYN),
    ("tuple<u8>", "()", SYN),
    ("tuple<u8, u8>", "(1, 2,)", "(1, 2)"),
    ("tuple<u8>", "1", TYP),
    ("record { a: u8, b: u8 }", "{a: 1 b: 2}", "{a: 1, b: 2}"),
    ("flags { read, write }", "{read write}", "{read, write}"),
    ("record { a: u8 }", "{,}", SYN),
    ("record { a: u8 }", "{a: 1,,}", SYN),
    ("record { a: u8 }", "{a 1}", SYN),
    ("record { a: u8 }", "{a: 1, a: 2}", SYN),
    ("record { a: u8 }", "{a: 1, %a: 2}", SYN),
    ("record { a: u8 }", "{ : }", TYP),  # {:} is a record, but `a` is missing
    ("record { a: option<u8> }", "{ : }", "{:}"),
    ("record { a: option<u8> }", "{:,}", SYN),
    ("record { true: u8, none: u8 }", "{true: 1, none: 2}", "{true: 1, none: 2}"),
    ("record { true: u8, none: u8 }", "{%true: 1, %none: 2}", "{true: 1, none: 2}"),
    ("flags { read, write }", "{read, read}", SYN),
    ("flags { read, write }", "{read, %read}", SYN),
    ("flags { read, write }", "{%read}", TYP),
    ("flags { true, none }", "{true, none}", "{true, none}"),
    ("option<u8>", "some", SYN),
    ("option<u8>", "some()", SYN),
    ("option<u8>", "none()", SYN),
    ("option<u8>", "some (1)", "some(1)"),
    ("option<u8>", "some(1, 2)", SYN),
    ("result<u8>", "ok()", SYN),
    ("result<u8>", "ok (1)", "ok(1)"),
    ("result<_, u8>", "err( 1 )", "err(1)"),
    ("variant { x(u8), y }", "x (1)", "x(1)"),
    ("variant { x(u8), y }", "x()", SYN),
    ("variant { x(u8), y }", "y()", SYN),
    ("variant { x(u8), y }", "%x(1)", "x(1)"),
    ("variant { x(u8), y }", "x", TYP),
    ("variant { x(u8), y }", "y(1)", TYP),
    ("variant { x(u8), y }", "z", TYP),
    ("u8", "1 2", SYN),
    ("u8", "1,", SYN),
    ("u8", "", SYN),
    ("u8", "// only a comment", SYN),
    ("u8", '"x" 1', SYN),  # trailing characters win over the type error here
    ("list<u8>", "[1] @", SYN),
    ("list<u8>", "[1]]", SYN),
    ("u8", ")", SYN),
]


@pytest.mark.parametrize("type_text,text,expected", SYNTAX)
def test_syntax(type_text: str, text: str, expected: Any) -> None:
    if isinstance(expected, str):
        assert roundtrip(type_text, text) == expected
    else:
        with pytest.raises(expected):
            roundtrip(type_text, text)


def test_syntax_error_wins_over_type_error() -> None:
    # `x(1, 2)` is a syntax error even though the type (u8) would reject it anyway.
    with pytest.raises(WaveSyntaxError):
        wave_parse(Prim("u8"), "x(1, 2)")
    with pytest.raises(WaveSyntaxError):
        wave_parse(Prim("string"), "[1 2]")


# ---------------------------------------------------------------------------------------------
# Section 3 / 6: type-directed conversion
# ---------------------------------------------------------------------------------------------

TYPED: list[tuple[str, str, Any]] = [
    ("record { must-have: u8 }", '{must-have: 1, extra: "x"}', "{must-have: 1}"),
    ("record { must-have: u8 }", '{must-have: 1, extra: "\\u{d800}"}', "{must-have: 1}"),
    ("record { a: u8 }", "{}", TYP),
    ("record {}", "{:}", "{:}"),
    ("tuple<u8, u8>", "(1)", TYP),
    ("tuple<u8, u8>", "(1, 2, 3)", TYP),
    ("list<u8>", "(1)", TYP),
    ("option<variant { none, b }>", "none", "none"),
    ("option<variant { none, b }>", "%none", "some(%none)"),
    ("option<variant { none, b }>", "b", "some(b)"),
    ("option<option<u8>>", "none", "none"),
    ("option<option<u8>>", "some(some(1))", "some(some(1))"),
    ("option<result<u8>>", "some(ok(1))", "some(ok(1))"),
    ("option<result<u8>>", "none", "none"),
    ("result<option<u8>>", "ok(none)", "ok(none)"),
    ("result<u8, u8>", "2", "ok(2)"),
    ("result<_, u8>", "2", TYP),
    ("result<u8>", "err", "err"),
    ("result<u8>", "err(1)", TYP),
    ("result<u8>", "ok", TYP),
    ("result<result<u8>>", "1", TYP),
    ("result<result<u8>>", "ok(1)", "ok(ok(1))"),  # the payload of ok(...) may be bare
    ("result<result<u8>>", "ok(ok(1))", "ok(ok(1))"),
    ("list<option<u8>>", "[some(none)]", TYP),
    ("f64", "1", "1"),
    ("f64", "-0", "-0"),
    ("f32", "nan", "nan"),
    ("s8", "-0", "0"),
    ("u64", "18446744073709551616", TYP),
    ("s64", "-9223372036854775809", TYP),
    ("s16", "1.5", TYP),
    ("char", '"a"', TYP),
    ("string", "'a'", TYP),
    ("bool", "1", TYP),
    ("u8", "true", TYP),
    ("flags { read }", "{write}", TYP),
    ("flags { read }", "{read: 1}", TYP),
    ("enum { a, b }", "a(1)", TYP),
    ("enum { a, b }", "c", TYP),
    ("enum { a, b }", '"a"', TYP),
    ("variant { a(u8) }", "%a(1)", "a(1)"),
]


@pytest.mark.parametrize("type_text,text,expected", TYPED)
def test_typed(type_text: str, text: str, expected: Any) -> None:
    if isinstance(expected, str):
        assert roundtrip(type_text, text) == expected
    else:
        with pytest.raises(expected):
            roundtrip(type_text, text)


def test_type_error_paths_and_messages() -> None:
    ty = parse_wit("record { name: string, price-cents: u32 }")
    with pytest.raises(ValueTypeError) as info:
        wave_parse(ty, '{name: "a", price-cents: "x"}')
    assert info.value.path == ".price-cents"
    assert info.value.expected == "u32"
    assert str(info.value) == 'value.price-cents: expected u32, got "x" (at column 26)'
    with pytest.raises(ValueTypeError) as info:
        wave_parse(parse_wit("list<u8>"), "[1, 2, 300]")
    assert info.value.path == "[2]"
    assert "expected u8 (0..255), got 300" in str(info.value)
    with pytest.raises(ValueTypeError, match='missing field "must-have"'):
        wave_parse(parse_wit(REC26), "{optional: none}")
    with pytest.raises(ValueTypeError) as info:
        wave_parse(parse_wit("result<list<u8>, string>"), "ok([1, -1])")
    assert info.value.path == "(ok)[1]"
    with pytest.raises(ValueTypeError, match="missing payload"):
        wave_parse(parse_wit(VAR31), "body")
    with pytest.raises(ValueTypeError, match="unexpected payload"):
        wave_parse(parse_wit(VAR31), "empty(1)")
    with pytest.raises(ValueTypeError, match='unknown case "%read"'):
        wave_parse(parse_wit("flags { read }"), "{%read}")


# ---------------------------------------------------------------------------------------------
# Section 4: the canonical writer
# ---------------------------------------------------------------------------------------------


def test_writer_details() -> None:
    rec = parse_wit("record { true: bool, ok: result, none: option<u8>, x: option<option<u8>> }")
    value = {"true": False, "ok": Ok(), "none": None, "x": Some(None)}
    assert wave_encode(rec, value) == "{true: false, ok: ok, x: some(none)}"
    assert wave_encode(parse_wit("record { a: option<u8> }"), {"a": None}) == "{:}"
    assert wave_encode(parse_wit("record { a: option<u8> }"), {}) == "{:}"
    var = parse_wit("variant { none-x, none, inf(u8) }")
    assert wave_encode(var, Variant("none-x")) == "none-x"
    assert wave_encode(var, Variant("none")) == "%none"
    assert wave_encode(var, Variant("inf", 1)) == "%inf(1)"
    assert wave_encode(parse_wit("enum { nan, b }"), "nan") == "%nan"
    flags = parse_wit("flags { z, a, m }")
    assert wave_encode(flags, {"a", "z", "m"}) == "{z, a, m}"
    assert wave_encode(flags, frozenset()) == "{}"
    assert wave_encode(parse_wit("tuple<u8>"), (1,)) == "(1)"
    assert wave_encode(parse_wit("list<u8>"), b"") == "[]"
    assert wave_encode(parse_wit("option<u8>"), Some(1)) == "some(1)"
    assert wave_encode(parse_wit("result<u8, u8>"), Err(2)) == "err(2)"
    assert wave_encode(parse_wit("own<r>"), Handle(12)) == "handle(12)"


ESCAPES = [
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("'", "\\'"),
    ("\t", "\\t"),
    ("\r", "\\r"),
    ("\n", "\\n"),
    ("\x00", "\\u{0}"),
    ("\x1b", "\\u{1b}"),
    ("\x7f", "\\u{7f}"),
    ("\x85", "\\u{85}"),
    ("\u0301", "\\u{301}"),
    ("\ufe0e", "\\u{fe0e}"),
    ("\u09be", "\\u{9be}"),  # Other_Grapheme_Extend, category Mc
    ("\u0cc0", "\\u{cc0}"),  # Grapheme_Extend since Unicode 16 (rustc 1.95 escapes it)
    ("\u00a0", "\\u{a0}"),
    ("\u00ad", "\\u{ad}"),
    ("\u200b", "\\u{200b}"),
    ("\u2028", "\\u{2028}"),
    ("\ue000", "\\u{e000}"),
    ("\ufeff", "\\u{feff}"),
    ("\U000e0041", "\\u{e0041}"),
    (" ", " "),
    ("a", "a"),
    ("é", "é"),
    ("😀", "😀"),
    ("\u2603", "\u2603"),
    ("\u0903", "\u0903"),  # Mc, not grapheme-extending: raw
]


@pytest.mark.parametrize("ch,escaped", ESCAPES)
def test_char_and_string_escaping(ch: str, escaped: str) -> None:
    assert wave_encode(Prim("char"), ch) == f"'{escaped}'"
    assert wave_encode(Prim("string"), f"x{ch}y") == f'"x{escaped}y"'
    assert wave_parse(Prim("char"), f"'{escaped}'") == ch
    assert wave_parse(Prim("string"), f'"x{escaped}y"') == f"x{ch}y"


def test_writer_rejects_invalid_values() -> None:
    with pytest.raises(ValueTypeError) as info:
        wave_encode(parse_wit("list<record { a: u8 }>"), [{"a": 1}, {"a": 256}])
    assert info.value.path == "[1].a"
    with pytest.raises(ValueTypeError):
        wave_encode(Prim("char"), "ab")
    with pytest.raises(ValueTypeError):
        wave_encode(Prim("string"), "\ud800")
    with pytest.raises(ValueTypeError):
        wave_encode(parse_wit("option<option<u8>>"), 1)
    with pytest.raises(ValueTypeError):
        wave_encode(parse_wit("flags { a }"), {"b"})
    with pytest.raises(ValueTypeError):
        wave_encode(parse_wit("record { a: u8 }"), {"a": 1, "b": 2})
    with pytest.raises(ValueTypeError):
        wave_encode(parse_wit("own<r>"), 3)


# ---------------------------------------------------------------------------------------------
# Floats: Rust Display, checked with rustc 1.95 (`format!("{}", f32::from_bits(..))`)
# ---------------------------------------------------------------------------------------------


def _z(n: int, digits: str) -> str:
    return "0." + "0" * n + digits


RUST_FLOATS = [
    ("f32", 0x49D787EA, "1765629.3"),  # 1765629.25: a tie, Rust rounds up (Python repr: .2)
    ("f32", 0x7F7FFFFF, "340282350000000000000000000000000000000"),
    ("f32", 0x00000001, "0.000000000000000000000000000000000000000000001"),
    ("f32", 0x80000000, "-0"),
    ("f32", 0x4048F5C3, "3.14"),
    ("f32", 0x4B800000, "16777216"),
    ("f32", 0x3DCCCCCD, "0.1"),
    ("f32", 0x33D6BF95, "0.0000001"),
    ("f32", 0x00800000, "0.000000000000000000000000000000000000011754944"),
    ("f32", 0x007FFFFF, "0.000000000000000000000000000000000000011754942"),
    ("f32", 0x3F800001, "1.0000001"),
    ("f32", 0x71800000, "1267650600000000000000000000000"),
    ("f32", 0x49D785EA, "1765565.3"),
    ("f32", 0xC0200000, "-2.5"),
    ("f32", 0x501502F9, "10000000000"),
    ("f32", 0x4CEB79A3, "123456790"),
    ("f32", 0xFF7FFFFF, "-340282350000000000000000000000000000000"),
    ("f32", 0x00000002, "0.000000000000000000000000000000000000000000003"),
    ("f32", 0x3E99999A, "0.3"),
    ("f32", 0x42C80000, "100"),
    ("f32", 0x7F800000, "inf"),
    ("f32", 0xFF800000, "-inf"),
    ("f32", 0x7FC00001, "nan"),
    ("f64", 0x44DFE154F457EA13, "602200000000000000000000"),
    ("f64", 0x3E7AD7F29ABCAF48, "0.0000001"),
    ("f64", 0xBDE49DA7E361CE4C, "-0.00000000015"),
    ("f64", 0x3FB999999999999A, "0.1"),
    ("f64", 0x0000000000000001, _z(323, "5")),
    ("f64", 0x0000000000000003, _z(322, "15")),
    ("f64", 0x7FEFFFFFFFFFFFFF, "17976931348623157" + "0" * 292),
    ("f64", 0x0010000000000000, _z(307, "22250738585072014")),
    ("f64", 0x000FFFFFFFFFFFFF, _z(307, "2225073858507201")),
    ("f64", 0x0018000000000000, _z(307, "3337610787760802")),
    ("f64", 0x42E2804ACEFFA274, "162737761549587.63"),  # tie: Python repr gives .62
    ("f64", 0x4317EC9D73EC28D1, "1683521365805620.3"),  # tie: Python repr gives .2
    ("f64", 0x43B0000000000000, "1152921504606847000"),
    ("f64", 0x44B52D02C7E14AF6, "100000000000000000000000"),
    ("f64", 0x3FD5555555555555, "0.3333333333333333"),
    ("f64", 0xBFF0000000000000, "-1"),
    ("f64", 0x3FD3333333333334, "0.30000000000000004"),
    ("f64", 0x444B1AE4D6E2EF50, "1000000000000000000000"),
    ("f64", 0x405EDD2F1A9FBE77, "123.456"),
    ("f64", 0x8000000000000000, "-0"),
    ("f64", 0x7FF8000000000000, "nan"),
    ("f64", 0xFFF0000000000000, "-inf"),
]


def _from_bits(kind: str, bits: int) -> float:
    if kind == "f32":
        return struct.unpack("<f", struct.pack("<I", bits))[0]  # type: ignore[no-any-return]
    return struct.unpack("<d", struct.pack("<Q", bits))[0]  # type: ignore[no-any-return]


def _bits(kind: str, x: float) -> int:
    if kind == "f32":
        return struct.unpack("<I", struct.pack("<f", x))[0]  # type: ignore[no-any-return]
    return struct.unpack("<Q", struct.pack("<d", x))[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "kind,bits,text", RUST_FLOATS, ids=[f"{k}-{b:x}" for k, b, _ in RUST_FLOATS]
)
def test_rust_float_display(kind: str, bits: int, text: str) -> None:
    x = _from_bits(kind, bits)
    assert format_float(x, kind) == text
    assert wave_encode(Prim(kind), x) == text
    back = wave_parse(Prim(kind), text)
    if math.isnan(x):
        assert math.isnan(back)
    else:
        assert _bits(kind, back) == bits


def test_f32_values_are_rounded_to_f32_before_formatting() -> None:
    assert wave_encode(Prim("f32"), 0.1) == "0.1"
    assert wave_encode(Prim("f32"), 1e39) == "inf"
    assert wave_encode(Prim("f32"), 3) == "3"
    assert wave_encode(Prim("f64"), 0.1) == "0.1"


def _interval(kind: str, bits: int) -> tuple[Fraction, Fraction, bool]:
    """Rust's rounding interval of a positive finite float (flt2dec::decoder)."""
    frac_bits, bias = (23, 150) if kind == "f32" else (52, 1075)
    e, f = bits >> frac_bits, bits & ((1 << frac_bits) - 1)
    if e == 0:
        mant, exp, minus, plus = f << 1, -bias, 1, 1
        inclusive = True
    else:
        mant, exp = f | (1 << frac_bits), e - bias
        inclusive = mant % 2 == 0
        if f == 0:
            mant, minus, plus, exp = mant << 2, 1, 2, exp - 2
        else:
            mant, minus, plus, exp = mant << 1, 1, 1, exp - 1
    scale = Fraction(2) ** exp
    return (mant - minus) * scale, (mant + plus) * scale, inclusive


def _check_shortest(kind: str, bits: int) -> None:
    x = _from_bits(kind, bits)
    if not math.isfinite(x) or x == 0:
        return
    text = format_float(x, kind)
    assert "e" not in text and not text.endswith(".0")
    back = wave_parse(Prim(kind), text)
    assert _bits(kind, back) == bits, (hex(bits), text)  # round-trips bit-exact
    value = Fraction(text)
    lo, hi, inclusive = _interval(kind, bits & ~(1 << (31 if kind == "f32" else 63)))
    v = abs(Fraction(x))
    inside = (lambda d: lo <= d <= hi) if inclusive else (lambda d: lo < d < hi)
    assert inside(abs(value))
    # shortest: no decimal with one significant digit fewer lies inside the interval
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0")
    n = len(digits)
    if n > 1:
        unit = unit_for(v, n - 1)
        below = (v // unit) * unit
        for cand in (below, below + unit):
            assert not inside(cand), (hex(bits), text, cand)
    # nearest among the candidates of that length, ties to the larger magnitude
    unit_n = unit_for(v, n)
    below_n = (v // unit_n) * unit_n
    cands = [c for c in (below_n, below_n + unit_n) if inside(c)]
    best = min(cands, key=lambda c: (abs(c - v), -c))
    assert abs(value) == best, (hex(bits), text, best)


def unit_for(v: Fraction, n: int) -> Fraction:
    k = 0
    while Fraction(10) ** (k + 1) <= v:
        k += 1
    while Fraction(10) ** k > v:
        k -= 1
    return Fraction(10) ** (k - (n - 1))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_f32_shortest_round_trip(bits: int) -> None:
    _check_shortest("f32", bits)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_f64_shortest_round_trip(bits: int) -> None:
    _check_shortest("f64", bits)


@pytest.mark.parametrize("exponent", range(0, 255, 7))
def test_f32_powers_of_two_and_neighbours(exponent: int) -> None:
    for bits in (exponent << 23, (exponent << 23) | 1, ((exponent + 1) << 23) - 1):
        _check_shortest("f32", bits)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**8))
def test_f32_quarter_values(n: int) -> None:
    # values with few decimal digits hit exact ties; Rust picks the larger candidate
    x = n / 4
    if x < 2**24:
        _check_shortest("f32", _bits("f32", x))


def test_f32_parse_rounds_once() -> None:
    # halfway between 1.0 and the next f32, plus a tiny bit: must round up (double rounding
    # through f64 would give 1.0)
    assert _bits("f32", wave_parse(Prim("f32"), "1.000000059604644775390625000001")) == 0x3F800001
    assert _bits("f32", wave_parse(Prim("f32"), "1.000000059604644775390625")) == 0x3F800000
    assert _bits("f32", wave_parse(Prim("f32"), "1.00000017881393432617187500")) == 0x3F800002
    assert _bits("f32", wave_parse(Prim("f32"), "7.006492321624085e-46")) == 0  # half of min: even
    assert _bits("f32", wave_parse(Prim("f32"), "7.0064923216240862e-46")) == 1
    negative_zero = wave_parse(Prim("f32"), "-0")
    assert negative_zero == 0 and math.copysign(1, negative_zero) < 0


# ---------------------------------------------------------------------------------------------
# Parameters (golem-cli style)
# ---------------------------------------------------------------------------------------------


def test_params() -> None:
    params = [("by", Prim("u64")), ("item", parse_wit("record { price-cents: u32 }")),
              ("note", OptionType(Prim("string")))]
    values = wave_parse_params(params, ["5", "{price-cents: 3}", 'some("x")'])
    assert values == [5, {"price-cents": 3}, "x"]
    assert wave_encode_params(params, values) == ["5", "{price-cents: 3}", 'some("x")']
    assert wave_parse_params(params, ["5", "{price-cents: 3}"]) == [5, {"price-cents": 3}, None]
    with pytest.raises(ValueTypeError, match="param `item`: missing argument"):
        wave_parse_params(params, ["5"])
    with pytest.raises(ValueTypeError, match="more arguments"):
        wave_parse_params(params, ["1", "{price-cents: 1}", "none", "1"])
    with pytest.raises(ValueTypeError) as info:
        wave_parse_params(params, ["-1", "{price-cents: 3}"])
    assert info.value.path == "param `by`"
    assert str(info.value).startswith("param `by`: expected u64 (0..18446744073709551615), got -1")
    with pytest.raises(ValueTypeError) as info:
        wave_parse_params(params, ["1", '{price-cents: "3"}'])
    assert info.value.path == "param `item`.price-cents"
    with pytest.raises(WaveSyntaxError, match=r"^param `by`: unexpected end of input at column 1$"):
        wave_parse_params(params, ["", ""])
    with pytest.raises(ValueTypeError) as info:
        wave_encode_params(params, [1, {"price-cents": -3}, None])
    assert info.value.path == "param `item`.price-cents"
    with pytest.raises(ValueTypeError):
        wave_encode_params(params, [1])


# ---------------------------------------------------------------------------------------------
# Hypothesis: generated types and values
# ---------------------------------------------------------------------------------------------

_words = st.from_regex(r"[a-z][a-z0-9]{0,3}|[A-Z][A-Z0-9]{0,2}", fullmatch=True)
_labels = st.one_of(
    st.sampled_from(["true", "false", "some", "none", "ok", "err", "inf", "nan", "none-x",
                     "a-9b", "HTTP3", "method-GET"]),
    st.lists(_words, min_size=1, max_size=3).map("-".join).filter(
        lambda s: all(w.islower() or w.isupper() or w.isdigit() for w in s.split("-"))
    ),
)
_names = st.lists(_labels, min_size=1, max_size=4, unique=True)

_leaves = st.one_of(
    st.sampled_from(PRIM_KINDS).map(Prim),
    _names.map(lambda ns: EnumType(tuple(ns))),
    st.lists(_labels, max_size=4, unique=True).map(lambda ns: FlagsType(tuple(ns))),
    st.booleans().map(lambda own: HandleType(own, "r")),
)


def _extend(children: st.SearchStrategy[WitType]) -> st.SearchStrategy[WitType]:
    maybe = st.one_of(st.none(), children)
    return st.one_of(
        children.map(ListType),
        children.map(OptionType),
        st.lists(children, min_size=1, max_size=3).map(lambda ts: TupleType(tuple(ts))),
        _names.flatmap(
            lambda ns: st.lists(children, min_size=len(ns), max_size=len(ns)).map(
                lambda ts: RecordType(tuple(zip(ns, ts)))
            )
        ),
        _names.flatmap(
            lambda ns: st.lists(maybe, min_size=len(ns), max_size=len(ns)).map(
                lambda ts: VariantType(tuple(zip(ns, ts)))
            )
        ),
        st.tuples(maybe, maybe).map(lambda p: ResultType(*p)),
    )


wit_types = st.recursive(_leaves, _extend, max_leaves=6)

values_of = values


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_wave_round_trip(data: st.DataObject) -> None:
    ty = data.draw(wit_types, label="type")
    value = data.draw(values_of(ty), label="value")
    text = wave_encode(ty, value)
    back = wave_parse(ty, text)
    assert values_equal(ty, value, back), (ty.wit(), text, value, back)
    assert wave_encode(ty, back) == text
    assert parse_wit(ty.wit()) == ty


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_wave_parse_tolerates_whitespace_and_comments(data: st.DataObject) -> None:
    ty = data.draw(wit_types, label="type")
    value = data.draw(values_of(ty), label="value")
    text = wave_encode(ty, value)
    # spaces may go between any two tokens: after each separator, and around the value
    spaced = " // c\n" + text.replace(", ", " ,\t").replace(": ", " :\n ") + " \r\n// end"
    if '"' in text or "'" in text:
        spaced = " " + text + " \n"  # separators may be inside strings
    assert wave_encode(ty, wave_parse(ty, spaced)) == text


# ---------------------------------------------------------------------------------------------
# Large values (issue 12): parsing and writing are linear in time and memory, nesting is bounded
# (speed targets live in bench/wave_bench.py; these check values, errors and memory only)
# ---------------------------------------------------------------------------------------------

STRING = Prim("string")
BYTES = ListType(Prim("u8"))
_LINE = 'a line of text with \\"quotes\\", a tab\\t, a backslash \\\\ and more. '
_LINE_VALUE = 'a line of text with "quotes", a tab\t, a backslash \\ and more. '


def _peak_bytes(text: str, ty: WitType = STRING) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        value = wave_parse(ty, text)
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_20_mb_string_parses_to_its_value() -> None:
    count = 20_000_000 // (len(_LINE) + 2)
    assert wave_parse(STRING, '"' + (_LINE + "\\n") * count + '"') == (_LINE_VALUE + "\n") * count
    plain = "x" * 20_000_000
    assert wave_parse(STRING, f'"{plain}"') == plain
    # WAVE-only escapes (`\'`, `\u{...}`) and raw TAB, CR and non-ASCII take the other path
    wave_only = "it\\'s \\u{1F600} \\u{e9}\t\r é 😀 // "
    expected = "it's 😀 é\t\r é 😀 // " * 200_000
    assert wave_parse(STRING, '"' + wave_only * 200_000 + '"') == expected


def test_large_multiline_string_parses_to_its_value() -> None:
    text = '"""\n' + "    a \\u{41} line\r\n" * 300_000 + '    """'
    assert wave_parse(STRING, text) == "\n".join(["a A line"] * 300_000)


def test_string_parse_memory_is_linear() -> None:
    # used to be ~300 bytes per character in the `(?:char|escape)*` regex (6.6 GB for 20 MB)
    for text in (
        '"' + (_LINE + "\\n") * 5_000 + '"',
        '"' + "it\\'s \\u{1F600} " * 20_000 + '"',
        '"""\n' + "  a\\u{41}\n" * 20_000 + '  """',
        "// comment\n" * 20_000 + " \t\r\n" * 20_000 + '"x"',
    ):
        value, peak = _peak_bytes(text)
        assert len(value) > 0
        # a str holds 1 to 4 bytes per character: compare with the larger of text and value
        assert peak <= 3 * max(sys.getsizeof(text), sys.getsizeof(value)), (text[:30], peak)


def test_errors_in_large_strings_keep_their_positions() -> None:
    big = "x" * 10_000_000
    with pytest.raises(WaveSyntaxError) as info:  # an invalid escape makes the token invalid
        wave_parse(STRING, f'"{big}\\z"')
    assert str(info.value) == "invalid token '\"' at column 1"
    with pytest.raises(WaveSyntaxError) as info:  # a scalar value is checked when decoded
        wave_parse(STRING, f'"{big}\\u{{D800}}"')
    assert str(info.value) == "invalid character escape at column 10000002"
    with pytest.raises(WaveSyntaxError) as info:
        wave_parse(STRING, f'"{big}" "{big}"')
    assert str(info.value) == "trailing characters '\"xxxxxxxxxxxxxxxx...' at column 10000004"
    with pytest.raises(WaveSyntaxError) as info:
        wave_parse(STRING, f'"""\n  {big}\n x\n  """')
    assert "lines must be indented" in str(info.value) and "at line 3, column 1" in str(info.value)
    with pytest.raises(ValueTypeError) as info:
        wave_parse(Prim("u8"), f'"{big}"')
    assert str(info.value) == 'value: expected u8, got "' + "x" * 36 + '... (at column 1)'


def test_1m_element_list_u8_parses_to_its_value() -> None:
    data = bytes(i % 256 for i in range(1_000_000))
    assert wave_parse(BYTES, wave_encode(BYTES, data)) == data
    assert wave_parse(BYTES, "[" + ",\n  ".join(map(str, data)) + ",\n]") == data
    commented = "[" + " , // byte\n".join(map(str, data[:100_000])) + "]"
    assert wave_parse(BYTES, commented) == data[:100_000]
    numbers = list(range(-100_000, 100_000, 3))
    assert wave_parse(ListType(Prim("s32")), str(numbers)) == numbers
    assert wave_parse(ListType(Prim("f64")), str(numbers)) == [float(n) for n in numbers]
    text = wave_encode(BYTES, data[:200_000])
    _, peak = _peak_bytes(text, BYTES)
    assert peak <= 3 * len(text)


def test_errors_in_large_lists_name_the_element() -> None:
    items = [str(i % 256) for i in range(1_000_000)]
    items[700_000] = "256"
    text = "[" + ", ".join(items) + "]"
    with pytest.raises(ValueTypeError) as info:
        wave_parse(BYTES, text)
    column = text.index(", 256, ") + 3
    assert str(info.value) == f"value[700000]: expected u8 (0..255), got 256 (at column {column})"
    items[700_000] = "-0"
    with pytest.raises(ValueTypeError, match=r"value\[700000\]: expected u8 \(0\.\.255\), got -0"):
        wave_parse(BYTES, "[" + ", ".join(items) + "]")
    items[700_000] = "1 2"
    with pytest.raises(WaveSyntaxError, match="unexpected token '2'"):
        wave_parse(BYTES, "[" + ", ".join(items) + "]")


@pytest.mark.parametrize(
    "opening,closing",
    [("[", "]"), ("(", ")"), ("some(", ")"), ("ok(", ")"), ("x(", ")"), ("{a: ", "}")],
)
def test_deep_nesting_is_a_syntax_error(opening: str, closing: str) -> None:
    # never a RecursionError, whatever the depth or the type
    for depth in (101, 100_000):
        with pytest.raises(WaveSyntaxError, match="value nesting too deep"):
            wave_parse(Prim("u8"), opening * depth + "1" + closing * depth)


def _encode_peak(ty: WitType, value: Any) -> tuple[str, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        text = wave_encode(ty, value)
        return text, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_large_values_encode_in_linear_memory_and_round_trip() -> None:
    piece = 'é 😀 "q" \\ \t\r\n \x00 \x7f \x85 \u0301 \u00a0 plain text '
    ascii_piece = 'plain "q" \\ \t\r\n \x00 \x1f text '
    for text_piece, count in ((piece, 5_000), (ascii_piece, 20_000)):  # several 64K slices
        value = text_piece * count
        text, peak = _encode_peak(STRING, value)
        # used to be 8 bytes per character (one list slot each) plus the copies
        assert peak <= 3 * sys.getsizeof(text), (text_piece, peak)
        # escaped in slices: the same text as escaping each piece on its own
        assert text == '"' + wave_encode(STRING, text_piece)[1:-1] * count + '"'
        assert wave_parse(STRING, text) == value
    data = bytes(range(256)) * 1_000
    text, peak = _encode_peak(BYTES, data)
    assert text == "[" + ", ".join(map(str, data)) + "]"
    assert peak <= 3 * sys.getsizeof(text)


_LITERAL_PIECES = st.sampled_from([
    "a", " ", "\t", "\r", "\n", "'", "é", "😀", "\ud800", "\x00", "\x7f", "//", "\\n", "\\t", "\\r",
    '\\"', "\\'", "\\\\", "\\/", "\\b", "\\f", "\\z", "\\u0041", "\\u{41}", "\\u{1F600}",
    "\\u{d800}", "\\u{110000}", "\\u{", "\\u{}",
])


def _outcome(ty: WitType, text: str) -> Any:
    try:
        return wave_parse(ty, text)
    except (WaveSyntaxError, ValueTypeError) as error:
        return (type(error).__name__, str(error))


@settings(max_examples=400, deadline=None)
@given(st.lists(_LITERAL_PIECES, max_size=12))
def test_string_literal_paths_agree(pieces: list[str]) -> None:
    # A literal whose escapes are JSON's goes through JSON's scanner; `\u{41}` is WAVE-only and
    # sends the same literal through the WAVE regex and decoder: same value, or the same error.
    content = "".join(pieces)
    fast, wave = _outcome(STRING, f'"{content}"'), _outcome(STRING, f'"{content}\\u{{41}}"')
    assert wave == (fast + "A" if isinstance(fast, str) else fast)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["0", "1", "255", "256", "-0", "-1", "-129", "4294967296", "1.5",
                              "1" * 21, "none"]), max_size=12),
    st.sampled_from(["list<u8>", "list<s8>", "list<u32>", "list<s64>", "list<f64>",
                     "list<option<u8>>"]),
)
def test_integer_runs_agree_with_elements(items: list[str], type_text: str) -> None:
    # `1, 2, ` runs are one node converted in one go; a comment before each comma makes every
    # element its own node: same value, or the same error at the same element
    ty = parse_wit(type_text)
    runs = _outcome(ty, "[" + ", ".join(items) + (",]" if items else "]"))
    elements = _outcome(ty, "[" + " // c\n,".join(items) + (" // c\n,]" if items else "]"))
    if isinstance(runs, tuple):
        assert isinstance(elements, tuple)
        assert runs[1].split(" (at ")[0] == elements[1].split(" (at ")[0]
    else:
        assert runs == elements
