"""Invalid requests must be refused: HTTP 400 and an OpenAI error envelope naming the fault.

One test per request rule that has a breaking strategy: each drawn body breaks exactly
that rule. The validator checks the exact bytes before they are sent, so a generator
mistake is reported as a defect of the suite, never as a failure of the target.
"""

from __future__ import annotations

import pytest

from validator import RULES

from ._cases import run_cases
from ._checks import ERROR_RULES, JSON_CONTENT_TYPE, NO_SERVER_ERROR, expect_rejected
from ._plan import plan_of
from .strategies import BREAKABLE_RULES, NotApplicable, breaking_requests


def _param(rule_id: str):
    rule = RULES[rule_id]
    marks = [pytest.mark.rules(rule_id, *ERROR_RULES, NO_SERVER_ERROR, JSON_CONTENT_TYPE)]
    if rule.feature:
        marks.append(pytest.mark.feature(rule.feature))
    return pytest.param(rule_id, id=rule_id, marks=marks)


@pytest.mark.parametrize("rule_id", [_param(r) for r in BREAKABLE_RULES])
def test_invalid_request_is_refused(
    rule_id, conformance_options, conformance_target, conformance_verdict
):
    """Requests breaking exactly ``rule_id`` get 400 with error.param naming the fault.

    At a planned level (quick): the plan's bodies, one per model family the rule judges
    differently (refused requests cost no image); generated ones when it has none."""
    opts = conformance_options
    plan = plan_of(opts)
    planned = plan.refused_for(rule_id) if plan is not None else []
    for request in planned:
        expect_rejected(conformance_target, conformance_verdict, request.body, rule_id=rule_id)
    if planned:
        return
    try:
        run_cases(
            breaking_requests(rule_id, profile=opts.profile),
            lambda body: expect_rejected(
                conformance_target, conformance_verdict, body, rule_id=rule_id
            ),
            examples=opts.level.negative,
            seed_value=opts.seed,
            shrink=opts.level.shrink,
            verdict=conformance_verdict,
        )
    except NotApplicable as exc:
        # The breaker needs a model family the profile does not serve (raised on the
        # first draw, before anything is sent).
        if conformance_verdict.cases:
            raise
        pytest.skip(f"not applicable to profile {opts.profile.name!r}: {exc}")
