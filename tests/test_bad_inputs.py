"""Every bad input gets one clear line naming the file or value and what is wrong.

The table of these cases and their exact messages is published in docs/errors.md; this test
checks it. After changing a message, regenerate the table with
``HOTUPDATE_WRITE_DOCS=1 python -m pytest tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.assertions import match_histories
from pytest_hotupdate.engine import Runtime
from pytest_hotupdate.errors import HotUpdateError
from pytest_hotupdate.host import SandboxGrants
from pytest_hotupdate.oplog import read_oplog
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.update import replay_history
from pytest_hotupdate.worker import Worker, WorkerLimits

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
BEGIN, END = "<!-- runtime-errors:begin -->", "<!-- runtime-errors:end -->"
HEADER = "| bad input | error type | message |\n|---|---|---|"


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _oplog(path: Path, *lines: str | bytes) -> Path:
    raw = [line.encode() if isinstance(line, str) else line for line in lines]
    return _write(path, b"\n".join(raw) + b"\n")


def _read_all(path: Path) -> None:
    _, entries = read_oplog(path)
    for _ in entries:
        pass


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


COMPONENT_HEADER = b"\0asm\x0d\x00\x01\x00"
HEADER_LINE = '{"oplog": 1, "component": "counter", "revision": 0}'
INVOCATION = '{"kind": "invocation", "function": "golem:counter/api.{increment}", "params": ["1"]}'
COMPLETED = '{"kind": "completed", "result": "1"}'
WASM_TOOLS = str(Path(sys.executable).with_name("wasm-tools"))


def _spinning_start(tmp: Path) -> Path:
    """A component whose core module's start function never returns."""
    (tmp / "spin-wit").mkdir()
    _write(tmp / "spin-wit" / "world.wit",
           "package test:spin;\nworld spin { export run: func(); }\n")
    core_wat = _write(tmp / "spin.wat", '(module (func $spin (loop $l (br $l))) (start $spin) '
                                        '(func (export "run")))')
    subprocess.run([WASM_TOOLS, "component", "embed", str(tmp / "spin-wit"), "--world", "spin",
                    str(core_wat), "-o", str(tmp / "spin.core.wasm")], check=True)
    subprocess.run([WASM_TOOLS, "component", "new", str(tmp / "spin.core.wasm"), "-o",
                    str(tmp / "spin.wasm")], check=True)
    return tmp / "spin.wasm"


def _reentry(registry: Registry, name: str, action: Callable[[Worker], object]) -> None:
    """A host function that calls back into its own worker (``action``): the error it got,
    raised."""
    refused: list[HotUpdateError] = []

    def oracle(_question: str) -> int:
        try:
            action(dice)
        except HotUpdateError as error:
            refused.append(error)
        return 1

    dice = registry.worker("dice", name=name, host_functions={"golem:dice/oracle.{ask}": oracle})
    dice.invoke("golem:dice/api.{consult}", "again?")
    raise refused[0]


FILE_LIMIT = 1024


def _without_free_descriptors(case: Callable[[], object]) -> Callable[[], object]:
    """``case`` run with every file descriptor under a soft limit of FILE_LIMIT in use."""
    def run() -> object:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, hard))
        taken = []
        try:
            while True:
                taken.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        try:
            return case()
        finally:
            for fd in taken:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return run


