"""Recorded histories: ``--hotupdate-record`` saves them, ``--hotupdate-replay`` gates a candidate
revision on them (Temporal's replayer, as pytest items)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_hotupdate.assertions import assert_histories_replay, replay_histories
from sample_components.build import build

pytest_plugins = ["pytester"]

RECORDED_SUITE = """
    def test_increments(hotupdate):
        worker = hotupdate.worker("faulty", name="f1", revision=0)
        worker.invoke("golem:faulty/api.{increment}", 2)
        worker.invoke("golem:faulty/api.{increment}", 3)

    def test_reads(hotupdate):
        worker = hotupdate.worker("faulty", name="f2", revision=0)
        worker.invoke("golem:faulty/api.{get}")
        hotupdate.worker("faulty", name="idle", revision=0)

    def test_rolls(hotupdate):
        worker = hotupdate.worker("dice", name="d1", host_functions={
            "golem:dice/oracle.{ask}": lambda question: 7})
        worker.invoke("golem:dice/api.{consult}", "why")

    def test_without_workers():
        pass
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


@pytest.fixture
def golden(pytester: pytest.Pytester) -> Path:
    """Record the suite's histories into ``golden/``."""
    faulty = f"faulty={build('faulty', 'v1')},{build('faulty', 'v2')}"
    dice = f"dice={build('dice', 'v1')},{build('dice', 'v2')}"
    pytester.makepyfile(test_recorded=RECORDED_SUITE)
    result = _run(pytester, f"--hotupdate-component={faulty}", f"--hotupdate-component={dice}",
                  "--hotupdate-record=golden")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        f"hotupdate: recording oplogs in {pytester.path / 'golden'}",
        "*= hot updates =*",
        f"recorded 4 worker oplog(s) in {pytester.path / 'golden'}",
    ])
    (pytester.path / "test_recorded.py").unlink()
    return pytester.path / "golden"


def test_record_saves_every_workers_oplog_per_test(golden: Path) -> None:
    files = sorted(p.relative_to(golden).as_posix() for p in golden.rglob("*"))
    assert files == [
        "test_recorded.py__test_increments",
        "test_recorded.py__test_increments/f1.oplog.jsonl",
        "test_recorded.py__test_reads",
        "test_recorded.py__test_reads/f2.oplog.jsonl",
        "test_recorded.py__test_reads/idle.oplog.jsonl",
        "test_recorded.py__test_rolls",
        "test_recorded.py__test_rolls/d1.oplog.jsonl",
    ]
    lines = (golden / "test_recorded.py__test_increments/f1.oplog.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"oplog": 1, "component": "faulty", "revision": 0,
                                    "worker": "f1"}
    assert len(lines) == 5


def test_replay_gates_a_candidate_on_the_recorded_histories(pytester: pytest.Pytester,
                                                            golden: Path) -> None:
    pytester.makepyfile(test_other="def test_regular(): pass")
    candidate = build("faulty", "v2")
    result = _run(pytester, "--hotupdate-replay=golden", f"--hotupdate-against=faulty={candidate}",
                  "-m", "hotupdate_replay", "-v")
    result.assert_outcomes(passed=2, failed=1, skipped=1, deselected=1)
    result.stdout.fnmatch_lines([
        f"hotupdate: replaying {golden} against faulty={candidate.name}",
        "hotupdate-replay::test_recorded.py__test_increments/f1.oplog.jsonl FAILED*",
        "hotupdate-replay::test_recorded.py__test_reads/f2.oplog.jsonl PASSED*",
        "hotupdate-replay::test_recorded.py__test_reads/idle.oplog.jsonl PASSED*",
        "hotupdate-replay::test_recorded.py__test_rolls/d1.oplog.jsonl SKIPPED*",
        "*= FAILURES =*",
        (f"recorded history {golden}/test_recorded.py__test_increments/f1.oplog.jsonl (faulty, 2 "
        f"invocation(s)) diverges on {candidate}:"),
        ("  invocation #0 golem:faulty/api.{increment}(2): the replayed result differs from the "
        "recorded one (expected 2, got 4)"),
        "*= hot updates =*",
        (f"replayed 3 recorded histories from {golden} on faulty={candidate}: 1 diverged, 1 "
        "skipped (no candidate revision for their component)"),
        "  DIVERGED test_recorded.py__test_increments/f1.oplog.jsonl",
    ])
    assert "Traceback" not in result.stdout.str()


def test_replay_items_run_next_to_the_regular_tests(pytester: pytest.Pytester,
                                                    golden: Path) -> None:
    pytester.makepyfile(test_other="def test_regular(): pass")
    result = _run(pytester, f"--hotupdate-replay={golden}/test_recorded.py__test_rolls",
                  f"--hotupdate-against={build('dice', 'v1')}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([("replayed 1 recorded history from * on *dice-v1-*.wasm: "
                                 "0 diverged")])


def test_replay_of_one_history_file(pytester: pytest.Pytester, golden: Path) -> None:
    history = golden / "test_recorded.py__test_rolls/d1.oplog.jsonl"
    result = _run(pytester, f"--hotupdate-replay={history}",
                  f"--hotupdate-against={build('dice', 'v2')}", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["hotupdate-replay::d1.oplog.jsonl", "1 test collected*"])


def test_the_fixture_and_the_function_replay_histories(pytester: pytest.Pytester,
                                                       golden: Path) -> None:
    pytester.makepyfile(f"""
        import pytest

        GOLDEN = {str(golden)!r}
        V1, V2 = {str(build('faulty', 'v1'))!r}, {str(build('faulty', 'v2'))!r}
        DICE = {str(build('dice', 'v2'))!r}

        def test_v1_replays_everything(hotupdate):
            results = hotupdate.assert_histories_replay(GOLDEN, {{"faulty": V1, "dice": DICE}})
            assert [r.ok for r in results] == [True] * 4

        def test_v2_diverges(hotupdate):
            hotupdate.assert_histories_replay(GOLDEN + "/test_recorded.py__test_increments", V2)
    """)
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E * AssertionError: 1 of 1 recorded histories do not replay:",
        "E *   */f1.oplog.jsonl (faulty, 2 invocation(s)) on faulty-v2-*.wasm:",
        "E *     invocation #0 golem:faulty/api.{increment}(2): the replayed result differs *",
    ])


def test_replay_histories_reports_components_without_candidate(golden: Path) -> None:
    results = replay_histories(golden, {"dice": build("dice", "v1")})
    assert [(r.history.name, r.component, r.ok, r.against is not None) for r in results] == [
        ("f1.oplog.jsonl", "faulty", False, False),
        ("f2.oplog.jsonl", "faulty", False, False),
        ("idle.oplog.jsonl", "faulty", False, False),
        ("d1.oplog.jsonl", "dice", True, True),
    ]
    with pytest.raises(AssertionError, match=r"(?s)3 of 4 recorded histories do not replay:\n"
                       r"  .*f1.oplog.jsonl \(faulty\): no candidate revision given for "
                       r"component 'faulty'"):
        assert_histories_replay(golden, {"dice": build("dice", "v1")})


def test_no_histories_is_a_failure(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no recorded histories"):
        assert_histories_replay(tmp_path, build("faulty", "v1"))
