"""Hypothesis strategies for request bodies, built from the validator's model tables.

``valid_requests`` draws bodies that break no rule, for one model family or any.
``breaking_requests(rule_id)`` draws bodies that break exactly that request rule and
nothing else, so the parameter a target must name in its error is known.

Bodies are built constructively (each parameter drawn from what the family accepts),
not by filtering random JSON; the only filter is a safety net that drops the rare draw a
breaker could not keep clean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from validator import DEFAULT_PROFILE, RULES, Profile, validate_request
from validator._editions import EDITIONS, CustomSizes
from validator._models import (
    ENUMS,
    FAMILIES,
    GPT_IMAGE_ONLY_PARAMS,
    PROMPT_MAX_CHARS,
    QUALITIES,
    REQUEST_PARAMS,
    SIZES,
    Family,
)

Body = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]

CHEAP_SIZE: dict[Family, str] = {
    "dall-e-2": "256x256",
    "dall-e-3": "1024x1024",
    "gpt-image": "1024x1024",
}
"""The smallest (cheapest) size each family accepts."""
CHEAP_QUALITY: dict[Family, str] = {
    "dall-e-2": "standard",
    "dall-e-3": "standard",
    "gpt-image": "low",
}

CHEAP_CUSTOM_SIZE = "1280x720"
"""The size the cheap level asks of a model taking free WIDTHxHEIGHT sizes: fewer pixels
than 1024x1024, and a size the live gpt-image-2 has served."""

_ABSENT = object()

prompts: st.SearchStrategy[str] = st.builds(
    lambda lead, rest: f"{lead} {rest}".strip(),
    st.sampled_from(
        ["A cute baby sea otter", "A red circle", "Ein Haus am See", "一只猫", "Otter"]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
        max_size=40,
    ),
)
"""Short, non-blank prompts (with some non-ASCII text)."""

not_a_string = st.one_of(
    st.integers(-5, 5), st.booleans(), st.lists(st.integers(), max_size=2), st.just({"a": 1})
)
not_an_integer = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    st.text(max_size=3),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
unknown_strings = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12
)


class NotApplicable(ValueError):
    """The strategy needs a model family the profile does not serve."""


def _models_of(profile: Profile, family: Family) -> list[str]:
    names = profile.models_of(family)
    if not names:
        raise NotApplicable(f"the profile {profile.name!r} serves no model of the {family} family")
    return names


def _optional(draw: Draw, value: st.SearchStrategy[Any], *, nullable: bool = True) -> Any:
    """Absent, null (where the parameter is nullable), or a value."""
    choices: list[Any] = [_ABSENT, _ABSENT]
    if nullable:
        choices.append(None)
    pick = draw(st.sampled_from([*choices, "value", "value", "value"]))
    return draw(value) if pick == "value" else pick


def _put(body: Body, key: str, value: Any) -> None:
    if value is not _ABSENT:
        body[key] = value


@st.composite
def _family_body(
    draw: Draw,
    family: Family,
    profile: Profile,
    cheap: bool = False,
    explicit_model: bool = False,
    stream: bool = False,
) -> Body:
    """A valid body for ``family`` (stream: true only when ``stream``)."""
    models = _models_of(profile, family)
    body: Body = {"prompt": draw(prompts)}
    default_family = profile.family_of(profile.default_model)[1]
    if explicit_model or family != default_family or family == "gpt-image":
        body["model"] = draw(st.sampled_from(models))
    else:
        _put(body, "model", _optional(draw, st.sampled_from(models)))
    limits = profile.custom_sizes_for(body.get("model"))
    if cheap:
        _put(body, "size", CHEAP_CUSTOM_SIZE if limits else CHEAP_SIZE[family])
        _put(body, "quality", CHEAP_QUALITY[family])
    else:
        sizes = st.sampled_from(SIZES[family])
        if limits is not None:
            sizes = st.one_of(sizes, custom_sizes(limits), custom_sizes(limits))
        _put(body, "size", _optional(draw, sizes))
        _put(body, "quality", _optional(draw, st.sampled_from(QUALITIES[family])))
    if family == "dall-e-3":
        _put(body, "n", _optional(draw, st.just(1)))
        _put(body, "style", _optional(draw, st.sampled_from(ENUMS["style"])))
    elif not cheap:
        _put(body, "n", _optional(draw, st.integers(1, 4 if family == "gpt-image" else 10)))
    if family in ("dall-e-2", "dall-e-3"):
        _put(body, "response_format", _optional(draw, st.sampled_from(ENUMS["response_format"])))
    else:
        fmt = _optional(draw, st.sampled_from(ENUMS["output_format"]))
        _put(body, "output_format", fmt)
        if fmt in ("jpeg", "webp"):
            _put(body, "output_compression", _optional(draw, st.integers(0, 100)))
        backgrounds = [b for b in ENUMS["background"] if not (fmt == "jpeg" and b == "transparent")]
        _put(body, "background", _optional(draw, st.sampled_from(backgrounds)))
        _put(body, "moderation", _optional(draw, st.sampled_from(ENUMS["moderation"])))
        if stream:
            body["stream"] = True
            _put(body, "partial_images", _optional(draw, st.integers(0, 3)))
        else:
            _put(body, "stream", _optional(draw, st.just(False)))
    _put(body, "user", _optional(draw, st.text(max_size=20), nullable=False))
    selects_family = any(body.get(p) is not None for p in GPT_IMAGE_ONLY_PARAMS)
    standard_size = body.get("size") is None or body["size"] in SIZES[family]
    if (
        family == "gpt-image"
        and not explicit_model
        and selects_family
        and standard_size
        and draw(st.booleans())
    ):
        del body["model"]  # the GPT-image-only parameter selects the family
    return body


def _fit(limits: CustomSizes, unit: int, pixels: int) -> int:
    """The largest count of ``limits.multiple`` steps whose product with ``unit`` steps stays
    within ``pixels``."""
    return pixels // (limits.multiple * limits.multiple * unit)


@st.composite
def custom_sizes(
    draw: Draw,
    limits: CustomSizes,
    *,
    min_edge: int = 256,
    max_edge: int = 2048,
    experimental: bool = False,
) -> str:
    """Free ``WIDTHxHEIGHT`` sizes that break none of ``limits`` (divisible, in ratio,
    within the maximum; above the experimental threshold only when ``experimental``).

    The defaults keep to edges of 256 to 2048 pixels: the text leaves "the model's current
    pixel and edge limits" unstated, and small images keep the suite fast."""
    m = limits.multiple
    a, b = limits.ratio
    cap = limits.max_pixels if experimental else limits.experimental_pixels
    lo_unit, hi_unit = -(-min_edge // m), max_edge // m
    while True:
        w = draw(st.integers(lo_unit, hi_unit))
        lo = max(lo_unit, -(-w * a // b))
        hi = min(hi_unit, w * b // a, _fit(limits, w, cap))
        if lo <= hi:
            break
    h = draw(st.integers(lo, hi))
    return f"{w * m}x{h * m}"


def valid_requests(
    family: Family | None = None,
    *,
    profile: Profile | None = None,
    cheap: bool = False,
    stream: bool = False,
) -> st.SearchStrategy[Body]:
    """Bodies that break no rule, for ``family`` (or any family the profile serves).

    ``cheap`` keeps to one image of the smallest size at the lowest quality;
    ``stream`` asks the GPT image family for a stream (with partial images).
    """
    profile = profile or DEFAULT_PROFILE
    if stream:
        family = family or "gpt-image"
        if family != "gpt-image":
            raise ValueError("only the GPT image models stream")
    if family is not None:
        return _family_body(family, profile, cheap=cheap, stream=stream)
    served = [f for f in FAMILIES if profile.models_of(f)]
    return st.one_of(*(_family_body(f, profile, cheap=cheap) for f in served))


# --- breakers: one per request rule ----------------------------------------------------

Breaker = Callable[[Draw, Profile], Body]
BREAKERS: dict[str, Breaker] = {}


def breaker(rule_id: str) -> Callable[[Breaker], Breaker]:
    """Register a function that draws a body breaking exactly ``rule_id``."""
    if rule_id not in RULES:
        raise ValueError(f"no rule {rule_id!r} in the table")

    def register(fn: Breaker) -> Breaker:
        BREAKERS[rule_id] = fn
        return fn

    return register


_DALLE: tuple[Family, ...] = ("dall-e-2", "dall-e-3")


def _base(draw: Draw, profile: Profile, *families: Family, explicit: bool = True) -> Body:
    served = [f for f in (families or FAMILIES) if profile.models_of(f)]
    if not served:
        raise NotApplicable(f"the profile {profile.name!r} serves none of {families}")
    family = draw(st.sampled_from(served))
    return draw(_family_body(family, profile, cheap=True, explicit_model=explicit))


def _gpt(draw: Draw, profile: Profile) -> Body:
    return _base(draw, profile, "gpt-image")


def _family(body: Body, profile: Profile) -> Family | None:
    return profile.family_of(body["model"])[1]


@breaker("request.body.object")
def _(draw: Draw, profile: Profile) -> Any:
    return draw(
        st.one_of(
            st.lists(st.just({"prompt": "x"}), max_size=2),
            st.text(max_size=10),
            st.integers(),
            st.none(),
            st.booleans(),
        )
    )


@breaker("request.prompt.required")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    del body["prompt"]
    return body


@breaker("request.prompt.type")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    body["prompt"] = draw(st.one_of(st.none(), not_a_string))
    return body


@breaker("request.prompt.max_length")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    limit = PROMPT_MAX_CHARS[_family(body, profile)]  # type: ignore[index]
    body["prompt"] = "a" * (limit + draw(st.integers(1, 20)))
    return body


@breaker("request.prompt.non_empty")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    body["prompt"] = draw(st.sampled_from(["", " ", "  \n\t"]))
    return body


@breaker("request.model.type")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    body["model"] = draw(not_a_string)
    return body


@breaker("request.model.known")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    name = draw(unknown_strings.map(lambda s: f"no-such-model-{s}"))
    body["model"] = name
    return body


@breaker("request.model.default_dalle2_values")
def _(draw: Draw, profile: Profile) -> Body:
    body = {"prompt": draw(prompts)}
    param = draw(st.sampled_from(["quality", "size"]))
    allowed = QUALITIES["dall-e-2"] + SIZES["dall-e-2"] + ("auto",)
    body[param] = draw(st.sampled_from([v for v in ENUMS[param] if v not in allowed]))
    return body


@breaker("request.n.type")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    body["n"] = draw(not_an_integer)
    return body


@breaker("request.n.range")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    body["n"] = draw(st.one_of(st.integers(max_value=0), st.integers(min_value=11)))
    return body


@breaker("request.n.dalle3_only_one")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile, "dall-e-3")
    body["n"] = draw(st.integers(2, 10))
    return body


def _enum_breaker(param: str, *families: Family) -> None:
    @breaker(f"request.{param}.enum")
    def _(draw: Draw, profile: Profile) -> Body:
        body = _base(draw, profile, *families)
        bad = st.one_of(
            unknown_strings.filter(lambda s: s not in ENUMS[param]),
            st.sampled_from([v.upper() for v in ENUMS[param]]),
            not_a_string,
        )
        body[param] = draw(bad)
        return body


_enum_breaker("quality")
_enum_breaker("size")
_enum_breaker("response_format", "dall-e-2", "dall-e-3")
_enum_breaker("style", "dall-e-3")
_enum_breaker("output_format", "gpt-image")
_enum_breaker("moderation", "gpt-image")
_enum_breaker("background", "gpt-image")


@breaker("request.quality.per_model")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    fam = _family(body, profile)
    body["quality"] = draw(
        st.sampled_from([q for q in ENUMS["quality"] if q not in QUALITIES[fam]])
    )  # type: ignore[index]
    return body


@breaker("request.size.per_model")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    fam = _family(body, profile)
    body["size"] = draw(
        st.sampled_from([s for s in ENUMS["size"] if s != "auto" and s not in SIZES[fam]])  # type: ignore[index]
    )
    return body


@breaker("request.size.auto_for_dalle")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile, *_DALLE)
    body["size"] = "auto"
    return body


def _only_breaker(
    rule_id: str, param: str, value: st.SearchStrategy[Any], *families: Family
) -> None:
    @breaker(rule_id)
    def _(draw: Draw, profile: Profile) -> Body:
        body = _base(draw, profile, *families)
        body[param] = draw(value)
        return body


_only_breaker(
    "request.response_format.dalle_only",
    "response_format",
    st.sampled_from(ENUMS["response_format"]),
    "gpt-image",
)
_only_breaker(
    "request.style.dalle3_only", "style", st.sampled_from(ENUMS["style"]), "dall-e-2", "gpt-image"
)
_only_breaker(
    "request.output_format.gpt_image_only",
    "output_format",
    st.sampled_from(ENUMS["output_format"]),
    *_DALLE,
)
_only_breaker(
    "request.output_compression.gpt_image_only", "output_compression", st.integers(0, 100), *_DALLE
)
_only_breaker(
    "request.moderation.gpt_image_only", "moderation", st.sampled_from(ENUMS["moderation"]), *_DALLE
)
_only_breaker(
    "request.background.gpt_image_only", "background", st.sampled_from(ENUMS["background"]), *_DALLE
)
_only_breaker("request.stream.gpt_image_only", "stream", st.just(True), *_DALLE)
_only_breaker("request.stream.false_for_dalle", "stream", st.just(False), *_DALLE)
_only_breaker("request.partial_images.gpt_image_only", "partial_images", st.integers(0, 3), *_DALLE)


@breaker("request.output_compression.type")
def _(draw: Draw, profile: Profile) -> Body:
    body = _gpt(draw, profile)
    body["output_format"] = draw(st.sampled_from(["jpeg", "webp"]))
    body.pop("background", None)
    body["output_compression"] = draw(not_an_integer)
    return body


@breaker("request.output_compression.range")
def _(draw: Draw, profile: Profile) -> Body:
    body = _gpt(draw, profile)
    body["output_format"] = draw(st.sampled_from(["jpeg", "webp"]))
    body.pop("background", None)
    body["output_compression"] = draw(
        st.one_of(st.integers(max_value=-1), st.integers(min_value=101))
    )
    return body


def _compression_with_png(draw: Draw, profile: Profile, value: st.SearchStrategy[int]) -> Body:
    body = _gpt(draw, profile)
    fmt = draw(st.sampled_from([_ABSENT, None, "png"]))
    body.pop("output_format", None)
    _put(body, "output_format", fmt)
    body["output_compression"] = draw(value)
    return body


@breaker("request.output_compression.needs_jpeg_or_webp")
def _(draw: Draw, profile: Profile) -> Body:
    return _compression_with_png(draw, profile, st.integers(0, 99))


@breaker("request.output_compression.default_with_png")
def _(draw: Draw, profile: Profile) -> Body:
    return _compression_with_png(draw, profile, st.just(100))


@breaker("request.background.transparent_needs_png_or_webp")
def _(draw: Draw, profile: Profile) -> Body:
    body = _gpt(draw, profile)
    body["background"] = "transparent"
    body["output_format"] = "jpeg"
    return body


@breaker("request.stream.type")
def _(draw: Draw, profile: Profile) -> Body:
    body = _gpt(draw, profile)
    body["stream"] = draw(
        st.one_of(st.sampled_from(["true", "false", 1, 0]), st.lists(st.booleans(), max_size=1))
    )
    return body


@breaker("request.partial_images.type")
def _(draw: Draw, profile: Profile) -> Body:
    body = _gpt(draw, profile)
    body["stream"] = True
    body["partial_images"] = draw(not_an_integer)
    return body


@breaker("request.partial_images.range")
def _(draw: Draw, profile: Profile) -> Body:
    body = _gpt(draw, profile)
    body["stream"] = True
    body["partial_images"] = draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=4)))
    return body


