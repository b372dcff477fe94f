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

Kept import-light: this module imports only the standard library and pytest; the runtime
(wasmtime) is imported when a fixture or replay item first needs it.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import UpdateError
from ..modes import normalise_mode

if TYPE_CHECKING:
    from ..assertions import HistoryReplay
    from ..component import LoadedComponent
    from ..host import SandboxGrants
    from ..registry import Registry
    from ..runtime import Runtime
    from ..worker import Worker, WorkerLimits

__all__ = [
    "HistoryReplayItem",
    "HistoryReplays",
    "HotUpdate",
    "HotUpdateConfig",
    "UpdatePath",
    "UpdateSummary",
    "summarize_updates",
]

#: File name suffix of recorded oplogs (what ``--hotupdate-replay`` looks for).
OPLOG_SUFFIX = ".oplog.jsonl"
#: JUnit XML property names (``<property name=... value=...>``).
UPDATE_PROPERTY = "hotupdate.update"
OPLOG_PROPERTY = "hotupdate.oplog"
REPLAY_PROPERTY = "hotupdate.replay"
_PATH_KINDS = ("to-latest", "adjacent", "all")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class HotUpdateConfig:
    """The suite's hot-update settings, from the command line and the ini file.

    Read it through the ``hotupdate_config`` fixture (or ``hotupdate.config``).
    """

    #: Component name -> its revision files, oldest first (the baseline, if any, first).
    components: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    #: Component name -> the last published revision (``--hotupdate-baseline``).
    baselines: Mapping[str, Path] = field(default_factory=dict)
    #: Where every worker's oplog is saved after each test (``--hotupdate-record``), or None.
    record_dir: Path | None = None
    #: Recorded histories to replay (``--hotupdate-replay``), or None.
    replay_dir: Path | None = None
    #: Candidate revisions for the replay: component name -> file; key ``""`` = the one
    #: component without a named candidate (see ``assertions.match_histories``).
    against: Mapping[str, Path] = field(default_factory=dict)
    #: Update modes the ``hotupdate`` marker uses unless it names its own.
    modes: tuple[str, ...] = ("automatic", "manual")
    #: Compiled-component cache directory (None: ``$HOTUPDATE_CACHE_DIR`` or ``~/.cache``).
    cache_dir: Path | None = None
    #: Oplog lines attached to a failure report per worker (the last ones).
    oplog_lines: int = 100

    def revisions(self, component: str) -> tuple[Path, ...]:
        """The configured revision files of ``component`` (empty if none)."""
        return tuple(self.components.get(component, ()))

    @property
    def configured(self) -> bool:
        """Whether any hot-update setting was given (the report header shows them then)."""
        return bool(self.components or self.record_dir or self.replay_dir)


