"""Server-sent events for ``stream: true`` (GPT image models)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from ._generate import Plan, b64, echoed, now, usage
from ._images import generate

PARTIAL = "image_generation.partial_image"
COMPLETED = "image_generation.completed"


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One event: ``event: <name>\\ndata: <json>\\n\\n`` (the name equals ``data['type']``)."""
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode("ascii")


def _event(kind: str, plan: Plan, image: bytes) -> dict[str, Any]:
    # Event schemas require size and quality; "auto" stands in for values outside their
    # enums (possible only for unconstrained models, e.g. size 256x256 or quality hd).
    echo = echoed(plan)
    return {
        "type": kind,
        "b64_json": b64(image),
        "created_at": now(),
        "size": echo.get("size", "auto"),
        "quality": echo.get("quality", "auto"),
        "background": plan.background,
        "output_format": plan.output_format,
    }


async def stream_events(plan: Plan) -> AsyncIterator[bytes]:
    """Per image: ``partial_images`` partial events (index 0, 1, ...), then one completed
    event with ``usage``. Partial images are real images of the same size and format,
    showing earlier stages of the final one."""
    spec = plan.spec
    steps = plan.partial_images
    for index in range(plan.n):
        for k in range(steps):
            detail = (k + 1) / (steps + 1)
            image = await run_in_threadpool(generate, plan.prompt, index, spec, detail=detail)
            data = _event(PARTIAL, plan, image)
            data["partial_image_index"] = k
            yield sse(PARTIAL, data)
        image = await run_in_threadpool(generate, plan.prompt, index, spec)
        data = _event(COMPLETED, plan, image)
        data["usage"] = usage(plan, images=1, partial_images=steps)
        yield sse(COMPLETED, data)
