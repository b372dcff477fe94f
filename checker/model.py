"""The WIT model the checker diffs: frozen records, built by :mod:`checker.wit`.

A :class:`World` is what one side of a check looks like: the interfaces (and world-level
functions) it exports and imports, and a table of every named type they reach. Types inside
signatures are :data:`Type` values: primitives, anonymous structures (``list``, ``option``,
``result``, ``tuple``, handles) and :class:`Ref` references to named :class:`TypeDef` entries.

Names follow WIT: interfaces are identified by ``namespace:package/name`` without the package
version (``golem:cart/api``), so that a version bump pairs the two sides up and is reported as a
version change rather than as a removal plus an addition.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

__all__ = [
    "Case",
    "Field",
    "Function",
    "FunctionKind",
    "Handle",
    "Interface",
    "ListType",
    "OptionType",
    "OtherType",
    "Param",
    "Prim",
    "Ref",
    "ResultType",
    "TupleType",
    "Type",
    "TypeDef",
    "TypeKey",
    "TypeKind",
    "World",
    "type_text",
]

#: The primitive WIT types, as wasm-tools spells them.
PRIMITIVES = frozenset(
    ["bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char", "string", "error-context"]
)


@dataclass(frozen=True)
class TypeKey:
    """Where a named type is defined: its owner (interface or world) and its name.

    ``owner`` is the owner's identity without a package version (``golem:cart/api``);
    ``version`` the package version (``None`` when unversioned). Two sides' types pair up when
    their owner and name are equal, whatever the versions.
    """

    owner: str
    name: str
    version: str | None = None

    @property
    def match(self) -> tuple[str, str]:
        """The pairing key across two worlds: ``(owner, name)``."""
        return (self.owner, self.name)


@dataclass(frozen=True)
class Prim:
    """A primitive type: ``u32``, ``string``, ``bool``, ..."""

    name: str


@dataclass(frozen=True)
class Ref:
    """A reference to a named type (record, variant, enum, flags, resource or alias)."""

    key: TypeKey


@dataclass(frozen=True)
class ListType:
    """``list<element>``."""

    element: Type


@dataclass(frozen=True)
class OptionType:
    """``option<inner>``."""

    inner: Type


@dataclass(frozen=True)
class ResultType:
    """``result<ok, err>``; either side may be absent (``result<_, e>``, ``result``)."""

    ok: Type | None
    err: Type | None


@dataclass(frozen=True)
class TupleType:
    """``tuple<a, b, ...>``."""

    items: tuple[Type, ...]


@dataclass(frozen=True)
class Handle:
    """``own<resource>`` (written just ``resource``) or ``borrow<resource>``."""

    mode: str  # "own" | "borrow"
    resource: TypeKey


@dataclass(frozen=True)
class OtherType:
    """A type the checker does not look into (``stream<T>``, ``future<T>``, ...): compared
    by equality only."""

    kind: str
    args: tuple[Type, ...] = ()


Type = Prim | Ref | ListType | OptionType | ResultType | TupleType | Handle | OtherType


class TypeKind(str, enum.Enum):
    """The kinds of named type definitions."""

    RECORD = "record"
    VARIANT = "variant"
    ENUM = "enum"
    FLAGS = "flags"
    RESOURCE = "resource"
    ALIAS = "type"  # `type x = ...` and `use`d types


@dataclass(frozen=True)
class Field:
    """A record field."""

    name: str
    type: Type
    docs: str | None = None


@dataclass(frozen=True)
class Case:
    """A variant case (with an optional payload), an enum case or a flag (no payload)."""

    name: str
    type: Type | None = None
    docs: str | None = None


@dataclass(frozen=True)
class TypeDef:
    """A named type definition.

    Attributes:
        key: where it is defined and its name.
        kind: record, variant, enum, flags, resource or alias (``type``).
        fields: the record's fields, in order.
        cases: the variant's or enum's cases, or the flags, in order.
        target: what an alias stands for.
        docs: its doc comment (WIT input only: components carry no docs).
    """

    key: TypeKey
    kind: TypeKind
    fields: tuple[Field, ...] = ()
    cases: tuple[Case, ...] = ()
    target: Type | None = None
    docs: str | None = None

    @property
    def name(self) -> str:
        return self.key.name


class FunctionKind(str, enum.Enum):
    """Free function, or one of a resource's constructor, methods and static functions."""

    FREESTANDING = "func"
    CONSTRUCTOR = "constructor"
    METHOD = "method"
    STATIC = "static"


