"""Validate requests to, and answers from, ``POST /images/generations``.

The public API::

    validate_request(body, *, profile=None) -> list[Violation]
    validate_response(request, response, *, profile=None, received_at=None) -> list[Violation]
    validate_stream(request, events, *, profile=None, content_type=None) -> list[Violation]
    validate_error(status, body, *, request=None, profile=None) -> list[Violation]
    parse_sse(text) -> list[dict]
    validate_image_bytes(request, data, *, profile=None) -> list[Violation]  # e.g. a fetched url
    validate_exchange(status, *, content_type=None, body=b"", situation="any") -> list[Violation]
    check_request(body, *, profile=None)  # raises RequestInvalid
    resolve_model(body, *, profile=None) -> ResolvedModel
    edition_profile("2026-08") -> Profile  # OpenAI's own behaviour in another edition
    load_profile(path_or_None, edition=None) -> Profile  # a --profile FILE and --edition

The edition of the official text a profile is judged by is ``profile.edition``
(``document``, the default, or ``2026-08``: see docs/editions.md). An empty list means no rule is broken. Every rule is in ``RULES`` (see docs/rules.md).
"""

from ._editions import EDITIONS, Edition
from ._models import FAMILIES, Family, ResolvedModel
from ._profile import (
    DEFAULT_PROFILE,
    FEATURES,
    Profile,
    ProfileError,
    edition_profile,
    load_profile,
    profile_with_edition,
)
from ._rules import RULES, Rule
from ._rules._context import FetchedImage
from ._sse import parse_sse
from ._time import CLOCK_SKEW, recording_window
from ._validate import (
    check_request,
    resolve_model,
    validate_error,
    validate_exchange,
    validate_image_bytes,
    validate_request,
    validate_response,
    validate_stream,
)
from ._violation import Level, RequestInvalid, Violation

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_PROFILE",
    "EDITIONS",
    "FAMILIES",
    "FEATURES",
    "RULES",
    "Edition",
    "Family",
    "FetchedImage",
    "Level",
    "Profile",
    "ProfileError",
    "RequestInvalid",
    "ResolvedModel",
    "Rule",
    "Violation",
    "check_request",
    "edition_profile",
    "load_profile",
    "parse_sse",
    "profile_with_edition",
    "recording_window",
    "resolve_model",
    "validate_error",
    "validate_exchange",
    "validate_image_bytes",
    "validate_request",
    "validate_response",
    "validate_stream",
]
