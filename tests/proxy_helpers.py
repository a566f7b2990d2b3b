"""Helpers for the validating proxy's tests: an upstream that keeps what it sent, and a
proxy around it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from images_conformance.proxy import ProxyConfig, ValidatingProxy
from reference_server import ServerThread


class Capture:
    """ASGI wrapper around an upstream app: counts requests and those in progress, and
    keeps the exact body bytes of every answer it sent (path, status, bytes)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.in_flight = 0
        self.answers: list[tuple[str, int, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        self.in_flight += 1
        chunks: list[bytes] = []
        status = 0

        async def keep(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, keep)
        finally:
            self.in_flight -= 1
            self.answers.append((scope["path"], status, b"".join(chunks)))

    def generation_answers(self) -> list[bytes]:
        return [body for path, _, body in self.answers if path.endswith("/images/generations")]


@contextmanager
def upstream(app: Any) -> Iterator[tuple[ServerThread, Capture]]:
    """Serve ``app`` (wrapped in a Capture) on a free 127.0.0.1 port."""
    capture = Capture(app)
    server = ServerThread(app=capture).start()
    try:
        yield server, capture
    finally:
        server.stop()


@contextmanager
def proxy_to(base_url: str, **settings: Any) -> Iterator[tuple[ValidatingProxy, io.StringIO]]:
    """A validating proxy (judging in a thread) in front of ``base_url``; yields it and
    what it printed."""
    settings.setdefault("judge_in", "thread")
    out = io.StringIO()
    proxy = ValidatingProxy(ProxyConfig(base_url, **settings), out=out).start()
    try:
        yield proxy, out
    finally:
        proxy.stop()


def server_findings(proxy: ValidatingProxy) -> dict[str, dict[str, Any]]:
    """Rule id -> finding, over every case the proxy judged (the server's side)."""
    out: dict[str, dict[str, Any]] = {}
    for test in proxy.seen.snapshot()["tests"]:
        out.update(test.findings)
    return out
