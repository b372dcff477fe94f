"""Golem's snapshot interfaces: find ``save`` / ``load`` in a component, convert between forms.

Every published form is supported (see the Golem notes):

- ``golem:api@0.2.0``, ``@0.2.2``, ``@1.1.x``, ``@1.3.0``: ``save: func() -> list<u8>`` and
  ``load: func(bytes: list<u8>) -> result<_, string>``;
- ``golem:api@1.5.0``: ``save: func() -> snapshot`` and ``load: func(snapshot: snapshot) ->
  result<_, string>`` with ``record snapshot { payload: list<u8>, mime-type: string }``.

A snapshot saved in one form loads into the other: the bytes are the payload, and a payload
without a MIME type is ``application/octet-stream``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .component import FunctionInfo, LoadedComponent
from .names import unversioned
from .values import Err, ListType, Ok, Prim, RecordType

SAVE_INTERFACE = "golem:api/save-snapshot"
LOAD_INTERFACE = "golem:api/load-snapshot"
#: Both snapshot interfaces (unversioned): every version is told apart by its shape, above.
SNAPSHOT_INTERFACES = (SAVE_INTERFACE, LOAD_INTERFACE)
DEFAULT_MIME_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Snapshot:
    """A worker's saved state: the bytes and their MIME type."""

    payload: bytes
    mime_type: str = DEFAULT_MIME_TYPE


def _find(component: LoadedComponent, interface: str, function: str) -> FunctionInfo | None:
    for info in component.functions.values():
        if info.interface and unversioned(info.interface) == interface and (
            info.export_name == function
        ):
            return info
    return None


def find_save(component: LoadedComponent) -> FunctionInfo | None:
    """The component's ``save-snapshot.save`` export (any version), or ``None``."""
    return _find(component, SAVE_INTERFACE, "save")


def find_load(component: LoadedComponent) -> FunctionInfo | None:
    """The component's ``load-snapshot.load`` export (any version), or ``None``."""
    return _find(component, LOAD_INTERFACE, "load")


def _is_bytes(ty: Any) -> bool:
    return isinstance(ty, ListType) and ty.element == Prim("u8")


def _is_record_form(ty: Any) -> bool:
    return isinstance(ty, RecordType) and {name for name, _ in ty.fields} >= {
        "payload", "mime-type"}


def snapshot_from_save(info: FunctionInfo, value: Any) -> Snapshot:
    """Turn ``save``'s native result into a :class:`Snapshot` (raises ValueError if unknown)."""
    if _is_bytes(info.result):
        return Snapshot(bytes(value))
    if _is_record_form(info.result):
        return Snapshot(bytes(value["payload"]), value["mime-type"])
    raise ValueError(f"{info.golem_name} returns {info.result.wit() if info.result else 'nothing'},"
                     " not a snapshot (list<u8> or record snapshot)")


def load_arguments(info: FunctionInfo, snapshot: Snapshot) -> tuple[Any, ...]:
    """The native arguments of ``load`` for ``snapshot`` (raises ValueError if unknown form)."""
    if len(info.params) == 1:
        ty = info.params[0][1]
        if _is_bytes(ty):
            return (snapshot.payload,)
        if _is_record_form(ty):
            return ({"payload": snapshot.payload, "mime-type": snapshot.mime_type},)
    signature = ", ".join(f"{n}: {t.wit()}" for n, t in info.params)
    raise ValueError(f"{info.golem_name} takes ({signature}), not a snapshot")


def load_error(value: Any) -> str | None:
    """``None`` if ``load`` returned ``ok``, else its error message."""
    if isinstance(value, Err):
        return str(value.value)
    if isinstance(value, Ok) or value is None:
        return None
    return f"unexpected result {value!r}"
