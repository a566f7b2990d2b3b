"""The suite's power: against each broken variant of the reference server it fails, naming the rules."""

from __future__ import annotations

import pytest
from broken_servers import HANGING, HUGE, VARIANTS
from suite_runs import run_variant

pytestmark = pytest.mark.usefixtures("suite_env")


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_suite_fails_on_broken_variant(variant, pytester):
    run = run_variant(pytester, variant, "--timeout", "10")
    assert run.ret == pytest.ExitCode.TESTS_FAILED, (
        variant.name,
        run.outcomes(),
        run.failure_text(),
    )
    missing = set(variant.rules) - run.gating_rules()
    assert not missing, (
        f"{variant.name} ({variant.deviation}): the suite did not report {sorted(missing)}; "
        f"it reported {sorted(run.gating_rules())}\n{run.failure_text()}"
    )
    text = run.failure_text()
    for rule in variant.rules:
        assert rule in text, f"the failure messages do not name {rule}"
    assert "curl -sS" in text
    if variant.api_key:
        assert variant.api_key not in text, "the API key must be masked in failure messages"


def test_should_rules_do_not_fail_outside_strict_mode(pytester):
    """Without --conformance-strict, a SHOULD-level deviation is an xfail naming the rule."""
    variant = next(v for v in VARIANTS if v.name == "unknown-params-accepted")
    run = run_variant(pytester, variant, own_args=False)  # without its --conformance-strict
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    xfails = [r for r in run.reports if hasattr(r, "wasxfail")]
    assert xfails and all("request.unknown_parameter" in r.wasxfail for r in xfails)
    assert all(r.wasxfail.startswith("SHOULD-level deviation") for r in xfails)


def test_error_codes_that_are_status_numbers_are_reported_by_default(pytester):
    """The SHOULD rules on error code and type: without strict mode, each is named as a
    SHOULD-level deviation (the run still passes)."""
    variant = next(v for v in VARIANTS if v.name == "status-as-error-code")
    run = run_variant(pytester, variant, level="quick", own_args=False)  # not strict
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    reasons = " ".join(r.wasxfail for r in run.reports if hasattr(r, "wasxfail"))
    assert "error.code_identifier" in reasons and "error.type_invalid_request" in reasons


def test_hanging_target_gives_failures_not_a_stuck_run(pytester):
    run = run_variant(pytester, HANGING, "--timeout", "0.5")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    assert run.outcomes().get("failed", 0) >= 5
    # Three timeouts in a row, then the suite stops waiting on the target (the run's
    # duration is bench material, not an assertion).
    assert "timed out" in run.failure_text()
    assert "stopped waiting" in run.failure_text()


def test_huge_answers_are_read_with_a_cap(pytester):
    run = run_variant(pytester, HUGE)
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    assert "response.body.object" in run.gating_rules()
    text = run.failure_text()
    assert "the answer is larger than 1 MB; only its start was read" in text
    assert len(text) < 20_000  # the failure shows a trimmed body, not megabytes


def test_known_failures_of_the_profile_are_expected_failures(pytester):
    """A rule the profile lists under known_failures is reported as xfail with its reason."""
    variant = next(v for v in VARIANTS if v.name == "fewer-images")
    profile = pytester.path / "known.toml"
    profile.write_text('[known_failures]\n"response.data.count_matches_n" = "n is clamped"\n')
    run = run_variant(pytester, variant, "--profile", str(profile))
    assert run.ret == pytest.ExitCode.OK, run.failure_text()
    xfails = [r for r in run.reports if hasattr(r, "wasxfail")]
    assert xfails
    assert all("response.data.count_matches_n (n is clamped)" in r.wasxfail for r in xfails)


def test_the_api_key_never_shows_in_failure_messages(pytester):
    key = "sk-secret-abcdef123456"
    variant = next(v for v in VARIANTS if v.name == "fewer-images")
    run = run_variant(
        pytester,
        variant,
        "--api-key",
        key,
        "--conformance-strict",  # http.auth_required rests on observation: SHOULD
        select=variant.select + " or test_api_key_is_checked",
    )
    text = run.failure_text()
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    assert key not in text
    assert 'Authorization: Bearer $OPENAI_API_KEY"' in text  # the configured key
    assert "Bearer sk-images-conformance-wrong-key-0000" in text  # a made-up key, in full
