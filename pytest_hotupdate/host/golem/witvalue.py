"""Golem's ``wit-value`` (``golem:rpc/types``): any value as a flat list of nodes.

A ``wit-value`` is ``record { nodes: list<wit-node> }``; node 0 is the root and a composite
node refers to its children by index (WIT types cannot be recursive). :func:`encode` and
:func:`decode` convert between it and the project's native values, guided by the WIT type the
value has (the callee's parameter or result type), as Golem's value builder and extractor do.
Nodes are native values of the ``wit-node`` variant (``Variant("prim-u64", 5)``).
"""

from __future__ import annotations

from typing import Any

from ...errors import WitValueError
from ...values import Err, Handle, Ok, Some, Variant
from ...values import types as wit

_PRIM_CASE = {"u8": "prim-u8", "u16": "prim-u16", "u32": "prim-u32", "u64": "prim-u64",
              "s8": "prim-s8", "s16": "prim-s16", "s32": "prim-s32", "s64": "prim-s64",
              "f32": "prim-float32", "f64": "prim-float64", "char": "prim-char",
              "bool": "prim-bool", "string": "prim-string"}

#: The URI written in handle nodes when the caller names no owner. Golem writes the URI of the
#: worker that owns the resource (``urn:worker:<component uuid>/<name>``); RPC does too.
HANDLE_URI = "urn:pytest-hotupdate:handle"


def encode(ty: wit.WitType | None, value: Any, handle_uri: str = HANDLE_URI) -> dict[str, Any]:
    """``value`` of type ``ty`` as a native ``wit-value`` record; resource handles are written
    as ``handle(handle_uri, id)``."""
    nodes: list[Any] = []
    _add(nodes, ty, value, handle_uri)
    return {"nodes": nodes}


def encode_results(ty: wit.WitType | None, value: Any,
                   handle_uri: str = HANDLE_URI) -> dict[str, Any]:
    """A function's result as Golem's RPC returns it: a tuple of the results (0 or 1)."""
    nodes: list[Any] = [None]
    children = [] if ty is None else [_add(nodes, ty, value, handle_uri)]
    nodes[0] = Variant("tuple-value", children)
    return {"nodes": nodes}


def _add(nodes: list[Any], ty: wit.WitType | None, value: Any, uri: str) -> int:
    index = len(nodes)
    nodes.append(None)
    nodes[index] = _node(nodes, ty, value, uri)
    return index


def _node(nodes: list[Any], ty: wit.WitType | None, value: Any, uri: str) -> Variant:
    if isinstance(ty, wit.Prim):
        return Variant(_PRIM_CASE[ty.kind], value)
    if isinstance(ty, wit.ListType):
        return Variant("list-value", [_add(nodes, ty.element, v, uri) for v in value])
    if isinstance(ty, wit.TupleType):
        return Variant("tuple-value", [_add(nodes, t, v, uri) for t, v in zip(ty.elements, value)])
    if isinstance(ty, wit.RecordType):
        return Variant("record-value", [_add(nodes, t, value[n], uri) for n, t in ty.fields])
    if isinstance(ty, wit.EnumType):
        return Variant("enum-value", ty.cases.index(value))
    if isinstance(ty, wit.FlagsType):
        return Variant("flags-value", [name in value for name in ty.names])
    if isinstance(ty, wit.VariantType):
        names = [n for n, _ in ty.cases]
        case_index = names.index(value.case)
        payload_type = ty.cases[case_index][1]
        child = None if payload_type is None else _add(nodes, payload_type, value.payload, uri)
        return Variant("variant-value", (case_index, child))
    if isinstance(ty, wit.OptionType):
        if value is None:
            return Variant("option-value", None)
        inner = value.value if isinstance(value, Some) else value
        return Variant("option-value", _add(nodes, ty.payload, inner, uri))
    if isinstance(ty, wit.ResultType):
        ok = isinstance(value, Ok)
        payload_type = ty.ok if ok else ty.err
        child = None if payload_type is None else _add(nodes, payload_type, value.value, uri)
        return Variant("result-value", Ok(child) if ok else Err(child))
    if isinstance(ty, wit.HandleType):
        if not isinstance(value, Handle):
            raise WitValueError(f"expected a handle, got {value!r}")
        return Variant("handle", ({"value": uri}, value.id))
    raise WitValueError(f"cannot encode a value of type {ty}")  # pragma: no cover


def decode(ty: wit.WitType | None, wit_value: Any, index: int = 0,
           handle_uri: str | None = None) -> Any:
    """The native value of type ``ty`` in a ``wit-value`` (from node ``index``). With
    ``handle_uri``, a resource handle must carry that owner URI (a handle belongs to the worker
    that created the resource)."""
    nodes = wit_value["nodes"]
    if not 0 <= index < len(nodes):
        raise WitValueError(f"wit-value node index {index} is out of range")
    node = nodes[index]
    case, payload = node.case, node.payload

    def expect(wanted: str) -> None:
        if case != wanted:
            raise WitValueError(f"expected a {wanted} node for {ty}, got {case}")

    if isinstance(ty, wit.Prim):
        expect(_PRIM_CASE[ty.kind])
        return payload
    if isinstance(ty, wit.ListType):
        expect("list-value")
        items = [decode(ty.element, wit_value, i, handle_uri) for i in payload]
        return bytes(items) if ty.element == wit.Prim("u8") else items
    if isinstance(ty, wit.TupleType):
        expect("tuple-value")
        if len(payload) != len(ty.elements):
            raise WitValueError(f"expected {len(ty.elements)} tuple items, got {len(payload)}")
        return tuple(decode(t, wit_value, i, handle_uri) for t, i in zip(ty.elements, payload))
    if isinstance(ty, wit.RecordType):
        expect("record-value")
        if len(payload) != len(ty.fields):
            raise WitValueError(f"expected {len(ty.fields)} record fields, got {len(payload)}")
        return {n: decode(t, wit_value, i, handle_uri) for (n, t), i in zip(ty.fields, payload)}
    if isinstance(ty, wit.EnumType):
        expect("enum-value")
        return ty.cases[payload]
    if isinstance(ty, wit.FlagsType):
        expect("flags-value")
        return frozenset(n for n, on in zip(ty.names, payload) if on)
    if isinstance(ty, wit.VariantType):
        expect("variant-value")
        case_index, child = payload
        name, payload_type = ty.cases[case_index]
        return Variant(name, None if child is None or payload_type is None
                       else decode(payload_type, wit_value, child, handle_uri))
    if isinstance(ty, wit.OptionType):
        expect("option-value")
        if payload is None:
            return None
        inner = decode(ty.payload, wit_value, payload, handle_uri)
        return Some(inner) if isinstance(ty.payload, wit.OptionType) else inner
    if isinstance(ty, wit.ResultType):
        expect("result-value")
        ok = isinstance(payload, Ok)
        payload_type = ty.ok if ok else ty.err
        child = payload.value
        inner = (None if child is None or payload_type is None
                 else decode(payload_type, wit_value, child, handle_uri))
        return Ok(inner) if ok else Err(inner)
    if isinstance(ty, wit.HandleType):
        expect("handle")
        uri, resource_id = payload
        owner = uri["value"] if isinstance(uri, dict) else str(uri)
        if handle_uri is not None and owner != handle_uri:
            raise WitValueError(f"handle {resource_id} belongs to {owner}, not to {handle_uri}")
        return Handle(int(resource_id))
    raise WitValueError(f"cannot decode a value of type {ty}")  # pragma: no cover
