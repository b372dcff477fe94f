"""Durable workers: invoke, record, recover by replay.

A :class:`Worker` runs one component revision in its own wasmtime Store (an *incarnation*).
Every invocation is recorded in its oplog with the durable host calls it made; after a trap, an
exceeded limit or an explicit :meth:`Worker.restart`, the worker is rebuilt on a fresh Store by
replaying the oplog, so its state is what it was before.

Recovery starts from the worker's *recovery point*: the start of the oplog on the revision the
worker runs, or, after a successful manual (snapshot) update, ``load(snapshot)`` on the new
revision followed by the entries after that update. Update entries themselves are never
replayed; log entries never count.

The update policies (automatic and manual updates, revert, swap) live in
:mod:`pytest_hotupdate.update`; this module provides the mechanisms they use: building an
incarnation of any revision, replaying into it (optionally continuing an interrupted invocation
live), calling a function without recording it, and switching incarnations.
"""

from __future__ import annotations

import atexit
import itertools
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime.component import Instance, Linker, ResourceAny

from . import bulk, host
from .component import FunctionInfo, LoadedComponent
from .durable import CURRENT, ControlPlane, DurableContext
from .errors import (
    HostAbandoned,
    HotUpdateError,
    InterruptAtHostCall,
    Interrupted,
    InvocationError,
    MemoryLimitExceeded,
    ReentryError,
    ReplayDivergence,
    ResourceError,
    ValueTypeError,
)
from .footprint import store_limits
from .history import (
    InvocationGroup,
    InvocationRecord,
    RecoveryPoint,
    UpdateOutcome,
    UpdateRecord,
    group_invocations,
    invocation_records,
    recovery_point,
    update_counts,
    update_records,
)
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
from .runtime import INTERRUPT_MARKER, DirectFunc, Interrupter, Runtime
from .snapshot import (
    Snapshot,
    find_load,
    find_save,
    load_arguments,
    load_error,
    snapshot_from_save,
)
from .values import (
    Handle,
    WitType,
    lifter,
    lowerer,
    values_equal,
    wave_encode,
    wave_parse,
    wave_parse_params,
)

#: Store memory limit and per-invocation deadline unless configured otherwise.
DEFAULT_MEMORY_LIMIT = 512 << 20
DEFAULT_DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class WorkerLimits:
    """Per-invocation limits. Exceeding one fails that invocation; the worker stays usable.

    Attributes:
        deadline_seconds: wall-clock time one invocation may run (epoch interruption), user
            host functions included; also the time an instantiation (start functions) and a
            snapshot ``save`` or ``load`` may take.
        memory_bytes: what the worker may use in total: its tables together get 1/16 of it
            (8 bytes an element), its linear memories together the rest, divided evenly among
            the memories the component defines (see :mod:`pytest_hotupdate.footprint`;
            ``memory.grow`` and ``table.grow`` fail past their share); a value the guest writes
            through a ``wasi:io`` stream (keyvalue, blobstore) may not exceed it either (the
            call fails with an InvocationError of kind ``memory``).
    """

    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    memory_bytes: int = DEFAULT_MEMORY_LIMIT


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
        updates: the update records, oldest first.
    """

    name: str
    component: str
    component_revision: int
    status: str
    oplog_size: int
    invocation_count: int
    updates: tuple[UpdateRecord, ...] = ()

    def update_counts(self) -> tuple[int, int, int]:
        """``(pending, successful, failed)`` update counts, as Golem's tests assert them."""
        return update_counts(self.updates)


@dataclass
class _CallPlan:
    """Everything needed to call one exported function, prepared once per function."""

    info: FunctionInfo
    lowers: tuple[Callable[[Any], Any], ...]
    lift: Callable[[Any], Any] | None
    param_types: tuple[WitType, ...]


class Incarnation:
    """One Store and instance of one component revision (the unit that is rebuilt)."""

    def __init__(self, component: LoadedComponent, revision: int, linker: Linker,
                 store: wasmtime.Store, interrupter: Interrupter) -> None:
        self.component = component
        self.revision = revision
        self.linker = linker
        self.store = store
        self.interrupter = interrupter
        self.instance: Instance | None = None
        self.funcs: dict[str, DirectFunc] = {}
        self.handles: dict[int, ResourceAny] = {}
        #: The Store's WASI output callbacks (weakly: wasmtime-py holds them until it lets go).
        self.outputs: tuple[weakref.ref[Callable[[bytes], None]], ...] = ()

    def close(self) -> None:
        """Drop the Store now (its instance, memory and open files) instead of at collection."""
        self.instance = None
        self.funcs.clear()
        self.handles.clear()
        self.store.close()


#: How long closing a worker waits for wasmtime to let go of a Store's output callbacks.
_OUTPUT_RELEASE_S = 2.0


