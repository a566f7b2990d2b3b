"""What a request leads one to expect of its answer: counts, fields, formats, sizes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._editions import CustomSizes, parse_size
from .._models import DEFAULT_SIZE, ENUMS, RESOLVED_SIZES, ResolvedModel
from ._context import is_int


def expected_n(request: dict[str, Any]) -> int | None:
    """The number of images asked for (1 by default); None when n itself is invalid."""
    n = request.get("n")
    if n is None:
        return 1
    if is_int(n) and 1 <= n <= 10:
        return int(n)
    return None


def expected_image_field(request: dict[str, Any], model: ResolvedModel) -> str | None:
    """b64_json or url; None when either is acceptable (an unconstrained model)."""
    fmt = request.get("response_format")
    if model.family == "gpt-image":
        return "b64_json"
    if fmt in ("url", "b64_json"):
        return fmt
    if model.family in ("dall-e-2", "dall-e-3"):
        return "url"
    return None


def expected_format(request: dict[str, Any], model: ResolvedModel) -> str | None:
    """The image format asked for: output_format or png for the GPT image models."""
    fmt = request.get("output_format")
    if fmt in ENUMS["output_format"]:
        return fmt
    if model.family == "gpt-image":
        return "png"
    return None


def custom_size_asked(request: dict[str, Any], custom: CustomSizes | None) -> str | None:
    """The WIDTHxHEIGHT a request asks of a model taking free sizes (None: none asked)."""
    size = request.get("size")
    wh = parse_size(size) if custom is not None else None
    return size if wh is not None and custom is not None and custom.valid(*wh) else None


def valid_custom_echo(value: Any, custom: CustomSizes | None) -> bool:
    """Whether an echoed size is a size a model taking free sizes may report."""
    wh = parse_size(value) if custom is not None else None
    return wh is not None and custom is not None and custom.valid(*wh)


def expected_size(
    request: dict[str, Any],
    model: ResolvedModel,
    echoed: Any = None,
    custom: CustomSizes | None = None,
) -> tuple[str | None, tuple[str, ...] | None]:
    """(exact size, or None) and (the sizes allowed when no exact one is known).

    ``custom``: the free-size limits of the model under the edition, if it takes them."""
    size = request.get("size")
    if isinstance(size, str) and size in ENUMS["size"] and size != "auto":
        return size, None
    asked = custom_size_asked(request, custom)
    if asked is not None:
        return asked, None
    if custom is not None and valid_custom_echo(echoed, custom):
        return echoed, None
    if custom is not None:
        return None, None  # auto: any size the model may choose
    if model.family in ("dall-e-2", "dall-e-3"):
        return DEFAULT_SIZE[model.family], None
    if isinstance(echoed, str) and echoed in RESOLVED_SIZES:
        return echoed, None
    if model.family == "gpt-image":
        return None, RESOLVED_SIZES
    return None, None


# Which answers exercise an answer rule (Rule.applies): request, family -> bool.


def wants_url(request: Mapping[str, Any], family: str | None) -> bool:
    """The answer carries urls: a dall-e model asked for (or defaulting to) url."""
    fmt = request.get("response_format")
    if family in ("dall-e-2", "dall-e-3"):
        return fmt in (None, "url")
    return family is None and fmt == "url"


def wants_b64(request: Mapping[str, Any], family: str | None) -> bool:
    return request.get("stream") is True or not wants_url(request, family)


def is_family(*families: str | None) -> Callable[[Mapping[str, Any], str | None], bool]:
    return lambda request, family: family in families


def asks(param: str, value: Any) -> Callable[[Mapping[str, Any], str | None], bool]:
    return lambda request, family: request.get(param) == value


def asks_partials(request: Mapping[str, Any], family: str | None) -> bool:
    count = request.get("partial_images")
    return is_int(count) and count >= 1
