"""Snapshots of any size between the host and the guest, past wasmtime's hostcall fuel.

wasmtime 50 lifts a guest's ``list<u8>`` into one dynamic value per byte and charges the Store's
"hostcall fuel" (128 MiB, not settable through the C API) 48 bytes for each: a ``save`` result
over about 2.6 MiB traps with "fuel allocated for hostcalls has been exhausted". Lowering a
large ``list<u8>`` into ``load`` costs as much memory (21 GB and 58 s for 256 MiB). A latin1
string moves the same bytes at one unit of fuel per byte, in one bulk copy.

So a component exporting ``golem:api/save-snapshot`` or ``load-snapshot`` is augmented when it is
added to a registry (:func:`augment`, cached on disk by content): beside its own exports it gets
:data:`INTERFACE`, lifted from a small core module that calls the component's own core ``save``
and ``load`` and reads or fills their buffers in its own linear memory:

- ``bulk-save-begin() -> u32`` calls ``save`` and keeps its result; ``bulk-save-read(offset,
  length) -> string`` (latin1) and ``bulk-save-read-bytes`` (``list<u8>``, for the first byte
  when ``bulk-save-odd()`` says the payload starts at an odd address)
  return a slice of the payload, ``bulk-save-mime() -> string`` its MIME type (1.5.0 form),
  ``bulk-save-end()`` runs the component's post-return for ``save``;
- ``bulk-load-begin(total: u32)`` allocates the payload through the component's
  ``cabi_realloc``; ``bulk-load-chunk(data: string)`` (latin1) lowers each chunk straight into
  place; ``bulk-load-end([mime-type]) -> result<_, string>`` calls ``load`` with it.

:func:`save` and :func:`load` move a :class:`~pytest_hotupdate.snapshot.Snapshot` through those
functions in :data:`CHUNK_BYTES` chunks; :func:`save_snapshot` and :func:`load_snapshot` (what a
worker's snapshot update calls) use them, or call ``save``/``load`` directly on a component that
is not augmented. The component's other exports and imports are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import ComponentLoadError, HotUpdateError, InvocationError
from ..snapshot import (
    LOAD_INTERFACE,
    SAVE_INTERFACE,
    SNAPSHOT_INTERFACES,
    Snapshot,
    find_load,
    find_save,
    load_arguments,
    load_error,
    snapshot_from_save,
)
from ..values import ListType, Prim, RecordType
from .load import FunctionInfo, LoadedComponent, default_cache_dir, write_atomically


class _Incarnation(Protocol):
    """The worker's incarnation, as far as moving a snapshot needs it."""

    component: LoadedComponent
    revision: int


class _UnrecordedCaller(Protocol):
    """The worker, as far as moving a snapshot needs it (it calls the bulk exports)."""

    def call_unrecorded(self, incarnation: Any, info: FunctionInfo, args: tuple[Any, ...]
                        ) -> Any:
        ...

__all__ = ["CHUNK_BYTES", "INTERFACE", "MAX_SNAPSHOT_BYTES", "augment", "load", "save"]

#: The interface an augmented component exports (and that marks it as augmented).
INTERFACE = "hotupdate:bulk/snapshot"

#: Bytes moved per call (well under the 128 MiB of hostcall fuel a latin1 string may use).
CHUNK_BYTES = 16 << 20

#: The largest payload a wasm32 guest can be given (a u32 length; its memory is 4 GiB at most).
MAX_SNAPSHOT_BYTES = (1 << 32) - 1

#: A symbolic id as wasm-tools prints it: ``$name`` or ``$"name with spaces"``.
_ID = r'\$"[^"]*"|\$[^\s()]+'


@dataclass(frozen=True)
class _Lift:
    core_func: str  # the lifted core function, as the printed text refers to it
    memory: str
    realloc: str | None
    post_return: str | None
    encoding: str
    record_form: bool


def _ref(declaration: str) -> str:
    """How the text refers to an item declared as ``(core func $name (;N;))`` or ``(;N;)``."""
    named = re.match(_ID, declaration)
    if named:
        return named.group(0)
    number = re.search(r"\(;(\d+);\)", declaration)
    if not number:
        raise ValueError(f"cannot read the item reference in {declaration!r}")
    return number.group(1)


