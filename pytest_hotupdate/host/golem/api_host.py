"""``golem:api/host`` (1.1.x, 1.3.0, 1.5.0 and the shapes in between), emulated in-process.

- **Identity and metadata**: ``get-self-metadata``, ``get-worker-metadata`` /
  ``get-agent-metadata``, ``resolve-component-id``, ``resolve-worker-id(-strict)`` /
  ``resolve-agent-id(-strict)``, ``worker-uri`` and the ``get-workers`` / ``get-agents``
  enumeration come from the registry (component ids are UUIDs derived from component names,
  see :mod:`.ids`). Metadata reads are durable (a replay sees what the worker saw).
- **Oplog**: ``get-oplog-index`` and ``mark-begin-operation`` return the index of the entry that
  records them (0-based, as ``pytest_hotupdate.update.revert(to_index=i + 1)`` keeps it);
  ``mark-end-operation`` is recorded; ``oplog-commit`` returns at once. An atomic region needs
  nothing more in-process: a failed invocation is dropped as a whole and the worker rebuilt from
  before it. ``set-oplog-index`` (time travel inside a running invocation) is not emulated.
- **Persistence level, idempotence mode, retry policy**: kept per worker, changes recorded and
  re-applied on replay, as Golem's oplog entries are. With ``persist-nothing`` every durable host
  call runs live and is not recorded (also during a replay). The idempotence mode and the retry
  policy are only stored: the emulator never retries a failed invocation by itself and never
  meets a side effect whose outcome is unknown.
- **Promises** (``create``, ``await``, ``poll``, ``complete``, ``delete``; 1.3's ``get-promise``
  resource): shared by the workers of one registry, completed by a worker or by the test
  (:func:`complete_promise`). ``await-promise`` blocks the calling invocation (its deadline
  still applies; an update request interrupts it). Every promise call is durable: a replay never
  waits again.
- **update-worker** / **update-agent** and **revert-worker** / **revert-agent**: recorded, then
  performed on the registry's worker by a background thread, as Golem returns before the
  update happens (:func:`requested_operations` returns their futures).
- ``trap`` fails the invocation with the reason; ``register-resource`` / ``unregister-resource``
  are accepted and ignored. Forks, ``set-oplog-index`` and permission cards fail with an error
  naming the function.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ...errors import HotUpdateError
from ...values import OptionType, RecordType, Variant
from ..sdk import (
    PERSIST_NOTHING,
    STRING,
    U64,
    Call,
    HostInterface,
    incarnation_state,
    registry_state,
    set_incarnation_state,
    wait_for,
)
from . import ids
from ._shapes import build, enum_case
from .wasi_io import ready_pollable

HOST = HostInterface(
    "golem:api/host",
    resources=("get-workers", "get-agents", "get-promise-result"),
    unsupported={
        "fork": "forking a worker is not emulated",
        "fork-worker": "forking a worker is not emulated",
        "fork-agent": "forking an agent is not emulated",
        "set-oplog-index": "time travel inside a running invocation is not emulated "
                           "(revert a worker with pytest_hotupdate.update.revert)",
        "*": "not emulated",
    },
)

#: Golem's default retry policy (golem-common's RetryConfig defaults).
DEFAULT_RETRY_POLICY = {
    "max-attempts": 3,
    "min-delay": 100_000_000,
    "max-delay": 1_000_000_000,
    "multiplier": 3.0,
    "max-jitter-factor": 0.15,
}


# -- per-worker state ------------------------------------------------------------------------

@dataclass
class HostState:
    """The ``golem:api/host`` settings of one worker (rebuilt by replay)."""

    persistence: str = "smart"
    idempotent: bool = True
    retry_policy: Any = None


def _state(call: Call) -> HostState:
    return incarnation_state(call.worker, "golem:api/host", HostState)


def host_state(worker: Any) -> HostState:
    """The current ``golem:api/host`` settings of ``worker``."""
    return incarnation_state(worker, "golem:api/host", HostState)


def _recorded(call: Call, live: Callable[..., Any], *args: Any) -> Any:
    """A durable call recorded with the import's own parameter and result types."""
    return call.durable(call.imported.params, call.result_type, live, *args)


