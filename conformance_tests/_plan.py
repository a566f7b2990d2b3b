"""The quick level's plan: the fewest billable images that exercise every case of the rule table.

A *case* is one situation a rule distinguishes, ``(rule, family, feature)``:

- a request rule broken in a body of a model family (``feature`` ``"broken"``; the family
  is ``None`` when the rule judges every family alike). Refused requests cost nothing, so
  every such case gets its own request;
- a request rule whose parameter is sent as an explicit ``null`` in a served request
  (``"null"``; null means "not given"), for each family the rule can be broken in when it
  judges families differently (where a target may wrongly refuse the null), else once;
- a positive rule (response, image, stream) on a served answer of a family, once per facet
  the rule reads: the profile feature the request uses for a parameter of the rule
  (``url_responses`` / ``b64_json_responses`` for ``response_format``, ``transparency``,
  ``output_formats``, ``streaming``), the rule's own feature, ``"n>1"`` for rules about
  the number of images when several are asked for, else ``None``.

Everything comes from the table (``Rule.applies_to``, ``Rule.params``, ``Rule.feature``,
``Rule.when``), the model tables and the strategies (valid bodies, breakers), so a rule,
family or breaker added later is planned for without a change here.

The plan: candidate served requests are bodies drawn from the strategies, made as cheap as
they can be without losing a case (fewest images, smallest size, lowest quality), plus the
same with explicit nulls. A greedy set cover picks the candidates with the most new cases
per image, cheapest first; then requests take on parameters that add cases at no extra
image, two requests of a family merge when that saves an image, redundant requests and
nulls no case needs are dropped. Each broken case gets one refused request. Fixed requests
(the document's examples, sent at every level) are counted first.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from validator import FAMILIES, RULES, Profile, resolve_model, validate_request
from validator._models import NULLABLE_PARAMS, QUALITIES, SIZES
from validator._rules._expect import expected_n

from ._bodies import PROMPT, features_used, fit_to_features
from ._cases import draw_examples
from .strategies import (
    BREAKABLE_RULES,
    BREAKERS,
    NotApplicable,
    breaks_exactly,
    valid_requests,
)

POSITIVE_KINDS = ("response", "stream", "image")
BROKEN, NULL, SEVERAL = "broken", "null", "n>1"

FEATURE_PARAMS: dict[str, tuple[str, ...]] = {
    "url_responses": ("response_format",),
    "b64_json_responses": ("response_format",),
    "transparency": ("background",),
    "output_formats": ("output_format", "output_compression"),
    "streaming": ("stream", "partial_images"),
}
"""The request parameters each optional feature of a profile is about."""

CANDIDATE_DRAWS = 25
"""Valid bodies drawn per family (and for streams) as candidates."""


@dataclass(frozen=True, order=True)
class RuleCase:
    """One situation a rule distinguishes: ``rule`` judged for ``family`` under ``feature``."""

    rule: str
    family: str | None
    feature: str | None

    def __str__(self) -> str:
        return f"{self.rule} [{self.family or 'any family'}, {self.feature or '-'}]"

    def as_list(self) -> list[str | None]:
        return [self.rule, self.family, self.feature]


def _family(body: Any, profile: Profile) -> str | None:
    return resolve_model(body, profile=profile).family if isinstance(body, dict) else None


def _key(body: Any) -> str:
    return json.dumps(body, sort_keys=True, default=str)


_SERVED_MEMO: dict[int, tuple[Profile, int, dict[str, frozenset[RuleCase]]]] = {}
"""id(profile) -> (profile, size of the rule table, body -> served cases)."""


def _facets(
    rule: Any, body: Mapping[str, Any], used: frozenset[str], several: bool
) -> set[str | None]:
    params = set(rule.params)
    out: set[str | None] = {f for f in used if params.intersection(FEATURE_PARAMS.get(f, ()))}
    if rule.feature:
        out.add(rule.feature)
    if several and "n" in params:
        out.add(SEVERAL)
    return out or {None}


def served_cases(body: Mapping[str, Any], profile: Profile) -> frozenset[RuleCase]:
    """The cases a served (200) answer to the valid ``body`` exercises, each null case
    with the body's family (see :func:`collapse`)."""
    entry = _SERVED_MEMO.get(id(profile))
    if entry is None or entry[0] is not profile or entry[1] != len(RULES):
        entry = _SERVED_MEMO[id(profile)] = (profile, len(RULES), {})
    memo, memo_key = entry[2], _key(body)
    found = memo.get(memo_key)
    if found is not None:
        return found
    family = _family(body, profile)
    used = features_used(body, family)
    several = images(dict(body)) > 1
    out: set[RuleCase] = set()
    for rule in RULES.values():
        if rule.kind not in POSITIVE_KINDS or not profile.edition.holds(rule):
            continue
        if rule.feature and not profile.offers(rule.feature):
            continue
        if rule.applies_to(body, family):
            for facet in _facets(rule, body, used, several):
                out.add(RuleCase(rule.id, family, facet))
    nulls = {p for p, v in body.items() if v is None} & NULLABLE_PARAMS
    for rule in RULES.values():
        if rule.kind != "request" or not profile.edition.holds(rule):
            continue
        if nulls.intersection(rule.when or ()):
            out.add(RuleCase(rule.id, family, NULL))
    result = memo[memo_key] = frozenset(out)
    return result


