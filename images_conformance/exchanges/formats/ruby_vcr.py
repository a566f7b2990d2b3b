"""Ruby VCR cassettes (``http_interactions``; ``!binary`` and ``base64_string`` bodies)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from ._cassettes import CassetteError, Interaction, _decode_body, _headers, _status, _to_bytes


def _ruby_body(raw: Any) -> bytes | None:
    if not isinstance(raw, Mapping):
        return None if raw is None else _to_bytes(raw)
    if "base64_string" in raw:
        try:
            return base64.b64decode("".join(str(raw["base64_string"]).split()))
        except (binascii.Error, ValueError):
            return _to_bytes(raw["base64_string"])
    return _to_bytes(raw.get("string"))


def read_ruby_vcr(items: list[Any]) -> list[Interaction]:
    out: list[Interaction] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CassetteError(f"interaction {i} is not a mapping")
        req = item.get("request") or {}
        resp = item.get("response") or {}
        notes: list[str] = []
        rheaders = _headers(resp.get("headers"))
        out.append(
            Interaction(
                index=i,
                method=str(req.get("method", "")).upper(),
                uri=str(req.get("uri") or ""),
                request_headers=_headers(req.get("headers")),
                request_body=_ruby_body(req.get("body")),
                status=_status(resp.get("status")),
                response_headers=rheaders,
                response_body=_decode_body(_ruby_body(resp.get("body")) or b"", rheaders, notes),
                recorded_at=str(item["recorded_at"]) if item.get("recorded_at") else None,
                notes=notes,
            )
        )
    return out
