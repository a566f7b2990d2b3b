"""The rule table. Importing this package registers every rule in RULES.

Find a rule from its id: the part before the first dot names the module
(``request.n.range`` is in ``request.py``).
"""

from . import error, http, image, request, response, stream  # noqa: F401  (registers the rules)
from ._table import RULES, SOURCES, Finding, Rule, rule, rules_of

__all__ = ["RULES", "SOURCES", "Finding", "Rule", "rule", "rules_of"]
