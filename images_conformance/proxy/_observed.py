"""One exchange as the proxy saw it, with its secrets masked at capture time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from validator import Violation

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-api-key",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
    }
)
"""Headers whose values are replaced by ``***`` in everything the proxy keeps."""
MASK = "***"
MAX_SECRETS = 64
"""Distinct secret values remembered for scrubbing output (older ones are forgotten)."""


def mask_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with the values of secret-bearing headers replaced by ``***``."""
    return [(k, MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers]


def secret_values(headers: list[tuple[str, str]]) -> list[str]:
    """The secret values these headers carry (a bearer token with and without its scheme)."""
    out: list[str] = []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS and name.lower() not in ("cookie", "set-cookie"):
            value = value.strip()
            if value:
                out.append(value)
                scheme, _, token = value.partition(" ")
                if token.strip() and scheme.lower() in ("bearer", "basic", "token"):
                    out.append(token.strip())
    return out


@dataclass
class Observed:
    """One request the proxy received and what became of it."""

    started: float
    """Wall-clock time the request arrived (seconds since the epoch)."""
    method: str
    path: str
    query: str
    request_headers: list[tuple[str, str]]
    """As received, secrets masked."""
    request_body: bytes = b""
    generations: bool = False
    """``POST .../images/generations``: judged."""
    status: int | None = None
    """The status the client received (from the upstream, or from the proxy itself)."""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = b""
    """Raw bytes as forwarded (content-encoding applied); None when past the judging cap."""
    response_size: int = 0
    """Bytes forwarded to the client."""
    answered_by: str = "upstream"
    """``upstream``, or ``proxy`` (an error envelope of the proxy's own: 400, 413, 502, 504)."""
    error: str | None = None
    """What went wrong on the way (upstream unreachable, reset mid-answer, client gone)."""
    skip: str | None = None
    """Why the exchange is not judged (None: it is)."""
    enforced: list[Violation] = field(default_factory=list)
    """The MUST faults the proxy refused the request for (``--enforce``)."""
    duration_ms: float = 0.0
    first_byte_ms: float | None = None

    def header(self, name: str, response: bool = True) -> str | None:
        """The first value of a header of the answer (or of the request)."""
        wanted = name.lower()
        for k, v in self.response_headers if response else self.request_headers:
            if k.lower() == wanted:
                return v
        return None

    def summary(self) -> dict[str, Any]:
        """A short plain-data account (for the report's evidence)."""
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "answered_by": self.answered_by,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 1),
            "response_bytes": self.response_size,
        }
