"""Writing HAR 1.2: :class:`HarWriter` and :func:`write_har` (re-exported by ``har``).

Secrets are scrubbed by the cassette recorder's own functions (``scrub_request``, the
response scrubber, ``redact_url``), so a HAR hides exactly what a cassette hides; the API
keys given as ``secrets`` (and an exchange's own ``secret``) become ``<API_KEY>`` wherever
else they appear.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from ._scrub import _response_scrubber, redact_url, scrub_request, scrub_response

HAR_VERSION = "1.2"
KEY_PLACEHOLDER = "<API_KEY>"


class ExchangeLike(Protocol):
    """What the writer reads of an exchange (the suite's and the proxy's ``Exchange``;
    ``truncated`` and ``secret`` are read when present)."""

    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int | None
    headers: Mapping[str, str]
    body: bytes
    elapsed: float
    error: str | None


def _nv(headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[dict[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for name, value in items:
        for v in value if isinstance(value, list) else [value]:
            out.append({"name": str(name), "value": str(v)})
    return out


def _query(url: str) -> list[dict[str, str]]:
    try:
        return [
            {"name": k, "value": v}
            for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)
        ]
    except ValueError:
        return []


def _content(body: bytes, mime: str) -> dict[str, Any]:
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"] = base64.b64encode(body).decode("ascii")
        content["encoding"] = "base64"
    else:
        content["text"] = text
    return content


class _Hider:
    """Replaces the API key(s) by ``<API_KEY>`` in text and bytes."""

    def __init__(self, exchange: ExchangeLike, secrets: Iterable[str | None]) -> None:
        found = (*secrets, getattr(exchange, "secret", None))
        unique = {s for s in found if isinstance(s, str) and len(s) >= 8}
        self.secrets = sorted(unique, key=len, reverse=True)  # a key inside a longer one

    def __call__(self, value: Any) -> Any:
        for s in self.secrets:
            if isinstance(value, bytes):
                value = value.replace(s.encode(), KEY_PLACEHOLDER.encode())
            elif isinstance(value, str):
                value = value.replace(s, KEY_PLACEHOLDER)
        return value


def _scrubbed(exchange: ExchangeLike, hide: _Hider) -> dict[str, Any]:
    """The exchange with secrets out: the cassette recorder's scrubbers, applied to it."""
    request = scrub_request(
        SimpleNamespace(
            headers={str(k): hide(str(v)) for k, v in exchange.request_headers.items()},
            uri=hide(exchange.url),
        )
    )
    response: dict[str, Any] = {
        "headers": {str(k): [str(v)] for k, v in dict(exchange.headers).items()},
        "body": {"string": bytes(exchange.body or b"")},
    }
    for scrub in [_response_scrubber(s) for s in hide.secrets] or [scrub_response]:
        response = scrub(response)
    return {
        "url": redact_url(str(request.uri)),
        "request_headers": request.headers,
        "request_body": hide(bytes(exchange.request_body or b"")),
        "headers": {k: [hide(v) for v in vs] for k, vs in response["headers"].items()},
        "body": response["body"]["string"],
    }


def har_entry(
    exchange: ExchangeLike,
    *,
    secrets: Iterable[str | None] = (),
    started: datetime | None = None,
) -> dict[str, Any]:
    """One HAR 1.2 entry for ``exchange``, secrets scrubbed as in cassettes, and each of
    ``secrets`` (API keys, 8 characters or more) replaced by ``<API_KEY>`` wherever it
    appears. ``started``: when the exchange began (default: ``elapsed`` before now)."""
    hide = _Hider(exchange, secrets)
    s = _scrubbed(exchange, hide)
    elapsed_ms = max(float(getattr(exchange, "elapsed", 0.0) or 0.0) * 1000.0, 0.0)
    if started is None:  # the exchange has just ended: it started ``elapsed`` ago
        started = datetime.now(timezone.utc) - timedelta(milliseconds=elapsed_ms)
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": s["url"],
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _nv(s["request_headers"]),
        "queryString": _query(s["url"]),
        "headersSize": -1,
        "bodySize": len(s["request_body"]),
    }
    if s["request_body"] or exchange.method in ("POST", "PUT", "PATCH"):
        mime = next((v for k, v in s["request_headers"].items() if k.lower() == "content-type"), "")
        post: dict[str, Any] = {"mimeType": mime}
        try:
            post["text"] = s["request_body"].decode("utf-8")
        except UnicodeDecodeError:
            post["text"] = base64.b64encode(s["request_body"]).decode("ascii")
            post["encoding"] = "base64"  # not in HAR 1.2; the reader (har.py) understands it
        request["postData"] = post
    headers = s["headers"]
    if exchange.status is None:
        response: dict[str, Any] = {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": hide(exchange.error or "no answer"),
        }
    else:
        mime = next((v[0] for k, v in headers.items() if k.lower() == "content-type"), "")
        location = next((v[0] for k, v in headers.items() if k.lower() == "location"), "")
        # The body is stored as the client got it (decoded): no Content-Encoding claim.
        shown = {k: v for k, v in headers.items() if k.lower() != "content-encoding"}
        response = {
            "status": int(exchange.status),
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _nv(shown),
            "content": _content(s["body"], mime),
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": len(s["body"]),
        }
        notes = []
        if exchange.body is None:  # a producer that did not keep it (e.g. over its cap)
            del response["content"]["text"]
            notes.append("body omitted by the recorder")
        if getattr(exchange, "truncated", False):
            notes.append("body truncated: only the start (the response size cap) was read")
            response["content"]["size"] = len(s["body"]) + 1  # more than is stored
        if exchange.error:
            notes.append(hide(str(exchange.error)))
        if notes:
            response["content"]["comment"] = "; ".join(notes)
    return {
        "startedDateTime": started.isoformat(timespec="milliseconds"),
        "time": round(elapsed_ms, 3),
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": round(elapsed_ms, 3), "receive": 0},
    }


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("images-conformance")
    except Exception:
        return "0"


