"""Durable workers on real components: invoke, record, replay after restart or failure."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pytest

from pytest_hotupdate.engine import Runtime
from pytest_hotupdate.errors import ComponentLoadError, InvocationError, RegistryError
from pytest_hotupdate.oplog import Completed, Failed, HostCall, Invocation, Oplog, read_oplog
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.worker import WorkerLimits

INC = "golem:counter/api.{increment}"
GET = "golem:counter/api.{get}"


@pytest.fixture
def counter(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    registry.add("counter", sample("counter", "v1"))
    return registry


def test_invoke_records_every_call(counter: Registry) -> None:
    worker = counter.worker("counter", name="c1")
    assert worker.invoke(INC, 5) == 5
    assert worker.invoke(INC, 10) == 15
    assert worker.invoke_wave(GET) == "15"
    assert [type(e) for e in worker.oplog] == [Invocation, Completed] * 3
    assert worker.oplog.entries[0] == Invocation(INC, ("5",))
    assert worker.oplog.entries[3] == Completed("15")
    assert [r.result for r in worker.invocations] == ["5", "15", "15"]
    meta = worker.metadata
    assert (meta.name, meta.component, meta.component_revision, meta.status) == (
        "c1", "counter", 0, "idle")
    assert meta.invocation_count == 3


@pytest.mark.parametrize(
    "name",
    ["golem:counter/api.{increment}", "golem:counter/api.increment", "api.{increment}",
     "increment"],
)
def test_function_name_forms(counter: Registry, name: str) -> None:
    worker = counter.worker("counter")
    assert worker.invoke(name, 2) == 2
    assert worker.oplog.entries[0].function == INC  # always recorded under Golem's full name


def test_bad_calls_are_rejected_and_not_recorded(counter: Registry) -> None:
    worker = counter.worker("counter")
    worker.invoke(INC, 1)
    before = list(worker.oplog)
    cases = [
        (lambda: worker.invoke("golem:counter/api.{nope}"), "not-found", r"exports no function"),
        (lambda: worker.invoke(INC), "bad-arguments", r"takes 1 argument\(s\) \(by: u64\), got 0"),
        (lambda: worker.invoke(INC, -1), "bad-arguments", r"param `by`.*u64"),
        (lambda: worker.invoke(INC, 2**64), "bad-arguments", r"param `by`"),
        (lambda: worker.invoke(INC, "5"), "bad-arguments", r"param `by`"),
        (lambda: worker.invoke_wave(INC, "five"), "bad-arguments", r"param `by`"),
        (lambda: worker.invoke_wave(INC, "-0"), "bad-arguments", r"param `by`"),
    ]
    for call, kind, message in cases:
        with pytest.raises(InvocationError, match=message) as info:
            call()
        assert info.value.kind == kind
        assert "\n" not in str(info.value)
    assert list(worker.oplog) == before
    assert worker.invoke(GET) == 1


def test_restart_replays_the_oplog(counter: Registry) -> None:
    worker = counter.worker("counter")
    for by in range(1, 51):
        worker.invoke(INC, by)
    oplog_before = worker.oplog.to_jsonl()
    worker.restart()
    assert worker.invoke(GET) == sum(range(1, 51))
    # A restart appends nothing but the new call.
    assert worker.oplog.to_jsonl().startswith(oplog_before.rstrip("\n"))


def test_new_workers_start_on_the_latest_revision(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    assert registry.add("counter", sample("counter", "v1")) == 0
    old = registry.worker("counter")
    assert registry.add("counter", sample("counter", "v2")) == 1
    new = registry.worker("counter")
    pinned = registry.worker("counter", revision=0)
    assert (old.component_revision, new.component_revision, pinned.component_revision) == (0, 1, 0)
    new.invoke("golem:counter/api.{reset}")
    with pytest.raises(InvocationError, match="exports no function"):
        old.invoke("golem:counter/api.{reset}")
    with pytest.raises(RegistryError, match="has no revision 7"):
        registry.worker("counter", revision=7)
    with pytest.raises(RegistryError, match="no component named 'nope'"):
        registry.worker("nope")
    with pytest.raises(RegistryError, match="already exists"):
        registry.worker("counter", name=old.name)


# -- durable host calls ---------------------------------------------------------------------


@pytest.fixture
def dice(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    registry.add("dice", sample("dice", "v1"))
    return registry


def test_durable_host_calls_replay_identically(dice: Registry) -> None:
    asked: list[str] = []

    def oracle(question: str) -> int:
        asked.append(question)
        return len(asked) * 100

    worker = dice.worker("dice", host_functions={"golem:dice/oracle.{ask}": oracle})
    rolls = [worker.invoke("golem:dice/api.{roll}") for _ in range(20)]
    assert all(1 <= r <= 6 for r in rolls)
    now = worker.invoke("golem:dice/api.{now-seconds}")
    assert now > 1_600_000_000
    assert worker.invoke("golem:dice/api.{consult}", "why?") == 100
    total = worker.invoke("golem:dice/api.{total}")
    assert total == sum(rolls) + 100

    host_calls = [e for e in worker.oplog if isinstance(e, HostCall)]
    assert [h.function for h in host_calls] == (
        ["wasi:random/random.{get-random-u64}"] * 20
        + ["wasi:clocks/wall-clock.{now}", "golem:dice/oracle.{ask}"]
    )
    assert host_calls[-1].params == ('"why?"',) and host_calls[-1].result == "100"
    assert json.loads(json.dumps(host_calls[20].result)).startswith("{seconds: ")

    worker.restart()
    assert asked == ["why?"]  # replay answered from the oplog, not from the oracle
    assert worker.invoke("golem:dice/api.{total}") == total
    assert worker.invoke("golem:dice/api.{now-seconds}") >= now


def test_replay_from_a_saved_oplog_file(dice: Registry, tmp_path: Path) -> None:
    worker = dice.worker("dice", host_functions={"golem:dice/oracle.{ask}": lambda q: 7})
    for _ in range(5):
        worker.invoke("golem:dice/api.{roll}")
    worker.invoke("golem:dice/api.{consult}", "q")
    total = worker.invoke("golem:dice/api.{total}")
    path = tmp_path / "dice.oplog.jsonl"
    worker.save_oplog(path)

    # A second worker rebuilt from the file alone (WAVE text, no in-memory caches).
    header, entries = read_oplog(path)
    assert header.component == "dice"
    clone = dice.worker("dice", host_functions={"golem:dice/oracle.{ask}": lambda q: 999})
    clone.oplog.entries[:] = list(entries)
    clone.restart()
    assert clone.invoke("golem:dice/api.{total}") == total


def test_missing_host_function_is_reported_before_the_first_call(dice: Registry) -> None:
    with pytest.raises(ComponentLoadError, match=r"golem:dice/oracle\.\{ask\}.*no host function"):
        dice.worker("dice")


def test_host_function_that_raises_fails_only_that_call(dice: Registry) -> None:
    def oracle(question: str) -> int:
        if question == "boom":
            raise RuntimeError("oracle unavailable")
        return 3

    worker = dice.worker("dice", host_functions={"golem:dice/oracle.{ask}": oracle})
    worker.invoke("golem:dice/api.{consult}", "fine")
    with pytest.raises(InvocationError, match="RuntimeError: oracle unavailable") as info:
        worker.invoke("golem:dice/api.{consult}", "boom")
    assert info.value.kind == "host-error"
    assert worker.invoke("golem:dice/api.{total}") == 3
    assert isinstance(worker.oplog.entries[-3], Failed)


def test_environment_is_granted_explicitly_and_recorded(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    # The sandbox: no host environment leaks into the guest; the granted one is what it sees.
    from pytest_hotupdate.host import SandboxGrants

    grants = SandboxGrants.from_options(env={"MODE": "test"})
    assert grants.env == (("MODE", "test"),)
    assert SandboxGrants().env == ()


# -- faulty guests --------------------------------------------------------------------------


@pytest.fixture
def faulty(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    registry.add("faulty", sample("faulty", "v1"))
    return registry


@pytest.mark.parametrize(
    ("function", "args", "kind", "message"),
    [
        ("trap", (), "trap", r"trapped: .*unreachable"),
        ("spin", (), "deadline", r"exceeded its deadline of 0\.2 s"),
        ("recurse", (10_000_000,), "stack-overflow", r"stack overflow"),
        ("grow", (1000,), "trap", r"grow its memory past the 4 MiB limit"),
    ],
)
def test_faulty_guest_is_stopped_and_the_worker_keeps_its_state(
    faulty: Registry, function: str, args: tuple[int, ...], kind: str, message: str
) -> None:
    worker = faulty.worker(
        "faulty", limits=WorkerLimits(deadline_seconds=0.2, memory_bytes=4 << 20)
    )
    worker.invoke("golem:faulty/api.{increment}", 41)
    worker.invoke("golem:faulty/api.{grow}", 2)  # within the limit
    entries_before = list(worker.oplog)
    with pytest.raises(InvocationError, match=message) as info:
        worker.invoke(f"golem:faulty/api.{{{function}}}", *args)
    assert info.value.kind == kind
    assert "\n" not in str(info.value)
    # The history it had, plus the recorded failure.
    assert worker.oplog.entries[: len(entries_before)] == entries_before
    failed_call = worker.oplog.entries[len(entries_before):]
    assert [type(e) for e in failed_call] == [Invocation, Failed]
    assert failed_call[1].error_kind == kind
    assert worker.metadata.status == "idle"
    assert worker.invoke("golem:faulty/api.{increment}", 1) == 42
    # And it survives a restart too: the failed call is skipped on replay.
    worker.restart()
    assert worker.invoke("golem:faulty/api.{get}") == 42


def test_list_u8_round_trip(faulty: Registry) -> None:
    worker = faulty.worker("faulty")
    data = bytes(range(256)) * 4
    assert worker.invoke("golem:faulty/api.{echo-bytes}", data) == data
    assert worker.invoke_wave("golem:faulty/api.{echo-bytes}", "[1, 2, 255]") == "[1, 2, 255]"


# -- loading components ---------------------------------------------------------------------


def _core_module() -> bytes:
    # (module) with one empty type section: a valid core module, not a component.
    return b"\0asm\x01\x00\x00\x00"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, c: d / "missing.wasm", r"missing\.wasm: no such file"),
        (lambda d, c: d, r": is a directory"),
        (lambda d, c: _write(d / "empty.wasm", b""), r"empty\.wasm: empty file"),
        (lambda d, c: _write(d / "text.wasm", b"hello world\n"), r"text\.wasm: not a WebAssembly"),
        (lambda d, c: _write(d / "core.wasm", _core_module()), r"core\.wasm: a core WebAssembly module"),
        (lambda d, c: _write(d / "cut.wasm", c[: len(c) // 2]),
         r"cut\.wasm: not a valid component \(truncated or malformed\)"),
    ],
)
def test_bad_component_files_are_rejected_clearly(
    runtime: Runtime, sample, tmp_path: Path, make, message: str  # type: ignore[no-untyped-def]
) -> None:
    good = sample("counter", "v1").read_bytes()
    path = make(tmp_path, good)
    with pytest.raises(ComponentLoadError, match=message) as info:
        runtime.load(path)
    assert "\n" not in str(info.value)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_compiled_components_are_cached_on_disk(sample, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = sample("counter", "v2")
    first = Runtime(cache_dir=tmp_path)
    first.load(path)
    assert first.components.compile_count == 1
    first.load(path)
    assert first.components.compile_count == 1  # in-process cache
    second = Runtime(cache_dir=tmp_path)
    loaded = second.load(path)
    assert second.components.compile_count == 0  # deserialized from disk
    assert sorted(loaded.functions) == [
        "golem:api/save-snapshot@1.1.0.{save}",
        "golem:counter/api.{get}",
        "golem:counter/api.{increment}",
        "golem:counter/api.{reset}",
    ]
    # A corrupt cache entry is recompiled, not fatal.
    for entry in (tmp_path / "compiled").glob("*.cwasm"):
        entry.write_bytes(b"garbage")
    third = Runtime(cache_dir=tmp_path)
    third.load(path)
    assert third.components.compile_count == 1


def test_oplog_saved_by_a_worker_round_trips(counter: Registry, tmp_path: Path) -> None:
    worker = counter.worker("counter", name="w")
    worker.invoke(INC, 3)
    worker.save_oplog(tmp_path / "w.jsonl")
    loaded = Oplog.load(tmp_path / "w.jsonl")
    assert loaded.entries == worker.oplog.entries
    assert loaded.header.worker == "w"


@pytest.mark.parametrize("size", [0, 1, 255, 65_537, 1_000_000])
def test_large_byte_lists_round_trip_exactly(faulty: Registry, size: int) -> None:
    import os

    worker = faulty.worker("faulty")
    data = os.urandom(size)
    assert worker.invoke("golem:faulty/api.{echo-bytes}", data) == data
    assert worker.invoke("golem:faulty/api.{echo-bytes}", bytearray(data)) == data
    entry = worker.oplog.entries[0]
    assert entry.params[0] == "[" + ", ".join(str(b) for b in data) + "]"


def test_two_processes_compile_a_component_once(sample, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    code = ("import sys; from pytest_hotupdate.engine import Runtime; from pathlib import Path; "
            "r = Runtime(cache_dir=Path(sys.argv[2])); r.load(sys.argv[1]); "
            "print(r.components.compile_count)")
    path = str(sample("dice", "v2"))
    procs = [subprocess.Popen([sys.executable, "-c", code, path, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    counts = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert sorted(counts) == [0, 1]


def test_a_dropped_worker_and_its_store_are_freed(sample) -> None:  # type: ignore[no-untyped-def]
    # WASI's output callbacks live in a table of wasmtime-py's until the Store is gone; they
    # must not keep the worker (and so the Store and its memory) alive.
    registry = Registry(Runtime())
    registry.add("counter", sample("counter", "v1"))
    worker = registry.worker("counter")
    worker.invoke("golem:counter/api.{increment}", 1)
    dropped = weakref.ref(worker)
    del worker, registry
    gc.collect()
    assert dropped() is None
