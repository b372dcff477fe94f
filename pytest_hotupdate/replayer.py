"""Replay a recorded history on a component, as an automatic update to it would: the
Temporal-Replayer-like gate that checks a candidate revision against the histories of
production workers (``hotupdate-check --history``, the plugin's replay items,
:func:`~pytest_hotupdate.assertions.assert_replays`).

:func:`replay_history` streams the oplog file twice (once to find the recovery point, once to
replay), never holding it whole, and reports the first divergence as one line. It is also
importable as ``pytest_hotupdate.update.replay_history``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import Runtime
from .errors import HotUpdateError, OplogError
from .history import recovery_point
from .host import HostFunctions
from .oplog import Completed, Entry, Failed, Invocation, read_oplog
from .worker import Worker

__all__ = ["ReplayResult", "replay_history"]


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of replaying a recorded history on a component (see :func:`replay_history`).

    Attributes:
        ok: the whole history replayed without divergence and every invocation's outcome was
            recorded (so that every result was verified).
        divergence: one line describing the first divergence, or ``None``.
        invocations: how many recorded invocations were read.
        unfinished: when the history ends inside an invocation (the worker was saved while it
            ran): one line naming it, whose result cannot be verified (``ok`` is then False);
            else ``None``.
    """

    ok: bool
    divergence: str | None
    invocations: int
    unfinished: str | None = None


def replay_history(component: str | Path, oplog: str | Path, *,
                   runtime: Runtime | None = None,
                   expect_component: str | None = None) -> ReplayResult:
    """Replay a recorded oplog file on ``component`` (a ``.wasm`` path), as an automatic update
    to it would, and report the first divergence.

    The file is streamed (read twice, never held whole) and its structure validated as it is
    read (see :mod:`pytest_hotupdate.oplog`). Custom host imports need no Python
    implementation: every durable host call is answered from the log, and one the log does not
    have is a divergence. A history that ends inside an invocation replays up to it and is
    reported ``unfinished``: an in-flight invocation is legitimate in a live oplog (Golem's
    replay, reaching the end of the oplog before the invocation's finished marker, continues it
    live; anything else in place of that marker is an "unexpected oplog entry"), but its result
    is unknown, so it cannot verify the candidate.

    Args:
        expect_component: the component the history must be of (its header's ``component``).

    Raises:
        OplogError: the file cannot be read, is malformed, or is of another component (one
            line naming the file and line).
    """
    runtime = runtime or Runtime()
    from .component.shims import adapt  # wasmtime-py 50 cannot pass two handles to the host

    header, entries = read_oplog(oplog, expect_component=expect_component)
    point = recovery_point(header, entries)  # reads the whole file first: malformed -> raise
    loaded = runtime.load(adapt(component))
    stubs = {imported.qualified_name: _not_in_the_log(imported.qualified_name)
             for (interface, _), imported in loaded.imports.items()
             if not (interface or "").startswith(("wasi:",))}
    worker = Worker(runtime, loaded, component_name=header.component, revision=point.revision,
                    name=header.worker or "replay", host_functions=HostFunctions.from_mapping(stubs))
    counted = _Counter()
    _, entries = read_oplog(oplog, expect_component=expect_component)
    try:
        worker.replay_into(worker.build_incarnation(loaded, point.revision), point,
                           entries=counted.wrap(entries))
    except OplogError:
        raise  # the file changed between the two reads
    except HotUpdateError as error:
        return ReplayResult(False, str(error), counted.invocations)
    finally:
        worker.close()
    if counted.open is not None:
        number, function = counted.open
        unfinished = (f"invocation #{number} {function} has no recorded outcome (the worker "
                      "was saved while it ran): its result cannot be verified")
        return ReplayResult(False, None, counted.invocations, unfinished)
    return ReplayResult(True, None, counted.invocations)


class _Counter:
    """Counts the invocations streamed past and remembers the one without an outcome."""

    def __init__(self) -> None:
        self.invocations = 0
        self.open: tuple[int, str] | None = None  # (0-based number, function)

    def wrap(self, entries: Iterable[Entry]) -> Iterator[Entry]:
        for entry in entries:
            if isinstance(entry, Invocation):
                self.open = (self.invocations, entry.function)
                self.invocations += 1
            elif isinstance(entry, (Completed, Failed)):
                self.open = None
            yield entry


def _not_in_the_log(name: str) -> Callable[..., Any]:
    def stub(*_args: Any) -> Any:
        raise HotUpdateError(f"host call {name} is not in the recorded history")

    return stub
