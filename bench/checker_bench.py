"""Benchmark of ``hotupdate-check`` start-up and wall time, against its floor, in one run.

Run from the repository root::

    python -m bench.checker_bench [--quick] [--repeat N]

Figures (value and baseline measured interleaved, so that machine noise hits both; each is the
median of its repetitions, like every figure of the project, with the fastest-run ratio printed
too: the checker's wall time depends on two cores being free for its concurrent wasm-tools
runs, while the baseline runs them one after the other, so a busy machine hurts it most):

1. ``hotupdate-check cart v2 -> v3``: the console script checking two sample components
   (the 18 MB componentize-py cart revisions) vs the sum of two plain
   ``wasm-tools component wit --json`` runs (the bundled executable, one after the other) and a
   bare ``python -c pass``. Target: at most 1.5x. ``--quick`` uses the WAT counter v2/v3, whose
   wasm-tools runs take a few milliseconds, so the interpreter dominates: informational only.
2. ``hotupdate-check --version`` vs ``python -c pass``. Target: at most 2x.

Every child runs without ``PYTHONDONTWRITEBYTECODE`` and after one warm-up run, as an installed
tool runs (pip writes the bytecode at install time).

:func:`checker_figures` returns the rows as tuples ``(figure, value, baseline, ratio, target,
passed, informational)`` for ``bench/run.py``'s table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__ and str(ROOT) not in sys.path:  # `python bench/checker_bench.py`
    sys.path.insert(0, str(ROOT))

FULL_REPEAT, QUICK_REPEAT = 15, 5
Figure = tuple[str, str, str, float, str, bool, bool]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("NO_COLOR", None)
    return env


def _timed(argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr!r}")
    return seconds


def _checker_command() -> list[str]:
    beside = Path(sys.executable).parent / "hotupdate-check"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("hotupdate-check")
    return [found] if found else [sys.executable, "-m", "checker.cli"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def checker_figures(quick: bool, repeat: int | None = None) -> list[Figure]:
    """Measure the two figures (see the module docstring); return them as table rows."""
    from checker.tool import wasm_tools_executable
    from sample_components.build import build

    repeat = repeat or (QUICK_REPEAT if quick else FULL_REPEAT)
    sample, old_rev, new_rev = ("counter", "v2", "v3") if quick else ("cart", "v2", "v3")
    old, new = str(build(sample, old_rev)), str(build(sample, new_rev))
    exe = wasm_tools_executable()
    if exe is None:
        raise RuntimeError("wasm-tools not found")
    env = _env()
    check = [*_checker_command(), old, new]
    version = [*_checker_command(), "--version"]
    bare = [sys.executable, "-c", "pass"]
    wit = [[exe, "component", "wit", "--json", path] for path in (old, new)]
    for argv in (check, version, bare, *wit):  # warm-up: bytecode, page cache
        _timed(argv, env)

    check_t, floor_t, version_t, bare_t = [], [], [], []
    for _ in range(repeat):
        check_t.append(_timed(check, env))
        tools = sum(_timed(argv, env) for argv in wit)
        python = _timed(bare, env)
        floor_t.append(tools + python)
        version_t.append(_timed(version, env))
        bare_t.append(_timed(bare, env))

    # Medians, as for every figure of the project (the fastest run is printed alongside).
    check_s, floor_s = statistics.median(check_t), statistics.median(floor_t)
    version_s, bare_s = statistics.median(version_t), statistics.median(bare_t)
    ratio1, ratio2 = check_s / floor_s, version_s / bare_s
    what = f"{sample} {old_rev} -> {new_rev}" + (" WAT, --quick" if quick else "")
    fastest1 = min(check_t) / min(floor_t)
    fastest2 = min(version_t) / min(bare_t)
    return [
        (
            f"hotupdate-check {what}",
            f"{_ms(check_s)} (fastest-run ratio {fastest1:.2f})",
            f"{_ms(floor_s)} (2x wasm-tools component wit --json + python -c pass)",
            ratio1,
            "check/floor <= 1.5",
            ratio1 <= 1.5,
            quick,
        ),
        (
            "hotupdate-check --version",
            f"{_ms(version_s)} (fastest-run ratio {fastest2:.2f})",
            f"{_ms(bare_s)} (python -c pass)",
            ratio2,
            "version/python <= 2",
            ratio2 <= 2.0,
            False,
        ),
    ]


def format_rows(rows: Sequence[Figure]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "pass/fail")
    cells = [header] + [
        (r[0], r[1], r[2], f"{r[3]:.2f}", r[4],
         ("pass" if r[5] else "FAIL") + (" (info)" if r[6] else ""))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    return "\n".join(
        [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(row) for row in cells[1:]]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checker_bench",
                                     description="Time hotupdate-check against its floor.")
    parser.add_argument("--quick", action="store_true",
                        help="WAT counter instead of the cart (informational), fewer repetitions")
    parser.add_argument("--repeat", type=int, default=None, metavar="N",
                        help=f"repetitions (default {FULL_REPEAT}, {QUICK_REPEAT} with --quick)")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rows = checker_figures(args.quick, args.repeat)
    repeat = args.repeat or (QUICK_REPEAT if args.quick else FULL_REPEAT)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; median of {repeat} "
          "interleaved repetition(s)")
    print()
    print(format_rows(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
