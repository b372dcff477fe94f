"""A worker's memory limit covers all it uses: every linear memory, every table, and what the
host holds for it (stream bodies); real WAT components, real Stores."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.footprint import Footprint, count_component, store_limits
from pytest_hotupdate.golem.shims import build_wat_component
from pytest_hotupdate.golem.wasi_keyvalue import store_of
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.worker import WorkerLimits
from sample_components.build import build, default_root

PAGE = 64 << 10

ATTACK_WIT = {"attack.wit": """
package test:attack;
interface api {
  /// Grows every memory by one page, `pages` times; returns the pages gained in all.
  grow-all: func(pages: u32) -> u32;
  /// Grows the table by `n` elements; returns its old size, or 0xffffffff if refused.
  grow-table: func(n: u32) -> u32;
}
world attack { export api; }
"""}


def _attack_wat(memories: int) -> str:
    grows = "\n".join(
        f"      (if (i32.ne (memory.grow $m{i} (i32.const 1)) (i32.const -1))\n"
        f"        (then (local.set $got (i32.add (local.get $got) (i32.const 1)))))"
        for i in range(memories))
    return f"""(module
{chr(10).join(f"  (memory $m{i} 1)" for i in range(memories))}
  (table $t 1 funcref)
  (func (export "test:attack/api#grow-all") (param $pages i32) (result i32)
    (local $i i32) (local $got i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (local.get $pages)))
{grows}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (local.get $got))
  (func (export "test:attack/api#grow-table") (param $n i32) (result i32)
    (table.grow $t (ref.null func) (local.get $n)))
)
"""


def _attack(registry: Registry, memories: int, limit: int):
    data = build_wat_component("attack", ATTACK_WIT, _attack_wat(memories), "attack")
    registry.add(f"attack{memories}", data)
    return registry.worker(f"attack{memories}", limits=WorkerLimits(memory_bytes=limit))


def test_the_footprint_counts_every_memory_and_table_the_component_instantiates():
    data = build_wat_component("attack", ATTACK_WIT, _attack_wat(8), "attack")
    assert count_component(data) == Footprint(memories=8, tables=1)
    limits = store_limits(512 << 20, Footprint(memories=8, tables=1))
    assert limits.memory_size * 8 + limits.table_elements * 8 <= 512 << 20
    assert limits.memory_size == (512 << 20) * 15 // 16 // 8
    # Not a component at all: counted as one of each, never an exception.
    assert count_component(b"\0asm\x0d\x00\x01\x00\x07\xff") == Footprint(1, 1)


def test_eight_memories_share_one_limit(registry: Registry):
    limit = 64 << 20
    worker = _attack(registry, 8, limit)
    gained = worker.invoke("test:attack/api.{grow-all}", 10_000)  # 8 x 625 MiB if unbounded
    total = (gained + 8) * PAGE  # each memory starts with one page
    assert limit * 15 // 16 - 8 * PAGE < total <= limit * 15 // 16


def test_a_single_memory_gets_the_whole_memory_share(registry: Registry):
    limit = 64 << 20
    worker = _attack(registry, 1, limit)
    gained = worker.invoke("test:attack/api.{grow-all}", 10_000)
    assert (gained + 1) * PAGE == limit * 15 // 16


def test_table_grow_is_refused_past_the_table_share(registry: Registry):
    worker = _attack(registry, 1, 64 << 20)
    assert worker.invoke("test:attack/api.{grow-table}", 110_000_000) == 0xFFFFFFFF
    # (64 MiB / 16) / 8 bytes = 524,288 elements in all; the table has one.
    assert worker.invoke("test:attack/api.{grow-table}", 524_287) == 1
    assert worker.invoke("test:attack/api.{grow-table}", 1) == 0xFFFFFFFF


def _flooding_kvstream(tmp: Path) -> Path:
    """golem-kvstream whose `put` writes its value (a multiple of 4096 bytes) 256 times over
    into the stream."""
    root = tmp / "samples"
    for name in ("golem-kvstream", "wit-deps"):
        shutil.copytree(default_root() / name, root / name)
    wat = root / "golem-kvstream" / "v1" / "component.wat"
    text = wat.read_text()
    loop_end = "(i32.ge_u (local.get $offset) (local.get $vlen))"
    chunk = "(i32.sub (local.get $vlen) (local.get $offset))"
    source = "(i32.add (local.get $vptr) (local.get $offset))"
    assert loop_end in text and chunk in text and source in text
    many = "(i32.mul (local.get $vlen) (i32.const 256))"
    text = (text.replace(loop_end, f"(i32.ge_u (local.get $offset) {many})")
            .replace(chunk, f"(i32.sub {many} (local.get $offset))")
            .replace(source, "(i32.add (local.get $vptr) "
                             "(i32.rem_u (local.get $offset) (local.get $vlen)))"))
    wat.write_text(text)
    return build("golem-kvstream", "v1", root=root, cache_dir=tmp / "cache")


def test_a_stream_written_past_the_limit_fails_the_call_and_is_not_kept(
        registry: Registry, tmp_path: Path):
    registry.add("flood", _flooding_kvstream(tmp_path))
    worker = registry.worker("flood", limits=WorkerLimits(memory_bytes=2 << 20))
    assert worker.invoke("put", "b", "small", b"x" * 4096) is True  # 1 MiB: within the limit
    worker.save_oplog(tmp_path / "before.oplog.jsonl")
    with pytest.raises(InvocationError) as failure:
        worker.invoke("put", "b", "big", b"y" * 16384)  # 4 MiB into the stream
    assert failure.value.kind == "memory"
    message = str(failure.value)
    assert "4,194,304 bytes" in message and "WorkerLimits.memory_bytes (2,097,152 bytes)" in message
    assert "\n" not in message
    assert "big" not in store_of(registry).snapshot().get("b", {})
    worker.save_oplog(tmp_path / "after.oplog.jsonl")
    grown = (tmp_path / "after.oplog.jsonl").stat().st_size - (
        tmp_path / "before.oplog.jsonl").stat().st_size
    assert grown < 1 << 20  # the failed call's arguments, never the 4 MiB body
    assert worker.invoke("put", "b", "again", b"z" * 4096) is True  # it goes on
    assert store_of(registry).snapshot()["b"]["small"] == b"x" * (1 << 20)


# -- snapshots of any size (past wasmtime's hostcall fuel) -----------------------------------

BIG_WIT = {
    "world.wit": """