def _find_lift(lines: list[str], interface: str, function: str) -> _Lift | None:
    alias = re.compile(r'  \(alias core export \S+ "' + re.escape(interface)
                       + r'@[^"#]+#' + function + r'" \(core func (.*)\)\)$')
    core_ref = None
    for line in lines:
        match = alias.match(line)
        if match:
            core_ref = _ref(match.group(1))
            break
    if core_ref is None:
        return None
    lift = re.compile(r"  \(func .*\(type (\S+?)\) \(canon lift \(core func "
                      + re.escape(core_ref) + r"\)(.*)\)\)$")
    for line in lines:
        match = lift.match(line)
        if match:
            options = match.group(2)

            def option(name: str, options: str = options) -> str | None:
                found = re.search(r"\(" + name + " (" + _ID + r"|\d+)\)", options)
                return found.group(1) if found else None

            memory = option("memory")
            if memory is None:
                return None
            encoding = re.search(r"string-encoding=(\S+)", options)
            return _Lift(core_ref, memory, option("realloc"), option("post-return"),
                         encoding.group(1).rstrip(")") if encoding else "utf8",
                         not _is_list_form(lines, match.group(1), function))
    return None


def _type_line(lines: list[str], ref: str) -> str:
    """The component-level type definition ``ref`` (``$name`` or an index) refers to."""
    start = f"  (type {ref} " if ref.startswith("$") else f"  (type (;{ref};) "
    return next((line for line in lines if line.startswith(start)), "")


def _is_list_form(lines: list[str], type_ref: str, function: str) -> bool:
    """Whether save's result (or load's parameter) is a plain ``list<u8>``."""
    func = _type_line(lines, type_ref)
    found = re.search(r"\(result (\S+?)\)\)\)$" if function == "save"
                      else r'\(param "\S+" (\S+?)\)', func)
    if not found:
        return "(list u8)" in func
    value = found.group(1)
    return value == "(list" or "(list u8)" in _type_line(lines, value)


