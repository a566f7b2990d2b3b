"""Request rules: what a body sent to POST /images/generations must satisfy.

One function per concern. Each is registered with the sentence of the document it
comes from. Null means "not given" for every parameter except prompt and user.
"""

from __future__ import annotations

from collections.abc import Iterator

from .._editions import CustomSizes, parse_size
from .._models import (
    ENUMS,
    PROMPT_MAX_CHARS,
    QUALITIES,
    REQUEST_PARAMS,
    SIZES,
)
from ._context import RequestContext, is_int, show
from ._table import Finding, rule

MUST, SHOULD = "MUST", "SHOULD"
_KNOWN = frozenset(REQUEST_PARAMS)


def _enum_check(ctx: RequestContext, param: str) -> Iterator[str]:
    value = ctx.body.get(param)
    if value is not None and value not in ENUMS[param]:
        yield f"{param} must be one of {list(ENUMS[param])} or null; got {show(value)}"


def _only_for(
    ctx: RequestContext, param: str, families: tuple[str, ...], who: str
) -> Iterator[str]:
    fam = ctx.model.family
    if ctx.body.get(param) is not None and fam is not None and fam not in families:
        yield f"{param} is only supported for {who}; the model is {show(ctx.model.name)}"


# --- the body and prompt ---------------------------------------------------------------


@rule(
    "request.body.object",
    MUST,
    quote="CreateImageRequest: type: object",
    source="openapi",
    schema=True,
    when=(),
)
def body_object(body: object) -> Iterator[Finding]:
    """The request body is a JSON object.

    Run first, on the raw body: a non-object has no parameters for other rules to judge.
    """
    if not isinstance(body, dict):
        yield Finding(
            f"the body must be a JSON object; got {_json_type(body)}", path="", param=None
        )


@rule(
    "request.prompt.required",
    MUST,
    params=["prompt"],
    quote="required: - prompt",
    source="openapi",
    schema=True,
)
def prompt_required(ctx: RequestContext) -> Iterator[Finding]:
    """prompt is present."""
    if "prompt" not in ctx.body:
        yield Finding("prompt is required and missing", path="")


@rule(
    "request.prompt.type",
    MUST,
    params=["prompt"],
    quote="prompt: string",
    schema=True,
    when=["prompt"],
)
def prompt_type(ctx: RequestContext) -> Iterator[str]:
    """prompt is a string (null is not allowed)."""
    value = ctx.body["prompt"]
    if not isinstance(value, str):
        yield f"prompt must be a string; got {type(value).__name__} {show(value)}"


@rule(
    "request.prompt.max_length",
    MUST,
    params=["prompt"],
    quote="The maximum length is 32000 characters for the GPT image models, 1000 characters "
    "for dall-e-2 and 4000 characters for dall-e-3.",
    when=["prompt"],
)
def prompt_max_length(ctx: RequestContext) -> Iterator[str]:
    """prompt has at most the model's maximum number of characters."""
    value = ctx.body["prompt"]
    fam = ctx.model.family
    if isinstance(value, str) and fam is not None and len(value) > PROMPT_MAX_CHARS[fam]:
        yield (
            f"prompt has {len(value)} characters; {ctx.model.name} allows at most "
            f"{PROMPT_MAX_CHARS[fam]}"
        )


@rule(
    "request.prompt.non_empty",
    SHOULD,
    params=["prompt"],
    quote="A text description of the desired image(s).",
    when=["prompt"],
)
def prompt_non_empty(ctx: RequestContext) -> Iterator[str]:
    """prompt is not empty or only white space (the document implies a description)."""
    value = ctx.body["prompt"]
    if isinstance(value, str) and not value.strip():
        yield "prompt is empty or only white space"


# --- model -----------------------------------------------------------------------------


@rule(
    "request.model.type",
    MUST,
    params=["model"],
    quote="model: optional string or ImageModel",
    schema=True,
    when=["model"],
    pure=True,
)
def model_type(ctx: RequestContext) -> Iterator[str]:
    """model is a string or null."""
    value = ctx.body["model"]
    if value is not None and not isinstance(value, str):
        yield f"model must be a string or null; got {type(value).__name__} {show(value)}"


