"""The ASGI application: routing, auth, body limits, validation, and answers."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from images_conformance._listening import url_host
from images_conformance.exchanges._limits import json_depth_exceeds
from validator import Level, Profile, Violation, resolve_model, validate_request
from validator._profile import profile_with_edition

from ._errors import (
    JSON,
    ApiError,
    handle_api_error,
    handle_http_exception,
    handle_unexpected,
)
from ._generate import Plan, b64, echoed, now, plan_request, revised_prompt, usage
from ._images import MIME_TYPES, ImageSpec, generate
from ._store import ImageStore
from ._stream import stream_events

MAX_BODY_BYTES = 1024 * 1024
"""Request bodies above this size are answered with 413."""
DRAIN_LIMIT_BYTES = 8 * MAX_BODY_BYTES
"""An oversized body is read and discarded up to this size before answering 413, so the
client sees the answer instead of a reset connection; larger ones are cut off."""

BODY_TIMEOUT_S = 30.0
"""A client still sending its body after this long is answered 408 (a slow client)."""
MAX_JSON_DEPTH = 64
"""Request bodies nested deeper are answered 400 before they are parsed."""

API_PREFIX = "/v1"
GENERATIONS_PATH = f"{API_PREFIX}/images/generations"
FILES_PATH = f"{API_PREFIX}/images/files"

_HOST_RE = re.compile(r"^(?:[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
_JSON_TYPE_RE = re.compile(r"^application/(?:[a-z0-9.+\-]+\+)?json$")


def _error_code(violation: Violation) -> str:
    # The live API calls a parameter the model does not take an unknown parameter.
    if violation.rule in ("request.unknown_parameter", "request.response_format.dalle_only"):
        return "unknown_parameter"
    if violation.rule == "request.prompt.required":
        return "missing_required_parameter"
    return "invalid_value"


def _first(violations: list[Violation]) -> Violation:
    for v in violations:
        if v.level == Level.MUST:
            return v
    return violations[0]


def _check_auth(request: Request, api_key: str | None) -> None:
    if api_key is None:
        return
    header = request.headers.get("authorization")
    if header is None:
        raise ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scheme, _, token = header.partition(" ")
    ok = scheme.lower() == "bearer" and secrets.compare_digest(
        # Starlette decodes header bytes as latin-1; compare the raw bytes.
        token.strip().encode("latin-1"),
        api_key.encode("utf-8", "surrogatepass"),
    )
    if not ok:
        # Unlike the live API, the key given is never echoed.
        raise ApiError(
            401,
            "Incorrect API key provided.",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _check_content_type(request: Request) -> None:
    raw = request.headers.get("content-type")
    if raw is None:
        return  # lenient: a body without a content type is parsed as JSON
    media = raw.split(";", 1)[0].strip().lower()
    if not _JSON_TYPE_RE.match(media):
        raise ApiError(
            415,
            f"Unsupported Content-Type {media or '(empty)'!r}; send the body as application/json.",
            code="unsupported_media_type",
        )


def _too_large() -> ApiError:
    return ApiError(
        413,
        f"The request body is larger than {MAX_BODY_BYTES} bytes.",
        code="request_too_large",
    )


async def _read_body(request: Request) -> bytes:
    """The body, read with a size cap and a time limit (BODY_TIMEOUT_S)."""
    try:
        return await asyncio.wait_for(_read_capped(request), BODY_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise ApiError(
            408,
            f"The request body did not arrive within {BODY_TIMEOUT_S:g} seconds.",
            code="request_timeout",
            headers={"Connection": "close"},
        ) from None


async def _read_capped(request: Request) -> bytes:
    """The body, read with a cap: never buffers more than MAX_BODY_BYTES."""
    length = request.headers.get("content-length")
    declared: int | None = None
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            declared = None
    if declared is not None and declared > MAX_BODY_BYTES:
        if declared <= DRAIN_LIMIT_BYTES:
            await _drain(request)
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                chunks.clear()
                await _drain(request, already=size)
                raise _too_large()
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "The client disconnected while sending the body.") from None
    return b"".join(chunks)


async def _drain(request: Request, already: int = 0) -> None:
    size = already
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > DRAIN_LIMIT_BYTES:
                return
    except ClientDisconnect:
        return


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise ApiError(
            400,
            "The request body is empty; expected a JSON object with at least 'prompt'.",
            code="invalid_json",
        )
    if json_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise ApiError(
            400,
            f"We could not parse the JSON body of your request (it nests deeper than "
            f"{MAX_JSON_DEPTH} levels). The body must be a JSON object.",
            code="invalid_json",
        )
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ApiError(
            400,
            f"We could not parse the JSON body of your request ({reason}). "
            "The body must be a JSON object.",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            f"The request body must be a JSON object, not {type(body).__name__ if body is not None else 'null'}.",
            code="invalid_json",
        )
    return body


def _origin(request: Request) -> str:
    """scheme://host[:port] as the client addressed this server."""
    scheme = request.url.scheme if request.url.scheme in ("http", "https") else "http"
    host = request.headers.get("host", "")
    if not _HOST_RE.match(host):
        server = request.scope.get("server")
        if server:
            h, p = server[0], server[1]
            host = f"{url_host(str(h))}:{p}"
        else:
            host = "127.0.0.1"
    return f"{scheme}://{host}"


