"""Hypothesis strategies for WIT values and invocation histories.

- ``values(wit_type)`` generates native values (see :mod:`pytest_hotupdate.values`) of any WIT
  type, shrinking towards small, simple ones.
- ``invocations(component, functions=...)`` generates histories: lists of :class:`Call` (an
  exported function and arguments that fit its parameter types), shrinking towards short
  histories of simple calls; :func:`run_history` plays one on a worker.

Imported lazily: hypothesis is only needed by suites that use it.
"""

from __future__ import annotations

import functools
import os
import struct
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from .names import unversioned
from .values import INT_RANGES, Err, Handle, Ok, Some, Variant, wave_encode
from .values import types as wit

if TYPE_CHECKING:
    from .component import FunctionInfo, LoadedComponent
    from .engine import Runtime
    from .worker import Worker

__all__ = ["Call", "invocations", "run_history", "values"]


#: Unicode scalar values (no surrogates): what a WIT ``char`` may hold.
_SCALARS = st.characters(exclude_categories=["Cs"])


def _f32_from_bits(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits))[0])


def _f64_from_bits(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


def values(ty: wit.WitType | None, *, max_size: int = 4) -> st.SearchStrategy[Any]:
    """A strategy for native values of ``ty`` (``None`` -> the unit value ``None``).

    Floats cover every bit pattern (NaNs, infinities, subnormals, -0); ``f32`` values are exactly
    representable in 32 bits. Lists, strings and flags hold at most ``max_size`` items.
    """
    if ty is None:
        return st.none()
    if isinstance(ty, wit.Prim):
        return _prim(ty.kind, max_size)
    if isinstance(ty, wit.ListType):
        if ty.element == wit.Prim("u8"):
            return st.binary(max_size=max_size)
        return st.lists(values(ty.element, max_size=max_size), max_size=max_size)
    if isinstance(ty, wit.TupleType):
        return st.tuples(*(values(t, max_size=max_size) for t in ty.elements))
    if isinstance(ty, wit.RecordType):
        return st.fixed_dictionaries({n: values(t, max_size=max_size) for n, t in ty.fields})
    if isinstance(ty, wit.VariantType):
        return st.one_of(*(
            st.just(Variant(name)) if payload is None
            else values(payload, max_size=max_size).map(functools.partial(Variant, name))
            for name, payload in ty.cases
        ))
    if isinstance(ty, wit.EnumType):
        return st.sampled_from(ty.cases)
    if isinstance(ty, wit.FlagsType):
        if not ty.names:
            return st.just(frozenset())
        return st.frozensets(st.sampled_from(ty.names))
    if isinstance(ty, wit.OptionType):
        inner = values(ty.payload, max_size=max_size)
        if isinstance(ty.payload, wit.OptionType):
            inner = inner.map(Some)
        return st.one_of(st.none(), inner)
    if isinstance(ty, wit.ResultType):
        return st.one_of(values(ty.ok, max_size=max_size).map(Ok),
                         values(ty.err, max_size=max_size).map(Err))
    if isinstance(ty, wit.HandleType):
        return st.integers(1, 2**32).map(Handle)
    raise TypeError(f"no strategy for WIT type {ty!r}")


def _prim(kind: str, max_size: int) -> st.SearchStrategy[Any]:
    if kind == "bool":
        return st.booleans()
    if kind == "f32":
        return st.integers(0, 2**32 - 1).map(_f32_from_bits)
    if kind == "f64":
        return st.one_of(st.floats(), st.integers(0, 2**64 - 1).map(_f64_from_bits))
    if kind == "char":
        return _SCALARS
    if kind == "string":
        return st.text(_SCALARS, max_size=max_size * 2)
    low, high = INT_RANGES[kind]
    return st.integers(low, high)


# --------------------------------------------------------------------------- histories


@dataclass(frozen=True, repr=False)
class Call:
    """One generated invocation: an exported function (Golem name) and native arguments.

    Shown as ``golem:counter/api.{increment}(1)`` (arguments in WAVE) in hypothesis' reports.
    """

    #: Golem name of the function.
    function: str
    #: Native arguments, one per parameter.
    args: tuple[Any, ...] = ()
    #: The parameter types (for the WAVE form).
    param_types: tuple[wit.WitType, ...] = field(default=(), compare=False)

    def invoke(self, worker: Worker) -> Any:
        """Invoke the call on ``worker``; return its native result."""
        return worker.invoke(self.function, *self.args)

    def __repr__(self) -> str:
        if len(self.param_types) == len(self.args):
            shown = ", ".join(wave_encode(t, a) for t, a in zip(self.param_types, self.args))
        else:
            shown = ", ".join(repr(a) for a in self.args)
        return f"{self.function}({shown})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis' pretty printer
        printer.text(repr(self))


@dataclass(frozen=True)
class _HandleRef:
    """A placeholder for a resource handle argument, resolved against earlier calls."""

    pick: int


_shared_runtime: Runtime | None = None
_shared_lock = threading.Lock()


def _load(source: str | os.PathLike[str]) -> LoadedComponent:
    global _shared_runtime
    with _shared_lock:
        if _shared_runtime is None:
            from .engine import Runtime

            _shared_runtime = Runtime()
        runtime = _shared_runtime
    return runtime.load(os.fspath(source))


def _component_of(component: Any) -> Any:
    if isinstance(component, (str, os.PathLike)):
        return _load(component)
    if hasattr(component, "functions"):
        return component  # a LoadedComponent (or anything with .functions / .find_function)
    inner = getattr(component, "component", None)
    if inner is not None and hasattr(inner, "functions"):
        return inner  # a Worker: the revision it runs
    raise TypeError(f"invocations() needs a component (LoadedComponent, Worker or .wasm path), "
                    f"got {component!r}")


def _select(component: Any, functions: Iterable[str] | Mapping[str, Any] | None
            ) -> list[tuple[FunctionInfo, Any]]:
    if functions is None:
        from .component.bulk import INTERFACE as BULK_INTERFACE
        from .snapshot import SNAPSHOT_INTERFACES

        # Left out of generated invocation histories: snapshot functions (and the bulk path's).
        left_out = (*SNAPSHOT_INTERFACES, unversioned(BULK_INTERFACE))
        return [(info, None) for name, info in sorted(component.functions.items())
                if not unversioned(info.interface).startswith(left_out)]
    chosen = functions.items() if isinstance(functions, Mapping) else ((f, None) for f in functions)
    selected = [(component.find_function(name), args) for name, args in chosen]
    if not selected:
        raise ValueError("invocations(): `functions` names no function")
    return selected


def _arguments(info: FunctionInfo, custom: Any, max_size: int) -> st.SearchStrategy[Any]:
    if custom is not None:
        return custom.map(tuple) if isinstance(custom, st.SearchStrategy) else st.just(tuple(custom))
    return st.tuples(*(
        st.integers(0, 3).map(_HandleRef) if isinstance(ty, wit.HandleType)
        else values(ty, max_size=max_size)
        for _, ty in info.params
    ))


def _pair(info: FunctionInfo, args: tuple[Any, ...]) -> tuple[FunctionInfo, tuple[Any, ...]]:
    return info, args


def _resolve_handles(calls: list[tuple[FunctionInfo, tuple[Any, ...]]]) -> list[Call]:
    """Give handle arguments the ids of handles returned by earlier calls; drop a call that
    needs a handle before any exists. Handles are numbered 1, 2, ... in the order calls return
    them, as the worker numbers them."""
    history: list[Call] = []
    handles = 0
    for info, args in calls:
        if any(isinstance(a, _HandleRef) for a in args):
            if handles == 0:
                continue
            args = tuple(Handle(a.pick % handles + 1) if isinstance(a, _HandleRef) else a
                         for a in args)
        history.append(Call(info.golem_name, args, tuple(ty for _, ty in info.params)))
        if isinstance(info.result, wit.HandleType):
            handles += 1
    return history


def invocations(
    component: Any,
    functions: Iterable[str] | Mapping[str, Any] | None = None,
    *,
    min_size: int = 0,
    max_size: int = 8,
    max_value_size: int = 4,
) -> st.SearchStrategy[list[Call]]:
    """A strategy for histories of valid calls to ``component``'s exported functions.

    Args:
        component: a :class:`~pytest_hotupdate.component.LoadedComponent`, a worker (the
            revision it runs) or the path of a ``.wasm`` file (loaded on first draw).
        functions: the functions to call (Golem names or shorter unambiguous forms), or a
            mapping name -> strategy of argument tuples (or ``None`` for the default) to
            constrain some arguments. Default: every export except the snapshot interfaces.
            Leave out functions that trap or never return.
        min_size, max_size: bounds on the number of calls.
        max_value_size: bound on each generated list, string and flags value.

    Resource handle parameters receive handles returned by earlier calls in the history (a call
    that would need one before any exists is left out); handles nested inside other values
    (records, lists) are not tracked: give such functions an argument strategy. Histories shrink to fewer, simpler calls:
    a failing property reports a minimal history.
    """
    def build() -> st.SearchStrategy[list[Call]]:
        loaded = _component_of(component)
        selected = _select(loaded, functions)
        one_call = st.one_of(*(
            _arguments(info, custom, max_value_size).map(functools.partial(_pair, info))
            for info, custom in selected
        ))
        raw = st.lists(one_call, min_size=min_size, max_size=max_size)

        # A composite rather than .map(): hypothesis then prints the history itself
        # ([golem:counter/api.{increment}(1)]), not the call that built it.
        @st.composite
        def histories(draw: st.DrawFn) -> list[Call]:
            return _resolve_handles(draw(raw))

        strategy = histories()
        if min_size:
            strategy = strategy.filter(lambda calls: len(calls) >= min_size)
        return strategy

    if isinstance(component, (str, os.PathLike)):
        return st.deferred(build)  # load the file when hypothesis first draws, not at import
    return build()


def run_history(worker: Worker, history: Sequence[Call], *,
                ignore_errors: bool = False) -> list[Any]:
    """Invoke every call of ``history`` on ``worker`` in order; return the native results.

    With ``ignore_errors`` an invocation that fails (trap, deadline, bad arguments) gives
    ``None`` and the history goes on: the worker records it as failed and recovers, as on Golem.
    """
    from .errors import InvocationError

    results = []
    for call in history:
        try:
            results.append(call.invoke(worker))
        except InvocationError:
            if not ignore_errors:
                raise
            results.append(None)
    return results
