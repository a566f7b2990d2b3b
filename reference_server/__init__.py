"""A conformant reference server for the OpenAI-compatible ``POST /images/generations``.

The embedded default target of the conformance suite, a mock for client developers,
and the suite's positive control. Public API::

    create_app(*, api_key=None, profile=None, url_ttl=3600, max_stored_images=512) -> Starlette
    running_server(**create_app_kwargs)  # context manager -> ServerThread (.base_url)
    ServerThread(**create_app_kwargs).start() / .stop()

Run it with ``images-conformance serve`` or ``python -m reference_server``.
"""

from ._app import MAX_BODY_BYTES, create_app
from ._server import ServerThread, running_server

__all__ = ["MAX_BODY_BYTES", "ServerThread", "create_app", "running_server"]
