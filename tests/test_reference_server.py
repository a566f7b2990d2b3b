"""The reference server's HTTP behaviour: errors, auth, URLs, robustness and concurrency."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from ports import free_port
from starlette.routing import Route

import reference_server
from reference_server import MAX_BODY_BYTES, create_app, running_server
from reference_server._cli import main as serve_main
from reference_server._store import ImageStore
from validator import (
    Profile,
    parse_sse,
    validate_error,
    validate_request,
    validate_response,
    validate_stream,
)

ENDPOINT = "/images/generations"
ENVELOPE_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def client(ref_server):
    with httpx.Client(base_url=ref_server.base_url, timeout=30) as c:
        yield c


def assert_envelope(response: httpx.Response, status: int, *, code: str | None = None) -> dict:
    """The answer has ``status``, a JSON body in the OpenAI error envelope, all four keys."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ENVELOPE_KEYS
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert validate_error(status, body) == []
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


# --- malformed bodies, media types, sizes ------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"{",
        b'{"prompt": "x",}',
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"42",
        b'{"prompt": NaN}',
        b"\xff\xfe{}",
        b'{"prompt": "x"} trailing',
        b"[" * 100_000,
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "trailing-comma",
        "array",
        "string",
        "null",
        "number",
        "nan",
        "not-utf8",
        "trailing-garbage",
        "deep-nesting",
    ],
)
def test_malformed_json_is_400_with_the_envelope(client, raw):
    r = client.post(ENDPOINT, content=raw, headers={"content-type": "application/json"})
    error = assert_envelope(r, 400, code="invalid_json")
    assert error["param"] is None
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_non_json_content_type_is_415(client, content_type):
    r = client.post(ENDPOINT, content=b'{"prompt": "x"}', headers={"content-type": content_type})
    assert_envelope(r, 415, code="unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_content_types_with_parameters_or_suffix_are_accepted(client, content_type):
    r = client.post(
        ENDPOINT,
        content=b'{"prompt": "x", "size": "256x256"}',
        headers={"content-type": content_type},
    )
    assert r.status_code == 200


def test_body_over_1mb_is_413(client):
    body = json.dumps({"prompt": "x" * (MAX_BODY_BYTES + 10)}).encode()
    r = client.post(ENDPOINT, content=body, headers={"content-type": "application/json"})
    assert_envelope(r, 413, code="request_too_large")


def test_chunked_body_over_1mb_without_content_length_is_413(client):
    def chunks():
        yield b'{"prompt": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    r = client.post(ENDPOINT, content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_envelope(r, 413, code="request_too_large")


def test_body_just_under_1mb_is_read(client):
    """A big but allowed body gets past the size check (and is judged by the rules)."""
    body = json.dumps({"prompt": "x" * (MAX_BODY_BYTES - 100)}).encode()
    assert len(body) <= MAX_BODY_BYTES
    r = client.post(ENDPOINT, content=body, headers={"content-type": "application/json"})
    error = assert_envelope(r, 400)
    assert error["param"] == "prompt"  # too long for dall-e-2, not too large for the server


# --- routing -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/images", "/images/generations/", "/images/variations"])
def test_unknown_path_is_404_with_the_envelope(client, path):
    assert_envelope(client.post(path, json={"prompt": "x"}), 404, code="not_found")


def test_path_outside_v1_is_404(ref_server):
    r = httpx.get(ref_server.origin + "/", timeout=10)
    assert_envelope(r, 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_wrong_method_on_the_endpoint_is_405_with_allow_post(client, method):
    r = client.request(method, ENDPOINT)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    if method != "HEAD":
        assert_envelope(r, 405, code="method_not_allowed")


def test_unknown_image_file_is_404(client):
    assert_envelope(client.get("/images/files/nope.png"), 404, code="not_found")


# --- invalid parameters name the right param --------------------------------------------

INVALID = [
    ({"prompt": "x", "model": "dall-e-2", "size": "1792x1024"}, "size", "invalid_value"),
    ({"prompt": "x", "model": "dall-e-2", "quality": "hd"}, "quality", "invalid_value"),
    ({"prompt": "x" * 1001, "model": "dall-e-2"}, "prompt", "invalid_value"),
    ({"prompt": "x", "model": "dall-e-2", "n": 11}, "n", "invalid_value"),
    ({"prompt": "x", "model": "dall-e-3", "n": 2}, "n", "invalid_value"),
    ({"prompt": "x", "model": "dall-e-3", "size": "256x256"}, "size", "invalid_value"),
    ({"prompt": "x", "model": "dall-e-3", "style": "pastel"}, "style", "invalid_value"),
    (
        {"prompt": "x", "model": "gpt-image-1", "response_format": "url"},
        "response_format",
        "unknown_parameter",
    ),
    ({"prompt": "x", "model": "gpt-image-1", "style": "vivid"}, "style", None),
    ({"prompt": "x", "model": "gpt-image-1", "size": "1792x1024"}, "size", "invalid_value"),
    (
        {"prompt": "x", "model": "gpt-image-1", "output_format": "gif"},
        "output_format",
        "invalid_value",
    ),
    (
        {"prompt": "x", "model": "gpt-image-1", "partial_images": 4, "stream": True},
        "partial_images",
        None,
    ),
    ({"prompt": "x", "model": "gpt-image-1", "n": True}, "n", "invalid_value"),
    ({"prompt": "x", "model": "no-such-model"}, "model", "invalid_value"),
    ({"prompt": "x", "colour": "red"}, "colour", "unknown_parameter"),
    ({"model": "gpt-image-1"}, "prompt", "missing_required_parameter"),
    ({"prompt": 7}, "prompt", "invalid_value"),
]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    INVALID,
    ids=lambda v: json.dumps(v)[:60] if isinstance(v, dict) else str(v),
)
def test_invalid_parameter_is_400_naming_it(client, body, param, code):
    violations = validate_request(body)
    assert violations, "the case must be invalid by the validator's own judgement"
    r = client.post(ENDPOINT, json=body)
    error = assert_envelope(r, 400)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert validate_error(400, r.json(), request=body) == []
    if code is not None:
        assert error["code"] == code
    assert any(error["message"] == v.message for v in violations)


def test_should_level_violations_are_rejected_too(client):
    """The reference is strict: a body with only SHOULD-level faults is still a 400."""
    from validator import Level

    candidates = [
        {"prompt": "x", "model": "gpt-image-1", "output_format": "png", "output_compression": 50},
        {"prompt": "x", "model": "gpt-image-1", "partial_images": 2},
        {"prompt": "x", "model": "gpt-image-1", "output_compression": 50},
        {"prompt": "", "model": "gpt-image-1"},
    ]
    should_only = [
        b
        for b in candidates
        if validate_request(b) and all(v.level is Level.SHOULD for v in validate_request(b))
    ]
    if not should_only:
        pytest.skip("the validator has no SHOULD-only request among the candidates")
    for body in should_only:
        assert_envelope(client.post(ENDPOINT, json=body), 400)


# --- auth --------------------------------------------------------------------------------

SECRET = "sk-reference-secret-123"


@pytest.fixture(scope="module")
def auth_server():
    with running_server(api_key=SECRET) as srv:
        yield srv


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong-key"},
        {"authorization": f"Basic {SECRET}"},
        {"authorization": "Bearer"},
        {"authorization": f"Bearer {SECRET}x"},
    ],
    ids=["missing", "wrong", "basic", "empty", "longer"],
)
def test_missing_or_wrong_key_is_401(auth_server, headers):
    r = httpx.post(
        auth_server.base_url + ENDPOINT, json={"prompt": "x"}, headers=headers, timeout=10
    )
    error = assert_envelope(r, 401, code="invalid_api_key")
    assert error["type"] == "invalid_request_error"
    assert SECRET not in r.text and "wrong-key" not in r.text


