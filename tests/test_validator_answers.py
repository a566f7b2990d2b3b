"""validate_response / validate_stream / validate_error: conformant answers built from real
images pass, and every response, stream, image and error rule is shown to fire."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validator_builders import (
    COMPLETED,
    PARTIAL,
    b64_image,
    image_bytes,
    response_for,
    sse_text,
    stream_for,
)

from conformance_tests.strategies import valid_requests
from validator import (
    RULES,
    FetchedImage,
    parse_sse,
    validate_error,
    validate_exchange,
    validate_response,
    validate_stream,
)
from validator._validate import validate_image_bytes

GPT = {"prompt": "otter", "model": "gpt-image-1", "size": "1024x1024", "quality": "low"}
GPT_WEBP_T = {**GPT, "output_format": "webp", "background": "transparent", "n": 2}
GPT_OPAQUE = {**GPT, "background": "opaque"}
D2_URL = {"prompt": "otter", "model": "dall-e-2", "size": "256x256", "n": 2}
D2_B64 = {"prompt": "otter", "size": "256x256", "response_format": "b64_json"}
D3 = {"prompt": "otter", "model": "dall-e-3"}
STREAM = {**GPT, "stream": True, "partial_images": 2, "n": 2}


def rules_of(violations) -> set[str]:
    return {v.rule for v in violations}


# --- both sides: conformant answers pass ------------------------------------------------


@pytest.mark.parametrize("request_body", [GPT, GPT_WEBP_T, GPT_OPAQUE, D2_URL, D2_B64, D3])
def test_conformant_response_passes(request_body):
    assert validate_response(request_body, response_for(request_body)) == []


@settings(max_examples=25, suppress_health_check=list(HealthCheck), deadline=None)
@given(valid_requests(cheap=True))
def test_generated_requests_with_conformant_responses_pass(request_body):
    assert validate_response(request_body, response_for(request_body)) == []


def test_conformant_stream_passes():
    events = stream_for(STREAM)
    assert [e["event"] for e in events] == [PARTIAL, PARTIAL, COMPLETED] * 2
    assert validate_stream(STREAM, events, content_type="text/event-stream; charset=utf-8") == []
    assert validate_stream(STREAM, parse_sse(sse_text(events))) == []


def test_stream_without_partials_passes():
    request = {**GPT, "stream": True}
    assert validate_stream(request, parse_sse(sse_text(stream_for(request)))) == []


def test_error_envelope_passes():
    body = {
        "error": {
            "message": "n too big",
            "type": "invalid_request_error",
            "param": "n",
            "code": None,
        }
    }
    assert validate_error(400, body) == []
    assert validate_error(400, body, request={"prompt": "x", "n": 11}) == []


@pytest.mark.parametrize(
    ("status", "situation", "content_type", "stream"),
    [
        (200, "valid", "application/json", False),
        (200, "valid", "text/event-stream", True),
        (400, "malformed_json", "application/json; charset=utf-8", False),
        (401, "missing_key", "application/json", False),
        (401, "wrong_key", "application/json", False),
        (405, "wrong_method", "application/json", False),
        (400, "any", "application/json", False),
    ],
)
def test_conformant_http_answers_pass(status, situation, content_type, stream):
    assert (
        validate_exchange(
            status, content_type=content_type, body=b"{}", situation=situation, stream=stream
        )
        == []
    )


def test_fetched_url_images_are_judged():
    png = image_bytes("256x256")
    assert (
        validate_response(
            D2_URL,
            response_for(D2_URL),
            fetched={0: FetchedImage(200, png), 1: FetchedImage(200, png)},
        )
        == []
    )
    found = validate_response(
        D2_URL, response_for(D2_URL), fetched={1: FetchedImage(200, image_bytes("512x512"))}
    )
    assert [(v.rule, v.path) for v in found] == [("image.size", "/data/1/url")]


def test_fetched_url_image_bytes_pass():
    assert validate_image_bytes(D2_URL, image_bytes("256x256")) == []
    assert rules_of(validate_image_bytes(D2_URL, image_bytes("512x512"))) == {"image.size"}


# --- every rule fires ------------------------------------------------------------------

Mutation = Callable[[], list]


def _response(request: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> Mutation:
    def run() -> list:
        response = copy.deepcopy(response_for(request))
        replaced = change(response)
        return validate_response(request, response if replaced is None else replaced)

    return run


def _stream(
    request: dict[str, Any], change: Callable[[list], Any], content_type: str | None = None
) -> Mutation:
    def run() -> list:
        events = copy.deepcopy(stream_for(request))
        replaced = change(events)
        return validate_stream(
            request, events if replaced is None else replaced, content_type=content_type
        )

    return run


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def change(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value

    return change


def _delete(path: list[Any]) -> Callable[[Any], None]:
    def change(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        del doc[path[-1]]

    return change


FIRES: dict[str, list[Mutation]] = {
    "response.body.object": [_response(GPT, lambda r: [r]), _response(GPT, lambda r: "ok")],
    "response.created.unix_seconds": [
        _response(GPT, _set(["created"], 1_700_000_000_000)),
        _response(GPT, _set(["created"], "1700000000")),
        _response(D3, _delete(["created"])),
    ],
    "response.data.array": [
        _response(D3, _set(["data"], {"url": "x"})),
        _response(D2_URL, _set(["data", 0], "x")),
    ],
    "response.data.count_matches_n": [
        _response(D2_URL, lambda r: r["data"].pop()),
        _response(GPT, _delete(["data"])),
    ],
    "response.data.item_fields": [_response(D3, _set(["data", 0, "revised_prompt"], 7))],
    "response.data.no_null_fields": [
        _response(GPT, _set(["data", 0, "url"], None)),
        _response(D2_URL, _set(["data", 0, "b64_json"], None)),
    ],
    "response.image.field_per_model": [
        _response(GPT, _set(["data", 0], {"url": "https://x.test/a.png"})),
        _response(D2_URL, _set(["data", 0], {"b64_json": b64_image("256x256")})),
        _response(D2_B64, _set(["data", 0, "url"], "https://x.test/a.png")),
    ],
    "response.url.absolute_http": [
        _response(D2_URL, _set(["data", 0, "url"], "/images/a.png")),
        _response(D3, _set(["data", 0, "url"], "file:///tmp/a.png")),
    ],
    "response.url.fetchable": [
        lambda: validate_response(D2_URL, response_for(D2_URL), fetched={0: FetchedImage(404)}),
        lambda: validate_response(
            D2_URL, response_for(D2_URL), fetched={1: FetchedImage(None, error="timed out")}
        ),
    ],
    "response.revised_prompt.dalle3_only": [
        _response(D2_URL, _set(["data", 0, "revised_prompt"], "x"))
    ],
    "response.revised_prompt.dalle3_present": [
        _response(D3, _delete(["data", 0, "revised_prompt"]))
    ],
    "response.usage.gpt_image_present": [_response(GPT, _delete(["usage"]))],
    "response.usage.shape": [
        _response(GPT, _delete(["usage", "input_tokens_details"])),
        _response(GPT, _set(["usage", "output_tokens"], 1.5)),
        _response(
            GPT, _set(["usage"], {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
        ),
    ],
    "response.usage.sums": [
        _response(GPT, _set(["usage", "total_tokens"], 1)),
        _response(GPT, _set(["usage", "input_tokens_details", "text_tokens"], 999)),
    ],
    "response.echo.resolved": [
        _response(GPT, _set(["size"], "auto")),
        _response(GPT, _set(["quality"], "auto")),
    ],
    "response.echo.matches_request": [
        _response(GPT_OPAQUE, _set(["background"], "transparent")),
        _response(GPT_WEBP_T, _set(["output_format"], "png")),
    ],
    "image.base64": [_response(GPT, _set(["data", 0, "b64_json"], "not base64!"))],
    "image.decodes": [
        _response(GPT, _set(["data", 0, "b64_json"], base64.b64encode(b"hello").decode()))
    ],
    "image.format": [
        _response(GPT_WEBP_T, _set(["data", 1, "b64_json"], b64_image("1024x1024", "png", True)))
    ],
    "image.size": [
        _response(GPT, _set(["data", 0, "b64_json"], b64_image("256x256"))),
        _response(D2_B64, _set(["data", 0, "b64_json"], b64_image("512x512"))),
    ],
    "image.transparency": [
        _response(GPT_WEBP_T, _set(["data", 0, "b64_json"], b64_image("1024x1024", "webp")))
    ],
    "image.opaque": [
        _response(GPT_OPAQUE, _set(["data", 0, "b64_json"], b64_image("1024x1024", "png", True)))
    ],
    "stream.content_type": [_stream(STREAM, lambda e: None, content_type="application/json")],
    "stream.framing": [
        lambda: validate_stream(STREAM, parse_sse("event: x\ndata: {not json\n\n")),
        lambda: validate_stream(STREAM, parse_sse("event: image_generation.completed\n\n")),
    ],
    "stream.event_name_matches_type": [_stream(STREAM, _set([0, "event"], None))],
    "stream.event.fields": [
        _stream(STREAM, _delete([0, "data", "created_at"])),
        _stream(STREAM, _delete([2, "data", "usage"])),
        _stream(STREAM, _set([1, "data", "type"], "image_generation.progress")),
    ],
    "stream.partial.index_sequence": [
        _stream(STREAM, _set([0, "data", "partial_image_index"], 1)),
        _stream(STREAM, _set([1, "data", "partial_image_index"], 0)),
    ],
    "stream.partial.count_max": [
        lambda: validate_stream({**STREAM, "partial_images": 1}, stream_for(STREAM))
    ],
    "stream.completed.one_per_image": [
        _stream(STREAM, lambda e: e.pop()),
        _stream(STREAM, lambda e: [*e, copy.deepcopy(e[0])]),
    ],
    "stream.usage.sums": [_stream(STREAM, _set([2, "data", "usage", "total_tokens"], 5))],
    "stream.echo.matches_request": [_stream(STREAM, _set([2, "data", "quality"], "high"))],
    "http.no_server_error": [
        lambda: validate_exchange(500, content_type="application/json", body=b"{}")
    ],
    "http.json_content_type": [
        lambda: validate_exchange(400, content_type="text/plain", body=b'{"error": {}}'),
        lambda: validate_exchange(400, content_type="text/html", body=b"<h1>bad</h1>"),
    ],
    "http.valid_request_accepted": [lambda: validate_exchange(422, situation="valid")],
    "http.auth_required": [
        lambda: validate_exchange(200, situation="missing_key"),
        lambda: validate_exchange(403, situation="wrong_key"),
    ],
    "http.malformed_json_400": [lambda: validate_exchange(422, situation="malformed_json")],
    "http.method_not_allowed": [lambda: validate_exchange(404, situation="wrong_method")],
    "error.status": [
        lambda: validate_error(
            200, {"error": {"message": "", "type": "x", "param": None, "code": None}}
        )
    ],
    "error.invalid_request_400": [
        lambda: validate_error(
            422,
            {"error": {"message": "m", "type": "t", "param": "n", "code": None}},
            request={"prompt": "x", "n": 11},
        )
    ],
    "error.envelope": [
        lambda: validate_error(400, {"detail": [{"loc": ["body", "n"]}]}),
        lambda: validate_error(400, {"error": "bad n"}),
        lambda: validate_error(400, {"error": {"message": "m", "type": "t"}}),
    ],
    "error.param_names_fault": [
        lambda: validate_error(
            400,
            {"error": {"message": "m", "type": "t", "param": "size", "code": None}},
            request={"prompt": "x", "n": 11},
        )
    ],
    "error.code_identifier": [
        lambda: validate_error(
            400,
            {
                "error": {
                    "message": "m",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "400",
                }
            },
        ),
        lambda: validate_error(
            401,
            {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": ""}},
        ),
    ],
    "error.type_invalid_request": [
        lambda: validate_error(
            400, {"error": {"message": "m", "type": "api_error", "param": None, "code": None}}
        )
    ],
    "response.created.time_of_creation": [
        _response(GPT, _set(["created"], 0)),
        _response(D3, _set(["created"], 4_102_444_800)),  # 2100
        lambda: validate_response(
            D2_URL, response_for(D2_URL), received_at=(1_800_000_000, 1_800_000_030)
        ),
    ],
    "response.revised_prompt.not_null": [_response(GPT, _set(["data", 0, "revised_prompt"], None))],
    "response.no_null_fields": [
        _response(D3, _set(["background"], None)),
        _response(D2_URL, _set(["quality"], None)),
        _response(GPT, _set(["usage", "output_tokens_details"], None)),
        _response(GPT, _set(["usage"], None)),
    ],
    "response.usage.gpt_image_only": [
        _response(D3, lambda r: r.update(usage=response_for(GPT)["usage"])),
        _response(D2_URL, lambda r: r.update(usage=response_for(GPT)["usage"])),
    ],
    "response.echo.gpt_image_only": [
        _response(D3, _set(["output_format"], "png")),
        _response(D2_URL, _set(["size"], "1024x1024")),
    ],
}


def test_every_answer_rule_has_a_firing_case():
    answer_rules = {r.id for r in RULES.values() if r.kind != "request"}
    assert answer_rules == set(FIRES)


@pytest.mark.parametrize("rule_id", sorted(FIRES))
def test_rule_fires(rule_id):
    for i, mutation in enumerate(FIRES[rule_id]):
        found = mutation()
        assert rule_id in rules_of(found), f"case {i}: {[str(v) for v in found]}"
        for v in found:
            if v.rule == rule_id:
                assert RULES[rule_id].quote in v.message


# --- robustness ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response", [None, 1, "x", [], {"data": None}, {"data": [None, 1]}, {"created": 10**5000}]
)
def test_odd_responses_are_answered(response):
    assert validate_response(GPT, response)


@pytest.mark.parametrize("events", [None, [], [None], [{"event": "x"}], [{"data": [1]}]])
def test_odd_streams_are_answered(events):
    assert validate_stream(STREAM, events)


def test_parse_sse_framing():
    text = ': comment\r\nevent: a\r\ndata: {"type": "a",\r\ndata: "x": 1}\r\n\r\nretry: 5\n\nevent: b\ndata: {}'
    events = parse_sse(text)
    assert events[0] == {"event": "a", "data": {"type": "a", "x": 1}}
    assert events[1]["event"] == "b" and "not terminated" in events[1]["error"]
    assert parse_sse(b"") == []
    assert "unknown field" in parse_sse("bogus line\n\n")[0]["error"]


def test_stream_echo_of_a_size_the_event_schema_cannot_carry():
    """An unconstrained model asked for 256x256 echoes 'auto' in its events: no conflict."""
    from validator import Profile

    profile = Profile(models={"anything": None})
    request = {"prompt": "x", "model": "anything", "size": "256x256", "stream": True}
    events = stream_for({"prompt": "x", "model": "gpt-image-1", "stream": True})
    for event in events:
        event["data"]["size"] = "auto"
        event["data"]["b64_json"] = b64_image("256x256")
    assert validate_stream(request, events, profile=profile) == []
    events[0]["data"]["b64_json"] = b64_image("512x512")
    assert rules_of(validate_stream(request, events, profile=profile)) == {"image.size"}


@pytest.mark.parametrize(
    ("rule_id", "request_body", "family", "applies"),
    [
        ("image.transparency", GPT_WEBP_T, "gpt-image", True),
        ("image.transparency", GPT, "gpt-image", False),
        ("response.url.fetchable", D2_URL, "dall-e-2", True),
        ("response.url.fetchable", D2_B64, "dall-e-2", False),
        ("image.base64", D2_URL, "dall-e-2", False),
        ("image.base64", D2_B64, "dall-e-2", True),
        ("response.usage.sums", GPT, "gpt-image", True),
        ("response.usage.sums", STREAM, "gpt-image", False),
        ("stream.usage.sums", STREAM, "gpt-image", True),
        ("stream.partial.index_sequence", {**STREAM, "partial_images": 0}, "gpt-image", False),
        ("response.revised_prompt.dalle3_present", D3, "dall-e-3", True),
        ("response.revised_prompt.dalle3_present", D2_URL, "dall-e-2", False),
        ("error.envelope", GPT, "gpt-image", True),
    ],
)
def test_which_answers_exercise_a_rule(rule_id, request_body, family, applies):
    assert RULES[rule_id].applies_to(request_body, family) is applies


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "data",
                    "created",
                    "usage",
                    "b64_json",
                    "url",
                    "size",
                    "type",
                    "event",
                    "error",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(request=_json, answer=_json, status=st.one_of(st.integers(), st.none(), st.text(max_size=3)))
def test_answer_checks_never_raise(request, answer, status):
    for result in (
        validate_response(request, answer),
        validate_stream(request, answer),
        validate_stream(request, [answer, {"event": "x", "data": answer}]),
        validate_error(status, answer, request=request),
        validate_exchange(status if isinstance(status, int) else None, body=b"x"),
    ):
        assert isinstance(result, list)


# --- the levels decided for nulls, created and dall-e answers --------------------------


def _levels(found: list) -> dict[str, str]:
    return {v.rule: v.level.value for v in found}


def test_null_in_place_of_a_string_is_must_except_revised_prompt():
    response = copy.deepcopy(response_for(GPT))
    response["data"][0].update(url=None, revised_prompt=None)
    response["usage"]["output_tokens_details"] = None
    levels = _levels(validate_response(GPT, response))
    assert levels == {
        "response.data.no_null_fields": "MUST",
        "response.revised_prompt.not_null": "SHOULD",
        "response.no_null_fields": "MUST",
    }


def test_a_gateway_dalle_answer_with_null_echoes_fails_once_per_field():
    response = copy.deepcopy(response_for(D3))
    response.update(background=None, quality=None, size=None, output_format=None)
    found = validate_response(D3, response)
    assert sorted(v.path for v in found) == ["/background", "/output_format", "/quality", "/size"]
    assert {v.rule for v in found} == {"response.no_null_fields"}


def test_created_within_the_exchange_window_passes():
    response = response_for(GPT)  # created 1_700_000_000
    ok = validate_response(GPT, response, received_at=(1_700_000_100, 1_700_000_130))
    assert "response.created.time_of_creation" not in rules_of(ok)
    late = validate_response(GPT, response, received_at=(1_700_000_400, 1_700_000_430))
    assert "response.created.time_of_creation" in rules_of(late)  # 400 s > the 300 s skew
    assert rules_of(validate_response(GPT, response, received_at="not a window")) == set()


def test_created_in_milliseconds_is_reported_once():
    response = copy.deepcopy(response_for(GPT))
    response["created"] = 1_700_000_000_000
    assert rules_of(validate_response(GPT, response)) == {"response.created.unix_seconds"}


def test_a_dalle_answer_with_usage_is_must_and_with_echoes_should():
    response = copy.deepcopy(response_for(D3))
    response["usage"] = response_for(GPT)["usage"]
    response["quality"] = "standard"
    levels = _levels(validate_response(D3, response))
    assert levels["response.usage.gpt_image_only"] == "MUST"
    assert levels["response.echo.gpt_image_only"] == "SHOULD"


def test_error_code_and_type_as_the_live_api_gives_them_pass():
    live = {"message": "m", "type": "invalid_request_error", "param": "response_format"}
    for code in ("unknown_parameter", "invalid_size", None):
        assert validate_error(400, {"error": {**live, "code": code}}) == []
