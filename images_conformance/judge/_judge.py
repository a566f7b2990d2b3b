"""Judging one recorded (or live) exchange with the generations endpoint, offline.

:func:`judge_exchange` takes the bytes of a request and of its answer and returns every
rule broken, whatever produced them: the recorded scenarios (live or replayed) and
``images-conformance validate-cassette`` both use it, so a cassette judged by the
command and the same cassette replayed by the tests give the same verdict.

What is expected is decided by the validator on the exact request bytes:

- a valid request must be served: a 200 whose body satisfies every response rule
  (images decoded and checked), or, for ``stream: true``, a ``text/event-stream``
  satisfying every stream rule; each ``url`` answered must be fetchable (when a fetch
  function is given: live, or the GET recorded in the same cassette) and be the image
  asked for;
- an invalid request must be refused with 400 and an error envelope naming the fault;
  accepting it breaks the rules it breaks (at their level);
- no answer is a 5xx, and JSON answers are labelled ``application/json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from images_conformance.exchanges._limits import parse_json
from validator import (
    RULES,
    FetchedImage,
    Level,
    Profile,
    Violation,
    parse_sse,
    validate_error,
    validate_exchange,
    validate_request,
    validate_response,
    validate_stream,
)
from validator._rules._expect import expected_n

if TYPE_CHECKING:
    from images_conformance.exchanges._client import Exchange

Situation = Literal[
    "valid", "invalid", "malformed_json", "missing_key", "wrong_key", "wrong_method"
]
"""What the sender knows the answer must be: ``valid`` (served), ``invalid`` (refused with
400), ``malformed_json`` (400), ``missing_key`` / ``wrong_key`` (401), ``wrong_method``
(405). Left out, the judge decides from the request bytes alone."""

REFUSALS = frozenset({"invalid", "malformed_json", "missing_key", "wrong_key", "wrong_method"})

NOT_SERVED_STATUSES = frozenset({401, 403, 429})
"""Answers that say "not you, not now" rather than "not valid" (auth, permission, rate)."""

FetchResult = tuple[int | None, Mapping[str, str], bytes]
Fetch = Callable[[str], "FetchResult | FetchedImage | None"]
"""Fetch an image URL: (status, headers, body) or a FetchedImage, or None when it cannot
be fetched (e.g. no GET for it was recorded)."""


def make_violation(rule_id: str, message: str) -> Violation:
    """A violation of the table's rule ``rule_id``, worded like the validator's own."""
    return RULES[rule_id].violation(message)


@dataclass
class Judgement:
    """What one exchange showed."""

    request: Any
    """The request body as parsed JSON (the raw text when it is not JSON)."""
    request_faults: list[Violation]
    """The rules the request itself breaks (empty: a valid request)."""
    outcome: str
    """``served``, ``streamed``, ``refused``, ``accepted-invalid``, ``not-served``,
    ``no-answer`` or ``not-judged`` (the recording does not hold the exchange whole)."""
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    answer_problem: str | None = None
    """Why the answer is not one an images API gives (no answer, HTTP 404/405/501, a body
    that is not JSON where JSON was due), or None. Set, only the rules among
    ``violations`` were judged: the request's and the answer's own rules were not."""
    fetched: dict[int, FetchedImage] = field(default_factory=dict)
    """What the GETs of returned urls gave, by item index (for the report's evidence)."""
    items: list[Any] | None = field(default=None, repr=False)
    """The first :data:`KEPT_ITEMS` items of the answer's ``data`` array (for the report's
    evidence; the parsed answer itself is not kept), ``[]`` when the answer was read as
    JSON but has none, None when it was not read as JSON (a stream, no answer)."""
    items_left: int = 0
    """The items past those kept that carry an image (``b64_json`` or ``url``)."""

    @property
    def must(self) -> list[Violation]:
        return [v for v in self.violations if v.level is Level.MUST]

    def gating(self, strict: bool = False) -> list[Violation]:
        return list(self.violations) if strict else self.must


NOT_JUDGED = "not-judged"


def not_judged(request_body: bytes | None, reason: str) -> Judgement:
    """The judgement of an exchange a recording does not hold whole (e.g. a body the
    recorder truncated): nothing is judged and nothing found, the reason noted."""
    request, problem = _parse_json(request_body or b"")
    if problem is not None:
        request = (request_body or b"").decode("utf-8", errors="replace")
    return Judgement(request, [], NOT_JUDGED, notes=[reason])


def _media_type(headers: Mapping[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "content-type" and value:
            return value.split(";", 1)[0].strip().lower()
    return None


def _is_stream_type(headers: Mapping[str, str]) -> bool:
    return _media_type(headers) == "text/event-stream"


def _header(headers: Mapping[str, str], wanted: str) -> str | None:
    for name, value in headers.items():
        if name.lower() == wanted:
            return value
    return None


def _parse_json(body: bytes, truncated: bool = False) -> tuple[Any, str | None]:
    if truncated:
        return None, f"the body was cut at {len(body)} bytes (the response size cap)"
    try:
        return parse_json(body), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"the body is not JSON ({exc})"


KEPT_ITEMS = 16
"""Items of an answer's ``data`` array a Judgement keeps (the report shows 12 images)."""


class _Answer:
    """An answer's body as JSON, parsed at most once (by the Exchange when there is one,
    within its limits): judging and :func:`answer_problem` share the one parse."""

    def __init__(self, body: bytes, truncated: bool = False, exchange: Any = None) -> None:
        self.body = body
        self.truncated = truncated
        self.exchange = exchange if callable(getattr(exchange, "json", None)) else None
        self._parsed: tuple[Any, str | None] | None = None

    def parsed(self) -> tuple[Any, str | None]:
        """(the document, None) or (None, why it is not JSON)."""
        if self._parsed is None:
            if self.truncated:
                self._parsed = _parse_json(self.body, truncated=True)
            elif self.exchange is not None:
                try:
                    self._parsed = (self.exchange.json(), None)
                except ValueError as exc:
                    self._parsed = (None, str(exc))
            else:
                self._parsed = _parse_json(self.body)
        return self._parsed

    def kept_items(self) -> tuple[list[Any] | None, int]:
        """(the first KEPT_ITEMS data items, the images among the rest); ``[]`` when the
        body is not JSON or has no data array."""
        parsed = self.parsed()[0]
        data = parsed.get("data") if isinstance(parsed, dict) else None
        if not isinstance(data, list):
            return [], 0
        left = sum(
            1
            for item in data[KEPT_ITEMS:]
            if isinstance(item, dict)
            and (item.get("b64_json") is not None or isinstance(item.get("url"), str))
        )
        return data[:KEPT_ITEMS], left

    def is_json(self) -> bool:
        """Whether the body is JSON (parsed within the limits)."""
        return self.json_problem is None

    @property
    def json_problem(self) -> str | None:
        """Why the body is not JSON, or None (no parse when the exchange knows already)."""
        if self._parsed is None and self.exchange is not None and not self.truncated:
            return self.exchange.json_problem
        return self.parsed()[1]


_UNKNOWN: Any = object()


def _json_problem(body: Any) -> str | None:
    """Why ``body`` (bytes, or an object that knows, such as an Exchange) is not JSON."""
    known = getattr(body, "json_problem", _UNKNOWN)
    return _parse_json(body)[1] if known is _UNKNOWN else known


def images_asked(request: Any) -> int:
    """How many images a request asks for (n; 1 when n is left out or invalid): the most
    urls of an answer ever fetched."""
    return (expected_n(request) if isinstance(request, dict) else None) or 1


def fetch_images(
    response: Any, fetch: Fetch | None, notes: list[str], *, limit: int = 1
) -> dict[int, FetchedImage]:
    """GET the absolute http(s) ``url`` of each of the first ``limit`` items of the answer
    (the number of images asked for; live, or the GET recorded beside it)."""
    fetched: dict[int, FetchedImage] = {}
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, list) or fetch is None:
        return fetched
    for i, item in enumerate(data[:limit]):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str):
            continue
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue  # response.url.absolute_http reports it
        got = fetch(url)
        if got is None:
            notes.append(f"data[{i}].url was not fetched (no recorded GET for it)")
            continue
        if isinstance(got, FetchedImage):
            fetched[i] = got
            continue
        status, _headers, body = got
        fetched[i] = FetchedImage(status, body)
        if status == 200:
            notes.append(f"data[{i}].url fetched: HTTP 200, {len(body)} bytes")
    return fetched


def judge_request(
    request_body: bytes | None, *, profile: Profile | None = None
) -> tuple[Any, list[Violation]]:
    """The request of an exchange, parsed (its raw text when it is not JSON), and the rules
    it breaks (``request.body.object`` when it is not JSON)."""
    raw = request_body or b""
    request, problem = _parse_json(raw)
    if problem is not None:
        text = raw.decode("utf-8", errors="replace")
        return text, [make_violation("request.body.object", f"the request {problem}")]
    return request, validate_request(request, profile=profile)


NOT_THERE_STATUSES = frozenset({404, 405, 501})
"""Answers to a POST of the endpoint that say it is not there (or not implemented)."""


def answer_problem(
    status: int | None,
    headers: Mapping[str, str] | None,
    body: bytes | Any,
    *,
    request: Any = None,
    situation: Situation | None = None,
    error: str | None = None,
) -> str | None:
    """Why this answer is not one an images API gives, or None when it is one.

    Not an images API's answer: no answer (or one that could not be read), HTTP 404, 405
    or 501 (405 excepted where a wrong method was sent), or a body that is not JSON
    (an event stream answering a request for one, and a 405 answering a wrong method,
    excepted). ``body``: the bytes, or an :class:`~images_conformance.exchanges.Exchange`
    (its own parse is then used, never a second one).
    """
    if status is None:
        return f"no answer ({error})" if error else "no answer"
    if error:
        return f"the answer could not be read ({error})"
    media = _media_type(headers or {}) or "no Content-Type"
    wrong_method = situation == "wrong_method"
    if status in NOT_THERE_STATUSES and not (wrong_method and status == 405):
        return f"HTTP {status} ({media})"
    if wrong_method and status == 405:
        return None
    asked_stream = isinstance(request, dict) and request.get("stream") is True
    if media == "text/event-stream" and status == 200 and asked_stream:
        return None
    if _json_problem(body) is not None:
        return f"HTTP {status} ({media}) with a body that is not JSON"
    return None


def judge_exchange(
    request_body: bytes | Exchange | None,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    profile: Profile | None = None,
    check_images: bool = True,
    fetch: Fetch | None = None,
    lenient_auth: bool = False,
    situation: Situation | None = None,
    broken: str | None = None,
    truncated: bool = False,
    received_at: tuple[float, float] | None = None,
) -> Judgement:
    """Judge one exchange with ``POST /images/generations``.

    ``lenient_auth``: a valid request answered 401, 403 or 429 is noted, not counted as
    refusing a valid request (for third-party cassettes recorded with a dummy key); its
    error envelope is still judged.

    ``situation``: what the sender knows the answer must be (the suite does: it sent a
    wrong key, a wrong method, ...); left out, it follows from the request bytes.
    ``broken``: the one request rule the request was built to break; accepting the
    request then breaks that rule (at its level) rather than each of the request's faults.
    ``truncated``: the answer's body was cut at a size cap (it is then not parsed).
    ``received_at``: when the exchange happened (Unix seconds, sent and answered; an
    Exchange's own by default), or for a recording the window its date allows
    (``validator.recording_window``); ``created`` is judged against it, or only for
    plausibility when it is None.

    The exchange is given either as its parts (request body, status, headers, body) or as
    an :class:`~images_conformance.exchanges.Exchange` (live, recorded or proxied).
    """
    error: str | None = None
    exchange: Any = None
    if hasattr(request_body, "request_body"):  # an Exchange
        exchange = request_body
        request_body, status, headers, body = (
            exchange.request_body,
            exchange.status,
            exchange.headers,
            exchange.body,
        )
        truncated = truncated or bool(exchange.truncated)
        if received_at is None:
            received_at = getattr(exchange, "received_at", None)
        error = getattr(exchange, "error", None)
    headers = headers or {}
    answer = _Answer(body, truncated, exchange)
    try:
        judgement = _judge_parts(
            request_body,
            status,
            headers,
            answer,
            profile=profile,
            check_images=check_images,
            fetch=fetch,
            lenient_auth=lenient_auth,
            situation=situation,
            broken=broken,
            received_at=received_at,
        )
        if not truncated:  # a body cut at the cap is judged by response.body.object
            judgement.answer_problem = answer_problem(
                status, headers, answer, request=judgement.request, situation=situation, error=error
            )
        if status is not None and 200 <= status < 300 and not _is_stream_type(headers):
            judgement.items, judgement.items_left = answer.kept_items()
    finally:
        if exchange is not None and callable(getattr(exchange, "release_json", None)):
            exchange.release_json()  # judged: the parsed document is not kept
    return judgement


def _judge_parts(
    request_body: bytes | None,
    status: int | None,
    headers: Mapping[str, str],
    answer: _Answer,
    *,
    profile: Profile | None,
    check_images: bool,
    fetch: Fetch | None,
    lenient_auth: bool,
    situation: Situation | None,
    broken: str | None,
    received_at: tuple[float, float] | None,
) -> Judgement:
    body = answer.body
    request, faults = judge_request(request_body, profile=profile)
    if status is None:
        return Judgement(request, faults, "no-answer", notes=["no answer was recorded"])
    if situation in REFUSALS:
        return _judge_refusal(
            request if situation == "invalid" else None,
            faults,
            status,
            headers,
            answer,
            situation=situation,  # type: ignore[arg-type]
            broken=broken,
            profile=profile,
        )
    if situation == "valid" and faults:
        situation = None  # the request bytes say otherwise: judged as invalid
    # A stream is judged as one when the request asked for it (a JSON answer then breaks
    # stream.content_type); an event stream answering any other request is not JSON.
    is_stream = isinstance(request, dict) and request.get("stream") is True and status == 200
    excused = lenient_auth and status in NOT_SERVED_STATUSES
    violations = validate_exchange(
        status,
        content_type=_header(headers, "content-type"),
        body=body,
        situation="valid" if not faults and not excused else "any",
        stream=is_stream,
        is_json=answer.is_json,
    )
    notes: list[str] = []
    parsed, parse_problem = (None, None) if is_stream else answer.parsed()

    if faults:
        if status < 400:
            violations.extend(_acceptance(faults, status, broken))
            return Judgement(request, faults, "accepted-invalid", violations, notes)
        violations.extend(validate_error(status, parsed, request=request, profile=profile))
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            notes.append(
                f"refused: HTTP {status}, param {error.get('param')!r}, code {error.get('code')!r}"
            )
        return Judgement(request, faults, "refused", violations, notes)

    if status != 200:
        if excused:
            notes.append(f"not served: HTTP {status} (authentication, permission or rate limit)")
        if status >= 400:
            violations.extend(validate_error(status, parsed, profile=profile))
        return Judgement(request, faults, "not-served", violations, notes)

    if is_stream:
        events = parse_sse(body)
        violations.extend(
            validate_stream(
                request,
                events,
                profile=profile,
                content_type=_header(headers, "content-type"),
                check_images=check_images,
            )
        )
        names = [str(e.get("event")) for e in events[:8]]
        notes.append(f"{len(events)} events: {', '.join(names)}{' ...' if len(events) > 8 else ''}")
        return Judgement(request, faults, "streamed", violations, notes)

    if parse_problem is not None:
        violations.append(make_violation("response.body.object", parse_problem))
        return Judgement(request, faults, "served", violations, notes)
    fetched = fetch_images(parsed, fetch, notes, limit=images_asked(request))
    violations.extend(
        validate_response(
            request,
            parsed,
            profile=profile,
            check_images=check_images,
            fetched=fetched,
            received_at=received_at,
        )
    )
    return Judgement(request, faults, "served", violations, notes, fetched)


def _acceptance(faults: list[Violation], status: int, broken: str | None) -> list[Violation]:
    """Accepting an invalid request breaks the rules it breaks, each at its own level (only
    ``broken`` when the request was built to break that one)."""
    if broken is not None:
        return [
            make_violation(broken, f"the target accepted it (HTTP {status}) instead of refusing it")
        ]
    out: list[Violation] = []
    seen: set[str] = set()
    for fault in faults:
        if fault.rule not in seen:
            seen.add(fault.rule)
            out.append(
                Violation(
                    fault.rule,
                    fault.level,
                    f"the target accepted the request (HTTP {status}) instead of refusing "
                    f"it: {fault.message}",
                    fault.param,
                    fault.path,
                )
            )
    return out


def _judge_refusal(
    request: Any,
    faults: list[Violation],
    status: int,
    headers: Mapping[str, str],
    answer: _Answer,
    *,
    situation: Situation,
    broken: str | None,
    profile: Profile | None,
) -> Judgement:
    """An answer to a request that had to be refused (``situation`` says with what status).

    ``request``: the parsed body when the error must name one of its faults."""
    violations = validate_exchange(
        status,
        content_type=_header(headers, "content-type"),
        body=answer.body,
        situation="any" if situation == "invalid" else situation,
        is_json=answer.is_json,
    )
    if status < 400:
        if broken is not None:
            violations.extend(_acceptance(faults, status, broken))
        return Judgement(request, faults, "accepted-invalid", violations)
    parsed, _ = answer.parsed()
    violations.extend(validate_error(status, parsed, request=request, profile=profile))
    return Judgement(request, faults, "refused", violations)
