"""The validating proxy under faults: upstream down or silent, clients leaving, hostile
answers, big bodies, a slow judge, many clients at once, and the command itself."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from broken_servers import HANGING, broken_app
from ports import free_port
from proxy_helpers import proxy_to, upstream
from starlette.responses import StreamingResponse

from images_conformance.proxy import _judging
from reference_server import create_app

PROMPT = "an otter holding a lantern"
GEN = "/images/generations"


def _wait(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- hostile upstreams (raw ASGI apps) ------------------------------------------------------
class Endless:
    """An event stream that never ends (as a Starlette app streams: it stops when the
    client is gone); knows whether its generator is still running."""

    def __init__(self) -> None:
        self.running = 0
        self.started = 0

    async def events(self) -> Any:
        self.running += 1
        self.started += 1
        try:
            i = 0
            while True:
                yield f'event: image_generation.partial_image\ndata: {{"i": {i}}}\n\n'
                i += 1
                await asyncio.sleep(0.01)
        finally:
            self.running -= 1

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            response = StreamingResponse(self.events(), media_type="text/event-stream")
            await response(scope, receive, send)


def fixed(status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, cut: bool = False):
    """An app answering every request with these bytes (``cut``: a POST's connection drops
    before the declared length)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        cutting = cut and scope["method"] == "POST"
        sent = headers if cutting or not cut else [h for h in headers if h[0] != b"content-length"]
        await send({"type": "http.response.start", "status": status, "headers": sent})
        await send({"type": "http.response.body", "body": body, "more_body": cutting})
        if cutting:
            raise ConnectionResetError("the upstream drops the connection")

    return app


def _post(proxy: Any, body: Any = None, **kwargs: Any) -> httpx.Response:
    body = body or {"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"}
    return httpx.post(proxy.base_url + GEN, json=body, timeout=30, **kwargs)


# -- the upstream cannot answer -------------------------------------------------------------
def test_upstream_answering_something_that_is_not_http_gives_a_502_bad_answer():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served = threading.Event()

    def answer_garbage() -> None:
        with listener:
            listener.settimeout(10)
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n")
            served.set()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    with proxy_to(f"http://127.0.0.1:{port}/v1") as (proxy, _):
        got = _post(proxy)
        assert proxy.wait_judged()
    thread.join(10)
    assert served.is_set()
    assert got.status_code == 502
    error = got.json()["error"]
    assert error["code"] == "upstream_bad_answer" and error["type"] == "server_error"
    assert "not HTTP" in error["message"]
    assert any("no readable HTTP answer" in r for r in proxy.seen.snapshot()["not_judged"])


def test_upstream_down_gives_an_openai_shaped_502_recorded_as_such():
    with proxy_to(f"http://127.0.0.1:{free_port()}/v1", connect_timeout=2) as (proxy, out):
        got = _post(proxy)
        assert proxy.wait_judged()
    assert got.status_code == 502
    error = got.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "upstream_unreachable" and error["type"] == "server_error"
    snap = proxy.seen.snapshot()
    assert snap["counts"]["answered_by_proxy"] == 1
    assert any("could not be reached" in reason for reason in snap["not_judged"])
    assert "502" in out.getvalue() and "not judged" in out.getvalue()
    assert proxy.report()["verdict"]["status"] == "error"  # nothing judged: no verdict


def test_silent_upstream_gives_a_504_after_the_read_timeout():
    with (
        upstream(broken_app(HANGING)) as (server, _),
        proxy_to(server.base_url, read_timeout=0.5) as (proxy, _),
    ):
        got = _post(proxy)
        assert proxy.wait_judged()
    assert got.status_code == 504
    assert got.json()["error"]["code"] == "upstream_timeout"
    assert any("did not answer in time" in r for r in proxy.seen.snapshot()["not_judged"])


