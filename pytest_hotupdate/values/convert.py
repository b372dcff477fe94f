"""wasmtime-py conversion: WIT types from wasmtime's, and native values to and from wasmtime's.

:func:`from_valtype` and :func:`func_signature` build :class:`~.types.WitType` values from
wasmtime-py types. :func:`lowerer` builds (once per type, cached) a function that validates a
native value and turns it into exactly what wasmtime-py's ``convert_to_c`` accepts: ``Record``
objects whose attributes are the WIT field names (``getattr(r, "price-cents")``), ``set`` for
flags, ``bytes`` for ``list<u8>`` and, for variants, options and results, the *untagged* payload
whenever wasmtime's ``VariantLikeType._tagged()`` says the cases' Python classes are disjoint, and
a wasmtime ``Variant(tag, payload)`` otherwise. wasmtime does not range-check integers, so the
lowerer does. A few values of untagged variant-like types cannot be passed through wasmtime-py
at all, because its case matching is by ``isinstance`` in case order (for example ``err("x")``
of ``result<option<u8>, string>``, or ``b(true)`` of ``variant { a(u32), b(bool) }``); the
lowerer reports those with a :class:`~pytest_hotupdate.errors.ValueTypeError` instead of letting
wasmtime pick the wrong case. :func:`validate` is the lowerer without that check and without a
handle table; :func:`lifter` does the reverse of the lowerer for values wasmtime returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest_hotupdate.values.native as native
import pytest_hotupdate.values.types as wit

from ..errors import LiftFailed, Mismatch, ValueTypeError
from .native import Err, Handle, Ok, Some, Variant

# --- from wasmtime -----------------------------------------------------------------------------


def _wc() -> Any:
    """The ``wasmtime.component`` module, imported on first use."""
    from wasmtime import component

    return component


def from_valtype(vt: Any) -> wit.WitType:
    """Convert a ``wasmtime.component`` ``ValType`` into a :class:`WitType`.

    Resource handles become :class:`HandleType` named ``"resource"`` (wasmtime types are
    nameless). ``future``, ``stream`` and ``error-context`` raise :class:`ValueTypeError`.
    """
    wc = _wc()
    for cls, kind in (
        (wc.Bool, "bool"), (wc.S8, "s8"), (wc.S16, "s16"), (wc.S32, "s32"), (wc.S64, "s64"),
        (wc.U8, "u8"), (wc.U16, "u16"), (wc.U32, "u32"), (wc.U64, "u64"), (wc.F32, "f32"),
        (wc.F64, "f64"), (wc.Char, "char"), (wc.String, "string"),
    ):
        if isinstance(vt, cls):
            return wit.Prim(kind)
    if isinstance(vt, wc.ListType):
        return wit.ListType(from_valtype(vt.element))
    if isinstance(vt, wc.TupleType):
        return wit.TupleType(tuple(from_valtype(e) for e in vt.elements))
    if isinstance(vt, wc.RecordType):
        return wit.RecordType(tuple((n, from_valtype(t)) for n, t in vt.fields))
    if isinstance(vt, wc.VariantType):
        return wit.VariantType(
            tuple((n, None if t is None else from_valtype(t)) for n, t in vt.cases)
        )
    if isinstance(vt, wc.EnumType):
        return wit.EnumType(tuple(vt.names))
    if isinstance(vt, wc.FlagsType):
        return wit.FlagsType(tuple(vt.names))
    if isinstance(vt, wc.OptionType):
        return wit.OptionType(from_valtype(vt.payload))
    if isinstance(vt, wc.ResultType):
        ok, err = vt.ok, vt.err
        return wit.ResultType(
            None if ok is None else from_valtype(ok), None if err is None else from_valtype(err)
        )
    if isinstance(vt, wc.OwnType):
        return wit.HandleType(True, "resource")
    if isinstance(vt, wc.BorrowType):
        return wit.HandleType(False, "resource")
    if isinstance(vt, wc.FutureType):
        name = "future"
    elif isinstance(vt, wc.StreamType):
        name = "stream"
    elif isinstance(vt, wc.ErrorContext):
        name = "error-context"
    else:
        name = type(vt).__name__
    raise ValueTypeError(f"unsupported WIT type {name}", expected=name)


def func_signature(
    func_type: Any,
) -> tuple[tuple[tuple[str, wit.WitType], ...], wit.WitType | None]:
    """``(params, result)`` of a wasmtime ``FuncType``: named parameter types and the result type
    (``None`` when the function returns nothing)."""
    params = tuple((n, from_valtype(t)) for n, t in func_type.params)
    res = func_type.result
    return params, (None if res is None else from_valtype(res))


# ---------------------------------------------------------------------------------------------
# wasmtime-py class logic (mirrors VariantLikeType._tagged and add_classes)
# ---------------------------------------------------------------------------------------------

_PRIM_CLASS: dict[str, type] = {
    "bool": bool, "char": str, "string": str, "f32": float, "f64": float,
    **{k: int for k in native.INT_RANGES},
}


@functools.lru_cache(maxsize=4096)
def _wt_classes(ty: wit.WitType) -> frozenset[type]:
    """The classes wasmtime-py's ``add_classes`` reports for ``ty`` (``object`` for no payload)."""
    wc = _wc()
    if isinstance(ty, wit.Prim):
        return frozenset({_PRIM_CLASS[ty.kind]})
    if isinstance(ty, wit.ListType):
        return frozenset({bytes if ty.element == wit.PRIM_U8 else list})
    if isinstance(ty, wit.TupleType):
        return frozenset({tuple})
    if isinstance(ty, wit.RecordType):
        return frozenset({wc.Record})
    if isinstance(ty, wit.EnumType):
        return frozenset({str})
    if isinstance(ty, wit.FlagsType):
        return frozenset({set})
    if isinstance(ty, wit.HandleType):
        return frozenset({wc.ResourceAny, wc.ResourceHost})
    if _wt_tagged(ty):
        return frozenset({wc.Variant})
    out: set[type] = set()
    for _, t in wit.variant_cases(ty):
        out |= {object} if t is None else _wt_classes(t)
    return frozenset(out)


