"""The one judge: an Exchange and its parts give the same judgement; the suite's situations."""

from __future__ import annotations

import json

from images_conformance import Exchange, judge_exchange, rules_exercised

URL = "http://127.0.0.1:1/v1/images/generations"
INVALID = json.dumps({"model": "dall-e-2", "prompt": "A", "n": 0}).encode()
VALID = json.dumps({"model": "dall-e-2", "prompt": "A", "size": "256x256"}).encode()
ERROR = json.dumps(
    {"error": {"message": "n must be 1 or more", "type": "invalid_request_error", "param": "n"}}
).encode()
JSON = {"content-type": "application/json"}


def _exchange(request: bytes, status: int | None, body: bytes, **kw: object) -> Exchange:
    return Exchange("POST", URL, {}, request, status, JSON, body, **kw)


def test_an_exchange_and_its_parts_are_judged_alike():
    for request, status, body in [(INVALID, 400, ERROR), (INVALID, 200, b"{}"), (VALID, 500, b"")]:
        whole = judge_exchange(_exchange(request, status, body))
        parts = judge_exchange(request, status, JSON, body)
        assert (whole.outcome, whole.violations) == (parts.outcome, parts.violations)


def test_accepting_a_request_built_to_break_a_rule_breaks_that_rule_only():
    j = judge_exchange(
        _exchange(INVALID, 200, b"{}"), situation="invalid", broken="request.n.range"
    )
    assert j.outcome == "accepted-invalid"
    assert [v.rule for v in j.violations if v.rule.startswith("request.")] == ["request.n.range"]


def test_a_situation_the_sender_created_decides_the_status_expected():
    refused = judge_exchange(_exchange(VALID, 200, b"{}"), situation="missing_key")
    assert refused.outcome == "accepted-invalid"
    assert "http.auth_required" in {v.rule for v in refused.violations}
    ok = judge_exchange(
        Exchange("GET", URL, {}, b"", 405, JSON, ERROR.replace(b'"n"', b"null")),
        situation="wrong_method",
    )
    assert ok.outcome == "refused" and "http.method_not_allowed" not in {
        v.rule for v in ok.violations
    }


def test_a_body_cut_at_the_size_cap_is_not_parsed():
    j = judge_exchange(_exchange(VALID, 200, b'{"created": 1, "da', truncated=True))
    (v,) = [v for v in j.violations if v.rule == "response.body.object"]
    assert "cut at" in v.message


def test_a_refusal_exercises_the_error_rules_and_the_rules_the_request_broke():
    rules, applied = rules_exercised(judge_exchange(INVALID, 400, JSON, ERROR))
    assert "error.envelope" in rules and "request.n.range" in rules and not applied
