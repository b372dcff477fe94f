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
handle per host call). Golem's ``wasi:blobstore`` has one, ``container.write-data`` (a container
and an outgoing value); being a method of the ``container`` resource, its shim exports
``wasi:blobstore/container`` and ``wasi:blobstore/blobstore`` with resources of its own, each
wrapping a host resource of ``hotupdate:shim/blobstore``. Everything else about the component is
unchanged: the same exports, the same other imports, and calls recorded in the oplog under the
functions the guest called (``wasi:keyvalue/eventual.{set}``). Shims and composed components
are cached on disk.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import ComponentLoadError
from .load import default_cache_dir, read_component_file, write_atomically
from .wasm_tools import TOOL_ENV, wasm_tools_executable

__all__ = ["adapt", "build_wat_component", "needs_shim", "run_wasm_tools", "shim_wat", "shim_wit"]

#: The shims' and helpers' WAT and WIT, package data: one folder per component (``wit/``, its
#: WIT files by path; ``component.wat``, its core module without the allocator).
_SOURCES = importlib.resources.files(__package__) / "shim_sources"


def shim_source(path: str) -> str:
    """The text of ``shim_sources/<path>``."""
    return (_SOURCES / path).read_text(encoding="utf-8")


def shim_wit(name: str, *, with_wasi_io: bool = False) -> dict[str, str]:
    """The WIT files of ``shim_sources/<name>/wit`` by path (for :func:`build_wat_component`),
    plus :data:`WASI_IO_WIT` as ``deps/io/io.wit`` with ``with_wasi_io``."""
    files: dict[str, str] = {}
    pending = [("", _SOURCES / name / "wit")]
    while pending:
        prefix, folder = pending.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                pending.append((f"{prefix}{entry.name}/", entry))
            else:
                files[prefix + entry.name] = entry.read_text(encoding="utf-8")
    if with_wasi_io:
        files["deps/io/io.wit"] = WASI_IO_WIT
    return files


def shim_wat(name: str) -> str:
    """The WAT of ``shim_sources/<name>/component.wat`` closed with :data:`BUMP_ALLOCATOR_WAT`."""
    return shim_source(f"{name}/component.wat") + BUMP_ALLOCATOR_WAT + ")\n"


#: Imported interfaces that make a component need the keyvalue shim.
KEYVALUE_TRIGGERS = (b"wasi:keyvalue/eventual@0.1.0", b"wasi:keyvalue/eventual-batch@0.1.0")

#: The interface a composed component imports (so it is never composed twice).
SHIM_MARKER = b"hotupdate:shim/keyvalue@"

#: ``cabi_realloc`` for the shims' and helpers' core modules: a bump allocator over the global
#: ``$heap`` (each export resets it), growing memory as needed and trapping when it cannot.
BUMP_ALLOCATOR_WAT = shim_source("bump-allocator.wat")

#: The parts of ``wasi:io@0.2.6`` the shims and helpers refer to (resources only; every item has
#: its standard WASI 0.2 type, so they link against any WASI 0.2.x host).
WASI_IO_WIT = shim_source("wasi-io.wit")

_KEYVALUE_WIT = shim_wit("keyvalue")

# Every export forwards its lowered arguments to the host import of the same shape, with one
# return area at 16 (results are lowered into this module's memory by the host and lifted from
# it by the caller); `set` and `set-many` first turn each outgoing-value handle into its host id
# (a list<tuple<key, borrow>> element and a list<tuple<key, u32>> one share the layout
# {key ptr @0, key len @4, handle/id @8}, 12 bytes). Every export resets the bump heap first: the
# previous call's results have been lifted, and this call's parameters (allocated before it ran)
# are read by the host before the host allocates its results.
_KEYVALUE_WAT = shim_wat("keyvalue")

#: Imports that make a component need the blobstore shim (both must be there).
BLOBSTORE_TRIGGERS = (b"wasi:blobstore/container", b"[method]container.write-data")

#: The interface a component composed with the blobstore shim imports.
BLOBSTORE_MARKER = b"hotupdate:shim/blobstore@"

_BLOBSTORE_WIT = shim_wit("blobstore", with_wasi_io=True)

# The shim defines the guest's `container` and `stream-object-names` resources; each wraps the
# handle (in this module's table) of the host resource it stands for, which is its
# representation. A method receives its `self` as that representation and lends it to the host
# method; everything else is forwarded as lowered, with one return area at 16 (the largest
# result, result<object-metadata, error>, is 40 bytes: {disc @0, payload @8}). Results holding a
# new host container or name stream, {disc @0, handle @4}, are wrapped in a new shim resource
# first. `write-data` turns its borrowed outgoing value into its host id (and drops the borrow:
# a borrowed handle must be dropped before the call that lent it returns). Destructors drop the
# wrapped host handle. Every export resets the bump heap first (see the keyvalue shim).
_BLOBSTORE_WAT = shim_wat("blobstore")

_LOCK = threading.Lock()


def _needs_keyvalue_shim(data: bytes) -> bool:
    return any(t in data for t in KEYVALUE_TRIGGERS) and SHIM_MARKER not in data


def _needs_blobstore_shim(data: bytes) -> bool:
    return all(t in data for t in BLOBSTORE_TRIGGERS) and BLOBSTORE_MARKER not in data


