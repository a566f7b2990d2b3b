"""Image rules: the bytes of each generated image match what the request asked for."""

from __future__ import annotations

from collections.abc import Iterator

from .._images import ImageInfo, inspect_base64, inspect_image
from ._context import ImageContext
from ._expect import asks, wants_b64
from ._table import rule

MUST, SHOULD = "MUST", "SHOULD"


def image_info(ctx: ImageContext) -> ImageInfo:
    """Inspect the payload once per context."""
    if ctx.info is None:
        ctx.info = (
            inspect_image(ctx.b64)
            if isinstance(ctx.b64, (bytes, bytearray))
            else inspect_base64(ctx.b64)
        )
    return ctx.info


@rule(
    "image.base64",
    MUST,
    params=[],
    quote="b64_json: optional string The base64-encoded JSON of the generated image.",
    applies=wants_b64,
)
def image_base64(ctx: ImageContext) -> Iterator[str]:
    """b64_json is a non-empty string of standard base64."""
    info = image_info(ctx)
    if info.base64_error:
        yield info.base64_error


@rule(
    "image.decodes",
    MUST,
    params=[],
    quote="b64_json: optional string The base64-encoded JSON of the generated image.",
)
def image_decodes(ctx: ImageContext) -> Iterator[str]:
    """The payload decodes to an image."""
    info = image_info(ctx)
    if not info.base64_error and info.decode_error:
        yield info.decode_error


@rule(
    "image.format",
    MUST,
    params=["output_format"],
    quote="The format in which the generated images are returned. This parameter is only "
    "supported for the GPT image models. Must be one of png, jpeg, or webp.",
)
def image_format(ctx: ImageContext) -> Iterator[str]:
    """The image is in the requested output_format (png by default)."""
    info = image_info(ctx)
    if info.format and ctx.expected_format and info.format != ctx.expected_format:
        yield f"the image is {info.format}; the request asks for {ctx.expected_format}"


@rule(
    "image.size",
    MUST,
    params=["size"],
    quote="The size of the generated images.",
)
def image_size(ctx: ImageContext) -> Iterator[str]:
    """The image has exactly the requested pixel size (auto: one of the model's sizes)."""
    info = image_info(ctx)
    if not info.format or info.decode_error:
        return
    if ctx.expected_size and info.size != ctx.expected_size:
        yield f"the image is {info.size} pixels; expected {ctx.expected_size}"
    elif not ctx.expected_size and ctx.allowed_sizes and info.size not in ctx.allowed_sizes:
        yield f"the image is {info.size} pixels; expected one of {list(ctx.allowed_sizes)}"


@rule(
    "image.transparency",
    MUST,
    params=["background"],
    quote="Allows to set transparency for the background of the generated image(s).",
    feature="transparency",
    applies=asks("background", "transparent"),
)
def image_transparency(ctx: ImageContext) -> Iterator[str]:
    """With background transparent, the image has transparent pixels."""
    info = image_info(ctx)
    if ctx.transparent and info.format and not info.decode_error and not info.transparent_pixels:
        what = "has no alpha channel" if not info.has_alpha else "has no transparent pixel"
        yield f"background transparent was asked, but the {info.format} image {what}"


@rule(
    "image.opaque",
    SHOULD,
    params=["background"],
    quote="Allows to set transparency for the background of the generated image(s).",
    applies=asks("background", "opaque"),
)
def image_opaque(ctx: ImageContext) -> Iterator[str]:
    """With background opaque, the image has no transparent pixels."""
    info = image_info(ctx)
    if ctx.opaque and info.transparent_pixels:
        yield "background opaque was asked, but the image has transparent pixels"
