"""pytest plugin entry point (``pytest11: hotupdate``).

What it adds to a test session, in lifecycle order:

- options (``pytest --help``, group ``hotupdate``) and ini settings naming the component revisions
  of a suite, the last published baseline, recorded-history directories and the compile cache;
- the ``hotupdate`` marker, which parametrises a test over update paths (older revision -> newer
  revision x update mode), and ``hotupdate_replay``, carried by the recorded-history replay items
  that ``--hotupdate-replay DIR --hotupdate-against NEW.wasm`` adds to the run;
- fixtures: ``hotupdate_runtime`` (session: one engine and compiled-component cache),
  ``hotupdate_config`` (session: the suite's settings), ``hotupdate_path`` (the update path of a
  marked test) and ``hotupdate`` (per test: a :class:`HotUpdate` registry facade whose workers are
  torn down after the test, their oplogs attached to the failure report, saved with
  ``--hotupdate-record``, and their updates reported as JUnit XML properties);
- a terminal summary of the updates performed and of the recorded histories replayed.

This module holds the hooks and fixtures (pytest discovers them only here); the work is done in
``settings`` (options, ini values, session state), ``paths`` (the marker's update paths),
``replay_items`` (recorded-history replay items), ``facade`` (:class:`HotUpdate`) and ``summary``
(update summaries, failure-report sections, the terminal summary). Kept import-light: the
package imports only the standard library, pytest and the import-light ``errors``/``modes``; the
runtime (wasmtime) is imported when a fixture or replay item first needs it.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .facade import OPLOG_SUFFIX, HotUpdate
from .facade import safe_name as _safe_name
from .paths import UpdatePath, marker_paths
from .replay_items import REPLAY_PROPERTY, HistoryReplayItem, HistoryReplays, add_replay_items
from .settings import HotUpdateConfig, add_options, session_state, start_session
from .summary import (
    OPLOG_PROPERTY,
    UPDATE_PROPERTY,
    UpdateSummary,
    oplog_section,
    summarize_updates,
    write_summary,
)

if TYPE_CHECKING:
    from ..engine import Runtime

__all__ = [
    "OPLOG_PROPERTY",
    "OPLOG_SUFFIX",
    "REPLAY_PROPERTY",
    "UPDATE_PROPERTY",
    "HistoryReplayItem",
    "HistoryReplays",
    "HotUpdate",
    "HotUpdateConfig",
    "UpdatePath",
    "UpdateSummary",
    "summarize_updates",
]

#: The test's :class:`HotUpdate` (put by the ``hotupdate`` fixture, read by the failure report).
_FACADE = pytest.StashKey[HotUpdate]()


# --------------------------------------------------------------------------- hooks: options


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    _protect_wasmtime_signal_handlers(pluginmanager)
    add_options(parser)


def _protect_wasmtime_signal_handlers(pluginmanager: pytest.PytestPluginManager) -> None:
    """In a pytest session started inside a process that already runs wasm (an in-process
    ``pytester`` run, ``pytest.main`` from a script), keep pytest's faulthandler plugin out.

    Its teardown calls ``faulthandler.disable()``, which puts back the signal handlers saved
    before wasmtime installed its own; the process's next wasm trap (a SIGILL or SIGSEGV that
    wasmtime would have turned into an error) then kills it. Outer sessions, where the plugin is
    loaded before wasmtime is imported, keep faulthandler.
    """
    if "wasmtime" in sys.modules and pluginmanager.has_plugin("faulthandler"):
        pluginmanager.set_blocked("faulthandler")


# --------------------------------------------------------------------------- hooks: configure


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "hotupdate(component=None, *, paths='to-latest', modes=None, revisions=None): run the "
        "test once per update path of the component (older revision -> newer revision, per "
        "mode); the test reads it from hotupdate.path. paths: 'to-latest', 'adjacent', 'all' "
        "or a list of (source, target) revision pairs.")
    config.addinivalue_line(
        "markers", "hotupdate_replay: a recorded history replayed on a candidate revision "
                   "(added by --hotupdate-replay).")
    start_session(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = session_state(config).settings
    if not settings.configured:
        return []
    lines = []
    for name, paths in settings.components.items():
        baseline = settings.baselines.get(name)
        note = f", baseline {baseline.name}" if baseline else ""
        lines.append(f"hotupdate: {name}: {len(paths)} revisions "
                     f"({', '.join(p.name for p in paths)}{note})")
    if settings.record_dir:
        lines.append(f"hotupdate: recording oplogs in {settings.record_dir}")
    if settings.replay_dir:
        against = ", ".join(f"{k or '*'}={v.name}" for k, v in settings.against.items())
        lines.append(f"hotupdate: replaying {settings.replay_dir} against {against}")
    return lines


# --------------------------------------------------------------------------- hooks: collection


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("hotupdate")
    if marker is None:
        return
    if "hotupdate_path" not in metafunc.fixturenames:
        pytest.fail(f"@pytest.mark.hotupdate on {metafunc.definition.nodeid}: the test must use "
                    "the `hotupdate` fixture (or `hotupdate_path`)", pytrace=False)
    paths = marker_paths(metafunc, marker, session_state(metafunc.config).settings)
    metafunc.parametrize("hotupdate_path", paths, indirect=True, ids=[p.id for p in paths])


@pytest.hookimpl(tryfirst=True)  # before -m / -k deselect, so that they apply to these items too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    add_replay_items(session, config, items)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def hotupdate_config(pytestconfig: pytest.Config) -> HotUpdateConfig:
    """The suite's hot-update settings (command line and ini file)."""
    return session_state(pytestconfig).settings


@pytest.fixture(scope="session")
def hotupdate_runtime(pytestconfig: pytest.Config) -> Runtime:
    """One wasmtime engine and compiled-component cache for the whole session.

    A component is compiled once per session, and once per machine: the disk cache is shared
    by all processes (pytest-xdist workers included).
    """
    return session_state(pytestconfig).runtime


@pytest.fixture
def hotupdate_path(request: pytest.FixtureRequest) -> UpdatePath | None:
    """The update path of a test marked ``@pytest.mark.hotupdate`` (else None)."""
    return getattr(request, "param", None)


@pytest.fixture
def hotupdate(request: pytest.FixtureRequest, hotupdate_runtime: Runtime,
              hotupdate_config: HotUpdateConfig,
              hotupdate_path: UpdatePath | None) -> Iterator[HotUpdate]:
    """A fresh :class:`HotUpdate` registry for this test.

    After the test its workers are closed; their updates become JUnit XML properties
    (``hotupdate.update``) and the terminal summary's rows; with ``--hotupdate-record DIR``
    their oplogs are saved under ``DIR/<test>/``; when the test fails, their oplogs are shown
    in the failure report.
    """
    facade = HotUpdate(hotupdate_runtime, hotupdate_config, hotupdate_path)
    node = request.node
    node.stash[_FACADE] = facade
    try:
        yield facade
    finally:
        try:
            for summary in facade.updates():
                node.user_properties.append((UPDATE_PROPERTY, summary.as_property()))
            if hotupdate_config.record_dir is not None and facade.workers:
                directory = hotupdate_config.record_dir / _safe_name(node.nodeid)
                for path in facade.save_oplogs(directory):
                    node.user_properties.append((OPLOG_PROPERTY, str(path)))
        finally:
            facade.close()


# --------------------------------------------------------------------------- hooks: reports


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        facade = item.stash.get(_FACADE, None)
        if facade is not None:
            lines = session_state(item.config).settings.oplog_lines
            for worker in facade.workers:
                report.sections.append(oplog_section(worker, lines))
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    write_summary(terminalreporter, config)
