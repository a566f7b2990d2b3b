"""The fixed scenario catalogue of the recorded tests (conformance_tests/_scenarios.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sources import DOCUMENT

from conformance_tests._scenarios import INVALID_BODIES, SCENARIOS, scenario_by_id, wire_bytes
from conformance_tests.strategies import BREAKABLE_RULES
from images_conformance.exchanges.formats import CassettePersister
from validator import DEFAULT_PROFILE, FEATURES, RULES, Profile, validate_request

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "cassettes" / "reference"


def _sent(body: object) -> object:
    """What the target parses from the bytes on the wire."""
    return json.loads(wire_bytes(body))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_the_validator_agrees_with_the_catalogue(scenario):
    rules = sorted({v.rule for v in validate_request(_sent(scenario.body))})
    if scenario.kind == "valid":
        assert rules == []
    elif scenario.breaks is not None:
        assert rules == [scenario.breaks], "an invalid scenario must break exactly its rule"
    else:
        assert rules, "an invalid scenario must break some rule"


def test_one_invalid_scenario_per_breakable_request_rule():
    """Of the document edition: the recorded catalogue is the endpoint document's."""
    breakable = [r for r in BREAKABLE_RULES if DEFAULT_PROFILE.edition.holds(RULES[r])]
    assert set(INVALID_BODIES) == set(breakable)
    broken = [s.breaks for s in SCENARIOS if s.breaks]
    assert sorted(broken) == sorted(breakable)


def test_every_family_and_optional_feature_has_a_valid_scenario():
    valid = [s for s in SCENARIOS if s.kind == "valid"]
    covered = {f for s in valid for f in s.features}
    assert covered == set(FEATURES)
    models = {s.body.get("model") for s in valid}
    assert {"dall-e-3", "gpt-image-1-mini"} <= models and None in models  # None: the default
    gpt = [s.body for s in valid if s.body.get("model") == "gpt-image-1-mini"]
    assert {b.get("output_format", "png") for b in gpt} == {"png", "jpeg", "webp"}
    assert any(b.get("background") == "transparent" for b in gpt)
    stream = scenario_by_id("gpt-image-stream-partial-images").body
    assert stream["stream"] is True and stream["partial_images"] >= 2


def test_the_smallest_size_each_family_allows():
    for s in SCENARIOS:
        body = s.body
        if not isinstance(body, dict) or s.kind != "valid":
            continue
        model = body.get("model") or "dall-e-2"
        smallest = "256x256" if model == "dall-e-2" else "1024x1024"
        assert body.get("size") == smallest, s.id
        assert body.get("n", 1) == 1, s.id
        if model.startswith("gpt-image") and s.group != "document-example":
            assert body.get("quality") == "low", s.id


def test_ids_are_unique_file_names_and_markers_are_known():
    ids = [s.id for s in SCENARIOS]
    assert len(ids) == len(set(ids))
    for s in SCENARIOS:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", s.id), s.id
        assert set(s.features) <= set(FEATURES), s.id
        known = set(RULES)
        assert set(s.rules) <= known, (s.id, set(s.rules) - known)


def test_wire_bytes_are_deterministic_and_keep_key_order():
    body = {"prompt": "Ein Haus am See, 一只猫", "model": "dall-e-2", "n": 1}
    assert wire_bytes(body) == wire_bytes(dict(body))
    assert wire_bytes(body).startswith(b'{"prompt":"Ein Haus am See, \xe4\xb8\x80')
    assert wire_bytes({"b": 1, "a": 2}) == b'{"b":1,"a":2}'


def test_model_names_follow_the_profile():
    profile = Profile.from_mapping(
        {
            "include_document_models": False,
            "models": {"my-dalle": "dall-e-2", "my-gpt": "gpt-image"},
        }
    )
    assert scenario_by_id("dall-e-2-b64_json").for_profile(profile)["model"] == "my-dalle"
    assert scenario_by_id("gpt-image-png").for_profile(profile)["model"] == "my-gpt"
    assert scenario_by_id("doc-example-generate-image").for_profile(profile)["model"] == "my-gpt"
    assert scenario_by_id("dall-e-3-b64_json").for_profile(profile) is None
    assert (
        scenario_by_id("invalid-request.model.known").for_profile(profile)["model"]
        == "no-such-model"
    )
    # the document's own names are kept when served
    assert (
        scenario_by_id("doc-example-generate-image").for_profile(Profile())["model"]
        == "gpt-image-1.5"
    )


def test_document_examples_are_the_documents_requests():
    text = DOCUMENT.read_text(encoding="utf-8")
    bodies = [json.loads(m) for m in re.findall(r"-d '(\{.*?\})'", text, flags=re.S)]
    examples = [s.body for s in SCENARIOS if s.group == "document-example"]
    assert examples == bodies


def test_every_scenario_has_a_committed_reference_cassette_and_no_cassette_is_orphaned():
    expected = {s.id for s in SCENARIOS}
    found = {}
    for p in REFERENCE.iterdir():
        if p.name.endswith((".yaml", ".yaml.gz")):
            found[p.name.removesuffix(".gz").removesuffix(".yaml")] = p
    assert set(found) == expected
    for s in SCENARIOS:
        assert CassettePersister.existing(REFERENCE / f"{s.id}.yaml") is not None
