"""The oplog: a worker's durable history, and its JSON Lines file format.

File format (version 1): the first line is a header
``{"oplog": 1, "component": "<name>", "revision": 0}``; every other line is one entry with a
``kind``. Values are WAVE text, so a history can be read and replayed against a revision whose
Python types were never seen by the writer.

Entry kinds:

- ``invocation``: an exported function was called: ``function``, ``params`` (WAVE list).
- ``host-call``: a durable host function answered: ``function`` (``iface.{name}``), ``result``.
- ``completed``: the open invocation returned ``result`` (WAVE, absent for no result).
- ``failed``: the open invocation failed (``error``, ``error_kind``); replay skips it, as the
  worker's state was rebuilt from before it.
- ``log``: output on ``stream`` (stdout/stderr); a hint only, never compared on replay.
- ``pending-update``, ``successful-update``, ``failed-update``: update records (``target_revision``,
  ``mode``, ``details``, ``at``).

Files are read as a stream (never loaded whole) and written atomically (temporary file, rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, TextIO

from .errors import OplogError

OPLOG_FORMAT_VERSION = 1


@dataclass(frozen=True)
class OplogHeader:
    """First line of an oplog file."""

    component: str
    revision: int
    worker: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"oplog": OPLOG_FORMAT_VERSION, "component": self.component,
                                "revision": self.revision}
        if self.worker:
            data["worker"] = self.worker
        return data


@dataclass(frozen=True)
class Invocation:
    """An exported function call started (its result follows in ``Completed`` or ``Failed``)."""

    kind: ClassVar[str] = "invocation"
    function: str
    params: tuple[str, ...] = ()
    #: The call's native Python arguments, kept in memory only to skip re-parsing on replay.
    native: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class HostCall:
    """A durable host function's answer, replayed instead of calling the host again."""

    kind: ClassVar[str] = "host-call"
    function: str
    result: str | None = None
    params: tuple[str, ...] = ()
    native: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Completed:
    """The open invocation returned ``result`` (WAVE; ``None`` for a function without result)."""

    kind: ClassVar[str] = "completed"
    result: str | None = None
    native: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Failed:
    """The open invocation failed; its effects were discarded."""

    kind: ClassVar[str] = "failed"
    error: str
    error_kind: str = "trap"


@dataclass(frozen=True)
class Log:
    """Guest output: a hint, never compared on replay."""

    kind: ClassVar[str] = "log"
    stream: str
    text: str


@dataclass(frozen=True)
class PendingUpdate:
    """An update was requested; for a manual update, ``snapshot`` holds the saved state
    (base64) and ``snapshot_mime_type`` its MIME type."""

    kind: ClassVar[str] = "pending-update"
    target_revision: int
    mode: str
    at: float
    description: str = ""
    snapshot: str | None = None
    snapshot_mime_type: str | None = None


@dataclass(frozen=True)
class SuccessfulUpdate:
    """The worker now runs ``target_revision``."""

    kind: ClassVar[str] = "successful-update"
    target_revision: int
    mode: str
    at: float
    details: str = ""


@dataclass(frozen=True)
class FailedUpdate:
    """An update failed; the worker stayed on its revision. ``details`` says why."""

    kind: ClassVar[str] = "failed-update"
    target_revision: int
    mode: str
    at: float
    details: str = ""


Entry = Invocation | HostCall | Completed | Failed | Log | PendingUpdate | SuccessfulUpdate | FailedUpdate

ENTRY_TYPES: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (Invocation, HostCall, Completed, Failed, Log, PendingUpdate, SuccessfulUpdate,
                FailedUpdate)
}

# Fields that are JSON lists but tuples in the model.
_TUPLE_FIELDS = ("params",)


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    """The JSON object of one entry (``native`` caches are not written)."""
    data: dict[str, Any] = {"kind": entry.kind}
    for name, value in vars(entry).items():
        if name == "native":
            continue
        if value is None or value == () or value == "":
            continue  # every such field has that default
        data[name] = list(value) if isinstance(value, tuple) else value
    return data


def entry_from_dict(data: dict[str, Any], where: str = "", line: int = 0) -> Entry:
    """Build an entry from its JSON object; raise :class:`OplogError` naming ``where:line``."""
    if not isinstance(data, dict):
        raise OplogError(f"{where}:{line}: an oplog entry must be a JSON object", where, line)
    kind = data.get("kind")
    cls = ENTRY_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(ENTRY_TYPES))
        raise OplogError(
            f"{where}:{line}: unknown oplog entry kind {kind!r} (known: {known})", where, line
        )
    fields = {k: v for k, v in data.items() if k != "kind"}
    for name in _TUPLE_FIELDS:
        if name in fields:
            value = fields[name]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise OplogError(
                    f"{where}:{line}: `{name}` must be a list of WAVE strings", where, line
                )
            fields[name] = tuple(value)
    try:
        entry: Entry = cls(**fields)
    except TypeError as error:
        message = str(error).split("__init__() ", 1)[-1]
        raise OplogError(f"{where}:{line}: bad `{kind}` entry: {message}", where, line) from None
    _check_field_types(entry, where, line)
    return entry


_EXPECTED_TYPES: dict[str, tuple[type, ...]] = {
    "function": (str,),
    "result": (str, type(None)),
    "error": (str,),
    "error_kind": (str,),
    "stream": (str,),
    "text": (str,),
    "target_revision": (int,),
    "mode": (str,),
    "at": (int, float),
    "description": (str,),
    "details": (str,),
    "snapshot": (str, type(None)),
    "snapshot_mime_type": (str, type(None)),
}


