"""Editions: the endpoint document (default) and the official text of 2026-08 (gpt-image-2)."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conformance_tests._cases import draw_examples
from conformance_tests.strategies import BREAKERS, breaking_requests, custom_sizes, valid_requests
from validator import (
    DEFAULT_PROFILE,
    RULES,
    Level,
    Profile,
    ProfileError,
    validate_request,
    validate_response,
    validate_stream,
)
from validator._editions import EDITION_2026_08, EDITIONS, parse_size
from validator._profile import edition_profile, profile_with_edition

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "editions" / "gpt-image-2-real-traffic.jsonl.gz"
TEXT_2026_08 = ROOT / "spec" / "openapi-2026-08-create-image-request.yaml"
P26 = edition_profile("2026-08")
LIMITS = EDITION_2026_08.custom_sizes
NEW_RULES = [r.id for r in RULES.values() if r.source == "2026-08"]
SETTINGS = settings(max_examples=150, suppress_health_check=list(HealthCheck), deadline=None)


def rules_of(body, profile=P26):
    return {v.rule for v in validate_request(body, profile=profile)}


def g2(size, **more):
    return {"prompt": "an otter", "model": "gpt-image-2", "size": size, **more}


def png_b64(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


# --- the two real gpt-image-2 recordings --------------------------------------------------


def _real():
    with gzip.open(REAL, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_the_real_recordings_are_the_two_gpt_image_2_exchanges():
    records = _real()
    assert [r["request"]["model"] for r in records] == ["gpt-image-2", "gpt-image-2"]
    assert {r["request"]["size"] for r in records} == {"1280x720", "1024x1024"}
    assert all(r["source"]["repo"] == "pydantic/pydantic-ai" for r in records)


@pytest.mark.parametrize("index", [0, 1])
def test_real_gpt_image_2_exchange_is_clean_under_2026_08(index):
    record = _real()[index]
    assert record["status"] == 200
    assert validate_request(record["request"], profile=P26) == []
    assert validate_response(record["request"], record["response"], profile=P26) == []


@pytest.mark.parametrize("index", [0, 1])
def test_real_gpt_image_2_exchange_is_outside_the_document(index):
    record = _real()[index]
    assert "request.model.known" in rules_of(record["request"], DEFAULT_PROFILE)
    assert "request.model.known" in rules_of(record["request"], Profile())


def test_the_custom_echo_is_outside_the_document_only():
    record = _real()[0]  # size 1280x720
    found = validate_response(record["request"], record["response"])
    assert "response.echo.resolved" in {v.rule for v in found}


# --- the size rules ---------------------------------------------------------------------------

CASES = {
    "1536x864": set(),  # the text's own example
    "1280x720": set(),
    "auto": set(),
    "1024x1536": set(),
    "256x256": set(),  # a dall-e-2 size is a valid WIDTHxHEIGHT for gpt-image-2
    "512x1536": set(),  # 1:3 exactly: "between" includes the bounds
    "1536x512": set(),
    "2560x1440": set(),  # the threshold itself is not "above" it
    "1920x1920": set(),  # as many pixels as 2560x1440
    "3840x2160": {"request.size.custom_experimental"},
    "2160x3840": {"request.size.custom_experimental"},  # either orientation
    "2880x2880": {"request.size.custom_experimental"},  # 8294400 pixels: the maximum
    "4800x1600": {"request.size.custom_experimental"},  # pixel count, not edge lengths
    "3856x2160": {"request.size.custom_maximum"},
    "4096x4096": {"request.size.custom_maximum"},
    "1000x1000": {"request.size.custom_multiple_of_16"},
    "1544x864": {"request.size.custom_multiple_of_16"},
    "1552x512": {"request.size.custom_aspect_ratio"},
    "496x1536": {"request.size.custom_aspect_ratio"},
    "1536X864": {"request.size.custom_format"},
    "0x864": {"request.size.custom_format"},
    " 1536x864": {"request.size.custom_format"},
    "1536x864px": {"request.size.custom_format"},
}


@pytest.mark.parametrize(("size", "expected"), CASES.items(), ids=list(CASES))
def test_gpt_image_2_sizes(size, expected):
    found = validate_request(g2(size), profile=P26)
    assert {v.rule for v in found} == expected
    for v in found:
        assert v.param == "size" and v.path == "/size"
        assert v.level == (Level.SHOULD if v.rule.endswith("experimental") else Level.MUST)
        assert "The official text of 2026-08-21" in v.message
        assert RULES[v.rule].quote in v.message


@pytest.mark.parametrize("model", ["gpt-image-2-2026-04-21", "gpt-image-2"])
def test_both_gpt_image_2_names_take_free_sizes(model):
    assert rules_of(g2("1536x864", model=model)) == set()


@pytest.mark.parametrize("model", ["gpt-image-1", "gpt-image-1.5", "dall-e-3"])
def test_other_models_keep_the_listed_sizes_under_2026_08(model):
    assert rules_of(g2("1536x864", model=model)) == {"request.size.enum"}
    assert rules_of(g2("1792x1024", model="gpt-image-1")) == {"request.size.per_model"}


def test_gpt_image_2_is_outside_the_document_exactly_as_before():
    assert rules_of(g2("1536x864"), DEFAULT_PROFILE) == {"request.model.known", "request.size.enum"}
    assert rules_of(g2("1024x1024"), DEFAULT_PROFILE) == {"request.model.known"}
    # the new rules never fire under the document
    for body in (g2("1000x1000"), g2("3840x2160"), g2("4096x4096"), g2(12)):
        assert not rules_of(body, DEFAULT_PROFILE) & set(NEW_RULES)


def test_everything_else_of_the_gpt_image_family_applies_to_gpt_image_2():
    assert rules_of(g2("1536x864", response_format="b64_json")) == {
        "request.response_format.dalle_only"
    }
    assert rules_of(g2("1536x864", background="transparent", output_format="jpeg")) == {
        "request.background.transparent_needs_png_or_webp"
    }
    assert rules_of(g2("1536x864", output_compression=50)) == {
        "request.output_compression.needs_jpeg_or_webp"
    }
    assert rules_of(g2("1536x864", quality="hd")) == {"request.quality.per_model"}
    assert rules_of(g2("1536x864", prompt="a" * 32001)) == {"request.prompt.max_length"}
    assert (
        rules_of(g2("1536x864", stream=True, partial_images=2, background="transparent")) == set()
    )


def test_quotes_follow_the_edition():
    """Where the 2026-08 text words a rule differently, its violations quote that text."""
    found = validate_request({"prompt": "x", "model": "gpt-image-9"}, profile=P26)
    assert [v.rule for v in found] == ["request.model.known"]
    assert "`gpt-image-2-2026-04-21`)." in found[0].message
    assert found[0].message.count("The official text of 2026-08-21") == 1
    old = validate_request({"prompt": "x", "model": "gpt-image-9"})[0]
    assert "gpt-image-1.5)." in old.message and "The document:" in old.message


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_2026_08_quote_stands_in_the_2026_08_text():
    text = _flat(TEXT_2026_08.read_text(encoding="utf-8"))
    quotes = [RULES[r].quote for r in NEW_RULES] + list(EDITION_2026_08.quotes.values())
    assert len(quotes) >= 8
    for quote in quotes:
        assert quote in text, quote


def test_the_2026_08_text_keeps_its_provenance_header():
    head = TEXT_2026_08.read_text(encoding="utf-8").splitlines()[:3]
    assert head[0].startswith(
        "# The official OpenAPI text of CreateImageRequest, edition of 2026-08"
    )
    assert (
        "openai/openai-openapi" in head[1] and "f85dbe223d40e1a31cba812ab2d755c7e98a92a3" in head[1]
    )


# --- hypothesis: generated sizes and breakers --------------------------------------------------


@SETTINGS
@given(custom_sizes(LIMITS, min_edge=16, max_edge=3840))
def test_every_generated_valid_size_passes(size):
    assert rules_of(g2(size)) == set()


@SETTINGS
@given(custom_sizes(LIMITS, min_edge=16, max_edge=4096, experimental=True))
def test_every_generated_size_up_to_the_maximum_passes_or_is_only_experimental(size):
    w, h = parse_size(size)
    expected = {"request.size.custom_experimental"} if w * h > 2560 * 1440 else set()
    assert rules_of(g2(size)) == expected


@SETTINGS
@given(valid_requests("gpt-image", profile=P26))
def test_every_generated_valid_gpt_image_request_passes(body):
    assert validate_request(body, profile=P26) == []


def test_generated_requests_include_gpt_image_2_with_free_sizes():
    # Drawn as the suite draws them (fixed seed, no database), whatever settings profile
    # other tests of the same process have loaded.
    seen = {
        (body.get("model"), body.get("size"))
        for body in draw_examples(valid_requests("gpt-image", profile=P26), 200, 0)
        if body.get("model") in EDITION_2026_08.custom_size_models
        and isinstance(body.get("size"), str)
    }
    free = {
        size for _model, size in seen if size not in ("auto", "1024x1024", "1536x1024", "1024x1536")
    }
    assert len(free) >= 5, seen


@pytest.mark.parametrize("rule_id", NEW_RULES)
def test_each_size_breaker_fails_with_its_rule_and_param_size(rule_id):
    assert rule_id in BREAKERS

    @settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
    @given(breaking_requests(rule_id))
    def check(body):
        found = validate_request(body, profile=P26)
        assert [(v.rule, v.param) for v in found] == [(rule_id, "size")]
        # under the document the same body is outside it, never one of the new rules
        assert not rules_of(body, DEFAULT_PROFILE) & set(NEW_RULES)

    check()


@pytest.mark.parametrize("rule_id", NEW_RULES)
def test_breakers_of_the_new_rules_do_not_apply_to_the_document(rule_id):
    from conformance_tests.strategies import NotApplicable

    @settings(max_examples=1, database=None)
    @given(st.data())
    def draw(data):
        with pytest.raises(NotApplicable, match="edition document"):
            BREAKERS[rule_id](data.draw, DEFAULT_PROFILE)

    draw()


# --- answers ----------------------------------------------------------------------------------


def _answer(size: str, echo: str | None = None, pixels: tuple[int, int] | None = None) -> dict:
    w, h = pixels or parse_size(size)
    out = {
        "created": 1784566911,
        "background": "opaque",
        "output_format": "png",
        "quality": "low",
        "data": [{"b64_json": png_b64(w, h)}],
        "usage": {
            "input_tokens": 5,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": 5},
            "output_tokens": 10,
            "output_tokens_details": {"image_tokens": 10, "text_tokens": 0},
            "total_tokens": 15,
        },
    }
    out["size"] = echo or size
    return out


def test_an_answer_at_the_requested_free_size_is_clean():
    assert validate_response(g2("1536x864"), _answer("1536x864"), profile=P26) == []
    assert validate_response(g2("auto"), _answer("1280x720"), profile=P26) == []


def test_an_answer_ignoring_the_free_size_names_the_rules():
    found = validate_response(g2("1536x864"), _answer("1024x1024"), profile=P26)
    assert {(v.rule, v.param) for v in found} == {
        ("response.echo.matches_request", "size"),
        ("image.size", "size"),
    }


def test_an_echo_outside_the_limits_is_not_resolved():
    found = validate_response(g2("auto"), _answer("1000x1000"), profile=P26)
    assert "response.echo.resolved" in {v.rule for v in found}


def test_a_stream_at_the_requested_free_size_is_clean_and_a_wrong_one_is_not():
    def events(size, pixels):
        data = {
            "type": "image_generation.completed",
            "b64_json": png_b64(*pixels),
            "created_at": 1784566911,
            "size": size,
            "quality": "low",
            "background": "opaque",
            "output_format": "png",
            "usage": _answer("16x16")["usage"],
        }
        return [{"event": data["type"], "data": data}]

    request = g2("1536x864", stream=True)
    assert validate_stream(request, events("1536x864", (1536, 864)), profile=P26) == []
    wrong = validate_stream(request, events("1024x1024", (1024, 1024)), profile=P26)
    assert {v.rule for v in wrong} == {"stream.echo.matches_request", "image.size"}


# --- profiles ---------------------------------------------------------------------------------


def test_editions_are_named():
    assert list(EDITIONS) == ["document", "2026-08"]
    assert DEFAULT_PROFILE.edition.name == "document"
    assert P26.edition is EDITION_2026_08
    assert P26.custom_size_models == {"gpt-image-2", "gpt-image-2-2026-04-21"}
    assert DEFAULT_PROFILE.custom_size_models == frozenset()


def test_a_toml_profile_starts_from_either_edition(tmp_path):
    path = tmp_path / "gw.toml"
    path.write_text(
        'edition = "2026-08"\n[models]\n"my-g2" = "gpt-image-2"\n"my-g1" = "gpt-image"\n',
        encoding="utf-8",
    )
    profile = Profile.from_toml(path)
    assert profile.edition.name == "2026-08"
    assert rules_of(g2("1536x864", model="my-g2"), profile) == set()
    assert rules_of(g2("1536x864", model="my-g1"), profile) == {"request.size.enum"}
    assert rules_of(g2("1536x864"), profile) == set()
    # the same file judged by the document: gpt-image-2 is not a model of it
    with pytest.raises(ProfileError, match="a model of edition 'document'"):
        Profile.from_toml(path, edition="document")
    path.write_text('[models]\n"my-g1" = "gpt-image"\n', encoding="utf-8")
    assert Profile.from_toml(path).edition.name == "document"
    assert Profile.from_toml(path, edition="2026-08").custom_size_models == P26.custom_size_models


def test_an_unknown_edition_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('edition = "2027-01"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="unknown edition '2027-01'; known: document, 2026-08"):
        Profile.from_toml(path)
    with pytest.raises(ProfileError, match="unknown edition"):
        edition_profile("nope")


def test_profile_with_edition_keeps_a_custom_profiles_own_models():
    custom = Profile.from_mapping({"models": {"sdxl": "gpt-image"}}, source="x.toml")
    moved = profile_with_edition(custom, "2026-08")
    assert moved.edition.name == "2026-08" and moved.models["sdxl"] == "gpt-image"
    assert rules_of(g2("1536x864"), moved) == set()
    assert profile_with_edition(None, "2026-08") is P26
    assert profile_with_edition(None, None) is DEFAULT_PROFILE


# --- the suite, the reference server, the report -----------------------------------------------


@pytest.mark.usefixtures("suite_env")
def test_suite_with_edition_2026_08_passes_against_the_reference_server(pytester, tmp_path):
    from suite_runs import run_suite

    report = tmp_path / "report.json"
    run = run_suite(
        pytester,
        "--conformance-edition",
        "2026-08",
        "--conformance-report",
        str(report),
    )
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    outcomes = run.outcomes()
    # the whole suite at the standard level: nothing failed, skipped or xfailed
    assert set(outcomes) == {"passed"}, outcomes
    assert not run.gating_rules()
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["target"]["edition"] == "2026-08"
    by_id = {r["id"]: r for r in data["rules"]}
    for rule_id in NEW_RULES:
        assert by_id[rule_id]["outcome"] == "passed", by_id[rule_id]
    nodeids = {r.nodeid for r in run.call_reports()}
    assert any("gpt-image-2-free-size" in n for n in nodeids)
    assert sum("test_invalid_request_is_refused[request.size.custom" in n for n in nodeids) == 5
    summary = report.with_suffix(".md").read_text(encoding="utf-8")
    assert "edition `2026-08`" in summary


@pytest.mark.usefixtures("suite_env")
def test_suite_under_the_document_leaves_the_2026_08_rules_out(pytester, tmp_path):
    from suite_runs import run_suite

    report = tmp_path / "report.json"
    run = run_suite(
        pytester,
        "--conformance-report",
        str(report),
        "--conformance-level",
        "quick",
        "-k",
        "custom or gpt-image-2-free-size or test_document_example",
    )
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    nodeids = [r.nodeid for r in run.call_reports()]
    assert nodeids and all("example" in n for n in nodeids), nodeids
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["target"]["edition"] == "document"
    by_id = {r["id"]: r for r in data["rules"]}
    # the report of the document has no entry for a rule of another edition
    assert not set(NEW_RULES) & set(by_id)
    assert "request.model.known" in by_id


def _cassette(tmp_path: Path) -> Path:
    import yaml

    interactions = [
        {
            "request": {
                "body": json.dumps(r["request"]),
                "headers": {"Content-Type": ["application/json"]},
                "method": "POST",
                "uri": "https://api.openai.com/v1/images/generations",
            },
            "response": {
                "status": {"code": r["status"], "message": "OK"},
                "headers": {"Content-Type": [r["content_type"]]},
                "body": {"string": json.dumps(r["response"])},
            },
        }
        for r in _real()
    ]
    path = tmp_path / "gpt-image-2.yaml"
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    return path


def test_validate_cassette_judges_by_the_edition(tmp_path, capsys):
    from images_conformance.cli.validate_cassette import main

    path = _cassette(tmp_path)
    assert main([str(path), "--edition", "2026-08"]) == 0
    out = capsys.readouterr().out
    assert "2 interaction(s)" in out and "0 not conformant" in out
    assert out.rstrip().endswith("(edition 2026-08)")
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "request.model.known" in out and out.rstrip().endswith("(edition document)")
    assert main([str(path), "--edition", "2026-08", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["edition"] == "2026-08"


def test_validate_cassette_refuses_an_unknown_edition(tmp_path, capsys):
    from images_conformance.cli.validate_cassette import main

    assert main([str(_cassette(tmp_path)), "--edition", "2027"]) == 2
    assert "invalid choice: '2027'" in capsys.readouterr().err


def test_the_reference_server_serves_the_2026_08_edition():
    import httpx

    from reference_server import running_server

    with (
        running_server(edition="2026-08") as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        body = g2("1536x864", quality="low", output_format="webp")
        answer = client.post("/images/generations", json=body)
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert data["size"] == "1536x864"
        assert validate_response(body, data, profile=P26) == []
        image = Image.open(io.BytesIO(base64.b64decode(data["data"][0]["b64_json"])))
        assert image.size == (1536, 864) and image.format == "WEBP"
        refused = client.post("/images/generations", json=g2("1000x1000"))
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "size"
        assert "divisible by 16" in refused.json()["error"]["message"]
    # the document: gpt-image-2 is not one of its models
    with (
        running_server() as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        refused = client.post("/images/generations", json=g2("1536x864"))
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "model"


def test_the_reference_server_cli_takes_an_edition(capsys):
    from reference_server._cli import main

    assert main(["--edition", "2027", "--port", "0"]) == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "serve", "validate-cassette", "proxy"])
def test_every_command_takes_the_same_profile_and_edition_options(command, capsys):
    from images_conformance.cli.main import main

    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    group = out[out.index("profile and edition:") :]
    assert "--profile FILE" in group and "docs/profiles.md" in group
    assert f"--edition {{{','.join(EDITIONS)}}}" in group and "docs/editions.md" in group


def test_load_profile_reads_a_file_or_gives_openais_under_an_edition(tmp_path):
    from validator import DEFAULT_PROFILE, load_profile

    assert load_profile(None) is DEFAULT_PROFILE
    assert load_profile(None, "2026-08") is edition_profile("2026-08")
    path = tmp_path / "acme.toml"
    path.write_text('name = "acme"\n[models]\n"acme-1" = "gpt-image-2"\n')
    loaded = load_profile(path, "2026-08")
    assert loaded.name == "acme" and loaded.edition.name == "2026-08"
    assert "acme-1" in loaded.custom_size_models
    with pytest.raises(ProfileError, match=f"cannot read profile {tmp_path / 'no.toml'}"):
        load_profile(tmp_path / "no.toml")
    with pytest.raises(ProfileError, match="unknown edition '2027'"):
        load_profile(None, "2027")


def test_the_edition_shortcut_of_the_validator_api():
    from validator import RequestInvalid, check_request, resolve_model

    assert validate_request(g2("1536x864"), edition="2026-08") == []
    assert resolve_model(g2("auto"), edition="2026-08").family == "gpt-image"
    assert not resolve_model(g2("auto")).known
    check_request(g2("3840x2160"), edition="2026-08", strict=False)  # experimental: a note
    with pytest.raises(RequestInvalid) as caught:
        check_request(g2("3840x2160"), edition="2026-08")
    assert [v.rule for v in caught.value.violations] == ["request.size.custom_experimental"]
    record = _real()[0]
    assert validate_response(record["request"], record["response"], edition="2026-08") == []
    with pytest.raises(ProfileError, match="unknown edition '2099'"):
        validate_request(g2("auto"), edition="2099")