package test:big;
interface api {
  /// The state: `length` bytes of a pattern made from `seed`, starting at an odd address if
  /// `odd` (a latin1 string cannot start there).
  fill: func(length: u32, seed: u32, odd: bool);
  /// A hash of the state's bytes.
  digest: func() -> u64;
  size: func() -> u32;
}
world big { export api; export golem:api/save-snapshot@VERSION; export golem:api/load-snapshot@VERSION; }
""",
    "deps/golem/golem.wit": """
package golem:api@1.1.0;
interface save-snapshot { save: func() -> list<u8>; }
interface load-snapshot { load: func(bytes: list<u8>) -> result<_, string>; }
""",
}
BIG_RECORD_GOLEM = """
package golem:api@1.5.0;
interface host { record snapshot { payload: list<u8>, mime-type: string } }
interface save-snapshot { use host.{snapshot}; save: func() -> snapshot; }
interface load-snapshot { use host.{snapshot}; load: func(snapshot: snapshot) -> result<_, string>; }
"""

# Memory: [0, 16) save's return area, [16, 32) load's, [64, 96) the MIME type, [1024, ...) heap.
BIG_WAT = """(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (global $ptr (mut i32) (i32.const 0))
  (global $len (mut i32) (i32.const 0))
  (data (i32.const 64) "application/x-test-pattern")
  (func (export "test:big/api#fill") (param $n i32) (param $seed i32) (param $odd i32)
    (local $p i32) (local $i i32)
    (local.set $p (i32.add (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const 8)
                                               (i32.add (local.get $n) (i32.const 8)))
                           (local.get $odd)))
    (block $done (loop $words
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
      (i32.store (i32.add (local.get $p) (local.get $i))
                 (i32.add (i32.mul (local.get $i) (i32.const 0x9E3779B1)) (local.get $seed)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $words)))
    (block $done (loop $bytes
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.add (local.get $i) (local.get $seed)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $bytes)))
    (global.set $ptr (local.get $p))
    (global.set $len (local.get $n)))
  (func (export "test:big/api#digest") (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done (loop $bytes
      (br_if $done (i32.ge_u (local.get $i) (global.get $len)))
      (local.set $h (i64.mul (i64.xor (local.get $h)
                                      (i64.load8_u (i32.add (global.get $ptr) (local.get $i))))
                             (i64.const 0x100000001b3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $bytes)))
    (i64.xor (local.get $h) (i64.extend_i32_u (global.get $len))))
  (func (export "test:big/api#size") (result i32) (global.get $len))
  SAVE_LOAD
  (func $cabi_realloc (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                         (i32.const 65535)) (i32.const 16)))
                        (i32.const -1))
              (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))
)"""
LIST_SAVE_LOAD = """
  (func (export "golem:api/save-snapshot@1.1.0#save") (result i32)
    (i32.store (i32.const 0) (global.get $ptr))
    (i32.store (i32.const 4) (global.get $len))
    (i32.const 0))
  (func (export "golem:api/load-snapshot@1.1.0#load") (param $p i32) (param $n i32) (result i32)
    (global.set $ptr (local.get $p))
    (global.set $len (local.get $n))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.const 16))
