"""The limits on what is read (images_conformance/exchanges/_limits.py) and secret masking
(_secrets.py), piece by piece; tests/test_hostile.py runs them end to end."""

from __future__ import annotations

import gzip
import json
import pickle
import tracemalloc
import zlib
from typing import Any

import httpx
import pytest
from hostile import gzip_bomb_bytes

from conformance_tests._options import LEVELS, SuiteOptions
from images_conformance.exchanges._client import Exchange, Target
from images_conformance.exchanges._limits import (
    MB,
    Deadline,
    LimitExceeded,
    Limits,
    inflate,
    json_depth_exceeds,
    json_values,
    parse_json,
    read_body,
)
from images_conformance.exchanges._secrets import MASK, Secret, sanitize
from images_conformance.exchanges.formats._cassettes import (
    CassetteError,
    _decode_body,
    _parse_text,
)
from images_conformance.judge import answer_problem, fetch_images, judge_exchange
from validator import DEFAULT_PROFILE, validate_response

KEY = "sk-test-limits-0123456789"


# -- secrets ----------------------------------------------------------------------------------
def test_a_secret_never_renders_its_value() -> None:
    s = Secret(KEY)
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", "%s" % s, format(s, ">30")):  # noqa: UP031
        assert KEY not in shown
    assert s == KEY and s.reveal() == KEY and type(s.reveal()) is str
    assert s.startswith("sk-test") and s.encode() == KEY.encode()
    again = pickle.loads(pickle.dumps(s))
    assert isinstance(again, Secret) and again.reveal() == KEY


def test_suite_options_repr_hides_the_key() -> None:
    opts = SuiteOptions(
        base_url="http://x/v1",
        api_key=Secret(KEY),
        profile=DEFAULT_PROFILE,
        profile_path=None,
        level=LEVELS["quick"],
        timeout=1.0,
        strict=False,
        seed=0,
        max_response_bytes=MB,
    )
    assert KEY not in repr(opts)
    assert "Secret('***')" in repr(opts)


def test_sanitize_masks_known_secrets_and_escapes_control_characters() -> None:
    Secret(KEY)
    text = sanitize(f"param {KEY!r}\x00\x1b[2J\tok\nnext\x7f")
    assert KEY not in text and MASK in text
    assert "\x00" not in text and "\x1b" not in text and "\x7f" not in text
    assert "\\x00\\x1b[2J\tok\nnext\\x7f" in text
    assert sanitize(sanitize(text)) == text


def test_the_authorization_header_is_a_secret() -> None:
    target = Target("http://127.0.0.1:9/v1", api_key=KEY)
    seen: dict[str, Any] = {}
    original = target._send

    def spy(method: str, url: str, content: bytes, headers: dict[str, str], **kw: Any) -> Any:
        seen.update(headers)
        return original(method, url, content, headers, **kw)

    target._send = spy  # type: ignore[method-assign]
    ex = target.post_generation({"prompt": "x"})
    target.close()
    assert isinstance(seen["Authorization"], Secret)
    assert KEY not in repr(seen) and KEY not in repr(target.api_key)
    assert ex.request_headers["Authorization"] == "Bearer $OPENAI_API_KEY"


