"""What a proxy is told: where the upstream is, how long to wait, how much to read."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from validator import DEFAULT_PROFILE, Profile

MB = 1024 * 1024


class ProxyConfigError(ValueError):
    """A proxy setting that cannot work (the message says which and why)."""


@dataclass(frozen=True)
class ProxyConfig:
    """The settings of one validating proxy.

    Every request is forwarded to ``upstream``'s origin with its path and query unchanged:
    an application whose base URL was ``http://backend:8000/v1`` uses
    ``http://<proxy host:port>/v1``.
    """

    upstream: str
    """The upstream API base URL, e.g. ``http://backend:8000/v1``."""
    profile: Profile = DEFAULT_PROFILE
    enforce: bool = False
    """Answer requests that break a MUST rule with a 400 of our own (never forwarded)."""
    fetch_urls: bool = False
    """GET returned image URLs to judge the images (the client's answer is unchanged)."""
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    """Seconds the upstream may stay silent (before its answer starts, or between chunks)."""
    write_timeout: float = 60.0
    max_request_bytes: int = 16 * MB
    """Bigger request bodies are answered 413 by the proxy."""
    max_judged_bytes: int = 64 * MB
    """Answers bigger than this (raw, and again once decompressed) are forwarded but not judged."""
    max_backlog_bytes: int = 256 * MB
    """Bytes waiting to be judged at most; past it, exchanges are forwarded but not judged."""
    max_backlog: int = 256
    """Exchanges waiting to be judged at most."""
    max_connections: int = 512
    """Open connections to the upstream at most (requests past it wait for one)."""
    fetch_timeout: float = 30.0
    max_fetch_bytes: int = 32 * MB
    judge_in: str = "process"
    """``process``: judge in a worker process at a lower CPU priority (the default: judging
    never competes with forwarding for the interpreter); ``thread``: in a thread."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProxyConfigError(
                f"--upstream must be an http(s) URL such as http://backend:8000/v1; "
                f"got {self.upstream!r}"
            )
        if parts.username or parts.password:
            raise ProxyConfigError(
                "--upstream must not carry credentials; the application's own "
                "Authorization header is forwarded"
            )
        if parts.query or parts.fragment:
            raise ProxyConfigError("--upstream must not have a query or fragment")
        if self.judge_in not in ("process", "thread"):
            raise ProxyConfigError(f"judge_in must be 'process' or 'thread', not {self.judge_in!r}")
        for name in ("connect_timeout", "read_timeout", "write_timeout", "fetch_timeout"):
            if not getattr(self, name) > 0:
                raise ProxyConfigError(f"{name} must be a positive number of seconds")
        for name in ("max_request_bytes", "max_judged_bytes", "max_backlog_bytes", "max_backlog"):
            if getattr(self, name) < 1:
                raise ProxyConfigError(f"{name} must be at least 1")

    @property
    def upstream_origin(self) -> str:
        """``scheme://host:port`` of the upstream."""
        parts = urlsplit(self.upstream)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def upstream_path(self) -> str:
        """The upstream base URL's path without a trailing slash (``/v1``, or '')."""
        return urlsplit(self.upstream).path.rstrip("/")
