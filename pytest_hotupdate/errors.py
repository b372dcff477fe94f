"""Every error the project raises on purpose.

All derive from :class:`HotUpdateError`, keep their structured data as attributes, and have a
one-line ``str()`` that names the file, value or function and what is wrong.
"""

from __future__ import annotations

from typing import Any


class HotUpdateError(Exception):
    """Base class of the project's own errors."""


class WaveSyntaxError(HotUpdateError):
    """WAVE text that does not parse.

    Attributes:
        text: the input.
        position: 0-based character offset of the problem.
    """

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        super().__init__(message)
        self.text = text
        self.position = position


class ValueTypeError(HotUpdateError):
    """A value (Python or WAVE) that does not fit its WIT type.

    Attributes:
        path: where in the value, e.g. ``param `by``` or ``param `item`.price``.
        expected: the WIT type expected, as WIT text.
    """

    def __init__(self, message: str, path: str = "", expected: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected


class ComponentLoadError(HotUpdateError):
    """A file or byte string that is not a loadable component. ``path`` names the file."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class OplogError(HotUpdateError):
    """A malformed or unsupported oplog file. ``path`` and ``line`` (1-based) locate it."""

    def __init__(self, message: str, path: str = "", line: int = 0) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class HistoryMatchError(HotUpdateError):
    """Recorded histories that cannot be matched to candidate revisions: a candidate given
    without a component name for histories of several components."""


class InvocationError(HotUpdateError):
    """An invocation that failed: trap, deadline, memory limit, missing function, bad arguments.

    Attributes:
        function: the function name as the user typed it.
        kind: ``trap``, ``deadline``, ``memory``, ``host-error``, ``not-found``,
            ``bad-arguments``, ``stack-overflow`` or ``instantiation``.
    """

    def __init__(self, message: str, function: str = "", kind: str = "trap") -> None:
        super().__init__(message)
        self.function = function
        self.kind = kind


class ReentryError(HotUpdateError):
    """A host function called back into the worker whose invocation is calling it (``invoke``,
    ``update``, ``restart``...): refused, as the nested call would land inside the running
    invocation's oplog entries.

    Attributes:
        worker: the worker's name.
        function: the function of the running invocation (``(instantiation)`` for a start
            function).
    """

    def __init__(self, message: str, worker: str = "", function: str = "") -> None:
        super().__init__(message)
        self.worker = worker
        self.function = function


class MemoryLimitExceeded(HotUpdateError):
    """A worker made the host hold more for it than its memory limit allows (the bytes written
    to a ``wasi:io`` output stream of a keyvalue or blobstore value, or the values it keeps in
    its registry's keyvalue and blob stores, see :mod:`pytest_hotupdate.host.golem.store_bytes`).
    Raised inside the host function; the invocation then fails with an
    :class:`InvocationError` of kind ``memory``."""


class ReplayDivergence(HotUpdateError):
    """Replaying an oplog did not reproduce the recorded history.

    Attributes:
        index: 0-based index of the diverging invocation among the oplog's invocations.
        function: its function name.
        expected / got: what the log says vs what the code did (WAVE text or host-call names).
    """

    def __init__(
        self, message: str, index: int = -1, function: str = "", expected: str = "", got: str = ""
    ) -> None:
        super().__init__(message)
        self.index = index
        self.function = function
        self.expected = expected
        self.got = got


class RegistryError(HotUpdateError):
    """A registry lookup that cannot be answered (unknown component, revision or worker)."""


class GrantError(HotUpdateError):
    """A sandbox grant that cannot be honoured as written: a directory path with a NUL byte
    (the C side would cut it short and grant another directory) or one that does not resolve
    to an existing directory. ``path`` is the path as given."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class UpdateError(HotUpdateError):
    """An update request refused at once (already at the target, the same update pending,
    unknown mode). A *failed* update is not an error: it is an outcome."""


class UpdateFailed(HotUpdateError):
    """Raised by ``update(..., raise_on_failure=True)``; ``.outcome`` is the failed
    :class:`~pytest_hotupdate.history.UpdateOutcome`."""

    def __init__(self, outcome: Any) -> None:
        super().__init__(f"update to revision {outcome.target_revision} failed: {outcome.details}")
        self.outcome = outcome


class SampleBuildError(HotUpdateError):
    """A bundled sample component failed to build (tool missing or tool error)."""


class ResourceError(HotUpdateError):
    """The process lacks a resource a worker needs: open files (``RLIMIT_NOFILE``), or room
    for a worker's private directory."""


class UnsupportedHostFunction(HotUpdateError):
    """A host function the emulator does not implement was called.

    Attributes:
        function: the function's name, ``golem:api/host.{fork-worker}``.
    """

    def __init__(self, function: str, why: str = "") -> None:
        detail = f": {why}" if why else ""
        super().__init__(f"{function} is not supported by the pytest-hotupdate emulator{detail}")
        self.function = function


class WitValueError(HotUpdateError):
    """A ``wit-value`` (Golem's self-describing value: RPC arguments, oplog values) does not
    have the expected type."""


# -- signals: raised and caught inside the runtime, never reach a user ------------------------

class HostAbandoned(Exception):
    """A user host function was still running at the deadline (or at Ctrl-C): the guest's
    thread stopped waiting for it (the invocation then fails with kind ``deadline``)."""

    def __init__(self, function: str) -> None:
        super().__init__(f"host function {function} was still running")
        self.function = function


class Interrupted(Exception):
    """A running invocation was stopped so that an update can take over."""


class InterruptAtHostCall(Exception):
    """Raised from a durable host call to stop the guest for a pending update."""


class Propagating(Exception):
    """Stands in, inside the guest, for a ``SystemExit`` or ``KeyboardInterrupt`` a host
    function raised (wasmtime-py's trampoline catches only ``Exception``); the worker raises
    the original once the guest has stopped."""


class Mismatch(Exception):
    """Inside the value converters: a value that does not fit its type; ``segs`` collects
    path segments innermost first (the converters turn it into a ValueTypeError)."""

    def __init__(self, expected: str, tail: str, pos: int | None = None) -> None:
        super().__init__(tail)
        self.expected = expected
        self.tail = tail
        self.pos = pos
        self.segs: list[str] = []


class BadSyntax(Exception):
    """Inside the WAVE parser: a syntax error, its message and 0-based character position
    (turned into a WaveSyntaxError)."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


class LiftFailed(Exception):
    """Inside a lifter: a value wasmtime returned does not fit the function's result type."""


class HistoryFailed(Exception):
    """A replay item's failure, shown by pytest as its message alone (no traceback)."""