@functools.lru_cache(maxsize=4096)
def _wt_tagged(ty: wit.WitType) -> bool:
    """Whether wasmtime-py represents this variant/option/result as a tagged ``Variant``."""
    seen: set[type] = set()
    for _, t in wit.variant_cases(ty):
        case = {object} if t is None else set(_wt_classes(t))
        if case & seen:
            return True
        seen |= case
    return False


def _lift_classes(ty: wit.WitType | None) -> frozenset[type]:
    """Exact Python types that wasmtime-py's ``convert_from_c`` can return for ``ty``."""
    if ty is None:
        return frozenset({type(None)})
    wc = _wc()
    return frozenset(
        type(None) if c is object else c for c in _wt_classes(ty) if c is not wc.ResourceHost
    )


def _stealers(ty: wit.WitType) -> list[tuple[tuple[str, tuple[type, ...]], ...]]:
    """For each case of an untagged variant-like type: the earlier cases wasmtime-py's
    ``isinstance`` test would pick instead for some payload value of this case."""
    cases = wit.variant_cases(ty)
    out: list[tuple[tuple[str, tuple[type, ...]], ...]] = []
    for j, (_, tj) in enumerate(cases):
        cls_j = _wt_classes(tj) if tj is not None else frozenset({object})
        st = []
        for name_i, ti in cases[:j]:
            if ti is None:
                continue
            cls_i = _wt_classes(ti)
            if object in cls_i or (int in cls_i and bool in cls_j):
                st.append((name_i, tuple(cls_i)))
        out.append(tuple(st))
    return out


def _contains_handle(ty: wit.WitType | None) -> bool:
    if ty is None or isinstance(ty, (wit.Prim, wit.EnumType, wit.FlagsType)):
        return False
    if isinstance(ty, wit.HandleType):
        return True
    if isinstance(ty, (wit.ListType,)):
        return _contains_handle(ty.element)
    if isinstance(ty, wit.OptionType):
        return _contains_handle(ty.payload)
    if isinstance(ty, wit.TupleType):
        return any(_contains_handle(t) for t in ty.elements)
    if isinstance(ty, wit.RecordType):
        return any(_contains_handle(t) for _, t in ty.fields)
    return any(_contains_handle(t) for _, t in wit.variant_cases(ty))


