"""`wasi:io` streams for Golem's stores: `wasi:keyvalue@0.1.0`'s `-async` value methods and
`wasi:blobstore`'s `incoming-value-consume-async`, served by WASI file streams on the worker's
private (hidden) stream directory."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate import host
from pytest_hotupdate.engine import Runtime
from pytest_hotupdate.failures import trap_message as _trap_message
from pytest_hotupdate.host import SandboxGrants
from pytest_hotupdate.host.golem.wasi_blobstore import blobstore_of
from pytest_hotupdate.host.golem.wasi_keyvalue import store_of
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import Err, Ok

BIG = bytes(range(256)) * 1000  # 256,000 bytes: many stream reads and 4096-byte writes


@pytest.fixture
def kv(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("kv", sample("golem-kvstream", "v1"))
    registry.add("kv", sample("golem-kvstream", "v1"))  # revision 1: the same code
    return registry


def _sets(worker) -> list[HostCall]:
    return [e for e in worker.oplog.entries
            if isinstance(e, HostCall) and e.function == "wasi:keyvalue/eventual.{set}"]


def test_keyvalue_values_go_through_wasi_io_streams(kv: Registry):
    writer, reader = kv.worker("kv", revision=0), kv.worker("kv", revision=0)
    assert writer.invoke("put", "b", "greeting", b"hello streams") is True
    assert writer.invoke("put", "b", "big", BIG) is True
    assert writer.invoke("put", "b", "empty", b"") is True
    assert reader.invoke("fetch", "b", "greeting") == b"hello streams"
    assert reader.invoke("fetch", "b", "big") == BIG
    assert reader.invoke("fetch", "b", "empty") == b""
    assert reader.invoke("fetch", "b", "nothing") is None
    assert store_of(kv).snapshot()["b"]["greeting"] == b"hello streams"
    # What the guest wrote to the stream is the value `set` recorded.
    assert _sets(writer)[0].params[2] == str(list(b"hello streams"))


def test_stream_written_values_are_replayed_without_touching_the_store(kv: Registry):
    worker = kv.worker("kv", revision=0)
    worker.invoke("put", "b", "k", b"v1")
    worker.invoke("put", "b", "k", BIG)
    operations = store_of(kv).operations
    worker.restart()
    assert store_of(kv).operations == operations
    outcome = worker.update(1, "automatic")  # the replay on revision 1 answers from the oplog
    assert outcome.succeeded, outcome.details
    assert store_of(kv).operations == operations
    assert worker.invoke("fetch", "b", "k") == BIG


def test_the_private_stream_directory_is_hidden_from_the_guest(kv: Registry, tmp_path: Path):
    worker = kv.worker("kv")
    assert worker.invoke("directories") == []
    granted = kv.worker("kv", grants=SandboxGrants.from_options(dirs={str(tmp_path): "/data"}))
    assert granted.invoke("directories") == ["/data"]
    granted.invoke("put", "b", "k", b"x")
    assert list(tmp_path.iterdir()) == []  # the streams never touch the granted directory


def test_the_stream_directory_is_removed_when_the_process_ends(tmp_path: Path):
    script = tmp_path / "run.py"
    script.write_text(
        "from pytest_hotupdate import host\n"
        "from pytest_hotupdate.registry import Registry\n"
        "from pytest_hotupdate.engine import Runtime\n"
        "from sample_components.build import build\n"
        "registry = Registry(Runtime())\n"
        "registry.add('kv', build('golem-kvstream', 'v1'))\n"
        "worker = registry.worker('kv')\n"
        "assert worker.invoke('put', 'b', 'k', b'x')\n"
        "print(host.stream_directory(worker))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    directory = Path(done.stdout.strip())
    assert directory.name.startswith("hotupdate-streams-")
    assert not directory.exists()


def test_the_stream_directory_goes_with_the_worker(sample: Callable[[str, str], Path]):
    registry = Registry(Runtime())
    registry.add("kv", sample("golem-kvstream", "v1"))
    worker = registry.worker("kv")
    worker.invoke("put", "b", "k", b"x")
    directory = Path(host.stream_directory(worker))
    assert directory.is_dir()
    del worker, registry
    gc.collect()
    assert not directory.exists()


def test_components_without_stream_functions_get_no_stream_directory(registry: Registry,
                                                                      sample):
    registry.add("counter", sample("counter", "v1"))
    worker = registry.worker("counter")
    assert not host.needs_stream_directory(worker.component)


def test_a_blob_read_through_an_input_stream(registry: Registry, sample):
    registry.add("blob", sample("golem-blob", "v1"))
    blobstore_of(registry).put("docs", "big.bin", BIG)
    worker = registry.worker("blob")
    assert worker.invoke("read-stream", "docs", "big.bin") == Ok(BIG)
    assert worker.invoke("read-stream", "docs", "nope") == Err("object 'nope' does not exist")
    blobstore_of(registry).containers.clear()
    worker.restart()  # the read is answered from the oplog
    assert worker.invoke("read-stream", "docs", "big.bin") == Err(
        "container 'docs' does not exist")


def test_a_trap_reports_the_cause_a_wasi_host_function_gave():
    raw = ("error while executing at wasm backtrace:\n    0:   0x15be - shim!blocking-write\n\n"
           "Caused by:\n    Buffer too large for blocking-write-and-flush (expected at most 4096)")
    assert _trap_message(Exception(raw)) == (
        "Buffer too large for blocking-write-and-flush (expected at most 4096)")
    assert _trap_message(Exception(
        "error while executing\n\nCaused by:\n    wasm trap: wasm `unreachable` instruction "
        "executed")) == "wasm trap: wasm `unreachable` instruction executed"