def test_upstream_that_never_reads_a_big_request_body_gives_a_504():
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept_and_never_read() -> None:
        listener.settimeout(10)
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            held.append(conn)

    thread = threading.Thread(target=accept_and_never_read, daemon=True)
    thread.start()
    body = b'{"prompt": "' + b"a" * (12 << 20) + b'"}'  # far more than the socket buffers
    try:
        with proxy_to(
            f"http://127.0.0.1:{listener.getsockname()[1]}/v1", read_timeout=0.5, write_timeout=1
        ) as (proxy, _):
            got = httpx.post(
                proxy.base_url + GEN,
                content=body,
                headers={"content-type": "application/json"},
                timeout=60,
            )
            assert proxy.wait_judged()
    finally:
        for conn in held:
            conn.close()
        listener.close()
    assert got.status_code == 504
    assert got.json()["error"]["code"] == "upstream_timeout"


# -- the client leaves ----------------------------------------------------------------------
def test_client_disconnect_mid_stream_cancels_the_upstream_request_nothing_left_behind():
    endless = Endless()
    with upstream(endless) as (server, capture), proxy_to(server.base_url) as (proxy, _):
        with (
            httpx.Client(timeout=10) as client,
            client.stream(
                "POST", proxy.base_url + GEN, json={"prompt": PROMPT, "stream": True}
            ) as r,
        ):
            chunks = r.iter_raw()
            assert b"partial_image" in next(chunks)
            assert endless.running == 1
        # the client is gone: the proxy must drop the upstream request and everything it held
        assert _wait(lambda: endless.running == 0), "the upstream is still streaming"
        assert _wait(lambda: capture.in_flight == 0)
        assert _wait(lambda: not server._server.server_state.connections), "upstream connection"
        assert _wait(lambda: proxy.forwarder.in_flight == 0)
        assert _wait(lambda: not proxy._server.server_state.tasks), "proxy request task left"
        connector = proxy.forwarder.client.connector  # aiohttp keeps no public count
        assert _wait(lambda: not connector._acquired and not any(connector._conns.values())), (
            "proxy's upstream connection left open"
        )
        assert proxy.wait_judged()
        reasons = proxy.seen.snapshot()["not_judged"]
        # the proxy still works afterwards
    assert endless.started == 1
    assert any("client disconnected" in r for r in reasons)


