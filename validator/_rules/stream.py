"""Stream rules: the events of a streamed generation (stream: true), judged against the request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._context import StreamContext, is_int, show
from ._expect import asks_partials, custom_size_asked, expected_n, valid_custom_echo
from ._table import Finding, rule
from .response import echo_findings, usage_shape_findings, usage_sum_findings

MUST, SHOULD = "MUST", "SHOULD"

PARTIAL = "image_generation.partial_image"
COMPLETED = "image_generation.completed"

_EVENT_FIELDS: dict[str, tuple[str, ...] | None] = {
    "b64_json": None,
    "size": ("1024x1024", "1024x1536", "1536x1024", "auto"),
    "quality": ("low", "medium", "high", "auto"),
    "background": ("transparent", "opaque", "auto"),
    "output_format": ("png", "webp", "jpeg"),
}


def typed_events(ctx: StreamContext) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(position, type, data) for every event whose data is an object with a known type."""
    for i, entry in enumerate(ctx.events):
        data = entry.get("data") if isinstance(entry, dict) else None
        if isinstance(data, dict) and data.get("type") in (PARTIAL, COMPLETED):
            yield i, data["type"], data


@rule(
    "stream.content_type",
    MUST,
    params=["stream"],
    quote="the path declares only a 200 response: application/json -> ImagesResponse … "
    "text/event-stream -> ImageGenStreamEvent",
    source="openapi",
    feature="streaming",
)
def content_type(ctx: StreamContext) -> Iterator[Finding]:
    """A stream is answered as text/event-stream."""
    ct = ctx.content_type
    if ct is not None and ct.split(";")[0].strip().lower() != "text/event-stream":
        yield Finding(
            f"stream: true must be answered as text/event-stream; got {show(ct)}", path=""
        )


@rule(
    "stream.framing",
    MUST,
    params=["stream"],
    quote='event: image_generation.partial_image data: {"type":"image_generation.partial_image",'
    '"b64_json":"...","partial_image_index":0}',
    feature="streaming",
)
def framing(ctx: StreamContext) -> Iterator[Finding]:
    """Every event is well framed and its data is a JSON object."""
    for i, entry in enumerate(ctx.events):
        if not isinstance(entry, dict):
            yield Finding(f"event {i} is not an event object", path=f"/{i}")
        elif entry.get("error"):
            yield Finding(f"event {i}: {entry['error']}", path=f"/{i}")
        elif not isinstance(entry.get("data"), dict):
            yield Finding(f"event {i}: data must be a JSON object", path=f"/{i}/data")


@rule(
    "stream.event_name_matches_type",
    MUST,
    params=["stream"],
    quote='event: image_generation.completed data: {"type":"image_generation.completed"',
    feature="streaming",
)
def event_name(ctx: StreamContext) -> Iterator[Finding]:
    """The SSE event: line of each event equals its JSON type."""
    for i, entry in enumerate(ctx.events):
        data = entry.get("data") if isinstance(entry, dict) else None
        if isinstance(data, dict) and entry.get("event") != data.get("type"):
            yield Finding(
                f"event {i}: the event name {show(entry.get('event'))} differs from its type "
                f"{show(data.get('type'))}",
                path=f"/{i}/event",
            )


@rule(
    "stream.event.fields",
    MUST,
    params=["stream"],
    quote="required: - type - b64_json - created_at - size - quality - background - "
    "output_format - partial_image_index",
    source="openapi",
    feature="streaming",
)
def event_fields(ctx: StreamContext) -> Iterator[Finding]:
    """Each event has a known type and every field its official schema requires (a model
    taking free sizes under the edition may echo a valid WIDTHxHEIGHT size)."""
    custom = ctx.profile.custom_sizes_for(ctx.model.name)
    for i, entry in enumerate(ctx.events):
        data = entry.get("data") if isinstance(entry, dict) else None
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind not in (PARTIAL, COMPLETED):
            yield Finding(f"event {i}: unknown type {show(kind)}", path=f"/{i}/data/type")
            continue
        for key, allowed in _EVENT_FIELDS.items():
            value = data.get(key)
            if key not in data:
                yield Finding(f"event {i} ({kind}): {key} is missing", path=f"/{i}/data")
            elif key == "size" and valid_custom_echo(value, custom):
                continue
            elif not isinstance(value, str) or (allowed and value not in allowed):
                want = f"one of {list(allowed)}" if allowed else "a string"
                yield Finding(
                    f"event {i}: {key} must be {want}; got {show(value)}", path=f"/{i}/data/{key}"
                )
        created = data.get("created_at")
        if not is_int(created) or created < 0 or created >= 10**11:
            yield Finding(
                f"event {i}: created_at must be an integer Unix time in seconds; got {show(created)}",
                path=f"/{i}/data/created_at",
            )
        if kind == PARTIAL:
            idx = data.get("partial_image_index")
            if not is_int(idx) or idx < 0:
                yield Finding(
                    f"event {i}: partial_image_index must be a non-negative integer; got {show(idx)}",
                    path=f"/{i}/data/partial_image_index",
                )
        elif "usage" not in data:
            yield Finding(f"event {i} (completed): usage is missing", path=f"/{i}/data")
        else:
            yield from usage_shape_findings(data["usage"], f"/{i}/data/usage")