def _wait_released(incarnations: list[Incarnation]) -> None:
    """Wait until wasmtime has dropped the output callbacks of these closed Stores.

    wasmtime writes a Store's WASI output from its own (tokio) threads, and the last of those
    lets go of the Python callbacks a moment after the Store is closed; if that happens while
    the interpreter is shutting down, the thread cannot enter Python and the process exits with
    a Rust panic ("panic in a function that cannot unwind"). So nothing may stay pending.
    """
    pending = [ref for incarnation in incarnations for ref in incarnation.outputs]
    give_up = time.monotonic() + _OUTPUT_RELEASE_S
    while any(ref() is not None for ref in pending) and time.monotonic() < give_up:
        time.sleep(0.001)


class _SerialRunner:
    """Runs submitted calls one at a time, in order, on a thread that exists only while calls
    are waiting (an idle worker holds no thread; a non-daemon thread, so the interpreter
    finishes the calls already submitted before it exits)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._queue: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            self._queue.append((future, lambda: fn(*args)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name)
                self._thread.start()
        return future

    def drain(self) -> None:
        """Wait until every submitted call has run (and the thread has ended)."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                future, call = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:  # the caller gets it from the future
                future.set_exception(error)
            del future, call  # no reference to the worker outlives its calls


RevisionLookup = Callable[[int], "LoadedComponent | None"]


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
        revisions: RevisionLookup | None = None,
        registry: ControlPlane | None = None,
    ) -> None:
        self.runtime = runtime
        #: The registry that created the worker (host functions reach other workers through it).
        self.registry = registry
        self.component_name = component_name
        self.name = name
        self.host_functions = host_functions
        self.grants = grants
        self.limits = limits
        self.oplog = Oplog(OplogHeader(component_name, revision, name))
        self.status = "idle"
        self._revisions = revisions or (lambda r: component if r == revision else None)
        self._stdout = bytearray()
        self._stderr = bytearray()
        #: Serialises invocations and updates: one thread in the Store at a time.
        self._lock = threading.RLock()
        self._plans: dict[tuple[str, str], _CallPlan] = {}
        self._calling: Incarnation | None = None
        #: Threads inside a guest call of this worker (and helpers running its host functions),
        #: with the function being called: a call back into the worker from them is refused.
        self._inside: dict[int, str] = {}
        self._recorder = DurableContext(self.oplog, self, self._inside, runtime.host_threads)
        #: The live Store was abandoned by an exception that propagates (Ctrl-C, SystemExit):
        #: rebuilt by replay before its next use.
        self._stale = False
        self._runner = _SerialRunner(f"worker-{name}")
        #: Every Store built for the worker and not yet collected (closed with the worker).
        self._incarnations: weakref.WeakSet[Incarnation] = weakref.WeakSet()
        #: Released by :meth:`close`: the next use rebuilds the worker from its oplog.
        self._closed = False
        #: An update waiting to take over the running invocation (see update.py).
        self.pending_interrupt: Callable[[Worker, Any], Any] | None = None
        #: The target of the automatic update in progress, if any (refuses a duplicate).
        self.automatic_update_target: int | None = None
        runtime.ticker.start()
        _OPEN_WORKERS.add(self)
        try:
            self._live = self.build_incarnation(component, revision)
            self.instantiate(self._live)
        except BaseException:
            _wait_released(self._release())  # nothing of a worker never created stays open
            raise

    # -- public API ---------------------------------------------------------------------------

    @property
    def component(self) -> LoadedComponent:
        """The component revision the worker runs."""
        return self._live.component

    @property
    def component_revision(self) -> int:
        """The revision number the worker runs."""
        return self._live.revision

    def invoke(self, function: str, *args: Any) -> Any:
        """Call an exported function with native Python values; return its native result.

        Raises:
            InvocationError: the function does not exist, the arguments do not fit its types, or
                the call trapped or exceeded a limit (the worker is then recovered by replay and
                keeps its earlier state).
            ReentryError: called by a host function from inside this worker's own invocation.

        ``SystemExit`` and ``KeyboardInterrupt`` (raised by a host function, or Ctrl-C while
        the guest runs in the main thread) propagate: the invocation is recorded as failed
        (kind ``interrupted``) and the worker is rebuilt by replay before its next use.
        """
        self.refuse_reentry("invoke")
        with self._lock:
            incarnation = self.live
            plan = self._plan(incarnation.component, function)
            lowered = self._lower(plan, args)
            params_text = tuple(
                wave_encode(ty, value) for ty, value in zip(plan.param_types, args)
            )
            self.oplog.append(
                Invocation(plan.info.golem_name, params_text, (plan.param_types, args))
            )
            self.status = "running"
            try:
                value = self._call(incarnation, plan, lowered)
            except Interrupted:
                return self._hand_over_to_update()
            except InvocationError as error:
                self.oplog.append(Failed(str(error), error.kind))
                self.recover()
                raise
            except BaseException as error:
                if not isinstance(error, Exception):  # SystemExit, KeyboardInterrupt
                    self.oplog.append(Failed(
                        f"{plan.info.golem_name}: stopped by {type(error).__name__}",
                        "interrupted"))
                    self._stale = True  # the Store may be poisoned: rebuilt before its next use
                raise
            finally:
                if self.status == "running":
                    self.status = "idle"
            self._complete(plan, value)
            return value

    def invoke_wave(self, function: str, *args: str) -> str | None:
        """Like :meth:`invoke` with WAVE text in and out (one WAVE string per parameter)."""
        self.refuse_reentry("invoke_wave")
        with self._lock:
            plan = self._plan(self._live.component, function)
            name = plan.info.golem_name
            try:
                natives = wave_parse_params(plan.info.params, args)
            except HotUpdateError as error:
                raise InvocationError(f"{name}: {error}", name, "bad-arguments") from None
            result = self.invoke(name, *natives)
            if plan.info.result is None:
                return None
            return wave_encode(plan.info.result, result)

    def invoke_async(self, function: str, *args: Any) -> Future[Any]:
        """Start :meth:`invoke` on the worker's own thread; return a future of its result.

        Invocations run one at a time in the order they were submitted, on a thread that ends
        when none is waiting.
        """
        return self._runner.submit(self.invoke, function, *args)

    def restart(self) -> None:
        """Drop the Store and rebuild the worker by replaying its oplog (as after a crash)."""
        self.refuse_reentry("restart")
        with self._lock:
            self.recover()

    def update(self, target_revision: int, mode: str = "automatic", *,
               raise_on_failure: bool = False) -> UpdateOutcome:
        """Update the worker to ``target_revision`` (see :func:`pytest_hotupdate.update.update`).

        ``mode``: ``automatic`` (alias ``auto``: replay the oplog on the new revision) or
        ``manual`` (alias ``snapshot``: old ``save`` -> new ``load``). Returns the outcome; a
        failed update raises ``UpdateFailed`` only with ``raise_on_failure``.
        """
        # The update policies sit one layer above the worker: its registry runs them.
        if self.registry is None:
            raise HotUpdateError(f"worker {self.name} belongs to no registry: update it with "
                                 "pytest_hotupdate.update.update(worker, revision)")
        outcome: UpdateOutcome = self.registry.update_worker(
            self, target_revision, mode, raise_on_failure=raise_on_failure)
        return outcome

    @property
    def updates(self) -> tuple[UpdateRecord, ...]:
        """The update records in the oplog, oldest first."""
        return update_records(self.oplog.entries)

    def update_counts(self) -> tuple[int, int, int]:
        """``(pending, successful, failed)`` update counts."""
        return self.metadata.update_counts()

    @property
    def invocations(self) -> list[InvocationRecord]:
        """Every invocation in the oplog, in order (failed ones included), read back from it."""
        return invocation_records(self.oplog.entries)

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
            updates=self.updates,
        )

    def save_oplog(self, path: str | Path) -> None:
        """Write the oplog to a JSON Lines file (atomically)."""
        self.oplog.save(path)

    def close(self) -> None:
        """Release what the worker holds: wait for the invocations :meth:`invoke_async`
        submitted, then drop its Store (memory, open files) and its private stream directory.

        The worker stays usable: its next invocation or update rebuilds it by replaying its
        oplog, as Golem resumes a suspended worker. Workers still open when the interpreter
        exits are closed then.
        """
        self.refuse_reentry("close()")
        self._runner.drain()
        with self._lock:
            if self._calling is not None:  # a host function of this worker's own invocation
                raise HotUpdateError(f"worker {self.name}: close() was called from inside its "
                                     "own invocation, whose Store is in use")
            _wait_released(self._release())

    def _release(self) -> list[Incarnation]:
        """Close the worker's Stores and remove its stream directory; return the Stores'
        incarnations (for :func:`_wait_released`)."""
        incarnations = list(self._incarnations)
        for incarnation in incarnations:
            incarnation.close()
        self._incarnations.clear()
        host.remove_stream_directory(self)
        self._closed = True
        return incarnations

    def _close_at_exit(self) -> list[Incarnation]:
        # A thread the interpreter does not wait for (a daemon) may still be inside the guest:
        # its Store is left alone then, rather than freed under it.
        if not self._lock.acquire(timeout=0.5):
            return []
        try:
            return self._release()
        finally:
            self._lock.release()

    def __repr__(self) -> str:
        return (f"<Worker {self.name!r} of {self.component_name} rev "
                f"{self.component_revision}, {len(self.oplog)} oplog entries>")

    # -- mechanisms used by the update policies -----------------------------------------------

    def revision_component(self, revision: int) -> LoadedComponent | None:
        """The component of ``revision`` of this worker's component, or ``None``."""
        return self._revisions(revision)

    def build_incarnation(self, component: LoadedComponent, revision: int) -> Incarnation:
        """A fresh Store for ``component`` (not instantiated yet). Raises ComponentLoadError if
        its imports cannot be satisfied."""
        linker = self.runtime.linker(component, self.host_functions, self.grants)
        outputs = (_weak_sink(self, "_capture_stdout"), _weak_sink(self, "_capture_stderr"))
        try:
            streams = (host.stream_directory(self) if host.needs_stream_directory(component)
                       else None)
            config = host.make_wasi_config(self.grants, *outputs, streams)
        except ResourceError as error:
            raise ResourceError(f"worker {self.name}: {error}") from None
        store = wasmtime.Store(self.runtime.engine)
        store.set_wasi(config)
        if host.imports_http(component):
            store.set_wasi_http()
        limits = store_limits(self.limits.memory_bytes, component.footprint)
        store.set_limits(memory_size=limits.memory_size, table_elements=limits.table_elements,
                         memories=limits.memories, tables=limits.tables)
        interrupter = Interrupter()
        interrupter.attach(store)
        incarnation = Incarnation(component, revision, linker, store, interrupter)
        incarnation.outputs = tuple(weakref.ref(sink) for sink in outputs)
        self._incarnations.add(incarnation)
        return incarnation

    @property
    def calling_incarnation(self) -> Incarnation:
        """The incarnation the guest runs in now (during a guest call: the one being called,
        which is not the live one while an update replays), else the live one; host code keeps
        per-Store state under it."""
        return self._calling or self._live

    @property
    def lock(self) -> threading.RLock:
        """Held by every invocation and update: whoever holds it is alone in the worker."""
        return self._lock

    @property
    def live(self) -> Incarnation:
        """The incarnation that serves invocations now (rebuilt first if the worker was
        closed, or if an exception that propagated abandoned the last one)."""
        if self._stale or self._closed:
            with self._lock:
                if self._stale or self._closed:
                    self.recover()
        return self._live

    def refuse_reentry(self, action: str) -> None:
        """Raise ReentryError if the calling thread is inside a guest call of this worker (a
        host function calling back into it): the nested call would land inside the running
        invocation's oplog entries. Other threads wait for the worker's lock instead."""
        function = self._inside.get(threading.get_ident())
        if function is not None:
            raise ReentryError(
                f"worker {self.name}: {action} called from a host function inside its own "
                f"invocation of {function}; a worker cannot be re-entered (call another "
                "worker, or request the update with golem:api update-worker, which runs "
                "after the invocation)",
                self.name,
                function,
            )

    def interrupt_running(self, requested: bool) -> None:
        """Ask the running invocation to stop at its next durable host call or epoch tick
        (``True``), or withdraw that request (``False``)."""
        self._live.interrupter.interrupt_requested = requested

    def switch_to(self, incarnation: Incarnation) -> None:
        """Make ``incarnation`` the live one."""
        self._live = incarnation
        self._stale = False

    def recover(self) -> None:
        """Rebuild on a fresh Store from the recovery point; mark the worker failed if it
        cannot be rebuilt (a non-deterministic guest or host function)."""
        point = recovery_point(self.oplog.header, self.oplog.entries)
        component = self.revision_component(point.revision)
        try:
            if component is None:
                raise HotUpdateError(f"revision {point.revision} of {self.component_name} is gone")
            incarnation = self.build_incarnation(component, point.revision)
            self.replay_into(incarnation, point)
        except ResourceError:
            # Out of descriptors: give back what the worker holds (its Store failed anyway),
            # and rebuild it when it is next used, once there may be some.
            _wait_released(self._release())
            self.status = "failed"
            raise
        except HotUpdateError:
            self.status = "failed"
            raise
        self._live = incarnation
        self._stale = False
        self._closed = False
        self.status = "idle"

    def replay_into(
        self,
        incarnation: Incarnation,
        point: RecoveryPoint,
        entries: Iterable[Entry] | None = None,
        on_exhausted: Callable[[], None] | None = None,
    ) -> tuple[_CallPlan, Any] | None:
        """Instantiate ``incarnation`` and replay the oplog from ``point`` into it.

        Raises :class:`ReplayDivergence` naming the first diverging invocation. If the last
        invocation never finished (an update interrupted it) and ``on_exhausted`` is given, it
        is continued: replayed until its recorded host calls run out, then ``on_exhausted()``
        is called and it runs on live; its ``(plan, result)`` is returned (not recorded).
        """
        entries = self.oplog.entries if entries is None else entries
        recorder = self._recorder
        groups = group_invocations(itertools.islice(entries, point.start, None))
        first = next(groups, None)
        prelude: list[HostCall] = []
        if first is not None and first.invocation is None:
            prelude, first = first.host_calls, next(groups, None)
        if point.snapshot is None:
            self.instantiate(incarnation, "replay", prelude)
        else:
            self.instantiate(incarnation, "unrecorded")
            self.load_snapshot(incarnation, point.snapshot)
        index = 0
        group = first
        try:
            while group is not None:
                following = next(groups, None)
                if group.invocation is not None:
                    if group.outcome is None and following is None and on_exhausted is not None:
                        return self._continue_interrupted(incarnation, index, group, on_exhausted)
                    if isinstance(group.outcome, Completed):
                        self._replay_invocation(incarnation, index, group)
                    index += 1
                group = following
        finally:
            recorder.replaying = False
            recorder.pending = deque()
            recorder.on_exhausted = None
        return None

    def call_unrecorded(self, incarnation: Incarnation, info: FunctionInfo, args: tuple[Any, ...]
                        ) -> Any:
        """Call ``info`` in ``incarnation`` without recording anything (snapshot save / load);
        its host calls run live. Raises InvocationError if it fails."""
        recorder = self._recorder
        recorder.replaying, recorder.recording = False, False
        try:
            plan = self._plan(incarnation.component, info.golem_name)
            return self._call(incarnation, plan, self._lower(plan, args, incarnation))
        finally:
            recorder.recording = True

    def load_snapshot(self, incarnation: Incarnation, snapshot: Snapshot) -> None:
        """Call the incarnation's ``load`` with ``snapshot``; raise HotUpdateError if absent,
        failing or returning ``err``."""
        load = find_load(incarnation.component)
        if load is None:
            raise HotUpdateError(
                f"revision {incarnation.revision} does not export golem:api/load-snapshot")
        try:
            arguments = load_arguments(load, snapshot)
        except ValueError as error:
            raise HotUpdateError(str(error)) from None
        moved, message = bulk.load(self, incarnation, snapshot)
        if not moved:
            message = load_error(self.call_unrecorded(incarnation, load, arguments))
        if message is not None:
            raise HotUpdateError(message)

    def save_snapshot(self, incarnation: Incarnation) -> Snapshot:
        """The incarnation's ``save`` result (not recorded), moved in chunks when its component
        carries :data:`~pytest_hotupdate.bulk.INTERFACE`. Raises InvocationError if a call
        fails, ValueError if ``save`` is missing or returns no snapshot."""
        moved = bulk.save(self, incarnation)
        if moved is not None:
            return moved
        save = find_save(incarnation.component)
        if save is None:
            raise ValueError(f"revision {incarnation.revision} does not export "
                             "golem:api/save-snapshot")
        return snapshot_from_save(save, self.call_unrecorded(incarnation, save, ()))

    def complete_interrupted(self, plan: _CallPlan, value: Any) -> Any:
        """Record the outcome of an invocation that an update continued, and return it."""
        self._complete(plan, value)
        return value

    # -- invocation -----------------------------------------------------------------------------

    def _plan(self, component: LoadedComponent, function: str) -> _CallPlan:
        key = (component.sha256, function)
        plan = self._plans.get(key)
        if plan is None:
            info = component.find_function(function)
            plan = self._plans.get((component.sha256, info.golem_name))
            if plan is None:
                plan = _CallPlan(
                    info=info,
                    lowers=tuple(
                        lowerer(ty, name, self._resolve_handle) for name, ty in info.params
                    ),
                    lift=lifter(info.result, self._register_handle) if info.result else None,
                    param_types=tuple(ty for _, ty in info.params),
                )
                self._plans[(component.sha256, info.golem_name)] = plan
            self._plans[key] = plan
        return plan

    def _lower(self, plan: _CallPlan, args: tuple[Any, ...],
               incarnation: Incarnation | None = None) -> list[Any]:
        """Validate and convert arguments; handles resolve in ``incarnation`` (default: live)."""
        if len(args) != len(plan.lowers):
            _check_arity(plan, args)
        previous, self._calling = self._calling, incarnation or self._live
        try:
            return [lower(value) for lower, value in zip(plan.lowers, args)]
        except ValueTypeError as error:
            raise InvocationError(
                f"{plan.info.golem_name}: {error}", plan.info.golem_name, "bad-arguments"
            ) from None
        finally:
            self._calling = previous

    def _complete(self, plan: _CallPlan, value: Any) -> None:
        result_type = plan.info.result
        if result_type is None:
            self.oplog.append(Completed(None))
        else:
            self.oplog.append(Completed(wave_encode(result_type, value), (result_type, value)))

    def _call(self, incarnation: Incarnation, plan: _CallPlan, lowered: list[Any]) -> Any:
        """Enter the guest once; translate every failure into an :class:`InvocationError`
        (``SystemExit`` and ``KeyboardInterrupt`` propagate as they are)."""
        func = incarnation.funcs.get(plan.info.golem_name) or self._func(incarnation, plan.info)
        recorder = self._recorder
        recorder.host_error = None
        current = CURRENT
        previous_context, previous_calling = current.context, self._calling
        current.context, self._calling = recorder, incarnation
        interrupter = recorder.interrupter = incarnation.interrupter
        ident = threading.get_ident()
        self._inside[ident] = plan.info.golem_name
        interrupter.arm(incarnation.store, self.limits.deadline_seconds)
        try:
            try:
                raw = func(incarnation.store, lowered)
            except Exception as error:  # a trap, or a host function's exception re-raised
                failure = self._failure(plan.info.golem_name, error, interrupter)
                if not isinstance(failure, Exception):
                    self._abandon(incarnation)
                raise failure from None
            # Lifted while `_calling` is set: returned resources join this incarnation's table.
            value = plan.lift(raw) if plan.lift is not None else None
        finally:
            interrupter.disarm()
            self._inside.pop(ident, None)
            current.context, self._calling = previous_context, previous_calling
        raised = interrupter.take_raised()  # Ctrl-C just as the guest returned
        if raised is not None:
            self._abandon(incarnation)
            raise raised
        return value

    def _abandon(self, incarnation: Incarnation) -> None:
        """An exception that propagates (Ctrl-C, SystemExit) left ``incarnation``: if it is the
        live one, its Store may be poisoned; it is rebuilt by replay before its next use."""
        if incarnation is self._live:
            self._stale = True

    def _failure(self, function: str, error: Exception, interrupter: Interrupter
                 ) -> BaseException:
        """What a failed entry into the guest raises: a ``KeyboardInterrupt`` (Ctrl-C) or a
        ``SystemExit`` a host function raised, as they are; anything else classified."""
        raised = interrupter.take_raised()
        host_error = self._recorder.host_error
        if raised is not None:
            self._recorder.host_error = None
            return raised
        if host_error is not None and not isinstance(host_error, Exception):
            self._recorder.host_error = None
            return host_error
        return self._classify_failure(function, error, interrupter)

    def _classify_failure(
        self, function: str, error: BaseException, interrupter: Interrupter
    ) -> Exception:
        host_error = self._recorder.host_error
        self._recorder.host_error = None
        if isinstance(host_error, ReplayDivergence):
            return host_error
        if isinstance(host_error, ResourceError) and self._recorder.replaying:
            return host_error  # the process is out of descriptors: not the code's divergence
        if isinstance(host_error, InterruptAtHostCall):
            interrupter.interrupt_requested = False
            return Interrupted()
        if isinstance(host_error, HostAbandoned):
            return InvocationError(
                f"{function}: exceeded its deadline of {self.limits.deadline_seconds:g} s in "
                f"host function {host_error.function}, which was still running (abandoned)",
                function,
                "deadline",
            )
        if isinstance(host_error, MemoryLimitExceeded):
            return InvocationError(f"{function}: {host_error}", function, "memory")
        if host_error is not None:
            return InvocationError(
                f"{function}: a host function raised {type(host_error).__name__}: {host_error}",
                function,
                "host-error",
            )
        two_borrows = host.explain_two_borrows_trap(str(error))
        if two_borrows is not None:
            return InvocationError(f"{function}: trapped: {two_borrows}", function, "trap")
        message = _trap_message(error)
        if INTERRUPT_MARKER in str(error):
            if interrupter.reason == "interrupt":
                interrupter.interrupt_requested = False
                return Interrupted()
            return InvocationError(
                f"{function}: exceeded its deadline of {self.limits.deadline_seconds:g} s "
                "and was stopped",
                function,
                "deadline",
            )
        if "call stack exhausted" in message:
            return InvocationError(f"{function}: stack overflow (call stack exhausted)", function,
                                   "stack-overflow")
        if "unreachable" in message:
            return InvocationError(
                f"{function}: trapped: {message} (a guest that cannot grow its memory past the "
                f"{self.limits.memory_bytes >> 20} MiB limit usually traps this way)",
                function,
                "trap",
            )
        return InvocationError(f"{function}: trapped: {message}", function, "trap")

    def _func(self, incarnation: Incarnation, info: FunctionInfo) -> DirectFunc:
        store, instance = incarnation.store, incarnation.instance
        assert instance is not None
        parent = instance.get_export_index(store, info.interface) if info.interface else None
        index = instance.get_export_index(store, info.export_name, parent)
        found = instance.get_func(store, index) if index is not None else None
        if found is None:
            raise InvocationError(
                f"{incarnation.component.name} has no function {info.golem_name}",
                info.golem_name,
                "not-found",
            )
        func = DirectFunc(found, store)
        incarnation.funcs[info.golem_name] = func
        return func

    def _hand_over_to_update(self) -> Any:
        """The running invocation was interrupted for an update: let the update take over the
        partial invocation; it returns the invocation's result (new or old code)."""
        takeover, self.pending_interrupt = self.pending_interrupt, None
        if takeover is None:  # pragma: no cover - an interrupt is only requested with a takeover
            raise InvocationError("invocation interrupted without an update", "", "interrupted")
        return takeover(self, None)

    # -- handles ----------------------------------------------------------------------------

    def _register_handle(self, resource: ResourceAny) -> Handle:
        incarnation = self._calling
        assert incarnation is not None
        handle_id = len(incarnation.handles) + 1
        incarnation.handles[handle_id] = resource
        return Handle(handle_id)

    def _resolve_handle(self, handle: Handle) -> ResourceAny:
        incarnation = self._calling
        assert incarnation is not None
        resource = incarnation.handles.get(handle.id)
        if resource is None:
            raise ValueTypeError(f"unknown resource handle({handle.id})", "handle", "resource")
        return resource

    # -- instantiation and replay -----------------------------------------------------------

    def instantiate(self, incarnation: Incarnation, mode: str = "live",
                    prelude: Iterable[HostCall] = ()) -> None:
        """Instantiate ``incarnation``. Host calls made meanwhile are recorded (``live``),
        answered from ``prelude`` (``replay``), or made live and not recorded (``unrecorded``:
        the start of a revision that is then given a snapshot, which is never replayed)."""
        recorder = self._recorder
        replaying = mode == "replay"
        recorder.replaying = replaying
        recorder.recording = mode != "unrecorded"
        recorder.pending = deque(prelude)
        previous, previous_calling = CURRENT.context, self._calling
        CURRENT.context, self._calling = recorder, incarnation
        # Start functions run inside instantiate: under the same deadline as an invocation.
        recorder.host_error = None
        interrupter = recorder.interrupter = incarnation.interrupter
        ident = threading.get_ident()
        self._inside[ident] = "(instantiation)"
        interrupter.arm(incarnation.store, self.limits.deadline_seconds)
        try:
            incarnation.instance = incarnation.linker.instantiate(
                incarnation.store, incarnation.component.component)
        except wasmtime.WasmtimeError as error:
            raise self._instantiation_failure(incarnation, error, interrupter) from None
        finally:
            interrupter.disarm()
            self._inside.pop(ident, None)
            CURRENT.context, self._calling = previous, previous_calling
            recorder.recording = True
        raised = interrupter.take_raised()
        if raised is not None:
            raise raised
        if replaying:
            _check_consumed(recorder, -1, None)

    def _instantiation_failure(self, incarnation: Incarnation, error: Exception,
                               interrupter: Interrupter) -> BaseException:
        """What a failed instantiation raises, naming the component."""
        failure = self._failure("(instantiation)", error, interrupter)
        if not isinstance(failure, Exception) or isinstance(failure, ReplayDivergence):
            return failure  # Ctrl-C, SystemExit, or a divergence of the replayed start
        name = incarnation.component.name
        kind = failure.kind if isinstance(failure, InvocationError) else "trap"
        if kind == "deadline":
            return InvocationError(
                f"{name}: instantiation (its start functions) ran past the deadline of "
                f"{self.limits.deadline_seconds:g} s and was stopped",
                "(instantiation)",
                "deadline",
            )
        reason = (str(failure).removeprefix("(instantiation): ") if kind == "host-error"
                  else _trap_message(error))
        return InvocationError(f"{name}: instantiation failed: {reason}", "(instantiation)",
                               "instantiation")

    def _replay_invocation(self, incarnation: Incarnation, index: int,
                           group: InvocationGroup) -> None:
        invocation = group.invocation
        assert invocation is not None and isinstance(group.outcome, Completed)
        recorder = self._recorder
        recorder.replaying = True
        recorder.pending = deque(group.host_calls)
        plan, value = self._replay_call(incarnation, index, invocation)
        _check_consumed(recorder, index, invocation)
        _compare_result(index, invocation, plan, group.outcome, value)

    def _prepare_replay(self, incarnation: Incarnation, index: int, invocation: Invocation
                        ) -> tuple[_CallPlan, list[Any]]:
        """The function and lowered arguments of a recorded invocation, or a divergence."""
        try:
            plan = self._plan(incarnation.component, invocation.function)
        except InvocationError as error:
            raise _divergence(index, invocation, f"the function no longer exists: {error}") from None
        args = _replay_args(plan, invocation, index)
        try:
            return plan, self._lower(plan, args, incarnation)
        except InvocationError as error:
            raise _divergence(index, invocation,
                              f"its arguments no longer type-check: {error}") from None

    def _replay_call(self, incarnation: Incarnation, index: int, invocation: Invocation,
                     prepared: tuple[_CallPlan, list[Any]] | None = None) -> tuple[_CallPlan, Any]:
        plan, lowered = prepared or self._prepare_replay(incarnation, index, invocation)
        try:
            return plan, self._call(incarnation, plan, lowered)
        except ReplayDivergence as error:
            raise _divergence(index, invocation, str(error), error.expected, error.got) from None
        except InvocationError as error:
            if not self._recorder.replaying:
                raise  # it failed after the replay had caught up: an ordinary failure
            raise _divergence(index, invocation, f"the replayed call failed: {error}") from None

    def _continue_interrupted(self, incarnation: Incarnation, index: int,
                              group: InvocationGroup, on_exhausted: Callable[[], None]
                              ) -> tuple[_CallPlan, Any]:
        invocation = group.invocation
        assert invocation is not None
        recorder = self._recorder
        recorder.replaying = True
        recorder.pending = deque(group.host_calls)
        recorder.on_exhausted = on_exhausted
        prepared = self._prepare_replay(incarnation, index, invocation)
        if not recorder.pending:
            recorder.continue_live()  # nothing recorded: the whole call runs live
        plan, value = self._replay_call(incarnation, index, invocation, prepared)
        if recorder.replaying:
            _check_consumed(recorder, index, invocation)
            recorder.continue_live()  # the log ran out exactly at the end of the call
        return plan, value

    # -- output -------------------------------------------------------------------------------

    def _capture_stdout(self, data: bytes) -> None:
        self._capture("stdout", self._stdout, data)

    def _capture_stderr(self, data: bytes) -> None:
        self._capture("stderr", self._stderr, data)

    def _capture(self, stream: str, buffer: bytearray, data: bytes) -> None:
        if self._recorder.replaying or not self._recorder.recording:
            return  # output of replayed code was captured the first time
        buffer.extend(data)
        self.oplog.append(Log(stream, data.decode("utf-8", "replace")))


