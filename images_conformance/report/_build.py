"""Cases -> the conformance report (``format_version`` 1): rules, verdict, cost, baseline.

Whoever produced the cases (the suite, ``validate-cassette``, the proxy) hands them here
with a :class:`Context` saying what was judged and how; the verdict and the exit code come
out of the same function for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from validator import DEFAULT_PROFILE, Profile

from ._case import Case
from ._finding import not_an_api_finding
from ._rules import OUTCOMES, feature_rows, rule_entries
from ._scrub import scrub

REPORT_FORMAT_VERSION = 1


class GateExit(IntEnum):
    """Exit codes of ``images-conformance run`` (and of pytest runs of the suite)."""

    CONFORMANT = 0
    """Every MUST rule exercised passed or is baselined (SHOULD rules too in strict mode)."""
    NON_CONFORMANT = 1
    """A gating rule failed, or a test of the suite failed on a finding about the target."""
    USAGE_ERROR = 2
    """Bad options or profile/baseline, collection errors, nothing ran, interrupted, or every
    failed test broke on an error of the suite: no verdict."""
    UNREACHABLE = 3
    """The target did not answer at its base URL."""


def exit_code_for(pytest_status: int) -> int:
    """Map pytest's exit status to the gate's (used by ``images-conformance run``).

    pytest 0/1 stay; 3 stays (the suite stops with 3 when the target is unreachable;
    pytest's internal errors are turned into 2 by the plugin before they get here);
    2 (interrupted, collection errors), 4 (usage error), 5 (no tests collected) and
    anything else become 2.
    """
    status = int(pytest_status)
    if status in (GateExit.CONFORMANT, GateExit.NON_CONFORMANT, GateExit.UNREACHABLE):
        return status
    return int(GateExit.USAGE_ERROR)


@dataclass
class Context:
    """What was judged, and how: everything of the report that is not a case."""

    profile: Profile = DEFAULT_PROFILE
    profile_path: str | None = None
    strict: bool = False
    base_url: str | None = None
    """The target's public URL (None: the embedded reference server, or no target)."""
    embedded: bool = True
    auth: bool | None = None
    started: float = field(default_factory=time.time)
    level: str | None = None
    seed: Any = None
    workers: int | None = None
    runner_status: int = 0
    """The exit status of what ran the cases (pytest's; 0 when it ran them all, 1 when one
    failed outside the rules, 2 interrupted or no verdict, 3 unreachable, 4 usage, 5 none)."""
    stop_code: int | None = None
    """The return code a run was stopped with (3: the target was unreachable)."""
    stop_message: str | None = None
    internal_error: bool = False
    crashed: frozenset[str] = frozenset()
    """Cases that failed on an error of the suite (set-up, teardown, an unexpected
    exception), not on a finding about the target."""
    max_generations: int | None = None
    planned_generations: int | None = None
    """The billable generations the level's plan expects (quick), or None."""
    baseline: Mapping[str, str] = field(default_factory=dict)
    """Known failures from a baseline file (the profile's own are added)."""
    baseline_path: str | None = None
    secrets: Iterable[str] = ()
    """Strings that must appear nowhere in the report (API key, URL credentials)."""
    version: str | None = None


def suite_version() -> str:
    """The installed images-conformance version."""
    try:
        from importlib.metadata import version

        return version("images-conformance")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def decide_verdict(
    gating: list[str], ran: bool, ctx: Context, failed: Iterable[str] = ()
) -> tuple[GateExit, str, str | None]:
    """(exit code, status word, message) from the gating failures, the failed cases and how
    the run ended."""
    status = ctx.runner_status
    if ctx.stop_code == GateExit.UNREACHABLE or (
        status == GateExit.UNREACHABLE and not ctx.internal_error
    ):
        # (under xdist, stopping the run can also make xdist report an internal error)
        return (
            GateExit.UNREACHABLE,
            "unreachable",
            ctx.stop_message or "the target could not be reached",
        )
    if ctx.internal_error:
        return GateExit.USAGE_ERROR, "error", "pytest reported an internal error"
    failed = set(failed)
    if status == 1 and not gating and failed and failed <= ctx.crashed:
        return (
            GateExit.USAGE_ERROR,
            "error",
            f"internal error: {len(failed)} test(s) of the suite broke without a verdict "
            "(see the test report): no verdict",
        )
    if status == 0 and not ran:
        return (
            GateExit.USAGE_ERROR,
            "error",
            ctx.stop_message
            or "no test of the suite ran (all were skipped or deselected): no verdict",
        )
    if status in (0, 1):
        if status == 1 or gating:
            message = (
                f"{len(gating)} gating rule(s) failed: {', '.join(gating)}"
                if gating
                else "a test of the suite failed (see the test report)"
            )
            return GateExit.NON_CONFORMANT, "non-conformant", message
        return GateExit.CONFORMANT, "conformant", None
    message = {
        2: ctx.stop_message or "the run was interrupted or tests failed to collect",
        4: "usage error",
        5: "no test of the suite ran (check -k / -m and the selection)",
    }.get(status, f"pytest exit status {status}")
    return GateExit.USAGE_ERROR, "error", message


def build_report(cases: Iterable[Case], *, context: Context) -> dict[str, Any]:
    """The conformance report of these cases (``format_version`` 1; docs/gating.md)."""
    ctx = context
    profile = ctx.profile
    baseline = dict(ctx.baseline)
    baseline.update(profile.known_failures)
    tests = list(cases)
    entries = rule_entries(
        tests,
        features=profile.features,
        strict=ctx.strict,
        baseline=baseline,
        edition=profile.edition,
    )
    gating = [e["id"] for e in entries if e["gating"]]
    ran = any(t.ran for t in tests)
    failed = [t.nodeid for t in tests if t.status == "failed"]
    code, status, message = decide_verdict(gating, ran, ctx, failed)
    counts = {o: sum(1 for e in entries if e["outcome"] == o) for o in OUTCOMES}
    finished = time.time()
    data: dict[str, Any] = {
        "format_version": REPORT_FORMAT_VERSION,
        "suite": {"name": "images-conformance", "version": ctx.version or suite_version()},
        "target": {
            "base_url": ctx.base_url,
            "embedded": ctx.embedded,
            "profile": profile.name,
            "profile_path": ctx.profile_path,
            "edition": profile.edition.name,
            "features": sorted(profile.features),
            "auth": profile.auth if profile.auth is not None else bool(ctx.auth),
        },
        "run": {
            "started": _iso(ctx.started),
            "finished": _iso(finished),
            "duration_s": round(finished - ctx.started, 3),
            "level": ctx.level,
            "strict": ctx.strict,
            "seed": ctx.seed,
            "workers": ctx.workers,
            "pytest_exit_status": ctx.runner_status,
        },
        "verdict": {
            "exit_code": int(code),
            "status": status,
            "conformant": code == GateExit.CONFORMANT,
            "complete": ran and counts["not-exercised"] == 0 and counts["not-judged"] == 0,
            "gating_failures": gating,
            "warnings": [e["id"] for e in entries if e["outcome"] == "warning"],
            "message": message,
        },
        "finding": None if code == GateExit.UNREACHABLE else not_an_api_finding(tests),
        "cost": {
            "billable_generations": sum(t.generations for t in tests),
            "planned_generations": ctx.planned_generations,
            "rule_cases_exercised": len({tuple(c) for t in tests for c in t.rule_cases}),
            "requests": sum(t.requests for t in tests),
            "max_generations": ctx.max_generations,
            "cap_reached": any(t.status == "not-exercised" for t in tests),
        },
        "baseline": {
            "file": ctx.baseline_path,
            "rules": dict(sorted(baseline.items())),
            "expected_failures": [e["id"] for e in entries if e["outcome"] == "expected-failure"],
            "can_be_tightened": [e["id"] for e in entries if e["can_be_tightened"]],
        },
        "counts": counts,
        "rules": entries,
        "features": feature_rows(tests, profile.features),
        "tests": [
            {
                "nodeid": t.nodeid,
                "status": t.status,
                "cases": t.cases,
                "requests": t.requests,
                "generations": t.generations,
                "reason": t.reason,
                "not_judged": t.not_judged,
                "exercised": sorted(t.applied) if t.applied is not None else None,
                "rules": list(t.rules),
                "features": list(t.features),
                "failure": t.failure[:4000] if t.failure else None,
                "evidence": t.evidence,
                "rule_cases": [list(c) for c in t.rule_cases],
            }
            for t in tests
        ],
    }
    return scrub(data, ctx.secrets)
