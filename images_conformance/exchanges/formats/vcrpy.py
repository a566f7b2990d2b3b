"""vcrpy cassettes (``interactions``), including the older httpx layout
(``status_code`` / ``content``) and the pre-1.0 list of interactions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._cassettes import CassetteError, Interaction, _decode_body, _headers, _status, _to_bytes


def read_vcrpy(items: list[Any]) -> tuple[str, list[Interaction]]:
    out: list[Interaction] = []
    old = False
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CassetteError(f"interaction {i} is not a mapping")
        req = item.get("request") or {}
        resp = item.get("response") or {}
        if not isinstance(req, Mapping) or not isinstance(resp, Mapping):
            raise CassetteError(f"interaction {i} has no request/response mappings")
        notes: list[str] = []
        rheaders = _headers(resp.get("headers"))
        if "status_code" in resp or "content" in resp:
            old = True
            status = _status(resp.get("status_code"))
            body = _to_bytes(resp.get("content"))
        else:
            status = _status(resp.get("status"))
            raw_body = resp.get("body")
            body = _to_bytes(raw_body.get("string") if isinstance(raw_body, Mapping) else raw_body)
        req_body = req.get("body")
        if isinstance(req_body, Mapping):  # some stubs store {"string": ...}
            req_body = req_body.get("string")
        out.append(
            Interaction(
                index=i,
                method=str(req.get("method", "")).upper(),
                uri=str(req.get("uri") or req.get("url") or ""),
                request_headers=_headers(req.get("headers")),
                request_body=None if req_body is None else _to_bytes(req_body),
                status=status,
                response_headers=rheaders,
                response_body=_decode_body(body, rheaders, notes),
                recorded_at=None,
                notes=notes,
            )
        )
    return ("vcrpy (old httpx layout)" if old else "vcrpy"), out
