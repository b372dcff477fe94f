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
    PendingUpdate(2, "automatic", 2.5),
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
    lines += ['{"kind": "invocation", "function": "f", "params": ["1"]}',
              '{"kind": "completed", "result": "1"}'] * 500
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


# --------------------------------------------------------------------------- structure (issue 12, item 9)

HEAD = '{"oplog": 1, "component": "c", "revision": 0}'
INV = '{"kind": "invocation", "function": "golem:c/api.{f}", "params": ["1"]}'
DONE = '{"kind": "completed", "result": "1"}'


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([DONE], r":2: `completed` without an invocation$"),
        ([INV, DONE, DONE], r":4: `completed` without an invocation: the invocation of line 2 "
                            r"already ended at line 3"),
        ([INV, DONE, '{"kind": "failed", "error": "x"}'], r":4: `failed` without an invocation"),
        ([INV, INV, DONE], r":3: invocation starts while the invocation of line 2 has no outcome"),
        ([INV, DONE, '{"kind": "host-call", "function": "h.{g}", "result": "1"}'],
         r":4: host call h.\{g\} outside any invocation \(after the invocation of line 2 ended\)"),
        (['{"kind": "successful-update", "target_revision": 99, "mode": "automatic", "at": 1}'],
         r":2: successful-update to revision 99 \(automatic\) answers no pending-update"),
        (['{"kind": "pending-update", "target_revision": 1, "mode": "manual", "at": 1}',
          '{"kind": "successful-update", "target_revision": 1, "mode": "manual", "at": 2}'],
         r":3: successful manual update to revision 1: its pending-update carries no snapshot"),
        (['{"kind": "pending-update", "target_revision": 0, "mode": "automatic", "at": 1}'],
         r":2: pending-update to revision 0, the revision the worker already runs"),
        (['{"kind": "pending-update", "target_revision": -1, "mode": "automatic", "at": 1}'],
         r":2: `pending-update` field `target_revision` must be >= 0, got -1"),
    ],
    ids=["orphan-completion", "second-completion", "orphan-failure", "nested-invocation",
         "host-call-outside", "fake-successful-update", "manual-without-snapshot",
         "update-to-current", "negative-target"],
)
def test_structure_is_validated_while_streaming(tmp_path: Path, lines: list[str],
                                                message: str) -> None:
    path = tmp_path / "h.oplog.jsonl"
    path.write_text("\n".join([HEAD, *lines]) + "\n", encoding="utf-8")
    _, entries = read_oplog(path)
    with pytest.raises(OplogError, match=message) as info:
        list(entries)
    assert str(info.value).startswith(f"{path}:") and "\n" not in str(info.value)


def test_valid_structures_are_accepted(tmp_path: Path) -> None:
    """Host calls before the first invocation (instantiation), updates inside an invocation (an
    automatic update taking over a running one), a lone failed manual update, an oplog that
    ends inside an invocation."""
    path = tmp_path / "h.oplog.jsonl"
    path.write_text("\n".join([
        HEAD,
        '{"kind": "host-call", "function": "wasi:random/random.{get-random-u64}", "result": "1"}',
        INV,
        '{"kind": "pending-update", "target_revision": 1, "mode": "automatic", "at": 1}',
        '{"kind": "successful-update", "target_revision": 1, "mode": "automatic", "at": 2}',
        DONE,
        '{"kind": "failed-update", "target_revision": 2, "mode": "manual", "at": 3}',
        '{"kind": "pending-update", "target_revision": 0, "mode": "manual", "at": 4, '
        '"snapshot": "AQI="}',
        '{"kind": "successful-update", "target_revision": 0, "mode": "manual", "at": 5}',
        INV,
    ]) + "\n", encoding="utf-8")
    _, entries = read_oplog(path)
    assert len(list(entries)) == 9


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ('{"oplog": 1, "component": "c", "revision": -7}', r":1: header `revision` must be >= 0"),
        ('{"oplog": 1, "component": "", "revision": 0}', r":1: header `component` is empty"),
        ('\ufeff' + HEAD, r":1: starts with a byte-order mark"),
        ('{"oplog": 1, "component": "c", "revision": ' + "9" * 5000 + "}",
         r":1: unreadable JSON value: Exceeds the limit \(4300 digits\)"),
        ('{"oplog": 1, "component": "c"', r":1: malformed JSON"),
        ("x" * 70000, r":1: header line longer than 65536 bytes"),
    ],
    ids=["negative-revision", "empty-component", "bom", "huge-integer", "truncated", "huge-line"],
)
def test_bad_headers(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "h.oplog.jsonl"
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(OplogError, match=message):
        read_oplog(path)


def test_header_names_the_expected_component(tmp_path: Path) -> None:
    path = tmp_path / "h.oplog.jsonl"
    path.write_text(HEAD + "\n", encoding="utf-8")
    header, entries = read_oplog(path, expect_component="c")
    assert header.component == "c" and list(entries) == []
    with pytest.raises(OplogError, match=r"h\.oplog\.jsonl:1: a history of component 'c', "
                                         r"not of 'dice'"):
        read_oplog(path, expect_component="dice")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "h.oplog.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(OplogError, match="not a regular file"):
        read_oplog(fifo)


# --------------------------------------------------------------------------- hostile values (item 12)

@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"kind": "completed", "result": "1", "n": ' + "1" * 5000 + "}",
         r":3: unreadable JSON value: Exceeds the limit"),
        ("[" * 100_000 + "]" * 100_000, r":3: JSON nested too deeply to read"),
        ('{"kind": "completed", "native": [0]}',
         r":3: bad `completed` entry: unexpected field `native`"),
    ],
    ids=["5000-digit-integer", "100k-deep", "injected-native"],
)
def test_hostile_values_are_oplog_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "h.oplog.jsonl"
    path.write_text("\n".join([HEAD, INV, line]) + "\n", encoding="utf-8")
    _, entries = read_oplog(path)
    with pytest.raises(OplogError, match=message) as info:
        list(entries)
    assert info.value.line == 3


