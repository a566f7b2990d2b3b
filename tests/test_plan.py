"""The quick level's plan (conformance_tests/_plan.py): every case standard judges, for few images.

The standard level's requests are drawn here exactly as its tests draw them (the same
strategies, seed and counts, through ``draw_examples``), so the comparison is computed,
never listed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from suite_runs import suite_process

from conformance_tests._cases import draw_examples
from conformance_tests._options import DEFAULT_SEED, LEVELS
from conformance_tests._plan import (
    BROKEN,
    NULL,
    SEVERAL,
    Plan,
    RuleCase,
    cheapen,
    collapse,
    exchange_cases,
    make_plan,
    plan_for,
    refused_cases,
    served_cases,
)
from conformance_tests._scenarios import DOCUMENT_EXAMPLES
from conformance_tests.strategies import BREAKABLE_RULES, NotApplicable, breaking_requests
from conformance_tests.test_positive import CASES as POSITIVE_CASES
from conformance_tests.test_positive import generated_requests
from conformance_tests.test_streaming import CASES as STREAM_CASES
from conformance_tests.test_streaming import generated_stream_requests
from images_conformance.exchanges._client import Exchange, _billable_images, _images_asked
from validator import DEFAULT_PROFILE, FAMILIES, RULES, Profile, validate_request
from validator._rules._expect import asks
from validator._rules._table import rule

MAX_QUICK_GENERATIONS = 12
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_for(DEFAULT_PROFILE, DEFAULT_SEED)


def standard_cases(profile: Profile, plan: Plan, seed: int = DEFAULT_SEED) -> set[RuleCase]:
    """The cases the standard level's tests exercise against a conformant target."""
    level = LEVELS["standard"]
    served: list[Any] = [b for _, b in [(s.id, s.body) for s in DOCUMENT_EXAMPLES]]
    for family in FAMILIES:
        if profile.models_of(family):
            served += draw_examples(
                generated_requests(family, profile, level), level.positive, seed
            )
    served += draw_examples(generated_stream_requests(profile, level), level.streaming, seed)
    for case in (*POSITIVE_CASES, *STREAM_CASES):
        body = case.for_profile(profile)
        if body is not None and profile.features.issuperset(case.features):
            served.append(body)
    found: set[RuleCase] = set()
    for body in served:
        body = json.loads(json.dumps(body))  # as sent
        valid = not validate_request(body, profile=profile)
        found |= exchange_cases(body, profile, served=valid)
    for rule_id in BREAKABLE_RULES:
        try:
            drawn = draw_examples(breaking_requests(rule_id, profile=profile), level.negative, seed)
        except NotApplicable:
            continue
        for body in drawn:
            found |= refused_cases(json.loads(json.dumps(body)), profile)
    return set(collapse(found, plan.families))


def test_quick_exercises_every_case_standard_exercises(plan: Plan) -> None:
    """A case the standard level exercises and the quick plan does not fails here."""
    standard = standard_cases(DEFAULT_PROFILE, plan)
    missing = sorted(standard - plan.cases)
    assert not missing, "exercised at standard, not at quick:\n" + "\n".join(map(str, missing))
    assert len(plan.cases) >= len(standard)


def test_quick_plan_covers_its_universe_within_budget(plan: Plan) -> None:
    assert plan.missing == frozenset()
    assert plan.generations <= MAX_QUICK_GENERATIONS
    assert plan.generations == sum(r.images for r in plan.served)
    # every request rule is broken for each family it judges differently, free of images
    for rule_id in BREAKABLE_RULES:
        if not DEFAULT_PROFILE.edition.holds(RULES[rule_id]):
            continue  # a rule of another edition: not part of a run of the document's
        families = plan.families.get(rule_id)
        want = {None} if families is None else set(families)
        got = {c.family for r in plan.refused_for(rule_id) for c in r.cases if c.rule == rule_id}
        assert got == want, rule_id
    assert all(r.images == 0 for r in plan.refused)


def test_the_issue_cases_are_planned(plan: Plan) -> None:
    """style sent to a GPT image model is refused; explicit nulls are served per family."""
    assert RuleCase("request.style.dalle3_only", "gpt-image", BROKEN) in plan.cases
    assert RuleCase("request.style.dalle3_only", "gpt-image", NULL) in plan.cases
    assert RuleCase("request.background.gpt_image_only", "dall-e-3", NULL) in plan.cases
    nulls = {p for r in plan.served for p, v in r.body.items() if v is None}
    assert nulls >= {"n", "quality", "size", "style", "response_format", "background", "stream"}
    assert RuleCase("response.data.count_matches_n", "gpt-image", SEVERAL) in plan.cases


