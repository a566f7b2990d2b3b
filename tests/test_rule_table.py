"""The rule table itself: every rule is complete, and docs/rules.md is up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from validator import RULES, Level
from validator._catalogue import render_catalogue
from validator._rules import SOURCES

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "spec" / "create-image.md"


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_is_complete(rule_id):
    rule = RULES[rule_id]
    assert re.fullmatch(r"[a-z]+(\.[a-z0-9_]+)+", rule.id)
    assert rule.kind in ("request", "response", "stream", "image", "error", "http")
    assert isinstance(rule.level, Level)
    assert rule.quote.strip()
    assert rule.summary, f"{rule_id}: the check function needs a docstring"
    assert rule.source in SOURCES
    module = Path(rule.check.__code__.co_filename).stem
    assert module == rule.kind, f"{rule_id} lives in {module}.py, not {rule.kind}.py"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("`", ""))


@pytest.mark.skipif(
    not SPEC.is_file(), reason=f"the endpoint document is not beside the checkout ({SPEC})"
)
@pytest.mark.parametrize("rule_id", [r.id for r in RULES.values() if r.source == "document"])
def test_document_quotes_are_in_the_document(rule_id):
    """Each piece of a quote (split where the quote joins sentences) stands in the document."""
    spec = _flat(SPEC.read_text(encoding="utf-8"))
    for piece in re.split(r"\.\.\.|, (?=[a-z_]+: )", RULES[rule_id].quote):
        piece = piece.strip().rstrip(".")
        for fragment in re.split(r"(?<=\.) (?=[a-z_]+: )|(?<=\.) ", piece):
            fragment = fragment.strip().rstrip(".").strip()
            # "name: text" labels a sentence with the field it describes.
            fragment = re.sub(r"^[a-z0-9_]+: (optional )?", "", fragment)
            if fragment:
                assert fragment in spec, f"{rule_id}: {fragment!r} is not in the document"


def test_catalogue_is_up_to_date():
    path = ROOT / "docs" / "rules.md"
    assert path.read_text(encoding="utf-8") == render_catalogue(), (
        "docs/rules.md is out of date: run `python -m validator rules > docs/rules.md`"
    )
