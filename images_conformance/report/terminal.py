"""The report's summary for a terminal: verdict, rule counts, cost, baseline, where it was written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._rules import OUTCOMES

Line = tuple[str, str | None]
"""A line of text and its colour (``red``, ``green``, ``yellow``, or None)."""


def summary_lines(
    report: Mapping[str, Any],
    *,
    written: tuple[str, ...] | None = None,
    write_error: str | None = None,
) -> list[Line]:
    """The lines of the summary, each with its colour."""
    verdict, cost, base = report["verdict"], report["cost"], report["baseline"]
    ok = verdict["exit_code"] == 0
    line = f"verdict: {verdict['status'].upper()} (exit code {verdict['exit_code']})"
    if verdict["message"]:
        line += f": {verdict['message']}"
    out: list[Line] = [(line, "green" if ok else "red")]
    counts = report["counts"]
    out.append(("rules: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts.get(o)), None))
    cap = cost["max_generations"]
    gen = f"billable generations: {cost['billable_generations']}"
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


def write_summary(terminalreporter: Any, report: Mapping[str, Any], **kwargs: Any) -> None:
    """Write the summary on pytest's terminal reporter (a section of its own)."""
    terminalreporter.write_sep("-", "images-conformance gate")
    for text, colour in summary_lines(report, **kwargs):
        terminalreporter.write_line(text, **({colour: True} if colour else {}))
