"""Durable, atomic file writes: a temporary file beside the target, synced, renamed into place.

Readers never see a partial file, and after :func:`atomic_writer` returns the new content
survives a crash of the machine (the file and its directory are ``fsync``-ed before and after
the rename). A writer killed mid-write (``SIGKILL``, power loss) leaves its temporary file
behind; it is named ``.<target>.<pid>.<random>.tmp``, and the next write of the same target
removes the temporaries whose writing process no longer exists. Temporaries of live processes
(a concurrent writer) are left alone. Process ids are only meaningful on one machine: on a
directory shared between machines a stale temporary may be kept (never a live one removed).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_writer", "remove_stale_temporaries", "temporary_prefix"]

_SUFFIX = ".tmp"


def temporary_prefix(target: Path) -> str:
    """The name prefix of ``target``'s temporaries (the writer's pid follows)."""
    return f".{target.name}."


@contextmanager
def atomic_writer(path: str | os.PathLike[str], *, text: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file for ``path``; on a clean exit, sync it, rename it onto ``path``
    and sync the directory. On an exception the temporary is removed and ``path`` untouched.

    ``text=True`` gives a UTF-8 text stream, otherwise a binary one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent,
                               prefix=f"{temporary_prefix(target)}{os.getpid()}.", suffix=_SUFFIX)
    try:
        out: IO[Any] = os.fdopen(fd, "w", encoding="utf-8") if text else os.fdopen(fd, "wb")
        with out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
        _sync_directory(target.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporaries of ``target`` left by writers that are no longer running;
    return them. Other files, and temporaries of running processes, are kept."""
    prefix = temporary_prefix(target)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(_SUFFIX)):
            continue
        pid, _, _ = name[len(prefix):-len(_SUFFIX)].partition(".")
        if not pid.isdigit() or _running(int(pid)):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue  # another writer removed it first
        except OSError:
            continue  # not ours to remove (permissions): harmless, it is never read
        removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except (OverflowError, OSError):
        return False
    return True


def _sync_directory(directory: Path) -> None:
    """Make the rename durable; directories cannot be opened on every platform."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
