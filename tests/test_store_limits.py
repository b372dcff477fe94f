"""Issue 12, item 3: the values a worker stores in its registry's keyvalue and blob stores count
against its `WorkerLimits.memory_bytes` (pytest_hotupdate/golem/store_bytes.py), with the
golem-kvstream and golem-blob WAT samples in real Stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.golem.store_bytes import store_bytes_of
from pytest_hotupdate.golem.wasi_blobstore import blobstore_of
from pytest_hotupdate.golem.wasi_keyvalue import store_of
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import Err, Ok
from pytest_hotupdate.worker import WorkerLimits

MIB = 1 << 20
VALUE = 256 << 10  # four values fill a 1 MiB limit exactly
LIMIT = WorkerLimits(memory_bytes=MIB)


@pytest.fixture
def kv(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("kv", sample("golem-kvstream", "v1"))
    return registry


@pytest.fixture
def blob(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("blob", sample("golem-blob", "v1"))
    blobstore_of(registry).put("c", "seed", b"")  # the container, nobody's
    return registry


def _sets(worker) -> list[HostCall]:
    return [e for e in worker.oplog.entries
            if isinstance(e, HostCall) and e.function == "wasi:keyvalue/eventual.{set}"]


def _fill(worker, count: int = 4, byte: bytes = b"x") -> None:
    for i in range(count):
        assert worker.invoke("put", "b", f"k{i}", byte * VALUE) is True


def test_values_past_the_limit_fail_the_call_and_the_worker_goes_on(kv: Registry):
    worker = kv.worker("kv", name="w", limits=LIMIT)
    _fill(worker)
    held = store_bytes_of(kv)
    assert held.held_by("w") == MIB
    with pytest.raises(InvocationError) as failure:
        worker.invoke("put", "b", "k4", b"y" * VALUE)
    assert failure.value.kind == "memory"
    assert str(failure.value) == (
        "golem:kvstream/api.{put}: wasi:keyvalue/eventual.{set}: storing 262,144 bytes would "
        "make the values worker "
        "'w' holds in the registry's stores 1,310,720 bytes (now 1,048,576), more than its "
        "WorkerLimits.memory_bytes (1,048,576 bytes)")
    # nothing stored, nothing recorded as a success, the total unchanged
    assert sorted(store_of(kv).snapshot()["b"]) == ["k0", "k1", "k2", "k3"]
    assert len(_sets(worker)) == 4
    assert held.held_by("w") == MIB
    # overwriting its own value costs only the difference; the worker answers as before
    assert worker.invoke("put", "b", "k0", b"z" * 1000) is True
    assert held.held_by("w") == 3 * VALUE + 1000
    assert worker.invoke("put", "b", "k4", b"y" * (VALUE - 1000)) is True
    assert held.held_by("w") == MIB
    # (golem-kvstream's bump heap keeps what `fetch` read until the next call: fetch last)
    assert worker.invoke("fetch", "b", "k1") == b"x" * VALUE


def test_two_workers_have_separate_budgets_and_an_overwrite_takes_the_value_over(
        kv: Registry):
    first = kv.worker("kv", name="first", limits=LIMIT)
    second = kv.worker("kv", name="second", limits=LIMIT)
    _fill(first)
    for i in range(4):
        assert second.invoke("put", "b", f"s{i}", b"s" * VALUE) is True
    held = store_bytes_of(kv)
    assert (held.held_by("first"), held.held_by("second")) == (MIB, MIB)
    with pytest.raises(InvocationError, match="worker 'second' holds"):
        second.invoke("put", "b", "k0", b"t" * VALUE)  # full: it cannot take k0 over
    assert second.invoke("put", "b", "s0", b"") is True  # gives 256 KiB back to itself
    assert second.invoke("put", "b", "k0", b"t" * VALUE) is True  # now it can
    assert (held.held_by("first"), held.held_by("second")) == (3 * VALUE, MIB)
    assert first.invoke("put", "b", "k4", b"x" * VALUE) is True  # first got k0's bytes back


def test_restart_close_and_updates_do_not_change_the_totals(kv: Registry,
                                                            sample: Callable[[str, str], Path]):
    kv.add("kv", sample("golem-kvstream", "v1"))  # revision 1, for an automatic update
    worker = kv.worker("kv", name="w", revision=0, limits=LIMIT)
    _fill(worker)
    store, held = store_of(kv), store_bytes_of(kv)
    operations = store.operations
    worker.restart()
    assert held.held_by("w") == MIB
    assert worker.update(1).succeeded  # automatic: the oplog replayed on revision 1
    assert held.held_by("w") == MIB
    worker.close()
    assert store.operations == operations  # the replays never reached the store
    assert held.held_by("w") == MIB  # the closed worker's values stay its own
    with pytest.raises(InvocationError) as failure:  # rebuilt from its oplog, still full
        worker.invoke("put", "b", "k4", b"y" * VALUE)
    assert failure.value.kind == "memory", failure.value
    assert worker.invoke("fetch", "b", "k3") == b"x" * VALUE
    assert held.held_by("w") == MIB


def test_deleting_an_object_frees_room_and_the_tests_objects_are_nobodys(blob: Registry):
    store, held = blobstore_of(blob), store_bytes_of(blob)
    store.put("c", "big", b"q" * (4 * MIB))  # the test's own: not counted
    limit = 512 << 10
    worker = blob.worker("blob", name="w", limits=WorkerLimits(memory_bytes=limit))
    # golem-blob stores an object whose body is its name (at most 4,000 bytes here)
    names = [f"{i:04}" * 1000 for i in range(limit // 4000)]
    for name in names:
        assert worker.invoke("write", "c", name) == Ok(None)
    assert held.held_by("w") == 524_000
    with pytest.raises(InvocationError) as failure:
        worker.invoke("write", "c", "e" * 4000)
    assert failure.value.kind == "memory"
    message = str(failure.value)
    assert message == (
        "golem:blob/api.{write}: wasi:blobstore/container.{container.write-data}: storing "
        "4,000 bytes would make the values worker 'w' holds in the registry's stores 528,000 "
        "bytes (now 524,000), more than its WorkerLimits.memory_bytes (524,288 bytes)")
    assert worker.invoke("has", "c", "e" * 4000) == Ok(False)
    assert worker.invoke("remove", "c", names[0]) == Ok(None)
    assert held.held_by("w") == 520_000
    assert worker.invoke("write", "c", "e" * 4000) == Ok(None)
    store.put("c", names[1], b"")  # the test replaces one of the worker's objects
    assert held.held_by("w") == 520_000
    worker.restart()
    assert held.held_by("w") == 520_000
    assert worker.invoke("write", "c", "f" * 4000) == Ok(None)
    with pytest.raises(InvocationError, match=r"WorkerLimits\.memory_bytes"):
        worker.invoke("write", "c", "g" * 4000)
    assert worker.invoke("has", "c", "g" * 4000) == Ok(False)
    assert len(store.snapshot()["c"]) == 2 + len(names) + 1  # seed, big, e, f; one removed
