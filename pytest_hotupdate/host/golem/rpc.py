"""``golem:rpc/types`` (0.1.x, 0.2.x): calls between the emulated workers of a registry.

A ``wasm-rpc`` resource addresses another worker (``worker-id`` / ``agent-id``, or a
``urn:worker:<component uuid>/<name>`` URI in 0.1.x); a worker that does not exist yet is
created on its component's latest revision, as on Golem. Its methods call an exported function
of that worker, named as Golem names it (``golem:app/api.{put}``; the older
``golem:app/api/put`` form too), with parameters given as ``wit-value`` s and decoded with the
callee's own parameter types:

- ``invoke-and-await``: the callee runs the invocation (on the caller's thread, recorded in the
  callee's oplog as any invocation) and the caller gets its result as Golem returns it, a tuple
  of the results in a ``wit-value``; failures are ``rpc-error`` values (``not-found``: no such
  worker or function; ``protocol-error``: parameters that do not fit; ``remote-internal-error``:
  the callee's invocation failed, or a call cycle that would deadlock on Golem).
- ``invoke``: the callee's invocation is queued on the callee's own thread and the call returns
  at once (:func:`rpc_invocations` returns the futures).
- ``async-invoke-and-await``: like ``invoke``, with a ``future-invoke-result`` whose ``get``
  answers ``none`` until the callee's invocation has finished. ``subscribe`` returns a
  ``wasi:io`` pollable that is ready at once (:mod:`.wasi_io`); a ``get`` after it waits for the
  answer.

Resource handles travel as ``handle(uri, resource-id)`` nodes, as on Golem: a result's handle
names the callee's URI (``urn:worker:<component uuid>/<name>``, the resource's owner), and a
handle passed as a parameter must name the worker it is sent to (else ``protocol-error``); the
callee resolves the id in its own resource table, so a handle keeps working across the owner's
recovery and automatic updates.

Every call is a durable host call of the caller: the request and its answer are recorded in the
caller's oplog, and a replay of the caller (recovery, automatic update) answers from there and
never calls the callee again. ``schedule-invocation`` and ``ephemeral`` workers are not emulated.
"""

from __future__ import annotations

import threading
import uuid
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ...errors import HotUpdateError, InvocationError
from ...values import Err, Ok, Variant
from ..sdk import STRING, Call, HostInterface, registry_state, wait_for
from . import ids, witvalue
from .wasi_io import ready_pollable

RPC = HostInterface(
    "golem:rpc/types",
    resources=("wasm-rpc", "future-invoke-result", "cancellation-token"),
    unsupported={
        "[static]wasm-rpc.ephemeral": "ephemeral workers are not emulated",
        "[method]wasm-rpc.schedule-invocation": "scheduled invocations are not emulated",
        "[method]wasm-rpc.schedule-cancelable-invocation": "scheduled invocations are not "
                                                           "emulated",
        "*": "not emulated",
    },
)

_TARGET = ("worker", STRING)
_FUNCTION = ("function-name", STRING)


@dataclass
class _Target:
    """What a ``wasm-rpc`` resource addresses."""

    component: str | None
    worker: str

    @property
    def label(self) -> str:
        return f"{self.component or '?'}/{self.worker}"


@dataclass
class _Pending:
    """A ``future-invoke-result``: the callee's invocation running on its thread."""

    future: Future[Any] | None
    info: Any = None
    callee: Any = None
    answered: Any = None
    subscribed: bool = False


class _CallChain(threading.local):
    workers: list[Any]

    def __init__(self) -> None:
        self.workers = []


_CHAIN = _CallChain()


