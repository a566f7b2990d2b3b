"""Which rules of the table a judged exchange gave something to check."""

from __future__ import annotations

from validator import RULES, Profile, resolve_model

from ._judge import Judgement

_COMMON = ("http.no_server_error", "http.json_content_type")
_ERROR = tuple(r for r in RULES if r.startswith("error."))
_POSITIVE_KINDS = {"served": ("response", "image"), "streamed": ("stream", "image")}


def rules_exercised(
    judgement: Judgement, *, profile: Profile | None = None
) -> tuple[tuple[str, ...], dict[str, int]]:
    """(the rules the exchange exercised, the positive rules its served answer applied to).

    A served answer exercises the HTTP rules and the response (or stream) and image rules
    that apply to its request; a refusal, the error rules and the rules the request broke;
    an invalid request accepted, the rules it broke; no answer, nothing. A rule the
    exchange was found to break is always among them.

    These are the rules the exchange was sent to judge. When the answer was not an images
    API's (``judgement.answer_problem``), only those among its violations were judged:
    the report counts the others as not judged (``Case.not_judged``).
    """
    j = judgement
    rules: list[str] = []
    applied: dict[str, int] = {}
    faults = [v.rule for v in j.request_faults]
    if j.outcome in _POSITIVE_KINDS:
        rules += [*_COMMON, "http.valid_request_accepted"]
        request = j.request if isinstance(j.request, dict) else {}
        try:
            family = resolve_model(request, profile=profile).family
        except Exception:
            family = None
        for rule in RULES.values():
            if rule.kind in _POSITIVE_KINDS[j.outcome] and rule.applies_to(request, family):
                rules.append(rule.id)
                applied[rule.id] = 1
    elif j.outcome == "not-served":
        rules += [*_COMMON, "http.valid_request_accepted", *_ERROR]
    elif j.outcome == "refused":
        rules += [*_COMMON, *_ERROR, *faults]
    elif j.outcome == "accepted-invalid":
        rules += [*_COMMON, *faults]
    rules += [v.rule for v in j.violations]
    return tuple(dict.fromkeys(rules)), applied
