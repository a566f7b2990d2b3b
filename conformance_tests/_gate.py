"""Release gating (pytest plugin, entry point ``images_conformance_gate``).

A thin plugin over :mod:`images_conformance.report`: it turns each test of the suite into
a :class:`~images_conformance.report.Case` (from pytest's reports, also from xdist
workers) and hands the cases to ``build_report``, which decides the verdict. It adds to a
run of the conformance suite:

- ``--conformance-report PATH``: a JSON report with one outcome per rule, a Markdown
  summary and a self-contained HTML page beside it (PATH ending in ``.html`` names the
  page; docs/gating.md);
- ``--conformance-baseline FILE``: known failures (``images_conformance.report.baseline``): reported as
  expected failures, not failing the run; baselined rules that now pass are reported;
- ``--max-generations N``: a cap on billable generations (split between xdist workers);
  tests past it are reported as not exercised;
- the gate's exit codes (:class:`GateExit`): 0 conformant, 1 non-conformant, 2 usage or
  configuration error (or no verdict: interrupted, nothing ran), 3 target unreachable.

Like ``plugin.py`` it is loaded by every pytest run in the environment, and stays inert
unless tests of the suite are collected (or one of its options is given).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from images_conformance.exchanges._client import public_url
from images_conformance.judge import answer_problem
from images_conformance.report import (
    POSITIVE_KINDS,
    BaselineError,
    Case,
    Context,
    GateExit,
    build_report,
    exit_code_for,
    known_rule_ids,
    load_baseline,
    rule_applies,
    secrets_of,
    write_report,
)
from images_conformance.report.terminal import write_finding, write_summary

__all__ = ["GATE_KEY", "GateExit", "exit_code_for"]

GATE_KEY = "images_conformance_gate"
"""``user_properties`` key of the (rules, features) this plugin attaches to suite reports."""
_SUITE_PACKAGE = "conformance_tests"
_RECORD_KEY = "images_conformance"  # plugin.py / _verdict.py's per-test record
_STATE = "images_conformance_gate_state"
_EXIT_KEY = "images_conformance_exit"  # xdist workeroutput: [message, returncode] of a pytest.exit


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
        help="write the JSON conformance report here, with a Markdown summary (.md) and an "
        "HTML page (.html) beside it; PATH ending in .html names the page (the JSON and "
        "Markdown then go beside it).",
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
    gate = _Gate(config, baseline, path, cap)
    config.pluginmanager.register(gate, _STATE)
    config.pluginmanager.register(_FindingFirst(gate), _STATE + "_finding")
    config.pluginmanager.register(_Watch(config, baseline, cap), _STATE + "_watch")


# -- the gate --------------------------------------------------------------------------
class _Gate:
    """In the controller (or the only process): turns each test's reports (also from xdist
    workers) into a Case, and at the end has the report model decide the run's outcome."""

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
        self.results: dict[str, Case] = {}
        self.suite_seen = False
        self.internal_error = False
        self.crashed: set[str] = set()
        """Tests that failed on an error of the suite (set-up, teardown, an unexpected
        exception), not on a finding about the target."""
        self.judged: set[str] = set()
        """Tests that recorded a finding about the target."""
        self.exit_message: str | None = None
        self.exit_returncode: int | None = None
        """The return code of a pytest.exit (3: the suite found the target unreachable)."""
        self.started = time.time()
        self.summary: dict[str, Any] | None = None
        self.written: tuple[str, ...] | None = None
        self.write_error: str | None = None

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    def _options(self) -> Any:
        from ._options import get_options

        return get_options(self.config)

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
        case = self.results.get(report.nodeid)
        if case is None:
            case = self.results[report.nodeid] = Case(
                report.nodeid,
                rules=tuple(info.get("rules") or ()),
                features=tuple(info.get("features") or ()),
            )
        record = _prop(report, _RECORD_KEY)
        update_case(case, report, info, record)
        if isinstance(record, dict) and record.get("failure"):
            self.judged.add(report.nodeid)
        elif report.failed:
            self.crashed.add(report.nodeid)  # no finding recorded: the suite broke
        if case.status == "skipped":
            case.skipped_for_feature = self._for_feature(case)

    def _for_feature(self, result: Case) -> bool:
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
                self.written = tuple(str(p) for p in write_report(report, report_path))
            except OSError as exc:
                self.write_error = f"cannot write the report to {report_path}: {exc}"

    def build(self, opts: Any, pytest_status: int) -> dict[str, Any]:
        """The report of this run (also decides the exit code)."""
        self.summary = build_report(
            self.results.values(), context=self.context(opts, pytest_status)
        )
        return self.summary

    def context(self, opts: Any, pytest_status: int) -> Context:
        """What the report says besides the cases: target, run settings, how the run ended."""
        base_url = opts.base_url if opts is not None else None
        api_key = opts.api_key if opts is not None else None
        workers = getattr(self.config.option, "numprocesses", None)
        ctx = Context(
            strict=bool(opts.strict) if opts is not None else False,
            base_url=public_url(base_url) if base_url else None,
            embedded=base_url is None,
            auth=api_key is not None,
            started=self.started,
            workers=workers if isinstance(workers, int) else None,
            runner_status=pytest_status,
            stop_code=self.exit_returncode,
            stop_message=self.exit_message,
            internal_error=self.internal_error,
            crashed=frozenset(self.crashed - self.judged),
            max_generations=self.max_generations,
            planned_generations=_planned(opts),
            baseline=self.baseline_file,
            baseline_path=self.baseline_path,
            secrets=secrets_of(base_url, api_key),
        )
        if opts is not None:
            ctx.profile, ctx.profile_path = opts.profile, opts.profile_path
            ctx.level, ctx.seed = opts.level.name, opts.seed
        return ctx

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary is not None:
            write_summary(
                terminalreporter, self.summary, written=self.written, write_error=self.write_error
            )


