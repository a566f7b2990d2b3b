"""``--record-har``: the traffic through the proxy as a HAR 1.2 file, written as it flows.

Entries are appended to the file as exchanges finish (memory stays bounded however long
the proxy runs); :meth:`HarRecorder.close` ends the JSON document. Secrets never reach
the file: secret headers are masked when captured, secret query parameters here, and
any secret value seen in a header is scrubbed from the bodies.

Adapter: when ``images_conformance.exchanges.formats.har`` provides the project's HAR
writer, :func:`har_entry` becomes a conversion to its Exchange model.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ._observed import MASK, Observed

SECRET_QUERY = frozenset({"api-key", "api_key", "apikey", "key", "token", "access_token"})
_TEXT_TYPES = ("application/json", "text/", "application/x-ndjson")


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _content(
    body: bytes | None, mime: str, secrets: Iterable[str], encoded: bool = False
) -> dict[str, Any]:
    if body is None:
        return {"size": -1, "mimeType": mime, "comment": "not kept (over the proxy's cap)"}
    out: dict[str, Any] = {"size": len(body), "mimeType": mime}
    if not body:
        return out
    if not encoded and mime.split(";")[0].strip().lower().startswith(_TEXT_TYPES):
        try:
            out["text"] = _scrub(body.decode("utf-8"), secrets)
            return out
        except UnicodeDecodeError:
            pass
    out["text"] = base64.b64encode(body).decode("ascii")
    out["encoding"] = "base64"
    return out


def _iso(ts: float) -> str:
    ms = int((ts % 1) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{ms:03d}Z"


def har_entry(obs: Observed, origin: str, secrets: Iterable[str]) -> dict[str, Any]:
    """One HAR entry for an exchange (``origin``: the upstream's, for the request URL)."""
    secrets = list(secrets)
    query = [
        {"name": k, "value": MASK if k.lower() in SECRET_QUERY else _scrub(v, secrets)}
        for k, v in parse_qsl(obs.query, keep_blank_values=True)
    ]
    url = origin + obs.path
    if query:
        url += "?" + "&".join(f"{q['name']}={q['value']}" for q in query)
    request_type = obs.header("content-type", response=False) or "application/octet-stream"
    response_type = obs.header("content-type") or ""
    encoded = bool(obs.header("content-encoding"))
    status = obs.status or 0
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    entry: dict[str, Any] = {
        "startedDateTime": _iso(obs.started),
        "time": round(obs.duration_ms, 3),
        "request": {
            "method": obs.method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": k, "value": _scrub(v, secrets)} for k, v in obs.request_headers],
            "queryString": query,
            "headersSize": -1,
            "bodySize": len(obs.request_body),
        },
        "response": {
            "status": status,
            "statusText": reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": k, "value": _scrub(v, secrets)} for k, v in obs.response_headers],
            "content": _content(obs.response_body, response_type, secrets, encoded),
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": obs.response_size,
        },
        "cache": {},
        "timings": {
            "send": 0,
            "wait": round(obs.first_byte_ms, 3) if obs.first_byte_ms is not None else -1,
            "receive": 0,
        },
    }
    if obs.request_body:
        entry["request"]["postData"] = {
            "mimeType": request_type,
            **{
                k: v
                for k, v in _content(obs.request_body, request_type, secrets).items()
                if k in ("text", "encoding")
            },
        }
    notes = [n for n in (obs.error, f"answered by the {obs.answered_by}") if n]
    entry["comment"] = "; ".join(notes)
    return entry


class HarRecorder:
    """Appends one HAR entry per exchange to ``path`` from a writer thread (the proxy's
    event loop never waits on the disk); :meth:`close` completes the file."""

    def __init__(
        self,
        path: str | Path,
        origin: str,
        secrets: Callable[[], Iterable[str]],
        *,
        max_queued: int = 256,
    ) -> None:
        self.path = Path(path)
        self.origin = origin
        self.secrets = secrets
        self.count = 0
        self.dropped = 0
        """Exchanges not recorded because the writer fell behind by ``max_queued``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        head = {"version": "1.2", "creator": {"name": "images-conformance proxy", "version": "1"}}
        self._file.write(json.dumps({"log": head})[:-2] + ', "entries": [\n')
        self._file.flush()
        self._queue: queue.Queue[Observed | None] = queue.Queue(max_queued)
        self._thread = threading.Thread(target=self._write, name="proxy-har", daemon=True)
        self._thread.start()

    def add(self, obs: Observed) -> None:
        """Queue an exchange for the file; never blocks."""
        try:
            self._queue.put_nowait(obs)
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while True:
            obs = self._queue.get()
            if obs is None:
                return
            try:
                entry = json.dumps(har_entry(obs, self.origin, self.secrets()), ensure_ascii=False)
            except Exception:  # an entry that cannot be written is counted, never fatal
                self.dropped += 1
                continue
            self._file.write(("," if self.count else "") + entry + "\n")
            self._file.flush()
            self.count += 1

    def close(self, timeout: float = 60.0) -> None:
        """Write what is queued and end the document."""
        self._queue.put(None)
        self._thread.join(timeout)
        if not self._file.closed:
            comment = (
                f', "comment": "{self.dropped} exchange(s) not recorded"' if self.dropped else ""
            )
            self._file.write("]" + comment + "}}\n")
            self._file.close()
