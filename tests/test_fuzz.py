"""Fuzzing: parsers survive any input and raise only the project's own error types.

A short run is part of the default suite; the dedicated run uses at least 10,000 inputs each:

    python -m pytest -m fuzz --hypothesis-profile=fuzz
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_hotupdate.errors import OplogError, ValueTypeError, WaveSyntaxError
from pytest_hotupdate.oplog import read_oplog
from pytest_hotupdate.strategies import values
from pytest_hotupdate.values import wave_encode, wave_parse

from .test_wave import wit_types

pytestmark = pytest.mark.fuzz

# Text that looks like WAVE: its tokens, keywords and escapes, plus arbitrary characters.
_wave_pieces = st.sampled_from([
    "{", "}", "(", ")", "[", "]", ":", ",", " ", "\n", "//", '"', "'", '"""\n', "\\", "\\u{",
    "%", "-", ".", "e", "E", "+", "0", "1", "42", "-0", "1.5e3", "nan", "inf", "-inf", "true",
    "false", "some", "none", "ok", "err", "a", "b-c", "HTTP3", "handle", "\\n", "\\u{1F600}",
])
wave_like_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(_wave_pieces, st.text(max_size=3)), max_size=25).map("".join),
)


@given(ty=wit_types, text=wave_like_text)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_wave_parser_raises_only_its_own_errors(ty, text: str) -> None:  # type: ignore[no-untyped-def]
    try:
        value = wave_parse(ty, text)
    except (WaveSyntaxError, ValueTypeError) as error:
        assert "\n" not in str(error)
        return
    # Whatever parses is a valid value that writes back and parses to the same text.
    canonical = wave_encode(ty, value)
    assert wave_encode(ty, wave_parse(ty, canonical)) == canonical


@given(data=st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_mutated_wave_raises_only_its_own_errors(data: st.DataObject) -> None:
    ty = data.draw(wit_types)
    text = wave_encode(ty, data.draw(values(ty)))
    position = data.draw(st.integers(0, len(text)))
    mutated = text[:position] + data.draw(st.text(max_size=3)) + text[position + 1:]
    try:
        wave_parse(ty, mutated)
    except (WaveSyntaxError, ValueTypeError):
        pass


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=8,
)
_entry_like = st.fixed_dictionaries(
    {"kind": st.sampled_from(["invocation", "host-call", "completed", "failed", "log",
                              "pending-update", "successful-update", "failed-update", "x"])},
    optional={"function": _json_values, "params": _json_values, "result": _json_values,
              "error": _json_values, "target_revision": _json_values, "mode": _json_values,
              "at": _json_values, "snapshot": _json_values, "stream": _json_values,
              "text": _json_values, "extra": _json_values},
)
_lines = st.one_of(
    _entry_like.map(json.dumps),
    _json_values.map(json.dumps),
    st.text(max_size=30),
)


@given(header=st.one_of(st.just('{"oplog": 1, "component": "c", "revision": 0}'),
                        _json_values.map(json.dumps), st.text(max_size=30)),
       lines=st.lists(_lines, max_size=8),
       raw=st.binary(max_size=20))
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_oplog_reader_raises_only_oplog_errors(
    tmp_path: Path, header: str, lines: list[str], raw: bytes
) -> None:
    path = tmp_path / "fuzz.oplog.jsonl"
    path.write_bytes("\n".join([header, *lines]).encode("utf-8", "surrogatepass") + raw)
    try:
        _, entries = read_oplog(path)
        for _ in entries:
            pass
    except OplogError as error:
        assert "\n" not in str(error) and str(path) in str(error)
