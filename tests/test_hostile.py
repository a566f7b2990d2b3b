"""Pointed at a hostile server, the suite stays safe: it ends by itself, within bounded
memory, with an honest exit status and a clear finding, and never shows the API key.

Each test runs ``images-conformance run`` in a subprocess against one mode of the hostile
server (tests/hostile) with a canary key, and looks for the canary in everything the run
leaves: stdout, stderr, the JUnit XML, the JSON report and its Markdown summary. The
subprocess timeout is only a safety net: hitting it fails the test. Hostile recording
files are given to ``validate-cassette`` the same way. Figures (time, peak memory) are
measured by bench/hostile_bench.py, not asserted here.
"""

from __future__ import annotations

import gzip
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile import MODES, gzip_bomb_bytes, hostile_server

from images_conformance.report import Case as ReportCase
from images_conformance.report import Context, GateExit, build_report

CANARY = "sk-canary-" + secrets.token_hex(16)
SAFETY_NET_S = 600
TIMEOUT = "5"
"""--timeout of the runs (small: the modes that stall cost a few deadlines each)."""

# A few tests of every kind (positive, stream, negative, HTTP, document examples).
SUBSET = (
    "test_api_key_is_checked"
    " or test_document_example or test_malformed_json or (test_invalid_request_is_refused"
    " and request.n.)"
)
# Two tests, for the modes whose every answer is tens of MB to read (64 MB, then cut).
FEW = "default-model-url or doc-example-generate-image"


@dataclass(frozen=True)
class Case:
    exit_status: int
    finding: str
    """Text of the finding every run of this mode must show."""
    select: str | None = SUBSET
    """The tests run (-k); None: the whole quick level (the modes that used to leak)."""


CASES = {
    "endless-sse": Case(1, "was still arriving after 5 s (the exchange deadline)"),
    "huge": Case(1, "the answer is larger than 64 MB; only its start was read", FEW),
    "gzip-bomb-models": Case(1, "gating rule(s) broken"),
    "gzip-bomb-generations": Case(
        1, "the answer inflates past 64 MB (Content-Encoding: gzip)", FEW
    ),
    "many-items-url": Case(1, "1,000,000 items where n=1 was asked; the first 10 were judged", FEW),
    "many-items-b64": Case(1, "the answer is larger than 64 MB; only its start was read", FEW),
    "deep-json": Case(1, "the JSON nests deeper than 256 levels; not parsed"),
    "echo-key": Case(1, "got '$OPENAI_API_KEY'", None),
    "control-bytes": Case(1, r"\x1b[2J\x1b[31mOWNED", None),
    "stall-after-headers": Case(1, "so the suite stopped waiting on it"),
    "lying-length": Case(1, "the connection broke"),
    "redirect-loop": Case(1, "HTTP 307"),
    "never-answers": Case(3, "cannot reach the target at"),
}
assert set(CASES) == set(MODES)

CRASH_WORDS = ("Traceback", "RecursionError", "MemoryError", "INTERNALERROR")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``images-conformance ARGS``; a run still going after SAFETY_NET_S fails the test."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "images_conformance.cli.main", *args],
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=SAFETY_NET_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"images-conformance {args[0]} did not end by itself within {SAFETY_NET_S} s")


def suite_args(base_url: str, tmp_path: Path) -> list[str]:
    """The command line of one run against ``base_url``, writing JUnit and the report."""
    return [
        "run",
        "--base-url",
        base_url,
        "--api-key",
        CANARY,
        "--level",
        "quick",
        "--timeout",
        TIMEOUT,
        "--junitxml",
        str(tmp_path / "junit.xml"),
        "--conformance-report",
        str(tmp_path / "report.json"),
        "-p",
        "no:cacheprovider",
    ]


