"""Host imports: a sandboxed WASI p2, durable host calls, and user-provided host functions.

Durable host functions (random numbers, clocks, environment, and every user-provided function)
are recorded in the worker's oplog when the worker runs live and answered from the oplog when it
replays, so that a replayed worker sees exactly the values it saw the first time.

The WASI functions are wasmtime's own (``Linker.add_wasip2``), with the durable ones shadowed:
wasmtime registers WASI at one 0.2.x version and a component importing any other 0.2.x version
links to it, so a function defined under that same name replaces just that function for all of
them. Each definition takes its exact type from the component's own imports.

A host function finds the worker that called it through :data:`pytest_hotupdate.durable.CURRENT`
(see :mod:`pytest_hotupdate.durable`).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime.component import Linker

from .component import ImportedFunction, LoadedComponent
from .durable import CURRENT
from .errors import ComponentLoadError, GrantError, HotUpdateError, Propagating, ResourceError
from .golem._base import persisting_nothing
from .names import durable_name, host_call_name, unversioned
from .values import Err, Variant, lifter, lowerer

#: The version under which ``Linker.add_wasip2`` registers WASI in wasmtime 50.
WASI_LINKED_VERSION = "0.2.12"

#: Interfaces ``add_wasip2`` provides (by unversioned name prefix).
WASI_P2_PACKAGES = ("wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/", "wasi:random/",
                    "wasi:sockets/")
WASI_HTTP_PACKAGES = ("wasi:http/",)




@dataclass(frozen=True)
class SandboxGrants:
    """What a worker may reach on the host. Everything is denied by default.

    Attributes:
        env: environment variables the guest sees (``wasi:cli/environment``, recorded).
        args: command-line arguments the guest sees.
        dirs: ``(host_path, guest_path, writable)`` directories to preopen.
        http: allow outgoing HTTP (``wasi:http/outgoing-handler``); otherwise requests are denied.
        network: allow sockets (``wasi:sockets``): refused with a clear error, as wasmtime-py
            50 cannot open WASI p2 sockets to a guest.
        config: the worker's configuration values (``wasi:config/store``, recorded).
        trap_unknown_imports: link every import that nothing provides to a function that fails
            the invocation calling it (naming the function), instead of refusing the component
            when the worker is created; the rest of the component can then be tested.
    """

    env: tuple[tuple[str, str], ...] = ()
    args: tuple[str, ...] = ()
    dirs: tuple[tuple[str, str, bool], ...] = ()
    http: bool = False
    network: bool = False
    config: tuple[tuple[str, str], ...] = ()
    trap_unknown_imports: bool = False

    def __post_init__(self) -> None:
        for host_path, guest_path, _writable in self.dirs:
            _check_grant_path(host_path, "host directory")
            _check_grant_path(guest_path, "guest path")
            if not os.path.isdir(host_path):
                what = "does not exist" if not os.path.lexists(host_path) else (
                    "is not a directory")
                raise GrantError(
                    f"cannot grant directory {host_path!r} (as {guest_path!r}): it {what}",
                    host_path)

    @classmethod
    def from_options(
        cls,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] | list[str] = (),
        dirs: Mapping[str, str] | None = None,
        http: bool = False,
        network: bool = False,
        config: Mapping[str, str] | None = None,
        trap_unknown_imports: bool = False,
    ) -> SandboxGrants:
        """Build grants from plain options (``dirs`` maps host path -> guest path, read-only).

        Each host directory is resolved (symbolic links followed) when the grant is made, so
        the worker gets the directory that was named, even if a link changes later.

        Raises:
            GrantError: a path with a NUL byte, or a host path that is not an existing directory.
        """
        return cls(
            env=tuple((env or {}).items()),
            args=tuple(args),
            dirs=tuple((_resolved(host), _checked(guest, "guest path"), False)
                       for host, guest in (dirs or {}).items()),
            http=http,
            network=network,
            config=config_items(config),
            trap_unknown_imports=trap_unknown_imports,
        )


def _check_grant_path(path: object, what: str) -> None:
    if not isinstance(path, str):
        raise GrantError(f"cannot grant directory: the {what} {path!r} is not a string")
    if "\0" in path:
        # wasmtime's C API takes NUL-terminated strings: "/srv/data\0/x" would grant /srv/data.
        raise GrantError(f"cannot grant directory: the {what} {path!r} contains a NUL byte", path)


def _checked(path: str, what: str) -> str:
    _check_grant_path(path, what)
    return path


def _resolved(host_path: str) -> str:
    path = os.fspath(host_path)
    _check_grant_path(path, "host directory")
    try:
        return os.path.realpath(path, strict=True)
    except OSError:
        return path  # __post_init__ names what is wrong with it


def config_items(config: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Configuration values as sorted ``(key, value)`` pairs; both must be strings."""
    items = []
    for key, value in (config or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"config values must map str to str, got {key!r}: {value!r}")
        items.append((key, value))
    return tuple(sorted(items))


