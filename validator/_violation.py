"""The result type of every check: a violation of one named rule."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(str, enum.Enum):
    """How binding a rule is.

    MUST: the document's words decide the case; a deviation fails conformance.
    SHOULD: the document implies it or is silent; reported, fails only in strict mode.
    """

    MUST = "MUST"
    SHOULD = "SHOULD"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Violation:
    """One broken rule, found in one place of a checked document."""

    rule: str
    """The rule id, such as ``request.n.dalle3_only_one``."""
    level: Level
    message: str
    """What was expected, what was seen, and the document sentence behind the rule."""
    param: str | None = None
    """The request parameter at fault (``"n"``), or None when no single one is."""
    path: str = ""
    """A JSON pointer into the checked document ('' is the whole document)."""

    def __str__(self) -> str:
        where = self.path or "/"
        return f"[{self.level}] {self.rule} at {where}: {self.message}"


class RequestInvalid(ValueError):
    """Raised by ``check_request`` when a request body breaks at least one rule."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"the request breaks {len(violations)} rule(s):\n{lines}")
