"""Issue 12, items 3 and 5, with real WAT components and real Stores.

- A worker's memory limit covers all it uses: every linear memory, every table, and what the
  host holds for it (stream bodies).
- Snapshots move whole far past wasmtime's hostcall fuel (about 2.6 MiB for a `list<u8>`
  result), through the bulk path (:mod:`pytest_hotupdate.component.bulk`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.assertions import assert_snapshot_roundtrip
from pytest_hotupdate.component import bulk
from pytest_hotupdate.component.footprint import Footprint, count_component, store_limits
from pytest_hotupdate.component.shims import build_wat_component, run_wasm_tools
from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.host.golem.wasi_blobstore import blobstore_of
from pytest_hotupdate.host.golem.wasi_keyvalue import store_of
from pytest_hotupdate.oplog import PendingUpdate
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.snapshot import find_save
from pytest_hotupdate.values import Ok
from pytest_hotupdate.worker import Worker, WorkerLimits
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


UNDERCOUNTED = """(component
  (component $c
    (core module $m (memory 1))
    (core instance (instantiate $m)))
  (instance $empty)
  (instance (instantiate $c))
  (instance (instantiate $c))
  (instance (instantiate $c))
)"""


def test_the_store_refuses_memories_the_count_missed(registry: Registry, tmp_path: Path):
    """The count stops at an instance section it cannot read past (here an inline-export
    instance comes first): the Store's count limit refuses what it missed."""
    (tmp_path / "under.wat").write_text(UNDERCOUNTED)
    run_wasm_tools("test", "parse", str(tmp_path / "under.wat"), "-o", str(tmp_path / "u.wasm"))
    data = (tmp_path / "u.wasm").read_bytes()
    assert count_component(data).memories < 3
    registry.add("under", data)
    with pytest.raises(InvocationError, match="memory count too high") as failure:
        registry.worker("under")
    assert failure.value.kind == "instantiation"


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


def _flooding_blob(tmp: Path) -> Path:
    """golem-blob whose `write` writes the object's name 1024 times into the body's stream."""
    root = tmp / "samples"
    for name in ("golem-blob", "wit-deps"):
        shutil.copytree(default_root() / name, root / name)
    wat = root / "golem-blob" / "v1" / "component.wat"
    text = wat.read_text()
    locals_ = "(local $container i32) (local $value i32)"
    write = """(call $write_and_flush (i32.load (i32.const 52)) (local.get $op) (local.get $ol)
                               (i32.const 64))"""
    start = text.index('(func (export "golem:blob/api#write")')
    assert text.count(write) == 1 and locals_ in text[start:]
    text = text.replace(write, f"""(local.set $n (i32.const 1024))
        (block $done (loop $more
          (br_if $done (i32.eqz (local.get $n)))
          {write}
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $more)))""")
    text = text[:start] + text[start:].replace(locals_, locals_ + " (local $n i32)", 1)
    wat.write_text(text)
    return build("golem-blob", "v1", root=root, cache_dir=tmp / "cache")


def test_a_blob_body_written_past_the_limit_fails_the_call(registry: Registry, tmp_path: Path):
    registry.add("blob", _flooding_blob(tmp_path))
    blobstore_of(registry).put("c", "seed", b"")  # the container
    worker = registry.worker("blob", limits=WorkerLimits(memory_bytes=2 << 20))
    assert worker.invoke("write", "c", "o" * 1000) == Ok(None)  # ~1 MB: within the limit
    with pytest.raises(InvocationError, match=r"wrote 4,096,000 bytes .*"
                       r"WorkerLimits.memory_bytes \(2,097,152 bytes\)") as failure:
        worker.invoke("write", "c", "p" * 4000)
    assert failure.value.kind == "memory"
    assert worker.invoke("has", "c", "p" * 4000) == Ok(False)
    assert worker.invoke("has", "c", "o" * 1000) == Ok(True)


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

def _big_update(registry: Registry, sample: Callable[[str, str], Path], length: int, odd: bool,
                old: str = "v1", new: str = "v1") -> tuple[int, Worker]:
    """A bigstate worker on ``old`` with ``length`` bytes of state, updated to ``new`` by
    snapshot; returns the state's digest before the update and the worker."""
    registry.add("big", sample("bigstate", old))
    registry.add("big", sample("bigstate", new))
    worker = registry.worker("big", revision=0)
    worker.invoke("fill", length, 7, odd)
    digest = worker.invoke("digest")
    outcome = worker.update(1, "manual")
    assert outcome.succeeded, outcome.details
    assert worker.invoke("size") == length
    return digest, worker


