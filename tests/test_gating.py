"""Release gating (issue 6): the conformance report, baselines, exit codes, the generation cap.

Most tests run ``images-conformance run`` in a subprocess (as a CI job would) with a
narrow ``-k`` selection, against the embedded reference server or a small broken
variant of it served from this process.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ports import free_port
from suite_runs import python_process

from images_conformance.report import GateExit, exit_code_for, markdown_path, rule_catalogue, scrub
from images_conformance.report.baseline import (
    BaselineError,
    baseline_from_report,
    dump_baseline,
    load_baseline,
    parse_baseline,
)
from reference_server import ServerThread, create_app
from validator import DEFAULT_PROFILE, RULES

# Fixed cases of the standard level (selected with -k, so a run costs only their images):
# a GPT image request with n=2 (usage, echo, counts; two images) and a dall-e-2 request
# with n=3 (three images); plus a negative test (free).
GPT_N2 = "gpt-image-n2-low"
DALLE2_N3 = "dall-e-2-n3-b64_json"
NEGATIVE = "request.n.range"
SECRET_KEY = "sk-gating-secret-key-0123456789abcdef"
SECRET_PASSWORD = "pw-secret-9876"


RUN_TIMEOUT = 300
"""A safety net against a hung run, not a timed assertion: a run under ``-n 2`` inside a
test run under ``-n 2`` on a loaded 2-core CI machine has taken over 60 s just to bring
up its worker processes."""


def run_cli(
    *args: str, cwd: Path, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``images-conformance ARGS`` in a subprocess, without target settings from the environment."""
    return python_process("-m", "images_conformance.cli.main", *args, cwd=cwd, timeout=timeout)


def run_suite(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("run", "--level", "standard", "--timeout", "10", "-q", *args, cwd=cwd)


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def read_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in report["rules"]}


# -- small broken targets ---------------------------------------------------------------------
class Broken:
    """ASGI middleware around the reference server: one deviation on the generations endpoint.

    ``usage``: usage.total_tokens is one more than input + output (response.usage.sums).
    ``echo-500``: every generation request is answered 500 with a body that echoes the
    Authorization header the target received.
    """

    def __init__(self, app: Any, mode: str) -> None:
        self.app = app
        self.mode = mode

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/images/generations"):
            await self.app(scope, receive, send)
            return
        if self.mode == "echo-500":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            body = json.dumps(
                {
                    "error": {
                        "message": f"upstream failed for {headers.get('authorization')}",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                }
            ).encode()
            await _answer(send, 500, body)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if start.get("status") == 200:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("usage"), dict):
                data["usage"]["total_tokens"] = int(data["usage"].get("total_tokens", 0)) + 1
                body = json.dumps(data).encode()
        await _answer(send, int(start.get("status", 500)), body)


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@contextmanager
def broken_server(mode: str) -> Iterator[ServerThread]:
    server = ServerThread(app=Broken(create_app(), mode)).start()
    try:
        yield server
    finally:
        server.stop()


