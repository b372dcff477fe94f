"""One incarnation of a worker: a wasmtime Store and instance of one component revision, the
unit that replay rebuilds, and the plan of a call into it.

A worker holds one live incarnation; an update builds another for the target revision and
switches to it only when it is ready. Closing an incarnation drops its Store (memory, open
files) at once; :func:`wait_released` then waits until wasmtime's own threads have let go of
the Store's output callbacks.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime.component import Instance, Linker, ResourceAny

from .component import FunctionInfo, LoadedComponent
from .component.footprint import store_limits
from .engine import DirectFunc, Interrupter
from .errors import InvocationError, ValueTypeError
from .host import imports_http
from .values import Handle, WitType

__all__ = ["CallPlan", "Incarnation", "wait_released", "weak_sink"]


@dataclass
class CallPlan:
    """Everything needed to call one exported function, prepared once per function."""

    info: FunctionInfo
    lowers: tuple[Callable[[Any], Any], ...]
    lift: Callable[[Any], Any] | None
    param_types: tuple[WitType, ...]

    def check_arity(self, args: tuple[Any, ...]) -> None:
        """InvocationError (``bad-arguments``) unless ``args`` has one value per parameter."""
        expected = len(self.info.params)
        if len(args) != expected:
            names = ", ".join(f"{n}: {t.wit()}" for n, t in self.info.params) or "no parameters"
            raise InvocationError(
                f"{self.info.golem_name} takes {expected} argument(s) ({names}), got {len(args)}",
                self.info.golem_name,
                "bad-arguments",
            )


class Incarnation:
    """One Store and instance of one component revision (the unit that is rebuilt)."""

    def __init__(self, component: LoadedComponent, revision: int, linker: Linker,
                 store: wasmtime.Store, interrupter: Interrupter) -> None:
        self.component = component
        self.revision = revision
        self.linker = linker
        self.store = store
        self.interrupter = interrupter
        self.instance: Instance | None = None
        self.funcs: dict[str, DirectFunc] = {}
        self.handles: dict[int, ResourceAny] = {}
        #: The Store's WASI output callbacks (weakly: wasmtime-py holds them until it lets go).
        self.outputs: tuple[weakref.ref[Callable[[bytes], None]], ...] = ()

    @classmethod
    def open(cls, engine: wasmtime.Engine, component: LoadedComponent, revision: int,
             linker: Linker, wasi: wasmtime.WasiConfig, memory_bytes: int,
             outputs: tuple[Callable[[bytes], None], ...]) -> Incarnation:
        """A fresh Store for ``component`` (not instantiated yet): WASI (and WASI HTTP if the
        component imports it), ``memory_bytes`` divided among its memories and tables (see
        :mod:`pytest_hotupdate.component.footprint`), and its own deadline callback. ``outputs`` are
        the WASI output callbacks ``wasi`` holds, kept weakly (see :func:`wait_released`)."""
        store = wasmtime.Store(engine)
        store.set_wasi(wasi)
        if imports_http(component):
            store.set_wasi_http()
        limits = store_limits(memory_bytes, component.footprint)
        store.set_limits(memory_size=limits.memory_size, table_elements=limits.table_elements,
                         memories=limits.memories, tables=limits.tables)
        interrupter = Interrupter()
        interrupter.attach(store)
        incarnation = cls(component, revision, linker, store, interrupter)
        incarnation.outputs = tuple(weakref.ref(sink) for sink in outputs)
        return incarnation

    def func(self, info: FunctionInfo) -> DirectFunc:
        """The instance's export ``info`` (looked up once); InvocationError (``not-found``)
        if the instance has no such function."""
        func = self.funcs.get(info.golem_name)
        if func is not None:
            return func
        store, instance = self.store, self.instance
        assert instance is not None
        parent = instance.get_export_index(store, info.interface) if info.interface else None
        index = instance.get_export_index(store, info.export_name, parent)
        found = instance.get_func(store, index) if index is not None else None
        if found is None:
            raise InvocationError(
                f"{self.component.name} has no function {info.golem_name}",
                info.golem_name,
                "not-found",
            )
        func = self.funcs[info.golem_name] = DirectFunc(found, store)
        return func

    def register_handle(self, resource: ResourceAny) -> Handle:
        """A handle, local to this Store, for a resource the guest returned."""
        handle_id = len(self.handles) + 1
        self.handles[handle_id] = resource
        return Handle(handle_id)

    def resolve_handle(self, handle: Handle) -> ResourceAny:
        """The resource behind ``handle``; ValueTypeError if this Store has no such handle."""
        resource = self.handles.get(handle.id)
        if resource is None:
            raise ValueTypeError(f"unknown resource handle({handle.id})", "handle", "resource")
        return resource

    def close(self) -> None:
        """Drop the Store now (its instance, memory and open files) instead of at collection."""
        self.instance = None
        self.funcs.clear()
        self.handles.clear()
        self.store.close()


#: How long closing a worker waits for wasmtime to let go of a Store's output callbacks.
_OUTPUT_RELEASE_S = 2.0


def wait_released(incarnations: list[Incarnation]) -> None:
    """Wait until wasmtime has dropped the output callbacks of these closed Stores.

    wasmtime writes a Store's WASI output from its own (tokio) threads, and the last of those
    lets go of the Python callbacks a moment after the Store is closed; if that happens while
    the interpreter is shutting down, the thread cannot enter Python and the process exits with
    a Rust panic ("panic in a function that cannot unwind"). So nothing may stay pending.
    """
    pending = [ref for incarnation in incarnations for ref in incarnation.outputs]
    give_up = time.monotonic() + _OUTPUT_RELEASE_S
    while any(ref() is not None for ref in pending) and time.monotonic() < give_up:
        time.sleep(0.001)


def weak_sink(owner: object, method: str) -> Callable[[bytes], None]:
    """``owner.<method>`` for WASI's output callbacks, without a strong reference: wasmtime-py
    keeps those callbacks in a module-level table until the Store is gone, and the Store goes
    with the worker, so a bound method there would keep every worker (and its Store's memory)
    alive for the life of the process."""
    ref = weakref.ref(owner)

    def sink(data: bytes) -> None:
        alive = ref()
        if alive is not None:
            getattr(alive, method)(data)

    return sink
