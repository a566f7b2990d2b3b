"""OpenAI-shaped error answers: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

logger = logging.getLogger("reference_server")

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


class JSON(JSONResponse):
    """A JSON answer rendered ASCII-only, so any string (even a lone surrogate from a
    ``\\ud800`` escape in the request) can be echoed without an encoding error."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode("ascii")


class ApiError(Exception):
    """An error answer to send: raising it anywhere in a handler ends the request."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = INVALID_REQUEST,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        self.headers = dict(headers or {})


def error_body(
    message: str, *, type: str = INVALID_REQUEST, param: str | None = None, code: str | None = None
) -> dict[str, dict[str, str | None]]:
    """The error envelope, with all four keys always present."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    type: str = INVALID_REQUEST,
    headers: Mapping[str, str] | None = None,
) -> JSON:
    """A JSON error answer in the OpenAI envelope."""
    return JSON(
        error_body(message, type=type, param=param, code=code),
        status_code=status,
        headers=dict(headers or {}),
    )


def api_error_response(exc: ApiError) -> JSON:
    return error_response(
        exc.status, exc.message, param=exc.param, code=exc.code, type=exc.type, headers=exc.headers
    )


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return api_error_response(exc)


_HTTP_CODES = {
    400: ("invalid_request", "The request could not be understood."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("request_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported content type."),
}


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (unknown routes, ...) in the OpenAI envelope."""
    assert isinstance(exc, HTTPException)
    code, default = _HTTP_CODES.get(exc.status_code, (None, "HTTP error."))
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path}."
    else:
        message = str(exc.detail) if exc.detail else default
    status = exc.status_code if 400 <= exc.status_code < 600 else 400
    kind = SERVER_ERROR if status >= 500 else INVALID_REQUEST
    return error_response(status, message, code=code, type=kind, headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """The last resort: a 500 in the envelope, never a traceback in the body."""
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500,
        "The server had an error while processing your request.",
        type=SERVER_ERROR,
        code="internal_error",
    )