def _bulk_text(save: _Lift | None, load: _Lift | None) -> str:
    memory = (save or load).memory  # type: ignore[union-attr]
    imports, body, items, exports = [], [], [], []
    imports.append('(import "g" "memory" (memory 0))')
    inline = [f'(export "memory" (memory {memory}))']
    if save is not None:
        imports.append('(import "g" "save" (func $save (result i32)))')
        inline.append(f'(export "save" (func {save.core_func}))')
        post = ""
        if save.post_return:
            imports.append('(import "g" "save-post" (func $save_post (param i32)))')
            inline.append(f'(export "save-post" (func {save.post_return}))')
            post = "(call $save_post (global.get $ret))"
        body.append(f"""
    (func (export "save-begin") (result i32)
      (global.set $ret (call $save))
      (global.set $ptr (i32.load (global.get $ret)))
      (global.set $len (i32.load offset=4 (global.get $ret)))
      (global.get $len))
    (func (export "save-read") (param $off i32) (param $n i32) (result i32)
      (if (i32.gt_u (local.get $off) (global.get $len)) (then unreachable))
      (if (i32.gt_u (local.get $n) (i32.sub (global.get $len) (local.get $off))) (then unreachable))
      (i32.store (global.get $ret) (i32.add (global.get $ptr) (local.get $off)))
      (i32.store offset=4 (global.get $ret) (local.get $n))
      (global.get $ret))
    (func (export "save-odd") (result i32) (i32.and (global.get $ptr) (i32.const 1)))
    (func (export "save-mime") (result i32) (i32.add (global.get $ret) (i32.const 8)))
    (func (export "save-end")
      (i32.store (global.get $ret) (global.get $ptr))
      (i32.store offset=4 (global.get $ret) (global.get $len))
      {post})""")
        items.append(f"""
  (type $hu-u32-result (func (result u32)))
  (type $hu-read (func (param "offset" u32) (param "length" u32) (result string)))
  (type $hu-read-bytes (func (param "offset" u32) (param "length" u32) (result (list u8))))
  (type $hu-string-result (func (result string)))
  (type $hu-nothing (func))
  (alias core export $hu-bulk "save-begin" (core func $hu-save-begin-core))
  (func $hu-save-begin (type $hu-u32-result) (canon lift (core func $hu-save-begin-core)))
  (alias core export $hu-bulk "save-read" (core func $hu-save-read-core))
  (func $hu-save-read (type $hu-read)
    (canon lift (core func $hu-save-read-core) (memory {memory}) string-encoding=latin1+utf16))
  (func $hu-save-read-bytes (type $hu-read-bytes)
    (canon lift (core func $hu-save-read-core) (memory {memory})))
  (alias core export $hu-bulk "save-odd" (core func $hu-save-odd-core))
  (func $hu-save-odd (type $hu-u32-result) (canon lift (core func $hu-save-odd-core)))
  (alias core export $hu-bulk "save-mime" (core func $hu-save-mime-core))
  (func $hu-save-mime (type $hu-string-result)
    (canon lift (core func $hu-save-mime-core) (memory {memory}) string-encoding={save.encoding}))
  (alias core export $hu-bulk "save-end" (core func $hu-save-end-core))
  (func $hu-save-end (type $hu-nothing) (canon lift (core func $hu-save-end-core)))""")
        exports += ['(export "bulk-save-begin" (func $hu-save-begin))',
                    '(export "bulk-save-read" (func $hu-save-read))',
                    '(export "bulk-save-read-bytes" (func $hu-save-read-bytes))',
                    '(export "bulk-save-odd" (func $hu-save-odd))',
                    '(export "bulk-save-mime" (func $hu-save-mime))',
                    '(export "bulk-save-end" (func $hu-save-end))']
    if load is not None and load.realloc is not None:
        params = "(param i32 i32 i32 i32)" if load.record_form else "(param i32 i32)"
        imports.append(f'(import "g" "load" (func $load {params} (result i32)))')
        imports.append(
            '(import "g" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))')
        inline.append(f'(export "load" (func {load.core_func}))')
        inline.append(f'(export "realloc" (func {load.realloc}))')
        mime_params = "(param $mptr i32) (param $mlen i32)" if load.record_form else ""
        mime_args = "(local.get $mptr) (local.get $mlen)" if load.record_form else ""
        body.append(f"""
    (func (export "load-begin") (param $total i32)
      (global.set $buf (call $realloc (i32.const 0) (i32.const 0) (i32.const 2) (local.get $total)))
      (global.set $total (local.get $total))
      (global.set $filled (i32.const 0)))
    ;; wasmtime asks for the string's UTF-8 length (up to twice the chunk) at 2-byte alignment,
    ;; writes the latin1 bytes from the start, then shrinks: hand out the next bytes of the
    ;; payload, growing memory so that the whole request is in bounds.
    (func (export "chunk-realloc") (param $old i32) (param $old_size i32) (param $align i32)
        (param $size i32) (result i32)
      (local $ptr i32) (local $end i64) (local $have i64)
      (if (local.get $old) (then (return (local.get $old))))
      (local.set $ptr (i32.add (global.get $buf) (global.get $filled)))
      (local.set $end (i64.add (i64.extend_i32_u (local.get $ptr))
                               (i64.extend_i32_u (local.get $size))))
      (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (if (i64.gt_u (local.get $end) (local.get $have))
        (then
          (if (i32.eq (memory.grow (i32.wrap_i64
                (i64.shr_u (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 65535))
                           (i64.const 16))))
                      (i32.const -1))
            (then unreachable))))
      (local.get $ptr))
    (func (export "load-chunk") (param $p i32) (param $n i32)
      (if (i32.ne (local.get $p) (i32.add (global.get $buf) (global.get $filled)))
        (then unreachable))
      (if (i32.gt_u (local.get $n) (i32.sub (global.get $total) (global.get $filled)))
        (then unreachable))
      (global.set $filled (i32.add (global.get $filled) (local.get $n))))
    (func (export "load-end") {mime_params} (result i32)
      (if (i32.ne (global.get $filled) (global.get $total)) (then unreachable))
      (call $load (global.get $buf) (global.get $total) {mime_args}))""")
        post = f" (post-return {load.post_return})" if load.post_return else ""
        mime = '(param "mime-type" string) ' if load.record_form else ""
        items.append(f"""
  (type $hu-load-begin (func (param "total" u32)))
  (type $hu-load-chunk (func (param "data" string)))
  (type $hu-load-result (result (error string)))
  (type $hu-load-end (func {mime}(result $hu-load-result)))
  (alias core export $hu-bulk "load-begin" (core func $hu-load-begin-core))
  (func $hu-load-begin (type $hu-load-begin) (canon lift (core func $hu-load-begin-core)))
  (alias core export $hu-bulk "chunk-realloc" (core func $hu-chunk-realloc))
  (alias core export $hu-bulk "load-chunk" (core func $hu-load-chunk-core))
  (func $hu-load-chunk (type $hu-load-chunk)
    (canon lift (core func $hu-load-chunk-core) (memory {memory}) (realloc $hu-chunk-realloc)
                string-encoding=latin1+utf16))
  (alias core export $hu-bulk "load-end" (core func $hu-load-end-core))
  (func $hu-load-end (type $hu-load-end)
    (canon lift (core func $hu-load-end-core) (memory {memory}) (realloc {load.realloc})
                string-encoding={load.encoding}{post}))""")
        exports += ['(export "bulk-load-begin" (func $hu-load-begin))',
                    '(export "bulk-load-chunk" (func $hu-load-chunk))',
                    '(export "bulk-load-end" (func $hu-load-end))']
    globals_ = "".join(f"\n    (global ${name} (mut i32) (i32.const 0))"
                       for name in ("ret", "ptr", "len", "buf", "total", "filled"))
    return f"""
  (core module $hu-bulk-module
    {chr(10).join("    " + i for i in imports).strip()}{globals_}{"".join(body)}
  )
  (core instance $hu-bulk (instantiate $hu-bulk-module
    (with "g" (instance {" ".join(inline)}))))
{"".join(items)}
  (instance $hu-bulk-instance {" ".join(exports)})
  (export "{INTERFACE}" (instance $hu-bulk-instance))
"""


