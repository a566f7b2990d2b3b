"""Known-failure baselines: reading them, and writing one from a conformance report.

A baseline lists the rules a target is known to fail, each with a reason. During a run
(``--conformance-baseline FILE``) those rules count as expected failures: they do not
fail the run, and a baselined rule that now passes is reported so the baseline can be
tightened. The format (TOML, or the same data as JSON) is documented in docs/gating.md::

    format_version = 1

    [known_failures]
    "response.usage.sums" = "input + output tokens off by one (tracker #12)"

``images-conformance baseline REPORT.json -o baseline.toml`` writes one from a report:
every rule whose outcome was ``failed``, ``warning`` or ``expected-failure``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BASELINE_FORMAT_VERSION = 1
_ALLOWED_KEYS = {"format_version", "known_failures", "generated"}
_REASON_LIMIT = 300


class BaselineError(ValueError):
    """A baseline (or report) file that cannot be used, with the reason."""


def parse_baseline(
    data: Any, *, source: str = "<baseline>", known_rules: Iterable[str] | None = None
) -> dict[str, str]:
    """Rule id -> reason from parsed baseline data; raises BaselineError with the reason.

    ``known_rules``: when given, a rule id outside it is an error (a typo, or a rule a
    newer suite renamed, would otherwise silently stop applying).
    """
    if not isinstance(data, Mapping):
        raise BaselineError(f"{source}: a baseline is a table with a [known_failures] table")
    unknown_keys = sorted(set(data) - _ALLOWED_KEYS)
    if unknown_keys:
        raise BaselineError(
            f"{source}: unknown key(s) {unknown_keys}; allowed: {sorted(_ALLOWED_KEYS)}"
        )
    version = data.get("format_version", BASELINE_FORMAT_VERSION)
    if version != BASELINE_FORMAT_VERSION:
        raise BaselineError(
            f"{source}: format_version {version!r} is not supported "
            f"(this suite reads format_version {BASELINE_FORMAT_VERSION})"
        )
    failures = data.get("known_failures", {})
    if not isinstance(failures, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in failures.items()
    ):
        raise BaselineError(f"{source}: [known_failures] must map rule ids to reason strings")
    if known_rules is not None:
        known = set(known_rules)
        bad = sorted(set(failures) - known)
        if bad:
            raise BaselineError(
                f"{source}: unknown rule id(s) {bad} (see docs/rules.md for the rule ids)"
            )
    return {str(k): str(v) for k, v in failures.items()}


def load_baseline(path: str | Path, *, known_rules: Iterable[str] | None = None) -> dict[str, str]:
    """Read a baseline file (``.json``: JSON, anything else: TOML); rule id -> reason."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {p}: {exc.strerror or exc}") from None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BaselineError(f"baseline {p} is not valid JSON: {exc}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BaselineError(f"baseline {p} is not valid TOML: {exc}") from None
    return parse_baseline(data, source=str(p), known_rules=known_rules)


def _one_line(text: str, limit: int = _REASON_LIMIT) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def baseline_from_report(report: Mapping[str, Any], *, gating_only: bool = False) -> dict[str, str]:
    """The known failures a report shows: rules that failed, warned (SHOULD deviations) or
    were expected failures.

    Reasons: the baseline's own reason for expected failures, else the report's first
    failure message (one line). ``gating_only``: leave out failures that did not count
    against the verdict (SHOULD rules outside strict mode).
    """
    if not isinstance(report, Mapping) or not isinstance(report.get("rules"), list):
        raise BaselineError("not a conformance report (no 'rules' list)")
    version = report.get("format_version")
    if not isinstance(version, int) or version > 1:
        raise BaselineError(f"unsupported report format_version {version!r}")
    out: dict[str, str] = {}
    for entry in report["rules"]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise BaselineError("malformed rule entry in the report")
        outcome = entry.get("outcome")
        if outcome == "expected-failure":
            out[entry["id"]] = _one_line(entry.get("baseline_reason") or "known failure")
        elif outcome in ("failed", "warning"):
            if gating_only and not entry.get("gating", True):
                continue
            message = entry.get("first_failure") or "failed"
            out[entry["id"]] = _one_line(f"{entry.get('level', '')} rule failed: {message}")
    return out


def _toml_string(value: str) -> str:
    # A JSON string with every non-ASCII character escaped is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=True)


def dump_baseline(failures: Mapping[str, str], *, comment: Iterable[str] = ()) -> str:
    """A baseline as TOML text (comment lines first)."""
    lines = [f"# {c}" for c in comment]
    lines.append(f"format_version = {BASELINE_FORMAT_VERSION}")
    lines.append("")
    lines.append("[known_failures]")
    for rule_id in sorted(failures):
        lines.append(f"{_toml_string(rule_id)} = {_toml_string(failures[rule_id])}")
    return "\n".join(lines) + "\n"
