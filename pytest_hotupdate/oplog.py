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

Files are read as a stream (never loaded whole) and written atomically and durably (temporary
file, fsync, rename: :mod:`pytest_hotupdate.atomic`).

Reading validates each line and the file's structure while streaming; the first problem raises
one :class:`~pytest_hotupdate.errors.OplogError` naming the file and line:

- the header: a JSON object with ``oplog`` (a supported version), ``component`` (a non-empty
  string) and ``revision`` (an integer >= 0); with ``expect_component``, it must name that one;
- every line is JSON that Python can read (integers within ``sys.get_int_max_str_digits()``
  digits, nesting within the recursion limit; WAVE values are strings, so real entries nest
  two levels), with only the fields the file format defines (never the in-memory ``native``
  caches) and ``snapshot`` in valid base64;
- ``completed``/``failed`` close the open invocation (one outcome per invocation); an
  ``invocation`` never starts while another has no outcome; a ``host-call`` is inside an
  invocation, or before the first one (made while the worker was instantiated);
- a ``successful-update`` answers a ``pending-update`` to the same revision and mode (a manual
  one carrying a snapshot); a ``pending-update`` targets another revision than the current one;
  a ``failed-update`` may stand alone (a manual update fails before its request when the old
  revision cannot save a snapshot).

A file may end inside an invocation (the worker was saved while the invocation ran); readers
that need every outcome, such as :func:`pytest_hotupdate.update.replay_history`, report it.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, ClassVar

from .atomic import atomic_writer
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
class _UpdateEntry:
    """The fields every update record starts with: the revision, the mode and the time."""

    target_revision: int
    mode: str
    at: float


@dataclass(frozen=True)
class PendingUpdate(_UpdateEntry):
    """An update was requested; for a manual update, ``snapshot`` holds the saved state
    (base64) and ``snapshot_mime_type`` its MIME type."""

    kind: ClassVar[str] = "pending-update"
    description: str = ""
    snapshot: str | None = None
    snapshot_mime_type: str | None = None


@dataclass(frozen=True)
class _UpdateOutcome(_UpdateEntry):
    """An update record that ends an update; ``details`` says how."""

    details: str = ""


@dataclass(frozen=True)
class SuccessfulUpdate(_UpdateOutcome):
    """The worker now runs ``target_revision``."""

    kind: ClassVar[str] = "successful-update"


@dataclass(frozen=True)
class FailedUpdate(_UpdateOutcome):
    """An update failed; the worker stayed on its revision. ``details`` says why."""

    kind: ClassVar[str] = "failed-update"


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
    if "native" in fields:  # an in-memory cache, never written: a file must not inject one
        raise OplogError(
            f"{where}:{line}: bad `{kind}` entry: unexpected field `native` (not part of the "
            "file format)", where, line)
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
    if isinstance(entry, PendingUpdate) and entry.snapshot is not None:
        # Checked without decoding: snapshots may be hundreds of MiB.
        if len(entry.snapshot) % 4 or not _BASE64.fullmatch(entry.snapshot):
            raise OplogError(
                f"{where}:{line}: `pending-update` field `snapshot` is not valid base64",
                where, line) from None
    if isinstance(entry, _UpdateEntry) and entry.target_revision < 0:
        raise OplogError(
            f"{where}:{line}: `{entry.kind}` field `target_revision` must be >= 0, got "
            f"{entry.target_revision}", where, line)
    return entry


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")

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
    """Stream ``entries`` to ``path`` atomically and durably (see :mod:`pytest_hotupdate.atomic`:
    temporary file, fsync, rename; temporaries of killed writers are removed)."""
    with atomic_writer(path, text=True) as out:
        _write_lines(out, header, entries)


def _write_lines(out: IO[str], header: OplogHeader, entries: Iterable[Entry]) -> None:
    dumps = json.dumps
    out.write(dumps(header.as_dict(), ensure_ascii=False) + "\n")
    for entry in entries:
        out.write(dumps(entry_to_dict(entry), ensure_ascii=False) + "\n")


def read_oplog(
    path: str | os.PathLike[str], *, expect_component: str | None = None
) -> tuple[OplogHeader, Iterator[Entry]]:
    """Open an oplog file: return its header and a lazy iterator over its entries.

    The header is checked at once (with ``expect_component``, it must name that component);
    entries are parsed and their structure validated as the iterator advances (see the module
    docstring), and the first problem raises :class:`OplogError` with its 1-based line number.
    """
    handle, header = _open(path)
    where = str(path)
    if expect_component is not None and header.component != expect_component:
        handle.close()
        raise OplogError(
            f"{where}:1: a history of component {header.component!r}, not of "
            f"{expect_component!r}", where, 1)
    return header, _iter_entries(handle, where, header)


def read_header(path: str | os.PathLike[str]) -> OplogHeader:
    """Only the header of an oplog file (checked as :func:`read_oplog` does)."""
    handle, header = _open(path)
    handle.close()
    return header


#: Longest header line read (a header is about 100 bytes; this bounds reading a file that is
#: not an oplog at all).
MAX_HEADER_BYTES = 64 * 1024


