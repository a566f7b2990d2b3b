"""HAR 1.2: recordings made by other tools read and judged, the suite's own HAR written.

The files under tests/data/har/ were recorded by real tools (Polly.js, mitmproxy) from
real clients talking to the reference server; tests/data/har/README.md says how.
"""

from __future__ import annotations

import base64
import gzip
import json
import tracemalloc
import zlib
from pathlib import Path

import jsonschema
import pytest
from broken_servers import VARIANTS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from suite_runs import SUITE, run_suite, run_variant

from images_conformance.cli.validate_cassette import main as validate_main
from images_conformance.cli.validate_cassette import validate_paths
from images_conformance.exchanges import Exchange, Target
from images_conformance.exchanges.formats import (
    CassetteError,
    HarWriter,
    har,
    load_cassette,
    write_har,
)
from reference_server import ServerThread

DATA = Path(__file__).parent / "data"
HAR_DIR = DATA / "har"
POLLY = HAR_DIR / "polly-node-openai.har"
SCHEMA = json.loads((DATA / "har-1.2.schema.json").read_text())
CANARY = "sk-canary-7f3a9c1e5b2d4680QX"


def _validate_json(*paths: Path | str) -> tuple[int, dict]:
    """validate-cassette --json on ``paths``: (exit status, parsed output)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = validate_main(["--json", *map(str, paths)])
    return code, json.loads(out.getvalue())


def _judged(doc: dict) -> list[dict]:
    return [j for f in doc["files"] for j in f["judged"]]


def _write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- files recorded by other tools ------------------------------------------------------------
def test_polly_recording_of_the_node_sdk_is_judged_conformant():
    code, doc = _validate_json(POLLY)
    assert code == 0, doc
    f = doc["files"][0]
    assert f["error"] is None and f["format"] == "HAR (Polly.JS 6.0.6)"
    assert f["interactions"] == 6  # GET /models and the image GET are not judged
    judged = _judged(doc)
    assert [j["outcome"] for j in judged] == ["served", "served", "streamed", "refused"]
    assert all(j["conformant"] and not j["violations"] for j in judged)
    url, gzipped, stream, refused = judged
    assert any("data[0].url fetched: HTTP 200" in n for n in url["notes"])
    assert any("base64 chunk(s) (Polly.js)" in n for n in gzipped["notes"])
    assert any("gzip-compressed; judged after decompressing" in n for n in gzipped["notes"])
    assert any("image_generation.completed" in n for n in stream["notes"])
    assert refused["request_faults"] == ["request.n.dalle3_only_one"]


def test_polly_gzip_chunks_decode_to_the_json_answer():
    cassette = load_cassette(POLLY)
    gzipped = cassette.generations()[1]
    assert gzipped.response_headers["content-encoding"] == "gzip"
    answer = json.loads(gzipped.response_body)
    assert answer["output_format"] == "jpeg" and answer["data"][0]["b64_json"]
    image_get = cassette.find_get(
        json.loads(cassette.generations()[0].response_body)["data"][0]["url"]
    )
    assert image_get is not None and image_get.response_body[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("name", "creator"),
    [
        ("mitmdump-python-openai.har", "HAR (mitmproxy 11.0.2)"),
        ("playwright-chromium.har", "HAR (Playwright 1.65.1)"),
    ],
)
def test_mitmdump_and_playwright_recordings_are_judged_conformant(name, creator):
    code, doc = _validate_json(HAR_DIR / name)
    assert code == 0, doc
    f = doc["files"][0]
    assert f["format"] == creator and f["interactions"] == 6
    judged = _judged(doc)
    assert [j["outcome"] for j in judged] == ["served", "served", "streamed", "refused"]
    assert all(j["conformant"] and not j["violations"] for j in judged)
    assert any("data[0].url fetched: HTTP 200" in n for n in judged[0]["notes"])
    assert any("image_generation.completed" in n for n in judged[2]["notes"])


def test_a_body_the_recorder_truncated_is_not_judged(tmp_path):
    """A recorder that cut a body (content.size larger than the text kept) is named, and
    the cut answer is never counted as the server's fault."""
    data = json.loads(POLLY.read_text())
    entry = data["log"]["entries"][4]  # the streamed answer, 159 KB
    content = entry["response"]["content"]
    content["text"] = content["text"][:5000]
    path = _write_json(tmp_path / "cut.har", data)
    code, doc = _validate_json(path)
    judged = _judged(doc)
    stream = judged[2]
    assert stream["outcome"] == "not-judged" and stream["conformant"] is None
    assert not stream["violations"]
    assert stream["notes"][0].startswith("not judged: truncated by the recorder")
    assert code == 0  # the other three are judged, conformant

    # the text output says it too
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        validate_main([str(path)])
    text = out.getvalue()
    assert "NOT JUDGED" in text and "truncated by the recorder" in text
    assert "1 not judged" in text