@rule(
    "request.model.known",
    MUST,
    params=["model"],
    quote="One of dall-e-2, dall-e-3, or a GPT image model (gpt-image-1, gpt-image-1-mini, "
    "gpt-image-1.5).",
    when=["model"],
    pure=True,
)
def model_known(ctx: RequestContext) -> Iterator[str]:
    """model names a model of the document (or of the profile)."""
    if isinstance(ctx.body["model"], str) and not ctx.model.known:
        served = ", ".join(ctx.profile.models)
        yield f"model {show(ctx.body['model'])} is not a known model; known: {served}"


@rule(
    "request.model.default_dalle2_values",
    SHOULD,
    params=["quality", "size"],
    quote="Defaults to dall-e-2 unless a parameter specific to the GPT image models is used.",
    when=["quality", "size"],
)
def model_default_values(ctx: RequestContext) -> Iterator[Finding]:
    """With no model given, quality and size are values that dall-e-2 supports.

    The document defaults the model to dall-e-2, but quality and size are not parameters
    "specific to the GPT image models", so a server may read a GPT-only value as a hint.
    Hence SHOULD; with an explicit model the per-model rules (MUST) apply instead.
    """
    if ctx.model.source != "default" or ctx.model.family != "dall-e-2":
        return
    for param in ("quality", "size"):
        value = ctx.body.get(param)
        if value in ENUMS[param] and value not in SIZES["dall-e-2"] + QUALITIES["dall-e-2"]:
            if param == "size" and value == "auto":
                continue  # request.size.auto_for_dalle covers it
            yield Finding(
                f"{param} {value!r} is not supported by dall-e-2, the default model when "
                "no model is given",
                param=param,
                path=f"/{param}",
            )


# --- n ---------------------------------------------------------------------------------


@rule(
    "request.n.type",
    MUST,
    params=["n"],
    quote="'n': type: integer",
    source="openapi",
    schema=True,
    when=["n"],
    pure=True,
)
def n_type(ctx: RequestContext) -> Iterator[str]:
    """n is an integer or null (booleans are not integers)."""
    value = ctx.body["n"]
    if value is not None and not is_int(value):
        yield f"n must be an integer or null; got {type(value).__name__} {show(value)}"


@rule(
    "request.n.range",
    MUST,
    params=["n"],
    quote="Must be between 1 and 10.",
    schema=True,
    when=["n"],
    pure=True,
)
def n_range(ctx: RequestContext) -> Iterator[str]:
    """n is between 1 and 10."""
    value = ctx.body["n"]
    if is_int(value) and not 1 <= value <= 10:
        yield f"n must be between 1 and 10; got {show(value)}"


@rule(
    "request.n.dalle3_only_one",
    MUST,
    params=["n"],
    quote="For dall-e-3, only n=1 is supported.",
    when=["n"],
    pure=True,
)
def n_dalle3(ctx: RequestContext) -> Iterator[str]:
    """n is 1 for dall-e-3."""
    value = ctx.body["n"]
    if ctx.model.family == "dall-e-3" and is_int(value) and 1 < value <= 10:
        yield f"dall-e-3 supports only n=1; got n={value}"


# --- quality ---------------------------------------------------------------------------


@rule(
    "request.quality.enum",
    MUST,
    params=["quality"],
    quote="quality: type: string enum: - standard - hd - low - medium - high - auto",
    source="openapi",
    schema=True,
    when=["quality"],
    pure=True,
)
def quality_enum(ctx: RequestContext) -> Iterator[str]:
    """quality is one of standard, hd, low, medium, high, auto, or null."""
    yield from _enum_check(ctx, "quality")


