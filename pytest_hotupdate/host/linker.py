"""The linker: every import of a component bound to WASI, a built-in host interface
(:mod:`pytest_hotupdate.host.golem`) or a user-provided host function, each with the exact
types of the component's own import.

Durable host functions (the durable WASI functions and every user-provided function) are
recorded in the worker's oplog when the worker runs live and answered from the oplog when it
replays, through the calling worker's :class:`~pytest_hotupdate.durable.DurableContext`, which a
host function finds in :data:`pytest_hotupdate.durable.CURRENT`. User host functions run on a
helper thread within the invocation's deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime.component import Linker

from ..component import ImportedFunction, LoadedComponent
from ..durable import CURRENT, DurableContext
from ..errors import ComponentLoadError, Propagating, UnsupportedHostFunction
from ..names import durable_name, host_call_name, unversioned
from ..values import lifter, lowerer
from .sandbox import SandboxGrants, needs_stream_directory
from .sdk import Call, persisting_nothing, resource_dtor, resource_type_id
from .wasi import (
    DURABLE_WASI,
    WASI_LINKED_VERSION,
    deny_http,
    imports_http,
    outgoing_handle,
    provided_by_wasi,
)

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


def unprovided_imports(
    component: LoadedComponent, host_functions: HostFunctions
) -> list[ImportedFunction]:
    """Imports that neither WASI, a built-in implementation nor a user host function covers."""
    from .golem import provider  # the built-in interfaces import this module's package

    missing = []
    for (interface, name), imported in component.imports.items():
        if provided_by_wasi(interface) or provider(interface) is not None:
            continue
        if host_functions.get(interface, name) is None:
            missing.append(imported)
    return missing


def _calling_context(name: str) -> DurableContext:
    context = CURRENT.context
    if context is None:  # pragma: no cover - only if the guest runs outside a worker
        raise RuntimeError(f"host function {name} called outside a worker")
    return context


def _host_function(name: str, imported: ImportedFunction,
                   body: Callable[[Any, DurableContext, tuple[Any, ...]], Any]
                   ) -> Callable[..., Any]:
    """A wasmtime host function with the types of the component's import ``imported``: it
    lifts the arguments, runs ``body(store, context, args)`` for the calling worker's durable
    context and lowers its result. An exception is remembered by the context; a ``SystemExit``
    or ``KeyboardInterrupt`` is replaced by a stand-in (see :func:`_propagating`)."""
    lifts = tuple(lifter(ty) for _, ty in imported.params)  # handles stay ResourceAny values
    lower = lowerer(imported.result, "result") if imported.result is not None else None

    def host_function(store: Any, *raw: Any) -> Any:
        context = _calling_context(name)
        try:
            args = tuple(lift(value) for lift, value in zip(lifts, raw))
            value = body(store, context, args)
            return lower(value) if lower is not None else None
        except BaseException as error:
            context.host_failed(error)
            if isinstance(error, Exception):
                raise
            raise _propagating(error) from None

    return host_function


def _durable_host_function(
    qualified: str, imported: ImportedFunction, live: Callable[..., Any]
) -> Callable[..., Any]:
    """Wrap ``live`` as a wasmtime host function that records / replays through CURRENT."""
    params, result = imported.params, imported.result

    def durable(_store: Any, context: DurableContext, args: tuple[Any, ...]) -> Any:
        if persisting_nothing(context):
            return live(*args)  # golem:api persist-nothing: run live, record nothing
        return context.durable_call(qualified, params, result, live, args)

    return _host_function(qualified, imported, durable)


def _propagating(error: BaseException) -> Exception:
    """A stand-in for ``error`` (``SystemExit``, ``KeyboardInterrupt``): wasmtime-py's
    trampoline catches only ``Exception``, and anything else would escape the ctypes callback
    (printed and lost, the guest running on with no result). The stand-in stops the guest; the
    worker then raises the original, which
    :meth:`~pytest_hotupdate.durable.DurableContext.host_failed` kept."""
    return Propagating(f"{type(error).__name__} raised in a host function")


def _bounded(name: str, user: Callable[..., Any]) -> Callable[..., Any]:
    """``user`` run through the calling worker's deadline (on a helper thread)."""

    def bounded(*args: Any) -> Any:
        return _calling_context(name).run_bounded(name, user, args)

    return bounded


