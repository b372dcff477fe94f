"""`wasi:logging/logging` and `wasi:config/store`: live, after recovery, across an update."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.host import SandboxGrants
from pytest_hotupdate.host.golem.wasi_logging import LogRecord, logs
from pytest_hotupdate.oplog import HostCall, Log
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.update import replay_history


@pytest.fixture
def logconfig(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("logconfig", sample("golem-logconfig", "v1"))
    registry.add("logconfig", sample("golem-logconfig", "v2"))
    return registry


def test_log_messages_are_captured_per_worker_and_recorded_as_log_entries(logconfig: Registry):
    first = logconfig.worker("logconfig", revision=0)
    second = logconfig.worker("logconfig", revision=0)
    assert first.invoke("note", "hello") == 1
    assert first.invoke("note", "again") == 2
    assert second.invoke("note", "other") == 1
    assert logs(first) == [LogRecord("info", "logconfig", "hello"),
                           LogRecord("info", "logconfig", "again")]
    assert logs(second) == [LogRecord("info", "logconfig", "other")]
    entries = [e for e in first.oplog.entries if isinstance(e, Log)]
    assert entries == [Log("info", "[logconfig] hello"), Log("info", "[logconfig] again")]
    assert not any(isinstance(e, HostCall) for e in first.oplog.entries)


def test_recovery_does_not_log_again_and_keeps_the_state(logconfig: Registry):
    worker = logconfig.worker("logconfig", revision=0)
    worker.invoke("note", "one")
    worker.invoke("note", "two")
    size = len(worker.oplog)
    worker.restart()
    assert len(worker.oplog) == size
    assert [r.message for r in logs(worker)] == ["one", "two"]
    assert worker.invoke("note", "three") == 3


def test_an_update_that_logs_differently_is_no_divergence(logconfig: Registry):
    worker = logconfig.worker("logconfig", revision=0)
    worker.invoke("note", "one")
    outcome = worker.update(1, "automatic")
    assert outcome.succeeded, outcome.details
    assert [r.message for r in logs(worker)] == ["one"]  # the replay logged nothing
    assert worker.invoke("note", "two") == 2
    assert logs(worker)[-2:] == [LogRecord("debug", "logconfig", "noted"),
                                 LogRecord("info", "logconfig", "two")]


def test_config_values_are_given_when_the_worker_is_created(logconfig: Registry):
    worker = logconfig.worker("logconfig", config={"color": "blue", "size": "xl"})
    bare = logconfig.worker("logconfig")
    assert worker.invoke("setting", "color") == "blue"
    assert worker.invoke("setting", "weight") is None
    assert worker.invoke("setting-count") == 2
    assert bare.invoke("setting", "color") is None
    assert bare.invoke("setting-count") == 0
    calls = [e for e in worker.oplog.entries if isinstance(e, HostCall)]
    assert [(c.function, c.result) for c in calls] == [
        ("wasi:config/store.{get}", 'some("blue")'),
        ("wasi:config/store.{get}", "none"),
        ("wasi:config/store.{get-all}", '[("color", "blue"), ("size", "xl")]'),
    ]


def test_config_through_grants_and_bad_values(logconfig: Registry):
    grants = SandboxGrants.from_options(config={"mode": "test"})
    assert logconfig.worker("logconfig", grants=grants).invoke("setting", "mode") == "test"
    with pytest.raises(TypeError, match="config values must map str to str"):
        logconfig.worker("logconfig", config={"n": 1})  # type: ignore[dict-item]


def test_config_reads_replay_from_the_log(logconfig: Registry, runtime, sample, tmp_path: Path):
    worker = logconfig.worker("logconfig", revision=0, config={"color": "blue"})
    worker.invoke("setting", "color")
    worker.invoke("setting-count")
    worker.restart()
    assert worker.invoke("setting", "color") == "blue"
    # A saved oplog replays on another process' worker without the configuration.
    path = tmp_path / "worker.oplog.jsonl"
    worker.save_oplog(path)
    result = replay_history(sample("golem-logconfig", "v2"), path, runtime=runtime)
    assert result.ok, result.divergence
    assert result.invocations == 3
