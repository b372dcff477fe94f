"""The machinery every built-in host interface uses.

A :class:`HostInterface` implements one interface *name* (``wasi:logging/logging``) for every
version of it: :func:`pytest_hotupdate.host.build_linker` defines its functions under each
version the component imports, and each function converts its arguments and result with the
exact types of the component's own import, so an implementation serves every published version
whose shapes agree.

An implementation is ``impl(call, *args)``: ``call`` is a :class:`Call` (the calling worker, the
store, the imported function's types), ``args`` are native values of the import's parameter
types (see :mod:`pytest_hotupdate.values`), except resource handles, which arrive as wasmtime
``ResourceAny`` values (:meth:`Call.resource` finds the Python object behind one). It returns a
native value of the import's result type; a host resource it creates is returned as
:meth:`Call.new_resource`.

Durable calls go through :meth:`Call.durable` (recorded when the worker runs live, answered from
the oplog on replay, see :class:`pytest_hotupdate.durable.DurableContext`); they record plain data
(strings, bytes, records), never handles, so that a replay on a fresh Store can rebuild its own
handles from the recorded data.

State lives in three places:

- :func:`incarnation_state`: per Store (rebuilt by replay, e.g. the persistence level);
- :func:`shared_state`: per registry (shared by its workers: key-value buckets, promises);
- the resource table: one per process, keyed by a representation number that is never reused.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wasmtime.component import ResourceAny, ResourceHost

from ..component import ImportedFunction
from ..errors import HotUpdateError, InterruptAtHostCall, UnsupportedHostFunction
from ..names import unversioned
from ..values import Prim, WitType

T = TypeVar("T")

STRING = Prim("string")
U64 = Prim("u64")
BOOL = Prim("bool")


Impl = Callable[..., Any]


@dataclass
class HostInterface:
    """The built-in implementation of one interface name, for all of its versions.

    Attributes:
        name: the unversioned interface name (``wasi:keyvalue/types``).
        functions: implementations by import name (``get``, ``[static]bucket.open-bucket``,
            ``[method]wasm-rpc.invoke``).
        resources: names of the resources this interface defines (``bucket``).
        unsupported: why functions absent from ``functions`` are not implemented (for the
            error message), by import name; ``"*"`` applies to every absent function.
    """

    name: str
    functions: dict[str, Impl] = field(default_factory=dict)
    resources: tuple[str, ...] = ()
    unsupported: dict[str, str] = field(default_factory=dict)

    def function(self, *names: str) -> Callable[[Impl], Impl]:
        """Decorator registering an implementation under one or more import names."""

        def register(impl: Impl) -> Impl:
            for name in names:
                self.functions[name] = impl
            return impl

        return register

    def implements(self, name: str) -> bool:
        return name in self.functions

    def why_unsupported(self, name: str) -> str:
        return self.unsupported.get(name) or self.unsupported.get("*", "")


class Call:
    """One call of a built-in host function: who is calling and with which types."""

    __slots__ = ("context", "imported", "name", "store")

    def __init__(self, store: Any, context: Any, imported: ImportedFunction, name: str) -> None:
        self.store = store
        #: The calling worker's durable context (:class:`pytest_hotupdate.durable.DurableContext`).
        self.context = context
        #: The function as the component imports it (exact parameter and result types).
        self.imported = imported
        #: The function's name in the oplog: ``wasi:keyvalue/eventual.{get}``.
        self.name = name

    @property
    def worker(self) -> Any:
        """The calling :class:`~pytest_hotupdate.worker.Worker`."""
        return self.context.worker

    @property
    def live(self) -> bool:
        """Whether the worker runs live and records (not a replay, not a snapshot load)."""
        return not self.context.replaying and self.context.recording

    @property
    def result_type(self) -> WitType | None:
        return self.imported.result

    def durable(self, params: Iterable[tuple[str, WitType]], result: WitType | None,
                live: Callable[..., Any], *args: Any, name: str | None = None,
                always: bool = False) -> Any:
        """``live(*args)`` recorded under this function's name (or ``name``), or its recorded
        result on replay. ``params``/``result`` are the types the oplog writes them with.

        With ``golem:api/host``'s persistence level ``persist-nothing`` the call runs live and
        is not recorded (also on replay), unless ``always`` (a change of that level itself).
        """
        if not always and persisting_nothing(self.context):
            return live(*args)
        return self.context.durable_call(name or self.name, tuple(params), result, live, args)

    def new_resource(self, interface: str, resource: str, obj: Any) -> ResourceHost:
        """An owned handle to a new host resource holding ``obj``."""
        return RESOURCES.own(resource_type_id(interface, resource), obj, self.worker)

    def resource(self, handle: Any) -> Any:
        """The Python object behind a handle the guest passed."""
        return RESOURCES.get(self.store, handle, self.name)

    def fail(self, why: str) -> UnsupportedHostFunction:
        return UnsupportedHostFunction(self.name, why)


# -- resources -----------------------------------------------------------------------------

_TYPE_IDS: dict[tuple[str, str], int] = {}
_TYPE_IDS_LOCK = threading.Lock()
#: Host resource type ids start high so that they never meet wasmtime's own small numbers.
_FIRST_TYPE_ID = 0x48550000


def resource_type_id(interface: str, resource: str) -> int:
    """The stable host resource type id of ``resource`` defined by (unversioned) ``interface``."""
    key = (unversioned(interface), resource)
    with _TYPE_IDS_LOCK:
        found = _TYPE_IDS.get(key)
        if found is None:
            found = _TYPE_IDS[key] = _FIRST_TYPE_ID + len(_TYPE_IDS)
        return found


class _ResourceTable:
    """Python objects behind host resource handles, by representation number.

    Representation numbers come from one counter and are never reused, so a handle of a Store
    that is gone can never reach another worker's object. Entries are removed when the guest
    drops its handle (the resource's destructor); a Store dropped with handles still open
    leaves its entries behind, which is harmless in a test process.
    """

    def __init__(self) -> None:
        self._objects: dict[int, tuple[Any, Any]] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def own(self, type_id: int, obj: Any, owner: Any) -> ResourceHost:
        with self._lock:
            rep = next(self._counter) & 0xFFFFFFFF
            self._objects[rep] = (obj, weakref.ref(owner) if owner is not None else None)
        return ResourceHost.own(rep, type_id)

    def get(self, store: Any, handle: Any, function: str) -> Any:
        if isinstance(handle, ResourceAny):
            rep = int(handle.to_host(store).rep)
        else:  # a ResourceHost, or a host id passed as a number (see the keyvalue shim)
            given = getattr(handle, "rep", None)
            if not isinstance(given, int):  # pragma: no cover - the linker passes resources only
                raise HotUpdateError(f"{function}: expected a resource handle, got {handle!r}")
            rep = given
        with self._lock:
            entry = self._objects.get(rep)
        if entry is None:
            raise HotUpdateError(f"{function}: the resource handle was already dropped")
        return entry[0]

    def by_rep(self, rep: int, function: str) -> Any:
        """The object behind representation number ``rep`` (a host id the guest passed)."""
        with self._lock:
            entry = self._objects.get(rep)
        if entry is None:
            raise HotUpdateError(f"{function}: no host resource has id {rep}")
        return entry[0]

    def rep(self, store: Any, handle: Any) -> int:
        """The representation number of a handle the guest passed."""
        if isinstance(handle, ResourceAny):
            return int(handle.to_host(store).rep)
        return int(handle.rep)

    def drop(self, rep: int) -> None:
        with self._lock:
            entry = self._objects.pop(rep, None)
        if entry is not None:
            close = getattr(entry[0], "close", None)
            if callable(close):
                close()

    def __len__(self) -> int:
        return len(self._objects)


#: The process-wide table of host resource objects.
RESOURCES = _ResourceTable()


def resource_dtor(_store: Any, rep: int) -> None:
    """The destructor given to wasmtime for every built-in host resource."""
    RESOURCES.drop(rep)


# -- state -----------------------------------------------------------------------------------

_INCARNATION_STATE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_SHARED_STATE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_STATE_LOCK = threading.Lock()


def _incarnation_of(worker: Any) -> Any:
    # The incarnation the worker is calling into (else its live one): state kept per
    # incarnation is rebuilt when a replay rebuilds the incarnation.
    return worker.calling_incarnation


def incarnation_state(worker: Any, key: str, factory: Callable[[], T]) -> T:
    """Per-Store state of ``worker`` (a fresh Store starts from ``factory()``)."""
    owner = _incarnation_of(worker)
    with _STATE_LOCK:
        states = _INCARNATION_STATE.setdefault(owner, {})
        if key not in states:
            states[key] = factory()
        return states[key]  # type: ignore[no-any-return]


def set_incarnation_state(worker: Any, key: str, value: Any) -> None:
    """Replace per-Store state of ``worker``."""
    owner = _incarnation_of(worker)
    with _STATE_LOCK:
        _INCARNATION_STATE.setdefault(owner, {})[key] = value


def shared_state(worker: Any, key: str, factory: Callable[[], T]) -> T:
    """State shared by the workers of ``worker``'s registry (or the worker's own without one)."""
    owner = getattr(worker, "registry", None) or worker
    return registry_state(owner, key, factory)


def registry_state(registry: Any, key: str, factory: Callable[[], T]) -> T:
    """State kept for ``registry`` (shared by its workers)."""
    with _STATE_LOCK:
        states = _SHARED_STATE.setdefault(registry, {})
        if key not in states:
            states[key] = factory()
        return states[key]  # type: ignore[no-any-return]


#: Key of the incarnation state that holds Golem's persistence level (see ``api_host``).
PERSIST_NOTHING = "persist-nothing"


def persisting_nothing(context: Any) -> bool:
    """Whether the worker behind ``context`` set ``golem:api/host``'s persistence level to
    ``persist-nothing`` in its current Store: durable calls then run live, unrecorded (also
    while replaying), as on Golem."""
    if not _INCARNATION_STATE:
        return False
    worker = getattr(context, "worker", None)
    if worker is None:
        return False
    states = _INCARNATION_STATE.get(_incarnation_of(worker))
    return states is not None and bool(states.get(PERSIST_NOTHING))


#: How often a blocked host call (a promise, an RPC answer) checks its deadline and updates.
WAIT_SLICE_SECONDS = 0.02


def wait_for(call: Call, what: str, ready: Callable[[], T | None],
             pause: Callable[[float], Any]) -> T:
    """Block the calling invocation until ``ready()`` is not None and return it, calling
    ``pause(seconds)`` in between. An update that asks to interrupt the worker takes over (it
    replays and waits again); the invocation's deadline fails the call, naming ``what``."""
    interrupter = getattr(call.context, "interrupter", None)
    while True:
        value = ready()
        if value is not None:
            return value
        if interrupter is not None:
            if interrupter.interrupt_requested:
                raise InterruptAtHostCall()
            if interrupter.raised is not None:  # Ctrl-C: stop the guest, the worker raises it
                raise HotUpdateError(f"{call.name}: interrupted while waiting for {what}")
            if time.monotonic() > interrupter.deadline:
                raise HotUpdateError(f"{call.name}: the invocation's deadline passed while it "
                                     f"was waiting for {what}")
        pause(WAIT_SLICE_SECONDS)


def recorded_as(name: str, impl: Callable[..., Any]) -> Callable[..., Any]:
    """``impl`` recorded under ``name``: a shim's host function, recorded as the function the
    guest called through the shim (see :mod:`.shims`)."""

    def renamed(call: Call, *args: Any) -> Any:
        call.name = name
        return impl(call, *args)

    return renamed
