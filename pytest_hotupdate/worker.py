"""Durable workers: invoke, record, recover by replay.

A :class:`Worker` runs one component revision in its own wasmtime Store. Every invocation is
recorded in its oplog with the durable host calls it made; after a trap, an exceeded limit or an
explicit :meth:`Worker.restart`, the worker is rebuilt on a fresh Store by replaying the oplog,
so its state is what it was before. A :class:`Runtime` holds what workers share: the engine, the
compiled-component cache, the linkers and the epoch ticker that enforces deadlines.
"""

from __future__ import annotations

import ctypes
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Func, Instance, Linker, ResourceAny
from wasmtime.component._enter import maybe_raise_last_exn

from . import host
from .component import ComponentCache, EngineConfig, FunctionInfo, LoadedComponent, make_engine
from .errors import HotUpdateError, InvocationError, ReplayDivergence, ValueTypeError
from .host import HostFunctions, SandboxGrants
from .oplog import (
    Completed,
    Entry,
    Failed,
    HostCall,
    Invocation,
    Log,
    Oplog,
    OplogHeader,
)
from .values import (
    Handle,
    WitType,
    lifter,
    lowerer,
    values_equal,
    wave_encode,
    wave_parse,
)

#: How often the epoch ticker advances the engine's epoch (deadline granularity).
TICK_SECONDS = 0.005
#: Store memory limit and per-invocation deadline unless configured otherwise.
DEFAULT_MEMORY_LIMIT = 512 << 20
DEFAULT_DEADLINE_SECONDS = 30.0
# A deadline far in the future, for code that runs outside invocations (instantiation).
_NO_DEADLINE_TICKS = 1 << 62


@dataclass(frozen=True)
class WorkerLimits:
    """Per-invocation limits. Exceeding one fails that invocation; the worker stays usable.

    Attributes:
        deadline_seconds: wall-clock time one invocation may run (epoch interruption).
        memory_bytes: linear memory the worker may use in total (``memory.grow`` fails past it).
    """

    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    memory_bytes: int = DEFAULT_MEMORY_LIMIT


class _EpochTicker:
    """Advances an engine's epoch every TICK_SECONDS, so that deadlines can fire.

    One daemon thread per engine, started with the first worker. It holds the engine only
    weakly and ends when the engine is gone. Always ticking costs a wake-up every few
    milliseconds, far less than bookkeeping on every call would.
    """

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = weakref.ref(engine)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_tick_forever, args=(self._engine,), name="hotupdate-epoch", daemon=True
                )
                self._thread.start()


def _tick_forever(engine_ref: weakref.ref[wasmtime.Engine]) -> None:
    while True:
        time.sleep(TICK_SECONDS)
        engine = engine_ref()
        if engine is None:
            return
        engine.increment_epoch()
        del engine


class _DirectFunc:
    """Calls a component function with its types looked up once, not on every call.

    wasmtime-py's ``Func.__call__`` asks the C API for the function's type (and builds Python
    type objects) on every call; this does the same conversion and call with those cached.
    """

    __slots__ = ("_func", "_param_types", "_result_type")

    def __init__(self, func: Func, store: wasmtime.Store) -> None:
        func_type = func.type(store)
        self._func = func._func
        self._param_types = tuple(ty for _, ty in func_type.params)
        self._result_type = func_type.result

    def __call__(self, store: wasmtime.Store, params: list[Any]) -> Any:
        count = len(params)
        param_capi = (ffi.wasmtime_component_val_t * count)()
        converted = 0
        try:
            for ty, value in zip(self._param_types, params):
                ty.convert_to_c(store, value, ctypes.pointer(param_capi[converted]))
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
                raised = wasmtime.WasmtimeError._from_ptr(error)
                maybe_raise_last_exn()
                raise raised
            if result_space is None:
                return None
            return result_type.convert_from_c(result_space)
        finally:
            for index in range(converted):
                ffi.wasmtime_component_val_delete(ctypes.byref(param_capi[index]))


