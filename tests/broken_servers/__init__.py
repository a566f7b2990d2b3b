"""Deliberately broken variants of the reference server, one realistic deviation each.

Each :class:`Variant` wraps the reference server's ASGI app in a :class:`Rewrite`
middleware that alters requests on the way in or answers on the way out, and names the
rule ids the conformance suite must report as failed against it, plus a narrow test
selection so that running the suite against all variants stays fast.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reference_server import ServerThread, create_app
from validator._models import REQUEST_PARAMS

GENERATIONS = "/v1/images/generations"
API_KEY = "sk-broken-variant-key-1234"


@dataclass
class Exchange:
    """A request and its answer as the middleware sees them (both editable)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""

    def request_json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None


OnRequest = Callable[[Exchange], "Exchange | None"]
OnResponse = Callable[[Exchange], None]


async def read_request_body(receive: Any) -> bytes:
    """The whole body of an ASGI HTTP request, read from ``receive``."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


class Rewrite:
    """ASGI middleware: ``on_request`` may edit the request or answer it itself (by
    setting ``status``); ``on_response`` may edit the buffered answer."""

    def __init__(
        self,
        app: Any,
        *,
        on_request: Callable[[Exchange], None] | None = None,
        on_response: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.app = app
        self.on_request = on_request
        self.on_response = on_response

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_request_body(receive)
        ex = Exchange(
            method=scope["method"],
            path=scope["path"],
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=body,
        )
        if self.on_request:
            await _maybe_await(self.on_request(ex))
        if not ex.status:
            await self._call_app(scope, ex)
            if self.on_response:
                await _maybe_await(self.on_response(ex))
        headers = {k: v for k, v in ex.response_headers.items() if k != "content-length"}
        headers["content-length"] = str(len(ex.response_body))
        await send(
            {
                "type": "http.response.start",
                "status": ex.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": ex.response_body})

    async def _call_app(self, scope: dict[str, Any], ex: Exchange) -> None:
        headers = {k: v for k, v in ex.headers.items() if k != "content-length"}
        headers["content-length"] = str(len(ex.body))
        inner_scope = dict(scope)
        inner_scope["headers"] = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": ex.body, "more_body": False}
            await asyncio.sleep(3600)  # the app reads past the body only to wait for a disconnect
            return {"type": "http.disconnect"}

        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ex.status = message["status"]
                ex.response_headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in message.get("headers", [])
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner_scope, receive, send)
        ex.response_body = b"".join(chunks)


async def _maybe_await(value: Any) -> None:
    if asyncio.iscoroutine(value):
        await value


# -- building blocks ------------------------------------------------------------------------
def edit_request_json(fn: Callable[[dict[str, Any]], None]) -> Callable[[Exchange], None]:
    """Edit JSON object bodies sent to the generations endpoint."""

    def on_request(ex: Exchange) -> None:
        body = ex.request_json() if ex.path == GENERATIONS else None
        if isinstance(body, dict):
            fn(body)
            ex.body = json.dumps(body).encode()

    return on_request


def edit_response_json(
    fn: Callable[[dict[str, Any], dict[str, Any]], None],
) -> Callable[[Exchange], None]:
    """Edit 200 JSON answers of the generations endpoint: fn(request, response)."""

    def on_response(ex: Exchange) -> None:
        if ex.path != GENERATIONS or ex.status != 200:
            return
        response = ex.response_json()
        request = ex.request_json()
        if isinstance(response, dict) and isinstance(request, dict):
            fn(request, response)
            ex.response_body = json.dumps(response).encode()

    return on_response


def _data(response: dict[str, Any]) -> list[dict[str, Any]]:
    data = response.get("data")
    return data if isinstance(data, list) else []


def _is_gpt(request: dict[str, Any]) -> bool:
    return str(request.get("model", "")).startswith("gpt-image") or any(
        request.get(p) is not None
        for p in ("background", "moderation", "output_format", "output_compression", "stream")
    )


# -- the deviations -------------------------------------------------------------------------
def fewer_images(request: dict[str, Any], response: dict[str, Any]) -> None:
    data = _data(response)
    if len(data) > 1:
        del data[-1]


def size_ignored(body: dict[str, Any]) -> None:
    if body.get("size") in (
        "256x256",
        "512x512",
        "1536x1024",
        "1024x1536",
        "1792x1024",
        "1024x1792",
    ):
        body["size"] = "1024x1024"


def free_size_ignored(body: dict[str, Any]) -> None:
    """gpt-image-2 asked for a WIDTHxHEIGHT size outside the standard ones: 1024x1024."""
    if str(body.get("model", "")).startswith("gpt-image-2") and body.get("size") not in (
        None,
        "auto",
        "1024x1024",
        "1536x1024",
        "1024x1536",
    ):
        body["size"] = "1024x1024"


def format_ignored(body: dict[str, Any]) -> None:
    if body.get("output_format") in ("jpeg", "webp"):
        body.pop("output_format")
        body.pop("output_compression", None)


def no_alpha(body: dict[str, Any]) -> None:
    if body.get("background") == "transparent":
        body["background"] = "opaque"


def url_for_gpt(request: dict[str, Any], response: dict[str, Any]) -> None:
    if _is_gpt(request):
        for i, item in enumerate(_data(response)):
            item.pop("b64_json", None)
            item["url"] = f"http://127.0.0.1:9/files/image-{i}.png"


def dalle3_accepts_n(body: dict[str, Any]) -> None:
    if body.get("model") == "dall-e-3" and isinstance(body.get("n"), int) and body["n"] > 1:
        body["n"] = 1


def errors_as_422(ex: Exchange) -> None:
    if ex.status == 400:
        err = (ex.response_json() or {}).get("error", {})
        ex.status = 422
        ex.response_body = json.dumps(
            {
                "detail": [
                    {
                        "loc": ["body", err.get("param")],
                        "msg": err.get("message"),
                        "type": "value_error",
                    }
                ]
            }
        ).encode()


def stream_as_json(body: dict[str, Any]) -> None:
    if body.get("stream") is True:
        body.pop("stream")
        body.pop("partial_images", None)


def _edit_events(ex: Exchange, keep: Callable[[str], bool]) -> None:
    if ex.path != GENERATIONS or not ex.response_headers.get("content-type", "").startswith(
        "text/event-stream"
    ):
        return
    events = ex.response_body.decode().split("\n\n")
    ex.response_body = "\n\n".join(e for e in events if keep(e)).encode()


def no_completed_event(ex: Exchange) -> None:
    _edit_events(ex, lambda e: "image_generation.completed" not in e)


def inconsistent_usage(request: dict[str, Any], response: dict[str, Any]) -> None:
    usage = response.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int):
        usage["total_tokens"] += 7


def key_ignored(ex: Exchange) -> None:
    ex.headers["authorization"] = f"Bearer {API_KEY}"


def crash_on_malformed_json(ex: Exchange) -> None:
    if ex.path == GENERATIONS and ex.method == "POST" and ex.request_json() is None:
        ex.status = 500
        ex.response_headers = {"content-type": "text/plain; charset=utf-8"}
        ex.response_body = b"Internal Server Error"


def unknown_params_accepted(body: dict[str, Any]) -> None:
    for key in [k for k in body if k not in REQUEST_PARAMS]:
        del body[key]


def relative_url(request: dict[str, Any], response: dict[str, Any]) -> None:
    for item in _data(response):
        url = item.get("url")
        if isinstance(url, str) and "://" in url:
            item["url"] = "/" + url.split("://", 1)[1].split("/", 1)[1]


def created_in_ms(request: dict[str, Any], response: dict[str, Any]) -> None:
    if isinstance(response.get("created"), int):
        response["created"] *= 1000


def dead_urls(request: dict[str, Any], response: dict[str, Any]) -> None:
    for item in _data(response):
        url = item.get("url")
        if isinstance(url, str):
            item["url"] = url.rsplit("/", 1)[0] + "/expired-image.png"


def wrong_error_param(ex: Exchange) -> None:
    body = ex.response_json()
    if ex.status == 400 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"]["param"] = "body"
        ex.response_body = json.dumps(body).encode()


def json_as_text(ex: Exchange) -> None:
    if ex.response_headers.get("content-type", "").startswith("application/json"):
        ex.response_headers["content-type"] = "text/plain; charset=utf-8"


def any_method(ex: Exchange) -> None:
    if ex.path == GENERATIONS and ex.method != "POST":
        ex.status = 200
        ex.response_headers = {"content-type": "application/json"}
        ex.response_body = b'{"created": 0, "data": []}'


def gateway_nulls(request: dict[str, Any], response: dict[str, Any]) -> None:
    """Re-serialized as a typed gateway does: every absent optional field becomes null."""
    for item in _data(response):
        for key in ("b64_json", "url", "revised_prompt"):
            item.setdefault(key, None)
    for key in ("background", "output_format", "quality", "size"):
        response.setdefault(key, None)
    usage = response.get("usage")
    if isinstance(usage, dict):
        usage["output_tokens_details"] = None


def created_zero(request: dict[str, Any], response: dict[str, Any]) -> None:
    response["created"] = 0


def status_as_error_code(ex: Exchange) -> None:
    body = ex.response_json()
    if ex.status >= 400 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"]["code"] = str(ex.status)
        body["error"]["type"] = "bad_request" if ex.status == 400 else body["error"].get("type")
        ex.response_body = json.dumps(body).encode()


def usage_on_dalle(request: dict[str, Any], response: dict[str, Any]) -> None:
    if not _is_gpt(request):
        response["usage"] = {
            "input_tokens": 10,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": 10},
            "output_tokens": 0,
            "total_tokens": 10,
        }


def no_revised_prompt(request: dict[str, Any], response: dict[str, Any]) -> None:
    for item in _data(response):
        item.pop("revised_prompt", None)


def extra_partial_images(ex: Exchange) -> None:
    """Before each completed event, one more partial image than asked for."""
    if ex.path != GENERATIONS or not ex.response_headers.get("content-type", "").startswith(
        "text/event-stream"
    ):
        return
    out: list[str] = []
    last_index = -1
    for event in ex.response_body.decode().split("\n\n"):
        data_line = next((line for line in event.split("\n") if line.startswith("data:")), None)
        data = json.loads(data_line[5:]) if data_line else {}
        if data.get("type") == "image_generation.partial_image":
            last_index = data["partial_image_index"]
        elif data.get("type") == "image_generation.completed":
            extra = {
                **data,
                "type": "image_generation.partial_image",
                "partial_image_index": last_index + 1,
            }
            extra.pop("usage", None)
            out.append(f"event: image_generation.partial_image\ndata: {json.dumps(extra)}")
            last_index = -1
        out.append(event)
    ex.response_body = "\n\n".join(out).encode()


def html_page(ex: Exchange) -> None:
    if ex.path == GENERATIONS and ex.status == 200:
        ex.response_headers = {"content-type": "text/html; charset=utf-8"}
        ex.response_body = b"<html><body>Image generated!</body></html>"


def huge_body(ex: Exchange) -> None:
    if ex.path == GENERATIONS and ex.status == 200:
        ex.response_headers = {"content-type": "application/json"}
        ex.response_body = b'{"created": 1, "data": [{"b64_json": "' + b"A" * (3 << 20) + b'"}]}'


async def hang(ex: Exchange) -> None:
    if ex.path == GENERATIONS and ex.method == "POST":
        await asyncio.sleep(30)


# -- the catalogue --------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    """One broken server and what the suite must say about it."""

    name: str
    deviation: str
    rules: tuple[str, ...]
    """Rule ids the suite must report as failed (gating)."""
    select: str
    """A pytest -k expression narrowing the suite to the tests that matter (speed)."""
    on_request: Callable[[Exchange], Any] | None = None
    on_response: Callable[[Exchange], Any] | None = None
    api_key: str | None = None
    args: tuple[str, ...] = ()
    edition: str | None = None
    """The edition the broken server serves (the suite is run with the same one)."""


VARIANTS: list[Variant] = [
    Variant(
        "fewer-images",
        "returns one image less than n",
        ("response.data.count_matches_n",),
        "test_positive",
        on_response=edit_response_json(fewer_images),
    ),
    Variant(
        "size-ignored",
        "always generates 1024x1024",
        ("image.size",),
        "test_fixed_valid_request",
        on_request=edit_request_json(size_ignored),
    ),
    Variant(
        "free-size-ignored",
        "serves edition 2026-08 but answers gpt-image-2's WIDTHxHEIGHT sizes with 1024x1024",
        ("image.size", "response.echo.matches_request"),
        "test_fixed_valid_request and gpt-image-2",
        on_request=edit_request_json(free_size_ignored),
        args=("--conformance-edition", "2026-08"),
        edition="2026-08",
    ),
    Variant(
        "wrong-image-format",
        "ignores output_format: always PNG",
        ("image.format",),
        "test_fixed_valid_request and (jpeg or webp)",
        on_request=edit_request_json(format_ignored),
    ),
    Variant(
        "no-alpha",
        "background transparent gives an opaque image",
        ("image.transparency",),
        "test_fixed_valid_request and transparent",
        on_request=edit_request_json(no_alpha),
    ),
    Variant(
        "url-for-gpt-image",
        "answers GPT image requests with url instead of b64_json",
        ("response.image.field_per_model",),
        "test_fixed_valid_request and gpt-image",
        on_response=edit_response_json(url_for_gpt),
    ),
    Variant(
        "dall-e-3-accepts-n2",
        "serves n>1 for dall-e-3 (one image)",
        ("request.n.dalle3_only_one",),
        "dalle3_only_one",
        on_request=edit_request_json(dalle3_accepts_n),
    ),
    Variant(
        "validation-422-detail",
        'validation errors as 422 {"detail": [...]} (a web framework default)',
        ("error.envelope", "error.invalid_request_400"),
        "test_invalid_request_is_refused and (n.range or prompt.required)",
        on_response=errors_as_422,
        args=("--conformance-strict",),
    ),
    Variant(
        "stream-as-json",
        "answers stream: true with a plain JSON body",
        ("stream.content_type", "stream.completed.one_per_image"),
        "test_streaming",
        on_request=edit_request_json(stream_as_json),
    ),
    Variant(
        "no-completed-event",
        "streams partial images but never the completed event",
        ("stream.completed.one_per_image",),
        "test_streaming",
        on_response=no_completed_event,
    ),
    Variant(
        "inconsistent-usage",
        "usage.total_tokens is not input + output",
        ("response.usage.sums",),
        "test_fixed_valid_request and gpt-image",
        on_response=edit_response_json(inconsistent_usage),
    ),
    Variant(
        "api-key-ignored",
        "serves requests whatever the API key",
        ("http.auth_required",),
        "test_api_key_is_checked",
        on_request=key_ignored,
        api_key=API_KEY,
        args=("--api-key", API_KEY, "--conformance-strict"),
    ),
    Variant(
        "500-on-malformed-json",
        "crashes with a plain-text 500 on a body that is not JSON",
        ("http.no_server_error", "http.malformed_json_400", "error.envelope"),
        "test_malformed_json_is_refused",
        on_request=crash_on_malformed_json,
        args=("--conformance-strict",),
    ),
    Variant(
        "unknown-params-accepted",
        "silently drops parameters it does not know (a SHOULD rule: fails in strict mode)",
        ("request.unknown_parameter",),
        "unknown_parameter",
        on_request=edit_request_json(unknown_params_accepted),
        args=("--conformance-strict",),
    ),
    Variant(
        "relative-url",
        "returns url as a server path (/v1/images/files/...)",
        ("response.url.absolute_http",),
        "test_fixed_valid_request and url",
        on_response=edit_response_json(relative_url),
    ),
    Variant(
        "created-in-ms",
        "created is a Unix time in milliseconds",
        ("response.created.unix_seconds",),
        "test_fixed_valid_request and gpt-image-n2",
        on_response=edit_response_json(created_in_ms),
    ),
    Variant(
        "dead-urls",
        "returns urls that answer 404",
        ("response.url.fetchable",),
        "test_fixed_valid_request and url",
        on_response=edit_response_json(dead_urls),
    ),
    Variant(
        "wrong-error-param",
        'error.param is always "body"',
        ("error.param_names_fault",),
        "test_invalid_request_is_refused and (n.range or size.per_model)",
        on_response=wrong_error_param,
        args=("--conformance-strict",),
    ),
    Variant(
        "json-labelled-text",
        "labels JSON answers text/plain",
        ("http.json_content_type",),
        "test_document_example or test_wrong_method",
        on_response=json_as_text,
    ),
    Variant(
        "any-method",
        "answers GET/PUT/DELETE on the endpoint with 200",
        ("http.method_not_allowed",),
        "test_wrong_method",
        on_request=any_method,
        args=("--conformance-strict",),
    ),
    Variant(
        "no-revised-prompt",
        "dall-e-3 items lack revised_prompt (a SHOULD rule: fails in strict mode)",
        ("response.revised_prompt.dalle3_present",),
        "test_fixed_valid_request and dall-e-3",
        on_response=edit_response_json(no_revised_prompt),
        args=("--conformance-strict",),
    ),
    Variant(
        "gateway-nulls",
        "re-serializes answers with null for every absent field (url, revised_prompt, echoes, "
        "usage.output_tokens_details)",
        ("response.data.no_null_fields", "response.no_null_fields"),
        "test_fixed_valid_request and (gpt-image-n2 or dall-e-3)",
        on_response=edit_response_json(gateway_nulls),
    ),
    Variant(
        "created-zero",
        'answers "created": 0',
        ("response.created.time_of_creation",),
        "test_fixed_valid_request and gpt-image-n2",
        on_response=edit_response_json(created_zero),
    ),
    Variant(
        "status-as-error-code",
        'errors carry the HTTP status as code ("400") and a made-up type (a SHOULD rule: '
        "fails in strict mode)",
        ("error.code_identifier", "error.type_invalid_request"),
        "test_invalid_request_is_refused and (n.range or size.per_model)",
        on_response=status_as_error_code,
        args=("--conformance-strict",),
    ),
    Variant(
        "usage-on-dall-e",
        "adds a usage object to dall-e answers",
        ("response.usage.gpt_image_only",),
        "test_fixed_valid_request and dall-e",
        on_response=edit_response_json(usage_on_dalle),
    ),
    Variant(
        "html-page",
        "answers valid requests with a 200 HTML page",
        ("response.body.object",),
        "test_document_example",
        on_response=html_page,
    ),
    Variant(
        "extra-partial-images",
        "sends more partial images than partial_images asks for",
        ("stream.partial.count_max",),
        "test_fixed_stream_request",
        on_response=extra_partial_images,
    ),
]


def broken_app(variant: Variant) -> Rewrite:
    return Rewrite(
        create_app(api_key=variant.api_key, edition=variant.edition),
        on_request=variant.on_request,
        on_response=variant.on_response,
    )


@contextmanager
def serving(app: Any) -> Iterator[ServerThread]:
    """Serve an ASGI app on 127.0.0.1 (a free port) for the duration of the block."""
    server = ServerThread(app=app).start()
    try:
        yield server
    finally:
        server.stop()


HUGE = Variant(
    "huge-body",
    "answers with 3 MB of JSON (read with a 1 MB cap)",
    ("response.body.object",),
    "test_fixed_valid_request and gpt-image-n2",
    on_response=huge_body,
    args=("--conformance-max-response-mb", "1"),
)

HANGING = Variant(
    "hanging",
    "never answers generation requests (sleeps 30 s)",
    (),
    "test_fixed_valid_request",
    on_request=hang,
)

SHOULD_ONLY = Variant(
    "should-deviations-only",
    "accepts unknown parameters and leaves out dall-e-3's revised_prompt: SHOULD rules only",
    ("request.unknown_parameter", "response.revised_prompt.dalle3_present"),
    "unknown_parameter or test_planned_request",
    on_request=edit_request_json(unknown_params_accepted),
    on_response=edit_response_json(no_revised_prompt),
)
"""A target that is conformant but for SHOULD deviations: outside strict mode the verdict
is CONFORMANT and ``rules`` lists them as warnings (in strict mode they fail)."""
