"""The validating proxy: forwards traffic to an upstream and judges every exchange.

Public API::

    ProxyConfig(upstream, *, profile=..., enforce=False, fetch_urls=False, ...)
    ValidatingProxy(config, *, host="127.0.0.1", port=0, out=None)  # .start()/.stop(), .serve()
    create_proxy_app(config, on_exchange) -> Starlette

Run it with ``images-conformance proxy --upstream URL`` (see docs/proxy.md).
"""

from ._config import ProxyConfig, ProxyConfigError
from ._forward import create_proxy_app
from ._observed import Observed
from ._server import ValidatingProxy

__all__ = ["Observed", "ProxyConfig", "ProxyConfigError", "ValidatingProxy", "create_proxy_app"]
