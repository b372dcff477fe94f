"""``wasi:io`` resources for the guest, made by WASI itself in the worker's own Store.

wasmtime-py 50 cannot create a WASI pollable or stream from Python: those resources live in
wasmtime's WASI implementation, which only wasm can call. So a tiny helper component (WAT,
built once with ``wasm-tools`` and cached on disk) is instantiated lazily in the calling
worker's Store, linked to wasmtime's WASI; it calls WASI and returns the resource, and the host
function hands that to the guest. The types agree because both instances use the Store's WASI.

- :func:`ready_pollable`: a ``pollable`` that is ready at once
  (``wasi:clocks/monotonic-clock.subscribe-duration(0)``). Golem's ``subscribe`` methods return
  it, and the matching ``get`` then waits for the answer (see ``api_host`` and ``rpc``), so the
  usual ``subscribe`` / ``block`` / ``get`` sequence gets the value it waited for.
- :meth:`OutgoingBody.open_stream` / :func:`input_stream`: WASI file streams on a private
  directory of the worker (a temporary directory preopened in the worker's Store as
  :data:`GUEST_PATH`, only for components that import a function needing streams, see
  :func:`needs_streams`). What the guest writes is read back from the file; what it reads was
  written by the emulator. A stream holds its file open only until the guest drops it; the
  directory (one open descriptor in each Store) goes with the worker:
  :func:`remove_stream_directory` (``Worker.close``, and for every worker still open at
  interpreter exit), or when the worker is garbage-collected. The directory is hidden from
  the guest: :func:`guest_directories` serves its
  ``wasi:filesystem/preopens.get-directories`` without it, so the guest sees exactly the
  directories the test granted.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import resource
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime.component import Func, Linker, ResourceAny

from ...component.shims import build_wat_component, shim_wat, shim_wit
from ...errors import HotUpdateError, MemoryLimitExceeded, ResourceError
from ...names import unversioned
from ..sdk import Call, incarnation_state

__all__ = ["GUEST_PATH", "OutgoingBody", "guest_directories", "input_stream", "needs_streams",
           "ready_pollable", "remove_stream_directory", "stream_directory", "why_unopenable"]

#: Where a worker's private stream directory is preopened in its Store (hidden from the guest).
GUEST_PATH = "/.pytest-hotupdate-streams"

#: Imported functions (unversioned interface, name) whose emulation hands out streams.
STREAM_FUNCTIONS = frozenset({
    ("wasi:keyvalue/types", "[method]outgoing-value.outgoing-value-write-body-async"),
    ("wasi:keyvalue/types", "[method]incoming-value.incoming-value-consume-async"),
    ("wasi:blobstore/types", "[method]incoming-value.incoming-value-consume-async"),
    ("wasi:blobstore/types", "[static]incoming-value.incoming-value-consume-async"),
    ("wasi:blobstore/types", "[method]outgoing-value.outgoing-value-write-body"),
})

_WIT = shim_wit("io-helper", with_wasi_io=True)

# Canonical ABI notes: `open-at` lowers to (self, path-flags, path ptr, path len, open-flags,
# descriptor-flags, retptr) and writes result<descriptor, error-code> as {disc u8 @0, payload
# @4}; `*-via-stream` to (self, offset i64, retptr), the same result layout. The exported
# tuple<descriptor, stream> is returned as a pointer to two i32 handles. A borrowed `dir` must
# be dropped before the export returns. Flags: create|truncate = 9, write = 2, read = 1.
_WAT = shim_wat("io-helper")

_LOCK = threading.Lock()
_LINKERS: weakref.WeakKeyDictionary[wasmtime.Engine, Linker] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1)
def _helper_bytes() -> bytes:
    return build_wat_component("the wasi:io helper", _WIT, _WAT, "io-helper")


def _wasi_linker(engine: wasmtime.Engine) -> Linker:
    """A linker with nothing but wasmtime's WASI (no worker's shadowing or host functions)."""
    with _LOCK:
        linker = _LINKERS.get(engine)
        if linker is None:
            linker = Linker(engine)
            linker.add_wasip2()
            _LINKERS[engine] = linker
        return linker


@dataclass
class _Helper:
    """The helper's instance in one Store (one incarnation of a worker)."""

    ready: Func
    directories: Func
    open_write: Func
    open_read: Func
    #: The private stream directory, if this Store has one (an owned descriptor).
    private_dir: ResourceAny | None = None

    def preopens(self, store: Any) -> list[tuple[ResourceAny, str]]:
        """The Store's preopened directories but the private one (fresh owned descriptors)."""
        shown = []
        for descriptor, path in self.directories(store):
            if path == GUEST_PATH:
                if self.private_dir is None:
                    self.private_dir = descriptor
                else:
                    descriptor.drop(store)
            else:
                shown.append((descriptor, path))
        return shown


