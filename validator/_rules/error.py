"""Error rules: how a target answers a request it refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._context import ErrorContext, show
from ._table import Finding, rule

MUST, SHOULD = "MUST", "SHOULD"


@rule(
    "error.status",
    MUST,
    quote="the path declares only a 200 response: application/json -> ImagesResponse … "
    "Errors use ErrorResponse.",
    source="openapi",
)
def status(ctx: ErrorContext) -> Iterator[Finding]:
    """An error answer has a 4xx or 5xx status."""
    if not (isinstance(ctx.status, int) and 400 <= ctx.status <= 599):
        yield Finding(f"an error must have a 4xx or 5xx status; got {show(ctx.status)}")


@rule(
    "error.invalid_request_400",
    SHOULD,
    quote="A request with an invalid parameter is refused with status 400.",
    source="observed",
    evidence="vercel/ai#6102, redevrx/chat_gpt_sdk#93",
)
def invalid_400(ctx: ErrorContext) -> Iterator[Finding]:
    """A request with invalid parameters is answered with 400."""
    if ctx.request_violations and ctx.status != 400:
        yield Finding(f"an invalid request must be answered with 400; got {show(ctx.status)}")


@rule(
    "error.envelope",
    MUST,
    quote="required: - type - message - param - code",
    source="openapi",
)
def envelope(ctx: ErrorContext) -> Iterator[Finding]:
    """The body is {"error": {"message", "type", "param", "code"}} with all four keys."""
    body = ctx.body
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        shown = type(body).__name__ if not isinstance(body, dict) else f"keys {sorted(body)[:5]}"
        yield Finding(f'the body must be {{"error": {{...}}}}; got {shown}', path="")
        return
    err = body["error"]
    for key, types, label in (
        ("message", (str,), "a string"),
        ("type", (str,), "a string"),
        ("param", (str, type(None)), "a string or null"),
        ("code", (str, type(None)), "a string or null"),
    ):
        if key not in err:
            yield Finding(f"error.{key} is missing", path="/error")
        elif not isinstance(err[key], types):
            yield Finding(
                f"error.{key} must be {label}; got {show(err[key])}", path=f"/error/{key}"
            )


@rule(
    "error.param_names_fault",
    SHOULD,
    quote="When the error names a parameter, it is the parameter the request got wrong.",
    source="observed",
    evidence="vercel/ai#6102, lofcz/LLMTornado#155",
)
def param_names_fault(ctx: ErrorContext) -> Iterator[Finding]:
    """error.param, when not null, names a parameter the request got wrong."""
    faults = ctx.request_violations or []
    params = {v.param for v in faults}
    if not faults or None in params:
        return
    err = ctx.body.get("error") if isinstance(ctx.body, dict) else None
    if not isinstance(err, dict) or err.get("param") is None:
        return  # the live API too leaves param null at times
    if err.get("param") not in params:
        yield Finding(
            f"error.param is {show(err.get('param'))}; expected one of {sorted(params)}",
            path="/error/param",
        )


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")


def _error(ctx: ErrorContext) -> dict | None:
    err = ctx.body.get("error") if isinstance(ctx.body, dict) else None
    return err if isinstance(err, dict) else None


@rule(
    "error.code_identifier",
    SHOULD,
    quote="The error code is null or a machine-readable identifier such as unknown_parameter, "
    "invalid_size or invalid_api_key, never the HTTP status.",
    source="observed",
    evidence="the 401 recordings (invalid_api_key), vercel/ai#6102, redevrx/chat_gpt_sdk#93",
)
def code_identifier(ctx: ErrorContext) -> Iterator[Finding]:
    """error.code is null or an identifier (unknown_parameter), never a status number."""
    err = _error(ctx)
    code = err.get("code") if err else None
    if isinstance(code, str) and not _IDENTIFIER.fullmatch(code):
        what = "the HTTP status" if code.strip() == str(ctx.status) else "not an identifier"
        yield Finding(
            f"error.code is {show(code)} ({what}); give null or an identifier such as "
            "unknown_parameter or invalid_value",
            path="/error/code",
        )


@rule(
    "error.type_invalid_request",
    SHOULD,
    quote="A request refused with status 400 has the type invalid_request_error.",
    source="observed",
    evidence="vercel/ai#6102, redevrx/chat_gpt_sdk#93, kdalanon/ChatGPT-AutoHotkey-Utility#14",
)
def type_invalid_request(ctx: ErrorContext) -> Iterator[Finding]:
    """The error of a 400 answer has type invalid_request_error."""
    err = _error(ctx)
    kind = err.get("type") if err else None
    if ctx.status == 400 and isinstance(kind, str) and kind != "invalid_request_error":
        yield Finding(
            f"error.type of a 400 is {show(kind)}; the live API says 'invalid_request_error'",
            path="/error/type",
        )