def test_auth_is_checked_before_the_body(auth_server):
    r = httpx.post(
        auth_server.base_url + ENDPOINT,
        content=b"{not json",
        timeout=10,
        headers={"content-type": "application/json"},
    )
    assert_envelope(r, 401, code="invalid_api_key")


def test_right_key_is_accepted_and_urls_need_no_key(auth_server):
    headers = {"authorization": f"Bearer {SECRET}"}
    body = {"prompt": "x", "size": "256x256"}
    r = httpx.post(auth_server.base_url + ENDPOINT, json=body, headers=headers, timeout=10)
    assert r.status_code == 200
    assert validate_response(body, r.json()) == []
    fetched = httpx.get(r.json()["data"][0]["url"], timeout=10)
    assert fetched.status_code == 200


# --- image URLs --------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_image_urls_expire_after_the_ttl():
    clock = FakeClock()
    with running_server(clock=clock, url_ttl=3600) as srv:
        r = httpx.post(srv.base_url + ENDPOINT, json={"prompt": "x", "size": "256x256"}, timeout=10)
        url = r.json()["data"][0]["url"]
        clock.now += 3599
        ok = httpx.get(url, timeout=10)
        assert ok.status_code == 200
        assert Image.open(io.BytesIO(ok.content)).size == (256, 256)
        clock.now += 2
        assert_envelope(httpx.get(url, timeout=10), 404, code="not_found")