def _helper(store: Any, worker: Any) -> _Helper:
    """The helper instance in the Store of ``worker``'s current incarnation (``store``)."""
    def instantiate() -> _Helper:
        component = worker.runtime.load(_helper_bytes(), "wasi-io-helper").component
        instance = _wasi_linker(worker.runtime.engine).instantiate(store, component)
        make = instance.get_export_index(store, "hotupdate:io/make")

        def export(name: str) -> Func:
            index = instance.get_export_index(store, name, make)
            func = None if index is None else instance.get_func(store, index)
            if func is None:  # pragma: no cover - the helper's own WIT exports them
                raise HotUpdateError(f"the wasi:io helper exports no {name}")
            return func

        helper = _Helper(export("ready"), export("directories"), export("open-write"),
                         export("open-read"))
        for descriptor, _path in helper.preopens(store):  # keeps the private one
            descriptor.drop(store)
        return helper

    return incarnation_state(worker, "wasi:io/helper", instantiate)


def _resource(value: Any, what: str) -> ResourceAny:
    if not isinstance(value, ResourceAny):  # pragma: no cover - the helper's WIT
        raise HotUpdateError(f"the wasi:io helper returned {value!r}, not a {what}")
    return value


def ready_pollable(call: Call) -> ResourceAny:
    """An owned ``wasi:io/poll.pollable`` of the calling worker's Store, ready at once."""
    return _resource(_helper(call.store, call.worker).ready(call.store), "pollable")


# -- streams on the worker's private directory -----------------------------------------------

def needs_streams(imports: Any) -> bool:
    """Whether a component with these imports (``(interface, name)`` keys) is given streams,
    and so a private stream directory."""
    return any((unversioned(interface), name) in STREAM_FUNCTIONS
               for interface, name in imports)


#: Each worker's private directory, and the finalizer that removes it when the worker is
#: garbage-collected (not at exit: see :func:`remove_stream_directory`).
_DIRECTORIES: weakref.WeakKeyDictionary[Any, tuple[Path, weakref.finalize[..., Any]]] = (
    weakref.WeakKeyDictionary())
_NAMES = itertools.count(1)


def stream_directory(worker: Any) -> Path:
    """The private stream directory of ``worker`` (created on first use, removed with it).

    Raises :class:`ResourceError` if it cannot be created.
    """
    with _LOCK:
        known = _DIRECTORIES.get(worker)
        if known is not None:
            return known[0]
        try:
            path = Path(tempfile.mkdtemp(prefix="hotupdate-streams-"))
        except OSError as error:
            raise ResourceError(f"cannot create a private stream directory in "
                                f"{tempfile.gettempdir()}: {_reason(error)}") from None
        remove = weakref.finalize(worker, shutil.rmtree, str(path), True)
        # At exit the worker's Stores are closed first and the directory removed then
        # (worker.py): removing it while every descriptor is in use can fail.
        remove.atexit = False
        _DIRECTORIES[worker] = (path, remove)
        return path


#: Directories whose removal failed (no free file descriptor to list them): tried again by
#: :func:`remove_stream_directory` and at exit.
_UNREMOVED: set[Path] = set()


def remove_stream_directory(worker: Any | None = None) -> None:
    """Remove ``worker``'s private stream directory, if it has one (close its Stores first),
    and any whose removal failed before (``None``: only those)."""
    with _LOCK:
        known = _DIRECTORIES.pop(worker, None) if worker is not None else None
        if known is not None:
            known[1].detach()
            _UNREMOVED.add(known[0])
        paths = list(_UNREMOVED)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            with _LOCK:
                _UNREMOVED.discard(path)


