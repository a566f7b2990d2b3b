"""The requests of the endpoint document itself (spec/create-image.md), as fixed cases.

What each must get is decided by the validator, not by the page: the first example mixes
parameters of the dall-e models (response_format, style) with parameters only the GPT
image models support, so the rules make it an invalid request, to be refused with 400.
"""

from __future__ import annotations

import pytest

from validator import RULES, resolve_model, validate_request

from ._checks import ERROR_RULES, JSON_CONTENT_TYPE, NO_SERVER_ERROR, expect_rejected, expect_served
from ._scenarios import DOCUMENT_EXAMPLES

EXAMPLES = {scenario.id: scenario.body for scenario in DOCUMENT_EXAMPLES}
"""The three requests of the page, as the recorded-scenario catalogue holds them."""
POSITIVE_RULES = tuple(r.id for r in RULES.values() if r.kind in ("response", "stream", "image"))
COMMON = (NO_SERVER_ERROR, JSON_CONTENT_TYPE)


def _features(body: dict) -> list:
    marks = []
    if body.get("stream") is True:
        marks.append(pytest.mark.feature("streaming"))
    return marks


@pytest.mark.rules(*POSITIVE_RULES, *ERROR_RULES, *COMMON)
@pytest.mark.parametrize(
    "name", [pytest.param(n, id=n, marks=_features(b)) for n, b in EXAMPLES.items()]
)
def test_document_example(name, conformance_target, conformance_verdict):
    """Each example request of the document: served when valid, refused when not."""
    body = dict(EXAMPLES[name])
    profile = conformance_target.profile
    family = resolve_model(body, profile=profile).family
    if family is not None and not profile.offers(family):
        pytest.skip(f"feature {family!r} not declared by profile {profile.name!r}")
    faults = validate_request(body, profile=profile)
    if faults:
        expect_rejected(
            conformance_target,
            conformance_verdict,
            body,
            what=f"the document's {name} request breaks {sorted({v.rule for v in faults})}, "
            "so it must be refused with HTTP 400 naming one of them",
        )
    else:
        expect_served(
            conformance_target, conformance_verdict, body, what=f"the document's {name} request"
        )
