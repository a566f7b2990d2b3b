"""A deliberately hostile OpenAI-images server (stdlib only), one misbehaviour per mode.

Used by tests/test_hostile.py and bench/hostile_bench.py: the suite is run against each
mode with a canary API key and must end by itself, with an honest exit status, one clear
finding, and the canary nowhere in its output. Every answer is generated lazily (a 2 GiB
answer or an 8 GiB gzip bomb never exists in memory here either).

    with hostile_server("gzip-bomb-generations") as server:
        server.base_url  # http://127.0.0.1:PORT/v1
        server.counts    # requests seen per kind ("generations", "models", "image", ...)
        server.authorizations  # the Authorization headers received

``python -m hostile MODE`` (from tests/) serves one mode until interrupted.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A 1x1 PNG: what the "normal" answers carry (it does not have the asked size: a finding).
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
GiB = 1024**3
MiB = 1024**2
EVENT_INTERVAL = 0.05
ITEMS = 1_000_000
DEPTH = 1_000_000


def _bomb_block() -> bytes:
    """1 MiB of zeros, deflated, ending in a full flush: repeated, it is a valid deflate stream."""
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(b"\0" * MiB) + c.flush(zlib.Z_FULL_FLUSH)


_BLOCK = _bomb_block()
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def gzip_bomb_parts(inflated: int = 8 * GiB) -> tuple[int, Iterator[bytes]]:
    """(length, chunks) of a gzip stream that inflates to ``inflated`` zero bytes (its
    trailer is not valid: nobody is meant to get that far)."""
    blocks = inflated // MiB
    final = b"\x03\x00"  # an empty final fixed-Huffman block
    trailer = b"\0" * 8
    length = len(_GZIP_HEADER) + blocks * len(_BLOCK) + len(final) + len(trailer)

    def chunks() -> Iterator[bytes]:
        yield _GZIP_HEADER
        for _ in range(blocks // 64):
            yield _BLOCK * 64
        for _ in range(blocks % 64):
            yield _BLOCK
        yield final + trailer

    return length, chunks()


def gzip_bomb_bytes(inflated: int) -> bytes:
    """The whole of a (smaller) gzip bomb, for recording files."""
    return b"".join(gzip_bomb_parts(inflated)[1])


MODES = (
    "endless-sse",
    "huge",
    "gzip-bomb-models",
    "gzip-bomb-generations",
    "many-items-url",
    "many-items-b64",
    "deep-json",
    "echo-key",
    "control-bytes",
    "stall-after-headers",
    "lying-length",
    "redirect-loop",
    "never-answers",
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    mode: str
    stopping: threading.Event
    counts: dict[str, int]
    authorizations: set[str]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing ---------------------------------------------------------------------------
    def _count(self, kind: str) -> None:
        with self.server.lock:
            self.server.counts[kind] = self.server.counts.get(kind, 0) + 1
            auth = self.headers.get("Authorization")
            if auth:
                self.server.authorizations.add(auth)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 16 * MiB)) if length > 0 else b""

    def _head(
        self, status: int, ctype: str, length: int | None, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", **extra: str
    ) -> None:
        self._head(status, ctype, len(body), extra)
        self.wfile.write(body)

    def _stream_chunks(self, chunks: Iterator[bytes]) -> None:
        for chunk in chunks:
            if self.server.stopping.is_set():
                return
            self.wfile.write(chunk)

    def _wait(self) -> None:
        """Hold the connection open until the client leaves or the server stops."""
        self.wfile.flush()
        self.connection.settimeout(0.2)
        while not self.server.stopping.is_set():
            try:
                if self.connection.recv(1) == b"":
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def _normal(self) -> None:
        answer = {
            "created": int(time.time()),
            "data": [{"b64_json": base64.b64encode(PNG_1X1).decode()}],
        }
        self._send(200, json.dumps(answer).encode())

    # -- routing ------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        raw = self._body()
        path = self.path.split("?", 1)[0]
        kind = (
            "models" if path.endswith("/models") else "image" if "/img/" in path else "generations"
        )
        self._count(kind)
        try:
            getattr(self, "_mode_" + self.server.mode.replace("-", "_"))(kind, method, raw)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    # -- the modes ------------------------------------------------------------------------------
    def _mode_endless_sse(self, kind: str, method: str, raw: bytes) -> None:
        self._head(200, "text/event-stream", None, {"Connection": "close"})
        self.close_connection = True
        i = 0
        while not self.server.stopping.is_set():
            event = {
                "type": "image_generation.partial_image",
                "partial_image_index": i,
                "b64_json": "AAAA",
            }
            self.wfile.write(
                f"event: image_generation.partial_image\ndata: {json.dumps(event)}\n\n".encode()
            )
            self.wfile.flush()
            i += 1
            time.sleep(EVENT_INTERVAL)

    def _mode_huge(self, kind: str, method: str, raw: bytes) -> None:
        size = 2 * GiB
        head = b'{"created": 1, "data": [{"b64_json": "'
        tail = b'"}]}'
        self._head(200, "application/json", size)
        filler = b"A" * MiB
        left = size - len(head) - len(tail)

        def chunks() -> Iterator[bytes]:
            nonlocal left
            yield head
            while left > 0:
                piece = filler[: min(left, MiB)]
                left -= len(piece)
                yield piece
            yield tail

        self._stream_chunks(chunks())

    def _gzip_bomb(self) -> None:
        length, chunks = gzip_bomb_parts()
        self._head(200, "application/json", length, {"Content-Encoding": "gzip"})
        self._stream_chunks(chunks)

    def _mode_gzip_bomb_models(self, kind: str, method: str, raw: bytes) -> None:
        self._gzip_bomb() if kind == "models" else self._normal()

    def _mode_gzip_bomb_generations(self, kind: str, method: str, raw: bytes) -> None:
        self._gzip_bomb() if kind == "generations" else self._send(200, b'{"data": []}')

    def _many_items(self, item: bytes) -> None:
        head, sep, tail = b'{"created": 1, "data": [', b", ", b"]}"
        length = len(head) + ITEMS * len(item) + (ITEMS - 1) * len(sep) + len(tail)
        self._head(200, "application/json", length)

        def chunks() -> Iterator[bytes]:
            yield head
            batch = sep.join([item] * 10_000)
            for i in range(ITEMS // 10_000):
                yield (sep if i else b"") + batch
            yield tail

        self._stream_chunks(chunks())

    def _mode_many_items_url(self, kind: str, method: str, raw: bytes) -> None:
        if kind == "image":
            self._send(200, PNG_1X1, "image/png")
            return
        if kind != "generations":
            self._send(200, b'{"data": []}')
            return
        host = self.headers.get("Host", "127.0.0.1")
        self._many_items(json.dumps({"url": f"http://{host}/v1/img/1.png"}).encode())

    def _mode_many_items_b64(self, kind: str, method: str, raw: bytes) -> None:
        if kind != "generations":
            self._send(200, b'{"data": []}')
            return
        self._many_items(json.dumps({"b64_json": base64.b64encode(PNG_1X1).decode()}).encode())

    def _mode_deep_json(self, kind: str, method: str, raw: bytes) -> None:
        if kind != "generations":
            self._send(200, b'{"data": []}')
            return
        self._send(200, b"[" * DEPTH + b"]" * DEPTH)

    def _mode_echo_key(self, kind: str, method: str, raw: bytes) -> None:
        auth = self.headers.get("Authorization") or "none"
        key = auth.removeprefix("Bearer ")
        echo = {"X-Echo-Key": key, "WWW-Authenticate": f'Bearer realm="{key}"'}
        try:
            asked = json.loads(raw) if raw else {}
        except ValueError:
            asked = {}
        if kind == "generations" and isinstance(asked, dict) and asked.get("stream") is True:
            self._head(200, "text/event-stream", None, {**echo, "Connection": "close"})
            self.close_connection = True
            event = {
                "type": "image_generation.completed",
                "b64_json": "AAAA",
                "size": key,
                "quality": key,
            }
            self.wfile.write(
                f"event: image_generation.completed\ndata: {json.dumps(event)}\n\n".encode()
            )
            return
        error = {
            "error": {
                "message": f"Incorrect API key provided: {key}",
                "type": key,
                "param": key,
                "code": key,
            }
        }
        status = 200 if kind == "models" else 400
        self._send(status, json.dumps(error).encode(), **echo)

    def _mode_control_bytes(self, kind: str, method: str, raw: bytes) -> None:
        nasty = b"\x00\x1b[2J\x1b[31mOWNED\x1b[0m\x07\x00\x9b6n"
        if kind == "generations":
            body = json.dumps(
                {
                    "error": {
                        "message": "x\x00\x1b[2Jy",
                        "type": "x",
                        "param": "\x1b]0;t\x07",
                        "code": None,
                    }
                }
            ).encode()
            self._send(400 if b'"stream": true' not in raw else 200, nasty * 10 + body)
        else:
            self._send(200, nasty)

    def _mode_stall_after_headers(self, kind: str, method: str, raw: bytes) -> None:
        self._head(200, "application/json", 1000)
        self.close_connection = True
        self._wait()

    def _mode_lying_length(self, kind: str, method: str, raw: bytes) -> None:
        if kind == "models":
            self._send(200, b'{"data": []}')
            return
        self._head(200, "application/json", 100_000)
        self.wfile.write(b'{"created": 1, "data": [')
        self.close_connection = True

    def _mode_redirect_loop(self, kind: str, method: str, raw: bytes) -> None:
        self._send(307, b"", "text/plain", Location=self.path)

    def _mode_never_answers(self, kind: str, method: str, raw: bytes) -> None:
        self.close_connection = True
        self._wait()


class HostileServer:
    """One mode served on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.mode = mode
        self._httpd.stopping = threading.Event()
        self._httpd.counts = {}
        self._httpd.authorizations = set()
        self._httpd.lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def counts(self) -> dict[str, int]:
        with self._httpd.lock:
            return dict(self._httpd.counts)

    @property
    def authorizations(self) -> set[str]:
        """The Authorization header values received."""
        with self._httpd.lock:
            return set(self._httpd.authorizations)

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def hostile_server(mode: str) -> Iterator[HostileServer]:
    """The server of ``mode``, stopped on exit."""
    server = HostileServer(mode).start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":  # pragma: no cover - manual use
    with hostile_server(sys.argv[1]) as s:
        print(s.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
