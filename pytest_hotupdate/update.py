"""Hot updates with Golem's semantics: automatic (replay) and manual (snapshot); revert; swap.

The specification is Golem's behaviour (see the project's notes):

- **Pre-checks**, refused at once with :class:`~pytest_hotupdate.errors.UpdateError`: the
  target is the current revision; the same automatic update is already pending; unknown mode.
  A target revision that does not exist is accepted and ends as a failed update.
- **Automatic**: ``PendingUpdate``; the target revision is instantiated on a fresh Store and the
  whole oplog replayed on it, durable host calls answered from the log. Any divergence ->
  ``FailedUpdate("Automatic update failed: ...")`` and the worker restarts on the old revision by
  replay; otherwise ``SuccessfulUpdate`` and the worker runs the target from then on. A running
  invocation is interrupted, replayed on the target and continued live there (its caller gets
  the new code's result); if replay diverges it continues on the old code.
- **Manual**: waits for the running invocation; the old revision's ``save`` (not recorded);
  ``PendingUpdate`` holding the snapshot; the target's ``load``; ``err``/trap/missing ->
  ``FailedUpdate("Manual update failed to load snapshot: ...")`` and a full replay on the old
  revision; ``ok`` -> ``SuccessfulUpdate``; every later recovery is ``load(snapshot)`` plus replay
  of the entries after the update.
- **Revert** cuts the oplog back (by index or by a number of invocations) and recovers; cutting
  past a successful update undoes it.
- **Swap** (wasmCloud): for stateless components; the new revision is linked against the host
  and instantiated first, and only then swapped in; any failure leaves the old one serving.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from concurrent.futures import Future
from typing import Any

from .errors import HotUpdateError, InvocationError, UpdateError, UpdateFailed
from .history import UpdateOutcome, recovery_point
from .incarnation import Incarnation
from .modes import normalise_mode
from .oplog import (
    Completed,
    Entry,
    Failed,
    FailedUpdate,
    Invocation,
    PendingUpdate,
    SuccessfulUpdate,
)
from .replayer import ReplayResult, replay_history
from .snapshot import find_save
from .worker import Worker

# replay_history and ReplayResult live in replayer.py, UpdateOutcome in history.py and
# UpdateFailed in errors.py; they stay importable from here, where the README names them.
__all__ = ["ReplayResult", "UpdateFailed", "UpdateOutcome", "replay_history", "revert", "swap",
           "update"]


def update(worker: Worker, target_revision: int, mode: str = "automatic", *,
           raise_on_failure: bool = False) -> UpdateOutcome:
    """Update ``worker`` to ``target_revision`` with Golem's semantics (see module docstring).

    Returns the outcome; a failed update leaves the worker on its revision with its state.
    Raises :class:`UpdateError` for a request refused at once, and :class:`UpdateFailed` for a
    failed update if ``raise_on_failure``.
    """
    worker.refuse_reentry("update")
    mode = normalise_mode(mode)
    if not isinstance(target_revision, int) or isinstance(target_revision, bool):
        raise UpdateError(f"target revision must be an integer, got {target_revision!r}")
    try:
        if mode == "automatic":
            outcome = _request_automatic(worker, target_revision)
        else:
            with worker.lock:  # a manual update waits until the worker is idle
                _pre_check(worker, target_revision, mode)
                outcome = _manual(worker, target_revision)
    except BaseException as error:
        if not isinstance(error, Exception):  # Ctrl-C, SystemExit: they propagate
            _close_interrupted(worker, target_revision, mode, error)
        raise
    if raise_on_failure and not outcome.succeeded:
        raise UpdateFailed(outcome)
    return outcome


_requests_lock = threading.Lock()


def _close_interrupted(worker: Worker, target: int, mode: str, error: BaseException) -> None:
    """An update stopped by an exception that propagates: its pending entry, if it wrote one,
    gets a failed one, so the oplog does not show it pending for ever (the worker, untouched
    or rebuilt by replay, stays on its revision)."""
    for entry in reversed(worker.oplog.entries):
        if isinstance(entry, (PendingUpdate, SuccessfulUpdate, FailedUpdate)):
            if isinstance(entry, PendingUpdate) and (entry.target_revision, entry.mode) == (
                    target, mode):
                worker.oplog.append(FailedUpdate(
                    target, mode, time.time(),
                    f"{mode.capitalize()} update interrupted by {type(error).__name__}"))
            return


def _pre_check(worker: Worker, target: int, mode: str) -> None:
    if target == worker.component_revision:
        raise UpdateError(
            f"worker {worker.name} is already at revision {target} of {worker.component_name}")
    if mode == "automatic" and worker.automatic_update_target == target:
        raise UpdateError(
            f"an automatic update of worker {worker.name} to revision {target} is already pending")


class _Clock:
    """Times one update and stamps its entries."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @staticmethod
    def now() -> float:
        return time.time()

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def _request_automatic(worker: Worker, target: int) -> UpdateOutcome:
    with _requests_lock:
        _pre_check(worker, target, "automatic")
        worker.claim_automatic_update(target)
    try:
        future: Future[UpdateOutcome] = Future()

        def takeover(w: Worker, _unused: Any) -> Any:
            outcome, value, failure = _automatic(w, target, in_flight=True)
            future.set_result(outcome)
            if failure is not None:
                raise failure  # the interrupted invocation's own failure, for its caller
            return value

        worker.request_takeover(takeover)
        with worker.lock:  # the running invocation has finished, taken over or not
            if future.done():
                return future.result()
            worker.withdraw_takeover()
            outcome, _, _ = _automatic(worker, target, in_flight=False)
            return outcome
    finally:
        with _requests_lock:
            worker.claim_automatic_update(None)


