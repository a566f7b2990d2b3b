"""What the proxy saw: one line per judged exchange, running totals, and the cases a
report is built from, all in bounded memory however long the proxy runs.

Each judgement is split by side: ``request_faults`` are the application's (the client
sent an invalid request), ``violations`` are the upstream's (it answered against the
rules, or accepted what it had to refuse). Each judged exchange becomes a case of the report
model (``case_from_judgement``), folded into one case per (outcome, model family) so that
memory stays bounded; the report counts rules from those cases.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import threading
import time
from typing import Any, TextIO

from validator import Level, Profile, Violation, resolve_model

from ._exchange import to_exchange
from ._observed import Observed
from ._pieces import Case, Judgement, case_from_judgement, judgement_evidence, tally_finding

MAX_EVIDENCE = 100
"""Exchanges with findings kept as evidence for the report (the first ones)."""
REFUSED_BY_PROXY = "refused-by-proxy"
_TEXT = 2000
_STATUS_RANK = {"failed": 3, "xfail": 2, "passed": 1, "skipped": 0}


def fold(into: Case, case: Case) -> None:
    """Add one exchange's case to the case that stands for its group: rules and findings
    united, counts summed, the worse status kept."""
    into.rules = tuple(dict.fromkeys((*into.rules, *case.rules)))
    for rule, finding in case.findings.items():
        entry = into.findings.get(rule)
        if entry is None:
            into.findings[rule] = dict(finding)
        else:
            entry["count"] += finding["count"]
            entry["gating"] = entry["gating"] or finding["gating"]
    applied = dict(into.applied or {})
    for rule, n in (case.applied or {}).items():
        applied[rule] = applied.get(rule, 0) + n
    into.applied = applied
    into.attempted = tuple(dict.fromkeys((*(into.attempted or ()), *(case.attempted or ()))))
    into.cases += case.cases
    into.requests += case.requests
    into.generations += case.generations
    if into.cases == case.cases or _STATUS_RANK.get(case.status, 0) > _STATUS_RANK.get(
        into.status, 0
    ):
        into.status, into.reason = case.status, case.reason
    if into.failure is None and case.failure is not None:
        into.failure = case.failure


def _note(table: dict[str, dict[str, Any]], v: Violation, gating: bool) -> None:
    tally_finding(table, v, gating).setdefault("param", v.param)


def _requested_images(request: Any) -> int:
    n = request.get("n", 1) if isinstance(request, dict) else 1
    return n if type(n) is int and 0 < n <= 10 else 1


class Seen:
    """Everything the proxy reports, updated as exchanges are judged (thread-safe)."""

    def __init__(
        self,
        profile: Profile,
        out: TextIO | None = None,
        *,
        origin: str = "",
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.profile = profile
        self.out = out
        self.origin = origin
        """The upstream's ``scheme://host`` (the URL of the cases' evidence)."""
        self.max_bytes = max_bytes
        self.started = time.time()
        self._lock = threading.Lock()
        self.groups: dict[str, Case] = {}
        self.client_faults: dict[str, dict[str, Any]] = {}
        self.not_judged: collections.Counter[str] = collections.Counter()
        self.counts: collections.Counter[str] = collections.Counter()
        self.evidence: list[dict[str, Any]] = []
        """One entry per exchange with findings (the first MAX_EVIDENCE): when, which side
        was at fault, and where the exchange itself is (a case's ``evidence``)."""

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
        self._keep(obs, REFUSED_BY_PROXY, obs.enforced, [])
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
        case = case_from_judgement(
            name, judgement, profile=self.profile, strict=self.profile.strict
        )
        if judgement.outcome in ("served", "streamed"):
            case.generations = _requested_images(request)
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Case(name, status="passed", applied={})
        fold(group, case)
        server_must = any(f["gating"] for f in case.findings.values())
        if server_must:
            self.counts["server_failures"] += 1
        elif judgement.violations:
            self.counts["server_should_only"] += 1
        for v in judgement.request_faults:
            _note(self.client_faults, v, v.level is Level.MUST or self.profile.strict)
        if judgement.request_faults:
            self.counts["client_faults"] += 1
        if not judgement.violations and not judgement.request_faults:
            self.counts["conformant"] += 1
        kept = (judgement.violations or judgement.request_faults) and self._keep(
            obs, judgement.outcome, judgement.request_faults, judgement.violations, group
        )
        if kept:  # the exchange itself, as the page shows it, on the case it counts in
            exchange = to_exchange(obs, self.origin, self.max_bytes)
            group.evidence.append(
                judgement_evidence(exchange, judgement, strict=self.profile.strict)
            )
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
        outcome: str,
        client: list[Violation],
        server: list[Violation],
        case: Case | None = None,
    ) -> bool:
        """List the exchange among those with findings (False: past the cap, not kept).

        The entry says which side broke which rule; the exchange itself (request,
        answer, messages) goes on ``case``'s evidence at the entry's ``evidence_index``
        (the report's ``tests`` entry named ``test``), where the page shows it. An
        exchange the proxy refused counts in no case: its entry holds its request and
        the messages."""
        if len(self.evidence) >= MAX_EVIDENCE:
            self.counts["evidence_dropped"] += 1
            return False

        def item(v: Violation, side: str) -> dict[str, Any]:
            entry = {"rule": v.rule, "level": str(v.level), "side": side, "param": v.param}
            if case is None:
                entry.update(path=v.path, message=v.message[:_TEXT])
            return entry

        entry: dict[str, Any] = {
            "time": _iso(obs.started),
            **obs.summary(),
            "outcome": outcome,
            "findings": [item(v, "client") for v in client] + [item(v, "server") for v in server],
            "test": case.nodeid if case is not None else None,
            "evidence_index": len(case.evidence) if case is not None else None,
        }
        if case is None:
            entry["request"] = obs.request_body[:_TEXT].decode("utf-8", errors="replace")
        self.evidence.append(entry)
        return True

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
        """Totals, client faults, reasons for not judging, and the cases (copies)."""
        with self._lock:
            return {
                "counts": dict(self.counts),
                "client_faults": {k: dict(v) for k, v in self.client_faults.items()},
                "not_judged": dict(self.not_judged),
                "tests": [copy.deepcopy(g) for g in self.groups.values()],
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
