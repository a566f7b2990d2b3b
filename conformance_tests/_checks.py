"""Judging exchanges: send a request, run the validator on what came back, hand it to the verdict.

The expectation of every check comes from the validator run on the exact bytes sent:
a body the validator accepts must be served, one it rejects must be refused.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from validator import (
    RULES,
    Level,
    Violation,
    parse_sse,
    validate_error,
    validate_request,
    validate_response,
    validate_stream,
)
from validator._validate import validate_image_bytes

from ._target import Exchange, Target, encode_json
from ._verdict import SuiteError, Verdict

# Rules of the HTTP layer the suite checks. While the validator's table lacks them, the
# suite carries their level and sentence here (SUITE_RULES); an entry of RULES with the
# same id takes precedence.
NO_SERVER_ERROR = "http.no_server_error"
JSON_CONTENT_TYPE = "http.json_content_type"
VALID_REQUEST_ACCEPTED = "http.valid_request_accepted"
AUTH_REQUIRED = "http.auth_required"
MALFORMED_JSON = "http.malformed_json_400"
METHOD_NOT_ALLOWED = "http.method_not_allowed"
URL_FETCHABLE = "response.url.fetchable"

SUITE_RULES: dict[str, tuple[Level, str]] = {
    NO_SERVER_ERROR: (
        Level.MUST,
        "Invalid requests are rejected with a 4xx (400 for invalid parameters) [DESIGN.md]; "
        "no request the suite sends may be answered with a 5xx",
    ),
    JSON_CONTENT_TYPE: (
        Level.MUST,
        "the path declares only a 200 response: application/json -> ImagesResponse, "
        "text/event-stream -> ImageGenStreamEvent. Errors use ErrorResponse. [OpenAPI]",
    ),
    VALID_REQUEST_ACCEPTED: (
        Level.MUST,
        "Creates an image given a prompt. Returns ImagesResponse object",
    ),
    AUTH_REQUIRED: (
        Level.MUST,
        'curl https://api.openai.com/v1/images/generations -H "Authorization: Bearer '
        '$OPENAI_API_KEY"; the API key ignored, or a wrong key answered with something other '
        "than 401, is a deviation [field notes]",
    ),
    MALFORMED_JSON: (
        Level.MUST,
        "Malformed JSON or a missing prompt answered with 500 (or even 200) is a deviation "
        "[field notes]; a body that is not JSON is an invalid request (400)",
    ),
    METHOD_NOT_ALLOWED: (
        Level.MUST,
        "post /images/generations: the endpoint is POST only (405 for other methods)",
    ),
    URL_FETCHABLE: (
        Level.MUST,
        "url: When using dall-e-2 or dall-e-3, the URL of the generated image if "
        "response_format is set to url (default value). URLs are only valid for 60 minutes "
        "after the image has been generated.",
    ),
}

ERROR_RULES = tuple(r for r in RULES if r.startswith("error."))


def rule_level_and_quote(rule_id: str) -> tuple[Level, str]:
    """The level and sentence of a rule: from the validator's table, else SUITE_RULES."""
    rule = RULES.get(rule_id)
    if rule is not None:
        return rule.level, rule.quote
    return SUITE_RULES[rule_id]


def violation(rule_id: str, message: str, *, param: str | None = None, path: str = "") -> Violation:
    """A violation of a rule, worded like the validator's own."""
    level, quote = rule_level_and_quote(rule_id)
    return Violation(rule_id, level, f'{message}. The document: "{quote}"', param, path)


