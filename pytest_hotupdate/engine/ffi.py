"""The low-level ways into wasmtime's C API that wasmtime-py does not offer.

- :class:`Interrupter`: a per-Store epoch-deadline callback. Every Store's deadline is one tick;
  at each tick the callback decides for that Store alone whether to let it run on, or to stop it
  because its invocation ran past its deadline, because an update asked to interrupt it, or
  because Ctrl-C was pressed while the main thread was inside it.
  (``Engine.increment_epoch`` alone would stop every Store of the engine at once.)
- :class:`DirectFunc`: calls a component function with its types looked up once, and with
  ``list<u8>`` values copied in bulk (:func:`fast_type`).
"""

from __future__ import annotations

import ctypes
import math
import signal
import threading
import time
from typing import Any

import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi
from wasmtime.component import Func, Record, _enter

#: Text of the error the interrupt callback raises; how a stop of ours is told from a trap.
INTERRUPT_MARKER = "hotupdate: invocation interrupted"


_DeadlineCallback = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ffi.wasmtime_update_deadline_kind_t),
)
_Finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_NO_FINALIZER = _Finalizer(lambda _env: None)
_CONTINUE = 0  # WASMTIME_UPDATE_DEADLINE_CONTINUE


class Interrupter:
    """Stops one Store's running code when its deadline passes or when asked to.

    ``arm(seconds)`` before a call (or an instantiation) sets the deadline; ``disarm()`` after
    it. Setting ``interrupt_requested`` (from any thread) stops the call at the next tick, at
    most TICK_SECONDS later (the worker also checks it after each durable host call).
    ``reason`` says why the last stop happened: ``deadline``, ``interrupt`` or ``signal``
    (Ctrl-C; :meth:`take_raised` then gives the ``KeyboardInterrupt`` to raise to the caller).
    """

    def __init__(self) -> None:
        self.deadline = math.inf
        self.interrupt_requested = False
        self.reason: str | None = None
        #: An exception for the caller once the guest has stopped (set by the SIGINT handler).
        self.raised: BaseException | None = None
        self._in_main_thread = False
        self._callback = _DeadlineCallback(self._on_tick)

    def attach(self, store: wasmtime.Store) -> None:
        """Install the callback on ``store`` (the Store then checks in at every tick)."""
        ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), self._callback, None, _NO_FINALIZER)
        store.set_epoch_deadline(1)

    def arm(self, store: wasmtime.Store, seconds: float) -> None:
        """Start a deadline of ``seconds`` for the code about to run in ``store``."""
        self.deadline = time.monotonic() + seconds
        self.reason = None
        store.set_epoch_deadline(1)
        if threading.get_ident() == _MAIN_THREAD:
            self._in_main_thread = True
            _SIGINT.enter(self)

    def disarm(self) -> None:
        """The call has returned: no deadline until the next :meth:`arm`."""
        self.deadline = math.inf
        if self._in_main_thread:
            self._in_main_thread = False
            _SIGINT.leave(self)

    def remaining(self) -> float:
        """Seconds left before the deadline (``inf`` when not armed)."""
        return self.deadline - time.monotonic()

    def stop_with(self, error: BaseException) -> None:
        """Stop the running code at the next tick and have the caller raise ``error``."""
        if self.raised is None:
            self.raised = error

    def take_raised(self) -> BaseException | None:
        """The exception :meth:`stop_with` left for the caller (once), or None."""
        raised, self.raised = self.raised, None
        return raised

    def _on_tick(self, _context: Any, _env: Any, delta: Any, kind: Any) -> int:
        try:
            if self.raised is not None:
                self.reason = "signal"
            elif self.interrupt_requested:
                self.reason = "interrupt"
            elif time.monotonic() > self.deadline:
                self.reason = "deadline"
            else:
                delta[0] = 1
                kind[0] = _CONTINUE
                return 0
        except BaseException as error:  # a signal handler of the user's raised in this callback
            self.stop_with(error)
            self.reason = "signal"
        error_ptr = ffi.wasmtime_error_new(INTERRUPT_MARKER.encode())
        return ctypes.cast(error_ptr, ctypes.c_void_p).value or 0


_MAIN_THREAD = threading.main_thread().ident


