"""The Exchange: one request and what came back (or why nothing did), whoever carried it;
and how one is shown (a curl command, a trimmed body, masked keys, URLs without secrets)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._limits import Limits, parse_json
from ._secrets import remember, sanitize

_MISSING: Any = object()
_RELEASED: Any = object()


@dataclass(frozen=True)
class _NotJSON:
    reason: str


@dataclass
class Exchange:
    """One request and what came back (or why nothing did)."""

    method: str
    url: str
    request_headers: dict[str, str]
    """As sent, with the API key replaced by ``$OPENAI_API_KEY``."""
    request_body: bytes
    status: int | None = None
    """None when no HTTP answer arrived (see ``error``)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    """True when the body was longer than the cap and only its start was kept."""
    cut: str | None = None
    """Why only the start of the body was kept (a limit of ._limits, or the deadline)."""
    elapsed: float = 0.0
    sent_at: float | None = None
    """Wall-clock time (Unix seconds) the request was sent; None when unknown (replayed)."""
    error: str | None = None
    """A transport problem: timeout, connection refused, body over the time limit, ..."""
    billable: bool = False
    """A 200 answer carrying images (or a stream with a completed event)."""
    images: int = 0
    """The billable images it carried (data items, or completed stream events)."""
    stream: bool = False
    secret: str | None = field(default=None, repr=False)
    """The API key: never shown (replaced by ``$OPENAI_API_KEY`` wherever it appears)."""

    _parsed: Any = field(default=_MISSING, repr=False)
    limits: Limits | None = field(default=None, repr=False)

    @property
    def received_at(self) -> tuple[float, float] | None:
        """When the exchange happened (sent, answered), for judging ``created``."""
        return None if self.sent_at is None else (self.sent_at, self.sent_at + self.elapsed)

    @property
    def content_type(self) -> str | None:
        """The media type of the answer, lower case, without parameters."""
        value = self.headers.get("content-type")
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (within ``limits``); raises ValueError when it is not
        JSON, is cut, or is past a limit of the parser.

        Parsed once: the document is kept until :meth:`release_json` (the judge calls it
        once it is done), the reason it is not JSON for as long as the exchange lives."""
        if self._parsed is _MISSING:
            self._parsed = self._parse()
        if isinstance(self._parsed, _NotJSON):
            # A fresh exception each time: a stored one, raised, would hold this
            # exchange (and its body) in a reference cycle through its traceback.
            raise ValueError(self._parsed.reason)
        if self._parsed is _RELEASED:
            return parse_json(self.body, self.limits)  # asked again after judging: not kept
        return self._parsed

    @property
    def json_problem(self) -> str | None:
        """Why the body is not JSON (cut, past a parser limit, not JSON), or None."""
        if self._parsed is _MISSING:
            self._parsed = self._parse()
        return self._parsed.reason if isinstance(self._parsed, _NotJSON) else None

    def release_json(self) -> None:
        """Forget the parsed document (a large answer's costs hundreds of MB); what
        :attr:`json_problem` says is kept."""
        if self._parsed is not _MISSING and not isinstance(self._parsed, _NotJSON):
            self._parsed = _RELEASED

    def _parse(self) -> Any:
        if self.truncated:
            return _NotJSON(
                self.cut or f"the body was cut at {len(self.body)} bytes (the response size cap)"
            )
        try:
            return parse_json(self.body, self.limits)
        except ValueError as exc:
            return _NotJSON(f"the body is not JSON ({exc})")

    def curl(self) -> str:
        """A curl command that repeats this request (API key as ``$OPENAI_API_KEY``)."""
        parts = ["curl -sS"]
        if self.stream:
            parts.append("--no-buffer")
        if self.method != "POST" or not self.request_body:
            parts.append(f"-X {self.method}")
        parts.append(shlex.quote(_hide_password(self.url)))
        for name, value in self.request_headers.items():
            header = f"{name}: {value}"
            if "$OPENAI_API_KEY" in value:
                parts.append('-H "' + header.replace('"', '\\"') + '"')
            else:
                parts.append(f"-H {shlex.quote(header)}")
        if self.request_body:
            text = self.request_body.decode("utf-8", errors="replace")
            if len(text) > 4000:
                text = text[:4000]
                parts.append(f"--data-binary {shlex.quote(text)}  # body cut at 4000 characters")
            else:
                parts.append(f"--data-binary {shlex.quote(text)}")
        return sanitize(" \\\n  ".join(parts))

    def describe(self, limit: int = 1500) -> str:
        """Status line and a trimmed body, for failure messages."""
        if self.status is None:
            return f"no answer after {self.elapsed:.2f} s: {self.error}"
        size = f"{len(self.body)} bytes" + (
            f" (cut: {self.cut})"
            if self.cut
            else " (cut at the size cap)"
            if self.truncated
            else ""
        )
        line = (
            f"HTTP {self.status}, {self.headers.get('content-type') or 'no content-type'}, "
            f"{size}, {self.elapsed:.2f} s"
        )
        if self.error:
            line += f"; {self.error}"
        text = f"{line}\n{trim_body(self.body, limit)}" if self.body else f"{line}\n(empty body)"
        if self.secret:
            remember([self.secret])
        return sanitize(text)


_LONG_RUN = re.compile(rb"[A-Za-z0-9+/=_-]{120,}")
_TRIM_SCAN_BYTES = 16 * 1024 * 1024


def trim_body(body: bytes, limit: int = 1500) -> str:
    """The body as text with base64 runs shortened and the whole cut at ``limit`` characters."""
    head = _LONG_RUN.sub(
        lambda m: m.group(0)[:32] + f"…({len(m.group(0))} chars)".encode(), body[:_TRIM_SCAN_BYTES]
    )
    text = head.decode("utf-8", errors="replace")
    if len(text) > limit or len(body) > _TRIM_SCAN_BYTES:
        text = text[:limit] + f"… ({len(body)} bytes in all)"
    return text


SUITE_KEY_PREFIX = "sk-images-conformance-"
"""Keys the suite makes up (a wrong key, ...): no secret, shown in full."""


def mask_key(key: str) -> str:
    """``sk-...ABCD``: enough to tell keys apart, not enough to use one."""
    if key.startswith(SUITE_KEY_PREFIX):
        return key
    return f"sk-...{key[-4:]}" if len(key) > 8 else "sk-..."


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def public_url(url: str) -> str:
    """The URL without user name, password, query or fragment (for reports)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
