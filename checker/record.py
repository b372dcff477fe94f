"""``@record``: frozen data classes that are cheap to create at import time.

``@dataclass(frozen=True)`` compiles six methods per class with ``exec`` (about half a
millisecond each class); the checker defines some thirty such classes, which is a sizeable part
of ``hotupdate-check``'s start-up budget. ``@record`` compiles only ``__init__`` and shares one
implementation of ``__eq__``, ``__hash__``, ``__repr__`` and the frozen ``__setattr__`` between
all classes. Semantics follow ``@dataclass(frozen=True)``: fields in annotation order, defaults
(immutable values only), equality and hashing by field values (fields named in
``__record_exclude__`` are left out of both), assignment raises
:class:`dataclasses.FrozenInstanceError`-like :class:`AttributeError`.
"""

from __future__ import annotations

import operator
from typing import Any, TypeVar, dataclass_transform

__all__ = ["record", "replace"]

C = TypeVar("C", bound=type)


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a record."""


def _setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r} of {type(self).__name__}")


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r} of {type(self).__name__}")


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = self.__record_key__
    return key(self) == key(other)


def _hash(self: Any) -> int:
    cached: int | None = self.__dict__.get("_record_hash")
    if cached is None:
        cached = hash((type(self).__name__, self.__record_key__(self)))
        object.__setattr__(self, "_record_hash", cached)
    return cached


def _repr(self: Any) -> str:
    args = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__record_fields__)
    return f"{type(self).__name__}({args})"


@dataclass_transform(frozen_default=True)
def record(cls: C) -> C:
    """Make ``cls`` a frozen record (see the module docstring)."""
    names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 - own fields only
    defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
    params = []
    seen_default = False
    for name in names:
        if name in defaults:
            params.append(f"{name}=_d_{name}")
            seen_default = True
        elif seen_default:
            raise TypeError(f"{cls.__name__}: field {name!r} without a default after one with")
        else:
            params.append(name)
    body = "\n".join(f"    _set(self, {n!r}, {n})" for n in names) or "    pass"
    source = f"def __init__(self, {', '.join(params)}):\n{body}\n"
    namespace: dict[str, Any] = {f"_d_{n}": v for n, v in defaults.items()}
    namespace["_set"] = object.__setattr__
    exec(source, namespace)  # noqa: S102 - generated from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    exclude = frozenset(cls.__dict__.get("__record_exclude__", ()))
    type.__setattr__(cls, "__init__", init)
    cls.__record_fields__ = names  # type: ignore[attr-defined]
    compare = tuple(n for n in names if n not in exclude)
    # attrgetter of several names returns a tuple; of one name, the bare value; of none, fails
    cls.__record_key__ = (  # type: ignore[attr-defined]
        operator.attrgetter(*compare) if compare else (lambda _self: ())
    )
    type.__setattr__(cls, "__match_args__", names)
    cls.__setattr__ = _setattr  # type: ignore[assignment,method-assign]
    cls.__delattr__ = _delattr  # type: ignore[assignment,method-assign]
    cls.__eq__ = _eq  # type: ignore[assignment,method-assign]
    cls.__hash__ = _hash  # type: ignore[assignment,method-assign]
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr  # type: ignore[assignment,method-assign]
    return cls


def replace(obj: Any, **changes: Any) -> Any:
    """A copy of the record ``obj`` with some fields changed (``dataclasses.replace``)."""
    values = {name: getattr(obj, name) for name in type(obj).__record_fields__}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field(s) {', '.join(sorted(unknown))}")
    values.update(changes)
    return type(obj)(**values)
