"""Streaming: ``stream: true`` is answered as text/event-stream with the document's event grammar.

A plain JSON answer to ``stream: true`` fails (stream.content_type and the event rules).
"""

from __future__ import annotations

from functools import partial

import pytest
from hypothesis import strategies as st

from validator import RULES, Profile

from ._bodies import PROMPT, Case, fit_to_features
from ._cases import run_cases
from ._checks import NO_SERVER_ERROR, VALID_REQUEST_ACCEPTED, expect_served
from ._options import Level, get_options
from ._plan import plan_of
from .strategies import valid_requests
from .test_positive import planned_params

STREAM_RULES = tuple(r.id for r in RULES.values() if r.kind in ("stream", "image"))
HTTP_RULES = (NO_SERVER_ERROR, VALID_REQUEST_ACCEPTED)

pytestmark = [pytest.mark.feature("streaming", "gpt-image")]


def generated_stream_requests(profile: Profile, level: Level) -> st.SearchStrategy:
    """The stream bodies test_streamed_requests draws at ``level``."""
    return valid_requests("gpt-image", profile=profile, cheap=level.cheap, stream=True).map(
        partial(fit_to_features, profile=profile)
    )


@pytest.mark.unplanned
@pytest.mark.rules(*STREAM_RULES, *HTTP_RULES)
def test_streamed_requests(conformance_options, conformance_target, conformance_verdict):
    """Hypothesis-generated valid stream requests; each event stream judged in full."""
    opts = conformance_options
    run_cases(
        generated_stream_requests(opts.profile, opts.level),
        lambda body: expect_served(conformance_target, conformance_verdict, body),
        examples=opts.level.streaming,
        seed_value=opts.seed,
        shrink=opts.level.shrink,
        verdict=conformance_verdict,
    )


CASES = [
    Case(
        "two-partial-images",
        {
            "model": "<gpt-image>",
            "prompt": PROMPT,
            "stream": True,
            "partial_images": 2,
            "size": "1024x1024",
            "quality": "low",
        },
        (
            "stream.content_type",
            "stream.framing",
            "stream.event_name_matches_type",
            "stream.event.fields",
            "stream.partial.index_sequence",
            "stream.partial.count_max",
            "stream.completed.one_per_image",
            "stream.usage.sums",
            "stream.echo.matches_request",
        ),
    ),
    Case(
        "no-partial-images",
        {
            "model": "<gpt-image>",
            "prompt": PROMPT,
            "stream": True,
            "size": "1024x1024",
            "quality": "low",
        },
        ("stream.content_type", "stream.partial.count_max", "stream.completed.one_per_image"),
    ),
]


@pytest.mark.unplanned
@pytest.mark.rules(*HTTP_RULES)
@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id, marks=pytest.mark.rules(*c.rules)) for c in CASES]
)
def test_fixed_stream_request(case, conformance_options, conformance_target, conformance_verdict):
    """A fixed stream request aimed at particular stream rules."""
    body = case.for_profile(conformance_options.profile)
    if body is None:
        pytest.skip(f"profile {conformance_options.profile.name!r} serves no GPT image model")
    expect_served(
        conformance_target, conformance_verdict, body, what=f"fixed stream case {case.id}"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.name == "test_planned_stream_request":
        plan = plan_of(get_options(metafunc.config))
        metafunc.parametrize("planned", planned_params(plan.chosen(stream=True) if plan else []))


@pytest.mark.planned
@pytest.mark.rules(*HTTP_RULES)
def test_planned_stream_request(planned, conformance_target, conformance_verdict):
    """A stream request of the quick plan (conformance_tests/_plan.py): each event judged."""
    expect_served(
        conformance_target,
        conformance_verdict,
        planned.body,
        what=f"planned stream request {planned.id}",
    )
