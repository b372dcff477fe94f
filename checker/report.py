"""Renderers: one function per output format, chosen by :class:`Format` (the ``--format``
choices). Each takes a :class:`~checker.result.Report` and returns text.

- ``text``: for people; ANSI colour only when asked (the CLI asks on a terminal).
- ``json``: versioned, documented by ``checker/report.schema.json`` (:data:`SCHEMA_ID`).
- ``markdown``: for pull-request comments and job summaries.
- ``sarif``: SARIF 2.1.0, for code-scanning dashboards.
- ``junit``: JUnit XML, one test case per finding (failed when at or above ``--fail-on``) and
  per recorded history (failed when it diverges, unless ``--fail-on never``).
- ``github``: GitHub Actions workflow commands (``::error ...``) that annotate the run.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable

from .findings import Finding
from .result import HistoryResult, PairResult, Report
from .rules import RULES, Severity, get_rule

__all__ = ["RENDERERS", "SCHEMA_ID", "SCHEMA_VERSION", "Format", "render", "report_dict"]

SCHEMA_VERSION = 1
SCHEMA_ID = "urn:pytest-hotupdate:hotupdate-check:report:1"
TOOL = "hotupdate-check"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


class Format(str, enum.Enum):
    """The ``--format`` choices."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"


# --------------------------------------------------------------------------- helpers