# -- JSON ------------------------------------------------------------------------------------
def test_deep_json_is_refused_before_parsing() -> None:
    deep = b"[" * 1_000_000 + b"]" * 1_000_000
    with pytest.raises(LimitExceeded, match="nests deeper than 256 levels"):
        parse_json(deep)
    assert not json_depth_exceeds(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[["}', 3)
    assert parse_json(b'{"data": [{"url": "x"}]}') == {"data": [{"url": "x"}]}
    assert parse_json(b"[[[1]]]", Limits(max_json_depth=3)) == [[[1]]]
    with pytest.raises(LimitExceeded):
        parse_json(b"[[[[1]]]]", Limits(max_json_depth=3))


def test_exchange_json_says_why_it_is_not_parsed() -> None:
    ex = Exchange("POST", "http://x", {}, b"", status=200, body=b"[" * 5000 + b"]" * 5000)
    with pytest.raises(ValueError, match="nests deeper than 256 levels"):
        ex.json()


def test_json_with_too_many_values_is_refused_before_parsing() -> None:
    # "x,y[{" is one string; the empty object counts 2 (the count never falls short)
    assert json_values(b'{"a": [1, 2, {"b": "x,y[{"}], "c": {}}') == 8
    many = b'{"data": [' + b", ".join([b"{}"] * 1000) + b"]}"
    assert json_values(many) == 2002
    with pytest.raises(LimitExceeded) as caught:
        parse_json(many, Limits(max_json_values=2001))
    assert str(caught.value) == (
        "the JSON holds about 2,002 values, more than 2,001 (the JSON value limit); not parsed"
    )
    assert len(parse_json(many, Limits(max_json_values=2002))["data"]) == 1000
    ex = Exchange(
        "POST", "http://x", {}, b"", status=200, body=many, limits=Limits(max_json_values=100)
    )
    with pytest.raises(ValueError, match="more than 100 \\(the JSON value limit\\)"):
        ex.json()


def test_an_answer_is_parsed_once_and_not_kept_after_judging(monkeypatch) -> None:
    """The client, the gate and the judge share the Exchange's one parse; once judged, the
    document is let go and the judgement keeps a few items for the evidence."""
    import images_conformance.exchanges._exchange as exchange_module
    import images_conformance.judge._judge as judge_module

    body = json.dumps(
        {"created": 1, "data": [{"url": f"https://x/{i}.png"} for i in range(1000)]}
    ).encode()
    parsed: list[int] = []
    for module in (exchange_module, judge_module):

        def counting(text: Any, *args: Any, _real: Any = module.parse_json, **kw: Any) -> Any:
            if text == body:
                parsed.append(1)
            return _real(text, *args, **kw)

        monkeypatch.setattr(module, "parse_json", counting)
    request = b'{"model": "dall-e-2", "prompt": "x", "n": 1, "response_format": "url"}'
    ex = Exchange(
        "POST", "http://x", {}, request, status=200, headers={"content-type": "application/json"}
    )
    ex.body = body
    assert len(ex.json()["data"]) == 1000  # the client's image count
    assert answer_problem(200, ex.headers, ex) is None  # the gate
    judgement = judge_exchange(ex, check_images=False)
    assert answer_problem(200, ex.headers, ex) is None  # after judging: from what is kept
    assert parsed == [1]
    assert ex._parsed is exchange_module._RELEASED
    counts = [v for v in judgement.violations if v.rule == "response.data.count_matches_n"]
    assert "1,000 items where n=1 was asked" in counts[0].message
    assert [item["url"] for item in judgement.items or []] == [
        f"https://x/{i}.png" for i in range(16)
    ]
    assert judgement.items_left == 1000 - 16


# -- bounded decompression -----------------------------------------------------------------------
def test_inflate_stops_at_the_cap() -> None:
    bomb = gzip_bomb_bytes(256 * MB)
    with pytest.raises(LimitExceeded, match="inflates past 1 MB"):
        inflate(bomb, MB, what="the body")
    assert inflate(gzip.compress(b"x" * 1000), MB) == b"x" * 1000
    assert inflate(gzip.compress(b"ab") + gzip.compress(b"cd"), MB) == b"abcd"
    assert inflate(zlib.compress(b"hello"), MB, wbits=zlib.MAX_WBITS) == b"hello"
    with pytest.raises(zlib.error):
        inflate(gzip.compress(b"x" * 1000)[:-12], MB)


def _stream_response(body: bytes, headers: dict[str, str]) -> httpx.Response:
    def chunks() -> Any:  # as a network read gives them: 64 KiB at a time
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=chunks())

    client = httpx.Client(transport=httpx.MockTransport(handler))
    request = client.build_request("GET", "http://x/")
    return client.send(request, stream=True)


def test_read_body_counts_decoded_bytes() -> None:
    resp = _stream_response(
        gzip_bomb_bytes(64 * MB), {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    with Deadline(30) as deadline:
        got = read_body(resp, Limits(max_bytes=2 * MB), deadline)
    assert len(got.data) == 2 * MB
    assert (
        got.cut == "the answer inflates past 2 MB (Content-Encoding: gzip); only its start was read"
    )


def test_read_body_cuts_a_brotli_bomb_without_inflating_it_whole() -> None:
    """64 MB of brotli fit in one small network chunk: httpx would inflate it in one go;
    the read decodes it piece by piece and stops at the cap."""
    brotli = pytest.importorskip("brotli", reason="httpx decodes br only with brotli installed")
    bomb = brotli.compress(b"\0" * (64 * MB), quality=1)
    assert len(bomb) < 65536  # one chunk
    resp = _stream_response(bomb, {"Content-Encoding": "br", "Content-Type": "application/json"})
    tracemalloc.start()
    try:
        with Deadline(30) as deadline:
            got = read_body(resp, Limits(max_bytes=2 * MB), deadline)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(got.data) == 2 * MB
    assert (
        got.cut == "the answer inflates past 2 MB (Content-Encoding: br); only its start was read"
    )
    assert peak < 16 * MB


def test_read_body_decodes_an_ordinary_brotli_answer() -> None:
    brotli = pytest.importorskip("brotli", reason="httpx decodes br only with brotli installed")
    body = json.dumps({"data": [{"url": f"https://x/{i}.png"} for i in range(5000)]}).encode()
    resp = _stream_response(brotli.compress(body), {"Content-Encoding": "br"})
    with Deadline(30) as deadline:
        got = read_body(resp, Limits(), deadline)
    assert got.data == body and got.cut is None


def test_a_recorded_brotli_bomb_is_not_judged() -> None:
    brotli = pytest.importorskip("brotli", reason="recorded br bodies need brotli")
    bomb = brotli.compress(b"\0" * (256 * MB), quality=1)
    with pytest.raises(CassetteError, match="inflates past 64 MB \\(brotli\\): not judged"):
        _decode_body(bomb, {"content-encoding": "br"}, [])
    notes: list[str] = []
    assert _decode_body(brotli.compress(b'{"data": []}'), {"content-encoding": "br"}, notes) == (
        b'{"data": []}'
    )
    assert notes == ["the body was recorded brotli-compressed; judged after decompressing it"]


def test_read_body_cuts_a_stream_after_max_events() -> None:
    events = b"".join(b'event: x\ndata: {"i": %d}\n\n' % i for i in range(50))
    resp = _stream_response(events, {"Content-Type": "text/event-stream"})
    with Deadline(30) as deadline:
        got = read_body(resp, Limits(max_events=7), deadline, stream=True)
    assert got.events == 7 and got.data.count(b"\n\n") == 7
    assert "still going after 7 events" in (got.cut or "")


# -- bounded judging -----------------------------------------------------------------------------
def test_a_million_items_are_judged_on_a_prefix_and_reported_once() -> None:
    response = {"created": 1, "data": [{"url": "https://x/1.png"}] * 1_000_000}
    request = {"model": "dall-e-2", "prompt": "x", "n": 1}
    found = validate_response(request, response, check_images=False)
    counts = [v for v in found if v.rule == "response.data.count_matches_n"]
    assert len(counts) == 1
    assert "1,000,000 items where n=1 was asked; the first 10 were judged" in counts[0].message
    assert len(found) < 50


def test_url_fetches_never_exceed_the_images_asked_for() -> None:
    fetched: list[str] = []

    def fetch(url: str) -> Any:
        fetched.append(url)
        return None

    notes: list[str] = []
    fetch_images({"data": [{"url": f"https://x/{i}"} for i in range(1000)]}, fetch, notes, limit=2)
    assert len(fetched) == 2


# -- recording files -------------------------------------------------------------------------------
def test_yaml_aliases_are_refused_before_they_expand() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghij":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    with pytest.raises(CassetteError, match="aliases expand past"):
        _parse_text("\n".join(lines) + "\n", "bomb.yaml")
    with pytest.raises(CassetteError, match="refers to itself"):
        _parse_text("a: &a [1, *a]\n", "loop.yaml")
    # Ordinary anchors (vcrpy writes them for shared header dicts) still read.
    assert _parse_text("h: &h {x: 1}\ni: [*h, *h]\n", "ok.yaml") == {
        "h": {"x": 1},
        "i": [{"x": 1}, {"x": 1}],
    }


def test_json_recording_nested_too_deeply_is_unreadable() -> None:
    with pytest.raises(CassetteError):
        _parse_text("[" * 200_000 + "]" * 200_000, "deep.json")
    assert json.loads("[1]") == [1]


def test_a_failure_message_lists_a_few_violations_per_rule() -> None:
    from conformance_tests._verdict import format_failure
    from validator import Level, Violation

    many = [Violation("stream.partial.count_max", Level.MUST, f"event {i}") for i in range(300)]
    text = format_failure(many, [], None)
    assert text.count("  - [MUST] stream.partial.count_max") == 5
    assert "... and 295 more of stream.partial.count_max" in text
