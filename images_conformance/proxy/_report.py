"""The conformance report of the traffic the proxy saw: the suite's report format.

The per-rule outcomes come from the report module's own ``rule_entries`` and
``feature_rows`` over the proxy's cases (one per outcome and model family), so a rule
passes, fails or goes unexercised exactly as it would in a suite run. The sections of
the suite's report that describe a pytest run are filled from the proxy's run; a
``proxy`` section adds what only live traffic has: client faults, exchanges not judged
and why, and evidence.

Adapter: when ``images_conformance.report`` provides ``build_report(cases, ...)``, the
body of :func:`build_proxy_report` becomes a call to it with these cases.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from validator import Profile

from ._config import ProxyConfig
from ._pieces import (
    OUTCOMES,
    REPORT_FORMAT_VERSION,
    feature_rows,
    rule_entries,
    scrub,
    write_report,
)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("images-conformance")
    except Exception:
        return "unknown"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def build_proxy_report(
    snapshot: Mapping[str, Any],
    config: ProxyConfig,
    *,
    profile_path: str | None = None,
    secrets: Iterable[str] = (),
    finished: float | None = None,
    judge: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report (format_version 1, docs/gating.md) of what the proxy saw."""
    profile: Profile = config.profile
    tests = list(snapshot["tests"])
    baseline = dict(profile.known_failures)
    entries = rule_entries(
        tests, features=profile.features, strict=profile.strict, baseline=baseline
    )
    gating = [e["id"] for e in entries if e["gating"]]
    client = snapshot["client_faults"]
    client_must = sorted(r for r, f in client.items() if f["gating"])
    counts = {o: sum(1 for e in entries if e["outcome"] == o) for o in OUTCOMES}
    c = snapshot["counts"]
    judged = c.get("judged", 0)
    if gating:
        status = "non-conformant"
        message = f"{len(gating)} gating rule(s) failed: {', '.join(gating)}"
    elif judged == 0:
        status = "error"
        message = "no exchange with POST .../images/generations was judged: no verdict"
    else:
        status, message = "conformant", None
    if client_must:
        extra = f"the application sent requests breaking MUST rules: {', '.join(client_must)}"
        message = f"{message}; {extra}" if message else extra
    code = 1 if gating or client_must else (2 if judged == 0 else 0)
    finished = time.time() if finished is None else finished
    started = snapshot["started"]
    data: dict[str, Any] = {
        "format_version": REPORT_FORMAT_VERSION,
        "suite": {"name": "images-conformance", "version": _version()},
        "source": "proxy",
        "target": {
            "base_url": config.upstream,
            "embedded": False,
            "profile": profile.name,
            "profile_path": profile_path,
            "features": sorted(profile.features),
            "auth": profile.auth,
        },
        "run": {
            "started": _iso(started),
            "finished": _iso(finished),
            "duration_s": round(finished - started, 3),
            "level": "traffic",
            "strict": profile.strict,
            "seed": None,
            "workers": None,
            "pytest_exit_status": None,
        },
        "verdict": {
            "exit_code": code,
            "status": status,
            "conformant": status == "conformant",
            "complete": judged > 0 and counts["not-exercised"] == 0,
            "gating_failures": gating,
            "client_faults": client_must,
            "message": message,
        },
        "cost": {
            "billable_generations": sum(t.generations for t in tests),
            "requests": c.get("generations_exchanges", 0),
            "max_generations": None,
            "cap_reached": False,
        },
        "baseline": {
            "file": None,
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
                "exercised": sorted(t.applied) if t.applied is not None else None,
            }
            for t in tests
        ],
        "proxy": {
            "upstream": config.upstream,
            "enforce": config.enforce,
            "fetch_urls": config.fetch_urls,
            "counts": dict(sorted(c.items())),
            "client_faults": dict(sorted(client.items())),
            "not_judged": snapshot["not_judged"],
            "judge": dict(judge or {}),
            "evidence": snapshot["evidence"],
        },
    }
    return scrub(data, secrets)


def write_proxy_report(report: Mapping[str, Any], path: str | Path) -> list[Path]:
    """Write the report: JSON with its Markdown summary beside it (the suite's writer)."""
    return list(write_report(report, path))
