"""Valid requests must be served: a 200 whose body (images included) satisfies every response rule.

Generated requests for each model family (hypothesis, from the rule table), plus fixed
cases that make sure each positive rule is exercised at every conformance level.
"""

from __future__ import annotations

from functools import partial

import pytest
from hypothesis import strategies as st

from validator import FAMILIES, RULES, Family, Profile

from ._bodies import FREE_SIZE_MODEL, PROMPT, Case, features_used, fit_to_features
from ._cases import run_cases
from ._checks import NO_SERVER_ERROR, URL_FETCHABLE, VALID_REQUEST_ACCEPTED, expect_served
from ._options import Level, get_options
from ._plan import PlannedRequest, plan_of
from .strategies import valid_requests

HTTP_RULES = (NO_SERVER_ERROR, VALID_REQUEST_ACCEPTED, URL_FETCHABLE)
RESPONSE_RULES = tuple(
    r.id for r in RULES.values() if r.kind in ("response", "image") and r.id in RULES
)


def generated_requests(family: Family, profile: Profile, level: Level) -> st.SearchStrategy:
    """The valid bodies test_valid_requests_are_served draws for ``family`` at ``level``."""
    return valid_requests(family, profile=profile, cheap=level.cheap).map(
        partial(fit_to_features, profile=profile)
    )


@pytest.mark.unplanned
@pytest.mark.rules(*RESPONSE_RULES, *HTTP_RULES)
@pytest.mark.parametrize(
    "family", [pytest.param(f, id=f, marks=pytest.mark.feature(f)) for f in FAMILIES]
)
def test_valid_requests_are_served(
    family, conformance_options, conformance_target, conformance_verdict
):
    """Hypothesis-generated valid requests of one family: each answer judged in full."""
    opts = conformance_options
    profile = opts.profile
    if not profile.models_of(family):
        pytest.skip(f"profile {profile.name!r} serves no model of the {family} family")
    run_cases(
        generated_requests(family, profile, opts.level),
        lambda body: expect_served(conformance_target, conformance_verdict, body),
        examples=opts.level.positive,
        seed_value=opts.seed,
        shrink=opts.level.shrink,
        verdict=conformance_verdict,
    )