class _SigintGuard:
    """Ctrl-C while the main thread is inside guest code.

    Python runs a signal handler only between bytecodes of the main thread. While that thread
    is inside wasm, the only Python code it runs is the epoch callback and host functions, and a
    ``KeyboardInterrupt`` raised there would be swallowed by ctypes or wasmtime-py, so the guest
    would run on. The first time the main thread enters a guest, Python's default SIGINT handler
    (only that one: a handler of the user's is left alone) is replaced by :meth:`handle`: inside
    a guest call it asks the innermost one to stop (the call then raises ``KeyboardInterrupt``),
    outside any it does what the default handler does.
    """

    def __init__(self) -> None:
        self.calls: list[Interrupter] = []
        self.checked = False

    def enter(self, interrupter: Interrupter) -> None:
        if not self.checked:
            self.checked = True
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, self.handle)
        self.calls.append(interrupter)

    def leave(self, interrupter: Interrupter) -> None:
        if self.calls and self.calls[-1] is interrupter:
            self.calls.pop()
        elif interrupter in self.calls:  # pragma: no cover - calls nest strictly
            self.calls.remove(interrupter)

    def handle(self, signum: int, frame: Any) -> None:
        if self.calls:
            self.calls[-1].stop_with(KeyboardInterrupt())
            return
        signal.default_int_handler(signum, frame)


_SIGINT = _SigintGuard()

_VAL_SIZE = ctypes.sizeof(ffi.wasmtime_component_val_t)
_PAYLOAD_OFFSET = ffi.wasmtime_component_val_t.of.offset
_KIND_U8 = ffi.WASMTIME_COMPONENT_U8.value
_KIND_BOOL = ffi.WASMTIME_COMPONENT_BOOL.value


def _view(data: Any, count: int) -> memoryview:
    """A writable byte view of ``count`` C API values starting at ``data`` (no copy)."""
    address = ctypes.cast(data, ctypes.c_void_p).value
    if address is None:
        raise ValueError("a null C API value array")
    return memoryview((ctypes.c_char * (count * _VAL_SIZE)).from_address(address)).cast("B")


class _BytesList:
    """``list<u8>`` <-> ``bytes`` by bulk copies.

    Stock wasmtime-py converts a ``list<u8>`` one element (one Python call) at a time, about
    80 ms per 100 KB. The C API's list is an array of tagged values; this builds and reads that
    array with strided slice assignments on a ``bytearray`` instead.
    """

    def convert_to_c(self, store: Any, value: Any, ptr: Any) -> None:
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError("expected bytes value")
        count = len(value)
        raw = ffi.wasmtime_component_vallist_t()
        ffi.wasmtime_component_vallist_new_uninit(raw, count)
        if count:
            # Write the kind tag and the u8 payload of every element straight into the list's
            # memory; the rest of each value is never read for a u8.
            layout = _view(raw.data, count)
            layout[0::_VAL_SIZE] = bytes((_KIND_U8,)) * count
            layout[_PAYLOAD_OFFSET::_VAL_SIZE] = value
        ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
        ptr.contents.of.list = raw

    def convert_from_c(self, c: Any) -> bytes:
        raw = c.of.list
        try:
            if not raw.size:
                return b""
            layout = _view(raw.data, raw.size)
            if layout[0::_VAL_SIZE] != bytes((_KIND_U8,)) * raw.size:
                raise TypeError("list<u8> holds values that are not u8")
            return layout[_PAYLOAD_OFFSET::_VAL_SIZE].tobytes()
        finally:
            ffi.wasmtime_component_vallist_delete(ctypes.byref(raw))


class _Record:
    """A record with its field types resolved once (so nested ``list<u8>`` fields are fast)."""

    def __init__(self, fields: list[tuple[str, Any]]) -> None:
        self.fields = fields

    def convert_to_c(self, store: Any, value: Any, ptr: Any) -> None:
        fields = self.fields
        raw = ffi.wasmtime_component_valrecord_t()
        ffi.wasmtime_component_valrecord_new_uninit(raw, len(fields))
        done = 0
        try:
            for name, ty in fields:
                ty.convert_to_c(store, getattr(value, name), ctypes.pointer(raw.data[done].val))
                raw.data[done].name = ffi.str_to_capi(name)
                done += 1
            ptr.contents.kind = ffi.WASMTIME_COMPONENT_RECORD
            ptr.contents.of.record = raw
        except BaseException:
            for index in range(done, len(fields)):
                raw.data[index].val.kind = _KIND_BOOL
                raw.data[index].val.of.boolean = False
            ffi.wasmtime_component_valrecord_delete(ctypes.byref(raw))
            raise

    def convert_from_c(self, c: Any) -> Any:
        record = Record()
        try:
            for index, (name, ty) in zip(range(c.of.record.size), self.fields):
                field = c.of.record.data[index]
                setattr(record, name, ty.convert_from_c(field.val))
                field.val.kind = _KIND_BOOL
                field.val.of.boolean = False
            return record
        finally:
            ffi.wasmtime_component_valrecord_delete(c.of.record)


