"""`wasi:blobstore` (Golem's resource-based package): shared containers, durable reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.golem import provider
from pytest_hotupdate.golem.wasi_blobstore import blobstore_of
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


def test_writing_from_the_guest_is_reported_as_not_emulated():
    container = provider("wasi:blobstore/container")
    assert container is not None and not container.implements("[method]container.write-data")
    assert "put objects from the test" in container.why_unsupported("[method]container.write-data")


def test_a_guest_blob_write_fails_naming_the_function_and_the_worker_survives(blob: Registry):
    worker = blob.worker("blob")
    with pytest.raises(InvocationError) as caught:
        worker.invoke("write", "docs", "new.txt")
    message = str(caught.value)
    assert "wasi:blobstore/container.{container.write-data} takes two borrowed handles" in message
    assert "blobstore_of(registry).put(container, name, data)" in message
    assert "\n" not in message
    assert blobstore_of(blob).snapshot() == {"docs": {"a.txt": b"hello blob"}}
    assert worker.invoke("read", "docs", "a.txt") == Ok(b"hello blob")  # the worker goes on
