"""The durable context: how host code, running inside a worker's guest call, records and
replays its durable host calls, and what it may ask of the worker and of its registry.

A host function does not know which worker called it: the worker publishes its
:class:`DurableContext` in :data:`CURRENT` (thread-local) around every entry into the guest,
since a Store runs on the calling thread. User host functions run on a helper thread, with
:data:`CURRENT` set there too, so that the invocation can stop waiting for one at its deadline
(:meth:`DurableContext.run_bounded`).

Host code (:mod:`pytest_hotupdate.host`, :mod:`pytest_hotupdate.host.golem`) depends on this module
and never on the worker, the update policies or the registry: it reaches the worker through
``context.worker`` and the registry through the :class:`ControlPlane` protocol the registry
implements, so that ``golem:api`` can ask for updates and reverts without importing
:mod:`pytest_hotupdate.update`.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .errors import HostAbandoned, HotUpdateError, InterruptAtHostCall, ReplayDivergence
from .oplog import HostCall, Oplog
from .values import WitType, wave_encode, wave_parse

#: How often a guest thread waiting for a user host function checks for Ctrl-C.
HOST_WAIT_SLICE = 0.05


class Deadline(Protocol):
    """The running call's deadline and interrupt requests (the engine's ``Interrupter``)."""

    #: An update asked the running invocation to stop at its next durable host call.
    interrupt_requested: bool
    #: An exception for the caller once the guest has stopped (Ctrl-C).
    raised: BaseException | None
    #: When the running call's deadline passes (``time.monotonic()`` seconds).
    deadline: float

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        ...


class HostJob(Protocol):
    """A host function running on a helper thread."""

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; whether it has finished."""
        ...

    def result(self) -> Any:
        """Its result (or its exception, raised)."""
        ...


class HostThreads(Protocol):
    """Where user host functions run (the engine's pool of helper threads)."""

    def start(self, function: Callable[[], Any]) -> HostJob:
        """Run ``function`` on a helper thread."""
        ...


class ControlPlane(Protocol):
    """What host functions may ask of the registry that runs the calling worker: its workers,
    its components, and updates or reverts of a worker (run by the update policies, one layer
    above the worker)."""

    @property
    def workers(self) -> Sequence[Any]:
        """The registry's workers, oldest first."""
        ...

    def worker(self, component: str, *, name: str) -> Any:
        """The worker ``name`` of ``component``, created if it does not exist yet."""
        ...

    def component_names(self) -> list[str]:
        """The names of the components deployed in the registry, sorted."""
        ...

    def update_worker(self, worker: Any, target_revision: int, mode: str = "automatic", *,
                      raise_on_failure: bool = False) -> Any:
        """Update ``worker`` (see :func:`pytest_hotupdate.update.update`); its outcome."""
        ...

    def revert_worker(self, worker: Any, *, to_index: int | None = None,
                      last_invocations: int | None = None) -> None:
        """Revert ``worker`` (see :func:`pytest_hotupdate.update.revert`)."""
        ...


class DurableContext:
    """The worker's side of durable host calls.

    Modes: live (call the host and record), replaying (answer from ``pending``), and
    unrecorded (call the host, record nothing: snapshot save/load). While replaying an
    interrupted invocation, ``on_exhausted`` is called when the log runs out, and the
    invocation then continues live.
    """

    def __init__(self, oplog: Oplog, worker: Any, inside: dict[int, str],
                 host_threads: HostThreads) -> None:
        self.oplog = oplog
        #: The calling :class:`~pytest_hotupdate.worker.Worker` (its ``registry`` is a
        #: :class:`ControlPlane`, or None).
        self.worker = worker
        #: Threads inside a guest call of the worker, with the function being called (shared
        #: with the worker, which refuses a call back into it from them).
        self.inside = inside
        self.host_threads = host_threads
        #: Replaying the oplog (durable calls are answered from it).
        self.replaying = False
        #: Recording (False while a snapshot is saved or loaded: nothing is recorded then).
        self.recording = True
        self.pending: deque[HostCall] = deque()
        self.on_exhausted: Callable[[], None] | None = None
        #: The first exception a host function raised in the running call (wasmtime's own
        #: slot is shared by every host function).
        self.host_error: BaseException | None = None
        #: The deadline of the incarnation being called (set around each call).
        self.interrupter: Deadline | None = None

    def durable_call(
        self,
        function: str,
        params: tuple[tuple[str, WitType], ...],
        result: WitType | None,
        live: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> Any:
        """Record ``live(*args)`` (live mode) or answer from the log (replay mode)."""
        if self.replaying:
            if self.pending or self.on_exhausted is None:
                return self._answer_from_log(function, result)
            self.continue_live()
        value = live(*args)
        if self.recording:
            param_text = tuple(wave_encode(ty, a) for (_, ty), a in zip(params, args))
            result_text = wave_encode(result, value) if result is not None else None
            self.oplog.append(HostCall(function, result_text, param_text, native=(result, value)))
            # As on Golem, a durable host call is where a pending interrupt takes effect: the
            # answer is in the log, so the update's replay gets it without calling again.
            if self.interrupter is not None and self.interrupter.interrupt_requested:
                raise InterruptAtHostCall()
        return value

    def continue_live(self) -> None:
        """The log of an interrupted invocation ran out: from here on, run live."""
        callback, self.on_exhausted = self.on_exhausted, None
        self.replaying = False
        if callback is not None:
            callback()

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
        if not self.pending and self.on_exhausted is not None:
            self.continue_live()  # the replay has reached the end of the log
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
        try:
            return wave_parse(result, entry.result)
        except HotUpdateError as error:
            raise ReplayDivergence(
                f"the recorded result of host call {function} does not fit {result.wit()}: "
                f"{error}",
                expected=entry.result,
                got=result.wit(),
            ) from None

    def host_failed(self, error: BaseException) -> None:
        """Remember an exception raised by a host function (wasmtime's own slot is shared)."""
        if self.host_error is None:
            self.host_error = error

    def run_bounded(self, function: str, live: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """Run a user host function on a helper thread; wait for it no longer than the running
        call's deadline (a Python function cannot be stopped, so one still running then is
        abandoned and the invocation fails with ``deadline``)."""
        inside = self.inside
        caller = inside.get(threading.get_ident(), function)

        def job() -> Any:
            ident = threading.get_ident()
            CURRENT.context = self
            inside[ident] = caller  # the helper is inside the worker too (see refuse_reentry)
            try:
                return live(*args)
            finally:
                inside.pop(ident, None)
                CURRENT.context = None

        running = self.host_threads.start(job)
        interrupter = self.interrupter
        while True:
            remaining = interrupter.remaining() if interrupter is not None else math.inf
            if running.wait(min(max(remaining, 0.0), HOST_WAIT_SLICE)):
                return running.result()
            if interrupter is not None and interrupter.raised is not None:
                raise HostAbandoned(function)  # Ctrl-C: the caller raises KeyboardInterrupt
            if remaining <= 0:
                raise HostAbandoned(function)


class _Current(threading.local):
    context: DurableContext | None = None


#: The durable context of the worker whose guest code is running on this thread.
CURRENT = _Current()
