"""Load, compile and cache components; describe their exports and imports.

A compiled component is cached twice: in the process (one compile per content hash and engine
configuration) and on disk as wasmtime's serialized form, keyed by the content hash, the wasmtime
version and the engine configuration, so that a second test process loads it in milliseconds.
Several processes starting at once compile it once: the disk entry is written under a file lock,
to a temporary file that is renamed into place.

A disk entry is native code, so it is trusted only as far as it can be checked: each entry
starts with a header line naming the sha256 of the component bytes it was compiled from, the
engine configuration, the wasmtime version and the sha256 and size of the serialized artifact
after it. All of it is checked *before* wasmtime deserializes the artifact; an entry that does
not match (copied from another component, truncated, from another engine) is compiled again,
overwritten and reported once on the ``pytest_hotupdate.component`` logger. The directory of
entries is private to the user (mode 0700, entries 0600); one owned by another user is not used.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Component, ComponentInstanceType, FuncType

from ..atomic import atomic_writer
from ..errors import ComponentLoadError, InvocationError
from ..names import golem_item_name, qualified_name, unversioned
from ..values import WitType, func_signature
from .footprint import Footprint, count_component

WASM_MAGIC = b"\0asm"
# Layer/version bytes after the magic: core modules are version 1, components 0x0d layer 1.
CORE_MODULE_VERSION = b"\x01\x00\x00\x00"
COMPONENT_VERSION = b"\x0d\x00\x01\x00"

WASMTIME_VERSION = importlib.metadata.version("wasmtime")

#: First bytes of a disk cache entry; the JSON header follows on the same line.
CACHE_ENTRY_MAGIC = b"pytest-hotupdate compiled component 1 "
# A header is a few hundred bytes; a longer first line is not one of ours.
_MAX_HEADER = 4096

_log = logging.getLogger("pytest_hotupdate.component")  # the name the README gives


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
        return qualified_name(self.interface, self.name)


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
    if interface == wanted or unversioned(interface) == wanted:
        return True
    short = unversioned(interface).rsplit("/", 1)[-1]
    return short == wanted


def check_component_bytes(data: bytes, source: str) -> None:
    """Reject what is plainly not a component, with a message naming ``source``."""
    _check_structure(len(data), lambda pos, count: data[pos:pos + count], source)


def _check_structure(size: int, peek: Callable[[int, int], bytes], source: str) -> None:
    """The checks of :func:`check_component_bytes` on ``size`` bytes read through ``peek``
    (``pos, count -> bytes``): only the header and the section headers are read."""
    if not size:
        raise ComponentLoadError(f"{source}: empty file, not a WebAssembly component", source)
    head = peek(0, 8)
    if head[:4] != WASM_MAGIC:
        raise ComponentLoadError(
            f"{source}: not a WebAssembly file (no \\0asm magic number)", source
        )
    version = head[4:8]
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
    _check_sections(size, peek, source)


#: How many top-level sections :func:`check_component_bytes` walks; a real component has a few
#: hundred. Past it wasmtime's own parser (linear too) judges the rest.
MAX_WALKED_SECTIONS = 100_000


def _check_sections(size: int, peek: Callable[[int, int], bytes], source: str) -> None:
    """Walk the top-level section headers: a truncated or malformed file is refused in
    microseconds per section, with the byte offset, before wasmtime copies and parses it
    (and, for a file, before it is read)."""
    pos = 8
    for _ in range(MAX_WALKED_SECTIONS):
        if pos >= size:
            return
        header = peek(pos, 6)  # the id and at most 5 bytes of LEB128 length
        section_id = header[0]
        length, shift, used = 0, 0, 1
        while True:
            if used >= len(header):
                raise ComponentLoadError(
                    f"{source}: not a valid component (truncated or malformed): bad section "
                    f"header at byte {pos}", source)
            byte = header[used]
            used += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        end = pos + used
        if end + length > size:
            raise ComponentLoadError(
                f"{source}: not a valid component (truncated or malformed): a section at "
                f"byte {pos} needs {length} bytes, the file ends after {size - end}", source)
        if section_id == 0 and length == 0:
            raise ComponentLoadError(
                f"{source}: not a valid component (truncated or malformed): empty custom "
                f"section at byte {pos} (a custom section starts with its name)", source)
        pos = end + length


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
        #: Disk entries that did not match their component (each reported once, then replaced).
        self.rejected_entries: list[Path] = []

    def load(self, source: str | os.PathLike[str] | bytes, name: str | None = None) -> LoadedComponent:
        """Load a component from a file path or bytes, compiling only if no cached copy exists."""
        if isinstance(source, (bytes, bytearray)):
            data = bytes(source)
            label = name or "<bytes>"
        else:
            path = Path(source)
            label = str(path)
            data = read_component_file(path)
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

    def _expected_header(self, digest: str) -> dict[str, str]:
        """What an entry for the component with sha256 ``digest`` must say it was built from."""
        return {
            "source-sha256": digest,
            "engine": self.engine_config.fingerprint(),
            "wasmtime": WASMTIME_VERSION,
        }

    def _compile(self, data: bytes, digest: str, label: str) -> Component:
        if not self.use_disk_cache:
            return self._compile_fresh(data, label)
        path = self._disk_path(digest)
        if not _private_directory(path.parent):
            return self._compile_fresh(data, label)
        component = self._try_deserialize(path, digest)
        if component is not None:
            return component
        try:
            lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return self._compile_fresh(data, label)
        with os.fdopen(lock_fd, "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            # Another process may have written it meanwhile; a bad entry was reported above.
            component = self._try_deserialize(path, digest, report=False)
            if component is not None:
                return component
            component = self._compile_fresh(data, label)
            artifact = bytes(component.serialize())
            header = {
                **self._expected_header(digest),
                "artifact-sha256": hashlib.sha256(artifact).hexdigest(),
                "artifact-size": len(artifact),
            }
            line = CACHE_ENTRY_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
            write_atomically(path, line + artifact)  # mkstemp: mode 0600
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

    def _try_deserialize(self, path: Path, digest: str, report: bool = True) -> Component | None:
        # Read into memory rather than deserialize_file: that one maps the file, and a cache
        # entry truncated by another process while mapped would kill the interpreter (SIGBUS).
        # A bytearray, so that the artifact is hashed and handed to wasmtime without a copy.
        try:
            with open(path, "rb") as entry:
                data = bytearray(os.fstat(entry.fileno()).st_size)
                if entry.readinto(data) != len(data):
                    return None  # being replaced: compile (under the lock) instead
        except OSError:
            return None  # no entry yet
        start, problem = _verified_artifact(data, self._expected_header(digest))
        if start is not None:
            try:
                return _deserialize(self.engine, data, start)
            except wasmtime.WasmtimeError as error:
                problem = f"wasmtime refused it: {_first_cause(error)}"
        if report and path not in self.rejected_entries:
            self.rejected_entries.append(path)
            _log.warning("compiled-component cache entry %s does not match its component "
                         "(%s): compiling it again", path, problem)
        return None


def _verified_artifact(data: bytearray, expected: dict[str, str]) -> tuple[int | None, str]:
    """Where the serialized artifact of a cache entry starts if its header matches ``expected``
    and its digest, else ``None`` and what is wrong (checked before any native code is loaded)."""
    end = data.find(b"\n", 0, _MAX_HEADER)
    if not data.startswith(CACHE_ENTRY_MAGIC) or end < 0:
        return None, "no pytest-hotupdate header"
    try:
        header = json.loads(bytes(data[len(CACHE_ENTRY_MAGIC):end]))
    except ValueError:
        return None, "unreadable header"
    if not isinstance(header, dict):
        return None, "unreadable header"
    for key, want in expected.items():
        if header.get(key) != want:
            return None, f"{key} is {header.get(key)!r}, expected {want!r}"
    with memoryview(data) as view:
        artifact = view[end + 1:]
        size = len(artifact)
        digest = hashlib.sha256(artifact).hexdigest()
        artifact.release()
    if header.get("artifact-size") != size:
        return None, f"artifact of {size} bytes, header says {header.get('artifact-size')!r}"
    if header.get("artifact-sha256") != digest:
        return None, "artifact digest differs from its header"
    return end + 1, ""


def _deserialize(engine: wasmtime.Engine, data: bytearray, start: int) -> Component:
    """``Component.deserialize`` of ``data[start:]`` without copying it first (wasmtime-py's
    own copies the whole buffer once more; wasmtime copies it into executable memory anyway)."""
    size = len(data) - start
    buffer = (ctypes.c_uint8 * size).from_buffer(data, start)
    pointer = ctypes.POINTER(ffi.wasmtime_component_t)()
    error = ffi.wasmtime_component_deserialize(engine.ptr(), buffer, size, ctypes.byref(pointer))
    del buffer  # the bytearray may be resized again only once no ctypes view holds it
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return Component._from_ptr(pointer)


def _private_directory(folder: Path) -> bool:
    """Create ``folder`` (mode 0700) or make an existing one private; ``False`` (and one log
    line) if it cannot be used: not a directory, or owned by another user."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(exist_ok=True, mode=0o700)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode):
            problem = "not a directory"
        elif info.st_uid != os.getuid():
            problem = f"owned by uid {info.st_uid}, not by this user"
        else:
            if stat.S_IMODE(info.st_mode) != 0o700:
                # Others could plant native code here: only the user may read or write it.
                os.chmod(folder, 0o700)
            return True
    except OSError as error:
        problem = error.strerror or str(error)
    if folder not in _REFUSED_DIRS:
        _REFUSED_DIRS.add(folder)
        _log.warning("compiled-component cache %s not used (%s): compiling in memory",
                     folder, problem)
    return False


