"""The rule table: every constraint of the document, written once.

A rule is a small generator function that yields :class:`Finding` objects (or plain
message strings) for one concern, registered with its id, level, parameters and the
sentence that states the requirement, quoted verbatim from its source (a file of
``spec/``, see SOURCES). The validator, the suite's negative cases,
the conformance report and ``docs/rules.md`` are all driven by this table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from .._violation import Level, Violation

Kind = Literal["request", "response", "stream", "image", "error", "http"]


class Source(NamedTuple):
    """Where a rule's quote is from: a file of the repository, and how messages name it."""

    file: str
    """The file, relative to the repository root; the quote stands in it verbatim."""
    label: str
    """What a failure message says before the quote; ``{evidence}`` is the rule's evidence."""


SOURCES: dict[str, Source] = {
    "document": Source("spec/create-image.md", "The document:"),
    "openapi": Source("spec/openapi-images-excerpt.yaml", "The official schema:"),
    "observed": Source(
        "spec/observed-behaviour.md", "Observed on the live API (evidence: {evidence}):"
    ),
    "2026-08": Source(
        "spec/openapi-2026-08-create-image-request.yaml", "The official text of 2026-08-21:"
    ),
}
"""Source key -> (file, message label). ``document``: the endpoint document, the
authority; ``openapi``: the official OpenAPI description (types, required keys);
``observed``: what the live API was seen doing, with public evidence (a rule resting on
it alone is SHOULD unless the other two decide the case); ``2026-08``: the official
CreateImageRequest of 2026-08-21, the text of the edition of that name (see _editions.py)."""


@dataclass(frozen=True)
class Finding:
    """What a check function yields: one deviation, before it becomes a Violation."""

    message: str
    path: str | None = None
    """JSON pointer; defaults to the rule's first parameter (``/n``) or ''."""
    param: str | None = ""
    """The request parameter at fault; '' means the rule's first parameter."""


Check = Callable[[Any], Iterable["Finding | str"]]


@dataclass(frozen=True)
class Rule:
    """One named constraint of the document."""

    id: str
    level: Level
    params: tuple[str, ...]
    quote: str
    """The sentence that states the requirement, verbatim from the source (whitespace
    normalized; `` … `` joins passages of the same source where text is left out)."""
    check: Check = field(repr=False)
    source: str = "document"
    """Where the quote is from: a key of SOURCES."""
    evidence: str | None = None
    """For the ``observed`` source: the public evidence, named in messages."""
    schema: bool = False
    """True when the request JSON Schema says the same thing (used by the differential test)."""
    feature: str | None = None
    """The optional feature (a Profile feature name) a target must offer for the rule to apply."""
    when: tuple[str, ...] | None = None
    """Request rules only: run only when one of these parameters is present (None: always)."""
    pure: bool = False
    """Request rules only: the check depends on nothing but the value of its one ``when``
    parameter and the resolved model, so its answer may be memoized on those."""
    applies: Callable[[Mapping[str, Any], str | None], bool] | None = None
    """Answer rules only: whether a served answer to a request (of a model family) gives
    the rule something to check; None: every answer of its kind does."""

    @property
    def kind(self) -> Kind:
        return self.id.split(".", 1)[0]  # type: ignore[return-value]

    @property
    def source_label(self) -> str:
        """How a message names the source of the quote (with the evidence, if any)."""
        return SOURCES[self.source].label.format(evidence=self.evidence or "")

    @property
    def summary(self) -> str:
        """The first line of the check function's docstring."""
        doc = (self.check.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def applies_to(self, request: Mapping[str, Any], family: str | None) -> bool:
        """Whether a served answer to ``request`` (``family``: the model family it resolves
        to, None when unconstrained) exercises this rule. Stream rules need a stream,
        response rules a JSON answer; request, error and HTTP rules always apply."""
        stream = request.get("stream") is True
        if self.kind == "stream" and not stream:
            return False
        if self.kind == "response" and stream:
            return False
        return self.applies is None or self.applies(request, family)

    def run(self, ctx: Any) -> list[Violation]:
        """Run the check on ``ctx`` and turn its findings into violations."""
        out: list[Violation] = []
        edition = getattr(getattr(ctx, "profile", None), "edition", None)
        for found in self.check(ctx):
            out.append(self.violation(found, edition))
        return out

    def cites(self, edition: Any = None) -> tuple[str, str]:
        """(source key, quote) this rule cites under ``edition`` (an Edition; None: its own)."""
        return edition.quote_of(self) if edition is not None else (self.source, self.quote)

    def violation(self, found: Finding | str, edition: Any = None) -> Violation:
        """The Violation for one finding of this rule (quoting ``edition``'s text, if given)."""
        if isinstance(found, str):
            found = Finding(found)
        param = (self.params[0] if self.params else None) if found.param == "" else found.param
        source, quote = self.cites(edition)
        label = (
            self.source_label
            if source == self.source
            else SOURCES[source].label.format(evidence="")
        )
        path = found.path
        if path is None:
            path = f"/{param}" if (self.kind == "request" and param) else ""
        return Violation(
            rule=self.id,
            level=self.level,
            message=f'{found.message}. {label} "{quote}"',
            param=param,
            path=path,
        )


RULES: dict[str, Rule] = {}
"""Every rule, by id, in registration order."""


def rule(
    id: str,
    level: Level | str,
    *,
    params: Iterable[str] = (),
    quote: str,
    source: str = "document",
    evidence: str | None = None,
    schema: bool = False,
    feature: str | None = None,
    when: Iterable[str] | None = None,
    pure: bool = False,
    applies: Callable[[Mapping[str, Any], str | None], bool] | None = None,
) -> Callable[[Check], Check]:
    """Register the decorated check function as the rule ``id``."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} for rule {id}")
    if (source == "observed") != bool(evidence):
        raise ValueError(f"rule {id}: evidence is given for, and only for, an observed source")

    def register(fn: Check) -> Check:
        if id in RULES:
            raise ValueError(f"rule {id} is registered twice")
        RULES[id] = Rule(
            id=id,
            level=Level(level),
            params=tuple(params),
            quote=" ".join(quote.split()),
            check=fn,
            source=source,
            evidence=evidence,
            schema=schema,
            feature=feature,
            when=tuple(when) if when is not None else None,
            pure=pure,
            applies=applies,
        )
        if pure and (RULES[id].when is None or len(RULES[id].when or ()) != 1):
            raise ValueError(f"rule {id}: a pure rule depends on exactly one parameter")
        return fn

    return register


def rules_of(kind: Kind) -> list[Rule]:
    """The rules of one kind, in registration order."""
    return [r for r in RULES.values() if r.kind == kind]