CASES = [
    Case(
        "dall-e-2-n3-b64_json",
        {
            "model": "<dall-e-2>",
            "prompt": PROMPT,
            "n": 3,
            "size": "256x256",
            "response_format": "b64_json",
        },
        (
            "response.data.count_matches_n",
            "response.image.field_per_model",
            "image.size",
            "image.decodes",
        ),
        ("dall-e-2", "b64_json_responses"),
    ),
    Case(
        "default-model-url",
        {"prompt": PROMPT, "size": "256x256"},
        (
            "response.image.field_per_model",
            "response.url.absolute_http",
            URL_FETCHABLE,
            "image.size",
        ),
        ("dall-e-2", "url_responses"),
    ),
    Case(
        "dall-e-3-hd-natural-url",
        {
            "model": "<dall-e-3>",
            "prompt": PROMPT,
            "quality": "hd",
            "style": "natural",
            "size": "1024x1024",
        },
        ("response.revised_prompt.dalle3_present", "response.url.absolute_http", URL_FETCHABLE),
        ("dall-e-3", "url_responses"),
    ),
    Case(
        "dall-e-3-landscape-b64_json",
        {
            "model": "<dall-e-3>",
            "prompt": PROMPT,
            "size": "1792x1024",
            "response_format": "b64_json",
        },
        ("image.size", "response.revised_prompt.dalle3_present", "response.image.field_per_model"),
        ("dall-e-3", "b64_json_responses"),
    ),
    Case(
        "gpt-image-n2-low",
        {"model": "<gpt-image>", "prompt": PROMPT, "n": 2, "size": "1024x1024", "quality": "low"},
        (
            "response.data.count_matches_n",
            "response.usage.shape",
            "response.usage.sums",
            "response.echo.resolved",
            "response.echo.matches_request",
            "response.image.field_per_model",
        ),
        ("gpt-image", "b64_json_responses"),
    ),
    Case(
        "gpt-image-landscape",
        {"model": "<gpt-image>", "prompt": PROMPT, "size": "1536x1024", "quality": "low"},
        ("image.size", "response.echo.matches_request"),
        ("gpt-image", "b64_json_responses"),
    ),
    Case(
        "gpt-image-size-auto",
        {"model": "<gpt-image>", "prompt": PROMPT, "size": "auto", "quality": "low"},
        ("image.size", "response.echo.resolved"),
        ("gpt-image", "b64_json_responses"),
    ),
    Case(
        "gpt-image-transparent-png",
        {
            "model": "<gpt-image>",
            "prompt": PROMPT,
            "background": "transparent",
            "output_format": "png",
            "size": "1024x1024",
            "quality": "low",
        },
        ("image.transparency", "image.format", "response.echo.matches_request"),
        ("gpt-image", "b64_json_responses", "transparency"),
    ),
    Case(
        "gpt-image-opaque-jpeg-compressed",
        {
            "model": "<gpt-image>",
            "prompt": PROMPT,
            "background": "opaque",
            "output_format": "jpeg",
            "output_compression": 40,
            "size": "1024x1024",
            "quality": "low",
        },
        ("image.format", "image.opaque", "response.echo.matches_request"),
        ("gpt-image", "b64_json_responses", "output_formats"),
    ),
    Case(
        "gpt-image-transparent-webp",
        {
            "model": "<gpt-image>",
            "prompt": PROMPT,
            "background": "transparent",
            "output_format": "webp",
            "size": "1024x1024",
            "quality": "low",
        },
        ("image.format", "image.transparency"),
        ("gpt-image", "b64_json_responses", "output_formats", "transparency"),
    ),
    Case(
        "gpt-image-2-free-size",
        {"model": FREE_SIZE_MODEL, "prompt": PROMPT, "size": "1280x720", "quality": "low"},
        ("image.size", "response.echo.matches_request", "response.echo.resolved"),
        ("gpt-image", "b64_json_responses"),
    ),
    Case(
        "gpt-image-implied-by-moderation",
        {"prompt": PROMPT, "moderation": "low", "size": "1024x1024", "quality": "low"},
        ("response.image.field_per_model", "response.url.absolute_http", "image.format"),
        ("gpt-image", "b64_json_responses"),
    ),
]


@pytest.mark.unplanned
@pytest.mark.rules(*HTTP_RULES)
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c, id=c.id, marks=[pytest.mark.rules(*c.rules), pytest.mark.feature(*c.features)]
        )
        for c in CASES
    ],
)
def test_fixed_valid_request(case, conformance_options, conformance_target, conformance_verdict):
    """A fixed valid request aimed at particular response rules."""
    body = case.for_profile(conformance_options.profile)
    if body is None:
        pytest.skip(f"profile {conformance_options.profile.name!r} serves no model for {case.id}")
    expect_served(conformance_target, conformance_verdict, body, what=f"fixed case {case.id}")


def planned_params(requests: list[PlannedRequest]) -> list:
    """pytest params for planned served requests: the rules and features each exercises."""
    params = []
    for r in requests:
        features = sorted(features_used(r.body, r.family) | ({r.family} if r.family else set()))
        marks = [pytest.mark.rules(*r.rules), pytest.mark.feature(*features)]
        params.append(pytest.param(r, id=r.id, marks=marks))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.name == "test_planned_request":
        plan = plan_of(get_options(metafunc.config))
        metafunc.parametrize("planned", planned_params(plan.chosen(stream=False) if plan else []))


@pytest.mark.planned
@pytest.mark.rules(*HTTP_RULES)
def test_planned_request(planned, conformance_target, conformance_verdict):
    """A request of the quick plan (conformance_tests/_plan.py): served, answer judged in full."""
    expect_served(
        conformance_target, conformance_verdict, planned.body, what=f"planned request {planned.id}"
    )