@pytest.mark.parametrize("length, odd", [(0, False), (1, True), (5 << 20, False),
                                         ((5 << 20) + 3, True), ((40 << 20) + 1, False)])
def test_snapshots_past_the_hostcall_fuel_move_whole(
        registry: Registry, sample: Callable[[str, str], Path], length: int, odd: bool):
    digest, worker = _big_update(registry, sample, length, odd)
    assert worker.invoke("digest") == digest
    worker.restart()  # recovery: load(snapshot) from the oplog, again in chunks
    assert worker.invoke("digest") == digest


def test_record_form_snapshots_past_the_fuel_keep_their_mime_type(
        registry: Registry, sample: Callable[[str, str], Path]):
    digest, worker = _big_update(registry, sample, (3 << 20) + 1, True, old="v2", new="v2")
    assert worker.invoke("digest") == digest
    pending = [e for e in worker.oplog.entries if isinstance(e, PendingUpdate)]
    assert pending[-1].snapshot_mime_type == "application/x-test-pattern"


def test_a_large_snapshot_that_load_refuses_reports_the_guests_error(
        registry: Registry, sample: Callable[[str, str], Path]):
    registry.add("big", sample("bigstate", "v1"))
    registry.add("big", sample("bigstate", "v2"))  # wants its own MIME type
    worker = registry.worker("big", revision=0)
    worker.invoke("fill", 3 << 20, 7, False)
    digest = worker.invoke("digest")
    outcome = worker.update(1, "manual")
    assert not outcome.succeeded
    assert outcome.details == "Manual update failed to load snapshot: wrong MIME type"
    assert worker.component_revision == 0 and worker.invoke("digest") == digest


def test_the_direct_path_still_traps_past_the_fuel(
        registry: Registry, sample: Callable[[str, str], Path]):
    """What the bulk path is for: the same component, not augmented, cannot save 5 MiB."""
    data = sample("bigstate", "v1").read_bytes()
    assert bulk.needs_augmenting(data)
    plain = registry.runtime.load(data, "plain")  # Runtime.load does not augment
    assert bulk.INTERFACE not in {f.interface for f in plain.functions.values()}
    registry.add("big", data)
    worker = registry.worker("big")
    incarnation = worker.build_incarnation(plain, 0)
    worker.instantiate(incarnation, "unrecorded")
    worker.call_unrecorded(incarnation, plain.find_function("fill"), (5 << 20, 1, False))
    save = find_save(plain)
    assert save is not None
    with pytest.raises(InvocationError, match="fuel allocated for hostcalls"):
        worker.call_unrecorded(incarnation, save, ())


@pytest.mark.slow
def test_a_256_mib_snapshot_survives_a_manual_update(
        registry: Registry, sample: Callable[[str, str], Path]):
    digest, worker = _big_update(registry, sample, 256 << 20, True)
    assert worker.invoke("digest") == digest


def test_snapshot_roundtrip_assertion_works_past_the_fuel(
        registry: Registry, sample: Callable[[str, str], Path]):
    registry.add("big", sample("bigstate", "v2"))
    worker = registry.worker("big")
    worker.invoke("fill", (6 << 20) + 1, 3, True)
    payload = assert_snapshot_roundtrip(worker, probes=[("digest",)])
    assert len(payload) == (6 << 20) + 1


@pytest.mark.slow
def test_componentize_py_snapshots_take_the_bulk_path(
        registry: Registry, sample: Callable[[str, str], Path]):
    """cart v3 (componentize-py) names its realloc `$"#core-func794 cabi_realloc"` and has
    post-return functions: both of its snapshot functions are still served."""
    registry.add("cart", sample("cart", "v3"))
    names = {f.export_name for f in registry.component("cart", 0).functions.values()
             if f.interface == bulk.INTERFACE}
    assert {"bulk-save-begin", "bulk-load-begin", "bulk-load-chunk", "bulk-load-end"} <= names