@rule(
    "request.quality.per_model",
    MUST,
    params=["quality"],
    quote="high, medium and low are supported for the GPT image models. • hd and standard "
    "are supported for dall-e-3. • standard is the only option for dall-e-2.",
    when=["quality"],
    pure=True,
)
def quality_per_model(ctx: RequestContext) -> Iterator[str]:
    """quality is one the model supports (auto is always allowed)."""
    value, fam = ctx.body["quality"], ctx.model.family
    if fam is None or ctx.model.source == "default" or value not in ENUMS["quality"]:
        return
    if value not in QUALITIES[fam]:
        yield f"quality {value!r} is not supported by {ctx.model.name}; supported: {list(QUALITIES[fam])}"


# --- response_format, style ------------------------------------------------------------


@rule(
    "request.response_format.enum",
    MUST,
    params=["response_format"],
    quote="Must be one of url or b64_json.",
    schema=True,
    when=["response_format"],
    pure=True,
)
def response_format_enum(ctx: RequestContext) -> Iterator[str]:
    """response_format is url, b64_json or null."""
    yield from _enum_check(ctx, "response_format")


@rule(
    "request.response_format.dalle_only",
    MUST,
    params=["response_format"],
    quote="This parameter isn't supported for the GPT image models, which always return "
    "base64-encoded images.",
    when=["response_format"],
    pure=True,
)
def response_format_dalle_only(ctx: RequestContext) -> Iterator[str]:
    """response_format is not given for the GPT image models."""
    yield from _only_for(ctx, "response_format", ("dall-e-2", "dall-e-3"), "dall-e-2 and dall-e-3")


@rule(
    "request.style.enum",
    MUST,
    params=["style"],
    quote="Must be one of vivid or natural.",
    schema=True,
    when=["style"],
    pure=True,
)
def style_enum(ctx: RequestContext) -> Iterator[str]:
    """style is vivid, natural or null."""
    yield from _enum_check(ctx, "style")


@rule(
    "request.style.dalle3_only",
    MUST,
    params=["style"],
    quote="This parameter is only supported for dall-e-3.",
    when=["style"],
    pure=True,
)
def style_dalle3_only(ctx: RequestContext) -> Iterator[str]:
    """style is given only for dall-e-3."""
    yield from _only_for(ctx, "style", ("dall-e-3",), "dall-e-3")


# --- GPT image model parameters --------------------------------------------------------


@rule(
    "request.output_format.enum",
    MUST,
    params=["output_format"],
    quote="Must be one of png, jpeg, or webp.",
    schema=True,
    when=["output_format"],
    pure=True,
)
def output_format_enum(ctx: RequestContext) -> Iterator[str]:
    """output_format is png, jpeg, webp or null."""
    yield from _enum_check(ctx, "output_format")


@rule(
    "request.output_format.gpt_image_only",
    MUST,
    params=["output_format"],
    quote="This parameter is only supported for the GPT image models.",
    when=["output_format"],
    pure=True,
)
def output_format_gpt_only(ctx: RequestContext) -> Iterator[str]:
    """output_format is given only for the GPT image models."""
    yield from _only_for(ctx, "output_format", ("gpt-image",), "the GPT image models")


@rule(
    "request.output_compression.type",
    MUST,
    params=["output_compression"],
    quote="output_compression: type: integer",
    source="openapi",
    schema=True,
    when=["output_compression"],
    pure=True,
)
def output_compression_type(ctx: RequestContext) -> Iterator[str]:
    """output_compression is an integer or null."""
    value = ctx.body["output_compression"]
    if value is not None and not is_int(value):
        yield (
            "output_compression must be an integer or null; got "
            f"{type(value).__name__} {show(value)}"
        )


@rule(
    "request.output_compression.range",
    MUST,
    params=["output_compression"],
    quote="The compression level (0-100%) for the generated images.",
    schema=True,
    when=["output_compression"],
    pure=True,
)
def output_compression_range(ctx: RequestContext) -> Iterator[str]:
    """output_compression is between 0 and 100."""
    value = ctx.body["output_compression"]
    if is_int(value) and not 0 <= value <= 100:
        yield f"output_compression must be between 0 and 100; got {show(value)}"


