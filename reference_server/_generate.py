"""From a valid request body to what the server generates and answers.

The validator has already accepted the body; this module only resolves defaults
("auto" and absent values) into the concrete values the response reports, and builds
the response objects. It stays total on any input: values the validator lets through
for unconstrained models fall back to sane defaults instead of failing.
"""

from __future__ import annotations

import base64
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from validator._models import DEFAULT_SIZE

from ._images import ImageFormat, ImageSpec

ResponseFamily = Literal["dall-e-2", "dall-e-3", "gpt-image"]

MAX_N = 10
MAX_PARTIAL_IMAGES = 3
MAX_SIDE = 4096
DEFAULT_GPT_IMAGE_SIZE = "1024x1024"
"""What size auto resolves to."""

# Output image tokens per image for the GPT image models, as the live API reports them
# (1024x1024 medium = 1056, 1024x1536 high = 6240, ...).
_IMAGE_TOKENS: dict[str, dict[str, int]] = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
PARTIAL_IMAGE_TOKENS = 100
"""Extra output tokens per partial image of a stream."""

_SIZE_RE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")


@dataclass(frozen=True)
class Plan:
    """Everything needed to generate and answer one valid request."""

    family: ResponseFamily
    model: str | None
    prompt: str
    n: int
    width: int
    height: int
    # GPT image models
    output_format: ImageFormat = "png"
    compression: int = 100
    background: Literal["transparent", "opaque"] = "opaque"
    quality: str = "medium"
    stream: bool = False
    partial_images: int = 0
    # dall-e models (and unconstrained models that ask for it)
    response_format: Literal["url", "b64_json"] = "url"
    unconstrained: bool = False
    """The model is served without per-model rules (a profile's ``unconstrained``)."""
    free_size: bool = False
    """The model takes free WIDTHxHEIGHT sizes under the edition (gpt-image-2 in 2026-08):
    the size generated is the size asked, and it is echoed."""

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def spec(self) -> ImageSpec:
        return ImageSpec(
            self.width,
            self.height,
            self.output_format,
            transparent=self.background == "transparent",
            compression=self.compression,
        )


def _int(value: Any, default: int, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return default
    return max(lo, min(hi, int(value)))


def _size(value: Any, default: str) -> tuple[int, int]:
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            w, h = int(m.group(1)), int(m.group(2))
            if w <= MAX_SIDE and h <= MAX_SIDE:
                return w, h
    w, h = default.split("x")
    return int(w), int(h)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def plan_request(
    body: dict[str, Any], *, family: str | None, model: str | None, free_size: bool = False
) -> Plan:
    """Resolve a validated body into a Plan; ``family`` None (unconstrained) acts as gpt-image.

    ``free_size``: the model takes free WIDTHxHEIGHT sizes (the edition says so)."""
    prompt = body.get("prompt")
    prompt = prompt if isinstance(prompt, str) else ""
    n = _int(body.get("n"), 1, 1, MAX_N)
    if family in ("dall-e-2", "dall-e-3"):
        w, h = _size(body.get("size"), DEFAULT_SIZE[family])
        response_format = "b64_json" if body.get("response_format") == "b64_json" else "url"
        return Plan(
            family=family,  # type: ignore[arg-type]
            model=model,
            prompt=prompt,
            n=1 if family == "dall-e-3" else n,
            width=w,
            height=h,
            response_format=response_format,
        )
    w, h = _size(body.get("size"), DEFAULT_GPT_IMAGE_SIZE)
    fmt = _str(body.get("output_format"))
    fmt = fmt if fmt in ("png", "jpeg", "webp") else "png"
    asked_quality = _str(body.get("quality")) or "auto"
    quality = "medium" if asked_quality == "auto" else asked_quality
    transparent = body.get("background") == "transparent" and fmt in ("png", "webp")
    # An unconstrained model (family None) acts like a GPT image model, but honours
    # response_format when asked: no per-model rule forbids it there.
    asked_format = body.get("response_format") if family is None else None
    return Plan(
        family="gpt-image",
        unconstrained=family is None,
        free_size=free_size,
        response_format="url" if asked_format == "url" else "b64_json",
        model=model,
        prompt=prompt,
        n=n,
        width=w,
        height=h,
        output_format=fmt,  # type: ignore[arg-type]
        compression=_int(body.get("output_compression"), 100, 0, 100),
        background="transparent" if transparent else "opaque",
        quality=quality,
        stream=body.get("stream") is True,
        partial_images=_int(body.get("partial_images"), 0, 0, MAX_PARTIAL_IMAGES),
    )


def echoed(plan: Plan) -> dict[str, str]:
    """The resolved settings a GPT image response echoes.

    ``size`` and ``quality`` are left out when the value is outside the response enums
    (possible only for unconstrained models asked for, say, 256x256 or hd); a model
    taking free sizes echoes the WIDTHxHEIGHT it generated.
    """
    out = {"background": plan.background, "output_format": plan.output_format}
    if plan.quality in _IMAGE_TOKENS:
        out["quality"] = plan.quality
    if plan.size in _IMAGE_TOKENS["medium"] or plan.free_size:
        out["size"] = plan.size
    return out


def text_tokens(prompt: str) -> int:
    """A deterministic stand-in for the prompt's token count (at least 1)."""
    return max(len(prompt.split()), len(prompt) // 6) + 7


def image_tokens(plan: Plan) -> int:
    """Output image tokens for one image of ``plan``."""
    table = _IMAGE_TOKENS.get(plan.quality, _IMAGE_TOKENS["medium"])
    if plan.size in table:
        return table[plan.size]
    return max(1, round(table["1024x1024"] * plan.width * plan.height / (1024 * 1024)))


def usage(plan: Plan, *, images: int, partial_images: int = 0) -> dict[str, Any]:
    """The ``usage`` object for ``images`` images (and ``partial_images`` partial ones)."""
    text = text_tokens(plan.prompt) * images
    out_images = image_tokens(plan) * images + PARTIAL_IMAGE_TOKENS * partial_images
    return {
        "input_tokens": text,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": text},
        "output_tokens": out_images,
        "output_tokens_details": {"image_tokens": out_images, "text_tokens": 0},
        "total_tokens": text + out_images,
    }


def revised_prompt(prompt: str) -> str:
    """dall-e-3's ``revised_prompt``: the prompt, lightly expanded (deterministic)."""
    return f"{prompt.strip() or 'An image'}, rendered as a clean abstract composition."


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def now() -> int:
    """Unix time in whole seconds."""
    return int(time.time())
