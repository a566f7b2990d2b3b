"""The public checks: run the rule table over a request, response, stream or error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._models import GPT_IMAGE_ONLY_PARAMS, IMPLIED_GPT_IMAGE_MODEL, ResolvedModel
from ._profile import DEFAULT_PROFILE, Profile, profile_with_edition
from ._rules import RULES, Rule, rules_of
from ._rules._context import (
    ErrorContext,
    FetchedImage,
    HttpContext,
    ImageContext,
    RequestContext,
    ResponseContext,
    StreamContext,
)
from ._rules._expect import expected_format, expected_n, expected_size
from ._rules.stream import COMPLETED, PARTIAL
from ._violation import Level, RequestInvalid, Violation

_BODY_RULE = RULES["request.body.object"]
_REQUEST_ALWAYS = [r for r in rules_of("request") if r.when is None]
_PURE_BY_PARAM: dict[str, list[Rule]] = {}
_OTHER_BY_PARAM: dict[str, list[Rule]] = {}
for _r in rules_of("request"):
    for _p in _r.when or ():
        (_PURE_BY_PARAM if _r.pure else _OTHER_BY_PARAM).setdefault(_p, []).append(_r)
_RESPONSE_RULES = rules_of("response")
_STREAM_RULES = rules_of("stream")
_IMAGE_RULES = rules_of("image")
_ERROR_RULES = rules_of("error")
_HTTP_RULES = rules_of("http")

JUDGED_ITEMS = 10
"""A ``data`` array longer than this (and than n) is judged on its first JUDGED_ITEMS items,
and its length reported once, so judging a hostile answer stays bounded."""

_MEMO_LIMIT = 8192
_MEMO_TYPES = (str, int, float, bool, type(None))


def _profile(profile: Profile | None, edition: str | None) -> Profile:
    """The profile to judge by: ``profile`` (default OpenAI's), in ``edition`` when given
    (raises ProfileError for an unknown edition)."""
    if edition is None:
        return profile or DEFAULT_PROFILE
    return profile_with_edition(profile, edition)


def resolve_model(
    body: Any, *, profile: Profile | None = None, edition: str | None = None
) -> ResolvedModel:
    """Which model a request body selects: the explicit model, else a GPT image model when a
    parameter specific to the GPT image models is given, else the default (dall-e-2)."""
    profile = _profile(profile, edition)
    model: Any = None
    implied_by: str | None = None
    if isinstance(body, Mapping):
        model = body.get("model")
        if model is None:
            for param in GPT_IMAGE_ONLY_PARAMS:
                if body.get(param) is not None:
                    implied_by = param
                    break
    if model is not None and type(model) is not str:
        return ResolvedModel(name=None, family=None, source="explicit", known=False)
    memo = profile._memo
    key = ("model", model, implied_by)
    found = memo.get(key)
    if found is None:
        found = _resolve(model, implied_by, profile)
        memo[key] = found
    return found


def _resolve(model: str | None, implied_by: str | None, profile: Profile) -> ResolvedModel:
    if model is not None:
        known, family = profile.family_of(model)
        return ResolvedModel(name=model, family=family, source="explicit", known=known)
    if implied_by is not None:
        served = profile.models_of("gpt-image")
        name = IMPLIED_GPT_IMAGE_MODEL if IMPLIED_GPT_IMAGE_MODEL in served else None
        name = name or (served[0] if served else IMPLIED_GPT_IMAGE_MODEL)
        return ResolvedModel(name=name, family="gpt-image", source="implied", implied_by=implied_by)
    known, family = profile.family_of(profile.default_model)
    return ResolvedModel(name=profile.default_model, family=family, source="default", known=known)


def validate_request(
    body: Any, *, profile: Profile | None = None, edition: str | None = None
) -> list[Violation]:
    """Every rule the request body breaks; ``[]`` means valid. Never raises for a JSON value.

    ``edition`` (``document``, ``2026-08``): judge by that edition instead of the profile's."""
    profile = _profile(profile, edition)
    if not isinstance(body, dict):
        return list(_BODY_RULE.run(body))
    model = resolve_model(body, profile=profile)
    ctx = RequestContext(body, profile, model)
    memo = profile._memo
    out: list[Violation] = []
    others: list[Rule] = list(_REQUEST_ALWAYS)
    for key, value in body.items():
        pure = _PURE_BY_PARAM.get(key)
        if pure:
            if type(value) in _MEMO_TYPES and (type(value) is not str or len(value) <= 128):
                mkey = (key, type(value), value, model.name, model.source, model.known)
                found = memo.get(mkey)
                if found is None:
                    found = tuple(v for r in pure for v in r.run(ctx))
                    if len(memo) >= _MEMO_LIMIT:
                        memo.clear()
                    memo[mkey] = found
                out.extend(found)
            else:
                for r in pure:
                    out.extend(r.run(ctx))
        other = _OTHER_BY_PARAM.get(key)
        if other:
            others.extend(other)
    seen: set[str] = set()
    for r in others:
        if r.id not in seen:
            seen.add(r.id)
            out.extend(r.run(ctx))
    return out


def check_request(
    body: Any, *, profile: Profile | None = None, strict: bool = True, edition: str | None = None
) -> None:
    """Raise RequestInvalid when the body breaks a rule (with ``strict=False``, a MUST rule)."""
    violations = validate_request(body, profile=profile, edition=edition)
    if not strict:
        violations = [v for v in violations if v.level is Level.MUST]
    if violations:
        raise RequestInvalid(violations)


def _request_dict(request: Any) -> dict[str, Any]:
    return request if isinstance(request, dict) else {}


def _image_context(
    payload: Any,
    path: str,
    request: dict[str, Any],
    model: ResolvedModel,
    echoed_size: Any,
    profile: Profile,
) -> ImageContext:
    custom = profile.custom_sizes_for(model.name)
    size, allowed = expected_size(request, model, echoed_size, custom)
    background = request.get("background") if model.family != "dall-e-2" else None
    return ImageContext(
        b64=payload,
        path=path,
        expected_format=expected_format(request, model),
        expected_size=size,
        allowed_sizes=allowed,
        transparent=background == "transparent",
        opaque=background == "opaque",
        profile=profile,
    )


def _run_image_rules(ctx: ImageContext, skip_base64: bool = False) -> list[Violation]:
    out: list[Violation] = []
    for r in _IMAGE_RULES:
        if skip_base64 and r.id == "image.base64":
            continue
        for v in r.run(ctx):
            out.append(_with_path(v, ctx.path))
    return out


def _with_path(v: Violation, base: str) -> Violation:
    return Violation(v.rule, v.level, v.message, v.param, base + (v.path or ""))


def validate_response(
    request: Any,
    response: Any,
    *,
    profile: Profile | None = None,
    check_images: bool = True,
    fetched: Mapping[int, FetchedImage] | None = None,
    received_at: tuple[float, float] | None = None,
    edition: str | None = None,
) -> list[Violation]:
    """Every rule a parsed non-streaming response breaks, given the request that produced it.

    Images carried as ``b64_json`` are decoded and checked (format, pixel size,
    transparency) unless ``check_images`` is false. ``fetched`` maps a data index to what
    a GET of that item's ``url`` gave: such images are judged too. ``received_at``, when
    known, is when the exchange happened, as Unix seconds ``(sent, answered)``: ``created``
    must then fall within ``CLOCK_SKEW`` (300 s) of it; without it, ``created`` need only
    be a plausible time. Never raises for JSON values.
    """
    profile = _profile(profile, edition)
    req = _request_dict(request)
    model = resolve_model(req, profile=profile)
    window = _window(received_at)
    ctx = ResponseContext(req, response, profile, model, fetched, window)
    out = list(RULES["response.body.object"].run(ctx))
    if out:
        return out
    data = response.get("data")
    want = expected_n(req)
    too_many = isinstance(data, list) and len(data) > max(JUDGED_ITEMS, want or 0)
    if too_many:
        response = {**response, "data": data[:JUDGED_ITEMS]}
        ctx = ResponseContext(req, response, profile, model, fetched)
    for r in _RESPONSE_RULES[1:]:
        if too_many and r.id == "response.data.count_matches_n":
            out.append(
                r.violation(
                    f"{len(data):,} items where n={want if want is not None else '(invalid)'} "
                    f"was asked; the first {JUDGED_ITEMS} were judged"
                )
            )
            continue
        out.extend(r.run(ctx))
    if check_images and isinstance(response.get("data"), list):
        for i, item in enumerate(response["data"]):
            if isinstance(item, dict) and item.get("b64_json") is not None:
                ictx = _image_context(
                    item["b64_json"],
                    f"/data/{i}/b64_json",
                    req,
                    model,
                    response.get("size"),
                    profile,
                )
                out.extend(_run_image_rules(ictx))
    for i, got in sorted((fetched or {}).items()):
        if check_images and got.status == 200 and not got.error:
            ictx = _image_context(
                got.body, f"/data/{i}/url", req, model, response.get("size"), profile
            )
            out.extend(
                Violation(
                    v.rule, v.level, f"the image at data[{i}].url: {v.message}", v.param, v.path
                )
                for v in _run_image_rules(ictx, skip_base64=True)
            )
    return out


def _window(received_at: Any) -> tuple[float, float] | None:
    """``received_at`` as a (start, end) pair of numbers, or None (also when malformed)."""
    try:
        start, end = received_at
        start, end = float(start), float(end)
    except (TypeError, ValueError):
        return None
    return (min(start, end), max(start, end))


def validate_exchange(
    status: int | None,
    *,
    content_type: str | None = None,
    body: bytes = b"",
    situation: str = "any",
    stream: bool = False,
    is_json: Callable[[], bool] | None = None,
) -> list[Violation]:
    """The HTTP rules for one answer: no 5xx, JSON labelled as JSON, and the status the
    ``situation`` calls for (``valid``: 200; ``malformed_json``: 400; ``missing_key`` and
    ``wrong_key``: 401; ``wrong_method``: 405; ``any``: none in particular).
    ``is_json``: says whether the body is JSON from the caller's own parse (asked only
    when needed); left out, the body is parsed here."""
    ctx = HttpContext(status, content_type, body, situation, stream, is_json)
    out: list[Violation] = []
    for r in _HTTP_RULES:
        out.extend(r.run(ctx))
    return out


def validate_image_bytes(
    request: Any,
    data: bytes,
    *,
    profile: Profile | None = None,
    echoed_size: Any = None,
    edition: str | None = None,
) -> list[Violation]:
    """The image rules for raw image bytes (for instance, an image fetched from a returned url)."""
    profile = _profile(profile, edition)
    req = _request_dict(request)
    model = resolve_model(req, profile=profile)
    ictx = _image_context(data, "", req, model, echoed_size, profile)
    return _run_image_rules(ictx, skip_base64=True)


def validate_stream(
    request: Any,
    events: Any,
    *,
    profile: Profile | None = None,
    content_type: str | None = None,
    check_images: bool = True,
    edition: str | None = None,
) -> list[Violation]:
    """Every rule a streamed answer breaks, given the request.

    ``events`` is a list of ``{"event": name or None, "data": parsed JSON}`` in arrival
    order, as ``parse_sse`` returns. ``content_type``, when given, is checked too.
    """
    profile = _profile(profile, edition)
    req = _request_dict(request)
    if not isinstance(events, list):
        events = []
    model = resolve_model(req, profile=profile)
    ctx = StreamContext(req, events, profile, model, content_type)
    out: list[Violation] = []
    for r in _STREAM_RULES:
        out.extend(r.run(ctx))
    if check_images:
        for i, entry in enumerate(events):
            data = entry.get("data") if isinstance(entry, dict) else None
            if (
                isinstance(data, dict)
                and data.get("type") in (PARTIAL, COMPLETED)
                and "b64_json" in data
            ):
                ictx = _image_context(
                    data["b64_json"], f"/{i}/data/b64_json", req, model, data.get("size"), profile
                )
                if data["type"] == PARTIAL:
                    ictx.transparent = False
                out.extend(_run_image_rules(ictx))
    return out


def validate_error(
    status: Any,
    body: Any,
    *,
    request: Any = None,
    profile: Profile | None = None,
    edition: str | None = None,
) -> list[Violation]:
    """Every rule an error answer breaks. With ``request``, also that an invalid request
    got 400 and that ``error.param`` names one of its faults."""
    faults = (
        validate_request(request, profile=profile, edition=edition) if request is not None else None
    )
    ctx = ErrorContext(status=status, body=body, request=request, request_violations=faults)
    out: list[Violation] = []
    for r in _ERROR_RULES:
        out.extend(r.run(ctx))
    return out