def outputs(proc: subprocess.CompletedProcess[str], tmp_path: Path) -> dict[str, str]:
    """Everything a run leaves: its streams and files."""
    found = {"stdout": proc.stdout, "stderr": proc.stderr}
    for name in ("junit.xml", "report.json", "report.md"):
        path = tmp_path / name
        assert path.is_file(), f"the run wrote no {name}:\n{proc.stdout[-3000:]}"
        found[name] = path.read_text(encoding="utf-8", errors="replace")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_suite_against_hostile_server(mode: str, tmp_path: Path) -> None:
    case = CASES[mode]
    with hostile_server(mode) as server:
        args = suite_args(server.base_url, tmp_path)
        if case.select:
            args += ["-k", case.select]
        proc = run_cli(*args, cwd=tmp_path)
        counts = server.counts
        received = server.authorizations
    text = proc.stdout + proc.stderr
    assert proc.returncode == case.exit_status, text[-5000:]
    assert case.finding in text, text[-5000:]
    for name, content in outputs(proc, tmp_path).items():
        assert CANARY not in content, f"the API key is shown in {name}"
        assert CANARY[10:] not in content, f"the API key is shown in {name}"
    assert "\x00" not in text and "\x1b" not in text, "raw control characters reached the output"
    for word in CRASH_WORDS:
        assert word not in text, f"{word} in the output:\n{text[-5000:]}"
    if mode == "many-items-url":
        # Never more fetches than images asked for (n is at most 10 per request).
        assert 0 < counts.get("image", 0) <= 10 * counts.get("generations", 0)
    if mode == "echo-key":
        assert f"Bearer {CANARY}" in received  # the key itself was sent, only never shown
    if case.exit_status == 3:
        assert counts.get("generations", 0) == 0  # stopped before any test ran


@pytest.mark.slow
def test_json_value_limit_is_one_finding(tmp_path: Path) -> None:
    """An answer holding more JSON values than --conformance-max-json-values is not parsed:
    one finding says so, and the run reaches a verdict (exit status 1)."""
    with hostile_server("many-items-url") as server:
        args = suite_args(server.base_url, tmp_path)
        proc = run_cli(*args, "--conformance-max-json-values", "1000000", "-k", FEW, cwd=tmp_path)
        counts = server.counts
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text[-5000:]
    finding = (
        "the JSON holds about 2,000,003 values, more than 1,000,000 (the JSON value limit); "
        "not parsed"
    )
    assert finding in text, text[-5000:]
    assert "1,000,000 items where" not in text  # not parsed, so not judged item by item
    assert counts.get("image", 0) == 0  # nor its urls fetched
    for name, content in outputs(proc, tmp_path).items():
        assert CANARY not in content, f"the API key is shown in {name}"
    for word in CRASH_WORDS:
        assert word not in text, f"{word} in the output:\n{text[-5000:]}"


def test_run_budget_leaves_the_rest_not_exercised(tmp_path: Path) -> None:
    """--run-budget ends a run against a target that keeps every exchange waiting."""
    with hostile_server("stall-after-headers") as server:
        args = suite_args(server.base_url, tmp_path)
        start = time.monotonic()
        proc = run_cli(*args, "--run-budget", "3", "-k", SUBSET, cwd=tmp_path)
        took = time.monotonic() - start
    text = proc.stdout + proc.stderr
    assert "the run budget of 3 s (--run-budget) is spent" in (tmp_path / "report.json").read_text()
    assert proc.returncode == 1, text[-3000:]
    assert took < SAFETY_NET_S


# -- hostile recording files ----------------------------------------------------------------
ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
interactions:
- request: {method: POST, uri: "http://x/v1/images/generations", body: {string: *i}, headers: {}}
  response: {status: {code: 200}, headers: {}, body: {string: *i}}
"""

PYTHON_TAG = """\
interactions:
- request:
    method: POST
    uri: http://x/v1/images/generations
    body: !!python/object/apply:os.system ["touch {marker}"]
    headers: {{}}
  response:
    status: {{code: 200}}
    headers: {{}}
    body: {{string: !!python/object/new:os.system ["touch {marker}"]}}
