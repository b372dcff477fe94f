"""Tests of the WIT type model, native values and the wasmtime-py converters (values.py)."""

from __future__ import annotations

import ctypes
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_hotupdate.errors import ValueTypeError
from pytest_hotupdate.values import (
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
    from_valtype,
    func_signature,
    lifter,
    lowerer,
    parse_wit,
    validate,
    values_equal,
)

wc = pytest.importorskip("wasmtime.component")

# ---------------------------------------------------------------------------------------------
# Type model
# ---------------------------------------------------------------------------------------------

WIT_TEXTS = [
    "bool",
    "u64",
    "list<u8>",
    "option<string>",
    "result<u32, string>",
    "result",
    "result<u32>",
    "result<_, string>",
    "tuple<u8, string>",
    "record { a: u8, b: string }",
    "record {}",
    "variant { circle(u32), empty }",
    "enum { a, b }",
    "flags { read, write }",
    "flags {}",
    "own<resource>",
    "borrow<counter>",
    "list<option<record { price-cents: u32, tags: list<string> }>>",
]


@pytest.mark.parametrize("text", WIT_TEXTS)
def test_wit_text_round_trips(text: str) -> None:
    ty = parse_wit(text)
    assert ty.wit() == text
    assert str(ty) == text
    assert parse_wit(ty.wit()) == ty


def test_type_model_is_hashable_and_structural() -> None:
    a = RecordType((("a", Prim("u8")), ("b", OptionType(Prim("string")))))
    b = RecordType([("a", Prim("u8")), ("b", OptionType(Prim("string")))])  # type: ignore[arg-type]
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert ResultType(Prim("u32")) != ResultType(None, Prim("u32"))
    assert HandleType(True, "r").wit() == "own<r>"
    assert HandleType(False, "r").wit() == "borrow<r>"


def test_prim_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError):
        Prim("u128")


@pytest.mark.parametrize("text", ["list<", "lst<u8>", "tuple<u8", "option<u8> x", "enum { a b }"])
def test_parse_wit_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_wit(text)


# ---------------------------------------------------------------------------------------------
# Lowerer validation
# ---------------------------------------------------------------------------------------------

INT_RANGES = {
    "s8": (-(2**7), 2**7 - 1),
    "s16": (-(2**15), 2**15 - 1),
    "s32": (-(2**31), 2**31 - 1),
    "s64": (-(2**63), 2**63 - 1),
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
}


@pytest.mark.parametrize("kind", sorted(INT_RANGES))
def test_integer_ranges(kind: str) -> None:
    lo, hi = INT_RANGES[kind]
    low = lowerer(Prim(kind), "by")
    assert low(lo) == lo and low(hi) == hi and low(0) == 0
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ValueTypeError) as info:
            low(bad)
        assert str(info.value) == f"param `by`: expected {kind} ({lo}..{hi}), got {bad}"
        assert info.value.path == "param `by`"
        assert info.value.expected == kind


def test_huge_integers_are_reported_briefly() -> None:
    with pytest.raises(ValueTypeError, match=r"got <16610-bit integer>$"):
        lowerer(Prim("u8"))(10**5000)


def test_from_valtype_unsupported() -> None:
    with pytest.raises(ValueTypeError, match="unsupported WIT type error-context"):
        from_valtype(wc.ErrorContext())
    with pytest.raises(ValueTypeError, match="unsupported WIT type object"):
        from_valtype(object())


def test_u64_message_from_the_brief() -> None:
    expected = r"^param `by`: expected u64 \(0\.\.18446744073709551615\), got -1$"
    with pytest.raises(ValueTypeError, match=expected):
        lowerer(Prim("u64"), "by")(-1)


@pytest.mark.parametrize("kind", sorted(INT_RANGES))
@pytest.mark.parametrize("bad", [True, 1.0, "1", None, b"\x01"])
def test_integers_reject_other_kinds(kind: str, bad: Any) -> None:
    with pytest.raises(ValueTypeError, match=f"expected {kind}, got"):
        lowerer(Prim(kind), "x")(bad)


def test_record_field_path_in_message() -> None:
    ty = RecordType((("name", Prim("string")), ("price-cents", Prim("u32"))))
    with pytest.raises(ValueTypeError) as info:
        lowerer(ty, "item")({"name": "a", "price-cents": "x"})
    assert str(info.value) == 'param `item`.price-cents: expected u32, got "x" (str)'
    assert info.value.path == "param `item`.price-cents"
    assert info.value.expected == "u32"


