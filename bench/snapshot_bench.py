"""Benchmark of large snapshots: a manual update of a worker with hundreds of MiB of state.

Run from the repository root::

    python -m bench.snapshot_bench [--quick] [--mib N]

The ``bigstate`` sample (v1 -> v1) holds N MiB (default 256; 32 with ``--quick``); the figure
is the time of ``worker.update(1, "manual")`` -- ``save`` in 16 MiB latin1 chunks through the
bulk path (:mod:`pytest_hotupdate.component.bulk`), the snapshot base64-encoded into the oplog, a new
Store and ``load`` in chunks -- and the peak RSS of the process that ran it, against the RSS
before the state was made. Each size runs in a fresh subprocess. Baseline: the largest
``list<u8>`` wasmtime 50 lifts directly (the hostcall fuel: 128 MiB at 48 per byte), where a
snapshot update used to stop.

:func:`snapshot_figures` returns the rows as tuples ``(figure, value, baseline, ratio, target,
passed, informational)``, as :mod:`bench.checker_bench` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__ and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import _ms, _progress, run_child  # noqa: E402

Figure = tuple[str, str, str, float, str, bool, bool]

#: Seconds a 256 MiB manual update may take (scaled linearly for other sizes).
TARGET_SECONDS_PER_256_MIB = 60.0
#: The largest list<u8> wasmtime 50 lifts directly (128 MiB of fuel / 48 bytes per element).
DIRECT_LIMIT = (128 << 20) // 48

_CHILD = r"""
import json, resource, sys, time
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.worker import WorkerLimits
from sample_components.build import build

mib = int(sys.argv[1])
registry = Registry()
path = build("bigstate", "v1")
registry.add("big", path)
registry.add("big", path)
limit = max(512 << 20, (mib << 20) * 2)
worker = registry.worker("big", revision=0, limits=WorkerLimits(memory_bytes=limit))
worker.invoke("size")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
worker.invoke("fill", mib << 20, 7, True)
digest = worker.invoke("digest")
start = time.perf_counter()
outcome = worker.update(1, "manual")
seconds = time.perf_counter() - start
assert outcome.succeeded, outcome.details
assert worker.invoke("digest") == digest
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
print(json.dumps({"seconds": seconds, "before": before, "peak": peak}))
"""


def measure(mib: int) -> dict[str, float]:
    """One manual update of a ``mib`` MiB snapshot in a fresh subprocess."""
    return dict(json.loads(run_child(_CHILD, str(mib)).strip().splitlines()[-1]))


def snapshot_figures(quick: bool, mib: int | None = None) -> list[Figure]:
    """The rows: time and peak memory of one manual update with a large snapshot."""
    size = mib or (32 if quick else 256)
    _progress(f"manual update with a {size} MiB snapshot")
    result = measure(size)
    target = TARGET_SECONDS_PER_256_MIB * size / 256
    growth = (result["peak"] - result["before"]) / (size << 20)
    return [
        (f"manual update, {size} MiB snapshot", _ms(result["seconds"]),
         f"direct path traps past {DIRECT_LIMIT / (1 << 20):.1f} MiB", 0.0,
         f"<= {target:.0f} s", result["seconds"] <= target, quick),
        (f"peak RSS growth, {size} MiB snapshot update", f"{growth:.1f}x the snapshot",
         f"{result['peak'] / (1 << 20):.0f} MiB peak", growth, "(info)", True, True),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.snapshot_bench",
                                     description="Manual updates with large snapshots.")
    parser.add_argument("--quick", action="store_true", help="32 MiB instead of 256 MiB")
    parser.add_argument("--mib", type=int, default=None, help="snapshot size in MiB")
    args = parser.parse_args(argv)
    for row in snapshot_figures(args.quick, args.mib):
        print(" | ".join(str(cell) for cell in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
