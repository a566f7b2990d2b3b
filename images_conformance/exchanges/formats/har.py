"""HAR 1.2 (HTTP Archive): reading other tools' recordings, and writing the suite's.

Reading (:func:`load_har`, reached through ``load_cassette``) turns ``log.entries[]``
into the same :class:`Interaction` objects the cassette readers make, so
``validate-cassette`` judges a HAR exactly as it judges a vcrpy cassette:

- the request body from ``postData.text`` (base64 when ``postData.encoding`` says so);
- the response body from ``content.text``: plain, ``encoding: base64``, or, as Polly.js
  stores a content-encoded answer, a JSON array of base64 chunks of the compressed bytes;
  bodies still gzip-, deflate- or brotli-compressed are decompressed to be judged;
- a ``text/event-stream`` body is judged as a stream (when the request asked for one);
- ``GET`` entries of the same file answer the image ``url`` fetches;
- a body the recorder cut (``content.size`` larger than what is stored, or a ``comment``
  saying so) or did not keep is *not judged*, never counted as the server's fault.

Hostile files are bounded: at most :data:`MAX_HAR_BYTES` of a file are read (decompressed
size for ``.har.gz`` / ``.zhar``), at most :data:`MAX_HAR_ENTRIES` entries are taken, and
the entries are decoded one at a time (no recursion into the rest of the file); the
cassette's ``notes`` say when a cap cut the file. Nothing in a file is executed.

Writing (:class:`HarWriter`, :func:`write_har`; in ``_har_write.py``, re-exported here)
produces HAR 1.2 from exchanges (the suite's :class:`Exchange`, or anything with the same
attributes), with secrets scrubbed by the cassette recorder's own functions::

    with HarWriter("run.har", secrets=[key]) as har:  # or HarWriter(path) ... .close()
        har.add(exchange)                  # thread-safe; written to disk at once
    write_har(exchanges, "run.har")        # the same, for a finished list

Entries are streamed to the file as they are added (a long proxy run holds none of them
in memory); the file is valid HAR once :meth:`HarWriter.close` has run.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ._cassettes import Cassette, CassetteError, Interaction, _decode_body
from ._har_write import (
    HAR_VERSION,
    ExchangeLike,
    HarWriter,
    har_entry,
    merge_har_files,
    write_har,
)

FORMAT = "HAR"
MAX_HAR_BYTES = 128 * 1024 * 1024
"""The most of a HAR file read (after decompression); the rest is left unread."""
MAX_HAR_ENTRIES = 10_000
"""The most entries of one HAR file taken; further entries are not read."""
NOT_JUDGED_TRUNCATED = "not judged: truncated by the recorder"
NOT_JUDGED_NO_BODY = "not judged: the recorder did not keep the body"
HAR_SUFFIXES = (".har", ".har.gz", ".zhar")

_HEAD = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"log"\s*:')
_WS = re.compile(r"[ \t\n\r]*")
_TRUNCATION_WORDS = re.compile(r"truncat|\bcut\b|clipped|omitted", re.I)


# -- reading -------------------------------------------------------------------------------
def looks_like_har(head: bytes) -> bool:
    """Whether the first bytes of a (decompressed) file open a HAR: ``{"log": ...``."""
    return bool(_HEAD.match(head))


def read_har_bytes(path: Path, limit: int | None = None) -> tuple[bytes | bytearray, bool]:
    """At most ``limit`` (default :data:`MAX_HAR_BYTES`) bytes of the file, decompressed
    when it is gzip or zlib (``.zhar``), and whether there was more."""
    if limit is None:
        limit = MAX_HAR_BYTES
    try:
        with path.open("rb") as fh:
            raw = _read_up_to(fh, limit)
            more = bool(fh.read(1))
    except IsADirectoryError:
        raise CassetteError(f"{path} is a directory") from None
    except OSError as exc:
        raise CassetteError(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b" or (raw[:1] == b"\x78" and path.name.lower().endswith(".zhar")):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        try:
            out = inflater.decompress(raw, limit)
        except zlib.error as exc:
            raise CassetteError(f"{path} looks compressed but does not decompress: {exc}") from None
        return out, bool(inflater.unconsumed_tail) or (more and not inflater.eof)
    return raw, more


def _read_up_to(fh: IO[bytes], n: int) -> bytearray:
    """At most ``n`` bytes, read into one buffer of the size needed (``read(n)`` would
    reserve all ``n`` at once, whatever the file's size)."""
    try:
        size = os.fstat(fh.fileno()).st_size
    except (OSError, ValueError):
        size = 0
    buf = bytearray(min(n, size) if size > 0 else 0)
    view = memoryview(buf)
    filled = 0
    while filled < len(buf):
        got = fh.readinto(view[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    view.release()
    del buf[filled:]
    while len(buf) < n:  # a file that grew, or one without a size (a pipe)
        piece = fh.read(min(1 << 20, n - len(buf)))
        if not piece:
            break
        buf += piece
    return buf


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


class _Cut(Exception):
    """The text ended inside a value (a file cut by the size cap)."""


class HarScan:
    """Walks ``{"log": {..., "entries": [e0, e1, ...]}}`` one value at a time, so that
    entries are decoded one by one and the walk can stop at any of them (the entry cap, or
    the end of a text cut by the size cap). ``log`` collects the log's other members."""

    def __init__(self, text: str, name: str, *, cut: bool = False, cap: int = MAX_HAR_ENTRIES):
        self.text = text
        self.name = name
        self.cut = cut
        self.cap = cap
        self.log: dict[str, Any] = {}
        self.found_entries = False
        self.more_entries = False
        """Entries beyond the cap were left unread."""
        self.ended_early = False
        """The text ended inside the file (cut by the size cap)."""
        self._decoder = json.JSONDecoder()

    def _fail(self, what: str, at: int) -> CassetteError:
        return CassetteError(f"{self.name} is not a HAR file: {what} at character {at}")

    def _value(self, i: int) -> tuple[Any, int]:
        try:
            return self._decoder.raw_decode(self.text, i)
        except ValueError as exc:
            if self.cut:
                raise _Cut() from None
            raise self._fail(f"invalid JSON ({str(exc).split(':')[0]})", i) from None
        except RecursionError:
            raise self._fail("a value nested too deeply", i) from None

    def _key(self, i: int) -> tuple[str, int]:
        key, i = self._value(i)
        if not isinstance(key, str):
            raise self._fail("expected a member name", i)
        i = _skip(self.text, i)
        if not self.text.startswith(":", i):
            raise _Cut() if self.cut and i >= len(self.text) else self._fail("expected ':'", i)
        return key, _skip(self.text, i + 1)

    def _next(self, i: int, close: str) -> int:
        """After a member or element: past a ',' or up to ``close``."""
        i = _skip(self.text, i)
        if self.text.startswith(",", i):
            return _skip(self.text, i + 1)
        if self.text.startswith(close, i):
            return i
        if self.cut and i >= len(self.text):
            raise _Cut()
        raise self._fail(f"expected ',' or '{close}'", i)

    def entries(self) -> Iterator[Any]:
        """The entries, one at a time."""
        try:
            yield from self._walk()
        except _Cut:
            self.ended_early = True

    def _walk(self) -> Iterator[Any]:
        t = self.text
        i = _skip(t, 0)
        if t.startswith("\ufeff", i):
            i = _skip(t, i + 1)
        if not t.startswith("{", i):
            raise self._fail("expected an object", i)
        i = _skip(t, i + 1)
        while not t.startswith("}", i):
            key, i = self._key(i)
            if key != "log":
                i = self._next(self._value(i)[1], "}")
                continue
            if not t.startswith("{", i):
                raise self._fail("'log' is not an object", i)
            i = _skip(t, i + 1)
            while not t.startswith("}", i):
                name, i = self._key(i)
                if name == "entries" and t.startswith("[", i):
                    self.found_entries = True
                    end = yield from self._entries(i)
                    if end is None:
                        return
                    i = end
                else:
                    self.log[name], i = self._value(i)
                i = self._next(i, "}")
            return
        raise self._fail("no 'log' member", i)

    def _entries(self, i: int) -> Iterator[Any]:
        t = self.text
        i = _skip(t, i + 1)
        count = 0
        while not t.startswith("]", i):
            if count >= self.cap:
                self.more_entries = True
                return None
            value, i = self._value(i)
            count += 1
            yield value
            i = self._next(i, "]")
        return i + 1


def _headers(raw: Any) -> dict[str, str]:
    """HAR ``[{name, value}]`` as lower-case names; repeats joined with ", "; HTTP/2
    pseudo-headers (``:authority``) left out."""
    out: dict[str, str] = {}
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("name", "")).strip().lower()
        if not name or name.startswith(":"):
            continue
        value = item.get("value")
        text = "" if value is None else str(value)
        out[name] = f"{out[name]}, {text}" if name in out else text
    return out


def _b64(text: str) -> bytes | None:
    for candidate in (text, "".join(text.split())):  # line-wrapped base64 too
        try:
            return base64.b64decode(candidate, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def _post_body(post: Any) -> bytes | None:
    if not isinstance(post, Mapping):
        return None
    text = post.get("text")
    if not isinstance(text, str):
        return None
    if str(post.get("encoding", "")).lower() == "base64":
        decoded = _b64(text)
        if decoded is not None:
            return decoded
    return text.encode("utf-8", "surrogateescape")


def _content_bytes(content: Mapping[str, Any], headers: dict[str, str], notes: list[str]) -> bytes:
    """The stored bytes of ``content.text`` (still content-encoded when the tool kept them so)."""
    text = content.get("text")
    if not isinstance(text, str):
        return b""
    if str(content.get("encoding", "")).lower() != "base64":
        return text.encode("utf-8", "surrogateescape")
    stripped = text.lstrip()
    if stripped.startswith("[") and headers.get("content-encoding"):
        # Polly.js: a content-encoded answer is kept as a JSON array of base64 chunks.
        try:
            chunks = json.loads(stripped)
        except (ValueError, RecursionError):
            chunks = None
        if isinstance(chunks, list) and all(isinstance(c, str) for c in chunks):
            parts = [_b64(c) for c in chunks]
            if all(p is not None for p in parts):
                notes.append(f"the body was stored as {len(parts)} base64 chunk(s) (Polly.js)")
                return b"".join(p for p in parts if p is not None)
    decoded = _b64(text)
    if decoded is None:
        notes.append("content.encoding is base64 but the text is not base64; judged as text")
        return text.encode("utf-8", "surrogateescape")
    return decoded


def _number(value: Any) -> int:
    """A HAR size field as an int (-1, missing or not a number: 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return max(int(min(value, 1 << 62)), 0)


def _comments(*objects: Mapping[str, Any]) -> str | None:
    """The objects' ``comment``s when one says the body was cut (None otherwise)."""
    said = [str(o["comment"]) for o in objects if o.get("comment")]
    if any(_TRUNCATION_WORDS.search(c) for c in said):
        return "; ".join(said)[:200]
    return None


def _request_not_kept(req: Mapping[str, Any], body: bytes | None) -> str | None:
    """Why the stored request body is not the whole request (None when it is)."""
    post = req.get("postData")
    post = post if isinstance(post, Mapping) else {}
    said = _comments(req, post)
    if said:
        return f"{NOT_JUDGED_TRUNCATED} (the request: {said})"
    size = _number(req.get("bodySize"))
    stored = len(body or b"")
    if size and body is None:
        return f"{NOT_JUDGED_NO_BODY} (the request: bodySize {size}, no postData.text)"
    if size > max(stored, len(str(post.get("text", "")).encode("utf-8", "surrogateescape"))):
        return f"{NOT_JUDGED_TRUNCATED} (the request: bodySize {size} bytes, {stored} stored)"
    return None


def _response_not_kept(
    entry: Mapping[str, Any],
    resp: Mapping[str, Any],
    content: Mapping[str, Any],
    headers: dict[str, str],
    kept: int,
) -> str | None:
    """Why the stored answer is not the whole answer (None when it is). ``kept``: the most
    bytes the stored body amounts to (as stored, decoded, or decompressed)."""
    said = _comments(content, resp, entry)
    if said:
        return f"{NOT_JUDGED_TRUNCATED} ({said})"
    size = _number(content.get("size"))
    length = headers.get("content-length", "")
    declared = int(length) if length.strip().isdigit() and len(length) < 19 else 0
    if not isinstance(content.get("text"), str) and (size or declared):
        return f"{NOT_JUDGED_NO_BODY} (content.size {size}, no content.text)"
    if size > kept:
        return f"{NOT_JUDGED_TRUNCATED} (content.size {size} bytes, {kept} bytes stored)"
    if kept == 0 and declared:
        return f"{NOT_JUDGED_NO_BODY} (Content-Length {declared}, an empty content.text)"
    return None


def _status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        status = int(value)
    except (TypeError, ValueError):
        return None
    return status if 100 <= status <= 999 else None  # HAR tools write 0 for "no answer"


def _interaction(index: int, entry: Any) -> Interaction | None:
    if not isinstance(entry, Mapping):
        return None
    req = entry.get("request")
    resp = entry.get("response")
    if not isinstance(req, Mapping):
        return None
    if not isinstance(resp, Mapping):
        resp = {}
    method = str(req.get("method", "")).upper()
    inter = Interaction(
        index=index,
        method=method,
        uri=str(req.get("url") or ""),
        request_headers=_headers(req.get("headers")),
        request_body=None,
        status=_status(resp.get("status")),
        response_headers=_headers(resp.get("headers")),
        response_body=b"",
        recorded_at=str(entry["startedDateTime"]) if entry.get("startedDateTime") else None,
    )
    if not (inter.is_generation or method == "GET"):
        return inter  # kept for the count; its bodies are never read
    inter.request_body = _post_body(req.get("postData"))
    content = resp.get("content")
    if not isinstance(content, Mapping):
        content = {}
    reasons = [_request_not_kept(req, inter.request_body)] if inter.is_generation else []
    if inter.status is None:
        error = resp.get("_error") or entry.get("_error")
        if error:
            inter.notes.append(f"the recorder saw no answer: {str(error)[:200]}")
    else:
        stored = _content_bytes(content, inter.response_headers, inter.notes)
        try:
            inter.response_body = _decode_body(stored, inter.response_headers, inter.notes)
        except CassetteError as exc:  # a body past the decompression cap: this entry only
            reasons.append(str(exc))
            inter.response_body = stored
        text = content.get("text")
        kept = max(
            len(stored),
            len(inter.response_body),
            len(text.encode("utf-8", "surrogateescape")) if isinstance(text, str) else 0,
        )
        reasons.append(_response_not_kept(entry, resp, content, inter.response_headers, kept))
    inter.not_judged = next((r for r in reasons if r), None)
    return inter


def _creator(log: Mapping[str, Any]) -> str:
    creator = log.get("creator")
    if not isinstance(creator, Mapping):
        return FORMAT
    name = str(creator.get("name") or "").strip()[:60]
    version = str(creator.get("version") or "").strip()[:30]
    return f"{FORMAT} ({name} {version})".replace(" )", ")") if name else FORMAT


def har_cassette(path: Path, entries: Iterable[Any], log: Mapping[str, Any]) -> Cassette:
    """A :class:`Cassette` of the entries (read lazily; ``log`` filled while reading)."""
    interactions: list[Interaction] = []
    unreadable = 0
    for i, entry in enumerate(entries):
        inter = _interaction(i, entry)
        if inter is None:
            unreadable += 1
        else:
            interactions.append(inter)
    cassette = Cassette(path=path, format=_creator(log), interactions=interactions)
    if unreadable:
        cassette.notes.append(f"{unreadable} entr(y/ies) without a request object were skipped")
    return cassette


def load_har(path: str | Path) -> Cassette:
    """Read a HAR file (plain, gzip or zlib), within :data:`MAX_HAR_BYTES` and
    :data:`MAX_HAR_ENTRIES`; raises CassetteError when it is not one."""
    p = Path(path)
    raw, cut = read_har_bytes(p)
    text = raw.decode("utf-8", errors="replace")
    del raw
    if not text.strip():
        raise CassetteError(f"{p} is empty")
    scan = HarScan(text, p.name, cut=cut)
    cassette = har_cassette(p, scan.entries(), scan.log)
    if not scan.found_entries and not scan.ended_early:
        raise CassetteError(f"{p} is not a HAR file: 'log' has no 'entries' list")
    if scan.more_entries:
        cassette.notes.append(
            f"only the first {MAX_HAR_ENTRIES:,} entries were read (the cap on entries per file)"
        )
    if scan.ended_early:
        cassette.notes.append(
            f"only the first {_size(MAX_HAR_BYTES)} of the file were read (the size cap): "
            f"{len(cassette.interactions)} complete entries"
        )
    return cassette


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def har_from_data(path: Path, data: Mapping[str, Any]) -> Cassette:
    """A :class:`Cassette` of HAR data already parsed (``{"log": {...}}``)."""
    log = data.get("log")
    if not isinstance(log, Mapping) or not isinstance(log.get("entries"), list):
        raise CassetteError(f"{path} is not a HAR file: 'log' has no 'entries' list")
    entries = log["entries"]
    cassette = har_cassette(path, entries[:MAX_HAR_ENTRIES], log)
    if len(entries) > MAX_HAR_ENTRIES:
        cassette.notes.append(
            f"only the first {MAX_HAR_ENTRIES:,} of {len(entries):,} entries were read "
            "(the cap on entries per file)"
        )
    return cassette


__all__ = [
    "HAR_SUFFIXES",
    "HAR_VERSION",
    "MAX_HAR_BYTES",
    "MAX_HAR_ENTRIES",
    "NOT_JUDGED_NO_BODY",
    "NOT_JUDGED_TRUNCATED",
    "ExchangeLike",
    "HarWriter",
    "har_entry",
    "har_from_data",
    "load_har",
    "looks_like_har",
    "merge_har_files",
    "write_har",
]
