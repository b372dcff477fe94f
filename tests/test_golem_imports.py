"""Imports nothing provides: reported at creation, or (opt-in) failing only when called."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hotupdate.errors import ComponentLoadError, InvocationError
from pytest_hotupdate.host.golem import builtin_interfaces, provider
from pytest_hotupdate.registry import Registry

WASM_TOOLS = str(Path(sys.executable).with_name("wasm-tools"))

WIT = """
package test:unknown;
interface thing { poke: func() -> u32; }
interface api { safe: func() -> u32; risky: func() -> u32; }
world unknown {
  import thing;
  import wasi:logging/logging;
  export api;
}
"""
LOGGING = "package wasi:logging;\ninterface logging {\n" \
          "  enum level { trace, debug, info, warn, error, critical }\n" \
          "  log: func(level: level, context: string, message: string);\n}\n"
WAT = """
(module
  (import "test:unknown/thing" "poke" (func $poke (result i32)))
  (import "wasi:logging/logging" "log" (func $log (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "test:unknown/api#safe") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
  (func (export "test:unknown/api#risky") (result i32) (call $poke))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
)
"""


@pytest.fixture(scope="module")
def unknown_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("unknown")
    (tmp / "wit" / "deps" / "logging").mkdir(parents=True)
    (tmp / "wit" / "deps" / "logging" / "logging.wit").write_text(LOGGING)
    (tmp / "wit" / "unknown.wit").write_text(WIT)
    (tmp / "core.wat").write_text(WAT)
    subprocess.run([WASM_TOOLS, "component", "embed", tmp / "wit", "--world", "unknown",
                    tmp / "core.wat", "-o", tmp / "core.wasm"], check=True)
    subprocess.run([WASM_TOOLS, "component", "new", tmp / "core.wasm", "-o", tmp / "c.wasm"],
                   check=True)
    return tmp / "c.wasm"


def test_a_missing_import_is_reported_at_creation(registry: Registry, unknown_wasm: Path):
    registry.add("unknown", unknown_wasm)
    with pytest.raises(ComponentLoadError) as caught:
        registry.worker("unknown")
    message = str(caught.value)
    assert "test:unknown/thing.{poke}" in message
    assert "wasi:logging" not in message  # a built-in interface is never missing
    assert "which no host function provides" in message
    assert registry.workers == []


def test_unknown_imports_can_be_defined_as_traps(registry: Registry, unknown_wasm: Path):
    registry.add("unknown", unknown_wasm)
    worker = registry.worker("unknown", trap_unknown_imports=True)
    assert worker.invoke("safe") == 1
    with pytest.raises(InvocationError) as caught:
        worker.invoke("risky")
    assert caught.value.kind == "host-error"
    assert "test:unknown/thing.{poke} is not supported" in str(caught.value)
    assert "trap_unknown_imports" in str(caught.value)
    assert worker.invoke("safe") == 2  # recovered by replay, state intact


def test_a_user_host_function_still_fills_the_gap(registry: Registry, unknown_wasm: Path):
    registry.add("unknown", unknown_wasm)
    worker = registry.worker("unknown", host_functions={"test:unknown/thing.{poke}": lambda: 7})
    assert worker.invoke("risky") == 7


def test_builtin_interfaces_are_keyed_by_unversioned_name():
    names = builtin_interfaces()
    assert "wasi:logging/logging" in names and "wasi:config/store" in names
    assert provider("wasi:config/store@0.2.0-draft") is names["wasi:config/store"]
    assert provider("wasi:config/store@9.9.9") is names["wasi:config/store"]
    assert provider("test:unknown/thing") is None
    assert provider(None) is None
