"""Run the app with uvicorn in a background thread (for tests, the suite and mocks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette

from images_conformance._listening import bind_tcp, http_origin

from ._app import API_PREFIX, create_app


class ServerThread:
    """The reference server on ``host`` (a free port unless ``port`` is given), in a thread.

    ``start()`` returns once the server accepts connections (or raises RuntimeError
    after ``startup_timeout`` seconds); ``stop()`` shuts it down and joins the thread.
    Keyword arguments other than the ones below go to :func:`create_app`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app: Starlette | None = None,
        startup_timeout: float = 10.0,
        log_level: str = "warning",
        **create_app_kwargs: Any,
    ) -> None:
        if app is not None and create_app_kwargs:
            raise TypeError("pass either app or create_app arguments, not both")
        self.app = app if app is not None else create_app(**create_app_kwargs)
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self._config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def origin(self) -> str:
        """``http://host:port``."""
        return http_origin(self.host, self.port)

    @property
    def base_url(self) -> str:
        """The API base URL clients use, e.g. ``http://127.0.0.1:54321/v1``."""
        return self.origin + API_PREFIX

    def start(self) -> ServerThread:
        """Start serving; return self once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the server was already started")
        sock = bind_tcp(self.host, self.port)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"reference-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._close_socket()
                raise RuntimeError("the reference server thread exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the reference server did not start within {self.startup_timeout} s"
                )
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to exit and join its thread (forcing exit after ``timeout``)."""
        thread = self._thread
        if thread is None:
            return
        self._server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            self._server.force_exit = True
            thread.join(timeout)
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running_server(**create_app_kwargs: Any) -> Iterator[ServerThread]:
    """Run the reference server on a free 127.0.0.1 port for the ``with`` block.

    Yields the :class:`ServerThread`; use its ``base_url`` (``http://127.0.0.1:N/v1``).
    Accepts :func:`create_app`'s keyword arguments (and ServerThread's ``host``/``port``).
    """
    server = ServerThread(**create_app_kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
