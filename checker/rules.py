"""The rule catalogue: every kind of change the checker reports, with a stable kebab-case id.

One :class:`Rule` per kind of change: its default severity, the update verdicts it affects, the
verdicts a finding of it *proves* failing (``breaks``), a one-line summary, an explanation and a
before/after example (``hotupdate-check --explain RULE``). IDs never change and are never
reused; a rule that is retired stays in the catalogue.

The rules are grouped by family in small tuples and gathered in :data:`RULES`.
"""

from __future__ import annotations

import enum

from dataclasses import dataclass

__all__ = ["RULES", "Rule", "Severity", "Verdict", "get_rule", "rule_ids"]


class Severity(str, enum.Enum):
    """How bad a finding is; ``--fail-on`` compares against it."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """3 for error, 2 for warning, 1 for info."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Verdict(str, enum.Enum):
    """The two ways a running worker moves to a new revision."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


A = (Verdict.AUTOMATIC,)
M = (Verdict.MANUAL,)
AM = (Verdict.AUTOMATIC, Verdict.MANUAL)
NONE: tuple[Verdict, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One kind of change.

    Attributes:
        id: stable kebab-case identifier (``export-function-removed``).
        severity: the default severity (configurable per project).
        family: the group it belongs to (exports, functions, types, resources, imports,
            snapshots, docs).
        affects: the update verdicts it is about.
        breaks: the verdicts one finding of it proves failing (for workers that used the item):
            ``automatic`` -> ``incompatible``; ``manual`` -> ``unavailable``.
        summary: one line.
        explanation: why it matters for a running worker.
        before, after: a minimal WIT example of the change.
    """

    id: str
    severity: Severity
    family: str
    affects: tuple[Verdict, ...]
    summary: str
    explanation: str
    before: str
    after: str
    breaks: tuple[Verdict, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "family": self.family,
            "affects": [v.value for v in self.affects],
            "breaks": [v.value for v in self.breaks],
            "summary": self.summary,
            "explanation": self.explanation,
            "before": self.before,
            "after": self.after,
        }


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

_REPLAY_MISSING = (
    "Automatic update replays the worker's whole oplog on the new revision; a recorded "
    "invocation of an item that no longer exists cannot be replayed, so the update fails for "
    "every worker that ever called it (the worker stays on the old revision)."
)

EXPORT_RULES = (
    Rule("export-interface-removed", E, "exports", A,
         "An exported interface is gone.", _REPLAY_MISSING,
         "world w { export api; }", "world w { }", breaks=A),
    Rule("export-interface-renamed", E, "exports", A,
         "An exported interface was renamed (same functions, new name).",
         "Recorded invocations name the interface (`pkg:ns/api.{f}`); after a rename they name "
         "nothing, so replay fails for every worker that called it. " + "Keep the old name "
         "exported next to the new one if workers must update automatically.",
         "interface api { f: func(); }", "interface service { f: func(); }", breaks=A),
    Rule("export-interface-added", I, "exports", NONE,
         "A new interface is exported.",
         "Old histories never call it: replay is unaffected.",
         "world w { export api; }", "world w { export api; export admin; }"),
    Rule("export-version-changed", E, "exports", A,
         "The package version of an exported interface changed.",
         "Recorded invocation names carry the interface's full name, version included "
         "(`pkg:ns/api@1.0.0.{f}`); after the bump they no longer resolve. Keep the version, or "
         "update workers manually (snapshot).",
         "package pkg:ns@1.0.0;", "package pkg:ns@1.1.0;", breaks=A),
    Rule("export-function-removed", E, "exports", A,
         "An exported function is gone.", _REPLAY_MISSING,
         "increment: func(by: u64) -> u64;", "(removed)", breaks=A),
    Rule("export-function-renamed", E, "exports", A,
         "An exported function was renamed (same signature, new name).",
         "Recorded invocations name the function; the old name no longer exists, so replay "
         "fails for every worker that called it.",
         "total-cents: func() -> u64;", "total: func() -> u64;", breaks=A),
    Rule("export-function-added", I, "exports", NONE,
         "A new function is exported.",
         "Old histories never call it: replay is unaffected.",
         "get: func() -> u64;", "get: func() -> u64;\nreset: func();"),
)

