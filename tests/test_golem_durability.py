"""`golem:durability`: a library's own durable calls, persisted live and read back on replay."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import HotUpdateError
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry


@pytest.fixture
def durable(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("durable", sample("golem-durable", "v1"))
    registry.add("durable", sample("golem-durable", "v2"))
    return registry


def _persisted(worker) -> list[HostCall]:
    return [e for e in worker.oplog.entries if isinstance(e, HostCall)
            and e.function == "golem:durability/durability.{remember}"]


def test_live_calls_are_persisted_with_their_request_and_response(durable: Registry):
    worker = durable.worker("durable", revision=0)
    assert worker.invoke("remember", 5) == 10
    assert worker.invoke("remember", 1) == 2
    (first, second) = _persisted(worker)
    assert first.params == ("[5, 0, 0, 0, 0, 0, 0, 0]",)
    assert "response: [10, 0, 0, 0, 0, 0, 0, 0], function-type: read-remote" in first.result
    assert "response: [2, 0, 0, 0, 0, 0, 0, 0]" in second.result


def test_replay_reads_the_persisted_responses(durable: Registry):
    worker = durable.worker("durable", revision=0)
    worker.invoke("remember", 5)
    worker.invoke("remember", 1)
    worker.restart()
    assert worker.invoke("total") == 12
    # The replay reads the oplog, it does not recompute: a changed response shows up.
    entries = worker.oplog.entries
    index = entries.index(_persisted(worker)[0])
    entries[index] = dataclasses.replace(
        entries[index], native=None,
        result=entries[index].result.replace("[10, 0, 0, 0, 0, 0, 0, 0]", "[7, 0, 0, 0, 0, 0, 0, 0]"))
    with pytest.raises(HotUpdateError, match="expected 10, got 7"):
        worker.restart()


def test_an_automatic_update_reads_old_answers_and_computes_new_ones(durable: Registry):
    worker = durable.worker("durable", revision=0)
    assert worker.invoke("remember", 5) == 10
    outcome = worker.update(1, "automatic")  # v2 would answer 15 live
    assert outcome.succeeded, outcome.details
    assert worker.invoke("total") == 10
    assert worker.invoke("remember", 1) == 3
    assert worker.invoke("total") == 13
    assert durable.worker("durable").invoke("remember", 5) == 15
