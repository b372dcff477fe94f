"""WASI as the emulator provides it: wasmtime's own WASI p2 (``Linker.add_wasip2``), with the
functions whose answers differ from run to run (random numbers, clocks, environment) made
durable, and outgoing HTTP refused unless granted.

wasmtime registers WASI at one 0.2.x version (:data:`WASI_LINKED_VERSION`) and a component
importing any other 0.2.x version links to it, so a function defined under that same name
replaces just that function for all of them. :data:`DURABLE_WASI` holds the live
implementations the linker records and replays (see :mod:`pytest_hotupdate.host.linker`).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from typing import Any

from ..component import ImportedFunction, LoadedComponent
from ..durable import CURRENT
from ..names import unversioned
from ..values import Err, Variant, lowerer
from .sandbox import SandboxGrants
from .sdk import incarnation_state

#: The version under which ``Linker.add_wasip2`` registers WASI in wasmtime 50.
WASI_LINKED_VERSION = "0.2.12"


#: Interfaces ``add_wasip2`` provides (by unversioned name prefix).
WASI_P2_PACKAGES = ("wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/", "wasi:random/",
                    "wasi:sockets/")


WASI_HTTP_PACKAGES = ("wasi:http/",)


def _random_bytes(_grants: SandboxGrants, length: int) -> bytes:
    return os.urandom(min(length, 1 << 24))


def _random_u64(_grants: SandboxGrants) -> int:
    return secrets.randbits(64)


def _insecure_seed(_grants: SandboxGrants) -> tuple[int, int]:
    return (secrets.randbits(64), secrets.randbits(64))


def _wall_now(_grants: SandboxGrants) -> dict[str, int]:
    ns = time.time_ns()
    return {"seconds": ns // 1_000_000_000, "nanoseconds": ns % 1_000_000_000}


def _wall_resolution(_grants: SandboxGrants) -> dict[str, int]:
    return {"seconds": 0, "nanoseconds": 1}


def _monotonic_now(_grants: SandboxGrants) -> int:
    # wasmtime's own monotonic clock (which `subscribe-instant` waits on) counts from the
    # creation of the Store's WASI context; counting from the Store's first `now` keeps every
    # instant a guest computes from this one no later than wasmtime's clock (a guest sleeping
    # until `now() + d` would otherwise wait for the machine's uptime).
    base = _monotonic_base()
    return time.monotonic_ns() - base


def _monotonic_base() -> int:
    context = CURRENT.context
    worker = getattr(context, "worker", None)
    if worker is None:  # pragma: no cover - durable calls are made by workers
        return 0
    return incarnation_state(worker, "wasi:clocks/monotonic-base", time.monotonic_ns)


def _monotonic_resolution(_grants: SandboxGrants) -> int:
    return 1


def _get_environment(grants: SandboxGrants) -> list[tuple[str, str]]:
    return list(grants.env)


def _get_arguments(grants: SandboxGrants) -> list[str]:
    return list(grants.args)


def _initial_cwd(_grants: SandboxGrants) -> None:
    return None


#: Durable WASI functions: (unversioned interface, function) -> live implementation.
DURABLE_WASI: dict[tuple[str, str], Callable[..., Any]] = {
    ("wasi:random/random", "get-random-bytes"): _random_bytes,
    ("wasi:random/random", "get-random-u64"): _random_u64,
    ("wasi:random/insecure", "get-insecure-random-bytes"): _random_bytes,
    ("wasi:random/insecure", "get-insecure-random-u64"): _random_u64,
    ("wasi:random/insecure-seed", "insecure-seed"): _insecure_seed,
    ("wasi:clocks/wall-clock", "now"): _wall_now,
    ("wasi:clocks/wall-clock", "resolution"): _wall_resolution,
    ("wasi:clocks/monotonic-clock", "now"): _monotonic_now,
    ("wasi:clocks/monotonic-clock", "resolution"): _monotonic_resolution,
    ("wasi:cli/environment", "get-environment"): _get_environment,
    ("wasi:cli/environment", "get-arguments"): _get_arguments,
    ("wasi:cli/environment", "initial-cwd"): _initial_cwd,
}


def provided_by_wasi(interface: str | None) -> bool:
    name = interface or ""
    return name.startswith(WASI_P2_PACKAGES) or name.startswith(WASI_HTTP_PACKAGES)


def imports_http(component: LoadedComponent) -> bool:
    """Whether the component imports any ``wasi:http`` interface."""
    return any(unversioned(i).startswith(WASI_HTTP_PACKAGES) for i, _ in component.imports)


def outgoing_handle(component: LoadedComponent) -> ImportedFunction | None:
    for (interface, name), imported in component.imports.items():
        if unversioned(interface) == "wasi:http/outgoing-handler" and name == "handle":
            return imported
    return None


def deny_http(handle: ImportedFunction) -> Callable[..., Any]:
    """``outgoing-handler.handle`` for a worker without the HTTP grant: every request is
    refused with the ``HTTP-request-denied`` error code, and nothing leaves the process."""
    assert handle.result is not None
    denied = lowerer(handle.result, "result")(Err(Variant("HTTP-request-denied")))

    def deny(_store: Any, *_request: Any) -> Any:
        return denied

    return deny
