"""Request bodies the suite sends: fitting generated ones to a profile, and fixed cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from validator import FAMILIES, Profile, resolve_model

PROMPT = "A cute baby sea otter"


def fit_to_features(body: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """Keep a valid body within the optional features the profile declares.

    A dall-e body asks for url or b64_json answers only when the target offers them; a GPT
    image body asks for transparency or jpeg/webp only when the target offers them.
    """
    body = dict(body)
    family = resolve_model(body, profile=profile).family
    if family in ("dall-e-2", "dall-e-3"):
        wants_url = body.get("response_format") in (None, "url")
        if wants_url and not profile.offers("url_responses"):
            body["response_format"] = "b64_json"
        elif not wants_url and not profile.offers("b64_json_responses"):
            body["response_format"] = "url"
    elif family == "gpt-image":
        if body.get("background") == "transparent" and not profile.offers("transparency"):
            body.pop("background")
        if body.get("output_format") in ("jpeg", "webp") and not profile.offers("output_formats"):
            body.pop("output_format")
            body.pop("output_compression", None)
    return body


FREE_SIZE_MODEL = "<free-size>"
"""A case's model placeholder for the first model taking free WIDTHxHEIGHT sizes under the
profile's edition (gpt-image-2 in 2026-08)."""


def features_used(body: Mapping[str, Any], family: str | None) -> frozenset[str]:
    """The optional profile features a valid ``body`` (of ``family``) makes the target use:
    url or base64 answers of the dall-e models, streaming, transparency, jpeg/webp output.
    The same features :func:`fit_to_features` keeps a body within."""
    out: set[str] = set()
    if body.get("stream") is True:
        out.add("streaming")
    elif family in ("dall-e-2", "dall-e-3"):
        wants_url = body.get("response_format") in (None, "url")
        out.add("url_responses" if wants_url else "b64_json_responses")
    elif family == "gpt-image":
        out.add("b64_json_responses")
    if family == "gpt-image" or family is None:
        if body.get("background") == "transparent":
            out.add("transparency")
        if body.get("output_format") in ("jpeg", "webp"):
            out.add("output_formats")
    return frozenset(out)


@dataclass(frozen=True)
class Case:
    """A fixed request with the rules it exercises and the features it needs.

    ``body`` may name a model as ``"<family>"`` (e.g. ``"<gpt-image>"``): it becomes the
    first model the profile serves for that family.
    """

    id: str
    body: dict[str, Any]
    rules: tuple[str, ...]
    features: tuple[str, ...] = ()

    def for_profile(self, profile: Profile) -> dict[str, Any] | None:
        """The body with model placeholders resolved; None when the profile has no such model."""
        body = dict(self.body)
        model = body.get("model")
        if model == FREE_SIZE_MODEL:
            free = [m for m in profile.models if m in profile.custom_size_models]
            if not free:
                return None
            body["model"] = free[0]
        elif isinstance(model, str) and model.startswith("<") and model.endswith(">"):
            family = model[1:-1]
            assert family in FAMILIES, family
            served = profile.models_of(family)  # type: ignore[arg-type]
            if not served:
                return None
            body["model"] = served[0]
        return body