def test_nested_paths() -> None:
    ty = ListType(TupleType((Prim("u8"), OptionType(RecordType((("a", Prim("bool")),))))))
    with pytest.raises(ValueTypeError) as info:
        lowerer(ty, "xs")([(1, None), (2, {"a": 1})])
    assert info.value.path == "param `xs`[1][1].a"
    res = ResultType(ListType(Prim("s8")), Prim("string"))
    with pytest.raises(ValueTypeError) as info:
        lowerer(res, "r")(Ok([1, 2, 300]))
    assert info.value.path == "param `r`(ok)[2]"
    var = VariantType((("circle", Prim("u32")), ("empty", None)))
    with pytest.raises(ValueTypeError) as info:
        validate(var, Variant("circle", -1))
    assert info.value.path == "value(circle)"


def test_bool_float_char_string() -> None:
    assert lowerer(Prim("bool"))(True) is True
    with pytest.raises(ValueTypeError):
        lowerer(Prim("bool"))(1)
    f = lowerer(Prim("f64"))
    assert f(1) == 1.0 and type(f(1)) is float
    assert math.isnan(f(math.nan))
    with pytest.raises(ValueTypeError):
        f(True)
    with pytest.raises(ValueTypeError):
        f("1.0")
    with pytest.raises(ValueTypeError, match="too large"):
        f(10**400)
    c = lowerer(Prim("char"))
    assert c("😀") == "😀"
    for bad in ("", "ab", "\ud800", "e\u0301", 65):
        with pytest.raises(ValueTypeError):
            c(bad)
    s = lowerer(Prim("string"))
    assert s("héllo 😀") == "héllo 😀"
    with pytest.raises(ValueTypeError, match="surrogate"):
        s("a\udc00b")
    with pytest.raises(ValueTypeError):
        s(b"bytes")


def test_lists_and_bytes() -> None:
    b = lowerer(ListType(Prim("u8")))
    assert b(b"ab") == b"ab" and type(b(bytearray(b"ab"))) is bytes
    assert b([1, 2]) == b"\x01\x02"
    with pytest.raises(ValueTypeError) as info:
        b([1, 256])
    assert info.value.path == "value[1]"
    with pytest.raises(ValueTypeError):
        b("ab")
    lst = lowerer(ListType(Prim("u16")))
    assert lst((1, 2)) == [1, 2]
    with pytest.raises(ValueTypeError):
        lst({1, 2})


def test_tuples() -> None:
    t = lowerer(TupleType((Prim("u8"), Prim("string"))))
    assert t((1, "a")) == (1, "a")
    assert t([1, "a"]) == (1, "a")
    with pytest.raises(ValueTypeError, match="2 elements"):
        t((1,))


def test_record_missing_and_extra_fields() -> None:
    ty = RecordType((("must-have", Prim("u8")), ("optional", OptionType(Prim("u8")))))
    low = lowerer(ty, "r")
    rec = low({"must-have": 1})
    assert isinstance(rec, wc.Record)
    assert getattr(rec, "must-have") == 1 and rec.optional is None
    with pytest.raises(ValueTypeError, match="missing field `must-have`") as info:
        low({"optional": 2})
    assert info.value.path == "param `r`"
    with pytest.raises(ValueTypeError, match="unknown field.*'extra'"):
        low({"must-have": 1, "extra": 2})
    with pytest.raises(ValueTypeError):
        low([1, 2])


def test_enum_flags() -> None:
    e = lowerer(EnumType(("red", "green")), "c")
    assert e("red") == "red"
    with pytest.raises(ValueTypeError, match='unknown case "blue"'):
        e("blue")
    with pytest.raises(ValueTypeError):
        e(0)
    f = lowerer(FlagsType(("read", "write")))
    assert f(frozenset({"read"})) == {"read"} and type(f(frozenset())) is set
    assert f(["write", "read"]) == {"read", "write"}
    with pytest.raises(ValueTypeError, match="unknown flag"):
        f({"exec"})
    with pytest.raises(ValueTypeError):
        f("read")


