"""Smoke test of ``python -m bench.plugin_bench``: it runs and prints both figures.

No timing is asserted: the < 5 ms target is what the benchmark reports, not a test failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_plugin_bench_prints_the_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.plugin_bench", "--quick", "--repeat", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| hotupdate fixture")]
    assert len(rows) == 2, proc.stdout
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1].split()[0].lstrip("+").replace(".", "", 1).isdigit(), row
        assert cells[4] == "< 5 ms" and cells[5] in ("pass", "FAIL"), row
    assert "warm compile cache" in proc.stdout
