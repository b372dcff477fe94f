"""The sample-component build script and the WAT samples' behaviour.

Only the WAT samples are built here (fast, ~0.1 s each); the componentize-py samples have their
own (slow) tests.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wasmtime import Config, Engine, Store, WasmtimeError
from wasmtime.component import Component, Instance, Linker, Record

from pytest_hotupdate.errors import SampleBuildError
from sample_components import build as sb

REPO = Path(__file__).resolve().parent.parent
WAT_SAMPLES = [
    ("counter", "v1"),
    ("counter", "v2"),
    ("counter", "v3"),
    ("counter", "v4"),
    ("dice", "v1"),
    ("dice", "v2"),
    ("faulty", "v1"),
    ("faulty", "v2"),
]
SAVE = "golem:api/save-snapshot@1.1.0"
LOAD = "golem:api/load-snapshot@1.1.0"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    cache = tmp_path_factory.mktemp("samples-cache")
    return sb.build_all(["counter", "dice", "faulty"], cache_dir=cache)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def copy_sample(dst_root: Path, sample: str) -> Path:
    """Copy one sample and the shared WIT deps into a private samples root."""
    shutil.copytree(sb.PACKAGE_DIR / sample, dst_root / sample)
    if not (dst_root / sb.SHARED_DEPS).exists():
        shutil.copytree(sb.PACKAGE_DIR / sb.SHARED_DEPS, dst_root / sb.SHARED_DEPS)
    return dst_root / sample


class Guest:
    """One instance of a component in its own Store, with Golem-style function lookup."""

    def __init__(self, engine: Engine, path: Path, linker: Linker | None = None,
                 store: Store | None = None) -> None:
        self.store = store if store is not None else Store(engine)
        component = Component.from_file(engine, str(path))
        self.instance: Instance = (linker or Linker(engine)).instantiate(self.store, component)

    def has(self, iface: str, name: str | None = None) -> bool:
        idx = self.instance.get_export_index(self.store, iface)
        if idx is None or name is None:
            return idx is not None
        return self.instance.get_export_index(self.store, name, idx) is not None

    def func(self, iface: str, name: str) -> Callable[..., Any]:
        idx = self.instance.get_export_index(self.store, iface)
        assert idx is not None, f"no export {iface}"
        fidx = self.instance.get_export_index(self.store, name, idx)
        assert fidx is not None, f"no export {iface}.{{{name}}}"
        func = self.instance.get_func(self.store, fidx)
        assert func is not None
        return lambda *args: func(self.store, *args)


# --------------------------------------------------------------------------- build script


def test_samples_lists_wat_samples_in_order() -> None:
    pairs = sb.samples()
    assert [p for p in pairs if p[0] in {"counter", "dice", "faulty"}] == WAT_SAMPLES
    assert pairs == sorted(pairs, key=lambda p: (p[0], int(p[1][1:])))


def test_samples_natural_revision_order(tmp_path: Path) -> None:
    for rev in ("v10", "v2", "v1"):
        (tmp_path / "s" / rev).mkdir(parents=True)
        (tmp_path / "s" / rev / "component.wat").write_text("(module)")
    (tmp_path / "s" / "notes").mkdir()  # no sources: not a revision
    (tmp_path / "wit-deps" / "x").mkdir(parents=True)
    assert sb.samples(tmp_path) == [("s", "v1"), ("s", "v2"), ("s", "v10")]


def test_build_all_outputs_components(built: dict[tuple[str, str], Path]) -> None:
    assert list(built) == WAT_SAMPLES
    for (sample, rev), path in built.items():
        assert path.name.startswith(f"{sample}-{rev}-") and path.suffix == ".wasm"
        assert len(path.stem.rsplit("-", 1)[1]) == 16
        assert path.read_bytes()[:8] == b"\0asm\x0d\x00\x01\x00"  # a component, not a module


def test_cache_hit_does_not_rebuild(built: dict[tuple[str, str], Path],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = built[("counter", "v1")]
    mtime = path.stat().st_mtime_ns

    def no_build(*args: object) -> None:
        raise AssertionError("rebuilt a cached sample")

    monkeypatch.setattr(sb, "_build_into", no_build)
    assert sb.build("counter", "v1", cache_dir=path.parent) == path
    assert path.stat().st_mtime_ns == mtime


def test_changed_inputs_change_the_hash(tmp_path: Path) -> None:
    root, cache = tmp_path / "root", tmp_path / "cache"
    sample = copy_sample(root, "counter")
    first = sb.build("counter", "v2", root=root, cache_dir=cache)
    with (sample / "v2" / "component.wat").open("a") as fh:
        fh.write(";; an edit\n")
    second = sb.build("counter", "v2", root=root, cache_dir=cache)
    with (root / "wit-deps" / "golem-api-1.1.0" / "golem-snapshot.wit").open("a") as fh:
        fh.write("// an edit in a shared dep\n")
    third = sb.build("counter", "v2", root=root, cache_dir=cache)
    # v1 lists no deps: the shared-dep edit does not touch it
    v1_a = sb.build("counter", "v1", root=root, cache_dir=cache)
    assert len({first, second, third}) == 3
    assert all(p.is_file() for p in (first, second, third, v1_a))
    assert not list(cache.glob("*.tmp"))


def test_concurrent_builds_produce_one_file(tmp_path: Path, engine: Engine) -> None:
    root, cache = tmp_path / "root", tmp_path / "cache"
    copy_sample(root, "counter")
    # The output's name does not depend on the cache folder: learn it from a probe build.
    name = sb.build("counter", "v3", root=root, cache_dir=tmp_path / "probe").name
    cache.mkdir()
    code = (
        "import sys; from sample_components.build import build; "
        "print(build('counter', 'v3', root=sys.argv[1], cache_dir=sys.argv[2]))"
    )
    lock_fd = os.open(cache / f"{name}.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # hold the build lock: both builders must wait
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(root), str(cache)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        time.sleep(0.5)
        assert [p.poll() for p in procs] == [None, None]
        assert not list(cache.glob("*.wasm"))
    finally:
        os.close(lock_fd)
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert {out.strip() for out, _ in results} == {str(cache / name)}
    assert [p.name for p in cache.glob("*.wasm")] == [name]
    assert not list(cache.glob("*.tmp"))
    guest = Guest(engine, cache / name)
    assert guest.func("golem:counter/api", "get")() == 0


def _broken_root(root: Path) -> None:
    rev = root / "broken" / "v1"
    (rev / "wit").mkdir(parents=True)
    (rev / "wit" / "broken.wit").write_text(
        "package golem:broken;\ninterface api { f: func(); }\nworld broken { export api; }\n"
    )
    (rev / "component.wat").write_text("(module (func (export \"golem:broken/api#f\") (oops)))\n")


def test_tool_failure_raises_one_line_error(tmp_path: Path) -> None:
    _broken_root(tmp_path / "root")
    with pytest.raises(SampleBuildError) as info:
        sb.build("broken", "v1", root=tmp_path / "root", cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert "\n" not in message
    assert "broken/v1" in message and "wasm-tools component embed" in message
    assert not list((tmp_path / "cache").glob("*.wasm"))
    assert not list((tmp_path / "cache").glob("*.tmp"))


COMPONENTIZE_PY_STDERR = """\
Traceback (most recent call last):
  File "/tmp/v/bin/componentize-py", line 8, in <module>
    sys.exit(script())
