"""Assertion helpers: what they check, and the messages they fail with."""

from __future__ import annotations

import re

import pytest

from pytest_hotupdate.assertions import (
    assert_snapshot_roundtrip,
    assert_state_preserved,
    assert_update_fails,
    assert_update_succeeds,
)
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.strategies import Call
from pytest_hotupdate.worker import Worker

C = "golem:counter/api"
INC, GET, SET = f"{C}.{{increment}}", f"{C}.{{get}}", f"{C}.{{set}}"
F = "golem:faulty/api"


@pytest.fixture
def counter(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    for revision in ("v1", "v2", "v3", "v4"):
        registry.add("counter", sample("counter", revision))  # revisions 0..3
    return registry


@pytest.fixture
def faulty(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    registry.add("faulty", sample("faulty", "v1"))
    registry.add("faulty", sample("faulty", "v2"))  # increment adds twice
    return registry


def _message(info: pytest.ExceptionInfo[AssertionError]) -> str:
    return str(info.value)


# --------------------------------------------------------------------------- succeeds / fails


def test_update_succeeds_returns_the_outcome(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)
    worker.invoke(INC, 3)
    outcome = assert_update_succeeds(worker, 1)
    assert (outcome.succeeded, outcome.from_revision, outcome.target_revision) == (True, 0, 1)
    assert worker.component_revision == 1


def test_a_diverging_update_shows_the_invocation_and_both_values(faulty: Registry) -> None:
    worker = faulty.worker("faulty", name="w", revision=0)
    for by in range(10):
        worker.invoke(f"{F}.{{increment}}", by)
    with pytest.raises(AssertionError) as info:
        assert_update_succeeds(worker, 1, "auto")
    lines = _message(info).splitlines()
    assert re.fullmatch(r"automatic update of worker w \(faulty\) from revision 0 to 1 failed "
                        r"\(\d+\.\d ms\)", lines[0])
    assert lines[1:14] == [
        f"  diverging invocation #1: {F}.{{increment}}(1)",
        "    expected (recorded):  1",
        "    actual (replayed on revision 1): 2",
        "    why: the replayed result differs from the recorded one",
        (f"  details: Automatic update failed: invocation #1 {F}.{{increment}}(1): the replayed "
        "result differs from the recorded one (expected 1, got 2)"),
        "  history (10 invocation(s)):",
        f"    #0 {F}.{{increment}}(0) -> 0",
        f"    #1 {F}.{{increment}}(1) -> 1   <-- diverged here",
        f"    #2 {F}.{{increment}}(2) -> 3",
        f"    #3 {F}.{{increment}}(3) -> 6",
        f"    #4 {F}.{{increment}}(4) -> 10",
        "    ... 5 later",
        ("  the worker stays on revision 0; update counts (pending, successful, failed): "
        "(0, 0, 1)"),
    ]


def test_a_missing_function_divergence_says_why(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    worker.invoke(INC, 4)
    with pytest.raises(AssertionError) as info:
        assert_update_succeeds(worker, 2)
    message = _message(info)
    assert f"  diverging invocation #0: {INC}(4)\n    why: the function no longer exists: " \
           f"counter exports no function `{INC}`" in message
    assert "expected (recorded)" not in message  # no values to compare


def test_a_failed_manual_update_shows_golems_details(counter: Registry) -> None:
    worker = counter.worker("counter", name="m", revision=2)
    worker.invoke(SET, 9)
    with pytest.raises(AssertionError) as info:
        assert_update_succeeds(worker, 3, "manual")
    lines = _message(info).splitlines()
    assert lines[0].startswith("manual update of worker m (counter) from revision 2 to 3 failed")
    assert lines[1:] == [
        "  details: Manual update failed to load snapshot: v4 cannot load snapshots",
        "  history (1 invocation(s)):",
        f"    #0 {SET}(9) -> (no result)",
        ("  the worker stays on revision 2; update counts (pending, successful, failed): "
        "(0, 0, 1)"),
    ]


def test_history_after_a_snapshot_update_starts_there(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    worker.invoke(INC, 4)
    assert_update_succeeds(worker, 2, "manual")
    worker.invoke(GET)
    with pytest.raises(AssertionError, match=r"(?s)history \(1 invocation\(s\) since its last "
                                             r"snapshot update\):\n    #0 .*get\}\(\) -> 4"):
        assert_update_succeeds(worker, 3, "manual")


def test_update_fails(counter: Registry) -> None:
    worker = counter.worker("counter", revision=2)
    outcome = assert_update_fails(worker, 3, "snapshot", match=r"v4 cannot load")
    assert not outcome.succeeded and worker.component_revision == 2
    outcome = assert_update_fails(worker, 0, "manual", match=re.compile("failed to load"))
    assert outcome.details.startswith("Manual update failed to load snapshot")


def test_update_fails_when_it_succeeds(counter: Registry) -> None:
    worker = counter.worker("counter", name="s", revision=0)
    worker.invoke(INC, 2)
    with pytest.raises(AssertionError) as info:
        assert_update_fails(worker, 1)
    lines = _message(info).splitlines()
    assert re.fullmatch(r"expected the automatic update of worker s \(counter\) from revision 0 "
                        r"to 1 to fail, but it succeeded in \d+\.\d ms; the worker now runs "
                        r"revision 1", lines[0])
    assert lines[1:] == ["  history (1 invocation(s)):", f"    #0 {INC}(2) -> 2"]


def test_update_fails_with_other_details(counter: Registry) -> None:
    worker = counter.worker("counter", name="d", revision=0)
    with pytest.raises(AssertionError) as info:
        assert_update_fails(worker, 1, "manual", match="cannot load")
    assert _message(info).splitlines() == [
        ("the manual update of worker d (counter) from revision 0 to 1 failed as expected, but its "
        "details do not match 'cannot load'"),
        ("  details: failed to get a snapshot for manual update: revision 0 does not export "
        "golem:api/save-snapshot"),
    ]


# --------------------------------------------------------------------------- state preserved


def test_state_preserved_across_a_snapshot_update(counter: Registry) -> None:
    worker = counter.worker("counter", revision=1)
    worker.invoke(INC, 41)
    outcome = assert_state_preserved(worker, 2, "manual", probes=[GET, "get", (GET,)])
    assert outcome.succeeded and worker.invoke(GET) == 41


def test_state_preserved_fails_when_the_update_fails(sample, runtime) -> None:  # type: ignore[no-untyped-def]
    registry = Registry(runtime)
    registry.add("counter", sample("counter", "v3"))
    registry.add("counter", sample("counter", "v1"))  # has no `set`
    registry.add("counter", sample("counter", "v3"))
    worker = registry.worker("counter", name="p", revision=0)
    worker.invoke(SET, 7)
    assert_state_preserved(worker, 2, "manual", probes=[GET])  # v3 -> v3 by snapshot
    # An automatic update to v1 replays `set`, which v1 lacks: the update itself fails.
    with pytest.raises(AssertionError, match=r"^state not preserved: automatic update of worker p "
                                             r"\(counter\) from revision 2 to 1 failed"):
        assert_state_preserved(worker, 1, "automatic", probes=[GET])


def test_state_changed_by_the_update(faulty: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    # A worker that never called increment updates fine to and from the buggy revision; the
    # probes with arguments show that increment behaves differently afterwards.
    worker = faulty.worker("faulty", name="q", revision=0)
    worker.invoke(f"{F}.{{increment}}", 0)
    faulty.add("faulty", sample("faulty", "v1"))  # revision 2: v1 again
    assert_state_preserved(worker, 1, probes=[f"{F}.{{get}}"])
    before = list(worker.oplog.entries)
    with pytest.raises(AssertionError) as info:
        assert_state_preserved(worker, 2, probes=[f"{F}.{{get}}", (f"{F}.{{increment}}", 0),
                                                  Call(f"{F}.{{increment}}", (1,))])
    lines = _message(info).splitlines()
    assert re.fullmatch(r"state not preserved by the automatic update of worker q \(faulty\) "
                        r"from revision 1 to 2 \(it succeeded in \d+\.\d ms\): 1 of 3 probe\(s\) "
                        r"changed", lines[0])
    assert lines[1:5] == [
        f"  same    {F}.{{get}}()         0",
        f"  same    {F}.{{increment}}(0)  0",
        f"  CHANGED {F}.{{increment}}(1)  before (revision 1): 2",
        " " * (10 + len(f"{F}.{{increment}}(1)")) + "  after  (revision 2): 1",
    ]
    # The probes ran on replicas: nothing recorded, the worker's state unchanged.
    assert [e.kind for e in worker.oplog.entries[len(before):]] == [
        "pending-update", "successful-update"]
    assert worker.invoke(f"{F}.{{get}}") == 0


def test_a_failing_probe_is_reported(counter: Registry) -> None:
    worker = counter.worker("counter", name="r", revision=1)
    with pytest.raises(AssertionError, match=r"probe golem:counter/api.\{increment\}\(\) failed "
                                             r"before the update on worker r \(revision 1\): .*"
                                             r"takes 1 argument"):
        assert_state_preserved(worker, 2, "manual", probes=[INC])
    with pytest.raises(AssertionError, match=r"probe increment\(1\) failed after the update "
                                             r"\(revision 2\) on worker r \(revision 2\): "):
        assert_state_preserved(worker, 2, "manual", probes=[("increment", 1)])
    with pytest.raises(TypeError, match="a probe is a function name or a"):
        assert_state_preserved(worker, 3, "manual", probes=[42])


# --------------------------------------------------------------------------- snapshot round trip


def test_snapshot_roundtrip(counter: Registry) -> None:
    worker = counter.worker("counter", revision=2)
    worker.invoke(SET, 258)
    before = list(worker.oplog.entries)
    payload = assert_snapshot_roundtrip(worker, probes=[GET])
    assert payload == (258).to_bytes(8, "little")
    assert worker.oplog.entries == before  # nothing recorded, the live worker untouched
    assert worker.invoke(GET) == 258


@pytest.mark.parametrize(
    ("revision", "missing"),
    [(0, "golem:api/save-snapshot or golem:api/load-snapshot"),
     (1, "golem:api/load-snapshot"), (3, "golem:api/save-snapshot")],
)
def test_snapshot_roundtrip_needs_both_exports(counter: Registry, revision: int,
                                               missing: str) -> None:
    worker = counter.worker("counter", name="x", revision=revision)
    with pytest.raises(AssertionError) as info:
        assert_snapshot_roundtrip(worker)
    assert _message(info) == (f"snapshot round trip of worker x (counter, revision {revision}): "
                              f"revision {revision} does not export {missing}")


def _cart_worker(registry: Registry, sample) -> Worker:  # type: ignore[no-untyped-def]
    registry.add("cart", sample("cart", "v3"))
    return registry.worker("cart")


@pytest.mark.slow
def test_snapshot_roundtrip_of_the_record_form(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    worker = _cart_worker(registry, sample)
    info = worker.component.find_function("golem:api/save-snapshot@1.5.0.{save}")
    assert info is not None
    assert isinstance(assert_snapshot_roundtrip(worker), bytes)
