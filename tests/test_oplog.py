"""The oplog file format: round trips, streaming, atomic writes and line-numbered errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_hotupdate.errors import OplogError
from pytest_hotupdate.oplog import (
    Completed,
    Failed,
    FailedUpdate,
    HostCall,
    Invocation,
    Log,
    Oplog,
    OplogHeader,
    PendingUpdate,
    SuccessfulUpdate,
    read_oplog,
)

ENTRIES = [
    Invocation("golem:counter/api.{increment}", ("5",)),
    HostCall("wasi:random/random.{get-random-u64}", "42"),
    HostCall("wasi:random/random.{get-random-bytes}", "[1, 2]", ("2",)),
    Completed("5"),
    Invocation("golem:counter/api.{reset}", ()),
    Completed(None),
    Invocation("golem:faulty/api.{trap}", ()),
    Failed("trapped: unreachable", "trap"),
    Log("stdout", "hello \u00e9\n"),
    PendingUpdate(1, "manual", 1.5, snapshot="0500000000000000"),
    FailedUpdate(1, "manual", 2.0, "Manual update failed to load snapshot: bad"),
    SuccessfulUpdate(2, "automatic", 3.0),
]


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    oplog = Oplog(OplogHeader("counter", 0, "w1"), list(ENTRIES))
    path = tmp_path / "w1.oplog.jsonl"
    oplog.save(path)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first) == {"oplog": 1, "component": "counter", "revision": 0, "worker": "w1"}
    loaded = Oplog.load(path)
    assert loaded.header == oplog.header
    assert loaded.entries == ENTRIES
    assert loaded.to_jsonl() == path.read_text(encoding="utf-8")


def test_reading_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    lines = ['{"oplog": 1, "component": "c", "revision": 3}']
    lines += ['{"kind": "invocation", "function": "f", "params": ["1"]}'] * 1000
    lines.append("{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    header, entries = read_oplog(path)
    assert header.revision == 3
    # The first entries arrive before the bad last line is ever read.
    assert next(entries) == Invocation("f", ("1",))
    with pytest.raises(OplogError, match=r"big\.jsonl:1002: malformed JSON"):
        list(entries)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r":1: empty oplog file"),
        ("[]\n", r":1: not an oplog header"),
        ('{"oplog": 2, "component": "c", "revision": 0}\n', r"version 2 is newer"),
        ('{"oplog": "1", "component": "c", "revision": 0}\n', r"must be an integer"),
        ('{"oplog": 1, "component": "c"}\n', r"needs `component`"),
        ('{"oplog": 1, "component": "c", "revision": 0}\n{"kind": "nope"}\n',
         r":2: unknown oplog entry kind 'nope'"),
        ('{"oplog": 1, "component": "c", "revision": 0}\n[1]\n', r":2: .*JSON object"),
        ('{"oplog": 1, "component": "c", "revision": 0}\n\n{"kind": "invocation"}\n',
         r":3: bad `invocation` entry: missing 1 required positional argument: 'function'"),
        ('{"oplog": 1, "component": "c", "revision": 0}\n'
         '{"kind": "invocation", "function": "f", "params": [1]}\n',
         r":2: `params` must be a list of WAVE strings"),
        ('{"oplog": 1, "component": "c", "revision": 0}\n'
         '{"kind": "completed", "result": 5}\n',
         r":2: `completed` field `result` must be str or null, got 5"),
        ('{"oplog": 1, "component": "c", "revision": 0}\n'
         '{"kind": "host-call", "function": "f", "extra": 1}\n',
         r":2: bad `host-call` entry: got an unexpected keyword argument 'extra'"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OplogError, match=message) as info:
        header, entries = read_oplog(path)
        list(entries)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(OplogError, match="no such oplog file"):
        read_oplog(tmp_path / "missing.jsonl")
    with pytest.raises(OplogError, match="is a directory"):
        read_oplog(tmp_path)


def test_interrupted_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    Oplog(OplogHeader("c", 0), list(ENTRIES[:2])).save(path)
    before = path.read_bytes()

    class Boom(Exception):
        pass

    def entries():  # type: ignore[no-untyped-def]
        yield ENTRIES[0]
        raise Boom

    from pytest_hotupdate.oplog import write_oplog

    with pytest.raises(Boom):
        write_oplog(path, OplogHeader("c", 0), entries())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.jsonl"]
