"""Every WIT value kind round-trips through Python and WAVE against a real component.

The `kinds` sample (componentize-py) echoes one value of each kind; values go in as native
Python or as WAVE text through `Worker.invoke` / `Worker.invoke_wave`, through the guest's own
canonical-ABI lowering and lifting, and must come back equal (WAVE: byte-identical canonical text).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.strategies import values
from pytest_hotupdate.values import Err, Ok, Some, Variant, values_equal, wave_encode, wave_parse
from pytest_hotupdate.worker import Worker

pytestmark = pytest.mark.slow

ECHO_FUNCTIONS = [
    "echo-bool", "echo-s8", "echo-s16", "echo-s32", "echo-s64", "echo-u8", "echo-u16",
    "echo-u32", "echo-u64", "echo-f32", "echo-f64", "echo-char", "echo-string", "echo-bytes",
    "echo-list", "echo-strings", "echo-tuple", "echo-record", "echo-variant", "echo-shape",
    "echo-enum", "echo-flags", "echo-option", "echo-option-option", "echo-result",
    "echo-result-same", "echo-result-unit", "echo-result-empty", "echo-nested",
]


@pytest.fixture(scope="module")
def kinds(runtime, sample) -> Worker:  # type: ignore[no-untyped-def]
    registry = Registry(runtime)
    registry.add("kinds", sample("kinds", "v1"))
    return registry.worker("kinds")


def test_every_kind_is_exported(kinds: Worker) -> None:
    exported = {f.export_name for f in kinds.component.functions.values()}
    assert set(ECHO_FUNCTIONS) <= exported


@pytest.mark.parametrize("function", ECHO_FUNCTIONS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_native_and_wave_round_trip(kinds: Worker, function: str, data: st.DataObject) -> None:
    info = kinds.component.find_function(f"golem:kinds/api.{{{function}}}")
    (_, param_type), = info.params
    value = data.draw(values(param_type), label="value")
    back = kinds.invoke(info.golem_name, value)
    assert values_equal(param_type, value, back), (value, back)
    text = wave_encode(param_type, value)
    assert kinds.invoke_wave(info.golem_name, text) == text
    assert values_equal(param_type, wave_parse(param_type, text), value)


@pytest.mark.parametrize(
    ("function", "wave", "canonical", "native"),
    [
        ("echo-f32", "3.14", "3.14", pytest.approx(3.14, rel=1e-7)),
        ("echo-f64", "6.022e+23", "602200000000000000000000", 6.022e23),
        ("echo-f64", "nan", "nan", "nan"),
        ("echo-f64", "-0.0", "-0", -0.0),
        ("echo-char", "'\\u{1F600}'", "'\U0001F600'", "\U0001F600"),
        ("echo-string", '"""\n  a\n   b\n  """', '"a\\n b"', "a\n b"),
        ("echo-bytes", "[1,2,3,]", "[1, 2, 3]", b"\x01\x02\x03"),
        ("echo-record", '{name: "n", home: {x: 1, y: -2}, scores: []}',
         '{name: "n", home: {x: 1, y: -2}, scores: []}',
         {"name": "n", "nickname": None, "home": {"x": 1, "y": -2}, "scores": []}),
        ("echo-variant", "%none", "%none", Variant("none")),
        ("echo-variant", "pair((1, 2))", "pair((1, 2))", Variant("pair", (1, 2))),
        ("echo-shape", "circle(1.5)", "circle(1.5)", Variant("circle", 1.5)),
        ("echo-enum", "%none", "%none", "none"),
        ("echo-flags", "{exec, ok, read,}", "{read, exec, ok}", frozenset({"read", "exec", "ok"})),
        ("echo-option", "7", "some(7)", 7),
        ("echo-option-option", "some(none)", "some(none)", Some(None)),
        ("echo-result", "5", "ok(5)", Ok(5)),
        ("echo-result", 'err("x")', 'err("x")', Err("x")),
        ("echo-result-same", "err(5)", "err(5)", Err(5)),
        ("echo-result-unit", "ok", "ok", Ok(None)),
        ("echo-result-empty", "err", "err", Err(None)),
        ("echo-nested", "[none, some(('a', 1.5)), ('\\n', -0.0)]",
         "[none, some(('a', 1.5)), some(('\\n', -0))]",
         [None, ("a", 1.5), ("\n", -0.0)]),
    ],
)
def test_wave_examples_through_the_guest(
    kinds: Worker, function: str, wave: str, canonical: str, native: object
) -> None:
    name = f"golem:kinds/api.{{{function}}}"
    assert kinds.invoke_wave(name, wave) == canonical
    result = kinds.invoke(name, wave_parse(kinds.component.find_function(name).params[0][1], wave))
    if native == "nan":
        assert math.isnan(result)
    else:
        assert result == native


def test_several_parameters(kinds: Worker) -> None:
    name = "golem:kinds/api.{echo-many}"
    assert kinds.invoke(name, 1, "two", b"\x03") == (1, "two", b"\x03")
    assert kinds.invoke_wave(name, "1", '"two"', "[3]") == '(1, "two", [3])'
    with pytest.raises(InvocationError, match=r"param `b`: .*string"):
        kinds.invoke_wave(name, "1", "2", "[3]")
