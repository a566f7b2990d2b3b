"""Per-test verdicts: which rules a test saw broken, and whether that fails the test.

A test hands every judged exchange to :meth:`Verdict.check` with the violations the
validator found. Violations that *gate* (MUST rules; SHOULD rules too in strict mode)
raise :class:`ConformanceFailure` at once, with a message a person can act on. The
others (SHOULD rules outside strict mode, and rules the profile lists as known
failures) are collected; the plugin turns a test that passed with such findings into
an ``xfail`` whose reason lists them.

Every test also leaves a machine-readable record in ``user_properties`` under the key
``"images_conformance"`` (see :data:`RECORD_KEY` and docs/suite.md); it reaches the
controller process under pytest-xdist and the JUnit XML. The record's ``evidence`` (for
the conformance report, not the JUnit XML; built only when a report is asked for) shows
one exchange: the last one that failed the test, else the first with findings, else the
first judged (see ``images_conformance/report/_evidence.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from images_conformance.exchanges._client import Exchange, Target
from images_conformance.exchanges._secrets import sanitize
from images_conformance.report._evidence import exchange_evidence
from validator import Level, Violation

if TYPE_CHECKING:
    from images_conformance.judge import Judgement

_VALID_OUTCOMES = ("served", "streamed", "not-served")

RECORD_KEY = "images_conformance"
SHOULD_PREFIX = "SHOULD-level deviation (not gating outside strict mode)"
KNOWN_PREFIX = "known failure (listed in the profile or the baseline)"


class ConformanceFailure(AssertionError):
    """A gating deviation of the target, with the full human-readable account."""


class SuiteError(Exception):
    """A defect of the suite itself (never a verdict on the target)."""


@dataclass
class Verdict:
    """The findings of one test."""

    nodeid: str
    rules: tuple[str, ...]
    """The rule ids the test exercises (its ``rules`` marker)."""
    strict: bool = False
    known_failures: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    generated: bool = False
    """True once the test draws cases with hypothesis (the seed then matters)."""
    cases: int = 0
    """Exchanges judged."""
    requests: int = 0
    generations: int = 0
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rule id -> {"level", "count", "gating", "first"}."""
    not_exercised: str | None = None
    api_answers: int = 0
    """Answers an images API gives (JSON, or an event stream asked for)."""
    valid_api_answers: int = 0
    """Of which, answers to valid requests."""
    answer_problem: str | None = None
    """The first answer that was not an images API's (why), see judge.answer_problem."""
    valid_answer_problem: str | None = None
    """The first answer to a valid request that was not an images API's."""
    failure: str | None = None
    """The message of the gating failure, when the test failed on one."""
    target: Target | None = field(default=None, repr=False)
    keep_evidence: bool = True
    """Whether the record carries evidence (False: no report asked for it, save the work)."""
    _start: tuple[int, int] = (0, 0)
    _shown: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """The exchanges the evidence may show: "first", "finding", "failing" -> their judgement."""

    def __post_init__(self) -> None:
        if self.target is not None:
            self._start = (self.target.requests, self.target.generations)

    def count_traffic(self) -> None:
        """Set ``requests`` and ``generations`` to what the target counted since the start."""
        if self.target is not None:
            self.requests = self.target.requests - self._start[0]
            self.generations = self.target.generations - self._start[1]

    # -- deciding ------------------------------------------------------------------------
    def gates(self, violation: Violation) -> bool:
        """Whether this violation fails the test."""
        if violation.rule in self.known_failures:
            return False
        return violation.level is Level.MUST or self.strict

    def record(self, violations: Iterable[Violation]) -> list[Violation]:
        """Note the violations; return the gating ones."""
        gating = []
        for v in violations:
            entry = self.findings.get(v.rule)
            if entry is None:
                entry = self.findings[v.rule] = {
                    "level": str(v.level),
                    "count": 0,
                    "gating": False,
                    "first": sanitize(f"{v}"),
                }
            entry["count"] += 1
            if self.gates(v):
                entry["gating"] = True
                gating.append(v)
        return gating

    def check(
        self,
        exchange: Exchange | None,
        violations: Iterable[Violation],
        *,
        what: str = "",
        extra: str = "",
        judgement: Judgement | None = None,
    ) -> None:
        """Judge one exchange: raise ConformanceFailure if a gating rule is broken.

        ``judgement``: the judge's, to note whether the answer was an images API's and
        what the GETs of returned urls gave (for the evidence)."""
        violations = list(violations)
        self.cases += 1
        if judgement is not None:
            self.note_answer(judgement.answer_problem, valid=judgement.outcome in _VALID_OUTCOMES)
        gating = self.record(violations)
        self._keep(
            exchange,
            violations,
            gating,
            what=what,
            problem=extra or None,
            fetched=judgement.fetched if judgement is not None else None,
            items=judgement.items if judgement is not None else None,
            items_left=judgement.items_left if judgement is not None else 0,
        )
        if gating:
            others = [v for v in violations if v not in gating]
            self.fail(
                format_failure(gating, others, exchange, what=what, extra=extra, seed=self._seed())
            )

    def note_answer(self, problem: str | None, *, valid: bool) -> None:
        """Count one answer: an images API's (``problem`` None) or not (why)."""
        if problem is None:
            self.api_answers += 1
            self.valid_api_answers += int(valid)
            return
        self.answer_problem = self.answer_problem or problem
        if valid:
            self.valid_answer_problem = self.valid_answer_problem or problem

    def _seed(self) -> int | None:
        return self.seed if self.generated else None

    def fail(self, message: str) -> None:
        """Fail the test with a message that names no single rule (no answer, 5xx, ...)."""
        message = sanitize(message)
        if self.failure is None:
            self.failure = message
        raise ConformanceFailure(message)

    def fail_exchange(self, exchange: Exchange, problem: str, *, what: str = "") -> None:
        """Fail because the exchange itself went wrong (transport error, not JSON, ...)."""
        self.cases += 1
        self.note_answer(problem, valid=False)
        self._keep(exchange, [], [], what=what, problem=problem, failing=True)
        self.fail(format_failure([], [], exchange, what=what, extra=problem, seed=self._seed()))

    def _keep(
        self,
        exchange: Exchange | None,
        violations: list[Violation],
        gating: list[Violation],
        *,
        failing: bool = False,
        **context: Any,
    ) -> None:
        """Remember the exchange if the evidence may show it (built later, in as_record)."""
        if exchange is None or not self.keep_evidence:
            return
        entry = {"exchange": exchange, "violations": violations, "gating": gating, **context}
        self._shown.setdefault("first", entry)
        if violations:
            self._shown.setdefault("finding", entry)
        if gating or failing:
            self._shown["failing"] = entry  # the last: after shrinking, hypothesis's minimal case

    def evidence(self) -> list[dict[str, Any]]:
        """The evidence of the one exchange this test's record shows (or none)."""
        shown = self._shown
        entry = shown.get("failing") or shown.get("finding") or shown.get("first")
        if entry is None:
            return []
        entry = dict(entry)
        gating = {v.rule for v in entry.pop("gating")}
        try:
            return [
                exchange_evidence(
                    entry.pop("exchange"), entry.pop("violations"), gating=gating, **entry
                )
            ]
        except Exception as exc:  # the evidence must never cost the verdict
            return [{"problem": f"no evidence: {type(exc).__name__}: {exc}"}]

    # -- reporting -----------------------------------------------------------------------
    def non_gating_reason(self) -> str | None:
        """The xfail reason when the test found only non-gating deviations, else None."""
        should = [
            r for r, f in self.findings.items() if not f["gating"] and r not in self.known_failures
        ]
        known = [
            r for r, f in self.findings.items() if not f["gating"] and r in self.known_failures
        ]
        parts = []
        if should:
            parts.append(f"{SHOULD_PREFIX}: " + ", ".join(should))
        if known:
            parts.append(
                f"{KNOWN_PREFIX}: " + ", ".join(f"{r} ({self.known_failures[r]})" for r in known)
            )
        return "; ".join(parts) or None

    def as_record(self) -> dict[str, Any]:
        """Plain data for ``user_properties`` (JSON-serializable, survives xdist), made once
        the test is over: the exchanges kept for the evidence (each body up to the size
        cap) are let go, so no finished test holds one."""
        evidence = self.evidence()
        self._shown = {}
        return {
            "rules": list(self.rules),
            "cases": self.cases,
            "requests": self.requests,
            "generations": self.generations,
            "findings": {rule: dict(entry) for rule, entry in self.findings.items()},
            "not_exercised": self.not_exercised,
            "api_answers": self.api_answers,
            "valid_api_answers": self.valid_api_answers,
            "answer_problem": self.answer_problem,
            "valid_answer_problem": self.valid_answer_problem,
            "failure": self.failure[:4000] if self.failure else None,
            "evidence": evidence,
        }