def test_variant_checks() -> None:
    ty = VariantType((("circle", Prim("u32")), ("empty", None)))
    low = lowerer(ty)
    assert low(Variant("circle", 5)) == 5  # untagged in wasmtime-py
    assert low(Variant("empty")) is None
    with pytest.raises(ValueTypeError, match="unknown case"):
        low(Variant("square", 1))
    with pytest.raises(ValueTypeError, match="unexpected payload"):
        low(Variant("empty", 1))
    with pytest.raises(ValueTypeError):
        low(5)
    tagged = lowerer(VariantType((("a", Prim("u32")), ("b", Prim("u32")))))
    out = tagged(Variant("b", 7))
    assert isinstance(out, wc.Variant) and (out.tag, out.payload) == ("b", 7)


def test_option_conventions() -> None:
    low = lowerer(OptionType(Prim("u8")))
    assert low(None) is None and low(3) == 3 and low(Some(3)) == 3
    nested = lowerer(OptionType(OptionType(Prim("u8"))))
    with pytest.raises(ValueTypeError, match="Some"):
        nested(3)
    some_none = nested(Some(None))
    assert isinstance(some_none, wc.Variant) and some_none.tag == "some"
    assert some_none.payload is None
    assert nested(Some(Some(4))).payload == 4
    assert nested(None).tag == "none"


def test_result_conventions() -> None:
    low = lowerer(ResultType(None, Prim("string")))
    assert low(Ok()) is None and low(Err("boom")) == "boom"
    with pytest.raises(ValueTypeError, match="unexpected payload"):
        low(Ok(1))
    with pytest.raises(ValueTypeError, match="Ok"):
        low("boom")
    same = lowerer(ResultType(Prim("u32"), Prim("u32")))
    out = same(Err(3))
    assert isinstance(out, wc.Variant) and (out.tag, out.payload) == ("err", 3)


def test_values_wasmtime_py_cannot_pass_are_rejected() -> None:
    # wasmtime-py matches untagged cases with isinstance() in case order.
    hazard = lowerer(VariantType((("a", Prim("u32")), ("b", Prim("bool")))), "v")
    assert hazard(Variant("a", 1)) == 1
    with pytest.raises(ValueTypeError, match="read as case `a`"):
        hazard(Variant("b", True))
    ok_first = lowerer(VariantType((("b", Prim("bool")), ("a", Prim("u32")))))
    assert ok_first(Variant("a", 1)) == 1 and ok_first(Variant("b", True)) is True
    res = lowerer(ResultType(OptionType(Prim("u8")), Prim("string")))
    assert res(Ok(None)) is None and res(Ok(3)) == 3
    with pytest.raises(ValueTypeError, match="read as case `ok`"):
        res(Err("x"))
    # the value itself is valid: validate() accepts it
    validate(ResultType(OptionType(Prim("u8")), Prim("string")), Err("x"))
    validate(VariantType((("a", Prim("u32")), ("b", Prim("bool")))), Variant("b", True))


def test_handles() -> None:
    table = {Handle(1): "resource-any-1"}
    low = lowerer(HandleType(True, "r"), "h", table.__getitem__)
    assert low(Handle(1)) == "resource-any-1"
    with pytest.raises(ValueTypeError, match=r"unknown resource handle\(2\)"):
        low(Handle(2))
    with pytest.raises(ValueTypeError, match="no handle table"):
        lowerer(HandleType(True, "r"))(Handle(1))
    validate(ListType(HandleType(False, "r")), [Handle(1), Handle(2)])
    with pytest.raises(ValueTypeError):
        validate(HandleType(True, "r"), 1)
    lift = lifter(OptionType(HandleType(True, "r")), lambda res: Handle(len(str(res))))
    assert lift("abc") == Handle(3) and lift(None) is None


def test_lowerer_is_cached_and_labels() -> None:
    ty = ListType(Prim("u32"))
    assert lowerer(ty, "a") is lowerer(ListType(Prim("u32")), "a")
    with pytest.raises(ValueTypeError, match=r"^result\[0\]: "):
        lowerer(ty, label="result")([-1])
    with pytest.raises(ValueTypeError, match=r"^value\[0\]: "):
        validate(ty, [-1])


# ---------------------------------------------------------------------------------------------
# Lifter and equality
# ---------------------------------------------------------------------------------------------