def _builtin_host_function(impl: Callable[..., Any], imported: ImportedFunction
                           ) -> Callable[..., Any]:
    """Wrap a built-in implementation (``impl(call, *args)``, see
    :mod:`pytest_hotupdate.host.golem`) as a wasmtime host function with the types of the
    component's own import; resource handles reach it as ``ResourceAny`` values."""
    name = host_call_name(imported.interface, imported.name)

    def builtin(store: Any, context: DurableContext, args: tuple[Any, ...]) -> Any:
        return impl(Call(store, context, imported, name), *args)

    return _host_function(name, imported, builtin)


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

    name = host_call_name(imported.interface, imported.name)
    return _failing_host_function(lambda: UnsupportedHostFunction(name, why))


def _imported_resources(engine: wasmtime.Engine, component: LoadedComponent
                        ) -> list[tuple[str, str, int]]:
    """``(instance, resource, host type id)`` for every resource type an imported interface
    outside WASI p2 exports. A resource another interface ``use``s gets the id of the one it
    is (the interface that defines it)."""
    from wasmtime.component import ComponentInstanceType, ResourceType

    from .golem import provider  # the built-in interfaces import this module's package

    # Each group: [ResourceType, defining interface, resource name]; a group whose defining
    # interface is WASI's is wasmtime's own resource (``use``d by another interface, e.g. a
    # `pollable`) and is left for WASI to define.
    groups: list[list[Any]] = []
    found: list[tuple[str, str, list[Any]]] = []
    for key, extern in component.component.type.imports(engine).items():
        item = extern.ty
        if not isinstance(item, ComponentInstanceType):
            continue
        wasi = provided_by_wasi(key)
        builtin = None if wasi else provider(key)
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
            if not provided_by_wasi(group[1])]


def build_linker(
    engine: wasmtime.Engine,
    component: LoadedComponent,
    host_functions: HostFunctions,
    grants: SandboxGrants,
) -> Linker:
    """A linker with WASI (durable parts shadowed), the built-in implementations of Golem's
    interfaces (:mod:`pytest_hotupdate.host.golem`) and the component's custom imports.

    A built-in interface serves every function of it the component imports: one it does not
    implement fails, when called, with an error naming it (a user host function of the same
    name is used instead, if given). Raises :class:`ComponentLoadError` naming the first
    imports nothing provides, unless ``grants.trap_unknown_imports``.
    """
    from .golem import provider  # the built-in interfaces import this module's package

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
            handle = outgoing_handle(component)
            if handle is not None:
                target = f"wasi:http/outgoing-handler@{WASI_LINKED_VERSION}"
                by_instance[target] = [("handle", deny_http(handle))]
    for (interface, name), imported in component.imports.items():
        base = unversioned(interface)
        wasi_live = DURABLE_WASI.get((base, name))
        builtin = provider(interface)
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
        elif provided_by_wasi(interface):
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


#: How wasmtime 50 stops a guest that calls a host function with two borrowed host handles.
TWO_BORROWS_BUG = "deferred host scope has no call context"


_INDIRECT_IMPORT = re.compile(r"indirect-(?P<interface>[^\s]+?)-(?P<name>\[[^\]]+\][^\s]+|[^\s-]+)$")


def explain_two_borrows_trap(raw: str) -> str | None:
    """A clear reason for wasmtime 50's "deferred host scope" trap (a host function taking two
    borrowed handles, which it cannot lift), naming the function from the backtrace; None for
    any other error."""
    if TWO_BORROWS_BUG not in raw:
        return None
    from .golem import provider  # the built-in interfaces import this module's package

    for line in raw.splitlines():
        found = _INDIRECT_IMPORT.search(line.strip())
        if found is None:
            continue
        interface, name = found["interface"], found["name"]
        why = (f"{host_call_name(interface, name)} takes two borrowed "
               "handles, which wasmtime-py 50 cannot pass to a host function")
        builtin = provider(interface)
        if builtin is not None and not builtin.implements(name):
            why += f" ({builtin.why_unsupported(name)})"
        return why
    return ("a host function taking two borrowed handles was called, which wasmtime-py 50 "
            "cannot pass to a host function")


def _bind_grants(live: Callable[..., Any], grants: SandboxGrants) -> Callable[..., Any]:
    def bound(*args: Any) -> Any:
        return live(grants, *args)

    return bound