def test_bad_base64_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "h.oplog.jsonl"
    path.write_text(HEAD + '\n{"kind": "pending-update", "target_revision": 1, "mode": "manual", '
                    '"at": 1, "snapshot": "not base64!"}\n', encoding="utf-8")
    _, entries = read_oplog(path)
    with pytest.raises(OplogError, match=r":2: `pending-update` field `snapshot` is not valid "
                                         r"base64"):
        list(entries)


# --------------------------------------------------------------------------- durable writes (item 18)

_WRITER = """
import sys
from pytest_hotupdate.oplog import Invocation, Completed, OplogHeader, write_oplog
def entries():
    for i in range(10_000_000):
        yield Invocation("golem:c/api.{f}", (str(i),))
        yield Completed(str(i))
write_oplog(sys.argv[1], OplogHeader("c", 0), entries())
"""


def test_a_writer_killed_mid_write_leaves_no_temporaries(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    target = tmp_path / "w.oplog.jsonl"
    Oplog(OplogHeader("c", 0), list(ENTRIES[:1])).save(target)
    before = target.read_bytes()
    for _ in range(3):
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)])
        try:
            deadline = time.monotonic() + 30
            mine = f".w.oplog.jsonl.{writer.pid}.*.tmp"
            while not any(p.stat().st_size > 100_000 for p in tmp_path.glob(mine)):
                assert time.monotonic() < deadline and writer.poll() is None, "writer never wrote"
                time.sleep(0.01)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        # each writer removed the temporary of the one killed before it
        stale = [p.name for p in tmp_path.glob(".w.oplog.jsonl.*.tmp")]
        assert len(stale) == 1 and stale[0].startswith(f".w.oplog.jsonl.{writer.pid}.")
    assert target.read_bytes() == before  # a killed writer never touches the target
    Oplog(OplogHeader("c", 0), list(ENTRIES[:2])).save(target)
    assert os.listdir(tmp_path) == ["w.oplog.jsonl"]
    assert Oplog.load(target).entries == ENTRIES[:2]


def test_temporaries_of_live_writers_and_other_files_are_kept(tmp_path: Path) -> None:
    import subprocess

    target = tmp_path / "w.oplog.jsonl"
    live = subprocess.Popen(["sleep", "30"])
    try:
        kept = [tmp_path / f".w.oplog.jsonl.{live.pid}.abc.tmp",
                tmp_path / f".w.oplog.jsonl.{os.getpid()}.def.tmp",  # another thread's
                tmp_path / ".w.oplog.jsonl.notapid.tmp", tmp_path / ".other.jsonl.1.x.tmp"]
        for path in kept:
            path.write_text("partial")
        Oplog(OplogHeader("c", 0), []).save(target)
        assert sorted(os.listdir(tmp_path)) == sorted([p.name for p in kept] + [target.name])
    finally:
        live.kill()
        live.wait()


def test_the_file_and_its_directory_are_synced_before_and_after_the_rename(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        synced.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    Oplog(OplogHeader("c", 0), list(ENTRIES[:2])).save(tmp_path / "w.oplog.jsonl")
    assert synced == ["file", "rename", "dir"]