# ---------------------------------------------------------------------------------------------
# Lowering: native -> wasmtime-py
# ---------------------------------------------------------------------------------------------


def _build_lower(
    ty: wit.WitType, resolve: Callable[[Handle], Any] | None, checks: bool = True
) -> Callable[[Any], Any]:
    """The lowering closure; ``checks`` adds the wasmtime-py case-matching check."""
    wc = _wc()
    w = ty.wit()
    if isinstance(ty, wit.Prim):
        return native.PRIM_LOWER[ty.kind]

    if isinstance(ty, wit.ListType):
        if ty.element == wit.PRIM_U8:
            return native.lower_bytes
        el = _build_lower(ty.element, resolve, checks)

        def low_list(v: Any) -> Any:
            if type(v) is not list and not isinstance(v, (list, tuple)):
                raise native.value_mismatch(ty, v)
            out: list[Any] = []
            app = out.append
            try:
                for x in v:
                    app(el(x))
            except Mismatch as b:
                b.segs.append(f"[{len(out)}]")
                raise
            return out

        return low_list

    if isinstance(ty, wit.TupleType):
        els = [_build_lower(t, resolve, checks) for t in ty.elements]

        def low_tuple(v: Any) -> Any:
            return tuple(native.tuple_items(ty, w, els, v))

        return low_tuple

    if isinstance(ty, wit.RecordType):
        fields = [
            (name, _build_lower(t, resolve, checks), isinstance(t, wit.OptionType))
            for name, t in ty.fields
        ]
        names = frozenset(name for name, _ in ty.fields)
        Record = wc.Record

        def low_record(v: Any) -> Any:
            if not isinstance(v, dict):
                raise native.value_mismatch(ty, v)
            r = Record()
            d = r.__dict__
            present = 0
            for name, f, opt in fields:
                if name in v:
                    present += 1
                    try:
                        d[name] = f(v[name])
                    except Mismatch as b:
                        b.segs.append(f".{name}")
                        raise
                elif opt:
                    d[name] = f(None)
                else:
                    raise Mismatch(w, f"missing field `{name}` (expected {w})")
            if present != len(v):
                raise native.unknown_fields(w, v, names)
            return r

        return low_record

    if isinstance(ty, wit.EnumType):
        cases = frozenset(ty.cases)

        def low_enum(v: Any) -> Any:
            if type(v) is str and v in cases:
                return v
            if isinstance(v, str):
                raise Mismatch(w, f"unknown case {native.show_value(v)} (expected {w})")
            raise native.value_mismatch(ty, v)

        return low_enum

    if isinstance(ty, wit.FlagsType):
        flag_names = frozenset(ty.names)

        def low_flags(v: Any) -> Any:
            if isinstance(v, (set, frozenset, list, tuple)):
                s = set(v)
                if s <= flag_names:
                    return s
                bad = sorted(native.show_value(x) for x in s - flag_names)
                raise Mismatch(w, f"unknown flag(s) {', '.join(bad)} (expected {w})")
            raise native.value_mismatch(ty, v)

        return low_flags

    if isinstance(ty, wit.HandleType):
        handle_classes = (wc.ResourceAny, wc.ResourceHost)

        def low_handle(v: Any) -> Any:
            if type(v) is Handle:
                if resolve is None:
                    raise Mismatch(w, f"cannot pass {native.show_value(v)}: no handle table given")
                try:
                    return resolve(v)
                except LookupError:
                    raise Mismatch(w, f"unknown resource handle({v.id})") from None
            if isinstance(v, handle_classes):
                return v
            raise native.value_mismatch(ty, v)

        return low_handle

    # Variant-like types.
    tagged = _wt_tagged(ty)
    WtVariant = wc.Variant
    stealers = [] if tagged or not checks else _stealers(ty)

    def check_steal(idx: int, name: str, p: Any) -> None:
        for other, classes in stealers[idx]:
            if isinstance(p, classes):
                raise Mismatch(
                    w,
                    f"wasmtime-py cannot pass case `{name}` of {w} with payload "
                    f"{native.show_value(p)}: it would be read as case `{other}`",
                )

    def low_case(idx: int, name: str, f: Callable[[Any], Any] | None, payload: Any) -> Any:
        """Case ``idx`` (``name``) with the native ``payload``, lowered by ``f``."""
        if f is None:
            return WtVariant(name) if tagged else None
        try:
            p = f(payload)
        except Mismatch as b:
            b.segs.append(f"({name})")
            raise
        if tagged:
            return WtVariant(name, p)
        if stealers and stealers[idx]:
            check_steal(idx, name, p)
        return p

    if isinstance(ty, wit.OptionType):
        payload = _build_lower(ty.payload, resolve, checks)
        nested = isinstance(ty.payload, wit.OptionType)

        def low_option(v: Any) -> Any:
            if v is None:
                return WtVariant("none") if tagged else None
            p = payload(native.option_present(w, nested, v))
            return WtVariant("some", p) if tagged else p

        return low_option

    if isinstance(ty, wit.ResultType):
        ok_low = None if ty.ok is None else _build_lower(ty.ok, resolve, checks)
        err_low = None if ty.err is None else _build_lower(ty.err, resolve, checks)

        def low_result(v: Any) -> Any:
            name, f = native.result_case(w, v, ok_low, err_low)
            return low_case(0 if name == "ok" else 1, name, f, v.value)

        return low_result

    assert isinstance(ty, wit.VariantType)
    case_map = {
        name: None if t is None else _build_lower(t, resolve, checks) for name, t in ty.cases
    }
    case_index = {name: idx for idx, (name, _) in enumerate(ty.cases)}

    def low_variant(v: Any) -> Any:
        f = native.variant_case(w, v, case_map)
        return low_case(case_index[v.case], v.case, f, v.payload)

    return low_variant


