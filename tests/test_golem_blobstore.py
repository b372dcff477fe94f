"""`wasi:blobstore` (Golem's resource-based package): shared containers, durable reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate import host
from pytest_hotupdate.host.golem import provider
from pytest_hotupdate.host.golem.wasi_blobstore import blobstore_of
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import Err, Ok


@pytest.fixture
def blob(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("blob", sample("golem-blob", "v1"))
    blobstore_of(registry).put("docs", "a.txt", b"hello blob")
    return registry


def test_workers_read_the_registry_s_containers(blob: Registry):
    reader, cleaner = blob.worker("blob"), blob.worker("blob")
    assert reader.invoke("read", "docs", "a.txt") == Ok(b"hello blob")
    assert reader.invoke("has", "docs", "a.txt") == Ok(True)
    assert cleaner.invoke("remove", "docs", "a.txt") == Ok(None)
    assert reader.invoke("has", "docs", "a.txt") == Ok(False)
    assert reader.invoke("read", "docs", "a.txt") == Err("object 'a.txt' does not exist")
    assert reader.invoke("read", "nope", "a.txt") == Err("container 'nope' does not exist")
    assert blobstore_of(blob).snapshot() == {"docs": {}}


def test_reads_are_recorded_and_replayed_without_touching_the_store(blob: Registry):
    worker = blob.worker("blob")
    assert worker.invoke("read", "docs", "a.txt") == Ok(b"hello blob")
    calls = [(c.function, c.params) for c in worker.oplog.entries if isinstance(c, HostCall)]
    assert calls == [
        ("wasi:blobstore/blobstore.{get-container}", ('"docs"',)),
        ("wasi:blobstore/container.{container.get-data}",
         ('"docs"', '"a.txt"', "0", "18446744073709551615")),
    ]
    store = blobstore_of(blob)
    store.containers.clear()
    operations = store.operations
    worker.restart()  # the replayed read answers from the oplog, not from the (empty) store
    assert store.operations == operations
    assert worker.invoke("read", "docs", "a.txt") == Err("container 'docs' does not exist")


def test_write_data_is_served_through_the_shim_only():
    container = provider("wasi:blobstore/container")
    assert container is not None and not container.implements("[method]container.write-data")
    assert "blobstore shim" in container.why_unsupported("[method]container.write-data")
    shim = provider("hotupdate:shim/blobstore@0.1.0")
    assert shim is not None and shim.implements("[method]host-container.write-data-by-id")


def test_a_guest_writes_objects_through_a_stream_and_the_shim(blob: Registry):
    writer, reader = blob.worker("blob"), blob.worker("blob")
    # outgoing-value-write-body (a wasi:io stream), then container.write-data: two borrowed
    # handles, served through the blobstore shim with the outgoing value's host id.
    assert writer.invoke("write", "docs", "new.txt") == Ok(None)
    assert reader.invoke("read", "docs", "new.txt") == Ok(b"new.txt")
    assert blobstore_of(blob).snapshot()["docs"] == {"a.txt": b"hello blob", "new.txt": b"new.txt"}
    (write,) = [e for e in writer.oplog.entries if isinstance(e, HostCall)
                and e.function == "wasi:blobstore/container.{container.write-data}"]
    assert write.params == ('"docs"', '"new.txt"', str(list(b"new.txt")))
    assert writer.invoke("write", "nope", "x.txt") == Err("container 'nope' does not exist")
    # A replay answers the write from the oplog: the store is not written again.
    blobstore_of(blob).containers["docs"].objects.clear()
    writer.restart()
    assert blobstore_of(blob).snapshot()["docs"] == {}


def test_a_guest_blob_write_survives_an_automatic_update(blob: Registry, sample):
    blob.add("blob", sample("golem-blob", "v1"))  # revision 1: the same code
    worker = blob.worker("blob", revision=0)
    worker.invoke("write", "docs", "kept.txt")
    operations = blobstore_of(blob).operations
    outcome = worker.update(1, "automatic")
    assert outcome.succeeded, outcome.details
    assert blobstore_of(blob).operations == operations
    assert worker.invoke("read", "docs", "kept.txt") == Ok(b"kept.txt")


def test_the_two_borrowed_handles_trap_is_explained_naming_the_function():
    # What wasmtime 50 says when a guest calls a host function with two borrowed handles
    # directly (a component loaded without the shims), as captured from a real run.
    raw = ("error while executing at wasm backtrace:\n"
           "    0:    0x42c - wit-component:shim!indirect-wasi:blobstore/container-"
           "[method]container.write-data\n    1:    0x363 - <unknown>!<wasm function 3>\n\n"
           "Caused by:\n    BUG: deferred host scope has no call context\n"
           "location: crates/wasmtime/src/runtime/vm/component/resources.rs:328\n")
    why = host.explain_two_borrows_trap(raw)
    assert why is not None and why.startswith(
        "wasi:blobstore/container.{container.write-data} takes two borrowed handles")
    assert host.explain_two_borrows_trap("wasm trap: unreachable") is None
