"""The rule catalogue: every kind of change the checker reports, with a stable kebab-case id.

Each family module (exports, functions, types, resources, imports, snapshots, docs) defines its
rules as one declarative :class:`Rule` each (default severity, the update verdicts it affects,
the verdicts a finding of it *proves* failing (``breaks``), a one-line summary, an explanation,
a before/after example for ``hotupdate-check --explain RULE``, and the check that emits it),
with the id written out where the rule is defined and where its check emits it. They are
registered in one list, :data:`RULES`, in catalogue order. IDs never change and are never
reused; a rule that is retired stays in the catalogue.
"""

from __future__ import annotations

from . import docs, exports, functions, imports, resources, snapshots, types
from .base import Rule, Severity, Verdict

__all__ = ["RULES", "Rule", "Severity", "Verdict", "get_rule", "rule_ids"]

#: Every rule, in catalogue order.
RULES: tuple[Rule, ...] = (
    *exports.RULES,
    *functions.RULES,
    *types.RULES,
    *resources.RULES,
    *imports.RULES,
    *snapshots.RULES,
    *docs.RULES,
)
_BY_ID = {rule.id: rule for rule in RULES}


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; ``KeyError`` for an unknown one."""
    return _BY_ID[rule_id]


def rule_ids() -> tuple[str, ...]:
    """Every rule id, in catalogue order."""
    return tuple(_BY_ID)
