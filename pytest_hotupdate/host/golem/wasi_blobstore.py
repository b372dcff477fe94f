"""``wasi:blobstore`` (Golem's resource-based, unversioned package): containers of objects in
memory, shared by the workers of a registry.

Every operation on the store (containers created, looked up, deleted; objects read, listed,
inspected, deleted, copied, moved) is a durable host call, recorded with its data and answered
from the oplog on replay. Handles (containers, values, name streams) are local to the worker.

Reading an object as a ``wasi:io`` input stream (``incoming-value-consume-async``) gives the
guest a WASI file stream on the worker's private stream directory (:mod:`.wasi_io`), and so does
``outgoing-value-write-body``: what the guest writes to it is the object's body when it calls
``container.write-data``. That method takes two borrowed handles (the container and the outgoing
value), which wasmtime-py 50 cannot pass to a host function, so a component importing it is
composed with the blobstore shim (:mod:`.shims`), which calls :data:`SHIM` with the outgoing
value's host id; the write is recorded as ``wasi:blobstore/container.{container.write-data}``
with the bytes written, and answered from the oplog on replay. Tests can also put objects with
:meth:`BlobStore.put` (``blobstore_of(registry).put(container, name, data)``).

Every object a worker writes (``write-data``, the target of a copy or move) counts against its
memory limit until it is deleted or overwritten (:mod:`.store_bytes`); objects the test puts
belong to no worker.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest_hotupdate.host.sdk as sdk  # as one module: its names are wasi_keyvalue's too

from ...values import Err, ListType, Ok, Prim, ResultType, TupleType
from ._shapes import build
from .store_bytes import Place, StoreBytes, store_bytes_of
from .wasi_io import OutgoingBody, input_stream

TYPES = sdk.HostInterface("wasi:blobstore/types", resources=("outgoing-value", "incoming-value"))
CONTAINER = sdk.HostInterface(
    "wasi:blobstore/container", resources=("container", "stream-object-names"),
    unsupported={"[method]container.write-data": "it is served through the blobstore shim "
                 "that Registry.add composes with the component (wasmtime-py 50 cannot pass its "
                 "two borrowed handles to a host function)", "*": "not emulated"})
BLOBSTORE = sdk.HostInterface("wasi:blobstore/blobstore")

_BYTES = ListType(Prim("u8"))
_NAME = ("name", sdk.STRING)
_CONTAINER = ("container", sdk.STRING)


def _result(ok: Any) -> ResultType:
    return ResultType(ok, sdk.STRING)


@dataclass
class _Object:
    data: bytes
    created_at: int


@dataclass
class _Container:
    name: str
    created_at: int
    objects: dict[str, _Object] = field(default_factory=dict)


class BlobStore:
    """The containers of one registry, thread-safe.

    Every object a worker stores counts against its memory limit (:mod:`.store_bytes`).
    """

    def __init__(self, held: StoreBytes | None = None) -> None:
        self.containers: dict[str, _Container] = {}
        self.lock = threading.Lock()
        #: Which worker each object is attributed to (shared with the registry's keyvalue store).
        self.held = held or StoreBytes()
        #: Operations performed on the store (live calls only; a replay never gets here).
        self.operations = 0

    def put(self, container: str, name: str, data: bytes) -> None:
        """Create or replace an object (creating its container), as the test's setup: it
        belongs to no worker (one it replaces gives its bytes back to its writer)."""
        with self.lock:
            box = self.containers.setdefault(container, _Container(container, _now()))
            box.objects[name] = _Object(bytes(data), _now())
            self.held.release([_place(container, name)])

    def snapshot(self) -> dict[str, dict[str, bytes]]:
        """A copy of every container's objects."""
        with self.lock:
            return {c: {n: o.data for n, o in box.objects.items()}
                    for c, box in self.containers.items()}

    def _container(self, name: str) -> _Container | None:
        self.operations += 1
        return self.containers.get(name)


def _now() -> int:
    return time.time_ns() // 1_000_000_000


def blobstore_of(worker_or_registry: Any) -> BlobStore:
    """The blob store of a registry (or of the registry of a worker)."""
    owner = getattr(worker_or_registry, "registry", None) or worker_or_registry
    held = store_bytes_of(owner)  # outside registry_state, which holds its lock
    return sdk.registry_state(owner, "wasi:blobstore", lambda: BlobStore(held))