def _shims_needed(data: bytes) -> list[bytes]:
    """The shims a component (its bytes) needs and is not composed with yet."""
    return [build() for needed, build in _SHIMS if needed(data)]


def needs_shim(data: bytes) -> bool:
    """Whether a component (its bytes) imports a function wasmtime-py cannot serve directly
    (and is not composed with its shim already)."""
    return any(needed(data) for needed, _build in _SHIMS)


def adapt(source: str | os.PathLike[str] | bytes) -> str | os.PathLike[str] | bytes:
    """``source`` itself, or the bytes of it composed with the shims it needs.

    Anything that cannot be read is returned unchanged (loading it reports the problem).
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            data = read_component_file(Path(source))  # never a FIFO or /dev/zero
        except ComponentLoadError:
            return source
    if not data.startswith(b"\0asm") or not needs_shim(data):
        return source
    return compose(data, str(source) if not isinstance(source, (bytes, bytearray)) else "<bytes>")


def compose(data: bytes, label: str) -> bytes:
    """``data`` composed with the shims it needs (cached on disk by content)."""
    shims = _shims_needed(data)
    digest = hashlib.sha256(hashlib.sha256(data).digest())
    for shim in shims:
        digest.update(hashlib.sha256(shim).digest())

    def build(tool: str, tmp: Path) -> bytes:
        root, composed = tmp / "root.wasm", tmp / "out.wasm"
        root.write_bytes(data)
        args = ["compose", str(root)]
        for index, shim in enumerate(shims):
            shim_path = tmp / f"shim-{index}.wasm"
            shim_path.write_bytes(shim)
            args += ["-d", str(shim_path)]
        _run(tool, label, *args, "-o", str(composed))
        return composed.read_bytes()

    return _cached(_cache_dir() / f"composed-{digest.hexdigest()[:32]}.wasm", label, build)


def _shim_bytes() -> bytes:
    return build_wat_component("the keyvalue shim", _KEYVALUE_WIT, _KEYVALUE_WAT,
                               "keyvalue-shim")


def _blobstore_shim_bytes() -> bytes:
    return build_wat_component("the blobstore shim", _BLOBSTORE_WIT, _BLOBSTORE_WAT,
                               "blobstore-shim")


#: (whether a component needs a shim, the shim's bytes), in composition order.
_SHIMS: tuple[tuple[Callable[[bytes], bool], Callable[[], bytes]], ...] = (
    (_needs_keyvalue_shim, _shim_bytes),
    (_needs_blobstore_shim, _blobstore_shim_bytes),
)


def build_wat_component(label: str, wit: dict[str, str], wat: str, world: str) -> bytes:
    """The component ``wasm-tools`` builds from ``wat`` and the WIT files ``wit`` (relative
    path -> text) for ``world``, cached on disk by content."""
    digest = hashlib.sha256(
        ("".join(f"{k}\0{v}" for k, v in sorted(wit.items())) + world + wat).encode()
    ).hexdigest()

    def build(tool: str, base: Path) -> bytes:
        for rel, text in wit.items():
            (base / "wit" / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / "wit" / rel).write_text(text, encoding="utf-8")
        (base / "component.wat").write_text(wat, encoding="utf-8")
        _run(tool, label, "component", "embed", str(base / "wit"), "--world", world,
             str(base / "component.wat"), "-o", str(base / "core.wasm"))
        _run(tool, label, "component", "new", str(base / "core.wasm"), "-o",
             str(base / "component.wasm"))
        return (base / "component.wasm").read_bytes()

    with _LOCK:
        return _cached(_cache_dir() / f"{world}-{digest[:24]}.wasm", label, build)


def _cached(path: Path, label: str, build: Callable[[str, Path], bytes]) -> bytes:
    """The bytes cached at ``path``, else ``build(wasm_tools, temporary_directory)``'s,
    cached there (atomically)."""
    try:
        return path.read_bytes()
    except OSError:
        pass
    tool = _wasm_tools(label)
    with tempfile.TemporaryDirectory(prefix="hotupdate-shim-") as tmp:
        data = build(tool, Path(tmp))
    write_atomically(path, data)
    return data


def _cache_dir() -> Path:
    path = default_cache_dir() / "shims"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wasm_tools(label: str) -> str:
    tool = wasm_tools_executable()
    if tool is None:
        raise ComponentLoadError(f"{label}: wasm-tools is needed to build it and was not found",
                                 label)
    if shutil.which(tool) is None:  # $HOTUPDATE_WASM_TOOLS names no executable
        raise ComponentLoadError(f"{label}: wasm-tools {tool!r} (${TOOL_ENV}) is not an "
                                 "executable file", label)
    return tool


def _run(tool: str, label: str, *args: str) -> None:
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first = next((ln for ln in done.stderr.splitlines() if ln.strip()
                      and not ln.startswith("WARNING")), done.stderr.strip())
        raise ComponentLoadError(f"{label}: wasm-tools {args[0]} failed: {first}", label)


def run_wasm_tools(label: str, *args: str) -> None:
    """Run ``wasm-tools ARGS``; ComponentLoadError (naming ``label``) if it is missing or fails."""
    _run(_wasm_tools(label), label, *args)
