"""Component revisions and the workers created from them.

As on Golem, a component has revisions 0, 1, 2, ...; adding a revision never changes existing
workers, and new workers start on the latest revision.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

from .component import LoadedComponent
from .component.bulk import augment
from .component.shims import adapt
from .engine import Runtime
from .errors import RegistryError
from .history import UpdateOutcome
from .host import HostFunctions, SandboxGrants, config_items
from .update import revert, update
from .worker import Worker, WorkerLimits


class WorkerOptions(TypedDict, total=False):
    """The keyword-only options of :meth:`Registry.worker`, as one type, so that a wrapper
    (the ``hotupdate`` fixture's ``worker()``) passes them on as ``**options`` instead of
    restating them; a test checks that the keys are exactly :meth:`Registry.worker`'s keywords."""

    host_functions: Mapping[str, Callable[..., Any]] | None
    grants: SandboxGrants | None
    limits: WorkerLimits | None
    config: Mapping[str, str] | None
    trap_unknown_imports: bool


class Registry:
    """Holds component revisions and creates workers; it is the
    :class:`~pytest_hotupdate.durable.ControlPlane` its workers' host functions ask for updates
    and reverts.

    Args:
        runtime: the shared :class:`~pytest_hotupdate.worker.Runtime` (engine, compile cache);
            a new one is created if omitted.
        limits: default per-invocation limits for workers.
    """

    def __init__(self, runtime: Runtime | None = None, *, limits: WorkerLimits = WorkerLimits()):
        self.runtime = runtime if runtime is not None else Runtime()
        self.limits = limits
        self._revisions: dict[str, list[LoadedComponent]] = {}
        self._workers: dict[str, Worker] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, name: str, source: str | Path | bytes) -> int:
        """Deploy a new revision of component ``name``; return its revision number (0, 1, ...)."""
        loaded = self.runtime.load(adapt(augment(source)), name)
        with self._lock:
            revisions = self._revisions.setdefault(name, [])
            revisions.append(loaded)
            return len(revisions) - 1

    def revisions(self, name: str) -> list[int]:
        """Revision numbers of component ``name``."""
        return list(range(len(self._component_revisions(name))))

    def latest_revision(self, name: str) -> int:
        """The newest revision number of component ``name``."""
        return len(self._component_revisions(name)) - 1

    def component(self, name: str, revision: int | None = None) -> LoadedComponent:
        """The loaded component of ``name`` at ``revision`` (default: latest)."""
        revisions = self._component_revisions(name)
        if revision is None:
            return revisions[-1]
        if not isinstance(revision, int) or not 0 <= revision < len(revisions):
            raise RegistryError(
                f"component {name} has no revision {revision!r} "
                f"(revisions: 0..{len(revisions) - 1})"
            )
        return revisions[revision]

    def has_revision(self, name: str, revision: int) -> bool:
        """Whether ``revision`` of ``name`` exists."""
        return name in self._revisions and 0 <= revision < len(self._revisions[name])

    def worker(
        self,
        component: str,
        name: str | None = None,
        revision: int | None = None,
        env: Mapping[str, str] | None = None,
        *,
        host_functions: Mapping[str, Callable[..., Any]] | None = None,
        grants: SandboxGrants | None = None,
        limits: WorkerLimits | None = None,
        config: Mapping[str, str] | None = None,
        trap_unknown_imports: bool = False,
    ) -> Worker:
        """Create a worker of ``component`` (on the latest revision unless ``revision`` is given).

        Args:
            name: a unique worker name (default ``<component>-<n>``).
            env: environment variables the guest sees (recorded like every durable host call).
            host_functions: Python implementations of custom imports, keyed
                ``"pkg:ns/iface.{function}"``; their results are recorded and replayed.
            grants: sandbox grants (directories, HTTP, network); nothing by default.
            limits: per-invocation deadline and memory limit.
            config: configuration values the guest reads through ``wasi:config/store``.
            trap_unknown_imports: link imports that nothing provides to functions that fail
                the invocation calling them, instead of refusing the worker at creation.
        """
        rev = self.latest_revision(component) if revision is None else revision
        loaded = self.component(component, rev)
        if grants is None:
            grants = SandboxGrants()
        if env:
            grants = replace(grants, env=tuple(env.items()))
        if config is not None:
            grants = replace(grants, config=config_items(config))
        if trap_unknown_imports:
            grants = replace(grants, trap_unknown_imports=True)
        with self._lock:
            worker_name = name or f"{component}-{next(self._counter)}"
            if worker_name in self._workers:
                raise RegistryError(f"a worker named {worker_name!r} already exists")
            self._workers[worker_name] = None  # type: ignore[assignment]  # reserve the name
        try:
            worker = Worker(
                self.runtime,
                loaded,
                component_name=component,
                revision=rev,
                name=worker_name,
                host_functions=HostFunctions.from_mapping(host_functions),
                grants=grants,
                limits=limits or self.limits,
                revisions=functools.partial(self._lookup, component),
                registry=self,
            )
        except BaseException:
            with self._lock:
                del self._workers[worker_name]
            raise
        with self._lock:
            self._workers[worker_name] = worker
        return worker

    def get_worker(self, name: str) -> Worker:
        """The worker called ``name``."""
        worker = self._workers.get(name)
        if worker is None:
            raise RegistryError(f"no worker named {name!r}")
        return worker

    @property
    def workers(self) -> list[Worker]:
        """All workers created by this registry, in creation order."""
        return [w for w in self._workers.values() if w is not None]

    # -- the ControlPlane host functions use (see pytest_hotupdate.durable) ----------------

    def component_names(self) -> list[str]:
        """The names of the deployed components, sorted."""
        with self._lock:
            return sorted(self._revisions)

    def update_worker(self, worker: Worker, target_revision: int, mode: str = "automatic", *,
                      raise_on_failure: bool = False) -> UpdateOutcome:
        """Update ``worker`` (:func:`pytest_hotupdate.update.update`)."""
        return update(worker, target_revision, mode, raise_on_failure=raise_on_failure)

    def revert_worker(self, worker: Worker, *, to_index: int | None = None,
                      last_invocations: int | None = None) -> None:
        """Revert ``worker`` (:func:`pytest_hotupdate.update.revert`)."""
        revert(worker, to_index=to_index, last_invocations=last_invocations)

    def close(self) -> None:
        """Close every worker (:meth:`Worker.close`): their Stores, open files and stream
        directories are released; a worker used again is rebuilt from its oplog."""
        for worker in self.workers:
            worker.close()

    def _lookup(self, name: str, revision: int) -> LoadedComponent | None:
        revisions = self._revisions.get(name, [])
        return revisions[revision] if 0 <= revision < len(revisions) else None

    def _component_revisions(self, name: str) -> list[LoadedComponent]:
        revisions = self._revisions.get(name)
        if not revisions:
            known = ", ".join(sorted(self._revisions)) or "none"
            raise RegistryError(f"no component named {name!r} (deployed: {known})")
        return revisions
