"""Counts that mean what they say: a rule is ``passed`` only when an answer of the target
upheld it; ``not-judged`` when the target never answered as an images API; ``warning``
for SHOULD deviations outside strict mode; and the run-wide "not an images API" finding,
written once, before the per-test failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from broken_servers import SHOULD_ONLY, broken_app, serving
from suite_runs import SUITE

from images_conformance.judge import answer_problem, judge_exchange
from images_conformance.report import (
    OUTCOMES,
    Case,
    Context,
    build_report,
    case_from_judgement,
    render_markdown,
)
from images_conformance.report.terminal import finding_paragraph, summary_lines
from validator import RULES, Level

pytestmark = pytest.mark.usefixtures("suite_env")

GENERATIONS = "/v1/images/generations"
VALID = b'{"model": "dall-e-2", "prompt": "a red apple", "size": "256x256"}'
HTML = b"<html><body><h1>Not here</h1></body></html>"
# A few tests of each kind: served (the quick plan's), refused, malformed JSON, wrong method.
NARROW = (
    "test_planned_request or request.n.range "
    "or test_malformed_json_is_refused or test_wrong_method_is_refused"
)


# -- a web server that is not an images API ------------------------------------------------
@contextmanager
def html_server(status: int) -> Iterator[str]:
    """A web server on 127.0.0.1 answering every request with ``status`` and an HTML page;
    yields its base URL (…/v1)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(HTML)))
            self.end_headers()
            self.wfile.write(HTML)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """The suite in-process at the quick level, with its JSON report."""
    path = pytester.path / "report.json"
    result = pytester.runpytest_inprocess(
        *SUITE,
        "--conformance-level",
        "quick",
        "--timeout",
        "10",
        "--conformance-report",
        str(path),
        *args,
    )
    return result, json.loads(path.read_text(encoding="utf-8"))


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in report["rules"]}


@pytest.mark.parametrize("status", [501, 404])
def test_a_web_server_is_named_not_an_images_api_first_and_no_rule_passes(
    pytester: pytest.Pytester, status: int
) -> None:
    with html_server(status) as base_url:
        result, report = run(
            pytester, "--base-url", base_url, "--api-key", "sk-not-used-1234", "-k", NARROW
        )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()

    # The finding: once, first, before pytest's FAILURES section.
    finding = report["finding"]
    assert finding["kind"] == "not-an-images-api"
    assert finding["first_answer"] == f"HTTP {status} (text/html)"
    assert finding["cases_not_judged"] == finding["cases"] > 0
    paragraph = finding_paragraph(report)
    assert paragraph and out.count(paragraph) == 1
    assert out.index(paragraph) < out.index("= FAILURES =")
    assert "finding: the target is not an images API" in out  # the gate's pointer to it

    # No rule passed: each rule is failed on what the target did answer, or not judged.
    rules = by_id(report)
    counts = report["counts"]
    assert counts["passed"] == 0 and counts["not-judged"] > 0, counts
    assert set(counts) == set(OUTCOMES)
    broken_on_what_it_answered = {"failed", "warning"}  # MUST / SHOULD rules it broke
    assert {e["outcome"] for e in rules.values()} <= {
        *broken_on_what_it_answered,
        "not-judged",
        "not-exercised",
    }
    for rule_id in ("request.n.range", "response.data.count_matches_n", "error.param_names_fault"):
        assert rules[rule_id]["outcome"] == "not-judged", rules[rule_id]
        assert f"HTTP {status} (text/html)" in rules[rule_id]["reason"]
    assert rules["http.valid_request_accepted"]["outcome"] == "failed"
    assert report["verdict"]["complete"] is False
    assert all(t["not_judged"] for t in report["tests"])
    rules_line = next(line for line in out.splitlines() if line.startswith("rules: "))
    assert "passed" not in rules_line and f"{counts['not-judged']} not-judged" in rules_line

    md = (pytester.path / "report.md").read_text(encoding="utf-8")
    assert "**Not an images API.**" in md and "❔ not judged" in md


def test_should_deviations_are_warnings_under_a_conformant_verdict(
    pytester: pytest.Pytester,
) -> None:
    with serving(broken_app(SHOULD_ONLY)) as server:
        result, report = run(pytester, "--base-url", server.base_url, "-k", SHOULD_ONLY.select)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    verdict = report["verdict"]
    assert verdict["conformant"] and verdict["status"] == "conformant"
    assert sorted(verdict["warnings"]) == sorted(SHOULD_ONLY.rules)
    assert report["counts"]["warning"] == len(SHOULD_ONLY.rules)
    assert report["counts"]["failed"] == 0 and report["counts"]["not-judged"] == 0
    assert report["finding"] is None
    rules = by_id(report)
    for rule_id in SHOULD_ONLY.rules:
        entry = rules[rule_id]
        assert entry["outcome"] == "warning" and entry["gating"] is False
        assert rule_id in entry["first_failure"]
    out = result.stdout.str()
    assert "verdict: CONFORMANT" in out
    assert f"{len(SHOULD_ONLY.rules)} SHOULD deviation(s)" in out
    assert "failed" not in next(line for line in out.splitlines() if line.startswith("rules: "))
    md = (pytester.path / "report.md").read_text(encoding="utf-8")
    assert f"### SHOULD deviations (warnings): {len(SHOULD_ONLY.rules)}" in md

    # In strict mode the same deviations are failures.
    with serving(broken_app(SHOULD_ONLY)) as server:
        result, report = run(
            pytester,
            "--base-url",
            server.base_url,
            "-k",
            SHOULD_ONLY.select,
            "--conformance-strict",
        )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    rules = by_id(report)
    assert all(rules[r]["outcome"] == "failed" and rules[r]["gating"] for r in SHOULD_ONLY.rules)
    assert report["verdict"]["warnings"] == []