def _check_arity(plan: _CallPlan, args: tuple[Any, ...]) -> None:
    expected = len(plan.info.params)
    if len(args) != expected:
        names = ", ".join(f"{n}: {t.wit()}" for n, t in plan.info.params) or "no parameters"
        raise InvocationError(
            f"{plan.info.golem_name} takes {expected} argument(s) ({names}), got {len(args)}",
            plan.info.golem_name,
            "bad-arguments",
        )


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
        raise _divergence(
            index, invocation, f"its recorded arguments no longer type-check: {error}"
        ) from None


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
        if wave_encode(result_type, value) == outcome.result:
            return
        try:
            if values_equal(result_type, wave_parse(result_type, outcome.result), value):
                return
        except HotUpdateError:
            pass
    got = wave_encode(result_type, value)
    raise _divergence(index, invocation, "the replayed result differs from the recorded one",
                      outcome.result or "(no result)", got)


def _check_consumed(recorder: DurableContext, index: int, invocation: Invocation | None) -> None:
    if recorder.pending:
        missing = recorder.pending[0].function
        how = f"the oplog has host call {missing}, which the code no longer makes"
        if invocation is None:
            raise ReplayDivergence(f"instantiation: {how}", expected=missing, got="(no host call)")
        raise _divergence(index, invocation, how, missing, "(no host call)")


