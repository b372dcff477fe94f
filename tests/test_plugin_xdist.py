"""The plugin under pytest-xdist (``-p xdist -n 2``): one compile per component across the
workers, recording from both workers, and the controller's summary and reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from sample_components.build import build

pytest_plugins = ["pytester"]

CONFTEST = """
import os
import pytest

@pytest.fixture(scope="session", autouse=True)
def count_compiles(hotupdate_runtime):
    yield
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"compiles-{worker}.txt", "w") as out:
        out.write(str(hotupdate_runtime.components.compile_count))
"""

SUITE = """
import pytest

from pytest_hotupdate.assertions import assert_state_preserved, assert_update_fails

GET = "golem:counter/api.{get}"


@pytest.mark.hotupdate("counter", paths="all", modes=["automatic"])
def test_readers_survive(hotupdate):
    path = hotupdate.path
    worker = hotupdate.worker("counter", revision=path.source)
    worker.invoke(GET)
    assert_state_preserved(worker, path.target, path.mode, probes=[GET])


@pytest.mark.parametrize("by", [1, 2, 3])
def test_buggy_revision(hotupdate, by):
    worker = hotupdate.worker("faulty", revision=0)
    worker.invoke("golem:faulty/api.{increment}", by)
    assert_update_fails(worker, 1, match="replayed result differs")


def test_fails_on_purpose(hotupdate):
    worker = hotupdate.worker("faulty", name="doomed", revision=0)
    worker.invoke("golem:faulty/api.{increment}", 5)
    assert worker.update(1).succeeded
"""


def test_two_xdist_workers(pytester: pytest.Pytester) -> None:
    counter = ",".join(str(build("counter", v)) for v in ("v1", "v2", "v3"))
    faulty = f"{build('faulty', 'v1')},{build('faulty', 'v2')}"
    pytester.makeini(f"""
        [pytest]
        hotupdate_components =
            counter={counter}
            faulty={faulty}
        hotupdate_cache_dir = compiled
    """)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "-p", "no:cacheprovider", "--hotupdate-record=golden",
        "--junitxml=report.xml", timeout=120)
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines([
        "*- hotupdate oplog: worker doomed (faulty, revision 0) -*",
        '{"oplog": 1, "component": "faulty", "revision": 0, "worker": "doomed"}',
        "*= hot updates =*",
        "component  from -> to  mode       outcome    updates *",
        "counter    0 -> 1      automatic  succeeded        1 *",
        "counter    0 -> 2      automatic  succeeded        1 *",
        "counter    1 -> 2      automatic  succeeded        1 *",
        "faulty     0 -> 1      automatic  failed           4 *",
        "7 update(s) in 7 test(s): 3 succeeded, 4 failed",
        f"recorded 7 worker oplog(s) in {pytester.path / 'golden'}",
    ])
    # Both workers ran tests, and each component was compiled once in all.
    counts = {p.name: int(p.read_text()) for p in pytester.path.glob("compiles-*.txt")}
    assert sorted(counts) == ["compiles-gw0.txt", "compiles-gw1.txt"], counts
    assert sum(counts.values()) == 5, counts  # counter v1-v3, faulty v1-v2
    assert len(list((pytester.path / "compiled").rglob("*.cwasm"))) == 5
    assert len(list((pytester.path / "golden").rglob("*.oplog.jsonl"))) == 7
    root = ET.parse(pytester.path / "report.xml").getroot()
    updates = [p.get("value") for p in root.iter("property") if p.get("name") == "hotupdate.update"]
    assert len(updates) == 7
