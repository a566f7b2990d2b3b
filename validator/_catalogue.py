"""The rule catalogue (docs/rules.md), generated from the rule table."""

from __future__ import annotations

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
    """The Markdown catalogue of every rule: id, level, parameters, summary and quote."""
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
        "Quotes come from " + "; ".join(f"`{k}`: {v}" for k, v in SOURCES.items()) + ".",
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
            "| id | level | params | what | document (source) |",
            "|---|---|---|---|---|",
        ]
        for r in rules:
            params = ", ".join(f"`{p}`" for p in r.params) or "-"
            extra = f" (feature: {r.feature})" if r.feature else ""
            source = "" if r.source == "document" else f" ({r.source})"
            lines.append(
                f"| `{r.id}` | {r.level} | {params} | {_cell(r.summary)}{extra} | "
                f'"{_cell(r.quote)}"{source} |'
            )
    return "\n".join(lines) + "\n"
