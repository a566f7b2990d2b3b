"""Release gating (pytest plugin, entry point ``images_conformance_gate``).

Adds to a run of the conformance suite:

- ``--conformance-report PATH``: a JSON report with one outcome per rule, and a Markdown
  summary beside it (see ``_report.py`` and docs/gating.md);
- ``--conformance-baseline FILE``: known failures (see ``_baseline.py``): reported as
  expected failures, not failing the run; baselined rules that now pass are reported;
- ``--max-generations N``: a cap on billable generations (split between xdist workers);
  tests past it are reported as not exercised;
- the gate's exit codes (:class:`GateExit`): 0 conformant, 1 non-conformant, 2 usage or
  configuration error (or no verdict: interrupted, nothing ran), 3 target unreachable.

Like ``plugin.py`` it is loaded by every pytest run in the environment, and stays inert
unless tests of the suite are collected (or one of its options is given).
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from images_conformance.report._report import (
    OUTCOMES,
    POSITIVE_KINDS,
    REPORT_FORMAT_VERSION,
    TestResult,
    feature_rows,
    known_rule_ids,
    rule_applies,
    rule_entries,
    scrub,
    write_report,
)
from images_conformance.report.baseline import BaselineError, load_baseline

GATE_KEY = "images_conformance_gate"
"""``user_properties`` key of the (rules, features) this plugin attaches to suite reports."""
_SUITE_PACKAGE = "conformance_tests"
_RECORD_KEY = "images_conformance"  # plugin.py / _verdict.py's per-test record
_STATE = "images_conformance_gate_state"
_EXIT_KEY = "images_conformance_exit"  # xdist workeroutput: [message, returncode] of a pytest.exit


class GateExit(IntEnum):
    """Exit codes of ``images-conformance run`` (and of pytest runs of the suite)."""

    CONFORMANT = 0
    """Every MUST rule exercised passed or is baselined (SHOULD rules too in strict mode)."""
    NON_CONFORMANT = 1
    """A gating rule failed, or a test of the suite failed."""
    USAGE_ERROR = 2
    """Bad options or profile/baseline, collection errors, nothing ran, interrupted: no verdict."""
    UNREACHABLE = 3
    """The target did not answer at its base URL."""


def exit_code_for(pytest_status: int) -> int:
    """Map pytest's exit status to the gate's (used by ``images-conformance run``).

    pytest 0/1 stay; 3 stays (the suite stops with 3 when the target is unreachable;
    pytest's internal errors are turned into 2 by this plugin before they get here);
    2 (interrupted, collection errors), 4 (usage error), 5 (no tests collected) and
    anything else become 2.
    """
    status = int(pytest_status)
    if status in (GateExit.CONFORMANT, GateExit.NON_CONFORMANT, GateExit.UNREACHABLE):
        return status
    return int(GateExit.USAGE_ERROR)


# -- helpers ---------------------------------------------------------------------------
def _is_suite_item(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    name = getattr(module, "__name__", "")
    return name == _SUITE_PACKAGE or name.startswith(_SUITE_PACKAGE + ".")


def _marker_args(item: pytest.Item, name: str) -> list[str]:
    seen: dict[str, None] = {}
    for marker in item.iter_markers(name):
        seen.update(dict.fromkeys(str(a) for a in marker.args))
    return list(seen)


def _prop(report: pytest.TestReport, key: str) -> Any:
    for entry in report.user_properties:
        if len(entry) == 2 and entry[0] == key:
            return entry[1]
    return None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr or "")
    return reason.removeprefix("Skipped: ")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def _suite_version() -> str:
    try:
        from importlib.metadata import version

        return version("images-conformance")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def _secrets(base_url: str | None, api_key: str | None) -> list[str]:
    out = [api_key] if api_key else []
    if base_url:
        try:
            parts = urlsplit(base_url)
            out += [parts.password or "", parts.username or ""]
            if parts.username or parts.password:  # as sent in a Basic Authorization header
                pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
                out.append(base64.b64encode(pair.encode()).decode())
            out += [v for _k, v in parse_qsl(parts.query) if v]
            if parts.fragment:
                out.append(parts.fragment)
        except ValueError:
            pass
    return [s for s in out if s]


# -- options ----------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "images-conformance", "images-conformance: the POST /images/generations suite"
    )
    group.addoption(
        "--conformance-report",
        dest="conformance_report",
        metavar="PATH",
        default=None,
        help="write the JSON conformance report here (and a Markdown summary beside it, "
        "PATH with .md as suffix).",
    )
    group.addoption(
        "--conformance-baseline",
        dest="conformance_baseline",
        metavar="FILE",
        default=None,
        help="known-failure baseline (TOML, or JSON when FILE ends in .json): those rules "
        "are expected failures and do not fail the run.",
    )
    kwargs: dict[str, Any] = {
        "dest": "conformance_max_generations",
        "type": int,
        "default": None,
        "metavar": "N",
        "help": "stop starting billable generations after N (split between xdist workers); "
        "tests past the cap are reported as not exercised.",
    }
    try:
        group.addoption("--max-generations", "--conformance-max-generations", **kwargs)
    except ValueError:  # another plugin owns --max-generations
        group.addoption("--conformance-max-generations", **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    cap = config.getoption("conformance_max_generations", None)
    if cap is not None and cap < 0:
        raise pytest.UsageError(f"--max-generations must be 0 or more; got {cap}")
    baseline: dict[str, str] = {}
    path = config.getoption("conformance_baseline", None)
    if path:
        try:
            baseline = load_baseline(path, known_rules=known_rule_ids())
        except BaselineError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(_Gate(config, baseline, path, cap), _STATE)


# -- the gate --------------------------------------------------------------------------
class _Gate:
    """Collects per-test results (also from xdist workers) and decides the run's outcome."""

    def __init__(
        self,
        config: pytest.Config,
        baseline: dict[str, str],
        baseline_path: str | None,
        cap: int | None,
    ) -> None:
        self.config = config
        self.baseline_file = baseline
        self.baseline_path = baseline_path
        self.max_generations = cap
        self.results: dict[str, TestResult] = {}
        self.suite_seen = False
        self.internal_error = False
        self.exit_message: str | None = None
        self.exit_returncode: int | None = None
        """The return code of a pytest.exit (3: the suite found the target unreachable)."""
        self.started = time.time()
        self.summary: dict[str, Any] | None = None
        self.written: tuple[str, str] | None = None
        self.write_error: str | None = None
        self._sent: list[tuple[Any, bool, int | None]] = []
        """The current test's generation requests: (body, may_generate, status)."""
        self._profile: Any = None

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    def _options(self) -> Any:
        from ._options import get_options

        return get_options(self.config)

    # -- in the process that runs the tests --------------------------------------------
    def generation_share(self) -> int | None:
        """This process's part of the cap: N split evenly between xdist workers."""
        cap = self.max_generations
        workerinput = getattr(self.config, "workerinput", None)
        if cap is None or not workerinput:
            return cap
        count = max(1, int(workerinput.get("workercount", 1)))
        worker = str(workerinput.get("workerid", "gw0"))
        index = int(worker[2:]) if worker[2:].isdigit() else 0
        return cap // count + (1 if index < cap % count else 0)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Any:
        result = yield
        name = getattr(fixturedef, "argname", "")
        if name == "conformance_target" and hasattr(result, "post_generation"):
            if self.max_generations is not None:
                result.max_generations = self.generation_share()
            self._watch(result)
        elif name == "conformance_verdict" and self.baseline_file:
            known = getattr(result, "known_failures", None)
            if isinstance(known, dict):
                for rule_id, reason in self.baseline_file.items():
                    known.setdefault(rule_id, f"baseline: {reason}")
        return result

    def _watch(self, target: Any) -> None:
        """Note every generation request the target sends (which positive rules it tests)."""
        if getattr(target, "_images_conformance_gate", False):
            return
        self._profile = getattr(target, "profile", None)
        original = target.post_generation
        sent = self._sent

        def post_generation(body: Any, *args: Any, may_generate: bool = True, **kwargs: Any) -> Any:
            exchange = original(body, *args, may_generate=may_generate, **kwargs)
            sent.append((body, may_generate, getattr(exchange, "status", None)))
            return exchange

        target.post_generation = post_generation
        target._images_conformance_gate = True

    def _applicability(self, rules: list[str]) -> tuple[dict[str, int], list[str]]:
        """(positive rule -> served answers it applied to, positive rules any request aimed at)."""
        import json

        from validator import resolve_model

        positive = [r for r in rules if r.split(".", 1)[0] in POSITIVE_KINDS]
        applied: dict[str, int] = {}
        attempted: set[str] = set()
        for body, may_generate, status in self._sent:
            if not may_generate or not positive:
                continue
            if isinstance(body, (bytes, bytearray)):
                try:
                    body = json.loads(body)
                except ValueError:
                    continue
            if not isinstance(body, dict):
                continue
            try:
                family = resolve_model(body, profile=self._profile).family
            except Exception:
                continue
            for rule_id in positive:
                if rule_applies(rule_id, body, family):
                    attempted.add(rule_id)
                    if status == 200:
                        applied[rule_id] = applied.get(rule_id, 0) + 1
        return applied, sorted(attempted)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self._sent.clear()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Known failures of the profile must name rules of the table, like a baseline's."""
        if not any(_is_suite_item(item) for item in items):
            return
        known = self._options().profile.known_failures
        if known:
            unknown = sorted(set(known) - known_rule_ids())
            if unknown:
                raise pytest.UsageError(
                    f"the profile's [known_failures] names unknown rule id(s) {unknown} "
                    "(see docs/rules.md for the rule ids)"
                )

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        if not self.suite_seen and _is_suite_item(item):
            self.suite_seen = True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        report = yield
        if _is_suite_item(item):
            rules = _marker_args(item, "rules")
            info: dict[str, Any] = {"rules": rules, "features": _marker_args(item, "feature")}
            if report.when == "call" and self._profile is not None:
                info["applied"], info["attempted"] = self._applicability(rules)
            report.user_properties.append((GATE_KEY, info))
        return report

    # -- in the controller (or the only process) ----------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = time.time()

    def pytest_internalerror(self, excrepr: Any, excinfo: Any) -> None:
        self.internal_error = True

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        value = getattr(excinfo, "value", None)
        if isinstance(value, pytest.exit.Exception):
            self.exit_message = str(getattr(value, "msg", value))
            self.exit_returncode = getattr(value, "returncode", None)
            workeroutput = getattr(self.config, "workeroutput", None)
            if isinstance(workeroutput, dict):  # tell the xdist controller why
                workeroutput[_EXIT_KEY] = [self.exit_message, self.exit_returncode]
        else:
            self.exit_message = "interrupted"

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: a worker that stopped the run (target unreachable) says so."""
        output = getattr(node, "workeroutput", None) or {}
        stopped = output.get(_EXIT_KEY)
        if (
            isinstance(stopped, (list, tuple))
            and len(stopped) == 2
            and self.exit_returncode is None
        ):
            self.exit_message, self.exit_returncode = stopped[0], stopped[1]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        info = _prop(report, GATE_KEY)
        if not isinstance(info, dict):
            return
        self.suite_seen = True
        result = self.results.get(report.nodeid)
        if result is None:
            result = self.results[report.nodeid] = TestResult(
                report.nodeid,
                rules=tuple(info.get("rules") or ()),
                features=tuple(info.get("features") or ()),
            )
        record = _prop(report, _RECORD_KEY)
        if report.when == "setup":
            if report.skipped:
                result.status = "skipped"
                result.reason = _skip_reason(report)
                result.skipped_for_feature = self._for_feature(result)
            elif report.failed:
                result.status = "failed"
                result.failure = f"error in setup: {report.longreprtext}"
        elif report.when == "call":
            if "applied" in info:
                result.applied = {str(k): int(v) for k, v in dict(info["applied"]).items()}
                result.attempted = tuple(info.get("attempted") or ())
            if isinstance(record, dict) and "cases" in record:
                result.cases = int(record.get("cases") or 0)
                result.requests = int(record.get("requests") or 0)
                result.generations = int(record.get("generations") or 0)
                result.findings = dict(record.get("findings") or {})
                result.failure = record.get("failure")
            not_exercised = record.get("not_exercised") if isinstance(record, dict) else None
            if report.passed:
                result.status = "passed"
            elif report.failed:
                result.status = "failed"
                result.failure = result.failure or report.longreprtext
            elif not_exercised:
                result.status = "not-exercised"
                result.reason = f"not exercised: {not_exercised}"
            elif hasattr(report, "wasxfail"):
                result.status = "xfail"
                result.reason = str(report.wasxfail)
            else:
                result.status = "skipped"
                result.reason = _skip_reason(report)
                result.skipped_for_feature = self._for_feature(result)
        elif report.failed:  # teardown
            result.status = "failed"
            result.failure = result.failure or f"error in teardown: {report.longreprtext}"

    def _for_feature(self, result: TestResult) -> bool:
        """Whether a skip is the profile lacking a feature or family the test needs."""
        reason = result.reason or ""
        if "not declared by profile" in reason or "serves no model" in reason:
            return True
        try:
            offered = self._options().profile.features
        except Exception:
            return False
        return any(f not in offered for f in result.features)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker or self.config.option.collectonly:
            return
        report_path = self.config.getoption("conformance_report", None)
        if not self.suite_seen and not report_path:
            return
        status = int(session.exitstatus)
        try:
            opts = self._options()
        except Exception as exc:  # bad settings: pytest already reports a usage error
            opts = None
            self.exit_message = self.exit_message or str(exc)
        report = self.build(opts, status)
        session.exitstatus = report["verdict"]["exit_code"]
        if report_path:
            try:
                json_path, md_path = write_report(report, report_path)
                self.written = (str(json_path), str(md_path))
            except OSError as exc:
                self.write_error = f"cannot write the report to {report_path}: {exc}"

    def build(self, opts: Any, pytest_status: int) -> dict[str, Any]:
        """The report of this run (also decides the exit code)."""
        from validator import DEFAULT_PROFILE

        profile = opts.profile if opts is not None else DEFAULT_PROFILE
        strict = bool(opts.strict) if opts is not None else False
        baseline = dict(self.baseline_file)
        baseline.update(profile.known_failures)
        tests = list(self.results.values())
        entries = rule_entries(tests, features=profile.features, strict=strict, baseline=baseline)
        gating = [e["id"] for e in entries if e["gating"]]
        ran = any(t.ran for t in tests)

        if self.exit_returncode == GateExit.UNREACHABLE or (
            pytest_status == GateExit.UNREACHABLE and not self.internal_error
        ):
            # (under xdist, stopping the run can also make xdist report an internal error)
            code, status = GateExit.UNREACHABLE, "unreachable"
            message = self.exit_message or "the target could not be reached"
        elif self.internal_error:
            code, status = GateExit.USAGE_ERROR, "error"
            message = "pytest reported an internal error"
        elif pytest_status == 0 and not ran:
            code, status = GateExit.USAGE_ERROR, "error"
            message = "no test of the suite ran (all were skipped or deselected): no verdict"
        elif pytest_status in (0, 1):
            if pytest_status == 1 or gating:
                code, status = GateExit.NON_CONFORMANT, "non-conformant"
                message = (
                    f"{len(gating)} gating rule(s) failed: {', '.join(gating)}"
                    if gating
                    else "a test of the suite failed (see the test report)"
                )
            else:
                code, status, message = GateExit.CONFORMANT, "conformant", None
        else:
            code, status = GateExit.USAGE_ERROR, "error"
            message = {
                2: self.exit_message or "the run was interrupted or tests failed to collect",
                4: "usage error",
                5: "no test of the suite ran (check -k / -m and the selection)",
            }.get(pytest_status, f"pytest exit status {pytest_status}")

        counts = {o: sum(1 for e in entries if e["outcome"] == o) for o in OUTCOMES}
        cap_hit = any(t.status == "not-exercised" for t in tests)
        finished = time.time()
        base_url = opts.base_url if opts is not None else None
        api_key = opts.api_key if opts is not None else None
        from images_conformance.exchanges._client import public_url

        workers = getattr(self.config.option, "numprocesses", None)
        data: dict[str, Any] = {
            "format_version": REPORT_FORMAT_VERSION,
            "suite": {"name": "images-conformance", "version": _suite_version()},
            "target": {
                "base_url": public_url(base_url) if base_url else None,
                "embedded": base_url is None,
                "profile": profile.name,
                "profile_path": opts.profile_path if opts is not None else None,
                "features": sorted(profile.features),
                "auth": profile.auth if profile.auth is not None else api_key is not None,
            },
            "run": {
                "started": _iso(self.started),
                "finished": _iso(finished),
                "duration_s": round(finished - self.started, 3),
                "level": opts.level.name if opts is not None else None,
                "strict": strict,
                "seed": opts.seed if opts is not None else None,
                "workers": workers if isinstance(workers, int) else None,
                "pytest_exit_status": pytest_status,
            },
            "verdict": {
                "exit_code": int(code),
                "status": status,
                "conformant": code == GateExit.CONFORMANT,
                "complete": ran and counts["not-exercised"] == 0,
                "gating_failures": gating,
                "message": message,
            },
            "cost": {
                "billable_generations": sum(t.generations for t in tests),
                "requests": sum(t.requests for t in tests),
                "max_generations": self.max_generations,
                "cap_reached": cap_hit,
            },
            "baseline": {
                "file": self.baseline_path,
                "rules": dict(sorted(baseline.items())),
                "expected_failures": [
                    e["id"] for e in entries if e["outcome"] == "expected-failure"
                ],
                "can_be_tightened": [e["id"] for e in entries if e["can_be_tightened"]],
            },
            "counts": counts,
            "rules": entries,
            "features": feature_rows(tests, profile.features),
            "tests": [
                {
                    "nodeid": t.nodeid,
                    "status": t.status,
                    "cases": t.cases,
                    "requests": t.requests,
                    "generations": t.generations,
                    "reason": t.reason,
                    "exercised": sorted(t.applied) if t.applied is not None else None,
                }
                for t in tests
            ],
        }
        data = scrub(data, _secrets(base_url, api_key))
        self.summary = data
        return data

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        data = self.summary
        if data is None:
            return
        tr = terminalreporter
        verdict, cost, base = data["verdict"], data["cost"], data["baseline"]
        tr.write_sep("-", "images-conformance gate")
        word = verdict["status"].upper()
        line = f"verdict: {word} (exit code {verdict['exit_code']})"
        if verdict["message"]:
            line += f": {verdict['message']}"
        tr.write_line(line, red=verdict["exit_code"] != 0, green=verdict["exit_code"] == 0)
        counts = data["counts"]
        tr.write_line("rules: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts.get(o)))
        cap = cost["max_generations"]
        gen = f"billable generations: {cost['billable_generations']}"
        if cap is not None:
            gen += f" (cap {cap}{'; reached: tests past it were not exercised' if cost['cap_reached'] else ''})"
        tr.write_line(gen + f", requests: {cost['requests']}")
        if base["expected_failures"]:
            tr.write_line("expected failures (baselined): " + ", ".join(base["expected_failures"]))
        if base["can_be_tightened"]:
            tr.write_line(
                "baseline can be tightened: these baselined rules now pass: "
                + ", ".join(base["can_be_tightened"]),
                yellow=True,
            )
        if self.written:
            tr.write_line(f"report: {self.written[0]} (summary: {self.written[1]})")
        if self.write_error:
            tr.write_line(self.write_error, red=True)
