"""The forwarding app: every request to the upstream unchanged, every answer back unchanged.

A Starlette app with one catch-all route. The request body is read (up to a cap: 413
past it), the request sent to the upstream with an ``aiohttp`` client session (its C
HTTP parser costs a fraction of a pure-Python client's CPU per exchange, which is what
the proxy's throughput depends on), and the answer passed back as its bytes arrive
(``auto_decompress=False``: compressed bodies stay compressed, an event stream goes out
chunk by chunk). A copy of the answer, capped, goes to the
judge once the last byte has been forwarded. The proxy answers by itself only when it
must: a body over the cap (413), ``--enforce`` refusing a request that breaks a MUST
rule (400), an upstream it cannot reach (502) or that does not answer in time (504); each
time with the OpenAI error envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from yarl import URL

from validator import Level, Violation

from ._config import MB, ProxyConfig
from ._observed import Observed, mask_headers, secret_values
from ._pieces import judge_request

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers that concern one connection only (RFC 9110 7.6.1): never forwarded."""
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "expect"}
"""Request headers the proxy does not pass on (the client session sets Host and Content-Length)."""
_NO_AUTO_HEADERS = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})
"""Headers aiohttp would add on its own: the upstream sees only what the client sent."""
_BROKE_OFF = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError)
"""What reading an answer raises when the upstream breaks it off (reset, timeout, short)."""
_BUFFERED_WRITE = 64 * 1024
"""Request bodies up to this size are written to the upstream at once (asyncio's write
buffer takes them whole), so only bigger ones need a bound on the upload."""
GENERATIONS_SUFFIX = "/images/generations"
_log = logging.getLogger("images_conformance.proxy")


class UpstreamBroke(Exception):
    """The upstream's answer broke off after it started: the client's connection is cut
    so that it sees an incomplete answer, never a clean end."""


class _Quiet(logging.Filter):
    """Keeps uvicorn from logging a traceback for a connection cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, UpstreamBroke)


logging.getLogger("uvicorn.error").addFilter(_Quiet())


def error_envelope(
    status: int, message: str, *, type: str, code: str | None, param: str | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """An answer of the proxy's own, in the OpenAI error envelope."""
    body = json.dumps(
        {"error": {"message": message, "type": type, "param": param, "code": code}},
        ensure_ascii=True,
    ).encode("ascii")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"x-images-conformance-proxy", b"answered-by-proxy"),
    ]
    return status, headers, body


def _connection_tokens(headers: list[tuple[str, str]]) -> set[str]:
    out: set[str] = set()
    for k, v in headers:
        if k.lower() == "connection":
            out.update(t.strip().lower() for t in v.split(",") if t.strip())
    return out


def _forwardable(headers: list[tuple[str, str]], drop: frozenset[str]) -> list[tuple[str, str]]:
    named = _connection_tokens(headers)
    return [(k, v) for k, v in headers if k.lower() not in drop and k.lower() not in named]


def _enforced_code(v: Violation) -> str:
    if v.rule == "request.body.object":
        return "invalid_json"
    if v.rule == "request.prompt.required":
        return "missing_required_parameter"
    return "invalid_value"