def test_planned_requests_are_valid_and_as_cheap_as_their_cases_allow(plan: Plan) -> None:
    for request in plan.served:
        assert validate_request(request.body, profile=DEFAULT_PROFILE) == [], request.id
        if not request.fixed:
            assert cheapen(request.body, DEFAULT_PROFILE) == request.body, request.id
            assert request.body.get("size") not in ("1792x1024", "1024x1792", "1536x1024")
    for request in plan.refused:
        rules = {v.rule for v in validate_request(request.body, profile=DEFAULT_PROFILE)}
        assert request.fixed or rules == {request.rule}, request.id


def test_cheapen_keeps_cases_and_lowers_cost() -> None:
    body = {"prompt": "x", "model": "gpt-image-1", "size": "1536x1024", "quality": "high", "n": 3}
    cheap = cheapen(body, DEFAULT_PROFILE)
    assert cheap == {**body, "size": "1024x1024", "quality": "low", "n": 2}
    assert served_cases(cheap, DEFAULT_PROFILE) >= served_cases(body, DEFAULT_PROFILE)


def test_a_rule_added_later_is_planned_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new positive rule about one size gets a request of that size, without a change
    to the planner."""
    monkeypatch.setattr("validator._rules._table.RULES", dict(RULES))
    import validator._rules._table as table

    @rule(
        "image.test_landscape_only",
        "MUST",
        params=["size"],
        quote="(test rule)",
        applies=asks("size", "1536x1024"),
    )
    def _landscape(ctx: Any) -> Any:
        return iter(())

    monkeypatch.setattr("conformance_tests._plan.RULES", table.RULES)
    profile = Profile(name="fresh")  # a new profile: nothing cached
    fresh = make_plan(profile, fixed=[(s.id, s.body) for s in DOCUMENT_EXAMPLES])
    wanted = [c for c in fresh.universe if c.rule == "image.test_landscape_only"]
    assert wanted and set(wanted) <= fresh.cases
    assert any(r.body.get("size") == "1536x1024" for r in fresh.served if not r.fixed)


def _answer(status: int, content_type: str, body: bytes) -> Exchange:
    return Exchange(
        "POST",
        "http://h/v1/images/generations",
        {},
        b"{}",
        status,
        {"content-type": content_type},
        body,
    )


def test_billable_images_count_images_and_completed_events() -> None:
    data = json.dumps({"data": [{"b64_json": "AAAA"}, {"url": "http://h/x.png"}]}).encode()
    assert _billable_images(_answer(200, "application/json", data)) == 2
    assert _billable_images(_answer(400, "application/json", data)) == 0
    stream = (
        b'event: image_generation.completed\ndata: {"type": "image_generation.completed"}\n\n'
        b'event: image_generation.completed\ndata: {"type":"image_generation.completed"}\n\n'
    )
    assert _billable_images(_answer(200, "text/event-stream", stream)) == 2
    assert _images_asked({"n": 3}) == 3 and _images_asked(b'{"prompt": "x"}') == 1
    assert _images_asked({"n": True}) == 1


def test_quick_run_spends_what_it_planned(tmp_path: Path) -> None:
    """The quick level against the embedded reference server: at most 12 images, as planned,
    announced before the tests start and in the summary and report."""
    report = tmp_path / "report.json"
    proc = suite_process(
        "-q",
        "--conformance-level",
        "quick",
        "--conformance-report",
        str(report),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(report.read_text())
    cost = data["cost"]
    assert cost["billable_generations"] == cost["planned_generations"] <= MAX_QUICK_GENERATIONS
    header = proc.stdout.split("\n", 3)
    assert any(f"{cost['planned_generations']} billable generations planned" in h for h in header)
    assert f"billable generations: {cost['billable_generations']} (planned" in proc.stdout
    assert f"(planned {cost['planned_generations']})" in report.with_suffix(".md").read_text()
    exercised = {tuple(c) for t in data["tests"] for c in t["rule_cases"]}
    plan = plan_for(DEFAULT_PROFILE, DEFAULT_SEED)
    assert collapse((RuleCase(*c) for c in exercised), plan.families) == plan.cases