FUNCTION_RULES = (
    Rule("param-added", E, "functions", A,
         "A function has a new parameter.",
         "Recorded invocations carry the old number of arguments; they no longer type-check "
         "against the new signature, so replay fails.",
         "f: func(a: u32);", "f: func(a: u32, b: u32);", breaks=A),
    Rule("param-removed", E, "functions", A,
         "A function lost a parameter.",
         "Recorded invocations carry an argument the new signature has no place for: replay "
         "fails.",
         "f: func(a: u32, b: u32);", "f: func(a: u32);", breaks=A),
    Rule("param-renamed", I, "functions", NONE,
         "A parameter was renamed (same position and type).",
         "Arguments are recorded by position: replay is unaffected. Callers that name "
         "arguments must follow the rename.",
         "f: func(speed: u32);", "f: func(speed-ms: u32);"),
    Rule("param-reordered", E, "functions", A,
         "The same parameters in a different order.",
         "Arguments are recorded by position: replaying old invocations passes each value to "
         "the wrong parameter (or fails to type-check).",
         "f: func(a: u32, b: string);", "f: func(b: string, a: u32);", breaks=A),
    Rule("param-type-changed", E, "functions", A,
         "A parameter's type changed incompatibly.",
         "Recorded arguments are values of the old type; they do not fit the new one, so "
         "replay fails for workers that called the function.",
         "f: func(id: string);", "f: func(id: u64);", breaks=A),
    Rule("param-type-widened", I, "functions", A,
         "A parameter accepts more values than before.",
         "Every recorded argument still fits (a parameter may widen): replay is unaffected.",
         "f: func(n: u32);", "f: func(n: u64);"),
    Rule("param-type-narrowed", W, "functions", A,
         "A parameter accepts fewer values than before.",
         "Recorded arguments outside the new range no longer type-check: replay fails for "
         "workers that passed such values.",
         "f: func(n: u64);", "f: func(n: u32);"),
    Rule("result-type-changed", E, "functions", A,
         "A function's result type changed incompatibly (or was added or removed).",
         "Replay compares each re-executed invocation's result with the recorded one; a result "
         "of another type never matches, so replay diverges.",
         "f: func() -> u32;", "f: func() -> string;", breaks=A),
    Rule("result-type-widened", W, "functions", A,
         "A function can return values the old type could not.",
         "Replay still matches when the new code returns the same values, but callers built "
         "against the old type (and recorded results) cannot represent the new ones.",
         "f: func() -> u32;", "f: func() -> u64;"),
    Rule("result-type-narrowed", I, "functions", A,
         "A function returns a subset of the old type's values.",
         "Every new result is a valid old result (a result may narrow): callers and replay are "
         "unaffected as long as the values are the same.",
         "f: func() -> u64;", "f: func() -> u32;"),
)

