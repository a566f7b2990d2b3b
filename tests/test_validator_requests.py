"""validate_request: valid bodies pass, each rule fires on a body that breaks exactly it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import validator
from conformance_tests.strategies import (
    BREAKABLE_RULES,
    BREAKERS,
    breaking_requests,
    home_profile,
    valid_requests,
)
from validator import (
    RULES,
    Profile,
    RequestInvalid,
    check_request,
    resolve_model,
    validate_request,
)

FAMILIES = ["dall-e-2", "dall-e-3", "gpt-image"]
SETTINGS = settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)


def rules_of(body, profile=None):
    return {v.rule for v in validate_request(body, profile=profile)}


@pytest.mark.parametrize("family", FAMILIES)
@SETTINGS
@given(data=st.data())
def test_valid_bodies_of_every_family_have_no_violation(family, data):
    body = data.draw(valid_requests(family))
    assert validate_request(body) == []
    assert resolve_model(body).family == family


@SETTINGS
@given(valid_requests(stream=True))
def test_valid_stream_bodies_have_no_violation(body):
    assert body["stream"] is True
    assert validate_request(body) == []


def test_every_request_rule_has_a_breaker():
    request_rules = [r.id for r in RULES.values() if r.kind == "request"]
    assert request_rules, "the table has request rules"
    assert sorted(BREAKABLE_RULES) == sorted(request_rules)


@pytest.mark.parametrize("rule_id", BREAKABLE_RULES)
def test_each_rule_fires_alone_and_names_its_param(rule_id):
    rule = RULES[rule_id]

    @settings(max_examples=25, suppress_health_check=list(HealthCheck), deadline=None)
    @given(breaking_requests(rule_id))
    def check(body):
        found = validate_request(body, profile=home_profile(rule_id))
        assert {v.rule for v in found} == {rule_id}
        for v in found:
            assert v.level == rule.level
            assert rule.quote in v.message
            if rule_id == "request.unknown_parameter":
                assert v.param in body and v.param not in validator._models.REQUEST_PARAMS
            elif rule_id == "request.body.object":
                assert v.param is None
            else:
                assert v.param in rule.params
                # A missing key is reported at the object that lacks it.
                assert v.path == ("" if rule_id == "request.prompt.required" else f"/{v.param}")

    check()


@pytest.mark.parametrize("rule_id", BREAKABLE_RULES)
def test_breakers_do_not_filter_much(rule_id):
    """The breakers build their bodies; the safety-net filter almost never has to act."""
    fn = BREAKERS[rule_id]
    outcomes: list[bool] = []

    @settings(
        max_examples=20, suppress_health_check=list(HealthCheck), deadline=None, database=None
    )
    @given(st.data())
    def draw(data):
        profile = home_profile(rule_id)
        outcomes.append(rules_of(fn(data.draw, profile), profile) == {rule_id})

    draw()
    assert sum(outcomes) >= 0.9 * len(outcomes), f"{rule_id}: {outcomes.count(False)} unclean draws"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
params = st.sampled_from([*validator._models.REQUEST_PARAMS, "extra"])


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.one_of(json_values, st.dictionaries(params, json_values, max_size=10)))
def test_validate_request_never_raises(body):
    result = validate_request(body)
    assert isinstance(result, list)
    assert all(isinstance(v, validator.Violation) for v in result)
    if not isinstance(body, dict):
        assert [v.rule for v in result] == ["request.body.object"]


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"prompt": "x" * 1_000_000}, id="1MB prompt"),
        pytest.param({"prompt": "x", "user": _nested(100_000)}, id="deep nesting"),
        pytest.param({"prompt": "x", **{f"k{i}": i for i in range(10_000)}}, id="10000 keys"),
        pytest.param({"prompt": "x", "n": 10**5000}, id="huge integer"),
    ],
)
def test_bad_input_is_answered(body):
    found = validate_request(body)
    assert found, "each of these bodies is invalid"
    assert all(len(v.message) < 2000 for v in found)


def test_ten_thousand_unknown_keys_each_reported():
    body = {"prompt": "x", **{f"k{i}": i for i in range(10_000)}}
    found = validate_request(body)
    assert len(found) == 10_000
    assert {v.rule for v in found} == {"request.unknown_parameter"}


# --- model resolution and the deliberate decisions ------------------------------------


@pytest.mark.parametrize(
    ("body", "name", "family", "source"),
    [
        ({"prompt": "x"}, "dall-e-2", "dall-e-2", "default"),
        ({"prompt": "x", "model": None}, "dall-e-2", "dall-e-2", "default"),
        ({"prompt": "x", "model": "dall-e-3"}, "dall-e-3", "dall-e-3", "explicit"),
        ({"prompt": "x", "model": "gpt-image-1.5"}, "gpt-image-1.5", "gpt-image", "explicit"),
        ({"prompt": "x", "output_format": "webp"}, "gpt-image-1", "gpt-image", "implied"),
        ({"prompt": "x", "stream": True}, "gpt-image-1", "gpt-image", "implied"),
        ({"prompt": "x", "quality": "low"}, "dall-e-2", "dall-e-2", "default"),
        ({"prompt": "x", "model": "my-model"}, "my-model", None, "explicit"),
    ],
)
def test_resolve_model(body, name, family, source):
    resolved = resolve_model(body)
    assert (resolved.name, resolved.family, resolved.source) == (name, family, source)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"prompt": "x", "model": "gpt-image-1", "partial_images": 2},
            {"request.partial_images.needs_stream": "SHOULD"},
        ),
        (
            {"prompt": "x", "model": "dall-e-2", "stream": False},
            {"request.stream.false_for_dalle": "SHOULD"},
        ),
        (
            {"prompt": "x", "model": "dall-e-3", "size": "auto"},
            {"request.size.auto_for_dalle": "SHOULD"},
        ),
        ({"prompt": "x", "quality": "low"}, {"request.model.default_dalle2_values": "SHOULD"}),
        ({"prompt": ""}, {"request.prompt.non_empty": "SHOULD"}),
        ({"prompt": "x", "seed": 1}, {"request.unknown_parameter": "SHOULD"}),
        (
            {"prompt": "x", "model": "dall-e-2", "stream": True},
            {"request.stream.gpt_image_only": "MUST"},
        ),
        (
            {"prompt": "x", "model": "dall-e-2", "quality": "low"},
            {"request.quality.per_model": "MUST"},
        ),
        (
            {"prompt": "x", "model": "gpt-image-1", "response_format": "url"},
            {"request.response_format.dalle_only": "MUST"},
        ),
        ({"prompt": "é" * 1000, "model": "dall-e-2"}, {}),
        ({"prompt": "é" * 1001, "model": "dall-e-2"}, {"request.prompt.max_length": "MUST"}),
        ({"prompt": "x", "n": 2.0}, {}),
        ({"prompt": "x", "n": True}, {"request.n.type": "MUST"}),
        ({"prompt": "x", "model": None, "n": None, "size": None, "quality": None}, {}),
        ({"prompt": "x", "user": None}, {"request.user.type": "MUST"}),
        ({"prompt": "x", "model": "gpt-image-2"}, {"request.model.known": "MUST"}),
    ],
)
def test_documented_decisions(body, expected):
    found = {v.rule: str(v.level) for v in validate_request(body)}
    assert found == expected


def test_prompt_length_counts_characters_not_bytes():
    emoji = "🦦" * 4000  # 16000 bytes in UTF-8, 4000 characters
    assert validate_request({"prompt": emoji, "model": "dall-e-3"}) == []


def test_check_request_raises_with_the_violations():
    with pytest.raises(RequestInvalid) as info:
        check_request({"prompt": "x", "model": "dall-e-3", "n": 3})
    assert [v.rule for v in info.value.violations] == ["request.n.dalle3_only_one"]
    assert "request.n.dalle3_only_one" in str(info.value)
    check_request({"prompt": "x"})
    # Non-strict: only MUST rules raise.
    check_request({"prompt": "x", "seed": 1}, strict=False)
    with pytest.raises(RequestInvalid):
        check_request({"prompt": "x", "seed": 1})


def test_profile_maps_custom_models_to_families(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        'name = "local"\n[models]\n"sdxl-turbo" = "gpt-image"\n"flux" = "unconstrained"\n',
        encoding="utf-8",
    )
    profile = Profile.from_toml(path)
    assert (
        validate_request(
            {"prompt": "x", "model": "sdxl-turbo", "size": "1536x1024"}, profile=profile
        )
        == []
    )
    assert rules_of({"prompt": "x", "model": "sdxl-turbo", "size": "256x256"}, profile) == {
        "request.size.per_model"
    }
    # An unconstrained model gets no per-model rule, but still the schema-level ones.
    assert (
        validate_request(
            {"prompt": "x", "model": "flux", "size": "256x256", "style": "vivid"}, profile=profile
        )
        == []
    )
    assert rules_of({"prompt": "x", "model": "flux", "n": 11}, profile) == {"request.n.range"}
    # The default profile does not know them.
    assert rules_of({"prompt": "x", "model": "flux"}) == {"request.model.known"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[models]\nx = 'dall-e-9'\n", "family"),
        ("features = ['teleport']\n", "unknown feature"),
        ("colour = 1\n", "unknown key"),
        ("strict = 'yes'\n", "strict"),
        ("name = \n", "not valid TOML"),
    ],
)
def test_bad_profiles_are_refused_with_a_reason(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(validator.ProfileError, match=message):
        Profile.from_toml(path)


def test_missing_profile_file_is_a_clear_error(tmp_path):
    with pytest.raises(validator.ProfileError, match="cannot read profile"):
        Profile.from_toml(tmp_path / "nope.toml")


# --- the memo and the JSON Schema agree with the plain rules ---------------------------


@SETTINGS
@given(st.one_of(valid_requests(), st.sampled_from(BREAKABLE_RULES).flatmap(breaking_requests)))
def test_memoized_answers_equal_fresh_ones(body):
    fresh = Profile()  # a new profile has an empty memo
    assert validate_request(body, profile=fresh) == validate_request(body)
    assert validate_request(body) == validate_request(body)


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(
    st.one_of(
        valid_requests(),
        st.sampled_from(BREAKABLE_RULES).flatmap(breaking_requests),
        st.dictionaries(params, json_values, max_size=6),
    )
)
def test_schema_rules_agree_with_the_json_schema(body):
    """The fast path (direct checks) and schemas/create-image-request.schema.json agree."""
    from validator._schemas import schema_validator

    schema_ok = schema_validator("request").is_valid(body)
    schema_rules = {v.rule for v in validate_request(body) if RULES[v.rule].schema}
    assert schema_ok == (not schema_rules), schema_rules
    if not schema_ok:
        js_params = {
            (e.path[0] if e.path else ("prompt" if e.validator == "required" else None))
            for e in schema_validator("request").iter_errors(body)
        }
        rule_params = {v.param for v in validate_request(body) if RULES[v.rule].schema}
        assert js_params == rule_params


def test_the_documented_profile_example_loads(tmp_path):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "profiles.md").read_text(
        encoding="utf-8"
    )
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "my-server.toml"
    path.write_text(example, encoding="utf-8")
    profile = Profile.from_toml(path)
    assert profile.name == "my-server"
    assert dict(profile.models) == {"sdxl-turbo": "gpt-image", "flux-schnell": None}
    assert profile.default_model == "sdxl-turbo"
    assert not profile.offers("url_responses")
    assert profile.known_failures == {
        "request.unknown_parameter": "extra parameters are passed through to the model"
    }
    assert validate_request({"prompt": "x", "background": "transparent"}, profile=profile) == []
    assert rules_of({"prompt": "x", "model": "dall-e-2"}, profile) == {"request.model.known"}