def _place(container: str, name: str) -> Place:
    return ("wasi:blobstore", container, name)


def _store(call: sdk.Call) -> BlobStore:
    return blobstore_of(call.worker)


def _missing(container: str) -> Err:
    return Err(f"container {container!r} does not exist")


# -- blobstore ---------------------------------------------------------------------------------

def _open(call: sdk.Call, name: str, create: bool) -> Any:
    store = _store(call)

    def live(container: str) -> Any:
        with store.lock:
            exists = store._container(container) is not None
            if create:
                if exists:
                    return Err(f"container {container!r} already exists")
                store.containers[container] = _Container(container, _now())
                return Ok(None)
            return Ok(None) if exists else _missing(container)

    recorded = call.durable([_NAME], _result(None), live, name)
    if isinstance(recorded, Err):
        return recorded
    return Ok(call.new_resource(*_kind(call, "container"), name))


@BLOBSTORE.function("create-container")
def create_container(call: sdk.Call, name: str) -> Any:
    return _open(call, name, True)


@BLOBSTORE.function("get-container")
def get_container(call: sdk.Call, name: str) -> Any:
    return _open(call, name, False)


@BLOBSTORE.function("delete-container")
def delete_container(call: sdk.Call, name: str) -> Any:
    store = _store(call)

    def live(container: str) -> Any:
        with store.lock:
            store.operations += 1
            box = store.containers.pop(container, None)
            if box is None:
                return _missing(container)
            store.held.release(_place(container, n) for n in box.objects)
            return Ok(None)

    return call.durable([_NAME], _result(None), live, name)


@BLOBSTORE.function("container-exists")
def container_exists(call: sdk.Call, name: str) -> Any:
    store = _store(call)

    def live(container: str) -> Any:
        with store.lock:
            return Ok(store._container(container) is not None)

    return call.durable([_NAME], _result(sdk.BOOL), live, name)


def _transfer(call: sdk.Call, source: Any, target: Any, move: bool) -> Any:
    store = _store(call)
    object_id = call.imported.params[0][1]

    def live(src: Any, dest: Any) -> Any:
        with store.lock:
            origin = store._container(src["container"])
            destination = store._container(dest["container"])
            if origin is None or src["object"] not in origin.objects:
                return Err(f"object {src['container']}/{src['object']} does not exist")
            if destination is None:
                return _missing(dest["container"])
            source_place = _place(src["container"], src["object"])
            store.held.charge(call, {_place(dest["container"], dest["object"]):
                                     len(origin.objects[src["object"]].data)},
                              releasing=[source_place] if move else [])
            item = origin.objects.pop(src["object"]) if move else origin.objects[src["object"]]
            destination.objects[dest["object"]] = _Object(item.data, _now())
            return Ok(None)

    return call.durable([("src", object_id), ("dest", object_id)], _result(None), live,
                        source, target)


@BLOBSTORE.function("copy-object")
def copy_object(call: sdk.Call, source: Any, target: Any) -> Any:
    return _transfer(call, source, target, False)


@BLOBSTORE.function("move-object")
def move_object(call: sdk.Call, source: Any, target: Any) -> Any:
    return _transfer(call, source, target, True)


# -- container ---------------------------------------------------------------------------------

def _in_container(call: sdk.Call, handle: Any, params: list[tuple[str, Any]], result: Any,
                  operation: Any, *args: Any) -> Any:
    """A durable operation on the container behind ``handle`` (recorded with its name)."""
    store = _store(call)
    name = call.resource(handle)

    def live(container: str, *rest: Any) -> Any:
        with store.lock:
            box = store._container(container)
            return _missing(container) if box is None else operation(box, *rest)

    return call.durable([_CONTAINER, *params], result, live, name, *args)


@CONTAINER.function("[method]container.name")
def container_name(call: sdk.Call, handle: Any) -> Any:
    return Ok(call.resource(handle))


@CONTAINER.function("[method]container.info")
def container_info(call: sdk.Call, handle: Any) -> Any:
    name = call.resource(handle)
    metadata = call.result_type.ok  # type: ignore[union-attr]
    recorded = _in_container(call, handle, [], _result(sdk.U64), lambda box: Ok(box.created_at))
    if isinstance(recorded, Err):
        return recorded
    return Ok(build(metadata, {"name": name, "created-at": recorded.value}))