class _Settings:
    """Parses options and ini values into a :class:`HotUpdateConfig` (UsageError when bad)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cli_base = config.invocation_params.dir
        self.ini_base = config.inipath.parent if config.inipath else config.rootpath

    def build(self) -> HotUpdateConfig:
        components: dict[str, tuple[Path, ...]] = {}
        for line in self._ini_lines("hotupdate_components"):
            name, paths = self._component(line, "hotupdate_components", self.ini_base)
            components[name] = paths
        for value in self.config.getoption("hotupdate_components") or ():
            name, paths = self._component(value, "--hotupdate-component", self.cli_base)
            components[name] = paths
        baselines: dict[str, Path] = {}
        for line in self._ini_lines("hotupdate_baseline"):
            self._baseline(line, "hotupdate_baseline", self.ini_base, components, baselines)
        for value in self.config.getoption("hotupdate_baselines") or ():
            self._baseline(value, "--hotupdate-baseline", self.cli_base, components, baselines)
        for name, baseline in baselines.items():
            paths = components.get(name, ())
            if not paths or paths[0] != baseline:
                components[name] = (baseline, *paths)
        record = self.config.getoption("hotupdate_record")
        replay = self.config.getoption("hotupdate_replay")
        against_values = self.config.getoption("hotupdate_against") or ()
        if against_values and not replay:
            raise pytest.UsageError("--hotupdate-against needs --hotupdate-replay DIR")
        if replay and not against_values:
            raise pytest.UsageError(
                "--hotupdate-replay needs --hotupdate-against NEW.wasm (or NAME=NEW.wasm)")
        against: dict[str, Path] = {}
        for value in against_values:
            name, _, path = value.partition("=") if "=" in value else ("", "", value)
            against[name] = self._existing(path, "--hotupdate-against", self.cli_base)
        replay_dir = None
        if replay:
            replay_dir = self._path(replay, self.cli_base)
            if not replay_dir.exists():
                raise pytest.UsageError(f"--hotupdate-replay: no such file or directory: {replay}")
        modes = tuple(self._mode(m, "hotupdate_modes") for m in self.config.getini("hotupdate_modes"))
        cache = self.config.getini("hotupdate_cache_dir")
        lines = self.config.getini("hotupdate_oplog_lines")
        try:
            oplog_lines = int(lines)
        except ValueError:
            raise pytest.UsageError(
                f"hotupdate_oplog_lines must be an integer, got {lines!r}") from None
        return HotUpdateConfig(
            components=components,
            baselines=baselines,
            record_dir=self._path(record, self.cli_base) if record else None,
            replay_dir=replay_dir,
            against=against,
            modes=modes or ("automatic", "manual"),
            cache_dir=self._path(cache, self.ini_base) if cache else None,
            oplog_lines=oplog_lines,
        )

    def _ini_lines(self, name: str) -> list[str]:
        return [line.strip() for line in self.config.getini(name) if line.strip()]

    @staticmethod
    def _path(text: str | Path, base: Path) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else base / path

    def _existing(self, text: str, where: str, base: Path) -> Path:
        path = self._path(text.strip(), base)
        if not path.is_file():
            raise pytest.UsageError(f"{where}: no such component file: {text.strip()}")
        return path

    def _component(self, value: str, where: str, base: Path) -> tuple[str, tuple[Path, ...]]:
        name, sep, files = value.partition("=")
        paths = [p for p in files.split(",") if p.strip()]
        if not sep or not name.strip() or not paths:
            raise pytest.UsageError(
                f"{where} expects NAME=OLD.wasm,NEW.wasm[,...] (oldest first), got {value!r}")
        return name.strip(), tuple(self._existing(p, f"{where} {name.strip()}", base)
                                   for p in paths)

    def _baseline(self, value: str, where: str, base: Path,
                  components: Mapping[str, tuple[Path, ...]], out: dict[str, Path]) -> None:
        name, sep, file = value.partition("=")
        if not sep:
            if len(components) != 1:
                raise pytest.UsageError(
                    f"{where} {value}: name the component (NAME=PATH) when "
                    f"{len(components)} components are configured")
            name, file = next(iter(components)), value
        out[name.strip()] = self._existing(file, where, base)

    @staticmethod
    def _mode(mode: str, where: str) -> str:
        try:
            return normalise_mode(mode)
        except UpdateError as error:
            raise pytest.UsageError(f"{where}: {error}") from None


# --------------------------------------------------------------------------- session state


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
    revision = worker.oplog.header.revision
    requested: dict[tuple[int, str], float] = {}
    summaries = []
    for entry in worker.oplog.entries:
        kind = entry.kind
        if kind == "pending-update":
            requested[(entry.target_revision, entry.mode)] = entry.at  # type: ignore[union-attr]
        elif kind in ("successful-update", "failed-update"):
            target, mode = entry.target_revision, entry.mode  # type: ignore[union-attr]
            at = entry.at  # type: ignore[union-attr]
            started = requested.pop((target, mode), at)
            succeeded = kind == "successful-update"
            summaries.append(UpdateSummary(
                worker.component_name, worker.name, revision, target, mode, succeeded,
                max(at - started, 0.0), "" if succeeded else entry.details))  # type: ignore[union-attr]
            if succeeded:
                revision = target
    return summaries


class _SessionState:
    """What the plugin keeps for one session (in ``config.stash``): the settings and the
    session's runtime. (The summary reads the test reports, which pytest-xdist brings back
    from its workers.)"""

    def __init__(self, settings: HotUpdateConfig) -> None:
        self.settings = settings
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        """The session's engine and compile cache, created on first use."""
        if self._runtime is None:
            from ..runtime import Runtime

            self._runtime = Runtime(cache_dir=self.settings.cache_dir)
        return self._runtime