def _automatic(worker: Worker, target: int, in_flight: bool
               ) -> tuple[UpdateOutcome, Any, InvocationError | None]:
    """Run an automatic update. With ``in_flight``, also finish the interrupted invocation: its
    result (from the new code on success, from the old code on failure) is returned, or the
    error it failed with, which its caller gets."""
    clock = _Clock()
    source = worker.component_revision
    oplog = worker.oplog
    oplog.append(PendingUpdate(target, "automatic", clock.now()))
    committed: list[Incarnation] = []

    def commit(candidate: Incarnation) -> None:
        oplog.append(SuccessfulUpdate(target, "automatic", clock.now()))
        worker.switch_to(candidate)
        committed.append(candidate)

    component = worker.revision_component(target)
    failure: str | None = None
    value: Any = None
    if component is None:
        failure = f"revision {target} of {worker.component_name} does not exist"
    else:
        point = recovery_point(oplog.header, oplog.entries)
        try:
            candidate = worker.build_incarnation(component, target)
            continued = worker.replay_into(
                candidate, point, on_exhausted=(lambda: commit(candidate)) if in_flight else None)
            if in_flight and continued is not None:
                value = worker.complete_interrupted(*continued)
            elif not committed:
                commit(candidate)
        except HotUpdateError as error:
            if not committed:
                failure = str(error)
            else:  # the update is done; the continued invocation then failed on the new code
                outcome = UpdateOutcome(True, target, source, "automatic", "", clock.seconds())
                return outcome, None, _record_failed_invocation(worker, error)
    if failure is None:
        return UpdateOutcome(True, target, source, "automatic", "", clock.seconds()), value, None
    details = f"Automatic update failed: {failure}"
    oplog.append(FailedUpdate(target, "automatic", clock.now(), details))
    outcome = UpdateOutcome(False, target, source, "automatic", details, clock.seconds())
    if not in_flight:
        worker.recover()
        return outcome, None, None
    try:
        return outcome, _continue_on_old_revision(worker), None
    except HotUpdateError as error:
        return outcome, None, _record_failed_invocation(worker, error)


def _record_failed_invocation(worker: Worker, error: HotUpdateError) -> InvocationError:
    """An interrupted invocation failed where it was continued: record it as failed, rebuild
    the worker, and give its caller the error, as for any failed invocation."""
    kind = error.kind if isinstance(error, InvocationError) else "trap"
    function = error.function if isinstance(error, InvocationError) else ""
    worker.oplog.append(Failed(str(error), kind))
    worker.recover()
    return InvocationError(str(error), function, kind)


def _continue_on_old_revision(worker: Worker) -> Any:
    """After a failed update of a running invocation: rebuild on the old revision by replay
    and continue the interrupted invocation there; return its result."""
    point = recovery_point(worker.oplog.header, worker.oplog.entries)
    component = worker.revision_component(point.revision)
    assert component is not None
    old = worker.build_incarnation(component, point.revision)
    continued = worker.replay_into(old, point, on_exhausted=lambda: worker.switch_to(old))
    worker.switch_to(old)
    return worker.complete_interrupted(*continued) if continued is not None else None