# -- hostile answers ------------------------------------------------------------------------
def test_gzip_bomb_is_forwarded_compressed_and_not_judged_past_the_cap():
    bomb = gzip.compress(b"0" * (20 << 20), compresslevel=9)
    app = fixed(200, [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")], bomb)
    with (
        upstream(app) as (server, _),
        proxy_to(server.base_url, max_judged_bytes=1 << 20) as (
            proxy,
            _,
        ),
    ):
        with httpx.Client(timeout=30) as client:
            r = client.post(proxy.base_url + GEN, json={"prompt": PROMPT})
            with client.stream("POST", proxy.base_url + GEN, json={"prompt": PROMPT}) as s:
                raw = b"".join(s.iter_raw())
        assert proxy.wait_judged()
    assert r.headers["content-encoding"] == "gzip"
    assert raw == bomb, "compressed bytes are forwarded as they are"
    reasons = proxy.seen.snapshot()["not_judged"]
    assert any("decompresses to more than the judging cap" in k for k in reasons), reasons


def test_garbage_answer_is_forwarded_and_judged_as_the_server_fault():
    garbage = bytes(range(256)) * 40
    app = fixed(200, [(b"content-type", b"application/json")], garbage)
    with upstream(app) as (server, _), proxy_to(server.base_url) as (proxy, out):
        got = _post(proxy)
        assert proxy.wait_judged()
    assert got.content == garbage
    assert "response.body.object" in out.getvalue()
    assert "SERVER NOT CONFORMANT" in out.getvalue()


def test_upstream_reset_mid_answer_cuts_the_client_and_the_proxy_keeps_working():
    app = fixed(
        200,
        [(b"content-type", b"application/json"), (b"content-length", b"100000")],
        b'{"created": 1, "da',
        cut=True,
    )
    with upstream(app) as (server, _), proxy_to(server.base_url) as (proxy, out):
        with pytest.raises(httpx.HTTPError):  # an incomplete answer, never a clean end
            _post(proxy)
        assert proxy.wait_judged()
        again = httpx.get(proxy.origin + "/v1/models", timeout=10)
        assert proxy.wait_judged()
    assert again.status_code == 200  # the fixed app answers anything
    assert "broke off" in out.getvalue() or "response.body.object" in out.getvalue()


def test_answer_over_the_judging_cap_is_forwarded_whole_and_skipped_with_a_reason():
    big = b'{"created": 1, "data": [{"b64_json": "' + b"A" * (3 << 20) + b'"}]}'
    app = fixed(200, [(b"content-type", b"application/json")], big)
    with (
        upstream(app) as (server, _),
        proxy_to(server.base_url, max_judged_bytes=1 << 20) as (
            proxy,
            _,
        ),
    ):
        got = _post(proxy)
        assert proxy.wait_judged()
    assert got.content == big
    reasons = proxy.seen.snapshot()["not_judged"]
    assert any("larger than the judging cap" in r for r in reasons), reasons


# -- bad client bodies ----------------------------------------------------------------------
def test_request_body_over_the_cap_gets_413_and_never_reaches_the_upstream():
    with (
        upstream(create_app()) as (server, capture),
        proxy_to(server.base_url, max_request_bytes=1000) as (proxy, _),
    ):
        declared = httpx.post(proxy.base_url + GEN, content=b"x" * 5000, timeout=10)
        chunked = httpx.post(
            proxy.base_url + GEN, content=iter([b"y" * 600, b"y" * 600]), timeout=10
        )
        assert proxy.wait_judged()
    for got in (declared, chunked):
        assert got.status_code == 413
        assert got.json()["error"]["code"] == "request_too_large"
    assert capture.requests == 0


def test_malformed_client_body_is_forwarded_and_a_client_fault():
    with upstream(create_app()) as (server, capture), proxy_to(server.base_url) as (proxy, out):
        got = httpx.post(
            proxy.base_url + GEN,
            content=b'{"prompt": \xff',
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert proxy.wait_judged()
    assert got.status_code == 400 and got.content == capture.generation_answers()[0]
    assert "request.body.object" in proxy.seen.snapshot()["client_faults"]
    assert "server: conformant" in out.getvalue()


# -- judging stays off the response path ---------------------------------------------------
@pytest.fixture
def blocked_judge(monkeypatch):
    release = threading.Event()
    real = _judging.judge_one

    def slow(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(30), "the test never released the judge"
        return real(*args, **kwargs)

    monkeypatch.setattr(_judging, "judge_one", slow)
    yield release
    release.set()


def test_a_slow_judge_never_holds_an_answer_back(blocked_judge):
    with upstream(create_app()) as (server, capture), proxy_to(server.base_url) as (proxy, _):
        got = _post(proxy)  # completes while the judge is still blocked on this exchange
        assert got.status_code == 200 and got.content == capture.generation_answers()[0]
        assert _wait(lambda: proxy.judge.backlog() == 1)
        assert proxy.seen.snapshot()["counts"].get("judged", 0) == 0
        blocked_judge.set()
        assert proxy.wait_judged()
        assert proxy.seen.snapshot()["counts"]["conformant"] == 1


def test_a_full_backlog_skips_judging_with_a_reason_and_still_forwards(blocked_judge):
    with (
        upstream(create_app()) as (server, _),
        proxy_to(server.base_url, max_backlog=1) as (proxy, _),
    ):
        answers = []
        for _ in range(3):  # 1 judging, 1 queued, 1 over the limit
            answers.append(_post(proxy))
            # the exchange is handed to the judge once its last byte is out: wait for that
            assert _wait(lambda: proxy.forwarder.in_flight == 0)
        assert all(a.status_code == 200 for a in answers)
        blocked_judge.set()
        assert proxy.wait_judged()
        snap = proxy.seen.snapshot()
    assert snap["counts"]["judged"] == 2, snap
    assert snap["not_judged"] == {"the judging backlog was full (the judge could not keep up)": 1}


def test_decoded_body_caps_decompression():
    data = gzip.compress(b"a" * 5000)
    assert _judging.decoded_body(data, "gzip", 10_000) == b"a" * 5000
    with pytest.raises(_judging.NotJudged, match="judging cap"):
        _judging.decoded_body(data, "gzip", 1000)
    with pytest.raises(_judging.NotJudged, match="does not decompress"):
        _judging.decoded_body(b"not gzip", "gzip", 1000)
    with pytest.raises(_judging.NotJudged, match="not decoded"):
        _judging.decoded_body(b"x", "br", 1000)


# -- many clients at once -------------------------------------------------------------------
def test_fifty_concurrent_clients_streaming_and_not_all_served_and_judged():
    plain = {
        "prompt": PROMPT,
        "model": "dall-e-2",
        "size": "256x256",
        "response_format": "b64_json",
    }
    stream = {
        "prompt": PROMPT,
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "low",
        "stream": True,
        "partial_images": 1,
    }
    with upstream(create_app()) as (server, capture), proxy_to(server.base_url) as (proxy, _):
        with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=60)) as client:

            def one(i: int) -> httpx.Response:
                return client.post(proxy.base_url + GEN, json=stream if i % 2 else plain)

            with ThreadPoolExecutor(50) as pool:
                answers = list(pool.map(one, range(50)))
        assert proxy.wait_judged(timeout=120)
        snap = proxy.seen.snapshot()
    assert [a.status_code for a in answers] == [200] * 50
    assert sorted(a.content for a in answers) == sorted(capture.generation_answers())
    assert snap["counts"]["judged"] == 50 and snap["counts"]["conformant"] == 50


# -- the command ----------------------------------------------------------------------------
def test_command_runs_until_sigterm_then_summarises_reports_and_sets_the_exit_status(tmp_path):
    report = tmp_path / "proxy.json"
    with upstream(create_app()) as (server, _):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from images_conformance.cli.main import main; sys.exit(main())",
                "proxy",
                "--upstream",
                server.base_url,
                "--port",
                "0",
                "--report",
                str(report),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            first = proc.stderr.readline()
            found = re.search(r"OPENAI_BASE_URL=(\S+)", first)
            assert found, first
            base = found.group(1)
            ok = httpx.post(
                base + GEN,
                json={"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"},
                timeout=60,
            )
            bad = httpx.post(
                base + GEN, json={"prompt": PROMPT, "model": "dall-e-3", "n": 2}, timeout=60
            )
            time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = proc.communicate(timeout=90)
    assert (ok.status_code, bad.status_code) == (200, 400)
    assert proc.returncode == 1, stderr  # the application's MUST fault fails the job
    lines = stdout.splitlines()
    assert len(lines) == 2 and "conformant" in lines[0] and "CLIENT FAULT" in lines[1]
    assert "request.n.dalle3_only_one" in stderr and "Traceback" not in stderr
    data = json.loads(report.read_text())
    assert data["verdict"]["client_faults"] == ["request.n.dalle3_only_one"]
    assert data["verdict"]["gating_failures"] == []
    assert report.with_suffix(".md").exists()


def test_command_rejects_bad_settings_without_a_traceback(capsys):
    from images_conformance.cli.main import main

    assert main(["proxy", "--upstream", "ftp://nowhere"]) == 2
    assert main(["proxy", "--upstream", "http://u:p@host/v1"]) == 2
    assert main(["proxy", "--upstream", "http://host/v1", "--edition", "2027"]) == 2
    assert main(["proxy"]) == 2
    err = capsys.readouterr().err
    assert "http(s) URL" in err and "credentials" in err and "Traceback" not in err
    assert "invalid choice: '2027'" in err


def test_fetch_urls_fetches_at_most_ten_images_per_answer():
    gets = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            gets.append(scope["path"])
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        host = dict(scope["headers"])[b"host"].decode()
        data = [{"url": f"http://{host}/img/{i}.png"} for i in range(50)]
        body = json.dumps({"created": 1, "data": data}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    ten = {"prompt": PROMPT, "model": "dall-e-2", "size": "256x256", "n": 10}
    with upstream(app) as (server, _), proxy_to(server.base_url, fetch_urls=True) as (proxy, out):
        got = _post(proxy, ten)
        assert proxy.wait_judged()
    assert got.status_code == 200 and len(got.json()["data"]) == 50
    # never more fetches than images asked for (n), and never more than the proxy's cap
    assert len(gets) == _judging.MAX_FETCHES == ten["n"]
    assert "response.url.fetchable" in out.getvalue()
