"""Limits on what is read from a target or a recording: time, bytes, stream events, JSON depth.

One place decides how much of anything the suite reads, so that a hostile or broken
server (or recording file) ends as a finding, never as a stuck run, a run out of memory
or a traceback:

- :class:`Limits`: the numbers (documented defaults, set from the suite's options);
- :class:`Deadline`: the total time of one exchange (connect + headers + body + stream);
  when it passes, the exchange's connection is shut down, whatever it was waiting on;
- :func:`read_body`: reads an httpx streaming response through httpx's own incremental
  decoding (gzip, deflate, and br/zstd when their packages are installed), counting the
  *decoded* bytes and the stream's events, and stops at the first limit reached;
- :func:`parse_json`: refuses JSON deeper than ``max_json_depth``, or holding more than
  ``max_json_values`` values, before parsing it;
- :func:`inflate`: a bounded gzip/zlib decompressor for recorded bodies and files;
- :class:`RunBudget`: an optional overall time budget for a whole run.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024

DEFAULT_DEADLINE = 60.0
"""Seconds one exchange may take in all (connect, headers, whole body or stream)."""
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 64 * MB
"""Decoded bytes read of one answer (after gzip/deflate/br decoding)."""
DEFAULT_MAX_EVENTS = 1000
"""Server-sent events read of one stream (a conformant stream has at most n * 4 events)."""
DEFAULT_MAX_JSON_DEPTH = 256
"""Nesting of JSON arrays and objects parsed (a conformant answer nests 4 levels)."""
DEFAULT_MAX_JSON_VALUES = 3_000_000
"""Values (arrays, objects, strings, numbers, ...; keys not counted) of one JSON text
parsed: each costs the parser up to about 100 bytes of memory, so this bounds one parse
at about 300 MB whatever the text holds. A conformant answer holds fewer than 100; a
``data`` array of 1,000,000 urls (2,000,000 values) is still parsed, and judged on its
first items."""
DEFAULT_MAX_RECORDING_BYTES = 128 * MB
"""A recording file (after gunzip), and the whole of its YAML once aliases are expanded."""


class LimitExceeded(ValueError):
    """Input past a limit: the message is the finding (one line)."""


class BudgetExhausted(Exception):
    """The run's overall time budget is spent: what is left is not exercised."""


@dataclass(frozen=True)
class Limits:
    """How much of one exchange is read (see the module docstring; docs/suite.md)."""

    deadline: float = DEFAULT_DEADLINE
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    max_events: int = DEFAULT_MAX_EVENTS
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_json_values: int = DEFAULT_MAX_JSON_VALUES
    max_recording_bytes: int = DEFAULT_MAX_RECORDING_BYTES

    def __post_init__(self) -> None:
        for name in (
            "deadline",
            "connect_timeout",
            "max_bytes",
            "max_events",
            "max_json_depth",
            "max_json_values",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive; got {getattr(self, name)!r}")

    def timeout(self, remaining: float) -> Any:
        """The httpx timeouts of one exchange with ``remaining`` seconds left (no single
        wait longer than what is left)."""
        import httpx

        left = max(0.001, remaining)
        return httpx.Timeout(left, connect=min(self.connect_timeout, left))


def size_text(n: int) -> str:
    """``64 MB`` / ``512 KB`` / ``100 bytes``."""
    if n >= MB and n % MB == 0:
        return f"{n // MB} MB"
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} bytes"


