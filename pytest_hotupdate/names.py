"""How the runtime spells function, interface and host-call names, in one place.

An interface name may carry a version (``wasi:random/random@0.2.3``); :func:`unversioned`
drops it. A component-model item name may carry a resource prefix (``[constructor]cart``,
``[method]cart.add-item``, ``[static]cart.empty``); :func:`golem_item_name` turns it into
Golem's spelling (``cart.new``, ``cart.add-item``, ``cart.empty``). Names are then joined as
``interface.{item}``: :func:`qualified_name` keeps the interface's version and the item as
given (exports, imports as the component declares them); :func:`durable_name` drops the
version and keeps the item as given (a ``[method]`` prefix stays: the name user host functions
and durable WASI calls are recorded under); :func:`host_call_name` drops the version and spells
the item Golem's way (the name built-in Golem host calls are recorded under). This module
imports nothing of the package, so any module may use it.
"""

from __future__ import annotations

__all__ = [
    "durable_name",
    "golem_item_name",
    "host_call_name",
    "qualified_name",
    "unversioned",
]

def unversioned(interface: str | None) -> str:
    """``wasi:random/random@0.2.3`` -> ``wasi:random/random``; ``None`` -> ``""``."""
    return (interface or "").split("@", 1)[0]


def golem_item_name(export_name: str) -> str:
    """``[constructor]cart`` -> ``cart.new``; ``[method]cart.inc`` -> ``cart.inc``; else as is."""
    if export_name.startswith("[constructor]"):
        return export_name[len("[constructor]"):] + ".new"
    for prefix in ("[method]", "[static]"):
        if export_name.startswith(prefix):
            return export_name[len(prefix):]
    return export_name


def qualified_name(interface: str | None, item: str) -> str:
    """``golem:counter/api@1.0.0`` + ``increment`` -> ``golem:counter/api@1.0.0.{increment}``;
    ``{increment}`` when there is no interface."""
    return f"{interface}.{{{item}}}" if interface else f"{{{item}}}"


def durable_name(interface: str | None, function: str) -> str:
    """The name a host call has in the oplog: ``wasi:random/random.{get-random-u64}``
    (version dropped, ``function`` as given)."""
    return qualified_name(unversioned(interface), function)


def host_call_name(interface: str | None, function: str) -> str:
    """``golem:rpc/types@0.2.2`` + ``[method]wasm-rpc.invoke`` ->
    ``golem:rpc/types.{wasm-rpc.invoke}``: the oplog name of a built-in Golem host call."""
    return durable_name(interface, golem_item_name(function))
