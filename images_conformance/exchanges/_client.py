"""The target under test: one HTTP client, bounded exchanges, request and generation counts.

Every call the suite makes goes through :class:`Target`, which

- applies a timeout to the whole exchange (connect, send, and reading the body),
- reads at most ``max_response_bytes`` of any answer (the rest is dropped and the
  exchange is marked ``truncated``),
- never raises for a transport problem: the :class:`Exchange` carries ``error`` instead,
- stops waiting on a target that stopped answering (after ``max_consecutive_timeouts``
  timeouts in a row, further calls fail at once instead of each waiting the full timeout),
- counts requests and billable generations (the images of 200 answers: ``n`` images
  count ``n``), and refuses to start a request whose images would pass ``max_generations``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from validator import DEFAULT_PROFILE, Profile

from ._exchange import (  # noqa: F401  (also importable from here)
    SUITE_KEY_PREFIX,
    Exchange,
    _hide_password,
    mask_key,
    public_url,
    trim_body,
)
from ._limits import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    Deadline,
    Limits,
    RunBudget,
    read_body,
    release_read_bytes,
)
from ._secrets import Secret, reveal, sanitize, secret

GENERATIONS_PATH = "/images/generations"
DEFAULT_TIMEOUT = DEFAULT_DEADLINE
DEFAULT_MAX_RESPONSE_BYTES = DEFAULT_MAX_BYTES
_MISSING: Any = object()


_KEEP_HEADERS = httpx.Auth()
"""An auth flow that sends the request as it is."""


class GenerationCapReached(Exception):
    """Raised before a request that may generate images once the generation cap is reached."""


_COMPLETED = re.compile(rb'"type"\s*:\s*"image_generation\.completed"')


def _billable_images(exchange: Exchange) -> int:
    """The images a 200 answer carries: completed events of a stream, or data items (the
    body parsed within the exchange's limits)."""
    if exchange.status != 200:
        return 0
    if exchange.content_type == "text/event-stream":
        return len(_COMPLETED.findall(exchange.body))
    try:
        parsed = exchange.json()
    except ValueError:
        return 0
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, list):
        return 0
    return sum(1 for i in data if isinstance(i, dict) and (i.get("b64_json") or i.get("url")))


