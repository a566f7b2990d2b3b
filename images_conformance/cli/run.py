"""``images-conformance run``: the conformance suite under pytest, with the command's options."""

from __future__ import annotations

import argparse

from .profile_options import add_profile_options

RUN_EPILOG = """Any other arguments go to pytest (e.g. -k EXPR, -x, -n auto, --junitxml FILE).
Without --base-url (or OPENAI_BASE_URL) the suite runs against the embedded reference server.

exit status: 0 every gating rule passed, 1 some test failed, 2 usage or configuration
error (or no verdict: nothing ran, interrupted, internal error), 3 target unreachable
(or it broke the reachability check).
See docs/gating.md (report, baseline, --max-generations)."""

# Our options -> the plugin's spellings (which never clash with other plugins).
_FORWARDED = {
    "base_url": "--conformance-base-url",
    "api_key": "--conformance-api-key",
    "profile": "--conformance-profile",
    "edition": "--conformance-edition",
    "level": "--conformance-level",
    "timeout": "--conformance-timeout",
    "seed": "--conformance-seed",
    "record_har": "--conformance-record-har",
    "run_budget": "--conformance-run-budget",
}


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="images-conformance run",
        description="Run the conformance suite for POST /images/generations against a target.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url", metavar="URL", help="API base URL, e.g. http://host:port/v1")
    parser.add_argument("--api-key", metavar="KEY", help="API key (default: $OPENAI_API_KEY)")
    add_profile_options(parser)
    parser.add_argument(
        "--level",
        "--conformance-level",
        dest="level",
        choices=["quick", "standard", "thorough"],
        help="how many generated cases run (default standard)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="total time limit of one exchange: connect, headers, whole body or stream (default 60)",
    )
    parser.add_argument(
        "--run-budget",
        type=float,
        metavar="SECONDS",
        help="overall time budget of the run; tests past it are not exercised (default: none)",
    )
    parser.add_argument("--strict", action="store_true", help="SHOULD rules fail tests too")
    parser.add_argument("--seed", metavar="N|random", help="hypothesis seed (default 0)")
    parser.add_argument(
        "--record-har",
        metavar="FILE",
        help="write every exchange the suite sent to FILE (HAR 1.2, secrets scrubbed)",
    )
    return parser


def pytest_args(argv: list[str]) -> list[str]:
    """The pytest command line for ``images-conformance run argv``."""
    options, rest = run_parser().parse_known_args(argv)
    args = ["--pyargs", "conformance_tests", "-p", "no:cacheprovider"]
    # This command imported the package before pytest could mark it for assertion
    # rewriting; the suite does not rely on rewritten asserts.
    args += [
        "-W",
        "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning",
    ]
    if not _plugin_installed():
        args += ["-p", "conformance_tests.plugin"]
    for name, flag in _FORWARDED.items():
        value = getattr(options, name)
        if value is not None:
            args += [flag, str(value)]
    if options.strict:
        args.append("--conformance-strict")
    return args + rest


def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == "images_conformance" for ep in entry_points(group="pytest11"))


def run(argv: list[str]) -> int:
    """Run the suite; map pytest's exit codes onto the command's."""
    import pytest

    try:
        args = pytest_args(argv)
    except SystemExit as exc:  # argparse: --help, or a bad value of one of our options
        return 0 if exc.code == 0 else 2
    code = int(pytest.main(args))
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        return 2
    return code
