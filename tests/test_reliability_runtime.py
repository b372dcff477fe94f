"""A guest or a host function cannot hang the process, corrupt the oplog or swallow an exit.

Issue 12, items 1, 2, 6 and 7: start functions, instantiation and snapshot save / load are
under the deadline; Ctrl-C stops a spinning guest in the main thread; user host functions are
under the deadline too; a host function cannot re-enter its own worker; ``SystemExit`` and
``KeyboardInterrupt`` raised in a host function propagate.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import InvocationError, ReentryError
from pytest_hotupdate.oplog import Completed, Failed, HostCall, Invocation
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.update import replay_history, revert, swap
from pytest_hotupdate.worker import WorkerLimits

WASM_TOOLS = str(Path(sys.executable).with_name("wasm-tools"))
ROOT = Path(__file__).resolve().parent.parent

GOLEM = """package golem:api@1.1.7;
interface save-snapshot { save: func() -> list<u8>; }
interface load-snapshot { load: func(bytes: list<u8>) -> result<_, string>; }
"""
WORLD = """package test:spin;
interface api { set: func(value: u64); get: func() -> u64; }
world spin {
  export api;
  export golem:api/save-snapshot@1.1.7;
  export golem:api/load-snapshot@1.1.7;
}
"""

# A u64 cell with list-form snapshots. {save} and {load} are replaced by a body or by a spin;
# {start} by nothing or by a start function that spins.
MODULE = """(module
  (memory (export "memory") 1)
  (global $value (mut i64) (i64.const 0))
  (global $heap (mut i32) (i32.const 1024))
  (func $spin (loop $forever (br $forever)))
  {start}
  (func (export "test:spin/api#set") (param i64) (global.set $value (local.get 0)))
  (func (export "test:spin/api#get") (result i64) (global.get $value))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (func (export "golem:api/save-snapshot@1.1.7#save") (result i32)
    {save}
    (i64.store (i32.const 64) (global.get $value))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 8))
    (i32.const 0))
  (func (export "golem:api/load-snapshot@1.1.7#load") (param $ptr i32) (param $len i32)
      (result i32)
    {load}
    (global.set $heap (i32.const 1024))
    (global.set $value (i64.load (local.get $ptr)))
    (i32.store8 (i32.const 0) (i32.const 0))
    (i32.const 0))
)
"""
SPIN = "(call $spin)"
VARIANTS = {
    "plain": {"start": "", "save": "", "load": ""},
    "spin-start": {"start": "(start $spin)", "save": "", "load": ""},
    "spin-save": {"start": "", "save": SPIN, "load": ""},
    "spin-load": {"start": "", "save": "", "load": SPIN},
}
SET, GET = "test:spin/api.{set}", "test:spin/api.{get}"
DEADLINE = 0.3
LIMITS = WorkerLimits(deadline_seconds=DEADLINE)


def _build(directory: Path, variant: str) -> Path:
    wit = directory / "wit"
    (wit / "deps" / "golem").mkdir(parents=True)
    (wit / "deps" / "golem" / "golem.wit").write_text(GOLEM)
    (wit / "world.wit").write_text(WORLD)
    core_wat = directory / "core.wat"
    core_wat.write_text(MODULE.format(**VARIANTS[variant]))
    core, out = directory / "core.wasm", directory / f"{variant}.wasm"
    subprocess.run([WASM_TOOLS, "component", "embed", str(wit), "--world", "spin",
                    str(core_wat), "-o", str(core)], check=True)
    subprocess.run([WASM_TOOLS, "component", "new", str(core), "-o", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def spin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {v: _build(tmp_path_factory.mktemp(v), v) for v in VARIANTS}


def _timed(action: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


# -- item 1: start functions, save and load are under the deadline ---------------------------


def test_a_spinning_start_function_fails_the_worker_at_the_deadline(
        registry: Registry, spin: dict[str, Path]) -> None:
    registry.add("spin", spin["spin-start"])
    started = time.monotonic()
    with pytest.raises(InvocationError) as info:
        registry.worker("spin", limits=LIMITS)
    assert time.monotonic() - started < DEADLINE + 2
    assert info.value.kind == "deadline"
    assert str(info.value) == (
        "spin: instantiation (its start functions) ran past the deadline of 0.3 s and "
        "was stopped")


@pytest.mark.parametrize("mode", ["automatic", "manual", "swap"])
def test_an_update_to_a_spinning_start_fails_and_loses_nothing(
        registry: Registry, spin: dict[str, Path], mode: str) -> None:
    registry.add("spin", spin["plain"])
    registry.add("spin", spin["spin-start"])
    worker = registry.worker("spin", revision=0, limits=LIMITS)
    worker.invoke(SET, 42)
    before = list(worker.oplog)
    if mode == "swap":
        outcome, seconds = _timed(lambda: swap(worker, 1))
    else:
        outcome, seconds = _timed(lambda: worker.update(1, mode))
    assert seconds < DEADLINE + 2
    assert not outcome.succeeded  # type: ignore[attr-defined]
    assert "ran past the deadline of 0.3 s" in outcome.details  # type: ignore[attr-defined]
    assert worker.oplog.entries[:len(before)] == before
    assert worker.component_revision == 0
    assert worker.invoke(GET) == 42
    worker.restart()
    assert worker.invoke(GET) == 42


@pytest.mark.parametrize(("old", "new"), [("spin-save", "plain"), ("plain", "spin-load")])
def test_a_manual_update_whose_save_or_load_spins_fails_and_loses_nothing(
        registry: Registry, spin: dict[str, Path], old: str, new: str) -> None:
    registry.add("spin", spin[old])
    registry.add("spin", spin[new])
    worker = registry.worker("spin", revision=0, limits=LIMITS)
    worker.invoke(SET, 42)
    outcome, seconds = _timed(lambda: worker.update(1, "manual"))
    assert seconds < DEADLINE + 2
    assert not outcome.succeeded  # type: ignore[attr-defined]
    assert "exceeded its deadline of 0.3 s" in outcome.details  # type: ignore[attr-defined]
    assert worker.update_counts() == (0, 0, 1)
    assert worker.component_revision == 0
    assert worker.invoke(GET) == 42
    worker.restart()
    assert worker.invoke(GET) == 42


@pytest.mark.slow
def test_replaying_a_history_on_a_spinning_start_ends_at_the_default_deadline(
        registry: Registry, spin: dict[str, Path], tmp_path: Path) -> None:
    registry.add("spin", spin["plain"])
    worker = registry.worker("spin", name="w")
    worker.invoke(SET, 1)
    worker.save_oplog(tmp_path / "h.oplog.jsonl")
    started = time.monotonic()
    with pytest.raises(InvocationError, match="ran past the deadline of 30 s"):
        replay_history(spin["spin-start"], tmp_path / "h.oplog.jsonl",
                       runtime=registry.runtime)
    assert time.monotonic() - started < 40


# -- item 1: Ctrl-C stops a spinning guest in the main thread ----------------------------------

CTRL_C_SCRIPT = """
import sys, time
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.worker import WorkerLimits
from sample_components.build import build

