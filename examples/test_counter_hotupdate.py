"""Hot-update tests for the `counter` component: pytest-hotupdate's complete example.

Put this file in a directory next to counter-v1.wasm ... counter-v4.wasm
(`python -m sample_components.build counter` builds them) and run `pytest`.
"""

from pathlib import Path

import pytest
from hypothesis import given, settings

from pytest_hotupdate.assertions import (
    assert_snapshot_roundtrip,
    assert_state_preserved,
    assert_update_fails,
    assert_update_succeeds,
)
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.strategies import invocations, run_history

HERE = Path(__file__).parent
REVISIONS = [HERE / f"counter-v{n}.wasm" for n in (1, 2, 3, 4)]  # revisions 0, 1, 2, 3
INCREMENT = "golem:counter/api.{increment}"
GET = "golem:counter/api.{get}"
SET = "golem:counter/api.{set}"


@pytest.fixture
def counter(hotupdate):
    """The per-test registry with the four revisions of `counter` deployed."""
    hotupdate.deploy("counter", *REVISIONS)
    return hotupdate


def test_v2_replays_the_history_of_v1(counter):
    worker = counter.worker("counter", revision=0)
    worker.invoke(INCREMENT, 5)
    worker.invoke(INCREMENT, 10)
    assert_state_preserved(worker, 1, "automatic", probes=[GET])
    assert worker.invoke(GET) == 15


def test_v1_cannot_be_updated_by_snapshot(counter):
    worker = counter.worker("counter", revision=0)
    assert_update_fails(worker, 1, "manual", match="failed to get a snapshot")


def test_v3_drops_increment_so_only_a_snapshot_update_works(counter):
    worker = counter.worker("counter", revision=1)
    worker.invoke(INCREMENT, 42)
    assert_update_fails(worker, 2, "automatic", match="no longer exists")
    assert_state_preserved(worker, 2, "manual", probes=[GET])
    assert worker.invoke(GET) == 42


def test_v4_refuses_snapshots_and_the_worker_keeps_its_state(counter):
    worker = counter.worker("counter", revision=2)
    worker.invoke(SET, 7)
    assert_update_fails(worker, 3, "manual", match="v4 cannot load snapshots")
    assert worker.component_revision == 2 and worker.invoke(GET) == 7
    assert_update_succeeds(worker, 3, "automatic")


def test_the_v3_snapshot_round_trips(counter):
    worker = counter.worker("counter", revision=2)
    worker.invoke(SET, 258)
    assert assert_snapshot_roundtrip(worker, probes=[GET]) == (258).to_bytes(8, "little")


@pytest.mark.hotupdate("counter", revisions=REVISIONS, paths="all", modes=["automatic"])
def test_a_reader_survives_every_automatic_update(hotupdate):
    # Runs once per path: counter-0-to-1-automatic, counter-0-to-2-automatic, ...
    path = hotupdate.path
    worker = hotupdate.worker("counter", revision=path.source)
    worker.invoke(GET)
    assert_state_preserved(worker, path.target, path.mode, probes=[GET])


@settings(max_examples=25, deadline=None)
@given(history=invocations(REVISIONS[0], functions=[INCREMENT, GET]))
def test_any_v1_history_survives_the_update_to_v2(hotupdate_runtime, history):
    registry = Registry(hotupdate_runtime)  # a fresh registry per example
    registry.add("counter", REVISIONS[0])
    registry.add("counter", REVISIONS[1])
    worker = registry.worker("counter", revision=0)
    run_history(worker, history)
    assert_state_preserved(worker, 1, "automatic", probes=[GET])


def test_a_recorded_history_gates_v2(counter, tmp_path):
    worker = counter.worker("counter", name="golden", revision=0)
    worker.invoke(INCREMENT, 3)
    worker.save_oplog(tmp_path / "golden.oplog.jsonl")
    counter.assert_histories_replay(tmp_path, REVISIONS[1])
