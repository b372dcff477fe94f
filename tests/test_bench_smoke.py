"""Smoke test of the benchmark script: it runs, exits 0 and prints every figure.

No timing is asserted here: the timing targets are what the benchmark reports, not test failures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FIGURES = [
    "invoke increment (recorded)",
    "replay 1,000 invocations",  # 10,000 in a full run
    "automatic update after 1,000 invocations",
    "list<u8> 100 KB in + out (snapshot path)",
    "replay 10,000 vs 1,000 invocations",
    "cached load vs cold compile (counter v1 WAT",  # cart v1 in a full run
    "replay of a 10,000-entry oplog file: peak memory growth",
    "memory per idle worker (100 live WAT workers)",
    "hotupdate-check counter v2 -> v3 WAT, --quick",  # cart v2 -> v3 in a full run
    "hotupdate-check --version",
    "hotupdate fixture, in process (deploy 2 WAT revisions + worker)",
    "hotupdate fixture, per pytest test (deploy 2 WAT revisions + worker)",
    "WAVE parse 2 MB string",  # 20 MB in a full run
    "manual update, 32 MiB snapshot",  # 256 MiB in a full run
    "peak RSS growth, 32 MiB snapshot update",
    "hotupdate-check, 2,000 WIT interfaces",  # 20,000 in a full run
    "Checker.check, 2,000 vs 200 WIT interfaces",
    "hotupdate-check refusing 20 MB of zeros after a component header",  # 200 MB in a full run
    "Registry.add refusing 20 MB of zeros after a component header",
    "hotupdate-check --config on a FIFO",
    "Registry.add on a FIFO",
    "hotupdate-check --config on /dev/zero",
    "Registry.add on /dev/zero",
]
HEADER = ["figure", "value", "baseline", "ratio", "target", "pass/fail"]


def test_quick_bench_prints_the_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--repeat", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = [line for line in lines if line.startswith("| figure")]
    assert len(header) == 1, proc.stdout
    assert [c.strip() for c in header[0].strip("|").split("|")] == HEADER
    rows = [line for line in lines if line.startswith("| ") and line not in header]
    assert len(rows) == len(FIGURES), proc.stdout
    for name, row in zip(FIGURES, rows):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0].startswith(name), row
        assert len(cells) == len(HEADER) and all(cells), row
        float(cells[3])  # the ratio is a number
        assert cells[5].split()[0] in ("pass", "FAIL"), row
    assert "machine:" in proc.stdout and "wasmtime-py" in proc.stdout
