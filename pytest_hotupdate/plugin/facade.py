"""The ``hotupdate`` fixture's object: :class:`HotUpdate`, a per-test component registry that
deploys the suite's configured revisions on first use, replays recorded histories, and saves
and closes its workers after the test.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from .settings import HotUpdateConfig
from .summary import UpdateSummary, summarize_updates

if TYPE_CHECKING:
    from ..assertions import HistoryReplay
    from ..component import LoadedComponent
    from ..engine import Runtime
    from ..registry import Registry, WorkerOptions
    from ..worker import Worker
    from .paths import UpdatePath

__all__ = ["OPLOG_SUFFIX", "HotUpdate", "safe_name"]

#: File name suffix of recorded oplogs (what ``--hotupdate-replay`` looks for).
OPLOG_SUFFIX = ".oplog.jsonl"


class HotUpdate:
    """The ``hotupdate`` fixture: a per-test component registry.

    Deploy revisions and create workers as with
    :class:`~pytest_hotupdate.registry.Registry`; revisions named once for the suite
    (``--hotupdate-component``, ``hotupdate_components``, ``--hotupdate-baseline``) are deployed
    on first use of the component's name, and under ``@pytest.mark.hotupdate`` the marked
    component's revisions are deployed before the test starts.

    Args:
        runtime: the engine and compile cache (the fixture passes the session's).
        config: the suite's settings (default: none).
        path: the update path of a marked test, or None.
    """

    def __init__(self, runtime: Runtime | None = None, config: HotUpdateConfig | None = None,
                 path: UpdatePath | None = None) -> None:
        from ..registry import Registry

        self.registry: Registry = Registry(runtime)
        self.config = config if config is not None else HotUpdateConfig()
        self.path = path
        if path is not None:
            self._ensure(path.component)

    # -- Registry -------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        """The engine and compiled-component cache (shared by the whole session)."""
        return self.registry.runtime

    def add(self, name: str, source: str | Path | bytes) -> int:
        """Deploy a new revision of component ``name``; return its revision number."""
        return self.registry.add(name, source)

    def deploy(self, name: str, *sources: str | Path | bytes) -> list[int]:
        """Deploy ``sources`` (default: the configured revisions of ``name``) as new revisions
        of ``name``, in order; return their revision numbers."""
        files = sources or self.paths(name)
        if not files:
            from ..errors import RegistryError

            raise RegistryError(f"no revisions configured for component {name!r} "
                                f"(configured: {', '.join(self.config.components) or 'none'})")
        return [self.registry.add(name, f) for f in files]

    def worker(self, component: str, name: str | None = None, revision: int | None = None,
               env: Mapping[str, str] | None = None, **options: Unpack[WorkerOptions]) -> Worker:
        """Create a worker (see :meth:`Registry.worker`: the same arguments, its keyword-only
        options passed on as they are); it is closed after the test."""
        self._ensure(component)
        return self.registry.worker(component, name, revision, env, **options)

    def revisions(self, name: str) -> list[int]:
        """Revision numbers of component ``name``."""
        self._ensure(name)
        return self.registry.revisions(name)

    def latest_revision(self, name: str) -> int:
        """The newest revision number of component ``name``."""
        self._ensure(name)
        return self.registry.latest_revision(name)

    def component(self, name: str, revision: int | None = None) -> LoadedComponent:
        """The loaded component of ``name`` at ``revision`` (default: latest)."""
        self._ensure(name)
        return self.registry.component(name, revision)

    @property
    def workers(self) -> list[Worker]:
        """The workers created so far, in creation order."""
        return self.registry.workers

    # -- suite settings ---------------------------------------------------------------------

    def paths(self, name: str) -> tuple[Path, ...]:
        """The revision files of ``name``: the marked path's, else the configured ones."""
        if self.path is not None and self.path.component == name:
            return self.path.revisions
        return self.config.revisions(name)

    def baseline(self, name: str) -> Path | None:
        """The last published revision of ``name`` (``--hotupdate-baseline``), or None."""
        return self.config.baselines.get(name)

    # -- recorded histories ---------------------------------------------------------------

    def replay_histories(self, histories: str | Path | Iterable[str | Path],
                         against: str | Path | Mapping[str, str | Path]
                         ) -> list[HistoryReplay]:
        """Replay recorded histories (files or directories of ``*.oplog.jsonl``) on a
        candidate revision; see :func:`pytest_hotupdate.assertions.replay_histories`."""
        from ..assertions import replay_histories

        return replay_histories(histories, against, runtime=self.runtime)

    def assert_histories_replay(self, histories: str | Path | Iterable[str | Path],
                                against: str | Path | Mapping[str, str | Path]
                                ) -> list[HistoryReplay]:
        """Like :meth:`replay_histories`, failing the test with every first divergence."""
        __tracebackhide__ = True
        from ..assertions import assert_histories_replay

        return assert_histories_replay(histories, against, runtime=self.runtime)

    # -- teardown -----------------------------------------------------------------------------

    def updates(self) -> list[UpdateSummary]:
        """Every update the workers of this registry went through."""
        return [s for w in self.workers for s in summarize_updates(w)]

    def save_oplogs(self, directory: str | Path) -> list[Path]:
        """Save every worker's oplog as ``directory/<worker>.oplog.jsonl``; return the paths."""
        saved = []
        for worker in self.workers:
            path = Path(directory) / f"{safe_name(worker.name)}{OPLOG_SUFFIX}"
            worker.save_oplog(path)
            saved.append(path)
        return saved

    def close(self) -> None:
        """Close the workers (:meth:`Worker.close`: threads, Stores, open files)."""
        for worker in self.workers:
            worker.close()

    def _ensure(self, name: str) -> None:
        if not self.registry.has_revision(name, 0):
            files = self.paths(name)
            if files:
                self.deploy(name, *files)


def safe_name(text: str) -> str:
    """A file name for a test id or worker name (readable; hashed suffix when shortened)."""
    name = re.sub(r"[^\w.\-\[\]=+]+", "_", text.replace("::", "__")).strip("._") or "_"
    if len(name) > 120:
        name = f"{name[:100]}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return name