TYPE_RULES = (
    Rule("type-kind-changed", E, "types", A,
         "A named type changed kind (record, variant, enum, flags, resource, alias).",
         "Recorded values of the old kind cannot be read as the new kind: replay fails for "
         "workers whose history carries the type.",
         "record id { v: u64 }", "variant id { num(u64), text(string) }", breaks=A),
    Rule("record-field-added", E, "types", A,
         "A record has a new (non-option) field.",
         "Recorded values lack the field, so they no longer type-check; results now carry a "
         "field old records lack. Add it as `option<T>` to keep old values valid.",
         "record item { sku: string }", "record item { sku: string, qty: u32 }", breaks=A),
    Rule("record-option-field-added", W, "types", A,
         "A record has a new `option<T>` field.",
         "Recorded values may leave an option field out (it reads as `none`), so old "
         "arguments still fit; results carry a field old callers do not know.",
         "record item { sku: string }", "record item { sku: string, note: option<string> }"),
    Rule("record-field-removed", E, "types", A,
         "A record lost a field.",
         "Recorded values carry a field the new type does not have: they no longer type-check.",
         "record item { sku: string, price-cents: u32 }", "record item { sku: string }",
         breaks=A),
    Rule("record-field-renamed", E, "types", A,
         "A record field was renamed (same position and type).",
         "Recorded values name their fields; the old name no longer exists.",
         "record item { price-cents: u32 }", "record item { price: u32 }", breaks=A),
    Rule("record-field-reordered", W, "types", A,
         "A record's fields are in a different order.",
         "The canonical ABI lays fields out by position: a host or caller that records values "
         "positionally reads them into the wrong fields.",
         "record p { x: s32, y: s32 }", "record p { y: s32, x: s32 }"),
    Rule("record-field-type-changed", E, "types", A,
         "A record field's type changed incompatibly.",
         "Recorded values of the field do not fit the new type.",
         "record item { price: u32 }", "record item { price: money }", breaks=A),
    Rule("record-field-type-widened", W, "types", A,
         "A record field accepts more values than before.",
         "Old values still fit; where the record is a result, callers built against the old "
         "type cannot represent every new value.",
         "record item { quantity: u16 }", "record item { quantity: u32 }"),
    Rule("record-field-type-narrowed", W, "types", A,
         "A record field accepts fewer values than before.",
         "Recorded values outside the new range no longer type-check.",
         "record item { quantity: u32 }", "record item { quantity: u16 }"),
    Rule("variant-case-added", W, "types", A,
         "A variant has a new case.",
         "Old values still fit; where the variant is a result, callers built against the old "
         "type cannot decode the new case.",
         "variant err { not-found(string) }",
         "variant err { not-found(string), mismatch(currency) }"),
    Rule("variant-case-removed", E, "types", A,
         "A variant lost a case.",
         "Recorded values with that case no longer type-check: replay fails for workers whose "
         "history carries it.",
         "variant shape { circle(f64), square(f64) }", "variant shape { circle(f64) }",
         breaks=A),
    Rule("variant-case-renamed", E, "types", A,
         "A variant case was renamed (same position and payload).",
         "Recorded values name the case; the old name no longer exists.",
         "variant d { pct(u8) }", "variant d { percent(u8) }", breaks=A),
    Rule("variant-case-type-changed", E, "types", A,
         "A variant case's payload changed incompatibly (or was added or removed).",
         "Recorded values of the case do not fit the new payload.",
         "variant d { fixed(u32) }", "variant d { fixed(string) }", breaks=A),
    Rule("variant-case-type-widened", W, "types", A,
         "A variant case's payload accepts more values than before.",
         "Old values still fit; callers built against the old type may not decode new ones.",
         "variant d { fixed(u32) }", "variant d { fixed(u64) }"),
    Rule("variant-case-type-narrowed", W, "types", A,
         "A variant case's payload accepts fewer values than before.",
         "Recorded values outside the new range no longer type-check.",
         "variant d { fixed(u64) }", "variant d { fixed(u32) }"),
    Rule("enum-case-added", W, "types", A,
         "An enum has a new case.",
         "Old values still fit; where the enum is a result, callers built against the old type "
         "cannot decode the new case.",
         "enum currency { usd, eur }", "enum currency { usd, eur, gbp }"),
    Rule("enum-case-removed", E, "types", A,
         "An enum lost a case.",
         "Recorded values with that case no longer type-check.",
         "enum currency { usd, eur, gbp }", "enum currency { usd, eur }", breaks=A),
    Rule("enum-case-renamed", E, "types", A,
         "An enum case was renamed (same position).",
         "Recorded values name the case; the old name no longer exists.",
         "enum color { grey }", "enum color { gray }", breaks=A),
    Rule("flags-flag-added", W, "types", A,
         "A flags type has a new flag.",
         "Old values still fit; callers built against the old type may not decode the new "
         "flag.",
         "flags perms { read, write }", "flags perms { read, write, exec }"),
    Rule("flags-flag-removed", E, "types", A,
         "A flags type lost a flag.",
         "Recorded values with that flag set no longer type-check.",
         "flags perms { read, write, exec }", "flags perms { read, write }", breaks=A),
    Rule("type-alias-changed", E, "types", A,
         "A type alias now stands for an incompatible type.",
         "Recorded values of the alias do not fit the new type.",
         "type id = string;", "type id = u64;", breaks=A),
    Rule("type-alias-widened", W, "types", A,
         "A type alias now stands for a wider type.",
         "Old values still fit; where it is a result, callers built against the old type "
         "cannot represent every new value.",
         "type item-id = u32;", "type item-id = u64;"),
    Rule("type-alias-narrowed", W, "types", A,
         "A type alias now stands for a narrower type.",
         "Recorded values outside the new range no longer type-check.",
         "type item-id = u64;", "type item-id = u32;"),
)

RESOURCE_RULES = (
    Rule("resource-removed", E, "resources", A,
         "An exported resource is gone (with its constructor and methods).", _REPLAY_MISSING,
         "resource cart { constructor(owner: string); }", "(removed)", breaks=A),
    Rule("resource-added", I, "resources", NONE,
         "A new resource is exported.", "Old histories never use it: replay is unaffected.",
         "(none)", "resource cart { constructor(owner: string); }"),
    Rule("resource-method-removed", E, "resources", A,
         "A resource lost its constructor, a method or a static function.", _REPLAY_MISSING,
         "resource cart { total-cents: func() -> u64; }", "resource cart { }", breaks=A),
    Rule("resource-method-renamed", E, "resources", A,
         "A resource method was renamed (same signature, new name).",
         "Recorded invocations name the method (`api.{cart.total-cents}`); the old name no "
         "longer exists.",
         "resource cart { total-cents: func() -> u64; }",
         "resource cart { total: func() -> u64; }", breaks=A),
    Rule("resource-method-added", I, "resources", NONE,
         "A resource has a new method.", "Old histories never call it: replay is unaffected.",
         "resource cart { }", "resource cart { item-count: func() -> u32; }"),
)