def http_violations(exchange: Exchange, *, expect_stream: bool = False) -> list[Violation]:
    """Checks every answer must pass: no 5xx, JSON bodies labelled as JSON."""
    out: list[Violation] = []
    status = exchange.status
    if status is None:
        return out
    if status >= 500:
        out.append(violation(NO_SERVER_ERROR, f"the target answered HTTP {status}"))
    if expect_stream and status == 200:
        return out  # the stream rules judge the content type
    ct = exchange.content_type
    if exchange.body and ct != "application/json":
        try:
            json.loads(exchange.body)
        except ValueError:
            is_json = False
        else:
            is_json = True
        if is_json or status != 200:
            out.append(
                violation(
                    JSON_CONTENT_TYPE,
                    f"the answer (HTTP {status}) must be JSON labelled application/json; got "
                    f"{'JSON' if is_json else 'a body that is not JSON'} labelled "
                    f"{exchange.headers.get('content-type')!r}",
                )
            )
    return out


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
    stream = sent.get("stream") is True
    what = what or f"a valid request (model {sent.get('model', 'not given')}) must be served"
    exchange = target.post_generation(raw)
    exchange.stream = stream
    answered(verdict, exchange, what=what)
    violations = http_violations(exchange, expect_stream=stream)
    if exchange.status != 200:
        parsed, _ = _parse(exchange)
        violations.append(
            violation(
                VALID_REQUEST_ACCEPTED,
                f"the validator finds this request valid, but the target answered "
                f"HTTP {exchange.status}",
            )
        )
        if exchange.status is not None and exchange.status >= 400:
            violations.extend(validate_error(exchange.status, parsed, profile=target.profile))
        verdict.check(exchange, violations, what=what)
        return exchange
    if stream:
        events = parse_sse(exchange.body)
        violations.extend(
            validate_stream(
                sent,
                events,
                profile=target.profile,
                content_type=exchange.headers.get("content-type"),
            )
        )
        verdict.check(exchange, violations, what=what)
        return exchange
    parsed, problem = _parse(exchange)
    if problem is not None:
        violations.append(violation("response.body.object", problem))
        verdict.check(exchange, violations, what=what)
        return exchange
    violations.extend(validate_response(sent, parsed, profile=target.profile))
    violations.extend(url_violations(target, sent, parsed))
    verdict.check(exchange, violations, what=what)
    return exchange


def url_violations(target: Target, request: dict[str, Any], response: Any) -> list[Violation]:
    """Fetch every absolute http(s) url of the answer: 200 and the image the request asked for."""
    out: list[Violation] = []
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, list):
        return out
    for i, item in enumerate(data):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str):
            continue
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue  # response.url.absolute_http reports it
        path = f"/data/{i}/url"
        fetched = target.fetch(url)
        if fetched.status != 200 or fetched.error:
            got = fetched.error or f"HTTP {fetched.status}"
            out.append(violation(URL_FETCHABLE, f"fetching data[{i}].url gave {got}", path=path))
            continue
        for v in validate_image_bytes(
            request, fetched.body, profile=target.profile, echoed_size=response.get("size")
        ):
            out.append(
                Violation(
                    v.rule, v.level, f"the image at data[{i}].url: {v.message}", v.param, path
                )
            )
    return out


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
    return judge_refusal(target, verdict, exchange, sent, broken=broken, what=what)


def judge_refusal(
    target: Target,
    verdict: Verdict,
    exchange: Exchange,
    sent: Any,
    *,
    broken: str,
    what: str,
    status: int | None = None,
) -> Exchange:
    """Judge the answer to a request that had to be refused (``status``: the one required)."""
    violations = http_violations(exchange)
    parsed, _ = _parse(exchange)
    assert exchange.status is not None
    if exchange.status < 400:
        # Accepting a request is a deviation of the rule it breaks, at that rule's level.
        violations.append(
            violation(
                broken, f"the target accepted it (HTTP {exchange.status}) instead of refusing it"
            )
        )
    else:
        violations.extend(
            validate_error(exchange.status, parsed, request=sent, profile=target.profile)
        )
        if status is not None and exchange.status != status:
            violations.append(
                violation(broken, f"expected HTTP {status}; got HTTP {exchange.status}")
            )
    verdict.check(exchange, violations, what=what)
    return exchange
