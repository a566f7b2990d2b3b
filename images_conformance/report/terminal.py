"""The report's summary for a terminal: verdict, rule counts, cost, baseline, where it was written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._rules import OUTCOMES

Line = tuple[str, str | None]
"""A line of text and its colour (``red``, ``green``, ``yellow``, or None)."""


def _count(n: int, outcome: str) -> str:
    """``79 passed``, ``1 warning``, ``3 warnings`` (the other outcomes read as they are)."""
    return f"{n} {outcome}s" if outcome == "warning" and n != 1 else f"{n} {outcome}"


def summary_lines(
    report: Mapping[str, Any],
    *,
    written: tuple[str, ...] | None = None,
    write_error: str | None = None,
) -> list[Line]:
    """The lines of the summary, each with its colour."""
    verdict, cost, base = report["verdict"], report["cost"], report["baseline"]
    ok = verdict["exit_code"] == 0
    edition = report["target"].get("edition", "document")
    line = f"verdict: {verdict['status'].upper()} (exit code {verdict['exit_code']}, edition {edition})"
    if verdict["message"]:
        line += f": {verdict['message']}"
    out: list[Line] = [(line, "green" if ok else "red")]
    finding = report.get("finding")
    if finding:  # the paragraph itself comes first in the output (write_finding)
        out.append(
            (
                f"finding: the target is not an images API (first answer: "
                f"{finding['first_answer']}); see the paragraph before the failures",
                "red",
            )
        )
    counts = report["counts"]
    out.append(
        ("rules: " + ", ".join(_count(counts[o], o) for o in OUTCOMES if counts.get(o)), None)
    )
    warnings = verdict.get("warnings") or []
    if warnings:
        out.append(
            (
                f"{len(warnings)} SHOULD deviation(s) (warnings, not gating outside strict mode): "
                + ", ".join(warnings),
                "yellow",
            )
        )
    cap = cost["max_generations"]
    gen = f"billable generations: {cost['billable_generations']}"
    if cost.get("planned_generations") is not None:
        gen += f" (planned {cost['planned_generations']})"
    if cap is not None:
        reached = "; reached: tests past it were not exercised" if cost["cap_reached"] else ""
        gen += f" (cap {cap}{reached})"
    out.append((gen + f", requests: {cost['requests']}", None))
    if base["expected_failures"]:
        out.append(("expected failures (baselined): " + ", ".join(base["expected_failures"]), None))
    if base["can_be_tightened"]:
        out.append(
            (
                "baseline can be tightened: these baselined rules now pass: "
                + ", ".join(base["can_be_tightened"]),
                "yellow",
            )
        )
    if written:
        page = f", page: {written[2]}" if len(written) > 2 else ""
        out.append((f"report: {written[0]} (summary: {written[1]}{page})", None))
    if write_error:
        out.append((write_error, "red"))
    return out


def finding_paragraph(report: Mapping[str, Any]) -> str | None:
    """The run-wide finding (the target is not an images API) as one paragraph, or None."""
    finding = report.get("finding")
    return f"images-conformance: {finding['message']}" if finding else None


def write_finding(terminalreporter: Any, report: Mapping[str, Any]) -> None:
    """Write the run-wide finding, if any, as a section of its own (before the failures)."""
    paragraph = finding_paragraph(report)
    if paragraph:
        terminalreporter.write_sep("=", "images-conformance: not an images API", red=True)
        terminalreporter.write_line(paragraph, red=True)


def write_summary(terminalreporter: Any, report: Mapping[str, Any], **kwargs: Any) -> None:
    """Write the summary on pytest's terminal reporter (a section of its own)."""
    terminalreporter.write_sep("-", "images-conformance gate")
    for text, colour in summary_lines(report, **kwargs):
        terminalreporter.write_line(text, **({colour: True} if colour else {}))
