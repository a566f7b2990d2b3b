"""Recording and replaying the scenario catalogue: matching, secrets, streams, replay, gzip."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import httpcore  # noqa: F401  (one copy of httpcore across in-process runs, see suite_runs.py)
import httpx
import pytest
import vcr as vcrpy
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from vcr.request import Request as VcrRequest

import conformance_tests.test_recorded  # noqa: F401  (imported once, not per run)
from conformance_tests._scenarios import SCENARIOS, scenario_by_id, wire_bytes
from images_conformance.exchanges._client import Target
from images_conformance.exchanges.formats import (
    REDACTED,
    canonical_body,
    endpoint_key,
    load_cassette,
    match_endpoint,
    match_json_body,
    recording_config,
    register_matchers,
    scrub_request,
    scrub_response,
)
from images_conformance.judge import judge_exchange
from reference_server import ServerThread, running_server
from validator import parse_sse

ROOT = Path(__file__).resolve().parents[1]
RECORDED = str(ROOT / "conformance_tests" / "test_recorded.py")
REFERENCE = ROOT / "cassettes" / "reference"
FAKE_KEY = "sk-test-FAKE-0123456789abcdefSECRET"


@pytest.fixture
def run_recorded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Run conformance_tests/test_recorded.py in-process with extra arguments."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_inprocess(RECORDED, "-p", "no:cacheprovider", "-rsf", *args)

    return run


def _vcr() -> vcrpy.VCR:
    v = vcrpy.VCR()
    register_matchers(v)
    return v


def _files_text(directory: Path) -> bytes:
    out = b""
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            out += gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return out


# -- matching ------------------------------------------------------------------------------
def _req(uri: str, body: bytes | None, **headers: str) -> VcrRequest:
    return VcrRequest("POST", uri, body, headers)


def test_endpoint_matching_ignores_scheme_host_port_and_prefix():
    same = [
        "http://127.0.0.1:40777/v1/images/generations",
        "https://api.openai.com/v1/images/generations",
        "http://localhost:8080/openai/v1/images/generations/",
        "http://gateway/images/generations",
    ]
    for uri in same:
        match_endpoint(_req(same[0], b""), _req(uri, b""))
    with pytest.raises(AssertionError):
        match_endpoint(_req(same[0], b""), _req("http://x/v1/images/edits", b""))
    # other paths (image URLs) compare path and query, in any order, without secrets
    a = "http://h/v1/images/files/a.png?se=1&sig=x&api_key=k1"
    b = "http://other:9/v1/images/files/a.png?api_key=k2&sig=x&se=1"
    assert endpoint_key(a) == endpoint_key(b)
    assert endpoint_key(a) != endpoint_key("http://h/v1/images/files/b.png?se=1&sig=x")


def test_body_matching_is_by_json_value_key_order_free_and_type_strict():
    base = b'{"model":"dall-e-2","prompt":"A","n":1}'
    match_json_body(_req("u", base), _req("u", b'{"n": 1, "prompt": "A", "model": "dall-e-2"}'))
    for different in (
        b'{"model":"dall-e-2","prompt":"A","n":true}',
        b'{"model":"dall-e-2","prompt":"A","n":1.0}',
        b'{"model":"dall-e-2","prompt":"A","n":"1"}',
        b'{"model":"dall-e-2","prompt":"A"}',
    ):
        with pytest.raises(AssertionError):
            match_json_body(_req("u", base), _req("u", different))
    # non-JSON bodies compare as bytes
    assert canonical_body(b"{not json") == b"{not json"
    match_json_body(_req("u", b"{not json"), _req("u", b"{not json"))
    with pytest.raises(AssertionError):
        match_json_body(_req("u", b"{not json"), _req("u", b"{not json!"))


def test_matching_never_looks_at_headers():
    body = b'{"prompt":"A"}'
    a = _req("http://h/v1/images/generations", body, **{"x-stainless-retry-count": "0"})
    b = _req("http://h/v1/images/generations", body, **{"x-stainless-retry-count": "2"})
    assert vcrpy.matchers.requests_match(
        a, b, [vcrpy.matchers.method, match_endpoint, match_json_body]
    )


# -- secrets -------------------------------------------------------------------------------
def test_scrubbing_requests_and_responses():
    req = VcrRequest(
        "POST",
        f"http://user:{FAKE_KEY}@h/v1/images/generations?api_key={FAKE_KEY}&Key=k&keep=1",
        b"{}",
        {
            "Authorization": f"Bearer {FAKE_KEY}",
            "api-key": FAKE_KEY,
            "OpenAI-Organization": "org-secret",
            "OpenAI-Project": "proj_secret",
            "Cookie": "a=b",
            "X-Stainless-Lang": "python",
        },
    )
    out = scrub_request(req)
    assert out.headers["Authorization"] == f"Bearer {REDACTED}"
    for name in ("api-key", "OpenAI-Organization", "OpenAI-Project", "Cookie"):
        assert out.headers[name] == REDACTED
    assert out.headers["X-Stainless-Lang"] == "python"
    assert FAKE_KEY not in out.uri and "keep=1" in out.uri and "Key=REDACTED" in out.uri
    resp = scrub_response(
        {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Set-Cookie": ["a=1", "b=2"], "openai-organization": ["org-x"], "X": ["y"]},
            "body": {"string": b"{}"},
        }
    )
    assert resp["headers"]["Set-Cookie"] == [REDACTED, REDACTED]
    assert resp["headers"]["openai-organization"] == [REDACTED]
    assert resp["headers"]["X"] == ["y"]


def _leaky_app() -> Starlette:
    """Echoes every secret it is sent, in headers, cookies, a URL and the body."""

    async def generations(request: Request) -> JSONResponse:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        return JSONResponse(
            {
                "error": {
                    "message": f"Incorrect API key provided: {key}.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
            status_code=401,
            headers={
                "Set-Cookie": f"session={key}; Path=/; HttpOnly",
                "OpenAI-Organization": request.headers.get("openai-organization", ""),
                "OpenAI-Project": request.headers.get("openai-project", ""),
                "Location": f"http://127.0.0.1/v1/next?api_key={key}&page=2",
            },
        )

    return Starlette(routes=[Route("/v1/images/generations", generations, methods=["POST"])])


def test_no_secret_reaches_the_cassette_file(tmp_path):
    path = tmp_path / "leaky.yaml"
    with ServerThread(app=_leaky_app()) as server, httpx.Client(trust_env=False) as client:
        with _vcr().use_cassette(str(path), **recording_config(api_key=FAKE_KEY)):
            answer = client.post(
                f"{server.base_url}/images/generations?api_key={FAKE_KEY}&key={FAKE_KEY}",
                content=b'{"prompt":"A cute baby sea otter"}',
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {FAKE_KEY}",
                    "api-key": FAKE_KEY,
                    "OpenAI-Organization": "org-SECRETORG123",
                    "OpenAI-Project": "proj_SECRETPROJ456",
                    "Cookie": f"session={FAKE_KEY}",
                },
            )
        assert answer.status_code == 401
        assert FAKE_KEY in answer.text  # the live answer did leak it
    written = path.read_bytes()
    for secret in (FAKE_KEY, quote(FAKE_KEY), "SECRETORG123", "SECRETPROJ456"):
        assert secret.encode() not in written, secret
    assert b"Bearer REDACTED" in written and b"<API_KEY>" in written
    interaction = load_cassette(path).interactions[0]
    assert interaction.status == 401 and interaction.response_headers["set-cookie"] == REDACTED


def test_recording_the_suite_with_a_key_writes_it_nowhere(run_recorded, tmp_path):
    picked = "gpt-image-png or dall-e-2-default-model-url or invalid-request.n.range"
    with running_server(api_key=FAKE_KEY) as server:
        result = run_recorded(
            "--record-mode=once",
            f"--base-url={server.base_url}",
            f"--api-key={FAKE_KEY}",
            f"--cassette-dir={tmp_path}",
            "--cassette-target=keyed",
            "-k",
            picked,
        )
        result.assert_outcomes(passed=3)
    files = sorted((tmp_path / "keyed").iterdir())
    assert [f.name for f in files] == [
        "dall-e-2-default-model-url.yaml",
        "gpt-image-png.yaml",
        "invalid-request.n.range.yaml",
    ]
    text = _files_text(tmp_path)
    assert FAKE_KEY.encode() not in text and b"FAKE-0123456789" not in text
    assert b"Bearer REDACTED" in text
    # the server is gone: the same tests replay from the files, with no key at all
    run_recorded(
        f"--cassette-dir={tmp_path}", "--cassette-target=keyed", "-k", picked
    ).assert_outcomes(passed=3)


# -- streams -------------------------------------------------------------------------------
def test_streams_are_recorded_and_replayed_byte_for_byte_with_partial_events(tmp_path):
    scenario = scenario_by_id("gpt-image-stream-partial-images")
    raw = wire_bytes(scenario.body)
    path = tmp_path / "stream.yaml"
    with running_server() as server:
        base_url = server.base_url
        target = Target(base_url)
        with _vcr().use_cassette(str(path), **recording_config()):
            live = target.post_generation(raw)
        target.close()
    assert live.status == 200 and live.content_type == "text/event-stream"

    recorded = load_cassette(path).interactions[0]
    assert recorded.response_body == live.body
    events = parse_sse(recorded.response_body)
    assert [(e["event"], e["data"].get("partial_image_index")) for e in events] == [
        ("image_generation.partial_image", 0),
        ("image_generation.partial_image", 1),
        ("image_generation.completed", None),
    ]

    # replay (the server is stopped): the same bytes, through the suite's streaming client
    target = Target(base_url)
    with _vcr().use_cassette(str(path), record_mode="none", **recording_config()) as cassette:
        replayed = target.post_generation(raw)
        assert cassette.play_count == 1
    target.close()
    assert replayed.body == live.body
    assert replayed.headers["content-type"].startswith("text/event-stream")
    judged = judge_exchange(raw, replayed.status, replayed.headers, replayed.body)
    assert judged.outcome == "streamed" and judged.violations == []

    # and line by line, as an SSE client reads it
    with (
        _vcr().use_cassette(str(path), record_mode="none", **recording_config()),
        httpx.Client() as client,
        client.stream("POST", f"{base_url}/images/generations", content=raw) as resp,
    ):
        names = [line for line in resp.iter_lines() if line.startswith("event:")]
    assert names == [
        "event: image_generation.partial_image",
        "event: image_generation.partial_image",
        "event: image_generation.completed",
    ]


def test_the_official_sdk_stream_replays_despite_varying_stainless_headers(tmp_path):
    openai = pytest.importorskip("openai")
    path = tmp_path / "sdk-stream.yaml"
    params = {
        "model": "gpt-image-1-mini",
        "prompt": "A cute baby sea otter",
        "size": "1024x1024",
        "quality": "low",
        "stream": True,
        "partial_images": 2,
    }

    def events(base_url: str, retries: int) -> list[tuple[str, int | None]]:
        client = openai.OpenAI(base_url=base_url, api_key=FAKE_KEY, max_retries=retries)
        with client:
            return [
                (e.type, getattr(e, "partial_image_index", None))
                for e in client.images.generate(**params)
            ]

    with running_server() as server:
        base_url = server.base_url
        with _vcr().use_cassette(str(path), **recording_config(api_key=FAKE_KEY)):
            live = events(base_url, retries=0)
    with _vcr().use_cassette(str(path), record_mode="none", **recording_config()):
        replayed = events(base_url, retries=3)  # other x-stainless-* header values
    assert (
        live
        == replayed
        == [
            ("image_generation.partial_image", 0),
            ("image_generation.partial_image", 1),
            ("image_generation.completed", None),
        ]
    )
    assert FAKE_KEY.encode() not in path.read_bytes()


# -- replaying the catalogue -----------------------------------------------------------------
def test_the_committed_reference_cassettes_replay_offline(run_recorded):
    start = time.monotonic()
    result = run_recorded("--block-network")
    elapsed = time.monotonic() - start
    result.assert_outcomes(passed=len(SCENARIOS))
    print(f"replayed {len(SCENARIOS)} recorded scenarios in {elapsed:.2f} s")


def test_a_missing_cassette_skips_its_scenario_naming_the_file(run_recorded, tmp_path):
    result = run_recorded(f"--cassette-dir={tmp_path}", "-k", "gpt-image-png or dall-e-3")
    result.assert_outcomes(skipped=2)
    expected = tmp_path / "reference" / "gpt-image-png.yaml"
    result.stdout.fnmatch_lines([f"*no cassette {expected} (record it with: *--record-mode=once*"])


def test_the_target_name_comes_from_the_option_the_profile_or_the_host(
    run_recorded, tmp_path, monkeypatch
):
    profile = tmp_path / "acme.toml"
    profile.write_text('name = "acme-images"\n')
    for args, name in (
        (["--cassette-target=my target!"], "my-target"),
        ([f"--profile={profile}"], "acme-images"),
        (["--base-url=http://10.0.0.7:8080/v1"], "10.0.0.7_8080"),
    ):
        result = run_recorded(f"--cassette-dir={tmp_path}", "-k", "gpt-image-png", *args)
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines([f"*no cassette {tmp_path / name / 'gpt-image-png.yaml'}*"])
    monkeypatch.setenv("IMAGES_CONFORMANCE_CASSETTE_TARGET", "from-env")
    monkeypatch.setenv("IMAGES_CONFORMANCE_CASSETTE_DIR", str(tmp_path / "env"))
    result = run_recorded("-k", "gpt-image-png")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [f"*no cassette {tmp_path / 'env' / 'from-env' / 'gpt-image-png.yaml'}*"]
    )


def _copy_reference(tmp_path: Path, *ids: str) -> Path:
    out = tmp_path / "tampered"
    out.mkdir()
    for scenario_id in ids:
        shutil.copy(REFERENCE / f"{scenario_id}.yaml", out / f"{scenario_id}.yaml")
    return out


def _edit(path: Path, edit) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data["interactions"])
    path.write_text(yaml.safe_dump(data))


def test_replay_judges_what_was_recorded(run_recorded, tmp_path):
    out = _copy_reference(tmp_path, "invalid-request.n.range", "gpt-image-png")

    def accept(interactions):  # the target "accepted" n=11
        interactions[0]["response"]["status"] = {"code": 200, "message": "OK"}
        interactions[0]["response"]["body"]["string"] = '{"created": 1, "data": []}'

    def shrink(interactions):  # the target "echoed" another size
        body = json.loads(interactions[0]["response"]["body"]["string"])
        body["size"] = "1536x1024"
        interactions[0]["response"]["body"]["string"] = json.dumps(body)

    _edit(out / "invalid-request.n.range.yaml", accept)
    _edit(out / "gpt-image-png.yaml", shrink)
    result = run_recorded(
        f"--cassette-dir={tmp_path}",
        "--cassette-target=tampered",
        "-k",
        "request.n.range or gpt-image-png",
    )
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "request.n.range" in text and "accepted the request (HTTP 200)" in text
    assert "response.echo.matches_request" in text
    assert "replayed from" in text


def test_a_request_the_cassette_does_not_hold_fails_with_a_hint(run_recorded, tmp_path):
    out = _copy_reference(tmp_path, "gpt-image-png")

    def other_prompt(interactions):
        body = json.loads(interactions[0]["request"]["body"])
        body["prompt"] = "something else"
        interactions[0]["request"]["body"] = json.dumps(body)

    _edit(out / "gpt-image-png.yaml", other_prompt)
    result = run_recorded(
        f"--cassette-dir={tmp_path}", "--cassette-target=tampered", "-k", "gpt-image-png"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*has no recorded answer for a request this scenario sends*rewrite*"]
    )


def test_gzip_cassettes_are_written_and_read(run_recorded, tmp_path):
    picked = "gpt-image-webp or invalid-request.style.enum"
    run_recorded(
        "--record-mode=once", f"--cassette-dir={tmp_path}", "--cassette-gzip", "-k", picked
    ).assert_outcomes(passed=2)
    files = sorted(p.name for p in (tmp_path / "reference").iterdir())
    assert files == ["gpt-image-webp.yaml.gz", "invalid-request.style.enum.yaml.gz"]
    for name in files:
        assert (tmp_path / "reference" / name).read_bytes()[:2] == b"\x1f\x8b"
    run_recorded(f"--cassette-dir={tmp_path}", "-k", picked).assert_outcomes(passed=2)


def test_recorded_scenarios_stay_out_of_ordinary_suite_runs(pytester: pytest.Pytester):
    result = pytester.runpytest_inprocess(
        str(ROOT / "conformance_tests"), "-p", "no:cacheprovider", "--collect-only", "-q"
    )
    # besides the scenarios, the tests of rules outside the default edition (the document)
    from conformance_tests._bodies import FREE_SIZE_MODEL
    from conformance_tests.strategies import BREAKABLE_RULES
    from conformance_tests.test_positive import CASES
    from validator import DEFAULT_PROFILE, RULES

    outside = sum(not DEFAULT_PROFILE.edition.holds(RULES[r]) for r in BREAKABLE_RULES)
    outside += sum(c.body.get("model") == FREE_SIZE_MODEL for c in CASES)
    result.stdout.fnmatch_lines([f"*{len(SCENARIOS) + outside} deselected*"])
    result = pytester.runpytest_inprocess(
        RECORDED, "-p", "no:cacheprovider", "--collect-only", "-q"
    )
    result.stdout.fnmatch_lines([f"{len(SCENARIOS)} tests collected*"])