def test_lifter_conventions() -> None:
    rec = wc.Record()
    setattr(rec, "price-cents", 5)
    rec.tags = {"a"}
    ty = RecordType((("price-cents", Prim("u32")), ("tags", FlagsType(("a", "b")))))
    assert lifter(ty)(rec) == {"price-cents": 5, "tags": frozenset({"a"})}
    shape = VariantType((("circle", Prim("u32")), ("rect", ty), ("empty", None)))
    lift = lifter(shape)
    assert lift(5) == Variant("circle", 5)
    assert lift(None) == Variant("empty")
    assert lift(rec) == Variant("rect", {"price-cents": 5, "tags": frozenset({"a"})})
    with pytest.raises(ValueTypeError):
        lift("nope")
    nested = lifter(OptionType(OptionType(Prim("u8"))))
    assert nested(wc.Variant("some", None)) == Some(None)
    assert nested(wc.Variant("some", 3)) == Some(3)
    assert nested(wc.Variant("none")) is None
    res = lifter(ResultType(None, Prim("string")))
    assert res(None) == Ok() and res("x") == Err("x")
    assert lifter(ListType(Prim("u8")))(b"ab") == b"ab"


def test_values_equal() -> None:
    f = Prim("f64")
    assert values_equal(f, math.nan, math.nan)
    assert values_equal(f, -0.0, 0.0)
    assert not values_equal(f, 1.0, 2.0)
    ty = ListType(OptionType(TupleType((Prim("f32"), Prim("string")))))
    assert values_equal(ty, [None, (math.nan, "a")], [None, Some((math.nan, "a"))])
    assert not values_equal(ty, [None], [(1.0, "a")])
    rec = RecordType((("a", OptionType(Prim("u8"))), ("b", Prim("u8"))))
    assert values_equal(rec, {"b": 1}, {"a": None, "b": 1})
    assert not values_equal(rec, {"b": 1, "c": 2}, {"b": 1})
    assert values_equal(ListType(Prim("u8")), b"\x01", [1])
    assert values_equal(FlagsType(("a", "b")), {"a"}, frozenset(["a"]))
    assert not values_equal(ResultType(Prim("u8")), Ok(1), Err(None))
    assert not values_equal(Prim("u8"), True, 1)
    var = VariantType((("x", Prim("f64")),))
    assert values_equal(var, Variant("x", math.nan), Variant("x", math.nan))


# ---------------------------------------------------------------------------------------------
# Against wasmtime-py itself: types from a real component, values through convert_to_c/_from_c
# ---------------------------------------------------------------------------------------------

# name -> (WIT type as written in the world, the same type as WitType text)
ROUND_TRIP_TYPES: dict[str, tuple[str, str]] = {
    "t-bool": ("bool", "bool"),
    "t-s8": ("s8", "s8"),
    "t-u16": ("u16", "u16"),
    "t-s64": ("s64", "s64"),
    "t-u64": ("u64", "u64"),
    "t-f32": ("f32", "f32"),
    "t-f64": ("f64", "f64"),
    "t-char": ("char", "char"),
    "t-string": ("string", "string"),
    "t-bytes": ("list<u8>", "list<u8>"),
    "t-list": ("list<option<u32>>", "list<option<u32>>"),
    "t-tuple": ("tuple<u8, string, f64>", "tuple<u8, string, f64>"),
    "t-point": ("point", "record { x: s32, price-cents: u32 }"),
    "t-shape": ("shape", "variant { circle(u32), rect(point), empty }".replace(
        "point", "record { x: s32, price-cents: u32 }")),
    "t-same": ("same", "variant { a(u32), b(u32), c }"),
    "t-color": ("color", "enum { red, green, ok }"),
    "t-perms": ("perms", "flags { read, write, exec }"),
    "t-opt": ("option<u8>", "option<u8>"),
    "t-opt-opt": ("option<option<u8>>", "option<option<u8>>"),
    "t-opt-res": ("option<result<_, string>>", "option<result<_, string>>"),
    "t-opt-enum": ("option<color>", "option<enum { red, green, ok }>"),
    "t-res": ("result<u32, string>", "result<u32, string>"),
    "t-res-unit-err": ("result<_, string>", "result<_, string>"),
    "t-res-ok-only": ("result<u32>", "result<u32>"),
    "t-res-bare": ("result", "result"),
    "t-res-same": ("result<u32, u32>", "result<u32, u32>"),
    "t-res-list": ("result<list<u8>, list<string>>", "result<list<u8>, list<string>>"),
    "t-res-opt": ("result<option<u8>, string>", "result<option<u8>, string>"),
    "t-res-opt-tagged": ("result<option<u8>, u8>", "result<option<u8>, u8>"),
    "t-list-rec": ("list<point>", "list<record { x: s32, price-cents: u32 }>"),
}

