"""``wasi:config/store`` (and its earlier name ``wasi:config/runtime``): the values given when
the worker was created (``Registry.worker(..., config={...})``).

Both published shapes are served: ``0.2.0-draft`` (``get: func(key) -> result<option<string>,
error>``, ``get-all: func() -> result<list<tuple<string, string>>, error>``) and the later one
without the ``result`` (never an error here). Reads are durable host calls, like
``wasi:cli/environment``: recorded live and answered from the oplog on replay, so a saved oplog
replays (``replay_history``) with the values the worker saw.
"""

from __future__ import annotations

from typing import Any

from ...values import ListType, OptionType, TupleType
from ..sdk import STRING, Call, HostInterface
from ._shapes import wrap_ok

CONFIG = HostInterface("wasi:config/store")
#: The same functions under the interface's name in earlier drafts (wasmCloud).
CONFIG_RUNTIME = HostInterface("wasi:config/runtime")

_ENTRIES = ListType(TupleType((STRING, STRING)))


def _config(call: Call) -> dict[str, str]:
    return dict(getattr(call.worker.grants, "config", ()))


@CONFIG.function("get")
@CONFIG_RUNTIME.function("get")
def get(call: Call, key: str) -> Any:
    value = call.durable([("key", STRING)], OptionType(STRING),
                         lambda k: _config(call).get(k), key)
    return wrap_ok(call.result_type, value)


@CONFIG.function("get-all")
@CONFIG_RUNTIME.function("get-all")
def get_all(call: Call) -> Any:
    entries = call.durable([], _ENTRIES, lambda: sorted(_config(call).items()))
    return wrap_ok(call.result_type, [tuple(e) for e in entries])
