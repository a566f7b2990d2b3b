"""images-conformance: judge traffic to ``POST /images/generations`` against the rule table.

The data flow of the whole product::

    a source of exchanges -> one judge -> one report model -> outputs

``exchanges`` (where exchanges come from and go to), ``judge`` (the validator's rules on
the exact bytes of one exchange), ``report`` (per-rule outcomes, verdict, baseline, and
the renderers), ``cli``, ``proxy``. The pytest suite lives in ``conformance_tests``.
"""
