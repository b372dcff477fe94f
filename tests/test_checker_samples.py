"""The bundled samples' revisions give the verdicts their READMEs promise, and every output
format renders for every sample pair (JSON against its published schema, SARIF against the
SARIF 2.1.0 schema).

Where a README's verdict depends on behaviour rather than on the interface (dice v1 -> v2
replays fine unless a history contains ``roll``; counter v4's ``load`` always returns an error),
the static verdict is the interface's (``interface-compatible`` / ``available``) and its reason
says that behaviour is unproven; ``--history`` is the gate for behaviour.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from checker.api import Checker
from checker.report import Format, render
from checker.result import Report
from sample_components.build import build
from tests.checker_cases import REPORT_SCHEMA, SARIF_SCHEMA

OK, INC = "interface-compatible", "incompatible"
AVAILABLE, UNAVAILABLE = "available", "unavailable"
slow = pytest.mark.slow

# (sample, old, new, automatic, manual, rule ids that must be among the findings)
SAMPLE_PAIRS = [
    pytest.param("counter", "v1", "v2", OK, UNAVAILABLE, {"export-function-added"},
                 id="counter-v1-v2"),
    pytest.param("counter", "v2", "v3", INC, AVAILABLE, {"export-function-removed"},
                 id="counter-v2-v3"),
    pytest.param("counter", "v3", "v4", OK, AVAILABLE, {"snapshot-export-removed"},
                 id="counter-v3-v4"),
    pytest.param("counter", "v4", "v3", OK, UNAVAILABLE, {"snapshot-export-added"},
                 id="counter-v4-v3"),
    pytest.param("dice", "v1", "v2", OK, UNAVAILABLE, set(), id="dice-v1-v2"),
    pytest.param("cart", "v1", "v2", OK, UNAVAILABLE,
                 {"export-function-added", "resource-method-added", "snapshot-export-added"},
                 id="cart-v1-v2", marks=slow),
    pytest.param("cart", "v2", "v3", INC, AVAILABLE,
                 {"record-field-removed", "record-field-added", "param-added",
                  "resource-method-removed", "result-type-widened", "variant-case-added"},
                 id="cart-v2-v3", marks=slow),
    pytest.param("cart", "v1", "v3", INC, UNAVAILABLE, {"record-field-removed"},
                 id="cart-v1-v3", marks=slow),
    pytest.param("cart", "v3", "v2", INC, UNAVAILABLE,
                 {"variant-case-removed", "snapshot-export-removed"}, id="cart-v3-v2", marks=slow),
]


@pytest.fixture(scope="module")
def reports() -> Callable[[str, str, str], Report]:
    cache: dict[tuple[str, str, str], Report] = {}

    def get(sample: str, old: str, new: str) -> Report:
        key = (sample, old, new)
        if key not in cache:
            cache[key] = Checker().check([build(sample, old), build(sample, new)])
        return cache[key]

    return get


@pytest.mark.parametrize(("sample", "old", "new", "automatic", "manual", "rules"), SAMPLE_PAIRS)
def test_sample_pair_verdicts(
    reports: Callable[[str, str, str], Report],
    sample: str, old: str, new: str, automatic: str, manual: str, rules: set[str],
) -> None:
    (pair,) = reports(sample, old, new).pairs
    assert pair.automatic.value == automatic, pair.automatic.reason
    assert pair.manual.value == manual, pair.manual.reason
    assert rules <= {f.rule_id for f in pair.findings}
    if automatic == OK:
        assert "behaviour" in pair.automatic.reason


def test_counter_v2_v3_names_the_removed_functions(
    reports: Callable[[str, str, str], Report],
) -> None:
    (pair,) = reports("counter", "v2", "v3").pairs
    removed = [f for f in pair.findings if f.rule_id == "export-function-removed"]
    assert [f.path for f in removed] == [
        "export golem:counter/api / func increment",
        "export golem:counter/api / func reset",
    ]
    assert removed[0].old == "func(by: u64) -> u64"
    assert pair.manual.reason.startswith("old save-snapshot@1.1.0 -> new load-snapshot@1.1.0")


def test_counter_v4_has_no_save_snapshot(reports: Callable[[str, str, str], Report]) -> None:
    (pair,) = reports("counter", "v4", "v3").pairs
    assert pair.manual.reason == "the old revision exports no supported golem:api/save-snapshot"


@slow
def test_componentize_py_artefacts_are_left_out(
    reports: Callable[[str, str, str], Report],
) -> None:
    (pair,) = reports("cart", "v2", "v3").pairs
    assert any("componentize-py" in s for s in pair.skipped)
    assert any(s.startswith("import golem:api/host@1.5.0") for s in pair.skipped)
    assert all("exports" not in f.path and "golem:api/host" not in f.path for f in pair.findings)


@pytest.mark.parametrize("sample", ["faulty", pytest.param("kinds", marks=slow)])
def test_single_revision_samples_against_themselves(sample: str) -> None:
    path = build(sample, "v1")
    (pair,) = Checker().check([path, path]).pairs
    assert pair.findings == ()
    assert (pair.automatic.value, pair.manual.value) == (OK, UNAVAILABLE)


def test_several_revisions_are_checked_against_the_newest() -> None:
    paths = [build("counter", v) for v in ("v1", "v2", "v3")]
    report = Checker().check(paths)
    assert [(p.old, p.new) for p in report.pairs] == [
        (str(paths[0]), str(paths[2])), (str(paths[1]), str(paths[2]))]
    assert [p.automatic.value for p in report.pairs] == [INC, INC]
    assert [p.manual.value for p in report.pairs] == [UNAVAILABLE, AVAILABLE]
    chain = Checker(chain=True).check(paths)
    assert [(p.old, p.new) for p in chain.pairs] == [
        (str(paths[0]), str(paths[1])), (str(paths[1]), str(paths[2]))]
    assert [p.automatic.value for p in chain.pairs] == [OK, INC]


# --------------------------------------------------------------------------- formats


@pytest.fixture(scope="module")
def report_schema() -> jsonschema.protocols.Validator:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def sarif_schema() -> jsonschema.protocols.Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(("sample", "old", "new", "automatic", "manual", "rules"), SAMPLE_PAIRS)
def test_every_format_renders(
    reports: Callable[[str, str, str], Report],
    report_schema: jsonschema.protocols.Validator,
    sarif_schema: jsonschema.protocols.Validator,
    sample: str, old: str, new: str, automatic: str, manual: str, rules: set[str],
) -> None:
    report = reports(sample, old, new)
    (pair,) = report.pairs
    outputs = {fmt: render(report, fmt) for fmt in Format}
    assert all(text.endswith("\n") for text in outputs.values())

    text = outputs[Format.TEXT]
    assert f"automatic: {automatic}" in text and f"manual:    {manual}" in text
    assert "\x1b[" not in text and "\x1b[" in render(report, Format.TEXT, color=True)

    doc = json.loads(outputs[Format.JSON])
    report_schema.validate(doc)
    assert doc["pairs"][0]["verdicts"]["automatic"]["verdict"] == automatic
    assert doc["pairs"][0]["verdicts"]["manual"]["verdict"] == manual
    assert [f["rule"] for f in doc["pairs"][0]["findings"]] == [f.rule_id for f in pair.findings]
    assert doc["exit-code"] == report.exit_code

    sarif = json.loads(outputs[Format.SARIF])
    errors = sorted(sarif_schema.iter_errors(sarif), key=str)
    assert not errors, errors[0]
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [f.rule_id for f in pair.findings]
    rules_by_index = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules_by_index[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)

    markdown = outputs[Format.MARKDOWN]
    assert markdown.startswith("# hotupdate-check report")
    assert f"| automatic | **{automatic}** |" in markdown

    junit = ET.fromstring(outputs[Format.JUNIT])
    assert junit.tag == "testsuites"
    failures = sum(1 for f in pair.findings if f.severity.value == "error")
    assert int(junit.get("failures", "-1")) == failures
    assert len(junit.findall(".//failure")) == failures
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert (props["automatic"], props["manual"]) == (automatic, manual)

    github = outputs[Format.GITHUB].splitlines()
    commands = [line for line in github if line.startswith("::")]
    assert len(commands) == len(pair.findings) + 1  # one per finding + the verdicts notice
    assert all(line.split(" ", 1)[0] in ("::error", "::warning", "::notice") for line in commands)
    assert github[-1].startswith("hotupdate-check: 1 pair(s)")


def test_github_commands_escape_their_properties() -> None:
    from checker.report import _gh_data, _gh_prop

    assert _gh_prop("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert _gh_data("50% done\r\nnext") == "50%25 done%0D%0Anext"


def test_sarif_uri_and_junit_escaping(tmp_path: Path) -> None:
    from checker.report import _uri, quoteattr

    assert _uri("dir with space/v1.wasm") == "dir%20with%20space/v1.wasm"
    assert _uri("C:\\x\\a.wasm") == "C%3A/x/a.wasm"
    assert quoteattr('a<b>&"c"\n') == '"a&lt;b&gt;&amp;&quot;c&quot;&#10;"'
