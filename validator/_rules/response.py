"""Response rules: a non-streaming answer to a valid request, judged against that request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from .._models import ENUMS, RESOLVED_BACKGROUNDS, RESOLVED_QUALITIES, RESOLVED_SIZES
from .._time import exchange_window, plausible_window
from ._context import ResponseContext, is_int, show
from ._expect import (
    custom_size_asked,
    expected_format,
    expected_image_field,
    expected_n,
    is_family,
    valid_custom_echo,
    wants_url,
)
from ._table import Finding, rule

MUST, SHOULD = "MUST", "SHOULD"

DALLE = ("dall-e-2", "dall-e-3")

_ECHO_ENUMS = {
    "background": RESOLVED_BACKGROUNDS,
    "output_format": ENUMS["output_format"],
    "quality": RESOLVED_QUALITIES,
    "size": RESOLVED_SIZES,
}


def _items(ctx: ResponseContext) -> list[tuple[int, dict[str, Any]]]:
    data = ctx.response.get("data")
    if not isinstance(data, list):
        return []
    return [(i, item) for i, item in enumerate(data) if isinstance(item, dict)]


@rule(
    "response.body.object",
    MUST,
    quote="ImagesResponse: type: object",
    source="openapi",
)
def body_object(ctx: ResponseContext) -> Iterator[Finding]:
    """The response body is a JSON object."""
    if not isinstance(ctx.response, dict):
        yield Finding(f"the response must be a JSON object; got {type(ctx.response).__name__}")


@rule(
    "response.created.unix_seconds",
    MUST,
    quote="created: type: integer format: unixtime description: The Unix timestamp (in "
    "seconds) of when the image was created.",
    source="openapi",
)
def created_seconds(ctx: ResponseContext) -> Iterator[Finding]:
    """created is present and an integer Unix time in seconds (not milliseconds)."""
    if "created" not in ctx.response:
        yield Finding("created is missing", path="")
        return
    value = ctx.response["created"]
    if not is_int(value):
        yield Finding(f"created must be an integer; got {show(value)}", path="/created")
    elif not 0 <= value < 10**11:
        yield Finding(
            f"created {show(value)} is not a Unix time in seconds (milliseconds?)", path="/created"
        )


@rule(
    "response.created.time_of_creation",
    MUST,
    quote="The Unix timestamp (in seconds) of when the image was created.",
)
def created_time(ctx: ResponseContext) -> Iterator[Finding]:
    """created is the time of the exchange (or, with no time known, a plausible time).

    The exchange window allows CLOCK_SKEW either side; a plausible time is not before
    2022 and not in the future."""
    value = ctx.response.get("created")
    if not is_int(value) or not 0 <= value < 10**11:
        return  # response.created.unix_seconds reports it
    if ctx.received_at is not None:
        low, high = exchange_window(ctx.received_at)
        when = "the exchange"
    else:
        low, high = plausible_window()
        when = "any plausible time of creation (2022 or later, not in the future)"
    if not low <= value <= high:
        yield Finding(
            f"created {show(value)} is not the time of creation: it lies "
            f"{_distance(value, low, high)} {when}",
            path="/created",
        )


def _distance(value: float, low: float, high: float) -> str:
    """How far a time lies outside [low, high], in words."""
    gap = low - value if value < low else value - high
    side = "before" if value < low else "after"
    for unit, seconds in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if gap >= 2 * seconds:
            return f"{gap / seconds:.0f} {unit} {side}"
    return f"{gap:.0f} s {side}"


@rule(
    "response.data.array",
    MUST,
    quote="data: optional array of Image The list of generated images.",
)
def data_array(ctx: ResponseContext) -> Iterator[Finding]:
    """data, when present, is an array of objects."""
    data = ctx.response.get("data")
    if "data" not in ctx.response:
        return
    if not isinstance(data, list):
        yield Finding(f"data must be an array; got {type(data).__name__}", path="/data")
        return
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            yield Finding(
                f"data[{i}] must be an object; got {type(item).__name__}", path=f"/data/{i}"
            )


@rule(
    "response.data.count_matches_n",
    MUST,
    params=["n"],
    quote="The number of images to generate. Must be between 1 and 10.",
)
def data_count(ctx: ResponseContext) -> Iterator[Finding]:
    """data holds exactly n images (1 by default)."""
    want = expected_n(ctx.request)
    if want is None:
        return
    data = ctx.response.get("data")
    have = len(data) if isinstance(data, list) else 0
    if have != want:
        yield Finding(f"expected {want} image(s) for n={want}; got {have}", path="/data")


@rule(
    "response.data.item_fields",
    MUST,
    quote="b64_json: optional string … revised_prompt: optional string … url: optional string",
)
def item_fields(ctx: ResponseContext) -> Iterator[Finding]:
    """Each item's b64_json, url and revised_prompt, when given, are strings."""
    for i, item in _items(ctx):
        for key in ("b64_json", "url", "revised_prompt"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                yield Finding(
                    f"data[{i}].{key} must be a string; got {type(value).__name__}",
                    path=f"/data/{i}/{key}",
                )


@rule(
    "response.data.no_null_fields",
    MUST,
    quote="b64_json: optional string … url: optional string",
)
def item_nulls(ctx: ResponseContext) -> Iterator[Finding]:
    """An item's b64_json and url are left out, never null, when it does not carry them."""
    for i, item in _items(ctx):
        for key in ("b64_json", "url"):
            if key in item and item[key] is None:
                yield Finding(
                    f"data[{i}].{key} is null, where the document types it a string; leave it out",
                    path=f"/data/{i}/{key}",
                )


@rule(
    "response.revised_prompt.not_null",
    SHOULD,
    quote="revised_prompt: optional string",
)
def revised_prompt_null(ctx: ResponseContext) -> Iterator[Finding]:
    """revised_prompt, when present, is a string rather than null.

    SHOULD: the live API itself sends null for gpt-image-1 (vercel/ai#9441)."""
    for i, item in _items(ctx):
        if "revised_prompt" in item and item["revised_prompt"] is None:
            yield Finding(
                f"data[{i}].revised_prompt is null, where the document types it a string; "
                "leave it out",
                path=f"/data/{i}/revised_prompt",
            )


@rule(
    "response.no_null_fields",
    MUST,
    quote='background: optional "transparent" or "opaque" … output_format: optional "png" or '
    '"webp" or "jpeg" … quality: optional "low" or "medium" or "high" … size: optional '
    '"1024x1024" or "1024x1536" or "1536x1024" … usage: optional object { input_tokens, '
    "input_tokens_details, output_tokens, 2 more } … output_tokens_details: optional object "
    "{ image_tokens, text_tokens }",
)
def answer_nulls(ctx: ResponseContext) -> Iterator[Finding]:
    """The echoes, usage and usage.output_tokens_details are left out rather than null.

    Whatever the model: gateways send them as null on dall-e answers."""
    for key in ("background", "output_format", "quality", "size", "usage"):
        if key in ctx.response and ctx.response[key] is None:
            yield Finding(
                f"{key} is null, where the document types it "
                f"{'an object' if key == 'usage' else 'a string'}; leave it out",
                path=f"/{key}",
            )
    usage = ctx.response.get("usage")
    if (
        isinstance(usage, dict)
        and "output_tokens_details" in usage
        and (usage["output_tokens_details"] is None)
    ):
        yield Finding(
            "usage.output_tokens_details is null, where the document types it an object; "
            "leave it out",
            path="/usage/output_tokens_details",
        )


@rule(
    "response.image.field_per_model",
    MUST,
    params=["response_format"],
    quote="Returned by default for the GPT image models, and only present if "
    "response_format is set to b64_json for dall-e-2 and dall-e-3. … When using "
    "dall-e-2 or dall-e-3, the URL of the generated image if response_format is set "
    "to url (default value). Unsupported for the GPT image models.",
)
def image_field(ctx: ResponseContext) -> Iterator[Finding]:
    """Each item carries exactly the image field the model and response_format call for."""
    want = expected_image_field(ctx.request, ctx.model)
    for i, item in _items(ctx):
        has = [k for k in ("b64_json", "url") if item.get(k) is not None]
        if want is None:
            if len(has) != 1:
                yield Finding(
                    f"data[{i}] must carry exactly one of b64_json and url; has {has or 'neither'}",
                    path=f"/data/{i}",
                )
        elif has != [want]:
            yield Finding(
                f"data[{i}] must carry {want} only (model {ctx.model.name}, response_format "
                f"{ctx.request.get('response_format') or 'not given'}); has {has or 'neither'}",
                path=f"/data/{i}",
            )


@rule(
    "response.url.absolute_http",
    MUST,
    params=["response_format"],
    quote="url: type: string format: uri",
    source="openapi",
    feature="url_responses",
    applies=wants_url,
)
def url_absolute(ctx: ResponseContext) -> Iterator[Finding]:
    """Each url is an absolute http(s) URL."""
    for i, item in _items(ctx):
        url = item.get("url")
        if not isinstance(url, str):
            continue
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            yield Finding(
                f"data[{i}].url must be an absolute http(s) URL; got {url[:80]!r}",
                path=f"/data/{i}/url",
            )


@rule(
    "response.url.fetchable",
    MUST,
    params=["response_format"],
    quote="URLs are only valid for 60 minutes after the image has been generated.",
    feature="url_responses",
    applies=wants_url,
)
def url_fetchable(ctx: ResponseContext) -> Iterator[Finding]:
    """Each url the caller fetched answered 200 (judged only where fetch results are given)."""
    for i, fetched in sorted((ctx.fetched or {}).items()):
        if fetched.status != 200 or fetched.error:
            got = fetched.error or (
                "no answer" if fetched.status is None else f"HTTP {fetched.status}"
            )
            yield Finding(f"fetching data[{i}].url gave {got}", path=f"/data/{i}/url")


@rule(
    "response.revised_prompt.dalle3_only",
    MUST,
    params=["model"],
    quote="For dall-e-3 only, the revised prompt that was used to generate the image.",
    applies=is_family("dall-e-2", "gpt-image"),
)
def revised_prompt_only(ctx: ResponseContext) -> Iterator[Finding]:
    """revised_prompt appears only for dall-e-3."""
    if ctx.model.family not in ("dall-e-2", "gpt-image"):
        return
    for i, item in _items(ctx):
        if item.get("revised_prompt") is not None:
            yield Finding(
                f"data[{i}] carries revised_prompt, which is for dall-e-3 only; the model is "
                f"{ctx.model.name}",
                path=f"/data/{i}/revised_prompt",
            )


@rule(
    "response.revised_prompt.dalle3_present",
    SHOULD,
    params=["model"],
    quote="Every dall-e-3 item carries revised_prompt.",
    source="observed",
    evidence="every dall-e-3 answer of the real-traffic recordings, 2023-2026",
    applies=is_family("dall-e-3"),
)
def revised_prompt_present(ctx: ResponseContext) -> Iterator[Finding]:
    """dall-e-3 items carry revised_prompt (the live API always sends it)."""
    if ctx.model.family != "dall-e-3":
        return
    for i, item in _items(ctx):
        if item.get("revised_prompt") is None:
            yield Finding(f"data[{i}] has no revised_prompt", path=f"/data/{i}")


@rule(
    "response.usage.gpt_image_present",
    SHOULD,
    quote="Every GPT image answer carries usage.",
    source="observed",
    evidence="every gpt-image-1 answer of the real-traffic recordings, 2025-2026",
    applies=is_family("gpt-image"),
)
def usage_present(ctx: ResponseContext) -> Iterator[Finding]:
    """The GPT image models report usage."""
    if ctx.model.family == "gpt-image" and ctx.response.get("usage") is None:
        yield Finding("usage is missing for a GPT image model", path="/usage")


@rule(
    "response.usage.gpt_image_only",
    MUST,
    params=["model"],
    quote="For gpt-image-1 only, the token usage information for the image generation.",
    applies=is_family(*DALLE),
)
def usage_only(ctx: ResponseContext) -> Iterator[Finding]:
    """A dall-e answer carries no usage (the token usage is the GPT image models')."""
    if ctx.model.family in DALLE and ctx.response.get("usage") is not None:
        yield Finding(
            f"usage is for the GPT image models only; the model is {ctx.model.name}",
            path="/usage",
        )


@rule(
    "response.echo.gpt_image_only",
    SHOULD,
    params=["background", "output_format", "quality", "size"],
    quote="The background parameter used for the image generation. … This parameter is "
    "only supported for the GPT image models.",
    applies=is_family(*DALLE),
)
def echo_only(ctx: ResponseContext) -> Iterator[Finding]:
    """A dall-e answer carries no echoes (background, output_format, quality, size).

    They report parameters of the GPT image models."""
    if ctx.model.family not in DALLE:
        return
    for key in ("background", "output_format", "quality", "size"):
        if ctx.response.get(key) is not None:
            yield Finding(
                f"{key} ({show(ctx.response[key])}) echoes a parameter of the GPT image "
                f"models; the model is {ctx.model.name}",
                param=key,
                path=f"/{key}",
            )


def usage_shape_findings(usage: Any, path: str) -> Iterator[Finding]:
    """Required keys and non-negative integer counts of a usage object."""
    if not isinstance(usage, dict):
        yield Finding(f"usage must be an object; got {type(usage).__name__}", path=path)
        return
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        if key not in usage:
            yield Finding(f"usage.{key} is missing", path=path)
        elif not is_int(usage[key]) or usage[key] < 0:
            yield Finding(
                f"usage.{key} must be a non-negative integer; got {show(usage[key])}",
                path=f"{path}/{key}",
            )
    for key, required in (("input_tokens_details", True), ("output_tokens_details", False)):
        details = usage.get(key)
        if details is None:
            if required:
                yield Finding(f"usage.{key} is missing", path=path)
            continue
        if not isinstance(details, dict):
            yield Finding(f"usage.{key} must be an object", path=f"{path}/{key}")
            continue
        for sub in ("image_tokens", "text_tokens"):
            if sub not in details:
                yield Finding(f"usage.{key}.{sub} is missing", path=f"{path}/{key}")
            elif not is_int(details[sub]) or details[sub] < 0:
                yield Finding(
                    f"usage.{key}.{sub} must be a non-negative integer; got {show(details[sub])}",
                    path=f"{path}/{key}/{sub}",
                )


def usage_sum_findings(usage: Any, path: str) -> Iterator[Finding]:
    """total = input + output; input and output equal the sums of their details."""
    if not isinstance(usage, dict):
        return

    def num(obj: Any, key: str) -> int | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        return int(value) if is_int(value) else None

    inp, out, total = (num(usage, k) for k in ("input_tokens", "output_tokens", "total_tokens"))
    if None not in (inp, out, total) and inp + out != total:  # type: ignore[operator]
        yield Finding(
            f"usage.total_tokens is {show(total)}, but input_tokens + output_tokens is {show(inp + out)}",  # type: ignore[operator]
            path=f"{path}/total_tokens",
        )
    for key, whole in (("input_tokens_details", inp), ("output_tokens_details", out)):
        details = usage.get(key)
        img, txt = num(details, "image_tokens"), num(details, "text_tokens")
        if None not in (whole, img, txt) and img + txt != whole:  # type: ignore[operator]
            name = key.replace("_details", "")
            yield Finding(
                f"usage.{name} is {show(whole)}, but its image_tokens + text_tokens is {show(img + txt)}",  # type: ignore[operator]
                path=f"{path}/{key}",
            )


@rule(
    "response.usage.shape",
    MUST,
    quote="required: - input_tokens - total_tokens - output_tokens - input_tokens_details",
    source="openapi",
    applies=is_family("gpt-image"),
)
def usage_shape(ctx: ResponseContext) -> Iterator[Finding]:
    """usage, when present, has every required key, with non-negative integer counts."""
    if ctx.response.get("usage") is not None:
        yield from usage_shape_findings(ctx.response["usage"], "/usage")


@rule(
    "response.usage.sums",
    MUST,
    quote="total_tokens: number The total number of tokens (images and text) used for the "
    "image generation.",
    applies=is_family("gpt-image"),
)
def usage_sums(ctx: ResponseContext) -> Iterator[Finding]:
    """usage counts add up: total = input + output, and each equals its details' sum."""
    yield from usage_sum_findings(ctx.response.get("usage"), "/usage")


@rule(
    "response.echo.resolved",
    MUST,
    params=["size", "quality", "background", "output_format"],
    quote="The quality of the image generated. Either low, medium, or high. … The size of "
    "the image generated. Either 1024x1024, 1024x1536, or 1536x1024.",
    applies=is_family("gpt-image"),
)
def echo_resolved(ctx: ResponseContext) -> Iterator[Finding]:
    """Echoed size, quality, background and output_format are resolved values (never auto).

    A model taking free sizes under the edition may echo a valid WIDTHxHEIGHT size.
    """
    custom = ctx.profile.custom_sizes_for(ctx.model.name)
    for key, allowed in _ECHO_ENUMS.items():
        value = ctx.response.get(key)
        if key == "size" and valid_custom_echo(value, custom):
            continue
        if value is not None and value not in allowed:
            yield Finding(
                f"{key} echoes {show(ctx.response[key])}; the document allows {list(allowed)}",
                param=key,
                path=f"/{key}",
            )


@rule(
    "response.echo.matches_request",
    MUST,
    params=["size", "quality", "background", "output_format"],
    quote="The background parameter used for the image generation. … The output format of "
    "the image generation.",
    applies=is_family("gpt-image"),
)
def echo_matches(ctx: ResponseContext) -> Iterator[Finding]:
    """Echoed values agree with what the request asked for (when it asked for a fixed value,
    a WIDTHxHEIGHT size of a model taking free sizes included)."""
    custom = ctx.profile.custom_sizes_for(ctx.model.name)
    yield from echo_findings(ctx.request, ctx.response, ctx.model, "", custom)


def echo_findings(
    request: dict[str, Any], echo: dict[str, Any], model: Any, base: str, custom: Any = None
) -> Iterator[Finding]:
    """Echoed size/quality/background/output_format versus the request's explicit values
    (``custom``: the free-size limits of the model, when it takes free sizes)."""
    for key in ("size", "quality", "background"):
        asked = request.get(key)
        fixed = isinstance(asked, str) and asked != "auto" and asked in ENUMS[key]
        fixed = fixed or (key == "size" and custom_size_asked(request, custom) is not None)
        if fixed and key in echo and echo[key] != asked:
            yield Finding(
                f"{key} echoes {show(echo[key])}, but the request asked for {asked!r}",
                param=key,
                path=f"{base}/{key}",
            )
    fmt = expected_format(request, model)
    if "output_format" in echo and fmt and echo["output_format"] != fmt:
        yield Finding(
            f"output_format echoes {show(echo['output_format'])}, but the request asks for {fmt!r}",
            param="output_format",
            path=f"{base}/output_format",
        )
