"""Evidence: one judged exchange as a small, bounded, JSON-serializable dict.

Every source of exchanges (the suite, ``validate-cassette``, the proxy) calls
:func:`exchange_evidence` for the exchanges a report should show; the HTML report
(:func:`images_conformance.report.html.render_html`) draws it. The dict holds:

``what``
    What the exchange was meant to show (free text from the caller, may be empty).
``problem``
    Why the exchange could not be judged as an answer (no answer, unreadable body), or None.
``request``
    ``method``, ``url``, ``params`` (the JSON body as ``[name, value-as-JSON]`` rows, values
    cut at :data:`VALUE_LIMIT` characters; None when the body is not a JSON object),
    ``body`` (the body text, cut, only when ``params`` is None) and ``curl`` (the command
    that repeats the request, the key written ``$OPENAI_API_KEY``).
``response``
    ``status`` (None: no answer), ``content_type``, ``bytes``, ``truncated`` (cut at the
    source's size cap), ``elapsed_s``, ``error``, ``stream``, and ``body``: the body as
    text, cut at :data:`BODY_LIMIT` characters, every ``b64_json`` value replaced by a
    note (``<base64 image: N characters, shown below>``), long base64 runs shortened.
``findings``
    ``[{"rule", "level", "source", "message", "gating"}]``: the violations judged on this
    exchange (``source`` is the rule table's source key, ``suite`` for ids outside it).
``asked``
    What the request asked of the images: ``model``, ``n``, ``size``, ``output_format``,
    ``background``, ``quality``, ``response_format``, ``stream``, ``partial_images`` (only
    the keys the request sent).
``images``
    One entry per returned image, in arrival order: ``label`` (``data[0]``, ``partial 0``,
    ``completed``), ``origin`` (``b64_json``, ``url`` or ``stream``), ``event`` (the
    stream event name), ``bytes``, ``format``, ``width``, ``height``, ``mode``,
    ``has_alpha``, ``transparent`` (some pixel is not fully opaque), ``thumbnail`` (a
    ``data:image/webp;base64,...`` URI at most :data:`THUMBNAIL_PX` pixels on a side) and
    ``error`` (why there is no thumbnail: not base64, not an image, too large, url not
    fetched, ...). At most :data:`MAX_IMAGES` entries; ``images_left_out`` counts the rest.

Bounded whatever the target sends: image payloads over :data:`MAX_IMAGE_BYTES` are not
decoded, Pillow's decompression-bomb guard stays on (and the validator's pixel cap
applies), nothing raw from a payload is embedded. Text from the target is kept as text:
the renderer escapes it. Secrets: pass ``secrets`` to have them replaced by ``***``
everywhere in the dict (the curl command and the request headers already carry
``$OPENAI_API_KEY`` in place of the key).

The exchange is read through these attributes (:class:`images_conformance.exchanges.Exchange`
has them all): ``method``, ``url``, ``request_body`` (bytes), ``status``, ``headers`` (a
mapping), ``body`` (bytes), and optionally ``truncated``, ``elapsed``, ``error``,
``stream``, ``secret`` and a ``curl()`` method.

A source that judged the exchange with :func:`images_conformance.judge.judge_exchange`
calls :func:`judgement_evidence` and hands the result to
``case_from_judgement(..., evidence=[...])``; the suite's ``Verdict`` calls
:func:`exchange_evidence` with what it judged.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from PIL import Image

from images_conformance.exchanges._limits import parse_json
from validator import RULES, Violation, parse_sse
from validator._images import MAX_PIXELS, decode_base64, inspect_image

THUMBNAIL_PX = 128
"""The longest side of a thumbnail, in pixels."""
MAX_IMAGES = 12
"""Images shown per exchange (the others are counted in ``images_left_out``)."""
MAX_IMAGE_BYTES = 24 * 1024 * 1024
"""Image payloads larger than this (decoded bytes) are described, not decoded."""
BODY_LIMIT = 3000
"""Characters of the answer's body kept."""
VALUE_LIMIT = 300
"""Characters of one request parameter's value kept."""
MESSAGE_LIMIT = 1500
"""Characters of one finding's message kept."""
ASKED_PARAMS = (
    "model",
    "n",
    "size",
    "output_format",
    "background",
    "quality",
    "response_format",
    "stream",
    "partial_images",
)