def refused_cases(body: Any, profile: Profile) -> frozenset[RuleCase]:
    """The cases a refused invalid ``body`` exercises: each rule it breaks, with the body's
    family (see :func:`collapse`)."""
    family = _family(body, profile)
    return frozenset(
        RuleCase(rule_id, family, BROKEN)
        for rule_id in {v.rule for v in validate_request(body, profile=profile)}
    )


def exchange_cases(body: Any, profile: Profile, *, served: bool) -> frozenset[RuleCase]:
    """The cases one answered request exercised: served (200) or refused (4xx), as sent."""
    if served:
        return served_cases(body, profile) if isinstance(body, dict) else frozenset()
    return refused_cases(body, profile)


RuleFamilies = Mapping[str, "frozenset[str | None] | None"]
"""Request rule -> the families it can be broken in when it judges families differently;
None (or absent) when it judges every family alike."""


def collapse(cases: Iterable[RuleCase], families: RuleFamilies) -> frozenset[RuleCase]:
    """The cases as the plan counts them: a broken or null case of a request rule that
    judges every family alike has no family; a null case of one that does counts only for
    the families the rule can be broken in (where a target may wrongly refuse the null)."""
    out: set[RuleCase] = set()
    for case in cases:
        if case.feature in (BROKEN, NULL):
            fams = families.get(case.rule)
            if fams is None:
                case = RuleCase(case.rule, None, case.feature)
            elif case.feature == NULL and case.family not in fams:
                continue
        out.add(case)
    return frozenset(out)


# -- cost -------------------------------------------------------------------------------


def _area(size: Any, family: str | None) -> int:
    sizes = [s for s in SIZES.get(family, ()) if "x" in s]  # type: ignore[arg-type]
    if isinstance(size, str) and "x" in size:
        w, _, h = size.partition("x")
        if w.isdigit() and h.isdigit():
            return int(w) * int(h)
    return max((_area(s, None) for s in sizes), default=1024 * 1024)


def _quality_rank(quality: Any, family: str | None) -> int:
    order = [q for q in QUALITIES.get(family, ()) if q != "auto"]  # type: ignore[arg-type]
    return order.index(quality) if quality in order else len(order)


def images(body: Any) -> int:
    """The billable generations a served ``body`` costs: the images it asks for."""
    return (expected_n(body) or 1) if isinstance(body, dict) else 0


def cost(body: Mapping[str, Any], profile: Profile) -> tuple[int, int, int]:
    """(images, pixels per image, quality rank): lower is cheaper."""
    family = _family(body, profile)
    return (
        images(dict(body)),
        _area(body.get("size"), family),
        _quality_rank(body.get("quality"), family),
    )


def _valid(body: dict[str, Any], profile: Profile) -> bool:
    return not validate_request(body, profile=profile)


