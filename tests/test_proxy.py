"""The validating proxy between a client and a server: transparent, judged, seen.

Every test runs a real upstream (the reference server, or one of the broken variants the
suite's own tests use) behind a real proxy on 127.0.0.1, and compares what the client
received with the bytes the upstream sent.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import httpx
import openai
import pytest
from broken_servers import VARIANTS, broken_app, read_request_body
from proxy_helpers import proxy_to, server_findings, upstream

from reference_server import create_app
from validator import DEFAULT_PROFILE
from validator._profile import profile_with_edition

API_KEY = "sk-proxy-test-key-0001"
CANARY = "sk-CANARY-4f1d9a2b7c3e5d60"
PROMPT = "an otter holding a lantern"


class Bodies:
    """An httpx response hook keeping the exact body bytes the client received."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        if response.request.url.path.endswith("/images/generations"):
            self.bodies.append(response.content)


SDK_CALLS: list[dict[str, Any]] = [
    {"model": "dall-e-2", "n": 2, "size": "256x256"},
    {"model": "dall-e-2", "size": "512x512", "response_format": "b64_json"},
    {"model": "dall-e-3", "size": "1024x1024"},
    {"model": "dall-e-3", "size": "1024x1792", "response_format": "b64_json", "style": "natural"},
    {"model": "gpt-image-1", "size": "1024x1024", "quality": "low"},
    {
        "model": "gpt-image-1-mini",
        "size": "1024x1024",
        "output_format": "jpeg",
        "output_compression": 50,
    },
    {
        "model": "gpt-image-1.5",
        "size": "1024x1024",
        "background": "transparent",
        "output_format": "webp",
    },
    {
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "low",
        "stream": True,
        "partial_images": 2,
    },
]


def test_openai_sdk_through_the_proxy_every_family_byte_identical_and_conformant():
    with (
        upstream(create_app(api_key=API_KEY)) as (server, capture),
        proxy_to(server.base_url, fetch_urls=True) as (proxy, out),
    ):
        bodies = Bodies()
        http = httpx.Client(event_hooks={"response": [bodies]})
        with openai.OpenAI(
            base_url=proxy.base_url, api_key=API_KEY, max_retries=0, timeout=60, http_client=http
        ) as client:
            for params in SDK_CALLS:
                params = dict(params)
                if params.pop("stream", False):
                    events = list(client.images.generate(prompt=PROMPT, stream=True, **params))
                    assert events[-1].type == "image_generation.completed"
                    assert sum(e.type == "image_generation.partial_image" for e in events) == 2
                else:
                    result = client.images.generate(prompt=PROMPT, **params)
                    assert len(result.data) == params.get("n", 1)
        assert proxy.wait_judged()
        counts = proxy.seen.snapshot()["counts"]

    assert bodies.bodies == capture.generation_answers(), "the client must get the upstream's bytes"
    assert len(bodies.bodies) == len(SDK_CALLS)
    assert counts["judged"] == len(SDK_CALLS)
    assert counts["conformant"] == len(SDK_CALLS), out.getvalue()
    assert server_findings(proxy) == {}
    assert proxy.seen.snapshot()["client_faults"] == {}
    lines = out.getvalue().splitlines()
    assert len(lines) == len(SDK_CALLS)
    assert all(line.endswith(": conformant") for line in lines), lines
    assert sum(" streamed: " in line for line in lines) == 1
    report = proxy.report()
    assert report["verdict"]["status"] == "conformant" and report["verdict"]["exit_code"] == 0
    passed = {r["id"] for r in report["rules"] if r["outcome"] == "passed"}
    # served answers of every kind exercised their rules, the fetched urls included
    for rule in (
        "response.data.count_matches_n",
        "image.size",
        "image.format",
        "image.transparency",
        "stream.completed.one_per_image",
        "response.url.fetchable",
    ):
        assert rule in passed, rule