_STATE = pytest.StashKey[_SessionState]()
_FACADE = pytest.StashKey["HotUpdate"]()


def _state(config: pytest.Config) -> _SessionState:
    return config.stash[_STATE]


# --------------------------------------------------------------------------- hooks: options


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    _protect_wasmtime_signal_handlers(pluginmanager)
    group = parser.getgroup("hotupdate", "hot updates of WebAssembly components (pytest-hotupdate)")
    group.addoption(
        "--hotupdate-component", action="append", dest="hotupdate_components", default=None,
        metavar="NAME=OLD.wasm,NEW.wasm",
        help="revisions of component NAME, oldest first (repeatable); overrides the "
             "hotupdate_components ini line of the same NAME.")
    group.addoption(
        "--hotupdate-baseline", action="append", dest="hotupdate_baselines", default=None,
        metavar="[NAME=]PATH",
        help="the last published revision of a component: becomes its revision 0, so update "
             "paths start from it (NAME may be left out when one component is configured).")
    group.addoption(
        "--hotupdate-record", dest="hotupdate_record", default=None, metavar="DIR",
        help="save every worker's oplog after each test as DIR/<test>/<worker>.oplog.jsonl.")
    group.addoption(
        "--hotupdate-replay", dest="hotupdate_replay", default=None, metavar="DIR",
        help="replay every recorded history (*.oplog.jsonl under DIR, or one file) on the "
             "--hotupdate-against revision: one test per history, failing with its first "
             "divergence (select only these with -m hotupdate_replay).")
    group.addoption(
        "--hotupdate-against", action="append", dest="hotupdate_against", default=None,
        metavar="[NAME=]NEW.wasm",
        help="the candidate revision recorded histories are replayed on, matched by the "
             "component their header names (NAME=: the histories of component NAME; without "
             "NAME=: those of the one component without a named candidate; repeatable).")
    parser.addini(
        "hotupdate_components", type="linelist", default=[],
        help="component revisions, one NAME=OLD.wasm,NEW.wasm[,...] per line (paths relative "
             "to the ini file).")
    parser.addini(
        "hotupdate_baseline", type="linelist", default=[],
        help="the last published revision: [NAME=]PATH, one per line.")
    parser.addini(
        "hotupdate_modes", type="args", default=["automatic", "manual"],
        help="update modes @pytest.mark.hotupdate uses unless told (default: automatic manual).")
    parser.addini(
        "hotupdate_cache_dir", type="string", default="",
        help="compiled-component cache directory (default: $HOTUPDATE_CACHE_DIR or "
             "~/.cache/pytest-hotupdate).")
    parser.addini(
        "hotupdate_oplog_lines", type="string", default="100",
        help="how many of a worker's last oplog lines a failure report shows (default 100).")


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
    config.stash[_STATE] = _SessionState(_Settings(config).build())


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = _state(config).settings
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


@dataclass(frozen=True)
class UpdatePath:
    """One update path of a test marked ``@pytest.mark.hotupdate``: update a worker of
    ``component`` from revision ``source`` to revision ``target`` in ``mode``.

    The ``hotupdate`` fixture deploys ``revisions`` (revision ``i`` = ``revisions[i]``) before
    the test runs, so ``hotupdate.worker(path.component, revision=path.source)`` works at once.
    """

    #: The component's name.
    component: str
    #: The revision the worker starts on.
    source: int
    #: The revision it is updated to.
    target: int
    #: ``automatic`` or ``manual``.
    mode: str
    #: The component's revision files, oldest first.
    revisions: tuple[Path, ...] = field(default=(), repr=False, compare=False)

    @property
    def id(self) -> str:
        """The test id part: ``counter-0-to-2-manual``."""
        return f"{self.component}-{self.source}-to-{self.target}-{self.mode}"

    def __str__(self) -> str:
        return f"{self.component} {self.source} -> {self.target} ({self.mode})"