def why_unopenable(path: str | Path) -> str:
    """Why the directory ``path`` cannot be opened now (``too many open files ...``)."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECTORY))
    except OSError as error:
        return _reason(error)
    return "wasmtime could not open it"


def _reason(error: OSError) -> str:
    if error.errno in (errno.EMFILE, errno.ENFILE):
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return (f"too many open files (the process may open {soft}, RLIMIT_NOFILE): close() "
                "the workers you no longer use, or raise the limit (ulimit -n)")
    return error.strerror or str(error)


def _stream_error(call: Call, directory: Path) -> ResourceError:
    """The error for a stream the helper could not open (its ``open-at`` failed)."""
    return ResourceError(f"worker {call.worker.name}: {call.name}: cannot open a stream file "
                         f"in its private directory: {why_unopenable(directory)}")


def _private(call: Call) -> tuple[_Helper, Path]:
    helper = _helper(call.store, call.worker)
    if helper.private_dir is None:
        raise HotUpdateError(f"{call.name}: this worker's Store has no stream directory")
    return helper, stream_directory(call.worker)


def input_stream(call: Call, data: bytes) -> ResourceAny:
    """A WASI ``input-stream`` for the guest that reads ``data``."""
    helper, directory = _private(call)
    name = f"in-{next(_NAMES)}"
    (directory / name).write_bytes(data)
    try:
        file, stream = helper.open_read(call.store, helper.private_dir, name)
    except wasmtime.WasmtimeError:
        raise _stream_error(call, directory) from None
    finally:
        os.unlink(directory / name)  # the open descriptor keeps the bytes readable
    _release(call, file)
    return _resource(stream, "stream")


def _release(call: Call, file: ResourceAny) -> None:
    """Drop the descriptor a stream was made from: wasmtime's stream keeps the file open itself
    until the guest drops the stream, so no descriptor outlives the streams in use."""
    file.drop(call.store)


class OutgoingBody:
    """The body of an outgoing value (``wasi:keyvalue``, ``wasi:blobstore``): bytes given at
    once, or what the guest wrote (and flushed) to the output stream :meth:`open_stream` gave
    it, read when the value is used."""

    def __init__(self) -> None:
        self._bytes = b""
        self._file: Path | None = None
        self._limit = 0  # the writing worker's WorkerLimits.memory_bytes, set with the stream
        self._what = ""

    def set(self, data: bytes) -> None:
        self._bytes, self._file = bytes(data), None

    def open_stream(self, call: Call) -> ResourceAny:
        """A WASI ``output-stream`` for the guest onto a new file of the private directory."""
        helper, directory = _private(call)
        name = f"out-{next(_NAMES)}"
        try:
            file, stream = helper.open_write(call.store, helper.private_dir, name)
        except wasmtime.WasmtimeError:
            raise _stream_error(call, directory) from None
        _release(call, file)
        self._file = directory / name
        self._limit = call.worker.limits.memory_bytes
        self._what = call.name
        return _resource(stream, "stream")

    @property
    def data(self) -> bytes:
        """The body. Raises MemoryLimitExceeded, before reading it, if the guest wrote more
        to the stream than its worker's memory limit (the guest's memory could not have held
        it, so neither does the host, nor the oplog)."""
        if self._file is None:
            return self._bytes
        try:
            size = self._file.stat().st_size
            if size > self._limit:
                raise MemoryLimitExceeded(
                    f"{self._what}: the guest wrote {size:,} bytes to the value's output stream,"
                    f" more than its WorkerLimits.memory_bytes ({self._limit:,} bytes)")
            return self._file.read_bytes()
        except OSError:
            return b""


def guest_directories(call: Call) -> list[tuple[ResourceAny, str]]:
    """``wasi:filesystem/preopens.get-directories`` for the guest: the Store's preopens
    without the private stream directory."""
    return _helper(call.store, call.worker).preopens(call.store)