# -- time --------------------------------------------------------------------------------
class Deadline:
    """The end of one exchange. Used as a context manager around it: when the time is up,
    the connection (found through httpcore's ``trace`` extension, or on the response) is
    shut down, so a read blocked on a slow or silent target returns at once.

    Pass :meth:`trace` as ``extensions={"trace": deadline.trace}`` to httpx.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = max(0.0, seconds)
        self.at = time.monotonic() + self.seconds
        self.fired = False
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.at

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore trace hook: remember the network stream of a new connection."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self._adopt(info.get("return_value"))

    def watch(self, response: Any) -> None:
        """Also remember the network stream a response arrived on."""
        self._adopt(getattr(response, "extensions", {}).get("network_stream"))

    def _adopt(self, stream: Any) -> None:
        try:
            sock = stream.get_extra_info("socket") if stream is not None else None
        except Exception:
            sock = None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.fired
        if late:
            self._shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: Any) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self._timer = threading.Timer(max(0.0, self.remaining()), self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()


class RunBudget:
    """An overall time budget for a run (None: unlimited)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` once the budget is spent."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise BudgetExhausted(f"the run budget of {self.seconds:g} s (--run-budget) is spent")


# -- bytes and events ---------------------------------------------------------------------
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass
class Body:
    """What was read of one answer."""

    data: bytes
    cut: str | None = None
    """Why reading stopped before the end (a limit, or the deadline); None: read whole."""
    timed_out: bool = False
    """Reading stopped at the deadline."""
    events: int = 0
    """Server-sent events counted (streams only)."""


def read_body(response: Any, limits: Limits, deadline: Deadline, *, stream: bool = False) -> Body:
    """Read ``response`` (an httpx streaming response) within ``limits`` and ``deadline``.

    Bytes are counted after content decoding, as httpx's ``iter_bytes`` yields them, so
    a compression bomb stops at ``max_bytes`` ("the answer inflates past N MB"); brotli is
    decoded here in pieces of 1 MB at most (httpx inflates each network chunk whole). For an
    event stream (``stream``), at most ``max_events`` events are kept. Transport errors
    are raised (httpx's); a deadline that fired mid-read is reported in ``cut``.
    """
    import httpx

    deadline.watch(response)
    out = bytearray()
    events = 0
    tail = b""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    chunks = response.iter_bytes()
    if encoding == "br" and brotli_module() is not None:
        # httpx inflates each network chunk whole: a few KB of brotli can be gigabytes
        chunks = brotli_chunks(response.iter_raw(), error=httpx.DecodingError)
    try:
        for chunk in chunks:
            if stream:
                scan = tail + chunk
                for m in _EVENT_END.finditer(scan):
                    if m.end() <= len(tail):
                        continue
                    events += 1
                    if events >= limits.max_events:
                        out += scan[len(tail) : m.end()]
                        return Body(
                            bytes(out),
                            f"the stream was still going after {limits.max_events} events "
                            "(the event limit); it was cut there",
                            events=events,
                        )
                tail = scan[-3:]
            room = limits.max_bytes - len(out)
            if len(chunk) > room:
                out += chunk[:room]
                if encoding and encoding != "identity":
                    why = f"the answer inflates past {size_text(limits.max_bytes)} (Content-Encoding: {encoding[:40]})"
                else:
                    why = f"the answer is larger than {size_text(limits.max_bytes)}"
                return Body(bytes(out), f"{why}; only its start was read", events=events)
            out += chunk
            if deadline.expired():
                raise _Late()
        if deadline.fired:  # its connection was shut down: the end is not the answer's
            raise _Late()
    except (_Late, httpx.HTTPError, OSError):
        if not deadline.expired():
            raise
        what = "stream" if stream else "answer"
        return Body(
            bytes(out),
            f"the {what} was still arriving after {deadline.seconds:g} s (the exchange "
            f"deadline); {len(out)} bytes read",
            timed_out=True,
            events=events,
        )
    return Body(bytes(out), events=events)


class _Late(Exception):
    pass


def brotli_module() -> Any:
    """The brotli module, or None when it is not installed."""
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        return None
    return brotli


_BROTLI_SLICE = 16
"""Input bytes fed at a time to a brotli without an output limit (brotli < 1.2): 16 bytes
of brotli inflate to at most about 10 MB."""


def brotli_chunks(
    raw: Iterable[bytes], step: int = 1 * MB, *, error: type[Exception] = ValueError
) -> Iterator[bytes]:
    """The brotli stream ``raw`` decompressed, in pieces of about ``step`` bytes at most
    (a corrupt stream raises ``error``)."""
    brotli = brotli_module()
    d = brotli.Decompressor()
    try:
        d.process(b"", output_buffer_limit=step)
        limited = True
    except TypeError:
        limited = False
    try:
        for data in raw:
            if not limited:
                for i in range(0, len(data), _BROTLI_SLICE):
                    yield d.process(data[i : i + _BROTLI_SLICE])
                continue
            out = d.process(data, output_buffer_limit=step)
            yield out
            while not d.can_accept_more_data():
                yield d.process(b"", output_buffer_limit=step)
    except brotli.error as exc:
        raise error(f"the brotli stream does not decompress ({exc})") from None


def unbrotli(data: bytes, max_bytes: int, *, what: str = "it") -> bytes:
    """``data`` brotli-decompressed, never more than ``max_bytes``: past it,
    :class:`LimitExceeded`; a corrupt stream raises ``ValueError``."""
    out = bytearray()
    for piece in brotli_chunks([data]):
        out += piece
        if len(out) > max_bytes:
            raise LimitExceeded(f"{what} inflates past {size_text(max_bytes)}")
    return bytes(out)


# -- memory ------------------------------------------------------------------------------
COLLECT_AFTER_BYTES = 32 * MB
_read_since_collect = 0
_collect_lock = threading.Lock()


def release_read_bytes(new: int = 0) -> None:
    """Count ``new`` bytes read; once COLLECT_AFTER_BYTES were read since the last time,
    run the cyclic garbage collector. Finished exchanges are often kept in reference
    cycles (an exception's traceback holding the frame that held the exchange), and
    CPython collects those by counting objects, not bytes: without this, a few large
    bodies would pile up between its runs."""
    global _read_since_collect
    with _collect_lock:
        _read_since_collect += new
        due = _read_since_collect >= COLLECT_AFTER_BYTES
        if due:
            _read_since_collect = 0
    if due:
        gc.collect()


# -- JSON --------------------------------------------------------------------------------
_QUOTED = re.compile(rb'"[^"]*"')
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")


def _outside_strings(body: bytes, keep: bytes) -> bytes:
    """The bytes of ``keep`` (JSON punctuation) that the JSON text ``body`` holds outside
    its strings, in order: no parsing, no recursion."""
    # Escaped backslashes, then escaped quotes, out; then only quotes and ``keep`` kept,
    # and the strings (now only kept bytes between quotes) dropped.
    dropped = bytes(b for b in range(256) if b != ord('"') and b not in keep)
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, dropped)
    text = text.replace(b'""', b"")
    if b'"' in text:
        text = _QUOTED.sub(b"", text)
    return text.replace(b'"', b"")


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether the arrays and objects of the JSON text ``body`` nest deeper than
    ``max_depth``, found without parsing it (no recursion; string contents are skipped).
    Text that is not JSON may give either answer (parsing it then says what is wrong)."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    text = _outside_strings(body, b"[]{}").translate(_ONE_BRACKET_KIND)
    if b"[" * (max_depth + 1) in text:
        return True
    # Each pass removes the innermost level: more than max_depth passes, too deep.
    for _ in range(max_depth):
        shorter = text.replace(b"[]", b"")
        if not shorter or len(shorter) == len(text):
            return False  # done, or not balanced (not JSON: the parser says so)
        text = shorter
    return True


def json_values(body: bytes, at_most: int | None = None) -> int:
    """About how many values (keys not counted) the JSON text ``body`` holds, counted on
    its bytes without parsing it: one more than its commas and opening brackets outside
    strings (never fewer than it holds; an empty array or object counts 2). With
    ``at_most``, any answer above it may be returned as soon as the count is known to
    pass it (commas inside strings are then counted too)."""
    rough = body.count(b",") + body.count(b"[") + body.count(b"{") + 1
    if at_most is not None and rough <= at_most:
        return rough
    return len(_outside_strings(body, b"[{,")) + 1


def parse_json(body: bytes | str, limits: Limits | None = None) -> Any:
    """``body`` parsed as JSON, or :class:`LimitExceeded` / ``ValueError`` with a one-line
    reason (too large, nested too deeply, too many values, not JSON). Never a
    RecursionError."""
    limits = limits or Limits()
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if len(raw) > limits.max_bytes:
        raise LimitExceeded(
            f"the JSON text is larger than {size_text(limits.max_bytes)}; not parsed"
        )
    if json_depth_exceeds(raw, limits.max_json_depth):
        raise LimitExceeded(
            f"the JSON nests deeper than {limits.max_json_depth} levels; not parsed"
        )
    values = json_values(raw, limits.max_json_values)
    if values > limits.max_json_values:
        raise LimitExceeded(
            f"the JSON holds about {values:,} values, more than {limits.max_json_values:,} "
            "(the JSON value limit); not parsed"
        )
    try:
        return json.loads(body)
    except RecursionError:
        raise LimitExceeded("the JSON nests too deeply to parse") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"the body is not UTF-8 text ({exc.reason})") from None


# -- recordings --------------------------------------------------------------------------
GZIP_WBITS = 16 + zlib.MAX_WBITS
ZLIB_WBITS = zlib.MAX_WBITS
RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
_STEP = 1 * MB


def inflate(data: bytes, max_bytes: int, *, wbits: int = GZIP_WBITS, what: str = "it") -> bytes:
    """``data`` decompressed (gzip by default; every gzip member), never more than
    ``max_bytes``: past it, :class:`LimitExceeded` ("... inflates past N MB"); a corrupt
    stream raises ``zlib.error``."""
    out = bytearray()
    rest = data
    while True:
        d = zlib.decompressobj(wbits)
        buf = rest
        while buf:
            out += d.decompress(buf, min(_STEP, max_bytes + 1 - len(out)))
            if len(out) > max_bytes:
                raise LimitExceeded(f"{what} inflates past {size_text(max_bytes)}")
            buf = d.unconsumed_tail
            if d.eof:
                break
        if not d.eof:
            out += d.flush()
            if len(out) > max_bytes:
                raise LimitExceeded(f"{what} inflates past {size_text(max_bytes)}")
            if wbits == GZIP_WBITS:
                raise zlib.error("the compressed data is incomplete")
            return bytes(out)
        rest = d.unused_data
        if wbits != GZIP_WBITS or not rest.strip(b"\x00"):
            return bytes(out)


def check_yaml_expansion(root: Any, max_size: int) -> None:
    """Refuse a composed YAML document (PyYAML nodes) whose aliases would expand past
    ``max_size`` (characters of scalars plus one per node), or that refers to itself: a
    "billion laughs" file is refused here, before anything is constructed or expanded.
    Each distinct node is visited once."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    todo: list[tuple[Any, bool]] = [(root, False)]
    while todo:
        node, done = todo.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            if isinstance(node, yaml.ScalarNode):
                size = 1 + len(node.value)
            elif isinstance(node, yaml.SequenceNode):
                size = 1 + sum(sizes[id(c)] for c in node.value)
            else:
                size = 1 + sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            if size > max_size:
                raise LimitExceeded(
                    f"its YAML aliases expand past {size_text(max_size)} (an alias bomb?)"
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise LimitExceeded("its YAML refers to itself through an alias")
        open_nodes.add(key)
        todo.append((node, True))
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        todo.extend((c, False) for c in children if id(c) not in sizes)