def test_oldest_stored_images_are_evicted_first():
    with running_server(max_stored_images=2) as srv:
        r = httpx.post(
            srv.base_url + ENDPOINT, json={"prompt": "x", "n": 3, "size": "256x256"}, timeout=10
        )
        urls = [item["url"] for item in r.json()["data"]]
        assert len(set(urls)) == 3
        assert_envelope(httpx.get(urls[0], timeout=10), 404)
        assert [httpx.get(u, timeout=10).status_code for u in urls[1:]] == [200, 200]


def test_image_store_unit_behaviour():
    clock = FakeClock()
    store = ImageStore(ttl=10, max_items=3, clock=clock)
    names = [store.put(bytes([i])) for i in range(4)]
    assert store.get(names[0]) is None  # evicted: the cap is 3
    assert [store.get(n).data for n in names[1:]] == [b"\x01", b"\x02", b"\x03"]
    assert all(n.endswith(".png") for n in names)
    clock.now += 10
    assert store.get(names[3]) is None and len(store) == 0
    with pytest.raises(ValueError):
        ImageStore(ttl=0)


def test_url_uses_the_host_the_client_addressed(client):
    r = client.post(
        ENDPOINT, json={"prompt": "x", "size": "256x256"}, headers={"host": "images.example:8080"}
    )
    assert r.json()["data"][0]["url"].startswith("http://images.example:8080/v1/images/files/")


def test_url_falls_back_to_the_server_address_for_a_bad_host(client, ref_server):
    r = client.post(
        ENDPOINT, json={"prompt": "x", "size": "256x256"}, headers={"host": "bad host/../x"}
    )
    url = r.json()["data"][0]["url"]
    assert url.startswith(ref_server.base_url + "/images/files/")
    assert httpx.get(url, timeout=10).status_code == 200


# --- response behaviour ------------------------------------------------------------------


def test_images_are_deterministic_per_prompt_and_index(client):
    body = {"prompt": "same prompt", "model": "gpt-image-1", "n": 2, "output_format": "jpeg"}
    first = [d["b64_json"] for d in client.post(ENDPOINT, json=body).json()["data"]]
    second = [d["b64_json"] for d in client.post(ENDPOINT, json=body).json()["data"]]
    other = client.post(ENDPOINT, json={**body, "prompt": "another"}).json()["data"][0]["b64_json"]
    assert first == second
    assert first[0] != first[1]
    assert other != first[0]


def test_gpt_image_auto_values_are_resolved(client):
    body = {
        "prompt": "x",
        "model": "gpt-image-1",
        "size": "auto",
        "quality": "auto",
        "background": "auto",
    }
    r = client.post(ENDPOINT, json=body).json()
    assert (r["size"], r["quality"], r["background"], r["output_format"]) == (
        "1024x1024",
        "medium",
        "opaque",
        "png",
    )
    assert validate_response(body, r) == []
    u = r["usage"]
    assert u["input_tokens"] == sum(u["input_tokens_details"].values())
    assert u["output_tokens"] == sum(u["output_tokens_details"].values())
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"]


