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
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import wasmtime
from wasmtime.component import Component, Func, Linker, ResourceAny

from ..errors import HotUpdateError
from ._base import Call, incarnation_state
from .shims import build_wat_component

__all__ = ["ready_pollable"]

_WIT = {
    "helper.wit": """
package hotupdate:io;

/// What the emulator asks WASI for on a guest's behalf.
interface make {
  use wasi:io/poll@0.2.6.{pollable};
  /// A pollable that is ready at once.
  ready: func() -> pollable;
}

world io-helper {
  import wasi:clocks/monotonic-clock@0.2.6;
  export make;
}
""",
    "deps/io/poll.wit": """
package wasi:io@0.2.6;

interface poll {
  resource pollable {
    ready: func() -> bool;
    block: func();
  }
  poll: func(in: list<borrow<pollable>>) -> list<u32>;
}
""",
    "deps/clocks/monotonic-clock.wit": """
package wasi:clocks@0.2.6;

interface monotonic-clock {
  use wasi:io/poll@0.2.6.{pollable};
  type instant = u64;
  type duration = u64;
  now: func() -> instant;
  subscribe-duration: func(when: duration) -> pollable;
}
""",
}

_WAT = """
(module
  (import "wasi:clocks/monotonic-clock@0.2.6" "subscribe-duration"
    (func $subscribe_duration (param i64) (result i32)))
  (memory (export "memory") 1)
  (func (export "hotupdate:io/make#ready") (result i32)
    (call $subscribe_duration (i64.const 0)))
)
"""

_LOCK = threading.Lock()
_PER_ENGINE: weakref.WeakKeyDictionary[wasmtime.Engine, tuple[Component, Linker]] = (
    weakref.WeakKeyDictionary())


def _compiled(engine: wasmtime.Engine) -> tuple[Component, Linker]:
    with _LOCK:
        found = _PER_ENGINE.get(engine)
        if found is None:
            data = build_wat_component("the wasi:io helper", _WIT, _WAT, "io-helper")
            linker = Linker(engine)
            linker.add_wasip2()
            found = (Component(engine, data), linker)
            _PER_ENGINE[engine] = found
        return found


@dataclass(frozen=True)
class _Helper:
    """The helper's instance in one Store (one incarnation of a worker)."""

    ready: Func


def _helper(call: Call) -> _Helper:
    def instantiate() -> _Helper:
        component, linker = _compiled(call.worker.runtime.engine)
        instance = linker.instantiate(call.store, component)
        make = instance.get_export_index(call.store, "hotupdate:io/make")
        if make is None:  # pragma: no cover - the helper's own WIT exports it
            raise HotUpdateError("the wasi:io helper exports no hotupdate:io/make")
        index = instance.get_export_index(call.store, "ready", make)
        ready = None if index is None else instance.get_func(call.store, index)
        if ready is None:  # pragma: no cover
            raise HotUpdateError("the wasi:io helper exports no ready function")
        return _Helper(ready)

    return incarnation_state(call.worker, "wasi:io/helper", instantiate)


def ready_pollable(call: Call) -> ResourceAny:
    """An owned ``wasi:io/poll.pollable`` of the calling worker's Store, ready at once."""
    pollable = _helper(call).ready(call.store)
    if not isinstance(pollable, ResourceAny):  # pragma: no cover - the helper's WIT
        raise HotUpdateError(f"the wasi:io helper returned {pollable!r}, not a pollable")
    return pollable