@rule(
    "request.output_compression.gpt_image_only",
    MUST,
    params=["output_compression"],
    quote="This parameter is only supported for the GPT image models with the webp or jpeg "
    "output formats, and defaults to 100.",
    when=["output_compression"],
    pure=True,
)
def output_compression_gpt_only(ctx: RequestContext) -> Iterator[str]:
    """output_compression is given only for the GPT image models."""
    yield from _only_for(ctx, "output_compression", ("gpt-image",), "the GPT image models")


@rule(
    "request.output_compression.needs_jpeg_or_webp",
    MUST,
    params=["output_compression", "output_format"],
    quote="This parameter is only supported for the GPT image models with the webp or jpeg "
    "output formats, and defaults to 100.",
    when=["output_compression"],
)
def output_compression_format(ctx: RequestContext) -> Iterator[str]:
    """output_compression below 100 comes with output_format jpeg or webp (png is the default)."""
    value = ctx.body["output_compression"]
    if ctx.model.family != "gpt-image" or value is None or (is_int(value) and value == 100):
        return
    fmt = ctx.body.get("output_format")
    if fmt is None or fmt == "png":
        yield (
            "output_compression needs output_format jpeg or webp; output_format is "
            f"{fmt or 'png (default)'}"
        )


@rule(
    "request.output_compression.default_with_png",
    SHOULD,
    params=["output_compression", "output_format"],
    quote="This parameter is only supported for the GPT image models with the webp or jpeg "
    "output formats, and defaults to 100.",
    when=["output_compression"],
)
def output_compression_default_png(ctx: RequestContext) -> Iterator[str]:
    """output_compression: 100 (the default) is not sent with png.

    It asks for the default, so a server may accept it (the document's own first example
    does it); but the parameter is only supported with jpeg and webp. Hence SHOULD.
    """
    value = ctx.body["output_compression"]
    if ctx.model.family != "gpt-image" or not (is_int(value) and value == 100):
        return
    fmt = ctx.body.get("output_format")
    if fmt is None or fmt == "png":
        yield f"output_compression 100 is sent with output_format {fmt or 'png (default)'}"


@rule(
    "request.moderation.enum",
    MUST,
    params=["moderation"],
    quote="Must be either low for less restrictive filtering or auto (default value).",
    schema=True,
    when=["moderation"],
    pure=True,
)
def moderation_enum(ctx: RequestContext) -> Iterator[str]:
    """moderation is low, auto or null."""
    yield from _enum_check(ctx, "moderation")


@rule(
    "request.moderation.gpt_image_only",
    MUST,
    params=["moderation"],
    quote="Control the content-moderation level for images generated by the GPT image models.",
    when=["moderation"],
    pure=True,
)
def moderation_gpt_only(ctx: RequestContext) -> Iterator[str]:
    """moderation is given only for the GPT image models."""
    yield from _only_for(ctx, "moderation", ("gpt-image",), "the GPT image models")


@rule(
    "request.background.enum",
    MUST,
    params=["background"],
    quote="Must be one of transparent, opaque or auto (default value).",
    schema=True,
    when=["background"],
    pure=True,
)
def background_enum(ctx: RequestContext) -> Iterator[str]:
    """background is transparent, opaque, auto or null."""
    yield from _enum_check(ctx, "background")


@rule(
    "request.background.gpt_image_only",
    MUST,
    params=["background"],
    quote="This parameter is only supported for the GPT image models.",
    when=["background"],
    pure=True,
)
def background_gpt_only(ctx: RequestContext) -> Iterator[str]:
    """background is given only for the GPT image models."""
    yield from _only_for(ctx, "background", ("gpt-image",), "the GPT image models")


@rule(
    "request.background.transparent_needs_png_or_webp",
    MUST,
    params=["background", "output_format"],
    quote="If transparent, the output format needs to support transparency, so it should be "
    "set to either png (default value) or webp.",
    when=["background"],
)
def background_transparent_format(ctx: RequestContext) -> Iterator[str]:
    """background transparent comes with output_format png or webp."""
    if ctx.body["background"] == "transparent" and ctx.body.get("output_format") == "jpeg":
        yield "background transparent needs output_format png or webp; got jpeg"


