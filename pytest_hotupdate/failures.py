"""What a failed entry into the guest means: the exception a worker raises for it.

A call into the guest (an invocation, a replayed one, an instantiation's start functions, a
snapshot ``save``/``load``) fails in one of a few ways, and each becomes one
:class:`~pytest_hotupdate.errors.InvocationError` whose ``kind`` names it (``trap``,
``deadline``, ``memory``, ``stack-overflow``, ``host-error``, ``instantiation``), with a
one-line message without wasmtime's backtrace; or it is one of the runtime's signals (an
update taking over, a divergence found inside a host call), or an exception that must
propagate as it is (Ctrl-C, ``SystemExit``).
"""

from __future__ import annotations

from typing import Protocol

from .durable import DurableContext
from .engine import INTERRUPT_MARKER, Interrupter
from .errors import (
    HostAbandoned,
    InterruptAtHostCall,
    Interrupted,
    InvocationError,
    MemoryLimitExceeded,
    ReplayDivergence,
    ResourceError,
)
from .host import explain_two_borrows_trap

__all__ = ["guest_failure", "instantiation_failure", "trap_message"]


class Limits(Protocol):
    """The worker's limits, as the messages name them (:class:`~pytest_hotupdate.worker.WorkerLimits`)."""

    @property
    def deadline_seconds(self) -> float: ...

    @property
    def memory_bytes(self) -> int: ...


def guest_failure(function: str, error: Exception, interrupter: Interrupter,
                  context: DurableContext, limits: Limits) -> BaseException:
    """What a failed entry into the guest raises: a ``KeyboardInterrupt`` (Ctrl-C) or a
    ``SystemExit`` a host function raised, as they are; anything else classified."""
    raised = interrupter.take_raised()
    host_error = context.host_error
    if raised is not None:
        context.host_error = None
        return raised
    if host_error is not None and not isinstance(host_error, Exception):
        context.host_error = None
        return host_error
    return _classify(function, error, interrupter, context, limits)

def _classify(function: str, error: BaseException, interrupter: Interrupter,
              context: DurableContext, limits: Limits) -> Exception:
    host_error = context.host_error
    context.host_error = None
    if isinstance(host_error, ReplayDivergence):
        return host_error
    if isinstance(host_error, ResourceError) and context.replaying:
        return host_error  # the process is out of descriptors: not the code's divergence
    if isinstance(host_error, InterruptAtHostCall):
        interrupter.interrupt_requested = False
        return Interrupted()
    if isinstance(host_error, HostAbandoned):
        return InvocationError(
            f"{function}: exceeded its deadline of {limits.deadline_seconds:g} s in "
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
    two_borrows = explain_two_borrows_trap(str(error))
    if two_borrows is not None:
        return InvocationError(f"{function}: trapped: {two_borrows}", function, "trap")
    message = trap_message(error)
    if INTERRUPT_MARKER in str(error):
        if interrupter.reason == "interrupt":
            interrupter.interrupt_requested = False
            return Interrupted()
        return InvocationError(
            f"{function}: exceeded its deadline of {limits.deadline_seconds:g} s "
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
            f"{limits.memory_bytes >> 20} MiB limit usually traps this way)",
            function,
            "trap",
        )
    return InvocationError(f"{function}: trapped: {message}", function, "trap")


def instantiation_failure(component_name: str, error: Exception, interrupter: Interrupter,
                          context: DurableContext, limits: Limits) -> BaseException:
    """What a failed instantiation raises, naming the component."""
    failure = guest_failure("(instantiation)", error, interrupter, context, limits)
    if not isinstance(failure, Exception) or isinstance(failure, ReplayDivergence):
        return failure  # Ctrl-C, SystemExit, or a divergence of the replayed start
    name = component_name
    kind = failure.kind if isinstance(failure, InvocationError) else "trap"
    if kind == "deadline":
        return InvocationError(
            f"{name}: instantiation (its start functions) ran past the deadline of "
            f"{limits.deadline_seconds:g} s and was stopped",
            "(instantiation)",
            "deadline",
        )
    reason = (str(failure).removeprefix("(instantiation): ") if kind == "host-error"
              else trap_message(error))
    return InvocationError(f"{name}: instantiation failed: {reason}", "(instantiation)",
                           "instantiation")


def trap_message(error: BaseException) -> str:
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