@functools.lru_cache(maxsize=2048)
def _cached_lowerer(
    ty: wit.WitType, label: str, resolve: Callable[[Handle], Any] | None, checks: bool = True
) -> Callable[[Any], Any]:
    inner = _build_lower(ty, resolve, checks)

    def lower(value: Any) -> Any:
        try:
            return inner(value)
        except Mismatch as b:
            raise native.to_value_error(b, label, label) from None

    return lower


def lowerer(
    ty: wit.WitType,
    name: str = "",
    resolve_handle: Callable[[Handle], Any] | None = None,
    *,
    label: str | None = None,
) -> Callable[[Any], Any]:
    """A function that validates a native value of ``ty`` and converts it for wasmtime-py.

    Args:
        ty: the WIT type.
        name: the parameter name; errors then read ``param `name`: expected ...``.
        resolve_handle: maps a :class:`Handle` to the wasmtime ``ResourceAny`` to pass
            (a ``LookupError`` from it means an unknown handle). ``ResourceAny`` values are
            passed through unchanged. Note that wasmtime consumes an ``own`` ``ResourceAny``.
        label: overrides the error path root (default ``param `name``` or ``value``).

    The returned function raises :class:`ValueTypeError` (``.path``, ``.expected`` set).
    Converters are built once per ``(ty, label, resolve_handle)`` and cached.
    """
    root = native.root_label(name, label)
    if not _contains_handle(ty):
        resolve_handle = None
    return _cached_lowerer(ty, root, resolve_handle)


def validate(ty: wit.WitType, value: Any, name: str = "", *, label: str | None = None) -> None:
    """Raise :class:`ValueTypeError` unless ``value`` is a valid native value of ``ty``.

    Handles are only checked to be :class:`Handle` values (no handle table is consulted), and
    the wasmtime-py limitation on some untagged variant values (see :func:`lowerer`) is not
    checked: those values are valid, wasmtime-py just cannot pass them.
    """
    root = native.root_label(name, label)
    resolve = _accept_handle if _contains_handle(ty) else None
    _cached_lowerer(ty, root, resolve, False)(value)


def _accept_handle(h: Handle) -> Any:
    return h


# ---------------------------------------------------------------------------------------------
# Lifting: wasmtime-py -> native
# ---------------------------------------------------------------------------------------------