def _marker_paths(metafunc: pytest.Metafunc, marker: pytest.Mark,
                  settings: HotUpdateConfig) -> list[UpdatePath]:
    where = f"@pytest.mark.hotupdate on {metafunc.definition.nodeid}"
    args, kwargs = list(marker.args), dict(marker.kwargs)
    component = kwargs.pop("component", args.pop(0) if args else None)
    kind = kwargs.pop("paths", "to-latest")
    modes = kwargs.pop("modes", None)
    revisions = kwargs.pop("revisions", None)
    if args or kwargs:
        extra = ", ".join([repr(a) for a in args] + list(kwargs))
        pytest.fail(f"{where}: unexpected arguments {extra} (takes component, paths=, modes=, "
                    "revisions=)", pytrace=False)
    if component is None:
        if len(settings.components) != 1:
            configured = ", ".join(settings.components) or "none"
            pytest.fail(f"{where}: name the component (configured: {configured})",
                        pytrace=False)
        component = next(iter(settings.components))
    if revisions is None:
        files = settings.revisions(component)
        if not files:
            pytest.fail(
                f"{where}: component {component!r} has no revisions: give revisions=[...] or "
                f"configure them (--hotupdate-component {component}=OLD.wasm,NEW.wasm or the "
                "hotupdate_components ini setting)", pytrace=False)
    else:
        base = Path(str(metafunc.definition.path)).parent
        files = tuple(Path(f) if Path(f).is_absolute() else base / f for f in revisions)
    count = len(files)
    if count < 2:
        pytest.fail(f"{where}: component {component!r} needs at least 2 revisions, has {count}",
                    pytrace=False)
    if isinstance(kind, str):
        if kind == "to-latest":
            pairs = [(s, count - 1) for s in range(count - 1)]
        elif kind == "adjacent":
            pairs = [(s, s + 1) for s in range(count - 1)]
        elif kind == "all":
            pairs = [(s, t) for s in range(count) for t in range(s + 1, count)]
        else:
            pytest.fail(f"{where}: paths={kind!r}: use one of {', '.join(_PATH_KINDS)} or a "
                        "list of (source, target) pairs", pytrace=False)
    else:
        pairs = [tuple(p) for p in kind]
        for pair in pairs:
            if (len(pair) != 2 or not all(isinstance(r, int) and 0 <= r < count for r in pair)
                    or pair[0] == pair[1]):
                pytest.fail(f"{where}: bad update path {pair!r}: two different revisions in "
                            f"0..{count - 1}", pytrace=False)
    chosen = settings.modes if modes is None else tuple(
        [modes] if isinstance(modes, str) else modes)
    normalised = []
    for mode in chosen:
        try:
            normalised.append(normalise_mode(mode))
        except UpdateError as error:
            pytest.fail(f"{where}: {error}", pytrace=False)
    return [UpdatePath(component, s, t, m, files) for s, t in pairs for m in normalised]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("hotupdate")
    if marker is None:
        return
    if "hotupdate_path" not in metafunc.fixturenames:
        pytest.fail(f"@pytest.mark.hotupdate on {metafunc.definition.nodeid}: the test must use "
                    "the `hotupdate` fixture (or `hotupdate_path`)", pytrace=False)
    paths = _marker_paths(metafunc, marker, _state(metafunc.config).settings)
    metafunc.parametrize("hotupdate_path", paths, indirect=True, ids=[p.id for p in paths])


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
            raise _HistoryFailed(f"unreadable recorded history: {self.unreadable}")
        if self.against is None:
            pytest.skip(f"no --hotupdate-against revision for component {self.component!r}")
        from ..update import replay_history

        try:
            result = replay_history(self.against, self.history,
                                    runtime=_state(self.config).runtime,
                                    expect_component=self.component)
        except OplogError as error:
            self._record("unreadable")
            raise _HistoryFailed(f"unreadable recorded history: {error}") from None
        self._record("replayed" if result.ok else
                     f"diverged: {result.divergence}" if result.divergence is not None else
                     f"unverified: {result.unfinished}")
        where = f"recorded history {self.history} ({self.component}, {result.invocations} " \
                "invocation(s))"
        if result.divergence is not None:
            raise _HistoryFailed(f"{where} diverges on {self.against}:\n  {result.divergence}")
        if not result.ok:
            raise _HistoryFailed(f"{where} cannot verify {self.against}:\n  {result.unfinished}")

    def _record(self, outcome: str) -> None:
        self.user_properties.append((REPLAY_PROPERTY, f"{self.history} on {self.against}: "
                                                      f"{outcome}"))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, _HistoryFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.history, None, f"replay {self.name}"


