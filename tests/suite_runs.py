"""Running the conformance suite from the project's own tests and reading its verdicts."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401  (see below)
import pytest
from broken_servers import Variant, broken_app, serving

import conformance_tests.test_examples
import conformance_tests.test_http
import conformance_tests.test_negative
import conformance_tests.test_positive
import conformance_tests.test_streaming  # noqa: F401
from conformance_tests._verdict import RECORD_KEY

# pytester's in-process runs drop the modules a run imported once it ends. httpx imports
# httpcore lazily; if that happened inside a run, the next run would mix two copies of
# httpcore and its exceptions would escape httpx. Importing it (and the suite's modules,
# which also saves importing them again for every run) here keeps one copy.


SUITE = ("--pyargs", "conformance_tests", "-p", "no:cacheprovider")
"""The arguments that make pytest run the conformance suite (and write no cache)."""


@dataclass
class SuiteRun:
    """The reports of one in-process run of the suite."""

    ret: int
    reports: list[Any]

    def call_reports(self) -> list[Any]:
        return [r for r in self.reports if r.when == "call"]

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.reports:
            if r.when == "call" or (r.when == "setup" and not r.passed):
                key = "xfailed" if hasattr(r, "wasxfail") else r.outcome
                counts[key] = counts.get(key, 0) + 1
        return counts

    def failed(self) -> list[Any]:
        return [r for r in self.reports if r.failed]

    def records(self) -> list[dict[str, Any]]:
        return [
            value
            for r in self.reports
            if r.when != "teardown"
            for key, value in r.user_properties
            if key == RECORD_KEY
        ]

    def gating_rules(self) -> set[str]:
        """Rule ids some test failed on."""
        return {
            rule
            for record in self.records()
            for rule, finding in (record.get("findings") or {}).items()
            if finding.get("gating")
        }

    def failure_text(self) -> str:
        return "\n\n".join(f"{r.nodeid}\n{r.longreprtext}" for r in self.failed())


def run_suite(pytester: pytest.Pytester, *args: str) -> SuiteRun:
    """Run ``pytest --pyargs conformance_tests *args`` in-process."""
    rec = pytester.inline_run(*SUITE, *args)
    return SuiteRun(ret=int(rec.ret), reports=rec.getreports("pytest_runtest_logreport"))


def run_variant(
    pytester: pytest.Pytester,
    variant: Variant,
    *extra: str,
    level: str = "standard",
    select: str | None = None,
    own_args: bool = True,
) -> SuiteRun:
    """Run the suite in-process against ``variant`` of the reference server (served on a
    free port for the run): at ``level``, narrowed with ``-k select`` (default: the
    variant's ``select``), with ``extra`` options and the variant's own ``args`` (strict
    mode, an edition, ...) unless ``own_args`` is False."""
    with serving(broken_app(variant)) as server:
        return run_suite(
            pytester,
            "--base-url",
            server.base_url,
            "--conformance-level",
            level,
            "-k",
            variant.select if select is None else select,
            *extra,
            *(variant.args if own_args else ()),
        )


def python_process(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` as a child process in ``cwd`` (output captured as text), without the
    caller's OPENAI_BASE_URL and OPENAI_API_KEY (no target settings from the environment)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def suite_process(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pytest --pyargs conformance_tests *args`` as a child process in
    ``cwd``: with no ``--base-url`` it tests the embedded reference server."""
    return python_process("-m", "pytest", *SUITE, *args, cwd=cwd, timeout=timeout)
