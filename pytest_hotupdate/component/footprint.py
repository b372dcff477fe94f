"""How a worker's memory budget maps onto wasmtime's per-Store limits.

wasmtime's ``Store.set_limits(memory_size=...)`` bounds each linear memory separately and
``table_elements`` each table separately; wasmtime-py 50 offers no limiter callback that could
see them all at once. So the worker's budget is divided up front, from a static count of what
the component defines (:func:`count_component`):

- the tables, all together, get :data:`TABLE_SHARE` of ``memory_bytes`` (an element costs
  wasmtime :data:`TABLE_ELEMENT_BYTES`), divided evenly among the tables the component defines;
- the linear memories, all together, get the rest, divided evenly among the memories the
  component defines (one for nearly every component, which then gets all of it);
- the Store refuses more memories or tables than that count plus the emulator's own helper
  component (:data:`HELPER_MEMORIES`, :data:`HELPER_TABLES`; its memory stays a few pages), so
  a guest cannot instantiate its way past the division.

The count reads the binary's sections (core modules, their memory and table sections, core
instantiations, nested components) without instantiating anything.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Footprint", "StoreLimits", "count_component", "store_limits"]

#: Bytes wasmtime spends per table element (a pointer); 110M elements took 913 MB.
TABLE_ELEMENT_BYTES = 8

#: The fraction of ``memory_bytes`` the tables of a worker may use together.
TABLE_SHARE = 1 / 16

#: Memories and tables of the emulator's helper components instantiated in a worker's Store
#: (``wasi:io`` streams), allowed on top of the component's own.
HELPER_MEMORIES = 2
HELPER_TABLES = 2

_SECTION_CORE_MODULE = 1
_SECTION_CORE_INSTANCE = 2
_SECTION_COMPONENT = 4
_SECTION_INSTANCE = 5
_CORE_TABLE_SECTION = 4
_CORE_MEMORY_SECTION = 5


@dataclass(frozen=True)
class Footprint:
    """What a component defines once instantiated: linear memories and tables (counted once
    per core instantiation; a nested component once per instantiation)."""

    memories: int
    tables: int


@dataclass(frozen=True)
class StoreLimits:
    """The arguments of ``Store.set_limits`` for one worker."""

    memory_size: int
    table_elements: int
    memories: int
    tables: int


def store_limits(memory_bytes: int, footprint: Footprint) -> StoreLimits:
    """The Store limits that keep all memories and tables of a component with ``footprint``
    within ``memory_bytes`` together."""
    table_bytes = int(memory_bytes * TABLE_SHARE)
    memories = max(1, footprint.memories)
    tables = max(1, footprint.tables)
    return StoreLimits(
        memory_size=(memory_bytes - table_bytes) // memories,
        table_elements=table_bytes // TABLE_ELEMENT_BYTES // tables,
        memories=footprint.memories + HELPER_MEMORIES,
        tables=footprint.tables + HELPER_TABLES,
    )


class _Reader:
    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise ValueError("truncated")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u32(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 35:
                raise ValueError("bad LEB128")

    def skip_name(self) -> None:
        length = self.u32()  # read first: ``self.pos += self.u32()`` adds to the old position
        self.pos += length


def _sections(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(id, start, end) of every section of the module or component at ``data[start:end]``."""
    reader = _Reader(data, start + 8, end)
    sections = []
    while reader.pos < end:
        section_id = reader.byte()
        size = reader.u32()
        sections.append((section_id, reader.pos, reader.pos + size))
        reader.pos += size
    if reader.pos != end:
        raise ValueError("section past the end")
    return sections


def _count_module(data: bytes, start: int, end: int) -> Footprint:
    """Memories and tables a core module defines (imported ones are someone else's)."""
    memories = tables = 0
    for section_id, s_start, s_end in _sections(data, start, end):
        if section_id == _CORE_MEMORY_SECTION:
            memories += _Reader(data, s_start, s_end).u32()
        elif section_id == _CORE_TABLE_SECTION:
            tables += _Reader(data, s_start, s_end).u32()
    return Footprint(memories, tables)


def _core_instantiations(data: bytes, start: int, end: int) -> list[int]:
    """Module indexes instantiated by a core instance section."""
    reader = _Reader(data, start, end)
    found = []
    for _ in range(reader.u32()):
        kind = reader.byte()
        if kind == 0x00:  # instantiate module args*
            found.append(reader.u32())
            for _ in range(reader.u32()):
                reader.skip_name()
                reader.byte()  # 0x12: instance
                reader.u32()
        elif kind == 0x01:  # inline exports
            for _ in range(reader.u32()):
                reader.skip_name()
                reader.byte()
                reader.u32()
        else:
            raise ValueError(f"unknown core instance kind {kind}")
    return found


def _component_instantiations(data: bytes, start: int, end: int) -> list[int]:
    """Component indexes instantiated by an instance section (inline-export instances make
    nothing new and are not listed; the section is not read past the first of them)."""
    reader = _Reader(data, start, end)
    found = []
    for _ in range(reader.u32()):
        kind = reader.byte()
        if kind != 0x00:
            break
        found.append(reader.u32())
        for _ in range(reader.u32()):
            reader.skip_name()
            if reader.byte() == 0x00:  # core sort: one more byte
                reader.byte()
            reader.u32()
    return found


def _count(data: bytes, start: int, end: int) -> Footprint:
    modules: list[Footprint] = []
    components: list[Footprint] = []
    memories = tables = 0
    for section_id, s_start, s_end in _sections(data, start, end):
        if section_id == _SECTION_CORE_MODULE:
            modules.append(_count_module(data, s_start, s_end))
        elif section_id == _SECTION_COMPONENT:
            components.append(_count(data, s_start, s_end))
        elif section_id in (_SECTION_CORE_INSTANCE, _SECTION_INSTANCE):
            local = modules if section_id == _SECTION_CORE_INSTANCE else components
            found = (_core_instantiations if section_id == _SECTION_CORE_INSTANCE
                     else _component_instantiations)(data, s_start, s_end)
            for index in found:
                if index < len(local):
                    item = local[index]
                else:  # imported or aliased: count it as the largest local definition
                    item = Footprint(max((m.memories for m in modules + components), default=1),
                                     max((m.tables for m in modules + components), default=1))
                memories += item.memories
                tables += item.tables
    return Footprint(memories, tables)


def count_component(data: bytes) -> Footprint:
    """The memories and tables ``data`` (a component or a core module) defines when
    instantiated. A binary that cannot be read counts as one of each (the Store's count limits
    then still refuse anything beyond what was counted)."""
    try:
        if data[4:8] == b"\x01\x00\x00\x00":
            return _count_module(data, 0, len(data))
        return _count(data, 0, len(data))
    except (ValueError, IndexError):
        return Footprint(1, 1)