# -- broken upstreams: the deviation named, the bytes unchanged -----------------------------
def _gpt(**extra: Any) -> dict[str, Any]:
    return {
        "prompt": PROMPT,
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "low",
        **extra,
    }


def _dalle2(**extra: Any) -> dict[str, Any]:
    return {"prompt": PROMPT, "model": "dall-e-2", "size": "256x256", **extra}


STREAM = {"stream": True, "partial_images": 1}
BROKEN: dict[str, tuple[Any, set[str], set[str]]] = {
    # variant: (request body, server rules the exchange must show, client faults)
    "free-size-ignored": (  # judged under the variant's edition (2026-08)
        {"prompt": PROMPT, "model": "gpt-image-2", "size": "1536x864", "quality": "low"},
        {"image.size", "response.echo.matches_request"},
        set(),
    ),
    "fewer-images": (
        _dalle2(n=2, response_format="b64_json"),
        {"response.data.count_matches_n"},
        set(),
    ),
    "size-ignored": (_dalle2(response_format="b64_json"), {"image.size"}, set()),
    "wrong-image-format": (_gpt(output_format="jpeg"), {"image.format"}, set()),
    "no-alpha": (_gpt(background="transparent"), {"image.transparency"}, set()),
    "url-for-gpt-image": (_gpt(), {"response.image.field_per_model"}, set()),
    "dall-e-3-accepts-n2": (
        {"prompt": PROMPT, "model": "dall-e-3", "n": 2},
        {"request.n.dalle3_only_one"},
        {"request.n.dalle3_only_one"},
    ),
    "validation-422-detail": (
        _dalle2(n=20),
        {"error.envelope", "error.invalid_request_400"},
        {"request.n.range"},
    ),
    "stream-as-json": (
        _gpt(**STREAM),
        {"stream.content_type", "stream.completed.one_per_image"},
        set(),
    ),
    "no-completed-event": (_gpt(**STREAM), {"stream.completed.one_per_image"}, set()),
    "inconsistent-usage": (_gpt(), {"response.usage.sums"}, set()),
    "500-on-malformed-json": (
        b'{"prompt": "an otter",',
        {"http.no_server_error", "error.envelope"},
        {"request.body.object"},
    ),
    "unknown-params-accepted": (
        _dalle2(colour="blue"),
        {"request.unknown_parameter"},
        {"request.unknown_parameter"},
    ),
    "relative-url": (_dalle2(), {"response.url.absolute_http"}, set()),
    "created-in-ms": (_gpt(), {"response.created.unix_seconds"}, set()),
    "dead-urls": (_dalle2(), {"response.url.fetchable"}, set()),
    "wrong-error-param": (_dalle2(n=20), {"error.param_names_fault"}, {"request.n.range"}),
    "json-labelled-text": (_dalle2(response_format="b64_json"), {"http.json_content_type"}, set()),
    "no-revised-prompt": (
        {"prompt": PROMPT, "model": "dall-e-3"},
        {"response.revised_prompt.dalle3_present"},
        set(),
    ),
    "html-page": (_dalle2(), {"response.body.object"}, set()),
    "status-as-error-code": (
        _dalle2(n=20),
        {"error.code_identifier", "error.type_invalid_request"},
        {"request.n.range"},
    ),
    "gateway-nulls": (_gpt(), {"response.data.no_null_fields", "response.no_null_fields"}, set()),
    "created-zero": (_gpt(), {"response.created.time_of_creation"}, set()),
    "usage-on-dall-e": (
        _dalle2(response_format="b64_json"),
        {"response.usage.gpt_image_only"},
        set(),
    ),
    "extra-partial-images": (_gpt(**STREAM), {"stream.partial.count_max"}, set()),
}
JUDGED_VARIANTS = [v for v in VARIANTS if v.name in BROKEN]


def test_every_variant_the_proxy_can_show_in_one_exchange_is_covered():
    # api-key-ignored needs a request without the key, any-method a GET: not judged traffic
    assert {v.name for v in VARIANTS} - set(BROKEN) == {"api-key-ignored", "any-method"}


