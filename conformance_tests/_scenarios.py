"""The fixed catalogue of recorded scenarios (see docs/cassettes.md).

Every scenario is one request with a fixed body, so that a target's answers can be
recorded once into a cassette and replayed offline: the same body always goes on the
wire, byte for byte (the JSON encoding of :func:`wire_bytes`). The catalogue has

- the requests of the endpoint document's own examples,
- one valid request per model family and optional feature, at the smallest size each
  allows (one image, low quality where there is a choice),
- one invalid request per request rule of the document edition the suite can break
  (``BREAKABLE_RULES`` of ``conformance_tests.strategies``), each breaking exactly that
  rule (the catalogue is the endpoint document's: no gpt-image-2 scenario),
- a streamed request with partial images.

Whether a request is valid is never taken from the catalogue: the validator decides,
on the exact bytes sent. ``tests/test_cassettes_scenarios.py`` checks that every
``valid`` body is valid, that every ``invalid`` body breaks exactly its rule, and that
the catalogue covers every breakable rule.

Model names are the document's (``dall-e-2``, ``dall-e-3``, ``gpt-image-1-mini``,
``gpt-image-1.5``). Under a profile that does not serve a name, the first model the
profile serves for the same family takes its place; when it serves none, the scenario
does not apply (its test is skipped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from validator import Profile
from validator._models import DOCUMENT_MODELS as _DOC_MODELS

__all__ = [
    "INVALID_BODIES",
    "SCENARIOS",
    "Scenario",
    "scenario_by_id",
    "wire_bytes",
]

PROMPT = "A cute baby sea otter"
DALLE2 = "dall-e-2"
DALLE3 = "dall-e-3"
GPT = "gpt-image-1-mini"
"""The cheapest GPT image model the document names."""

Kind = Literal["valid", "invalid"]


@dataclass(frozen=True)
class Scenario:
    """One fixed request of the catalogue."""

    id: str
    """Names the cassette file (``<id>.yaml``) and the test."""
    body: Any
    """The JSON value sent (usually an object), with document model names."""
    kind: Kind
    """What the catalogue expects the validator to say about the body."""
    title: str
    rules: tuple[str, ...] = ()
    """The rules the scenario exercises (its ``rules`` marker)."""
    features: tuple[str, ...] = ()
    """Profile features it needs (its ``feature`` marker)."""
    breaks: str | None = None
    """For an invalid scenario built for one rule: that rule."""
    group: str = ""
    """``document-example``, ``valid``, ``invalid`` or ``stream``."""
    notes: tuple[str, ...] = field(default=())

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True

    def for_profile(self, profile: Profile) -> Any | None:
        """The body for a target with ``profile``; None when the profile serves no model
        of the family the scenario needs."""
        body = self.body
        if not isinstance(body, dict):
            return body
        model = body.get("model")
        if not isinstance(model, str) or model not in _DOC_MODELS:
            return dict(body)
        if profile.family_of(model)[0]:
            return dict(body)
        served = profile.models_of(_DOC_MODELS[model])
        if not served:
            return None
        return {**body, "model": served[0]}


def wire_bytes(body: Any) -> bytes:
    """The bytes sent for ``body``: compact, key order kept, UTF-8 (deterministic)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _gpt(**params: Any) -> dict[str, Any]:
    return {"model": GPT, "prompt": PROMPT, "size": "1024x1024", "quality": "low", **params}


def _dalle2(**params: Any) -> dict[str, Any]:
    return {"model": DALLE2, "prompt": PROMPT, "size": "256x256", **params}


def _dalle3(**params: Any) -> dict[str, Any]:
    return {"model": DALLE3, "prompt": PROMPT, "size": "1024x1024", **params}


