"""``golem:api/context`` (1.1.x and later): invocation contexts and user spans.

Each worker has a root context whose trace id and span id derive from the worker's component and
name (stable across recoveries and updates). ``start-span`` opens a child of the innermost open
span; its id and start time are random and the wall clock, so the call is durable (recorded live,
answered from the oplog on replay). Attributes set on spans, the attribute queries of
``invocation-context``, ``parent`` and ``trace-context-headers`` (a W3C ``traceparent``) work on
that in-memory tree; ``allow-forwarding-trace-context-headers`` is kept per worker.

Differences from Golem: Golem opens a fresh context for every invocation (with its own trace id
and the invocation's attributes, and propagates it over RPC); here one root context lasts the
whole life of the worker's Store, is not propagated to RPC callees, and spans still open when an
invocation ends stay open until finished or dropped.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ...values import Prim, RecordType, Variant
from ..sdk import STRING, U64, Call, HostInterface, incarnation_state

CONTEXT = HostInterface("golem:api/context", resources=("span", "invocation-context"))

_STARTED = RecordType((("span-id", STRING), ("seconds", U64), ("nanoseconds", Prim("u32"))))


@dataclass
class _Span:
    span_id: str
    parent: _Span | None
    started: tuple[int, int]
    attributes: dict[str, Any] = field(default_factory=dict)
    open: bool = True
    state: Any = None

    def close(self) -> None:  # the guest dropped its handle: the span is finished
        _finish(self)


@dataclass
class _View:
    """What an ``invocation-context`` handle shows (dropping it finishes nothing)."""

    span: _Span


@dataclass
class ContextState:
    """The invocation context tree of one worker's Store."""

    trace_id: str
    root: _Span
    stack: list[_Span] = field(default_factory=list)
    forward_headers: bool = True

    @property
    def current(self) -> _Span:
        return self.stack[-1] if self.stack else self.root


def _state(call: Call) -> ContextState:
    worker = call.worker

    def fresh() -> ContextState:
        digest = hashlib.sha256(f"{worker.component_name}/{worker.name}".encode()).hexdigest()
        return ContextState(digest[:32], _Span(digest[32:48], None, (0, 0)))

    return incarnation_state(worker, "golem:api/context", fresh)


def _finish(span: _Span) -> None:
    span.open = False
    state = span.state
    if state is not None and span in state.stack:
        state.stack.remove(span)


@CONTEXT.function("start-span")
def start_span(call: Call, name: str) -> Any:
    state = _state(call)

    def live(_name: str) -> Any:
        now = time.time_ns()
        return {"span-id": secrets.token_hex(8), "seconds": now // 1_000_000_000,
                "nanoseconds": now % 1_000_000_000}

    started = call.durable([("name", STRING)], _STARTED, live, name)
    span = _Span(started["span-id"], state.current, (started["seconds"], started["nanoseconds"]),
                 {"name": Variant("string", name)}, state=state)
    state.stack.append(span)
    return call.new_resource("golem:api/context", "span", span)


@CONTEXT.function("current-context")
def current_context(call: Call) -> Any:
    return call.new_resource("golem:api/context", "invocation-context",
                             _View(_state(call).current))


@CONTEXT.function("allow-forwarding-trace-context-headers")
def allow_forwarding(call: Call, allow: bool) -> bool:
    state = _state(call)
    previous, state.forward_headers = state.forward_headers, bool(allow)
    return previous


@CONTEXT.function("[method]span.started-at")
def started_at(call: Call, handle: Any) -> Any:
    seconds, nanoseconds = call.resource(handle).started
    return {"seconds": seconds, "nanoseconds": nanoseconds}


@CONTEXT.function("[method]span.set-attribute")
def set_attribute(call: Call, handle: Any, name: str, value: Any) -> None:
    call.resource(handle).attributes[name] = value


@CONTEXT.function("[method]span.set-attributes")
def set_attributes(call: Call, handle: Any, attributes: list[Any]) -> None:
    span = call.resource(handle)
    for attribute in attributes:
        span.attributes[attribute["key"]] = attribute["value"]


@CONTEXT.function("[method]span.finish")
def finish(call: Call, handle: Any) -> None:
    _finish(call.resource(handle))


def _viewed(call: Call, handle: Any) -> _Span:
    return call.resource(handle).span  # type: ignore[no-any-return]


def _chain(span: _Span | None) -> list[_Span]:
    found = []
    while span is not None:
        found.append(span)
        span = span.parent
    return found


@CONTEXT.function("[method]invocation-context.trace-id")
def trace_id(call: Call, handle: Any) -> str:
    _viewed(call, handle)
    return _state(call).trace_id


@CONTEXT.function("[method]invocation-context.span-id")
def span_id(call: Call, handle: Any) -> str:
    return _viewed(call, handle).span_id


@CONTEXT.function("[method]invocation-context.parent")
def parent(call: Call, handle: Any) -> Any:
    span = _viewed(call, handle).parent
    return None if span is None else call.new_resource("golem:api/context",
                                                       "invocation-context", _View(span))


@CONTEXT.function("[method]invocation-context.get-attribute")
def get_attribute(call: Call, handle: Any, key: str, inherited: bool) -> Any:
    viewed = _viewed(call, handle)
    spans = _chain(viewed) if inherited else [viewed]
    for span in spans:
        if key in span.attributes:
            return span.attributes[key]
    return None


@CONTEXT.function("[method]invocation-context.get-attributes")
def get_attributes(call: Call, handle: Any, inherited: bool) -> list[Any]:
    merged: dict[str, Any] = {}
    viewed = _viewed(call, handle)
    spans = _chain(viewed) if inherited else [viewed]
    for span in spans:
        for key, value in span.attributes.items():
            merged.setdefault(key, value)
    return [{"key": k, "value": v} for k, v in sorted(merged.items())]


@CONTEXT.function("[method]invocation-context.get-attribute-chain")
def get_attribute_chain(call: Call, handle: Any, key: str) -> list[Any]:
    return [s.attributes[key] for s in _chain(_viewed(call, handle)) if key in s.attributes]


@CONTEXT.function("[method]invocation-context.get-attribute-chains")
def get_attribute_chains(call: Call, handle: Any) -> list[Any]:
    spans = _chain(_viewed(call, handle))
    keys = sorted({k for s in spans for k in s.attributes})
    return [{"key": k, "values": [s.attributes[k] for s in spans if k in s.attributes]}
            for k in keys]


@CONTEXT.function("[method]invocation-context.trace-context-headers")
def trace_context_headers(call: Call, handle: Any) -> list[tuple[str, str]]:
    span = _viewed(call, handle)
    return [("traceparent", f"00-{_state(call).trace_id}-{span.span_id}-01")]