WORLD = """package test:values;

world w {
  record point { x: s32, price-cents: u32 }
  variant shape { circle(u32), rect(point), empty }
  variant same { a(u32), b(u32), c }
  enum color { red, green, ok }
  flags perms { read, write, exec }
  resource counter;
%s
  export make: func(a: own<counter>, b: borrow<counter>);
}
"""


@pytest.fixture(scope="module")
def component_types(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tool = shutil.which("wasm-tools") or str(Path(sys.executable).parent / "wasm-tools")
    if not Path(tool).exists():
        pytest.skip("wasm-tools not installed")
    d = tmp_path_factory.mktemp("component")
    funcs = "\n".join(
        f"  export {n}: func(x: {w}) -> {w};" for n, (w, _) in ROUND_TRIP_TYPES.items()
    )
    (d / "w.wit").write_text(WORLD % funcs)
    subprocess.run(
        [tool, "component", "embed", "--dummy", str(d / "w.wit"), "-o", str(d / "e.wasm")],
        check=True,
    )
    subprocess.run(
        [tool, "component", "new", str(d / "e.wasm"), "-o", str(d / "c.wasm")], check=True
    )
    import wasmtime

    engine = wasmtime.Engine()
    comp = wc.Component(engine, (d / "c.wasm").read_bytes())
    return {name: ext.ty for name, ext in comp.type.exports(engine).items()}


def test_from_valtype_and_signature(component_types: dict[str, Any]) -> None:
    for name, (_, text) in ROUND_TRIP_TYPES.items():
        params, result = func_signature(component_types[name])
        expected = parse_wit(text)
        assert params == (("x", expected),), name
        assert result == expected
    params, result = func_signature(component_types["make"])
    assert params == (("a", HandleType(True, "resource")), ("b", HandleType(False, "resource")))
    assert result is None


def _through_wasmtime(vt: Any, value: Any) -> Any:
    from wasmtime import _ffi as ffi

    raw = ffi.wasmtime_component_val_t()
    vt.convert_to_c(None, value, ctypes.pointer(raw))
    return vt.convert_from_c(raw)


# Small value strategies for the round-trip types (the test_wave.py strategies are generic).
def _native(ty: Any) -> st.SearchStrategy[Any]:
    from tests.test_wave import values_of

    return values_of(ty)


@pytest.mark.parametrize("name", sorted(ROUND_TRIP_TYPES))
def test_lower_lift_through_wasmtime(component_types: dict[str, Any], name: str) -> None:
    vt = component_types[name].params[0][1]
    ty = from_valtype(vt)
    low, lift = lowerer(ty, "x"), lifter(ty)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_native(ty))
    def check(value: Any) -> None:
        try:
            lowered = low(value)
        except ValueTypeError as e:
            # Only the documented wasmtime-py limitation may refuse a valid native value.
            assert "wasmtime-py cannot pass" in str(e)
            return
        back = lift(_through_wasmtime(vt, lowered))
        if ty == Prim("f32"):
            value = _f32(value)
        assert values_equal(ty, value, back), (value, back)

    check()


def _f32(x: float) -> float:
    import struct

    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]  # type: ignore[no-any-return]
    except OverflowError:
        return math.copysign(math.inf, x)


def test_wasmtime_refuses_what_the_lowerer_flags(component_types: dict[str, Any]) -> None:
    vt = component_types["t-res-opt"].params[0][1]
    ty = from_valtype(vt)
    # result<option<u8>, string> is untagged in wasmtime-py; err("x") would be taken as ok
    # (isinstance("x", object)) and then fail inside wasmtime.
    with pytest.raises(ValueError):
        _through_wasmtime(vt, "x")
    with pytest.raises(ValueTypeError, match="wasmtime-py cannot pass"):
        lowerer(ty)(Err("x"))
    assert lifter(ty)(_through_wasmtime(vt, lowerer(ty)(Ok(Some(5))))) == Ok(5)
    assert lifter(ty)(_through_wasmtime(vt, lowerer(ty)(Ok(None)))) == Ok(None)
