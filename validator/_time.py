"""When an answer was made: the window ``created`` must fall in.

The document: ``created`` is "The Unix timestamp (in seconds) of when the image was
created". A judge that knows when the exchange happened passes that time as
``received_at=(start, end)`` (Unix seconds: when the request was sent, when the answer
had arrived); ``created`` must then lie within ``CLOCK_SKEW`` seconds of that interval.
A recording's date (as a cassette states it) bounds ``created`` from above; recordings
are sometimes written again after the exchange, so the window reaches
``RECORDING_LOOKBACK`` seconds before it (see ``spec/observed-behaviour.md``). With no
time known, ``created`` must only be a plausible time: not before ``PLAUSIBLE_SINCE``
and not in the future.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

CLOCK_SKEW = 300.0
"""Seconds the target's clock may differ from the judge's (5 minutes, either way)."""
RECORDING_LOOKBACK = 30 * 86400.0
"""How long before a recording's stated date the exchange may have happened (30 days)."""
PLAUSIBLE_SINCE = 1_640_995_200
"""2022-01-01T00:00:00Z: before the endpoint was first offered (November 2022)."""

Window = tuple[float, float]


def plausible_window(now: float | None = None) -> Window:
    """The window for an answer whose exchange time is unknown."""
    return (float(PLAUSIBLE_SINCE), (time.time() if now is None else now) + CLOCK_SKEW)


def exchange_window(received_at: Window) -> Window:
    """The window for an answer exchanged between ``received_at[0]`` and ``received_at[1]``."""
    start, end = received_at
    return (start - CLOCK_SKEW, end + CLOCK_SKEW)


def parse_recorded_at(text: object) -> float | None:
    """A recording's date (an HTTP date such as Ruby VCR's, or ISO 8601) as Unix seconds;
    None when there is none or it cannot be read."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def recording_window(recorded_at: object) -> Window | None:
    """The ``received_at`` to judge a recorded answer with: from ``RECORDING_LOOKBACK``
    before the recording's date to the date itself; None when the date is unknown."""
    stamp = parse_recorded_at(recorded_at)
    if stamp is None:
        return None
    return (stamp - RECORDING_LOOKBACK, stamp)
