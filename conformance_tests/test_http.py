"""The HTTP layer: API keys, malformed JSON, wrong methods, content types, no 5xx."""

from __future__ import annotations

import pytest

from images_conformance.exchanges._client import SUITE_KEY_PREFIX

from ._bodies import PROMPT
from ._checks import (
    AUTH_REQUIRED,
    ERROR_RULES,
    JSON_CONTENT_TYPE,
    MALFORMED_JSON,
    METHOD_NOT_ALLOWED,
    NO_SERVER_ERROR,
    answered,
    judge_refusal,
)

COMMON = (NO_SERVER_ERROR, JSON_CONTENT_TYPE)
WRONG_KEY = SUITE_KEY_PREFIX + "wrong-key-0000"


def _cheap_valid_body(conformance_target) -> dict:
    """A valid request that would be cheap if the target served it."""
    profile = conformance_target.profile
    for family, size, quality in (("dall-e-2", "256x256", None), ("gpt-image", "1024x1024", "low")):
        models = profile.models_of(family)
        if models:
            body = {"model": models[0], "prompt": PROMPT, "size": size}
            if quality:
                body["quality"] = quality
            if family == "dall-e-2":
                body["response_format"] = "b64_json"
            return body
    return {"prompt": PROMPT}


@pytest.mark.rules(AUTH_REQUIRED, *ERROR_RULES, *COMMON)
@pytest.mark.parametrize(
    "key", [pytest.param(None, id="missing-key"), pytest.param(WRONG_KEY, id="wrong-key")]
)
def test_api_key_is_checked(key, conformance_target, conformance_verdict):
    """With auth on, a request without a valid key is refused with 401 and an error envelope."""
    target = conformance_target
    if not target.auth_enabled:
        pytest.skip("auth is off: no API key was given and the profile does not set auth = true")
    body = _cheap_valid_body(target)
    what = (
        "a request without an API key must be refused with HTTP 401"
        if key is None
        else "a request with a wrong API key must be refused with HTTP 401"
    )
    exchange = target.post_generation(body, api_key=key)
    answered(conformance_verdict, exchange, what=what)
    judge_refusal(
        target,
        conformance_verdict,
        exchange,
        "missing_key" if key is None else "wrong_key",
        what=what,
    )


MALFORMED = [
    pytest.param(b'{"prompt": "A cute baby sea otter", ', id="truncated"),
    pytest.param(b"{'prompt': 'single quotes'}", id="single-quotes"),
    pytest.param(b'{"prompt": "A cute baby sea otter",}', id="trailing-comma"),
    pytest.param(b"", id="empty-body"),
]


@pytest.mark.rules(MALFORMED_JSON, *ERROR_RULES, *COMMON)
@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_json_is_refused(raw, conformance_target, conformance_verdict):
    """A body that is not JSON is refused with 400 and an error envelope."""
    what = "a body that is not JSON must be refused with HTTP 400"
    exchange = conformance_target.post_generation(raw, may_generate=False)
    answered(conformance_verdict, exchange, what=what)
    judge_refusal(conformance_target, conformance_verdict, exchange, "malformed_json", what=what)


@pytest.mark.rules(METHOD_NOT_ALLOWED, *ERROR_RULES, *COMMON)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_refused(method, conformance_target, conformance_verdict):
    """The endpoint is POST only: other methods get 405."""
    what = f"{method} on the generations endpoint must be refused with HTTP 405"
    exchange = conformance_target.post_generation(b"", method=method, may_generate=False)
    answered(conformance_verdict, exchange, what=what)
    judge_refusal(conformance_target, conformance_verdict, exchange, "wrong_method", what=what)
