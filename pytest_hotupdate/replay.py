"""Replay: rebuild an incarnation by replaying a worker's oplog into it, and name the first
divergence.

Replay instantiates the incarnation (answering the start functions' host calls from the
oplog's prelude, or loading the snapshot of a manual update), then calls every completed
invocation again with its recorded arguments while :class:`~pytest_hotupdate.durable.DurableContext`
answers its durable host calls from the log, and compares each result with the recorded one.
The first difference is a :class:`~pytest_hotupdate.errors.ReplayDivergence` naming the
invocation, what the log says and what the code did. An invocation that never finished (an
update interrupted it) can be continued: replayed until its recorded host calls run out, then
run on live.

The worker is seen through :class:`ReplayTarget`, the part of its declared API replay uses;
this module does not import :mod:`pytest_hotupdate.worker`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .component import LoadedComponent
from .durable import DurableContext
from .errors import HotUpdateError, InvocationError, ReplayDivergence
from .history import InvocationGroup, RecoveryPoint, group_invocations
from .incarnation import CallPlan, Incarnation
from .oplog import Completed, Entry, HostCall, Invocation
from .snapshot import Snapshot
from .values import values_equal, wave_encode, wave_parse

__all__ = ["ReplayTarget", "check_consumed", "replay_into"]


class ReplayTarget(Protocol):
    """The worker, as replay uses it."""

    @property
    def durable_context(self) -> DurableContext:
        """The worker's durable context (replay sets its mode and pending host calls)."""
        ...

    def instantiate(self, incarnation: Incarnation, mode: str = "live",
                    prelude: Iterable[HostCall] = ()) -> None:
        ...

    def load_snapshot(self, incarnation: Incarnation, snapshot: Snapshot) -> None:
        ...

    def plan_call(self, component: LoadedComponent, function: str) -> CallPlan:
        ...

    def lower_args(self, plan: CallPlan, args: tuple[Any, ...],
                   incarnation: Incarnation | None = None) -> list[Any]:
        ...

    def enter_guest(self, incarnation: Incarnation, plan: CallPlan, lowered: list[Any]) -> Any:
        ...


def replay_into(
    worker: ReplayTarget,
    incarnation: Incarnation,
    point: RecoveryPoint,
    entries: Iterable[Entry],
    on_exhausted: Callable[[], None] | None = None,
) -> tuple[CallPlan, Any] | None:
    """Instantiate ``incarnation`` and replay ``entries`` from ``point`` into it.

    Raises :class:`ReplayDivergence` naming the first diverging invocation. If the last
    invocation never finished (an update interrupted it) and ``on_exhausted`` is given, it
    is continued: replayed until its recorded host calls run out, then ``on_exhausted()``
    is called and it runs on live; its ``(plan, result)`` is returned (not recorded).
    """
    recorder = worker.durable_context
    groups = group_invocations(itertools.islice(entries, point.start, None))
    first = next(groups, None)
    prelude: list[HostCall] = []
    if first is not None and first.invocation is None:
        prelude, first = first.host_calls, next(groups, None)
    if point.snapshot is None:
        worker.instantiate(incarnation, "replay", prelude)
    else:
        worker.instantiate(incarnation, "unrecorded")
        worker.load_snapshot(incarnation, point.snapshot)
    index = 0
    group = first
    try:
        while group is not None:
            following = next(groups, None)
            if group.invocation is not None:
                if group.outcome is None and following is None and on_exhausted is not None:
                    return _continue_interrupted(worker, incarnation, index, group, on_exhausted)
                if isinstance(group.outcome, Completed):
                    _replay_invocation(worker, incarnation, index, group)
                index += 1
            group = following
    finally:
        recorder.replaying = False
        recorder.pending = deque()
        recorder.on_exhausted = None
    return None


def _replay_invocation(worker: ReplayTarget, incarnation: Incarnation, index: int,
                       group: InvocationGroup) -> None:
    invocation = group.invocation
    assert invocation is not None and isinstance(group.outcome, Completed)
    recorder = worker.durable_context
    recorder.replaying = True
    recorder.pending = deque(group.host_calls)
    plan, value = _replay_call(worker, incarnation, index, invocation)
    check_consumed(recorder, index, invocation)
    _compare_result(index, invocation, plan, group.outcome, value)


def _prepare_replay(worker: ReplayTarget, incarnation: Incarnation, index: int,
                    invocation: Invocation) -> tuple[CallPlan, list[Any]]:
    """The function and lowered arguments of a recorded invocation, or a divergence."""
    try:
        plan = worker.plan_call(incarnation.component, invocation.function)
    except InvocationError as error:
        raise _divergence(index, invocation, f"the function no longer exists: {error}") from None
    args = _replay_args(plan, invocation, index)
    try:
        return plan, worker.lower_args(plan, args, incarnation)
    except InvocationError as error:
        raise _divergence(index, invocation,
                          f"its arguments no longer type-check: {error}") from None


def _replay_call(worker: ReplayTarget, incarnation: Incarnation, index: int,
                 invocation: Invocation, prepared: tuple[CallPlan, list[Any]] | None = None
                 ) -> tuple[CallPlan, Any]:
    plan, lowered = prepared or _prepare_replay(worker, incarnation, index, invocation)
    try:
        return plan, worker.enter_guest(incarnation, plan, lowered)
    except ReplayDivergence as error:
        raise _divergence(index, invocation, str(error), error.expected, error.got) from None
    except InvocationError as error:
        if not worker.durable_context.replaying:
            raise  # it failed after the replay had caught up: an ordinary failure
        raise _divergence(index, invocation, f"the replayed call failed: {error}") from None


def _continue_interrupted(worker: ReplayTarget, incarnation: Incarnation, index: int,
                          group: InvocationGroup, on_exhausted: Callable[[], None]
                          ) -> tuple[CallPlan, Any]:
    invocation = group.invocation
    assert invocation is not None
    recorder = worker.durable_context
    recorder.replaying = True
    recorder.pending = deque(group.host_calls)
    recorder.on_exhausted = on_exhausted
    prepared = _prepare_replay(worker, incarnation, index, invocation)
    if not recorder.pending:
        recorder.continue_live()  # nothing recorded: the whole call runs live
    plan, value = _replay_call(worker, incarnation, index, invocation, prepared)
    if recorder.replaying:
        check_consumed(recorder, index, invocation)
        recorder.continue_live()  # the log ran out exactly at the end of the call
    return plan, value


def _replay_args(plan: CallPlan, invocation: Invocation, index: int) -> tuple[Any, ...]:
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
    index: int, invocation: Invocation, plan: CallPlan, outcome: Completed, value: Any
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


def check_consumed(recorder: DurableContext, index: int, invocation: Invocation | None) -> None:
    """A divergence if the replayed call (``invocation``, or the instantiation when None)
    left recorded host calls unmade."""
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