def _manual(worker: Worker, target: int) -> UpdateOutcome:
    clock = _Clock()
    source = worker.component_revision
    oplog = worker.oplog
    old = worker.live

    def failed(details: str, restart: bool) -> UpdateOutcome:
        oplog.append(FailedUpdate(target, "manual", clock.now(), details))
        if restart:
            worker.recover()
        return UpdateOutcome(False, target, source, "manual", details, clock.seconds())

    save = find_save(old.component)
    if save is None:
        return failed("failed to get a snapshot for manual update: revision "
                      f"{source} does not export golem:api/save-snapshot", restart=False)
    try:
        snapshot = worker.save_snapshot(old)
    except InvocationError as error:  # a trap poisons the Store: rebuild it by replay
        return failed(f"failed to get a snapshot for manual update: {error}", restart=True)
    except ValueError as error:
        return failed(f"failed to get a snapshot for manual update: {error}", restart=False)
    oplog.append(PendingUpdate(target, "manual", clock.now(),
                               snapshot=base64.b64encode(snapshot.payload).decode("ascii"),
                               snapshot_mime_type=snapshot.mime_type))
    component = worker.revision_component(target)
    if component is None:
        return failed(f"Manual update failed: revision {target} of {worker.component_name} "
                      "does not exist", restart=True)
    try:
        candidate = worker.build_incarnation(component, target)
        worker.instantiate(candidate, "unrecorded")
        worker.load_snapshot(candidate, snapshot)
    except HotUpdateError as error:
        return failed(f"Manual update failed to load snapshot: {error}", restart=True)
    oplog.append(SuccessfulUpdate(target, "manual", clock.now()))
    worker.switch_to(candidate)
    return UpdateOutcome(True, target, source, "manual", "", clock.seconds())


def revert(worker: Worker, *, to_index: int | None = None,
           last_invocations: int | None = None) -> None:
    """Cut the worker's oplog back and recover, as Golem's revert does.

    Args:
        to_index: keep the first ``to_index`` oplog entries.
        last_invocations: drop the last N invocations (with everything recorded after them).

    Reverting past a successful update undoes it: the worker goes back to the earlier revision.
    An index inside an invocation drops that invocation whole: without its outcome it could
    never be replayed, and the oplog would hold an invocation that never ends followed by others
    (which reading a saved oplog refuses, see :mod:`pytest_hotupdate.oplog`).
    """
    if (to_index is None) == (last_invocations is None):
        raise UpdateError("revert needs exactly one of to_index or last_invocations")
    worker.refuse_reentry("revert")
    with worker.lock:
        entries = worker.oplog.entries
        if to_index is not None:
            if not isinstance(to_index, int) or not 0 <= to_index <= len(entries):
                raise UpdateError(
                    f"oplog index {to_index!r} is out of range (0..{len(entries)})")
            cut = to_index
        else:
            starts = [i for i, e in enumerate(entries) if isinstance(e, Invocation)]
            if not isinstance(last_invocations, int) or not 0 <= last_invocations <= len(starts):
                raise UpdateError(f"cannot drop {last_invocations!r} invocations "
                                  f"(the oplog has {len(starts)})")
            cut = starts[len(starts) - last_invocations] if last_invocations else len(entries)
        cut = _outside_invocations(entries, cut)
        dropped = entries[cut:]
        del entries[cut:]
        try:
            worker.recover()
        except HotUpdateError:
            entries.extend(dropped)  # nothing lost: put the history back and rebuild it
            worker.recover()
            raise


def _outside_invocations(entries: list[Entry], cut: int) -> int:
    """``cut``, or the start of the invocation it falls inside."""
    start: int | None = None
    for index, entry in enumerate(itertools.islice(entries, cut)):
        if isinstance(entry, Invocation):
            start = index
        elif isinstance(entry, (Completed, Failed)):
            start = None
    return cut if start is None else start


def swap(worker: Worker, target_revision: int) -> UpdateOutcome:
    """wasmCloud-style zero-downtime swap for a stateless component.

    The target revision is linked against the host and instantiated before the swap; any
    failure leaves the old revision serving (rollback) and returns a ``failed`` outcome.
    """
    worker.refuse_reentry("swap")
    with worker.lock:
        clock = _Clock()
        source = worker.component_revision
        if target_revision == source:
            raise UpdateError(f"worker {worker.name} is already at revision {target_revision}")
        component = worker.revision_component(target_revision)
        try:
            if component is None:
                raise HotUpdateError(f"revision {target_revision} of {worker.component_name} "
                                     "does not exist")
            candidate = worker.build_incarnation(component, target_revision)
            worker.instantiate(candidate, "unrecorded")
        except HotUpdateError as error:
            return UpdateOutcome(False, target_revision, source, "swap",
                                 f"rolled back: {error}", clock.seconds())
        worker.oplog.append(PendingUpdate(target_revision, "swap", clock.now()))
        worker.oplog.append(SuccessfulUpdate(target_revision, "swap", clock.now()))
        worker.switch_to(candidate)
        return UpdateOutcome(True, target_revision, source, "swap", "", clock.seconds())
