"""Hot updates with Golem's semantics, on the real sample components."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pytest_hotupdate.errors import InvocationError, UpdateError
from pytest_hotupdate.oplog import FailedUpdate, PendingUpdate, SuccessfulUpdate
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.update import UpdateFailed, revert, swap
from pytest_hotupdate.worker import Worker

C = "golem:counter/api"
INC, GET, SET, RESET = f"{C}.{{increment}}", f"{C}.{{get}}", f"{C}.{{set}}", f"{C}.{{reset}}"


@pytest.fixture
def counter(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    for revision in ("v1", "v2", "v3", "v4"):
        registry.add("counter", sample("counter", revision))  # revisions 0..3
    return registry


def _oplog_state(worker: Worker) -> tuple[int, str]:
    return worker.component_revision, worker.oplog.to_jsonl()


class SlowOracle:
    """A `golem:dice/oracle.{ask}` that blocks until released, so that an update can be
    requested while an invocation is running."""

    def __init__(self, answer: int) -> None:
        self.answer = answer
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, question: str) -> int:
        self.started.set()
        self.release.wait(10)
        return self.answer

    def update_while_blocked(self, worker: Worker, target: int):  # type: ignore[no-untyped-def]
        """Request an update from another thread while the oracle blocks; return its outcome."""
        assert self.started.wait(10)
        results: list = []
        updater = threading.Thread(target=lambda: results.append(worker.update(target)))
        updater.start()
        time.sleep(0.05)
        self.release.set()  # the host call returns; the interrupt takes effect there
        updater.join(10)
        (outcome,) = results
        return outcome


def _dice_with_slow_oracle(registry: Registry, sample, answer: int):  # type: ignore[no-untyped-def]
    registry.add("dice", sample("dice", "v1"))
    registry.add("dice", sample("dice", "v2"))
    oracle = SlowOracle(answer)
    worker = registry.worker("dice", revision=0, host_functions={"golem:dice/oracle.{ask}": oracle})
    return worker, oracle


# 1
def test_automatic_update_of_a_fresh_worker_succeeds(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    outcome = worker.update(1, "automatic")
    assert outcome.succeeded and outcome.target_revision == 1 and outcome.from_revision == 0
    assert outcome.details == ""
    assert worker.component_revision == 1 and worker.metadata.component_revision == 1
    assert worker.update_counts() == (0, 1, 0)
    assert worker.invoke(INC, 3) == 3
    worker.invoke(RESET)  # v1 had no reset: the worker runs v2 now
    assert [type(e) for e in worker.oplog][:2] == [PendingUpdate, SuccessfulUpdate]


# 2
def test_automatic_update_after_matching_history_keeps_the_state(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    for by in (1, 2, 3, 4):
        worker.invoke(INC, by)
    outcome = worker.update(1, mode="auto")
    assert outcome.succeeded, outcome.details
    assert worker.invoke(GET) == 10
    assert worker.invoke(INC, 5) == 15
    records = worker.metadata.updates
    assert [(r.kind, r.target_revision, r.mode) for r in records] == [
        ("pending", 1, "automatic"), ("successful", 1, "automatic")]
    assert records[0].timestamp <= records[1].timestamp <= time.time()
    # A later restart replays the whole history on the new revision.
    worker.restart()
    assert (worker.component_revision, worker.invoke(GET)) == (1, 15)


# 3
def test_automatic_update_fails_when_a_replayed_result_differs(
    registry: Registry, sample  # type: ignore[no-untyped-def]
) -> None:
    registry.add("faulty", sample("faulty", "v1"))
    registry.add("faulty", sample("faulty", "v2"))
    worker = registry.worker("faulty", revision=0)
    worker.invoke("golem:faulty/api.{increment}", 5)
    worker.invoke("golem:faulty/api.{increment}", 7)
    outcome = worker.update(1)
    assert not outcome.succeeded
    assert outcome.details == (
        "Automatic update failed: invocation #0 golem:faulty/api.{increment}(5): the replayed "
        "result differs from the recorded one (expected 5, got 10)")
    assert worker.update_counts() == (0, 0, 1)
    assert worker.component_revision == 0
    assert worker.invoke("golem:faulty/api.{get}") == 12
    assert worker.invoke("golem:faulty/api.{increment}", 1) == 13  # still v1's behaviour
    with pytest.raises(UpdateFailed, match="replayed result differs") as info:
        worker.update(1, raise_on_failure=True)
    assert info.value.outcome.target_revision == 1


# 4
def test_automatic_update_fails_when_host_calls_differ(
    registry: Registry, sample  # type: ignore[no-untyped-def]
) -> None:
    registry.add("dice", sample("dice", "v1"))
    registry.add("dice", sample("dice", "v2"))
    oracle = {"golem:dice/oracle.{ask}": lambda question: 10}
    worker = registry.worker("dice", revision=0, host_functions=oracle)
    worker.invoke("golem:dice/api.{consult}", "a")
    roll = worker.invoke("golem:dice/api.{roll}")
    outcome = worker.update(1)
    assert not outcome.succeeded
    assert outcome.details == (
        "Automatic update failed: invocation #1 golem:dice/api.{roll}(): expected host call "
        "wasi:random/random.{get-random-u64}, the code made wasi:clocks/wall-clock.{now}")
    assert worker.component_revision == 0 and worker.update_counts() == (0, 0, 1)
    assert worker.invoke("golem:dice/api.{total}") == 10 + roll

    # A history without `roll` replays fine on v2.
    other = registry.worker("dice", revision=0, host_functions=oracle)
    other.invoke("golem:dice/api.{consult}", "b")
    other.invoke("golem:dice/api.{now-seconds}")
    assert other.update(1).succeeded
    assert other.invoke("golem:dice/api.{total}") == 10


# 5
def test_automatic_update_during_a_running_invocation(
    registry: Registry, sample, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    worker, oracle = _dice_with_slow_oracle(registry, sample, answer=4)
    worker.invoke("golem:dice/api.{now-seconds}")
    future = worker.invoke_async("golem:dice/api.{consult}", "slow")
    assert oracle.started.wait(10)
    assert worker.metadata.status == "running"
    outcome = oracle.update_while_blocked(worker, 1)
    assert future.result(10) == 4
    assert outcome.succeeded, outcome.details
    assert worker.component_revision == 1
    # The oracle was called once: the partial invocation's host call was replayed from the log.
    assert sum(1 for e in worker.oplog if getattr(e, "function", "") ==
               "golem:dice/oracle.{ask}") == 1
    assert worker.invoke("golem:dice/api.{total}") == 4
    _saved_oplog_reads_back(worker, tmp_path)
    worker.close()


def _saved_oplog_reads_back(worker: Worker, tmp_path: Path) -> None:
    """The update entries inside the interrupted invocation are valid oplog structure."""
    from pytest_hotupdate.oplog import read_oplog

    worker.save_oplog(tmp_path / "w.oplog.jsonl")
    _, entries = read_oplog(tmp_path / "w.oplog.jsonl")
    assert list(entries) == worker.oplog.entries


def test_interrupted_invocation_continues_on_the_new_code(
    registry: Registry, sample  # type: ignore[no-untyped-def]
) -> None:
    """The caller of an interrupted invocation gets the new code's result."""
    registry.add("faulty", sample("faulty", "v1"))
    registry.add("faulty", sample("faulty", "v2"))
    worker = registry.worker("faulty", revision=0, limits=_short_deadline())
    future = worker.invoke_async("golem:faulty/api.{spin}")
    _wait_running(worker)
    outcome = worker.update(1)
    # `spin` never returns on either revision: the update succeeds (no divergence so far),
    # and the interrupted call goes on spinning on v2 until its deadline.
    assert outcome.succeeded
    with pytest.raises(InvocationError, match="deadline"):
        future.result(60)
    assert worker.component_revision == 1
    worker.close()