def _build_lift(
    ty: wit.WitType, register: Callable[[Any], Handle] | None
) -> Callable[[Any], Any] | None:
    """A converter from wasmtime-py's value to the native value; ``None`` means identity."""
    wc = _wc()
    if isinstance(ty, (wit.Prim, wit.EnumType)):
        return None
    if isinstance(ty, wit.ListType):
        if ty.element == wit.PRIM_U8:
            return None
        el = _build_lift(ty.element, register)
        if el is None:
            return None
        return lambda v: [el(x) for x in v]
    if isinstance(ty, wit.TupleType):
        fs = [_build_lift(t, register) for t in ty.elements]
        if all(f is None for f in fs):
            return None
        return lambda v: tuple(x if f is None else f(x) for f, x in zip(fs, v))
    if isinstance(ty, wit.RecordType):
        rfields = [(name, _build_lift(t, register)) for name, t in ty.fields]

        def lift_record(v: Any) -> Any:
            d = v.__dict__
            return {name: d[name] if f is None else f(d[name]) for name, f in rfields}

        return lift_record
    if isinstance(ty, wit.FlagsType):
        return frozenset
    if isinstance(ty, wit.HandleType):
        return register

    tagged = _wt_tagged(ty)
    cases = wit.variant_cases(ty)
    lifts = [None if t is None else _build_lift(t, register) for _, t in cases]
    by_class: dict[type, int] = {}
    if not tagged:
        for idx, (_, t) in enumerate(cases):
            for c in _lift_classes(t):
                by_class.setdefault(c, idx)
    index = {name: idx for idx, (name, _) in enumerate(cases)}

    def split(v: Any) -> tuple[int, Any]:
        """(case index, lifted payload) of a wasmtime-py value."""
        if tagged:
            if not isinstance(v, wc.Variant) or v.tag not in index:
                raise LiftFailed(f"unexpected {native.show_got(v)} for {ty.wit()}")
            idx = index[v.tag]
            raw = v.payload
        else:
            idx_opt = by_class.get(type(v))
            if idx_opt is None:
                raise LiftFailed(f"unexpected {native.show_got(v)} for {ty.wit()}")
            idx = idx_opt
            raw = v
        if cases[idx][1] is None:
            return idx, None
        f = lifts[idx]
        return idx, (raw if f is None else f(raw))

    if isinstance(ty, wit.OptionType):
        nested = isinstance(ty.payload, wit.OptionType)
        f_some = lifts[1]
        if not tagged:
            if nested:
                return lambda v: None if v is None else Some(v if f_some is None else f_some(v))
            if f_some is None:
                return None
            return lambda v: None if v is None else f_some(v)

        def lift_option(v: Any) -> Any:
            idx, p = split(v)
            if idx == 0:
                return None
            return Some(p) if nested else p

        return lift_option

    if isinstance(ty, wit.ResultType):

        def lift_result(v: Any) -> Any:
            idx, p = split(v)
            return Ok(p) if idx == 0 else Err(p)

        return lift_result

    def lift_variant(v: Any) -> Any:
        idx, p = split(v)
        return Variant(cases[idx][0], p)

    return lift_variant


def _identity(v: Any) -> Any:
    return v


@functools.lru_cache(maxsize=2048)
def _cached_lifter(
    ty: wit.WitType, register: Callable[[Any], Handle] | None
) -> Callable[[Any], Any]:
    inner = _build_lift(ty, register)
    if inner is None:
        return _identity
    f = inner

    def lift(value: Any) -> Any:
        try:
            return f(value)
        except LiftFailed as e:
            raise ValueTypeError(f"result: {e}", path="result", expected=ty.wit()) from None

    return lift


def lifter(
    ty: wit.WitType, register_handle: Callable[[Any], Handle] | None = None
) -> Callable[[Any], Any]:
    """A function converting what wasmtime-py returns for ``ty`` into the native value.

    ``register_handle(resource_any) -> Handle`` assigns handles to returned resources; without
    it the wasmtime ``ResourceAny`` objects are returned as they are. Cached per type.
    """
    if not _contains_handle(ty):
        register_handle = None
    return _cached_lifter(ty, register_handle)