AssertionError: Traceback (most recent call last):
  File "/0/app.py", line 2, in <module>
AttributeError: module 'wit_world' has no attribute 'exports'


Caused by:
    AttributeError: module 'wit_world' has no attribute 'exports'

Stack backtrace:
   0: componentize_py::componentize
             at src/lib.rs:1:1
"""


def test_error_summary_lines() -> None:
    assert sb._error_summary("error: failed to parse\n  --> x.wat:1\n") == "error: failed to parse"
    assert sb._error_summary(COMPONENTIZE_PY_STDERR) == (
        "AttributeError: module 'wit_world' has no attribute 'exports'"
    )
    no_cause = COMPONENTIZE_PY_STDERR.replace("Caused by:", "")
    assert sb._error_summary(no_cause).startswith("AttributeError: module 'wit_world'")
    assert sb._error_summary("") == ""
    wasm_tools = (
        "error: failed to encode a component from module\n\nCaused by:\n"
        "    0: failed to decode world from module\n    1: module was not valid\n"
        "    2: failed to find export of interface `golem:broken/api` function `f`\n"
    )
    assert sb._error_summary(wasm_tools) == (
        "error: failed to encode a component from module: "
        "failed to find export of interface `golem:broken/api` function `f`"
    )


def test_missing_tool_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sb, "_find_tool", lambda name: None)
    with pytest.raises(SampleBuildError, match=r"counter/v1: wasm-tools not found"):
        sb.build("counter", "v1", cache_dir=tmp_path)


def test_missing_dep_and_unknown_names(tmp_path: Path) -> None:
    root = tmp_path / "root"
    sample = copy_sample(root, "counter")
    (sample / "v3" / "deps.txt").write_text("golem-api-1.1.0\n# comment\nno-such-dep\n")
    with pytest.raises(SampleBuildError, match="no-such-dep"):
        sb.build("counter", "v3", root=root, cache_dir=tmp_path / "cache")
    with pytest.raises(SampleBuildError, match="unknown sample"):
        sb.build_all(["counter/v9"], root=root, cache_dir=tmp_path / "cache")
    with pytest.raises(SampleBuildError):
        sb.build("../counter", "v1", root=root, cache_dir=tmp_path / "cache")


def _cli(args: list[str], root: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOTUPDATE_SAMPLES_ROOT=str(root), HOTUPDATE_SAMPLES_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "sample_components.build", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_cli_error_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _broken_root(root)
    proc = _cli(["broken"], root, tmp_path / "cache")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "broken/v1" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_builds_and_prints_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    copy_sample(root, "counter")
    proc = _cli(["counter/v1", "counter/v2"], root, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(" -> ")[0] for line in lines] == ["counter/v1", "counter/v2"]
    assert all(Path(line.split(" -> ")[1]).parent == tmp_path / "cache" for line in lines)


# --------------------------------------------------------------------------- counter


def test_counter_v1(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    g = Guest(engine, built[("counter", "v1")])
    assert g.func("golem:counter/api", "increment")(5) == 5
    assert g.func("golem:counter/api", "increment")(7) == 12
    assert g.func("golem:counter/api", "get")() == 12
    assert not g.has(SAVE) and not g.has(LOAD)
    assert not g.has("golem:counter/api", "reset")


def test_counter_v2(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    g = Guest(engine, built[("counter", "v2")])
    inc, get = g.func("golem:counter/api", "increment"), g.func("golem:counter/api", "get")
    assert inc(2**40) == 2**40 and inc(3) == 2**40 + 3
    assert g.func(SAVE, "save")() == (2**40 + 3).to_bytes(8, "little")
    g.func("golem:counter/api", "reset")()
    assert get() == 0
    assert g.func(SAVE, "save")() == bytes(8)
    assert not g.has(LOAD)


def test_counter_v3(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    g = Guest(engine, built[("counter", "v3")])
    get, set_ = g.func("golem:counter/api", "get"), g.func("golem:counter/api", "set")
    assert not g.has("golem:counter/api", "increment")
    assert not g.has("golem:counter/api", "reset")
    set_(41)
    assert get() == 41
    assert g.func(SAVE, "save")() == (41).to_bytes(8, "little")
    load = g.func(LOAD, "load")
    assert load((2**64 - 1).to_bytes(8, "little")) is None  # ok(())
    assert get() == 2**64 - 1
    assert load(b"\x01\x02\x03") == "expected 8 bytes, got 3"
    assert load(b"") == "expected 8 bytes, got 0"
    assert load(bytes(70_000)) == "expected 8 bytes, got 70000"  # grows memory in cabi_realloc
    assert get() == 2**64 - 1
    for _ in range(50):  # the bump heap is reset after each call
        assert load(bytes(9)) == "expected 8 bytes, got 9"


def test_counter_v2_snapshot_loads_into_v3(built: dict[tuple[str, str], Path],
                                           engine: Engine) -> None:
    old = Guest(engine, built[("counter", "v2")])
    old.func("golem:counter/api", "increment")(1234)
    snapshot = old.func(SAVE, "save")()
    new = Guest(engine, built[("counter", "v3")])
    assert new.func(LOAD, "load")(snapshot) is None
    assert new.func("golem:counter/api", "get")() == 1234


def test_counter_v4(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    g = Guest(engine, built[("counter", "v4")])
    assert not g.has(SAVE)
    assert g.func(LOAD, "load")(bytes(8)) == "v4 cannot load snapshots"
    assert g.func(LOAD, "load")(b"") == "v4 cannot load snapshots"
    g.func("golem:counter/api", "set")(9)
    assert g.func("golem:counter/api", "get")() == 9


# --------------------------------------------------------------------------- dice


def dice_guest(engine: Engine, path: Path, calls: list[str],
               randoms: Iterator[int] | None = None) -> Guest:
    rand = randoms if randoms is not None else iter(range(100, 10_000))

    def get_random_u64(store: Store) -> int:
        calls.append("get-random-u64")
        return next(rand)

    def now(store: Store) -> Record:
        calls.append("now")
        dt = Record()
        dt.seconds = 1_700_000_000
        dt.nanoseconds = 5
        return dt

    def ask(store: Store, question: str) -> int:
        calls.append(f"ask:{question}")
        return len(question)

    linker = Linker(engine)
    with linker.root() as root:
        with root.add_instance("wasi:random/random@0.2.0") as random:
            random.add_func("get-random-u64", get_random_u64)
        with root.add_instance("wasi:clocks/wall-clock@0.2.0") as clock:
            clock.add_func("now", now)
        with root.add_instance("golem:dice/oracle") as oracle:
            oracle.add_func("ask", ask)
    return Guest(engine, path, linker)


@pytest.mark.parametrize("rev", ["v1", "v2"])
def test_dice_behaviour(rev: str, built: dict[tuple[str, str], Path], engine: Engine) -> None:
    calls: list[str] = []
    g = dice_guest(engine, built[("dice", rev)], calls, iter([17, 2**64 - 1]))
    api = "golem:dice/api"
    assert g.func(api, "roll")() == 17 % 6 + 1
    assert g.func(api, "roll")() == (2**64 - 1) % 6 + 1
    assert g.func(api, "total")() == 6 + 4
    calls.clear()
    assert g.func(api, "total")() == 10
    assert calls == []
    assert g.func(api, "now-seconds")() == 1_700_000_000
    assert calls == ["now"]
    assert g.func(api, "consult")("héllo?") == len("héllo?")
    assert calls == ["now", "ask:héllo?"]
    assert g.func(api, "total")() == 10 + 6


def test_dice_roll_host_calls_differ(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    sequences = {}
    for rev in ("v1", "v2"):
        calls: list[str] = []
        g = dice_guest(engine, built[("dice", rev)], calls)
        g.func("golem:dice/api", "roll")()
        sequences[rev] = calls
    assert sequences == {"v1": ["get-random-u64"], "v2": ["now", "get-random-u64"]}


def test_dice_imports(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    component = Component.from_file(engine, str(built[("dice", "v1")]))
    assert set(component.type.imports(engine)) == {
        "wasi:random/random@0.2.0", "wasi:clocks/wall-clock@0.2.0", "golem:dice/oracle",
    }
    assert set(component.type.exports(engine)) == {"golem:dice/api"}


# --------------------------------------------------------------------------- faulty


def test_faulty_well_behaved_functions(built: dict[tuple[str, str], Path],
                                       engine: Engine) -> None:
    g = Guest(engine, built[("faulty", "v1")])
    api = "golem:faulty/api"
    assert g.func(api, "increment")(3) == 3
    assert g.func(api, "get")() == 3
    assert g.func(api, "recurse")(1000) == 1000
    assert g.func(api, "grow")(2) == 3  # starts at one page
    data = bytes(range(256)) * 300  # > 64 KiB: cabi_realloc grows memory
    assert g.func(api, "echo-bytes")(data) == data
    assert g.func(api, "echo-bytes")(b"") == b""
    assert g.func(api, "echo-bytes")(b"abc") == b"abc"


def test_faulty_trap(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    g = Guest(engine, built[("faulty", "v1")])
    with pytest.raises(WasmtimeError, match="unreachable"):
        g.func("golem:faulty/api", "trap")()


def test_faulty_stack_overflow(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    g = Guest(engine, built[("faulty", "v1")])
    with pytest.raises(WasmtimeError, match="call stack exhausted"):
        g.func("golem:faulty/api", "recurse")(10_000_000)


def test_faulty_memory_limit(built: dict[tuple[str, str], Path], engine: Engine) -> None:
    store = Store(engine)
    store.set_limits(memory_size=4 * 65536)
    g = Guest(engine, built[("faulty", "v1")], store=store)
    assert g.func("golem:faulty/api", "grow")(3) == 4
    with pytest.raises(WasmtimeError, match="unreachable"):
        g.func("golem:faulty/api", "grow")(1)


def test_faulty_spin_runs_out_of_fuel(built: dict[tuple[str, str], Path]) -> None:
    config = Config()
    config.consume_fuel = True
    fuel_engine = Engine(config)
    store = Store(fuel_engine)
    store.set_fuel(1_000_000)
    g = Guest(fuel_engine, built[("faulty", "v1")], store=store)
    with pytest.raises(WasmtimeError, match="fuel"):
        g.func("golem:faulty/api", "spin")()
