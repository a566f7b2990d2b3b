"""The rule catalogue (docs/rules.md), generated from the rule table."""

from __future__ import annotations

from ._editions import EDITIONS
from ._rules import RULES, SOURCES

KIND_TITLES = {
    "request": "Request rules (validate_request)",
    "response": "Response rules (validate_response)",
    "image": "Image rules (images in responses, streams and fetched URLs)",
    "stream": "Stream rules (validate_stream)",
    "error": "Error rules (validate_error)",
    "http": "HTTP rules (judged by the conformance suite)",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_catalogue() -> str:
    """The Markdown catalogue of every rule: id, level, parameters, summary, source and quote."""
    lines = [
        "# Rule catalogue",
        "",
        "Generated from the rule table by `python -m validator rules > docs/rules.md`; do not "
        "edit by hand. A rule's id names its module: `request.n.range` is in "
        "`validator/_rules/request.py`.",
        "",
        "MUST: the document's words decide the case; a deviation fails conformance. "
        "SHOULD: the document implies it or is silent; reported, and fails only in strict mode.",
        "",
        "Each rule quotes, verbatim, the sentence that states its requirement, from one of "
        f"{len(SOURCES)} sources (see `spec/README.md`): "
        + "; ".join(f"`{k}`: [{v.file}](../{v.file})" for k, v in SOURCES.items())
        + ". A rule resting on observation of the live API alone is SHOULD unless the "
        "document or the official schema decides the case.",
        "",
        f"{len(RULES)} rules: "
        + ", ".join(
            f"{sum(1 for r in RULES.values() if r.kind == kind)} {kind}"
            for kind in KIND_TITLES
            if any(r.kind == kind for r in RULES.values())
        )
        + ".",
    ]
    for kind, title in KIND_TITLES.items():
        rules = [r for r in RULES.values() if r.kind == kind]
        if not rules:
            continue
        lines += [
            "",
            f"## {title}",
            "",
            "| id | level | editions | params | what | source | quote |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rules:
            params = ", ".join(f"`{p}`" for p in r.params) or "-"
            extra = f" (feature: {r.feature})" if r.feature else ""
            source = f"`{r.source}`" + (f" (evidence: {_cell(r.evidence)})" if r.evidence else "")
            lines.append(
                f"| `{r.id}` | {r.level} | {_editions_of(r)} | {params} | "
                f'{_cell(r.summary)}{extra} | {source} | "{_cell(r.quote)}" |'
            )
    return "\n".join(lines + _edition_lines()) + "\n"


def _editions_of(rule: object) -> str:
    held = [e.name for e in EDITIONS.values() if e.holds(rule)]
    return "all" if len(held) == len(EDITIONS) else ", ".join(held)


def _edition_lines() -> list[str]:
    """The Editions section: what each edition lists, its size limits, its own quotes."""
    lines = [
        "",
        "## Editions",
        "",
        "An edition is the text a target is judged by (`Profile.edition`, `edition = ...` in a "
        "profile, `--edition`); every edition runs the one table above. A rule holds in the "
        "editions its `editions` column names; where an edition words a rule differently, its "
        "violations quote that edition (listed below). Details: docs/editions.md.",
    ]
    for e in EDITIONS.values():
        held = [r for r in RULES.values() if e.holds(r)]
        lines += [
            "",
            f"### `{e.name}`: {e.title}",
            "",
            f"- {len(held)} rules ({sum(1 for r in held if str(r.level) == 'MUST')} MUST).",
            "- Models: " + ", ".join(f"`{m}` ({f})" for m, f in e.models.items()) + ".",
        ]
        if e.custom_sizes is not None:
            c = e.custom_sizes
            lines.append(
                "- Free `WIDTHxHEIGHT` sizes for "
                + ", ".join(f"`{m}`" for m in sorted(e.custom_size_models))
                + f": both divisible by {c.multiple}, aspect ratio {c.ratio[0]}:{c.ratio[1]} to "
                f"{c.ratio[1]}:{c.ratio[0]}, at most {c.max_pixels} pixels "
                f"({c.label(c.maximum)}, either orientation), experimental above "
                f"{c.experimental_pixels} pixels ({c.label(c.experimental_above)})."
            )
        for rule_id, quote in e.quotes.items():
            lines.append(f'- `{rule_id}` quotes: "{_cell(quote)}" ({e.source})')
    return lines