@dataclass
class _Invocations:
    futures: list[Future[Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def rpc_invocations(registry: Any) -> list[Future[Any]]:
    """Futures of the invocations ``invoke`` / ``async-invoke-and-await`` started, oldest first."""
    state = registry_state(registry, "golem:rpc/invocations", _Invocations)
    with state.lock:
        return list(state.futures)


# -- constructing ------------------------------------------------------------------------------

@RPC.function("[constructor]wasm-rpc")
def new_wasm_rpc(call: Call, location: Any) -> Any:
    registry = getattr(call.worker, "registry", None)
    if "value" in location and isinstance(location["value"], str):  # 0.1.x: a URI
        target = _target_of_uri(registry, location["value"])
    else:
        component = ids.component_named_by(registry, location["component-id"]) \
            if registry is not None else None
        target = _Target(component, ids.worker_name(location))
    return call.new_resource("golem:rpc/types", "wasm-rpc", target)


def _target_of_uri(registry: Any, text: str) -> _Target:
    body = text.split(":", 2)[-1] if text.startswith("urn:worker:") else text.split("://", 1)[-1]
    component, _, name = body.partition("/")
    try:
        wanted = uuid.UUID(component)
    except ValueError:
        return _Target(component, name)
    for candidate in ids.component_names(registry) if registry is not None else ():
        if ids.component_uuid(candidate) == wanted:
            return _Target(candidate, name)
    return _Target(None, name)


# -- calling -----------------------------------------------------------------------------------

def _function_name(name: str) -> str:
    """``golem:app/api/put`` (older stubs) -> ``golem:app/api.{put}``; others unchanged."""
    if ".{" in name or name.count("/") < 2:
        return name
    interface, _, function = name.rpartition("/")
    return f"{interface}.{{{function}}}"


def _prepare(call: Call, target: _Target, function: str, params: list[Any]
             ) -> tuple[Any, Any, tuple[Any, ...]] | Variant:
    """``(callee, function info, native args)`` or an ``rpc-error``."""
    registry = getattr(call.worker, "registry", None)
    if registry is None:
        return Variant("not-found", "the calling worker does not belong to a registry")
    if not target.worker:
        return Variant("not-found", f"the worker id {target.label} names no worker")
    callee = None
    for worker in registry.workers:
        if worker.name == target.worker and (target.component is None
                                             or worker.component_name == target.component):
            callee = worker
            break
    if callee is None:
        if target.component is None:
            return Variant("not-found", f"no worker {target.label}")
        try:
            callee = registry.worker(target.component, name=target.worker)
        except HotUpdateError as error:
            return Variant("not-found", f"cannot create worker {target.label}: {error}")
    try:
        info = callee.component.find_function(_function_name(function))
    except InvocationError:
        return Variant("not-found", f"worker {target.label} has no function {function}")
    if len(params) != len(info.params):
        return Variant("protocol-error", f"{info.golem_name} takes {len(info.params)} "
                                         f"parameter(s), got {len(params)}")
    try:
        args = tuple(witvalue.decode(ty, value, handle_uri=_owner_uri(callee))
                     for (_, ty), value in zip(info.params, params))
    except (HotUpdateError, LookupError, TypeError, ValueError) as error:
        return Variant("protocol-error", f"{info.golem_name}: {error}")
    return callee, info, args


def _invoke_and_await(call: Call, target: _Target, function: str, params: list[Any]) -> Any:
    prepared = _prepare(call, target, function, params)
    if isinstance(prepared, Variant):
        return Err(prepared)
    callee, info, args = prepared
    if callee is call.worker or callee in _CHAIN.workers:
        return Err(Variant("remote-internal-error",
                           f"{callee.name} is already running an invocation on this call chain; "
                           "invoking it and awaiting the result would deadlock"))
    _CHAIN.workers.append(call.worker)
    try:
        result = callee.invoke(info.golem_name, *args)
    except InvocationError as error:
        return Err(Variant("remote-internal-error", str(error)))
    finally:
        _CHAIN.workers.pop()
    return Ok(witvalue.encode_results(info.result, result, _owner_uri(callee)))


def _start(call: Call, target: _Target, function: str, params: list[Any]
           ) -> tuple[Future[Any], Any, Any] | Variant:
    """The callee's invocation queued on its thread, with the function it calls and the
    callee."""
    prepared = _prepare(call, target, function, params)
    if isinstance(prepared, Variant):
        return prepared
    callee, info, args = prepared
    future = callee.invoke_async(info.golem_name, *args)
    state = registry_state(call.worker.registry, "golem:rpc/invocations", _Invocations)
    with state.lock:
        state.futures.append(future)
    return future, info, callee


def _params(call: Call) -> list[tuple[str, Any]]:
    """How a call's request is recorded: the target, the function and the import's own
    ``list<wit-value>`` type for the parameters."""
    return [_TARGET, _FUNCTION, ("function-params", call.imported.params[2][1])]


@RPC.function("[method]wasm-rpc.invoke-and-await")
def invoke_and_await(call: Call, handle: Any, function: str, params: list[Any]) -> Any:
    target: _Target = call.resource(handle)
    return call.durable(_params(call), call.result_type,
                        lambda _w, f, p: _invoke_and_await(call, target, f, p),
                        target.label, function, params)


@RPC.function("[method]wasm-rpc.invoke")
def invoke(call: Call, handle: Any, function: str, params: list[Any]) -> Any:
    target: _Target = call.resource(handle)

    def live(_w: str, f: str, p: list[Any]) -> Any:
        started = _start(call, target, f, p)
        return Err(started) if isinstance(started, Variant) else Ok(None)

    return call.durable(_params(call), call.result_type, live, target.label, function, params)


@RPC.function("[method]wasm-rpc.async-invoke-and-await")
def async_invoke_and_await(call: Call, handle: Any, function: str, params: list[Any]) -> Any:
    target: _Target = call.resource(handle)
    started: list[Any] = []

    def live(_w: str, f: str, p: list[Any]) -> Any:
        outcome = _start(call, target, f, p)
        started.append(outcome)
        return None

    call.durable(_params(call), None, live, target.label, function, params)
    pending = _Pending(None)
    if started:
        outcome = started[0]
        if isinstance(outcome, Variant):
            pending.answered = Err(outcome)
        else:
            pending.future, pending.info, pending.callee = outcome
    return call.new_resource("golem:rpc/types", "future-invoke-result", pending)


@RPC.function("[method]future-invoke-result.get")
def future_get(call: Call, handle: Any) -> Any:
    pending: _Pending = call.resource(handle)

    def live() -> Any:
        if pending.answered is not None:
            return pending.answered
        if pending.future is None:
            return Err(Variant("remote-internal-error",
                               "this async invocation was started before a recovery and "
                               "cannot be resumed by the emulator"))
        if not pending.future.done():
            if not pending.subscribed:
                return None
            future = pending.future
            wait_for(call, f"the answer of {pending.info.golem_name}",
                     lambda: True if future.done() else None,
                     lambda seconds: futures.wait([future], timeout=seconds))
        info = pending.info
        error = pending.future.exception()
        if error is not None:
            pending.answered = Err(Variant("remote-internal-error", str(error)))
        else:
            pending.answered = Ok(witvalue.encode_results(info.result, pending.future.result(),
                                                          _owner_uri(pending.callee)))
        return pending.answered

    return call.durable([], call.result_type, live)


@RPC.function("[method]future-invoke-result.subscribe")
def future_subscribe(call: Call, handle: Any) -> Any:
    # The pollable is ready at once; the `get` that follows waits for the answer instead.
    pending: _Pending = call.resource(handle)
    pending.subscribed = True
    return ready_pollable(call)


def _owner_uri(callee: Any) -> str:
    """The URI written in the handle nodes of ``callee``'s results: the resource's owner."""
    return ids.uri(callee.component_name, callee.name)


# -- helpers of the interface --------------------------------------------------------------------

@RPC.function("parse-uuid")
def parse_uuid(call: Call, text: str) -> Any:
    try:
        return Ok(ids.uuid_record(uuid.UUID(text)))
    except ValueError as error:
        return Err(str(error))


@RPC.function("uuid-to-string")
def uuid_to_string(call: Call, record: Any) -> str:
    return str(ids.uuid_of(record))


@RPC.function("extract-value")
def extract_value(call: Call, value_and_type: Any) -> Any:
    return value_and_type["value"]


@RPC.function("extract-type")
def extract_type(call: Call, value_and_type: Any) -> Any:
    return value_and_type["typ"]

