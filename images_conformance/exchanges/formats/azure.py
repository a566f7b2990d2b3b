"""The Azure SDK test proxy's session records (``Entries``), as in openai-dotnet."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from ._cassettes import CassetteError, Interaction, _headers, _status, _to_bytes


def _azure_body(raw: Any, headers: dict[str, str]) -> bytes:
    if isinstance(raw, str):
        ct = headers.get("content-type", "").lower()
        if ct.startswith(("image/", "application/octet-stream")):
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                pass
    return _to_bytes(raw)


def read_azure(items: list[Any]) -> list[Interaction]:
    out: list[Interaction] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CassetteError(f"entry {i} is not an object")
        qheaders = _headers(item.get("RequestHeaders"))
        rheaders = _headers(item.get("ResponseHeaders"))
        req_body = item.get("RequestBody")
        out.append(
            Interaction(
                index=i,
                method=str(item.get("RequestMethod", "")).upper(),
                uri=str(item.get("RequestUri") or ""),
                request_headers=qheaders,
                request_body=None if req_body is None else _azure_body(req_body, qheaders),
                status=_status(item.get("StatusCode")),
                response_headers=rheaders,
                response_body=_azure_body(item.get("ResponseBody"), rheaders),
                # the test proxy keeps the answer's Date header ("Sanitized" when scrubbed)
                recorded_at=rheaders.get("date") or None,
            )
        )
    return out