@CONTAINER.function("[method]container.get-data")
def get_data(call: sdk.Call, handle: Any, name: str, start: int, end: int) -> Any:
    def read(box: _Container, object_name: str, first: int, last: int) -> Any:
        item = box.objects.get(object_name)
        if item is None:
            return Err(f"object {object_name!r} does not exist")
        return Ok(item.data[first:last + 1] if last >= first else b"")

    recorded = _in_container(call, handle, [_NAME, ("start", sdk.U64), ("end", sdk.U64)],
                             _result(_BYTES), read, name, start, end)
    if isinstance(recorded, Err):
        return recorded
    return Ok(call.new_resource("wasi:blobstore/types", "incoming-value", bytes(recorded.value)))


@CONTAINER.function("[method]container.list-objects")
def list_objects(call: sdk.Call, handle: Any) -> Any:
    recorded = _in_container(call, handle, [], _result(ListType(sdk.STRING)),
                             lambda box: Ok(sorted(box.objects)))
    if isinstance(recorded, Err):
        return recorded
    return Ok(call.new_resource(*_kind(call, "stream-object-names"),
                                list(recorded.value)))


@CONTAINER.function("[method]container.delete-object")
def delete_object(call: sdk.Call, handle: Any, name: str) -> Any:
    def delete(box: _Container, object_name: str) -> Any:
        box.objects.pop(object_name, None)
        _store(call).held.release([_place(box.name, object_name)])
        return Ok(None)

    return _in_container(call, handle, [_NAME], _result(None), delete, name)


@CONTAINER.function("[method]container.delete-objects")
def delete_objects(call: sdk.Call, handle: Any, names: list[str]) -> Any:
    def delete(box: _Container, object_names: list[str]) -> Any:
        for object_name in object_names:
            box.objects.pop(object_name, None)
        _store(call).held.release(_place(box.name, n) for n in object_names)
        return Ok(None)

    return _in_container(call, handle, [("names", ListType(sdk.STRING))], _result(None), delete,
                         list(names))


@CONTAINER.function("[method]container.has-object")
def has_object(call: sdk.Call, handle: Any, name: str) -> Any:
    return _in_container(call, handle, [_NAME], _result(sdk.BOOL),
                         lambda box, object_name: Ok(object_name in box.objects), name)


@CONTAINER.function("[method]container.object-info")
def object_info(call: sdk.Call, handle: Any, name: str) -> Any:
    container = call.resource(handle)
    metadata = call.result_type.ok  # type: ignore[union-attr]

    def info(box: _Container, object_name: str) -> Any:
        item = box.objects.get(object_name)
        if item is None:
            return Err(f"object {object_name!r} does not exist")
        return Ok((item.created_at, len(item.data)))

    recorded = _in_container(call, handle, [_NAME], _result(TupleType((sdk.U64, sdk.U64))), info, name)
    if isinstance(recorded, Err):
        return recorded
    created_at, size = recorded.value
    return Ok(build(metadata, {"name": name, "container": container, "created-at": created_at,
                               "size": size}))


@CONTAINER.function("[method]container.clear")
def clear(call: sdk.Call, handle: Any) -> Any:
    def empty(box: _Container) -> Any:
        _store(call).held.release(_place(box.name, n) for n in box.objects)
        box.objects.clear()
        return Ok(None)

    return _in_container(call, handle, [], _result(None), empty)


@CONTAINER.function("[method]stream-object-names.read-stream-object-names")
def read_names(call: sdk.Call, handle: Any, count: int) -> Any:
    names: list[str] = call.resource(handle)
    taken, names[:] = names[:count], names[count:]
    return Ok((taken, not names))


@CONTAINER.function("[method]stream-object-names.skip-stream-object-names")
def skip_names(call: sdk.Call, handle: Any, count: int) -> Any:
    names: list[str] = call.resource(handle)
    skipped = min(count, len(names))
    del names[:skipped]
    return Ok((skipped, not names))


# -- values ----------------------------------------------------------------------------------

@TYPES.function("[static]outgoing-value.new-outgoing-value")
def new_outgoing_value(call: sdk.Call) -> Any:
    return call.new_resource("wasi:blobstore/types", "outgoing-value", OutgoingBody())