@rule(
    "request.stream.type",
    MUST,
    params=["stream"],
    quote="stream: optional boolean",
    schema=True,
    when=["stream"],
    pure=True,
)
def stream_type(ctx: RequestContext) -> Iterator[str]:
    """stream is true, false or null."""
    value = ctx.body["stream"]
    if value is not None and not isinstance(value, bool):
        yield f"stream must be a boolean or null; got {type(value).__name__} {show(value)}"


@rule(
    "request.stream.gpt_image_only",
    MUST,
    params=["stream"],
    quote="This parameter is only supported for the GPT image models.",
    when=["stream"],
    pure=True,
)
def stream_gpt_only(ctx: RequestContext) -> Iterator[str]:
    """stream: true is asked only of the GPT image models."""
    if ctx.body["stream"] is True:
        yield from _only_for(ctx, "stream", ("gpt-image",), "the GPT image models")


@rule(
    "request.stream.false_for_dalle",
    SHOULD,
    params=["stream"],
    quote="Generate the image in streaming mode. Defaults to false.",
    when=["stream"],
    pure=True,
)
def stream_false_dalle(ctx: RequestContext) -> Iterator[str]:
    """stream: false is not sent to a dall-e model.

    It asks for the default, so a server may accept it; but the parameter itself is
    "only supported for the GPT image models". Hence SHOULD.
    """
    if ctx.body["stream"] is False:
        yield from _only_for(ctx, "stream", ("gpt-image",), "the GPT image models")


@rule(
    "request.partial_images.type",
    MUST,
    params=["partial_images"],
    quote="PartialImages: anyOf: - type: integer",
    source="openapi",
    schema=True,
    when=["partial_images"],
    pure=True,
)
def partial_images_type(ctx: RequestContext) -> Iterator[str]:
    """partial_images is an integer or null."""
    value = ctx.body["partial_images"]
    if value is not None and not is_int(value):
        yield (
            f"partial_images must be an integer or null; got {type(value).__name__} {show(value)}"
        )


@rule(
    "request.partial_images.range",
    MUST,
    params=["partial_images"],
    quote="Value must be between 0 and 3.",
    schema=True,
    when=["partial_images"],
    pure=True,
)
def partial_images_range(ctx: RequestContext) -> Iterator[str]:
    """partial_images is between 0 and 3."""
    value = ctx.body["partial_images"]
    if is_int(value) and not 0 <= value <= 3:
        yield f"partial_images must be between 0 and 3; got {show(value)}"


@rule(
    "request.partial_images.gpt_image_only",
    MUST,
    params=["partial_images"],
    quote="This parameter is used for streaming responses that return partial images.",
    when=["partial_images"],
    pure=True,
)
def partial_images_gpt_only(ctx: RequestContext) -> Iterator[str]:
    """partial_images is given only for the GPT image models (the only ones that stream)."""
    yield from _only_for(ctx, "partial_images", ("gpt-image",), "the GPT image models")


@rule(
    "request.partial_images.needs_stream",
    SHOULD,
    params=["partial_images", "stream"],
    quote="This parameter is used for streaming responses that return partial images.",
    when=["partial_images"],
)
def partial_images_needs_stream(ctx: RequestContext) -> Iterator[str]:
    """partial_images is sent only with stream: true (the document implies it).

    Not judged for the dall-e models: request.partial_images.gpt_image_only covers them.
    """
    if ctx.model.family in ("dall-e-2", "dall-e-3"):
        return
    if ctx.body["partial_images"] is not None and ctx.body.get("stream") is not True:
        yield "partial_images is given but stream is not true"


# --- size ------------------------------------------------------------------------------


@rule(
    "request.size.enum",
    MUST,
    params=["size"],
    quote="size: type: string enum: - auto - 1024x1024 - 1536x1024 - 1024x1536 - 256x256 - "
    "512x512 - 1792x1024 - 1024x1792",
    source="openapi",
    schema=True,
    when=["size"],
    pure=True,
)
def size_enum(ctx: RequestContext) -> Iterator[str]:
    """size is one of the eight sizes of the document, or null (a model taking free sizes:
    see request.size.custom_format)."""
    if _custom(ctx) is None:
        yield from _enum_check(ctx, "size")


