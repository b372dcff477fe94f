"""Components importing different WASI 0.2.x versions get the same durable host functions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry

WASM_TOOLS = str(Path(sys.executable).with_name("wasm-tools"))

WIT = """
package test:versions;
interface api {{ draw: func() -> u64; seconds: func() -> u64; env-count: func() -> u32; }}
world versions {{
  import wasi:random/random@{v};
  import wasi:clocks/wall-clock@{v};
  import wasi:cli/environment@{v};
  export api;
}}
"""
DEPS = {
    "random": "package wasi:random@{v};\ninterface random {{ get-random-u64: func() -> u64; }}\n",
    "clocks": "package wasi:clocks@{v};\ninterface wall-clock {{\n"
              "  record datetime {{ seconds: u64, nanoseconds: u32 }}\n  now: func() -> datetime;\n}}\n",
    "cli": "package wasi:cli@{v};\ninterface environment {{\n"
           "  get-environment: func() -> list<tuple<string, string>>;\n}}\n",
}
WAT = """
(module
  (import "wasi:random/random@{v}" "get-random-u64" (func $rand (result i64)))
  (import "wasi:clocks/wall-clock@{v}" "now" (func $now (param i32)))
  (import "wasi:cli/environment@{v}" "get-environment" (func $env (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "test:versions/api#draw") (result i64) (call $rand))
  (func (export "test:versions/api#seconds") (result i64)
    (call $now (i32.const 0)) (i64.load (i32.const 0)))
  ;; get-environment returns list<tuple<string,string>> through a return area {{ptr, len}}.
  (func (export "test:versions/api#env-count") (result i32)
    (global.set $heap (i32.const 1024))
    (call $env (i32.const 16)) (i32.load (i32.const 20)))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
)
"""


def _build(tmp: Path, version: str) -> Path:
    wit = tmp / "wit"
    for name, text in DEPS.items():
        (wit / "deps" / name).mkdir(parents=True)
        (wit / "deps" / name / f"{name}.wit").write_text(text.format(v=version))
    (wit / "world.wit").write_text(WIT.format(v=version))
    (tmp / "core.wat").write_text(WAT.format(v=version))
    subprocess.run([WASM_TOOLS, "component", "embed", str(wit), "--world", "versions",
                    str(tmp / "core.wat"), "-o", str(tmp / "core.wasm")], check=True)
    subprocess.run([WASM_TOOLS, "component", "new", str(tmp / "core.wasm"), "-o",
                    str(tmp / "c.wasm")], check=True)
    return tmp / "c.wasm"


@pytest.mark.parametrize("version", ["0.2.0", "0.2.3", "0.2.6", "0.2.12"])
def test_any_wasi_02_version_is_durable(registry: Registry, tmp_path: Path, version: str) -> None:
    registry.add("versions", _build(tmp_path, version))
    worker = registry.worker("versions", env={"A": "1", "B": "2"})
    drawn = [worker.invoke("test:versions/api.{draw}") for _ in range(3)]
    seconds = worker.invoke("test:versions/api.{seconds}")
    assert worker.invoke("test:versions/api.{env-count}") == 2
    calls = [e.function for e in worker.oplog if isinstance(e, HostCall)]
    assert calls == ["wasi:random/random.{get-random-u64}"] * 3 + [
        "wasi:clocks/wall-clock.{now}", "wasi:cli/environment.{get-environment}"]
    worker.restart()
    assert worker.oplog.entries[1].result == str(drawn[0])
    assert worker.invoke("test:versions/api.{seconds}") >= seconds