def fast_type(ty: Any) -> Any:
    """``ty``, or a faster stand-in with the same conversion methods: ``list<u8>`` anywhere at
    the top or inside records (snapshot payloads) is copied in bulk."""
    if isinstance(ty, wc.ListType) and isinstance(ty.element, wc.U8):
        return _BytesList()
    if isinstance(ty, wc.RecordType):
        fields = [(name, fast_type(field)) for name, field in ty.fields]
        if any(isinstance(field, (_BytesList, _Record)) for _, field in fields):
            return _Record(fields)
    return ty


class _ParamBuffer(threading.local):
    """A per-thread list of tagged values, reused for ``list<u8>`` parameters.

    The C API only reads a call's parameters (it copies them into its own values before the
    guest runs), so a top-level ``list<u8>`` parameter can borrow this buffer instead of
    allocating, tagging and freeing 32 bytes per element on every call. Grow-only, up to
    BORROW_LIMIT elements; larger lists are allocated per call.
    """

    array: Any = None
    capacity = 0
    tagged = 0  # elements whose kind byte is already u8


BORROW_LIMIT = 4 << 20
_PARAM_BUFFER = _ParamBuffer()


def _borrowed_bytes_list(value: bytes) -> Any:
    """A C API list of ``value``'s bytes, in the thread's reusable buffer (not to be freed)."""
    count = len(value)
    raw = ffi.wasmtime_component_vallist_t()
    if not count:
        return raw  # size 0, no data
    buffer = _PARAM_BUFFER
    if count > buffer.capacity:
        buffer.capacity = max(count, 2 * buffer.capacity)
        buffer.array = (ctypes.c_char * (buffer.capacity * _VAL_SIZE))()
        buffer.tagged = 0
    view = memoryview(buffer.array).cast("B")
    if count > buffer.tagged:
        start, stop = buffer.tagged * _VAL_SIZE, count * _VAL_SIZE
        view[start:stop:_VAL_SIZE] = bytes((_KIND_U8,)) * (count - buffer.tagged)
        buffer.tagged = count
    view[_PAYLOAD_OFFSET:count * _VAL_SIZE:_VAL_SIZE] = value
    raw.size = count
    raw.data = ctypes.cast(buffer.array, ctypes.POINTER(ffi.wasmtime_component_val_t))
    return raw


class DirectFunc:
    """Calls a component function with its types looked up once, not on every call.

    wasmtime-py's ``Func.__call__`` asks the C API for the function's type (and builds Python
    type objects) on every call; this does the same conversion and call with those cached.
    """

    __slots__ = ("_func", "_param_types", "_result_type", "_borrow")

    def __init__(self, func: Func, store: wasmtime.Store) -> None:
        func_type = func.type(store)
        self._func = func._func
        self._param_types = tuple(fast_type(ty) for _, ty in func_type.params)
        self._borrow = tuple(isinstance(ty, _BytesList) for ty in self._param_types)
        result = func_type.result
        self._result_type = fast_type(result) if result is not None else None

    def __call__(self, store: wasmtime.Store, params: list[Any]) -> Any:
        count = len(params)
        param_capi = (ffi.wasmtime_component_val_t * count)()
        converted = 0
        borrowed: list[int] = []
        try:
            for ty, borrow, value in zip(self._param_types, self._borrow, params):
                slot = param_capi[converted]
                if borrow and isinstance(value, bytes) and len(value) <= BORROW_LIMIT:
                    slot.kind = ffi.WASMTIME_COMPONENT_LIST
                    slot.of.list = _borrowed_bytes_list(value)
                    borrowed.append(converted)
                else:
                    ty.convert_to_c(store, value, ctypes.pointer(slot))
                converted += 1
            result_type = self._result_type
            result_space = ffi.wasmtime_component_val_t() if result_type is not None else None
            error = ffi.wasmtime_component_func_call(
                ctypes.byref(self._func),
                store._context(),
                param_capi,
                converted,
                ctypes.byref(result_space) if result_space is not None else None,
                1 if result_space is not None else 0,
            )
            if error:
                # Not wasmtime-py's maybe_raise_last_exn(): its one module-wide slot holds the
                # last host-function exception of *any* thread. The worker keeps its own.
                _enter.LAST_EXCEPTION = None
                raise wasmtime.WasmtimeError._from_ptr(error)
            if result_space is None or result_type is None:
                return None
            return result_type.convert_from_c(result_space)
        finally:
            for index in borrowed:  # the buffer is ours: never hand it to the C API's free
                param_capi[index].kind = _KIND_BOOL
                param_capi[index].of.boolean = False
            for index in range(converted):
                ffi.wasmtime_component_val_delete(ctypes.byref(param_capi[index]))


