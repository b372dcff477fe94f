"""Every bad input gets one clear line naming the file or value and what is wrong.

The table of these cases and their exact messages is published in docs/errors.md; this test
checks it. After changing a message, regenerate the table with
``HOTUPDATE_WRITE_DOCS=1 python -m pytest tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import HotUpdateError
from pytest_hotupdate.oplog import read_oplog
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.runtime import Runtime

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


HEADER_LINE = '{"oplog": 1, "component": "counter", "revision": 0}'


def cases(tmp: Path, runtime: Runtime, sample: Callable[[str, str], Path]
          ) -> list[tuple[str, Callable[[], object]]]:
    counter = sample("counter", "v1")
    registry = Registry(runtime)
    registry.add("counter", counter)
    registry.add("counter", sample("counter", "v2"))
    registry.add("dice", sample("dice", "v1"))
    worker = registry.worker("counter", name="w", revision=0)
    inc = "golem:counter/api.{increment}"
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
        ("import that no host function provides", lambda: registry.worker("dice")),
        ("unknown function", lambda: worker.invoke("golem:counter/api.{decrement}", 1)),
        ("wrong number of arguments", lambda: worker.invoke(inc)),
        ("integer out of range", lambda: worker.invoke(inc, 2**64)),
        ("negative value for an unsigned parameter", lambda: worker.invoke(inc, -1)),
        ("value of the wrong kind", lambda: worker.invoke(inc, "5")),
        ("WAVE text that does not parse", lambda: worker.invoke_wave(inc, "[1,")),
        ("WAVE value that does not fit the type", lambda: worker.invoke_wave(inc, '"five"')),
        ("update mode unknown", lambda: worker.update(1, "fast")),
        ("update to the current revision", lambda: worker.update(0)),
        ("oplog file missing", lambda: _read_all(tmp / "none.oplog.jsonl")),
        ("empty oplog file", lambda: _read_all(_write(tmp / "empty.jsonl", b""))),
        ("oplog header from a newer version", lambda: _read_all(
            _oplog(tmp / "new.jsonl", '{"oplog": 9, "component": "c", "revision": 0}'))),
        ("malformed oplog line", lambda: _read_all(
            _oplog(tmp / "bad.jsonl", HEADER_LINE, '{"kind": "completed", "result": "1"}',
                   '{"kind": "invocation", "function": '))),
        ("oplog line that is not UTF-8", lambda: _read_all(
            _oplog(tmp / "latin1.jsonl", HEADER_LINE, b'{"kind": "log", "text": "caf\xe9"}'))),
        ("unknown oplog entry kind", lambda: _read_all(
            _oplog(tmp / "kind.jsonl", HEADER_LINE, '{"kind": "teleport"}'))),
        ("oplog entry field of the wrong type", lambda: _read_all(
            _oplog(tmp / "type.jsonl", HEADER_LINE, '{"kind": "completed", "result": 5}'))),
        ("guest writes more than WorkerLimits.memory_bytes into a keyvalue value's stream",
         lambda: _flood(registry, tmp)),
        ("snapshot larger than the new revision's memory limit",
         lambda: _too_big_snapshot(registry, sample)),
    ]


def _flood(registry: Registry, tmp: Path) -> None:
    from pytest_hotupdate.worker import WorkerLimits

    from .test_reliability_limits import _flooding_kvstream

    registry.add("flood", _flooding_kvstream(tmp))
    worker = registry.worker("flood", limits=WorkerLimits(memory_bytes=2 << 20))
    worker.invoke("put", "b", "big", b"y" * 16384)  # 256 x 16 KiB = 4 MiB into the stream


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
