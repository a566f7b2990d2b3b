"""The rule table itself: every rule is complete, and docs/rules.md is up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from validator import RULES, Level
from validator._catalogue import render_catalogue
from validator._rules import SOURCES

ROOT = Path(__file__).resolve().parent.parent


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
    return " ".join(text.split())


GAP = " … "
"""What joins two passages of one source in a quote, where text is left out."""


@pytest.mark.parametrize("rule_id", list(RULES))
def test_quote_stands_verbatim_in_the_source_it_names(rule_id):
    """Each passage of the quote is in the source file, word for word (whitespace normalized)."""
    rule = RULES[rule_id]
    path = ROOT / SOURCES[rule.source].file
    text = _flat(path.read_text(encoding="utf-8"))
    for passage in rule.quote.split(GAP):
        assert passage.strip() == passage and len(passage) >= 8, (rule_id, passage)
        assert passage in text, f"{rule_id}: {passage!r} is not in {SOURCES[rule.source].file}"


def test_the_quote_check_refuses_what_is_not_in_the_source():
    text = _flat((ROOT / SOURCES["document"].file).read_text(encoding="utf-8"))
    assert "For dall-e-3, only n=1 is supported." in text
    assert "Malformed JSON or a missing prompt answered with 500" not in text
    assert "For dall-e-3, only n=1 is supported. Must be between 1 and 10." not in text


@pytest.mark.parametrize("rule_id", list(RULES))
def test_messages_name_the_true_source(rule_id):
    rule = RULES[rule_id]
    message = rule.violation("something is wrong").message
    label = {
        "document": "The document:",
        "openapi": "The official schema:",
        "observed": f"Observed on the live API (evidence: {rule.evidence}):",
        "2026-08": "The official text of 2026-08-21:",
    }[rule.source]
    assert message == f'something is wrong. {label} "{rule.quote}"'


def test_rules_resting_on_observation_alone_are_should():
    observed = [r for r in RULES.values() if r.source == "observed"]
    assert observed
    assert all(r.level is Level.SHOULD and r.evidence for r in observed)
    assert all(r.evidence is None for r in RULES.values() if r.source != "observed")


def test_the_observed_document_gives_evidence_for_every_observed_rule():
    text = (ROOT / SOURCES["observed"].file).read_text(encoding="utf-8")
    for r in RULES.values():
        if r.source == "observed":
            for ref in re.findall(r"[\w.-]+/[\w.-]+#\d+", r.evidence or ""):
                assert ref in text, f"{r.id}: its evidence {ref} is not in the document"


def test_catalogue_is_up_to_date():
    path = ROOT / "docs" / "rules.md"
    assert path.read_text(encoding="utf-8") == render_catalogue(), (
        "docs/rules.md is out of date: run `python -m validator rules > docs/rules.md`"
    )
