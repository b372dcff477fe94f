"""Replay items: with ``--hotupdate-replay DIR --hotupdate-against NEW.wasm``, one test item
per recorded history, matched to its candidate revision, replaying it and failing with its first
divergence (or when it is unreadable or cannot be verified).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..errors import HistoryFailed
from .settings import session_state

__all__ = ["REPLAY_COLLECTOR", "REPLAY_PROPERTY", "HistoryReplayItem", "HistoryReplays",
           "add_replay_items"]

#: The JUnit XML property a replay item records: ``<history> on <candidate>: <outcome>``.
REPLAY_PROPERTY = "hotupdate.replay"

#: The name of the collector of the replay items (their node ids start ``hotupdate-replay::``).
REPLAY_COLLECTOR = "hotupdate-replay"


class HistoryReplayItem(pytest.Item):
    """One recorded history replayed on a candidate revision (``--hotupdate-replay``).

    It fails when the history diverges, cannot be read (``unreadable``: the file and line),
    or ends inside an invocation (its result cannot be verified); it is skipped only when no
    candidate was given for the component its header names."""

    def __init__(self, *, history: Path, against: Path | None, component: str,
                 unreadable: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.against = against
        self.component = component
        self.unreadable = unreadable
        self.add_marker("hotupdate_replay")

    def runtest(self) -> None:
        from ..errors import OplogError

        if self.unreadable is not None:
            self._record("unreadable")
            raise HistoryFailed(f"unreadable recorded history: {self.unreadable}")
        if self.against is None:
            pytest.skip(f"no --hotupdate-against revision for component {self.component!r}")
        from ..replayer import replay_history

        try:
            result = replay_history(self.against, self.history,
                                    runtime=session_state(self.config).runtime,
                                    expect_component=self.component)
        except OplogError as error:
            self._record("unreadable")
            raise HistoryFailed(f"unreadable recorded history: {error}") from None
        self._record("replayed" if result.ok else
                     f"diverged: {result.divergence}" if result.divergence is not None else
                     f"unverified: {result.unfinished}")
        where = f"recorded history {self.history} ({self.component}, {result.invocations} " \
                "invocation(s))"
        if result.divergence is not None:
            raise HistoryFailed(f"{where} diverges on {self.against}:\n  {result.divergence}")
        if not result.ok:
            raise HistoryFailed(f"{where} cannot verify {self.against}:\n  {result.unfinished}")

    def _record(self, outcome: str) -> None:
        self.user_properties.append(
            (REPLAY_PROPERTY, f"{self.history} on {self.against}: {outcome}"))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, HistoryFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.history, None, f"replay {self.name}"


class HistoryReplays(pytest.Collector):
    """The recorded histories of ``--hotupdate-replay``: one :class:`HistoryReplayItem` each,
    matched to its candidate by the component its header names
    (:func:`~pytest_hotupdate.assertions.match_histories`)."""

    def collect(self) -> list[HistoryReplayItem]:
        from ..assertions import history_files, match_histories
        from ..errors import HistoryMatchError

        settings = session_state(self.config).settings
        root = settings.replay_dir
        assert root is not None
        try:
            matches = match_histories(history_files(root), settings.against)
        except HistoryMatchError as error:
            raise pytest.UsageError(f"--hotupdate-against: {error}") from None
        items = []
        for match in matches:
            history = match.history
            name = history.relative_to(root).as_posix() if history != root else history.name
            items.append(HistoryReplayItem.from_parent(
                self, name=name, path=history, history=history, against=match.against,
                component=match.component, unreadable=match.error))
        return items


def add_replay_items(session: pytest.Session, config: pytest.Config,
                     items: list[pytest.Item]) -> None:
    """Append the replay items of ``--hotupdate-replay`` (if given) to the collected ``items``."""
    settings = session_state(config).settings
    if settings.replay_dir is None:
        return
    collector = HistoryReplays.from_parent(session, name=REPLAY_COLLECTOR,
                                           nodeid=REPLAY_COLLECTOR, path=settings.replay_dir)
    replays = collector.collect()
    # Reported like any collected node, so that "collected N items" counts them.
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(collector.nodeid, "passed", None, [*replays]))
    items.extend(replays)