def _open(path: str | os.PathLike[str]) -> tuple[BinaryIO, OplogHeader]:
    where = str(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            raise OplogError(f"{where}: not a regular file", where)  # a FIFO would block
        handle = open(path, "rb")  # decoded line by line, so a bad byte gets its line number
    except FileNotFoundError:
        raise OplogError(f"{where}: no such oplog file", where) from None
    except IsADirectoryError:
        raise OplogError(f"{where}: is a directory, not an oplog file", where) from None
    except OSError as error:
        raise OplogError(f"{where}: cannot read: {error.strerror}", where) from None
    try:
        first = handle.readline(MAX_HEADER_BYTES + 1)
        if len(first) > MAX_HEADER_BYTES:
            raise OplogError(f"{where}:1: header line longer than {MAX_HEADER_BYTES} bytes: "
                             "not an oplog file", where, 1)
        return handle, _parse_header(_decode(first, where, 1), where)
    except BaseException:
        handle.close()
        raise


def oplog_component(path: str | os.PathLike[str]) -> str:
    """The component an oplog file's header names; :class:`OplogError` (with the line) when
    the header cannot be read."""
    return read_header(path).component


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
    if not component.strip():
        raise OplogError(f"{where}:1: header `component` is empty", where, 1)
    if revision < 0:
        raise OplogError(f"{where}:1: header `revision` must be >= 0, got {revision}", where, 1)
    worker = data.get("worker", "")
    return OplogHeader(component, revision, worker if isinstance(worker, str) else "")


def _parse_json(line: str, where: str, number: int) -> Any:
    if line.startswith("\ufeff"):
        raise OplogError(
            f"{where}:{number}: starts with a byte-order mark (U+FEFF); oplog files are UTF-8 "
            "without one", where, number)
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise OplogError(
            f"{where}:{number}: malformed JSON at column {error.colno}: {error.msg}", where, number
        ) from None
    except RecursionError:
        raise OplogError(
            f"{where}:{number}: JSON nested too deeply to read (limit: Python's recursion "
            f"limit, {sys.getrecursionlimit()})", where, number) from None
    except ValueError as error:  # an integer beyond Python's conversion limit
        reason = " ".join(str(error).split(";")[0].split())
        raise OplogError(f"{where}:{number}: unreadable JSON value: {reason}", where,
                         number) from None


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


def _iter_entries(handle: BinaryIO, where: str, header: OplogHeader) -> Iterator[Entry]:
    structure = _Structure(where, header.revision)
    with handle:
        for number, raw in enumerate(handle, start=2):
            line = _decode(raw, where, number).rstrip("\r\n")
            if not line.strip():
                continue
            entry = entry_from_dict(_parse_json(line, where, number), where, number)
            structure.check(entry, number)
            yield entry


class _Structure:
    """The structural rules of the module docstring, checked one entry at a time."""

    def __init__(self, where: str, revision: int) -> None:
        self.where = where
        self.revision = revision
        self.open: int | None = None  # line of the invocation without an outcome yet
        self.closed: tuple[int, int] | None = None  # (invocation line, outcome line), last one
        self.pending: dict[tuple[int, str], bool] = {}  # (target, mode) -> carries a snapshot

    def fail(self, number: int, message: str) -> OplogError:
        return OplogError(f"{self.where}:{number}: {message}", self.where, number)

    def check(self, entry: Entry, number: int) -> None:
        if isinstance(entry, Invocation):
            if self.open is not None:
                raise self.fail(number, f"invocation starts while the invocation of line "
                                        f"{self.open} has no outcome (completed or failed)")
            self.open = number
        elif isinstance(entry, (Completed, Failed)):
            if self.open is None:
                if self.closed is not None:
                    raise self.fail(number, f"`{entry.kind}` without an invocation: the "
                                            f"invocation of line {self.closed[0]} already "
                                            f"ended at line {self.closed[1]}")
                raise self.fail(number, f"`{entry.kind}` without an invocation")
            self.closed, self.open = (self.open, number), None
        elif isinstance(entry, HostCall):
            if self.open is None and self.closed is not None:
                raise self.fail(number, f"host call {entry.function} outside any invocation "
                                        f"(after the invocation of line {self.closed[0]} "
                                        "ended)")
        elif isinstance(entry, PendingUpdate):
            if entry.target_revision == self.revision:
                raise self.fail(number, f"pending-update to revision {entry.target_revision}, "
                                        "the revision the worker already runs")
            self.pending[(entry.target_revision, entry.mode)] = entry.snapshot is not None
        elif isinstance(entry, SuccessfulUpdate):
            key = (entry.target_revision, entry.mode)
            if key not in self.pending:
                raise self.fail(number, f"successful-update to revision {entry.target_revision} "
                                        f"({entry.mode}) answers no pending-update")
            if entry.mode == "manual" and not self.pending[key]:
                raise self.fail(number, f"successful manual update to revision "
                                        f"{entry.target_revision}: its pending-update carries "
                                        "no snapshot")
            del self.pending[key]
            self.revision = entry.target_revision
        elif isinstance(entry, FailedUpdate):
            self.pending.pop((entry.target_revision, entry.mode), None)