@dataclass(frozen=True)
class Param:
    """A function parameter."""

    name: str
    type: Type


@dataclass(frozen=True)
class Function:
    """An exported or imported function.

    Attributes:
        name: the name as the component model spells it (``[method]cart.add-item``).
        kind: free function, constructor, method or static function.
        resource: the resource a constructor/method/static belongs to (else ``None``).
        item: the name within its resource (``add-item``; ``new`` for a constructor), or the
            plain name of a free function.
        params: the parameters, ``self`` included for methods.
        result: the result type, ``None`` for none.
        is_async: declared ``async func``.
        docs: its doc comment.
    """

    name: str
    kind: FunctionKind
    item: str
    params: tuple[Param, ...]
    result: Type | None
    resource: str | None = None
    is_async: bool = False
    docs: str | None = None

    @property
    def label(self) -> str:
        """WIT path segment: ``func f``, ``method add-item``, ``constructor``, ``static s``."""
        if self.kind is FunctionKind.CONSTRUCTOR:
            return "constructor"
        return f"{self.kind.value} {self.item}"

    @property
    def golem_name(self) -> str:
        """The item as Golem names it inside ``iface.{...}``: ``f``, ``cart.new``,
        ``cart.add-item``."""
        if self.resource is None:
            return self.item
        return f"{self.resource}.{self.item}"

    def signature(self) -> tuple[tuple[Type, ...], Type | None]:
        """Parameter types and result type (names left out): what a rename keeps."""
        return (tuple(p.type for p in self.params), self.result)


@dataclass(frozen=True)
class Interface:
    """An exported or imported interface, or the world's own functions (``id == ""``).

    Attributes:
        id: identity without version: ``golem:cart/api``; an inline world interface is named by
            its world key (``named``); ``""`` for world-level functions.
        version: the package version (``1.5.0``) or ``None``.
        functions: its functions, in declaration order.
        types: the keys of the named types it defines, in declaration order.
        docs: its doc comment.
    """

    id: str
    version: str | None
    functions: tuple[Function, ...] = ()
    types: tuple[TypeKey, ...] = ()
    docs: str | None = None

    @property
    def qualified(self) -> str:
        """``golem:api/save-snapshot@1.1.0``; the id when unversioned."""
        return f"{self.id}@{self.version}" if self.version else self.id

    @property
    def package(self) -> str | None:
        """``golem:cart`` (``None`` for an inline or world-level interface)."""
        return self.id.split("/", 1)[0] if "/" in self.id else None

    def function(self, name: str) -> Function | None:
        for func in self.functions:
            if func.name == name:
                return func
        return None


