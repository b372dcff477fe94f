"""`wasi:keyvalue@0.1.0`: a store shared by a registry's workers, durable (recorded, replayed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.component import shims
from pytest_hotupdate.host.golem.wasi_keyvalue import store_of
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import Err, Ok

pytestmark = pytest.mark.slow  # a componentize-py sample


@pytest.fixture
def app(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("app", sample("golem-app", "v1"))
    registry.add("app", sample("golem-app", "v2"))
    return registry


def _kv_calls(worker) -> list[HostCall]:
    return [e for e in worker.oplog.entries
            if isinstance(e, HostCall) and e.function.startswith("wasi:keyvalue/")]


def test_workers_of_a_registry_share_the_store(app: Registry):
    writer, reader = app.worker("app", revision=0), app.worker("app", revision=0)
    writer.invoke("put", "cart", "apple", "3")
    assert reader.invoke("fetch", "cart", "apple") == "3"
    assert reader.invoke("fetch", "cart", "pear") is None
    assert reader.invoke("fetch", "other", "apple") is None
    assert reader.invoke("remove", "cart", "apple") is True
    assert writer.invoke("remove", "cart", "apple") is False
    assert store_of(app).snapshot() == {"cart": {}, "other": {}}


def test_atomic_and_batch_operations(app: Registry):
    worker = app.worker("app", revision=0)
    assert worker.invoke("bump", "stats", "hits", 5) == Ok(5)
    assert worker.invoke("bump", "stats", "hits", 2) == Ok(7)
    assert worker.invoke("fetch", "stats", "hits") == "7"  # counters are decimal text
    assert worker.invoke("swap", "stats", "hits", 6, 100) is False
    assert worker.invoke("swap", "stats", "hits", 7, 100) is True
    assert worker.invoke("swap", "stats", "nothing", 0, 1) is False
    worker.invoke("put", "stats", "name", "not a number")
    assert worker.invoke("bump", "stats", "name", 1) == Err("the value of 'name' is not a decimal u64")
    worker.invoke("put-many", "batch", [("a", "1"), ("b", "2"), ("c", "3")])
    assert worker.invoke("keys", "batch") == ["a", "b", "c"]
    assert worker.invoke("fetch-many", "batch", ["c", "x", "a"]) == ["3", None, "1"]
    worker.invoke("remove-many", "batch", ["a", "c", "x"])
    assert worker.invoke("keys", "batch") == ["b"]


def test_store_operations_are_recorded_with_their_data(app: Registry):
    worker = app.worker("app", revision=0)
    worker.invoke("put", "cart", "apple", "3")
    worker.invoke("fetch", "cart", "apple")
    worker.invoke("bump", "stats", "hits", 1)
    calls = [(c.function, c.params, c.result) for c in _kv_calls(worker)]
    assert calls == [
        ("wasi:keyvalue/eventual.{set}", ('"cart"', '"apple"', "[51]"), "ok"),
        ("wasi:keyvalue/eventual.{get}", ('"cart"', '"apple"'), "ok(some([51]))"),
        ("wasi:keyvalue/atomic.{increment}", ('"stats"', '"hits"', "1"), "ok(1)"),
    ]


def test_recovery_replays_results_without_touching_the_store(app: Registry):
    worker = app.worker("app", revision=0)
    worker.invoke("put", "cart", "apple", "3")
    assert worker.invoke("fetch", "cart", "apple") == "3"
    worker.invoke("bump", "stats", "hits", 4)
    store = store_of(app)
    store.buckets.clear()  # whatever the store holds now, a replay must not read or write it
    operations = store.operations
    worker.restart()
    assert store.operations == operations
    assert store.snapshot() == {}
    assert worker.invoke("operations") == 3
    assert len(_kv_calls(worker)) == 3  # nothing recorded twice


def test_an_automatic_update_replays_key_value_results_from_the_log(app: Registry):
    worker = app.worker("app", revision=0)
    worker.invoke("put", "cart", "apple", "3")
    worker.invoke("bump", "stats", "hits", 4)
    assert worker.invoke("fetch", "cart", "apple") == "3"
    store = store_of(app)
    store.buckets["cart"]["apple"] = b"changed behind the worker's back"
    operations = store.operations
    outcome = worker.update(1, "automatic")
    assert outcome.succeeded, outcome.details
    assert store.operations == operations  # the replay answered every call from the oplog
    assert store.buckets["cart"]["apple"] == b"changed behind the worker's back"
    assert worker.invoke("operations") == 3
    assert worker.invoke("dump", "cart") == "apple=changed behind the worker's back"


def test_registries_have_separate_stores(runtime, sample):
    first, second = Registry(runtime), Registry(runtime)
    for registry in (first, second):
        registry.add("app", sample("golem-app", "v1"))
    first.worker("app").invoke("put", "b", "k", "first")
    assert second.worker("app").invoke("fetch", "b", "k") is None


def test_the_keyvalue_shim_is_composed_only_when_needed(sample, tmp_path: Path):
    app_bytes = sample("golem-app", "v1").read_bytes()
    assert shims.needs_shim(app_bytes)
    composed = shims.adapt(app_bytes)
    assert isinstance(composed, bytes) and composed != app_bytes
    assert b"hotupdate:shim/keyvalue@0.1.0" in composed
    assert shims.adapt(composed) is composed  # never composed twice
    plain = sample("golem-logconfig", "v1")
    assert shims.adapt(plain) == plain
    missing = tmp_path / "missing.wasm"
    assert shims.adapt(missing) == missing  # loading it reports the problem