_REFUSED_DIRS: set[Path] = set()


def read_component_file(path: Path) -> bytes:
    """The bytes of a component file; never reads a FIFO or device (it could block or never
    end) nor a directory.

    Raises:
        ComponentLoadError: missing, unreadable, or not a regular file (one line naming it).
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ComponentLoadError(f"{path}: no such file", str(path)) from None
    except PermissionError:
        raise ComponentLoadError(f"{path}: permission denied", str(path)) from None
    except IsADirectoryError:
        raise ComponentLoadError(f"{path}: is a directory, not a component file", str(path)) from None
    except OSError as error:
        raise ComponentLoadError(f"{path}: cannot read: {error.strerror}", str(path)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ComponentLoadError(f"{path}: is a directory, not a component file", str(path))
        raise ComponentLoadError(
            f"{path}: not a regular file (a FIFO, device or socket), not a component file",
            str(path))
    with os.fdopen(fd, "rb") as fh:
        try:
            # The structure first, from the section headers alone: 200 MB of zeros after a
            # header is refused without reading (or hashing) 200 MB.
            # (A size of 0 may be a /proc file with content: read it and check the bytes.)
            size = os.fstat(fd).st_size
            if size:
                _check_structure(size, lambda pos, count: os.pread(fd, count, pos), str(path))
            return fh.read()
        except OSError as error:
            raise ComponentLoadError(f"{path}: cannot read: {error.strerror}", str(path)) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (readers never see a partial file,
    even across processes; see :mod:`pytest_hotupdate.atomic`)."""
    with atomic_writer(path) as out:
        out.write(data)


def describe(
    component: Component, engine: wasmtime.Engine, name: str, source: str, digest: str
) -> LoadedComponent:
    """Build the interface model of a compiled component (exports and imports with types)."""
    loaded = LoadedComponent(name=name, source=source, sha256=digest, component=component)
    for interface, export_name, ftype in _functions(component.type.exports(engine), engine):
        params, result = func_signature(ftype)
        item = golem_item_name(export_name)
        golem_name = qualified_name(interface, item)
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
