"""The run-wide finding that the target is not an images API at all.

Found when no valid request got an answer an images API gives (JSON, or the event stream
asked for), and some request got one that is not (no answer, HTTP 404/405/501, HTML or
another body that is not JSON): every test then fails for this one cause, and the
report says so once, first, instead of leaving the reader to infer it from each failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._case import Case

NOT_AN_API = "not-an-images-api"


def not_an_api_finding(cases: Iterable[Case]) -> dict[str, Any] | None:
    """The finding (kind, message, first answer, cases not judged), or None."""
    counted = [c for c in cases if c.api_answers is not None]
    if not counted or any(c.valid_api_answers for c in counted):
        return None
    first = next((c.valid_answer_problem for c in counted if c.valid_answer_problem), None)
    if first is None:
        if any(c.api_answers for c in counted):
            return None  # it answered as an API; no valid request was answered at all
        first = next((c.answer_problem for c in counted if c.answer_problem), None)
    if first is None:
        return None
    ran = [c for c in counted if c.ran]
    unjudged = [c for c in ran if c.not_judged]
    message = (
        "The target is not an images API: no valid request got an answer an images API "
        f"gives (JSON, or the event stream asked for); the first answer was {first}. "
        "Check the base URL (it should end where /images/generations is served, e.g. "
        ".../v1) and that the server implements the endpoint. "
        f"{len(unjudged)} of {len(ran)} cases ended before their own rules could be judged: "
        "those rules are reported as not judged, and the failures of the tests all "
        "follow from this one cause."
    )
    return {
        "kind": NOT_AN_API,
        "message": message,
        "first_answer": first,
        "cases_not_judged": len(unjudged),
        "cases": len(ran),
    }
