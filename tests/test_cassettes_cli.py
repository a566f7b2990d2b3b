"""``images-conformance validate-cassette``: judging existing cassettes of any format."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path

import pytest
import yaml
from PIL import Image
from sources import REAL_TRAFFIC

from images_conformance.cli.validate_cassette import main
from images_conformance.exchanges.formats import CassetteError, load_cassette
from images_conformance.judge import judge_exchange
from validator import recording_window

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "cassettes" / "reference"
DOCUMENT_MODELS = {None, "dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def real_records() -> list[dict]:
    with gzip.open(REAL_TRAFFIC, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def _vcrpy_interaction(
    request: object,
    status: int,
    response: object,
    *,
    content_type: str = "application/json",
    uri: str = "https://api.openai.com/v1/images/generations",
    method: str = "POST",
    headers: dict | None = None,
) -> dict:
    body = response if isinstance(response, (str, bytes)) else json.dumps(response)
    return {
        "request": {
            "body": None if request is None else json.dumps(request),
            "headers": {"Authorization": ["Bearer REDACTED"], "Content-Type": ["application/json"]},
            "method": method,
            "uri": uri,
        },
        "response": {
            "status": {"code": status, "message": "OK" if status == 200 else "Error"},
            "headers": {"Content-Type": [content_type], **(headers or {})},
            "body": {"string": body},
        },
    }


def _write_vcrpy(path: Path, interactions: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    return path


# -- real recordings -----------------------------------------------------------------------
def test_a_cassette_built_from_real_openai_traffic_comes_out_clean(capsys, tmp_path, real_records):
    picked = [r for r in real_records if not r.get("altered")]
    small = [r for r in picked if len(json.dumps(r["response"])) < 300_000]
    chosen = [
        next(r for r in small if r["request"].get("response_format") == "url"),  # dall-e-2 url
        next(r for r in small if r["request"].get("response_format") == "b64_json"),  # image bytes
        next(r for r in small if r["request"].get("model") == "dall-e-3"),
        next(r for r in small if r["status"] == 401),
    ]
    path = _write_vcrpy(
        tmp_path / "real.yaml",
        [
            _vcrpy_interaction(
                r["request"], r["status"], r["response"], content_type=r["content_type"]
            )
            for r in chosen
        ],
    )
    code, out, err = run(capsys, path)
    assert code == 0, out
    assert "4 interaction(s) with the generations endpoint judged: 0 not conformant" in out
    assert "not served: HTTP 401" in out
    assert "data[0].url was not fetched" in out  # the recording has no GET of the image
    assert err == ""


def test_every_unaltered_real_exchange_within_the_document_is_clean(tmp_path, real_records):
    """All of them, judged the way validate-cassette judges a cassette (images included)."""
    judged = 0
    for r in real_records:
        if r.get("altered") or r["request"].get("model") not in DOCUMENT_MODELS:
            continue
        raw = json.dumps(r["request"]).encode()
        body = json.dumps(r["response"]).encode()
        verdict = judge_exchange(
            raw,
            r["status"],
            {"content-type": r["content_type"]},
            body,
            lenient_auth=True,
            received_at=recording_window(r["recorded_at"]),
        )
        assert verdict.violations == [], (r["source"], verdict.violations)
        judged += 1
    assert judged > 100


def test_models_newer_than_the_document_are_reported_not_crashed_on(capsys, tmp_path, real_records):
    newer = [r for r in real_records if r["request"].get("model") == "gpt-image-2"]
    assert newer
    path = _write_vcrpy(
        tmp_path / "newer.yaml",
        [_vcrpy_interaction(r["request"], r["status"], r["response"]) for r in newer],
    )
    code, out, _ = run(capsys, path)
    assert code == 1
    assert "request.model.known" in out and "accepted the request (HTTP 200)" in out


def test_placeholder_images_are_caught_and_can_be_judged_by_shape_only(
    capsys, tmp_path, real_records
):
    altered = [r for r in real_records if r.get("altered") and r["status"] == 200][:3]
    path = _write_vcrpy(
        tmp_path / "altered.yaml",
        [_vcrpy_interaction(r["request"], r["status"], r["response"]) for r in altered],
    )
    code, out, _ = run(capsys, path)
    assert code == 1 and "image.size" in out and "NOT CONFORMANT" in out
    code, out, _ = run(capsys, "--no-images", path)
    assert code == 0, out


# -- other recorders' formats --------------------------------------------------------------
RUBY_VCR = """---
http_interactions:
- request:
    method: post
    uri: https://api.openai.com/v1/images/generations
    body:
      encoding: UTF-8
      string: '{"model":"dall-e-2","prompt":"A test image","n":1,"size":"256x256"}'
    headers:
      Authorization:
      - Bearer <OPENAI_API_KEY>
  response:
    status:
      code: 200
      message: OK
    headers:
      Content-Type:
      - application/json
      Set-Cookie:
      - "<COOKIE>"
    body:
      encoding: ASCII-8BIT
      string: |-
        {
          "created": 1770377466,
          "data": [
            {
              "url": "https://files.example.com/private/img-1.png?st=2026-02-06T10%3A31%3A06Z&sig=AbC%3D&sp=r"
            }
          ]
        }
  recorded_at: Fri, 06 Feb 2026 11:31:06 GMT
