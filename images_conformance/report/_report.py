"""The conformance report: per-test results folded into one outcome per rule, JSON and Markdown.

The format is documented in docs/gating.md (``format_version`` 1). Everything here is
plain data in, plain data out: the pytest side (collecting results, exit codes) lives in
``conformance_tests/_gate.py``.

How a rule's outcome is decided from the tests that carry it in their ``rules`` marker,
first match wins:

1. ``skipped``: the rule needs a feature the profile does not declare.
2. ``expected-failure`` / ``failed``: some test found the rule broken (a finding of that
   rule), or some test carrying it failed without naming any rule (no answer, a suite
   defect, a setup error; for a positive rule, only when the test sent a request the rule
   applies to). ``expected-failure`` when the rule is baselined.
3. ``passed``: at least one test carrying it ran to the end (passed, or passed with
   only non-gating findings of other rules, or failed on another rule) and, for a
   positive rule (kinds response, stream, image), got a 200 answer to a request the rule
   applies to (:func:`rule_applies`): a test that carries every response rule but only
   sent dall-e-2 requests does not exercise ``image.transparency``.
4. ``skipped``: every test carrying it was skipped because the profile lacks a feature
   (or a model family) the test needs.
5. ``not-exercised``: nothing above: deselected, not collected, stopped by the
   generation cap, skipped for another reason (auth off, ...), or no test carries it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator import FEATURES, RULES

REPORT_FORMAT_VERSION = 1
POSITIVE_KINDS = ("response", "stream", "image")
"""Rules judged on served answers (the others: requests, errors, HTTP behaviour)."""
OUTCOMES = ("passed", "failed", "skipped", "expected-failure", "not-exercised")
TEST_STATUSES = ("passed", "failed", "xfail", "skipped", "not-exercised")
_MESSAGE_LIMIT = 4000


@dataclass
class TestResult:
    """What one test of the suite did, as seen in its reports."""

    nodeid: str
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

    @property
    def ran(self) -> bool:
        return self.status in ("passed", "failed", "xfail")

    @property
    def unattributed_failure(self) -> bool:
        """Failed, but no finding of a rule gated (no answer, suite defect, setup error)."""
        return self.status == "failed" and not any(f.get("gating") for f in self.findings.values())


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
    tests: Iterable[TestResult],
    *,
    features: Iterable[str],
    strict: bool,
    baseline: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One entry per rule (see the module docstring for how the outcome is decided)."""
    tests = list(tests)
    offered = set(features)
    catalogue = rule_catalogue(r for t in tests for r in t.rules)
    entries = []
    for info in catalogue:
        carrying = [t for t in tests if info.id in t.rules]
        failures: list[str] = []
        ran: list[TestResult] = []
        positive = info.kind in POSITIVE_KINDS
        cases = 0
        for t in carrying:
            finding = t.findings.get(info.id)
            if finding is not None:
                failures.append(str(finding.get("first") or "broken"))
            elif t.unattributed_failure and (
                not positive or t.attempted is None or info.id in t.attempted
            ):
                failures.append(t.failure or "the test failed")
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
            outcome = "expected-failure" if info.id in baseline else "failed"
        elif ran:
            outcome = "passed"
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


def feature_rows(tests: Iterable[TestResult], features: Iterable[str]) -> list[dict[str, Any]]:
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


