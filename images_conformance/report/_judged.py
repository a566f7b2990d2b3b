"""A judged exchange (of a recording, or of the proxy) as a case of the report."""

from __future__ import annotations

from typing import Any

from images_conformance.judge import NOT_JUDGED, Judgement, rules_exercised
from validator import Level, Profile, Violation

from ._case import Case


def tally_finding(
    findings: dict[str, dict[str, Any]], v: Violation, gating: bool
) -> dict[str, Any]:
    """Count ``v`` under its rule in ``findings`` (level, count, whether any occurrence
    gates, the first message); returns the rule's entry."""
    entry = findings.get(v.rule)
    if entry is None:
        entry = findings[v.rule] = {
            "level": str(v.level),
            "count": 0,
            "gating": False,
            "first": str(v)[:4000],
        }
    entry["count"] += 1
    entry["gating"] = entry["gating"] or gating
    return entry


def case_from_judgement(
    name: str,
    judgement: Judgement,
    *,
    profile: Profile | None = None,
    strict: bool = False,
    evidence: list[dict[str, Any]] | None = None,
) -> Case:
    """The case of one judged exchange: the rules it exercised, what it found, its status
    (``failed`` on a gating finding, ``xfail`` with only non-gating ones, ``skipped`` when
    nothing was answered), and whether the answer was an images API's (when it was not,
    the report counts the case's rules as not judged, but those it found broken)."""
    rules, applied = rules_exercised(judgement, profile=profile)
    findings: dict[str, dict[str, Any]] = {}
    for v in judgement.violations:
        tally_finding(findings, v, v.level is Level.MUST or strict)
    case = Case(
        name,
        rules=rules,
        cases=1,
        requests=1,
        findings=findings,
        applied=applied,
        attempted=tuple(applied),
        evidence=list(evidence or []),
    )
    if judgement.outcome not in ("no-answer", NOT_JUDGED):  # nothing of the answer seen
        valid = judgement.outcome in ("served", "streamed", "not-served")
        problem = judgement.answer_problem
        case.api_answers = int(problem is None)
        case.valid_api_answers = int(problem is None and valid)
        case.answer_problem = problem
        case.valid_answer_problem = problem if valid else None
    if judgement.outcome == "no-answer":
        case.status, case.reason = "skipped", "no answer was recorded"
    elif judgement.outcome == NOT_JUDGED:
        case.status, case.reason = "skipped", judgement.notes[0] if judgement.notes else NOT_JUDGED
    elif any(f["gating"] for f in findings.values()):
        case.status = "failed"
        case.failure = next(f["first"] for f in findings.values() if f["gating"])
    elif findings:
        case.status, case.reason = "xfail", "only non-gating deviations"
    else:
        case.status = "passed"
    return case
