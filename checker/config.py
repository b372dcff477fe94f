"""Project configuration: ``[tool.hotupdate]`` in ``pyproject.toml``, or a file given with
``--config``.

Example::

    [tool.hotupdate]
    host = "golem"                 # golem | wasmcloud | wasi
    fail-on = "warning"            # error | warning | info | never
    ignore-rules = ["doc-changed"]

    [tool.hotupdate.severity]      # per-rule severity overrides
    import-added = "error"
    param-renamed = "warning"

    [[tool.hotupdate.ignore]]      # one finding, by fingerprint; a reason is required
    fingerprint = "3f2a9c0d1e4b5a67"
    reason = "no worker ever called increment (checked in production, 2025-01)"

A ``--config`` file may hold the same keys under ``[tool.hotupdate]`` or at its top level.
Without ``--config``, the nearest ``pyproject.toml`` from the current directory upwards is read
(no ``[tool.hotupdate]`` table = the defaults). Unknown keys, unknown rule ids and bad values
are errors (exit status 2), so that a typo never silently disables a check; so are a file that
is not UTF-8, TOML nested too deeply, a file that is not a regular file (a FIFO or a device is
never read) and one larger than 1 MiB (``$HOTUPDATE_MAX_CONFIG_BYTES`` raises the limit).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError
from .rules import Severity, rule_ids

__all__ = ["Config", "Ignore", "find_pyproject", "load_config", "parse_config"]

#: The ``--fail-on`` (and config ``fail-on``) values: a severity, or ``never``.
FAIL_ON_CHOICES = ("error", "warning", "info", "never")
#: Configuration files larger than this are refused (``$HOTUPDATE_MAX_CONFIG_BYTES`` raises it).
DEFAULT_MAX_CONFIG_BYTES = 1 << 20
MAX_BYTES_ENV = "HOTUPDATE_MAX_CONFIG_BYTES"
_KEYS = {"host", "fail-on", "severity", "ignore-rules", "ignore"}


@dataclass(frozen=True)
class Ignore:
    """One ignored finding."""

    fingerprint: str
    reason: str


@dataclass(frozen=True)
class Config:
    """The configuration in force (defaults when no file says otherwise).

    Attributes:
        source: the file read, or ``None``.
        host: host profile name, or ``None`` for the command line's / default.
        fail_on: ``error``/``warning``/``info``/``never``, or ``None`` for the default.
        severities: per-rule severity overrides.
        ignore_rules: rules whose findings are suppressed.
        ignores: findings suppressed by fingerprint, with reasons.
    """

    source: str | None = None
    host: str | None = None
    fail_on: str | None = None
    severities: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    ignore_rules: tuple[str, ...] = ()
    ignores: tuple[Ignore, ...] = ()


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or its parents."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def max_config_bytes() -> int:
    """The largest configuration file read: ``$HOTUPDATE_MAX_CONFIG_BYTES``, else 1 MiB."""
    raw = os.environ.get(MAX_BYTES_ENV, "")
    try:
        value = int(raw) if raw.strip() else DEFAULT_MAX_CONFIG_BYTES
    except ValueError:
        raise ConfigError(f"${MAX_BYTES_ENV}", f"{raw!r} is not a number of bytes") from None
    if value < 1:
        raise ConfigError(f"${MAX_BYTES_ENV}", f"{raw!r}: expected a positive number of bytes")
    return value


def _read_bytes(path: Path) -> bytes:
    """The bytes of a configuration file: only a regular file (a FIFO could block for ever, a
    device such as /dev/zero never ends), and at most :func:`max_config_bytes` of them."""
    limit = max_config_bytes()
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise ConfigError(str(path), "is a directory, not a TOML file")
            if not stat.S_ISREG(mode):
                raise ConfigError(str(path), "not a regular file (a FIFO, device or socket)")
            data = fh.read(limit + 1)  # +1: a file that grew past the limit is still refused
        except OSError as exc:
            raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ConfigError(
            str(path), f"larger than {limit} bytes, the limit for a configuration file "
            f"(set ${MAX_BYTES_ENV} to raise it)")
    return data


def _parse_toml(data: bytes, path: Path) -> dict[str, Any]:
    import tomllib

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            str(path), f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, "
            f"column {column} (TOML files are UTF-8)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively; no real configuration
        # nests more than a few levels.
        raise ConfigError(
            str(path), "invalid TOML: arrays or inline tables nested too deeply") from None


def _read_toml(path: Path) -> dict[str, Any]:
    return _parse_toml(_read_bytes(path), path)


def _names(names: list[str]) -> str:
    """Names for a one-line message: quoted when they hold line breaks or other controls."""
    return ", ".join(n if n.isprintable() else repr(n) for n in names)


def parse_config(table: Mapping[str, Any], source: str) -> Config:
    """Validate a ``[tool.hotupdate]`` table."""
    from .hosts import HOSTS

    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            source, f"unknown key(s) in [tool.hotupdate]: {_names(unknown)} "
            f"(known: {', '.join(sorted(_KEYS))})"
        )
    known_rules = set(rule_ids())
    host = table.get("host")
    if host is not None and (not isinstance(host, str) or host not in HOSTS):
        raise ConfigError(source, f"host = {host!r}: expected one of {', '.join(HOSTS)}")
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON_CHOICES:
        raise ConfigError(
            source, f"fail-on = {fail_on!r}: expected one of {', '.join(FAIL_ON_CHOICES)}"
        )
    severities: dict[str, Severity] = {}
    raw_sev = table.get("severity", {})
    if not isinstance(raw_sev, dict):
        raise ConfigError(source, "[tool.hotupdate.severity] must be a table of rule = severity")
    for rule_id, value in raw_sev.items():
        if rule_id not in known_rules:
            raise ConfigError(source, f"severity: unknown rule {rule_id!r}")
        try:
            severities[rule_id] = Severity(value)
        except ValueError:
            raise ConfigError(
                source, f"severity.{rule_id} = {value!r}: expected error, warning or info"
            ) from None
    raw_rules = table.get("ignore-rules", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, str) for r in raw_rules):
        raise ConfigError(source, "ignore-rules must be a list of rule ids")
    for rule_id in raw_rules:
        if rule_id not in known_rules:
            raise ConfigError(source, f"ignore-rules: unknown rule {rule_id!r}")
    ignores = []
    raw_ignores = table.get("ignore", [])
    if not isinstance(raw_ignores, list):
        raise ConfigError(source, "ignore must be an array of tables ([[tool.hotupdate.ignore]])")
    for index, item in enumerate(raw_ignores, 1):
        if not isinstance(item, dict):
            raise ConfigError(source, f"ignore #{index}: expected a table")
        extra = sorted(set(item) - {"fingerprint", "reason"})
        if extra:
            raise ConfigError(source, f"ignore #{index}: unknown key(s) {_names(extra)}")
        fp, reason = item.get("fingerprint"), item.get("reason")
        if not isinstance(fp, str) or not fp.strip():
            raise ConfigError(source, f"ignore #{index}: a fingerprint is required")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(source, f"ignore #{index} ({_names([fp])}): a reason is required")
        ignores.append(Ignore(fp.strip(), reason.strip()))
    return Config(
        source=source,
        host=host,
        fail_on=fail_on,
        severities=severities,
        ignore_rules=tuple(raw_rules),
        ignores=tuple(ignores),
    )


def _may_configure(text: str) -> bool:
    """Whether a pyproject text can hold ``[tool.hotupdate]`` (as a table, a dotted key or an
    inline table under ``[tool]``); cheap, so that most projects skip TOML parsing."""
    for line in text.splitlines():
        stripped = line.replace(" ", "").replace("\t", "").replace('"', "").lstrip("[")
        if stripped.startswith(("tool.hotupdate", "hotupdate")):
            return True
    return False


def load_config(path: str | Path | None = None, start: Path | None = None) -> Config:
    """Read ``path`` (``--config``), or else the nearest ``pyproject.toml`` from ``start``
    (default: the current directory). No file or no table: the defaults."""
    if path is not None:
        p = Path(path)
        doc = _read_toml(p)
        tool = doc.get("tool")
        table = tool.get("hotupdate") if isinstance(tool, dict) else None
        if table is None:
            table = {k: v for k, v in doc.items() if k != "tool"}
        if not isinstance(table, dict):
            raise ConfigError(str(p), "[tool.hotupdate] must be a table")
        return parse_config(table, str(p))
    found = find_pyproject(start or Path.cwd())
    if found is None:
        return Config()
    data = _read_bytes(found)
    if not _may_configure(data.decode("utf-8", errors="replace")):
        return Config()  # no [tool.hotupdate]: skip parsing (start-up time)
    doc = _parse_toml(data, found)
    tool = doc.get("tool")
    table = tool.get("hotupdate") if isinstance(tool, dict) else None
    if table is None:
        return Config()
    if not isinstance(table, dict):
        raise ConfigError(str(found), "[tool.hotupdate] must be a table")
    return parse_config(table, str(found))
