"""Every rule of the catalogue, on real component pairs built from WIT with wasm-tools.

Each case: old WIT, new WIT, the rule ids expected (exactly), the WIT path and severity of the
first one, and both verdicts. Components are built once per session (``embed --dummy`` +
``component new``) and cached; doc-only cases read WIT directories (components carry no docs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from checker.api import Checker
from checker.diff import find_changes
from checker.rules import RULES, Severity, Verdict, get_rule
from checker.wit import load_worlds
from tests.checker_cases import ComponentBuilder


@pytest.fixture(scope="session")
def builder(tmp_path_factory: pytest.TempPathFactory) -> ComponentBuilder:
    return ComponentBuilder(tmp_path_factory.mktemp("checker-components"))


def api(body: str, world: str = "", *, header: str = "package test:app;", extra: str = "") -> str:
    """A package with interface ``api`` (``body``) exported by world ``app`` (+ ``world``)."""
    return (
        f"{header}\n\n{extra}\n\ninterface api {{\n{body}\n}}\n\n"
        f"world app {{\n  export api;\n{world}\n}}\n"
    )


@dataclass(frozen=True)
class Case:
    rule: str  # the case's id: the rule it is about
    old: str
    new: str
    rules: tuple[str, ...]  # every rule id expected, in diff order
    path: str  # of the finding of `rule`
    automatic: str
    manual: str = "unavailable"
    host: str = "golem"
    wit: bool = False  # read WIT directories instead of components


GET = "  get: func() -> u64;"
A = "export test:app/api"
INC = "incompatible"
OK = "interface-compatible"
ORACLE = "interface oracle {\n  ask: func(q: string) -> u64;\n}"
ORACLE2 = "interface oracle {\n  ask: func(q: string) -> u64;\n  hint: func() -> string;\n}"
ORACLE3 = "interface oracle {\n  ask: func(q: string, n: u32) -> u64;\n}"
LEDGER = "interface ledger {\n  post: func(x: u32);\n}"
ADMIN = "interface admin {\n  stop: func();\n}"
RES = "  resource cart {\n    constructor(owner: string);\n{methods}\n  }"


def res(methods: str) -> str:
    return RES.replace("{methods}", methods) + "\n" + GET


def rec(fields: str, use: str = "  f: func(x: item);") -> str:
    return f"  record item {{ {fields} }}\n{use}"


def typ(decl: str, use: str) -> str:
    return f"  {decl}\n  {use}"


CASES = [
    # ---------------------------------------------------------------- exports
    Case("export-interface-removed", api(GET, "  export admin;", extra=ADMIN), api(GET, extra=ADMIN),
         ("export-interface-removed",), "export test:app/admin", INC),
    Case("export-interface-renamed",
         "package test:app;\ninterface api { f: func(a: u32) -> u32; }\nworld app { export api; }",
         "package test:app;\ninterface service { f: func(a: u32) -> u32; }\n"
         "world app { export service; }",
         ("export-interface-renamed",), "export test:app/api", INC),
    Case("export-interface-added", api(GET, extra=ADMIN), api(GET, "  export admin;", extra=ADMIN),
         ("export-interface-added",), "export test:app/admin", OK),
    Case("export-version-changed", api(GET, header="package test:app@1.0.0;"),
         api(GET, header="package test:app@1.1.0;"),
         ("export-version-changed",), "export test:app/api@1.1.0", INC),
    Case("export-function-removed", api(GET + "\n  inc: func(by: u64) -> u64;"), api(GET),
         ("export-function-removed",), f"{A} / func inc", INC),
    Case("export-function-renamed", api("  total-cents: func() -> u64;"),
         api("  total: func() -> u64;"),
         ("export-function-renamed",), f"{A} / func total-cents", INC),
    Case("export-function-added", api(GET), api(GET + "\n  reset: func();"),
         ("export-function-added",), f"{A} / func reset", OK),
    # ---------------------------------------------------------------- functions
    Case("param-added", api("  f: func(a: u32);"), api("  f: func(a: u32, b: u32);"),
         ("param-added",), f"{A} / func f / param b", INC),
    Case("param-removed", api("  f: func(a: u32, b: u32);"), api("  f: func(a: u32);"),
         ("param-removed",), f"{A} / func f / param b", INC),
    Case("param-renamed", api("  f: func(speed: u32);"), api("  f: func(speed-ms: u32);"),
         ("param-renamed",), f"{A} / func f / param speed", OK),
    Case("param-reordered", api("  f: func(a: u32, b: string);"),
         api("  f: func(b: string, a: u32);"),
         ("param-reordered",), f"{A} / func f", INC),
    Case("param-type-changed", api("  f: func(id: string);"), api("  f: func(id: u64);"),
         ("param-type-changed",), f"{A} / func f / param id", INC),
    Case("param-type-widened", api("  f: func(n: u32);"), api("  f: func(n: u64);"),
         ("param-type-widened",), f"{A} / func f / param n", OK),
    Case("param-type-narrowed", api("  f: func(n: u64);"), api("  f: func(n: u32);"),
         ("param-type-narrowed",), f"{A} / func f / param n", OK),
    Case("result-type-changed", api("  f: func() -> u32;"), api("  f: func() -> string;"),
         ("result-type-changed",), f"{A} / func f / result", INC),
    Case("result-type-widened", api("  f: func() -> list<u32>;"), api("  f: func() -> list<u64>;"),
         ("result-type-widened",), f"{A} / func f / result", OK),
    Case("result-type-narrowed", api("  f: func() -> option<s64>;"),
         api("  f: func() -> option<s32>;"),
         ("result-type-narrowed",), f"{A} / func f / result", OK),
    # ---------------------------------------------------------------- types
    Case("type-kind-changed", api(typ("record id { v: u64 }", "f: func(x: id);")),
         api(typ("variant id { num(u64), text(string) }", "f: func(x: id);")),
         ("type-kind-changed",), f"{A} / record id", INC),
    Case("record-field-added", api(rec("sku: string")), api(rec("sku: string, qty: u32")),
         ("record-field-added",), f"{A} / record item / field qty", INC),
    Case("record-option-field-added", api(rec("sku: string")),
         api(rec("sku: string, note: option<string>")),
         ("record-option-field-added",), f"{A} / record item / field note", OK),
    Case("record-field-removed", api(rec("sku: string, price-cents: u32")), api(rec("sku: string")),
         ("record-field-removed",), f"{A} / record item / field price-cents", INC),
    Case("record-field-renamed", api(rec("sku: string, price-cents: u32")),
         api(rec("sku: string, price: u32")),
         ("record-field-renamed",), f"{A} / record item / field price-cents", INC),
    Case("record-field-reordered", api(rec("x: s32, y: s32")), api(rec("y: s32, x: s32")),
         ("record-field-reordered",), f"{A} / record item", OK),
    Case("record-field-type-changed", api(rec("price: u32")), api(rec("price: string")),
         ("record-field-type-changed",), f"{A} / record item / field price", INC),
    Case("record-field-type-widened", api(rec("quantity: u16")), api(rec("quantity: u32")),
         ("record-field-type-widened",), f"{A} / record item / field quantity", OK),
    Case("record-field-type-narrowed", api(rec("quantity: u32")), api(rec("quantity: u16")),
         ("record-field-type-narrowed",), f"{A} / record item / field quantity", OK),
    Case("variant-case-added", api(typ("variant err { not-found(string) }", "f: func() -> err;")),
         api(typ("variant err { not-found(string), mismatch(u32) }", "f: func() -> err;")),
         ("variant-case-added",), f"{A} / variant err / case mismatch", OK),
    Case("variant-case-removed",
         api(typ("variant shape { circle(f64), square(f64) }", "f: func(s: shape);")),
         api(typ("variant shape { circle(f64) }", "f: func(s: shape);")),
         ("variant-case-removed",), f"{A} / variant shape / case square", INC),
    Case("variant-case-renamed", api(typ("variant d { none, pct(u8) }", "f: func(d: d);")),
         api(typ("variant d { none, percent(u8) }", "f: func(d: d);")),
         ("variant-case-renamed",), f"{A} / variant d / case pct", INC),
    Case("variant-case-type-changed", api(typ("variant d { none, fixed(u32) }", "f: func(d: d);")),
         api(typ("variant d { none, fixed(string) }", "f: func(d: d);")),
         ("variant-case-type-changed",), f"{A} / variant d / case fixed", INC),
    Case("variant-case-type-widened", api(typ("variant d { none, fixed(u32) }", "f: func(d: d);")),
         api(typ("variant d { none, fixed(u64) }", "f: func(d: d);")),
         ("variant-case-type-widened",), f"{A} / variant d / case fixed", OK),
    Case("variant-case-type-narrowed",
         api(typ("variant d { none, fixed(u64) }", "f: func(d: d);")),
         api(typ("variant d { none, fixed(u32) }", "f: func(d: d);")),
         ("variant-case-type-narrowed",), f"{A} / variant d / case fixed", OK),
    Case("enum-case-added", api(typ("enum currency { usd, eur }", "f: func() -> currency;")),
         api(typ("enum currency { usd, eur, gbp }", "f: func() -> currency;")),
         ("enum-case-added",), f"{A} / enum currency / case gbp", OK),
    Case("enum-case-removed", api(typ("enum currency { usd, eur, gbp }", "f: func(c: currency);")),
         api(typ("enum currency { usd, eur }", "f: func(c: currency);")),
         ("enum-case-removed",), f"{A} / enum currency / case gbp", INC),
    Case("enum-case-renamed", api(typ("enum color { red, grey }", "f: func(c: color);")),
         api(typ("enum color { red, gray }", "f: func(c: color);")),
         ("enum-case-renamed",), f"{A} / enum color / case grey", INC),
    Case("flags-flag-added", api(typ("flags perms { read, write }", "f: func(p: perms);")),
         api(typ("flags perms { read, write, exec }", "f: func(p: perms);")),
         ("flags-flag-added",), f"{A} / flags perms / flag exec", OK),
    Case("flags-flag-removed", api(typ("flags perms { read, write, exec }", "f: func(p: perms);")),
         api(typ("flags perms { read, write }", "f: func(p: perms);")),
         ("flags-flag-removed",), f"{A} / flags perms / flag exec", INC),
    Case("type-alias-changed", api(typ("type id = string;", "f: func(x: id);")),
         api(typ("type id = u64;", "f: func(x: id);")),
         ("type-alias-changed",), f"{A} / type id", INC),
    Case("type-alias-widened", api(typ("type item-id = u32;", "f: func() -> item-id;")),
         api(typ("type item-id = u64;", "f: func() -> item-id;")),
         ("type-alias-widened",), f"{A} / type item-id", OK),
    Case("type-alias-narrowed", api(typ("type item-id = u64;", "f: func(x: item-id);")),
         api(typ("type item-id = u32;", "f: func(x: item-id);")),
         ("type-alias-narrowed",), f"{A} / type item-id", OK),
    # ---------------------------------------------------------------- resources
    Case("resource-removed", api(res("    total: func() -> u64;")), api(GET),
         ("resource-removed",), f"{A} / resource cart", INC),
    Case("resource-added", api(GET), api(res("    total: func() -> u64;")),
         ("resource-added",), f"{A} / resource cart", OK),
    Case("resource-method-removed",
         api(res("    total-cents: func() -> u64;\n    count: func() -> u32;")),
         api(res("    count: func() -> u32;")),
         ("resource-method-removed",), f"{A} / resource cart / method total-cents", INC),
    Case("resource-method-renamed", api(res("    total-cents: func() -> u64;")),
         api(res("    total: func() -> u64;")),
         ("resource-method-renamed",), f"{A} / resource cart / method total-cents", INC),
    Case("resource-method-added", api(res("    total: func() -> u64;")),
         api(res("    total: func() -> u64;\n    count: func() -> u32;")),
         ("resource-method-added",), f"{A} / resource cart / method count", OK),
    # ---------------------------------------------------------------- imports
    Case("import-not-provided", api(GET, extra=LEDGER), api(GET, "  import ledger;", extra=LEDGER),
         ("import-not-provided",), "import test:app/ledger", INC),
    Case("import-needs-config", api(GET, extra=LEDGER), api(GET, "  import ledger;", extra=LEDGER),
         ("import-needs-config",), "import test:app/ledger", OK, host="wasmcloud"),
    Case("import-added", api(GET), api(GET, "  import wasi:clocks/wall-clock@0.2.0;"),
         ("import-added",), "import wasi:clocks/wall-clock@0.2.0", OK),
    Case("import-removed", api(GET, "  import wasi:random/random@0.2.0;"), api(GET),
         ("import-removed",), "import wasi:random/random@0.2.0", OK),
    Case("import-function-added", api(GET, "  import oracle;", extra=ORACLE),
         api(GET, "  import oracle;", extra=ORACLE2),
         ("import-function-added",), "import test:app/oracle / func hint", OK),
    Case("import-function-removed", api(GET, "  import oracle;", extra=ORACLE2),
         api(GET, "  import oracle;", extra=ORACLE),
         ("import-function-removed",), "import test:app/oracle / func hint", OK),
    Case("import-function-changed", api(GET, "  import oracle;", extra=ORACLE),
         api(GET, "  import oracle;", extra=ORACLE3),
         ("import-function-changed",), "import test:app/oracle / func ask", INC),
    Case("import-version-changed", api(GET, "  import wasi:clocks/wall-clock@0.2.0;"),
         api(GET, "  import wasi:clocks/wall-clock@0.2.3;"),
         ("import-version-changed",), "import wasi:clocks/wall-clock@0.2.3", OK),
    # ---------------------------------------------------------------- snapshots
    Case("snapshot-export-added", api(GET), api(GET, "  export golem:api/save-snapshot@1.1.0;"),
         ("snapshot-export-added",), "export golem:api/save-snapshot@1.1.0", OK),
    Case("snapshot-export-removed",
         api(GET, "  export golem:api/save-snapshot@1.1.0;\n"
                  "  export golem:api/load-snapshot@1.1.0;"),
         api(GET, "  export golem:api/load-snapshot@1.1.0;"),
         ("snapshot-export-removed",), "export golem:api/save-snapshot@1.1.0", OK,
         manual="available"),
    Case("snapshot-version-changed",
         api(GET, "  export golem:api/save-snapshot@1.1.0;\n"
                  "  export golem:api/load-snapshot@1.1.0;"),
         api(GET, "  export golem:api/save-snapshot@1.5.0;\n"
                  "  export golem:api/load-snapshot@1.5.0;"),
         ("snapshot-version-changed", "snapshot-version-changed"),
         "export golem:api/save-snapshot@1.5.0", OK, manual="available"),
    Case("snapshot-export-unsupported", api(GET, "  export golem:api/save-snapshot@1.1.0;"),
         api(GET, "  export golem:api/save-snapshot@9.0.0;"),
         ("snapshot-version-changed", "snapshot-export-unsupported"),
         "export golem:api/save-snapshot@9.0.0", OK),
    # ---------------------------------------------------------------- docs
    Case("doc-changed", api("  /// Returns the value.\n" + GET),
         api("  /// Returns the current value of the counter.\n" + GET),
         ("doc-changed",), f"{A} / func get", OK, wit=True),
]


def _inputs(builder: ComponentBuilder, case: Case) -> tuple[Path, Path]:
    make = builder.wit_dir if case.wit else builder.component
    return make(case.old), make(case.new)


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule(builder: ComponentBuilder, case: Case) -> None:
    old, new = _inputs(builder, case)
    report = Checker(host=case.host).check([old, new])
    (pair,) = report.pairs
    assert tuple(f.rule_id for f in pair.findings) == case.rules, [
        (f.rule_id, f.path, f.message) for f in pair.findings
    ]
    finding = next(f for f in pair.findings if f.rule_id == case.rule)
    rule = get_rule(case.rule)
    assert finding.path == case.path
    assert finding.severity is rule.severity
    assert finding.message and "\n" not in finding.message
    assert re.fullmatch(r"[0-9a-f]{16}", finding.fingerprint)
    assert pair.automatic.value == case.automatic, pair.automatic.reason
    assert pair.manual.value == case.manual, pair.manual.reason
    # a rule that proves replay fails drives the automatic verdict, and only such a rule does
    assert (Verdict.AUTOMATIC in rule.breaks) == (case.automatic == INC)


def test_every_rule_has_a_case() -> None:
    covered = {c.rule for c in CASES}
    assert covered == {r.id for r in RULES}


def test_rule_catalogue_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", rule.id), rule.id
        assert rule.summary.endswith(".") and rule.explanation and rule.before and rule.after
        assert set(rule.breaks) <= set(rule.affects), rule.id
        # a rule proves failure exactly when it is an error about a verdict
        assert bool(rule.breaks) == (rule.severity is Severity.ERROR and bool(rule.affects)), rule.id


def test_unchanged_component_has_no_findings(builder: ComponentBuilder) -> None:
    text = api(res("    total: func() -> u64;") + "\n  f: func(x: list<tuple<u8, char>>) -> result;",
               "  import wasi:clocks/wall-clock@0.2.0;\n  export golem:api/save-snapshot@1.5.0;")
    path = builder.component(text)
    (pair,) = Checker().check([path, path]).pairs
    assert pair.findings == ()
    assert pair.automatic.value == OK and pair.manual.value == "unavailable"


def test_component_and_wit_directory_give_the_same_findings(builder: ComponentBuilder) -> None:
    old = api(rec("sku: string, price-cents: u32"))
    new = api(rec("sku: string, price: u64") + "\n  g: func();")
    from_components = load_worlds([builder.component(old), builder.component(new)])
    from_wit = load_worlds([builder.wit_dir(old), builder.wit_dir(new)])
    strip = lambda fs: [(f.rule_id, f.path, f.old, f.new) for f in fs]
    assert strip(find_changes(*from_components)) == strip(find_changes(*from_wit))
    assert {f.rule_id for f in find_changes(*from_wit)} == {
        "record-field-removed", "record-field-added", "export-function-added"}


def test_components_carry_no_docs_so_no_doc_findings(builder: ComponentBuilder) -> None:
    case = next(c for c in CASES if c.rule == "doc-changed")
    (pair,) = Checker().check([builder.component(case.old), builder.component(case.new)]).pairs
    assert pair.findings == ()


def test_manual_verdict_across_snapshot_forms(builder: ComponentBuilder) -> None:
    old = builder.component(api(GET, "  export golem:api/save-snapshot@1.1.0;"))
    new = builder.component(api(GET, "  export golem:api/load-snapshot@1.5.0;"))
    (pair,) = Checker().check([old, new]).pairs
    assert pair.manual.value == "available"
    assert (pair.manual.save, pair.manual.load) == ("1.1.0", "1.5.0")
    (back,) = Checker().check([new, old]).pairs
    assert back.manual.value == "unavailable"
    assert "old revision exports no supported golem:api/save-snapshot" in back.manual.reason
    assert "new revision exports no supported golem:api/load-snapshot" in back.manual.reason


def test_unprovided_import_makes_manual_update_unavailable(builder: ComponentBuilder) -> None:
    snap = "  export golem:api/save-snapshot@1.1.0;\n  export golem:api/load-snapshot@1.1.0;"
    old = builder.component(api(GET, snap, extra=LEDGER))
    new = builder.component(api(GET, snap + "\n  import ledger;", extra=LEDGER))
    (pair,) = Checker().check([old, new]).pairs
    assert pair.manual.value == "unavailable"
    assert "Golem does not provide test:app/ledger" in pair.manual.reason
    (wasi,) = Checker(host="wasi").check([old, new]).pairs
    assert "A plain WASI 0.2 host does not provide test:app/ledger" in wasi.findings[0].message


def test_wasmcloud_message_names_a_full_rollout(builder: ComponentBuilder) -> None:
    case = next(c for c in CASES if c.rule == "import-needs-config")
    (pair,) = Checker(host="wasmcloud").check(list(_inputs(builder, case))).pairs
    assert pair.findings[0].message == (
        "wasmCloud needs a new link for test:app/ledger (a full rollout, not a plain update)"
    )