@dataclass(frozen=True)
class World:
    """One side of a check: what a component (or a WIT world) exports and imports.

    Attributes:
        source: the file or directory it was read from.
        name: the world's name (``root`` for a built component).
        exports: exported interfaces (world-level functions as the interface with ``id == ""``).
        imports: imported interfaces, likewise.
        types: every named type of the resolved package graph, by key.
        is_component: read from a component binary (no docs) rather than from WIT text.
        skipped: items left out on purpose (toolchain artefacts), with the reason.
    """

    source: str
    name: str
    exports: tuple[Interface, ...]
    imports: tuple[Interface, ...]
    # Not compared or hashed: a world's identity is its interfaces; the table only resolves them.
    types: Mapping[TypeKey, TypeDef] = field(
        default_factory=lambda: MappingProxyType({}), compare=False)
    is_component: bool = True
    skipped: tuple[str, ...] = ()

    @cached_property
    def _by_id(self) -> dict[tuple[str, str], Interface]:
        # Built once: a lookup per named type must not scan every interface (20,000
        # interfaces took 22 s that way). The first interface of an id wins, as a scan did.
        index: dict[tuple[str, str], Interface] = {}
        for direction, ifaces in (("export", self.exports), ("import", self.imports)):
            for iface in ifaces:
                index.setdefault((direction, iface.id), iface)
        return index

    def export(self, iface_id: str) -> Interface | None:
        """The exported interface ``iface_id`` (``namespace:package/name``), if any."""
        return self._by_id.get(("export", iface_id))

    def imported(self, iface_id: str) -> Interface | None:
        """The imported interface ``iface_id``, if any."""
        return self._by_id.get(("import", iface_id))

    def typedef(self, key: TypeKey) -> TypeDef | None:
        return self.types.get(key)

    def resolve(self, ty: Type) -> Type:
        """Follow aliases until a non-alias: ``Ref`` to a nominal type, or a structure."""
        seen = 0
        while isinstance(ty, Ref):
            td = self.types.get(ty.key)
            if td is None or td.kind is not TypeKind.ALIAS or td.target is None:
                return ty
            ty = td.target
            seen += 1
            if seen > 100:  # pragma: no cover - WIT forbids cycles
                return ty
        return ty


def children(ty: Type) -> Iterator[Type]:
    """The types directly inside a structural type (not through named types)."""
    if isinstance(ty, ListType):
        yield ty.element
    elif isinstance(ty, OptionType):
        yield ty.inner
    elif isinstance(ty, ResultType):
        if ty.ok is not None:
            yield ty.ok
        if ty.err is not None:
            yield ty.err
    elif isinstance(ty, TupleType):
        yield from ty.items
    elif isinstance(ty, OtherType):
        yield from ty.args


def type_text(ty: Type | None) -> str:
    """WIT text of a type as it appears in a signature: ``result<u32, cart-error>``."""
    if ty is None:
        return "_"
    if isinstance(ty, Prim):
        return ty.name
    if isinstance(ty, Ref):
        return ty.key.name
    if isinstance(ty, ListType):
        return f"list<{type_text(ty.element)}>"
    if isinstance(ty, OptionType):
        return f"option<{type_text(ty.inner)}>"
    if isinstance(ty, ResultType):
        if ty.ok is None and ty.err is None:
            return "result"
        if ty.err is None:
            return f"result<{type_text(ty.ok)}>"
        return f"result<{type_text(ty.ok)}, {type_text(ty.err)}>"
    if isinstance(ty, TupleType):
        return f"tuple<{', '.join(type_text(t) for t in ty.items)}>"
    if isinstance(ty, Handle):
        return ty.resource.name if ty.mode == "own" else f"borrow<{ty.resource.name}>"
    if ty.args:
        return f"{ty.kind}<{', '.join(type_text(t) for t in ty.args)}>"
    return ty.kind


def signature_text(func: Function) -> str:
    """``func(by: u64) -> u64`` (``self`` left out for methods)."""
    params = [p for p in func.params if not (func.kind is FunctionKind.METHOD and p.name == "self")]
    text = ", ".join(f"{p.name}: {type_text(p.type)}" for p in params)
    head = "constructor" if func.kind is FunctionKind.CONSTRUCTOR else "func"
    if func.kind is FunctionKind.STATIC:
        head = "static func"
    if func.is_async:
        head = "async " + head
    out = f"{head}({text})"
    if func.result is not None and func.kind is not FunctionKind.CONSTRUCTOR:
        out += f" -> {type_text(func.result)}"
    return out