class Runtime:
    """What all workers of a process (or test session) share.

    Args:
        engine_config: engine settings (part of the compile-cache key).
        cache_dir: where compiled components are cached on disk (default: see
            :func:`~pytest_hotupdate.component.default_cache_dir`).
        use_disk_cache: set to False to compile every component afresh.
    """

    def __init__(
        self,
        engine_config: EngineConfig = EngineConfig(),
        cache_dir: Path | None = None,
        use_disk_cache: bool = True,
    ) -> None:
        self.engine_config = engine_config
        self.engine = make_engine(engine_config)
        self.components = ComponentCache(self.engine, engine_config, cache_dir, use_disk_cache)
        self.ticker = _EpochTicker(self.engine)
        self._linkers: dict[tuple[str, HostFunctions, SandboxGrants], Linker] = {}
        self._lock = threading.Lock()

    def load(self, source: str | Path | bytes, name: str | None = None) -> LoadedComponent:
        """Load (and compile once) a component file or bytes."""
        return self.components.load(source, name)

    def linker(
        self, component: LoadedComponent, host_functions: HostFunctions, grants: SandboxGrants
    ) -> Linker:
        """The linker for this component with these host functions and grants (cached)."""
        key = (component.sha256, host_functions, grants)
        with self._lock:
            linker = self._linkers.get(key)
            if linker is None:
                linker = host.build_linker(self.engine, component, host_functions, grants)
                self._linkers[key] = linker
            return linker

    def deadline_ticks(self, seconds: float) -> int:
        return max(1, int(seconds / TICK_SECONDS) + 1)


@dataclass(frozen=True)
class InvocationRecord:
    """One invocation as the caller saw it.

    Attributes:
        function: Golem name of the function.
        params: WAVE text of each argument.
        result: WAVE text of the result (``None`` when the function has none or it failed).
        error: the error message when it failed.
    """

    function: str
    params: tuple[str, ...]
    result: str | None
    error: str | None


@dataclass(frozen=True)
class WorkerMetadata:
    """A snapshot of a worker's status.

    Attributes:
        name: the worker's name.
        component: the component's name.
        component_revision: the revision the worker runs.
        status: ``idle``, ``running`` or ``failed`` (recovery itself failed).
        oplog_size: number of oplog entries.
        invocation_count: invocations recorded (including failed ones).
    """

    name: str
    component: str
    component_revision: int
    status: str
    oplog_size: int
    invocation_count: int


@dataclass
class _CallPlan:
    """Everything needed to call one exported function, prepared once per function."""

    info: FunctionInfo
    lowers: tuple[Callable[[Any], Any], ...]
    lift: Callable[[Any], Any] | None
    param_types: tuple[WitType, ...]