def augmented_text(text: str) -> str | None:
    """The printed component ``text`` with :data:`INTERFACE` added, or None if it exports
    neither snapshot function in a form this can serve."""
    lines = text.splitlines()
    save = _find_lift(lines, SAVE_INTERFACE, "save")
    load = _find_lift(lines, LOAD_INTERFACE, "load")
    if save is not None and load is not None and save.memory != load.memory:
        load = None
    if save is None and (load is None or load.realloc is None):
        return None
    end = len(lines) - 1
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("  (@producers"):
            end = index
            break
    if lines[-1] != ")":
        return None
    return "\n".join(lines[:end]) + _bulk_text(save, load) + "\n".join(lines[end:]) + "\n"


def needs_augmenting(data: bytes) -> bool:
    """Whether ``data`` exports a snapshot interface and is not augmented yet (a byte scan)."""
    return any(f"{name}@".encode() in data for name in SNAPSHOT_INTERFACES) and (
        INTERFACE.encode() not in data)


def augment(source: str | os.PathLike[str] | bytes) -> str | os.PathLike[str] | bytes:
    """``source`` itself, or the bytes of it with :data:`INTERFACE` added (cached on disk by
    content, as is the finding that a component cannot be augmented)."""
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), "<bytes>"
    else:
        label = str(source)
        try:
            # Only a regular file that starts like wasm: the loader reports anything else (a
            # FIFO or /dev/zero must not be read here).
            if not stat.S_ISREG(os.stat(source).st_mode):
                return source
            with open(source, "rb") as handle:
                if handle.read(4) != b"\0asm":
                    return source
                data = b"\0asm" + handle.read()
        except OSError:
            return source
    if not needs_augmenting(data):
        return source
    digest = hashlib.sha256(data).hexdigest()
    cache = default_cache_dir() / "bulk"
    out, unserved = cache / f"bulk-{digest[:32]}.wasm", cache / f"bulk-{digest[:32]}.direct"
    if unserved.exists():
        return source
    try:
        return out.read_bytes()
    except OSError:
        pass
    augmented = _augmented_bytes(data, label)
    cache.mkdir(parents=True, exist_ok=True)
    if augmented is None:  # remembered, so that it is not printed again on every load
        write_atomically(unserved, b"")
        return source
    write_atomically(out, augmented)
    return augmented


