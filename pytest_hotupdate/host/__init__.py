"""The host side of a worker's Store: the sandbox, WASI, the linker, and the host interfaces.

- :mod:`.sandbox`: :class:`SandboxGrants` (nothing granted by default), the WASI context built
  from them, the worker's private stream directory;
- :mod:`.wasi`: wasmtime's WASI p2 with its nondeterministic functions made durable, outgoing
  HTTP refused unless granted;
- :mod:`.linker`: every import bound to WASI, a built-in interface or a user host function
  (:class:`HostFunctions`), recorded and replayed through the durable context;
- :mod:`.sdk`: how a built-in host interface is written (:class:`~.sdk.HostInterface`,
  :class:`~.sdk.Call`, per-Store and per-registry state);
- :mod:`.golem`: the built-in interfaces: Golem's ``golem:api``, ``golem:rpc``, durability,
  oplog and context, and the ``wasi:`` stores, logging and config Golem provides.

Host code reaches the worker through :mod:`pytest_hotupdate.durable` only: nothing here imports
the worker, the update policies or the registry.
"""

from .linker import HostFunctions, build_linker, explain_two_borrows_trap, unprovided_imports
from .sandbox import (
    SandboxGrants,
    config_items,
    make_wasi_config,
    needs_stream_directory,
    remove_stream_directory,
    stream_directory,
)
from .wasi import imports_http

__all__ = ["HostFunctions", "SandboxGrants", "build_linker", "config_items",
           "explain_two_borrows_trap", "imports_http", "make_wasi_config",
           "needs_stream_directory", "remove_stream_directory", "stream_directory",
           "unprovided_imports"]