_LONG_RUN = re.compile(r"[A-Za-z0-9+/=_-]{200,}")
_SCAN_LIMIT = 4 * 1024 * 1024
"""Bytes of a body parsed to build the trimmed view (the rest is counted, not read)."""


def cut(text: str, limit: int) -> str:
    """``text`` cut at ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters in all)"


def _shorten_runs(text: str) -> str:
    return _LONG_RUN.sub(lambda m: m.group(0)[:24] + f"…({len(m.group(0))} chars)", text)


def _note_images(value: Any) -> Any:
    """``value`` with every ``b64_json`` string replaced by a note."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "b64_json" and isinstance(v, str):
                out[k] = f"<base64 image: {len(v)} characters, shown below>"
            else:
                out[k] = _note_images(v)
        return out
    if isinstance(value, list):
        return [_note_images(v) for v in value]
    return value


def trimmed_body(body: bytes, content_type: str | None, limit: int = BODY_LIMIT) -> str:
    """The body as a person should read it: JSON pretty-printed with its images replaced
    by notes, event streams event by event, anything else as text; base64 runs
    shortened, the whole cut at ``limit`` characters."""
    if not body:
        return ""
    head = body[:_SCAN_LIMIT]
    text = head.decode("utf-8", errors="replace")
    shown: str | None = None
    if content_type == "text/event-stream" or text.lstrip().startswith("event:"):
        parts = []
        for event in parse_sse(text):
            data = event.get("data")
            raw = (
                json.dumps(_note_images(data), ensure_ascii=False)
                if data is not None
                else event.get("raw", "")
            )
            parts.append(f"event: {event.get('event')}\ndata: {raw}")
        shown = "\n\n".join(parts) if parts else None
    elif len(body) <= _SCAN_LIMIT:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        else:
            shown = json.dumps(_note_images(parsed), indent=2, ensure_ascii=False)
    if shown is None:
        shown = text
    shown = _shorten_runs(shown)
    if len(body) > _SCAN_LIMIT:
        shown = shown[:limit] + f"… ({len(body)} bytes in all)"
    return cut(shown, limit)


def request_params(body: bytes) -> list[list[str]] | None:
    """The request body as ``[name, value as JSON]`` rows, or None when it is not a JSON object."""
    try:
        parsed = json.loads(body[:_SCAN_LIMIT])
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    return [
        [str(k), cut(json.dumps(v, ensure_ascii=False), VALUE_LIMIT)] for k, v in parsed.items()
    ]


def asked_of(body: bytes) -> dict[str, Any]:
    """What the request asked of the images (the keys of :data:`ASKED_PARAMS` it sent)."""
    try:
        parsed = json.loads(body[:_SCAN_LIMIT])
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    out = {}
    for name in ASKED_PARAMS:
        if name in parsed:
            value = parsed[name]
            out[name] = (
                value
                if isinstance(value, (int, float, bool)) or value is None
                else cut(str(value), 80)
            )
    return out


def finding(violation: Violation, *, gating: bool | None = None) -> dict[str, Any]:
    """One violation as evidence: rule, level, source, message (cut), gating."""
    rule = RULES.get(violation.rule)
    return {
        "rule": violation.rule,
        "level": str(violation.level),
        "source": rule.source if rule is not None else "suite",
        "message": cut(violation.message, MESSAGE_LIMIT),
        "gating": gating,
    }