def test_nulls_mean_not_given(client):
    body = {
        "prompt": "x",
        "model": None,
        "n": None,
        "size": None,
        "quality": None,
        "response_format": None,
        "style": None,
    }
    r = client.post(ENDPOINT, json=body)
    assert r.status_code == 200
    assert validate_response(body, r.json()) == []
    assert "url" in r.json()["data"][0]


def test_gpt_image_only_parameter_implies_a_gpt_image_model(client):
    body = {"prompt": "x", "output_format": "webp"}
    r = client.post(ENDPOINT, json=body).json()
    assert validate_response(body, r) == []
    assert Image.open(io.BytesIO(base64.b64decode(r["data"][0]["b64_json"]))).format == "WEBP"


def test_raw_stream_events(client):
    body = {
        "prompt": "x",
        "model": "gpt-image-1",
        "stream": True,
        "partial_images": 1,
        "n": 2,
        "output_format": "webp",
        "size": "1024x1536",
    }
    r = client.post(ENDPOINT, json=body)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == "text/event-stream"
    events = parse_sse(r.text)
    assert validate_stream(body, events, content_type=r.headers["content-type"]) == []
    assert [e["event"] for e in events] == [
        "image_generation.partial_image",
        "image_generation.completed",
    ] * 2
    for e in events:
        img = Image.open(io.BytesIO(base64.b64decode(e["data"]["b64_json"])))
        assert (img.format, img.size) == ("WEBP", (1024, 1536))


def test_profile_families_and_unconstrained_models():
    profile = Profile.from_mapping(
        {
            "models": {
                "house-painter": "dall-e-3",
                "house-gpt": "gpt-image",
                "anything": "unconstrained",
            }
        }
    )
    with (
        running_server(profile=profile) as srv,
        httpx.Client(base_url=srv.base_url, timeout=30) as c,
    ):
        cases = [
            {"prompt": "x", "model": "house-painter"},
            {"prompt": "x", "model": "house-gpt", "size": "1536x1024"},
            {"prompt": "x", "model": "anything"},
            {"prompt": "x", "model": "anything", "response_format": "url", "size": "512x512"},
            {"prompt": "x", "model": "anything", "quality": "hd", "size": "256x256"},
        ]
        for body in cases:
            r = c.post(ENDPOINT, json=body)
            assert r.status_code == 200, r.text
            assert validate_response(body, r.json(), profile=profile) == [], body
        painter = c.post(ENDPOINT, json=cases[0]).json()
        assert set(painter) == {"created", "data"} and "revised_prompt" in painter["data"][0]
        assert "usage" in c.post(ENDPOINT, json=cases[2]).json()
        r = c.post(ENDPOINT, json={"prompt": "x", "model": "house-painter", "n": 2})
        assert assert_envelope(r, 400)["param"] == "n"


def test_the_catch_all_handler_answers_500_with_the_envelope():
    """Unreachable through the real routes; shown here with a route that fails on purpose."""

    async def boom(request):
        raise RuntimeError("internal detail that must not leak")

    app = create_app()
    app.router.routes.append(Route("/boom", boom))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get("/boom")

    r = asyncio.run(call())
    error = assert_envelope(r, 500, code="internal_error")
    assert error["type"] == "server_error"
    assert "internal detail" not in r.text and "Traceback" not in r.text


# --- robustness (hypothesis) -----------------------------------------------------------

PROMPTS = st.sampled_from(["a cat", "", "\u00e9\u4e2d\U0001f600", "lone \ud800 surrogate"])
JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=8,
)

