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


# --------------------------------------------------------------------------- issue 12, items 8, 9, 11

UNREADABLE = {
    "garbage.oplog.jsonl": b"\x00\xffgarbage\n",
    "no-header.oplog.jsonl": b'{"kind": "invocation", "function": "golem:faulty/api.{get}"}\n',
    "utf16.oplog.jsonl": '{"oplog": 1, "component": "faulty", "revision": 0}\n'.encode("utf-16"),
    "bom.oplog.jsonl": b'\xef\xbb\xbf{"oplog": 1, "component": "faulty", "revision": 0}\n',
    "truncated.oplog.jsonl": b'{"oplog": 1, "compo',
    "huge.oplog.jsonl": b'{"oplog": 1, "component": "faulty", "revision": ' + b"9" * 5000 + b"}\n",
}


def test_unreadable_goldens_fail_naming_the_file_and_line(pytester: pytest.Pytester,
                                                           golden: Path) -> None:
    bad = golden / "bad"
    bad.mkdir()
    for name, data in UNREADABLE.items():
        (bad / name).write_bytes(data)
    result = _run(pytester, f"--hotupdate-replay={bad}",
                  f"--hotupdate-against=faulty={build('faulty', 'v1')}", "-v")
    result.assert_outcomes(failed=6)
    assert result.ret == 1
    result.stdout.fnmatch_lines_random([
        f"unreadable recorded history: {bad}/garbage.oplog.jsonl:1: not UTF-8 text*",
        f"unreadable recorded history: {bad}/no-header.oplog.jsonl:1: not an oplog header*",
        f"unreadable recorded history: {bad}/utf16.oplog.jsonl:1: not UTF-8 text*",
        f"unreadable recorded history: {bad}/bom.oplog.jsonl:1: starts with a byte-order mark*",
        f"unreadable recorded history: {bad}/truncated.oplog.jsonl:1: malformed JSON*",
        f"unreadable recorded history: {bad}/huge.oplog.jsonl:1: unreadable JSON value*",
        "*: 0 diverged, 6 unreadable",
    ])
    assert "Traceback" not in result.stdout.str()


def _corrupt(source: Path, target: Path, edit) -> None:  # type: ignore[no-untyped-def]
    lines = source.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


def test_corrupted_histories_fail_the_gate(pytester: pytest.Pytester, golden: Path) -> None:
    source = golden / "test_recorded.py__test_increments/f1.oplog.jsonl"
    # header, invocation, completed, invocation, completed
    bad = golden / "corrupt"
    bad.mkdir()
    fake = ('{"kind": "successful-update", "target_revision": 99, "mode": "automatic", '
            '"at": 1.0}')
    edits = {
        "orphan.oplog.jsonl": lambda ls: [*ls, '{"kind": "completed", "result": "1"}'],
        "twice.oplog.jsonl": lambda ls: [*ls[:3], ls[2], *ls[3:]],
        "dropped.oplog.jsonl": lambda ls: ls[:-1],
        "revision.oplog.jsonl": lambda ls: [ls[0].replace('"revision": 0', '"revision": -7'),
                                            *ls[1:]],
        "fake-update.oplog.jsonl": lambda ls: [ls[0], fake, *ls[1:]],
    }
    for name, edit in edits.items():
        _corrupt(source, bad / name, edit)
    result = _run(pytester, f"--hotupdate-replay={bad}",
                  f"--hotupdate-against=faulty={build('faulty', 'v1')}", "-v")
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines_random([
        f"unreadable recorded history: {bad}/orphan.oplog.jsonl:6: `completed` without an "
        "invocation: the invocation of line 4 already ended at line 5",
        f"unreadable recorded history: {bad}/twice.oplog.jsonl:4: `completed` without an "
        "invocation*",
        f"recorded history {bad}/dropped.oplog.jsonl (faulty, 2 invocation(s)) cannot verify *:",
        "  invocation #1 golem:faulty/api.{increment} has no recorded outcome (the worker was "
        "saved while it ran): its result cannot be verified",
        f"unreadable recorded history: {bad}/revision.oplog.jsonl:1: header `revision` must be "
        ">= 0, got -7",
        f"unreadable recorded history: {bad}/fake-update.oplog.jsonl:2: successful-update to "
        "revision 99 (automatic) answers no pending-update",
        "*: 0 diverged, 4 unreadable, 1 unverified",
        "  UNVERIFIED dropped.oplog.jsonl",
    ])


def test_histories_are_matched_to_candidates_by_their_header(pytester: pytest.Pytester,
                                                              golden: Path) -> None:
    # A bare candidate for the goldens of two components is refused with one line.
    result = _run(pytester, "--hotupdate-replay=golden",
                  f"--hotupdate-against={build('faulty', 'v1')}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        f"ERROR: --hotupdate-against: candidate {build('faulty', 'v1')} is given without a "
        "component name, but the histories are of 2 components without one (dice, faulty): "
        "give NAME=FILE for each",
    ])
    # A bare candidate next to a named one covers the remaining single component.
    result = _run(pytester, "--hotupdate-replay=golden",
                  f"--hotupdate-against=dice={build('dice', 'v1')}",
                  f"--hotupdate-against={build('faulty', 'v1')}")
    result.assert_outcomes(passed=4)
    # A history moved among another component's is still replayed on its own component.
    moved = golden / "test_recorded.py__test_increments/d1.oplog.jsonl"
    moved.write_bytes((golden / "test_recorded.py__test_rolls/d1.oplog.jsonl").read_bytes())
    result = _run(pytester, f"--hotupdate-replay={golden}/test_recorded.py__test_increments",
                  f"--hotupdate-against=faulty={build('faulty', 'v1')}", "-v")
    result.assert_outcomes(passed=1, skipped=1)


def test_replay_history_refuses_another_components_history(golden: Path) -> None:
    from pytest_hotupdate.errors import HistoryMatchError, OplogError
    from pytest_hotupdate.update import replay_history

    history = golden / "test_recorded.py__test_rolls/d1.oplog.jsonl"
    with pytest.raises(OplogError, match=r"d1\.oplog\.jsonl:1: a history of component 'dice', "
                                         r"not of 'faulty'"):
        replay_history(build("faulty", "v1"), history, expect_component="faulty")
    with pytest.raises(HistoryMatchError, match=r"candidate .* without a component name"):
        assert_histories_replay(golden, build("faulty", "v1"))


def test_replay_histories_reports_unreadable_and_unfinished_histories(golden: Path) -> None:
    source = golden / "test_recorded.py__test_increments/f1.oplog.jsonl"
    (golden / "garbage.oplog.jsonl").write_bytes(b"garbage\n")
    _corrupt(source, golden / "dropped.oplog.jsonl", lambda ls: ls[:-1])
    results = replay_histories([golden / "garbage.oplog.jsonl", golden / "dropped.oplog.jsonl"],
                               build("faulty", "v1"))
    assert [(r.ok, r.error is not None, r.unfinished is not None) for r in results] == [
        (False, True, False), (False, False, True)]
    with pytest.raises(AssertionError, match=(
            r"(?s)2 of 2 recorded histories do not replay:\n  .*garbage.oplog.jsonl: unreadable: "
            r".*garbage.oplog.jsonl:1: malformed JSON.*\n  .*dropped.oplog.jsonl \(faulty, 2 "
            r"invocation\(s\)\) on faulty-v1-.*\n    invocation #1 .* has no recorded outcome")):
        assert_histories_replay([golden / "garbage.oplog.jsonl", golden / "dropped.oplog.jsonl"],
                                build("faulty", "v1"))
