"""A free TCP port on 127.0.0.1 for the tests' own servers (or a closed one to refuse)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (the OS picked it, then it was released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
