"""The conformance report of the traffic the proxy saw: the suite's report, built by the
report model (``build_report``) from the proxy's cases (one per outcome and model
family), so a rule passes, fails or goes unexercised exactly as in a suite run.

What only live traffic has goes beside it: the verdict also lists the MUST rules the
application's requests broke (``client_faults``, which raise the exit code to 1), and a
``proxy`` section holds the client faults, the exchanges not judged and why, the judge's
cost, and the list of exchanges with findings (each pointing at its evidence on a case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._config import ProxyConfig
from ._pieces import Context, build_report, scrub, write_report

NOTHING_JUDGED = "no exchange with POST .../images/generations was judged: no verdict"


def build_proxy_report(
    snapshot: Mapping[str, Any],
    config: ProxyConfig,
    *,
    profile_path: str | None = None,
    secrets: Iterable[str] = (),
    judge: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report (format_version 1, docs/gating.md) of what the proxy saw."""
    profile = config.profile
    secrets = list(secrets)
    counts = snapshot["counts"]
    context = Context(
        profile=profile,
        profile_path=profile_path,
        strict=profile.strict,
        base_url=config.upstream,
        embedded=False,
        started=snapshot["started"],
        level="traffic",
        runner_status=0,
        stop_message=NOTHING_JUDGED,
        secrets=secrets,
    )
    report = build_report(snapshot["tests"], context=context)
    report["source"] = "proxy"
    verdict = report["verdict"]
    client = snapshot["client_faults"]
    client_must = sorted(rule for rule, f in client.items() if f["gating"])
    verdict["client_faults"] = client_must
    if client_must:
        extra = f"the application sent requests breaking MUST rules: {', '.join(client_must)}"
        verdict["message"] = f"{verdict['message']}; {extra}" if verdict["message"] else extra
        verdict["exit_code"] = 1
    report["cost"]["requests"] = counts.get("generations_exchanges", 0)
    proxy = {
        "upstream": config.upstream,
        "enforce": config.enforce,
        "fetch_urls": config.fetch_urls,
        "counts": dict(sorted(counts.items())),
        "client_faults": dict(sorted(client.items())),
        "not_judged": dict(snapshot["not_judged"]),
        "judge": dict(judge or {}),
        "evidence": list(snapshot["evidence"]),
    }
    report["proxy"] = scrub(proxy, secrets)
    return report


def write_proxy_report(report: Mapping[str, Any], path: str | Path) -> list[Path]:
    """Write the report: JSON with its Markdown summary beside it (the report's writer)."""
    return list(write_report(report, path))