def thumbnail(data: bytes) -> tuple[str | None, str | None]:
    """A ``data:`` URI of ``data`` scaled to at most :data:`THUMBNAIL_PX` pixels, or (None, why)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                return None, f"{width}x{height} is too large to decode"
            im.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))  # JPEG: decode at a reduced scale
            im.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
            small = im.convert("RGBA" if alpha else "RGB")
            out = io.BytesIO()
            small.save(out, format="WEBP", quality=75, method=4)
    except Exception as exc:  # Pillow raises many kinds on hostile input
        return None, f"no thumbnail: {type(exc).__name__}: {cut(str(exc), 200)}"
    return "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode("ascii"), None


def image_evidence(
    data: bytes | None,
    *,
    label: str,
    origin: str,
    event: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One returned image: decoded description and thumbnail, or why there is none."""
    entry: dict[str, Any] = {
        "label": label,
        "origin": origin,
        "event": event,
        "bytes": len(data) if data is not None else None,
        "format": None,
        "width": None,
        "height": None,
        "mode": None,
        "has_alpha": None,
        "transparent": None,
        "thumbnail": None,
        "error": error,
    }
    if data is None:
        return entry
    if len(data) > MAX_IMAGE_BYTES:
        entry["error"] = f"{len(data)} bytes: too large to show (cap {MAX_IMAGE_BYTES} bytes)"
        return entry
    info = inspect_image(data)
    entry.update(format=info.format, mode=info.mode or None)
    if info.width or info.height:
        entry.update(width=info.width, height=info.height)
    if info.decode_error:
        entry["error"] = cut(info.decode_error, 300)
        return entry
    entry.update(has_alpha=info.has_alpha, transparent=info.transparent_pixels)
    entry["thumbnail"], why = thumbnail(data)
    if why:
        entry["error"] = why
    return entry


def _b64_image(value: Any, *, label: str, origin: str, event: str | None = None) -> dict[str, Any]:
    if isinstance(value, str) and len(value) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return image_evidence(
            None,
            label=label,
            origin=origin,
            event=event,
            error=f"{len(value)} base64 characters: too large to show",
        )
    data, error = decode_base64(value)
    return image_evidence(data, label=label, origin=origin, event=event, error=error)


