"""Benchmarks of the worker runtime against raw wasmtime-py, as one table.

Run from the repository root::

    python -m bench [--quick] [--repeat N] [--check]
    python bench/run.py ...

Every figure is the median of ``--repeat`` repetitions (default 5; 3 with ``--quick``), and every
baseline is measured in the same run, interleaved with the figure where that makes sense, so
machine noise hits both. The exit status is 0 even when a target is missed (this is a report);
with ``--check`` it is 1 when any row that is not informational misses its target.

Figures (the issue-6 targets; ``--quick`` shrinks the counts):

1. ``invoke increment (recorded)``: per-call time of ``Worker.invoke`` (with oplog recording)
   on the WAT counter vs a raw wasmtime-py loop calling the same exported function.
2. ``replay 10,000 invocations``: ``Worker.restart()`` (fresh Store + replay of the oplog) per
   replayed invocation vs the raw call.
3. ``automatic update after 10,000 invocations`` vs 10,000 raw calls.
4. ``list<u8> 1 MB in + out``: the runtime's fast ``list<u8>`` path vs stock wasmtime-py.
5. ``replay 100,000 vs 10,000 invocations`` (linear growth), and the peak memory growth of
   replaying a 100,000-entry oplog file (streamed) -- ``bench/scale.py``.
6. ``cached load vs cold compile (cart v1)``: ``Runtime.load`` of the 18 MB componentize-py
   component in a fresh subprocess with an empty cache dir (cold) vs a second fresh subprocess
   with the same cache dir (cached). ``--quick`` uses the WAT counter instead.
7. memory per idle worker, 1,000 live WAT workers -- ``bench/scale.py``.
8. ``hotupdate-check`` start-up and run time -- ``bench/checker_bench.py``.
9. the plugin's fixture overhead -- ``bench/plugin_bench.py``.
10. ``WAVE parse 20 MB string`` vs ``json.loads`` on the same text -- ``bench/wave_bench.py``.
11. ``manual update, 256 MiB snapshot`` (time, and peak RSS growth): snapshots past wasmtime's
    hostcall fuel through the bulk path -- ``bench/snapshot_bench.py``.
12. hostile inputs: ``hotupdate-check`` on 20,000 WIT interfaces (and in-process, 20,000 vs
    2,000: linear), refusing 200 MB of zeros after a component header, a FIFO or ``/dev/zero``
    as a component or a config file -- ``bench/hostile_inputs.py``.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__ and str(ROOT) not in sys.path:  # `python bench/run.py`
    sys.path.insert(0, str(ROOT))

import wasmtime  # noqa: E402
import wasmtime.component as wc  # noqa: E402

from bench import scale  # noqa: E402
from bench.checker_bench import checker_figures  # noqa: E402
from bench.common import Row, _ms, _progress, _us, run_child  # noqa: E402
from bench.hostile_inputs import hostile_rows  # noqa: E402
from bench.plugin_bench import plugin_figures  # noqa: E402
from bench.snapshot_bench import snapshot_figures  # noqa: E402
from bench.wave_bench import bench_wave_string  # noqa: E402
from pytest_hotupdate.engine import Runtime  # noqa: E402
from pytest_hotupdate.registry import Registry  # noqa: E402
from pytest_hotupdate.worker import Worker  # noqa: E402
from sample_components.build import build  # noqa: E402

INCREMENT = "golem:counter/api.{increment}"
GET = "golem:counter/api.{get}"
INTERFACE = "golem:counter/api"

FIG_INVOKE = "invoke increment (recorded)"
FIG_REPLAY = "replay {n} invocations"
FIG_UPDATE = "automatic update after {n} invocations"
FIG_LOAD = "cached load vs cold compile ({what})"

#: Calls per repetition of figure 1; invocations replayed in figure 2.
FULL_CALLS, QUICK_CALLS = 10_000, 300
FULL_REPLAY, QUICK_REPLAY = 10_000, 1_000
FULL_REPEAT, QUICK_REPEAT = 5, 3
CHILD_TIMEOUT_S = 300

# Runs in a fresh interpreter: time only the load (no in-process cache can help it).
_CHILD = """
import json, sys, time
from pathlib import Path
from pytest_hotupdate.engine import Runtime
runtime = Runtime(cache_dir=Path(sys.argv[2]))
started = time.perf_counter()
runtime.load(sys.argv[1])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "compiled": runtime.components.compile_count}))
"""


# --------------------------------------------------------------------------- machine


def machine_lines() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    cores_text = f"{cores}" if usable == cores else f"{cores} ({usable} usable)"
    return [
        f"machine: {cpu}, {cores_text} cores, {platform.system()} {platform.release()}",
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"wasmtime-py {importlib.metadata.version('wasmtime')}",
    ]


# --------------------------------------------------------------------------- raw baseline


class RawCounter:
    """The counter called through plain wasmtime-py: no recording, no value conversion."""

    def __init__(self, path: Path) -> None:
        self.engine = wasmtime.Engine()
        self.component = wc.Component.from_file(self.engine, str(path))
        self.linker = wc.Linker(self.engine)
        self.linker.add_wasip2()

    def fresh(self) -> Callable[[int], float]:
        """A new Store and instance; returns a function timing ``n`` calls (seconds per call)."""
        store = wasmtime.Store(self.engine)
        store.set_wasi(wasmtime.WasiConfig())
        inst = self.linker.instantiate(store, self.component)
        func = inst.get_func(
            store, inst.get_export_index(store, "increment", inst.get_export_index(store, INTERFACE))
        )
        assert func is not None, "counter exports no golem:counter/api#increment"
        func(store, 1)  # warm-up

        def run(n: int) -> float:
            gc.collect()
            started = time.perf_counter()
            for _ in range(n):
                func(store, 1)
            return (time.perf_counter() - started) / n

        return run


def _fresh_worker(runtime: Runtime, path: Path) -> Worker:
    registry = Registry(runtime)  # a registry per repetition: old workers are freed
    registry.add("counter", path)
    return registry.worker("counter")


# --------------------------------------------------------------------------- figures


def bench_invoke(runtime: Runtime, raw: RawCounter, path: Path, calls: int, repeat: int) -> Row:
    worker_times: list[float] = []
    raw_times: list[float] = []
    for rep in range(repeat):
        _progress(f"{FIG_INVOKE}: repetition {rep + 1}/{repeat} ({calls:,} calls each)")
        worker = _fresh_worker(runtime, path)  # its oplog grows per call: fresh per repetition
        worker.invoke(INCREMENT, 1)  # warm-up (plans, export lookup, ticker thread)
        invoke = worker.invoke
        gc.collect()
        started = time.perf_counter()
        for _ in range(calls):
            invoke(INCREMENT, 1)
        worker_times.append((time.perf_counter() - started) / calls)
        if worker.invoke(GET) != calls + 1:
            raise RuntimeError("the worker's counter has the wrong value after the loop")
        del worker, invoke
        raw_times.append(raw.fresh()(calls))
    value, base = statistics.median(worker_times), statistics.median(raw_times)
    ratio = value / base
    return Row(FIG_INVOKE, f"{_us(value)}/call", f"{_us(base)}/call (raw wasmtime-py)",
               ratio, "worker/raw <= 1.5", ratio <= 1.5)


def bench_replay(runtime: Runtime, raw: RawCounter, path: Path, count: int, repeat: int) -> Row:
    replay_times: list[float] = []
    raw_times: list[float] = []
    for rep in range(repeat):
        _progress(f"replay: repetition {rep + 1}/{repeat} ({count:,} invocations)")
        worker = _fresh_worker(runtime, path)
        for _ in range(count):
            worker.invoke(INCREMENT, 1)
        gc.collect()
        started = time.perf_counter()
        worker.restart()
        replay_times.append(time.perf_counter() - started)
        if worker.invoke(GET) != count:
            raise RuntimeError("the replayed worker's counter has the wrong value")
        del worker
        raw_times.append(raw.fresh()(count))
    total = statistics.median(replay_times)
    per_invocation = total / count
    base = statistics.median(raw_times)
    ratio = per_invocation / base
    return Row(FIG_REPLAY.format(n=f"{count:,}"),
               f"{_us(per_invocation)}/inv ({_ms(total)} total)",
               f"{_us(base)}/call (raw wasmtime-py)",
               ratio, "replay/raw <= 1.5", ratio <= 1.5)


def bench_update(runtime: Runtime, raw: RawCounter, v1: Path, v2: Path, count: int,
                 repeat: int) -> Row:
    """An automatic update (fresh Store on the target + replay of the whole oplog) after
    ``count`` recorded invocations, vs ``count`` raw calls on a fresh instance."""
    update_times: list[float] = []
    raw_times: list[float] = []
    for rep in range(repeat):
        _progress(f"update: repetition {rep + 1}/{repeat} ({count:,} invocations)")
        registry = Registry(runtime)
        registry.add("counter", v1)
        registry.add("counter", v2)
        worker = registry.worker("counter", revision=0)
        for _ in range(count):
            worker.invoke(INCREMENT, 1)
        gc.collect()
        started = time.perf_counter()
        outcome = worker.update(1, "automatic")
        update_times.append(time.perf_counter() - started)
        if not outcome.succeeded or worker.invoke(GET) != count:
            raise RuntimeError(f"the automatic update failed: {outcome.details}")
        del worker, registry
        raw_times.append(raw.fresh()(count) * count)
    total, base = statistics.median(update_times), statistics.median(raw_times)
    ratio = total / base
    return Row(FIG_UPDATE.format(n=f"{count:,}"), _ms(total),
               f"{_ms(base)} ({count:,} raw wasmtime-py calls)",
               ratio, "update/raw <= 1.5", ratio <= 1.5)


def _load_in_child(path: Path, cache_dir: Path) -> tuple[float, int]:
    result = json.loads(run_child(_CHILD, str(path), str(cache_dir)).strip().splitlines()[-1])
    return float(result["seconds"]), int(result["compiled"])


def bench_load(path: Path, what: str, repeat: int, informational: bool = False) -> Row:
    name = FIG_LOAD.format(what=what)
    cold_times: list[float] = []
    cached_times: list[float] = []
    for rep in range(repeat):
        _progress(f"load {what}: repetition {rep + 1}/{repeat}")
        with tempfile.TemporaryDirectory(prefix="hotupdate-bench-cache-") as tmp:
            cold, compiled = _load_in_child(path, Path(tmp))
            if compiled != 1:
                raise RuntimeError(f"the cold load compiled {compiled} components, expected 1")
            cached, compiled = _load_in_child(path, Path(tmp))
            if compiled != 0:
                raise RuntimeError("the cached load compiled again: the disk cache was not used")
        cold_times.append(cold)
        cached_times.append(cached)
    value, base = statistics.median(cached_times), statistics.median(cold_times)
    ratio = base / value
    return Row(name, f"{_ms(value)} cached", f"{_ms(base)} cold compile",
               ratio, "cold/cached >= 20", ratio >= 20, informational=informational)


# --------------------------------------------------------------------------- output


HEADER = ("figure", "value", "baseline", "ratio", "target", "pass/fail")


def format_table(rows: Sequence[Row]) -> str:
    cells = [HEADER] + [
        (r.figure, r.value, r.baseline, f"{r.ratio:.2f}", r.target, r.status) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark workers against raw wasmtime-py; print one table.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="CI smoke run: fewer calls and repetitions, WAT sample for the "
                             "cold compile (a few seconds)")
    parser.add_argument("--repeat", type=int, default=None, metavar="N",
                        help=f"repetitions per figure, median reported "
                             f"(default {FULL_REPEAT}, {QUICK_REPEAT} with --quick)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a (non-informational) row misses its target")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (
        QUICK_REPEAT if args.quick else FULL_REPEAT)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    calls = QUICK_CALLS if args.quick else FULL_CALLS
    replay = QUICK_REPLAY if args.quick else FULL_REPLAY

    _progress("building samples (cached after the first time)")
    counter = build("counter", "v1")
    if args.quick:
        load_path, load_what = counter, "counter v1 WAT, --quick"
    else:
        load_path, load_what = build("cart", "v1"), "cart v1"

    with tempfile.TemporaryDirectory(prefix="hotupdate-bench-") as tmp:
        runtime = Runtime(cache_dir=Path(tmp))
        raw = RawCounter(counter)
        rows = [
            bench_invoke(runtime, raw, counter, calls, repeat),
            bench_replay(runtime, raw, counter, replay, repeat),
            bench_update(runtime, raw, counter, build("counter", "v2"), replay, repeat),
        ]
        rows += [
            scale.bench_bytes(runtime, 100_000 if args.quick else 1_000_000, repeat),
            scale.bench_linearity(runtime, QUICK_REPLAY if args.quick else FULL_REPLAY, repeat),
        ]
    # The >= 20 target is about the 18 MB component; the WAT stand-in only smoke-tests the path.
    rows.append(bench_load(load_path, load_what, repeat, informational=args.quick))
    rows.append(scale.bench_oplog_memory(10_000 if args.quick else 100_000))
    rows.append(scale.bench_idle_workers(100 if args.quick else 1_000))
    rows += [Row(*figure) for figure in checker_figures(args.quick)]
    rows += [Row(*figure) for figure in plugin_figures(args.quick)]
    rows.append(bench_wave_string(2_000_000 if args.quick else 20_000_000, repeat))
    rows += [Row(*figure) for figure in snapshot_figures(args.quick)]
    rows += hostile_rows(args.quick)

    for text in machine_lines():
        print(text)
    print(f"mode: {'quick' if args.quick else 'full'}, median of {repeat} repetition(s); "
          f"figure 1: {calls:,} calls per repetition")
    print()
    print(format_table(rows))
    print()
    print("baseline: raw wasmtime-py (default Engine, Linker.add_wasip2, WasiConfig) calling "
          "increment(1) in a loop, measured interleaved with each repetition.")
    print("(info) rows are informational: printed, never fail --check.")
    failed = [r for r in rows if not r.passed and not r.informational]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
