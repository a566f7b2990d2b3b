"""Build conformant answers (with real images) for a request, independently of any server.

The validator's tests start from these and break one rule at a time.
"""

from __future__ import annotations

import base64
import io
import json
from functools import cache
from typing import Any

from PIL import Image

from validator import resolve_model

PARTIAL = "image_generation.partial_image"
COMPLETED = "image_generation.completed"


def image_bytes(size: str = "256x256", fmt: str = "png", transparent: bool = False) -> bytes:
    """A real image of ``size`` pixels in ``fmt``, with transparent pixels if asked."""
    width, height = (int(x) for x in size.split("x"))
    mode = "RGBA" if transparent else "RGB"
    im = Image.new(mode, (width, height), (200, 30, 30, 255) if transparent else (200, 30, 30))
    if transparent:
        im.paste((0, 0, 0, 0), (0, 0, width // 2, height // 2))
    buf = io.BytesIO()
    pil_format = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    options: dict[str, Any] = {"compress_level": 1} if fmt == "png" else {"quality": 50}
    if fmt == "webp":
        options["method"] = 0
    im.save(buf, pil_format, **options)
    return buf.getvalue()


@cache
def b64_image(size: str = "256x256", fmt: str = "png", transparent: bool = False) -> str:
    return base64.b64encode(image_bytes(size, fmt, transparent)).decode("ascii")


def _resolved(request: dict[str, Any]) -> tuple[str, str, str, str]:
    """(size, quality, background, output_format) as a GPT image model would resolve them."""
    size = request.get("size") or "auto"
    quality = request.get("quality") or "auto"
    background = request.get("background") or "auto"
    fmt = request.get("output_format") or "png"
    return (
        "1024x1024" if size == "auto" else size,
        "medium" if quality == "auto" else quality,
        "opaque" if background == "auto" else background,
        fmt,
    )


def usage(input_text: int = 10, output_image: int = 272) -> dict[str, Any]:
    return {
        "input_tokens": input_text,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": input_text},
        "output_tokens": output_image,
        "output_tokens_details": {"image_tokens": output_image, "text_tokens": 0},
        "total_tokens": input_text + output_image,
    }


def response_for(request: dict[str, Any]) -> dict[str, Any]:
    """A conformant non-streaming response to a valid request."""
    model = resolve_model(request)
    n = request.get("n") or 1
    if model.family == "gpt-image":
        size, quality, background, fmt = _resolved(request)
        image = b64_image(size, fmt, transparent=background == "transparent")
        return {
            "created": 1_700_000_000,
            "background": background,
            "data": [{"b64_json": image} for _ in range(n)],
            "output_format": fmt,
            "quality": quality,
            "size": size,
            "usage": usage(output_image=272 * n),
        }
    size = request.get("size") or "1024x1024"
    items: list[dict[str, Any]] = []
    for i in range(n):
        if request.get("response_format") == "b64_json":
            item: dict[str, Any] = {"b64_json": b64_image(size)}
        else:
            item = {"url": f"https://images.example.test/{i}.png"}
        if model.family == "dall-e-3":
            item["revised_prompt"] = "A revised prompt"
        items.append(item)
    return {"created": 1_700_000_000, "data": items}


def stream_for(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Conformant stream events (as parse_sse returns them) for a valid stream request."""
    size, quality, background, fmt = _resolved(request)
    image = b64_image(size, fmt, transparent=background == "transparent")
    partials = request.get("partial_images") or 0
    common = {
        "b64_json": image,
        "created_at": 1_700_000_000,
        "size": size,
        "quality": quality,
        "background": background,
        "output_format": fmt,
    }
    events: list[dict[str, Any]] = []
    for _ in range(request.get("n") or 1):
        for index in range(partials):
            data = {"type": PARTIAL, **common, "partial_image_index": index}
            events.append({"event": PARTIAL, "data": data})
        events.append({"event": COMPLETED, "data": {"type": COMPLETED, **common, "usage": usage()}})
    return events


def sse_text(events: list[dict[str, Any]]) -> str:
    """The text/event-stream body for parsed events."""
    return "".join(f"event: {e['event']}\ndata: {json.dumps(e['data'])}\n\n" for e in events)
