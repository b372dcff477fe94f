"""What the plugin reports: each worker's updates as :class:`UpdateSummary` rows (JUnit XML
properties, parsed back under pytest-xdist), the oplog sections of failure reports, and the
terminal summary's tables of updates, recorded oplogs and replayed histories.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from .replay_items import REPLAY_COLLECTOR, REPLAY_PROPERTY
from .settings import session_state

if TYPE_CHECKING:
    from ..worker import Worker

__all__ = ["OPLOG_PROPERTY", "UPDATE_PROPERTY", "UpdateSummary", "oplog_section",
           "summarize_updates", "write_summary"]

#: JUnit XML property names (``<property name=... value=...>``): an update (its summary line),
#: a recorded oplog file.
UPDATE_PROPERTY = "hotupdate.update"
OPLOG_PROPERTY = "hotupdate.oplog"


@dataclass(frozen=True)
class UpdateSummary:
    """One update a worker went through, as the terminal summary and JUnit XML report it."""

    #: The component's name.
    component: str
    #: The worker's name.
    worker: str
    #: The revision the worker ran before the update.
    source: int
    #: The revision asked for.
    target: int
    #: ``automatic``, ``manual`` or ``swap``.
    mode: str
    #: Whether the worker runs ``target`` afterwards.
    succeeded: bool
    #: Time from the update request to its outcome.
    seconds: float
    #: Golem's failure details (empty on success).
    details: str = ""
    #: The test that performed it (filled in by the summary).
    nodeid: str = ""

    @property
    def outcome(self) -> str:
        """``succeeded`` or ``failed``."""
        return "succeeded" if self.succeeded else "failed"

    def as_property(self) -> str:
        """The JUnit XML property value: one readable line (parsed back by :meth:`parse`)."""
        text = (f"{self.component} {self.source} -> {self.target} {self.mode} {self.outcome} "
                f"in {self.seconds * 1e3:.3f} ms (worker {self.worker})")
        return f"{text}: {self.details}" if self.details else text

    @classmethod
    def parse(cls, value: str, nodeid: str = "") -> UpdateSummary | None:
        """Read back :meth:`as_property` (None if it is not one)."""
        match = _PROPERTY.match(value)
        if match is None:
            return None
        return cls(match["component"], match["worker"], int(match["source"]), int(match["target"]),
                   match["mode"], match["outcome"] == "succeeded", float(match["ms"]) / 1e3,
                   match["details"] or "", nodeid)


_PROPERTY = re.compile(
    r"(?P<component>.+?) (?P<source>\d+) -> (?P<target>-?\d+) (?P<mode>[\w-]+) "
    r"(?P<outcome>succeeded|failed) in (?P<ms>[\d.]+) ms \(worker (?P<worker>.*?)\)"
    r"(?:: (?P<details>.*))?\Z",
    re.DOTALL,
)


def summarize_updates(worker: Worker) -> list[UpdateSummary]:
    """The updates recorded in ``worker``'s oplog, oldest first, with their source revisions and
    durations (from the pending entry to the outcome entry)."""
    from ..history import resolved_updates  # loading the plugin does not load the runtime

    return [UpdateSummary(worker.component_name, worker.name, u.source, u.target, u.mode,
                          u.succeeded, u.seconds, u.details)
            for u in resolved_updates(worker.oplog.header, worker.oplog.entries)]


def oplog_section(worker: Worker, lines: int) -> tuple[str, str]:
    """The failure report section showing ``worker``'s oplog (its last ``lines`` entries)."""
    text = worker.oplog.to_jsonl().splitlines()
    header, entries = text[:1], text[1:]
    if len(entries) > lines:
        omitted = len(entries) - lines
        entries = [f"... {omitted} earlier entries omitted (hotupdate_oplog_lines = {lines})"] + \
            entries[-lines:]
    title = (f"hotupdate oplog: worker {worker.name} ({worker.component_name}, "
             f"revision {worker.component_revision})")
    return title, "\n".join(header + entries) + "\n"


