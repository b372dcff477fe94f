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
:mod:`pytest_hotupdate.update`; this module provides the mechanisms they use, its declared API
under "mechanisms used by the update policies": building an incarnation of any revision,
replaying into it (:mod:`pytest_hotupdate.replay`; optionally continuing an interrupted
invocation live), calling a function without recording it, moving snapshots, switching
incarnations, and handing a running invocation over to an update. What a failed call into the
guest raises is decided in :mod:`pytest_hotupdate.failures`.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime.component import ResourceAny

from .component import FunctionInfo, LoadedComponent, bulk
from .durable import CURRENT, ControlPlane, DurableContext
from .engine import Runtime, SerialRunner
from .errors import (
    HotUpdateError,
    Interrupted,
    InvocationError,
    ReentryError,
    ResourceError,
    ValueTypeError,
)
from .failures import guest_failure, instantiation_failure
from .history import (
    InvocationRecord,
    RecoveryPoint,
    UpdateOutcome,
    UpdateRecord,
    invocation_records,
    recovery_point,
    update_counts,
    update_records,
)
from .host import (
    HostFunctions,
    SandboxGrants,
    make_wasi_config,
    needs_stream_directory,
    remove_stream_directory,
    stream_directory,
)
from .incarnation import CallPlan, Incarnation, wait_released, weak_sink
from .oplog import Completed, Entry, Failed, HostCall, Invocation, Log, Oplog, OplogHeader
from .replay import check_consumed, replay_into
from .snapshot import Snapshot
from .values import Handle, lifter, lowerer, wave_encode, wave_parse_params

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
            the memories the component defines (see :mod:`pytest_hotupdate.component.footprint`;
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
        self._plans: dict[tuple[str, str], CallPlan] = {}
        self._calling: Incarnation | None = None
        #: Threads inside a guest call of this worker (and helpers running its host functions),
        #: with the function being called: a call back into the worker from them is refused.
        self._inside: dict[int, str] = {}
        self._recorder = DurableContext(self.oplog, self, self._inside, runtime.host_threads)
        #: The live Store was abandoned by an exception that propagates (Ctrl-C, SystemExit):
        #: rebuilt by replay before its next use.
        self._stale = False
        self._runner = SerialRunner(f"worker-{name}")
        #: Every Store built for the worker and not yet collected (closed with the worker).
        self._incarnations: weakref.WeakSet[Incarnation] = weakref.WeakSet()
        #: Released by :meth:`close`: the next use rebuilds the worker from its oplog.
        self._closed = False
        #: An update waiting to take over the running invocation (:meth:`request_takeover`).
        self._takeover: Callable[[Worker, Any], Any] | None = None
        #: The target of the automatic update in progress, if any (update.py refuses a
        #: duplicate; set through :meth:`claim_automatic_update`).
        self.automatic_update_target: int | None = None
        runtime.ticker.start()
        _OPEN_WORKERS.add(self)
        try:
            self._live = self.build_incarnation(component, revision)
            self.instantiate(self._live)
        except BaseException:
            wait_released(self._release())  # nothing of a worker never created stays open
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
            plan = self.plan_call(incarnation.component, function)
            lowered = self.lower_args(plan, args)
            params_text = tuple(
                wave_encode(ty, value) for ty, value in zip(plan.param_types, args)
            )
            self.oplog.append(
                Invocation(plan.info.golem_name, params_text, (plan.param_types, args))
            )
            self.status = "running"
            try:
                value = self.enter_guest(incarnation, plan, lowered)
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
            plan = self.plan_call(self._live.component, function)
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
            wait_released(self._release())

    def _release(self) -> list[Incarnation]:
        """Close the worker's Stores and remove its stream directory; return the Stores'
        incarnations (for :func:`~pytest_hotupdate.incarnation.wait_released`)."""
        incarnations = list(self._incarnations)
        for incarnation in incarnations:
            incarnation.close()
        self._incarnations.clear()
        remove_stream_directory(self)
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
        outputs = (weak_sink(self, "_capture_stdout"), weak_sink(self, "_capture_stderr"))
        try:
            streams = (stream_directory(self) if needs_stream_directory(component)
                       else None)
            config = make_wasi_config(self.grants, *outputs, streams)
        except ResourceError as error:
            raise ResourceError(f"worker {self.name}: {error}") from None
        incarnation = Incarnation.open(self.runtime.engine, component, revision, linker, config,
                                       self.limits.memory_bytes, outputs)
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

    def claim_automatic_update(self, target: int | None) -> None:
        """Record the target of the automatic update in progress (``None``: it has ended)."""
        self.automatic_update_target = target

    def request_takeover(self, takeover: Callable[[Worker, Any], Any]) -> bool:
        """If an invocation is running and no update waits for it yet, ask it to stop at its
        next durable host call or epoch tick and hand itself to ``takeover(worker, None)``,
        whose result its caller then gets; whether it was asked."""
        if self.status != "running" or self._takeover is not None:
            return False
        self._takeover = takeover
        self._live.interrupter.interrupt_requested = True
        return True

    def withdraw_takeover(self) -> None:
        """Withdraw a :meth:`request_takeover` the invocation did not act on (it finished)."""
        self._takeover = None
        self._live.interrupter.interrupt_requested = False

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
            wait_released(self._release())
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
    ) -> tuple[CallPlan, Any] | None:
        """Instantiate ``incarnation`` and replay the oplog (or ``entries``) from ``point`` into
        it (see :func:`pytest_hotupdate.replay.replay_into`)."""
        return replay_into(self, incarnation, point,
                           self.oplog.entries if entries is None else entries, on_exhausted)

    def call_unrecorded(self, incarnation: Incarnation, info: FunctionInfo, args: tuple[Any, ...]
                        ) -> Any:
        """Call ``info`` in ``incarnation`` without recording anything (snapshot save / load);
        its host calls run live. Raises InvocationError if it fails."""
        recorder = self._recorder
        recorder.replaying, recorder.recording = False, False
        try:
            plan = self.plan_call(incarnation.component, info.golem_name)
            return self.enter_guest(incarnation, plan, self.lower_args(plan, args, incarnation))
        finally:
            recorder.recording = True

    def load_snapshot(self, incarnation: Incarnation, snapshot: Snapshot) -> None:
        """Give ``snapshot`` to the incarnation's ``load`` (see :func:`bulk.load_snapshot`)."""
        bulk.load_snapshot(self, incarnation, snapshot)

    def save_snapshot(self, incarnation: Incarnation) -> Snapshot:
        """The incarnation's ``save`` result (see :func:`bulk.save_snapshot`)."""
        return bulk.save_snapshot(self, incarnation)

    def complete_interrupted(self, plan: CallPlan, value: Any) -> Any:
        """Record the outcome of an invocation that an update continued, and return it."""
        self._complete(plan, value)
        return value

    # -- invocation -----------------------------------------------------------------------------

    @property
    def durable_context(self) -> DurableContext:
        """The worker's side of durable host calls (replay sets its mode)."""
        return self._recorder

    def plan_call(self, component: LoadedComponent, function: str) -> CallPlan:
        """How to call ``function`` of ``component`` (prepared once per function)."""
        key = (component.sha256, function)
        plan = self._plans.get(key)
        if plan is None:
            info = component.find_function(function)
            plan = self._plans.get((component.sha256, info.golem_name))
            if plan is None:
                plan = CallPlan(
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

    def lower_args(self, plan: CallPlan, args: tuple[Any, ...],
               incarnation: Incarnation | None = None) -> list[Any]:
        """Validate and convert arguments; handles resolve in ``incarnation`` (default: live)."""
        if len(args) != len(plan.lowers):
            plan.check_arity(args)
        previous, self._calling = self._calling, incarnation or self._live
        try:
            return [lower(value) for lower, value in zip(plan.lowers, args)]
        except ValueTypeError as error:
            raise InvocationError(
                f"{plan.info.golem_name}: {error}", plan.info.golem_name, "bad-arguments"
            ) from None
        finally:
            self._calling = previous

    def _complete(self, plan: CallPlan, value: Any) -> None:
        result_type = plan.info.result
        if result_type is None:
            self.oplog.append(Completed(None))
        else:
            self.oplog.append(Completed(wave_encode(result_type, value), (result_type, value)))

    def enter_guest(self, incarnation: Incarnation, plan: CallPlan, lowered: list[Any]
                    ) -> Any:
        """Enter the guest once; translate every failure into an :class:`InvocationError`
        (``SystemExit`` and ``KeyboardInterrupt`` propagate as they are)."""
        func = incarnation.func(plan.info)
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
                failure = guest_failure(plan.info.golem_name, error, interrupter, self._recorder,
                                        self.limits)
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

    def _hand_over_to_update(self) -> Any:
        """The running invocation was interrupted for an update: let the update take over the
        partial invocation; it returns the invocation's result (new or old code)."""
        takeover, self._takeover = self._takeover, None
        if takeover is None:  # pragma: no cover - an interrupt is only requested with a takeover
            raise InvocationError("invocation interrupted without an update", "", "interrupted")
        return takeover(self, None)

    # -- handles ----------------------------------------------------------------------------

    def _register_handle(self, resource: ResourceAny) -> Handle:
        assert self._calling is not None  # lifted inside a call
        return self._calling.register_handle(resource)

    def _resolve_handle(self, handle: Handle) -> ResourceAny:
        assert self._calling is not None  # lowered for a call
        return self._calling.resolve_handle(handle)

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
            raise instantiation_failure(incarnation.component.name, error, interrupter,
                                            self._recorder, self.limits) from None
        finally:
            interrupter.disarm()
            self._inside.pop(ident, None)
            CURRENT.context, self._calling = previous, previous_calling
            recorder.recording = True
        raised = interrupter.take_raised()
        if raised is not None:
            raise raised
        if replaying:
            check_consumed(recorder, -1, None)

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


#: Workers not yet collected: closed at interpreter exit (see :func:`_close_open_workers`).
_OPEN_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


@atexit.register
def _close_open_workers() -> None:
    """Close every worker still open when the interpreter exits, while Python still runs:
    wasmtime's threads let go of each Store's output callbacks (see :func:`~pytest_hotupdate.incarnation.wait_released`),
    and the private stream directories are removed once no Store holds them open (removing
    them before could fail for want of a free file descriptor)."""
    closed = [incarnation for worker in list(_OPEN_WORKERS)
              for incarnation in worker._close_at_exit()]
    wait_released(closed)  # once for all of them
    remove_stream_directory()  # those that could not be removed when their worker closed
