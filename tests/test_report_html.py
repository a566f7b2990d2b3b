"""The HTML conformance report: evidence of judged exchanges, and the page in a real browser.

The browser tests open the report of a run against a broken, hostile variant of the
reference server in headless Chromium (Debian's ``chromium`` package, driven by
Playwright with ``executable_path``; nothing is downloaded) and check what a person would:
the verdict, the failing rule's row, its thumbnails, no network request, no script of
the target run.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from broken_servers import Exchange, Rewrite, edit_request_json, no_alpha, serving
from PIL import Image
from report_browser import chromium_page, chromium_path
from suite_runs import suite_process

from images_conformance.report import _evidence
from images_conformance.report._evidence import exchange_evidence
from images_conformance.report.html import CSP, render_html
from reference_server import create_app
from validator import Level, Violation

HOSTILE_TEXT = (
    '<script>window.__pwned = "script"; document.title = "pwned"</script>'
    "<img src=\"x\" onerror=\"window.__pwned = 'img'; document.title = 'pwned'\">"
)
SELECT = (
    "(test_fixed_valid_request and transparent) or (test_invalid_request_is_refused and n.range)"
    " or test_fixed_stream_request"
)


# -- building blocks ------------------------------------------------------------------------
def _png(size: tuple[int, int] = (300, 200), mode: str = "RGBA", alpha: int = 0) -> bytes:
    color = {"RGBA": (200, 40, 40, alpha), "RGB": (200, 40, 40)}.get(mode, 0)
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format="PNG")
    return out.getvalue()


def _exchange(request: dict[str, Any], status: int, body: bytes, ctype: str) -> SimpleNamespace:
    return SimpleNamespace(
        method="POST",
        url="http://127.0.0.1:9/v1/images/generations",
        request_body=json.dumps(request).encode(),
        status=status,
        headers={"content-type": ctype},
        body=body,
        truncated=False,
        elapsed=0.1,
        error=None,
        stream=False,
        secret="sk-secret-key-abcdef",
        describe=lambda: f"HTTP {status}",
        curl=lambda: (
            "curl -sS http://127.0.0.1:9/v1/images/generations "
            '-H "Authorization: Bearer $OPENAI_API_KEY"'
        ),
    )


def _thumb_size(uri: str) -> tuple[int, int]:
    head, data = uri.split(",", 1)
    assert head in ("data:image/webp;base64", "data:image/png;base64")
    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        return im.size


def hostile(ex: Exchange) -> None:
    """Error messages (and a 200's revised_prompt) carry HTML that would run script."""
    body = ex.response_json()
    if ex.status == 400 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"]["message"] = HOSTILE_TEXT
        body["error"]["param"] = HOSTILE_TEXT  # also breaks error.param_names_fault
        ex.response_body = json.dumps(body).encode()
    elif ex.status == 200 and isinstance(body, dict) and isinstance(body.get("data"), list):
        for item in body["data"]:
            item["revised_prompt"] = HOSTILE_TEXT
        ex.response_body = json.dumps(body).encode()


def hostile_app() -> Rewrite:
    """No alpha where transparency is asked (image.transparency), hostile text everywhere."""
    return Rewrite(create_app(), on_request=edit_request_json(no_alpha), on_response=hostile)


# -- the evidence ---------------------------------------------------------------------------
def test_evidence_of_a_json_answer():
    request = {"prompt": "an otter", "model": "gpt-image-1", "n": 2, "background": "transparent"}
    images = [_png(), _png((1024, 512), "RGB")]
    answer = {
        "created": 1,
        "data": [{"b64_json": base64.b64encode(i).decode()} for i in images],
        "note": "sk-secret-key-abcdef",
    }
    ex = _exchange(request, 200, json.dumps(answer).encode(), "application/json")
    violation = Violation("image.transparency", Level.MUST, "no transparent pixel")
    ev = exchange_evidence(ex, [violation], gating={"image.transparency"}, what="served")
    json.dumps(ev)  # JSON-serializable
    assert ev["request"]["params"][0] == ["prompt", '"an otter"']
    assert ev["asked"] == {"model": "gpt-image-1", "n": 2, "background": "transparent"}
    assert "$OPENAI_API_KEY" in ev["request"]["curl"]
    assert "sk-secret-key-abcdef" not in json.dumps(ev), "the key is masked"
    assert ev["response"]["status"] == 200
    assert "<base64 image:" in ev["response"]["body"]
    assert base64.b64encode(images[0]).decode()[:64] not in ev["response"]["body"]
    assert ev["findings"] == [
        {
            "rule": "image.transparency",
            "level": "MUST",
            "source": "document",
            "message": "no transparent pixel",
            "gating": True,
        }
    ]
    first, second = ev["images"]
    assert (first["label"], first["format"], first["width"], first["height"]) == (
        "data[0]",
        "png",
        300,
        200,
    )
    assert first["transparent"] is True and second["transparent"] is False
    assert _thumb_size(first["thumbnail"]) == (128, 85)
    assert _thumb_size(second["thumbnail"]) == (128, 64)


def test_evidence_of_a_stream_is_a_strip_in_arrival_order():
    def event(kind: str, **extra: Any) -> str:
        data = {"type": f"image_generation.{kind}", "b64_json": base64.b64encode(_png()).decode()}
        return f"event: image_generation.{kind}\ndata: {json.dumps({**data, **extra})}\n\n"

    body = (
        event("partial_image", partial_image_index=0)
        + event("partial_image", partial_image_index=1)
        + event("completed")
    )
    request = {"prompt": "x", "model": "gpt-image-1", "stream": True, "partial_images": 2}
    ev = exchange_evidence(_exchange(request, 200, body.encode(), "text/event-stream"))
    assert [(i["label"], i["event"]) for i in ev["images"]] == [
        ("partial 0", "image_generation.partial_image"),
        ("partial 1", "image_generation.partial_image"),
        ("completed", "image_generation.completed"),
    ]
    assert all(i["thumbnail"] and i["origin"] == "stream" for i in ev["images"])
    assert "<base64 image:" in ev["response"]["body"]


def test_undecodable_huge_and_bomb_payloads_are_described_not_embedded(monkeypatch):
    bomb = _png((9000, 9000), "1")  # 81 Mpixels, a few kB: over the pixel cap
    items = [
        {"b64_json": "not base64!"},
        {"b64_json": base64.b64encode(b"GIF89a garbage").decode()},
        {"b64_json": base64.b64encode(bomb).decode()},
        {"b64_json": base64.b64encode(_png()).decode()},
    ]
    monkeypatch.setattr(_evidence, "MAX_IMAGE_BYTES", len(_png()) - 1)
    body = json.dumps({"created": 1, "data": items}).encode()
    ev = exchange_evidence(_exchange({"prompt": "x"}, 200, body, "application/json"))
    errors = [i["error"] for i in ev["images"]]
    assert all(i["thumbnail"] is None for i in ev["images"]), errors
    assert "base64" in errors[0]
    assert "do not decode" in errors[1]
    assert "too large" in errors[2] or "bytes" in errors[2]
    assert "too large to show" in errors[3]
    assert len(json.dumps(ev)) < 10_000


def test_evidence_is_bounded_for_a_large_text_answer():
    body = ("<html>" + "x" * 5_000_000 + "</html>").encode()
    ev = exchange_evidence(_exchange({"prompt": "x"}, 200, body, "text/html"))
    assert len(json.dumps(ev)) < 2 * _evidence.BODY_LIMIT
    assert ev["images"] == []


# -- the page, as text ----------------------------------------------------------------------
def _report(evidence: dict[str, Any]) -> dict[str, Any]:
    return {
        "format_version": 1,
        "verdict": {
            "status": "non-conformant",
            "conformant": False,
            "exit_code": 1,
            "message": "1 gating rule(s) failed: image.transparency",
        },
        "counts": {"passed": 1, "failed": 1, "warning": 2, "not-judged": 1, "not-exercised": 3},
        "target": {
            "base_url": "http://127.0.0.1:9/v1",
            "profile": HOSTILE_TEXT,
            "edition": "2026-08",
        },
        "run": {"level": "quick", "seed": 7, "strict": False, "started": "2026-01-01T00:00:00"},
        "suite": {"version": "0.1.0"},
        "rules": [
            {
                "id": "image.transparency",
                "level": "MUST",
                "outcome": "failed",
                "first_failure": HOSTILE_TEXT,
            },
            {"id": "image.size", "level": "MUST", "outcome": "warning", "reason": None},
        ],
        "tests": [
            {
                "nodeid": "t::" + HOSTILE_TEXT,
                "status": "failed",
                "rules": ["image.transparency"],
                "features": ["transparency"],
                "failure": HOSTILE_TEXT,
                "evidence": [evidence],
            },
        ],
    }


def test_page_escapes_everything_from_the_target_and_loads_nothing():
    request = {"prompt": HOSTILE_TEXT, "background": "transparent"}
    answer = {"created": 1, "data": [{"b64_json": base64.b64encode(_png()).decode()}]}
    ex = _exchange(request, 200, json.dumps({**answer, "x": HOSTILE_TEXT}).encode(), HOSTILE_TEXT)
    evidence = exchange_evidence(ex, [Violation("image.transparency", Level.MUST, HOSTILE_TEXT)])
    evidence["images"].append(
        {"label": "forged", "thumbnail": 'data:image/png;base64,AA" onerror="x'}
    )
    page = render_html(_report(evidence))
    assert page.count("<script") == 1, "only the page's own filtering script"
    assert '<img src="x"' not in page and 'onerror="window' not in page
    assert "&lt;script&gt;" in page
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP and "img-src data:" in CSP
    assert 'onerror="x' not in page, "a thumbnail that is not a plain data URI is not embedded"
    for word in ("warning", "not-judged", "not-exercised"):
        assert f"o-{word}" in page, f"the outcome {word} is rendered"
    assert 'href="#case-0"' in page, "the failing rule links to its evidence"
    assert "2026-08" in page, "the edition judged by is named"


# -- the page, in a browser -----------------------------------------------------------------
def _need_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the Python package playwright (pip install -e '.[test]')"
    else:
        missing = None if chromium_path() else "Chromium (apt-get install chromium)"
    if missing:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"CI must run the browser tests; missing: {missing}")
        pytest.skip(f"no browser to open the report: install {missing}")


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of a run of the suite against the hostile no-alpha variant."""
    _need_browser()
    pytester_dir = tmp_path_factory.mktemp("run")
    path = pytester_dir / "report.html"
    with serving(hostile_app()) as server:
        run = _run_suite_to(path, server.base_url)
    assert run.returncode == 1, run.stdout + run.stderr
    return path


def _run_suite_to(path: Path, base_url: str) -> Any:
    return suite_process(
        "--base-url",
        base_url,
        "--conformance-level",
        "standard",  # the fixed cases SELECT names run at the standard level
        "-k",
        SELECT,
        "--conformance-report",
        str(path),
        "-q",
        cwd=path.parent,
    )


def _open(page: Any, path: Path) -> list[str]:
    """Open the report; return every URL the page requested."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return requests