@rule(
    "stream.partial.index_sequence",
    MUST,
    params=["partial_images"],
    quote="0-based index for the partial image (streaming).",
    source="openapi",
    feature="streaming",
    applies=asks_partials,
)
def partial_index(ctx: StreamContext) -> Iterator[Finding]:
    """Partial image indexes start at 0 and increase, for each image."""
    last = -1
    for i, kind, data in typed_events(ctx):
        if kind == COMPLETED:
            last = -1
            continue
        idx = data.get("partial_image_index")
        if not is_int(idx):
            continue
        if (last == -1 and idx != 0) or (last != -1 and idx <= last):
            expected = "0" if last == -1 else f"greater than {show(last)}"
            yield Finding(
                f"event {i}: partial_image_index is {show(idx)}; expected {expected}",
                path=f"/{i}/data/partial_image_index",
            )
        last = int(idx)


@rule(
    "stream.partial.count_max",
    MUST,
    params=["partial_images"],
    quote="The number of partial images to generate. … When set to 0, the response will be "
    "a single image sent in one streaming event.",
    feature="streaming",
)
def partial_count(ctx: StreamContext) -> Iterator[Finding]:
    """No image has more partial events than partial_images (0 by default)."""
    limit = ctx.request.get("partial_images")
    limit = int(limit) if is_int(limit) and 0 <= limit <= 3 else 0
    count = 0
    for i, kind, _data in typed_events(ctx):
        if kind == COMPLETED:
            count = 0
            continue
        count += 1
        if count == limit + 1:
            yield Finding(
                f"event {i}: more than {limit} partial image event(s) for one image",
                path=f"/{i}",
            )


@rule(
    "stream.completed.one_per_image",
    MUST,
    params=["n"],
    quote="Emitted when image generation has completed and the final image is available.",
    source="openapi",
    feature="streaming",
)
def completed_per_image(ctx: StreamContext) -> Iterator[Finding]:
    """Exactly one completed event per image (n), each after its partial events."""
    want = expected_n(ctx.request)
    completed = 0
    for i, kind, _data in typed_events(ctx):
        if kind == COMPLETED:
            completed += 1
        elif want is not None and completed >= want:
            yield Finding(
                f"event {i}: a partial image after the last completed event", path=f"/{i}"
            )
    if want is not None and completed != want:
        yield Finding(f"expected {want} completed event(s) for n={want}; got {completed}", path="")


@rule(
    "stream.usage.sums",
    MUST,
    params=[],
    quote="total_tokens: number The total number of tokens (images and text) used for the "
    "image generation.",
    feature="streaming",
)
def usage_sums(ctx: StreamContext) -> Iterator[Finding]:
    """The completed events' usage counts add up."""
    for i, kind, data in typed_events(ctx):
        if kind == COMPLETED:
            yield from usage_sum_findings(data.get("usage"), f"/{i}/data/usage")


@rule(
    "stream.echo.matches_request",
    MUST,
    params=["size", "quality", "background", "output_format"],
    quote="The size of the requested image. … The quality setting for the requested image.",
    source="openapi",
    feature="streaming",
)
def echo_matches(ctx: StreamContext) -> Iterator[Finding]:
    """Each event's size, quality, background and output_format agree with the request."""
    # A request value the event schema cannot carry (a dall-e size for an unconstrained
    # model, say) is not compared: stream.event.fields already judges the echoed value.
    custom = ctx.profile.custom_sizes_for(ctx.model.name)
    request = {
        key: value
        for key, value in ctx.request.items()
        if key not in _EVENT_FIELDS
        or not _EVENT_FIELDS[key]
        or value in _EVENT_FIELDS[key]
        or (key == "size" and custom_size_asked(ctx.request, custom) is not None)
    }
    for i, _kind, data in typed_events(ctx):
        yield from echo_findings(request, data, ctx.model, f"/{i}/data", custom)
