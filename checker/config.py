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
are errors (exit status 2), so that a typo never silently disables a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError
from dataclasses import dataclass, field
from .rules import Severity, rule_ids

__all__ = ["Config", "Ignore", "find_pyproject", "load_config", "parse_config"]

FAIL_ON_CHOICES = ("error", "warning", "info", "never")
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


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from None


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
    try:
        text = found.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(str(found), f"cannot read: {exc.strerror or exc}") from None
    if not _may_configure(text):
        return Config()  # no [tool.hotupdate]: skip parsing (start-up time)
    doc = _read_toml(found)
    tool = doc.get("tool")
    table = tool.get("hotupdate") if isinstance(tool, dict) else None
    if table is None:
        return Config()
    if not isinstance(table, dict):
        raise ConfigError(str(found), "[tool.hotupdate] must be a table")
    return parse_config(table, str(found))