def test_a_recorder_comment_or_a_missing_body_means_not_judged(tmp_path):
    data = json.loads(POLLY.read_text())
    entries = data["log"]["entries"]
    entries[1]["response"]["content"]["comment"] = "Body truncated: exceeded 64 KB"
    del entries[3]["response"]["content"]["text"]  # as browsers export bodies they dropped
    entries = [entries[1], entries[3]]
    data["log"]["entries"] = entries
    code, doc = _validate_json(_write_json(tmp_path / "cut.har", data))
    judged = _judged(doc)
    assert [j["outcome"] for j in judged] == ["not-judged", "not-judged"]
    assert "truncated by the recorder" in judged[0]["notes"][0]
    assert "did not keep the body" in judged[1]["notes"][0]
    assert code == 2  # nothing could be judged: no verdict


def test_a_request_body_the_recorder_did_not_keep_is_not_judged(tmp_path):
    """Browsers leave out large request bodies (bodySize kept, no postData): the request is
    not judged as "not JSON", and the server is not blamed for serving it."""
    data = json.loads(POLLY.read_text())
    entry = data["log"]["entries"][1]
    entry["request"].pop("postData")
    entry["request"]["bodySize"] = 70
    data["log"]["entries"] = [entry]
    code, doc = _validate_json(_write_json(tmp_path / "no-request.har", data))
    (judged,) = _judged(doc)
    assert judged["outcome"] == "not-judged" and "the request: bodySize 70" in judged["notes"][0]
    assert code == 2


def _entry(body: bytes, encoding: str) -> dict:
    return {
        "startedDateTime": "2026-01-01T00:00:00Z",
        "request": {
            "method": "POST",
            "url": "http://h/v1/images/generations",
            "postData": {"mimeType": "application/json", "text": '{"prompt": "otter", "n": 0}'},
        },
        "response": {
            "status": 400,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Content-Encoding", "value": encoding},
            ],
            "content": {
                "size": len(body),
                "mimeType": "application/json",
                "encoding": "base64",
                "text": base64.b64encode(body).decode(),
            },
        },
    }


ERROR = json.dumps(
    {
        "error": {
            "message": "n must be at least 1",
            "type": "invalid_request_error",
            "param": "n",
            "code": "invalid_value",
        }
    }
).encode()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_bodies_kept_compressed_are_decompressed(tmp_path, encoding):
    if encoding == "br":
        brotli = pytest.importorskip("brotli", reason="brotli bodies need the brotli package")
        body = brotli.compress(ERROR)
    elif encoding == "gzip":
        body = gzip.compress(ERROR)
    else:
        body = zlib.compress(ERROR)
    path = _write_json(tmp_path / f"{encoding}.har", {"log": {"entries": [_entry(body, encoding)]}})
    (inter,) = load_cassette(path).generations()
    assert inter.response_body == ERROR and inter.not_judged is None
    code, doc = _validate_json(path)
    assert code == 0 and _judged(doc)[0]["outcome"] == "refused"


def test_entries_not_for_the_generations_endpoint_are_skipped(tmp_path):
    data = json.loads(POLLY.read_text())
    data["log"]["entries"] = [data["log"]["entries"][0]]  # GET /v1/models only
    code, doc = _validate_json(_write_json(tmp_path / "models.har", data))
    assert code == 2 and doc["files"][0]["interactions"] == 1 and not _judged(doc)


