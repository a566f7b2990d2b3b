"""The report model: cases -> per-rule outcomes -> verdict (baseline applied), and one
renderer per output (``json``, ``markdown``, ``terminal``)."""

from ._build import (
    REPORT_FORMAT_VERSION,
    Context,
    GateExit,
    build_report,
    decide_verdict,
    exit_code_for,
    suite_version,
)
from ._case import TEST_STATUSES, Case, TestResult
from ._finding import NOT_AN_API, not_an_api_finding
from ._judged import case_from_judgement
from ._rules import (
    OUTCOMES,
    POSITIVE_KINDS,
    RuleInfo,
    feature_rows,
    known_rule_ids,
    rule_applies,
    rule_catalogue,
    rule_entries,
)
from ._scrub import scrub, secrets_of
from .baseline import BaselineError, load_baseline
from .json import write_report
from .markdown import markdown_path, render_markdown

__all__ = [
    "NOT_AN_API",
    "OUTCOMES",
    "POSITIVE_KINDS",
    "REPORT_FORMAT_VERSION",
    "TEST_STATUSES",
    "BaselineError",
    "Case",
    "Context",
    "GateExit",
    "RuleInfo",
    "TestResult",
    "build_report",
    "case_from_judgement",
    "decide_verdict",
    "exit_code_for",
    "feature_rows",
    "known_rule_ids",
    "load_baseline",
    "markdown_path",
    "not_an_api_finding",
    "render_markdown",
    "rule_applies",
    "rule_catalogue",
    "rule_entries",
    "scrub",
    "secrets_of",
    "suite_version",
    "write_report",
]