@pytest.mark.parametrize("variant", JUDGED_VARIANTS, ids=[v.name for v in JUDGED_VARIANTS])
def test_broken_upstream_deviation_reported_and_answer_unchanged(variant, tmp_path):
    body, server_rules, client_rules = BROKEN[variant.name]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with (
        upstream(broken_app(variant)) as (server, capture),
        proxy_to(
            server.base_url,
            fetch_urls=True,
            profile=profile_with_edition(DEFAULT_PROFILE, variant.edition),
        ) as (proxy, out),
    ):
        got = httpx.post(
            proxy.base_url + "/images/generations",
            content=raw,
            headers={"content-type": "application/json"},
            timeout=60,
        )
        assert proxy.wait_judged()
    assert capture.generation_answers() == [got.content], "the client must get the upstream's bytes"
    statuses = [st for path, st, _ in capture.answers if path.endswith("/images/generations")]
    assert statuses == [got.status_code]
    found = server_findings(proxy)
    assert server_rules <= set(found), (variant.name, sorted(found), out.getvalue())
    faults = proxy.seen.snapshot()["client_faults"]
    assert client_rules <= set(faults), (variant.name, sorted(faults))
    if not client_rules:
        assert faults == {}, "a valid request is no client fault"
    line = out.getvalue().strip()
    for rule in server_rules:
        assert rule in line
    assert ("SERVER NOT CONFORMANT" in line) == any(f["gating"] for f in found.values())
    report = proxy.report()
    failed = {r["id"] for r in report["rules"] if r["outcome"] == "failed"}
    assert {r for r in server_rules if found[r]["level"] == "MUST"} <= failed
    page = proxy.write_report(tmp_path / "x.html")[2].read_text()
    for rule in server_rules:
        assert rule in page
    evidence = [e for t in proxy.seen.snapshot()["tests"] for e in t.evidence]
    assert server_rules <= {f["rule"] for e in evidence for f in e["findings"]}
    assert report["proxy"]["evidence"], "each exchange with findings is listed"
    for entry in report["proxy"]["evidence"]:  # and points at its evidence on its case
        (test,) = [t for t in report["tests"] if t["nodeid"] == entry["test"]]
        shown = test["evidence"][entry["evidence_index"]]["findings"]
        server = {f["rule"] for f in entry["findings"] if f["side"] == "server"}
        assert server == {f["rule"] for f in shown}


# -- invalid requests: the application's fault ---------------------------------------------
INVALID = [
    ({"prompt": PROMPT, "model": "dall-e-3", "n": 2}, "request.n.dalle3_only_one", "n"),
    (
        {"prompt": PROMPT, "model": "gpt-image-1", "response_format": "url"},
        "request.response_format.dalle_only",
        "response_format",
    ),
]


@pytest.mark.parametrize("body,rule,param", INVALID, ids=[r for _, r, _ in INVALID])
def test_invalid_request_is_a_client_fault_and_the_refusing_server_conformant(body, rule, param):
    with (
        upstream(create_app()) as (server, capture),
        proxy_to(server.base_url) as (proxy, out),
    ):
        got = httpx.post(proxy.base_url + "/images/generations", json=body, timeout=30)
        assert proxy.wait_judged()
    assert got.status_code == 400 and capture.requests == 1
    assert got.content == capture.generation_answers()[0]
    faults = proxy.seen.snapshot()["client_faults"]
    assert faults[rule]["level"] == "MUST" and faults[rule]["gating"]
    assert server_findings(proxy) == {}
    line = out.getvalue()
    assert "CLIENT FAULT (your application sent an invalid request)" in line and rule in line
    assert "server: conformant" in line
    report = proxy.report()
    assert report["verdict"]["client_faults"] == [rule]
    assert report["verdict"]["gating_failures"] == []
    assert report["verdict"]["exit_code"] == 1
    (entry,) = report["proxy"]["evidence"]
    assert entry["findings"][0]["side"] == "client" and entry["findings"][0]["rule"] == rule
    (test,) = [t for t in report["tests"] if t["nodeid"] == entry["test"]]
    shown = test["evidence"][entry["evidence_index"]]
    assert [k for k, _ in shown["request"]["params"]] == list(body)