def test_a_har_whose_log_is_not_the_first_member_is_read_too(tmp_path):
    data = json.loads(POLLY.read_text())
    path = _write_json(tmp_path / "later-log.json", {"comment": "exported", **data})
    cassette = load_cassette(path)
    assert cassette.format == "HAR (Polly.JS 6.0.6)" and len(cassette.generations()) == 4


def test_har_found_in_directories_and_read_gzip_compressed(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.har.gz").write_bytes(gzip.compress(POLLY.read_bytes()))
    code, doc = _validate_json(tmp_path)
    assert code == 0 and len(_judged(doc)) == 4


# -- hostile input ------------------------------------------------------------------------------
def test_a_million_entries_are_capped_and_said_so(tmp_path):
    path = tmp_path / "million.har"
    with path.open("w") as fh:
        fh.write(
            '{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": ['
        )
        fh.write(",".join(['{"request":{}}'] * 1_000_000))
        fh.write("]}}")
    tracemalloc.start()
    try:
        cassette = load_cassette(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(cassette.interactions) == har.MAX_HAR_ENTRIES
    assert cassette.notes == [
        f"only the first {har.MAX_HAR_ENTRIES:,} entries were read (the cap on entries per file)"
    ]
    # the 15 MB text is held once, as bytes and as text; the entries past the cap never are
    assert peak < 4 * path.stat().st_size, peak


def test_a_file_over_the_size_cap_is_read_up_to_the_cap(tmp_path, monkeypatch):
    data = json.loads(POLLY.read_text())
    path = _write_json(tmp_path / "big.har", data)
    cut_at = path.read_text().index('"startedDateTime"', 200_000)  # inside a later entry
    monkeypatch.setattr(har, "MAX_HAR_BYTES", cut_at)
    cassette = har.load_har(path)
    assert 0 < len(cassette.interactions) < 6
    assert cassette.notes and "the size cap" in cassette.notes[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"log": {"entries": [{"request": ', "is not a HAR file"),
        ('{"log": {"entries": [' + "[" * 100_000 + "]" * 100_000 + "]}}", "not a HAR file"),
        ('{"log": {"version": "1.2"}}', "no 'entries' list"),
        ('{"log": 5}', "not a HAR file"),
    ],
)
def test_broken_har_files_get_a_clear_error(tmp_path, text, expected):
    path = tmp_path / "broken.har"
    path.write_text(text)
    with pytest.raises(CassetteError, match=expected):
        load_cassette(path)
    code, doc = _validate_json(path)
    assert code == 2 and expected.split()[-1] in doc["files"][0]["error"]


def test_a_body_past_the_decompression_cap_costs_only_its_entry(monkeypatch):
    """Where decompressing one recorded body is refused (a bomb past the byte cap), that
    entry is not judged and the file's other entries still are."""
    real = har._decode_body

    def capped(body, headers, notes):
        if headers.get("content-encoding") == "gzip":
            raise CassetteError("a recorded body inflates past the cap (gzip): not judged")
        return real(body, headers, notes)

    monkeypatch.setattr(har, "_decode_body", capped)
    generations = load_cassette(POLLY).generations()
    assert [g.not_judged for g in generations] == [
        None,
        "a recorded body inflates past the cap (gzip): not judged",
        None,
        None,
    ]


def test_odd_entries_are_read_without_a_traceback(tmp_path):
    entries = [
        5,
        {"request": "x"},
        {"request": {"method": "POST", "url": "http://h/v1/images/generations"}, "response": 7},
        {
            "request": {
                "method": "POST",
                "url": "http://h/v1/images/generations",
                "postData": {"text": "{}", "encoding": "base64"},
                "headers": [{"name": ":authority", "value": "h"}, "junk", {"name": 1}],
            },
            "response": {"status": True, "content": {"size": "big", "text": 5}},
        },
    ]
    path = _write_json(tmp_path / "odd.har", {"log": {"entries": entries}})
    cassette = load_cassette(path)
    assert len(cassette.generations()) == 2 and cassette.notes
    code, doc = _validate_json(path)
    # two exchanges without an answer: no verdict, and nothing the server is blamed for
    assert code == 2 and not doc["files"][0]["error"]
    assert [(j["outcome"], j["violations"]) for j in _judged(doc)] == [("no-answer", [])] * 2


# -- writing ----------------------------------------------------------------------------------------
def _leaky_app() -> Starlette:
    """Echoes the secrets it is sent: in a cookie, organisation headers, a URL, the body."""

    async def generations(request: Request) -> JSONResponse:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        return JSONResponse(
            {"error": {"message": f"Incorrect API key: {key}", "type": "x", "param": None}},
            status_code=401,
            headers={
                "Set-Cookie": f"session={key}; Path=/",
                "OpenAI-Organization": request.headers.get("openai-organization", ""),
                "Location": f"http://127.0.0.1/next?api_key={key}",
            },
        )

    return Starlette(routes=[Route("/v1/images/generations", generations, methods=["POST"])])


def test_no_secret_reaches_the_har_file(tmp_path):
    path = tmp_path / "leaky.har"
    with ServerThread(app=_leaky_app()) as server, HarWriter(path) as writer:
        target = Target(server.base_url, api_key=CANARY)
        target.recorders.append(writer.add)
        answer = target.post_generation(
            {"prompt": f"echo {CANARY}"},
            headers={"OpenAI-Organization": "org-SECRETORG123", "Cookie": f"s={CANARY}"},
        )
        target.fetch(f"{server.base_url}/images/x.png?api_key={CANARY}&keep=1")
        target.close()
    assert CANARY in answer.text  # the live answer leaked it
    written = path.read_bytes()
    for secret in (CANARY, CANARY[3:], "SECRETORG123"):
        assert secret.encode() not in written, secret
    assert b"Bearer REDACTED" in written and b"<API_KEY>" in written and b"keep=1" in written
    jsonschema.validate(json.loads(written), SCHEMA)


def test_the_suite_records_with_a_canary_key_and_writes_it_nowhere(pytester, tmp_path):
    path = tmp_path / "run.har"
    run = run_suite(
        pytester,
        "--api-key",
        CANARY,
        "--conformance-level",
        "quick",
        "--record-har",
        str(path),
        "-k",
        "test_api_key_is_checked or test_fixed_valid_request and dall-e-2",
    )
    assert run.ret == 0, run.failure_text()
    written = path.read_bytes()
    assert CANARY.encode() not in written and CANARY[3:].encode() not in written
    doc = json.loads(written)
    jsonschema.validate(doc, SCHEMA)
    auth = {
        h["value"]
        for e in doc["log"]["entries"]
        for h in e["request"]["headers"]
        if h["name"].lower() == "authorization"
    }
    assert auth == {"Bearer REDACTED"}


def test_written_har_is_valid_for_every_kind_of_exchange(tmp_path):
    exchanges = [
        Exchange("POST", "http://h/v1/images/generations", {}, b"{}", status=None, error="timeout"),
        Exchange(
            "GET",
            "http://h/img.png",
            {},
            b"",
            status=200,
            headers={"content-type": "image/png"},
            body=b"\x89PNG\xff\x00",
        ),
        Exchange(
            "POST",
            "http://h/v1/images/generations",
            {"Content-Type": "application/json"},
            b"\xff",
            status=200,
            body=b'{"data": [',
            truncated=True,
        ),
    ]
    path = tmp_path / "kinds.har"
    assert write_har(exchanges, path) == 3
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, SCHEMA)
    entries = doc["log"]["entries"]
    assert entries[0]["response"]["status"] == 0 and entries[0]["response"]["_error"] == "timeout"
    assert entries[1]["response"]["content"]["encoding"] == "base64"
    cassette = load_cassette(path)
    assert cassette.find_get("http://h/img.png").response_body == b"\x89PNG\xff\x00"
    # the suite's own size cap: the answer it kept is not judged as the whole answer
    assert cassette.interactions[2].not_judged.startswith("not judged: truncated")
    assert cassette.interactions[2].request_body == b"\xff"


def test_a_producer_s_own_exchange_and_secrets(tmp_path):
    """The proxy's exchanges need only the same attributes; several keys are scrubbed, and
    a body it did not keep reads back as not judged."""
    from types import SimpleNamespace

    other = "sk-second-key-0123456789"
    exchange = SimpleNamespace(
        method="POST",
        url="http://h/v1/images/generations",
        request_headers={"authorization": f"Bearer {other}", "content-type": "application/json"},
        request_body=b'{"prompt": "otter ' + CANARY.encode() + b'"}',
        status=200,
        headers={"content-type": "application/json"},
        body=None,
        elapsed=0.5,
        error=None,
    )
    path = tmp_path / "proxy.har"
    with HarWriter(path, secrets=[other]) as writer:
        writer.add(exchange, secrets=[CANARY])
    written = path.read_bytes()
    assert other.encode() not in written and CANARY.encode() not in written
    jsonschema.validate(json.loads(written), SCHEMA)
    (inter,) = load_cassette(path).generations()
    assert inter.not_judged and "omitted by the recorder" in inter.not_judged


def test_the_writer_is_closed_once_and_refuses_more(tmp_path):
    writer = HarWriter(tmp_path / "w.har")
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add_entry({})
    assert json.loads((tmp_path / "w.har").read_text())["log"]["entries"] == []


# -- round trip: the suite's HAR judged offline gives the live verdict ---------------------------------
def _offline_failing_rules(path: Path, strict: bool = False) -> set[str]:
    results = validate_paths([str(path)])
    assert not results[0].error, results[0].error
    return {v.rule for r in results for j in r.verdicts for v in j.judgement.gating(strict)}


def test_round_trip_against_the_reference_server(pytester, tmp_path):
    path = tmp_path / "reference.har"
    run = run_suite(pytester, "--conformance-level", "quick", "--record-har", str(path))
    assert run.ret == 0, run.failure_text()
    results = validate_paths([str(path)])
    judged = [j for r in results for j in r.verdicts]
    assert len(judged) > 40
    assert not [j for j in judged if j.judgement.violations]
    code, _ = _validate_json(path)
    assert code == 0


ROUND_TRIP_VARIANTS = ["fewer-images", "stream-as-json", "dead-urls", "wrong-error-param"]


@pytest.mark.parametrize("name", ROUND_TRIP_VARIANTS)
def test_round_trip_against_a_broken_variant(pytester, tmp_path, name):
    variant = next(v for v in VARIANTS if v.name == name)
    path = tmp_path / f"{name}.har"
    # at the standard level: the one the fixed cases a variant selects run at
    run = run_variant(pytester, variant, "--record-har", str(path))
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    strict = "--conformance-strict" in variant.args  # SHOULD rules gate in both, then
    assert _offline_failing_rules(path, strict=strict) == run.gating_rules()
    assert set(variant.rules) <= run.gating_rules()


def test_xdist_workers_parts_are_merged_into_one_har(pytester, tmp_path):
    """Under ``-n 2`` each worker writes its part and the controller merges them: the same
    exchanges as a run in one process, and no part left behind."""
    select = "test_invalid_request_is_refused and (n.range or size.per_model or prompt)"
    one, two = tmp_path / "one.har", tmp_path / "two.har"
    common = (*SUITE, "--conformance-level")
    single = pytester.runpytest_subprocess(*common, "quick", "-k", select, "--record-har", one)
    assert single.ret == 0, single.stdout.str()
    parallel = pytester.runpytest_subprocess(
        *common, "quick", "-k", select, "-n", "2", "--record-har", two
    )
    assert parallel.ret == 0, parallel.stdout.str()
    assert not list(tmp_path.glob("*.part"))

    def requests(path: Path) -> list[str]:
        doc = json.loads(path.read_text())
        jsonschema.validate(doc, SCHEMA)
        return sorted(
            e["request"].get("postData", {}).get("text", "") for e in doc["log"]["entries"]
        )

    assert len(requests(one)) > 4 and requests(one) == requests(two)
    assert _offline_failing_rules(two) == set() and validate_main([str(two)]) == 0


def test_the_run_command_forwards_record_har():
    from images_conformance.cli.run import pytest_args

    args = pytest_args(["--record-har", "out.har", "-x"])
    assert args[args.index("--conformance-record-har") + 1] == "out.har" and args[-1] == "-x"
