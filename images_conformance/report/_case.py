"""A case: one unit the report counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEST_STATUSES = ("passed", "failed", "xfail", "skipped", "not-exercised")


@dataclass
class Case:
    """One unit the report counts: a test of the suite, or one judged exchange of a
    recording (or of the proxy), with the rules it carried and what it found."""

    nodeid: str
    """The case's name: a pytest node id, or ``FILE#N`` for exchange N of a recording."""
    rules: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    status: str = "not-exercised"
    """passed, failed, xfail (passed with non-gating findings), skipped, not-exercised."""
    skipped_for_feature: bool = False
    """For ``skipped``: the profile lacks a feature or model family the test needs."""
    reason: str | None = None
    """Why it was skipped or not exercised."""
    cases: int = 0
    requests: int = 0
    generations: int = 0
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure: str | None = None
    applied: dict[str, int] | None = None
    """Positive rule -> 200 answers it applied to (None: unknown, count the marker)."""
    attempted: tuple[str, ...] | None = None
    """Positive rules that applied to any request sent expecting service."""
    rule_cases: list[tuple[Any, ...]] = field(default_factory=list)
    """(rule, family, feature) cases its answered requests exercised (the suite's plan)."""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """What the case saw (exchanges, trimmed), for the renderers that show it."""
    api_answers: int | None = None
    """Answers of the target that were an images API's (None: not counted)."""
    valid_api_answers: int | None = None
    """Of which, answers to valid requests (requests the target had to serve)."""
    answer_problem: str | None = None
    """The first answer that was not an images API's, and why (``judge.answer_problem``)."""
    valid_answer_problem: str | None = None
    """The first answer to a valid request that was not an images API's."""

    @property
    def ran(self) -> bool:
        return self.status in ("passed", "failed", "xfail")

    @property
    def not_judged(self) -> str | None:
        """Why the case's own rules were not judged: it ran, but got no answer an images
        API gives (no answer, HTTP 404/405/501, a body that is not JSON); else None."""
        if self.ran and self.answer_problem is not None and not self.api_answers:
            return f"the target did not answer as an images API ({self.answer_problem})"
        return None

    @property
    def unattributed_failure(self) -> bool:
        """Failed, but no finding of a rule gated (no answer, suite defect, setup error)."""
        return self.status == "failed" and not any(f.get("gating") for f in self.findings.values())


TestResult = Case
"""The name a test of the suite's case had before recordings were counted too."""