def _registry(call: Call) -> Any:
    registry = getattr(call.worker, "registry", None)
    if registry is None:
        raise HotUpdateError(f"{call.name}: the worker does not belong to a registry")
    return registry


# -- promises --------------------------------------------------------------------------------

@dataclass
class _Promise:
    data: bytes | None = None


@dataclass
class PromiseStore:
    """The promises of one registry, by (worker name, oplog index)."""

    promises: dict[tuple[str, int], _Promise] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def create(self, key: tuple[str, int]) -> None:
        with self.changed:
            self.promises[key] = _Promise()

    def complete(self, key: tuple[str, int], data: bytes) -> bool:
        with self.changed:
            promise = self._get(key)
            if promise.data is not None:
                return False
            promise.data = bytes(data)
            self.changed.notify_all()
            return True

    def poll(self, key: tuple[str, int]) -> bytes | None:
        with self.changed:
            return self._get(key).data

    def delete(self, key: tuple[str, int]) -> None:
        with self.changed:
            self.promises.pop(key, None)

    def wait(self, key: tuple[str, int], call: Call) -> bytes:
        with self.changed:
            return wait_for(call, f"promise {key[0]}/{key[1]}", lambda: self._get(key).data,
                            self.changed.wait)

    def _get(self, key: tuple[str, int]) -> _Promise:
        promise = self.promises.get(key)
        if promise is None:
            raise HotUpdateError(f"promise {key[0]}/{key[1]} does not exist")
        return promise


def promises_of(registry: Any) -> PromiseStore:
    """The promise store of ``registry``."""
    return registry_state(registry, "golem:api/promises", PromiseStore)


def _promises(call: Call) -> PromiseStore:
    owner = getattr(call.worker, "registry", None) or call.worker
    return promises_of(owner)


def promise_key(promise_id: Mapping[str, Any]) -> tuple[str, int]:
    """``(worker name, oplog index)`` of a ``promise-id`` record (any version's shape)."""
    owner = promise_id.get("worker-id") or promise_id.get("agent-id")
    if not isinstance(owner, Mapping):
        raise HotUpdateError(f"not a promise id: {dict(promise_id)!r}")
    return ids.worker_name(owner), int(promise_id["oplog-idx"])


def complete_promise(registry: Any, promise: Mapping[str, Any] | tuple[str, int],
                     data: bytes) -> bool:
    """Complete a promise from outside the workers (as Golem's API does); returns False if it
    was completed already."""
    key = promise if isinstance(promise, tuple) else promise_key(promise)
    return promises_of(registry).complete(key, data)


@HOST.function("create-promise")
def create_promise(call: Call) -> Any:
    worker = call.worker

    def live() -> Any:
        index = len(worker.oplog)  # the index of the entry recording this call
        _promises(call).create((worker.name, index))
        owner = ids.worker_id(worker.component_name, worker.name)
        return build(call.result_type, {"worker-id": owner, "agent-id": owner,  # type: ignore[arg-type]
                                        "oplog-idx": index})

    return _recorded(call, live)


@HOST.function("await-promise")
def await_promise(call: Call, promise_id: Any) -> Any:
    return _recorded(call, lambda p: _promises(call).wait(promise_key(p), call), promise_id)


@HOST.function("poll-promise")
def poll_promise(call: Call, promise_id: Any) -> Any:
    return _recorded(call, lambda p: _promises(call).poll(promise_key(p)), promise_id)


@HOST.function("complete-promise")
def complete_promise_fn(call: Call, promise_id: Any, data: bytes) -> Any:
    return _recorded(call, lambda p, d: _promises(call).complete(promise_key(p), d),
                     promise_id, data)


@HOST.function("delete-promise")
def delete_promise(call: Call, promise_id: Any) -> Any:
    return _recorded(call, lambda p: _promises(call).delete(promise_key(p)), promise_id)


