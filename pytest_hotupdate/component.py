"""Load, compile and cache components; describe their exports and imports.

A compiled component is cached twice: in the process (one compile per content hash and engine
configuration) and on disk as wasmtime's serialized form, keyed by the content hash, the wasmtime
version and the engine configuration, so that a second test process loads it in milliseconds.
Several processes starting at once compile it once: the disk entry is written under a file lock,
to a temporary file that is renamed into place.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime.component import Component, ComponentInstanceType, FuncType

from .errors import ComponentLoadError, InvocationError
from .footprint import Footprint, count_component
from .values import WitType, func_signature

WASM_MAGIC = b"\0asm"
# Layer/version bytes after the magic: core modules are version 1, components 0x0d layer 1.
CORE_MODULE_VERSION = b"\x01\x00\x00\x00"
COMPONENT_VERSION = b"\x0d\x00\x01\x00"

WASMTIME_VERSION = importlib.metadata.version("wasmtime")


@dataclass(frozen=True)
class EngineConfig:
    """The engine settings that compiled code depends on (part of the disk cache key)."""

    epoch_interruption: bool = True
    #: Guest stack limit in bytes; deep recursion traps with "call stack exhausted" past it.
    max_wasm_stack: int = 1 << 20

    def fingerprint(self) -> str:
        return f"epoch={int(self.epoch_interruption)},stack={self.max_wasm_stack}"


def make_engine(config: EngineConfig = EngineConfig()) -> wasmtime.Engine:
    """Create a wasmtime engine with the project's settings."""
    cfg = wasmtime.Config()
    cfg.epoch_interruption = config.epoch_interruption
    cfg.max_wasm_stack = config.max_wasm_stack
    return wasmtime.Engine(cfg)