@breaker("request.partial_images.needs_stream")
def _(draw: Draw, profile: Profile) -> Body:
    body = _gpt(draw, profile)
    body.pop("stream", None)
    _put(body, "stream", draw(st.sampled_from([_ABSENT, None, False])))
    body["partial_images"] = draw(st.integers(0, 3))
    return body


@breaker("request.user.type")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    body["user"] = draw(st.one_of(st.none(), not_a_string))
    return body


@breaker("request.unknown_parameter")
def _(draw: Draw, profile: Profile) -> Body:
    body = _base(draw, profile)
    name = draw(unknown_strings.filter(lambda s: s not in REQUEST_PARAMS))
    body[f"x_{name}"] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=5)))
    return body


# --- breakers of the free-size rules (edition 2026-08) ---------------------------------


def _custom_base(draw: Draw, profile: Profile) -> tuple[Body, CustomSizes]:
    """A valid cheap body for a model of the profile that takes free sizes."""
    models = sorted(profile.custom_size_models)
    if not models or profile.edition.custom_sizes is None:
        raise NotApplicable(
            f"the profile {profile.name!r} (edition {profile.edition.name}) serves no model "
            "taking WIDTHxHEIGHT sizes"
        )
    body = _base(draw, profile, "gpt-image")
    body["model"] = draw(st.sampled_from(models))
    return body, profile.edition.custom_sizes


