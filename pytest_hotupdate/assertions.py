"""Assertions for hot updates, with failure messages written for people.

Each helper performs one check on a :class:`~pytest_hotupdate.worker.Worker` and raises
``AssertionError`` whose message says which update (worker, component, revisions, mode) was
checked, the diverging invocation with the expected (recorded) and actual (replayed) WAVE
values, the update's details, and the end of the worker's history:

- :func:`assert_update_succeeds` / :func:`assert_update_fails` (``match=`` a regex on the details);
- :func:`assert_state_preserved`: probe functions answer the same before and after the update;
- :func:`assert_snapshot_roundtrip`: ``save`` -> ``load`` into a fresh instance -> ``save`` gives
  the same bytes, and the probes agree;
- :func:`assert_histories_replay` (and :func:`replay_histories`): recorded oplog files replay on a
  candidate revision without divergence.

Probes are function names (``"golem:counter/api.{get}"``) or ``(name, *args)`` tuples with
native arguments (or :class:`~pytest_hotupdate.strategies.Call` objects). Call the helpers while
the worker is idle (not during an :meth:`~pytest_hotupdate.worker.Worker.invoke_async` call).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import Runtime
from .errors import HistoryMatchError, HotUpdateError, InvocationError, OplogError
from .history import UpdateOutcome, group_invocations, recovery_point
from .oplog import Completed, Failed, read_header
from .replayer import replay_history
from .snapshot import LOAD_INTERFACE, SAVE_INTERFACE, Snapshot, find_load, find_save
from .values import wave_encode
from .worker import Worker

__all__ = [
    "HistoryMatch",
    "HistoryReplay",
    "assert_histories_replay",
    "assert_snapshot_roundtrip",
    "assert_state_preserved",
    "assert_update_fails",
    "assert_update_succeeds",
    "history_files",
    "match_histories",
    "replay_histories",
]

#: Invocations of the history shown around a divergence (before and after it).
_CONTEXT = 3
Probe = Any  # str | tuple[str, *args] | object with .function and .args


# --------------------------------------------------------------------------- updates


def assert_update_succeeds(worker: Worker, target: int, mode: str = "automatic"
                           ) -> UpdateOutcome:
    """Update ``worker`` to revision ``target`` in ``mode``; fail unless the update succeeds.

    Returns the :class:`~pytest_hotupdate.update.UpdateOutcome`.
    """
    __tracebackhide__ = True
    outcome = worker.update(target, mode)
    if not outcome.succeeded:
        raise AssertionError(_failed_update_message(worker, outcome))
    return outcome


def assert_update_fails(worker: Worker, target: int, mode: str = "automatic", *,
                        match: str | re.Pattern[str] | None = None) -> UpdateOutcome:
    """Update ``worker`` to revision ``target`` in ``mode``; fail unless the update fails (and,
    with ``match``, unless ``re.search(match, outcome.details)``), and unless the worker is still
    on its revision afterwards, as Golem guarantees.

    Returns the :class:`~pytest_hotupdate.update.UpdateOutcome`.
    """
    __tracebackhide__ = True
    outcome = worker.update(target, mode)
    if outcome.succeeded:
        raise AssertionError("\n".join([
            (f"expected the {_update_name(worker, outcome)} to fail, but it succeeded in "
            f"{_ms(outcome.seconds)}; the worker now runs revision {worker.component_revision}"),
            *_history_lines(worker),
        ]))
    if match is not None and not re.search(match, outcome.details):
        pattern = match.pattern if isinstance(match, re.Pattern) else match
        raise AssertionError("\n".join([
            (f"the {_update_name(worker, outcome)} failed as expected, but its details do not "
            f"match {pattern!r}"),
            f"  details: {outcome.details}",
        ]))
    if worker.component_revision != outcome.from_revision:
        raise AssertionError(
            f"the {_update_name(worker, outcome)} failed, but the worker is now on revision "
            f"{worker.component_revision} instead of staying on {outcome.from_revision}")
    return outcome


def assert_state_preserved(worker: Worker, target: int, mode: str = "automatic", *,
                           probes: Sequence[Probe] = ()) -> UpdateOutcome:
    """Check that an update keeps the worker's observable state.

    Runs every probe (a function name, or ``(name, *args)``) before the update, updates the
    worker to ``target`` in ``mode`` (failing if the update fails), runs the probes again on the
    new revision and fails unless each answers the same WAVE value. The probes run on replicas
    of the worker rebuilt from its oplog (as a recovery would), never on the worker itself: they
    are not recorded, and even a probe that changes state leaves the worker as it was.

    Returns the :class:`~pytest_hotupdate.update.UpdateOutcome`.
    """
    __tracebackhide__ = True
    calls = [_probe(p) for p in probes]
    source = worker.component_revision
    before = _run_probes(worker, calls, "before the update")
    outcome = worker.update(target, mode)
    if not outcome.succeeded:
        raise AssertionError("state not preserved: " + _failed_update_message(worker, outcome))
    after = _run_probes(worker, calls, f"after the update (revision {target})")
    changed = [b != a for b, a in zip(before, after)]
    if any(changed):
        width = max(len(_call_text(n, a)) for n, a in calls)
        lines = [
            (f"state not preserved by the {_update_name(worker, outcome)} (it succeeded in "
            f"{_ms(outcome.seconds)}): {sum(changed)} of {len(calls)} probe(s) changed"),
        ]
        for (name, args), b, a, diff in zip(calls, before, after, changed):
            call = _call_text(name, args).ljust(width)
            if diff:
                lines.append(f"  CHANGED {call}  before (revision {source}): {b}")
                lines.append(f"          {' ' * width}  after  (revision {target}): {a}")
            else:
                lines.append(f"  same    {call}  {b}")
        lines.extend(_history_lines(worker))
        raise AssertionError("\n".join(lines))
    return outcome


# --------------------------------------------------------------------------- snapshots


def assert_snapshot_roundtrip(worker: Worker, *, probes: Sequence[Probe] = ()) -> bytes:
    """Check that the worker's snapshot survives a round trip on its own revision.

    ``save`` (on a replica of the worker rebuilt from its oplog) -> ``load`` into a fresh
    instance -> ``save`` again must give the same bytes (and MIME type), and every probe must
    answer the same on the replica and the fresh instance. Nothing is recorded in the worker's
    oplog and its live instance is not touched. Returns the snapshot bytes.
    """
    __tracebackhide__ = True
    component, revision = worker.component, worker.component_revision
    what = f"snapshot round trip of worker {worker.name} ({worker.component_name}, revision " \
           f"{revision})"
    save, load = find_save(component), find_load(component)
    missing = [i for i, f in ((SAVE_INTERFACE, save), (LOAD_INTERFACE, load)) if f is None]
    if save is None or load is None:
        raise AssertionError(f"{what}: revision {revision} does not export "
                             f"{' or '.join(missing)}")
    replica = worker.build_incarnation(component, revision)
    worker.replay_into(replica, recovery_point(worker.oplog.header, worker.oplog.entries))
    first = _save(worker, replica, save, what, "the first save")
    fresh = worker.build_incarnation(component, revision)
    worker.instantiate(fresh, "unrecorded")
    try:
        worker.load_snapshot(fresh, first)
    except HotUpdateError as error:
        raise AssertionError(f"{what}: loading the worker's own snapshot "
                             f"({len(first.payload)} bytes) into a fresh instance failed: "
                             f"{error}") from None
    second = _save(worker, fresh, save, what, "the save after load")
    if first != second:
        lines = [f"{what}: save -> load -> save gives different bytes"]
        lines += _bytes_diff(first, second)
        raise AssertionError("\n".join(lines))
    calls = [_probe(p) for p in probes]
    mismatches = []
    for name, args in calls:
        info = component.find_function(name)
        old = _unrecorded(worker, replica, info, args, what)
        new = _unrecorded(worker, fresh, info, args, what)
        if old != new:
            mismatches.append(f"  CHANGED {_call_text(info.golem_name, args)}: before save {old}, "
                              f"after load {new}")
    if mismatches:
        raise AssertionError("\n".join([
            (f"{what}: the snapshot ({len(first.payload)} bytes) reloads, but "
            f"{len(mismatches)} of {len(calls)} probe(s) answer differently"), *mismatches]))
    return first.payload


def _save(worker: Worker, incarnation: Any, save: Any, what: str, which: str) -> Snapshot:
    __tracebackhide__ = True
    try:
        return worker.save_snapshot(incarnation)
    except (HotUpdateError, ValueError) as error:
        raise AssertionError(f"{what}: {which} failed: {error}") from None


def _unrecorded(worker: Worker, incarnation: Any, info: Any, args: tuple[Any, ...],
                what: str) -> str:
    __tracebackhide__ = True
    try:
        value = worker.call_unrecorded(incarnation, info, args)
    except HotUpdateError as error:
        raise AssertionError(f"{what}: probe {_call_text(info.golem_name, args)} failed: "
                             f"{error}") from None
    return wave_encode(info.result, value) if info.result is not None else "(no result)"


def _bytes_diff(first: Snapshot, second: Snapshot) -> list[str]:
    a, b = first.payload, second.payload
    lines = [f"  first save:  {len(a)} bytes, {first.mime_type}: {_hex(a)}",
             f"  second save: {len(b)} bytes, {second.mime_type}: {_hex(b)}"]
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    if a != b:
        lines.append(f"  first difference at byte {at}")
    return lines


def _hex(data: bytes, limit: int = 32) -> str:
    text = data[:limit].hex(" ")
    return text + (f" ... ({len(data) - limit} more)" if len(data) > limit else "")


# --------------------------------------------------------------------------- histories


@dataclass(frozen=True)
class HistoryReplay:
    """The result of replaying one recorded history on a candidate revision."""

    #: The oplog file.
    history: Path
    #: The component named in its header.
    component: str
    #: The candidate revision file it was replayed on (None: none given for its component).
    against: Path | None
    #: Whether the whole history replayed without divergence (False when not replayed).
    ok: bool
    #: The first divergence (one line), or None.
    divergence: str | None
    #: How many recorded invocations were read.
    invocations: int
    #: Why the history could not be read (one line naming the file and line), or None.
    error: str | None = None
    #: The invocation the history ends inside (its result cannot be verified), or None.
    unfinished: str | None = None


@dataclass(frozen=True)
class HistoryMatch:
    """A recorded history and the candidate revision it is replayed on."""

    #: The oplog file.
    history: Path
    #: The component its header names ("" when the header cannot be read).
    component: str
    #: The candidate for that component, or None (none given for it).
    against: Path | None
    #: Why the header cannot be read (one line naming the file and line), or None.
    error: str | None = None


def history_files(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """Oplog files: the files given, and ``*.oplog.jsonl`` under the directories (recursively,
    sorted)."""
    paths = [sources] if isinstance(sources, (str, Path)) else list(sources)
    files: list[Path] = []
    for source in map(Path, paths):
        files.extend(sorted(source.rglob("*.oplog.jsonl")) if source.is_dir() else [source])
    return files


def match_histories(files: Iterable[Path], against: str | Path | Mapping[str, str | Path]
                    ) -> list[HistoryMatch]:
    """Match each history to a candidate by the component its header names.

    ``against`` maps component names to candidates; the key ``""`` (or a plain path) is a
    candidate for the components without a named one, allowed only when their histories all
    name one component: replaying one component's history on another is never meaningful.

    Raises:
        HistoryMatchError: an unnamed candidate for histories of several components.
    """
    if isinstance(against, Mapping):
        named = {name: Path(path) for name, path in against.items() if name}
        unnamed = Path(against[""]) if "" in against else None
    else:
        named, unnamed = {}, Path(against)
    matches = []
    for file in files:
        try:
            matches.append(HistoryMatch(file, read_header(file).component, None))
        except OplogError as error:
            matches.append(HistoryMatch(file, "", None, str(error)))
    if unnamed is not None:
        others = sorted({m.component for m in matches if m.error is None and m.component not in named})
        if len(others) > 1:
            raise HistoryMatchError(
                f"candidate {unnamed} is given without a component name, but the histories are "
                f"of {len(others)} components without one ({', '.join(others)}): give "
                "NAME=FILE for each")
    return [m if m.error is not None else
            HistoryMatch(m.history, m.component, named.get(m.component, unnamed))
            for m in matches]


def replay_histories(histories: str | Path | Iterable[str | Path],
                     against: str | Path | Mapping[str, str | Path], *,
                     runtime: Runtime | None = None) -> list[HistoryReplay]:
    """Replay recorded histories on a candidate revision, as an automatic update would.

    Args:
        histories: oplog files, or directories searched for ``*.oplog.jsonl`` (recursively).
        against: the candidate ``.wasm`` for every history, or a mapping component name ->
            candidate (histories of other components are reported with ``against=None``);
            see :func:`match_histories`.
        runtime: the engine and compile cache to use (default: a new one).

    A history that cannot be read is reported with ``error`` (and ``ok`` False), one that
    ends inside an invocation with ``unfinished`` (and ``ok`` False).

    Raises:
        HistoryMatchError: a candidate without a component name for several components.
    """
    runtime = runtime or Runtime()
    results = []
    for match in match_histories(history_files(histories), against):
        if match.error is not None or match.against is None:
            results.append(HistoryReplay(match.history, match.component, None, False, None, 0,
                                         match.error))
            continue
        try:
            result = replay_history(match.against, match.history, runtime=runtime,
                                    expect_component=match.component)
        except OplogError as error:
            results.append(HistoryReplay(match.history, match.component, match.against, False,
                                         None, 0, str(error)))
            continue
        results.append(HistoryReplay(match.history, match.component, match.against, result.ok,
                                     result.divergence, result.invocations,
                                     unfinished=result.unfinished))
    return results


def assert_histories_replay(histories: str | Path | Iterable[str | Path],
                            against: str | Path | Mapping[str, str | Path], *,
                            runtime: Runtime | None = None) -> list[HistoryReplay]:
    """Like :func:`replay_histories`; fails with the first divergence of every history that
    diverges (or that has no candidate), and if there is no history at all."""
    __tracebackhide__ = True
    results = replay_histories(histories, against, runtime=runtime)
    if not results:
        raise AssertionError(f"no recorded histories (*.oplog.jsonl) in {histories}")
    bad = [r for r in results if not r.ok]
    if bad:
        lines = [f"{len(bad)} of {len(results)} recorded histories do not replay:"]
        for r in bad:
            if r.error is not None:
                lines.append(f"  {r.history}: unreadable: {r.error}")
            elif r.against is None:
                lines.append(f"  {r.history} ({r.component}): no candidate revision given for "
                             f"component {r.component!r}")
            else:
                lines.append(f"  {r.history} ({r.component}, {r.invocations} invocation(s)) on "
                             f"{r.against.name}:")
                lines.append(f"    {r.divergence or r.unfinished}")
        raise AssertionError("\n".join(lines))
    return results


# --------------------------------------------------------------------------- messages


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _update_name(worker: Worker, outcome: UpdateOutcome) -> str:
    return (f"{outcome.mode} update of worker {worker.name} ({worker.component_name}) from "
            f"revision {outcome.from_revision} to {outcome.target_revision}")


def _probe(probe: Probe) -> tuple[str, tuple[Any, ...]]:
    if isinstance(probe, str):
        return probe, ()
    if isinstance(probe, tuple) and probe and isinstance(probe[0], str):
        return probe[0], tuple(probe[1:])
    function, args = getattr(probe, "function", None), getattr(probe, "args", None)
    if isinstance(function, str) and isinstance(args, tuple):
        return function, args
    raise TypeError(f"a probe is a function name or a (name, *args) tuple, got {probe!r}")


def _call_text(function: str, args: tuple[Any, ...]) -> str:
    return f"{function}({', '.join(repr(a) for a in args)})"


def _replica(worker: Worker) -> Any:
    """A fresh instance of the worker's revision rebuilt from its oplog, as a recovery does."""
    __tracebackhide__ = True
    incarnation = worker.build_incarnation(worker.component, worker.component_revision)
    try:
        worker.replay_into(incarnation, recovery_point(worker.oplog.header, worker.oplog.entries))
    except HotUpdateError as error:
        raise AssertionError(f"worker {worker.name} cannot be rebuilt from its oplog on revision "
                             f"{worker.component_revision}: {error}") from None
    return incarnation


