"""``wasi:keyvalue`` 0.1 (Golem's version): an in-memory store shared by a registry's workers.

Interfaces: ``types`` (``bucket``, ``outgoing-value``, ``incoming-value``),
``wasi-keyvalue-error`` (``error``), ``eventual`` (get, set, delete, exists),
``eventual-batch`` (get-many, keys, set-many, delete-many) and ``atomic`` (increment,
compare-and-swap).

Every operation on the store is a durable host call: recorded live with its data (bucket name,
key, value bytes; never handles) and answered from the oplog on replay, so that a recovery or
an automatic update never reads or writes the store again. Opening a bucket and filling or
reading a value object are local to the worker and not recorded.

As on Golem (whose store is Redis), ``atomic`` counters are kept as decimal text, so ``get``
of a counter returns e.g. ``b"42"``; a value that is not a decimal ``u64`` is an error for
``increment`` and ``compare-and-swap``.

The ``-async`` value methods hand the guest WASI file streams on the worker's private stream
directory (:mod:`.wasi_io`): what the guest writes to an outgoing value's stream is its value
when it is set (after the guest flushed it), and an incoming value's stream reads its bytes.
Not emulated: the ``cache`` interface; calling it fails with an error naming the function.

Every value a worker stores (set, set-many, increment, compare-and-swap) counts against its
memory limit until it is deleted or overwritten (:mod:`.store_bytes`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...values import Err, ListType, Ok, OptionType, Prim, ResultType, TupleType
from ..sdk import (
    BOOL,
    RESOURCES,
    STRING,
    U64,
    Call,
    HostInterface,
    recorded_as,
    registry_state,
)
from .store_bytes import Place, StoreBytes, store_bytes_of
from .wasi_io import OutgoingBody, input_stream

TYPES = HostInterface("wasi:keyvalue/types",
                      resources=("bucket", "outgoing-value", "incoming-value"))
ERRORS = HostInterface("wasi:keyvalue/wasi-keyvalue-error", resources=("error",))
EVENTUAL = HostInterface("wasi:keyvalue/eventual")
BATCH = HostInterface("wasi:keyvalue/eventual-batch")
ATOMIC = HostInterface("wasi:keyvalue/atomic")
CACHE = HostInterface("wasi:keyvalue/cache", unsupported={"*": "wasi:keyvalue/cache is not "
                                                               "emulated"})
#: What the keyvalue shim (see :mod:`pytest_hotupdate.component.shims`) imports: the functions of
#: ``eventual`` and ``eventual-batch``, those taking two handles with the outgoing value's host
#: id instead. Calls are recorded under the names of the interfaces the guest called.
SHIM = HostInterface("hotupdate:shim/keyvalue")

_BYTES = ListType(Prim("u8"))
_KEYS = ListType(STRING)
_BUCKET = ("bucket", STRING)
_KEY = ("key", STRING)


def _result(ok: Any) -> ResultType:
    return ResultType(ok, STRING)


class KeyValueStore:
    """The buckets of one registry: ``{bucket: {key: bytes}}``, thread-safe.

    Every value a worker stores counts against its memory limit (:mod:`.store_bytes`).
    """

    def __init__(self, held: StoreBytes | None = None) -> None:
        self.buckets: dict[str, dict[str, bytes]] = {}
        self.lock = threading.Lock()
        #: Which worker each value is attributed to (shared with the registry's blob store).
        self.held = held or StoreBytes()
        #: Operations performed on the store (live calls only; a replay never gets here).
        self.operations = 0

    def bucket(self, name: str) -> dict[str, bytes]:
        self.operations += 1
        return self.buckets.setdefault(name, {})

    def snapshot(self) -> dict[str, dict[str, bytes]]:
        """A copy of every bucket."""
        with self.lock:
            return {name: dict(items) for name, items in self.buckets.items()}


def store_of(worker_or_registry: Any) -> KeyValueStore:
    """The key-value store of a registry (or of the registry of a worker)."""
    owner = getattr(worker_or_registry, "registry", None) or worker_or_registry
    held = store_bytes_of(owner)  # outside registry_state, which holds its lock
    return registry_state(owner, "wasi:keyvalue", lambda: KeyValueStore(held))


def _store(call: Call) -> KeyValueStore:
    return store_of(call.worker)


def _place(bucket: str, key: str) -> Place:
    return ("wasi:keyvalue", bucket, key)


@dataclass
class _Bucket:
    name: str


@dataclass
class _Incoming:
    data: bytes = b""
    consumed: bool = field(default=False)


def _error(call: Call, message: str) -> Any:
    return call.new_resource("wasi:keyvalue/wasi-keyvalue-error", "error", message)


def _answer(call: Call, recorded: Any, ok: Callable[[Any], Any] = lambda v: v) -> Any:
    """A recorded ``Ok(value)`` / ``Err(message)`` as the import's result (errors as handles)."""
    if isinstance(recorded, Err):
        return Err(_error(call, recorded.value))
    return Ok(ok(recorded.value))


