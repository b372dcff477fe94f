"""The library facade: :class:`Checker`.

::

    from checker.api import Checker

    report = Checker(host="golem", fail_on="warning").check(["v1.wasm", "v2.wasm", "v3.wasm"])
    report.exit_code          # 0 or 1, as the command line would exit
    report.pairs[0].automatic.value, report.pairs[0].manual.value

With more than two revisions every older one is checked against the newest (workers may be on
any of them), like a schema registry's transitive mode; ``chain=True`` checks each revision
against the next one instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .config import FAIL_ON_CHOICES, Config
from .diff import find_changes
from .errors import InputError, UsageError
from .findings import Finding
from .hosts import HOSTS, get_host
from .model import World
from .result import HistoryResult, PairResult, Report, Suppressed
from .rules import Severity
from .verdicts import automatic_verdict, manual_verdict

__all__ = ["HISTORY_UNAVAILABLE", "Checker", "check_histories", "history_files",
           "replay_histories"]

HISTORY_UNAVAILABLE = "--history needs pytest_hotupdate.update (not available)"
#: File name suffix of recorded histories (what a ``--history`` directory is searched for).
HISTORY_SUFFIX = ".oplog.jsonl"


def history_files(sources: Sequence[str | os.PathLike[str]]) -> tuple[str, ...]:
    """The ``--history`` arguments as files: a directory stands for the ``*.oplog.jsonl``
    files below it (recursively, sorted), as for the pytest plugin's ``--hotupdate-replay``.

    Raises:
        InputError: a missing path, or a directory without histories.
    """
    files: list[str] = []
    for source in sources:
        p = Path(source)
        if p.is_dir():
            found = sorted(p.rglob(f"*{HISTORY_SUFFIX}"))
            if not found:
                raise InputError(os.fspath(source), f"no *{HISTORY_SUFFIX} histories in this "
                                                    "directory")
            files.extend(os.fspath(f) for f in found)
        elif p.is_file():
            files.append(os.fspath(source))
        else:
            raise InputError(os.fspath(source), "no such file")
    return tuple(files)


def check_histories(oplogs: Sequence[str], worlds: Sequence[World]) -> None:
    """Read every history once (streamed; its structure validated) and refuse the ones that
    are not of the compared component: all of them must name one component in their header,
    and each must invoke at least one function that one of ``worlds`` exports (a history of
    another component shares none).

    Raises:
        UsageError: the runtime's oplog module is not available.
        InputError: an unreadable history, or one of another component (one line).
    """
    try:
        from pytest_hotupdate.errors import OplogError
        from pytest_hotupdate.oplog import Invocation, read_oplog
    except ImportError:
        raise UsageError(HISTORY_UNAVAILABLE) from None
    exported = {_export_name(i.id, f.golem_name) for w in worlds for i in w.exports
                for f in i.functions}
    first: tuple[str, str] | None = None
    for oplog in oplogs:
        invoked: set[str] = set()
        try:
            header, entries = read_oplog(oplog)
            for entry in entries:
                if isinstance(entry, Invocation):
                    invoked.add(_unversioned(entry.function))
        except OplogError as exc:
            raise InputError(oplog, f"cannot replay: {_oplog_reason(exc, oplog)}") from None
        if first is None:
            first = (oplog, header.component)
        elif header.component != first[1]:
            raise InputError(
                oplog, f"a history of component {header.component!r}, but {first[0]} is of "
                       f"{first[1]!r}: the histories replayed on one revision must all be of "
                       "its component")
        if invoked and not invoked & exported:
            names = ", ".join(sorted(invoked)[:3]) + (", ..." if len(invoked) > 3 else "")
            sources = ", ".join(dict.fromkeys(w.source for w in worlds))
            raise InputError(
                oplog, f"not a history of the compared component (its header names "
                       f"{header.component!r}): none of the functions it invokes ({names}) is "
                       f"exported by {sources}")


def _export_name(interface: str, item: str) -> str:
    """The oplog's name of an exported function: ``golem:counter/api.{increment}``."""
    return f"{interface}.{{{item}}}" if interface else f"{{{item}}}"


def _unversioned(function: str) -> str:
    interface, dot, item = function.partition(".{")
    return interface.split("@", 1)[0] + dot + item if dot else function


def _oplog_reason(exc: Exception, path: str) -> str:
    """The runtime's one-line oplog error without the file name the report already gives:
    ``line 3: ...``."""
    message = " ".join(str(exc).split())
    if message.startswith(f"{path}:"):
        rest = message[len(path) + 1:].lstrip()
        line = getattr(exc, "line", 0)
        if line and rest.startswith(f"{line}:"):
            return f"line {rest}"
        return rest
    return message


