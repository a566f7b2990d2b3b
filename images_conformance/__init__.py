"""images-conformance: judge traffic to ``POST /images/generations`` against the rule table.

The data flow of the whole product::

    a source of exchanges -> one judge -> one report model -> outputs

``exchanges`` (where exchanges come from and go to), ``judge`` (the validator's rules on
the exact bytes of one exchange), ``report`` (per-rule outcomes, verdict, baseline, and
the renderers), ``cli``, ``proxy``. The pytest suite lives in ``conformance_tests``.

The names below are the public surface; the modules whose names start with ``_`` are
private and may move.
"""

from .exchanges import Exchange, Target
from .exchanges.formats import Cassette, CassetteError, Interaction, load_cassette
from .judge import Judgement, judge_exchange, rules_exercised
from .report import (
    Case,
    Context,
    GateExit,
    build_report,
    case_from_judgement,
    render_markdown,
    write_report,
)

__all__ = [
    "Case",
    "Cassette",
    "CassetteError",
    "Context",
    "Exchange",
    "GateExit",
    "Interaction",
    "Judgement",
    "Target",
    "build_report",
    "case_from_judgement",
    "judge_exchange",
    "load_cassette",
    "render_markdown",
    "rules_exercised",
    "write_report",
]