# -- the model, without a target -------------------------------------------------------------
def broken_outcome(rule_id: str) -> str:
    """A rule found broken, outside strict mode: failed if MUST, a warning if SHOULD."""
    return "failed" if RULES[rule_id].level is Level.MUST else "warning"


def judged_case(name: str, status: int, ctype: str, body: bytes, request: bytes = VALID) -> Case:
    judgement = judge_exchange(request, status, {"content-type": ctype}, body, check_images=False)
    return case_from_judgement(name, judgement)


def test_answers_an_images_api_gives() -> None:
    json_ct = {"content-type": "application/json"}
    assert answer_problem(400, json_ct, b'{"error": {}}') is None
    stream = {"model": "gpt-image-1", "prompt": "x", "stream": True}
    assert answer_problem(200, {"content-type": "text/event-stream"}, b"", request=stream) is None
    assert answer_problem(200, {"content-type": "text/event-stream"}, b"") is not None
    assert answer_problem(405, {}, b"", situation="wrong_method") is None
    assert answer_problem(405, json_ct, b"{}") == "HTTP 405 (application/json)"
    assert answer_problem(501, {"content-type": "text/html"}, HTML) == "HTTP 501 (text/html)"
    assert "not JSON" in (answer_problem(200, {"content-type": "text/html"}, HTML) or "")
    assert answer_problem(None, {}, b"", error="connection closed") == (
        "no answer (connection closed)"
    )


def test_a_recording_of_html_answers_gets_the_finding_and_no_pass() -> None:
    cases = [
        judged_case("rec#1", 501, "text/html", HTML),
        judged_case("rec#2", 404, "text/html", HTML, request=b'{"prompt": ""}'),
    ]
    assert cases[0].not_judged and "HTTP 501 (text/html)" in cases[0].not_judged
    report = build_report(cases, context=Context())
    assert report["finding"]["first_answer"] == "HTTP 501 (text/html)"
    assert report["counts"]["passed"] == 0
    rules = by_id(report)
    assert rules["http.json_content_type"]["outcome"] == "failed"
    assert rules["http.no_server_error"]["outcome"] == broken_outcome("http.no_server_error")
    assert rules["error.param_names_fault"]["outcome"] == "not-judged"
    assert rules["request.prompt.non_empty"]["outcome"] == "not-judged"
    assert "Not an images API" in render_markdown(report)


def test_a_real_api_answering_json_errors_is_not_the_finding() -> None:
    error = b'{"error": {"message": "no", "type": "server_error", "param": null, "code": null}}'
    report = build_report([judged_case("rec#1", 503, "application/json", error)], context=Context())
    assert report["finding"] is None
    rules = by_id(report)
    assert rules["http.no_server_error"]["outcome"] == broken_outcome("http.no_server_error")
    assert rules["error.envelope"]["outcome"] == "passed"


def should_case(rule_id: str) -> Case:
    finding = {"level": "SHOULD", "count": 1, "gating": False, "first": f"[SHOULD] {rule_id}"}
    return Case("t", rules=(rule_id,), status="xfail", cases=1, findings={rule_id: finding})


@pytest.mark.parametrize(
    ("strict", "baseline", "outcome", "gating"),
    [
        (False, {}, "warning", False),
        (True, {}, "failed", True),
        (False, {"request.unknown_parameter": "drops them"}, "expected-failure", False),
    ],
)
def test_should_findings_are_warnings_failures_in_strict_mode_or_baselined(
    strict: bool, baseline: dict[str, str], outcome: str, gating: bool
) -> None:
    rule_id = "request.unknown_parameter"
    report = build_report([should_case(rule_id)], context=Context(strict=strict, baseline=baseline))
    entry = by_id(report)[rule_id]
    assert (entry["outcome"], entry["gating"]) == (outcome, gating)
    assert report["verdict"]["warnings"] == ([rule_id] if outcome == "warning" else [])
    lines = [text for text, _ in summary_lines(report)]
    assert any("SHOULD deviation(s)" in line for line in lines) == (outcome == "warning")