def _run_probes(worker: Worker, calls: list[tuple[str, tuple[Any, ...]]], when: str
                ) -> list[str]:
    __tracebackhide__ = True
    if not calls:
        return []
    replica = _replica(worker)
    answers = []
    for function, args in calls:
        try:
            info = worker.component.find_function(function)
            value = worker.call_unrecorded(replica, info, args)
        except InvocationError as error:
            raise AssertionError(f"probe {_call_text(function, args)} failed {when} on worker "
                                 f"{worker.name} (revision {worker.component_revision}): "
                                 f"{error}") from None
        answers.append(wave_encode(info.result, value) if info.result is not None
                       else "(no result)")
    return answers


def _recovery_start(worker: Worker) -> int:
    return recovery_point(worker.oplog.header, worker.oplog.entries).start


@dataclass(frozen=True)
class _Recorded:
    call: str
    outcome: str


def _recorded_invocations(worker: Worker) -> list[_Recorded]:
    """The invocations an automatic update replays (from the recovery point), as text."""
    entries = worker.oplog.entries
    point = recovery_point(worker.oplog.header, entries)
    recorded = []
    for group in group_invocations(itertools.islice(entries, point.start, None)):
        if group.invocation is None:
            continue
        call = f"{group.invocation.function}({', '.join(group.invocation.params)})"
        outcome = group.outcome
        if isinstance(outcome, Completed):
            text = "-> " + (outcome.result if outcome.result is not None else "(no result)")
        elif isinstance(outcome, Failed):
            text = f"failed ({outcome.error_kind}; skipped on replay)"
        else:
            text = "(unfinished)"
        recorded.append(_Recorded(call, text))
    return recorded