SHOWN_PER_RULE = 5
"""Violations of one rule listed in a failure message (a hostile answer can break a rule
once per item or event); the rest are counted."""


def _listed(violations: list[Violation]) -> list[str]:
    shown: dict[str, int] = {}
    lines: list[str] = []
    for v in violations:
        shown[v.rule] = shown.get(v.rule, 0) + 1
        if shown[v.rule] <= SHOWN_PER_RULE:
            lines.append(f"  - {v}")
    lines.extend(
        f"  - ... and {n - SHOWN_PER_RULE} more of {rule}"
        for rule, n in shown.items()
        if n > SHOWN_PER_RULE
    )
    return lines


def format_failure(
    gating: list[Violation],
    others: list[Violation],
    exchange: Exchange | None,
    *,
    what: str = "",
    extra: str = "",
    seed: int | None = None,
) -> str:
    """The failure message: rules, what was sent (curl), what came back, how to rerun."""
    lines: list[str] = []
    if gating:
        rules = sorted({v.rule for v in gating})
        lines.append(f"{len(rules)} gating rule(s) broken: {', '.join(rules)}")
    if what:
        lines.append(what)
    if extra:
        lines.append(extra)
    lines.extend(_listed(gating))
    if others:
        lines.append("also seen (not gating):")
        lines.extend(_listed(others))
    if exchange is not None:
        lines.append("sent (reproduce with):")
        lines.append("  " + exchange.curl().replace("\n", "\n  "))
        lines.append("received:")
        lines.append("  " + exchange.describe().replace("\n", "\n  "))
    if seed is not None:
        lines.append(
            f"hypothesis seed: {seed} (rerun this test with --conformance-seed {seed} "
            "to get the same cases)"
        )
    return sanitize("\n".join(lines))