registry = Registry()
registry.add("faulty", build("faulty", "v1"))
limits = WorkerLimits(deadline_seconds=600)
if sys.argv[1] == "start":
    registry.add("spin", sys.argv[2])
    print("ready", flush=True)
    registry.worker("spin", limits=limits)  # never returns by itself
if sys.argv[1] == "load":  # a manual update whose load spins
    registry.add("spin", sys.argv[2])
    registry.add("spin", sys.argv[3])
    worker = registry.worker("spin", revision=0, limits=limits)
    worker.invoke("test:spin/api.{set}", 42)
    print("ready", flush=True)
    try:
        worker.update(1, "manual")
    except KeyboardInterrupt:
        print("interrupted", worker.update_counts(), worker.component_revision, flush=True)
        print("state", worker.invoke("test:spin/api.{get}"), flush=True)
        worker.restart()
        print("after restart", worker.invoke("test:spin/api.{get}"), flush=True)
        sys.exit(130)
if sys.argv[1] == "promise":  # a built-in host function waits for a promise
    registry.add("h15", build("golem-host15", "v1"))
    worker = registry.worker("h15", limits=limits)
    promise = worker.invoke("new-promise")
    print("ready", flush=True)
    started = time.monotonic()
    try:
        worker.invoke("await-promise", promise)
    except KeyboardInterrupt:
        print(f"interrupted after {time.monotonic() - started:.2f} s", flush=True)
        print(type(worker.oplog.entries[-1]).__name__, flush=True)
        sys.exit(130)
