"""The Markdown summary of a report (for a CI job page, ``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._rules import OUTCOMES

_ICON = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "warning": "⚠️ warning (SHOULD)",
    "not-judged": "❔ not judged",
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
        f" · edition `{target.get('edition', 'document')}`"
        f" · level `{run['level']}` · strict {'on' if run['strict'] else 'off'}"
        f" · seed {run['seed']} · suite {report['suite']['version']} · {run['duration_s']:.1f} s",
        "",
        f"Billable generations: **{cost['billable_generations']}**"
        + (
            f" (planned {cost['planned_generations']})"
            if cost.get("planned_generations") is not None
            else ""
        )
        + (
            f" (cap {cost['max_generations']}{', reached' if cost['cap_reached'] else ''})"
            if cost["max_generations"] is not None
            else ""
        )
        + f" · requests: {cost['requests']}",
        "",
    ]
    finding = report.get("finding")
    if finding:
        lines += [f"> **Not an images API.** {_cell(finding['message'], 2000)}", ""]
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
    warned = [r for r in rules if r["outcome"] == "warning"]
    if warned:
        lines += [
            f"### SHOULD deviations (warnings): {len(warned)}",
            "",
            "| rule | first deviation |",
            "|---|---|",
        ]
        lines += [f"| `{r['id']}` | {_cell(r['first_failure'], 300)} |" for r in warned]
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
        note = (
            r["first_failure"]
            if r["outcome"] in ("failed", "warning", "expected-failure")
            else r["reason"]
        )
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