def default_cache_dir() -> Path:
    """``$HOTUPDATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/pytest-hotupdate``, else ``~/.cache/...``."""
    env = os.environ.get("HOTUPDATE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-hotupdate"


@dataclass(frozen=True)
class FunctionInfo:
    """An exported function as the worker calls it.

    Attributes:
        interface: the exporting interface (``golem:counter/api``), ``None`` for a root export.
        export_name: the name inside the interface (``increment``, ``[method]cart.add-item``).
        golem_name: Golem's name (``golem:counter/api.{increment}``, ``golem:cart/api.{cart.new}``).
        params: ``(name, type)`` pairs.
        result: the result type, or ``None``.
    """

    interface: str | None
    export_name: str
    golem_name: str
    params: tuple[tuple[str, WitType], ...]
    result: WitType | None


@dataclass(frozen=True)
class ImportedFunction:
    """A function the component imports: ``interface`` (with version) and ``name``."""

    interface: str | None
    name: str
    params: tuple[tuple[str, WitType], ...]
    result: WitType | None

    @property
    def qualified_name(self) -> str:
        """``wasi:random/random@0.2.0.{get-random-u64}`` style name used in the oplog."""
        return f"{self.interface}.{{{self.name}}}" if self.interface else f"{{{self.name}}}"


def golem_item_name(export_name: str) -> str:
    """``[constructor]cart`` -> ``cart.new``; ``[method]cart.inc`` -> ``cart.inc``; else as is."""
    if export_name.startswith("[constructor]"):
        return export_name[len("[constructor]"):] + ".new"
    for prefix in ("[method]", "[static]"):
        if export_name.startswith(prefix):
            return export_name[len(prefix):]
    return export_name


def _strip_version(interface: str) -> str:
    return interface.split("@", 1)[0]


@dataclass
class LoadedComponent:
    """A compiled component and its interface model.

    Attributes:
        name: a display name (the file name without extension unless given).
        source: the file it came from, or ``<bytes>``.
        sha256: hex digest of the component bytes.
        component: the compiled ``wasmtime.component.Component``.
        functions: exported functions, keyed by Golem name.
        imports: imported functions, keyed by ``(interface, name)``.
        footprint: the linear memories and tables it defines (for the worker's memory limit).
    """

    name: str
    source: str
    sha256: str
    component: Component
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    imports: dict[tuple[str | None, str], ImportedFunction] = field(default_factory=dict)
    footprint: Footprint = Footprint(1, 1)

    def find_function(self, name: str) -> FunctionInfo:
        """Find an export by Golem's name or a shorter unambiguous form.

        Accepted: ``golem:counter/api.{increment}``, ``golem:counter/api@1.0.0.{increment}``,
        ``api.{increment}``, ``increment``, ``api.{cart.new}``, ``api.{[method]cart.add-item}``.
        """
        exact = self.functions.get(name)
        if exact is not None:
            return exact
        iface_part, item = _split_function_name(name)
        item = golem_item_name(item)
        matches = [
            f
            for f in self.functions.values()
            if golem_item_name(f.export_name) == item and _interface_matches(f.interface, iface_part)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            available = ", ".join(sorted(self.functions)) or "none"
            raise InvocationError(
                f"{self.name} exports no function `{name}` (exported: {available})",
                function=name,
                kind="not-found",
            )
        names = ", ".join(f.golem_name for f in matches)
        raise InvocationError(
            f"function name `{name}` is ambiguous in {self.name}: {names}",
            function=name,
            kind="not-found",
        )

    def exports_interface(self, prefix: str) -> list[str]:
        """Names of exported interfaces whose unversioned name is ``prefix``."""
        return sorted({f.interface for f in self.functions.values()
                       if f.interface and _strip_version(f.interface) == prefix})


def _split_function_name(name: str) -> tuple[str | None, str]:
    if name.endswith("}") and ".{" in name:
        iface, _, item = name[:-1].rpartition(".{")
        return iface, item
    if "/" in name and "." in name.rsplit("/", 1)[1]:
        # golem:counter/api.increment
        head, _, tail = name.rpartition("/")
        iface_name, _, item = tail.partition(".")
        return f"{head}/{iface_name}", item
    return None, name


def _interface_matches(interface: str | None, wanted: str | None) -> bool:
    if wanted is None or wanted == "":
        return True
    if interface is None:
        return False
    if interface == wanted or _strip_version(interface) == wanted:
        return True
    short = _strip_version(interface).rsplit("/", 1)[-1]
    return short == wanted


def check_component_bytes(data: bytes, source: str) -> None:
    """Reject what is plainly not a component, with a message naming ``source``."""
    if not data:
        raise ComponentLoadError(f"{source}: empty file, not a WebAssembly component", source)
    if data[:4] != WASM_MAGIC:
        raise ComponentLoadError(
            f"{source}: not a WebAssembly file (no \\0asm magic number)", source
        )
    version = data[4:8]
    if version == CORE_MODULE_VERSION:
        raise ComponentLoadError(
            f"{source}: a core WebAssembly module, not a component "
            "(wrap it with `wasm-tools component new`)",
            source,
        )
    if version != COMPONENT_VERSION:
        raise ComponentLoadError(
            f"{source}: unsupported WebAssembly binary version {version.hex() or '(truncated)'}",
            source,
        )


def _first_cause(error: Exception) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln[:1].isdigit() and ":" in ln] or lines[1:] or lines
    text = causes[-1] if causes else str(error)
    return text.split(":", 1)[1].strip() if text[:1].isdigit() else text


class ComponentCache:
    """Compiles components once per process and once per machine (disk cache).

    Thread-safe. ``load`` returns the same :class:`LoadedComponent` for the same bytes.
    """

    def __init__(
        self,
        engine: wasmtime.Engine,
        engine_config: EngineConfig = EngineConfig(),
        cache_dir: Path | None = None,
        use_disk_cache: bool = True,
    ) -> None:
        self.engine = engine
        self.engine_config = engine_config
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.use_disk_cache = use_disk_cache
        self._loaded: dict[str, LoadedComponent] = {}
        self._lock = threading.Lock()
        #: How many components this cache compiled from scratch (not found on disk).
        self.compile_count = 0

    def load(self, source: str | os.PathLike[str] | bytes, name: str | None = None) -> LoadedComponent:
        """Load a component from a file path or bytes, compiling only if no cached copy exists."""
        if isinstance(source, (bytes, bytearray)):
            data = bytes(source)
            label = name or "<bytes>"
        else:
            path = Path(source)
            label = str(path)
            data = _read_component_file(path)
            name = name or path.stem
        check_component_bytes(data, label)
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            cached = self._loaded.get(digest)
            if cached is not None and (name is None or cached.name == name):
                return cached
            component = cached.component if cached else self._compile(data, digest, label)
            loaded = describe(component, self.engine, name or "component", label, digest)
            loaded.footprint = count_component(data)
            self._loaded[digest] = loaded
            return loaded

    def _disk_path(self, digest: str) -> Path:
        key = hashlib.sha256(
            f"{digest}|{WASMTIME_VERSION}|{self.engine_config.fingerprint()}".encode()
        ).hexdigest()[:32]
        return self.cache_dir / "compiled" / f"{key}.cwasm"

    def _compile(self, data: bytes, digest: str, label: str) -> Component:
        if not self.use_disk_cache:
            return self._compile_fresh(data, label)
        path = self._disk_path(digest)
        component = self._try_deserialize(path)
        if component is not None:
            return component
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock_file = open(f"{path}.lock", "a+b")
        except OSError:
            return self._compile_fresh(data, label)
        with lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            component = self._try_deserialize(path)  # another process may have written it
            if component is not None:
                return component
            component = self._compile_fresh(data, label)
            write_atomically(path, bytes(component.serialize()))
            return component

    def _compile_fresh(self, data: bytes, label: str) -> Component:
        try:
            component = Component(self.engine, data)
        except wasmtime.WasmtimeError as error:
            raise ComponentLoadError(
                f"{label}: not a valid component (truncated or malformed): {_first_cause(error)}",
                label,
            ) from None
        self.compile_count += 1
        return component

    def _try_deserialize(self, path: Path) -> Component | None:
        # Read into memory rather than deserialize_file: that one maps the file, and a cache
        # entry truncated by another process while mapped would kill the interpreter (SIGBUS).
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            return Component.deserialize(self.engine, data)
        except wasmtime.WasmtimeError:
            return None  # stale or foreign entry: compile again and overwrite it


def _read_component_file(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise ComponentLoadError(f"{path}: is a directory, not a component file", str(path))
        return path.read_bytes()
    except FileNotFoundError:
        raise ComponentLoadError(f"{path}: no such file", str(path)) from None
    except PermissionError:
        raise ComponentLoadError(f"{path}: permission denied", str(path)) from None
    except IsADirectoryError:
        raise ComponentLoadError(f"{path}: is a directory, not a component file", str(path)) from None
    except OSError as error:
        raise ComponentLoadError(f"{path}: cannot read: {error.strerror}", str(path)) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (readers never see a
    partial file, even across processes)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def describe(
    component: Component, engine: wasmtime.Engine, name: str, source: str, digest: str
) -> LoadedComponent:
    """Build the interface model of a compiled component (exports and imports with types)."""
    loaded = LoadedComponent(name=name, source=source, sha256=digest, component=component)
    for interface, export_name, ftype in _functions(component.type.exports(engine), engine):
        params, result = func_signature(ftype)
        item = golem_item_name(export_name)
        golem_name = f"{interface}.{{{item}}}" if interface else f"{{{item}}}"
        loaded.functions[golem_name] = FunctionInfo(interface, export_name, golem_name, params, result)
    for interface, import_name, ftype in _functions(component.type.imports(engine), engine):
        try:
            params, result = func_signature(ftype)
        except Exception:  # resource-typed or unsupported signature: not recordable, still listed
            params, result = (), None
        loaded.imports[(interface, import_name)] = ImportedFunction(
            interface, import_name, params, result
        )
    return loaded


def _functions(
    externs: dict[str, Any], engine: wasmtime.Engine
) -> Iterator[tuple[str | None, str, FuncType]]:
    for key, extern in externs.items():
        item = extern.ty
        if isinstance(item, FuncType):
            yield None, key, item
        elif isinstance(item, ComponentInstanceType):
            for inner_name, inner in item.exports(engine).items():
                inner_item = inner.ty
                if isinstance(inner_item, FuncType):
                    yield key, inner_name, inner_item