def replay_histories(
    component: str | os.PathLike[str], oplogs: Sequence[str | os.PathLike[str]]
) -> tuple[HistoryResult, ...]:
    """Replay each recorded history on ``component`` with the runtime (imported only here).

    Raises:
        UsageError: the runtime's update module is not available.
        InputError: an oplog that is missing or that the runtime cannot read, or one that ends
            inside an invocation (its result cannot be verified).
    """
    for oplog in oplogs:
        p = Path(oplog)
        if not p.is_file():
            reason = "is a directory, not an oplog file" if p.is_dir() else "no such file"
            raise InputError(os.fspath(oplog), reason)
    try:
        from pytest_hotupdate.errors import HotUpdateError
        from pytest_hotupdate.update import replay_history  # the documented name
    except ImportError:
        raise UsageError(HISTORY_UNAVAILABLE) from None
    out = []
    for oplog in oplogs:
        path = os.fspath(oplog)
        try:
            result = replay_history(Path(component), Path(oplog))
        except HotUpdateError as exc:  # the runtime's errors carry the file and why
            raise InputError(path, f"cannot replay: {_oplog_reason(exc, path)}") from None
        except Exception as exc:  # noqa: BLE001 - never a traceback, and never a bare "0"
            message = " ".join(str(exc).split())
            raise InputError(path, f"cannot replay: {type(exc).__name__}"
                                   + (f": {message}" if message else "")) from None
        unfinished = getattr(result, "unfinished", None)
        if unfinished:
            raise InputError(path, f"cannot verify: {unfinished}")
        out.append(HistoryResult(path, bool(result.ok), result.divergence,
                                 int(result.invocations)))
    return tuple(out)


class Checker:
    """Checks revisions of a component against each other.

    Args:
        host: host profile for import checks (``golem``, ``wasmcloud``, ``wasi``); default:
            the configuration's, else ``golem``.
        fail_on: ``error``, ``warning``, ``info`` or ``never``; default: the configuration's,
            else ``error``.
        config: project configuration (severities, ignored rules and findings).
        world: for WIT inputs whose package has several worlds, the one to check.
        chain: check each revision against the next one instead of against the newest.
        histories: recorded oplogs to replay on the new revision, or directories of
            ``*.oplog.jsonl`` (``--history``); each must be of the compared component
            (:func:`check_histories`).
    """

    def __init__(
        self,
        *,
        host: str | None = None,
        fail_on: str | None = None,
        config: Config | None = None,
        world: str | None = None,
        chain: bool = False,
        histories: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        self.config = config or Config()
        self.host = host or self.config.host or "golem"
        if self.host not in HOSTS:
            raise UsageError(f"unknown host {self.host!r} (hosts: {', '.join(HOSTS)})")
        fail = fail_on or self.config.fail_on or "error"
        if fail not in FAIL_ON_CHOICES:
            raise UsageError(f"unknown --fail-on value {fail!r}")
        self.fail_on: Severity | None = None if fail == "never" else Severity(fail)
        self.world = world
        self.chain = chain
        self.histories = tuple(histories)

    # -- pairs

    def pair_indexes(self, count: int) -> list[tuple[int, int]]:
        """Which (old, new) index pairs are checked among ``count`` revisions."""
        if count < 2:
            raise UsageError("give at least two revisions (old and new) to compare")
        if self.chain:
            return [(i, i + 1) for i in range(count - 1)]
        return [(i, count - 1) for i in range(count - 1)]

    # -- checking

    def check(self, paths: Sequence[str | os.PathLike[str]]) -> Report:
        """Read every revision (concurrently) and check the pairs; see the class docstring.

        Raises:
            CheckError: an unreadable input, a bad option, or a failed history replay.
        """
        from .wit import load_worlds

        indexes = self.pair_indexes(len(paths))
        worlds = load_worlds(list(paths), self.world)
        return self.check_worlds(worlds, indexes)

    def check_worlds(
        self, worlds: Sequence[World], indexes: Sequence[tuple[int, int]] | None = None
    ) -> Report:
        """Check already loaded worlds."""
        if indexes is None:
            indexes = self.pair_indexes(len(worlds))
        replayed: dict[int, tuple[HistoryResult, ...]] = {}
        oplogs: tuple[str, ...] = ()
        if self.histories:
            oplogs = history_files(self.histories)
            check_histories(oplogs, worlds)
        pairs = []
        for old_i, new_i in indexes:
            histories: tuple[HistoryResult, ...] = ()
            if self.histories:
                if new_i not in replayed:
                    replayed[new_i] = replay_histories(worlds[new_i].source, oplogs)
                histories = replayed[new_i]
            pairs.append(self.compare(worlds[old_i], worlds[new_i], histories))
        from . import version

        return Report(tuple(pairs), self.host, self.fail_on, version())

    def compare(
        self, old: World, new: World, histories: Sequence[HistoryResult] = ()
    ) -> PairResult:
        """Check one pair: findings (configured), suppressions and both verdicts."""
        active: list[Finding] = []
        suppressed: list[Suppressed] = []
        ignored = {i.fingerprint: i.reason for i in self.config.ignores}
        for finding in find_changes(old, new, get_host(self.host)):
            severity = self.config.severities.get(finding.rule_id)
            if severity is not None and severity is not finding.severity:
                finding = replace(finding, severity=severity)
            if finding.rule_id in self.config.ignore_rules:
                suppressed.append(Suppressed(finding, "rule ignored by configuration"))
            elif finding.fingerprint in ignored:
                suppressed.append(Suppressed(finding, ignored[finding.fingerprint]))
            else:
                active.append(finding)
        skipped = tuple(dict.fromkeys(old.skipped + new.skipped))
        return PairResult(
            old=old.source,
            new=new.source,
            automatic=automatic_verdict(active, histories),
            manual=manual_verdict(old, new, active),
            findings=tuple(active),
            suppressed=tuple(suppressed),
            skipped=skipped,
        )
