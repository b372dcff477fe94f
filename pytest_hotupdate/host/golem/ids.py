"""Golem identities of the emulated components and workers.

A component's id is a UUID derived from its name (``uuid5``), so it is the same in every run and
every process; a worker is addressed by its component's id and its name, as ``worker-id``
(``golem:rpc/types@0.2.x``, ``golem:api@1.1.x``: ``{component-id, worker-name}``) or ``agent-id``
(later versions: ``{component-id, agent-id}``). Both shapes are read and written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ...errors import HotUpdateError

#: The namespace of the emulator's component UUIDs.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/pytest-hotupdate/components")


def component_uuid(name: str) -> uuid.UUID:
    """The UUID of component ``name`` (stable across runs)."""
    return uuid.uuid5(NAMESPACE, name)


def uuid_record(value: uuid.UUID) -> dict[str, int]:
    """``uuid`` as Golem's ``record uuid { high-bits: u64, low-bits: u64 }``."""
    return {"high-bits": value.int >> 64, "low-bits": value.int & ((1 << 64) - 1)}


def uuid_of(record: Mapping[str, Any]) -> uuid.UUID:
    """The UUID in a ``uuid`` record."""
    return uuid.UUID(int=(int(record["high-bits"]) << 64) | int(record["low-bits"]))


def component_id(name: str) -> dict[str, Any]:
    """``component-id`` of component ``name``."""
    return {"uuid": uuid_record(component_uuid(name))}


def environment_id() -> dict[str, Any]:
    """``environment-id`` (Golem 1.5's agent metadata): one environment holds every component."""
    return {"uuid": uuid_record(uuid.uuid5(NAMESPACE, "environment"))}


def worker_id(component: str, worker: str) -> dict[str, Any]:
    """Facts for a ``worker-id`` / ``agent-id`` record (see :func:`._shapes.build`)."""
    return {"component-id": component_id(component), "worker-name": worker, "agent-id": worker}


def worker_name(record: Mapping[str, Any]) -> str:
    """The worker name in a ``worker-id`` or ``agent-id`` record."""
    for key in ("worker-name", "agent-id", "name"):
        value = record.get(key)
        if isinstance(value, str):
            return value
    raise HotUpdateError(f"not a worker id: {dict(record)!r}")


def component_names(registry: Any) -> list[str]:
    """Names of the components deployed in ``registry``."""
    names: list[str] = registry.component_names()
    return names


def component_named_by(registry: Any, record: Mapping[str, Any]) -> str | None:
    """The name of the registry's component whose id is the ``component-id`` record."""
    wanted = uuid_of(record["uuid"])
    for name in component_names(registry):
        if component_uuid(name) == wanted:
            return name
    return None


def uri(component: str, worker: str) -> str:
    """A worker's URI, as Golem writes it (``urn:worker:<component uuid>/<worker name>``)."""
    return f"urn:worker:{component_uuid(component)}/{worker}"


def find_worker(registry: Any, record: Mapping[str, Any], *, create: bool = False) -> Any:
    """The registry's worker a ``worker-id`` / ``agent-id`` record names, or None.

    With ``create``, a worker that does not exist yet is created on its component's latest
    revision, as Golem creates a worker on its first invocation.
    """
    if registry is None:
        return None
    name = worker_name(record)
    component = component_named_by(registry, record.get("component-id", {"uuid": {
        "high-bits": 0, "low-bits": 0}}))
    for worker in registry.workers:
        if worker.name == name and (component is None or worker.component_name == component):
            return worker
    if create and component is not None:
        return registry.worker(component, name=name)
    return None
