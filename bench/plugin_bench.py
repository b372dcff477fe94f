"""Benchmark of the pytest plugin's per-test fixture overhead, with a warm compile cache.

Run from the repository root::

    python -m bench.plugin_bench [--quick] [--repeat N] [--check]

What one test pays for the ``hotupdate`` fixture when it deploys two WAT revisions (counter v1,
v2) and creates a worker; every figure is the median over the tests (or iterations) of the
median of the repetitions. Target: under 5 ms per test.

1. ``hotupdate fixture, in process``: the fixture's code path without pytest around it: a
   :class:`~pytest_hotupdate.plugin.HotUpdate` facade on a session runtime, ``deploy`` of two
   revisions, ``worker``, then the teardown work (update summaries for the JUnit properties,
   closing the workers). Baseline: the same with a bare
   :class:`~pytest_hotupdate.registry.Registry` (no plugin at all).
2. ``hotupdate fixture, per pytest test``: a generated suite run by ``pytest.main`` in this
   process, N tests that use the fixture and do the same, vs N tests that do nothing; each test's
   time is its setup + call + teardown durations as pytest reports them. The value is the
   difference of the medians (the first tests, which pay for the session runtime and the
   loading of the compiled components from the disk cache, fall outside the medians).

:func:`plugin_figures` returns the rows as tuples ``(figure, value, baseline, ratio, target,
passed, informational)``, as :mod:`bench.checker_bench` does.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if not __package__ and str(ROOT) not in sys.path:  # `python bench/plugin_bench.py`
    sys.path.insert(0, str(ROOT))

import pytest

from pytest_hotupdate.engine import Runtime
from pytest_hotupdate.plugin import HotUpdate, HotUpdateConfig
from pytest_hotupdate.registry import Registry
from sample_components.build import build

Figure = tuple[str, str, str, float, str, bool, bool]
TARGET_SECONDS = 0.005
FULL_REPEAT, QUICK_REPEAT = 5, 2
FULL_ITERATIONS, QUICK_ITERATIONS = 300, 50
FULL_TESTS, QUICK_TESTS = 200, 40

FIG_FACADE = "hotupdate fixture, in process (deploy 2 WAT revisions + worker)"
FIG_PYTEST = "hotupdate fixture, per pytest test (deploy 2 WAT revisions + worker)"


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


# --------------------------------------------------------------------------- figure 1


def _facade_once(runtime: Runtime, config: HotUpdateConfig, paths: Sequence[Path]) -> float:
    started = time.perf_counter()
    facade = HotUpdate(runtime, config)
    facade.deploy("counter", *paths)
    facade.worker("counter")
    facade.updates()
    facade.close()
    return time.perf_counter() - started


def _registry_once(runtime: Runtime, paths: Sequence[Path]) -> float:
    started = time.perf_counter()
    registry = Registry(runtime)
    for path in paths:
        registry.add("counter", path)
    registry.worker("counter")
    return time.perf_counter() - started


def bench_facade(paths: Sequence[Path], iterations: int, repeat: int) -> Figure:
    runtime = Runtime()
    config = HotUpdateConfig(components={"counter": tuple(paths)})
    _facade_once(runtime, config, paths)  # warm: compiled components in memory, ticker started
    facade_times, registry_times = [], []
    for rep in range(repeat):
        _progress(f"{FIG_FACADE}: repetition {rep + 1}/{repeat} ({iterations} iterations)")
        gc.collect()
        facade_times.append(statistics.median(
            _facade_once(runtime, config, paths) for _ in range(iterations)))
        registry_times.append(statistics.median(
            _registry_once(runtime, paths) for _ in range(iterations)))
    value, base = statistics.median(facade_times), statistics.median(registry_times)
    return (FIG_FACADE, f"{_ms(value)}/test", f"{_ms(base)}/test (bare Registry)", value / base,
            f"< {TARGET_SECONDS * 1e3:g} ms", value < TARGET_SECONDS, False)


# --------------------------------------------------------------------------- figure 2


SUITE = '''
import pytest

V1, V2 = {v1!r}, {v2!r}


@pytest.mark.parametrize("n", range({tests}))
def test_with_fixture(hotupdate, n):
    hotupdate.deploy("counter", V1, V2)
    hotupdate.worker("counter")


@pytest.mark.parametrize("n", range({tests}))
def test_empty(n):
    pass
'''


class _Durations:
    """Collects each test's setup + call + teardown time, by test function name."""

    def __init__(self) -> None:
        self.per_test: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.per_test[report.nodeid] = self.per_test.get(report.nodeid, 0.0) + report.duration


