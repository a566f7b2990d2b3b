"""Parsing of text/event-stream bodies into events (the WHATWG server-sent events rules)."""

from __future__ import annotations

import json
from typing import Any


def parse_sse(text: str | bytes) -> list[dict[str, Any]]:
    """Split a ``text/event-stream`` body into ``{"event": name, "data": parsed JSON}`` items.

    Events whose data is not JSON, or that have no data line, come back with an
    ``"error"`` key (and the raw text under ``"raw"``); ``validate_stream`` reports them.
    Comments (lines starting with ``:``) and ``id:``/``retry:`` fields are ignored.
    Never raises.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    events: list[dict[str, Any]] = []
    name: str | None = None
    data_lines: list[str] = []
    seen_field = False

    def flush() -> None:
        nonlocal name, data_lines, seen_field
        if seen_field:
            if not data_lines:
                events.append(
                    {"event": name, "data": None, "raw": "", "error": "an event with no data line"}
                )
            else:
                raw = "\n".join(data_lines)
                try:
                    events.append({"event": name, "data": json.loads(raw)})
                except (ValueError, RecursionError) as exc:
                    events.append(
                        {
                            "event": name,
                            "data": None,
                            "raw": raw[:200],
                            "error": f"data is not JSON ({exc})",
                        }
                    )
        name, data_lines, seen_field = None, [], False

    for line in text.split("\n"):
        if line == "":
            flush()
            continue
        if line.startswith(":"):
            continue
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "event":
            name, seen_field = value, True
        elif field == "data":
            data_lines.append(value)
            seen_field = True
        elif field in ("id", "retry"):
            continue
        else:
            events.append(
                {
                    "event": None,
                    "data": None,
                    "raw": line[:200],
                    "error": f"unknown field {field[:40]!r} in the event stream",
                }
            )
    if seen_field:
        # The stream ended without the blank line that dispatches the last event.
        pending = len(events)
        flush()
        if len(events) > pending:
            events[-1]["error"] = events[-1].get("error") or (
                "the last event is not terminated by a blank line"
            )
    return events
