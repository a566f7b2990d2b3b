"""The one place the proxy takes the shared pieces from: the judge and the report model.

The proxy writes no rule, no judging and no report logic of its own: it calls these.
"""

from images_conformance.judge import Judgement, judge_exchange, judge_request
from images_conformance.report import (
    Case,
    Context,
    build_report,
    case_from_judgement,
    scrub,
    write_report,
)
from images_conformance.report._evidence import judgement_evidence
from images_conformance.report._judged import tally_finding

__all__ = [
    "Case",
    "Context",
    "Judgement",
    "build_report",
    "case_from_judgement",
    "judge_exchange",
    "judge_request",
    "judgement_evidence",
    "scrub",
    "tally_finding",
    "write_report",
]