# -- the document's examples ---------------------------------------------------------------
DOCUMENT_EXAMPLES: list[Scenario] = [
    Scenario(
        "doc-example-all-parameters",
        {
            "prompt": "A cute baby sea otter",
            "background": "transparent",
            "moderation": "low",
            "n": 1,
            "output_compression": 100,
            "output_format": "png",
            "partial_images": 1,
            "quality": "medium",
            "response_format": "url",
            "size": "1024x1024",
            "style": "vivid",
            "user": "user-1234",
        },
        "invalid",
        "the document's first example (every parameter at once), which its own prose rules out",
        rules=(
            "request.response_format.dalle_only",
            "request.style.dalle3_only",
            "request.output_compression.default_with_png",
            "error.invalid_request_400",
            "error.envelope",
            "error.param_names_fault",
        ),
        features=("gpt-image",),
        group="document-example",
        notes=(
            "GPT-image-only parameters select a GPT image model, which takes neither "
            "response_format nor style; output_compression 100 with png asks for the default "
            "(a SHOULD deviation).",
        ),
    ),
    Scenario(
        "doc-example-generate-image",
        {"model": "gpt-image-1.5", "prompt": "A cute baby sea otter", "n": 1, "size": "1024x1024"},
        "valid",
        "the document's 'Generate image' example",
        rules=("response.data.count_matches_n", "response.usage.sums", "image.size"),
        features=("gpt-image", "b64_json_responses"),
        group="document-example",
    ),
    Scenario(
        "doc-example-streaming",
        {
            "model": "gpt-image-1.5",
            "prompt": "A cute baby sea otter",
            "n": 1,
            "size": "1024x1024",
            "stream": True,
        },
        "valid",
        "the document's 'Streaming' example",
        rules=("stream.content_type", "stream.framing", "stream.completed.one_per_image"),
        features=("gpt-image", "streaming"),
        group="document-example",
    ),
]

# -- one valid request per family and optional feature -------------------------------------
VALID: list[Scenario] = [
    Scenario(
        "dall-e-2-default-model-url",
        {"prompt": PROMPT, "size": "256x256"},
        "valid",
        "no model and no response_format: dall-e-2 answering with a URL (the defaults)",
        rules=("response.url.absolute_http", "response.url.fetchable", "image.size"),
        features=("dall-e-2", "url_responses"),
        group="valid",
    ),
    Scenario(
        "dall-e-2-b64_json",
        _dalle2(response_format="b64_json"),
        "valid",
        "dall-e-2, base64 image in the body",
        rules=("response.image.field_per_model", "image.decodes", "image.size"),
        features=("dall-e-2", "b64_json_responses"),
        group="valid",
    ),
    Scenario(
        "dall-e-3-b64_json",
        _dalle3(quality="standard", style="natural", response_format="b64_json"),
        "valid",
        "dall-e-3 with quality and style, base64 image",
        rules=("response.revised_prompt.dalle3_present", "image.size"),
        features=("dall-e-3", "b64_json_responses"),
        group="valid",
    ),
    Scenario(
        "gpt-image-png",
        _gpt(),
        "valid",
        "a GPT image model, default output format (png)",
        rules=("response.usage.shape", "response.echo.matches_request", "image.format"),
        features=("gpt-image", "b64_json_responses"),
        group="valid",
    ),
    Scenario(
        "gpt-image-jpeg",
        _gpt(output_format="jpeg", output_compression=50, background="opaque"),
        "valid",
        "a GPT image model, jpeg with output_compression and an opaque background",
        rules=("image.format", "image.opaque", "response.echo.matches_request"),
        features=("gpt-image", "b64_json_responses", "output_formats"),
        group="valid",
    ),
    Scenario(
        "gpt-image-webp",
        _gpt(output_format="webp"),
        "valid",
        "a GPT image model, webp",
        rules=("image.format", "response.echo.matches_request"),
        features=("gpt-image", "b64_json_responses", "output_formats"),
        group="valid",
    ),
    Scenario(
        "gpt-image-transparent",
        _gpt(background="transparent", output_format="png"),
        "valid",
        "a GPT image model, transparent background (png)",
        rules=("image.transparency", "response.echo.matches_request"),
        features=("gpt-image", "b64_json_responses", "transparency"),
        group="valid",
    ),
    Scenario(
        "gpt-image-stream-partial-images",
        _gpt(stream=True, partial_images=2),
        "valid",
        "a GPT image model streaming two partial images, then the completed one",
        rules=(
            "stream.content_type",
            "stream.framing",
            "stream.event.fields",
            "stream.partial.index_sequence",
            "stream.partial.count_max",
            "stream.completed.one_per_image",
            "stream.usage.sums",
        ),
        features=("gpt-image", "streaming"),
        group="stream",
    ),
]