class _FindingFirst:
    """Writes the run-wide finding (the target is not an images API) once, before
    pytest's FAILURES section: the terminal reporter writes that section in its own
    ``pytest_terminal_summary`` wrapper, which runs inside this outer one."""

    def __init__(self, gate: _Gate) -> None:
        self.gate = gate

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Any:
        if self.gate.summary is not None:
            write_finding(terminalreporter, self.gate.summary)
        return (yield)


def _planned(opts: Any) -> int | None:
    """Billable generations the level's plan expects (None: the level is not planned)."""
    from ._plan import plan_of

    try:
        plan = plan_of(opts)
    except Exception:  # no plan can be made (bad settings): say nothing
        return None
    return plan.generations if plan is not None else None


# -- in the process that runs the tests ----------------------------------------------------
class _Watch:
    """Applies the generation cap and the baseline to the suite's fixtures, and notes on
    each test's report its rules, features and which positive rules its answers exercised."""

    def __init__(self, config: pytest.Config, baseline: dict[str, str], cap: int | None) -> None:
        self.config = config
        self.baseline_file = baseline
        self.max_generations = cap
        self._sent: list[tuple[Any, bool, int | None]] = []
        """The current test's generation requests: (body, may_generate, status)."""
        self._profile: Any = None

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
            sent.append((body, may_generate, _api_status(exchange, body)))
            return exchange

        target.post_generation = post_generation
        target._images_conformance_gate = True

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self._sent.clear()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        report = yield
        if _is_suite_item(item):
            rules = _marker_args(item, "rules")
            info: dict[str, Any] = {"rules": rules, "features": _marker_args(item, "feature")}
            if report.when == "call" and self._profile is not None:
                info["applied"], info["attempted"] = applicability(self._sent, rules, self._profile)
                info["rule_cases"] = rule_cases(self._sent, self._profile)
            report.user_properties.append((GATE_KEY, info))
        return report


