"""The checker's errors: every one has a one-line ``str()`` naming the file and what is wrong.

All derive from :class:`CheckError`; the CLI turns any of them into exit status 2.
"""

from __future__ import annotations

__all__ = ["CheckError", "ConfigError", "InputError", "ToolError", "UsageError"]


class CheckError(Exception):
    """Base class of the checker's own errors (exit status 2 on the command line)."""


class InputError(CheckError):
    """A component or WIT input that cannot be read.

    Attributes:
        path: the file or directory.
        reason: what is wrong, one line.
        line, column: 1-based position of a WIT syntax error, else ``None``.
    """

    def __init__(
        self, path: str, reason: str, line: int | None = None, column: int | None = None
    ) -> None:
        where = path if line is None else f"{path}:{line}:{column}"
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column


class ToolError(CheckError):
    """wasm-tools is missing, failed in an unexpected way, or printed something unreadable."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class ConfigError(CheckError):
    """A configuration file (``pyproject.toml`` ``[tool.hotupdate]`` or ``--config``) with a
    bad value. ``path`` names the file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UsageError(CheckError):
    """A bad combination of options or arguments."""
