"""Shared fixtures of the project's own tests. Each owner keeps a section."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# --- hypothesis ----------------------------------------------------------------------------
# In CI (CI=true) the property tests draw the same examples on every run, so a verdict
# never flaps; locally they explore new ones each run.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# --- reference server (issue 3) ----------------------------------------------------------


@pytest.fixture(scope="session")
def ref_server() -> Iterator[object]:
    """The reference server with OpenAI's default profile and no auth, on a free port.

    Yields a ``reference_server.ServerThread``; its ``base_url`` ends in ``/v1``.
    """
    from reference_server import running_server

    with running_server() as server:
        yield server


# --- conformance suite runs (issue 4) ----------------------------------------------------
# pytester runs the suite in-process against the reference server and broken variants.
pytest_plugins = ["pytester"]


@pytest.fixture
def suite_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No target settings leak in from the environment into a suite run."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
