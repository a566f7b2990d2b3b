"""A running validating proxy: the forwarding app under uvicorn, the judge, what was seen."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from .._listening import bind_tcp, http_origin
from ._config import ProxyConfig
from ._forward import create_proxy_app
from ._judging import JudgeWorker
from ._observed import Observed
from ._report import build_proxy_report, write_proxy_report
from ._seen import Seen


class ValidatingProxy:
    """The proxy on ``host:port`` (a free port when 0): forwards to ``config.upstream``,
    judges every exchange with ``POST .../images/generations``.

    ``start()``/``stop()`` run it in a background thread (tests, embedding); ``serve()``
    runs it in the calling (main) thread until Ctrl-C or SIGTERM. ``out`` receives one
    line per judged exchange. ``recorder``, when given, is called with every exchange
    (for a HAR file).
    """

    def __init__(
        self,
        config: ProxyConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        out: TextIO | None = None,
        recorder: Any = None,
        log_level: str = "warning",
    ) -> None:
        self.config = config
        self.host = host
        self.port = port
        self.seen = Seen(
            config.profile, out, origin=config.upstream_origin, max_bytes=config.max_judged_bytes
        )
        self.judge = JudgeWorker(config, self.seen.record)
        self.recorder = recorder
        self.app = create_proxy_app(config, self._on_exchange)
        self.forwarder = self.app.state.forwarder
        self._config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,  # a query string may carry a key
            lifespan="on",
            server_header=False,  # the upstream's Server and Date headers pass through
            date_header=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.signalled: int | None = None
        self.abandoned = 0
        """Exchanges left unjudged because a second Ctrl-C cut the final judging short."""

    # -- the exchanges -------------------------------------------------------------------
    def _on_exchange(self, obs: Observed) -> None:
        if self.recorder is not None:
            try:
                self.recorder.add(obs)
            except Exception as exc:  # recording must never break forwarding
                print(f"images-conformance proxy: cannot record an exchange: {exc!r}")
        if obs.generations:
            self.judge.submit(obs)
        else:
            self.seen.forwarded(obs)

    # -- where ---------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return http_origin(self.host, self.port)

    @property
    def base_url(self) -> str:
        """The base URL the application uses: the proxy's origin and the upstream's path."""
        return self.origin + self.config.upstream_path

    def _bind(self) -> socket.socket:
        sock = bind_tcp(self.host, self.port)
        self.port = sock.getsockname()[1]
        return sock

    # -- in a thread ---------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> ValidatingProxy:
        """Serve in a background thread; return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the proxy was already started")
        self.judge.start()
        self._socket = self._bind()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"validating-proxy-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the validating proxy did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop serving, judge what is still queued; True when everything was judged."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        return self.judge.close(timeout=max(timeout, 30.0))

    def wait_judged(self, timeout: float = 30.0) -> bool:
        """Wait until no request is in progress and every exchange is judged."""
        deadline = time.monotonic() + timeout
        while self.forwarder.in_flight or self.judge.backlog():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def __enter__(self) -> ValidatingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- in the main thread --------------------------------------------------------------
    def serve(self, on_ready: Any = None) -> None:
        """Serve until Ctrl-C or SIGTERM, then judge what is queued (the caller reports)."""

        def note(sig: int, frame: Any) -> None:
            self.signalled = sig

        previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.judge.start()
            sock = self._bind()
            if on_ready is not None:
                _announce_when_started(self._server, on_ready)
            try:
                self._server.run(sockets=[sock])
            finally:
                sock.close()
            # judging what is queued may take a while: a second Ctrl-C abandons it
            signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                self.judge.close(timeout=60.0)
            except KeyboardInterrupt:
                self.abandoned = self.judge.abandon()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    # -- what was seen -------------------------------------------------------------------
    def secrets(self) -> list[str]:
        """The secret header values seen (to scrub any output with)."""
        return list(self.forwarder.secrets)

    def report(self, profile_path: str | None = None) -> dict[str, Any]:
        """The conformance report of the traffic seen so far."""
        return build_proxy_report(
            self.seen.snapshot(),
            self.config,
            profile_path=profile_path,
            secrets=self.secrets(),
            judge=self.judge_stats(),
        )

    def judge_stats(self) -> dict[str, Any]:
        """How much judging cost: exchanges judged, CPU seconds, CPU per exchange."""
        judged, cpu = self.judge.judged, self.judge.cpu_seconds
        return {
            "in": self.config.judge_in,
            "judged": judged,
            "cpu_s": round(cpu, 4),
            "cpu_ms_per_exchange": round(cpu / judged * 1000, 2) if judged else None,
            "dropped": self.judge.dropped,
        }

    def write_report(self, path: str | Path, profile_path: str | None = None) -> list[Path]:
        return write_proxy_report(self.report(profile_path), path)


def _announce_when_started(server: uvicorn.Server, on_ready: Any) -> None:
    def wait() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        if server.started:
            on_ready()

    threading.Thread(target=wait, name="proxy-ready", daemon=True).start()