if sys.argv[1] == "host":  # the guest waits for a host function that sleeps
    registry.add("dice", build("dice", "v1"))
    oracle = {"golem:dice/oracle.{ask}": lambda q: time.sleep(600) if q == "sleep" else 2}
    worker = registry.worker("dice", limits=limits, host_functions=oracle)
    worker.invoke("golem:dice/api.{consult}", "quick")
    print("ready", flush=True)
    started = time.monotonic()
    try:
        worker.invoke("golem:dice/api.{consult}", "sleep")
    except KeyboardInterrupt:
        print(f"interrupted after {time.monotonic() - started:.2f} s", flush=True)
        print("state", worker.invoke("golem:dice/api.{total}"), flush=True)
        sys.exit(130)
worker = registry.worker("faulty", limits=limits)
worker.invoke("golem:faulty/api.{increment}", 41)
print("ready", flush=True)
started = time.monotonic()
try:
    worker.invoke("golem:faulty/api.{spin}")
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - started:.2f} s", flush=True)
    failed = worker.oplog.entries[-1]
    print(type(failed).__name__, failed.error_kind, failed.error, flush=True)
    print("state", worker.invoke("golem:faulty/api.{increment}", 1), flush=True)
    worker.restart()
    print("after restart", worker.invoke("golem:faulty/api.{get}"), flush=True)
    if sys.argv[1] == "caught":
        sys.exit(130)
    raise