def _check_field_types(entry: Entry, where: str, line: int) -> None:
    for name, value in vars(entry).items():
        expected = _EXPECTED_TYPES.get(name)
        if expected is None:
            continue
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in expected)
            raise OplogError(
                f"{where}:{line}: `{entry.kind}` field `{name}` must be {names}, got {value!r}",
                where,
                line,
            )


@dataclass
class Oplog:
    """A worker's history in memory: a header and the ordered entries."""

    header: OplogHeader
    entries: list[Entry] = field(default_factory=list)

    def append(self, entry: Entry) -> int:
        """Append an entry; return its index."""
        self.entries.append(entry)
        return len(self.entries) - 1

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the oplog to ``path`` atomically (a crash never leaves a half-written file)."""
        write_oplog(path, self.header, self.entries)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Oplog:
        """Read a whole oplog file into memory (use :func:`read_oplog` to stream)."""
        header, entries = read_oplog(path)
        return cls(header, list(entries))

    def to_jsonl(self) -> str:
        """The file content as text."""
        lines = [json.dumps(self.header.as_dict(), ensure_ascii=False)]
        lines.extend(json.dumps(entry_to_dict(e), ensure_ascii=False) for e in self.entries)
        return "\n".join(lines) + "\n"


def write_oplog(
    path: str | os.PathLike[str], header: OplogHeader, entries: Iterable[Entry]
) -> None:
    """Stream ``entries`` to ``path`` via a temporary file renamed into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            _write_lines(out, header, entries)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_lines(out: TextIO, header: OplogHeader, entries: Iterable[Entry]) -> None:
    dumps = json.dumps
    out.write(dumps(header.as_dict(), ensure_ascii=False) + "\n")
    for entry in entries:
        out.write(dumps(entry_to_dict(entry), ensure_ascii=False) + "\n")


def read_oplog(path: str | os.PathLike[str]) -> tuple[OplogHeader, Iterator[Entry]]:
    """Open an oplog file: return its header and a lazy iterator over its entries.

    The header is checked at once; entries are parsed as the iterator advances, and a malformed
    line raises :class:`OplogError` with its 1-based line number.
    """
    where = str(path)
    try:
        handle = open(path, "rb")  # decoded line by line, so a bad byte gets its line number
    except FileNotFoundError:
        raise OplogError(f"{where}: no such oplog file", where) from None
    except IsADirectoryError:
        raise OplogError(f"{where}: is a directory, not an oplog file", where) from None
    except OSError as error:
        raise OplogError(f"{where}: cannot read: {error.strerror}", where) from None
    try:
        first = _decode(handle.readline(), where, 1)
        header = _parse_header(first, where)
    except BaseException:
        handle.close()
        raise
    return header, _iter_entries(handle, where)


def oplog_component(path: str | os.PathLike[str]) -> str:
    """The component an oplog file's header names, or ``""`` when the file cannot be read (a
    full read with :func:`read_oplog` reports why)."""
    try:
        with open(path, encoding="utf-8") as handle:
            header = json.loads(handle.readline())
        return str(header.get("component", "")) if isinstance(header, dict) else ""
    except (OSError, ValueError):
        return ""


def _parse_header(line: str, where: str) -> OplogHeader:
    if not line.strip():
        raise OplogError(f"{where}:1: empty oplog file (expected a header line)", where, 1)
    data = _parse_json(line, where, 1)
    if not isinstance(data, dict) or "oplog" not in data:
        raise OplogError(
            f'{where}:1: not an oplog header (expected {{"oplog": {OPLOG_FORMAT_VERSION}, ...}})',
            where,
            1,
        )
    version = data["oplog"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise OplogError(f"{where}:1: oplog format version must be an integer", where, 1)
    if version > OPLOG_FORMAT_VERSION:
        raise OplogError(
            f"{where}:1: oplog format version {version} is newer than this pytest-hotupdate "
            f"understands ({OPLOG_FORMAT_VERSION}); upgrade pytest-hotupdate",
            where,
            1,
        )
    if version < 1:
        raise OplogError(f"{where}:1: unknown oplog format version {version}", where, 1)
    component, revision = data.get("component"), data.get("revision")
    if not isinstance(component, str) or not isinstance(revision, int) or isinstance(revision, bool):
        raise OplogError(
            f"{where}:1: header needs `component` (string) and `revision` (integer)", where, 1
        )
    worker = data.get("worker", "")
    return OplogHeader(component, revision, worker if isinstance(worker, str) else "")


def _parse_json(line: str, where: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise OplogError(
            f"{where}:{number}: malformed JSON at column {error.colno}: {error.msg}", where, number
        ) from None


def _decode(raw: bytes, where: str, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise OplogError(
            f"{where}:{number}: not UTF-8 text (byte {raw[error.start]:#04x} at column "
            f"{error.start + 1})",
            where,
            number,
        ) from None


def _iter_entries(handle: BinaryIO, where: str) -> Iterator[Entry]:
    with handle:
        for number, raw in enumerate(handle, start=2):
            line = _decode(raw, where, number).rstrip("\r\n")
            if not line.strip():
                continue
            yield entry_from_dict(_parse_json(line, where, number), where, number)