@HOST.function("get-promise")
def get_promise(call: Call, promise_id: Any) -> Any:
    key = promise_key(promise_id)
    if not call.context.replaying:  # a replay reads the promise from the oplog, never the store
        _promises(call)._get(key)  # an unknown promise fails here, as on Golem
    return call.new_resource("golem:api/host", "get-promise-result", _PromiseResult(key))


@dataclass
class _PromiseResult:
    """A ``get-promise-result`` handle: which promise, and whether the guest subscribed."""

    key: tuple[str, int]
    subscribed: bool = False


@HOST.function("[method]get-promise-result.subscribe")
def get_promise_result_subscribe(call: Call, handle: Any) -> Any:
    # The pollable is ready at once; the `get` that follows waits for the promise instead.
    result: _PromiseResult = call.resource(handle)
    result.subscribed = True
    return ready_pollable(call)


#: How a promise read through a ``get-promise-result`` handle is recorded.
_PROMISE_KEY = RecordType((("worker", STRING), ("oplog-idx", U64)))


@HOST.function("[method]get-promise-result.get")
def get_promise_result(call: Call, handle: Any) -> Any:
    result: _PromiseResult = call.resource(handle)
    key = result.key
    params = [("promise", _PROMISE_KEY)]
    arg = {"worker": key[0], "oplog-idx": key[1]}
    if isinstance(call.result_type, OptionType) and not result.subscribed:  # 1.3.0: poll
        return call.durable(params, call.result_type,
                            lambda p: _promises(call).poll((p["worker"], p["oplog-idx"])), arg)
    return call.durable(params, call.result_type,  # subscribed, or later versions: await
                        lambda p: _promises(call).wait((p["worker"], p["oplog-idx"]), call), arg)


# -- oplog index, atomic regions -------------------------------------------------------------

@HOST.function("get-oplog-index", "mark-begin-operation")
def get_oplog_index(call: Call) -> Any:
    return _recorded(call, lambda: len(call.worker.oplog))


@HOST.function("mark-end-operation")
def mark_end_operation(call: Call, begin: int) -> None:
    _recorded(call, lambda b: None, begin)


@HOST.function("oplog-commit")
def oplog_commit(call: Call, replicas: int) -> None:
    return None  # the oplog is in memory: committed as soon as it is written


# -- persistence level, idempotence mode, retry policy ---------------------------------------

@HOST.function("get-oplog-persistence-level")
def get_persistence_level(call: Call) -> Any:
    return enum_case(call.result_type, _state(call).persistence)


@HOST.function("set-oplog-persistence-level")
def set_persistence_level(call: Call, level: Any) -> None:
    call.durable(call.imported.params, None, lambda lv: None, level, always=True)
    name = level.case if isinstance(level, Variant) else str(level)
    _state(call).persistence = name
    set_incarnation_state(call.worker, PERSIST_NOTHING, name == "persist-nothing")


@HOST.function("get-idempotence-mode")
def get_idempotence_mode(call: Call) -> bool:
    return _state(call).idempotent


@HOST.function("set-idempotence-mode")
def set_idempotence_mode(call: Call, idempotent: bool) -> None:
    _recorded(call, lambda flag: None, idempotent)
    _state(call).idempotent = bool(idempotent)


@HOST.function("get-retry-policy")
def get_retry_policy(call: Call) -> Any:
    policy = _state(call).retry_policy
    return policy if policy is not None else build(call.result_type,  # type: ignore[arg-type]
                                                   DEFAULT_RETRY_POLICY)


@HOST.function("set-retry-policy")
def set_retry_policy(call: Call, policy: Any) -> None:
    _recorded(call, lambda p: None, policy)
    _state(call).retry_policy = policy


@HOST.function("generate-idempotency-key")
def generate_idempotency_key(call: Call) -> Any:
    # "This operation will never be replayed": recorded whatever the persistence level.
    return call.durable(call.imported.params, call.result_type,
                        lambda: ids.uuid_record(uuid.uuid4()), always=True)