@pytest.mark.parametrize("body,rule,param", INVALID, ids=[r for _, r, _ in INVALID])
def test_enforce_refuses_a_must_breaking_request_without_calling_the_upstream(body, rule, param):
    with (
        upstream(create_app()) as (server, capture),
        proxy_to(server.base_url, enforce=True) as (proxy, out),
    ):
        got = httpx.post(proxy.base_url + "/images/generations", json=body, timeout=30)
        valid = httpx.post(
            proxy.base_url + "/images/generations",
            json={"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"},
            timeout=30,
        )
        assert proxy.wait_judged()
    assert capture.requests == 1, "only the valid request may reach the upstream"
    assert valid.status_code == 200
    assert got.status_code == 400
    assert got.headers["content-type"] == "application/json"
    error = got.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert rule in error["message"]
    assert proxy.seen.snapshot()["counts"]["refused_by_proxy"] == 1
    assert rule in proxy.seen.snapshot()["client_faults"]
    (entry,) = proxy.report()["proxy"]["evidence"]  # in no case: the entry holds it all
    assert entry["outcome"] == "refused-by-proxy" and entry["test"] is None
    assert entry["findings"][0]["rule"] == rule and entry["findings"][0]["message"]
    assert json.loads(entry["request"]) == body
    assert "refused by the proxy" in out.getvalue()


def test_enforce_forwards_should_only_requests():
    body = {"prompt": PROMPT, "model": "dall-e-2", "size": "256x256", "colour": "blue"}
    with (
        upstream(create_app()) as (server, capture),
        proxy_to(server.base_url, enforce=True) as (proxy, _),
    ):
        got = httpx.post(proxy.base_url + "/images/generations", json=body, timeout=30)
        assert proxy.wait_judged()
    assert capture.requests == 1 and got.content == capture.generation_answers()[0]


# -- secrets ---------------------------------------------------------------------------------
def test_the_api_key_appears_in_no_output_report_or_har(tmp_path):
    from images_conformance.proxy._recorder import HarRecorder

    with (
        upstream(create_app(api_key=CANARY)) as (server, capture),
        proxy_to(server.base_url) as (proxy, out),
    ):
        har = HarRecorder(tmp_path / "t.har", proxy.config.upstream_origin, proxy.secrets)
        proxy.recorder = har
        keyed = {"authorization": f"Bearer {CANARY}"}
        ok = httpx.post(
            proxy.base_url + "/images/generations",
            json={"prompt": CANARY, "model": "dall-e-3", "n": 2},  # invalid, and echoes the key
            headers=keyed,
            timeout=30,
        )
        served = httpx.post(
            proxy.base_url + f"/images/generations?api-key={CANARY}",
            json={"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"},
            headers={**keyed, "api-key": CANARY},
            timeout=30,
        )
        wrong = httpx.post(
            proxy.base_url + "/images/generations",
            json={"prompt": PROMPT},
            headers={"authorization": f"Bearer {CANARY}-wrong"},
            timeout=30,
        )
        assert proxy.wait_judged()
        paths = proxy.write_report(tmp_path / "report.json")
        har.close()
    assert (ok.status_code, served.status_code, wrong.status_code) == (400, 200, 401)
    assert capture.requests == 3, "the key reached the upstream"
    outputs = {
        "lines": out.getvalue(),
        "summary": "\n".join(proxy.seen.summary_lines()),
        **{p.name: p.read_text() for p in paths},
        "har": (tmp_path / "t.har").read_text(),
    }
    for name, text in outputs.items():
        assert CANARY not in text, f"the key leaked into {name}"
    entries = json.loads(outputs["har"])["log"]["entries"]
    assert len(entries) == 3
    auth = [h["value"] for h in entries[0]["request"]["headers"] if h["name"] == "authorization"]
    assert auth and all(CANARY not in v for v in auth), auth  # recorded, masked
    # read back by validate-cassette: the server's verdict is the proxy's
    from images_conformance.cli.validate_cassette import main as validate_main

    with contextlib.redirect_stdout(io.StringIO()):
        code = validate_main(["--json", str(tmp_path / "t.har")])
    gating = json.loads(outputs["report.json"])["verdict"]["gating_failures"]
    assert code == (1 if gating else 0), (code, gating)