# -- secrets -------------------------------------------------------------------------------
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"']+@")


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every secret string, and any user:password@ of a URL, replaced by ``***``."""
    words = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def clean(text: str) -> str:
        for word in words:
            text = text.replace(word, "***")
        return _USERINFO.sub(r"\1***@", text)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return clean(v)
        if isinstance(v, Mapping):
            return {clean(str(k)): walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return v

    return walk(value)


# -- Markdown ------------------------------------------------------------------------------
_ICON = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "expected-failure": "⚠️ expected failure",
    "skipped": "⏭️ skipped",
    "not-exercised": "➖ not exercised",
}


def _cell(text: Any, limit: int = 160) -> str:
    s = " ".join(str(text if text is not None else "").split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(report: Mapping[str, Any]) -> str:
    """A summary for a CI job page (``$GITHUB_STEP_SUMMARY``): verdict, per-feature and per-rule tables."""
    verdict = report["verdict"]
    target = report["target"]
    run = report["run"]
    cost = report["cost"]
    rules = report["rules"]
    word = "conformant" if verdict["conformant"] else verdict["status"]
    icon = "✅" if verdict["conformant"] else "❌"
    lines = [
        f"## images-conformance: {icon} {word} (exit code {verdict['exit_code']})",
        "",
        f"Target `{target['base_url'] or 'embedded reference server'}` · profile `{target['profile']}`"
        f" · level `{run['level']}` · strict {'on' if run['strict'] else 'off'}"
        f" · seed {run['seed']} · suite {report['suite']['version']} · {run['duration_s']:.1f} s",
        "",
        f"Billable generations: **{cost['billable_generations']}**"
        + (
            f" (cap {cost['max_generations']}{', reached' if cost['cap_reached'] else ''})"
            if cost["max_generations"] is not None
            else ""
        )
        + f" · requests: {cost['requests']}",
        "",
    ]
    if verdict.get("message"):
        lines += [verdict["message"], ""]
    counts = report["counts"]
    lines += [
        "| outcome | rules |",
        "|---|---:|",
        *(f"| {_ICON[o]} | {counts.get(o, 0)} |" for o in OUTCOMES),
        "",
    ]
    failed = [r for r in rules if r["outcome"] == "failed"]
    if failed:
        lines += [
            "### Failed rules",
            "",
            "| rule | level | gating | first failure |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{r['id']}` | {r['level']} | {'yes' if r['gating'] else 'no'} | {_cell(r['first_failure'], 300)} |"
            for r in failed
        ]
        lines.append("")
    tightened = report["baseline"]["can_be_tightened"]
    expected = [r for r in rules if r["outcome"] == "expected-failure"]
    if expected or tightened:
        lines += ["### Baseline", ""]
        if expected:
            lines += ["| expected failure | reason |", "|---|---|"]
            lines += [f"| `{r['id']}` | {_cell(r['baseline_reason'])} |" for r in expected]
            lines.append("")
        if tightened:
            lines.append(
                "Baseline can be tightened: these baselined rules now pass: "
                + ", ".join(f"`{r}`" for r in tightened)
            )
            lines.append("")
    lines += [
        "### Per feature",
        "",
        "| feature | declared | tests | passed | failed | xfail | skipped | not exercised | generations |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["features"]:
        lines.append(
            f"| `{row['feature']}` | {'yes' if row['declared'] else 'no'} | {row['tests']} | {row['passed']}"
            f" | {row['failed']} | {row['xfail']} | {row['skipped']} | {row['not-exercised']} | {row['generations']} |"
        )
    lines += [
        "",
        "### Per rule",
        "",
        "| rule | level | outcome | tests | cases | note |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in rules:
        note = r["first_failure"] if r["outcome"] in ("failed", "expected-failure") else r["reason"]
        if r["can_be_tightened"]:
            note = "baselined, now passes: the baseline can be tightened"
        lines.append(
            f"| `{r['id']}` | {r['level']} | {_ICON[r['outcome']]} | {r['tests']} | {r['cases']} | {_cell(note)} |"
        )
    lines.append("")
    return "\n".join(lines)


def markdown_path(json_path: str | Path) -> Path:
    """Where the Markdown summary goes: the report's path with ``.md`` as suffix."""
    p = Path(json_path)
    return p.with_suffix(".md") if p.suffix.lower() == ".json" else p.with_name(p.name + ".md")


def write_report(report: Mapping[str, Any], path: str | Path) -> tuple[Path, Path]:
    """Write the JSON report and the Markdown summary beside it; return both paths."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = markdown_path(p)
    md.write_text(render_markdown(report), encoding="utf-8")
    return p, md