def _augmented_bytes(data: bytes, label: str) -> bytes | None:
    from .shims import run_wasm_tools

    with tempfile.TemporaryDirectory(prefix="hotupdate-bulk-") as tmp:
        original, printed, result = (Path(tmp) / name for name in ("in.wasm", "in.wat", "out.wasm"))
        original.write_bytes(data)
        try:
            run_wasm_tools(label, "print", str(original), "-o", str(printed))
        except ComponentLoadError:
            return None  # not a component wasm-tools can print: the loader says why
        try:
            text = augmented_text(printed.read_text(encoding="utf-8"))
        except ValueError:  # printed in a way this does not read: the direct path
            text = None
        if text is None:
            return None
        printed.write_text(text, encoding="utf-8")
        try:
            run_wasm_tools(label, "parse", str(printed), "-o", str(result))
            run_wasm_tools(label, "validate", str(result))
        except ComponentLoadError:
            return None  # a form the bulk module does not fit (say, memory64): the direct path
        return result.read_bytes()


def _bulk_function(component: LoadedComponent, name: str) -> FunctionInfo | None:
    for info in component.functions.values():
        if info.interface == INTERFACE and info.export_name == name:
            return info
    return None


def save(worker: _UnrecordedCaller, incarnation: _Incarnation) -> Snapshot | None:
    """The incarnation's snapshot, moved in chunks; None if its component is not augmented
    (then ``save`` is called directly). Raises InvocationError if a call fails."""
    component = incarnation.component
    begin = _bulk_function(component, "bulk-save-begin")
    read = _bulk_function(component, "bulk-save-read")
    read_bytes = _bulk_function(component, "bulk-save-read-bytes")
    end = _bulk_function(component, "bulk-save-end")
    mime = _bulk_function(component, "bulk-save-mime")
    odd = _bulk_function(component, "bulk-save-odd")
    info = find_save(component)
    if (begin is None or read is None or read_bytes is None or end is None or mime is None
            or odd is None or info is None or not _is_served(info.result)):
        return None
    try:
        return _save(worker, incarnation, info, begin, read, read_bytes, end, mime, odd)
    except InvocationError as error:
        raise _as_call_of(error, info) from None


def _as_call_of(error: InvocationError, info: FunctionInfo) -> InvocationError:
    """``error`` of a bulk function, told as a failure of the snapshot function it serves."""
    message = re.sub(re.escape(INTERFACE) + r"\.\{bulk-[a-z-]+\}", info.golem_name, str(error))
    return InvocationError(message, info.golem_name, error.kind)


def _save(worker: _UnrecordedCaller, incarnation: _Incarnation, info: FunctionInfo,
          begin: FunctionInfo, read: FunctionInfo, read_bytes: FunctionInfo, end: FunctionInfo, mime: FunctionInfo,
          odd: FunctionInfo) -> Snapshot:
    total = int(worker.call_unrecorded(incarnation, begin, ()))
    parts: list[bytes] = []
    offset = 0
    # A latin1 string must start at an even address: an odd first byte goes as a list<u8>.
    if total and worker.call_unrecorded(incarnation, odd, ()):
        parts.append(bytes(worker.call_unrecorded(incarnation, read_bytes, (0, 1))))
        offset = 1
    while offset < total:
        length = min(CHUNK_BYTES, total - offset)
        text = worker.call_unrecorded(incarnation, read, (offset, length))
        parts.append(text.encode("latin-1"))
        offset += length
    mime_type = None
    if not _is_list(info.result):
        mime_type = str(worker.call_unrecorded(incarnation, mime, ()))
    worker.call_unrecorded(incarnation, end, ())
    payload = b"".join(parts)
    return Snapshot(payload) if mime_type is None else Snapshot(payload, mime_type)