# -- workers and components ------------------------------------------------------------------

def metadata_facts(worker: Any) -> dict[str, Any]:
    """Everything any version's ``worker-metadata`` / ``agent-metadata`` asks about a worker."""
    grants = worker.grants
    owner = ids.worker_id(worker.component_name, worker.name)
    config = [tuple(pair) for pair in getattr(grants, "config", ())]
    return {
        "worker-id": owner,
        "agent-id": owner,
        "args": list(grants.args),
        "env": [tuple(pair) for pair in grants.env],
        "config": config,
        "config-vars": config,
        "wasi-config-vars": config,
        "status": worker.status,
        "component-version": worker.component_revision,
        "component-revision": worker.component_revision,
        "retry-count": 0,
        "environment-id": ids.environment_id(),
    }


def _metadata(ty: Any, worker: Any) -> Any:
    return build(ty, metadata_facts(worker))


@HOST.function("get-self-metadata")
def get_self_metadata(call: Call) -> Any:
    return _recorded(call, lambda: _metadata(call.result_type, call.worker))


@HOST.function("get-worker-metadata", "get-agent-metadata")
def get_worker_metadata(call: Call, worker_id: Any) -> Any:
    def live(wid: Any) -> Any:
        found = ids.find_worker(_registry(call), wid)
        payload = call.result_type.payload  # type: ignore[union-attr]
        return None if found is None else _metadata(payload, found)

    return _recorded(call, live, worker_id)


@HOST.function("resolve-component-id")
def resolve_component_id(call: Call, reference: str) -> Any:
    def live(name: str) -> Any:
        return ids.component_id(name) if name in ids.component_names(_registry(call)) else None

    return _recorded(call, live, reference)


def _resolve(call: Call, strict: bool) -> Callable[..., Any]:
    def live(component: str, name: str) -> Any:
        registry = _registry(call)
        if component not in ids.component_names(registry):
            return None
        if strict and not any(w.name == name and w.component_name == component
                              for w in registry.workers):
            return None
        owner_type = call.result_type.payload  # type: ignore[union-attr]
        return build(owner_type, ids.worker_id(component, name))

    return live


@HOST.function("resolve-worker-id", "resolve-agent-id")
def resolve_worker_id(call: Call, component: str, name: str) -> Any:
    return _recorded(call, _resolve(call, False), component, name)


@HOST.function("resolve-worker-id-strict", "resolve-agent-id-strict")
def resolve_worker_id_strict(call: Call, component: str, name: str) -> Any:
    return _recorded(call, _resolve(call, True), component, name)


@HOST.function("worker-uri")
def worker_uri(call: Call, worker_id: Any) -> Any:
    component = ids.component_named_by(_registry(call), worker_id["component-id"]) or "unknown"
    return {"value": ids.uri(component, ids.worker_name(worker_id))}


@dataclass
class _Enumeration:
    component: str | None
    filter: Any
    done: bool = False


@HOST.function("[constructor]get-workers", "[constructor]get-agents")
def get_workers(call: Call, component_id: Any, filter_: Any, precise: bool) -> Any:
    component = ids.component_named_by(_registry(call), component_id)
    resource = "get-workers" if "get-workers" in call.imported.name else "get-agents"
    return call.new_resource("golem:api/host", resource, _Enumeration(component, filter_))


@HOST.function("[method]get-workers.get-next", "[method]get-agents.get-next")
def get_workers_next(call: Call, handle: Any) -> Any:
    enumeration: _Enumeration = call.resource(handle)
    item_type = call.result_type.payload.element  # type: ignore[union-attr]

    def live() -> Any:
        if enumeration.done:
            return None
        found = [w for w in _registry(call).workers
                 if w.component_name == enumeration.component and _matches(w, enumeration.filter)]
        return [_metadata(item_type, w) for w in found]

    value = _recorded(call, live)
    enumeration.done = True
    return value


