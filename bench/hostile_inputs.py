"""Figures for hostile inputs (issue 12, items 15 and 16): how fast bad input is refused, and
that the checker's model stays linear in the number of WIT interfaces.

Run from the repository root::

    python -m bench.hostile_inputs [--quick]

Rows (each the median of a few runs):

1. ``hotupdate-check, N WIT interfaces``: the console script on a package exporting N
   interfaces (one record and one function each), against itself, vs one ``wasm-tools
   component wit --json`` of it (the checker runs it twice and converts its JSON). Target: at
   most 20x. (A scan of every interface per type made 20,000 interfaces take 22-29 s.) And
   ``Checker.check`` in-process on N vs N/10 interfaces: target at most 13x (linear).
2. ``hotupdate-check refusing 200 MB of zeros after a component header``: target under 1 s
   (wasm-tools validate is the baseline).
3. ``Registry.add refusing 200 MB of zeros after a component header``: target under 1 s.
4. ``hotupdate-check --config on a FIFO / on /dev/zero`` and ``Registry.add`` on a FIFO / on
   /dev/zero: refused, each target under 1 s (they hung or grew to gigabytes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__ and str(ROOT) not in sys.path:  # `python bench/hostile_inputs.py`
    sys.path.insert(0, str(ROOT))

from bench.common import Row, _ms, _progress  # noqa: E402

COMPONENT_HEADER = b"\0asm\x0d\x00\x01\x00"
REPEAT = 3


def _checker() -> list[str]:
    beside = Path(sys.executable).parent / "hotupdate-check"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "checker"]


def _timed(argv: Sequence[str], expect: int) -> float:
    started = time.perf_counter()
    proc = subprocess.run(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=300, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != expect:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}, expected {expect}: "
                           f"{proc.stderr[-500:]!r}")
    return seconds


def _median(argv: Sequence[str], expect: int) -> float:
    return statistics.median(_timed(argv, expect) for _ in range(REPEAT))


def _wit(count: int) -> str:
    lines = ["package big:many@1.0.0;"]
    lines += [f"interface i{i} {{ record r{i} {{ x: u32 }} fn{i}: func(a: r{i}) -> u32; }}"
              for i in range(count)]
    lines += ["world w {", *(f"  export i{i};" for i in range(count)), "}"]
    return "\n".join(lines) + "\n"


def bench_interfaces(folder: Path, count: int) -> list[Row]:
    from checker.api import Checker
    from checker.tool import wasm_tools_executable

    small_n = count // 10
    paths = {}
    for n in (small_n, count):
        paths[n] = folder / f"many-{n}.wit"
        paths[n].write_text(_wit(n), encoding="utf-8")
    _progress(f"hotupdate-check on {count:,} interfaces")
    cli = _median([*_checker(), str(paths[count]), str(paths[count])], 0)
    exe = wasm_tools_executable()
    tool = _median([exe, "component", "wit", "--json", str(paths[count])], 0) if exe else cli
    inproc = {}
    for n in (small_n, count):
        runs = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            Checker().check([str(paths[n]), str(paths[n])])
            runs.append(time.perf_counter() - started)
        inproc[n] = statistics.median(runs)
    ratio = inproc[count] / inproc[small_n]
    return [
        Row(f"hotupdate-check, {count:,} WIT interfaces", _ms(cli),
            f"{_ms(tool)} (wasm-tools component wit --json, once)", cli / tool,
            "check/wasm-tools <= 20", cli / tool <= 20),
        Row(f"Checker.check, {count:,} vs {small_n:,} WIT interfaces", _ms(inproc[count]),
            _ms(inproc[small_n]), ratio, "<= 13x (linear)", ratio <= 13),
    ]


def _registry_add(path: str) -> float:
    code = ("import sys, time\n"
            "from pytest_hotupdate.errors import ComponentLoadError\n"
            "from pytest_hotupdate.registry import Registry\n"
            "from pytest_hotupdate.engine import Runtime\n"
            "registry = Registry(Runtime(use_disk_cache=False))\n"
            "started = time.perf_counter()\n"
            "try:\n"
            "    registry.add('bad', sys.argv[1])\n"
            "except ComponentLoadError:\n"
            "    print(time.perf_counter() - started)\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    runs = []
    for _ in range(REPEAT):
        out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                             env=env, timeout=300, check=True).stdout
        runs.append(float(out))  # empty output: the file was accepted, a failure
    return statistics.median(runs)


def bench_refusals(folder: Path, zero_mb: int) -> list[Row]:
    from checker.tool import wasm_tools_executable

    zeros = folder / "zeros.wasm"
    with zeros.open("wb") as out:
        out.write(COMPONENT_HEADER)
        out.truncate(len(COMPONENT_HEADER) + (zero_mb << 20))
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    exe = wasm_tools_executable()
    validate = _median([exe, "validate", str(zeros)], 1) if exe else float("nan")
    rows = []
    _progress(f"refusing {zero_mb} MB of zeros")
    seconds = _median([*_checker(), str(zeros), str(zeros)], 2)
    rows.append(Row(f"hotupdate-check refusing {zero_mb} MB of zeros after a component header",
                    _ms(seconds), f"{_ms(validate)} (wasm-tools validate)", seconds / validate,
                    "under 1 s", seconds < 1.0))
    seconds = _registry_add(str(zeros))
    rows.append(Row(f"Registry.add refusing {zero_mb} MB of zeros after a component header",
                    _ms(seconds), f"{_ms(validate)} (wasm-tools validate)", seconds / validate,
                    "under 1 s", seconds < 1.0))
    counter = folder / "c.wasm"
    counter.write_bytes(COMPONENT_HEADER)
    for what, path in (("a FIFO", str(fifo)), ("/dev/zero", "/dev/zero")):
        _progress(f"refusing {what}")
        seconds = _median([*_checker(), "--config", path, str(counter), str(counter)], 2)
        rows.append(Row(f"hotupdate-check --config on {what}", _ms(seconds), "-", 0.0,
                        "refused, under 1 s", seconds < 1.0))
        seconds = _registry_add(path)
        rows.append(Row(f"Registry.add on {what}", _ms(seconds), "-", 0.0,
                        "refused, under 1 s", seconds < 1.0))
    return rows


def hostile_rows(quick: bool) -> list[Row]:
    """Every row of this module (smaller inputs with ``quick``)."""
    with tempfile.TemporaryDirectory(prefix="hotupdate-bench-") as tmp:
        folder = Path(tmp)
        rows = bench_interfaces(folder, 2_000 if quick else 20_000)
        rows += bench_refusals(folder, 20 if quick else 200)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_inputs",
                                     description="How fast hostile inputs are refused.")
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    args = parser.parse_args(argv)
    rows = hostile_rows(args.quick)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; median of {REPEAT} runs")
    print()
    print("| figure | value | baseline | ratio | target | pass/fail |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.figure} | {r.value} | {r.baseline} | {r.ratio:.2f} | {r.target} | "
              f"{r.status} |")
    return 0 if all(r.passed or r.informational for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