IMPORT_RULES = (
    Rule("import-not-provided", E, "imports", AM,
         "A new import that the target host does not provide.",
         "The new revision cannot be instantiated on that host: neither an automatic nor a "
         "manual update can succeed (the worker stays on the old revision).",
         "world w { }", "world w { import acme:billing/ledger; }", breaks=AM),
    Rule("import-needs-config", W, "imports", AM,
         "A new import that the host provides only with new configuration.",
         "On wasmCloud a new capability needs a new link (a full rollout, not a plain "
         "update); configure it before the update.",
         "world w { }", "world w { import wasi:keyvalue/store@0.2.0-draft; }"),
    Rule("import-added", W, "imports", A,
         "A new import (provided by the host).",
         "If code paths that old invocations take now call it, replay meets host calls the "
         "oplog never recorded and diverges; new code paths are fine.",
         "world w { }", "world w { import wasi:clocks/wall-clock@0.2.0; }"),
    Rule("import-removed", W, "imports", A,
         "An import is gone.",
         "Histories that recorded calls to it now expect host calls the new code never makes: "
         "replay of those workers diverges.",
         "world w { import wasi:random/random@0.2.0; }", "world w { }"),
    Rule("import-function-added", W, "imports", A,
         "An imported interface has a new function in use.",
         "If old code paths now call it, replay meets unrecorded host calls and diverges.",
         "interface oracle { ask: func(q: string) -> u64; }",
         "interface oracle { ask: func(q: string) -> u64; hint: func() -> string; }"),
    Rule("import-function-removed", W, "imports", A,
         "A function of an imported interface is no longer used.",
         "Histories that recorded calls to it diverge on replay.",
         "interface oracle { ask: func(q: string) -> u64; hint: func() -> string; }",
         "interface oracle { ask: func(q: string) -> u64; }"),
    Rule("import-function-changed", E, "imports", AM,
         "An imported function's signature changed (same interface and version).",
         "The host implements the interface as it was: the new revision cannot link against "
         "it, and recorded host results no longer fit.",
         "ask: func(q: string) -> u64;", "ask: func(q: string, n: u32) -> u64;", breaks=AM),
    Rule("import-version-changed", I, "imports", A,
         "An imported interface changed package version.",
         "Hosts provide the versions they support side by side and record host calls by "
         "function name: usually harmless.",
         "import wasi:clocks/wall-clock@0.2.0;", "import wasi:clocks/wall-clock@0.2.3;"),
)

SNAPSHOT_RULES = (
    Rule("snapshot-export-added", I, "snapshots", M,
         "A snapshot interface (`golem:api/save-snapshot` or `load-snapshot`) is newly "
         "exported.",
         "With `save-snapshot` the new revision can later be updated from manually; with "
         "`load-snapshot` it can be updated to.",
         "world w { export api; }", "world w { export api; export golem:api/save-snapshot@1.1.0; }"),
    Rule("snapshot-export-removed", W, "snapshots", M,
         "A snapshot interface is no longer exported.",
         "Without `save-snapshot` workers on the new revision cannot be updated manually to a "
         "later one; without `load-snapshot` no manual update can reach it.",
         "world w { export golem:api/save-snapshot@1.1.0; }", "world w { }"),
    Rule("snapshot-version-changed", I, "snapshots", M,
         "A snapshot interface changed version (e.g. 1.1.0 `list<u8>` -> 1.5.0 `snapshot`).",
         "Golem calls whichever supported version a revision exports; bytes saved by one form "
         "reach the other as the payload. Make sure `load` accepts what the old `save` wrote.",
         "export golem:api/save-snapshot@1.1.0;", "export golem:api/save-snapshot@1.5.0;"),
    Rule("snapshot-export-unsupported", W, "snapshots", M,
         "A snapshot interface with an unknown version or the wrong signature.",
         "Supported: golem:api 0.2.0, 0.2.2, 1.1.0, 1.1.6, 1.1.7, 1.3.0 (`save: func() -> "
         "list<u8>`, `load: func(bytes: list<u8>) -> result<_, string>`) and 1.5.0 (the "
         "`snapshot` record). Anything else is not used for manual updates.",
         "export golem:api/save-snapshot@1.1.0;", "export golem:api/save-snapshot@9.0.0;"),
)

DOC_RULES = (
    Rule("doc-changed", I, "docs", NONE,
         "Only a doc comment changed (WIT inputs: components carry no docs).",
         "Docs never reach the runtime: replay and snapshots are unaffected.",
         "/// Adds one.\ninc: func();", "/// Adds one to the counter.\ninc: func();"),
)

#: Every rule, in catalogue order.
RULES: tuple[Rule, ...] = (
    EXPORT_RULES + FUNCTION_RULES + TYPE_RULES + RESOURCE_RULES + IMPORT_RULES
    + SNAPSHOT_RULES + DOC_RULES
)
_BY_ID = {rule.id: rule for rule in RULES}


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; ``KeyError`` for an unknown one."""
    return _BY_ID[rule_id]


def rule_ids() -> tuple[str, ...]:
    return tuple(_BY_ID)