_ORDER: dict[str, Callable[[Any, Any], bool]] = {"equal": lambda a, b: a == b, "not-equal": lambda a, b: a != b,
          "greater-equal": lambda a, b: a >= b, "greater": lambda a, b: a > b,
          "less-equal": lambda a, b: a <= b, "less": lambda a, b: a < b,
          "like": lambda a, b: b in a, "not-like": lambda a, b: b not in a,
          "starts-with": lambda a, b: a.startswith(b)}


def _matches(worker: Any, filter_: Any) -> bool:
    """Golem's worker filter: any of the groups, each all of its conditions."""
    if filter_ is None:
        return True
    return any(all(_condition(worker, c) for c in group["filters"]) for group in filter_["filters"])


def _condition(worker: Any, condition: Variant) -> bool:
    payload = condition.payload
    compare = _ORDER.get(payload.get("comparator", "equal"), _ORDER["equal"])
    case = condition.case
    if case == "name":
        return bool(compare(worker.name, payload["value"]))
    if case == "status":
        return bool(compare(worker.status, payload["value"])) if compare in (
            _ORDER["equal"], _ORDER["not-equal"]) else True
    if case == "version":
        return bool(compare(worker.component_revision, payload["value"]))
    if case in ("env", "config", "wasi-config-vars"):
        pairs = worker.grants.env if case == "env" else getattr(worker.grants, "config", ())
        value = dict(pairs).get(payload["name"])
        return value is not None and bool(compare(value, payload["value"]))
    return True  # created-at: every emulated worker was created during the test


# -- updates and reverts of other workers ----------------------------------------------------

@dataclass
class _Requests:
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2,
                                                   thread_name_prefix="golem-api-requests"))
    futures: list[Future[Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def requested_operations(registry: Any) -> list[Future[Any]]:
    """Futures of the updates and reverts workers of ``registry`` requested, oldest first
    (an update's future holds its ``UpdateOutcome``)."""
    requests = registry_state(registry, "golem:api/requests", _Requests)
    with requests.lock:
        return list(requests.futures)


def _submit(call: Call, operation: Callable[[], Any]) -> None:
    requests = registry_state(_registry(call), "golem:api/requests", _Requests)
    with requests.lock:
        requests.futures.append(requests.executor.submit(operation))


@HOST.function("update-worker", "update-agent")
def update_worker(call: Call, worker_id: Any, target: int, mode: Any) -> None:
    def live(wid: Any, revision: int, how: Any) -> None:
        worker = ids.find_worker(_registry(call), wid)
        if worker is None:
            raise HotUpdateError(f"{call.name}: no worker {ids.worker_name(wid)!r}")
        update_mode = "manual" if str(how) == "snapshot-based" else "automatic"
        _submit(call, lambda: _registry(call).update_worker(worker, int(revision), update_mode))

    _recorded(call, live, worker_id, target, mode)


@HOST.function("revert-worker", "revert-agent")
def revert_worker(call: Call, worker_id: Any, target: Variant) -> None:
    def live(wid: Any, how: Variant) -> None:
        registry = _registry(call)
        worker = ids.find_worker(registry, wid)
        if worker is None:
            raise HotUpdateError(f"{call.name}: no worker {ids.worker_name(wid)!r}")
        if worker is call.worker:
            raise HotUpdateError(f"{call.name}: a worker cannot revert itself while running")
        if how.case == "revert-to-oplog-index":
            _submit(call, lambda: registry.revert_worker(worker, to_index=int(how.payload) + 1))
        else:
            _submit(call, lambda: registry.revert_worker(worker,
                                                         last_invocations=int(how.payload)))

    _recorded(call, live, worker_id, target)


# -- the rest ----------------------------------------------------------------------------------

@HOST.function("trap")
def trap(call: Call, reason: str) -> None:
    raise HotUpdateError(f"{call.name}: {reason}")


@HOST.function("register-resource", "unregister-resource")
def register_resource(call: Call, *_args: Any) -> None:
    return None  # indexed resources are not invocable by parameters in the emulator
