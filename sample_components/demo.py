"""The quick-start demo: build the WAT samples, run durable workers, record, recover by replay.

``python -m sample_components.demo [--oplog-dir DIR]`` prints what happens at each step and
exits non-zero if the recovered workers do not answer as before.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from pytest_hotupdate.errors import HotUpdateError
from pytest_hotupdate.oplog import read_oplog
from pytest_hotupdate.registry import Registry
from sample_components.build import build


def run(oplog_dir: Path) -> int:
    """Run the demo; return the process exit status."""
    print("building sample components (cached after the first run) ...")
    counter_v1 = build("counter", "v1")
    dice_v1 = build("dice", "v1")
    registry = Registry()
    registry.add("counter", counter_v1)
    registry.add("dice", dice_v1)

    counter = registry.worker("counter", name="counter-1")
    for by in (5, 10, 27):
        value = counter.invoke_wave("golem:counter/api.{increment}", str(by))
        print(f"  counter-1: increment({by}) -> {value}")
    before = counter.invoke_wave("golem:counter/api.{get}")

    answers = {"meaning": 42}
    dice = registry.worker(
        "dice",
        name="dice-1",
        host_functions={"golem:dice/oracle.{ask}": lambda q: answers.get(q, 7)},
    )
    rolls = [dice.invoke_wave("golem:dice/api.{roll}") for _ in range(3)]
    print(f"  dice-1: roll() x3 -> {', '.join(str(r) for r in rolls)} (wasi:random, recorded)")
    consulted = dice.invoke_wave("golem:dice/api.{consult}", '"meaning"')
    print(f'  dice-1: consult("meaning") -> {consulted} (custom host import, recorded)')
    dice_total = dice.invoke_wave("golem:dice/api.{total}")

    for worker in (counter, dice):
        path = oplog_dir / f"{worker.name}.oplog.jsonl"
        worker.save_oplog(path)
        header, entries = read_oplog(path)
        print(f"recorded {worker.name}'s oplog: {path} ({sum(1 for _ in entries)} entries)")

    print("restarting both workers: fresh Store, state rebuilt by replaying the oplog ...")
    answers["meaning"] = 0  # the live oracle changed; replay must still see the recorded 42
    counter.restart()
    dice.restart()
    after = counter.invoke_wave("golem:counter/api.{get}")
    dice_after = dice.invoke_wave("golem:dice/api.{total}")
    print(f"  counter-1: get() before {before}, after recovery {after}")
    print(f"  dice-1: total() before {dice_total}, after recovery {dice_after}")
    if (before, dice_total) != (after, dice_after):
        print("error: recovered state differs from the state before the restart", file=sys.stderr)
        return 1
    print("ok: both workers recovered their exact state by replay")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_components.demo", description=__doc__)
    parser.add_argument("--oplog-dir", type=Path, help="where to write the recorded oplogs")
    options = parser.parse_args(argv)
    try:
        if options.oplog_dir is not None:
            return run(options.oplog_dir)
        with tempfile.TemporaryDirectory(prefix="hotupdate-demo-") as tmp:
            return run(Path(tmp))
    except HotUpdateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
