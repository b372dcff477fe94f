"""``golem:durability/durability`` (1.2.x).

``golem:durability`` lets a library make its own host calls durable, as Golem's SDKs do for
third-party APIs: when live, it calls the API and persists the request and response; when
replaying, it reads the persisted response back instead of calling again. Emulated exactly so:

- ``persist-durable-function-invocation`` / ``persist-typed-...`` record a host-call entry
  named ``golem:durability/durability.{<function-name>}`` (the request as its parameter, the
  response, function type and time as its result);
- ``read-persisted-durable-function-invocation`` / ``read-persisted-typed-...`` answer the next
  such entry during a replay (anything else next in the oplog is a divergence);
- ``current-durable-execution-state`` says whether the worker runs live (false while its oplog
  is replayed; always true with the persistence level ``persist-nothing``) and its level;
- ``begin-durable-function`` returns (and records) the oplog index; ``end-durable-function``
  and ``observe-function-call`` need nothing in-process.

``lazy-initialized-pollable`` is not emulated. ``golem:api/oplog`` is in :mod:`.api_oplog`.
"""

from __future__ import annotations

import time
from typing import Any

from ...errors import HotUpdateError
from ...values import Prim, RecordType
from ..sdk import U64, Call, HostInterface, persisting_nothing
from ._shapes import build, enum_case, field_type

DURABILITY = HostInterface(
    "golem:durability/durability",
    resources=("lazy-initialized-pollable",),
    unsupported={"*": "lazy-initialized pollables (wasi:io) are not emulated"},
)

#: The prefix of the host-call entries that persisted durable function invocations are.
PERSISTED = "golem:durability/durability.{"


def _live(call: Call) -> bool:
    context = call.context
    if persisting_nothing(context) or not context.replaying:
        return True
    # An interrupted invocation whose recorded calls are used up continues live.
    return not getattr(context, "pending", None) and getattr(context, "on_exhausted", None) \
        is not None


def _recorded_as(response_type: Any, function_type: Any) -> RecordType:
    return RecordType((("seconds", U64), ("nanoseconds", Prim("u32")),
                       ("response", response_type), ("function-type", function_type)))


@DURABILITY.function("observe-function-call")
def observe_function_call(call: Call, iface: str, function: str) -> None:
    return None


@DURABILITY.function("begin-durable-function")
def begin_durable_function(call: Call, function_type: Any) -> Any:
    return call.durable(call.imported.params, call.result_type,
                        lambda _t: len(call.worker.oplog), function_type)


@DURABILITY.function("end-durable-function")
def end_durable_function(call: Call, *_args: Any) -> None:
    return None


@DURABILITY.function("current-durable-execution-state")
def current_durable_execution_state(call: Call) -> Any:
    from .api_host import host_state

    level_type = field_type(call.result_type, "persistence-level")
    level = enum_case(level_type, host_state(call.worker).persistence)
    return build(call.result_type, {"is-live": _live(call),  # type: ignore[arg-type]
                                    "persistence-level": level})


@DURABILITY.function("persist-durable-function-invocation",
                     "persist-typed-durable-function-invocation")
def persist(call: Call, name: str, request: Any, response: Any, function_type: Any) -> None:
    if not _live(call):
        return  # replaying: the guest should read; Golem ignores a persist then
    params = call.imported.params
    now = time.time_ns()
    value = {"seconds": now // 1_000_000_000, "nanoseconds": now % 1_000_000_000,
             "response": response, "function-type": function_type}
    call.durable([("request", params[1][1])], _recorded_as(params[2][1], params[3][1]),
                 lambda _r: value, request, name=f"{PERSISTED}{name}}}", always=True)
    return


@DURABILITY.function("read-persisted-durable-function-invocation",
                     "read-persisted-typed-durable-function-invocation")
def read_persisted(call: Call) -> Any:
    context = call.context
    pending = getattr(context, "pending", None)
    if _live(call) or not pending:
        raise HotUpdateError(f"{call.name}: there is no persisted invocation to read: the "
                             "worker runs live (check current-durable-execution-state first)")
    entry = pending[0]
    if not entry.function.startswith(PERSISTED):
        from ...errors import ReplayDivergence

        raise ReplayDivergence(
            f"expected host call {entry.function}, the code read a persisted durable function "
            "invocation", expected=entry.function, got=call.name)
    result_type = call.result_type
    recorded = context.durable_call(
        entry.function, (), _recorded_as(field_type(result_type, "response"),
                                         field_type(result_type, "function-type")),
        _never, ())
    return build(result_type, {  # type: ignore[arg-type]
        "timestamp": {"seconds": recorded["seconds"], "nanoseconds": recorded["nanoseconds"]},
        "function-name": entry.function[len(PERSISTED):-1],
        "response": recorded["response"],
        "function-type": recorded["function-type"],
        "entry-version": "v2",
    })


def _never() -> Any:  # pragma: no cover - only called live, which read_persisted rules out
    raise HotUpdateError("no persisted invocation")
