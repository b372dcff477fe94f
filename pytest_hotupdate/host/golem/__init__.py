"""Built-in host implementations of Golem's interfaces, so that Golem components run as they do
on Golem: ``wasi:logging``, ``wasi:config``, ``wasi:keyvalue``, ``wasi:blobstore``,
``golem:api`` (host, oplog, context), ``golem:rpc`` and ``golem:durability``.

One module per interface family; each defines :class:`~._base.HostInterface` objects, keyed
here by unversioned interface name. :func:`pytest_hotupdate.host.build_linker` links every
version of an interface a component imports to the same implementation.
"""

from __future__ import annotations

import functools

from ...errors import UnsupportedHostFunction
from ...names import unversioned
from ..sdk import HostInterface

__all__ = ["HostInterface", "UnsupportedHostFunction", "builtin_interfaces", "provider"]

#: Modules holding the built-in interfaces (imported on first use).
_MODULES = ("wasi_logging", "wasi_config", "wasi_keyvalue", "wasi_blobstore", "api_host",
            "api_context", "api_oplog", "rpc", "durability")


@functools.lru_cache(maxsize=1)
def builtin_interfaces() -> dict[str, HostInterface]:
    """Every built-in interface, by unversioned name."""
    import importlib

    found: dict[str, HostInterface] = {}
    for module_name in _MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        for value in vars(module).values():
            if isinstance(value, HostInterface):
                found[value.name] = value
    return found


def provider(interface: str | None) -> HostInterface | None:
    """The built-in implementation of ``interface`` (any version), if there is one."""
    if not interface:
        return None
    return builtin_interfaces().get(unversioned(interface))