def _divergence(
    index: int, invocation: Invocation, how: str, expected: str = "", got: str = ""
) -> ReplayDivergence:
    call = f"{invocation.function}({', '.join(invocation.params)})"
    detail = f" (expected {expected}, got {got})" if (expected or got) and expected not in how else ""
    return ReplayDivergence(
        f"invocation #{index} {call}: {how}{detail}",
        index=index,
        function=invocation.function,
        expected=expected,
        got=got,
    )


#: Workers not yet collected: closed at interpreter exit (see :func:`_close_open_workers`).
_OPEN_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


@atexit.register
def _close_open_workers() -> None:
    """Close every worker still open when the interpreter exits, while Python still runs:
    wasmtime's threads let go of each Store's output callbacks (see :func:`_wait_released`),
    and the private stream directories are removed once no Store holds them open (removing
    them before could fail for want of a free file descriptor)."""
    closed = [incarnation for worker in list(_OPEN_WORKERS)
              for incarnation in worker._close_at_exit()]
    _wait_released(closed)  # once for all of them
    host.remove_stream_directory()  # those that could not be removed when their worker closed


def _weak_sink(worker: Worker, method: str) -> Callable[[bytes], None]:
    """``worker.<method>`` for WASI's output callbacks, without a strong reference: wasmtime-py
    keeps those callbacks in a module-level table until the Store is gone, and the Store goes
    with the worker, so a bound method there would keep every worker (and its Store's memory)
    alive for the life of the process."""
    ref = weakref.ref(worker)

    def sink(data: bytes) -> None:
        alive = ref()
        if alive is not None:
            getattr(alive, method)(data)

    return sink


def _trap_message(error: BaseException) -> str:
    """The trap reason of a wasmtime error in one line, without the backtrace: the ``wasm
    trap:`` line, else the first line under ``Caused by:`` (a WASI host function's own
    message, such as a stream rule the guest broke), else the first line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("wasm trap:"):
            return line
    if "Caused by:" in lines and lines.index("Caused by:") + 1 < len(lines):
        return lines[lines.index("Caused by:") + 1]
    for line in lines:
        if "trap" in line.lower():
            return line
    return lines[0] if lines else type(error).__name__
