"""Editions of the official text: the models each one names and the sizes they take.

An edition is data, read by the one rule table: which model names it lists and the
family each behaves like, which of them take free ``WIDTHxHEIGHT`` sizes and within
which limits, and the sentences of its own text that replace the endpoint document's
where the two differ. Rules reach it as ``ctx.profile.edition``.

- ``document``: the endpoint document (spec/create-image.md), the default.
- ``2026-08``: the official ``CreateImageRequest`` of 2026-08-21
  (spec/openapi-2026-08-create-image-request.yaml): the document plus ``gpt-image-2``
  and ``gpt-image-2-2026-04-21``, which take ``WIDTHxHEIGHT`` sizes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._models import DOCUMENT_MODELS, Family

_SIZE_RE = re.compile(r"^([1-9][0-9]{0,15})x([1-9][0-9]{0,15})$")


def parse_size(value: Any) -> tuple[int, int] | None:
    """(width, height) of a ``WIDTHxHEIGHT`` string of positive integers; None otherwise."""
    if type(value) is not str:
        return None
    m = _SIZE_RE.match(value)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class CustomSizes:
    """The limits on free ``WIDTHxHEIGHT`` sizes, as an edition states them.

    The maximum and the experimental threshold are read as pixel counts (width x
    height), whatever the orientation: see docs/editions.md for why.
    """

    multiple: int
    """Width and height are both divisible by this."""
    ratio: tuple[int, int]
    """(a, b): the aspect ratio lies between a:b and b:a, both included."""
    maximum: tuple[int, int]
    """No more pixels than this resolution."""
    experimental_above: tuple[int, int]
    """More pixels than this resolution are experimental (a SHOULD-level note)."""

    @property
    def max_pixels(self) -> int:
        return self.maximum[0] * self.maximum[1]

    @property
    def experimental_pixels(self) -> int:
        return self.experimental_above[0] * self.experimental_above[1]

    def label(self, wh: tuple[int, int]) -> str:
        return f"{wh[0]}x{wh[1]}"

    def divisible(self, width: int, height: int) -> bool:
        return width % self.multiple == 0 and height % self.multiple == 0

    def ratio_ok(self, width: int, height: int) -> bool:
        a, b = self.ratio
        return width * b >= height * a and height * b >= width * a

    def within_maximum(self, width: int, height: int) -> bool:
        return width * height <= self.max_pixels

    def experimental(self, width: int, height: int) -> bool:
        return self.experimental_pixels < width * height <= self.max_pixels

    def valid(self, width: int, height: int) -> bool:
        """Divisible, in ratio, within the maximum (experimental sizes included)."""
        return (
            self.divisible(width, height)
            and self.ratio_ok(width, height)
            and self.within_maximum(width, height)
        )


@dataclass(frozen=True)
class Edition:
    """One edition of the official text, as data the rules read."""

    name: str
    title: str
    source: str
    """The key (in the rule table's SOURCES) of this edition's own text."""
    models: Mapping[str, Family]
    """The model names the edition lists, and the family each behaves like."""
    custom_size_models: frozenset[str] = frozenset()
    """The models that take free ``WIDTHxHEIGHT`` sizes."""
    custom_sizes: CustomSizes | None = None
    quotes: Mapping[str, str] = field(default_factory=dict)
    """Rule id -> the sentence of this edition's text that replaces the rule's quote."""

    def holds(self, rule: Any) -> bool:
        """Whether ``rule`` (a Rule) is part of this edition: every rule but those quoting
        another edition's own text."""
        return rule.source == self.source or rule.source not in EDITION_SOURCES

    def quote_of(self, rule: Any) -> tuple[str, str]:
        """(source key, quote) the rule cites in this edition."""
        if rule.id in self.quotes:
            return self.source, self.quotes[rule.id]
        return rule.source, rule.quote


DOCUMENT = Edition(
    name="document",
    title="the endpoint document (spec/create-image.md)",
    source="document",
    models=dict(DOCUMENT_MODELS),
)

GPT_IMAGE_2_MODELS = ("gpt-image-2", "gpt-image-2-2026-04-21")

EDITION_2026_08 = Edition(
    name="2026-08",
    title="the official CreateImageRequest of 2026-08-21 "
    "(spec/openapi-2026-08-create-image-request.yaml)",
    source="2026-08",
    models={**DOCUMENT_MODELS, **dict.fromkeys(GPT_IMAGE_2_MODELS, "gpt-image")},
    custom_size_models=frozenset(GPT_IMAGE_2_MODELS),
    custom_sizes=CustomSizes(
        multiple=16, ratio=(1, 3), maximum=(3840, 2160), experimental_above=(2560, 1440)
    ),
    quotes={
        "request.model.known": "One of `dall-e-2`, `dall-e-3`, or a GPT image model "
        "(`gpt-image-1`, `gpt-image-1-mini`, `gpt-image-1.5`, `gpt-image-2`, "
        "`gpt-image-2-2026-04-21`).",
        "request.size.per_model": "The standard sizes `1024x1024`, `1536x1024`, and "
        "`1024x1536` are supported by the GPT image models; `auto` is supported for models "
        "that allow automatic sizing. For `dall-e-2`, use one of `256x256`, `512x512`, or "
        "`1024x1024`. For `dall-e-3`, use one of `1024x1024`, `1792x1024`, or `1024x1792`.",
        "image.transparency": "Transparent backgrounds are available for supported GPT Image "
        "models. For `gpt-image-2` and `gpt-image-2-2026-04-21`, this support is in preview.",
    },
)

EDITIONS: dict[str, Edition] = {e.name: e for e in (DOCUMENT, EDITION_2026_08)}
"""Every edition, by name; ``document`` is the default."""
EDITION_SOURCES = frozenset(e.source for e in EDITIONS.values() if e is not DOCUMENT)
"""The sources that are one edition's own text: their rules hold in that edition only."""
DEFAULT_EDITION = DOCUMENT


class EditionError(ValueError):
    """An edition name that is not one of EDITIONS."""


def get_edition(name: str | Edition) -> Edition:
    """The edition called ``name``; raises EditionError naming the known ones."""
    if isinstance(name, Edition):
        return name
    try:
        return EDITIONS[name]
    except (KeyError, TypeError):
        raise EditionError(f"unknown edition {name!r}; known: {', '.join(EDITIONS)}") from None
