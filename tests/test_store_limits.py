"""Issue 12, item 3: the values a worker stores in its registry's keyvalue and blob stores count
against its `WorkerLimits.memory_bytes` (pytest_hotupdate/host/golem/store_bytes.py), with the
golem-kvstream and golem-blob WAT samples in real Stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.component.shims import build_wat_component
from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.host.golem.store_bytes import store_bytes_of
from pytest_hotupdate.host.golem.wasi_blobstore import blobstore_of
from pytest_hotupdate.host.golem.wasi_keyvalue import store_of
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import Ok
from pytest_hotupdate.worker import WorkerLimits
from sample_components.build import default_root

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


# -- set-many, increment, compare-and-swap, delete-many: a WAT component of this test --------

KVBATCH_WIT = """package kvbatch:test;

interface api {
  /// Sets every key to a value of `size` bytes (`write-body-sync`), in one `set-many`.
  set-many: func(bucket: string, keys: list<string>, size: u32) -> bool;
  delete-many: func(bucket: string, keys: list<string>) -> bool;
  increment: func(bucket: string, key: string, delta: u64) -> bool;
  compare-and-swap: func(bucket: string, key: string, old: u64, new: u64) -> bool;
}

world kvbatch {
  import wasi:keyvalue/types@0.1.0;
  import wasi:keyvalue/eventual-batch@0.1.0;
  import wasi:keyvalue/atomic@0.1.0;
  export api;
}
"""

# Return area of the imports at 64; values are `size` bytes of memory from address 0 (their
# content does not matter); the bump heap from 4096 is reset when an export returns.
KVBATCH_WAT = """(module
  (import "wasi:keyvalue/types@0.1.0" "[static]bucket.open-bucket"
    (func $open_bucket (param i32 i32 i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]bucket" (func $drop_bucket (param i32)))
  (import "wasi:keyvalue/types@0.1.0" "[static]outgoing-value.new-outgoing-value"
    (func $new_outgoing (result i32)))
  (import "wasi:keyvalue/types@0.1.0" "[method]outgoing-value.outgoing-value-write-body-sync"
    (func $write_sync (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]outgoing-value"
    (func $drop_outgoing (param i32)))
  (import "wasi:keyvalue/eventual-batch@0.1.0" "set-many" (func $set_many (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/eventual-batch@0.1.0" "delete-many"
    (func $delete_many (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/atomic@0.1.0" "increment" (func $increment (param i32 i32 i32 i64 i32)))
  (import "wasi:keyvalue/atomic@0.1.0" "compare-and-swap"
    (func $cas (param i32 i32 i32 i64 i64 i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))

  (func $bucket (param $ptr i32) (param $len i32) (result i32)
    (call $open_bucket (local.get $ptr) (local.get $len) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (i32.load (i32.const 68)))

  (func $ok_and_reset (param $bucket i32) (result i32)
    (call $drop_bucket (local.get $bucket))
    (global.set $heap (i32.const 4096))
    (i32.eqz (i32.load8_u (i32.const 64))))

  (func (export "kvbatch:test/api#set-many")
      (param $bp i32) (param $bl i32) (param $kp i32) (param $kl i32) (param $size i32)
      (result i32)
    (local $bucket i32) (local $pairs i32) (local $i i32) (local $entry i32) (local $key i32)
    (local $value i32) (local $ok i32)
    (local.set $bucket (call $bucket (local.get $bp) (local.get $bl)))
    (local.set $pairs (call $realloc (i32.const 0) (i32.const 0) (i32.const 4)
                                     (i32.mul (local.get $kl) (i32.const 12))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $kl)))
      (local.set $value (call $new_outgoing))
      (call $write_sync (local.get $value) (i32.const 0) (local.get $size) (i32.const 64))
      (if (i32.load8_u (i32.const 64)) (then unreachable))
      (local.set $entry (i32.add (local.get $pairs) (i32.mul (local.get $i) (i32.const 12))))
      (local.set $key (i32.add (local.get $kp) (i32.mul (local.get $i) (i32.const 8))))
      (i32.store (local.get $entry) (i32.load (local.get $key)))
      (i32.store offset=4 (local.get $entry) (i32.load offset=4 (local.get $key)))
      (i32.store offset=8 (local.get $entry) (local.get $value))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (call $set_many (local.get $bucket) (local.get $pairs) (local.get $kl) (i32.const 64))
    (local.set $i (i32.const 0))
    (block $dropped (loop $drop
      (br_if $dropped (i32.ge_u (local.get $i) (local.get $kl)))
      (call $drop_outgoing (i32.load offset=8 (i32.add (local.get $pairs)
                                                       (i32.mul (local.get $i) (i32.const 12)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $drop)))
    (call $ok_and_reset (local.get $bucket)))

  (func (export "kvbatch:test/api#delete-many")
      (param $bp i32) (param $bl i32) (param $kp i32) (param $kl i32) (result i32)
    (local $bucket i32)
    (local.set $bucket (call $bucket (local.get $bp) (local.get $bl)))
    (call $delete_many (local.get $bucket) (local.get $kp) (local.get $kl) (i32.const 64))
    (call $ok_and_reset (local.get $bucket)))

  (func (export "kvbatch:test/api#increment")
      (param $bp i32) (param $bl i32) (param $kp i32) (param $kl i32) (param $delta i64)
      (result i32)
    (local $bucket i32)
    (local.set $bucket (call $bucket (local.get $bp) (local.get $bl)))
    (call $increment (local.get $bucket) (local.get $kp) (local.get $kl) (local.get $delta)
                     (i32.const 64))
    (call $ok_and_reset (local.get $bucket)))

  (func (export "kvbatch:test/api#compare-and-swap")
      (param $bp i32) (param $bl i32) (param $kp i32) (param $kl i32) (param $old i64)
      (param $new i64) (result i32)
    (local $bucket i32)
    (local.set $bucket (call $bucket (local.get $bp) (local.get $bl)))
    (call $cas (local.get $bucket) (local.get $kp) (local.get $kl) (local.get $old)
               (local.get $new) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then (return (call $ok_and_reset (local.get $bucket)))))
    (drop (call $ok_and_reset (local.get $bucket)))
    (i32.load8_u (i32.const 68)))  ;; swapped (the payload is aligned as the error handle)

  (func $realloc (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                         (i32.const 65535)) (i32.const 16)))
                        (i32.const -1))
              (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))
)
"""


@pytest.fixture
def kvbatch(registry: Registry, tmp_path: Path) -> Registry:
    deps = default_root() / "wit-deps" / "wasi-keyvalue-0.1.0"
    wit = {"kvbatch.wit": KVBATCH_WIT}
    wit.update({f"deps/wasi-keyvalue/{f.name}": f.read_text() for f in deps.glob("*.wit")})
    component = tmp_path / "kvbatch.wasm"
    component.write_bytes(build_wat_component("kvbatch", wit, KVBATCH_WAT, "kvbatch"))
    registry.add("kvbatch", component)
    return registry


def test_set_many_increment_and_compare_and_swap_count_every_byte(kvbatch: Registry):
    worker = kvbatch.worker("kvbatch", name="w", limits=LIMIT)
    held, store = store_bytes_of(kvbatch), store_of(kvbatch)
    assert worker.invoke("set-many", "b", [f"k{i}" for i in range(15)], 65536) is True
    assert worker.invoke("set-many", "b", ["last"], 65530) is True
    assert held.held_by("w") == MIB - 6
    with pytest.raises(InvocationError) as failure:  # 8 bytes more: the whole batch fails
        worker.invoke("set-many", "b", ["x", "y"], 4)
    assert failure.value.kind == "memory"
    assert "wasi:keyvalue/eventual-batch.{set-many}: storing 8 bytes would make" in str(
        failure.value)
    assert not {"x", "y"} & set(store.snapshot()["b"])
    assert worker.invoke("set-many", "b", ["k0", "k0"], 65536) is True  # replaces: costs nothing
    assert worker.invoke("increment", "b", "n", 12345) is True  # "12345": 5 bytes
    assert worker.invoke("increment", "b", "n", 100000) is True  # "112345": exactly full
    assert held.held_by("w") == MIB
    with pytest.raises(InvocationError, match=r"atomic\.\{increment\}: storing 7 bytes"):
        worker.invoke("increment", "b", "n", 900000)
    with pytest.raises(InvocationError, match=r"atomic\.\{compare-and-swap\}: storing 7 bytes"):
        worker.invoke("compare-and-swap", "b", "n", 112345, 1000000)
    assert store.snapshot()["b"]["n"] == b"112345"
    assert worker.invoke("compare-and-swap", "b", "n", 112345, 999999) is True  # same size
    assert worker.invoke("delete-many", "b", ["k0", "k1", "nothing"]) is True
    assert held.held_by("w") == MIB - 2 * 65536
    worker.restart()
    assert held.held_by("w") == MIB - 2 * 65536
    assert worker.invoke("set-many", "b", ["x", "y"], 4) is True
    assert worker.invoke("increment", "b", "n", 1) is True  # "1000000"
    assert held.held_by("w") == MIB - 2 * 65536 + 8 + 1


# -- copy-object and move-object: a WAT component of this test -------------------------------

BLOBCOPY_WIT = """package blobcopy:test;

interface api {
  copy-object: func(src-container: string, src: string, dest-container: string, dest: string)
    -> bool;
  move-object: func(src-container: string, src: string, dest-container: string, dest: string)
    -> bool;
  delete-container: func(name: string) -> bool;
}

world blobcopy {
  import wasi:blobstore/blobstore;
  export api;
}
"""

# Both exports pass their eight lowered string halves on as two `object-id` records, with the
# import's return area at 64 (an error string is allocated by the bump `cabi_realloc`).
BLOBCOPY_WAT = """(module
  (import "wasi:blobstore/blobstore" "copy-object"
    (func $copy (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:blobstore/blobstore" "move-object"
    (func $move (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:blobstore/blobstore" "delete-container"
    (func $delete_container (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (func (export "blobcopy:test/api#delete-container") (param i32 i32) (result i32)
    (call $delete_container (local.get 0) (local.get 1) (i32.const 64))
    (global.set $heap (i32.const 1024))
    (i32.eqz (i32.load8_u (i32.const 64))))

  (func (export "blobcopy:test/api#copy-object")
      (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $copy (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                (local.get 5) (local.get 6) (local.get 7) (i32.const 64))
    (global.set $heap (i32.const 1024))
    (i32.eqz (i32.load8_u (i32.const 64))))

  (func (export "blobcopy:test/api#move-object")
      (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $move (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                (local.get 5) (local.get 6) (local.get 7) (i32.const 64))
    (global.set $heap (i32.const 1024))
    (i32.eqz (i32.load8_u (i32.const 64))))

  (func (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.shl (memory.size) (i32.const 16))) (then unreachable))
    (local.get $ptr))
)
"""


@pytest.fixture
def blobcopy(registry: Registry, tmp_path: Path) -> Registry:
    wit = {"blobcopy.wit": BLOBCOPY_WIT}
    for dep, folder in (("wasi-blobstore-unversioned", "blobstore"), ("wasi-io-0.2.3", "io")):
        wit.update({f"deps/{folder}/{f.name}": f.read_text()
                    for f in (default_root() / "wit-deps" / dep).glob("*.wit")})
    component = tmp_path / "blobcopy.wasm"
    component.write_bytes(build_wat_component("blobcopy", wit, BLOBCOPY_WAT, "blobcopy"))
    registry.add("blobcopy", component)
    return registry


def test_copies_and_moves_count_for_the_worker_that_made_them(blobcopy: Registry):
    store, held = blobstore_of(blobcopy), store_bytes_of(blobcopy)
    size = 300_000
    store.put("c", "src", b"s" * size)  # the test's own: nobody's
    worker = blobcopy.worker("blobcopy", name="w", limits=LIMIT)
    for i in range(3):
        assert worker.invoke("copy-object", "c", "src", "c", f"copy{i}") is True
    assert held.held_by("w") == 3 * size
    with pytest.raises(InvocationError) as failure:
        worker.invoke("copy-object", "c", "src", "c", "copy3")
    assert failure.value.kind == "memory"
    assert "wasi:blobstore/blobstore.{copy-object}: storing 300,000 bytes" in str(failure.value)
    with pytest.raises(InvocationError, match=r"\{move-object\}: storing 300,000 bytes"):
        worker.invoke("move-object", "c", "src", "c", "mine")  # it would take the test's over
    assert set(store.snapshot()["c"]) == {"src", "copy0", "copy1", "copy2"}
    assert worker.invoke("move-object", "c", "copy0", "c", "moved") is True  # its own: no cost
    assert worker.invoke("move-object", "c", "moved", "c", "moved") is True  # onto itself
    assert held.held_by("w") == 3 * size
    assert worker.invoke("copy-object", "c", "copy1", "c", "copy2") is True  # overwrites its own
    assert held.held_by("w") == 3 * size
    assert worker.invoke("copy-object", "c", "nothing", "c", "x") is False  # an error: no cost
    worker.restart()
    assert held.held_by("w") == 3 * size
    assert set(store.snapshot()["c"]) == {"src", "moved", "copy1", "copy2"}
    assert worker.invoke("delete-container", "c") is True  # gives back all its objects
    assert held.held_by("w") == 0
