"""`golem:api/host` (1.1.7 from Python, 1.3.0 and 1.5.0 from WAT): metadata, oplog index, settings,
promises and update requests, live and after recovery."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.host.golem import ids
from pytest_hotupdate.host.golem._shapes import build
from pytest_hotupdate.host.golem.api_host import (
    complete_promise,
    host_state,
    metadata_facts,
    promises_of,
    requested_operations,
)
from pytest_hotupdate.host.golem.wasi_keyvalue import store_of
from pytest_hotupdate.host.sdk import U64
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import RecordType
from pytest_hotupdate.worker import WorkerLimits


@pytest.fixture
def app(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("app", sample("golem-app", "v1"))
    registry.add("app", sample("golem-app", "v2"))
    return registry


def _host_calls(worker, name: str) -> list[HostCall]:
    return [e for e in worker.oplog.entries
            if isinstance(e, HostCall) and e.function == f"golem:api/host.{{{name}}}"]


@pytest.mark.slow
def test_metadata_comes_from_the_registry(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    app.worker("app", name="bob", revision=1)
    assert alice.invoke("whoami") == ("alice", 0, "running")
    assert alice.invoke("peer", "bob") == ("idle", 1)
    assert alice.invoke("peer", "nobody") is None
    assert alice.invoke("list-workers") == ["alice", "bob"]
    assert alice.invoke("resolve", "app", "bob") is True
    assert alice.invoke("resolve", "app", "carol") is False
    assert alice.invoke("resolve", "shop", "bob") is False
    recorded = _host_calls(alice, "get-self-metadata")[0]
    assert 'worker-name: "alice"' in recorded.result and "component-version: 0" in recorded.result
    uuid = ids.component_uuid("app")
    assert f"high-bits: {uuid.int >> 64}" in recorded.result


@pytest.mark.slow
def test_oplog_index_and_atomic_regions_are_recorded(app: Registry):
    worker = app.worker("app", revision=0)
    index = worker.invoke("oplog-index")
    entry = worker.oplog.entries[index]
    assert isinstance(entry, HostCall) and entry.function == "golem:api/host.{get-oplog-index}"
    begin = worker.invoke("put-atomically", "b", "k", "v")
    functions = [e.function for e in worker.oplog.entries[begin:] if isinstance(e, HostCall)]
    assert functions[0] == "golem:api/host.{mark-begin-operation}"
    assert functions[-1] == "golem:api/host.{mark-end-operation}"
    assert "wasi:keyvalue/eventual.{set}" in functions
    worker.restart()
    assert worker.invoke("oplog-index") == len(worker.oplog) - 2


@pytest.mark.slow
def test_settings_are_recorded_and_rebuilt_by_replay(app: Registry):
    worker = app.worker("app", revision=0)
    assert worker.invoke("settings") == ("smart", True, 3)
    worker.invoke("configure", False, False, 7)
    assert worker.invoke("settings") == ("smart", False, 7)
    assert [c.params for c in _host_calls(worker, "set-idempotence-mode")] == [("false",)]
    worker.restart()
    assert worker.invoke("settings") == ("smart", False, 7)
    state = host_state(worker)
    assert (state.persistence, state.idempotent, state.retry_policy["max-attempts"]) == (
        "smart", False, 7)


@pytest.mark.slow
def test_persist_nothing_runs_host_calls_live_and_unrecorded(app: Registry):
    worker = app.worker("app", revision=0)
    worker.invoke("configure", True, True, 3)
    worker.invoke("put", "b", "k", "v")
    key = worker.invoke("idempotency-key")  # never replayed, whatever the persistence level
    calls = [e.function for e in worker.oplog.entries if isinstance(e, HostCall)]
    assert "wasi:keyvalue/eventual.{set}" not in calls
    assert "golem:api/host.{generate-idempotency-key}" in calls
    operations = store_of(app).operations
    worker.restart()  # the replay performs the unrecorded store write again, as on Golem
    assert store_of(app).operations == operations + 1
    assert worker.invoke("settings")[0] == "persist-nothing"
    assert worker.invoke("idempotency-key") != key
    worker.invoke("configure", False, True, 3)
    worker.invoke("put", "b", "k", "w")
    assert [e for e in worker.oplog.entries if isinstance(e, HostCall)
            and e.function == "wasi:keyvalue/eventual.{set}"]


@pytest.mark.slow
def test_a_worker_awaits_a_promise_another_worker_completes(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    bob = app.worker("app", name="bob", revision=0)
    owner, index = alice.invoke("new-promise")
    assert (owner, index) == ("alice", index)
    assert bob.invoke("poll-promise", owner, index) is None
    waiting = alice.invoke_async("await-promise", owner, index)
    time.sleep(0.1)
    assert not waiting.done()
    assert bob.invoke("complete-promise", owner, index, "paid") is True
    assert waiting.result(timeout=10) == "paid"
    assert bob.invoke("complete-promise", owner, index, "again") is False
    assert bob.invoke("poll-promise", owner, index) == "paid"
    alice.close()
    # Recovery answers the await from the oplog: nothing waits, nothing is completed again.
    promises_of(app).promises.clear()
    started = time.monotonic()
    alice.restart()
    assert time.monotonic() - started < 5
    assert [c.result for c in _host_calls(alice, "await-promise")] == ["[112, 97, 105, 100]"]


@pytest.mark.slow
def test_a_promise_completed_from_outside_and_a_deadline(app: Registry):
    worker = app.worker("app", revision=0, limits=WorkerLimits(deadline_seconds=0.3))
    owner, index = worker.invoke("new-promise")
    with pytest.raises(InvocationError, match="deadline passed while it was waiting"):
        worker.invoke("await-promise", owner, index)
    assert complete_promise(app, (owner, index), b"done") is True
    assert worker.invoke("await-promise", owner, index) == "done"
    with pytest.raises(InvocationError, match="promise alice/7 does not exist"):
        worker.invoke("poll-promise", "alice", 7)


@pytest.mark.slow
def test_update_worker_asks_the_registry_to_update_another_worker(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    bob = app.worker("app", name="bob", revision=0)
    alice.invoke("put", "b", "k", "v")
    bob.invoke("request-update", "alice", 1)
    (request,) = requested_operations(app)
    outcome = request.result(timeout=30)
    assert outcome.succeeded, outcome.details
    assert alice.component_revision == 1
    assert alice.invoke("whoami") == ("alice", 1, "running")
    bob.restart()  # the request is in bob's oplog: a replay does not ask again
    assert len(requested_operations(app)) == 1
    with pytest.raises(InvocationError, match="no worker 'carol'"):
        bob.invoke("request-update", "carol", 1)


def test_version_1_3_agent_ids_and_the_promise_resource(registry: Registry, sample):
    registry.add("host13", sample("golem-host13", "v1"))
    worker = registry.worker("host13", name="h")
    assert worker.invoke("index") == 1
    assert worker.invoke("roundtrip", "hello") == "hello"
    created = _host_calls(worker, "create-promise")[0]
    assert 'agent-id: "h"' in created.result
    worker.restart()
    assert worker.invoke("roundtrip", "again") == "again"


def test_an_unsupported_function_fails_naming_it(registry: Registry, sample):
    registry.add("host13", sample("golem-host13", "v1"))
    worker = registry.worker("host13")
    with pytest.raises(InvocationError) as caught:
        worker.invoke("travel")
    assert "golem:api/host.{set-oplog-index} is not supported" in str(caught.value)
    assert worker.invoke("index") > 0  # the worker recovered


# -- 1.5.0: ids from golem:core/types@1.5.0, agent-metadata, update-agent ----------------------

@pytest.fixture
def host15(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("h15", sample("golem-host15", "v1"))
    registry.add("h15", sample("golem-host15", "v1"))  # revision 1: the same code
    return registry


def _agent_id(component: str, name: str) -> dict:
    return {"component-id": ids.component_id(component), "agent-id": name}


def test_version_1_5_agent_metadata_and_ids(host15: Registry):
    alice = host15.worker("h15", name="alice", revision=0)
    host15.worker("h15", name="bob", revision=1)
    me = alice.invoke("whoami")
    assert me == {"agent-id": _agent_id("h15", "alice"), "args": [], "env": [], "config-vars": [],
                  "status": "running", "component-revision": 0, "retry-count": 0}
    bob = alice.invoke("peer", _agent_id("h15", "bob"))
    assert (bob["agent-id"]["agent-id"], bob["status"], bob["component-revision"]) == (
        "bob", "idle", 1)
    assert alice.invoke("peer", _agent_id("h15", "carol")) is None
    assert alice.invoke("resolve", "h15", "bob") == _agent_id("h15", "bob")
    assert alice.invoke("resolve", "h15", "carol") is None
    assert alice.invoke("resolve", "shop", "bob") is None
    recorded = _host_calls(alice, "get-agent-metadata")[0]
    assert 'agent-id: "bob"' in recorded.params[0] and "component-revision: 1" in recorded.result
    alice.restart()  # the answers come back from the oplog
    assert alice.invoke("whoami") == me


def test_version_1_5_settings_and_atomic_regions_survive_replay(host15: Registry):
    worker = host15.worker("h15", revision=0)
    policy = worker.invoke("retry")
    assert policy == {"max-attempts": 3, "min-delay": 100_000_000, "max-delay": 1_000_000_000,
                      "multiplier": 3.0, "max-jitter-factor": 0.15}
    worker.invoke("set-retry", {**policy, "max-attempts": 7, "max-jitter-factor": None})
    worker.invoke_wave("set-persistence", "persist-remote-side-effects")
    worker.invoke("set-idempotent", False)
    begin = worker.invoke("atomically")
    functions = [e.function for e in worker.oplog.entries[begin:] if isinstance(e, HostCall)]
    assert functions == ["golem:api/host.{mark-begin-operation}",
                         "golem:api/host.{mark-end-operation}"]
    key = worker.invoke("idempotency-key")
    worker.restart()
    assert worker.invoke("retry")["max-attempts"] == 7
    assert worker.invoke("retry")["max-jitter-factor"] is None
    assert worker.invoke_wave("persistence") == "persist-remote-side-effects"
    assert worker.invoke("idempotent") is False
    assert [c.result for c in _host_calls(worker, "generate-idempotency-key")] == [
        f"{{high-bits: {key['high-bits']}, low-bits: {key['low-bits']}}}"]
    assert worker.invoke("index") == len(worker.oplog) - 2


def test_version_1_5_a_promise_another_agent_completes(host15: Registry):
    alice = host15.worker("h15", name="alice", revision=0)
    bob = host15.worker("h15", name="bob", revision=0)
    promise = alice.invoke("new-promise")
    assert promise["agent-id"] == _agent_id("h15", "alice")
    assert alice.invoke("poll-promise", promise) is None
    assert bob.invoke("complete-promise", promise, b"paid") is True
    assert bob.invoke("complete-promise", promise, b"again") is False
    assert alice.invoke("poll-promise", promise) == b"paid"
    # Recovery answers both polls from the oplog: the store is not asked again.
    promises_of(host15).promises.clear()
    alice.restart()
    assert [c.result for c in _host_calls(alice, "get-promise-result.get")] == [
        "none", "some([112, 97, 105, 100])"]


def test_version_1_5_an_agent_awaits_a_promise_through_a_wasi_io_pollable(host15: Registry):
    alice = host15.worker("h15", name="alice", revision=0)
    bob = host15.worker("h15", name="bob", revision=0)
    promise = alice.invoke("new-promise")
    # subscribe -> pollable.block -> get: the pollable is WASI's own (made in alice's Store),
    # and the get after it waits until bob completes the promise.
    waiting = alice.invoke_async("await-promise", promise)
    time.sleep(0.1)
    assert not waiting.done()
    assert bob.invoke("complete-promise", promise, b"paid") is True
    assert waiting.result(timeout=10) == b"paid"
    assert [c.result for c in _host_calls(alice, "get-promise-result.get")] == [
        "some([112, 97, 105, 100])"]
    # Recovery replays the wait from the oplog: nothing waits, the store is not asked.
    promises_of(host15).promises.clear()
    started = time.monotonic()
    alice.restart()
    assert time.monotonic() - started < 5
    assert alice.invoke("index") > 0


def test_version_1_5_an_awaited_promise_respects_the_deadline(registry: Registry,
                                                               sample: Callable[[str, str], Path]):
    registry.add("h15", sample("golem-host15", "v1"))
    worker = registry.worker("h15", limits=WorkerLimits(deadline_seconds=0.3))
    promise = worker.invoke("new-promise")
    with pytest.raises(InvocationError, match="deadline passed while it was waiting for promise"):
        worker.invoke("await-promise", promise)
    assert complete_promise(registry, promise, b"late") is True
    assert worker.invoke("await-promise", promise) == b"late"


def test_version_1_5_update_agent_and_an_automatic_update_replaying_host_results(
        host15: Registry):
    alice = host15.worker("h15", name="alice", revision=0)
    bob = host15.worker("h15", name="bob", revision=0)
    alice.invoke("set-idempotent", False)
    key = alice.invoke("idempotency-key")
    bob.invoke_wave("request-update", '{component-id: {uuid: {high-bits: '
                    f'{ids.component_uuid("h15").int >> 64}, low-bits: '
                    f'{ids.component_uuid("h15").int & (2**64 - 1)}}}}}, agent-id: "alice"}}',
                    "1", "automatic")
    (request,) = requested_operations(host15)
    outcome = request.result(timeout=30)
    assert outcome.succeeded, outcome.details
    assert alice.component_revision == 1
    assert alice.invoke("whoami")["component-revision"] == 1
    assert alice.invoke("idempotent") is False
    # The replay on revision 1 answered generate-idempotency-key from the log.
    assert len(_host_calls(alice, "generate-idempotency-key")) == 1
    assert alice.invoke("idempotency-key") != key
    with pytest.raises(InvocationError, match="no worker 'carol'"):
        bob.invoke("request-update", _agent_id("h15", "carol"), 1, "snapshot-based")


def test_version_1_5_fork_fails_naming_the_function(host15: Registry):
    worker = host15.worker("h15")
    with pytest.raises(InvocationError) as caught:
        worker.invoke("fork")
    assert "golem:api/host.{fork} is not supported" in str(caught.value)
    assert worker.invoke("index") > 0  # the worker recovered


def test_the_newest_1_5_metadata_shape_gets_an_environment_id(host15: Registry):
    # Golem's newest 1.5.0 text adds `environment-id: environment-id` to `agent-metadata`.
    uuid = RecordType((("high-bits", U64), ("low-bits", U64)))
    shape = RecordType((("component-revision", U64),
                        ("environment-id", RecordType((("uuid", uuid),)))))
    worker = host15.worker("h15", revision=1)
    built = build(shape, metadata_facts(worker))
    assert built["component-revision"] == 1
    assert ids.uuid_of(built["environment-id"]["uuid"]) == ids.uuid_of(
        ids.environment_id()["uuid"])
    assert built["environment-id"]["uuid"] != {"high-bits": 0, "low-bits": 0}