# Valid values per family; a body drawn from these is valid unless mutated.
FAMILY_VALUES: dict[str, dict[str, list[Any]]] = {
    "dall-e-2": {
        "n": [1, 2, 4, 10, None],
        "size": ["256x256", "512x512", "1024x1024", None],
        "quality": ["standard", "auto", None],
        "response_format": ["url", "b64_json", None],
        "user": ["user-1"],
    },
    "dall-e-3": {
        "n": [1, None],
        "size": ["1024x1024", "1792x1024", "1024x1792", None],
        "quality": ["standard", "hd", "auto", None],
        "response_format": ["url", "b64_json", None],
        "style": ["vivid", "natural", None],
        "user": ["user-1"],
    },
    "gpt-image": {
        "n": [1, 2, 3, None],
        "size": ["auto", "1024x1024", "1536x1024", "1024x1536", None],
        "quality": ["low", "medium", "high", "auto", None],
        "output_format": ["png", "webp", None],
        "background": ["opaque", "auto", "transparent", None],
        "moderation": ["low", "auto", None],
        "stream": [True, False, None],
        "user": ["user-1"],
    },
}
MODELS = {
    "dall-e-2": ["dall-e-2", None, "<absent>"],
    "dall-e-3": ["dall-e-3"],
    "gpt-image": ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"],
}
ALL_VALUES = list(
    {repr(v): v for fam in FAMILY_VALUES.values() for vals in fam.values() for v in vals}.values()
)
ALL_PARAMS = [
    *sorted({p for fam in FAMILY_VALUES.values() for p in fam}),
    *("prompt", "model", "output_compression", "partial_images", "extra_param"),
]


