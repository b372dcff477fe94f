"""Figures on size and scale: large byte lists, replay linearity, memory.

- ``list<u8> 1 MB in + out``: the snapshot path (``Worker.call_unrecorded``, which ``save`` and
  ``load`` use) echoing 1 MB through the `faulty` sample, vs stock wasmtime-py's ``Func`` with the
  same bytes; target: at least 10x faster.
- ``replay 10N / N``: replay time of ten times the history; target: at most 11x (linear).
- ``replay of a 100,000-entry oplog file``: peak memory growth of ``replay_history`` on a file
  (streamed, never loaded whole), measured in a fresh process; target: at most 50 MB.
- ``idle worker``: memory per idle worker of the WAT counter, 1,000 live workers in one process;
  target: at most 1 MB each.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import wasmtime
import wasmtime.component as wc

from bench.common import Row, _ms, _progress, run_child
from pytest_hotupdate.engine import Runtime
from pytest_hotupdate.registry import Registry
from sample_components.build import build

ECHO = "golem:faulty/api.{echo-bytes}"


def _stock_echo(path: Path) -> wc.Func:
    engine = wasmtime.Engine()
    component = wc.Component.from_file(engine, str(path))
    linker = wc.Linker(engine)
    linker.add_wasip2()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, component)
    func = instance.get_func(store, instance.get_export_index(
        store, "echo-bytes", instance.get_export_index(store, "golem:faulty/api")))
    assert func is not None
    return lambda data: func(store, data)  # type: ignore[return-value]


def bench_bytes(runtime: Runtime, size: int, repeat: int) -> Row:
    path = build("faulty", "v1")
    registry = Registry(runtime)
    registry.add("faulty", path)
    worker = registry.worker("faulty")
    info = worker.component.find_function(ECHO)
    stock = _stock_echo(path)
    data = os.urandom(size)
    fast_times, stock_times = [], []
    for rep in range(repeat):
        _progress(f"list<u8> {size:,} bytes: repetition {rep + 1}/{repeat}")
        gc.collect()
        started = time.perf_counter()
        out = worker.call_unrecorded(worker.live, info, (data,))
        fast_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        stock_out = stock(data)
        stock_times.append(time.perf_counter() - started)
        if out != data or stock_out != data:
            raise RuntimeError("list<u8> did not round-trip")
    value, base = statistics.median(fast_times), statistics.median(stock_times)
    ratio = base / value
    what = f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size // 1000} KB"
    return Row(f"list<u8> {what} in + out (snapshot path)", _ms(value),
               f"{_ms(base)} stock wasmtime-py Func", ratio, "stock/fast >= 10", ratio >= 10)


def _replay_seconds(runtime: Runtime, count: int) -> float:
    registry = Registry(runtime)
    registry.add("counter", build("counter", "v1"))
    worker = registry.worker("counter")
    for _ in range(count):
        worker.invoke("golem:counter/api.{increment}", 1)
    gc.collect()
    started = time.perf_counter()
    worker.restart()
    return time.perf_counter() - started


def bench_linearity(runtime: Runtime, small: int, repeat: int) -> Row:
    large = small * 10
    small_times, large_times = [], []
    for rep in range(repeat):
        _progress(f"replay linearity {small:,} vs {large:,}: repetition {rep + 1}/{repeat}")
        small_times.append(_replay_seconds(runtime, small))
        large_times.append(_replay_seconds(runtime, large))
    value, base = statistics.median(large_times), statistics.median(small_times)
    ratio = value / base
    return Row(f"replay {large:,} vs {small:,} invocations", _ms(value), _ms(base),
               ratio, "ratio <= 11 (linear)", ratio <= 11)


# Runs in a fresh interpreter: peak RSS growth of replaying (or reading) an oplog file.
_MEMORY_CHILD = """
import json, resource, sys
from pytest_hotupdate.oplog import read_oplog
from pytest_hotupdate.engine import Runtime
from pytest_hotupdate.update import replay_history
component, oplog = sys.argv[1], sys.argv[2]
runtime = Runtime()
runtime.load(component)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
header, entries = read_oplog(oplog)
read = sum(1 for _ in entries)
after_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = replay_history(component, oplog, runtime=runtime)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert result.ok, result.divergence
print(json.dumps({"read": read, "invocations": result.invocations,
                  "read_kb": after_read - before, "replay_kb": after - before}))
"""


def _write_counter_oplog(path: Path, entries: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"oplog": 1, "component": "counter", "revision": 0}\n')
        for index in range(entries // 2):
            out.write('{"kind": "invocation", "function": "golem:counter/api.{increment}", '
                      '"params": ["1"]}\n')
            out.write(f'{{"kind": "completed", "result": "{index + 1}"}}\n')


def bench_oplog_memory(entries: int) -> Row:
    _progress(f"memory: replay of a {entries:,}-entry oplog file")
    with tempfile.TemporaryDirectory(prefix="hotupdate-bench-oplog-") as tmp:
        path = Path(tmp) / "big.oplog.jsonl"
        _write_counter_oplog(path, entries)
        size = path.stat().st_size
        result = json.loads(run_child(_MEMORY_CHILD, str(build("counter", "v1")), str(path)))
    growth_mb = max(result["replay_kb"], result["read_kb"]) / 1024
    return Row(f"replay of a {entries:,}-entry oplog file: peak memory growth",
               f"{growth_mb:.1f} MB", f"file {size / 1e6:.1f} MB", growth_mb,
               "growth <= 50 MB", growth_mb <= 50)


_WORKERS_CHILD = """
import gc, json, sys
from pytest_hotupdate.registry import Registry
count = int(sys.argv[2])
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
registry = Registry()
registry.add("counter", sys.argv[1])
registry.worker("counter").invoke("golem:counter/api.{increment}", 1)  # warm everything up
gc.collect()
before = rss()
workers = [registry.worker("counter") for _ in range(count)]
for worker in workers:
    worker.invoke("golem:counter/api.{increment}", 1)
assert all(w.invoke("golem:counter/api.{get}") == 1 for w in workers)
gc.collect()
print(json.dumps({"per_worker": (rss() - before) / count, "workers": len(workers)}))
"""


def bench_idle_workers(count: int) -> Row:
    _progress(f"memory: {count:,} idle workers")
    result = json.loads(run_child(_WORKERS_CHILD, str(build("counter", "v1")), str(count)))
    per_worker_kb = result["per_worker"] / 1024
    return Row(f"memory per idle worker ({result['workers']:,} live WAT workers)",
               f"{per_worker_kb:.1f} KB", "1 MB budget", per_worker_kb / 1024,
               "<= 1 MB each", per_worker_kb <= 1024)
