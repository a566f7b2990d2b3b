"""HTTP rules: status codes and media types of any answer, judged on the exchange.

The conformance suite creates the situations (a valid request, malformed JSON, no API
key, a wrong method) and hands each answer to ``validate_exchange``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ._context import HttpContext
from ._table import Finding, rule

MUST, SHOULD = "MUST", "SHOULD"


@rule(
    "http.no_server_error",
    SHOULD,
    quote="A request the API refuses is answered with a 4xx status, never a 5xx.",
    source="observed",
    evidence="vercel/ai#6102; the 401 recordings of crmne/ruby_llm and openai/openai-dotnet",
)
def no_server_error(ctx: HttpContext) -> Iterator[Finding]:
    """No request is answered with a 5xx status."""
    if ctx.status is not None and ctx.status >= 500:
        yield Finding(f"the target answered HTTP {ctx.status}")


@rule(
    "http.json_content_type",
    MUST,
    quote="the path declares only a 200 response: application/json -> ImagesResponse … "
    "Errors use ErrorResponse.",
    source="openapi",
)
def json_content_type(ctx: HttpContext) -> Iterator[Finding]:
    """A JSON answer (a response or an error) is labelled application/json."""
    if ctx.status is None or not ctx.body or (ctx.stream and ctx.status == 200):
        return  # a 200 stream is judged by stream.content_type
    media = (ctx.content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        return
    if ctx.is_json is not None:
        is_json = ctx.is_json()
    else:
        try:
            json.loads(ctx.body)
            is_json = True
        except (ValueError, UnicodeDecodeError, RecursionError):
            is_json = False
    if is_json or ctx.status != 200:
        what = "JSON" if is_json else "a body that is not JSON"
        yield Finding(
            f"the answer (HTTP {ctx.status}) must be JSON labelled application/json; got "
            f"{what} labelled {ctx.content_type!r:.80}"
        )


@rule(
    "http.valid_request_accepted",
    MUST,
    quote="Creates an image given a prompt.",
)
def valid_request_accepted(ctx: HttpContext) -> Iterator[Finding]:
    """A request that breaks no rule is answered with 200."""
    if ctx.situation == "valid" and ctx.status is not None and ctx.status != 200:
        yield Finding(f"the request breaks no rule, but the target answered HTTP {ctx.status}")


@rule(
    "http.auth_required",
    SHOULD,
    quote="A request without a valid API key is refused with status 401.",
    source="observed",
    evidence="401 recordings: crmne/ruby_llm 2025-12-04, openai/openai-dotnet 2025-09-17",
)
def auth_required(ctx: HttpContext) -> Iterator[Finding]:
    """With auth on, a missing or wrong API key is answered with 401."""
    if ctx.situation in ("missing_key", "wrong_key") and ctx.status != 401:
        what = "no API key" if ctx.situation == "missing_key" else "a wrong API key"
        yield Finding(f"a request with {what} must be answered with 401; got HTTP {ctx.status}")


@rule(
    "http.malformed_json_400",
    SHOULD,
    quote="A body that is not JSON is refused with status 400.",
    source="observed",
    evidence="kdalanon/ChatGPT-AutoHotkey-Utility#14",
)
def malformed_json(ctx: HttpContext) -> Iterator[Finding]:
    """A body that is not JSON is answered with 400."""
    if ctx.situation == "malformed_json" and ctx.status != 400:
        yield Finding(f"a body that is not JSON must be answered with 400; got HTTP {ctx.status}")


@rule(
    "http.method_not_allowed",
    SHOULD,
    quote="A method other than POST on the endpoint is refused with an error, not served.",
    source="observed",
    evidence="openai/openai-openapi#42",
)
def method_not_allowed(ctx: HttpContext) -> Iterator[Finding]:
    """Another method on the endpoint is answered with 405."""
    if ctx.situation == "wrong_method" and ctx.status != 405:
        yield Finding(f"a method other than POST must be answered with 405; got HTTP {ctx.status}")
