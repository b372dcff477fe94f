"""golem:oplogs v1: reads workers' oplogs through `golem:api/oplog@1.1.7`."""
from componentize_py_types import Err
from wit_world import exports

from wit_world.imports import host, oplog, types as rpc


def worker_id(component: str, name: str) -> rpc.WorkerId:
    found = host.resolve_worker_id_strict(component, name)
    if found is None:
        raise Err(f"no worker {component}/{name}")
    return found


def case_name(entry) -> str:
    """`OplogEntry_ExportedFunctionInvoked` -> `exported-function-invoked`."""
    camel = type(entry).__name__.split("_", 1)[1]
    return "".join("-" + c.lower() if c.isupper() else c for c in camel).lstrip("-")


def detail(entry) -> str:
    value = entry.value
    for attribute in ("function_name", "message", "error"):
        found = getattr(value, attribute, None)
        if isinstance(found, str):
            return found
    target = getattr(value, "target_version", None)
    return "" if target is None else str(target)


def all_entries(component: str, name: str, start: int) -> list:
    entries = []
    with oplog.GetOplog(worker_id(component, name), start) as cursor:
        while (batch := cursor.get_next()) is not None:
            entries.extend(batch)
    return entries


def number_in(value) -> int | None:
    node = value.nodes[0]
    return node.value if isinstance(node, rpc.WitNode_PrimU64) else None


class Api(exports.Api):
    def entries(self, component: str, name: str, start: int) -> list[str]:
        out = []
        for entry in all_entries(component, name, start):
            text = detail(entry)
            out.append(f"{case_name(entry)}: {text}" if text else case_name(entry))
        return out

    def search(self, component: str, name: str, text: str) -> list[int]:
        found = []
        with oplog.SearchOplog(worker_id(component, name), text) as cursor:
            while (batch := cursor.get_next()) is not None:
                found.extend(index for index, _entry in batch)
        return found

    def number(self, component: str, name: str, index: int) -> int | None:
        entries = all_entries(component, name, index)
        if not entries:
            return None
        value = entries[0].value
        if isinstance(entries[0], oplog.OplogEntry_ExportedFunctionInvoked):
            return number_in(value.request[0]) if value.request else None
        if isinstance(entries[0], oplog.OplogEntry_ExportedFunctionCompleted):
            return None if value.response is None else number_in(value.response)
        return None