# -- the report ----------------------------------------------------------------------------
def test_report_of_a_conformant_run(tmp_path: Path) -> None:
    """Report content and format; and known failures (a baseline file, the profile's
    [known_failures]) that now pass are reported so the baseline can be tightened."""
    profile = tmp_path / "profile.toml"
    features = ["dall-e-2", "dall-e-3", "gpt-image", "b64_json_responses", "url_responses"]
    profile.write_text(
        f'name = "no-extras"\nfeatures = {json.dumps(features)}\n'
        '[known_failures]\n"request.n.range" = "accepts n=0"\n'
    )
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        json.dumps({"format_version": 1, "known_failures": {"response.usage.sums": "off by one"}})
    )
    path = tmp_path / "out" / "report.json"
    proc = run_suite(
        "--profile",
        str(profile),
        "--conformance-baseline",
        str(baseline),
        "-k",
        f"{GPT_N2} or {NEGATIVE}",
        "--conformance-report",
        str(path),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, output(proc)
    report = read_report(path)
    assert report["format_version"] == 1
    assert report["suite"]["name"] == "images-conformance" and report["suite"]["version"]
    assert report["target"] == {
        "base_url": None,
        "embedded": True,
        "profile": "no-extras",
        "profile_path": str(profile),
        "edition": "document",
        "features": sorted(features),
        "auth": False,
    }
    started = datetime.fromisoformat(report["run"]["started"])
    finished = datetime.fromisoformat(report["run"]["finished"])
    assert started <= finished and report["run"]["level"] == "standard"
    assert report["verdict"]["exit_code"] == 0 and report["verdict"]["conformant"]

    # Every rule of the table in the edition (the document), and the suite's HTTP rules,
    # has an entry, in table order.
    rules = by_id(report)
    held = [r for r in RULES if DEFAULT_PROFILE.edition.holds(RULES[r])]
    assert list(rules)[: len(held)] == held
    assert set(rules) == {r.id for r in rule_catalogue() if r.id not in RULES or r.id in held}
    for entry in rules.values():
        assert set(entry) >= {"id", "level", "params", "outcome", "cases", "first_failure"}
        assert entry["outcome"] in (
            "passed",
            "failed",
            "skipped",
            "expected-failure",
            "not-exercised",
        )
    assert rules["response.data.count_matches_n"]["outcome"] == "passed"
    assert rules["response.data.count_matches_n"]["cases"] == 1
    assert rules["response.echo.matches_request"]["params"] == list(
        RULES["response.echo.matches_request"].params
    )
    assert rules[NEGATIVE]["level"] == "MUST"
    # Features the profile leaves out: skipped; rules no selected test reached: not exercised.
    assert rules["image.transparency"]["outcome"] == "skipped"
    assert rules["stream.framing"]["outcome"] == "skipped"
    assert rules["response.revised_prompt.dalle3_present"]["outcome"] == "not-exercised"
    assert rules["request.n.dalle3_only_one"]["outcome"] == "not-exercised"
    assert all(e["first_failure"] is None for e in rules.values())

    assert report["cost"]["billable_generations"] == 2  # n=2: two images
    assert report["counts"]["passed"] == sum(e["outcome"] == "passed" for e in rules.values())
    tests = {t["nodeid"].split("::")[-1]: t for t in report["tests"]}
    assert tests[f"test_fixed_valid_request[{GPT_N2}]"]["generations"] == 2
    assert tests[f"test_invalid_request_is_refused[{NEGATIVE}]"]["generations"] == 0
    streaming = next(f for f in report["features"] if f["feature"] == "streaming")
    assert streaming["declared"] is False

    # Baselined (file) and known (profile) failures that passed: the baseline can be tightened.
    assert report["baseline"]["rules"] == {
        "request.n.range": "accepts n=0",
        "response.usage.sums": "off by one",
    }
    assert report["baseline"]["can_be_tightened"] == ["request.n.range", "response.usage.sums"]
    usage = rules["response.usage.sums"]
    assert usage["outcome"] == "passed" and usage["can_be_tightened"]
    assert usage["baselined"] and usage["baseline_reason"] == "off by one"
    assert rules[NEGATIVE]["outcome"] == "passed" and rules[NEGATIVE]["can_be_tightened"]
    assert re.search(
        r"baseline can be tightened: .*request\.n\.range, response\.usage\.sums", proc.stdout
    )

    md = markdown_path(path).read_text(encoding="utf-8")
    assert md.startswith("## images-conformance: ✅ conformant (exit code 0)")
    assert "### Per feature" in md and "### Per rule" in md
    assert "| `response.data.count_matches_n` | MUST | ✅ passed | 1 | 1 |" in md
    assert "Billable generations: **2**" in md
    assert "the baseline can be tightened" in md
    assert "billable generations: 2" in proc.stdout
    assert f"report: {path}" in proc.stdout


def test_failure_baseline_written_and_applied(tmp_path: Path) -> None:
    """A failing rule fails the run; the baseline command records it; with that baseline
    the same target passes the gate, the rule reported as an expected failure."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    baseline = tmp_path / "baseline.toml"
    with broken_server("usage") as server:
        proc = run_suite(
            "--base-url",
            server.base_url,
            "-k",
            GPT_N2,
            "--conformance-report",
            str(first),
            cwd=tmp_path,
        )
        assert proc.returncode == GateExit.NON_CONFORMANT, output(proc)
        report = read_report(first)
        entry = by_id(report)["response.usage.sums"]
        assert entry["outcome"] == "failed" and entry["gating"] is True
        assert "total_tokens" in entry["first_failure"]
        assert report["verdict"]["gating_failures"] == ["response.usage.sums"]
        assert report["verdict"]["status"] == "non-conformant"
        assert "❌ failed" in markdown_path(first).read_text(encoding="utf-8")
        # Rules checked on the same answer still pass.
        assert by_id(report)["response.data.count_matches_n"]["outcome"] == "passed"

        made = run_cli("baseline", str(first), "-o", str(baseline), cwd=tmp_path)
        assert made.returncode == 0, output(made)
        assert load_baseline(baseline) == baseline_from_report(report)
        assert list(load_baseline(baseline)) == ["response.usage.sums"]

        proc = run_suite(
            "--base-url",
            server.base_url,
            "-k",
            GPT_N2,
            "--conformance-baseline",
            str(baseline),
            "--conformance-report",
            str(second),
            cwd=tmp_path,
        )
    assert proc.returncode == GateExit.CONFORMANT, output(proc)
    report = read_report(second)
    entry = by_id(report)["response.usage.sums"]
    assert entry["outcome"] == "expected-failure" and entry["gating"] is False
    assert entry["baselined"] and "total_tokens" in entry["first_failure"]
    assert report["baseline"]["expected_failures"] == ["response.usage.sums"]
    assert report["baseline"]["file"] == str(baseline)
    assert "expected failures (baselined): response.usage.sums" in proc.stdout


# -- the generation cap ----------------------------------------------------------------------
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_generation_cap_leaves_tests_not_exercised(workers: list[str], tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    proc = run_suite(
        "--max-generations",
        "3",
        "-k",
        f"{GPT_N2} or {DALLE2_N3} or gpt-image-landscape or {NEGATIVE}",
        "--conformance-report",
        str(path),
        *workers,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, output(proc)
    report = read_report(path)
    cost = report["cost"]
    assert cost["max_generations"] == 3 and cost["cap_reached"] is True
    assert cost["billable_generations"] <= 3  # a hard cap: a request never passes it
    statuses = sorted(t["status"] for t in report["tests"])
    assert statuses.count("not-exercised") >= 2, statuses
    # Requests that must be refused cost nothing and run past the cap.
    assert by_id(report)[NEGATIVE]["outcome"] == "passed"
    assert all(s in ("passed", "not-exercised") for s in statuses)
    assert report["verdict"]["complete"] is False
    if not workers:
        # The dall-e-2 case runs first and takes the three images; the GPT image cases
        # never get theirs, so the rules only they exercise are not exercised, not passed.
        assert cost["billable_generations"] == 3
        rules = by_id(report)
        assert rules["response.data.count_matches_n"]["outcome"] == "passed"
        usage = rules["response.usage.sums"]
        assert usage["outcome"] == "not-exercised", usage
        assert "cap of 3 billable generations" in usage["reason"]
    assert "cap 3; reached" in proc.stdout


# -- exit codes ------------------------------------------------------------------------------
def test_exit_code_unreachable_target(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    url = f"http://127.0.0.1:{free_port()}/v1"
    proc = run_suite(
        "--base-url", url, "-k", GPT_N2, "--conformance-report", str(path), cwd=tmp_path
    )
    assert proc.returncode == GateExit.UNREACHABLE, output(proc)
    report = read_report(path)
    assert report["verdict"]["status"] == "unreachable"
    assert "cannot reach" in report["verdict"]["message"]
    assert report["target"]["base_url"] == url


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--level", "bogus"], id="bad-level"),
        pytest.param(["--max-generations", "-1"], id="negative-cap"),
        pytest.param(["--conformance-baseline", "{tmp}/missing.toml"], id="missing-baseline"),
        pytest.param(["--conformance-baseline", "{tmp}/typo.toml"], id="unknown-rule-in-baseline"),
        pytest.param(["--conformance-baseline", "{tmp}/broken.toml"], id="baseline-not-toml"),
    ],
)
def test_exit_code_usage_error_before_the_run(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Refused before any test is collected (in-process: nothing to collect, so it is fast)."""
    from images_conformance.cli.main import main as cli_main

    (tmp_path / "typo.toml").write_text('[known_failures]\n"response.usage.sum" = "typo"\n')
    (tmp_path / "broken.toml").write_text("[known_failures\n")
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert cli_main(["run", "--level", "quick", "-q", *args]) == GateExit.USAGE_ERROR
    err = capsys.readouterr()
    assert "error" in (err.out + err.err).lower()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["-k", "no_such_test_anywhere"], id="nothing-selected"),
        pytest.param(["--profile", "{tmp}/typo.toml"], id="unknown-rule-in-profile"),
    ],
)
def test_exit_code_usage_error(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "typo.toml").write_text('[known_failures]\n"response.usage.sum" = "typo"\n')
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = run_suite(*args, cwd=tmp_path)
    assert proc.returncode == GateExit.USAGE_ERROR, output(proc)