def _oriented(draw: Draw, long: int, short: int) -> str:
    return f"{long}x{short}" if draw(st.booleans()) else f"{short}x{long}"


@breaker("request.size.custom_format")
def _(draw: Draw, profile: Profile) -> Body:
    body, _limits = _custom_base(draw, profile)
    body["size"] = draw(
        st.one_of(
            st.sampled_from(
                [
                    "1536X864",
                    "1536 x 864",
                    "1536x",
                    "x864",
                    "0x864",
                    "1536x864px",
                    "-16x16",
                    "16.0x16",
                    "AUTO",
                    "auto ",
                    "1e3x864",
                    "１５３６x864",
                ]
            ),
            unknown_strings.filter(lambda s: "x" not in s and s != "auto"),
            st.integers(1, 4096),
            st.lists(st.just("1024x1024"), min_size=1, max_size=2),
        )
    )
    return body


@breaker("request.size.custom_multiple_of_16")
def _(draw: Draw, profile: Profile) -> Body:
    body, limits = _custom_base(draw, profile)
    w, h = (int(v) for v in draw(custom_sizes(limits, max_edge=1600)).split("x"))
    off = draw(st.integers(1, limits.multiple - 1))
    # Shrinking the longer edge keeps the ratio in range and the pixels below the maximum.
    body["size"] = f"{w - off}x{h}" if w >= h else f"{w}x{h - off}"
    return body


