"""The one place the proxy takes the shared pieces from: the judge and the report.

The proxy writes no rule, no judging and no report logic of its own: it calls these.
(When the judge and the report model move under ``images_conformance``, only the imports
below change.)
"""

from conformance_tests._judge import Judgement, judge_exchange, judge_request
from conformance_tests._report import (
    OUTCOMES,
    REPORT_FORMAT_VERSION,
    TestResult,
    feature_rows,
    rule_applies,
    rule_entries,
    scrub,
    write_report,
)

__all__ = [
    "OUTCOMES",
    "REPORT_FORMAT_VERSION",
    "Judgement",
    "TestResult",
    "feature_rows",
    "judge_exchange",
    "judge_request",
    "rule_applies",
    "rule_entries",
    "scrub",
    "write_report",
]