def escape(text: str) -> str:
    """XML character data (``xml.sax.saxutils.escape`` without its costly import)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    """A double-quoted XML attribute value."""
    text = escape(text).replace('"', "&quot;")
    return '"' + text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


_URI_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-~")


def quote(text: str) -> str:
    """Percent-encode a path for a URI reference."""
    return "".join(
        c if c in _URI_SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text
    )


# --------------------------------------------------------------------------- text

_COLOURS = {
    "error": "\x1b[31m", "warning": "\x1b[33m", "info": "\x1b[36m",
    "bad": "\x1b[31m", "good": "\x1b[32m", "bold": "\x1b[1m", "dim": "\x1b[2m",
}
_RESET = "\x1b[0m"
_GOOD_VERDICTS = ("interface-compatible", "replay-verified", "available")


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLOURS[style]}{text}{_RESET}" if color else text


def _change(f: Finding) -> str:
    if f.old is None and f.new is None:
        return ""
    return f": {f.old if f.old is not None else '(none)'} -> {f.new if f.new is not None else '(none)'}"


def render_text(report: Report, color: bool = False) -> str:
    lines: list[str] = []
    for pair in report.pairs:
        lines.append(_paint(f"{pair.old} -> {pair.new}", "bold", color) + f"  (host: {report.host})")
        for label, verdict in (("automatic", pair.automatic), ("manual", pair.manual)):
            style = "good" if verdict.value in _GOOD_VERDICTS else "bad"
            lines.append(
                f"  {label + ':':<11}{_paint(verdict.value, style, color)}  ({verdict.reason})"
            )
        for h in pair.automatic.histories:
            state = "ok" if h.ok else f"diverges: {h.divergence}"
            lines.append(f"    history {h.path}: {h.invocations} invocation(s), {state}")
        counts = pair.counts()
        lines.append(
            f"  findings: {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} info" + (f", {len(pair.suppressed)} suppressed" if pair.suppressed else "")
        )
        for f in pair.findings:
            sev = _paint(f"{f.severity.value:<7}", f.severity.value, color)
            lines.append(f"    {sev} {f.rule_id}  {f.path}{_change(f)}")
            lines.append(_paint(f"            {f.message}  [{f.fingerprint}]", "dim", color))
        for s in pair.suppressed:
            lines.append(f"    suppressed {s.finding.rule_id}  {s.finding.path}  ({s.reason})")
        lines.append("")
    failing = report.failing()
    threshold = report.fail_on_text
    lines.append(
        f"{len(report.pairs)} pair(s) checked; {len(failing)} finding(s) at or above "
        f"--fail-on {threshold}{_diverging_note(report)}: exit {report.exit_code}"
    )
    return "\n".join(lines) + "\n"


def _diverging_note(report: Report) -> str:
    """``, 1 diverging history(ies)`` for the summary lines (empty when none diverges)."""
    count = len(report.diverging())
    return f", {count} diverging history(ies)" if count else ""


# --------------------------------------------------------------------------- json


def pair_dict(pair: PairResult) -> dict[str, object]:
    return {
        "old": pair.old,
        "new": pair.new,
        "verdicts": {"automatic": pair.automatic.as_dict(), "manual": pair.manual.as_dict()},
        "counts": pair.counts(),
        "findings": [f.as_dict() for f in pair.findings],
        "suppressed": [s.as_dict() for s in pair.suppressed],
        "skipped": list(pair.skipped),
    }


def report_dict(report: Report) -> dict[str, object]:
    """The JSON report as a dict (see ``checker/report.schema.json``)."""
    return {
        "$schema": SCHEMA_ID,
        "schema-version": SCHEMA_VERSION,
        "tool": {"name": TOOL, "version": report.tool_version},
        "host": report.host,
        "fail-on": report.fail_on_text,
        "exit-code": report.exit_code,
        "pairs": [pair_dict(p) for p in report.pairs],
    }


def render_json(report: Report, color: bool = False) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


# --------------------------------------------------------------------------- markdown


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, color: bool = False) -> str:
    out = ["# hotupdate-check report", ""]
    for pair in report.pairs:
        out += [f"## `{pair.old}` -> `{pair.new}`", ""]
        out += ["| update | verdict | why |", "|---|---|---|"]
        for label, verdict in (("automatic", pair.automatic), ("manual", pair.manual)):
            out.append(f"| {label} | **{verdict.value}** | {_md(verdict.reason)} |")
        out.append("")
        if pair.findings:
            out += ["| severity | rule | WIT path | change | message | fingerprint |",
                    "|---|---|---|---|---|---|"]
            for f in pair.findings:
                change = _change(f)[2:]
                out.append(
                    f"| {f.severity.value} | `{f.rule_id}` | `{_md(f.path)}` | "
                    f"{_md(change) if change else ''} | {_md(f.message)} | `{f.fingerprint}` |"
                )
        else:
            out.append("No findings.")
        if pair.automatic.histories:
            out += ["", "Recorded histories (replayed on the new revision):", ""]
            out += [f"- `{_md(h.path)}`: {h.invocations} invocation(s), "
                    + ("ok" if h.ok else f"**diverges**: {_md(h.divergence or '')}")
                    for h in pair.automatic.histories]
        if pair.suppressed:
            out += ["", "Suppressed:", ""]
            out += [f"- `{s.finding.rule_id}` `{_md(s.finding.path)}`: {_md(s.reason)}"
                    for s in pair.suppressed]
        out.append("")
    threshold = report.fail_on_text
    out.append(
        f"{len(report.failing())} finding(s) at or above `--fail-on {threshold}`"
        f"{_diverging_note(report)}; exit status {report.exit_code}."
    )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- sarif

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"))


def _sarif_result(f: Finding, pair: PairResult, index: dict[str, int]) -> dict[str, object]:
    result: dict[str, object] = {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": _SARIF_LEVEL[f.severity],
        "message": {"text": f"{f.path}{_change(f)}: {f.message}"},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": _uri(pair.new)}},
            "logicalLocations": [{"fullyQualifiedName": f.path, "kind": "member"}],
        }],
        "partialFingerprints": {"hotupdateFinding/v1": f.fingerprint},
        "properties": {"old": f.old, "new": f.new, "oldRevision": pair.old},
    }
    return result


#: The ``ruleId`` of a diverging recorded history in SARIF (not a rule of the catalogue: it is
#: a replay result, not a change between the two interfaces, and its severity is not
#: configurable).
HISTORY_DIVERGES = "history-diverges"


def _sarif_divergence(h: HistoryResult, pair: PairResult) -> dict[str, object]:
    return {
        "ruleId": HISTORY_DIVERGES,
        "level": "error",
        "message": {"text": f"recorded history {h.path} diverges on {pair.new}: "
                            f"{h.divergence or 'replay failed'}"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(h.path)}}}],
        "properties": {"oldRevision": pair.old, "newRevision": pair.new,
                       "invocations": h.invocations},
    }


def render_sarif(report: Report, color: bool = False) -> str:
    index = {rule.id: i for i, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.id,
            "name": "".join(part.capitalize() for part in rule.id.split("-")),
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.explanation},
            "help": {
                "text": f"{rule.explanation}\nBefore: {rule.before}\nAfter: {rule.after}",
                "markdown": f"{rule.explanation}\n\nBefore:\n```wit\n{rule.before}\n```\n"
                            f"After:\n```wit\n{rule.after}\n```",
            },
            "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
            "properties": {
                "family": rule.family,
                "affects": [v.value for v in rule.affects],
                "breaks": [v.value for v in rule.breaks],
            },
        }
        for rule in RULES
    ]
    results = []
    for pair in report.pairs:
        results += [_sarif_result(f, pair, index) for f in pair.findings]
        for s in pair.suppressed:
            r = _sarif_result(s.finding, pair, index)
            r["suppressions"] = [{"kind": "external", "justification": s.reason}]
            results.append(r)
        results += [_sarif_divergence(h, pair) for h in pair.automatic.histories if not h.ok]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL,
                "version": report.tool_version,
                "semanticVersion": report.tool_version if report.tool_version[0].isdigit()
                and "+" not in report.tool_version else None,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": True,
                "exitCode": report.exit_code,
            }],
            "results": results,
            "properties": {
                "host": report.host,
                "pairs": [
                    {"old": p.old, "new": p.new, "automatic": p.automatic.value,
                     "manual": p.manual.value}
                    for p in report.pairs
                ],
            },
        }],
    }
    driver = doc["runs"][0]["tool"]["driver"]  # type: ignore[index]
    if driver["semanticVersion"] is None:
        del driver["semanticVersion"]
    return json.dumps(doc, indent=2) + "\n"


# --------------------------------------------------------------------------- junit


def render_junit(report: Report, color: bool = False) -> str:
    rank = report.fail_on.rank if report.fail_on else 99
    suites = []
    total = failures = 0
    for pair in report.pairs:
        name = f"{pair.old} -> {pair.new}"
        cases = []
        pair_failures = 0
        for f in pair.findings:
            case = (f'    <testcase classname={quoteattr(TOOL + "." + f.rule_id)} '
                    f'name={quoteattr(f.path)}')
            text = f"{f.path}{_change(f)}\n{f.message}\nfingerprint: {f.fingerprint}"
            if f.severity.rank >= rank:
                pair_failures += 1
                cases.append(
                    f"{case}>\n      <failure message={quoteattr(f.message)} "
                    f"type={quoteattr(f.severity.value)}>{escape(text)}</failure>\n"
                    "    </testcase>"
                )
            else:
                cases.append(f"{case}>\n      <system-out>{escape(f.severity.value + ': ' + text)}"
                             "</system-out>\n    </testcase>")
        for h in pair.automatic.histories:
            case = (f'    <testcase classname={quoteattr(TOOL + ".history")} '
                    f'name={quoteattr(h.path)}')
            if h.ok:
                cases.append(f"{case}>\n      <system-out>{escape(f'{h.invocations} invocation(s) replayed')}"
                             "</system-out>\n    </testcase>")
                continue
            text = f"{h.path} diverges on {pair.new}: {h.divergence or 'replay failed'}"
            if report.fail_on is not None:  # a divergence is an error at every --fail-on
                pair_failures += 1
                cases.append(
                    f"{case}>\n      <failure message={quoteattr(h.divergence or 'diverges')} "
                    f"type=\"error\">{escape(text)}</failure>\n    </testcase>")
            else:
                cases.append(f"{case}>\n      <system-out>{escape('error: ' + text)}"
                             "</system-out>\n    </testcase>")
        for label, verdict in (("automatic update", pair.automatic), ("manual update", pair.manual)):
            cases.append(
                f"    <testcase classname={quoteattr(TOOL + '.verdict')} "
                f"name={quoteattr(label + ': ' + verdict.value)}>\n"
                f"      <system-out>{escape(verdict.reason)}</system-out>\n    </testcase>"
            )
        props = "\n".join(
            f"      <property name={quoteattr(k)} value={quoteattr(v)}/>"
            for k, v in (("automatic", pair.automatic.value), ("manual", pair.manual.value),
                         ("host", report.host))
        )
        suites.append(
            f"  <testsuite name={quoteattr(name)} tests=\"{len(cases)}\" "
            f"failures=\"{pair_failures}\" errors=\"0\" skipped=\"0\">\n"
            f"    <properties>\n{props}\n    </properties>\n" + "\n".join(cases) + "\n  </testsuite>"
        )
        total += len(cases)
        failures += pair_failures
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="{TOOL}" tests="{total}" failures="{failures}" errors="0">\n'
        + "\n".join(suites) + "\n</testsuites>\n"
    )


# --------------------------------------------------------------------------- github


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


_GH_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(report: Report, color: bool = False) -> str:
    lines = []
    for pair in report.pairs:
        for f in pair.findings:
            props = f"file={_gh_prop(pair.new)},title={_gh_prop(f'{f.rule_id} ({pair.old} -> {pair.new})')}"
            lines.append(
                f"::{_GH_COMMAND[f.severity]} {props}::"
                + _gh_data(f"{f.path}{_change(f)}: {f.message} [{f.fingerprint}]")
            )
        for h in pair.automatic.histories:
            if not h.ok:
                props = (f"file={_gh_prop(h.path)},"
                         f"title={_gh_prop(f'history diverges ({pair.old} -> {pair.new})')}")
                lines.append(f"::error {props}::"
                             + _gh_data(f"recorded history {h.path} diverges on {pair.new}: "
                                        f"{h.divergence or 'replay failed'}"))
        summary = (f"automatic: {pair.automatic.value} ({pair.automatic.reason}); "
                   f"manual: {pair.manual.value} ({pair.manual.reason})")
        lines.append(
            f"::notice title={_gh_prop(f'hotupdate-check {pair.old} -> {pair.new}')}::"
            + _gh_data(summary)
        )
    threshold = report.fail_on_text
    lines.append(
        f"hotupdate-check: {len(report.pairs)} pair(s), {len(report.failing())} finding(s) at or "
        f"above --fail-on {threshold}{_diverging_note(report)}: exit {report.exit_code}"
    )
    return "\n".join(lines) + "\n"


#: One renderer per format.
RENDERERS: dict[Format, Callable[[Report, bool], str]] = {
    Format.TEXT: render_text,
    Format.JSON: render_json,
    Format.MARKDOWN: render_markdown,
    Format.SARIF: render_sarif,
    Format.JUNIT: render_junit,
    Format.GITHUB: render_github,
}


def render(report: Report, fmt: Format | str = Format.TEXT, color: bool = False) -> str:
    """Render ``report`` in ``fmt``."""
    return RENDERERS[Format(fmt)](report, color)


def rule_text(rule_id: str) -> str:
    """``--explain RULE``: the rule's card as text."""
    rule = get_rule(rule_id)
    affects = ", ".join(v.value for v in rule.affects) or "neither verdict"
    breaks = ", ".join(v.value for v in rule.breaks) or "nothing (no proof of failure)"
    before = "\n".join("    " + line for line in rule.before.splitlines())
    after = "\n".join("    " + line for line in rule.after.splitlines())
    return (
        f"{rule.id} ({rule.severity.value}, {rule.family})\n"
        f"{rule.summary}\n\n{rule.explanation}\n\n"
        f"affects: {affects}\nproves failing: {breaks}\n\n"
        f"before:\n{before}\nafter:\n{after}\n"
    )


def rules_table() -> str:
    """``--list-rules``: one line per rule."""
    width = max(len(r.id) for r in RULES)
    lines = [f"{'rule':<{width}}  severity  affects            summary"]
    for r in RULES:
        affects = ",".join(v.value for v in r.affects) or "-"
        lines.append(f"{r.id:<{width}}  {r.severity.value:<8}  {affects:<17}  {r.summary}")
    return "\n".join(lines) + "\n"