# -- live implementations of the durable WASI functions --------------------------------------

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
    from .golem._base import incarnation_state

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


HostFunction = Callable[..., Any]


@dataclass(frozen=True)
class HostFunctions:
    """User-provided host functions for custom imports, keyed by their durable name.

    Keys accept ``"golem:dice/oracle.{ask}"`` (or with a version). Each function receives the
    call's arguments as native values and returns a native value; its result is recorded.
    Hashable (functions compare by identity), so linkers can be cached per set of functions.
    """

    functions: tuple[tuple[str, HostFunction], ...] = ()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, HostFunction] | None) -> HostFunctions:
        normalised: dict[str, HostFunction] = {}
        for key, fn in (mapping or {}).items():
            if not callable(fn):
                raise TypeError(f"host function `{key}` is not callable")
            normalised[_normalise_key(key)] = fn
        return cls(tuple(sorted(normalised.items(), key=lambda item: item[0])))

    def get(self, interface: str | None, function: str) -> HostFunction | None:
        wanted = durable_name(interface, function)
        for key, fn in self.functions:
            if key == wanted:
                return fn
        return None


def _normalise_key(key: str) -> str:
    if key.endswith("}") and ".{" in key:
        iface, _, name = key[:-1].rpartition(".{")
        return durable_name(iface, name)
    iface, _, name = key.rpartition(".")
    if not iface:
        raise ValueError(f"host function key `{key}` must look like `pkg:ns/iface.{{function}}`")
    return durable_name(iface, name)


def _provided_by_wasi(interface: str | None) -> bool:
    name = interface or ""
    return name.startswith(WASI_P2_PACKAGES) or name.startswith(WASI_HTTP_PACKAGES)


def unprovided_imports(
    component: LoadedComponent, host_functions: HostFunctions
) -> list[ImportedFunction]:
    """Imports that neither WASI, a built-in implementation nor a user host function covers."""
    from . import golem

    missing = []
    for (interface, name), imported in component.imports.items():
        if _provided_by_wasi(interface) or golem.provider(interface) is not None:
            continue
        if host_functions.get(interface, name) is None:
            missing.append(imported)
    return missing


def _durable_host_function(
    qualified: str, imported: ImportedFunction, live: Callable[..., Any]
) -> Callable[..., Any]:
    """Wrap ``live`` as a wasmtime host function that records / replays through CURRENT."""
    lifts = tuple(lifter(ty) for _, ty in imported.params)
    lower = lowerer(imported.result, "result") if imported.result is not None else None
    params, result = imported.params, imported.result

    def host_function(_store: Any, *raw: Any) -> Any:
        context = CURRENT.context
        if context is None:  # pragma: no cover - only if the guest runs outside a worker
            raise RuntimeError(f"host function {qualified} called outside a worker")
        try:
            args = tuple(lift(value) for lift, value in zip(lifts, raw))
            if persisting_nothing(context):
                value = live(*args)  # golem:api persist-nothing: run live, record nothing
            else:
                value = context.durable_call(qualified, params, result, live, args)
            return lower(value) if lower is not None else None
        except BaseException as error:
            context.host_failed(error)
            if isinstance(error, Exception):
                raise
            raise _propagating(error) from None

    return host_function


