"""Manual updates through every published snapshot interface version, and across forms.

Each component is generated here from WAT: a `u64` register with `set`/`get`, exporting
`golem:api/save-snapshot` and `golem:api/load-snapshot` at one version, in the `list<u8>` form
(0.2.x, 1.1.x, 1.3.0) or the 1.5.0 record form `snapshot { payload, mime-type }`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hotupdate.oplog import PendingUpdate
from pytest_hotupdate.registry import Registry

WASM_TOOLS = str(Path(sys.executable).with_name("wasm-tools"))
LIST_FORM_VERSIONS = ["0.2.0", "0.2.2", "1.1.0", "1.1.6", "1.1.7", "1.3.0"]
API = "test:snap/api"

GOLEM_LIST_FORM = """package golem:api@{v};
interface save-snapshot {{ save: func() -> list<u8>; }}
interface load-snapshot {{ load: func(bytes: list<u8>) -> result<_, string>; }}
"""
GOLEM_RECORD_FORM = """package golem:api@1.5.0;
interface host {{ record snapshot {{ payload: list<u8>, mime-type: string }} }}
interface save-snapshot {{ use host.{{snapshot}}; save: func() -> snapshot; }}
interface load-snapshot {{ use host.{{snapshot}}; load: func(snapshot: snapshot) -> result<_, string>; }}
"""
WORLD = """package test:snap;
interface api {{ set: func(value: u64); get: func() -> u64; }}
world snap {{ export api; export golem:api/save-snapshot@{v}; export golem:api/load-snapshot@{v}; }}
"""

# Memory: [0, 16) return area; [64, 72) snapshot bytes; [80, ...) error text and MIME type;
# [1024, ...) bump heap for arguments the host passes in.
COMMON = """
  (memory (export "memory") 1)
  (global $value (mut i64) (i64.const 0))
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 80) "expected 8 bytes")
  (data (i32.const 96) "application/x-u64-le")
  (func (export "test:snap/api#set") (param i64) (global.set $value (local.get 0)))
  (func (export "test:snap/api#get") (result i64) (global.get $value))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  ;; load's body: 8 bytes at $ptr -> value; result<_, string> in the return area at 0
  (func $load (param $ptr i32) (param $len i32) (result i32)
    (global.set $heap (i32.const 1024))
    (if (i32.ne (local.get $len) (i32.const 8))
      (then
        (i32.store8 (i32.const 0) (i32.const 1))
        (i32.store (i32.const 4) (i32.const 80))
        (i32.store (i32.const 8) (i32.const 16))
        (return (i32.const 0))))
    (global.set $value (i64.load (local.get $ptr)))
    (i32.store8 (i32.const 0) (i32.const 0))
    (i32.const 0))
"""
LIST_FORM_EXPORTS = """
  (func (export "golem:api/save-snapshot@{v}#save") (result i32)
    (i64.store (i32.const 64) (global.get $value))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 8))
    (i32.const 0))
  (func (export "golem:api/load-snapshot@{v}#load") (param i32 i32) (result i32)
    (call $load (local.get 0) (local.get 1)))
"""
RECORD_FORM_EXPORTS = """
  (func (export "golem:api/save-snapshot@1.5.0#save") (result i32)
    (i64.store (i32.const 64) (global.get $value))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 8))
    (i32.store (i32.const 8) (i32.const 96))
    (i32.store (i32.const 12) (i32.const 20))
    (i32.const 0))
  (func (export "golem:api/load-snapshot@1.5.0#load") (param i32 i32 i32 i32) (result i32)
    (call $load (local.get 0) (local.get 1)))
"""


def _build(directory: Path, version: str) -> Path:
    exports = RECORD_FORM_EXPORTS if version == "1.5.0" else LIST_FORM_EXPORTS.format(v=version)
    return _compile(directory, version, f"(module {COMMON} {exports})")


def _compile(directory: Path, version: str, wat: str) -> Path:
    """Build a `snap` component exporting the snapshot interfaces at ``version`` from ``wat``."""
    wit = directory / "wit"
    if not wit.exists():
        (wit / "deps" / "golem").mkdir(parents=True)
        golem = GOLEM_RECORD_FORM if version == "1.5.0" else GOLEM_LIST_FORM
        (wit / "deps" / "golem" / "golem.wit").write_text(golem.format(v=version))
        (wit / "world.wit").write_text(WORLD.format(v=version))
    (directory / "core.wat").write_text(wat)
    core, out = directory / "core.wasm", directory / "snap.wasm"
    subprocess.run([WASM_TOOLS, "component", "embed", str(wit), "--world", "snap",
                    str(directory / "core.wat"), "-o", str(core)], check=True)
    subprocess.run([WASM_TOOLS, "component", "new", str(core), "-o", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {v: _build(tmp_path_factory.mktemp(f"snap-{v}"), v)
            for v in [*LIST_FORM_VERSIONS, "1.5.0"]}


@pytest.mark.parametrize("old", [*LIST_FORM_VERSIONS, "1.5.0"])
@pytest.mark.parametrize("new", ["1.1.0", "1.5.0"])
def test_manual_update_between_snapshot_versions(
    registry: Registry, components: dict[str, Path], old: str, new: str
) -> None:
    registry.add("snap", components[old])
    registry.add("snap", components[new])
    worker = registry.worker("snap", revision=0)
    worker.invoke(f"{API}.{{set}}", 123_456_789)
    outcome = worker.update(1, "manual")
    assert outcome.succeeded, outcome.details
    assert worker.invoke(f"{API}.{{get}}") == 123_456_789
    (pending,) = [e for e in worker.oplog if isinstance(e, PendingUpdate)]
    expected_mime = "application/x-u64-le" if old == "1.5.0" else "application/octet-stream"
    assert pending.snapshot_mime_type == expected_mime
    worker.restart()  # recovery = load(snapshot) on the new revision
    assert worker.invoke(f"{API}.{{get}}") == 123_456_789


def test_cart_v2_to_v3_migrates_through_the_record_form(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    registry.add("cart", sample("cart", "v2"))
    registry.add("cart", sample("cart", "v3"))
    worker = registry.worker("cart", revision=0)
    worker.invoke("golem:cart/api.{add-item}",
                  {"sku": "a", "name": "A", "price-cents": 250, "quantity": 2})
    worker.invoke("golem:cart/api.{set-currency}", "eur")
    summary = worker.invoke("golem:cart/api.{summary}")
    automatic = worker.update(1, "automatic")
    assert not automatic.succeeded  # v3 changed the item type: replay cannot work
    assert "no longer type-check" in automatic.details or "differs" in automatic.details
    outcome = worker.update(1, "manual")
    assert outcome.succeeded, outcome.details
    assert worker.invoke("golem:cart/api.{summary}") == summary
    assert worker.update_counts() == (0, 1, 1)