class _HistoryFailed(Exception):
    """A replay item's failure, shown as its message alone (no traceback)."""


class HistoryReplays(pytest.Collector):
    """The recorded histories of ``--hotupdate-replay``: one :class:`HistoryReplayItem` each,
    matched to its candidate by the component its header names
    (:func:`~pytest_hotupdate.assertions.match_histories`)."""

    def collect(self) -> list[HistoryReplayItem]:
        from ..assertions import history_files, match_histories
        from ..errors import HistoryMatchError

        settings = _state(self.config).settings
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


@pytest.hookimpl(tryfirst=True)  # before -m / -k deselect, so that they apply to these items too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    settings = _state(config).settings
    if settings.replay_dir is None:
        return
    collector = HistoryReplays.from_parent(session, name="hotupdate-replay",
                                           nodeid="hotupdate-replay", path=settings.replay_dir)
    replays = collector.collect()
    # Reported like any collected node, so that "collected N items" counts them.
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(collector.nodeid, "passed", None, [*replays]))
    items.extend(replays)


# --------------------------------------------------------------------------- fixtures


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
    ) -> Worker:
        """Create a worker (see :meth:`Registry.worker`); it is closed after the test."""
        self._ensure(component)
        return self.registry.worker(component, name, revision, env,
                                    host_functions=host_functions, grants=grants, limits=limits)

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
            path = Path(directory) / f"{_safe_name(worker.name)}{OPLOG_SUFFIX}"
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


@pytest.fixture(scope="session")
def hotupdate_config(pytestconfig: pytest.Config) -> HotUpdateConfig:
    """The suite's hot-update settings (command line and ini file)."""
    return _state(pytestconfig).settings


@pytest.fixture(scope="session")
def hotupdate_runtime(pytestconfig: pytest.Config) -> Runtime:
    """One wasmtime engine and compiled-component cache for the whole session.

    A component is compiled once per session, and once per machine: the disk cache is shared
    by all processes (pytest-xdist workers included).
    """
    return _state(pytestconfig).runtime


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


def _safe_name(text: str) -> str:
    """A file name for a test id or worker name (readable; hashed suffix when shortened)."""
    name = re.sub(r"[^\w.\-\[\]=+]+", "_", text.replace("::", "__")).strip("._") or "_"
    if len(name) > 120:
        name = f"{name[:100]}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return name


def _oplog_section(worker: Worker, lines: int) -> tuple[str, str]:
    text = worker.oplog.to_jsonl().splitlines()
    header, entries = text[:1], text[1:]
    if len(entries) > lines:
        omitted = len(entries) - lines
        entries = [f"... {omitted} earlier entries omitted (hotupdate_oplog_lines = {lines})"] + \
            entries[-lines:]
    title = (f"hotupdate oplog: worker {worker.name} ({worker.component_name}, "
             f"revision {worker.component_revision})")
    return title, "\n".join(header + entries) + "\n"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        facade = item.stash.get(_FACADE, None)
        if facade is not None:
            lines = _state(item.config).settings.oplog_lines
            for worker in facade.workers:
                report.sections.append(_oplog_section(worker, lines))
    return report


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
        if report.nodeid.startswith("hotupdate-replay::"):
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


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    updates, recorded, replays = _collect(terminalreporter)
    settings = _state(config).settings
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
        failed = [(r, _replay_outcome(r)) for r in replays if r.failed]
        skipped = sum(1 for r in replays if r.skipped)
        against = ", ".join(f"{k + '=' if k else ''}{v}" for k, v in settings.against.items())
        text = (f"replayed {len(replays) - skipped} recorded histor"
                f"{'y' if len(replays) - skipped == 1 else 'ies'} from {settings.replay_dir} on "
                f"{against}: {sum(1 for _, o in failed if o == 'DIVERGED')} diverged")
        for outcome, why in (("UNREADABLE", "unreadable"), ("UNVERIFIED", "unverified")):
            count = sum(1 for _, o in failed if o == outcome)
            if count:
                text += f", {count} {why}"
        if skipped:
            text += f", {skipped} skipped (no candidate revision for their component)"
        write(text)
        for report, outcome in failed:
            write(f"  {outcome} {report.nodeid.removeprefix('hotupdate-replay::')}")