def _reports(terminalreporter: Any) -> Iterator[pytest.TestReport]:
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport):
                yield report


def _replay_outcome(report: pytest.TestReport) -> str:
    """DIVERGED, UNREADABLE or UNVERIFIED, from the replay item's recorded property
    (``<history> on <candidate>: <outcome>``)."""
    for name, value in report.user_properties:
        if name == REPLAY_PROPERTY and isinstance(value, str):
            if value.endswith(": unreadable"):
                return "UNREADABLE"
            if ": unverified: " in value and ": diverged: " not in value:
                return "UNVERIFIED"
    return "DIVERGED"


def _collect(terminalreporter: Any) -> tuple[list[UpdateSummary], list[str],
                                             list[pytest.TestReport]]:
    # Under pytest-xdist the reports (and their user_properties) come from the workers.
    updates, recorded, replays = [], [], []
    for report in _reports(terminalreporter):
        if report.nodeid.startswith(f"{REPLAY_COLLECTOR}::"):
            if report.when == "call" or (report.when == "setup" and not report.passed):
                replays.append(report)
            continue
        if report.when != "teardown":
            continue
        for name, value in report.user_properties:
            if name == UPDATE_PROPERTY:
                summary = UpdateSummary.parse(str(value), report.nodeid)
                if summary is not None:
                    updates.append(summary)
            elif name == OPLOG_PROPERTY:
                recorded.append(str(value))
    return updates, recorded, replays


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                      for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


def write_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Write the ``hot updates`` section of the terminal summary (nothing if there is nothing
    to report)."""
    updates, recorded, replays = _collect(terminalreporter)
    settings = session_state(config).settings
    if not (updates or recorded or replays):
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", "hot updates")
    if updates:
        verbose = config.get_verbosity() > 0
        header = ["component", "from -> to", "mode", "outcome", "updates", "time"]
        rows: list[list[str]] = []
        if verbose:
            header = ["test", "worker"] + header[:4] + ["time"]
            for u in sorted(updates, key=lambda u: u.nodeid):  # stable: per test in order
                rows.append([u.nodeid, u.worker, u.component, f"{u.source} -> {u.target}",
                             u.mode, u.outcome, _ms(u.seconds)])
        else:
            groups: dict[tuple[str, int, int, str, str], list[UpdateSummary]] = {}
            for u in updates:
                groups.setdefault((u.component, u.source, u.target, u.mode, u.outcome),
                                  []).append(u)
            for (component, source, target, mode, outcome), members in sorted(groups.items()):
                rows.append([component, f"{source} -> {target}", mode, outcome,
                             str(len(members)), _ms(sum(m.seconds for m in members))])
        for line in _table([header, *rows], right=() if verbose else (4, 5)):
            write(line)
        failed = sum(1 for u in updates if not u.succeeded)
        tests = len({u.nodeid for u in updates})
        write(f"{len(updates)} update(s) in {tests} test(s): {len(updates) - failed} "
              f"succeeded, {failed} failed")
    if recorded:
        write(f"recorded {len(recorded)} worker oplog(s) in {settings.record_dir}")
    if replays:
        failures = [(r, _replay_outcome(r)) for r in replays if r.failed]
        skipped = sum(1 for r in replays if r.skipped)
        against = ", ".join(f"{k + '=' if k else ''}{v}" for k, v in settings.against.items())
        text = (f"replayed {len(replays) - skipped} recorded histor"
                f"{'y' if len(replays) - skipped == 1 else 'ies'} from {settings.replay_dir} on "
                f"{against}: {sum(1 for _, o in failures if o == 'DIVERGED')} diverged")
        for outcome, why in (("UNREADABLE", "unreadable"), ("UNVERIFIED", "unverified")):
            count = sum(1 for _, o in failures if o == outcome)
            if count:
                text += f", {count} {why}"
        if skipped:
            text += f", {skipped} skipped (no candidate revision for their component)"
        write(text)
        for report, outcome in failures:
            write(f"  {outcome} {report.nodeid.removeprefix(f'{REPLAY_COLLECTOR}::')}")