- request:
    method: get
    uri: https://files.example.com/private/img-1.png?sig=AbC=&sp=r&st=2026-02-06T10:31:06Z
    body:
      encoding: US-ASCII
      string: ''
    headers: {}
  response:
    status:
      code: 200
      message: OK
    headers:
      Content-Type:
      - image/png
    body:
      encoding: ASCII-8BIT
      string: !binary |-
        PNGDATA
  recorded_at: Fri, 06 Feb 2026 11:31:07 GMT
recorded_with: VCR 6.1.0
"""


def test_ruby_vcr_cassettes_with_the_image_fetch(capsys, tmp_path):
    def cassette(width: int) -> Path:
        data = base64.b64encode(_png(width, width)).decode()
        path = tmp_path / f"ruby-{width}.yml"
        path.write_text(RUBY_VCR.replace("PNGDATA", data))
        return path

    loaded = load_cassette(cassette(256))
    assert loaded.format == "Ruby VCR" and [i.method for i in loaded.interactions] == [
        "POST",
        "GET",
    ]
    code, out, _ = run(capsys, cassette(256))
    assert code == 0, out
    assert "data[0].url fetched: HTTP 200" in out
    code, out, _ = run(capsys, cassette(64))  # the recorded image is not 256x256
    assert code == 1 and "image.size" in out and "the image at data[0].url" in out


def test_created_is_judged_against_the_date_a_ruby_vcr_cassette_gives(capsys, tmp_path):
    data = base64.b64encode(_png(256, 256)).decode()
    path = tmp_path / "ruby-late.yml"
    # the answer says it was created a day after the cassette says it was recorded
    path.write_text(RUBY_VCR.replace("PNGDATA", data).replace("1770377466", "1770463866"))
    code, out, _ = run(capsys, path)
    assert code == 1 and "response.created.time_of_creation" in out
    assert "1 days after the exchange" in out or "24 hours after the exchange" in out


def test_azure_test_proxy_session_records(capsys, tmp_path):
    record = {
        "Entries": [
            {
                "RequestUri": "https://api.openai.com/v1/images/generations",
                "RequestMethod": "POST",
                "RequestHeaders": {
                    "Authorization": "Sanitized",
                    "Content-Type": "application/json",
                },
                "RequestBody": {"prompt": "An isolated stop sign.", "model": "dall-e-3"},
                "StatusCode": 200,
                "ResponseHeaders": {
                    "Content-Type": "application/json",
                    "Date": "Wed, 17 Sep 2025 21:02:43 GMT",
                },
                "ResponseBody": {
                    "created": 1758142962,
                    "data": [
                        {"revised_prompt": "A stop sign.", "url": "https://example.com/img.png"}
                    ],
                },
            },
            {
                "RequestUri": "https://api.openai.com/v1/chat/completions",
                "RequestMethod": "POST",
                "RequestHeaders": {},
                "RequestBody": {"messages": []},
                "StatusCode": 200,
                "ResponseHeaders": {"Content-Type": "application/json"},
                "ResponseBody": {"id": "chatcmpl-1"},
            },
        ],
        "Variables": {},
    }
    path = tmp_path / "BasicGenerationWorks.json"
    path.write_text(json.dumps(record, indent=2))
    code, out, _ = run(capsys, path)
    assert code == 0, out
    assert "(Azure test proxy; 2 interaction(s), 1 with the generations endpoint)" in out
    assert load_cassette(path).interactions[0].recorded_at == "Wed, 17 Sep 2025 21:02:43 GMT"
    # the same answer recorded a day before it says it was created
    path.write_text(json.dumps(record).replace("17 Sep 2025", "16 Sep 2025"))
    code, out, _ = run(capsys, path)
    assert code == 1 and "response.created.time_of_creation" in out


def test_the_old_httpx_layout_and_gzip_recorded_bodies(capsys, tmp_path):
    answer = {
        "created": 1770377466,
        "data": [{"b64_json": base64.b64encode(_png(256, 256)).decode()}],
    }
    old = {
        "interactions": [
            {
                "request": {
                    "body": '{"prompt": "x", "n": 1, "size": "256x256", "response_format": "b64_json"}',
                    "headers": {"host": ["api.openai.com"]},
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/images/generations",
                },
                "response": {
                    "content": json.dumps(answer),
                    "headers": {"Content-Encoding": ["gzip"], "Content-Type": ["application/json"]},
                    "http_version": "HTTP/1.1",
                    "status_code": 200,
                },
            },
            {  # a body kept compressed by the recorder (!!binary gzip)
                "request": {
                    "body": '{"prompt": "x", "n": 1, "size": "512x512", "response_format": "b64_json"}',
                    "headers": {},
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/images/generations",
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Encoding": ["gzip"], "Content-Type": ["application/json"]},
                    "body": {"string": gzip.compress(json.dumps(answer).encode())},
                },
            },
        ],
        "version": 1,
    }
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(old))
    loaded = load_cassette(path)
    assert loaded.format == "vcrpy (old httpx layout)"
    assert json.loads(loaded.interactions[1].response_body) == answer
    code, out, _ = run(capsys, path)
    assert code == 1  # the second asked for 512x512 and got a 256x256 image
    assert "recorded gzip-compressed; judged after decompressing it" in out
    assert out.count("NOT CONFORMANT") == 1 and "image.size" in out


def test_a_gzip_compressed_cassette_file(capsys, tmp_path):
    path = tmp_path / "c.yaml.gz"
    path.write_bytes(gzip.compress((REFERENCE / "invalid-request.n.range.yaml").read_bytes()))
    code, out, _ = run(capsys, path)
    assert code == 0 and "refused: HTTP 400, param 'n'" in out


# -- the committed reference cassettes -----------------------------------------------------
def test_the_reference_cassettes_are_all_conformant(capsys):
    code, out, _ = run(capsys, "--quiet", REFERENCE)
    assert code == 0, out
    assert "judged: 0 not conformant, 0 with SHOULD deviations only" in out


def test_a_must_violation_gives_exit_status_1_and_says_why(capsys, tmp_path):
    data = yaml.safe_load((REFERENCE / "dall-e-2-b64_json.yaml").read_text())
    resp = data["interactions"][0]["response"]
    body = json.loads(resp["body"]["string"])
    body["data"].append(dict(body["data"][0]))  # two images for n=1
    resp["body"]["string"] = json.dumps(body)
    path = _write_vcrpy(tmp_path / "two.yaml", data["interactions"])
    code, out, _ = run(capsys, path)
    assert code == 1
    assert "MUST   response.data.count_matches_n" in out and "the document:" in out.lower()
    code, out, _ = run(capsys, "--json", path)
    report = json.loads(out)
    assert report["exit_code"] == 1
    (judged,) = report["files"][0]["judged"]
    assert (
        not judged["conformant"]
        and judged["violations"][0]["rule"] == "response.data.count_matches_n"
    )


def test_should_deviations_pass_unless_strict(capsys, tmp_path):
    unknown = {"model": "dall-e-2", "prompt": "A", "size": "256x256", "x_extra": 1}
    answer = {"created": 1770377466, "data": [{"url": "https://example.com/a.png"}]}
    path = _write_vcrpy(tmp_path / "s.yaml", [_vcrpy_interaction(unknown, 200, answer)])
    code, out, _ = run(capsys, path)
    assert code == 0 and "SHOULD request.unknown_parameter" in out
    assert run(capsys, "--strict", path)[0] == 1


def test_stream_judging_in_a_cassette(capsys, tmp_path):
    stream_request = {"model": "gpt-image-1", "prompt": "A", "stream": True}
    as_json = {"created": 1770377466, "data": [{"b64_json": "AAAA"}]}
    path = _write_vcrpy(tmp_path / "s.yaml", [_vcrpy_interaction(stream_request, 200, as_json)])
    code, out, _ = run(capsys, path)
    assert code == 1 and "stream.content_type" in out
    sse = (REFERENCE / "gpt-image-stream-partial-images.yaml").read_text()
    not_asked = yaml.safe_load(sse)
    not_asked["interactions"][0]["request"]["body"] = json.dumps(
        {"model": "gpt-image-1", "prompt": "A"}
    )
    path = _write_vcrpy(tmp_path / "n.yaml", not_asked["interactions"])
    code, out, _ = run(capsys, path)
    assert code == 1 and "response.body.object" in out and "http.json_content_type" not in out
    ok = REFERENCE / "gpt-image-stream-partial-images.yaml"
    code, out, _ = run(capsys, ok)
    assert (
        code == 0
        and "3 events: image_generation.partial_image, image_generation.partial_image" in out
    )


def test_auth_refusals_are_noted_unless_strict_auth(capsys, tmp_path):
    err = {
        "error": {
            "message": "Incorrect API key provided.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    path = _write_vcrpy(tmp_path / "a.yaml", [_vcrpy_interaction({"prompt": "A"}, 401, err)])
    assert run(capsys, path)[0] == 0
    code, out, _ = run(capsys, "--strict-auth", path)
    assert code == 1 and "http.valid_request_accepted" in out


def test_server_errors_and_unlabelled_json(capsys, tmp_path):
    path = _write_vcrpy(
        tmp_path / "e.yaml",
        [
            _vcrpy_interaction(
                {"prompt": "A", "n": 0}, 500, {"detail": "boom"}, content_type="text/plain"
            )
        ],
    )
    code, out, _ = run(capsys, path)
    assert code == 1
    for rule in ("http.no_server_error", "http.json_content_type", "error.envelope"):
        assert rule in out


# -- files that are not cassettes ----------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8 text"),
        (b"interactions: [unclosed", "neither JSON nor YAML"),
        (b'{"interactions": ', "not valid JSON"),
        (b"just: a mapping\n", "is not a cassette"),
        (b"", "is empty"),
        (b"\x1f\x8b\x08garbage", "does not decompress"),
    ],
)
def test_unreadable_files_exit_2_with_a_reason(capsys, tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    code, out, err = run(capsys, path)
    assert code == 2
    assert reason in err and "UNREADABLE" in out
    with pytest.raises(CassetteError, match=reason):
        load_cassette(path)


def test_missing_paths_and_empty_directories_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, tmp_path / "nope.yaml")
    assert code == 2 and "no such file or directory" in err
    code, _, err = run(capsys, tmp_path)
    assert code == 2 and "no cassette files" in err


def test_a_cassette_without_the_endpoint_is_nothing_to_judge(capsys, tmp_path):
    other = _vcrpy_interaction(
        {"model": "gpt-4o", "messages": []},
        200,
        {"id": "x"},
        uri="https://api.openai.com/v1/chat/completions",
    )
    path = _write_vcrpy(tmp_path / "chat.yaml", [other])
    code, out, _ = run(capsys, path)
    assert code == 2 and "nothing to judge" in out


def test_a_directory_is_searched_and_unreadable_files_do_not_hide_the_others(capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("invalid-request.n.range.yaml", "gpt-image-webp.yaml"):
        (tmp_path / "sub" / name).write_bytes((REFERENCE / name).read_bytes())
    (tmp_path / "sub" / "broken.yaml").write_text("interactions: [")
    (tmp_path / "sub" / "notes.txt").write_text("ignored")
    code, out, err = run(capsys, tmp_path)
    assert code == 2
    assert "2 interaction(s) with the generations endpoint judged: 0 not conformant" in out
    assert "broken.yaml" in err


def test_usage_errors(capsys, tmp_path):
    assert run(capsys)[0] == 2
    bad_profile = tmp_path / "p.toml"
    bad_profile.write_text("models = 3\n")
    code, _, err = run(capsys, "--profile", bad_profile, REFERENCE)
    assert code == 2 and "models" in err
    assert main(["--help"]) == 0


# -- the conformance report, as a run of the suite writes it ------------------------------------
def test_report_of_a_failing_cassette_has_the_suites_format_and_verdict(capsys, tmp_path):
    data = yaml.safe_load((REFERENCE / "dall-e-2-b64_json.yaml").read_text())
    resp = data["interactions"][0]["response"]
    body = json.loads(resp["body"]["string"])
    body["data"].append(dict(body["data"][0]))  # two images for n=1
    resp["body"]["string"] = json.dumps(body)
    path = _write_vcrpy(tmp_path / "two.yaml", data["interactions"])
    out_file = tmp_path / "out" / "report.json"
    code, _, err = run(capsys, "--report", out_file, path)
    assert code == 1 and str(out_file) in err
    report = json.loads(out_file.read_text())
    assert report["format_version"] == 1
    assert report["verdict"]["exit_code"] == 1 and report["verdict"]["status"] == "non-conformant"
    assert report["verdict"]["gating_failures"] == ["response.data.count_matches_n"]
    outcomes = {r["id"]: r["outcome"] for r in report["rules"]}
    assert outcomes["response.data.count_matches_n"] == "failed"
    assert outcomes["http.no_server_error"] == "passed"
    assert outcomes["error.envelope"] == "not-exercised"  # nothing was refused
    assert [t["nodeid"] for t in report["tests"]] == [f"{path}#0"]
    assert "response.data.count_matches_n" in out_file.with_suffix(".md").read_text()


def test_a_recording_of_a_web_server_is_named_not_an_images_api_first(capsys, tmp_path):
    html = "<html><body>501 Not Implemented</body></html>"
    path = _write_vcrpy(
        tmp_path / "html.yaml",
        [
            _vcrpy_interaction({"prompt": "a cat"}, 501, html, content_type="text/html"),
            _vcrpy_interaction({"prompt": "a cat", "n": 0}, 501, html, content_type="text/html"),
        ],
    )
    out_file = tmp_path / "report.json"
    code, out, _ = run(capsys, "--report", out_file, path)
    assert code == 1
    assert out.startswith("images-conformance: The target is not an images API")
    assert out.count("is not an images API") == 1
    report = json.loads(out_file.read_text())
    assert report["finding"]["first_answer"] == "HTTP 501 (text/html)"
    outcomes = {r["id"]: r["outcome"] for r in report["rules"]}
    assert "passed" not in outcomes.values()
    assert outcomes["request.n.range"] == "not-judged"
    assert outcomes["http.json_content_type"] == "failed"  # what it answered broke it


def test_report_of_the_reference_cassettes_is_conformant(capsys, tmp_path):
    out_file = tmp_path / "report.json"
    code, _, _ = run(capsys, "--quiet", "--report", out_file, REFERENCE)
    report = json.loads(out_file.read_text())
    assert code == 0 == report["verdict"]["exit_code"] and report["verdict"]["conformant"]
    assert report["counts"]["passed"] > 0 and report["counts"]["failed"] == 0
    # stream rules are judged only on the streamed answers the cassettes hold
    stream = [r for r in report["rules"] if r["kind"] == "stream"]
    assert any(r["outcome"] == "passed" for r in stream)


def test_nothing_to_judge_gives_no_verdict_in_the_report(capsys, tmp_path):
    path = _write_vcrpy(
        tmp_path / "other.yaml",
        [_vcrpy_interaction(None, 200, {"data": []}, uri="https://x.test/v1/models", method="GET")],
    )
    out_file = tmp_path / "report.json"
    assert run(capsys, "--report", out_file, path)[0] == 2
    verdict = json.loads(out_file.read_text())["verdict"]
    assert verdict["exit_code"] == 2 and "nothing to judge" in verdict["message"]
