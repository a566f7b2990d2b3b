"""Image payload inspection with Pillow: format, pixel size, transparency."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}

MAX_PIXELS = 64 * 1024 * 1024
"""Images larger than this are not decoded (a guard against decompression bombs)."""


@dataclass(frozen=True)
class ImageInfo:
    """What an image payload turned out to be."""

    base64_error: str | None = None
    decode_error: str | None = None
    format: str | None = None
    """Lower-case format name: png, jpeg, webp, ... (None when it did not decode)."""
    width: int = 0
    height: int = 0
    mode: str = ""
    has_alpha: bool = False
    """The image has an alpha channel (or a transparency key)."""
    transparent_pixels: bool = False
    """At least one pixel is not fully opaque."""

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def decode_base64(text: object) -> tuple[bytes | None, str | None]:
    """Strictly decode standard base64 (padding required, no white space)."""
    if not isinstance(text, str):
        return None, f"the image is not a string (got {type(text).__name__})"
    if not text:
        return None, "the image string is empty"
    try:
        return base64.b64decode(text, validate=True), None
    except (binascii.Error, ValueError) as exc:
        return None, f"not valid base64 ({exc})"


def inspect_image(data: bytes) -> ImageInfo:
    """Decode image bytes fully and describe them. Never raises."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = PIL_FORMATS.get(im.format or "", (im.format or "unknown").lower())
            width, height = im.size
            if width * height > MAX_PIXELS:
                return ImageInfo(
                    decode_error=f"the image is {width}x{height}, too large to decode",
                    format=fmt,
                    width=width,
                    height=height,
                )
            im.load()
            mode = im.mode
            has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
            transparent = False
            if has_alpha:
                rgba = im if mode == "RGBA" else im.convert("RGBA")
                low, _high = rgba.getchannel("A").getextrema()
                transparent = low < 255
            return ImageInfo(
                format=fmt,
                width=width,
                height=height,
                mode=mode,
                has_alpha=has_alpha,
                transparent_pixels=transparent,
            )
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
    ) as exc:
        return ImageInfo(decode_error=f"the bytes do not decode as an image ({exc})")


def inspect_base64(text: object) -> ImageInfo:
    """Decode a base64 image payload and describe it. Never raises."""
    data, error = decode_base64(text)
    if data is None:
        return ImageInfo(base64_error=error)
    return inspect_image(data)
