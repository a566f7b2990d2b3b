"""What a check function is given: the document under check plus what it depends on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._models import ResolvedModel
from .._profile import Profile


def is_int(value: Any) -> bool:
    """A JSON integer: an int that is not a bool, or a float with no fractional part."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def show(value: Any, limit: int = 60) -> str:
    """A short rendering of any JSON value that never raises (no deep or huge repr)."""
    if isinstance(value, (list, dict)):
        return f"{'an array' if isinstance(value, list) else 'an object'} ({len(value)} items)"
    if isinstance(value, str):
        text = repr(value[:limit])
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return "(a very large integer)"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class RequestContext:
    """A request body (a dict: non-objects are answered before rules run)."""

    body: dict[str, Any]
    profile: Profile
    model: ResolvedModel


@dataclass
class ResponseContext:
    """A parsed non-streaming response, judged against the request that produced it."""

    request: dict[str, Any]
    response: Any
    profile: Profile
    model: ResolvedModel
    fetched: Any = None
    """data index -> FetchedImage, for the urls the caller fetched (None: none were)."""
    received_at: tuple[float, float] | None = None
    """When the exchange happened (Unix seconds: sent, answered); None when unknown."""


@dataclass
class StreamContext:
    """A list of parsed server-sent events, judged against the request."""

    request: dict[str, Any]
    events: list[Any]
    profile: Profile
    model: ResolvedModel
    content_type: str | None = None


@dataclass
class ImageContext:
    """One image payload (base64 text) and what the request asks of it."""

    b64: Any
    path: str
    expected_format: str | None
    expected_size: str | None
    """``WxH`` or None when any size is acceptable."""
    allowed_sizes: tuple[str, ...] | None
    transparent: bool
    opaque: bool
    info: Any = None
    """The inspection result, filled once by the image rules (see _images.py)."""
    profile: Profile | None = None
    """The profile judged by (its edition chooses the quotes)."""


@dataclass
class HttpContext:
    """One HTTP answer and the situation the request created."""

    status: int | None
    content_type: str | None = None
    body: bytes = b""
    situation: str = "any"
    """valid, malformed_json, missing_key, wrong_key, wrong_method, or any."""
    stream: bool = False
    """The request asked for a stream."""
    is_json: Callable[[], bool] | None = field(default=None, repr=False)
    """Whether the body is JSON, from the caller's own (bounded) parse; None: parse it."""


@dataclass
class FetchedImage:
    """What a GET of an image URL gave: the status (None: no answer), the body, an error."""

    status: int | None
    body: bytes = b""
    error: str | None = None


@dataclass
class ErrorContext:
    """An error answer: status code, parsed body, and optionally the request it answers."""

    status: int
    body: Any
    request: Any = None
    request_violations: list[Any] | None = None
