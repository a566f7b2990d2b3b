"""The listening socket a server of the project runs on, and the origin clients reach it at.

The reference server and the validating proxy both bind their socket here (then hand it
to uvicorn), so both listen the same way.
"""

from __future__ import annotations

import socket


def bind_tcp(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), not yet listening.

    IPv6 when ``host`` has a colon. SO_REUSEADDR is set. The socket says IPPROTO_TCP:
    asyncio sets TCP_NODELAY on accepted connections only when the listening socket
    says TCP, and without it every answer waits ~40 ms (Nagle's algorithm against
    delayed ACKs). On a bind failure the socket is closed and the OSError raised.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def http_origin(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets."""
    return f"http://{url_host(host)}:{port}"