def _history_lines(worker: Worker, mark: int | None = None) -> list[str]:
    recorded = _recorded_invocations(worker)
    if not recorded:
        return ["  history: no invocations"]
    centre = mark if mark is not None else len(recorded) - 1
    low, high = max(0, centre - _CONTEXT), min(len(recorded), centre + _CONTEXT + 1)
    since = " since its last snapshot update" if _recovery_start(worker) else ""
    lines = [f"  history ({len(recorded)} invocation(s){since}):"]
    if low:
        lines.append(f"    ... {low} earlier")
    for index in range(low, high):
        pointer = "   <-- diverged here" if index == mark else ""
        lines.append(f"    #{index} {recorded[index].call} {recorded[index].outcome}{pointer}")
    if high < len(recorded):
        lines.append(f"    ... {len(recorded) - high} later")
    return lines


def _failed_update_message(worker: Worker, outcome: UpdateOutcome) -> str:
    lines = [f"{_update_name(worker, outcome)} failed ({_ms(outcome.seconds)})"]
    divergence = _parse_divergence(worker, outcome.details)
    mark = None
    if divergence is not None:
        mark, call, why, expected, got = divergence
        lines.append(f"  diverging invocation #{mark}: {call}")
        if expected is not None:
            lines.append(f"    expected (recorded):  {expected}")
            lines.append(f"    actual (replayed on revision {outcome.target_revision}): {got}")
        lines.append(f"    why: {why}")
    lines.append(f"  details: {outcome.details}")
    lines.extend(_history_lines(worker, mark))
    pending, successful, failed = worker.update_counts()
    lines.append(f"  the worker stays on revision {worker.component_revision}; update counts "
                 f"(pending, successful, failed): ({pending}, {successful}, {failed})")
    return "\n".join(lines)


_INDEX = re.compile(r"invocation #(\d+) ")


def _parse_divergence(worker: Worker, details: str
                      ) -> tuple[int, str, str, str | None, str | None] | None:
    """``(index, call, why, expected, got)`` of an automatic update's divergence, read from
    its details and the oplog (None if the details do not name an invocation)."""
    text = details.removeprefix("Automatic update failed: ")
    match = _INDEX.match(text)
    if match is None:
        return None
    index = int(match[1])
    recorded = _recorded_invocations(worker)
    if index >= len(recorded):
        return None
    call = recorded[index].call
    prefix = f"invocation #{index} {call}: "
    if not text.startswith(prefix):
        return None
    why = text[len(prefix):]
    expected = got = None
    outcome = recorded[index].outcome
    known = outcome[3:] if outcome.startswith("-> ") else None
    suffix = f" (expected {known}, got " if known is not None else None
    if suffix is not None and suffix in why and why.endswith(")"):
        position = why.rindex(suffix)
        why, expected, got = why[:position], known, why[position + len(suffix):-1]
    else:
        found = re.search(r" \(expected (.*), got (.*)\)\Z", why, re.DOTALL)
        if found is not None:
            why, expected, got = why[:found.start()], found[1], found[2]
    return index, call, why, expected, got