def cheapen(body: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """The cheapest variant of a valid ``body`` (fewer images, a smaller size, a lower
    quality) that is still valid and exercises at least the same cases."""
    family = _family(body, profile)
    want = served_cases(body, profile)
    options: list[tuple[str, list[Any]]] = [
        ("n", list(range(1, images(body)))),
        ("size", sorted(SIZES.get(family, ()), key=lambda s: _area(s, family))),  # type: ignore[arg-type]
        ("quality", [q for q in QUALITIES.get(family, ()) if q != "auto"]),  # type: ignore[arg-type]
    ]
    for param, values in options:
        for value in values:
            trial = {**body, param: value}
            if cost(trial, profile) >= cost(body, profile):
                break
            if _valid(trial, profile) and served_cases(trial, profile) >= want:
                body = trial
                break
    return body


def with_nulls(body: dict[str, Any], profile: Profile) -> dict[str, Any] | None:
    """``body`` with an explicit null for every nullable parameter that can be null while the
    body stays valid and of the same family; None when no parameter can."""
    family = _family(body, profile)
    out = dict(body)
    for param in sorted(NULLABLE_PARAMS):
        if out.get(param, 0) is None:
            continue
        trial = {**out, param: None}
        if _valid(trial, profile) and _family(trial, profile) == family:
            out = trial
    return out if out != body else None


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``a`` with the parameters of ``b`` it leaves out."""
    return {**a, **{k: v for k, v in b.items() if k not in a}}


# -- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRequest:
    """One request of the plan: its body, what it exercises and what it costs."""

    id: str
    body: Any
    family: str | None
    cases: frozenset[RuleCase]
    served: bool
    fixed: bool = False
    """Sent at every level anyway (the document's examples): counted, not chosen."""
    rule: str | None = None
    """For a planned refused request: the rule it breaks."""

    @property
    def images(self) -> int:
        return images(self.body) if self.served else 0

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(sorted({c.rule for c in self.cases}))

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True


@dataclass(frozen=True)
class Plan:
    """The requests of a planned level and the cases they exercise."""

    served: tuple[PlannedRequest, ...]
    refused: tuple[PlannedRequest, ...]
    universe: frozenset[RuleCase]
    """Every case the table distinguishes for this profile that some request can reach."""
    families: RuleFamilies
    """What :func:`collapse` needs: request rule -> families, for this profile."""

    @property
    def generations(self) -> int:
        """Billable generations planned (images of the served requests, fixed ones included)."""
        return sum(r.images for r in self.served)

    @property
    def cases(self) -> frozenset[RuleCase]:
        out: set[RuleCase] = set()
        for r in (*self.served, *self.refused):
            out |= r.cases
        return frozenset(out)

    @property
    def missing(self) -> frozenset[RuleCase]:
        return self.universe - self.cases

    def chosen(self, *, stream: bool) -> list[PlannedRequest]:
        """The served requests the plan adds (not the fixed ones), JSON or stream."""
        return [r for r in self.served if not r.fixed and r.stream == stream]

    def refused_for(self, rule_id: str) -> list[PlannedRequest]:
        """The planned refused requests that break ``rule_id``."""
        return [r for r in self.refused if r.rule == rule_id and not r.fixed]

    def describe(self) -> str:
        fixed = sum(r.images for r in self.served if r.fixed)
        return (
            f"quick plan: {self.generations} billable generations planned "
            f"({len(self.served)} served requests"
            + (f", {fixed} for the document's examples" if fixed else "")
            + f"), {len(self.refused)} refused requests; they exercise {len(self.cases)} of "
            f"{len(self.universe)} (rule, family, feature) cases"
        )


def _served_families(profile: Profile) -> list[str]:
    return [f for f in FAMILIES if profile.models_of(f) and profile.offers(f)]


def _usable(body: Any, profile: Profile) -> bool:
    """A valid body whose family and features the profile offers."""
    if not isinstance(body, dict) or not _valid(body, profile):
        return False
    family = _family(body, profile)
    if family is not None and not profile.offers(family):
        return False
    return features_used(body, family) <= profile.features


def _candidates(profile: Profile, seed: int) -> list[dict[str, Any]]:
    """Cheapened valid bodies drawn from the strategies, and their null variants."""
    drawn: list[Any] = []
    for family in _served_families(profile):
        strategies = [valid_requests(family, profile=profile)]  # type: ignore[arg-type]
        if profile.offers("streaming"):
            with contextlib.suppress(ValueError):  # a family that does not stream
                strategies.append(valid_requests(family, profile=profile, stream=True))  # type: ignore[arg-type]
        for strategy in strategies:
            drawn += draw_examples(strategy, CANDIDATE_DRAWS, seed)
    out: dict[str, dict[str, Any]] = {}
    for body in drawn:
        body = fit_to_features(body, profile)
        body["prompt"] = PROMPT
        body.pop("user", None)
        if not _usable(body, profile):
            continue
        body = cheapen(body, profile)
        for variant in (body, with_nulls(body, profile)):
            if variant is not None:
                out.setdefault(_key(variant), variant)
    return list(out.values())


def _request_id(index: int, body: dict[str, Any], family: str | None) -> str:
    parts = [f"{index:02d}", str(family or "default")]
    if body.get("stream") is True:
        parts.append("stream")
    for key in ("response_format", "output_format", "background"):
        if isinstance(body.get(key), str):
            parts.append(str(body[key]))
    n = images(body)
    if n > 1:
        parts.append(f"n{n}")
    if any(v is None for v in body.values()):
        parts.append("nulls")
    return "-".join(parts)


class _Cover:
    """Greedy set cover of the served cases: most new cases per image, then the cheapest."""

    def __init__(self, profile: Profile, families: RuleFamilies, left: set[RuleCase]) -> None:
        self.profile = profile
        self.families = families
        self.left = left

    def cases(self, body: dict[str, Any]) -> frozenset[RuleCase]:
        return collapse(served_cases(body, self.profile), self.families)

    def key(self, body: dict[str, Any]) -> tuple[Any, ...] | None:
        new = len(self.cases(body) & self.left)
        if not new:
            return None
        price = cost(body, self.profile)
        return (-new / max(1, price[0]), price, -new, _key(body))

    def grow(self, body: dict[str, Any], pool: list[dict[str, Any]]) -> dict[str, Any]:
        """Merge in other candidates' parameters while that makes the request better value."""
        family = _family(body, self.profile)
        best = self.key(body)
        improved = True
        while improved and best is not None:
            improved = False
            mine = self.cases(body)
            for other in pool:
                if not (self.cases(other) & self.left) - mine:
                    continue
                for merged in (_merge(body, other), _merge(other, body)):
                    if merged == body or not _usable(merged, self.profile):
                        continue
                    if _family(merged, self.profile) != family:
                        continue
                    key = self.key(merged)
                    if key is not None and key < best:
                        body, best, improved = merged, key, True
                        mine = self.cases(body)
        return body

    def run(self, pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chosen: list[dict[str, Any]] = []
        while self.left:
            keyed = [(k, b) for b in pool if (k := self.key(b)) is not None]
            if not keyed:
                break
            body = self.grow(min(keyed, key=lambda kb: kb[0])[1], pool)
            chosen.append(body)
            self.left -= self.cases(body)
        return chosen

    def improve(
        self, bodies: list[dict[str, Any]], keep: set[RuleCase], pool: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Make the cover cheaper without losing a case of ``keep``: give each request the
        parameters of candidates that add cases at no extra image; merge two requests of a
        family into one that costs fewer images; drop requests the others make redundant."""
        for i in range(len(bodies)):
            bodies[i] = self.saturate(bodies[i], keep, pool, bodies[:i] + bodies[i + 1 :])
        merged_any = True
        while merged_any:
            merged_any = False
            for i, j in [(i, j) for i in range(len(bodies)) for j in range(len(bodies)) if i != j]:
                a, b = bodies[i], bodies[j]
                if _family(a, self.profile) != _family(b, self.profile):
                    continue
                m = _merge(a, b)
                if not _usable(m, self.profile) or images(m) >= images(a) + images(b):
                    continue
                rest = [x for k, x in enumerate(bodies) if k not in (i, j)]
                if keep <= self.cases(m).union(*(self.cases(x) for x in rest)):
                    bodies = [*rest, m]
                    merged_any = True
                    break
        for body in sorted(bodies, key=lambda b: cost(b, self.profile), reverse=True):
            rest = [b for b in bodies if b is not body]
            if keep <= set().union(*(self.cases(b) for b in rest)) | (self.cases(body) - keep):
                bodies = rest
        return bodies

    def saturate(
        self,
        body: dict[str, Any],
        keep: set[RuleCase],
        pool: list[dict[str, Any]],
        others: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """``body`` with parameters of other candidates set, one at a time, while each adds
        cases of ``keep`` to it at no extra image and the plan (``others`` and it) loses none."""
        family = _family(body, self.profile)
        elsewhere: set[RuleCase] = set().union(*(self.cases(b) for b in others))
        pairs: dict[str, tuple[str, Any]] = {}
        for other in pool:
            for item in other.items():
                pairs.setdefault(_key(item), item)
        for param, value in pairs.values():
            if value is None or body.get(param) is not None or param == "prompt":
                continue
            trial = {**body, param: value}
            if images(trial) > images(body) or not _usable(trial, self.profile):
                continue
            if _family(trial, self.profile) != family:
                continue
            mine, got = self.cases(body) & keep, self.cases(trial) & keep
            if got - mine and mine <= got | elsewhere:
                body = trial
        return body

    def drop_spare_nulls(
        self, bodies: list[dict[str, Any]], keep: set[RuleCase]
    ) -> list[dict[str, Any]]:
        """Remove the explicit nulls no case of ``keep`` needs (earlier requests keep theirs)."""
        bodies = [dict(b) for b in bodies]
        for i in reversed(range(len(bodies))):
            for param in [p for p, v in bodies[i].items() if v is None]:
                trial = {k: v for k, v in bodies[i].items() if k != param}
                if not _usable(trial, self.profile):
                    continue
                if _family(trial, self.profile) != _family(bodies[i], self.profile):
                    continue
                others: set[RuleCase] = set()
                for j, b in enumerate(bodies):
                    others |= self.cases(trial if j == i else b)
                if keep <= others:
                    bodies[i] = trial
        return bodies


def _cheapest(family: str | None) -> dict[str, str]:
    sizes = sorted((s for s in SIZES.get(family, ()) if "x" in s), key=lambda s: _area(s, family))  # type: ignore[arg-type]
    qualities = [q for q in QUALITIES.get(family, ()) if q != "auto"]  # type: ignore[arg-type]
    return {k: v[0] for k, v in (("size", sizes), ("quality", qualities)) if v}


def _retarget(body: Any, family: str, profile: Profile, keep: Iterable[str] = ()) -> Any:
    """``body`` sent to the first model of ``family`` (with that family's cheapest size and
    quality in place of its own, except for the parameters in ``keep``)."""
    if not isinstance(body, dict):
        return body
    out = {**body, "model": profile.models_of(family)[0]}  # type: ignore[arg-type]
    for param, value in _cheapest(family).items():
        if param in out and param not in keep and out[param] is not None:
            out[param] = value
    return out


def restricted(profile: Profile, family: str) -> Profile:
    """``profile`` serving only the models of ``family`` (to draw bodies of that family)."""
    return replace(profile, models={n: f for n, f in profile.models.items() if f == family})


_BREAKING: dict[tuple[int, int], tuple[Profile, dict[str, tuple[bool, dict[str | None, Any]]]]] = {}


@st.composite
def _breaking_views(draw: Any, rule_id: str, views: list[Profile]) -> list[Any]:
    """One draw of the rule's breaker under each profile view (skipping those it does not
    apply to), in one hypothesis example."""
    out = []
    for view in views:
        try:
            out.append(BREAKERS[rule_id](draw, view))
        except NotApplicable:
            continue
    return out


def _breaks(body: Any, rule_id: str, profile: Profile) -> bool:
    return rule_id in {v.rule for v in validate_request(body, profile=profile)}


def breaking_bodies(
    profile: Profile, seed: int = 0
) -> dict[str, tuple[bool, dict[str | None, Any]]]:
    """For every breakable rule: whether its verdict depends on the model family, and one
    body breaking exactly it per family it can be broken in.

    Bodies come from the rule's breaker, drawn with the whole profile and with the profile
    restricted to each family in turn. A rule depends on the family when a body breaking
    it no longer does once moved to a model of another family.
    """
    key = (id(profile), seed)
    cached = _BREAKING.get(key)
    if cached is not None and cached[0] is profile:
        return cached[1]
    served = _served_families(profile)
    views = [profile, *(restricted(profile, f) for f in served)]
    out: dict[str, tuple[bool, dict[str | None, Any]]] = {}
    for rule_id in BREAKABLE_RULES:
        if not profile.edition.holds(RULES[rule_id]):
            continue  # a rule of another edition is not part of this run
        found: dict[str | None, Any] = {}
        for body in draw_examples(_breaking_views(rule_id, views), 1, seed)[0]:
            if breaks_exactly(body, rule_id, profile):
                found.setdefault(_family(body, profile), body)
        keep = RULES[rule_id].params
        depends = any(
            not _breaks(_retarget(b, f, profile, keep), rule_id, profile)
            for b in found.values()
            if isinstance(b, dict)
            for f in served
        )
        out[rule_id] = (depends, found)
    _BREAKING[key] = (profile, out)
    return out


def rule_families(profile: Profile, seed: int = 0) -> dict[str, frozenset[str | None] | None]:
    """Request rule -> the families it can be broken in, for the rules whose verdict
    depends on the model family; None for the others (see :func:`breaking_bodies`)."""
    return {
        rule_id: frozenset(bodies) if depends else None
        for rule_id, (depends, bodies) in breaking_bodies(profile, seed).items()
    }


def make_plan(profile: Profile, *, seed: int = 0, fixed: Iterable[tuple[str, Any]] = ()) -> Plan:
    """Plan the requests that exercise every case for ``profile``.

    ``fixed``: (id, body) requests sent anyway (served when usable, refused when invalid);
    the plan counts what they exercise and cost, and adds only what they leave uncovered.
    """
    families = rule_families(profile, seed)
    served: list[PlannedRequest] = []
    refused: list[PlannedRequest] = []
    for name, body in fixed:
        family = _family(body, profile)
        if _usable(body, profile):
            cases = collapse(served_cases(body, profile), families)
            served.append(PlannedRequest(name, body, family, cases, True, fixed=True))
        elif validate_request(body, profile=profile):
            cases = collapse(refused_cases(body, profile), families)
            refused.append(PlannedRequest(name, body, family, cases, False, fixed=True))
    candidates = _candidates(profile, seed)
    universe: set[RuleCase] = set()
    for body in candidates:
        universe |= collapse(served_cases(body, profile), families)
    covered: set[RuleCase] = set().union(*(r.cases for r in served)) if served else set()
    cover = _Cover(profile, families, universe - covered)
    keep = universe - covered
    chosen = cover.drop_spare_nulls(cover.run(candidates), keep)
    for _ in range(3):  # until no image is saved
        better = cover.drop_spare_nulls(cover.improve(chosen, keep, candidates), keep)
        if sum(map(images, better)) >= sum(map(images, chosen)):
            break
        chosen = better
    chosen = [cheapen(b, profile) for b in chosen]
    chosen.sort(key=lambda b: (b.get("stream") is True, str(_family(b, profile)), cost(b, profile)))
    for i, body in enumerate(chosen, 1):
        family = _family(body, profile)
        served.append(
            PlannedRequest(_request_id(i, body, family), body, family, cover.cases(body), True)
        )
    for rule_id, (depends, bodies) in breaking_bodies(profile, seed).items():
        picks = list(bodies.items())
        if not depends:
            picks = picks[:1]
        for family, body in picks:
            cases = collapse(refused_cases(body, profile), families)
            refused.append(
                PlannedRequest(
                    f"{rule_id}@{family or 'any'}", body, family, cases, False, rule=rule_id
                )
            )
    for r in (*served, *refused):
        universe |= r.cases
    return Plan(tuple(served), tuple(refused), frozenset(universe), families)


_PLANS: dict[tuple[int, int], tuple[Profile, Plan]] = {}


def plan_for(profile: Profile, seed: int) -> Plan:
    """The quick plan for a profile and seed (with the document's examples as fixed
    requests), made once per process."""
    from ._scenarios import DOCUMENT_EXAMPLES

    key = (id(profile), seed)
    cached = _PLANS.get(key)
    if cached is None or cached[0] is not profile:
        fixed = [(s.id, s.body) for s in DOCUMENT_EXAMPLES]
        cached = _PLANS[key] = (profile, make_plan(profile, seed=seed, fixed=fixed))
    return cached[1]


def plan_of(options: Any) -> Plan | None:
    """The plan of a suite run (its ``SuiteOptions``): None unless its level is planned."""
    level = getattr(options, "level", None)
    if not getattr(level, "planned", False):
        return None
    return plan_for(options.profile, options.seed)