"""


def _interrupt(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "ctrl_c.py"
    script.write_text(textwrap.dedent(CTRL_C_SCRIPT))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, str(script), *args], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # well inside the guest's loop
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("how", ["caught", "uncaught"])
def test_ctrl_c_stops_a_spinning_invocation_and_the_worker_recovers(
        tmp_path: Path, how: str) -> None:
    done = _interrupt(tmp_path, how)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("interrupted after "), (done.stdout, done.stderr)
    assert float(lines[0].split()[2]) < 2
    assert lines[1] == ("Failed interrupted golem:faulty/api.{spin}: stopped by "
                        "KeyboardInterrupt")
    assert lines[2:] == ["state 42", "after restart 42"]
    if how == "caught":
        assert done.returncode == 130, done.stderr
    else:  # Python's own exit on an uncaught KeyboardInterrupt: killed by SIGINT
        assert done.returncode in (-signal.SIGINT, 130), done.stderr
        assert "KeyboardInterrupt" in done.stderr


def test_ctrl_c_stops_a_spinning_start_function(tmp_path: Path, spin: dict[str, Path]) -> None:
    done = _interrupt(tmp_path, "start", str(spin["spin-start"]))
    assert done.returncode in (-signal.SIGINT, 130), (done.stdout, done.stderr)
    assert done.stderr.rstrip().endswith("KeyboardInterrupt"), done.stderr


def test_ctrl_c_stops_a_guest_waiting_for_a_host_function(tmp_path: Path) -> None:
    done = _interrupt(tmp_path, "host")
    assert done.returncode == 130, (done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("interrupted after ") and float(lines[0].split()[2]) < 2
    assert lines[1:] == ["state 2"]


def test_ctrl_c_stops_a_guest_awaiting_a_promise(tmp_path: Path) -> None:
    done = _interrupt(tmp_path, "promise")
    assert done.returncode == 130, (done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("interrupted after ") and float(lines[0].split()[2]) < 2
    assert lines[1:] == ["Failed"]


def test_ctrl_c_stops_a_manual_update_and_records_it_failed(
        tmp_path: Path, spin: dict[str, Path]) -> None:
    done = _interrupt(tmp_path, "load", str(spin["plain"]), str(spin["spin-load"]))
    assert done.returncode == 130, (done.stdout, done.stderr)
    assert done.stdout.splitlines() == ["interrupted (0, 0, 1) 0", "state 42",
                                        "after restart 42"]


# -- item 2: user host functions are under the deadline ----------------------------------------


@pytest.fixture
def dice(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("dice", sample("dice", "v1"))
    return registry


CONSULT, TOTAL = "golem:dice/api.{consult}", "golem:dice/api.{total}"
ASK = "golem:dice/oracle.{ask}"


def test_a_slow_host_function_fails_the_invocation_at_the_deadline(dice: Registry) -> None:
    delay = {"seconds": 0.0}

    def oracle(_question: str) -> int:
        time.sleep(delay["seconds"])
        return 5

    worker = dice.worker("dice", host_functions={ASK: oracle}, limits=LIMITS)
    assert worker.invoke(CONSULT, "quick") == 5
    delay["seconds"] = 2.0
    started = time.monotonic()
    with pytest.raises(InvocationError) as info:
        worker.invoke(CONSULT, "slow")
    assert time.monotonic() - started < 1.5
    assert info.value.kind == "deadline"
    assert str(info.value) == (
        "golem:dice/api.{consult}: exceeded its deadline of 0.3 s in host function "
        "golem:dice/oracle.{ask}, which was still running (abandoned)")
    entries = worker.oplog.entries
    assert [type(e) for e in entries] == [Invocation, HostCall, Completed, Invocation, Failed]
    assert entries[-1].error_kind == "deadline"
    delay["seconds"] = 0.0
    assert worker.invoke(TOTAL) == 5  # recovered by replay: the slow call left nothing
    time.sleep(2.0)  # the abandoned call returns: its answer is dropped
    assert len(worker.oplog) == 7
    worker.restart()
    assert worker.invoke(TOTAL) == 5


def test_a_host_function_that_never_returns_fails_the_invocation(dice: Registry) -> None:
    release = threading.Event()
    calls: list[str] = []

    def oracle(question: str) -> int:
        calls.append(question)
        if question == "hang":
            release.wait()
        return 3

    worker = dice.worker("dice", host_functions={ASK: oracle}, limits=LIMITS)
    worker.invoke(CONSULT, "first")
    try:
        with pytest.raises(InvocationError, match="still running") as info:
            worker.invoke(CONSULT, "hang")
        assert info.value.kind == "deadline"
        assert worker.invoke(CONSULT, "again") == 3
        assert worker.invoke(TOTAL) == 6
    finally:
        release.set()
    worker.restart()
    assert worker.invoke(TOTAL) == 6
    assert calls == ["first", "hang", "again"]  # replays answered from the oplog


def test_host_functions_still_see_their_worker_and_may_call_another(
        dice: Registry, sample: Callable[[str, str], Path]) -> None:
    dice.add("counter", sample("counter", "v1"))
    counter = dice.worker("counter")

    def oracle(_question: str) -> int:
        return int(counter.invoke("golem:counter/api.{increment}", 2))

    worker = dice.worker("dice", host_functions={ASK: oracle})
    assert worker.invoke(CONSULT, "a") == 2
    assert worker.invoke(CONSULT, "b") == 4
    assert worker.invoke(TOTAL) == 6


# -- item 6: a host function cannot re-enter its own worker ------------------------------------

REENTRIES: dict[str, Callable[[object], object]] = {
    "invoke": lambda w: w.invoke(TOTAL),  # type: ignore[attr-defined]
    "invoke_wave": lambda w: w.invoke_wave(TOTAL),  # type: ignore[attr-defined]
    "update": lambda w: w.update(1),  # type: ignore[attr-defined]
    "restart": lambda w: w.restart(),  # type: ignore[attr-defined]
    "swap": lambda w: swap(w, 1),  # type: ignore[arg-type]
    "revert": lambda w: revert(w, last_invocations=1),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("action", sorted(REENTRIES))
def test_a_host_function_calling_back_into_its_worker_is_refused(
        dice: Registry, sample: Callable[[str, str], Path], action: str) -> None:
    dice.add("dice", sample("dice", "v1"))  # revision 1, for the update and the swap
    refused: list[ReentryError] = []
    box: dict[str, object] = {}

    def oracle(question: str) -> int:
        try:
            REENTRIES[action](box["worker"])
        except ReentryError as error:
            refused.append(error)
            if question == "raise":
                raise
        return 42

    worker = dice.worker("dice", revision=0, host_functions={ASK: oracle})
    box["worker"] = worker
    assert worker.invoke(CONSULT, "keep") == 42
    assert str(refused[0]) == (
        f"worker {worker.name}: {action} called from a host function inside its own invocation "
        "of golem:dice/api.{consult}; a worker cannot be re-entered (call another worker, or "
        "request the update with golem:api update-worker, which runs after the invocation)")
    assert (refused[0].worker, refused[0].function) == (worker.name, CONSULT)
    with pytest.raises(InvocationError, match="a host function raised ReentryError") as info:
        worker.invoke(CONSULT, "raise")
    assert info.value.kind == "host-error"
    # The oplog holds the two invocations and nothing nested inside them.
    assert [type(e) for e in worker.oplog] == [Invocation, HostCall, Completed, Invocation,
                                               Failed]
    assert worker.component_revision == 0
    assert worker.invoke(TOTAL) == 42
    worker.restart()
    assert worker.invoke(TOTAL) == 42


def test_a_guest_can_still_ask_for_its_own_update_through_golem_api(
        registry: Registry, sample: Callable[[str, str], Path]) -> None:
    from pytest_hotupdate.host.golem import ids
    from pytest_hotupdate.host.golem.api_host import requested_operations

    registry.add("h15", sample("golem-host15", "v1"))
    registry.add("h15", sample("golem-host15", "v1"))  # revision 1: the same code
    alice = registry.worker("h15", name="alice", revision=0)
    alice.invoke("set-idempotent", False)
    uuid = ids.component_uuid("h15").int
    alice.invoke_wave("request-update", f'{{component-id: {{uuid: {{high-bits: {uuid >> 64}, '
                      f'low-bits: {uuid & (2**64 - 1)}}}}}, agent-id: "alice"}}', "1",
                      "automatic")
    (request,) = requested_operations(registry)
    outcome = request.result(timeout=30)
    assert outcome.succeeded, outcome.details
    assert alice.component_revision == 1
    assert alice.invoke("idempotent") is False


# -- item 7: SystemExit and KeyboardInterrupt raised in a host function propagate ------------


@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt()])
def test_an_exit_raised_in_a_host_function_propagates(
        dice: Registry, raised: BaseException) -> None:
    def oracle(question: str) -> int:
        if question == "exit":
            raise raised
        return 7

    worker = dice.worker("dice", host_functions={ASK: oracle})
    worker.invoke(CONSULT, "fine")
    with pytest.raises(type(raised)) as info:
        worker.invoke(CONSULT, "exit")
    assert info.value is raised
    # Recorded as failed, not as a host error; the worker is rebuilt by replay when next used.
    last = worker.oplog.entries[-1]
    assert isinstance(last, Failed) and last.error_kind == "interrupted"
    assert last.error == f"golem:dice/api.{{consult}}: stopped by {type(raised).__name__}"
    assert worker.metadata.status == "idle"
    assert worker.invoke(TOTAL) == 7
    assert worker.invoke(CONSULT, "more") == 7
    worker.restart()
    assert worker.invoke(TOTAL) == 14


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_stops_hotupdate_check_replaying_a_spinning_start(
        registry: Registry, spin: dict[str, Path], tmp_path: Path) -> None:
    registry.add("spin", spin["plain"])
    worker = registry.worker("spin", name="w")
    worker.invoke(SET, 1)
    worker.save_oplog(tmp_path / "h.oplog.jsonl")
    script = Path(sys.executable).with_name("hotupdate-check")
    process = subprocess.Popen(
        [str(script), str(spin["plain"]), str(spin["spin-start"]), "--history",
         str(tmp_path / "h.oplog.jsonl")],
        env=dict(os.environ, PYTHONPATH=str(ROOT)), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # The spinning start function burns CPU: once it has run a while, the CLI is in it.
        give_up = time.monotonic() + 20
        while _cpu_seconds(process.pid) < 2.0 and process.poll() is None:
            assert time.monotonic() < give_up, "hotupdate-check never got to the replay"
            time.sleep(0.05)
        signalled = time.monotonic()
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert time.monotonic() - signalled < 5
    assert (process.returncode, stderr) == (130, "hotupdate-check: interrupted\n")
