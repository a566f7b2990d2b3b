"""What the proxy saw: one line per judged exchange, running totals, and the cases a
report is built from, all in bounded memory however long the proxy runs.

Each judgement is split by side: ``request_faults`` are the application's (the client
sent an invalid request), ``violations`` are the upstream's (it answered against the
rules, or accepted what it had to refuse). Exchanges are folded into one case per
(outcome, model family); the report counts rules from those cases.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from validator import RULES, Level, Profile, Violation, resolve_model

from ._observed import Observed
from ._pieces import Judgement, TestResult, rule_applies

MAX_EVIDENCE = 100
"""Exchanges with findings kept as evidence for the report (the first ones)."""
_TEXT = 2000
_POSITIVE = {"served": ("response", "image"), "streamed": ("stream", "image")}
_HTTP_ALWAYS = ("http.no_server_error", "http.json_content_type")


def exercised(judgement: Judgement, status: int | None, family: str | None) -> dict[str, int]:
    """The rules one judged exchange gave something to check, with how many times
    (positive rules: only where they apply to the request).

    An adapter until the judge's Judgement carries the rules it exercised itself.
    """
    out: dict[str, int] = {}
    if status is None:
        return out
    for rule_id in _HTTP_ALWAYS:
        out[rule_id] = 1
    if not judgement.request_faults and judgement.outcome != "not-served":
        out["http.valid_request_accepted"] = 1
    request = judgement.request if isinstance(judgement.request, dict) else {}
    kinds = _POSITIVE.get(judgement.outcome, ())
    if kinds:
        for rule in RULES.values():
            if rule.kind in kinds and rule_applies(rule.id, request, family):
                out[rule.id] = 1
    if judgement.outcome in ("refused", "accepted-invalid"):
        for fault in judgement.request_faults:
            out[fault.rule] = 1
    if judgement.outcome in ("refused", "not-served") and status >= 400:
        for rule in RULES.values():
            if rule.kind == "error":
                out[rule.id] = 1
    for v in judgement.violations:
        out.setdefault(v.rule, 1)
    return out


@dataclass
class Group:
    """The exchanges of one (outcome, model family), folded into one report case."""

    name: str
    rules: collections.Counter[str] = field(default_factory=collections.Counter)
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: int = 0
    generations: int = 0
    failed: bool = False
    should_only: bool = False

    def as_test_result(self) -> TestResult:
        status = "failed" if self.failed else ("xfail" if self.should_only else "passed")
        failure = None
        if self.failed:
            failure = next(
                (f["first"] for f in self.findings.values() if f["gating"]), "a MUST rule broke"
            )
        return TestResult(
            nodeid=self.name,
            rules=tuple(sorted(self.rules)),
            status=status,
            cases=self.cases,
            requests=self.cases,
            generations=self.generations,
            findings={k: dict(v) for k, v in self.findings.items()},
            failure=failure,
            applied=dict(self.rules),
            attempted=tuple(sorted(self.rules)),
        )


def _note(table: dict[str, dict[str, Any]], v: Violation, gating: bool) -> None:
    entry = table.get(v.rule)
    if entry is None:
        entry = table[v.rule] = {
            "level": str(v.level),
            "count": 0,
            "gating": False,
            "first": str(v)[:4000],
            "param": v.param,
        }
    entry["count"] += 1
    entry["gating"] = entry["gating"] or gating


def _requested_images(request: Any) -> int:
    n = request.get("n", 1) if isinstance(request, dict) else 1
    return n if type(n) is int and 0 < n <= 10 else 1


class Seen:
    """Everything the proxy reports, updated as exchanges are judged (thread-safe)."""

    def __init__(self, profile: Profile, out: TextIO | None = None) -> None:
        self.profile = profile
        self.out = out
        self.started = time.time()
        self._lock = threading.Lock()
        self.groups: dict[str, Group] = {}
        self.client_faults: dict[str, dict[str, Any]] = {}
        self.not_judged: collections.Counter[str] = collections.Counter()
        self.counts: collections.Counter[str] = collections.Counter()
        self.evidence: list[dict[str, Any]] = []

    def gates(self, v: Violation) -> bool:
        return (v.level is Level.MUST or self.profile.strict) and (
            v.rule not in self.profile.known_failures
        )

    # -- recording -----------------------------------------------------------------------
    def forwarded(self, obs: Observed) -> None:
        """Count an exchange that is not judged because it is not for the endpoint."""
        with self._lock:
            self.counts["requests"] += 1
            self.counts[f"answered_by_{obs.answered_by}"] += 1

    def record(self, obs: Observed, judgement: Judgement | None, skip: str | None) -> None:
        """Count one exchange with the endpoint and print its line."""
        with self._lock:
            self.counts["requests"] += 1
            self.counts["generations_exchanges"] += 1
            self.counts[f"answered_by_{obs.answered_by}"] += 1
            if obs.enforced:
                line = self._record_enforced(obs)
            elif judgement is None:
                reason = skip or "not judged"
                self.not_judged[reason] += 1
                self.counts["not_judged"] += 1
                line = self._line(obs, None, f"not judged: {reason}")
            else:
                line = self._record_judged(obs, judgement)
        if self.out is not None:
            with contextlib.suppress(OSError, ValueError):
                print(line, file=self.out, flush=True)

    def _record_enforced(self, obs: Observed) -> str:
        self.counts["judged"] += 1
        self.counts["client_faults"] += 1
        self.counts["refused_by_proxy"] += 1
        for v in obs.enforced:
            _note(self.client_faults, v, True)
        self._keep(obs, None, obs.enforced, [])
        rules = ", ".join(sorted({v.rule for v in obs.enforced}))
        return self._line(
            obs,
            None,
            f"CLIENT FAULT (your application sent an invalid request; refused by the proxy, "
            f"not forwarded): MUST {rules}",
        )

    def _record_judged(self, obs: Observed, judgement: Judgement) -> str:
        self.counts["judged"] += 1
        request = judgement.request
        family = None
        if isinstance(request, dict):
            try:
                family = resolve_model(request, profile=self.profile).family
            except Exception:
                family = None
        name = f"proxy: {judgement.outcome} {family or 'unknown model'}"
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Group(name)
        group.cases += 1
        if judgement.outcome in ("served", "streamed"):
            group.generations += _requested_images(request)
        group.rules.update(exercised(judgement, obs.status, family))
        server_must = False
        for v in judgement.violations:
            gating = self.gates(v)
            _note(group.findings, v, gating)
            server_must = server_must or gating
        if server_must:
            group.failed = True
            self.counts["server_failures"] += 1
        elif judgement.violations:
            group.should_only = True
            self.counts["server_should_only"] += 1
        for v in judgement.request_faults:
            _note(self.client_faults, v, v.level is Level.MUST or self.profile.strict)
        if judgement.request_faults:
            self.counts["client_faults"] += 1
        if not judgement.violations and not judgement.request_faults:
            self.counts["conformant"] += 1
        if judgement.violations or judgement.request_faults:
            self._keep(obs, judgement, judgement.request_faults, judgement.violations)
        parts = []
        if judgement.request_faults:
            parts.append(
                "CLIENT FAULT (your application sent an invalid request): "
                + _rules(judgement.request_faults)
            )
        if judgement.violations:
            word = "SERVER NOT CONFORMANT" if server_must else "server deviates (SHOULD)"
            parts.append(f"{word}: {_rules(judgement.violations)}")
        elif judgement.request_faults:
            parts.append("server: conformant")
        verdict = "; ".join(parts) or "conformant"
        return self._line(obs, judgement, f"{judgement.outcome}: {verdict}")

    def _keep(
        self,
        obs: Observed,
        judgement: Judgement | None,
        client: list[Violation],
        server: list[Violation],
    ) -> None:
        if len(self.evidence) >= MAX_EVIDENCE:
            self.counts["evidence_dropped"] += 1
            return
        request = judgement.request if judgement is not None else None
        if request is None:
            request = obs.request_body[:_TEXT].decode("utf-8", errors="replace")

        def item(v: Violation, side: str) -> dict[str, Any]:
            return {
                "rule": v.rule,
                "level": str(v.level),
                "side": side,
                "param": v.param,
                "path": v.path,
                "message": v.message[:_TEXT],
            }

        self.evidence.append(
            {
                "time": _iso(obs.started),
                **obs.summary(),
                "outcome": judgement.outcome if judgement is not None else "refused-by-proxy",
                "request": request,
                "findings": [item(v, "client") for v in client]
                + [item(v, "server") for v in server],
                "notes": list(judgement.notes) if judgement is not None else [],
            }
        )

    def _line(self, obs: Observed, judgement: Judgement | None, verdict: str) -> str:
        request = judgement.request if judgement is not None else None
        model = "-"
        if isinstance(request, dict):
            raw = request.get("model")
            model = raw if isinstance(raw, str) else "(default)" if raw is None else "(invalid)"
            model = model[:40]
        stamp = time.strftime("%H:%M:%S", time.localtime(obs.started))
        status = obs.status if obs.status is not None else "---"
        return f"{stamp} {status} {_printable(model)} {verdict}"

    # -- reading -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Totals, client faults, reasons for not judging, and the cases (as TestResults)."""
        with self._lock:
            return {
                "counts": dict(self.counts),
                "client_faults": {k: dict(v) for k, v in self.client_faults.items()},
                "not_judged": dict(self.not_judged),
                "tests": [g.as_test_result() for g in self.groups.values()],
                "evidence": list(self.evidence),
                "started": self.started,
            }

    def summary_lines(self) -> list[str]:
        """The closing summary (printed on exit)."""
        snap = self.snapshot()
        c = snap["counts"]
        lines = [
            f"images-conformance proxy: {c.get('requests', 0)} request(s) forwarded or answered; "
            f"{c.get('generations_exchanges', 0)} with POST .../images/generations: "
            f"{c.get('judged', 0)} judged ({c.get('conformant', 0)} conformant, "
            f"{c.get('server_failures', 0)} with the server breaking a MUST rule, "
            f"{c.get('server_should_only', 0)} with SHOULD deviations only, "
            f"{c.get('client_faults', 0)} with client faults), {c.get('not_judged', 0)} not judged"
        ]
        server: dict[str, dict[str, Any]] = {}
        for t in snap["tests"]:
            for rule, f in t.findings.items():
                entry = server.setdefault(rule, {"level": f["level"], "count": 0})
                entry["count"] += f["count"]
        if server:
            lines.append("  the server broke:")
            lines += [
                f"    {v['level']:<6} {rule} ({v['count']}x)" for rule, v in sorted(server.items())
            ]
        if snap["client_faults"]:
            lines.append("  your application sent requests breaking:")
            lines += [
                f"    {v['level']:<6} {rule} ({v['count']}x)"
                for rule, v in sorted(snap["client_faults"].items())
            ]
        if snap["not_judged"]:
            lines.append("  not judged:")
            lines += [f"    {n}x {reason}" for reason, n in sorted(snap["not_judged"].items())]
        return lines

    def must_findings(self) -> tuple[list[str], list[str]]:
        """(server rules broken at a gating level, client MUST faults)."""
        snap = self.snapshot()
        server = sorted({r for t in snap["tests"] for r, f in t.findings.items() if f["gating"]})
        client = sorted(r for r, f in snap["client_faults"].items() if f["gating"])
        return server, client


def _rules(violations: list[Violation]) -> str:
    seen: dict[str, str] = {}
    for v in violations:
        seen.setdefault(v.rule, str(v.level))
    return ", ".join(f"{level} {rule}" for rule, level in seen.items())


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
