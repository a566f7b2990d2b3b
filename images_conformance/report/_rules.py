"""Cases folded into one outcome per rule (and per feature of the profile vocabulary).

Plain data in, plain data out. A case (:class:`~images_conformance.report.Case`) is a test
of the suite or one judged exchange of a recording; "test" below means either.

How a rule's outcome is decided from the cases that carry it, first match wins:

1. ``skipped``: the rule needs a feature the profile does not declare.
2. ``expected-failure`` / ``failed`` / ``warning``: some test found the rule broken (a
   finding of that rule), or some test carrying it failed without naming any rule (a
   suite defect, a setup error; for a positive rule, only when the test sent a request
   the rule applies to) while the target did answer as an images API.
   ``expected-failure`` when the rule is baselined; ``warning`` when the rule is SHOULD,
   strict mode is off and every failure is a finding of it (a SHOULD deviation);
   ``failed`` otherwise.
3. ``passed``: at least one test carrying it got an answer an images API gives (see
   :attr:`Case.not_judged`) and ran to the end (passed, or passed with only non-gating
   findings of other rules, or failed on another rule) and, for a positive rule (kinds
   response, stream, image), got a 200 answer to a request the rule applies to
   (:func:`rule_applies`): a test that carries every response rule but only sent
   dall-e-2 requests does not exercise ``image.transparency``.
4. ``not-judged``: a test carrying it ran but ended before the rule could be judged: the
   target did not answer it as an images API (no answer, HTTP 404/405/501, a body that is
   not JSON). The reason says which answer.
5. ``skipped``: every test carrying it was skipped because the profile lacks a feature
   (or a model family) the test needs.
6. ``not-exercised``: nothing above: deselected, not collected, stopped by the
   generation cap, skipped for another reason (auth off, ...), or no test carries it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from validator import FEATURES, RULES

from ._case import TEST_STATUSES, Case

POSITIVE_KINDS = ("response", "stream", "image")
"""Rules judged on served answers (the others: requests, errors, HTTP behaviour)."""
OUTCOMES = (
    "passed",
    "failed",
    "warning",
    "expected-failure",
    "not-judged",
    "skipped",
    "not-exercised",
)
"""Every outcome a rule can have in a report (docs/gating.md), in the order shown."""
_MESSAGE_LIMIT = 4000


@dataclass(frozen=True)
class RuleInfo:
    id: str
    level: str
    kind: str
    params: tuple[str, ...] = ()
    feature: str | None = None


def rule_catalogue(extra: Iterable[str] = ()) -> list[RuleInfo]:
    """Every rule a report lists: the validator's table, the suite's own HTTP rules, and any
    other id a test marker names."""
    out = [RuleInfo(r.id, str(r.level), r.kind, tuple(r.params), r.feature) for r in RULES.values()]
    seen = {r.id for r in out}
    for rule_id in sorted(set(extra) - seen):
        out.append(RuleInfo(rule_id, "unknown", rule_id.split(".", 1)[0]))
    return out


def rule_applies(rule_id: str, request: Mapping[str, Any], family: str | None) -> bool:
    """Whether a served answer to ``request`` gives a positive rule something to check
    (the table's Rule.applies_to; ids outside the table: True)."""
    rule = RULES.get(rule_id)
    return True if rule is None else rule.applies_to(request, family)


def known_rule_ids() -> set[str]:
    """The ids a baseline may name."""
    return {r.id for r in rule_catalogue()}


def _trim(text: str | None, limit: int = _MESSAGE_LIMIT) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit] + "… (cut)"


def rule_entries(
    tests: Iterable[Case],
    *,
    features: Iterable[str],
    strict: bool,
    baseline: Mapping[str, str],
    edition: Any = None,
) -> list[dict[str, Any]]:
    """One entry per rule (see the module docstring for how the outcome is decided).

    ``edition``: the Edition judged by; a rule it does not hold has no entry."""
    tests = list(tests)
    offered = set(features)
    catalogue = rule_catalogue(r for t in tests for r in t.rules)
    entries = []
    if edition is not None:
        catalogue = [i for i in catalogue if i.id not in RULES or edition.holds(RULES[i.id])]
    for info in catalogue:
        carrying = [t for t in tests if info.id in t.rules]
        failures: list[str] = []
        unattributed = False
        unjudged: list[str] = []
        ran: list[Case] = []
        positive = info.kind in POSITIVE_KINDS
        cases = 0
        for t in carrying:
            finding = t.findings.get(info.id)
            if finding is not None:
                failures.append(str(finding.get("first") or "broken"))
            elif t.not_judged:
                unjudged.append(t.not_judged)
                continue
            elif t.unattributed_failure and (
                not positive or t.attempted is None or info.id in t.attempted
            ):
                failures.append(t.failure or "the test failed")
                unattributed = True
            if not t.ran:
                continue
            if positive and t.applied is not None:
                if info.id in t.applied or finding is not None:
                    ran.append(t)
                    cases += t.applied.get(info.id, 0)
            else:
                ran.append(t)
                cases += t.cases
        reason: str | None = None
        if info.feature and info.feature not in offered:
            outcome = "skipped"
            reason = f"feature {info.feature!r} not declared by the profile"
        elif failures:
            if info.id in baseline:
                outcome = "expected-failure"
            elif info.level == "SHOULD" and not strict and not unattributed:
                outcome = "warning"
            else:
                outcome = "failed"
        elif ran:
            outcome = "passed"
        elif unjudged:
            outcome = "not-judged"
            reason = "; ".join(sorted(set(unjudged)))[:500]
        else:
            skipped = [t for t in carrying if t.status == "skipped"]
            if carrying and all(t.status == "skipped" and t.skipped_for_feature for t in carrying):
                outcome = "skipped"
            else:
                outcome = "not-exercised"
            reasons = sorted({t.reason for t in carrying if t.reason and not t.ran})
            if any(t.ran for t in carrying):
                reasons.insert(0, "no answer of this run gave the rule something to check")
            if not carrying:
                reason = "no test selected for this run carries the rule"
            elif reasons:
                reason = "; ".join(reasons)[:500]
            elif skipped:
                reason = "skipped"
            else:
                reason = "not run"
        gating = outcome == "failed" and (info.level == "MUST" or strict or info.level == "unknown")
        entries.append(
            {
                "id": info.id,
                "level": info.level,
                "kind": info.kind,
                "params": list(info.params),
                "feature": info.feature,
                "outcome": outcome,
                "gating": gating,
                "tests": len(ran),
                "cases": cases,
                "first_failure": _trim(failures[0]) if failures else None,
                "reason": reason,
                "baselined": info.id in baseline,
                "baseline_reason": baseline.get(info.id),
                "can_be_tightened": info.id in baseline and outcome == "passed",
            }
        )
    return entries


def feature_rows(tests: Iterable[Case], features: Iterable[str]) -> list[dict[str, Any]]:
    """Per feature of the profile vocabulary: declared or not, and what its tests did."""
    tests = list(tests)
    offered = set(features)
    rows = []
    for name, description in FEATURES.items():
        mine = [t for t in tests if name in t.features]
        counts = {s: sum(1 for t in mine if t.status == s) for s in TEST_STATUSES}
        rows.append(
            {
                "feature": name,
                "description": description,
                "declared": name in offered,
                "tests": len(mine),
                **counts,
                "generations": sum(t.generations for t in mine),
            }
        )
    return rows
