"""Secrets masked by construction, and the one sanitizer every text from a target goes through.

- :class:`Secret`: a ``str`` whose ``repr``, ``str`` and ``format`` never show its value
  (so pytest's rendering of locals and arguments in a traceback, ``--junitxml``, logging
  and f-strings show ``***``). The value is only available through :meth:`Secret.reveal`,
  at the one place it is sent (the ``Authorization`` header). Every secret ever built is
  remembered, so that :func:`sanitize` can replace it wherever a target echoes it back.
- :func:`sanitize`: known secrets replaced by ``$OPENAI_API_KEY`` and control characters
  (NUL, ESC, BEL, ...; not newline or tab) escaped as ``\\x1b``, for any text that came
  from a target before it reaches a failure message, the terminal, JUnit or a report.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "$OPENAI_API_KEY"
"""What a secret's value is replaced by in any output."""
MIN_SECRET_LENGTH = 4
"""Shorter values are not worth masking (replacing them would garble unrelated text)."""

_known: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None


def _remember(value: str) -> None:
    global _pattern
    if len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value not in _known:
            _known.add(value)
            words = sorted(_known, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(w) for w in words))


class Secret(str):
    """A string that shows as ``***`` however it is printed; :meth:`reveal` gives the value.

    String operations (``==``, ``in``, ``startswith``, hashing, encoding) see the value, so
    a Secret can be compared and sent; anything that renders it (``repr``, ``str``,
    ``format``, ``%s``) shows the mask.
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Secret:
        plain = str.__str__(value) if isinstance(value, Secret) else str(value)
        _remember(plain)
        return super().__new__(cls, plain)

    def reveal(self) -> str:
        """The value, as a plain ``str`` (only for sending it)."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return format("***", spec)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling (xdist, multiprocessing) keeps it a Secret on the other side.
        return (Secret, (self.reveal(),))


def secret(value: str | None) -> Secret | None:
    """``value`` as a :class:`Secret` (None stays None)."""
    return None if value is None else Secret(value)


def reveal(value: str | None) -> str | None:
    """The plain value of a Secret (other strings and None unchanged)."""
    return value.reveal() if isinstance(value, Secret) else value


def remember(values: Iterable[str]) -> None:
    """Also mask these values (e.g. a password written in a base URL) in sanitized output."""
    for value in values:
        if value:
            _remember(str.__str__(value) if isinstance(value, Secret) else str(value))


# C0 controls except tab and newline, DEL, and the C1 controls (CSI etc. in some terminals).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group(0)):02x}"


def sanitize(text: Any) -> str:
    """``text`` safe to show: known secrets as ``$OPENAI_API_KEY``, control characters escaped."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    elif isinstance(text, Secret):
        return MASK
    elif not isinstance(text, str):
        text = str(text)
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _CONTROL.sub(_escape, text)


def sanitize_data(value: Any) -> Any:
    """A JSON-like value with every string (keys too) passed through :func:`sanitize`."""
    if isinstance(value, str):
        return sanitize(value)
    if isinstance(value, dict):
        return {
            sanitize(k) if isinstance(k, str) else k: sanitize_data(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [sanitize_data(v) for v in value]
    return value