def returned_images(
    body: bytes,
    content_type: str | None,
    *,
    fetched: Mapping[int, Any] | None = None,
    items: Any = None,
    items_left: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The first :data:`MAX_IMAGES` images of an answer, in arrival order, and how many
    more it holds: ``data[i]`` items of a JSON answer (``fetched``: index -> an object with
    ``status``, ``body``, ``error`` for returned urls), or the partial and completed events
    of a stream.

    ``items``: the answer's first ``data`` items as the judge kept them (see
    ``Judgement.items``), and ``items_left`` the images among the items it did not keep;
    given, the body is not parsed again. Left out, a JSON body is parsed here (within the
    default limits of ``parse_json``)."""
    images: list[dict[str, Any]] = []
    more = 0

    def add(make: Any) -> None:
        nonlocal more
        if len(images) < MAX_IMAGES:
            images.append(make())
        else:
            more += 1

    if items is None and (not body or len(body) > _SCAN_LIMIT * 64):
        return images, more
    if items is None and content_type == "text/event-stream":
        for event in parse_sse(body):
            data = event.get("data")
            if not isinstance(data, dict) or "b64_json" not in data:
                continue
            kind = str(data.get("type") or event.get("event") or "")
            if "partial" in kind:
                label = f"partial {data.get('partial_image_index', '?')}"
            elif "completed" in kind:
                label = "completed"
            else:
                label = kind or "event"
            add(
                lambda data=data, label=label, event=event: _b64_image(
                    data["b64_json"], label=label, origin="stream", event=event.get("event")
                )
            )
        return images, more
    if items is None:
        try:
            parsed = parse_json(body)
        except ValueError:
            return images, more
        items = parsed.get("data") if isinstance(parsed, dict) else None
        del parsed
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        if "b64_json" in item and item["b64_json"] is not None:
            add(
                lambda i=i, item=item: _b64_image(
                    item["b64_json"], label=f"data[{i}]", origin="b64_json"
                )
            )
        elif isinstance(item.get("url"), str):
            add(lambda i=i, item=item: _url_image(i, item["url"], (fetched or {}).get(i)))
    return images, more + items_left


def _url_image(i: int, url: str, got: Any) -> dict[str, Any]:
    if got is None:
        why = f"url not fetched: {cut(url, 200)}"
        return image_evidence(None, label=f"data[{i}]", origin="url", error=why)
    if getattr(got, "status", None) != 200:
        why = getattr(got, "error", None) or f"GET of the url gave HTTP {got.status}"
        return image_evidence(None, label=f"data[{i}]", origin="url", error=why)
    return image_evidence(got.body, label=f"data[{i}]", origin="url")


def _scrub(value: Any, secrets: list[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        for word in secrets:
            value = value.replace(word, "***")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def exchange_evidence(
    exchange: Any,
    violations: Iterable[Violation] = (),
    *,
    gating: Iterable[str] | None = None,
    what: str = "",
    problem: str | None = None,
    fetched: Mapping[int, Any] | None = None,
    items: Any = None,
    items_left: int = 0,
    secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """The evidence of one judged exchange (see the module docstring for the keys).

    ``violations``: what the judge found on it; ``gating``: the ids among them that fail
    (None: unknown); ``fetched``: the bytes fetched for returned urls, by item index;
    ``items``/``items_left``: the answer's data items the judge kept and the images among
    those it did not (``Judgement.items``), so that the body is not parsed again;
    ``secrets``: strings to replace by ``***``. Never raises on what the target sent.
    """
    gating_ids = set(gating) if gating is not None else None
    headers = getattr(exchange, "headers", None) or {}
    raw_type = headers.get("content-type") if isinstance(headers, Mapping) else None
    content_type = raw_type.split(";", 1)[0].strip().lower() if raw_type else None
    body: bytes = getattr(exchange, "body", b"") or b""
    request_body: bytes = getattr(exchange, "request_body", b"") or b""
    params = request_params(request_body)
    curl = exchange.curl() if callable(getattr(exchange, "curl", None)) else None
    status = getattr(exchange, "status", None)
    images: list[dict[str, Any]] = []
    images_left_out = 0
    if status is not None and 200 <= status < 300:
        images, images_left_out = returned_images(
            body, content_type, fetched=fetched, items=items, items_left=items_left
        )
    evidence = {
        "what": cut(what, 600),
        "problem": cut(problem, MESSAGE_LIMIT) if problem else None,
        "request": {
            "method": getattr(exchange, "method", "POST"),
            "url": cut(str(getattr(exchange, "url", "")), 500),
            "params": params,
            "body": None
            if params is not None
            else cut(request_body[:_SCAN_LIMIT].decode("utf-8", errors="replace"), BODY_LIMIT),
            "curl": cut(curl, 6000) if curl else None,
        },
        "response": {
            "status": status,
            "content_type": cut(raw_type, 200) if raw_type else None,
            "bytes": len(body),
            "truncated": bool(getattr(exchange, "truncated", False)),
            "elapsed_s": round(float(getattr(exchange, "elapsed", 0.0) or 0.0), 3),
            "error": cut(str(exchange.error), 600) if getattr(exchange, "error", None) else None,
            "stream": bool(getattr(exchange, "stream", False))
            or content_type == "text/event-stream",
            "body": trimmed_body(body, content_type),
        },
        "findings": [
            finding(v, gating=(v.rule in gating_ids) if gating_ids is not None else None)
            for v in violations
        ],
        "asked": asked_of(request_body),
        "images": images,
        "images_left_out": images_left_out,
    }
    secret = getattr(exchange, "secret", None)
    words = sorted({s for s in [*secrets, secret] if s and len(s) >= 3}, key=len, reverse=True)
    return _scrub(evidence, words)


def judgement_evidence(
    exchange: Any,
    judgement: Any,
    *,
    strict: bool = False,
    what: str = "",
    secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """The evidence of an exchange judged by ``judge_exchange``: its violations (gating:
    MUST, or every one in strict mode), the images it fetched for returned urls, and its
    notes as ``what`` when none is given."""
    notes = "; ".join(str(n) for n in getattr(judgement, "notes", ()) or ())
    return exchange_evidence(
        exchange,
        judgement.violations,
        gating={v.rule for v in judgement.gating(strict)},
        what=what or notes,
        fetched=getattr(judgement, "fetched", None),
        items=getattr(judgement, "items", None),
        items_left=getattr(judgement, "items_left", 0),
        secrets=secrets,
    )
