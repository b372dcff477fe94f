"""Nothing is lost by a failed update, whatever the failure.

For every kind of failure the update notes name, the worker's revision and probe values are
those it had before the attempt, and its saved oplog file holds the earlier file byte for byte,
followed only by the update's own records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.registry import Registry
from pytest_hotupdate.worker import Worker

COUNTER, FAULTY, DICE = "golem:counter/api", "golem:faulty/api", "golem:dice/api"


def _counter(registry: Registry, sample, revision: int) -> Worker:  # type: ignore[no-untyped-def]
    for name in ("v1", "v2", "v3", "v4"):
        registry.add("counter", sample("counter", name))
    worker = registry.worker("counter", revision=revision)
    if revision < 2:
        worker.invoke(f"{COUNTER}.{{increment}}", 5)
    else:
        worker.invoke(f"{COUNTER}.{{set}}", 5)
    return worker


def _faulty(registry: Registry, sample) -> Worker:  # type: ignore[no-untyped-def]
    registry.add("faulty", sample("faulty", "v1"))
    registry.add("faulty", sample("faulty", "v2"))
    worker = registry.worker("faulty", revision=0)
    worker.invoke(f"{FAULTY}.{{increment}}", 5)
    return worker


def _dice(registry: Registry, sample) -> Worker:  # type: ignore[no-untyped-def]
    registry.add("dice", sample("dice", "v1"))
    registry.add("dice", sample("dice", "v2"))
    worker = registry.worker("dice", revision=0,
                             host_functions={"golem:dice/oracle.{ask}": lambda q: 5})
    worker.invoke(f"{DICE}.{{consult}}", "q")
    worker.invoke(f"{DICE}.{{roll}}")
    return worker


# (failure kind, worker factory, target revision, mode, probe function)
FAILURES: list[tuple[str, Callable[..., Worker], int, str, str]] = [
    ("automatic: replayed result differs", _faulty, 1, "automatic", f"{FAULTY}.{{get}}"),
    ("automatic: host-call sequence differs", _dice, 1, "automatic", f"{DICE}.{{total}}"),
    ("automatic: function no longer exists",
     lambda r, s: _counter(r, s, 1), 2, "automatic", f"{COUNTER}.{{get}}"),
    ("automatic: revision does not exist",
     lambda r, s: _counter(r, s, 0), 9, "automatic", f"{COUNTER}.{{get}}"),
    ("manual: no save-snapshot", lambda r, s: _counter(r, s, 0), 2, "manual",
     f"{COUNTER}.{{get}}"),
    ("manual: load returns err", lambda r, s: _counter(r, s, 2), 3, "manual",
     f"{COUNTER}.{{get}}"),
    ("manual: no load-snapshot", lambda r, s: _counter(r, s, 1), 0, "manual",
     f"{COUNTER}.{{get}}"),
    ("manual: revision does not exist", lambda r, s: _counter(r, s, 1), 9, "manual",
     f"{COUNTER}.{{get}}"),
]


@pytest.mark.parametrize(("kind", "make", "target", "mode", "probe"), FAILURES,
                         ids=[f[0] for f in FAILURES])
def test_a_failed_update_loses_nothing(
    registry: Registry, sample, tmp_path: Path,  # type: ignore[no-untyped-def]
    kind: str, make: Callable[..., Worker], target: int, mode: str, probe: str
) -> None:
    worker = make(registry, sample)
    revision, value = worker.component_revision, worker.invoke(probe)
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    worker.save_oplog(before)

    outcome = worker.update(target, mode)

    assert not outcome.succeeded, kind
    assert (worker.component_revision, worker.invoke(probe)) == (revision, value)
    worker.save_oplog(after)
    old, new = before.read_bytes(), after.read_bytes()
    assert new.startswith(old)
    added = [json.loads(line)["kind"] for line in new[len(old):].decode().splitlines()]
    # The update's records, then the probe call made after it.
    assert added[-2:] == ["invocation", "completed"]
    assert set(added[:-2]) <= {"pending-update", "failed-update"} and "failed-update" in added
    worker.restart()
    assert worker.invoke(probe) == value
