"""Manual updates whose `save` or `load` misbehave: each is reported, and nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_hotupdate.registry import Registry
from pytest_hotupdate.worker import WorkerLimits

from .test_snapshot_versions import API, COMMON, _compile

GOOD_SAVE = """
  (func (export "golem:api/save-snapshot@1.1.0#save") (result i32)
    (i64.store (i32.const 64) (global.get $value))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 8))
    (i32.const 0))
"""
FAULTS = {
    "save-traps": """
  (func (export "golem:api/save-snapshot@1.1.0#save") (result i32) unreachable)
  (func (export "golem:api/load-snapshot@1.1.0#load") (param i32 i32) (result i32)
    (call $load (local.get 0) (local.get 1)))
""",
    # A 100 MB snapshot: the guest must grow its memory to 1,600 pages first.
    "save-100mb": """
  (func (export "golem:api/save-snapshot@1.1.0#save") (result i32)
    (if (i32.eq (memory.grow (i32.const 1600)) (i32.const -1)) (then unreachable))
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 104857600))
    (i32.const 0))
  (func (export "golem:api/load-snapshot@1.1.0#load") (param i32 i32) (result i32)
    (call $load (local.get 0) (local.get 1)))
""",
    "load-traps": GOOD_SAVE + """
  (func (export "golem:api/load-snapshot@1.1.0#load") (param i32 i32) (result i32) unreachable)
""",
    # result<_, string> with discriminant 7: not a valid result; lifting it fails.
    "load-garbage": GOOD_SAVE + """
  (func (export "golem:api/load-snapshot@1.1.0#load") (param i32 i32) (result i32)
    (i32.store8 (i32.const 0) (i32.const 7))
    (i32.const 0))
""",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    good = GOOD_SAVE + """
  (func (export "golem:api/load-snapshot@1.1.0#load") (param i32 i32) (result i32)
    (call $load (local.get 0) (local.get 1)))
"""
    sources = {"good": good, **FAULTS}
    return {name: _compile(tmp_path_factory.mktemp(name), "1.1.0", f"(module {COMMON} {body})")
            for name, body in sources.items()}


@pytest.mark.parametrize(
    ("old", "new", "details"),
    [
        ("save-traps", "good",
         r"^failed to get a snapshot for manual update: .*trapped: wasm trap: .*unreachable"),
        ("save-100mb", "good",
         r"^failed to get a snapshot for manual update: .*trapped.*16 MiB limit"),
        ("good", "load-traps",
         r"^Manual update failed to load snapshot: .*trapped: wasm trap: .*unreachable"),
        ("good", "load-garbage", r"^Manual update failed to load snapshot: .*trapped: .*"),
    ],
)
def test_a_faulty_snapshot_fails_the_update_and_loses_nothing(
    registry: Registry, built: dict[str, Path], old: str, new: str, details: str
) -> None:
    registry.add("snap", built[old])
    registry.add("snap", built[new])
    worker = registry.worker("snap", revision=0, limits=WorkerLimits(memory_bytes=16 << 20))
    worker.invoke(f"{API}.{{set}}", 77)
    worker.invoke(f"{API}.{{get}}")
    history = worker.oplog.to_jsonl()
    outcome = worker.update(1, "manual")
    assert not outcome.succeeded
    assert "\n" not in outcome.details
    import re
    assert re.search(details, outcome.details), outcome.details
    assert worker.component_revision == 0 and worker.update_counts()[2] == 1
    assert worker.oplog.to_jsonl().startswith(history)  # the history, plus the update records
    assert worker.invoke(f"{API}.{{get}}") == 77
    worker.restart()
    assert worker.invoke(f"{API}.{{get}}") == 77