@rule(
    "request.size.per_model",
    MUST,
    params=["size"],
    quote="Must be one of 1024x1024, 1536x1024 (landscape), 1024x1536 (portrait), or auto "
    "(default value) for the GPT image models, one of 256x256, 512x512, or 1024x1024 for "
    "dall-e-2, and one of 1024x1024, 1792x1024, or 1024x1792 for dall-e-3.",
    when=["size"],
    pure=True,
)
def size_per_model(ctx: RequestContext) -> Iterator[str]:
    """size is one the model supports (auto for dall-e: see request.size.auto_for_dalle)."""
    value, fam = ctx.body["size"], ctx.model.family
    if fam is None or ctx.model.source == "default" or value not in ENUMS["size"]:
        return
    if _custom(ctx) is not None:
        return  # the request.size.custom_* rules judge it
    if value != "auto" and value not in SIZES[fam]:
        yield f"size {value!r} is not supported by {ctx.model.name}; supported: {list(SIZES[fam])}"


@rule(
    "request.size.auto_for_dalle",
    SHOULD,
    params=["size"],
    quote="Must be one of 1024x1024, 1536x1024 (landscape), 1024x1536 (portrait), or auto "
    "(default value) for the GPT image models, one of 256x256, 512x512, or 1024x1024 "
    "for dall-e-2, and one of 1024x1024, 1792x1024, or 1024x1792 for dall-e-3.",
    when=["size"],
    pure=True,
)
def size_auto_dalle(ctx: RequestContext) -> Iterator[str]:
    """size auto is sent only to the GPT image models.

    The document lists auto for the GPT image models only, yet calls it the default; a
    dall-e server may read an explicit auto as "the default size". Hence SHOULD.
    """
    if ctx.body["size"] == "auto" and ctx.model.family in ("dall-e-2", "dall-e-3"):
        yield f"size 'auto' is listed only for the GPT image models; the model is {ctx.model.name}"


# --- free WIDTHxHEIGHT sizes (gpt-image-2, edition 2026-08) ----------------------------

_CUSTOM_FORMAT = (
    "For `gpt-image-2` and `gpt-image-2-2026-04-21`, arbitrary resolutions are supported as "
    "`WIDTHxHEIGHT` strings, for example `1536x864`."
)
_CUSTOM_SHAPE = (
    "Width and height must both be divisible by 16 and the requested aspect ratio must be "
    "between 1:3 and 3:1."
)
_CUSTOM_MAXIMUM = (
    "Resolutions above `2560x1440` are experimental, and the maximum supported resolution "
    "is `3840x2160`."
)


def _custom(ctx: RequestContext) -> CustomSizes | None:
    """The free-size limits of the requested model under the profile's edition (None: none)."""
    return ctx.profile.custom_sizes_for(ctx.model.name)


def _custom_size(ctx: RequestContext) -> tuple[CustomSizes, int, int] | None:
    """(limits, width, height) when the model takes free sizes and size is WIDTHxHEIGHT."""
    limits = _custom(ctx)
    wh = parse_size(ctx.body["size"]) if limits is not None else None
    return (limits, *wh) if limits is not None and wh is not None else None


@rule(
    "request.size.custom_format",
    MUST,
    params=["size"],
    quote=_CUSTOM_FORMAT,
    source="2026-08",
    when=["size"],
    pure=True,
)
def size_custom_format(ctx: RequestContext) -> Iterator[str]:
    """For a model taking free sizes, size is auto, a standard size or WIDTHxHEIGHT."""
    value = ctx.body["size"]
    if _custom(ctx) is None or value is None or value == "auto" or parse_size(value):
        return
    yield (
        f"size must be auto or a WIDTHxHEIGHT string of positive integers (such as 1536x864) "
        f"for {ctx.model.name}; got {show(value)}"
    )


