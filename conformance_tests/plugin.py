"""The pytest plugin of the conformance suite (entry point ``images_conformance``).

It is loaded by every pytest run in an environment where the package is installed, so
it stays inert unless tests of the suite (modules of the ``conformance_tests`` package)
are collected: it adds options and markers, and its fixtures only act when a test of
the suite asks for them.

Fixtures (session scope unless noted):

- ``conformance_options``: the :class:`SuiteOptions` of the run (target, profile, level, seed).
- ``conformance_target``: the :class:`Target`; starts the embedded reference server when
  no base URL is given; stops the run with exit code 3 when the target cannot be reached.
- ``conformance_verdict`` (function): the :class:`Verdict` collecting the test's findings.

Markers: ``rules(*rule_ids)`` (the rules a test exercises), ``feature(*names)`` (the
profile features it needs; undeclared ones skip the test with a reason naming them),
``planned`` / ``unplanned`` (a test that runs only at a planned level, such as quick, or
only at the others; the rest is deselected).
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import pytest

from images_conformance.exchanges._client import GenerationCapReached, Target
from images_conformance.exchanges._limits import BudgetExhausted
from images_conformance.exchanges._secrets import Secret, sanitize
from validator import FEATURES, RULES

from ._bodies import FREE_SIZE_MODEL
from ._har_recording import har_recording
from ._har_recording import register as register_har_recording
from ._options import SEED_WORKERINPUT, SuiteOptions, add_options, get_options
from ._plan import plan_of
from ._verdict import RECORD_KEY, ConformanceFailure, SuiteError, Verdict

SUITE_PACKAGE = "conformance_tests"
_VERDICT_KEY = pytest.StashKey[Verdict]()
_CHECKED_KEY = pytest.StashKey[bool]()
_SUITE_MODULES = frozenset(p.name for p in Path(__file__).resolve().parent.glob("test_*.py"))


def _is_suite_id(nodeid: str) -> bool:
    """Whether a node id names a test module of the suite. Node ids are relative to the
    rootdir of the process that collected them (a worker's may differ from the
    controller's: with --pyargs it is the package folder), so only the module file name
    and, when there is one, its folder are compared."""
    parts = PurePath(nodeid.split("::", 1)[0]).parts
    if not parts or parts[-1] not in _SUITE_MODULES:
        return False
    return len(parts) == 1 or parts[-2] == SUITE_PACKAGE


def is_suite_item(item: pytest.Item) -> bool:
    """True for tests that belong to the conformance suite."""
    module = getattr(item, "module", None)
    name = getattr(module, "__name__", "")
    return name == SUITE_PACKAGE or name.startswith(SUITE_PACKAGE + ".")


def rules_of(item: pytest.Item) -> tuple[str, ...]:
    """The rule ids a test exercises, from its ``rules`` markers."""
    seen: dict[str, None] = {}
    for marker in item.iter_markers("rules"):
        seen.update(dict.fromkeys(marker.args))
    return tuple(seen)


def features_of(item: pytest.Item) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for marker in item.iter_markers("feature"):
        seen.update(dict.fromkeys(marker.args))
    return tuple(seen)


# -- options and markers -----------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_options(parser)
    # The recorded scenarios' options (--cassette-target, ...), however pytest was started.
    pluginmanager.import_plugin("conformance_tests._recording")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "rules(*rule_ids): the images-conformance rules a test exercises"
    )
    config.addinivalue_line(
        "markers",
        "feature(*names): images-conformance profile features a test needs "
        "(skipped when the profile does not declare them)",
    )
    config.addinivalue_line(
        "markers", "planned: an images-conformance test that runs only at planned levels (quick)"
    )
    config.addinivalue_line(
        "markers", "unplanned: an images-conformance test that runs only at unplanned levels"
    )
    config.pluginmanager.register(_Summary(config), "images_conformance_summary")
    register_har_recording(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: give every worker the same seed (matters for --conformance-seed random)."""
    raw = node.config.getoption("conformance_seed")
    if raw is not None and str(raw).lower() == "random":
        node.workerinput[SEED_WORKERINPUT] = get_options(node.config).seed


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist controller: check once that the target answers, before workers run tests.

    (A worker cannot stop the whole run cleanly, so the controller does it.)
    """
    config = node.config
    if config.stash.get(_CHECKED_KEY, False) or not any(_is_suite_id(i) for i in ids):
        return
    config.stash[_CHECKED_KEY] = True
    opts = get_options(config)
    if opts.base_url is None:
        return
    target = Target(opts.base_url, api_key=opts.api_key, profile=opts.profile, limits=opts.limits)
    try:
        _stop_if_unreachable(target)
    finally:
        target.close()


def _stop_if_unreachable(target: Target) -> None:
    """End the run with one message and exit status 3 when nothing answers at the target."""
    problem = target.check_reachable()
    if problem:
        pytest.exit(f"images-conformance: {problem}", returncode=3)


# -- collection ----------------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    suite_items = [item for item in items if is_suite_item(item)]
    if not suite_items:
        return
    opts = get_options(config)
    other_level = "unplanned" if opts.level.planned else "planned"
    dropped = [item for item in suite_items if item.get_closest_marker(other_level)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
        suite_items = [item for item in suite_items if item not in dropped]
    outside = [item for item in suite_items if _outside_edition(item, opts)]
    if outside:
        # Tests of rules the edition does not hold are not part of the run at all.
        config.hook.pytest_deselected(items=outside)
        items[:] = [item for item in items if item not in outside]
        suite_items = [item for item in suite_items if item not in outside]
    for item in suite_items:
        for feature in features_of(item):
            if feature not in FEATURES:
                raise SuiteError(f"{item.nodeid}: unknown feature {feature!r} in its marker")
            if not opts.profile.offers(feature):
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"feature {feature!r} not declared by profile "
                        f"{opts.profile.name!r} ({FEATURES[feature]})"
                    )
                )


def _outside_edition(item: pytest.Item, opts: SuiteOptions) -> bool:
    """Whether the test judges a rule the edition does not hold (a breaker of a 2026-08
    size rule under the document), or needs a model taking free sizes the profile lacks."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    rule = RULES.get(params.get("rule_id", ""))
    if rule is not None and not opts.profile.edition.holds(rule):
        return True
    case = params.get("case")
    return getattr(case, "body", {}).get("model") == FREE_SIZE_MODEL and not (
        opts.profile.custom_size_models
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(is_suite_item(item) for item in session.items):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            opts = get_options(session.config)
            reporter.write_line(opts.describe())
            plan = plan_of(opts)
            if plan is not None:
                reporter.write_line(plan.describe())


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def conformance_options(pytestconfig: pytest.Config) -> SuiteOptions:
    """The settings of this suite run."""
    return get_options(pytestconfig)


@contextlib.contextmanager
def open_target(opts: SuiteOptions) -> Iterator[Target]:
    """The Target for ``opts``: the base URL, or the embedded reference server started for
    the duration (with an API key of its own, so that the auth rules are exercised, unless
    the profile says the target checks none). Stops the run (exit status 3) when a remote
    target does not answer."""
    with contextlib.ExitStack() as stack:
        api_key = opts.api_key
        if opts.base_url is None:
            from reference_server import running_server

            if api_key is None and opts.profile.auth is not False:
                api_key = Secret(f"sk-embedded-{secrets.token_hex(12)}")
            server = stack.enter_context(running_server(api_key=api_key, profile=opts.profile))
            base_url, embedded = server.base_url, True
        else:
            base_url, embedded = opts.base_url, False
        target = Target(
            base_url,
            api_key=api_key,
            profile=opts.profile,
            limits=opts.limits,
            run_budget=opts.run_budget,
            embedded=embedded,
        )
        stack.callback(target.close)
        if not embedded:
            _stop_if_unreachable(target)
        yield target


@pytest.fixture(scope="session")
def conformance_target(
    pytestconfig: pytest.Config, conformance_options: SuiteOptions
) -> Iterator[Target]:
    """The target under test (the embedded reference server when no base URL is given);
    with ``--record-har FILE``, every exchange it sends is written to FILE."""
    with open_target(conformance_options) as target, har_recording(pytestconfig, target):
        yield target


@pytest.fixture
def conformance_verdict(
    request: pytest.FixtureRequest, conformance_options: SuiteOptions, conformance_target: Target
) -> Verdict:
    """Collects the findings of one test (see conformance_tests/_verdict.py)."""
    verdict = Verdict(
        nodeid=request.node.nodeid,
        rules=rules_of(request.node),
        strict=conformance_options.strict,
        known_failures=dict(conformance_options.profile.known_failures),
        seed=conformance_options.seed,
        target=conformance_target,
        keep_evidence=bool(request.config.getoption("conformance_report", None)),
    )
    request.node.stash[_VERDICT_KEY] = verdict
    return verdict


# -- outcomes ------------------------------------------------------------------------------
def _conformance_failure(exc: BaseException) -> ConformanceFailure | None:
    """The ConformanceFailure behind an exception (hypothesis may wrap it in a group)."""
    if isinstance(exc, ConformanceFailure):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _conformance_failure(inner)
        if found is not None:
            return found
    return None


def _failure_text(exc: BaseException, failure: ConformanceFailure) -> str:
    lines = [str(failure)]
    notes = [n for n in getattr(failure, "__notes__", []) if n.strip()]
    if notes:
        lines.append("hypothesis:")
        lines.extend("  " + n.replace("\n", "\n  ") for n in notes)
    if exc is not failure:
        lines.append(
            f"({type(exc).__name__}: the target answered differently when the case was replayed)"
        )
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if not is_suite_item(item):
        return report
    _sanitize_report(report)
    verdict = item.stash.get(_VERDICT_KEY, None)
    if report.when == "setup" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        record = {
            "rules": list(rules_of(item)),
            "features": list(features_of(item)),
            "skipped": reason,
        }
        _attach(item, report, record)
        return report
    if report.when != "call" or verdict is None:
        return report
    del item.stash[_VERDICT_KEY]  # the item lives as long as the session; the verdict need not
    verdict.count_traffic()
    exc = call.excinfo.value if call.excinfo is not None else None
    if exc is not None:
        failure = _conformance_failure(exc)
        if failure is not None:
            report.longrepr = sanitize(_failure_text(exc, failure))
            if verdict.failure is None:
                verdict.failure = str(failure)
        elif isinstance(exc, (GenerationCapReached, BudgetExhausted)):
            verdict.not_exercised = str(exc)
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"not exercised: {exc}")
    elif report.passed:
        reason = verdict.non_gating_reason()
        if reason:
            report.outcome = "skipped"
            report.wasxfail = reason
    record = verdict.as_record()
    record["features"] = list(features_of(item))
    _attach(item, report, record)
    return report


def _sanitize_report(report: pytest.TestReport) -> None:
    """Whatever a failure shows (a traceback included: it may quote the target) reaches the
    terminal and JUnit with known secrets masked and control characters escaped."""
    if report.failed and report.longrepr is not None:
        report.longrepr = sanitize(report.longreprtext)
    if report.sections:
        report.sections = [(title, sanitize(text)) for title, text in report.sections]


def _attach(item: pytest.Item, report: pytest.TestReport, record: dict[str, Any]) -> None:
    """The record goes on the report that decides the outcome (call, or a skipped setup),
    and, as JSON text without its evidence, on the item, so the teardown report carries it
    into JUnit XML."""
    report.user_properties.append((RECORD_KEY, record))
    junit = {k: v for k, v in record.items() if k != "evidence"}  # thumbnails: report only
    item.user_properties.append((RECORD_KEY, json.dumps(junit)))


# -- summary -------------------------------------------------------------------------------
class _Summary:
    """Adds up the suite's records (also those xdist workers send) for the terminal summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.totals = {"tests": 0, "cases": 0, "requests": 0, "generations": 0}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            return  # carries a JSON copy of the record, for JUnit XML
        for key, record in report.user_properties:
            if key == RECORD_KEY and isinstance(record, dict) and "cases" in record:
                self.totals["tests"] += 1
                for name in ("cases", "requests", "generations"):
                    self.totals[name] += int(record.get(name) or 0)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.totals["tests"]:
            return
        t = self.totals
        terminalreporter.write_sep("-", "images-conformance")
        terminalreporter.write_line(get_options(self.config).describe())
        plan = plan_of(get_options(self.config))
        planned = f" (planned {plan.generations})" if plan is not None else ""
        terminalreporter.write_line(
            f"{t['tests']} conformance tests judged {t['cases']} exchanges: "
            f"{t['requests']} requests, {t['generations']} billable generations{planned}"
        )
