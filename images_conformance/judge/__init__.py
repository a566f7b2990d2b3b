"""The judge: the validator's rules on the exact bytes of one exchange, whoever produced it
(the suite's target, a recording, the proxy)."""

from ._exercised import rules_exercised
from ._judge import (
    NOT_JUDGED,
    NOT_SERVED_STATUSES,
    NOT_THERE_STATUSES,
    Fetch,
    Judgement,
    Situation,
    answer_problem,
    fetch_images,
    judge_exchange,
    judge_request,
    make_violation,
    not_judged,
)

__all__ = [
    "NOT_JUDGED",
    "NOT_SERVED_STATUSES",
    "NOT_THERE_STATUSES",
    "Fetch",
    "Judgement",
    "Situation",
    "answer_problem",
    "fetch_images",
    "judge_exchange",
    "judge_request",
    "make_violation",
    "not_judged",
    "rules_exercised",
]