"""


def _cassette_with_binary_body(body: bytes) -> str:
    """A vcrpy cassette whose gzip-encoded response body is stored as ``!!binary``."""
    import yaml

    interaction = {
        "request": {
            "method": "POST",
            "uri": "http://x/v1/images/generations",
            "body": '{"prompt": "a cat"}',
            "headers": {"Content-Type": ["application/json"]},
        },
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": ["application/json"], "Content-Encoding": ["gzip"]},
            "body": {"string": body},
        },
    }
    return yaml.safe_dump({"interactions": [interaction], "version": 1})


def test_validate_cassette_refuses_an_alias_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    proc = run_cli("validate-cassette", str(path), cwd=tmp_path)
    assert f"{path}: UNREADABLE: bomb.yaml: its YAML aliases expand past 128 MB" in proc.stdout
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr


def test_validate_cassette_never_constructs_python_objects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "tags.yaml"
    path.write_text(PYTHON_TAG.format(marker=marker))
    proc = run_cli("validate-cassette", str(path), cwd=tmp_path)
    assert not marker.exists()
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "tags.yaml" in proc.stdout


def test_validate_cassette_bounds_a_gzip_bomb_body(tmp_path: Path) -> None:
    path = tmp_path / "body-bomb.yaml"
    path.write_text(_cassette_with_binary_body(gzip_bomb_bytes(1024 * 1024 * 1024)))
    proc = run_cli("validate-cassette", str(path), cwd=tmp_path)
    assert "UNREADABLE: a recorded body inflates past 64 MB (gzip): not judged" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_validate_cassette_bounds_a_gzip_bomb_file(tmp_path: Path) -> None:
    path = tmp_path / "file-bomb.yaml.gz"
    path.write_bytes(gzip_bomb_bytes(4 * 1024 * 1024 * 1024))
    proc = run_cli("validate-cassette", str(path), cwd=tmp_path)
    assert f"{path} is gzip-compressed and it inflates past 128 MB: not read" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_small_gzip_cassette_still_reads(tmp_path: Path) -> None:
    """The bounded inflation reads an ordinary compressed cassette whole."""
    path = tmp_path / "ok.yaml.gz"
    path.write_bytes(gzip.compress(_cassette_with_binary_body(gzip.compress(b"{}")).encode()))
    proc = run_cli("validate-cassette", str(path), cwd=tmp_path)
    assert "UNREADABLE" not in proc.stdout, proc.stdout
    assert "1 with the generations endpoint" in proc.stdout


# -- the reference server reads requests within limits too -----------------------------------
def test_reference_server_refuses_deep_json_and_slow_bodies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    import reference_server._app as app
    from reference_server import running_server

    monkeypatch.setattr(app, "BODY_TIMEOUT_S", 0.5)
    with running_server() as server:
        url = server.base_url + "/images/generations"
        deep = b'{"prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        r = httpx.post(url, content=deep, headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        assert "nests deeper than 64 levels" in r.json()["error"]["message"]

        host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


# -- exit status ---------------------------------------------------------------------------
def test_tests_that_broke_without_a_verdict_exit_2() -> None:
    """Failed tests that all broke on an error of the suite (no finding recorded) give no
    verdict (2); one failed test with a finding about the target makes it a verdict (1)."""
    broke = ReportCase("suite::broke", status="failed", failure="error in setup: RuntimeError")
    found = ReportCase("suite::found", status="failed", failure="the answer is not JSON")
    context = Context(runner_status=1, crashed=frozenset({broke.nodeid}))
    verdict = build_report([broke], context=context)["verdict"]
    assert verdict["exit_code"] == GateExit.USAGE_ERROR
    assert "without a verdict" in verdict["message"]
    verdict = build_report([broke, found], context=context)["verdict"]
    assert verdict["exit_code"] == GateExit.NON_CONFORMANT
