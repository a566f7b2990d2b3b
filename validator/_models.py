"""Model families and what the document says each one accepts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Family = Literal["dall-e-2", "dall-e-3", "gpt-image"]
"""How a model behaves. ``gpt-image`` covers gpt-image-1, gpt-image-1-mini and gpt-image-1.5."""

FAMILIES: tuple[Family, ...] = ("dall-e-2", "dall-e-3", "gpt-image")

DOCUMENT_MODELS: dict[str, Family] = {
    "dall-e-2": "dall-e-2",
    "dall-e-3": "dall-e-3",
    "gpt-image-1": "gpt-image",
    "gpt-image-1-mini": "gpt-image",
    "gpt-image-1.5": "gpt-image",
}
"""The models the document names, and their family."""

DEFAULT_MODEL = "dall-e-2"
IMPLIED_GPT_IMAGE_MODEL = "gpt-image-1"
"""The model name reported when a GPT-image-only parameter selects the family.

The document says only "a GPT image model"; gpt-image-1 is the first of them.
"""

GPT_IMAGE_ONLY_PARAMS: tuple[str, ...] = (
    "background",
    "moderation",
    "output_compression",
    "output_format",
    "partial_images",
    "stream",
)
"""Parameters the document calls "only supported for the GPT image models"."""

REQUEST_PARAMS: tuple[str, ...] = (
    "prompt",
    "background",
    "model",
    "moderation",
    "n",
    "output_compression",
    "output_format",
    "partial_images",
    "quality",
    "response_format",
    "size",
    "stream",
    "style",
    "user",
)

NULLABLE_PARAMS: frozenset[str] = frozenset(REQUEST_PARAMS) - {"prompt", "user"}

PROMPT_MAX_CHARS: dict[Family, int] = {"gpt-image": 32000, "dall-e-2": 1000, "dall-e-3": 4000}

SIZES: dict[Family, tuple[str, ...]] = {
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536", "auto"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
}

QUALITIES: dict[Family, tuple[str, ...]] = {
    "gpt-image": ("low", "medium", "high", "auto"),
    "dall-e-2": ("standard", "auto"),
    "dall-e-3": ("standard", "hd", "auto"),
}

DEFAULT_SIZE: dict[Family, str] = {
    "gpt-image": "auto",
    "dall-e-2": "1024x1024",
    "dall-e-3": "1024x1024",
}

ENUMS: dict[str, tuple[str, ...]] = {
    "background": ("transparent", "opaque", "auto"),
    "moderation": ("low", "auto"),
    "output_format": ("png", "jpeg", "webp"),
    "quality": ("standard", "hd", "low", "medium", "high", "auto"),
    "response_format": ("url", "b64_json"),
    "size": (
        "auto",
        "1024x1024",
        "1536x1024",
        "1024x1536",
        "256x256",
        "512x512",
        "1792x1024",
        "1024x1792",
    ),
    "style": ("vivid", "natural"),
}

RESOLVED_SIZES: tuple[str, ...] = ("1024x1024", "1024x1536", "1536x1024")
"""Sizes an images response may echo (the response enum)."""
RESOLVED_QUALITIES: tuple[str, ...] = ("low", "medium", "high")
RESOLVED_BACKGROUNDS: tuple[str, ...] = ("transparent", "opaque")


@dataclass(frozen=True)
class ResolvedModel:
    """Which model a request asks for, and how that was decided."""

    name: str | None
    """The model name: the explicit one, the default, or the implied GPT image model.
    None when the body has no usable model value (not a string)."""
    family: Family | None
    """The family it behaves like; None when the model is unknown or unconstrained."""
    source: Literal["explicit", "default", "implied"]
    """``explicit``: the body names it; ``default``: dall-e-2 by default;
    ``implied``: a GPT-image-only parameter selected a GPT image model."""
    implied_by: str | None = None
    """The GPT-image-only parameter that selected the family, when source is ``implied``."""
    known: bool = True
    """False when an explicit model name is neither in the document nor in the profile."""


def given(body: Mapping[str, Any], param: str) -> bool:
    """True when ``param`` is present and not null (null means "not given")."""
    return body.get(param) is not None