class _AnyMethod:
    """An endpoint that sees every HTTP method (Starlette would answer 405 itself,
    without the envelope, for methods a function route does not list)."""

    def __init__(self, handler: Callable[[Request], Any]) -> None:
        self._app = request_response(handler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _request_id() -> str:
    return "req_" + secrets.token_hex(16)


class ReferenceServer:
    """The state and handlers behind one app: profile, key, and URL store."""

    def __init__(self, *, api_key: str | None, profile: Profile, store: ImageStore) -> None:
        self.api_key = api_key
        self.profile = profile
        self.store = store

    async def generations(self, request: Request) -> Response:
        if request.method != "POST":
            raise ApiError(
                405,
                f"Method {request.method} is not allowed on {GENERATIONS_PATH}; use POST.",
                code="method_not_allowed",
                headers={"Allow": "POST"},
            )
        _check_auth(request, self.api_key)
        _check_content_type(request)
        body = _parse_json(await _read_body(request))
        violations = validate_request(body, profile=self.profile)
        if violations:
            first = _first(violations)
            raise ApiError(400, first.message, param=first.param, code=_error_code(first))
        resolved = resolve_model(body, profile=self.profile)
        plan = plan_request(
            body,
            family=resolved.family,
            model=resolved.name,
            free_size=self.profile.custom_sizes_for(resolved.name) is not None,
        )
        headers = {"x-request-id": _request_id()}
        if plan.family == "gpt-image" and plan.stream:
            return StreamingResponse(
                stream_events(plan),
                media_type="text/event-stream",
                headers={**headers, "Cache-Control": "no-cache"},
            )
        return JSON(await self._respond(plan, request), headers=headers)

    async def _respond(self, plan: Plan, request: Request) -> dict[str, Any]:
        created = now()
        if plan.family == "gpt-image":
            spec = plan.spec
        else:
            spec = ImageSpec(plan.width, plan.height, "png")
        images = await asyncio.gather(
            *(run_in_threadpool(generate, plan.prompt, i, spec) for i in range(plan.n))
        )
        items: list[dict[str, str]] = []
        origin = _origin(request)
        for img in images:
            if plan.response_format == "b64_json":
                item = {"b64_json": b64(img)}
            else:
                fmt = spec.fmt
                name = self.store.put(img, content_type=MIME_TYPES[fmt], suffix=f".{fmt}")
                item = {"url": f"{origin}{FILES_PATH}/{name}"}
            if plan.family == "dall-e-3":
                item["revised_prompt"] = revised_prompt(plan.prompt)
            items.append(item)
        if plan.family == "gpt-image":
            return {
                "created": created,
                **echoed(plan),
                "data": items,
                "usage": usage(plan, images=plan.n),
            }
        return {"created": created, "data": items}

    async def image_file(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(
                405,
                f"Method {request.method} is not allowed here; use GET.",
                code="method_not_allowed",
                headers={"Allow": "GET, HEAD"},
            )
        name = request.path_params["name"]
        item = self.store.get(name)
        if item is None:
            raise ApiError(
                404,
                "This image does not exist or has expired: image URLs are valid for "
                f"{self.store.ttl:g} seconds after the image was generated.",
                code="not_found",
            )
        return Response(
            item.data,
            media_type=item.content_type,
            headers={"Cache-Control": f"private, max-age={int(self.store.ttl)}"},
        )


def create_app(
    *,
    api_key: str | None = None,
    profile: Profile | None = None,
    edition: str | None = None,
    url_ttl: float = 3600,
    max_stored_images: int = 512,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """Build the reference server's ASGI app.

    ``api_key``: when set, ``Authorization: Bearer <api_key>`` is required (401 otherwise).
    ``profile``: the model names served and their families (default: OpenAI's own).
    ``edition``: the edition of the official text to serve instead of the profile's
    (``2026-08``: gpt-image-2 at WIDTHxHEIGHT sizes).
    ``url_ttl``: seconds an image URL stays valid (the document says 60 minutes).
    ``max_stored_images``: how many URL images are kept; the oldest is evicted first.
    ``clock``: monotonic seconds, for the URL expiry (injectable for tests).
    """
    if api_key is not None and not api_key:
        raise ValueError("api_key must be a non-empty string or None")
    server = ReferenceServer(
        api_key=api_key,
        profile=profile_with_edition(profile, edition),
        store=ImageStore(ttl=url_ttl, max_items=max_stored_images, clock=clock),
    )
    routes = [
        Route(GENERATIONS_PATH, _AnyMethod(server.generations)),
        Route(FILES_PATH + "/{name:str}", _AnyMethod(server.image_file)),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
    )
    app.router.redirect_slashes = False
    app.state.reference = server
    return app
