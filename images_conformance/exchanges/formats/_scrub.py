"""Secrets out of a recording before anything is written: API keys, organisation and project
ids, cookies, credentials in URLs and query strings are replaced by ``REDACTED``
(headers and URLs of requests and responses) and the API key by ``<API_KEY>`` anywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"

SECRET_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-organization",
        "openai-project",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    }
)
"""Header names (any case) whose values never reach a cassette."""

SECRET_QUERY_KEYS: frozenset[str] = frozenset(
    {
        "api_key",
        "api-key",
        "apikey",
        "key",
        "access_token",
        "token",
        "auth",
        "password",
        "secret",
        "client_secret",
        "subscription-key",
    }
)
"""Query-string parameter names (any case) whose values never reach a cassette."""


def _redact_value(name: str, value: str) -> str:
    if name.lower() in ("authorization", "proxy-authorization"):
        scheme, sep, _ = str(value).partition(" ")
        return f"{scheme} {REDACTED}" if sep else REDACTED
    return REDACTED


def redact_url(uri: str) -> str:
    """``uri`` without a password in it and with secret query parameters redacted."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_QUERY_KEYS for k, _ in pairs):
            query = urlencode(
                [(k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs]
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: secrets out of headers and the URL."""
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            request.headers[name] = _redact_value(name, request.headers[name])
    request.uri = redact_url(request.uri)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: secrets out of the response headers (Set-Cookie, ...)."""
    headers = response.get("headers")
    if isinstance(headers, dict):
        for name, values in list(headers.items()):
            if str(name).lower() in SECRET_HEADERS:
                if isinstance(values, list):
                    headers[name] = [_redact_value(name, v) for v in values]
                else:
                    headers[name] = _redact_value(name, values)
            elif str(name).lower() in ("location", "content-location") and isinstance(values, list):
                headers[name] = [redact_url(str(v)) for v in values]
    return response


def _response_scrubber(api_key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``scrub_response``, and then the API key replaced wherever it stands in the answer."""
    key_text, key_bytes = api_key, api_key.encode()

    def replace(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.replace(key_bytes, b"<API_KEY>")
        if isinstance(value, str):
            return value.replace(key_text, "<API_KEY>")
        return value

    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        response = scrub_response(response)
        body = response.get("body")
        if isinstance(body, dict) and "string" in body:
            body["string"] = replace(body["string"])
        headers = response.get("headers")
        if isinstance(headers, dict):
            for name, values in list(headers.items()):
                headers[name] = (
                    [replace(v) for v in values] if isinstance(values, list) else replace(values)
                )
        return response

    return scrub