@TYPES.function("[method]outgoing-value.outgoing-value-write-body")
def write_body(call: sdk.Call, handle: Any) -> Any:
    outgoing: OutgoingBody = call.resource(handle)
    return Ok(outgoing.open_stream(call))


@TYPES.function("[method]incoming-value.incoming-value-consume-sync",
                "[static]incoming-value.incoming-value-consume-sync")
def consume_sync(call: sdk.Call, handle: Any) -> Any:
    return Ok(bytes(call.resource(handle)))


@TYPES.function("[method]incoming-value.incoming-value-consume-async",
                "[static]incoming-value.incoming-value-consume-async")
def consume_async(call: sdk.Call, handle: Any) -> Any:
    return Ok(input_stream(call, bytes(call.resource(handle))))


@TYPES.function("[method]incoming-value.size")
def incoming_size(call: sdk.Call, handle: Any) -> int:
    return len(call.resource(handle))



# -- the blobstore shim (see shims): write-data with the outgoing value's host id --------------

#: What the blobstore shim imports: the container and blobstore functions, with the resources
#: renamed and ``write-data`` taking the outgoing value's host id. Calls are recorded under the
#: names of the functions the guest called (``wasi:blobstore/container.{container.write-data}``).
SHIM = sdk.HostInterface("hotupdate:shim/blobstore", resources=("host-container", "host-object-names"))

_SHIM_KINDS = {"container": "host-container", "stream-object-names": "host-object-names"}


def _kind(call: sdk.Call, kind: str) -> tuple[str, str]:
    """The (interface, resource) of a new container or name stream for this call's caller:
    the guest's own, or the shim's renamed one."""
    if (call.imported.interface or "").startswith("hotupdate:shim/blobstore"):
        return "hotupdate:shim/blobstore", _SHIM_KINDS[kind]
    return "wasi:blobstore/container", kind


def write_data_by_id(call: sdk.Call, handle: Any, name: str, value_id: int) -> Any:
    data = sdk.RESOURCES.by_rep(value_id, call.name).data

    def write(box: _Container, object_name: str, body: bytes) -> Any:
        _store(call).held.charge(call, {_place(box.name, object_name): len(body)})
        box.objects[object_name] = _Object(bytes(body), _now())
        return Ok(None)

    return _in_container(call, handle, [_NAME, ("data", _BYTES)], _result(None), write, name,
                         data)


def outgoing_value_id(call: sdk.Call, handle: Any) -> int:
    return sdk.RESOURCES.rep(call.store, handle)


_CONTAINER_METHODS = {
    "name": container_name, "info": container_info, "get-data": get_data,
    "list-objects": list_objects, "delete-object": delete_object,
    "delete-objects": delete_objects, "has-object": has_object, "object-info": object_info,
    "clear": clear,
}
SHIM.functions.update({
    f"[method]host-container.{method}": sdk.recorded_as(
        f"wasi:blobstore/container.{{container.{method}}}", impl)
    for method, impl in _CONTAINER_METHODS.items()})
SHIM.functions.update({
    "[method]host-container.write-data-by-id": sdk.recorded_as(
        "wasi:blobstore/container.{container.write-data}", write_data_by_id),
    "[method]host-object-names.read-stream-object-names": sdk.recorded_as(
        "wasi:blobstore/container.{stream-object-names.read-stream-object-names}", read_names),
    "[method]host-object-names.skip-stream-object-names": sdk.recorded_as(
        "wasi:blobstore/container.{stream-object-names.skip-stream-object-names}", skip_names),
    "outgoing-value-id": outgoing_value_id,
    "create-container": sdk.recorded_as("wasi:blobstore/blobstore.{create-container}",
                                    create_container),
    "get-container": sdk.recorded_as("wasi:blobstore/blobstore.{get-container}", get_container),
    "delete-container": sdk.recorded_as("wasi:blobstore/blobstore.{delete-container}",
                                    delete_container),
    "container-exists": sdk.recorded_as("wasi:blobstore/blobstore.{container-exists}",
                                    container_exists),
    "copy-object": sdk.recorded_as("wasi:blobstore/blobstore.{copy-object}", copy_object),
    "move-object": sdk.recorded_as("wasi:blobstore/blobstore.{move-object}", move_object),
})
