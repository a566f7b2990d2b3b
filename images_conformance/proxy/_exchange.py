"""The proxy's captured exchange (:class:`Observed`) as the project's ``Exchange``, for the
pieces that take one: the HAR writer and the report's evidence."""

from __future__ import annotations

from images_conformance.exchanges._exchange import Exchange

from ._judging import NotJudged, decoded_body
from ._observed import Observed


def to_exchange(obs: Observed, origin: str, max_bytes: int) -> Exchange:
    """``obs`` as an ``Exchange`` sent to ``origin`` (the upstream's ``scheme://host``):
    its answer decoded as the client got it (at most ``max_bytes``), secrets already
    masked at capture."""
    url = origin + obs.path + (f"?{obs.query}" if obs.query else "")
    headers = {k.lower(): v for k, v in obs.response_headers}
    body = obs.response_body
    truncated, cut = False, None
    if body is None:
        body, truncated, cut = b"", True, "over the proxy's judging cap: not kept"
    else:
        try:
            body = decoded_body(body, headers.get("content-encoding"), max_bytes)
        except NotJudged as exc:  # kept as forwarded, with the encoding it claims
            cut = str(exc)
        else:
            headers.pop("content-encoding", None)
            if len(body) > max_bytes:
                body, truncated, cut = body[:max_bytes], True, "over the proxy's judging cap"
    return Exchange(
        method=obs.method,
        url=url,
        request_headers={k: v for k, v in obs.request_headers},
        request_body=obs.request_body,
        status=obs.status,
        headers=headers,
        body=body,
        truncated=truncated,
        cut=cut,
        elapsed=obs.duration_ms / 1000.0,
        sent_at=obs.started,
        error=obs.error,
    )
