"""Folds over a worker's oplog: what its entries say about invocations and updates.

Every question the runtime, the assertions and the plugin ask of a history is answered here,
once: the invocations grouped with their host calls and outcomes, where recovery starts (the
*recovery point*), the update records and counts a worker's metadata shows, and the resolved
updates the plugin reports. The folds stream: none holds more than one invocation's entries.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .oplog import (
    Completed,
    Entry,
    Failed,
    FailedUpdate,
    HostCall,
    Invocation,
    OplogHeader,
    PendingUpdate,
    SuccessfulUpdate,
)
from .snapshot import DEFAULT_MIME_TYPE, Snapshot

__all__ = [
    "InvocationGroup",
    "InvocationRecord",
    "RecoveryPoint",
    "ResolvedUpdate",
    "UpdateOutcome",
    "UpdateRecord",
    "group_invocations",
    "invocation_records",
    "recovery_point",
    "resolved_updates",
    "update_counts",
    "update_records",
]


# -- invocations ---------------------------------------------------------------------------

@dataclass
class InvocationGroup:
    """An invocation read back from the oplog with its host calls and outcome."""

    invocation: Invocation | None  # None: host calls made outside any invocation (instantiation)
    host_calls: list[HostCall] = field(default_factory=list)
    outcome: Completed | Failed | None = None


def group_invocations(entries: Iterable[Entry]) -> Iterator[InvocationGroup]:
    """Group a stream of entries into invocations (streamed: one group in memory at a time).

    Update and log entries are skipped; a group whose outcome is ``None`` is an invocation that
    has not finished (interrupted by an update).
    """
    current: InvocationGroup | None = None
    for entry in entries:
        if isinstance(entry, Invocation):
            if current is not None:
                yield current
            current = InvocationGroup(entry)
        elif isinstance(entry, HostCall):
            if current is None or current.outcome is not None:
                if current is not None:
                    yield current
                current = InvocationGroup(None)
            current.host_calls.append(entry)
        elif isinstance(entry, (Completed, Failed)):
            if current is not None and current.invocation is not None and current.outcome is None:
                current.outcome = entry
                yield current
                current = None
    if current is not None:
        yield current


@dataclass(frozen=True)
class InvocationRecord:
    """One invocation, read back from the oplog.

    Attributes:
        function: Golem name of the function.
        params: WAVE text of each argument.
        result: WAVE text of the result (``None`` when the function has none, it failed, or it
            has not finished).
        error: the error message when it failed.
    """

    function: str
    params: tuple[str, ...]
    result: str | None
    error: str | None


def invocation_records(entries: Iterable[Entry]) -> list[InvocationRecord]:
    """Every invocation in ``entries``, in order (failed and unfinished ones included)."""
    records = []
    for group in group_invocations(entries):
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


# -- recovery ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecoveryPoint:
    """Where recovery of an oplog starts.

    Attributes:
        revision: the revision the worker runs at the end of the entries.
        start: index of the first entry to replay.
        snapshot: the snapshot to ``load`` first (after a successful manual update), or None.
    """

    revision: int
    start: int
    snapshot: Snapshot | None


def recovery_point(header: OplogHeader, entries: Iterable[Entry]) -> RecoveryPoint:
    """Fold the update entries of an oplog into the revision and the recovery start."""
    revision, start, snapshot = header.revision, 0, None
    pending: dict[tuple[int, str], PendingUpdate] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, PendingUpdate):
            pending[(entry.target_revision, entry.mode)] = entry
        elif isinstance(entry, SuccessfulUpdate):
            revision = entry.target_revision
            request = pending.pop((entry.target_revision, entry.mode), None)
            if entry.mode == "manual" and request is not None and request.snapshot is not None:
                snapshot = Snapshot(base64.b64decode(request.snapshot),
                                    request.snapshot_mime_type or DEFAULT_MIME_TYPE)
                start = index + 1
            elif entry.mode == "swap":  # a stateless swap: the history before it is not replayed
                snapshot, start = None, index + 1
        elif isinstance(entry, FailedUpdate):
            pending.pop((entry.target_revision, entry.mode), None)
    return RecoveryPoint(revision, start, snapshot)


# -- updates -------------------------------------------------------------------------------

@dataclass(frozen=True)
class UpdateOutcome:
    """The result of an update request.

    Attributes:
        succeeded: whether the worker now runs ``target_revision``.
        target_revision: the revision asked for.
        from_revision: the revision the worker ran before.
        mode: ``automatic``, ``manual`` or ``swap``.
        details: why it failed (Golem's wording), or a short note on success.
        seconds: how long the update took.
    """

    succeeded: bool
    target_revision: int
    from_revision: int
    mode: str
    details: str
    seconds: float

    @property
    def status(self) -> str:
        """wasmCloud-style status of the component: ``running`` or ``failed``."""
        return "running" if self.succeeded else "failed"


@dataclass(frozen=True)
class UpdateRecord:
    """One update entry of a worker's oplog, as its metadata shows it.

    Attributes:
        kind: ``pending``, ``successful`` or ``failed``.
        target_revision: the revision the update is for.
        mode: ``automatic``, ``manual`` or ``swap``.
        timestamp: when it was recorded (seconds since the epoch).
        details: the failure details (failed updates) or description.
    """

    kind: str
    target_revision: int
    mode: str
    timestamp: float
    details: str = ""


def update_records(entries: Iterable[Entry]) -> tuple[UpdateRecord, ...]:
    """The update entries of an oplog, oldest first."""
    records = []
    for entry in entries:
        if isinstance(entry, PendingUpdate):
            records.append(UpdateRecord("pending", entry.target_revision, entry.mode, entry.at,
                                        entry.description))
        elif isinstance(entry, SuccessfulUpdate):
            records.append(UpdateRecord("successful", entry.target_revision, entry.mode, entry.at,
                                        entry.details))
        elif isinstance(entry, FailedUpdate):
            records.append(UpdateRecord("failed", entry.target_revision, entry.mode, entry.at,
                                        entry.details))
    return tuple(records)


def update_counts(records: Iterable[UpdateRecord]) -> tuple[int, int, int]:
    """``(pending, successful, failed)``: pending counts requests not yet resolved."""
    open_requests: list[tuple[int, str]] = []
    successful = failed = 0
    for record in records:
        key = (record.target_revision, record.mode)
        if record.kind == "pending":
            open_requests.append(key)
            continue
        if key in open_requests:
            open_requests.remove(key)
        if record.kind == "successful":
            successful += 1
        else:
            failed += 1
    return len(open_requests), successful, failed


@dataclass(frozen=True)
class ResolvedUpdate:
    """An update that reached its outcome, with the revision it started from.

    Attributes:
        source: the revision the worker ran before it.
        target: the revision asked for.
        mode: ``automatic``, ``manual`` or ``swap``.
        succeeded: whether the worker ran ``target`` afterwards.
        seconds: from its pending entry to its outcome entry (0 without a pending entry).
        details: Golem's failure details (empty on success).
    """

    source: int
    target: int
    mode: str
    succeeded: bool
    seconds: float
    details: str


def resolved_updates(header: OplogHeader, entries: Iterable[Entry]) -> list[ResolvedUpdate]:
    """The updates of an oplog that reached an outcome, oldest first."""
    revision = header.revision
    requested: dict[tuple[int, str], float] = {}
    resolved = []
    for entry in entries:
        if isinstance(entry, PendingUpdate):
            requested[(entry.target_revision, entry.mode)] = entry.at
        elif isinstance(entry, (SuccessfulUpdate, FailedUpdate)):
            target, mode, at = entry.target_revision, entry.mode, entry.at
            started = requested.pop((target, mode), at)
            succeeded = isinstance(entry, SuccessfulUpdate)
            resolved.append(ResolvedUpdate(revision, target, mode, succeeded,
                                           max(at - started, 0.0),
                                           "" if succeeded else entry.details))
            if succeeded:
                revision = target
    return resolved
