"""`golem:api/context`: spans and attributes, stable ids across recovery."""

from __future__ import annotations

import hashlib

import pytest

from pytest_hotupdate.host.golem.api_context import ContextState
from pytest_hotupdate.host.sdk import incarnation_state
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry


@pytest.fixture
def context(registry: Registry, sample) -> Registry:
    registry.add("context", sample("golem-context", "v1"))
    return registry


def test_span_attributes_are_read_back_through_the_context(context: Registry):
    worker = context.worker("context", name="w1")
    assert worker.invoke("traced", "user", "ann") == "ann"
    expected = hashlib.sha256(b"context/w1").hexdigest()[:32]
    assert worker.invoke("trace") == expected
    (started,) = [e for e in worker.oplog.entries if isinstance(e, HostCall)]
    assert started.function == "golem:api/context.{start-span}"
    state = incarnation_state(worker, "golem:api/context", lambda: None)
    assert isinstance(state, ContextState) and state.stack == []  # the span was finished


def test_recovery_keeps_the_trace_and_replays_span_ids(context: Registry):
    worker = context.worker("context", name="w1")
    trace = worker.invoke("trace")
    worker.invoke("traced", "k", "v")
    size = len(worker.oplog)
    worker.restart()
    assert len(worker.oplog) == size
    assert worker.invoke("trace") == trace
    assert worker.invoke("traced", "k", "w") == "w"
    assert context.worker("context", name="w2").invoke("trace") != trace