def _run_suite(directory: Path, paths: Sequence[Path], tests: int) -> tuple[float, float]:
    suite = directory / f"test_overhead_{directory.name}.py"  # a new module name per run
    suite.write_text(SUITE.format(v1=str(paths[0]), v2=str(paths[1]), tests=tests))
    durations = _Durations()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = pytest.main([str(suite), "-q", "-p", "no:cacheprovider",
                            f"--rootdir={directory}"], plugins=[durations])
    if code != 0:
        raise RuntimeError(f"the generated suite failed (exit {code}):\n{out.getvalue()}")
    with_fixture = [t for k, t in durations.per_test.items() if "test_with_fixture" in k]
    empty = [t for k, t in durations.per_test.items() if "test_empty" in k]
    return statistics.median(with_fixture), statistics.median(empty)


def bench_pytest(paths: Sequence[Path], tests: int, repeat: int) -> Figure:
    with_times, empty_times = [], []
    with tempfile.TemporaryDirectory(prefix="hotupdate-plugin-bench-") as tmp:
        for rep in range(repeat):
            _progress(f"{FIG_PYTEST}: repetition {rep + 1}/{repeat} ({tests} + {tests} tests)")
            run = Path(tmp) / f"run{rep}"
            run.mkdir()
            with_fixture, empty = _run_suite(run, paths, tests)
            with_times.append(with_fixture)
            empty_times.append(empty)
    with_fixture, empty = statistics.median(with_times), statistics.median(empty_times)
    overhead = with_fixture - empty
    return (FIG_PYTEST, f"+{_ms(overhead)}/test ({_ms(with_fixture)} with the fixture)",
            f"{_ms(empty)}/test (empty test)", with_fixture / empty,
            f"< {TARGET_SECONDS * 1e3:g} ms", overhead < TARGET_SECONDS, False)


# --------------------------------------------------------------------------- table


def plugin_figures(quick: bool, repeat: int | None = None) -> list[Figure]:
    """Measure the figures; ``quick`` runs fewer iterations and tests (CI smoke run)."""
    repeat = repeat or (QUICK_REPEAT if quick else FULL_REPEAT)
    _progress("building the counter samples (cached after the first time)")
    paths = [build("counter", "v1"), build("counter", "v2")]
    return [
        bench_facade(paths, QUICK_ITERATIONS if quick else FULL_ITERATIONS, repeat),
        bench_pytest(paths, QUICK_TESTS if quick else FULL_TESTS, repeat),
    ]


HEADER = ("figure", "value", "baseline", "ratio", "target", "pass/fail")


def format_rows(rows: Sequence[Figure]) -> str:
    cells = [HEADER] + [
        (f, v, b, f"{r:.2f}", t, ("pass" if ok else "FAIL") + (" (info)" if info else ""))
        for f, v, b, r, t, ok, info in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(out + [line(row) for row in cells[1:]])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plugin_bench",
                                     description="Per-test overhead of the hotupdate fixture.")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_ITERATIONS} iterations and {QUICK_TESTS} tests per "
                             f"repetition instead of {FULL_ITERATIONS} and {FULL_TESTS}")
    parser.add_argument("--repeat", type=int, default=None, metavar="N",
                        help=f"repetitions (default {FULL_REPEAT}, {QUICK_REPEAT} with --quick)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a figure misses its target")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rows = plugin_figures(args.quick, args.repeat)
    repeat = args.repeat or (QUICK_REPEAT if args.quick else FULL_REPEAT)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; warm compile cache; "
          f"median of {repeat} repetition(s)")
    print()
    print(format_rows(rows))
    return 1 if args.check and not all(row[5] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