# -- one invalid request per breakable request rule ----------------------------------------
INVALID_BODIES: dict[str, Any] = {
    "request.body.object": [{"prompt": PROMPT}],
    "request.prompt.required": {"model": DALLE2, "size": "256x256"},
    "request.prompt.type": _dalle2(prompt=42),
    "request.prompt.max_length": _dalle2(prompt="a" * 1001),
    "request.prompt.non_empty": _dalle2(prompt="   "),
    "request.model.type": {"model": 3, "prompt": PROMPT},
    "request.model.known": {"model": "no-such-model", "prompt": PROMPT},
    "request.model.default_dalle2_values": {"prompt": PROMPT, "size": "1792x1024"},
    "request.n.type": _dalle2(n="2"),
    "request.n.range": _dalle2(n=11),
    "request.n.dalle3_only_one": _dalle3(n=2),
    "request.quality.enum": _dalle2(quality="ultra"),
    "request.quality.per_model": _dalle3(quality="low"),
    "request.response_format.enum": _dalle2(response_format="png"),
    "request.response_format.dalle_only": _gpt(response_format="b64_json"),
    "request.style.enum": _dalle3(style="cartoon"),
    "request.style.dalle3_only": _dalle2(style="vivid"),
    "request.output_format.enum": _gpt(output_format="gif"),
    "request.output_format.gpt_image_only": _dalle2(output_format="png"),
    "request.output_compression.type": _gpt(output_format="jpeg", output_compression="50"),
    "request.output_compression.range": _gpt(output_format="jpeg", output_compression=101),
    "request.output_compression.gpt_image_only": _dalle2(output_compression=50),
    "request.output_compression.needs_jpeg_or_webp": _gpt(
        output_format="png", output_compression=50
    ),
    "request.output_compression.default_with_png": _gpt(
        output_format="png", output_compression=100
    ),
    "request.moderation.enum": _gpt(moderation="high"),
    "request.moderation.gpt_image_only": _dalle2(moderation="low"),
    "request.background.enum": _gpt(background="white"),
    "request.background.gpt_image_only": _dalle2(background="opaque"),
    "request.background.transparent_needs_png_or_webp": _gpt(
        background="transparent", output_format="jpeg"
    ),
    "request.stream.type": _gpt(stream="true"),
    "request.stream.gpt_image_only": _dalle2(stream=True),
    "request.stream.false_for_dalle": _dalle2(stream=False),
    "request.partial_images.type": _gpt(stream=True, partial_images="2"),
    "request.partial_images.range": _gpt(stream=True, partial_images=4),
    "request.partial_images.gpt_image_only": _dalle2(partial_images=1),
    "request.partial_images.needs_stream": _gpt(partial_images=1),
    "request.size.enum": _dalle2(size="300x300"),
    "request.size.per_model": _dalle2(size="1024x1536"),
    "request.size.auto_for_dalle": _dalle2(size="auto"),
    "request.user.type": _dalle2(user=42),
    "request.unknown_parameter": _dalle2(x_unknown_parameter=1),
}
"""rule id -> a fixed body that breaks that rule and no other (checked by a test)."""


def _family_feature(body: Any) -> tuple[str, ...]:
    if not isinstance(body, dict):
        return ()
    model = body.get("model")
    if isinstance(model, str) and model in _DOC_MODELS:
        return (_DOC_MODELS[model],)
    return ()


INVALID: list[Scenario] = [
    Scenario(
        f"invalid-{rule_id}",
        body,
        "invalid",
        f"a request breaking {rule_id}",
        rules=(rule_id, "error.invalid_request_400", "error.envelope", "error.param_names_fault"),
        features=_family_feature(body),
        breaks=rule_id,
        group="invalid",
    )
    for rule_id, body in INVALID_BODIES.items()
]

SCENARIOS: list[Scenario] = [*DOCUMENT_EXAMPLES, *VALID, *INVALID]
"""The whole catalogue, in a stable order."""


def scenario_by_id(scenario_id: str) -> Scenario:
    for s in SCENARIOS:
        if s.id == scenario_id:
            return s
    raise KeyError(scenario_id)