def test_report_files_are_written_beside_each_other(hostile_report):
    data = json.loads(hostile_report.with_suffix(".json").read_text(encoding="utf-8"))
    assert hostile_report.with_suffix(".md").is_file()
    failing = [t for t in data["tests"] if t["status"] == "failed"]
    assert failing and all(t["evidence"] for t in failing)
    assert data["rules"] and "image.transparency" in data["verdict"]["gating_failures"]


def test_a_person_sees_the_failing_rule_and_what_the_server_sent(hostile_report):
    with chromium_page() as page:
        requests = _open(page, hostile_report)
        verdict = page.locator("#verdict").inner_text()
        assert verdict.startswith("Non-conformant"), verdict
        assert "image.transparency" in verdict
        row = page.locator('#rules tr[data-outcome="failed"]', has_text="image.transparency")
        assert row.count() == 1
        link = row.locator("a")
        anchor = link.get_attribute("href")
        link.click()
        case = page.locator(f"{anchor}")
        assert case.evaluate("e => e.open"), "the failing test's evidence is shown"
        assert "background" in case.locator(".asked").first.inner_text()
        thumbs = case.locator(".checker img")
        assert thumbs.count() >= 1
        widths = thumbs.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
        assert all(w and w > 0 for w in widths), widths
        assert "transparent pixels: no" in case.inner_text()
        stream = page.locator(".case figcaption", has_text="image_generation.completed")
        assert stream.count() >= 1, "a stream test shows its events as a strip"
        # the filter: only failed rules
        page.select_option("#f-outcome", "failed")
        visible = page.locator("#rules tbody tr:not([hidden])")
        assert visible.count() >= 1
        assert all(
            o == "failed" for o in visible.evaluate_all("r => r.map(x => x.dataset.outcome)")
        )
        assert requests == [hostile_report.resolve().as_uri()], requests