# -- transparency of any request -------------------------------------------------------------
async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An upstream that answers with what it received (and a header of its own)."""
    if scope["type"] != "http":
        return
    body = await read_request_body(receive)
    seen = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": body.decode("latin-1"),
    }
    answer = json.dumps(seen).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 207,
            "headers": [
                (b"content-type", b"application/json"),
                (b"x-upstream", b"yes"),
                (b"set-cookie", b"a=1"),
                (b"set-cookie", b"b=2"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "POST"])
def test_any_request_reaches_the_upstream_unchanged(method):
    with upstream(echo) as (server, _), proxy_to(server.base_url) as (proxy, out):
        got = httpx.request(
            method,
            proxy.origin + "/v1/some/odd%2Fpath//x?b=2&a=%20&a=3",
            content=b"\x00binary body\xff" if method != "GET" else b"",
            headers=[
                ("Authorization", f"Bearer {API_KEY}"),
                ("X-Custom", "one"),
                ("x-custom", "two"),
                ("Connection", "keep-alive, X-Hop"),
                ("X-Hop", "per-connection"),
            ],
            timeout=10,
        )
        assert proxy.wait_judged()
    assert got.status_code == 207 and got.headers["x-upstream"] == "yes"
    assert got.headers.get_list("set-cookie") == ["a=1", "b=2"]
    seen = got.json()
    assert seen["method"] == method
    assert seen["raw_path"] == "/v1/some/odd%2Fpath//x"
    assert seen["query"] == "b=2&a=%20&a=3"
    headers = seen["headers"]
    assert ["authorization", f"Bearer {API_KEY}"] in headers
    assert [h for h in headers if h[0] == "x-custom"] == [["x-custom", "one"], ["x-custom", "two"]]
    assert not [h for h in headers if h[0] == "x-hop"], "a header named in Connection is per hop"
    assert not [h for h in headers if h[0] == "connection" and "X-Hop" in h[1]]
    assert ["host", server.origin.split("//")[1]] in headers
    if method != "GET":
        assert seen["body"] == "\x00binary body\xff"
    assert out.getvalue() == "", "only the generations endpoint is judged"
    assert API_KEY not in out.getvalue()


# -- the edition judged by ---------------------------------------------------------------
@pytest.mark.parametrize(
    "edition,faults", [("2026-08", set()), ("document", {"request.model.known"})]
)
def test_edition_decides_whether_a_gpt_image_2_free_size_request_is_a_client_fault(edition, faults):
    from images_conformance.proxy._cli import _parser

    args = _parser().parse_args(["--upstream", "http://backend/v1", "--edition", edition])
    assert args.edition == edition
    body = {"prompt": PROMPT, "model": "gpt-image-2", "size": "1536x864", "quality": "low"}
    with (
        upstream(create_app()) as (server, _),
        proxy_to(server.base_url, profile=profile_with_edition(DEFAULT_PROFILE, args.edition)) as (
            proxy,
            out,
        ),
    ):
        httpx.post(proxy.base_url + "/images/generations", json=body, timeout=60)
        assert proxy.wait_judged()
    got = set(proxy.seen.snapshot()["client_faults"])
    assert faults <= got and bool(got) == bool(faults), (got, out.getvalue())