def _incoming(call: Call, data: bytes | None) -> Any:
    if data is None:
        return None
    return call.new_resource("wasi:keyvalue/types", "incoming-value", _Incoming(bytes(data)))


def _decimal(data: bytes | None, key: str) -> int:
    if data is None:
        return 0
    text = data.decode("ascii", "replace")
    if not text.isdigit() or int(text) >= 1 << 64:
        raise ValueError(f"the value of {key!r} is not a decimal u64")
    return int(text)


# -- types -----------------------------------------------------------------------------------

@TYPES.function("[static]bucket.open-bucket")
def open_bucket(call: Call, name: str) -> Any:
    return Ok(call.new_resource("wasi:keyvalue/types", "bucket", _Bucket(name)))


@TYPES.function("[static]outgoing-value.new-outgoing-value")
def new_outgoing_value(call: Call) -> Any:
    return call.new_resource("wasi:keyvalue/types", "outgoing-value", OutgoingBody())


@TYPES.function("[method]outgoing-value.outgoing-value-write-body-sync")
def write_body_sync(call: Call, handle: Any, value: bytes) -> Any:
    outgoing: OutgoingBody = call.resource(handle)
    outgoing.set(value)
    return Ok(None)


@TYPES.function("[method]outgoing-value.outgoing-value-write-body-async")
def write_body_async(call: Call, handle: Any) -> Any:
    outgoing: OutgoingBody = call.resource(handle)
    return Ok(outgoing.open_stream(call))


@TYPES.function("[method]incoming-value.incoming-value-consume-sync")
def consume_sync(call: Call, handle: Any) -> Any:
    return Ok(call.resource(handle).data)


@TYPES.function("[method]incoming-value.incoming-value-consume-async")
def consume_async(call: Call, handle: Any) -> Any:
    return Ok(input_stream(call, call.resource(handle).data))


@TYPES.function("[method]incoming-value.incoming-value-size", "[method]incoming-value.size")
def incoming_size(call: Call, handle: Any) -> Any:
    size = len(call.resource(handle).data)
    return Ok(size) if isinstance(call.result_type, ResultType) else size


@ERRORS.function("[method]error.trace")
def trace(call: Call, handle: Any) -> str:
    return str(call.resource(handle))


# -- eventual --------------------------------------------------------------------------------

@EVENTUAL.function("get")
def get(call: Call, bucket: Any, key: str) -> Any:
    store = _store(call)

    def live(name: str, k: str) -> Any:
        with store.lock:
            return Ok(store.bucket(name).get(k))

    recorded = call.durable([_BUCKET, _KEY], _result(OptionType(_BYTES)), live,
                            call.resource(bucket).name, key)
    return _answer(call, recorded, lambda data: _incoming(call, data))


@EVENTUAL.function("set")
def set_(call: Call, bucket: Any, key: str, value: Any) -> Any:
    store = _store(call)

    def live(name: str, k: str, data: bytes) -> Any:
        with store.lock:
            store.held.charge(call, {_place(name, k): len(data)})
            store.bucket(name)[k] = bytes(data)
        return Ok(None)

    recorded = call.durable([_BUCKET, _KEY, ("value", _BYTES)], _result(None), live,
                            call.resource(bucket).name, key, call.resource(value).data)
    return _answer(call, recorded)


@EVENTUAL.function("delete")
def delete(call: Call, bucket: Any, key: str) -> Any:
    store = _store(call)

    def live(name: str, k: str) -> Any:
        with store.lock:
            store.bucket(name).pop(k, None)
            store.held.release([_place(name, k)])
        return Ok(None)

    return _answer(call, call.durable([_BUCKET, _KEY], _result(None), live,
                                      call.resource(bucket).name, key))


@EVENTUAL.function("exists")
def exists(call: Call, bucket: Any, key: str) -> Any:
    store = _store(call)

    def live(name: str, k: str) -> Any:
        with store.lock:
            return Ok(k in store.bucket(name))

    return _answer(call, call.durable([_BUCKET, _KEY], _result(BOOL), live,
                                      call.resource(bucket).name, key))


# -- eventual-batch --------------------------------------------------------------------------

@BATCH.function("get-many")
def get_many(call: Call, bucket: Any, keys: list[str]) -> Any:
    store = _store(call)

    def live(name: str, ks: list[str]) -> Any:
        with store.lock:
            items = store.bucket(name)
            return Ok([items.get(k) for k in ks])

    recorded = call.durable([_BUCKET, ("keys", _KEYS)],
                            _result(ListType(OptionType(_BYTES))), live,
                            call.resource(bucket).name, list(keys))
    return _answer(call, recorded, lambda values: [_incoming(call, v) for v in values])


