"""``wasi:logging/logging`` (every version): captured per worker, recorded as oplog ``log`` entries.

As on Golem, a log call is emitted only when the worker runs live: a replay (recovery, automatic
update) neither captures nor records it again, and log entries never count as a divergence, so
a new revision may log more, less or differently.

The oplog entry is ``{"kind": "log", "stream": <level>, "text": <message>}``, the level being
``trace`` ... ``critical`` (Golem's oplog uses the same level names next to ``stdout`` and
``stderr``); a non-empty context is written before the message as ``[context] message``.
:func:`logs` returns the structured records.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from ...oplog import Log
from ...values import Variant
from ..sdk import Call, HostInterface

LOGGING = HostInterface("wasi:logging/logging")


@dataclass(frozen=True)
class LogRecord:
    """One ``wasi:logging`` message.

    Attributes:
        level: ``trace``, ``debug``, ``info``, ``warn``, ``error`` or ``critical``.
        context: the guest's context string (often a module or logger name).
        message: the message text.
    """

    level: str
    context: str
    message: str


_LOGS: weakref.WeakKeyDictionary[Any, list[LogRecord]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def logs(worker: Any) -> list[LogRecord]:
    """The ``wasi:logging`` messages ``worker`` emitted live, oldest first."""
    with _LOCK:
        return list(_LOGS.get(worker, ()))


def log_text(context: str, message: str) -> str:
    """The text of the oplog entry of one message."""
    return f"[{context}] {message}" if context else message


@LOGGING.function("log")
def log(call: Call, level: Any, context: str, message: str) -> None:
    if not call.live:
        return  # replayed code: the message was captured the first time
    name = level.case if isinstance(level, Variant) else str(level)
    worker = call.worker
    with _LOCK:
        _LOGS.setdefault(worker, []).append(LogRecord(name, context, message))
    call.context.oplog.append(Log(name, log_text(context, message)))
    return