def test_the_hostile_targets_script_does_not_run(hostile_report):
    page_text = hostile_report.read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned" in page_text, "the hostile text reached the report"
    with chromium_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        requests = _open(page, hostile_report)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.__pwned") is None
        assert page.title() != "pwned"
        assert page.locator("text=window.__pwned").count() >= 1, "shown as text"
        assert not errors
        assert requests == [hostile_report.resolve().as_uri()], requests


def test_a_tests_evidence_is_its_failing_exchange_else_its_first():
    from conformance_tests._verdict import ConformanceFailure, Verdict

    def ex(prompt: str) -> SimpleNamespace:
        return _exchange({"prompt": prompt}, 400, b'{"error": {}}', "application/json")

    should = Violation("request.unknown_parameter", Level.SHOULD, "accepted")
    must = Violation("error.envelope", Level.MUST, "no envelope")
    verdict = Verdict("t", ("error.envelope",))
    verdict.check(ex("first"), [])
    assert [e["request"]["params"][0][1] for e in verdict.evidence()] == ['"first"']
    verdict.check(ex("finding"), [should])
    verdict.check(ex("later"), [should])
    assert [e["request"]["params"][0][1] for e in verdict.evidence()] == ['"finding"']
    for prompt in ("failing", "shrunk"):
        with pytest.raises(ConformanceFailure):
            verdict.check(ex(prompt), [must, should])
    (evidence,) = verdict.as_record()["evidence"]
    assert evidence["request"]["params"][0][1] == '"shrunk"', "the last failing case"
    assert [(f["rule"], f["gating"]) for f in evidence["findings"]] == [
        ("error.envelope", True),
        ("request.unknown_parameter", False),
    ]
    quiet = Verdict("t", (), keep_evidence=False)
    quiet.check(ex("x"), [])
    assert quiet.as_record()["evidence"] == []


def test_evidence_of_a_judged_exchange():
    from images_conformance.judge import judge_exchange
    from images_conformance.report import case_from_judgement
    from images_conformance.report._evidence import judgement_evidence

    request = {"prompt": "x", "model": "gpt-image-1", "background": "transparent"}
    opaque = base64.b64encode(_png(mode="RGB")).decode()
    answer = {"created": 1, "data": [{"b64_json": opaque}]}
    ex = _exchange(request, 200, json.dumps(answer).encode(), "application/json")
    judgement = judge_exchange(ex.request_body, 200, ex.headers, ex.body)
    evidence = judgement_evidence(ex, judgement)
    assert ("image.transparency", True) in {(f["rule"], f["gating"]) for f in evidence["findings"]}
    assert evidence["images"][0]["transparent"] is False
    case = case_from_judgement("file#0", judgement, evidence=[evidence])
    report = {"verdict": {"status": "non-conformant"}, "tests": [vars(case)], "rules": []}
    page = render_html(report)
    assert "file#0" in page and "data:image/webp;base64," in page
