"""``golem:api/oplog`` (1.1.x): a worker's oplog read from the guest, as on Golem.

``get-oplog(worker-id, start)`` enumerates the entries of a worker of the registry from index
``start`` (the indices ``get-oplog-index`` returns), in batches; ``search-oplog(worker-id,
text)`` the entries whose text (function name, parameters, result, message, error) contains
``text``, with their indices. Every ``get-next`` is a durable host call: recorded with its
answer and answered from the oplog on replay, so a replay reads what the live call read.

The emulator's oplog has fewer kinds of entries than Golem's; they map to Golem's
``oplog-entry`` cases as ``exported-function-invoked`` / ``-completed`` (the parameters and
result as ``wit-value`` s of the function's own types; ``idempotency-key`` is
``<worker>-<index>``), ``imported-function-invoked`` (the request and response as ``wit-value``
strings holding their WAVE text, the host function's types not being kept;
``wrapped-function-type`` is ``read-local``), ``error``, ``log``, ``pending-update``,
``successful-update`` and ``failed-update``. Timestamps are those of the update entries and
zero for the others (the emulator records no times).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from ...errors import InvocationError
from ...oplog import (
    Completed,
    Failed,
    FailedUpdate,
    HostCall,
    Invocation,
    Log,
    PendingUpdate,
    SuccessfulUpdate,
)
from ...values import ListType, OptionType, TupleType, Variant, VariantType, WitType, wave_parse
from ..sdk import STRING, Call, HostInterface
from . import ids, witvalue
from ._shapes import build, enum_case

OPLOG = HostInterface("golem:api/oplog", resources=("get-oplog", "search-oplog"))

#: Entries per ``get-next`` batch.
BATCH_SIZE = 100

#: ``log-level`` cases by the emulator's log stream names (``wasi:logging`` levels and output).
_LOG_LEVELS = {"stdout": "stdout", "stderr": "stderr", "trace": "trace", "debug": "debug",
               "info": "info", "warn": "warn", "warning": "warn", "error": "error",
               "critical": "critical"}


@dataclass
class _Cursor:
    """A ``get-oplog`` / ``search-oplog`` enumeration: whose oplog, where it goes on."""

    worker: Any
    next: int
    text: str = ""


def _target(call: Call, worker_id: Any) -> Any:
    registry = getattr(call.worker, "registry", None)
    if registry is None:
        return call.worker if ids.worker_name(worker_id) == call.worker.name else None
    return ids.find_worker(registry, worker_id)


@OPLOG.function("[constructor]get-oplog")
def get_oplog(call: Call, worker_id: Any, start: int) -> Any:
    return call.new_resource("golem:api/oplog", "get-oplog",
                             _Cursor(_target(call, worker_id), int(start)))


@OPLOG.function("[constructor]search-oplog")
def search_oplog(call: Call, worker_id: Any, text: str) -> Any:
    return call.new_resource("golem:api/oplog", "search-oplog",
                             _Cursor(_target(call, worker_id), 0, text))


@OPLOG.function("[method]get-oplog.get-next")
def get_oplog_next(call: Call, handle: Any) -> Any:
    cursor: _Cursor = call.resource(handle)
    entry_type = _entry_type(call.result_type)

    def live() -> Any:
        entries = _entries(cursor, cursor.next)
        if not entries:
            return None
        return [oplog_entry(entry_type, cursor.worker, cursor.next + offset)
                for offset in range(len(entries))]

    batch = call.durable([], call.result_type, live)
    cursor.next += len(batch or ())  # also on replay, where the answer comes from the oplog
    return batch


@OPLOG.function("[method]search-oplog.get-next")
def search_oplog_next(call: Call, handle: Any) -> Any:
    cursor: _Cursor = call.resource(handle)
    pair_type = call.result_type.payload.element  # type: ignore[union-attr]
    entry_type = pair_type.elements[1]

    def live() -> Any:
        position = cursor.next
        while entries := _entries(cursor, position):
            found = [(position + offset, oplog_entry(entry_type, cursor.worker, position + offset))
                     for offset, entry in enumerate(entries) if cursor.text in _text_of(entry)]
            if found:
                return found
            position += len(entries)
        return None

    batch = call.durable([], call.result_type, live)
    if batch:  # also on replay, where the answer comes from the oplog
        cursor.next = batch[-1][0] + 1
    return batch


def _entries(cursor: _Cursor, start: int) -> list[Any]:
    """The next batch of the cursor's worker's entries from ``start``."""
    if cursor.worker is None:
        return []
    return list(cursor.worker.oplog.entries[start:start + BATCH_SIZE])


def _entry_type(result_type: WitType | None) -> WitType:
    assert isinstance(result_type, OptionType) and isinstance(result_type.payload, ListType)
    return result_type.payload.element


def _text_of(entry: Any) -> str:
    parts = [str(getattr(entry, name, "") or "")
             for name in ("function", "result", "error", "text", "details")]
    parts.extend(getattr(entry, "params", ()))
    return " ".join(parts)


# -- one entry as Golem's oplog-entry -----------------------------------------------------------

def oplog_entry(entry_type: WitType, worker: Any, index: int) -> Variant:
    """Entry ``index`` of ``worker``'s oplog as a value of ``entry_type`` (the component's own
    ``oplog-entry`` variant)."""
    assert isinstance(entry_type, VariantType)
    cases: dict[str, Any] = dict(entry_type.cases)
    entry = worker.oplog.entries[index]
    case: str
    facts: dict[str, Any]
    if isinstance(entry, Invocation):
        case, facts = "exported-function-invoked", {
            "function-name": entry.function,
            "request": _request(worker, entry),
            "idempotency-key": f"{worker.name}-{index}",
        }
    elif isinstance(entry, Completed):
        case, facts = "exported-function-completed", {
            "response": _response(worker, index, entry)}
    elif isinstance(entry, HostCall):
        case, facts = "imported-function-invoked", {
            "function-name": entry.function,
            "request": _text_value(list(entry.params)),
            "response": _text_value([] if entry.result is None else [entry.result]),
        }
    elif isinstance(entry, Failed):
        case, facts = "error", {"error": entry.error}
    elif isinstance(entry, Log):
        case, facts = "log", {"message": entry.text}
    elif isinstance(entry, PendingUpdate):
        snapshot = base64.b64decode(entry.snapshot) if entry.snapshot else b""
        case, facts = "pending-update", {
            "timestamp": _datetime(entry.at), "target-version": entry.target_revision,
            "update-description": Variant("auto-update") if entry.mode == "automatic"
            else Variant("snapshot-based", snapshot)}
    elif isinstance(entry, SuccessfulUpdate):
        case, facts = "successful-update", {"timestamp": _datetime(entry.at),
                                            "target-version": entry.target_revision}
    elif isinstance(entry, FailedUpdate):
        case, facts = "failed-update", {"timestamp": _datetime(entry.at),
                                        "target-version": entry.target_revision,
                                        "details": entry.details or None}
    else:  # pragma: no cover - every entry kind is mapped above
        raise TypeError(f"no oplog-entry case for {entry!r}")
    payload = build(cases[case], facts)
    if isinstance(entry, Log):
        level_type = dict(cases["log"].fields)["level"]
        payload["level"] = enum_case(level_type, _LOG_LEVELS.get(entry.stream, "info"))
    if isinstance(entry, HostCall):
        wrapped = dict(cases[case].fields)["wrapped-function-type"]
        payload["wrapped-function-type"] = enum_case(wrapped, "read-local")
    return Variant(case, payload)


def _datetime(at: float) -> dict[str, int]:
    seconds = int(at)
    return {"seconds": seconds, "nanoseconds": int((at - seconds) * 1_000_000_000)}


def _text_value(texts: list[str]) -> dict[str, Any]:
    """WAVE texts as one ``wit-value``: a string, or a tuple of strings."""
    if len(texts) == 1:
        return witvalue.encode(STRING, texts[0])
    return witvalue.encode(TupleType(tuple(STRING for _ in texts)), tuple(texts))


def _request(worker: Any, entry: Invocation) -> list[dict[str, Any]]:
    """The invocation's parameters as ``wit-value`` s of the function's types (WAVE strings if
    the function is not in the worker's current component)."""
    info = _function(worker, entry.function)
    if info is None or len(info.params) != len(entry.params):
        return [witvalue.encode(STRING, text) for text in entry.params]
    return [witvalue.encode(ty, wave_parse(ty, text))
            for (_name, ty), text in zip(info.params, entry.params)]


def _response(worker: Any, index: int, entry: Completed) -> dict[str, Any] | None:
    if entry.result is None:
        return None
    entries = worker.oplog.entries
    invocation = next((entries[i] for i in range(index - 1, -1, -1)
                       if isinstance(entries[i], Invocation)), None)  # usually the one before
    info = None if invocation is None else _function(worker, invocation.function)
    if info is None or info.result is None:
        return witvalue.encode(STRING, entry.result)
    return witvalue.encode(info.result, wave_parse(info.result, entry.result))


def _function(worker: Any, name: str) -> Any:
    try:
        return worker.component.find_function(name)
    except InvocationError:  # a function of another revision: shown as text
        return None

