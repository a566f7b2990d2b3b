"""Running the suite: against the reference server it passes; options, profiles, xdist, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from broken_servers import Rewrite, serving
from suite_runs import run_suite

from conformance_tests.plugin import rules_of
from conformance_tests.strategies import BREAKABLE_RULES
from images_conformance.cli.run import pytest_args
from reference_server import create_app
from validator import DEFAULT_PROFILE, RULES

pytestmark = pytest.mark.usefixtures("suite_env")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_suite_passes_against_the_reference_server(pytester):
    page = pytester.path / "report.html"
    report_path = page.with_suffix(".json")
    run = run_suite(pytester, "--conformance-report", str(page))  # standard level, embedded
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    # The HTML report shows a thumbnail per image, not the images: it stays small.
    assert page.stat().st_size < 5_000_000
    assert page.with_suffix(".json").stat().st_size < 5_000_000
    outcomes = run.outcomes()
    # No failure, no xfail, no skip: the embedded server checks an API key of its own,
    # so the auth tests run too.
    assert set(outcomes) == {"passed"}, outcomes
    assert outcomes["passed"] >= 60
    records = run.records()
    assert sum(r.get("cases", 0) for r in records) >= 100
    assert not run.gating_rules()
    # Every rule exercised was upheld: no failure, no SHOULD deviation, nothing not judged.
    report = json.loads(report_path.read_text(encoding="utf-8"))
    counts = report["counts"]
    assert counts["passed"] > 0, counts
    assert counts["failed"] == counts["warning"] == counts["not-judged"] == 0, counts
    assert counts["expected-failure"] == 0, counts
    assert report["finding"] is None and report["verdict"]["warnings"] == []


def test_suite_passes_with_a_custom_profile(pytester):
    """Own model names, a subset of features: the embedded server serves the profile too."""
    profile = pytester.path / "custom.toml"
    profile.write_text(
        textwrap.dedent(
            """
            name = "custom"
            include_document_models = false
            default_model = "flux-small"
            features = ["gpt-image", "dall-e-2", "b64_json_responses", "streaming"]
            [models]
            "flux-pro" = "gpt-image"
            "flux-small" = "dall-e-2"
            """
        )
    )
    run = run_suite(pytester, "--profile", str(profile), "--conformance-level", "quick")
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    reasons = [str(r.longrepr) for r in run.reports if r.skipped]
    assert any("serves none of ('dall-e-3',)" in x for x in reasons)
    # quick sends the plan: requests of the profile's own models and features only
    planned = [r for r in run.reports if r.when == "call" and "test_planned" in r.nodeid]
    assert planned and all(r.passed for r in planned)
    assert not any("dall-e-3" in r.nodeid or "url" in r.nodeid for r in planned)
    assert run.outcomes()["passed"] >= 40


def test_auth_is_checked_when_an_api_key_is_given(pytester):
    run = run_suite(pytester, "--api-key", "sk-test-key-abcdefgh", "-k", "test_api_key_is_checked")
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    assert run.outcomes() == {"passed": 2}


def test_undeclared_features_are_skipped_with_a_reason(pytester):
    profile = pytester.path / "no-streaming.toml"
    profile.write_text(
        textwrap.dedent(
            """
            name = "no-streaming"
            features = ["b64_json_responses", "gpt-image", "dall-e-2", "dall-e-3", "url_responses"]
            """
        )
    )
    run = run_suite(pytester, "--profile", str(profile), "-k", "streaming or transparent or jpeg")
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    skipped = [r for r in run.reports if r.skipped]
    assert skipped and not [
        r for r in run.reports if r.when == "call" and r.passed and "stream" in r.nodeid
    ]
    reasons = {r.longrepr[2] for r in skipped}
    assert any("feature 'streaming' not declared by profile 'no-streaming'" in x for x in reasons)
    assert any("feature 'transparency' not declared" in x for x in reasons)
    records = [rec for rec in run.records() if rec.get("skipped")]
    assert records and all(rec["rules"] for rec in records)


def test_a_bad_profile_is_a_usage_error(pytester):
    profile = pytester.path / "bad.toml"
    profile.write_text('features = ["teleportation"]\n')
    result = pytester.runpytest_inprocess(
        "--pyargs", "conformance_tests", "--profile", str(profile)
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown feature(s) ['teleportation']" in result.stderr.str()


def test_an_unreachable_target_stops_the_run_with_one_message(pytester):
    result = pytester.runpytest_inprocess(
        "--pyargs", "conformance_tests", "--base-url", "http://127.0.0.1:9/v1", "--timeout", "2"
    )
    assert result.ret == 3
    text = result.stdout.str() + result.stderr.str()
    assert text.count("cannot reach the target at http://127.0.0.1:9/v1") == 1
    assert "Traceback" not in text


def test_the_plugin_is_inert_outside_the_suite(pytester):
    """Registered for every pytest run: options only, no target contact, no header."""
    pytester.makepyfile(test_other="def test_other():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_inprocess(
        "--base-url", "http://127.0.0.1:9/v1", "-p", "no:cacheprovider"
    )
    assert result.ret == 0
    assert "images-conformance:" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*1 passed*"])


def test_verdicts_are_reproducible(pytester):
    """Two runs send the same requests in the same order (seeded hypothesis, no database)."""
    bodies: list[bytes] = []
    app = Rewrite(create_app(), on_request=lambda ex: bodies.append(ex.body))
    runs = []
    with serving(app) as server:
        for _ in range(2):
            bodies.clear()
            run = run_suite(
                pytester,
                "--base-url",
                server.base_url,
                "-k",
                "test_negative or test_valid_requests",
            )
            assert run.ret == pytest.ExitCode.OK, run.failure_text()
            runs.append(list(bodies))
    assert len(runs[0]) > 60
    assert runs[0] == runs[1]


def test_every_test_names_known_rules_and_every_rule_is_exercised(pytester):
    items: list[pytest.Item] = []

    class Collect:
        def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
            collected.extend(items)

    collected = items
    pytester.inline_run("--pyargs", "conformance_tests", "--collect-only", plugins=[Collect()])
    marked: set[str] = set()
    for item in items:
        rules = rules_of(item)
        assert rules, f"{item.nodeid} has no rules marker"
        unknown = [r for r in rules if r not in RULES]
        assert not unknown, (item.nodeid, unknown)
        marked.update(rules)
    negative = {
        item.callspec.params["rule_id"]
        for item in items
        if hasattr(item, "callspec") and "rule_id" in item.callspec.params
    }
    # under the default edition (the document), the breakers of the rules it holds
    assert negative == {r for r in BREAKABLE_RULES if DEFAULT_PROFILE.edition.holds(RULES[r])}
    judged = {r.id for r in RULES.values() if r.kind != "request"}
    assert judged <= marked, sorted(judged - marked)


def test_cli_translates_its_options():
    args = pytest_args(
        ["--base-url", "http://h:1/v1", "--strict", "--level", "quick", "-k", "otter", "-x"]
    )
    assert args[:2] == ["--pyargs", "conformance_tests"]
    assert args[args.index("--conformance-base-url") + 1] == "http://h:1/v1"
    assert args[args.index("--conformance-level") + 1] == "quick"
    assert "--conformance-strict" in args
    assert args[-3:] == ["-k", "otter", "-x"]


def test_cli_run_and_xdist(tmp_path):
    """`images-conformance run` and `pytest --pyargs conformance_tests -n 2`, as a user runs them."""
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "images_conformance.cli.main",
            "run",
            "--level",
            "quick",
            "-q",
            "-k",
            "test_examples or test_http",
        ],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "hypothesis seed 0" in cli.stdout
    assert "billable generations" in cli.stdout
    xdist = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "conformance_tests",
            "-n",
            "2",
            "-q",
            "-p",
            "no:cacheprovider",
            "--conformance-level",
            "quick",
            "-k",
            "test_negative or test_examples",
            "--junitxml",
            str(tmp_path / "junit.xml"),
        ],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert xdist.returncode == 0, xdist.stdout + xdist.stderr
    assert "billable generations" in xdist.stdout
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="images_conformance"' in junit  # the per-test record, as a property


def test_an_unreachable_target_under_xdist_is_one_message(tmp_path):
    """Run from outside the checkout with -n 2 (worker node ids are then relative to the
    package): the controller checks the target first, so one line and exit status 3,
    never a wall of INTERNALERROR tracebacks."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "images_conformance.cli.main",
            "run",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--timeout",
            "2",
            "-n",
            "2",
            "-q",
        ],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert "cannot reach the target at http://127.0.0.1:9/v1" in output
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output


def test_credentials_in_the_base_url_do_not_replace_the_api_key():
    from images_conformance.exchanges._client import Target
    from reference_server import running_server

    with running_server(api_key="sk-url-creds-test") as server:
        url = server.base_url.replace("http://", "http://proxy-user:proxy-pass@")
        target = Target(url, api_key="sk-url-creds-test", timeout=10)
        try:
            exchange = target.post_generation(
                {"prompt": "x", "model": "dall-e-2", "size": "256x256"}
            )
        finally:
            target.close()
    assert exchange.status == 200, exchange.describe()