"""
RECORD_SAVE_LOAD = """
  (func (export "golem:api/save-snapshot@1.5.0#save") (result i32)
    (i32.store (i32.const 0) (global.get $ptr))
    (i32.store (i32.const 4) (global.get $len))
    (i32.store (i32.const 8) (i32.const 64))
    (i32.store (i32.const 12) (i32.const 26))
    (i32.const 0))
  (func (export "golem:api/load-snapshot@1.5.0#load")
      (param $p i32) (param $n i32) (param $mp i32) (param $mn i32) (result i32)
    (global.set $ptr (local.get $p))
    (global.set $len (local.get $n))
    (i32.store8 (i32.const 16) (i32.const 0))
    (if (i32.ne (local.get $mn) (i32.const 26))
      (then (i32.store8 (i32.const 16) (i32.const 1))
            (i32.store (i32.const 20) (i32.const 64))
            (i32.store (i32.const 24) (i32.const 4))))
    (i32.const 16))
"""


def _big(record_form: bool = False) -> bytes:
    wit = dict(BIG_WIT)
    version = "1.5.0" if record_form else "1.1.0"
    wit["world.wit"] = wit["world.wit"].replace("VERSION", version)
    if record_form:
        wit["deps/golem/golem.wit"] = BIG_RECORD_GOLEM
    wat = BIG_WAT.replace("SAVE_LOAD", RECORD_SAVE_LOAD if record_form else LIST_SAVE_LOAD)
    return build_wat_component("big", wit, wat, "big")


def _big_update(registry: Registry, length: int, odd: bool, record_form: bool = False,
                limit: int = 512 << 20) -> tuple[int, object]:
    data = _big(record_form)
    registry.add("big", data)
    registry.add("big", data)
    worker = registry.worker("big", revision=0, limits=WorkerLimits(memory_bytes=limit))
    worker.invoke("fill", length, 7, odd)
    digest = worker.invoke("digest")
    outcome = worker.update(1, "manual")
    assert outcome.succeeded, outcome.details
    assert worker.invoke("size") == length
    return digest, worker


@pytest.mark.parametrize("length, odd", [(0, False), (1, True), (5 << 20, False),
                                         ((5 << 20) + 3, True), ((40 << 20) + 1, False)])
def test_snapshots_past_the_hostcall_fuel_move_whole(registry: Registry, length: int, odd: bool):
    digest, worker = _big_update(registry, length, odd)
    assert worker.invoke("digest") == digest
    worker.restart()  # recovery: load(snapshot) from the oplog, again in chunks
    assert worker.invoke("digest") == digest


def test_record_form_snapshots_keep_their_mime_type_past_the_fuel(registry: Registry):
    digest, worker = _big_update(registry, (3 << 20) + 1, True, record_form=True)
    assert worker.invoke("digest") == digest
    pending = [e for e in worker.oplog.entries if getattr(e, "snapshot_mime_type", None)]
    assert pending[-1].snapshot_mime_type == "application/x-test-pattern"


@pytest.mark.slow
def test_a_256_mib_snapshot_survives_a_manual_update(registry: Registry):
    digest, worker = _big_update(registry, 256 << 20, True)
    assert worker.invoke("digest") == digest