class Forwarder:
    """The ASGI endpoint behind the catch-all route (one per proxy)."""

    def __init__(self, config: ProxyConfig, on_exchange: Callable[[Observed], None]) -> None:
        self.config = config
        self.on_exchange = on_exchange
        self.client: aiohttp.ClientSession | None = None
        self.upstream = config.upstream_origin
        self.secrets: dict[str, None] = {}
        """Secret header values seen (insertion-ordered, bounded), to scrub output with."""
        self.requests = 0
        self.in_flight = 0

    def open(self) -> None:
        """Open the upstream session (in the serving event loop)."""
        c = self.config
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=c.max_connections, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=c.connect_timeout, sock_read=c.read_timeout
            ),
            auto_decompress=False,  # the client gets the upstream's bytes as they were
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookie from one client reaches another
            skip_auto_headers=_NO_AUTO_HEADERS,  # only the client's own headers go upstream
            trust_env=False,
        )

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    def _remember(self, headers: list[tuple[str, str]]) -> None:
        for value in secret_values(headers):
            self.secrets.pop(value, None)
            self.secrets[value] = None
            while len(self.secrets) > 64:
                self.secrets.pop(next(iter(self.secrets)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.client is None:
            self.open()
        self.requests += 1
        self.in_flight += 1
        try:
            await self._handle(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        request = Request(scope, receive)
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        self._remember(raw_headers)
        path = scope["path"]
        obs = Observed(
            started=time.time(),
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            request_headers=mask_headers(raw_headers),
            generations=scope["method"] == "POST" and path.rstrip("/").endswith(GENERATIONS_SUFFIX),
        )
        try:
            await self._exchange(request, scope, receive, send, raw_headers, obs)
        finally:
            obs.duration_ms = (time.perf_counter() - start) * 1000
            self.on_exchange(obs)

    async def _answer_self(
        self, send: Send, obs: Observed, answer: tuple[int, list[tuple[bytes, bytes]], bytes]
    ) -> None:
        status, headers, body = answer
        obs.answered_by = "proxy"
        obs.status = status
        obs.response_headers = [(k.decode(), v.decode()) for k, v in headers]
        obs.response_body = body
        obs.response_size = len(body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read_body(self, request: Request, obs: Observed) -> bytes | None:
        """The request body, or None when it is over the cap (or the client left)."""
        cap = self.config.max_request_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            return None
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    return None
                chunks.append(chunk)
        except Exception:  # ClientDisconnect: nobody to answer
            obs.error = "the client disconnected while sending its request"
            obs.skip = obs.error
            raise
        return b"".join(chunks)

    async def _exchange(
        self,
        request: Request,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw_headers: list[tuple[str, str]],
        obs: Observed,
    ) -> None:
        try:
            body = await self._read_body(request, obs)
        except Exception:
            return
        if body is None:
            obs.skip = "the request body was over the proxy's cap (answered 413)"
            obs.error = obs.skip
            cap = self.config.max_request_bytes
            await self._answer_self(
                send,
                obs,
                error_envelope(
                    413,
                    f"The request body is larger than the validating proxy accepts "
                    f"({cap // MB if cap >= MB else cap} {'MB' if cap >= MB else 'bytes'}).",
                    type="invalid_request_error",
                    code="request_too_large",
                ),
            )
            return
        obs.request_body = body
        if not obs.generations:
            obs.skip = "not POST .../images/generations"
        elif self.config.enforce:
            _, faults = judge_request(body, profile=self.config.profile)
            must = [v for v in faults if v.level is Level.MUST]
            if must:
                first = next((v for v in must if v.param), must[0])
                obs.enforced = must
                others = sorted({v.rule for v in must} - {first.rule})
                also = f" (also broken: {', '.join(others)})" if others else ""
                await self._answer_self(
                    send,
                    obs,
                    error_envelope(
                        400,
                        f"{first.message} [rule {first.rule}{also}; refused by the validating "
                        "proxy: the request was not sent to the upstream]",
                        type="invalid_request_error",
                        code=_enforced_code(first),
                        param=first.param,
                    ),
                )
                return
        await self._forward(scope, receive, send, raw_headers, body, obs)

    async def _send_upstream(
        self, scope: Scope, raw_headers: list[tuple[str, str]], body: bytes
    ) -> aiohttp.ClientResponse:
        assert self.client is not None
        target = scope.get("raw_path") or scope["path"].encode("utf-8")
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        url = URL(self.upstream + target.decode("latin-1"), encoded=True)
        request = self.client.request(
            scope["method"],
            url,
            headers=_forwardable(raw_headers, NOT_FORWARDED),
            data=body if body else None,
            allow_redirects=False,
            compress=False,
        )
        if len(body) <= _BUFFERED_WRITE:
            return await request  # written at once: sock_read bounds the wait for an answer
        # the session's timer starts once the body is written: bound an upstream that stops
        # reading it
        with anyio.fail_after(self.config.write_timeout + self.config.read_timeout):
            return await request

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw_headers: list[tuple[str, str]],
        body: bytes,
        obs: Observed,
    ) -> None:
        begun = time.perf_counter()
        try:
            response = await self._send_upstream(scope, raw_headers, body)
        except (TimeoutError, asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            status, code, message, obs.error = _upstream_failure(exc)
            obs.skip = obs.error
            await self._answer_self(
                send, obs, error_envelope(status, message, type="server_error", code=code)
            )
            return
        try:
            await self._relay(response, receive, send, obs, begun)
        finally:
            if response.content.at_eof():
                response.release()  # the connection goes back to the pool
            else:
                response.close()  # cut short: the connection cannot be reused

    async def _relay(
        self,
        response: aiohttp.ClientResponse,
        receive: Receive,
        send: Send,
        obs: Observed,
        begun: float,
    ) -> None:
        """Pass the upstream's answer on as it arrives; cut both sides if the client leaves."""
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        obs.status = response.status
        obs.response_headers = headers
        cap = self.config.max_judged_bytes if obs.generations else 0
        kept: list[bytes] | None = []
        client_left = False
        broke: str | None = None

        async def watch_client(cancel: anyio.CancelScope) -> None:
            """Runs while the rest of the answer is awaited: a client that leaves then
            cancels the upstream read."""
            nonlocal client_left
            while (await receive())["type"] != "http.disconnect":
                pass
            client_left = True
            cancel.cancel()

        async def pass_on(chunk: bytes) -> None:
            nonlocal kept
            if obs.first_byte_ms is None:
                obs.first_byte_ms = (time.perf_counter() - begun) * 1000
            obs.response_size += len(chunk)
            if kept is not None:
                if obs.response_size > cap:
                    kept = None
                else:
                    kept.append(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in _forwardable(headers, HOP_BY_HOP)
                    ],
                }
            )
            # what arrived with the headers goes on at once; an answer that came whole with
            # them (most non-streamed ones) needs no watcher: nothing is left to wait for
            arrived = response.content.read_nowait()
            if arrived:
                await pass_on(arrived)
            if not response.content.at_eof():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(watch_client, tg.cancel_scope)
                    try:
                        async for chunk in _raw(response):
                            await pass_on(chunk)
                    except _BROKE_OFF as exc:  # caught here: a task group would wrap it
                        broke = _broke_off(exc)
                    finally:
                        tg.cancel_scope.cancel()  # the watcher: the last byte has arrived
            if broke is None and not client_left:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except _BROKE_OFF as exc:
            broke = _broke_off(exc)
        if broke is not None and not client_left:
            obs.error = broke
            obs.response_body = b"".join(kept) if kept is not None else None
            if kept is None:
                obs.skip = broke
            raise UpstreamBroke(broke)  # cuts the client's connection: no clean end
        if client_left:
            obs.error = (
                "the client disconnected before the answer ended (upstream request cancelled)"
            )
            obs.skip = obs.error
            obs.response_body = None
            return
        if kept is None:
            obs.response_body = None
            if obs.generations:
                obs.skip = (
                    f"the answer was larger than the judging cap ({cap // MB} MB): forwarded, "
                    "not judged"
                )
        else:
            obs.response_body = b"".join(kept)


def _broke_off(exc: BaseException) -> str:
    return f"the upstream's answer broke off ({type(exc).__name__})"


def _upstream_failure(exc: BaseException) -> tuple[int, str, str, str]:
    """Status, error code, message to the client, and the note recorded, for an upstream
    request that got no answer."""
    name = type(exc).__name__
    # TimeoutError is anyio's (the upload bound); before Python 3.11 it is not asyncio's
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        connect = isinstance(exc, aiohttp.ConnectionTimeoutError)
        what = "connect to" if connect else "get an answer from"
        return (
            504,
            "upstream_timeout",
            f"The validating proxy could not {what} the upstream in time.",
            f"the upstream did not answer in time (could not {what} it)",
        )
    if isinstance(exc, (aiohttp.ClientConnectorError, OSError)):
        return (
            502,
            "upstream_unreachable",
            f"The validating proxy could not reach the upstream ({name}).",
            f"the upstream could not be reached ({name})",
        )
    # connected, but no answer HTTP can read
    return (
        502,
        "upstream_bad_answer",
        f"The upstream closed the connection or answered with something that is not HTTP ({name}).",
        f"the upstream gave no readable HTTP answer ({name})",
    )


async def _raw(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in response.content.iter_any():
        if chunk:
            yield chunk


def create_proxy_app(config: ProxyConfig, on_exchange: Callable[[Observed], None]) -> Starlette:
    """The proxy's ASGI app: every path and method forwarded to ``config.upstream``.

    ``on_exchange`` is called with each finished exchange (after its last byte was
    forwarded, or the client left); it must not block.
    """
    forwarder = Forwarder(config, on_exchange)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        forwarder.open()
        try:
            yield
        finally:
            await forwarder.close()

    app = Starlette(routes=[Route("/{path:path}", forwarder)], lifespan=lifespan)
    app.router.redirect_slashes = False
    app.state.forwarder = forwarder
    return app