@BATCH.function("keys")
def keys(call: Call, bucket: Any) -> Any:
    store = _store(call)

    def live(name: str) -> Any:
        with store.lock:
            return Ok(sorted(store.bucket(name)))

    return _answer(call, call.durable([_BUCKET], _result(_KEYS), live, call.resource(bucket).name))


@BATCH.function("set-many")
def set_many(call: Call, bucket: Any, key_values: list[tuple[str, Any]]) -> Any:
    store = _store(call)

    def live(name: str, pairs: list[tuple[str, bytes]]) -> Any:
        with store.lock:
            items = store.bucket(name)
            store.held.charge(call, {_place(name, k): len(data) for k, data in pairs})
            for k, data in pairs:
                items[k] = bytes(data)
        return Ok(None)

    pairs = [(k, call.resource(v).data) for k, v in key_values]
    return _answer(call, call.durable([_BUCKET, ("key-values", ListType(TupleType((STRING, _BYTES))))],
                                      _result(None), live, call.resource(bucket).name, pairs))


@BATCH.function("delete-many")
def delete_many(call: Call, bucket: Any, keys: list[str]) -> Any:
    store = _store(call)

    def live(name: str, ks: list[str]) -> Any:
        with store.lock:
            items = store.bucket(name)
            for k in ks:
                items.pop(k, None)
            store.held.release(_place(name, k) for k in ks)
        return Ok(None)

    return _answer(call, call.durable([_BUCKET, ("keys", _KEYS)], _result(None), live,
                                      call.resource(bucket).name, list(keys)))


# -- atomic ----------------------------------------------------------------------------------

@ATOMIC.function("increment")
def increment(call: Call, bucket: Any, key: str, delta: int) -> Any:
    store = _store(call)

    def live(name: str, k: str, by: int) -> Any:
        with store.lock:
            items = store.bucket(name)
            try:
                value = _decimal(items.get(k), k) + by
            except ValueError as error:
                return Err(str(error))
            if value >= 1 << 64:
                return Err(f"incrementing {k!r} by {by} overflows u64")
            text = str(value).encode("ascii")
            store.held.charge(call, {_place(name, k): len(text)})
            items[k] = text
            return Ok(value)

    return _answer(call, call.durable([_BUCKET, _KEY, ("delta", U64)], _result(U64), live,
                                      call.resource(bucket).name, key, delta))


@ATOMIC.function("compare-and-swap")
def compare_and_swap(call: Call, bucket: Any, key: str, old: int, new: int) -> Any:
    store = _store(call)

    def live(name: str, k: str, expected: int, replacement: int) -> Any:
        with store.lock:
            items = store.bucket(name)
            if k not in items:
                return Ok(False)
            try:
                current = _decimal(items[k], k)
            except ValueError as error:
                return Err(str(error))
            if current != expected:
                return Ok(False)
            text = str(replacement).encode("ascii")
            store.held.charge(call, {_place(name, k): len(text)})
            items[k] = text
            return Ok(True)

    return _answer(call, call.durable([_BUCKET, _KEY, ("old", U64), ("new", U64)], _result(BOOL),
                                      live, call.resource(bucket).name, key, old, new))


# -- the shim's host side ----------------------------------------------------------------------

class _ById:
    """An outgoing value passed by its host id, looked up like a handle."""

    def __init__(self, rep: int) -> None:
        self.rep = rep


@SHIM.function("outgoing-value-id")
def outgoing_value_id(call: Call, handle: Any) -> int:
    return RESOURCES.rep(call.store, handle)


def _set_by_id(call: Call, bucket: Any, key: str, value_id: int) -> Any:
    return set_(call, bucket, key, _ById(value_id))


def _set_many_by_id(call: Call, bucket: Any, key_values: list[tuple[str, int]]) -> Any:
    return set_many(call, bucket, [(k, _ById(v)) for k, v in key_values])


SHIM.functions.update({
    "get": recorded_as("wasi:keyvalue/eventual.{get}", get),
    "set-by-id": recorded_as("wasi:keyvalue/eventual.{set}", _set_by_id),
    "delete": recorded_as("wasi:keyvalue/eventual.{delete}", delete),
    "exists": recorded_as("wasi:keyvalue/eventual.{exists}", exists),
    "get-many": recorded_as("wasi:keyvalue/eventual-batch.{get-many}", get_many),
    "keys": recorded_as("wasi:keyvalue/eventual-batch.{keys}", keys),
    "set-many-by-id": recorded_as("wasi:keyvalue/eventual-batch.{set-many}", _set_many_by_id),
    "delete-many": recorded_as("wasi:keyvalue/eventual-batch.{delete-many}", delete_many),
})