@rule(
    "request.size.custom_multiple_of_16",
    MUST,
    params=["size"],
    quote=_CUSTOM_SHAPE,
    source="2026-08",
    when=["size"],
    pure=True,
)
def size_custom_multiple(ctx: RequestContext) -> Iterator[str]:
    """A WIDTHxHEIGHT size has width and height both divisible by 16."""
    found = _custom_size(ctx)
    if found and not found[0].divisible(found[1], found[2]):
        limits, w, h = found
        yield f"size {w}x{h}: width and height must both be divisible by {limits.multiple}"


@rule(
    "request.size.custom_aspect_ratio",
    MUST,
    params=["size"],
    quote=_CUSTOM_SHAPE,
    source="2026-08",
    when=["size"],
    pure=True,
)
def size_custom_ratio(ctx: RequestContext) -> Iterator[str]:
    """A WIDTHxHEIGHT size has an aspect ratio between 1:3 and 3:1 (both included)."""
    found = _custom_size(ctx)
    if found and not found[0].ratio_ok(found[1], found[2]):
        limits, w, h = found
        a, b = limits.ratio
        yield f"size {w}x{h}: the aspect ratio must be between {a}:{b} and {b}:{a}"


@rule(
    "request.size.custom_maximum",
    MUST,
    params=["size"],
    quote=_CUSTOM_MAXIMUM,
    source="2026-08",
    when=["size"],
    pure=True,
)
def size_custom_maximum(ctx: RequestContext) -> Iterator[str]:
    """A WIDTHxHEIGHT size has at most as many pixels as 3840x2160 (either orientation).

    "Maximum supported resolution" is read as a pixel count: see docs/editions.md.
    """
    found = _custom_size(ctx)
    if found and not found[0].within_maximum(found[1], found[2]):
        limits, w, h = found
        yield (
            f"size {w}x{h} has {w * h} pixels; the maximum supported resolution is "
            f"{limits.label(limits.maximum)} ({limits.max_pixels} pixels)"
        )


@rule(
    "request.size.custom_experimental",
    SHOULD,
    params=["size"],
    quote=_CUSTOM_MAXIMUM,
    source="2026-08",
    when=["size"],
    pure=True,
)
def size_custom_experimental(ctx: RequestContext) -> Iterator[str]:
    """A WIDTHxHEIGHT size above 2560x1440 pixels (up to the maximum) is experimental.

    The text supports such sizes but calls them experimental: a note, not a refusal.
    Hence SHOULD.
    """
    found = _custom_size(ctx)
    if found and found[0].experimental(found[1], found[2]):
        limits, w, h = found
        yield (
            f"size {w}x{h} has {w * h} pixels, above {limits.label(limits.experimental_above)} "
            f"({limits.experimental_pixels} pixels): experimental"
        )


# --- user, unknown parameters ----------------------------------------------------------


@rule(
    "request.user.type",
    MUST,
    params=["user"],
    quote="user: optional string",
    schema=True,
    when=["user"],
)
def user_type(ctx: RequestContext) -> Iterator[str]:
    """user is a string (null is not allowed)."""
    value = ctx.body["user"]
    if not isinstance(value, str):
        yield f"user must be a string; got {type(value).__name__} {show(value)}"


@rule(
    "request.unknown_parameter",
    SHOULD,
    params=[],
    quote="A parameter the endpoint does not take is refused with code unknown_parameter.",
    source="observed",
    evidence="vercel/ai#6102, lofcz/LLMTornado#155",
)
def unknown_parameter(ctx: RequestContext) -> Iterator[Finding]:
    """The body has no parameters other than the document's.

    The document lists the parameters but does not say others are refused; the live API
    refuses them with code unknown_parameter. Hence SHOULD.
    """
    if len(ctx.body) > len(_KNOWN) or not _KNOWN.issuperset(ctx.body):
        for key in ctx.body:
            if key not in _KNOWN:
                yield Finding(
                    f"unknown parameter {show(key)}", param=str(key)[:100], path=_pointer(key)
                )


def _pointer(key: object) -> str:
    text = str(key)[:200]
    return "/" + text.replace("~", "~0").replace("/", "~1")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