def test_exit_code_when_everything_is_skipped(tmp_path: Path) -> None:
    """A profile that says the target checks no key: the auth tests skip, nothing ran, so
    no verdict (2)."""
    profile = tmp_path / "no-auth.toml"
    profile.write_text("auth = false\n", encoding="utf-8")
    proc = run_suite("-k", "test_api_key_is_checked", "--profile", str(profile), cwd=tmp_path)
    assert proc.returncode == GateExit.USAGE_ERROR, output(proc)
    assert "no test of the suite ran" in proc.stdout


def test_pytest_exit_statuses_map_to_gate_codes() -> None:
    assert [exit_code_for(s) for s in range(6)] == [0, 1, 2, 3, 2, 2]
    assert exit_code_for(pytest.ExitCode.NO_TESTS_COLLECTED) == GateExit.USAGE_ERROR
    assert exit_code_for(99) == GateExit.USAGE_ERROR


# -- secrets ------------------------------------------------------------------------------
def test_credentials_never_reach_the_report(tmp_path: Path) -> None:
    """The API key (even echoed back by the target into a failure message) and the password
    of the base URL appear in neither the JSON report nor the Markdown summary."""
    path = tmp_path / "report.json"
    with broken_server("echo-500") as server:
        url = server.base_url.replace("http://", f"http://ci-user:{SECRET_PASSWORD}@")
        proc = run_suite(
            "--base-url",
            url,
            "--api-key",
            SECRET_KEY,
            "-k",
            GPT_N2,
            "--conformance-report",
            str(path),
            cwd=tmp_path,
        )
    assert proc.returncode == GateExit.NON_CONFORMANT, output(proc)
    text = path.read_text(encoding="utf-8") + markdown_path(path).read_text(encoding="utf-8")
    report = read_report(path)
    assert report["target"]["base_url"] == server.base_url
    failure = (
        by_id(report)["http.no_server_error"]["first_failure"]
        or by_id(report)["http.valid_request_accepted"]["first_failure"]
    )
    assert failure and "500" in failure
    for secret in (SECRET_KEY, SECRET_PASSWORD, SECRET_KEY[-12:]):
        assert secret not in text