@breaker("request.size.custom_aspect_ratio")
def _(draw: Draw, profile: Profile) -> Body:
    body, limits = _custom_base(draw, profile)
    m, (a, b) = limits.multiple, limits.ratio
    short = draw(st.integers(16, 40))
    long = draw(st.integers(short * b // a + 1, _fit(limits, short, limits.experimental_pixels)))
    body["size"] = _oriented(draw, long * m, short * m)
    return body


@breaker("request.size.custom_maximum")
def _(draw: Draw, profile: Profile) -> Body:
    body, limits = _custom_base(draw, profile)
    m, (a, b) = limits.multiple, limits.ratio
    unit_max = limits.max_pixels // (m * m)
    first = draw(st.integers(-(-unit_max // 200), 400))
    lo = max(-(-first * a // b), unit_max // first + 1)
    second = draw(st.integers(lo, max(lo, min(first * b // a, unit_max // first + 200))))
    body["size"] = _oriented(draw, first * m, second * m)
    return body


@breaker("request.size.custom_experimental")
def _(draw: Draw, profile: Profile) -> Body:
    body, limits = _custom_base(draw, profile)
    body["size"] = draw(
        custom_sizes(limits, min_edge=16, max_edge=4096, experimental=True).filter(
            lambda s: limits.experimental(*(int(v) for v in s.split("x")))
        )
    )
    return body


BREAKABLE_RULES: list[str] = [r for r in RULES if r in BREAKERS]
"""Request rules with a breaker, in table order."""


def breaks_exactly(body: Any, rule_id: str, profile: Profile | None = None) -> bool:
    """True when ``body`` breaks ``rule_id`` and no other rule."""
    return {v.rule for v in validate_request(body, profile=profile)} == {rule_id}


def home_profile(rule_id: str) -> Profile:
    """OpenAI's profile in the first edition that holds the rule (the default one for every
    rule of the endpoint document)."""
    from validator._profile import edition_profile

    for edition in EDITIONS.values():
        if edition.holds(RULES[rule_id]):
            return edition_profile(edition)
    return DEFAULT_PROFILE


def breaking_requests(rule_id: str, *, profile: Profile | None = None) -> st.SearchStrategy[Any]:
    """Bodies that break exactly ``rule_id`` (a request rule) and no other rule.

    Without a profile: OpenAI's, in the first edition that holds the rule."""
    if rule_id not in BREAKERS:
        raise ValueError(f"no breaking strategy for {rule_id!r}; breakable: {BREAKABLE_RULES}")
    profile = profile or home_profile(rule_id)
    fn = BREAKERS[rule_id]

    @st.composite
    def draw_body(draw: Draw) -> Any:
        return fn(draw, profile)

    return draw_body().filter(lambda b: breaks_exactly(b, rule_id, profile))