# -- from pytest's reports to cases ------------------------------------------------------
def applicability(
    sent: list[tuple[Any, bool, int | None]], rules: list[str], profile: Any
) -> tuple[dict[str, int], list[str]]:
    """(positive rule -> served answers it applied to, positive rules any request aimed at),
    from a test's generation requests: (body, may_generate, status)."""
    from validator import resolve_model

    positive = [r for r in rules if r.split(".", 1)[0] in POSITIVE_KINDS]
    applied: dict[str, int] = {}
    attempted: set[str] = set()
    for body, may_generate, status in sent:
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
            family = resolve_model(body, profile=profile).family
        except Exception:
            continue
        for rule_id in positive:
            if rule_applies(rule_id, body, family):
                attempted.add(rule_id)
                if status == 200:
                    applied[rule_id] = applied.get(rule_id, 0) + 1
    return applied, sorted(attempted)


def _api_status(exchange: Any, body: Any) -> int | None:
    """The answer's status when it was an images API's answer, else None (it then gave the
    positive rules nothing to check)."""
    status = getattr(exchange, "status", None)
    try:
        request = json.loads(body) if isinstance(body, (bytes, bytearray)) else body
    except ValueError:
        request = None
    # an Exchange answers from its one parse (shared with the judge); else the bytes
    answer = exchange if hasattr(exchange, "json_problem") else getattr(exchange, "body", b"")
    problem = answer_problem(
        status,
        getattr(exchange, "headers", None) or {},
        answer if answer is not None else b"",
        request=request,
        error=getattr(exchange, "error", None),
    )
    return status if problem is None or getattr(exchange, "truncated", False) else None


def rule_cases(sent: list[tuple[Any, bool, int | None]], profile: Any) -> list[list[Any]]:
    """The (rule, family, feature) cases a test's answered requests exercised (served, or
    refused), from its generation requests (see conformance_tests/_plan.py)."""
    from ._plan import exchange_cases

    found: set[Any] = set()
    for body, may_generate, status in sent:
        if status is None or (status != 200 if may_generate else status < 400):
            continue
        if isinstance(body, (bytes, bytearray)):
            try:
                body = json.loads(body)
            except ValueError:
                continue
        try:
            found |= exchange_cases(body, profile, served=may_generate)
        except Exception:  # a body the planner cannot read: no case
            continue
    return [c.as_list() for c in sorted(found, key=str)]


def update_case(case: Case, report: pytest.TestReport, info: dict[str, Any], record: Any) -> None:
    """Fold one phase's report (setup, call, teardown) of a test into its case."""
    if report.when == "setup":
        if report.skipped:
            case.status = "skipped"
            case.reason = _skip_reason(report)
        elif report.failed:
            case.status = "failed"
            case.failure = f"error in setup: {report.longreprtext}"
    elif report.when == "call":
        _update_from_call(case, report, info, record)
    elif report.failed:  # teardown
        case.status = "failed"
        case.failure = case.failure or f"error in teardown: {report.longreprtext}"


def _update_from_call(
    case: Case, report: pytest.TestReport, info: dict[str, Any], record: Any
) -> None:
    if "applied" in info:
        case.applied = {str(k): int(v) for k, v in dict(info["applied"]).items()}
        case.attempted = tuple(info.get("attempted") or ())
        case.rule_cases = [tuple(c) for c in info.get("rule_cases") or ()]
    if isinstance(record, dict) and "cases" in record:
        case.cases = int(record.get("cases") or 0)
        case.requests = int(record.get("requests") or 0)
        case.generations = int(record.get("generations") or 0)
        case.findings = dict(record.get("findings") or {})
        case.failure = record.get("failure")
        if "api_answers" in record:
            case.api_answers = int(record.get("api_answers") or 0)
            case.valid_api_answers = int(record.get("valid_api_answers") or 0)
            case.answer_problem = record.get("answer_problem")
            case.valid_answer_problem = record.get("valid_answer_problem")
        case.evidence = list(record.get("evidence") or [])
    not_exercised = record.get("not_exercised") if isinstance(record, dict) else None
    if report.passed:
        case.status = "passed"
    elif report.failed:
        case.status = "failed"
        case.failure = case.failure or report.longreprtext
    elif not_exercised:
        case.status = "not-exercised"
        case.reason = f"not exercised: {not_exercised}"
    elif hasattr(report, "wasxfail"):
        case.status = "xfail"
        case.reason = str(report.wasxfail)
    else:
        case.status = "skipped"
        case.reason = _skip_reason(report)