def test_scrub_removes_keys_passwords_and_query_values() -> None:
    data = {
        "a": "GET http://u:p4ss@host/v1?api-key=qk123 with sk-abc123456",
        "b": ["sk-abc123456", {"sk-abc123456": 1}],
        "c": 3,
    }
    clean = scrub(data, ["sk-abc123456", "p4ss", "qk123"])
    assert clean == {
        "a": "GET http://***@host/v1?api-key=*** with ***",
        "b": ["***", {"***": 1}],
        "c": 3,
    }


# -- baseline files ----------------------------------------------------------------------
def test_baseline_round_trip_with_awkward_reasons(tmp_path: Path) -> None:
    reasons = {
        "response.usage.sums": 'says "total" \\ and\nnewlines',
        "image.size": "größe \x7f ✓",
    }
    path = tmp_path / "b.toml"
    path.write_text(dump_baseline(reasons, comment=["a comment"]))
    assert load_baseline(path, known_rules=RULES) == reasons


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a table"),
        ({"known_failures": {"image.size": 3}}, "reason strings"),
        ({"format_version": 2, "known_failures": {}}, "format_version"),
        ({"rules": {}}, "unknown key"),
        ({"known_failures": {"image.sizes": "x"}}, "unknown rule id"),
    ],
)
def test_bad_baselines_are_refused(data: Any, message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        parse_baseline(data, known_rules=RULES)


def test_baseline_command_refuses_a_non_report(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}')
    proc = run_cli("baseline", str(bogus), cwd=tmp_path)
    assert proc.returncode == 2 and "not a conformance report" in proc.stderr


def test_baseline_from_report_keeps_reasons_and_skips_passes() -> None:
    report = {
        "format_version": 1,
        "rules": [
            {
                "id": "a.x",
                "level": "MUST",
                "outcome": "failed",
                "gating": True,
                "first_failure": "boom\nmore",
            },
            {
                "id": "a.y",
                "level": "SHOULD",
                "outcome": "failed",
                "gating": False,
                "first_failure": "meh",
            },
            {"id": "a.z", "outcome": "expected-failure", "baseline_reason": "known since v1"},
            {"id": "a.w", "outcome": "passed"},
            {"id": "a.v", "outcome": "not-exercised"},
        ],
    }
    assert baseline_from_report(report) == {
        "a.x": "MUST rule failed: boom more",
        "a.y": "SHOULD rule failed: meh",
        "a.z": "known since v1",
    }
    assert set(baseline_from_report(report, gating_only=True)) == {"a.x", "a.z"}


# -- inert outside the suite ---------------------------------------------------------------
def test_plugin_is_inert_for_other_test_suites(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_fails():\n    assert False\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 1
    assert "images-conformance gate" not in result.stdout.str()
    empty = pytester.mkdir("empty")
    result = pytester.runpytest_subprocess(str(empty), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