def _images_asked(body: Any) -> int:
    """The images a request body asks for (n, 1 by default)."""
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return 1
    n = body.get("n") if isinstance(body, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1


class Target:
    """A server under test, reached at ``base_url`` (ending in ``/v1`` or similar)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        profile: Profile | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_generations: int | None = None,
        max_consecutive_timeouts: int = 3,
        embedded: bool = False,
        replayed: bool = False,
        limits: Limits | None = None,
        run_budget: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key: Secret | None = secret(api_key)
        self.profile = profile or DEFAULT_PROFILE
        if limits is None:
            limits = Limits(deadline=float(timeout), max_bytes=int(max_response_bytes))
        self.limits = limits
        """What one exchange may take: deadline, decoded bytes, stream events, JSON depth."""
        self.budget = RunBudget(run_budget)
        """The run's overall time budget (BudgetExhausted once spent)."""
        self.timeout = float(limits.deadline)
        self.max_response_bytes = int(limits.max_bytes)
        self.max_generations = max_generations
        self.max_consecutive_timeouts = max_consecutive_timeouts
        self.embedded = embedded
        self.replayed = replayed
        """Answers come from recorded cassettes: nothing is generated, nothing is billed."""
        self.requests = 0
        """Requests sent (image URL fetches included)."""
        self.generations = 0
        """Billable generations: the images 200 answers carried (n images count n)."""
        self.recorders: list[Callable[[Exchange], None]] = []
        """Called with every exchange sent (e.g. a HAR writer's ``add``)."""
        self._timeouts_in_a_row = 0
        self._lock = threading.Lock()
        # No kept-alive connections: every exchange owns its connection, which its
        # Deadline shuts down when the time is up.
        self._client = httpx.Client(
            timeout=limits.timeout(limits.deadline),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    # -- facts ---------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.base_url + GENERATIONS_PATH

    @property
    def auth_enabled(self) -> bool:
        """Whether the target is expected to check API keys (profile, else: a key is given)."""
        if self.profile.auth is not None:
            return self.profile.auth
        return self.api_key is not None

    # -- calls ---------------------------------------------------------------------------
    def post_generation(
        self,
        body: Any,
        *,
        api_key: str | None = _MISSING,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
        may_generate: bool = True,
    ) -> Exchange:
        """Send ``body`` (a JSON value, or raw ``bytes``) to the generations endpoint.

        ``api_key``: left out, the target's key; None sends no Authorization header; a
        string sends that key. ``may_generate``: False for requests expected to be
        rejected (they do not count against ``max_generations`` before sending).
        """
        if may_generate and self.max_generations is not None:
            with self._lock:
                if self.generations + _images_asked(body) > self.max_generations:
                    raise GenerationCapReached(
                        f"the cap of {self.max_generations} billable generations is reached"
                    )
        content = body if isinstance(body, bytes) else encode_json(body)
        send_headers: dict[str, str] = {}
        if content or method == "POST":
            send_headers["Content-Type"] = "application/json"
        key = self.api_key if api_key is _MISSING else api_key
        if key is not None:
            value = f"Bearer {reveal(key)}"
            # The target's own key travels as a Secret (never shown, even in a traceback).
            send_headers["Authorization"] = Secret(value) if key == self.api_key else value
        if headers:
            send_headers.update(headers)
        stream = _asks_for_stream(body)
        return self._send(method, self.endpoint, content, send_headers, stream=stream)

    def fetch(self, url: str) -> Exchange:
        """GET an image URL the target returned (never sends the API key)."""
        return self._send("GET", url, b"", {}, stream=False)

    def check_reachable(self) -> str | None:
        """None when something answers at the base URL; else a one-line reason.

        Only the status line and headers are awaited (within the exchange deadline, at
        most 10 s); the body, whatever it is, is not read.
        """
        seconds = min(self.timeout, 10.0)
        problem = None
        with Deadline(seconds) as deadline:
            try:
                with self._client.stream(
                    "GET",
                    self.base_url + "/models",
                    timeout=self.limits.timeout(seconds),
                    extensions={"trace": deadline.trace},
                ):
                    pass
            except (httpx.HTTPError, OSError) as exc:
                problem = (
                    f"no answer within {seconds:g} s" if deadline.expired() else describe_error(exc)
                )
        if problem:
            return sanitize(f"cannot reach the target at {public_url(self.base_url)}: {problem}")
        return None

    def close(self) -> None:
        self._client.close()

    # -- internals -----------------------------------------------------------------------
    def _masked(self, headers: Mapping[str, str]) -> dict[str, str]:
        shown = {}
        for name, value in headers.items():
            if name.lower() == "authorization" and value.startswith("Bearer "):
                key = value[len("Bearer ") :]
                value = (
                    "Bearer $OPENAI_API_KEY" if key == self.api_key else f"Bearer {mask_key(key)}"
                )
            shown[name] = value
        return shown

    def _send(
        self, method: str, url: str, content: bytes, headers: dict[str, str], *, stream: bool
    ) -> Exchange:
        exchange = Exchange(
            method=method,
            url=url,
            request_headers=self._masked(headers),
            request_body=content,
            stream=stream,
            secret=self.api_key,
            limits=self.limits,
        )
        self.budget.check()
        with self._lock:
            self.requests += 1
            if self._timeouts_in_a_row >= self.max_consecutive_timeouts:
                exchange.error = (
                    f"not sent: the target timed out {self._timeouts_in_a_row} times in a row "
                    f"(timeout {self.timeout:g} s), so the suite stopped waiting on it"
                )
                return exchange
        exchange.sent_at = None if self.replayed else time.time()
        start = time.monotonic()
        seconds = self.timeout
        left = self.budget.remaining()
        if left is not None:
            seconds = max(0.001, min(seconds, left))
        timed_out = False
        with Deadline(seconds) as deadline:
            try:
                # An explicit Authorization header (the API key) wins over credentials in
                # the URL, which httpx would otherwise turn into a Basic header replacing it.
                auth = _KEEP_HEADERS if "Authorization" in headers else httpx.USE_CLIENT_DEFAULT
                with self._client.stream(
                    method,
                    url,
                    content=content or None,
                    headers=headers,
                    auth=auth,
                    timeout=self.limits.timeout(seconds),
                    extensions={"trace": deadline.trace},
                ) as resp:
                    exchange.status = resp.status_code
                    exchange.headers = {k.lower(): v for k, v in resp.headers.items()}
                    release_read_bytes()  # the bodies of finished exchanges go first
                    got = read_body(resp, self.limits, deadline, stream=stream)
                    release_read_bytes(len(got.data))
                    exchange.body = got.data
                    timed_out = got.timed_out
                    if got.cut:
                        exchange.truncated = True
                        exchange.cut = got.cut
                        if got.timed_out and not (
                            stream and exchange.content_type == "text/event-stream"
                        ):
                            # A stream cut at the deadline is judged as one that did not end;
                            # any other answer cut there could not be read.
                            exchange.error = got.cut
            except (httpx.HTTPError, OSError) as exc:
                timed_out = isinstance(exc, httpx.TimeoutException) or deadline.expired()
                exchange.error = (
                    f"no complete answer within {seconds:g} s (the exchange deadline)"
                    if deadline.expired()
                    else describe_error(exc)
                )
        exchange.elapsed = time.monotonic() - start
        if exchange.error is None and exchange.status is not None and not self.replayed:
            exchange.images = _billable_images(exchange)
            exchange.billable = exchange.images > 0
        with self._lock:
            self._timeouts_in_a_row = self._timeouts_in_a_row + 1 if timed_out else 0
            self.generations += exchange.images
        for record in self.recorders:
            record(exchange)
        return exchange


def _asks_for_stream(body: Any) -> bool:
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    return isinstance(body, dict) and body.get("stream") is True


def encode_json(value: Any) -> bytes:
    """JSON bytes as sent on the wire (UTF-8; escaped when the text cannot be encoded)."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value).encode("ascii")


def describe_error(exc: BaseException) -> str:
    """A one-line description of a transport error."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return sanitize(f"the connection broke ({exc})")
    return sanitize(f"{type(exc).__name__}: {exc}")