class _Recorder:
    """The worker's side of durable host calls (see :class:`host.DurableContext`)."""

    def __init__(self, oplog: Oplog) -> None:
        self.oplog = oplog
        self.replaying = False
        self.pending: deque[HostCall] = deque()
        self.host_error: BaseException | None = None

    def durable_call(
        self,
        function: str,
        params: tuple[tuple[str, WitType], ...],
        result: WitType | None,
        live: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> Any:
        if self.replaying:
            return self._answer_from_log(function, result)
        value = live(*args)
        param_text = tuple(wave_encode(ty, a) for (_, ty), a in zip(params, args))
        result_text = wave_encode(result, value) if result is not None else None
        self.oplog.append(HostCall(function, result_text, param_text, native=(result, value)))
        return value

    def _answer_from_log(self, function: str, result: WitType | None) -> Any:
        if not self.pending:
            raise ReplayDivergence(
                f"the code made host call {function}, which the oplog does not have",
                expected="(no more host calls)",
                got=function,
            )
        entry = self.pending.popleft()
        if entry.function != function:
            raise ReplayDivergence(
                f"expected host call {entry.function}, the code made {function}",
                expected=entry.function,
                got=function,
            )
        if result is None:
            return None
        if entry.native is not None and entry.native[0] == result:
            return entry.native[1]
        if entry.result is None:
            raise ReplayDivergence(
                f"host call {function} now returns {result.wit()}, the oplog has no result",
                expected="(no result)",
                got=result.wit(),
            )
        return wave_parse(result, entry.result)

    def host_failed(self, error: BaseException) -> None:
        if self.host_error is None:
            self.host_error = error


@dataclass
class _InvocationGroup:
    """An invocation read back from the oplog with its host calls and outcome."""

    invocation: Invocation | None  # None: host calls made outside any invocation (instantiation)
    host_calls: list[HostCall] = field(default_factory=list)
    outcome: Completed | Failed | None = None


def group_invocations(entries: Iterable[Entry]) -> Iterator[_InvocationGroup]:
    """Group a stream of entries into invocations (streamed: one group in memory at a time)."""
    current: _InvocationGroup | None = None
    for entry in entries:
        if isinstance(entry, Invocation):
            if current is not None:
                yield current
            current = _InvocationGroup(entry)
        elif isinstance(entry, HostCall):
            if current is None or current.outcome is not None:
                if current is not None:
                    yield current
                current = _InvocationGroup(None)
            current.host_calls.append(entry)
        elif isinstance(entry, (Completed, Failed)):
            if current is not None and current.invocation is not None and current.outcome is None:
                current.outcome = entry
                yield current
                current = None
    if current is not None:
        yield current


class Worker:
    """A durable worker: one component revision in one Store, with its oplog.

    Create workers with :meth:`pytest_hotupdate.registry.Registry.worker`.
    """

    def __init__(
        self,
        runtime: Runtime,
        component: LoadedComponent,
        *,
        component_name: str,
        revision: int,
        name: str,
        host_functions: HostFunctions = HostFunctions(),
        grants: SandboxGrants = SandboxGrants(),
        limits: WorkerLimits = WorkerLimits(),
    ) -> None:
        self.runtime = runtime
        self.component = component
        self.component_name = component_name
        self.component_revision = revision
        self.name = name
        self.host_functions = host_functions
        self.grants = grants
        self.limits = limits
        self.oplog = Oplog(OplogHeader(component_name, revision, name))
        self.status = "idle"
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._recorder = _Recorder(self.oplog)
        self._lock = threading.RLock()
        self._plans: dict[str, _CallPlan] = {}
        self._handles: dict[int, ResourceAny] = {}
        self._linker = runtime.linker(component, host_functions, grants)
        self._deadline_ticks = runtime.deadline_ticks(limits.deadline_seconds)
        runtime.ticker.start()
        self._store: wasmtime.Store
        self._instance: Instance
        self._funcs: dict[str, Any] = {}
        self._start_fresh()

    # -- public API ---------------------------------------------------------------------------

    def invoke(self, function: str, *args: Any) -> Any:
        """Call an exported function with native Python values; return its native result.

        Raises:
            InvocationError: the function does not exist, the arguments do not fit its types, or
                the call trapped or exceeded a limit (the worker is then recovered by replay and
                keeps its earlier state).
        """
        with self._lock:
            plan = self._plans.get(function) or self._plan(function)
            if len(args) != len(plan.lowers):
                _check_arity(plan, args)
            try:
                lowered = [lower(value) for lower, value in zip(plan.lowers, args)]
            except ValueTypeError as error:
                raise InvocationError(
                    f"{plan.info.golem_name}: {error}", plan.info.golem_name, "bad-arguments"
                ) from None
            params_text = tuple(
                wave_encode(ty, value) for ty, value in zip(plan.param_types, args)
            )
            oplog = self.oplog
            oplog.append(Invocation(plan.info.golem_name, params_text, (plan.param_types, args)))
            self.status = "running"
            try:
                value = self._call(plan, lowered)
            except InvocationError as error:
                oplog.append(Failed(str(error), error.kind))
                self._recover()
                raise
            finally:
                if self.status == "running":
                    self.status = "idle"
            result_type = plan.info.result
            if result_type is None:
                oplog.append(Completed(None))
            else:
                oplog.append(Completed(wave_encode(result_type, value), (result_type, value)))
            return value

    def invoke_wave(self, function: str, *args: str) -> str | None:
        """Like :meth:`invoke` with WAVE text in and out (one WAVE string per parameter)."""
        with self._lock:
            plan = self._plan(function)
            _check_arity(plan, args)
            natives = tuple(
                _parse_param(ty, name, text)
                for (name, ty), text in zip(plan.info.params, args)
            )
            result = self.invoke(plan.info.golem_name, *natives)
            if plan.info.result is None:
                return None
            return wave_encode(plan.info.result, result)

    def restart(self) -> None:
        """Drop the Store and rebuild the worker by replaying its oplog (as after a crash)."""
        with self._lock:
            self._recover()

    @property
    def invocations(self) -> list[InvocationRecord]:
        """Every invocation in the oplog, in order (failed ones included), read back from it."""
        records = []
        for group in group_invocations(self.oplog.entries):
            if group.invocation is None:
                continue
            outcome = group.outcome
            records.append(InvocationRecord(
                function=group.invocation.function,
                params=group.invocation.params,
                result=outcome.result if isinstance(outcome, Completed) else None,
                error=outcome.error if isinstance(outcome, Failed) else None,
            ))
        return records

    @property
    def stdout(self) -> str:
        """Everything the guest wrote to stdout (decoded as UTF-8, with replacement)."""
        return self._stdout.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        """Everything the guest wrote to stderr."""
        return self._stderr.decode("utf-8", "replace")

    @property
    def metadata(self) -> WorkerMetadata:
        """The worker's current status."""
        return WorkerMetadata(
            name=self.name,
            component=self.component_name,
            component_revision=self.component_revision,
            status=self.status,
            oplog_size=len(self.oplog),
            invocation_count=sum(1 for e in self.oplog.entries if isinstance(e, Invocation)),
        )

    def save_oplog(self, path: str | Path) -> None:
        """Write the oplog to a JSON Lines file (atomically)."""
        self.oplog.save(path)

    def __repr__(self) -> str:
        return (f"<Worker {self.name!r} of {self.component_name} rev "
                f"{self.component_revision}, {len(self.oplog)} oplog entries>")

    # -- invocation -----------------------------------------------------------------------------

    def _plan(self, function: str) -> _CallPlan:
        plan = self._plans.get(function)
        if plan is None:
            info = self.component.find_function(function)
            plan = self._plans.get(info.golem_name)
            if plan is None:
                plan = _CallPlan(
                    info=info,
                    lowers=tuple(
                        lowerer(ty, name, self._resolve_handle) for name, ty in info.params
                    ),
                    lift=lifter(info.result, self._register_handle) if info.result else None,
                    param_types=tuple(ty for _, ty in info.params),
                )
                self._plans[info.golem_name] = plan
            self._plans[function] = plan
        return plan

    def _call(self, plan: _CallPlan, lowered: list[Any]) -> Any:
        """Enter the guest once; translate every failure into an :class:`InvocationError`.

        The deadline is set before each call only: between calls no guest code runs, and a
        new Store (instantiation) starts without one.
        """
        func = self._funcs.get(plan.info.golem_name) or self._func(plan.info)
        recorder = self._recorder
        recorder.host_error = None
        current = host.CURRENT
        previous = current.context
        current.context = recorder
        store = self._store
        store.set_epoch_deadline(self._deadline_ticks)
        try:
            raw = func(store, lowered)
        except Exception as error:  # a trap, or a host function's exception re-raised
            raise self._classify_failure(plan.info.golem_name, error) from None
        finally:
            current.context = previous
        return plan.lift(raw) if plan.lift is not None else None

    def _classify_failure(
        self, function: str, error: BaseException
    ) -> InvocationError | ReplayDivergence:
        host_error = self._recorder.host_error
        self._recorder.host_error = None
        if isinstance(host_error, ReplayDivergence):
            return host_error
        if host_error is not None:
            return InvocationError(
                f"{function}: a host function raised {type(host_error).__name__}: {host_error}",
                function,
                "host-error",
            )
        message = _trap_message(error)
        if "interrupt" in message:
            return InvocationError(
                f"{function}: exceeded its deadline of {self.limits.deadline_seconds:g} s "
                "and was stopped",
                function,
                "deadline",
            )
        if "call stack exhausted" in message:
            return InvocationError(f"{function}: stack overflow (call stack exhausted)", function,
                                   "stack-overflow")
        if "memory" in message and "out of bounds" not in message:
            return InvocationError(
                f"{function}: exceeded the memory limit of {self.limits.memory_bytes >> 20} MiB: "
                f"{message}",
                function,
                "memory",
            )
        limit = f"{self.limits.memory_bytes >> 20} MiB"
        return InvocationError(
            f"{function}: trapped: {message} (memory limit {limit}: a guest that cannot grow its "
            "memory usually traps with unreachable)" if "unreachable" in message
            else f"{function}: trapped: {message}",
            function,
            "trap",
        )

    def _func(self, info: FunctionInfo) -> Any:
        func = self._funcs.get(info.golem_name)
        if func is None:
            store, instance = self._store, self._instance
            parent = instance.get_export_index(store, info.interface) if info.interface else None
            index = instance.get_export_index(store, info.export_name, parent)
            found = instance.get_func(store, index) if index is not None else None
            if found is None:
                raise InvocationError(
                    f"{self.component.name} has no function {info.golem_name}",
                    info.golem_name,
                    "not-found",
                )
            func = _DirectFunc(found, store)
            self._funcs[info.golem_name] = func
        return func

    # -- handles ----------------------------------------------------------------------------

    def _register_handle(self, resource: ResourceAny) -> Handle:
        handle_id = len(self._handles) + 1
        self._handles[handle_id] = resource
        return Handle(handle_id)

    def _resolve_handle(self, handle: Handle) -> ResourceAny:
        resource = self._handles.get(handle.id)
        if resource is None:
            raise ValueTypeError(f"unknown resource handle({handle.id})", "handle", "resource")
        return resource

    # -- stores, recovery and replay --------------------------------------------------------

    def _new_store(self) -> None:
        store = wasmtime.Store(self.runtime.engine)
        store.set_wasi(host.make_wasi_config(self.grants, self._capture_stdout,
                                             self._capture_stderr))
        if host.imports_http(self.component):
            store.set_wasi_http()
        store.set_limits(memory_size=self.limits.memory_bytes)
        store.set_epoch_deadline(_NO_DEADLINE_TICKS)
        self._store = store
        self._funcs = {}
        self._handles = {}

    def _instantiate(self) -> None:
        previous = host.CURRENT.context
        host.CURRENT.context = self._recorder
        try:
            self._instance = self._linker.instantiate(self._store, self.component.component)
        except wasmtime.WasmtimeError as error:
            raise InvocationError(
                f"{self.component.name}: instantiation failed: {_trap_message(error)}",
                "(instantiation)",
                "instantiation",
            ) from None
        finally:
            host.CURRENT.context = previous

    def _start_fresh(self) -> None:
        self._new_store()
        self._recorder.replaying = False
        self._instantiate()

    def _recover(self) -> None:
        """Rebuild on a fresh Store and replay the whole oplog; mark the worker failed if it
        cannot be rebuilt (a non-deterministic guest or host function)."""
        try:
            self._replay(self.oplog.entries)
        except HotUpdateError:
            self.status = "failed"
            raise
        self.status = "idle"

    def _replay(self, entries: Iterable[Entry]) -> None:
        recorder = self._recorder
        self._new_store()
        recorder.replaying = True
        recorder.pending = deque()
        groups = group_invocations(entries)
        try:
            first = next(groups, None)
            if first is not None and first.invocation is None:
                recorder.pending.extend(first.host_calls)
                first = next(groups, None)
            self._instantiate()
            _check_consumed(recorder, -1, "(instantiation)")
            index = 0
            group = first
            while group is not None:
                if group.invocation is None:
                    # Host calls outside invocations between two of them (e.g. a destructor).
                    group = next(groups, None)
                    continue
                if not isinstance(group.outcome, Failed) and group.outcome is not None:
                    self._replay_invocation(index, group)
                index += 1
                group = next(groups, None)
        finally:
            recorder.replaying = False
            recorder.pending = deque()

    def _replay_invocation(self, index: int, group: _InvocationGroup) -> None:
        invocation = group.invocation
        assert invocation is not None and isinstance(group.outcome, Completed)
        recorder = self._recorder
        recorder.pending = deque(group.host_calls)
        try:
            plan = self._plan(invocation.function)
        except InvocationError as error:
            raise _divergence(index, invocation, f"the function no longer exists: {error}")
        args = _replay_args(plan, invocation, index)
        try:
            lowered = [lower(value) for lower, value in zip(plan.lowers, args)]
            value = self._call(plan, lowered)
        except ReplayDivergence as error:
            raise _divergence(index, invocation, str(error), error.expected, error.got) from None
        except InvocationError as error:
            raise _divergence(index, invocation, f"the replayed call failed: {error}") from None
        except ValueTypeError as error:
            raise _divergence(index, invocation, f"its arguments no longer type-check: {error}")
        _check_consumed(recorder, index, invocation.function)
        _compare_result(index, invocation, plan, group.outcome, value)

    def _capture_stdout(self, data: bytes) -> None:
        self._stdout.extend(data)
        if not self._recorder.replaying:
            self.oplog.append(Log("stdout", data.decode("utf-8", "replace")))

    def _capture_stderr(self, data: bytes) -> None:
        self._stderr.extend(data)
        if not self._recorder.replaying:
            self.oplog.append(Log("stderr", data.decode("utf-8", "replace")))


def _check_arity(plan: _CallPlan, args: tuple[Any, ...]) -> None:
    expected = len(plan.info.params)
    if len(args) != expected:
        names = ", ".join(f"{n}: {t.wit()}" for n, t in plan.info.params) or "no parameters"
        raise InvocationError(
            f"{plan.info.golem_name} takes {expected} argument(s) ({names}), got {len(args)}",
            plan.info.golem_name,
            "bad-arguments",
        )


def _parse_param(ty: WitType, name: str, text: str) -> Any:
    try:
        return wave_parse(ty, text)
    except HotUpdateError as error:
        raise InvocationError(f"param `{name}`: {error}", name, "bad-arguments") from None


def _replay_args(plan: _CallPlan, invocation: Invocation, index: int) -> tuple[Any, ...]:
    native = invocation.native
    if native is not None and native[0] == plan.param_types:
        return tuple(native[1])
    if len(invocation.params) != len(plan.info.params):
        raise _divergence(
            index,
            invocation,
            f"it now takes {len(plan.info.params)} parameter(s), the oplog has "
            f"{len(invocation.params)}",
        )
    try:
        return tuple(
            wave_parse(ty, text) for (_, ty), text in zip(plan.info.params, invocation.params)
        )
    except HotUpdateError as error:
        raise _divergence(index, invocation, f"its recorded arguments no longer type-check: {error}")


def _compare_result(
    index: int, invocation: Invocation, plan: _CallPlan, outcome: Completed, value: Any
) -> None:
    result_type = plan.info.result
    if result_type is None:
        if outcome.result is not None:
            raise _divergence(index, invocation, "it no longer returns a result",
                              outcome.result, "(no result)")
        return
    if outcome.native is not None and outcome.native[0] == result_type:
        if values_equal(result_type, outcome.native[1], value):
            return
    elif outcome.result is not None:
        text = wave_encode(result_type, value)
        if text == outcome.result:
            return
        try:
            if values_equal(result_type, wave_parse(result_type, outcome.result), value):
                return
        except HotUpdateError:
            pass
    got = wave_encode(result_type, value)
    raise _divergence(index, invocation, "the replayed result differs from the recorded one",
                      outcome.result or "(no result)", got)


def _check_consumed(recorder: _Recorder, index: int, function: str) -> None:
    if recorder.pending:
        missing = recorder.pending[0].function
        raise ReplayDivergence(
            f"invocation #{index} {function}: the oplog has host call {missing}, "
            "which the code no longer makes",
            index=index,
            function=function,
            expected=missing,
            got="(no host call)",
        )


def _divergence(
    index: int, invocation: Invocation, how: str, expected: str = "", got: str = ""
) -> ReplayDivergence:
    call = f"{invocation.function}({', '.join(invocation.params)})"
    detail = f" (expected {expected}, got {got})" if expected or got else ""
    return ReplayDivergence(
        f"invocation #{index} {call}: {how}{detail}",
        index=index,
        function=invocation.function,
        expected=expected,
        got=got,
    )


def _trap_message(error: BaseException) -> str:
    """The first meaningful line of a wasmtime error (the trap reason), without the backtrace."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("wasm trap:") or "trap" in line.lower():
            return line
    return lines[0] if lines else type(error).__name__