class HarWriter:
    """Writes exchanges to a HAR 1.2 file as they come (thread-safe).

    ``HarWriter(path).add(exchange)`` ... ``.close()``, or use it as a context manager.
    ``secrets`` (API keys) are replaced by ``<API_KEY>`` wherever they appear, besides the
    headers and URL parameters every cassette has scrubbed. The file is complete (valid
    JSON) once closed; :meth:`add_entry` writes an entry already made (to merge files).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        secrets: Iterable[str | None] = (),
        creator: str = "images-conformance",
        comment: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.secrets = list(secrets)
        self.count = 0
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = self.path.open("w", encoding="utf-8")
        log_head = {
            "version": HAR_VERSION,
            "creator": {"name": creator, "version": _package_version()},
            "pages": [],
        }
        if comment:
            log_head["comment"] = comment
        head = json.dumps({"log": log_head}, ensure_ascii=False)
        # '{"log": {..., "pages": []}}' -> open the entries list before the two closing braces
        self._fh.write(head[:-2] + ', "entries": [\n')

    def add(
        self,
        exchange: ExchangeLike,
        *,
        secrets: Iterable[str | None] = (),
        started: datetime | None = None,
    ) -> None:
        """Write one exchange (secrets scrubbed: the writer's ``secrets`` and these)."""
        entry = har_entry(exchange, secrets=[*self.secrets, *secrets], started=started)
        self.add_entry(entry)

    def add_entry(self, entry: Mapping[str, Any]) -> None:
        """Write one HAR entry as it is (already scrubbed)."""
        text = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            if self._fh is None:
                raise ValueError(f"the HAR writer of {self.path} is closed")
            self._fh.write((",\n" if self.count else "") + text)
            self._fh.flush()
            self.count += 1

    def close(self) -> None:
        """Finish the file (idempotent)."""
        with self._lock:
            if self._fh is None:
                return
            self._fh.write("\n]}}\n")
            self._fh.close()
            self._fh = None

    def __enter__(self) -> HarWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_har(
    exchanges: Iterable[ExchangeLike], path: str | Path, *, secrets: Iterable[str | None] = ()
) -> int:
    """Write ``exchanges`` to a HAR 1.2 file; returns how many were written."""
    with HarWriter(path, secrets=secrets) as writer:
        for exchange in exchanges:
            writer.add(exchange)
        return writer.count


def merge_har_files(parts: Iterable[str | Path], path: str | Path) -> int:
    """Write the entries of several HAR files (e.g. one per pytest-xdist worker) into one,
    in the order they started; returns how many entries were written. The parts' entries
    are held in memory while they are sorted (a suite run's, not a long proxy run's)."""
    entries: list[tuple[str, int, dict[str, Any]]] = []
    for n, part in enumerate(parts):
        try:
            data = json.loads(Path(part).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a worker that died mid-write leaves an unfinished part
        for entry in (data.get("log") or {}).get("entries") or []:
            if isinstance(entry, dict):
                entries.append((str(entry.get("startedDateTime", "")), n, entry))
    entries.sort(key=lambda t: (t[0], t[1]))
    with HarWriter(path) as writer:
        for _, _, entry in entries:
            writer.add_entry(entry)
        return writer.count