@st.composite
def request_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body of a random family, then (sometimes) one key broken or added."""
    family = draw(st.sampled_from(sorted(FAMILY_VALUES)))
    body: dict[str, Any] = {"prompt": draw(PROMPTS)}
    model = draw(st.sampled_from(MODELS[family]))
    if model != "<absent>":
        body["model"] = model
    for param, choices in FAMILY_VALUES[family].items():
        if draw(st.booleans()):
            body[param] = draw(st.sampled_from(choices))
    if body.get("output_format") == "webp" and draw(st.booleans()):
        body["output_compression"] = draw(st.sampled_from([0, 50, 100]))
    if body.get("stream") is True and draw(st.booleans()):
        body["partial_images"] = draw(st.sampled_from([0, 1, 3]))
    if draw(st.integers(0, 2)) == 0:  # one in three: break or add one key
        param = draw(st.sampled_from(ALL_PARAMS))
        body[param] = draw(JSON_LEAF | st.sampled_from(ALL_VALUES))
    return body


def judge(c: httpx.Client, body: Any) -> None:
    """POST ``body``; assert no 5xx, the envelope on errors, and a valid answer on 200."""
    r = c.post(
        ENDPOINT, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code < 500, r.text[:300]
    faults = validate_request(body)
    event(f"status {r.status_code}")
    if r.status_code != 200:
        assert_envelope(r, r.status_code)
        assert faults or not isinstance(body, dict), f"a valid body was refused: {r.text[:300]}"
        assert validate_error(r.status_code, r.json(), request=body) == []
        return
    assert not faults, f"an invalid body was accepted: {faults[0]}"
    if r.headers["content-type"].startswith("text/event-stream"):
        events = parse_sse(r.text)
        found = validate_stream(body, events, content_type=r.headers["content-type"])
    else:
        found = validate_response(body, r.json())
    assert found == [], "\n".join(map(str, found))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=request_bodies())
def test_request_like_bodies_are_answered_correctly(client, body):
    judge(client, body)


@settings(max_examples=60, deadline=None)
@given(body=JSON)
def test_arbitrary_json_never_gives_a_5xx(client, body):
    judge(client, body)


@settings(max_examples=60, deadline=None)
@given(
    raw=st.binary(max_size=64),
    content_type=st.sampled_from(["application/json", "text/plain", None]),
)
def test_arbitrary_bytes_never_give_a_5xx(client, raw, content_type):
    headers = {"content-type": content_type} if content_type else {}
    r = client.post(ENDPOINT, content=raw, headers=headers)
    assert r.status_code < 500
    if r.status_code != 200:
        assert_envelope(r, r.status_code)


# --- concurrency -------------------------------------------------------------------------


def mixed_requests(count: int) -> list[dict[str, Any]]:
    kinds = [
        lambda i: {"model": "dall-e-2", "n": 1 + i % 4, "size": "256x256"},
        lambda i: {
            "model": "dall-e-2",
            "n": 1 + i % 4,
            "size": "512x512",
            "response_format": "b64_json",
        },
        lambda i: {"model": "dall-e-3", "size": "1024x1024"},
        lambda i: {"model": "dall-e-3", "response_format": "b64_json", "style": "natural"},
        lambda i: {"model": "gpt-image-1", "n": 1 + i % 4},
        lambda i: {
            "model": "gpt-image-1-mini",
            "n": 1 + i % 4,
            "output_format": "jpeg",
            "output_compression": 60,
        },
        lambda i: {
            "model": "gpt-image-1.5",
            "output_format": "webp",
            "background": "transparent",
            "size": "1536x1024",
        },
        lambda i: {
            "model": "gpt-image-1",
            "stream": True,
            "partial_images": 1 + i % 3,
            "n": 1 + i % 2,
        },
    ]
    return [{"prompt": f"request {i}", **kinds[i % len(kinds)](i)} for i in range(count)]


def test_50_concurrent_mixed_requests_are_all_answered_correctly(ref_server):
    bodies = mixed_requests(50)

    async def run() -> list[tuple[dict[str, Any], httpx.Response, list[httpx.Response]]]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=ref_server.base_url, timeout=60, limits=limits) as c:

            async def one(body):
                r = await c.post(ENDPOINT, json=body)
                fetched = []
                if r.status_code == 200 and not body.get("stream"):
                    fetched = await asyncio.gather(
                        *(c.get(d["url"]) for d in r.json()["data"] if "url" in d)
                    )
                return body, r, fetched

            return await asyncio.gather(*(one(b) for b in bodies))

    results = asyncio.run(run())
    assert len(results) == 50
    for body, r, fetched in results:
        assert r.status_code == 200, (body, r.text[:200])
        if body.get("stream"):
            events = parse_sse(r.text)
            found = validate_stream(body, events, content_type=r.headers["content-type"])
            assert sum(e["event"] == "image_generation.completed" for e in events) == body["n"]
        else:
            found = validate_response(body, r.json())
            assert len(r.json()["data"]) == body.get("n", 1)
        assert found == [], (body, [str(v) for v in found])
        for f in fetched:
            assert f.status_code == 200
            want = tuple(int(x) for x in body["size"].split("x"))
            assert Image.open(io.BytesIO(f.content)).size == want


# --- CLI ---------------------------------------------------------------------------------


def test_cli_bad_profile_is_a_one_line_error_and_exit_2(tmp_path, capsys):
    missing = tmp_path / "missing.toml"
    assert serve_main(["--profile", str(missing)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err

    bad = tmp_path / "bad.toml"
    bad.write_text('[models]\n"m" = "not-a-family"\n')
    assert serve_main(["--profile", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not-a-family" in err

    from images_conformance.cli.main import main as top_main

    assert top_main(["serve", "--profile", str(bad)]) == 2


def test_cli_help_exits_0(capsys):
    assert serve_main(["--help"]) == 0
    assert "--api-key" in capsys.readouterr().out


def test_python_m_reference_server_serves_and_never_logs_the_key(tmp_path):
    port = free_port()
    root = Path(reference_server.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reference_server",
                "--port",
                str(port),
                "--api-key",
                SECRET,
                "--log-level",
                "debug",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}/v1"
            deadline = time.monotonic() + 20
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.05)
            wrong = httpx.post(
                base + ENDPOINT,
                json={"prompt": "x"},
                timeout=10,
                headers={"authorization": "Bearer sk-wrong-guess"},
            )
            assert_envelope(wrong, 401)
            ok = httpx.post(
                base + ENDPOINT,
                json={"prompt": "x", "size": "256x256"},
                timeout=10,
                headers={"authorization": f"Bearer {SECRET}"},
            )
            assert ok.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    text = log.read_text()
    assert "/v1" in text  # it did log something
    assert SECRET not in text and "sk-wrong-guess" not in text
    assert "authorization" not in text.lower()


# --- server lifecycle --------------------------------------------------------------------


def test_server_thread_starts_on_a_free_port_and_stops_cleanly():
    server = reference_server.ServerThread(url_ttl=60)
    server.start()
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.port > 0
        r = httpx.post(
            server.base_url + ENDPOINT, json={"prompt": "x", "size": "256x256"}, timeout=10
        )
        assert r.status_code == 200
    finally:
        server.stop()
    assert not server._thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/nope", timeout=2)


def test_create_app_rejects_an_empty_api_key():
    with pytest.raises(ValueError):
        create_app(api_key="")
