"""Shared fixtures of the project's own tests. Each owner keeps a section."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# --- reference server (issue 3) ----------------------------------------------------------


@pytest.fixture(scope="session")
def reference_server() -> Iterator[object]:
    """The reference server with OpenAI's default profile and no auth, on a free port.

    Yields a ``reference_server.ServerThread``; its ``base_url`` ends in ``/v1``.
    """
    from reference_server import running_server

    with running_server() as server:
        yield server
