"""The suite's checks: send a request, have the judge rule on what came back, hand the
judgement to the verdict.

The judging itself is :func:`images_conformance.judge.judge_exchange`, the same judge as
``images-conformance validate-cassette`` and the recorded scenarios use. What is left
here is what only the suite knows: the bytes it built (a body the validator rejects
cannot be expected to be served: that is a SuiteError, and nothing is sent), the
situation it created (a wrong key, a wrong method), and the exchange it sent.
"""

from __future__ import annotations

import json
from typing import Any

from images_conformance.exchanges._client import Exchange, Target, encode_json
from images_conformance.judge import Situation, judge_exchange
from validator import RULES, FetchedImage, validate_request

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


def answered(verdict: Verdict, exchange: Exchange, *, what: str) -> None:
    """Fail at once when no complete HTTP answer arrived (timeout, refused, broken connection)."""
    if exchange.status is None:
        verdict.fail_exchange(exchange, f"no answer: {exchange.error}", what=what)
    if exchange.error:
        verdict.fail_exchange(
            exchange, f"the answer could not be read: {exchange.error}", what=what
        )


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
    judgement = judge_exchange(
        exchange, profile=target.profile, situation="valid", fetch=image_fetcher(target)
    )
    verdict.check(exchange, judgement.violations, what=what, fetched=judgement.fetched)
    return exchange


def image_fetcher(target: Target):
    """GET a returned image URL through the target (bounded, never sending the API key)."""

    def fetch(url: str) -> FetchedImage:
        got = target.fetch(url)
        return FetchedImage(got.status, got.body, got.error)

    return fetch


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
    judgement = judge_exchange(exchange, profile=target.profile, situation=situation, broken=broken)
    verdict.check(exchange, judgement.violations, what=what)
    return exchange