def test_interrupted_invocation_diverging_continues_on_the_old_code(
    registry: Registry, sample, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    worker, oracle = _dice_with_slow_oracle(registry, sample, answer=2)
    roll = worker.invoke("golem:dice/api.{roll}")  # v2 diverges on this one
    future = worker.invoke_async("golem:dice/api.{consult}", "q")
    outcome = oracle.update_while_blocked(worker, 1)
    assert future.result(10) == 2  # finished on the old code
    assert not outcome.succeeded and "expected host call" in outcome.details
    assert worker.component_revision == 0 and worker.update_counts() == (0, 0, 1)
    assert worker.invoke("golem:dice/api.{total}") == roll + 2
    _saved_oplog_reads_back(worker, tmp_path)
    worker.close()


def _wait_running(worker: Worker) -> None:
    for _ in range(1000):
        if worker.metadata.status == "running":
            return
        time.sleep(0.005)
    raise AssertionError("the invocation never started")


# 6
def test_manual_update_moves_the_state_through_a_snapshot(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    worker.invoke(INC, 40)
    worker.invoke(INC, 2)
    outcome = worker.update(2, "manual")
    assert outcome.succeeded, outcome.details
    assert worker.component_revision == 2 and worker.update_counts() == (0, 1, 0)
    assert worker.invoke(GET) == 42
    worker.invoke(SET, 7)
    pending = [e for e in worker.oplog if isinstance(e, PendingUpdate)]
    assert pending[0].snapshot == "KgAAAAAAAAA=" and pending[0].mode == "manual"  # 42, 8 bytes LE


# 7
def test_manual_update_fails_without_save_snapshot(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 9)
    before = worker.oplog.to_jsonl()
    outcome = worker.update(2, mode="snapshot")
    assert not outcome.succeeded
    assert outcome.details == ("failed to get a snapshot for manual update: revision 0 does not "
                               "export golem:api/save-snapshot")
    assert worker.update_counts() == (0, 0, 1)
    assert worker.component_revision == 0
    assert worker.oplog.to_jsonl().startswith(before)
    assert isinstance(worker.oplog.entries[-1], FailedUpdate)
    assert worker.invoke(INC, 1) == 10


# 8
def test_manual_update_fails_when_load_returns_err(counter: Registry) -> None:
    worker = counter.worker("counter", revision=2)
    worker.invoke(SET, 5)
    outcome = worker.update(3, "manual")
    assert not outcome.succeeded
    assert outcome.details == "Manual update failed to load snapshot: v4 cannot load snapshots"
    assert worker.component_revision == 2 and worker.update_counts() == (0, 0, 1)
    assert worker.invoke(GET) == 5
    worker.restart()  # the failed attempt left nothing to replay
    assert worker.invoke(GET) == 5


def test_manual_update_to_a_revision_without_load(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    worker.invoke(INC, 5)
    outcome = worker.update(0, "manual")  # v1 has no load-snapshot
    assert not outcome.succeeded
    assert outcome.details == ("Manual update failed to load snapshot: revision 0 does not "
                               "export golem:api/load-snapshot")
    assert (worker.component_revision, worker.invoke(GET)) == (1, 5)


# 9
def test_automatic_then_manual_update(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 20)
    assert worker.update(1).succeeded
    worker.invoke(INC, 1)
    assert worker.update(2, "manual").succeeded
    assert worker.component_revision == 2 and worker.update_counts() == (0, 2, 0)
    assert worker.invoke(GET) == 21


def test_update_to_a_missing_revision_fails_as_on_golem(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 1)
    assert worker.update(1).succeeded
    outcome = worker.update(9)
    assert not outcome.succeeded
    assert outcome.details == "Automatic update failed: revision 9 of counter does not exist"
    assert worker.update_counts() == (0, 1, 1)
    assert (worker.component_revision, worker.invoke(GET)) == (1, 1)


def test_refused_requests(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    before = worker.oplog.to_jsonl()
    with pytest.raises(UpdateError, match="already at revision 1"):
        worker.update(1)
    with pytest.raises(UpdateError, match="unknown update mode 'fast'"):
        worker.update(2, "fast")
    with pytest.raises(UpdateError, match="must be an integer"):
        worker.update("2")  # type: ignore[arg-type]
    assert worker.oplog.to_jsonl() == before


def test_same_automatic_update_pending_is_refused(
    registry: Registry, sample  # type: ignore[no-untyped-def]
) -> None:
    registry.add("faulty", sample("faulty", "v1"))
    registry.add("faulty", sample("faulty", "v2"))
    worker = registry.worker("faulty", revision=0, limits=_short_deadline())
    worker.invoke_async("golem:faulty/api.{spin}")
    _wait_running(worker)
    first = threading.Thread(target=worker.update, args=(1,))
    # The first request waits for the interrupted `spin` to finish (its deadline) on v2.
    worker.automatic_update_target = 1  # as the first request sets it
    with pytest.raises(UpdateError, match="already pending"):
        worker.update(1)
    worker.automatic_update_target = None
    first.start()
    first.join(30)
    worker.close()


def _short_deadline():  # type: ignore[no-untyped-def]
    from pytest_hotupdate.worker import WorkerLimits

    return WorkerLimits(deadline_seconds=1.0)


# 10
def test_recovery_after_a_manual_update_loads_the_snapshot(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    worker.invoke(INC, 30)
    assert worker.update(2, "manual").succeeded
    worker.invoke(SET, 31)
    worker.invoke(GET)
    worker.restart()  # load(snapshot: 30) on v3, then replay set(31), get()
    assert (worker.component_revision, worker.invoke(GET)) == (2, 31)
    # Only entries after the update are replayed: increment (gone in v3) is never re-run.
    assert worker.metadata.status == "idle"


# 11
def test_revert_past_a_successful_update_restores_the_old_revision(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 3)
    index_before_update = len(worker.oplog)
    assert worker.update(1).succeeded
    worker.invoke(INC, 4)
    revert(worker, to_index=index_before_update)
    assert worker.component_revision == 0 and worker.update_counts() == (0, 0, 0)
    assert worker.invoke(GET) == 3
    worker.invoke(INC, 10)
    worker.invoke(INC, 20)
    revert(worker, last_invocations=2)
    assert worker.invoke(GET) == 3
    with pytest.raises(UpdateError, match="out of range"):
        revert(worker, to_index=10_000)
    with pytest.raises(UpdateError, match="exactly one"):
        revert(worker)


def test_revert_past_a_manual_update(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    worker.invoke(INC, 8)
    cut = len(worker.oplog)
    assert worker.update(2, "manual").succeeded
    worker.invoke(SET, 100)
    revert(worker, to_index=cut)
    assert (worker.component_revision, worker.invoke(GET)) == (1, 8)


def test_swap_for_stateless_components(counter: Registry, registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 2)
    outcome = swap(worker, 2)
    assert outcome.succeeded and outcome.status == "running"
    assert worker.component_revision == 2 and worker.invoke(GET) == 0  # stateless: fresh state
    worker.invoke(SET, 4)
    worker.restart()  # history before the swap is not replayed on the new code
    assert worker.invoke(GET) == 4
    failed = swap(worker, 42)
    assert not failed.succeeded and failed.status == "failed"
    assert "rolled back" in failed.details and worker.component_revision == 2


def test_several_updates_in_a_row_and_restart(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 1)
    assert worker.update(1).succeeded
    worker.invoke(INC, 1)
    assert worker.update(2, "manual").succeeded
    worker.invoke(SET, 50)
    # Replay after a manual update starts from its snapshot, loaded into the *target* revision:
    # v4's load always fails, so this automatic update fails and the worker stays on v3.
    outcome = worker.update(3, "automatic")
    assert outcome.details == "Automatic update failed: v4 cannot load snapshots"
    assert worker.update_counts() == (0, 2, 1)
    worker.restart()
    assert (worker.component_revision, worker.invoke(GET)) == (2, 50)


def test_interrupted_invocation_returns_the_new_codes_result(
    registry: Registry, sample  # type: ignore[no-untyped-def]
) -> None:
    worker, oracle = _dice_with_slow_oracle(registry, sample, answer=7)
    oracle.release.set()
    assert worker.invoke("golem:dice/api.{ponder}", "warm-up") == 7  # v1's answer
    revert(worker, last_invocations=1)  # a finished ponder would diverge on v2
    oracle.started.clear()
    oracle.release.clear()
    future = worker.invoke_async("golem:dice/api.{ponder}", "q")
    outcome = oracle.update_while_blocked(worker, 1)
    assert outcome.succeeded, outcome.details
    assert future.result(10) == 1007  # the new code's result
    assert worker.invoke("golem:dice/api.{ponder}", "again") == 1007
    worker.close()


def test_replay_history_of_a_recorded_oplog_file(
    registry: Registry, sample, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    from pytest_hotupdate.update import replay_history

    registry.add("dice", sample("dice", "v1"))
    worker = registry.worker("dice", host_functions={"golem:dice/oracle.{ask}": lambda q: 3})
    worker.invoke("golem:dice/api.{consult}", "x")
    worker.invoke("golem:dice/api.{now-seconds}")
    worker.save_oplog(tmp_path / "good.jsonl")
    worker.invoke("golem:dice/api.{roll}")
    worker.save_oplog(tmp_path / "bad.jsonl")
    v2 = sample("dice", "v2")
    good = replay_history(v2, tmp_path / "good.jsonl", runtime=registry.runtime)
    assert (good.ok, good.divergence, good.invocations) == (True, None, 2)
    bad = replay_history(v2, tmp_path / "bad.jsonl", runtime=registry.runtime)
    assert not bad.ok and bad.invocations == 3
    assert bad.divergence is not None and bad.divergence.startswith(
        "invocation #2 golem:dice/api.{roll}(): expected host call")
    # The oracle is never needed: its answers come from the log.
    assert replay_history(sample("dice", "v1"), tmp_path / "bad.jsonl",
                          runtime=registry.runtime).ok


def test_revert_inside_an_invocation_drops_it_whole(counter: Registry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 12, item 9: a saved oplog must stay valid (no invocation without an outcome
    followed by others) after a revert to an index inside an invocation."""
    from pytest_hotupdate.oplog import Completed, Invocation, read_oplog
    from pytest_hotupdate.update import replay_history

    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 3)
    worker.invoke(INC, 4)
    inside = next(i for i in range(len(worker.oplog) - 1, -1, -1)
                  if isinstance(worker.oplog.entries[i], Invocation)) + 1
    assert isinstance(worker.oplog.entries[inside], Completed)
    revert(worker, to_index=inside)  # keeps the second invocation, not its completion
    assert worker.invoke(GET) == 3
    worker.invoke(INC, 1)
    worker.save_oplog(tmp_path / "w.oplog.jsonl")
    _, entries = read_oplog(tmp_path / "w.oplog.jsonl")
    assert sum(isinstance(e, Invocation) for e in entries) == 3
    result = replay_history(counter.component("counter", 0).source, tmp_path / "w.oplog.jsonl",
                            runtime=counter.runtime)
    assert (result.ok, result.invocations) == (True, 3)
