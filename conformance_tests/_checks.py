"""Judging exchanges: send a request, run the validator on what came back, hand it to the verdict.

The expectation of every check comes from the validator run on the exact bytes sent:
a body the validator accepts must be served, one it rejects must be refused. Every
verdict comes from the rule table (``validate_exchange`` for the HTTP layer,
``validate_response`` / ``validate_stream`` / ``validate_error`` for the bodies).
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urlsplit

from images_conformance.exchanges._client import Exchange, Target, encode_json
from validator import (
    RULES,
    FetchedImage,
    Violation,
    parse_sse,
    validate_error,
    validate_exchange,
    validate_request,
    validate_response,
    validate_stream,
)

from ._verdict import SuiteError, Verdict

# Rule ids the tests name in their markers.
NO_SERVER_ERROR = "http.no_server_error"
JSON_CONTENT_TYPE = "http.json_content_type"
VALID_REQUEST_ACCEPTED = "http.valid_request_accepted"
AUTH_REQUIRED = "http.auth_required"
MALFORMED_JSON = "http.malformed_json_400"
METHOD_NOT_ALLOWED = "http.method_not_allowed"
URL_FETCHABLE = "response.url.fetchable"

ERROR_RULES = tuple(r for r in RULES if r.startswith("error."))

Situation = Literal[
    "valid", "invalid", "malformed_json", "missing_key", "wrong_key", "wrong_method"
]


def rule_violation(rule_id: str, message: str) -> Violation:
    """A violation of a rule of the table, worded like the validator's own."""
    rule = RULES[rule_id]
    param = rule.params[0] if rule.params else None
    return Violation(rule_id, rule.level, f'{message}. The document: "{rule.quote}"', param)


def http_violations(exchange: Exchange, situation: Situation) -> list[Violation]:
    """The HTTP rules for an answer: no 5xx, JSON labelled as JSON, the status the situation
    calls for."""
    return validate_exchange(
        exchange.status,
        content_type=exchange.headers.get("content-type"),
        body=exchange.body,
        situation="any" if situation == "invalid" else situation,
        stream=exchange.stream,
    )


def answered(verdict: Verdict, exchange: Exchange, *, what: str) -> None:
    """Fail at once when no complete HTTP answer arrived (timeout, refused, broken connection)."""
    if exchange.status is None:
        verdict.fail_exchange(exchange, f"no answer: {exchange.error}", what=what)
    if exchange.error:
        verdict.fail_exchange(
            exchange, f"the answer could not be read: {exchange.error}", what=what
        )


def _parse(exchange: Exchange) -> tuple[Any, str | None]:
    try:
        return exchange.json(), None
    except ValueError as exc:
        return None, str(exc)


def sent_body(body: Any) -> tuple[bytes, Any]:
    """The bytes that go on the wire and the value the target will parse from them."""
    raw = encode_json(body)
    return raw, json.loads(raw)


def expect_served(
    target: Target, verdict: Verdict, body: dict[str, Any], *, what: str = ""
) -> Exchange:
    """Send a valid request; the answer must be a conformant 200 (JSON or stream)."""
    raw, sent = sent_body(body)
    faults = validate_request(sent, profile=target.profile)
    if faults:
        raise SuiteError(
            "the suite built a request the validator rejects, so it cannot expect a 200: "
            + "; ".join(str(v) for v in faults)
            + f"\nbody: {raw[:2000]!r}"
        )
    what = what or f"a valid request (model {sent.get('model', 'not given')}) must be served"
    exchange = target.post_generation(raw)
    answered(verdict, exchange, what=what)
    violations = http_violations(exchange, "valid")
    parsed, problem = _parse(exchange)
    if exchange.status != 200:
        if exchange.status is not None and exchange.status >= 400:
            violations.extend(validate_error(exchange.status, parsed, profile=target.profile))
    elif exchange.stream:
        violations.extend(
            validate_stream(
                sent,
                parse_sse(exchange.body),
                profile=target.profile,
                content_type=exchange.headers.get("content-type"),
            )
        )
    elif problem is not None:
        violations.append(rule_violation("response.body.object", problem))
    else:
        fetched = fetch_urls(target, parsed)
        violations.extend(validate_response(sent, parsed, profile=target.profile, fetched=fetched))
    verdict.check(exchange, violations, what=what)
    return exchange


def fetch_urls(target: Target, response: Any) -> dict[int, FetchedImage]:
    """GET every absolute http(s) url of the answer (others are response.url.absolute_http's)."""
    fetched: dict[int, FetchedImage] = {}
    data = response.get("data") if isinstance(response, dict) else None
    for i, item in enumerate(data if isinstance(data, list) else []):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str):
            continue
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname:
            got = target.fetch(url)
            fetched[i] = FetchedImage(got.status, got.body, got.error)
    return fetched


def expect_rejected(
    target: Target,
    verdict: Verdict,
    body: Any,
    *,
    rule_id: str | None = None,
    what: str = "",
) -> Exchange:
    """Send an invalid request; it must be refused with 400 and an error envelope naming a fault.

    The validator runs on the exact bytes first: when ``rule_id`` is given and the body
    does not break it, that is a defect of the suite (SuiteError), and nothing is sent.
    """
    raw, sent = sent_body(body)
    faults = validate_request(sent, profile=target.profile)
    if not faults:
        raise SuiteError(f"the suite built a request the validator accepts: {raw[:2000]!r}")
    if rule_id is not None and rule_id not in {v.rule for v in faults}:
        raise SuiteError(
            f"the request built to break {rule_id} does not break it; it breaks "
            f"{sorted({v.rule for v in faults})}: {raw[:2000]!r}"
        )
    broken = rule_id or faults[0].rule
    what = what or (
        f"a request breaking {broken} must be refused with HTTP 400 and an error envelope "
        f"whose param names the fault ({', '.join(sorted({str(v.param) for v in faults}))})"
    )
    exchange = target.post_generation(raw, may_generate=False)
    answered(verdict, exchange, what=what)
    return judge_refusal(
        target, verdict, exchange, "invalid", request=sent, broken=broken, what=what
    )


def judge_refusal(
    target: Target,
    verdict: Verdict,
    exchange: Exchange,
    situation: Situation,
    *,
    request: Any = None,
    broken: str | None = None,
    what: str,
) -> Exchange:
    """Judge the answer to a request that had to be refused.

    ``request``: the parsed body, when it is JSON (the error must then name one of its
    faults); ``broken``: the request rule it breaks, whose level an acceptance takes.
    """
    violations = http_violations(exchange, situation)
    assert exchange.status is not None
    if exchange.status < 400:
        if broken is not None:
            # Accepting a request is a deviation of the rule it breaks, at that rule's level.
            violations.append(
                rule_violation(
                    broken,
                    f"the target accepted it (HTTP {exchange.status}) instead of refusing it",
                )
            )
    else:
        parsed, _ = _parse(exchange)
        violations.extend(
            validate_error(exchange.status, parsed, request=request, profile=target.profile)
        )
    verdict.check(exchange, violations, what=what)
    return exchange