def _is_list(ty: Any) -> bool:
    return isinstance(ty, ListType) and ty.element == Prim("u8")


def _is_served(ty: Any) -> bool:
    """Whether the bulk module's memory layout fits ``ty``: ``list<u8>``, or exactly
    ``record { payload: list<u8>, mime-type: string }`` (in that order)."""
    if _is_list(ty):
        return True
    return isinstance(ty, RecordType) and [name for name, _ in ty.fields] == [
        "payload", "mime-type"] and _is_list(ty.fields[0][1]) and ty.fields[1][1] == Prim("string")


def load(worker: _UnrecordedCaller, incarnation: _Incarnation, snapshot: Snapshot
         ) -> tuple[bool, str | None]:
    """Give ``snapshot`` to the incarnation's ``load`` in chunks. Returns (whether it was moved
    this way, ``load``'s error message or None); not moved if the component is not augmented
    (then ``load`` is called directly). Raises InvocationError if a call fails."""
    component = incarnation.component
    begin = _bulk_function(component, "bulk-load-begin")
    chunk = _bulk_function(component, "bulk-load-chunk")
    end = _bulk_function(component, "bulk-load-end")
    info = find_load(component)
    if (begin is None or chunk is None or end is None or info is None
            or len(info.params) != 1 or not _is_served(info.params[0][1])):
        return False, None
    payload = snapshot.payload
    if len(payload) > MAX_SNAPSHOT_BYTES:
        raise HotUpdateError(f"a snapshot of {len(payload):,} bytes is larger than the "
                             f"{MAX_SNAPSHOT_BYTES:,} bytes a wasm32 guest can take")
    try:
        worker.call_unrecorded(incarnation, begin, (len(payload),))
        view = memoryview(payload)
        for offset in range(0, len(payload), CHUNK_BYTES):
            text = str(view[offset:offset + CHUNK_BYTES], "latin-1")
            worker.call_unrecorded(incarnation, chunk, (text,))
        args: tuple[Any, ...] = () if _is_list(info.params[0][1]) else (snapshot.mime_type,)
        return True, load_error(worker.call_unrecorded(incarnation, end, args))
    except InvocationError as error:
        raise _as_call_of(error, info) from None


def load_snapshot(worker: _UnrecordedCaller, incarnation: _Incarnation, snapshot: Snapshot
                  ) -> None:
    """Call the incarnation's ``load`` with ``snapshot`` (in chunks when its component carries
    :data:`INTERFACE`, not recorded); raise HotUpdateError if ``load`` is absent, fails or
    returns ``err``."""
    load_function = find_load(incarnation.component)
    if load_function is None:
        raise HotUpdateError(
            f"revision {incarnation.revision} does not export golem:api/load-snapshot")
    try:
        arguments = load_arguments(load_function, snapshot)
    except ValueError as error:
        raise HotUpdateError(str(error)) from None
    moved, message = load(worker, incarnation, snapshot)
    if not moved:
        message = load_error(worker.call_unrecorded(incarnation, load_function, arguments))
    if message is not None:
        raise HotUpdateError(message)


def save_snapshot(worker: _UnrecordedCaller, incarnation: _Incarnation) -> Snapshot:
    """The incarnation's ``save`` result (not recorded), moved in chunks when its component
    carries :data:`INTERFACE`. Raises InvocationError if a call fails, ValueError if ``save``
    is missing or returns no snapshot."""
    moved = save(worker, incarnation)
    if moved is not None:
        return moved
    save_function = find_save(incarnation.component)
    if save_function is None:
        raise ValueError(f"revision {incarnation.revision} does not export "
                         "golem:api/save-snapshot")
    return snapshot_from_save(save_function,
                              worker.call_unrecorded(incarnation, save_function, ()))