def _propagating(error: BaseException) -> Exception:
    """A stand-in for ``error`` (``SystemExit``, ``KeyboardInterrupt``): wasmtime-py's
    trampoline catches only ``Exception``, and anything else would escape the ctypes callback
    (printed and lost, the guest running on with no result). The stand-in stops the guest; the
    worker then raises the original, which :meth:`~pytest_hotupdate.durable.DurableContext.host_failed` kept."""
    return Propagating(f"{type(error).__name__} raised in a host function")


def _bounded(name: str, user: Callable[..., Any]) -> Callable[..., Any]:
    """``user`` run through the calling worker's deadline (on a helper thread)."""

    def bounded(*args: Any) -> Any:
        context = CURRENT.context
        if context is None:  # pragma: no cover - only if the guest runs outside a worker
            raise RuntimeError(f"host function {name} called outside a worker")
        return context.run_bounded(name, user, args)

    return bounded


def _builtin_host_function(impl: Callable[..., Any], imported: ImportedFunction
                           ) -> Callable[..., Any]:
    """Wrap a built-in implementation (``impl(call, *args)``, see :mod:`pytest_hotupdate.golem`)
    as a wasmtime host function with the types of the component's own import."""
    from .golem._base import Call

    name = host_call_name(imported.interface, imported.name)
    lifts = tuple(lifter(ty) for _, ty in imported.params)  # handles stay ResourceAny values
    lower = lowerer(imported.result, "result") if imported.result is not None else None

    def host_function(store: Any, *raw: Any) -> Any:
        context = CURRENT.context
        if context is None:  # pragma: no cover - only if the guest runs outside a worker
            raise RuntimeError(f"host function {name} called outside a worker")
        try:
            args = tuple(lift(value) for lift, value in zip(lifts, raw))
            value = impl(Call(store, context, imported, name), *args)
            return lower(value) if lower is not None else None
        except BaseException as error:
            context.host_failed(error)
            if isinstance(error, Exception):
                raise
            raise _propagating(error) from None

    return host_function


def _failing_host_function(error: Callable[[], BaseException]) -> Callable[..., Any]:
    """A host function that fails the invocation calling it with ``error()``."""

    def host_function(_store: Any, *_raw: Any) -> Any:
        raised = error()
        context = CURRENT.context
        if context is not None:
            context.host_failed(raised)
        raise raised

    return host_function


def _unsupported(imported: ImportedFunction, why: str) -> Callable[..., Any]:
    from .golem._base import UnsupportedHostFunction

    name = host_call_name(imported.interface, imported.name)
    return _failing_host_function(lambda: UnsupportedHostFunction(name, why))


def _imported_resources(engine: wasmtime.Engine, component: LoadedComponent
                        ) -> list[tuple[str, str, int]]:
    """``(instance, resource, host type id)`` for every resource type an imported interface
    outside WASI p2 exports. A resource another interface ``use``s gets the id of the one it
    is (the interface that defines it)."""
    from wasmtime.component import ComponentInstanceType, ResourceType

    from . import golem
    from .golem._base import resource_type_id

    # Each group: [ResourceType, defining interface, resource name]; a group whose defining
    # interface is WASI's is wasmtime's own resource (``use``d by another interface, e.g. a
    # `pollable`) and is left for WASI to define.
    groups: list[list[Any]] = []
    found: list[tuple[str, str, list[Any]]] = []
    for key, extern in component.component.type.imports(engine).items():
        item = extern.ty
        if not isinstance(item, ComponentInstanceType):
            continue
        wasi = _provided_by_wasi(key)
        builtin = None if wasi else golem.provider(key)
        for name, export in item.exports(engine).items():
            ty = export.ty
            if not isinstance(ty, ResourceType):
                continue
            defines = wasi or (builtin is not None and name in builtin.resources)
            for group in groups:
                if group[0] == ty:
                    if defines:
                        group[1], group[2] = unversioned(key), name
                    break
            else:
                group = [ty, unversioned(key), name]
                groups.append(group)
            if not wasi:
                found.append((key, name, group))
    return [(key, name, resource_type_id(group[1], group[2])) for key, name, group in found
            if not _provided_by_wasi(group[1])]