def cases(tmp: Path, runtime: Runtime, sample: Callable[[str, str], Path]
          ) -> list[tuple[str, Callable[[], object]]]:
    counter = sample("counter", "v1")
    registry = Registry(runtime)
    registry.add("counter", counter)
    registry.add("counter", sample("counter", "v2"))
    registry.add("dice", sample("dice", "v1"))
    worker = registry.worker("counter", name="w", revision=0)
    inc = "golem:counter/api.{increment}"
    registry.add("spin", _spinning_start(tmp))
    short = WorkerLimits(deadline_seconds=0.2)
    slow_oracle = {"golem:dice/oracle.{ask}": lambda _q: time.sleep(1) or 1}
    registry.add("kv", sample("golem-kvstream", "v1"))
    streams = registry.worker("kv", name="streams")
    return [
        ("component file missing", lambda: runtime.load(tmp / "missing.wasm")),
        ("a directory instead of a file", lambda: runtime.load(tmp)),
        ("empty file", lambda: runtime.load(_write(tmp / "empty.wasm", b""))),
        # Tests run as root here, so permissions cannot make a file unreadable; this one is.
        ("unreadable file", lambda: runtime.load("/proc/self/mem")),
        ("text file", lambda: runtime.load(_write(tmp / "notes.wasm", "hello\n"))),
        ("truncated component", lambda: runtime.load(
            _write(tmp / "cut.wasm", counter.read_bytes()[: len(counter.read_bytes()) // 2]))),
        ("core module instead of a component", lambda: runtime.load(
            _write(tmp / "core.wasm", b"\0asm\x01\x00\x00\x00"))),
        ("component path that is a FIFO (registry.add)", lambda: registry.add(
            "fifo", _fifo(tmp / "pipe.wasm"))),
        ("component path that is a device (registry.add)", lambda: registry.add(
            "zero", "/dev/zero")),
        ("zero bytes after a component header", lambda: runtime.load(
            _write(tmp / "zeros.wasm", COMPONENT_HEADER + bytes(1 << 20)))),
        ("component section longer than the file", lambda: runtime.load(
            _write(tmp / "long.wasm", COMPONENT_HEADER + b"\x01\xff\xff\x03" + bytes(10)))),
        ("import that no host function provides", lambda: registry.worker("dice")),
        ("granted directory path with a NUL byte", lambda: SandboxGrants.from_options(
            dirs={f"{tmp}\0/data": "/data"})),
        ("granted directory that does not exist", lambda: SandboxGrants.from_options(
            dirs={str(tmp / "no-such-dir"): "/data"})),
        ("granted directory that is a file", lambda: SandboxGrants.from_options(
            dirs={str(_write(tmp / "plain.txt", "x")): "/data"})),
        ("unknown function", lambda: worker.invoke("golem:counter/api.{decrement}", 1)),
        ("wrong number of arguments", lambda: worker.invoke(inc)),
        ("integer out of range", lambda: worker.invoke(inc, 2**64)),
        ("negative value for an unsigned parameter", lambda: worker.invoke(inc, -1)),
        ("value of the wrong kind", lambda: worker.invoke(inc, "5")),
        ("WAVE text that does not parse", lambda: worker.invoke_wave(inc, "[1,")),
        ("WAVE value that does not fit the type", lambda: worker.invoke_wave(inc, '"five"')),
        ("update mode unknown", lambda: worker.update(1, "fast")),
        ("update to the current revision", lambda: worker.update(0)),
        ("start function that runs past the deadline",
         lambda: registry.worker("spin", limits=short)),
        ("host function still running at the deadline", lambda: registry.worker(
            "dice", limits=short, host_functions=slow_oracle).invoke(
                "golem:dice/api.{consult}", "slow?")),
        ("host function calling back into its own worker", lambda: _reentry(
            registry, "d", lambda worker: worker.invoke("golem:dice/api.{total}"))),
        ("a worker needing a stream directory, no file descriptor left",
         _without_free_descriptors(lambda: registry.worker("kv", name="kv-full"))),
        ("a stream call with no file descriptor left",
         _without_free_descriptors(lambda: streams.invoke("put", "b", "k", b"v"))),
        ("close() from a host function of the worker's own invocation",
         lambda: _reentry(registry, "d-close", lambda worker: worker.close())),
        ("oplog file missing", lambda: _read_all(tmp / "none.oplog.jsonl")),
        ("empty oplog file", lambda: _read_all(_write(tmp / "empty.jsonl", b""))),
        ("oplog header from a newer version", lambda: _read_all(
            _oplog(tmp / "new.jsonl", '{"oplog": 9, "component": "c", "revision": 0}'))),
        ("malformed oplog line", lambda: _read_all(
            _oplog(tmp / "bad.jsonl", HEADER_LINE, INVOCATION, '{"kind": "completed", "result": '))),
        ("oplog line that is not UTF-8", lambda: _read_all(
            _oplog(tmp / "latin1.jsonl", HEADER_LINE, b'{"kind": "log", "text": "caf\xe9"}'))),
        ("unknown oplog entry kind", lambda: _read_all(
            _oplog(tmp / "kind.jsonl", HEADER_LINE, '{"kind": "teleport"}'))),
        ("oplog entry field of the wrong type", lambda: _read_all(
            _oplog(tmp / "type.jsonl", HEADER_LINE, INVOCATION, '{"kind": "completed", "result": 5}'))),
        ("oplog that is not a regular file (FIFO)", lambda: _read_all(_fifo(tmp / "fifo.jsonl"))),
        ("oplog header with a negative revision", lambda: _read_all(
            _oplog(tmp / "rev.jsonl", '{"oplog": 1, "component": "counter", "revision": -7}'))),
        ("oplog header with an empty component", lambda: _read_all(
            _oplog(tmp / "noname.jsonl", '{"oplog": 1, "component": "", "revision": 0}'))),
        ("oplog with a byte-order mark", lambda: _read_all(
            _oplog(tmp / "bom.jsonl", b"\xef\xbb\xbf" + HEADER_LINE.encode()))),
        ("oplog header line of 64 KiB without a newline", lambda: _read_all(
            _write(tmp / "long.jsonl", b"x" * 70_000))),
        ("oplog integer beyond Python's digit limit", lambda: _read_all(
            _oplog(tmp / "digits.jsonl", '{"oplog": 1, "component": "c", "revision": '
                   + "9" * 5000 + "}"))),
        ("oplog line nested 100,000 deep", lambda: _read_all(
            _oplog(tmp / "deep.jsonl", HEADER_LINE, "[" * 100_000 + "]" * 100_000))),
        ("oplog entry with the in-memory field `native`", lambda: _read_all(
            _oplog(tmp / "native.jsonl", HEADER_LINE, INVOCATION,
                   '{"kind": "completed", "native": [0]}'))),
        ("oplog snapshot that is not base64", lambda: _read_all(
            _oplog(tmp / "b64.jsonl", HEADER_LINE, '{"kind": "pending-update", "target_revision": '
                   '1, "mode": "manual", "at": 1, "snapshot": "%%%"}'))),
        ("oplog completion without an invocation", lambda: _read_all(
            _oplog(tmp / "orphan.jsonl", HEADER_LINE, '{"kind": "completed", "result": "1"}'))),
        ("oplog with two completions of one invocation", lambda: _read_all(
            _oplog(tmp / "twice.jsonl", HEADER_LINE, INVOCATION, COMPLETED, COMPLETED))),
        ("oplog invocation inside an unfinished one", lambda: _read_all(
            _oplog(tmp / "nested.jsonl", HEADER_LINE, INVOCATION, INVOCATION))),
        ("oplog host call outside any invocation", lambda: _read_all(
            _oplog(tmp / "outside.jsonl", HEADER_LINE, INVOCATION, COMPLETED,
                   '{"kind": "host-call", "function": "wasi:random/random.{get-random-u64}", '
                   '"result": "4"}'))),
        ("oplog successful update without a pending one", lambda: _read_all(
            _oplog(tmp / "fake.jsonl", HEADER_LINE, '{"kind": "successful-update", '
                   '"target_revision": 99, "mode": "automatic", "at": 1}'))),
        ("oplog update to the revision the worker runs", lambda: _read_all(
            _oplog(tmp / "same.jsonl", HEADER_LINE, '{"kind": "pending-update", '
                   '"target_revision": 0, "mode": "automatic", "at": 1}'))),
        ("history of another component", lambda: replay_history(
            counter, _oplog(tmp / "dice.oplog.jsonl", '{"oplog": 1, "component": "dice", '
                            '"revision": 0}'), runtime=runtime, expect_component="counter")),
        ("one unnamed candidate for histories of several components", lambda: match_histories(
            [_oplog(tmp / "c.oplog.jsonl", HEADER_LINE),
             _oplog(tmp / "d.oplog.jsonl", '{"oplog": 1, "component": "dice", "revision": 0}')],
            tmp / "new.wasm")),
        ("guest writes more than WorkerLimits.memory_bytes into a keyvalue value's stream",
         lambda: _flood(registry, tmp)),
        (("values a worker stores in keyvalue buckets and blob containers past "
          "WorkerLimits.memory_bytes"), lambda: _fill_store(registry, sample)),
        ("snapshot larger than the new revision's memory limit",
         lambda: _too_big_snapshot(registry, sample)),
    ]


def _flood(registry: Registry, tmp: Path) -> None:
    from pytest_hotupdate.worker import WorkerLimits

    from .test_reliability_limits import _flooding_kvstream

    registry.add("flood", _flooding_kvstream(tmp))
    worker = registry.worker("flood", limits=WorkerLimits(memory_bytes=2 << 20))
    worker.invoke("put", "b", "big", b"y" * 16384)  # 256 x 16 KiB = 4 MiB into the stream


def _fill_store(registry: Registry, sample: Callable[[str, str], Path]) -> None:
    from pytest_hotupdate.worker import WorkerLimits

    registry.add("kv", sample("golem-kvstream", "v1"))
    worker = registry.worker("kv", name="filler", limits=WorkerLimits(memory_bytes=1 << 20))
    for i in range(5):  # the fifth 256 KiB value does not fit
        worker.invoke("put", "b", f"k{i}", b"x" * (256 << 10))


def _too_big_snapshot(registry: Registry, sample: Callable[[str, str], Path]) -> None:
    from pytest_hotupdate.worker import WorkerLimits

    registry.add("big", sample("bigstate", "v1"))
    registry.add("big", sample("bigstate", "v1"))
    worker = registry.worker("big", revision=0, limits=WorkerLimits(memory_bytes=8 << 20))
    worker.invoke("fill", 5 << 20, 1, False)  # 5 MiB: fits once, not twice (load's buffer)
    worker.update(1, "manual", raise_on_failure=True)


def _run(case: Callable[[], object], tmp: Path) -> tuple[str, str]:
    with pytest.raises(HotUpdateError) as info:
        case()
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return type(info.value).__name__, message.replace(str(tmp), "<dir>")


def _table(rows: list[tuple[str, str, str]]) -> str:
    # Double backticks: the messages quote names in single backticks themselves.
    body = "\n".join(f"| {what} | `{kind}` | `` {message} `` |" for what, kind, message in rows)
    return f"{BEGIN}\n{HEADER}\n{body}\n{END}"


def test_bad_inputs_get_one_clear_line_and_match_the_docs(
    tmp_path: Path, runtime: Runtime, sample  # type: ignore[no-untyped-def]
) -> None:
    rows = [(what, *_run(case, tmp_path)) for what, case in cases(tmp_path, runtime, sample)]
    table = _table(rows)
    text = DOC.read_text(encoding="utf-8")
    current = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, re.S)
    assert current is not None, f"{DOC} has no {BEGIN} ... {END} block"
    if os.environ.get("HOTUPDATE_WRITE_DOCS"):
        DOC.write_text(text.replace(current.group(0), table), encoding="utf-8")
        return
    assert current.group(0) == table, (
        "docs/errors.md is out of date: HOTUPDATE_WRITE_DOCS=1 python -m pytest "
        "tests/test_bad_inputs.py")
