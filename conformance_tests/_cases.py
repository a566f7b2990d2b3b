"""Running generated cases: hypothesis, seeded and database-free, so verdicts are reproducible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from ._verdict import Verdict

T = TypeVar("T")


def run_cases(
    strategy: st.SearchStrategy[T],
    check: Callable[[T], Any],
    *,
    examples: int,
    seed_value: int,
    shrink: bool = False,
    verdict: Verdict | None = None,
) -> None:
    """Call ``check`` on up to ``examples`` values drawn from ``strategy``.

    The draw sequence depends only on the seed and the strategy (no example database,
    no derandomization by source hash), so the same suite version against the same target
    behaviour sends the same requests and reaches the same verdict. Without ``shrink``, a
    failing case is reported as found (shrinking would send more requests).
    A failure re-raises the check's exception, with hypothesis' notes (the drawn value).
    ``verdict``: marked as generated, so its failure messages carry the seed.
    """
    if verdict is not None:
        verdict.generated = True
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(
        max_examples=max(1, examples),
        database=None,
        deadline=None,
        derandomize=False,
        phases=phases,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @seed(seed_value)
    @given(strategy)
    def case(value: T) -> None:
        check(value)

    case()


def draw_examples(strategy: st.SearchStrategy[T], examples: int, seed_value: int) -> list[T]:
    """The values :func:`run_cases` would hand its check, with the same seed and count."""
    drawn: list[T] = []
    run_cases(strategy, drawn.append, examples=examples, seed_value=seed_value)
    return drawn