def build_linker(
    engine: wasmtime.Engine,
    component: LoadedComponent,
    host_functions: HostFunctions,
    grants: SandboxGrants,
) -> Linker:
    """A linker with WASI (durable parts shadowed), the built-in implementations of Golem's
    interfaces (:mod:`pytest_hotupdate.golem`) and the component's custom imports.

    A built-in interface serves every function of it the component imports: one it does not
    implement fails, when called, with an error naming it (a user host function of the same
    name is used instead, if given). Raises :class:`ComponentLoadError` naming the first
    imports nothing provides, unless ``grants.trap_unknown_imports``.
    """
    from . import golem
    from .golem._base import resource_dtor

    missing = unprovided_imports(component, host_functions)
    if missing and not grants.trap_unknown_imports:
        names = ", ".join(m.qualified_name for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ComponentLoadError(
            f"{component.name}: imports {names}{more}, which no host function provides "
            "(pass host_functions={'iface.{function}': callable})",
            component.source,
        )
    linker = Linker(engine)
    linker.allow_shadowing = True
    linker.add_wasip2()
    by_instance: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
    if imports_http(component):
        linker.add_wasi_http()
        if not grants.http:
            handle = _outgoing_handle(component)
            if handle is not None:
                target = f"wasi:http/outgoing-handler@{WASI_LINKED_VERSION}"
                by_instance[target] = [("handle", _deny_http(handle))]
    for (interface, name), imported in component.imports.items():
        base = unversioned(interface)
        wasi_live = DURABLE_WASI.get((base, name))
        builtin = golem.provider(interface)
        user = host_functions.get(interface, name)
        target = interface or ""
        if wasi_live is not None:
            fn = _durable_host_function(durable_name(interface, name), imported,
                                        _bind_grants(wasi_live, grants))
            target = f"{base}@{WASI_LINKED_VERSION}"
        elif builtin is not None and builtin.implements(name):
            fn = _builtin_host_function(builtin.functions[name], imported)
        elif user is not None:
            qualified = durable_name(interface, name)
            fn = _durable_host_function(qualified, imported, _bounded(qualified, user))
        elif builtin is not None:
            fn = _unsupported(imported, builtin.why_unsupported(name))
        elif _provided_by_wasi(interface):
            continue  # plain (non-durable) WASI: wasmtime's own
        else:  # nothing provides it, and the user asked for traps
            fn = _unsupported(imported, "no host function provides it (the worker was created "
                                        "with trap_unknown_imports)")
        by_instance.setdefault(target, []).append((name, fn))
    if needs_stream_directory(component):
        from .golem.wasi_io import guest_directories

        for (interface, name), imported in component.imports.items():
            if unversioned(interface) == "wasi:filesystem/preopens" and name == "get-directories":
                target = f"wasi:filesystem/preopens@{WASI_LINKED_VERSION}"
                by_instance.setdefault(target, []).append(
                    (name, _builtin_host_function(guest_directories, imported)))
    resources: dict[str, list[tuple[str, int]]] = {}
    for target, name, type_id in _imported_resources(engine, component):
        resources.setdefault(target, []).append((name, type_id))
    if by_instance or resources:
        from wasmtime.component import ResourceType

        with linker.root() as root:
            for target in list(resources) + [t for t in by_instance if t not in resources]:
                functions = by_instance.get(target, [])
                if not target:
                    for name, fn in functions:
                        root.add_func(name, fn)
                    continue
                with root.add_instance(target) as instance:
                    for name, type_id in resources.get(target, ()):
                        instance.add_resource(name, ResourceType.host(type_id), resource_dtor)
                    for name, fn in functions:
                        instance.add_func(name, fn)
    return linker


def needs_stream_directory(component: LoadedComponent) -> bool:
    """Whether the component's Stores get a private stream directory (it imports a built-in
    function that hands the guest ``wasi:io`` streams; see :mod:`pytest_hotupdate.golem.wasi_io`)."""
    from .golem.wasi_io import needs_streams

    return needs_streams(component.imports)


def stream_directory(worker: Any) -> str:
    """The private stream directory of ``worker`` (a host path, removed with the worker)."""
    from .golem.wasi_io import stream_directory as directory_of

    return str(directory_of(worker))


def remove_stream_directory(worker: Any | None = None) -> None:
    """Remove ``worker``'s private stream directory, if it has one (its Stores closed first),
    and any whose removal failed before (``None``: only those)."""
    from .golem.wasi_io import remove_stream_directory as remove

    remove(worker)


#: How wasmtime 50 stops a guest that calls a host function with two borrowed host handles.
TWO_BORROWS_BUG = "deferred host scope has no call context"
_INDIRECT_IMPORT = re.compile(r"indirect-(?P<interface>[^\s]+?)-(?P<name>\[[^\]]+\][^\s]+|[^\s-]+)$")


def explain_two_borrows_trap(raw: str) -> str | None:
    """A clear reason for wasmtime 50's "deferred host scope" trap (a host function taking two
    borrowed handles, which it cannot lift), naming the function from the backtrace; None for
    any other error."""
    if TWO_BORROWS_BUG not in raw:
        return None
    from . import golem

    for line in raw.splitlines():
        found = _INDIRECT_IMPORT.search(line.strip())
        if found is None:
            continue
        interface, name = found["interface"], found["name"]
        why = (f"{host_call_name(interface, name)} takes two borrowed "
               "handles, which wasmtime-py 50 cannot pass to a host function")
        builtin = golem.provider(interface)
        if builtin is not None and not builtin.implements(name):
            why += f" ({builtin.why_unsupported(name)})"
        return why
    return ("a host function taking two borrowed handles was called, which wasmtime-py 50 "
            "cannot pass to a host function")


def imports_http(component: LoadedComponent) -> bool:
    """Whether the component imports any ``wasi:http`` interface."""
    return any(unversioned(i).startswith(WASI_HTTP_PACKAGES) for i, _ in component.imports)


def _outgoing_handle(component: LoadedComponent) -> ImportedFunction | None:
    for (interface, name), imported in component.imports.items():
        if unversioned(interface) == "wasi:http/outgoing-handler" and name == "handle":
            return imported
    return None


def _deny_http(handle: ImportedFunction) -> Callable[..., Any]:
    """``outgoing-handler.handle`` for a worker without the HTTP grant: every request is
    refused with the ``HTTP-request-denied`` error code, and nothing leaves the process."""
    assert handle.result is not None
    denied = lowerer(handle.result, "result")(Err(Variant("HTTP-request-denied")))

    def deny(_store: Any, *_request: Any) -> Any:
        return denied

    return deny


def _bind_grants(live: Callable[..., Any], grants: SandboxGrants) -> Callable[..., Any]:
    def bound(*args: Any) -> Any:
        return live(grants, *args)

    return bound


def make_wasi_config(
    grants: SandboxGrants, stdout: Callable[[bytes], None], stderr: Callable[[bytes], None],
    streams: str | None = None,
) -> wasmtime.WasiConfig:
    """A WASI context that gives the guest nothing but what ``grants`` allows (and, with
    ``streams``, the emulator's private stream directory, which the guest cannot see).

    Raises :class:`ResourceError` if the stream directory cannot be opened (no descriptor
    left), :class:`HotUpdateError` for a grant that cannot be honoured."""
    config = wasmtime.WasiConfig()
    if streams is not None:
        from .golem.wasi_io import GUEST_PATH, why_unopenable

        try:
            config.preopen_dir(streams, GUEST_PATH, True)
        except wasmtime.WasmtimeError:
            raise ResourceError(f"cannot open its private stream directory: "
                                f"{why_unopenable(streams)}") from None
    if grants.env:
        config.env = [list(pair) for pair in grants.env]
    if grants.args:
        config.argv = list(grants.args)
    for host_path, guest_path, writable in grants.dirs:
        try:
            config.preopen_dir(host_path, guest_path, writable)
        except wasmtime.WasmtimeError:
            raise HotUpdateError(
                f"cannot grant directory {host_path} (as {guest_path}): not a readable directory"
            ) from None
    if grants.network:
        # wasmtime 50's C API passes these to WASI p2 for name lookup only: TCP connections are
        # still refused (the sandbox test checks both), so a network grant cannot be honoured.
        raise HotUpdateError(
            "a network grant is not supported: wasmtime-py 50 keeps WASI p2 sockets closed "
            "(outgoing HTTP can be granted with http=True)")
    config.stdout_custom = stdout
    config.stderr_custom = stderr
    return config
