"""Secrets out of everything a report holds."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from images_conformance.exchanges._secrets import sanitize

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"']+@")


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every secret string, and any user:password@ of a URL, replaced by ``***``."""
    words = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def clean(text: str) -> str:
        for word in words:
            text = text.replace(word, "***")
        return sanitize(_USERINFO.sub(r"\1***@", text))  # control characters escaped too

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return clean(v)
        if isinstance(v, Mapping):
            return {clean(str(k)): walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return v

    return walk(value)


def secrets_of(base_url: str | None, api_key: str | None) -> list[str]:
    """The secret strings of a target: its API key and whatever credentials its URL carries."""
    out = [api_key] if api_key else []
    if base_url:
        try:
            parts = urlsplit(base_url)
            out += [parts.password or "", parts.username or ""]
            if parts.username or parts.password:  # as sent in a Basic Authorization header
                pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
                out.append(base64.b64encode(pair.encode()).decode())
            out += [v for _k, v in parse_qsl(parts.query) if v]
            if parts.fragment:
                out.append(parts.fragment)
        except ValueError:
            pass
    return [s for s in out if s]
