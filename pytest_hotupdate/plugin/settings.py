"""The suite's hot-update settings: the command-line options and ini values the plugin adds,
parsed and checked into a :class:`HotUpdateConfig` (a UsageError when bad), and the per-session
state (settings and runtime) the hooks and fixtures share through ``config.stash``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..errors import UpdateError
from ..modes import normalise_mode

if TYPE_CHECKING:
    from ..engine import Runtime

__all__ = ["DEFAULT_MODES", "HotUpdateConfig", "SessionState", "add_options", "session_state",
           "start_session"]

#: The update modes the ``hotupdate`` marker uses when neither it nor ``hotupdate_modes`` says.
DEFAULT_MODES = ("automatic", "manual")


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
    modes: tuple[str, ...] = DEFAULT_MODES
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


def add_options(parser: pytest.Parser) -> None:
    """Add the plugin's options (group ``hotupdate``) and ini settings to ``parser``."""
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
        "hotupdate_modes", type="args", default=list(DEFAULT_MODES),
        help="update modes @pytest.mark.hotupdate uses unless told (default: "
             f"{' '.join(DEFAULT_MODES)}).")
    parser.addini(
        "hotupdate_cache_dir", type="string", default="",
        help="compiled-component cache directory (default: $HOTUPDATE_CACHE_DIR or "
             "~/.cache/pytest-hotupdate).")
    parser.addini(
        "hotupdate_oplog_lines", type="string", default="100",
        help="how many of a worker's last oplog lines a failure report shows (default 100).")


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
        modes = tuple(self._mode(m, "hotupdate_modes")
                      for m in self.config.getini("hotupdate_modes"))
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
            modes=modes or DEFAULT_MODES,
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


class SessionState:
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
            from ..engine import Runtime

            self._runtime = Runtime(cache_dir=self.settings.cache_dir)
        return self._runtime


_STATE = pytest.StashKey[SessionState]()


def start_session(config: pytest.Config) -> None:
    """Parse the session's settings (UsageError when bad) and keep them in ``config.stash``."""
    config.stash[_STATE] = SessionState(_Settings(config).build())


def session_state(config: pytest.Config) -> SessionState:
    """The state :func:`start_session` kept for this session."""
    return config.stash[_STATE]
