"""The suite's settings: command-line options, environment, profile, conformance level."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from images_conformance.cli.profile_options import EDITION_CHOICES, edition_help, profile_help
from images_conformance.exchanges._client import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    public_url,
)
from images_conformance.exchanges._limits import (
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_JSON_VALUES,
    Limits,
)
from images_conformance.exchanges._secrets import Secret, remember, secret
from validator import Profile, ProfileError, load_profile


@dataclass(frozen=True)
class Level:
    """How many generated cases each kind of test runs."""

    name: str
    positive: int
    """Hypothesis examples per positive test (one per model family)."""
    negative: int
    """Hypothesis examples per broken rule."""
    streaming: int
    cheap: bool
    """Prefer the smallest sizes, low quality and n=1 (paid live endpoints)."""
    shrink: bool
    """Let hypothesis shrink a failing case (costs extra requests)."""
    planned: bool = False
    """Send the planned requests of ``conformance_tests._plan`` instead of generated and
    fixed cases: every case of the rule table for the fewest billable images."""


LEVELS: dict[str, Level] = {
    "quick": Level(
        "quick", positive=1, negative=1, streaming=1, cheap=True, shrink=False, planned=True
    ),
    "standard": Level("standard", positive=10, negative=3, streaming=5, cheap=False, shrink=False),
    "thorough": Level("thorough", positive=40, negative=10, streaming=15, cheap=False, shrink=True),
}
DEFAULT_LEVEL = "standard"
DEFAULT_SEED = 0


@dataclass(frozen=True)
class SuiteOptions:
    """Everything the suite was told about its target and how hard to test it."""

    base_url: str | None
    """None: start the embedded reference server."""
    api_key: Secret | None
    """Shown as ``***`` by repr/str/format (tracebacks, JUnit); ``.reveal()`` to send it."""
    profile: Profile
    profile_path: str | None
    level: Level
    timeout: float
    strict: bool
    """SHOULD rules gate too (--conformance-strict, or strict = true in the profile)."""
    seed: int
    max_response_bytes: int
    max_stream_events: int = DEFAULT_MAX_EVENTS
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_json_values: int = DEFAULT_MAX_JSON_VALUES
    run_budget: float | None = None
    """Seconds the whole run may take (None: no limit); tests past it are not exercised."""

    @property
    def limits(self) -> Limits:
        """What one exchange with the target may take (images_conformance.exchanges._limits)."""
        return Limits(
            deadline=self.timeout,
            max_bytes=self.max_response_bytes,
            max_events=self.max_stream_events,
            max_json_depth=self.max_json_depth,
            max_json_values=self.max_json_values,
        )

    record_har: str | None = None
    """Write every exchange of the run to this HAR 1.2 file (an absolute path)."""

    def describe(self) -> str:
        target = public_url(self.base_url) if self.base_url else "embedded reference server"
        return (
            f"images-conformance: target {target}, profile {self.profile.name}"
            f"{f' ({self.profile_path})' if self.profile_path else ''}, "
            f"edition {self.profile.edition.name}, level {self.level.name}, "
            f"strict {'on' if self.strict else 'off'}, timeout {self.timeout:g} s, "
            f"hypothesis seed {self.seed}"
        )


_STASH_KEY = pytest.StashKey[SuiteOptions]()
SEED_WORKERINPUT = "images_conformance_seed"

# Option names other plugins may own: if such a plugin is present, only the
# --conformance-* spelling is added (see docs/suite.md).
_CLAIMED_BY = {
    "--base-url": "pytest_base_url",
    "--timeout": "pytest_timeout",
    "--profile": "pytest_profiling",
}


def _taken(parser: pytest.Parser, name: str) -> bool:
    module = _CLAIMED_BY.get(name)
    if module is not None:
        import importlib.util

        if importlib.util.find_spec(module) is not None:
            return True
    try:  # options already registered by plugins loaded before this one
        groups = [parser._anonymous, *parser._groups]
        return any(name in opt.names() for group in groups for opt in group.options)
    except AttributeError:  # pragma: no cover - a pytest without these internals
        return False


def add_options(parser: pytest.Parser) -> None:
    """Register the suite's options (and nothing else)."""
    group = parser.getgroup(
        "images-conformance", "images-conformance: the POST /images/generations suite"
    )

    def add(names: list[str], **kwargs: Any) -> None:
        keep = [n for n in names if n.startswith("--conformance-") or not _taken(parser, n)]
        group.addoption(*keep, **kwargs)

    add(
        ["--base-url", "--conformance-base-url"],
        dest="conformance_base_url",
        metavar="URL",
        help="API base URL of the target, e.g. http://host:port/v1 (env OPENAI_BASE_URL). "
        "Without one, the suite runs against the embedded reference server.",
    )
    add(
        ["--api-key", "--conformance-api-key"],
        dest="conformance_api_key",
        metavar="KEY",
        help="API key sent as Authorization: Bearer (env OPENAI_API_KEY).",
    )
    add(
        ["--profile", "--conformance-profile"],
        dest="conformance_profile",
        metavar="FILE",
        help=profile_help("the target") + ".",
    )
    add(
        ["--edition", "--conformance-edition"],
        dest="conformance_edition",
        choices=EDITION_CHOICES,
        default=None,
        help=edition_help() + ".",
    )
    group.addoption(
        "--conformance-level",
        dest="conformance_level",
        choices=sorted(LEVELS),
        default=None,
        help=f"how many generated cases run (default {DEFAULT_LEVEL}; quick for paid endpoints).",
    )
    add(
        ["--timeout", "--conformance-timeout"],
        dest="conformance_timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"time limit of one whole HTTP exchange (default {DEFAULT_TIMEOUT:g}).",
    )
    group.addoption(
        "--conformance-strict",
        dest="conformance_strict",
        action="store_true",
        default=False,
        help="SHOULD rules fail tests too (pytest's own --strict is a different option).",
    )
    group.addoption(
        "--conformance-seed",
        dest="conformance_seed",
        default=None,
        metavar="N|random",
        help=f"hypothesis seed (default {DEFAULT_SEED}: the same cases every run).",
    )
    group.addoption(
        "--conformance-max-response-mb",
        dest="conformance_max_response_mb",
        type=float,
        default=None,
        metavar="MB",
        help=f"read at most this much of any answer, counted after decompression "
        f"(default {DEFAULT_MAX_RESPONSE_BYTES >> 20}).",
    )
    group.addoption(
        "--conformance-max-events",
        dest="conformance_max_events",
        type=int,
        default=None,
        metavar="N",
        help=f"read at most N events of a stream; a longer one is cut and judged as not "
        f"ended (default {DEFAULT_MAX_EVENTS}).",
    )
    group.addoption(
        "--conformance-max-json-depth",
        dest="conformance_max_json_depth",
        type=int,
        default=None,
        metavar="N",
        help=f"refuse to parse JSON answers nested deeper than N (default {DEFAULT_MAX_JSON_DEPTH}).",
    )
    group.addoption(
        "--conformance-max-json-values",
        dest="conformance_max_json_values",
        type=int,
        default=None,
        metavar="N",
        help=f"refuse to parse JSON answers holding more than N values, which bounds the "
        f"memory of one parse (default {DEFAULT_MAX_JSON_VALUES:,}).",
    )
    add(
        ["--run-budget", "--conformance-run-budget"],
        dest="conformance_run_budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="overall time budget of the run; tests past it are reported as not exercised "
        "(default: none).",
    )
    add(
        ["--record-har", "--conformance-record-har"],
        dest="conformance_record_har",
        default=None,
        metavar="FILE",
        help="write every exchange the suite sent to FILE as HAR 1.2, secrets scrubbed "
        "(read it back with images-conformance validate-cassette).",
    )


def _seed(config: pytest.Config) -> int:
    workerinput = getattr(config, "workerinput", None)
    if workerinput and SEED_WORKERINPUT in workerinput:
        return int(workerinput[SEED_WORKERINPUT])
    raw = config.getoption("conformance_seed")
    if raw is None:
        return DEFAULT_SEED
    if str(raw).lower() == "random":
        return random.SystemRandom().randrange(2**32)
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(
            f"--conformance-seed must be an integer or 'random'; got {raw!r}"
        ) from None


def build_options(config: pytest.Config) -> SuiteOptions:
    """Read options and environment; raise pytest.UsageError for unusable values."""
    base_url = config.getoption("conformance_base_url") or os.environ.get("OPENAI_BASE_URL") or None
    if base_url is None and config.pluginmanager.hasplugin("base_url"):
        base_url = config.getoption("base_url", None) or None
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--base-url must be an http(s) URL; got {base_url!r}")
    api_key = config.getoption("conformance_api_key") or os.environ.get("OPENAI_API_KEY") or None
    profile_path = config.getoption("conformance_profile")
    edition = config.getoption("conformance_edition")
    try:
        profile = load_profile(profile_path, edition)
    except ProfileError as exc:
        raise pytest.UsageError(str(exc)) from None
    timeout = config.getoption("conformance_timeout")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if timeout <= 0:
        raise pytest.UsageError(f"--timeout must be positive; got {timeout:g}")
    cap_mb = config.getoption("conformance_max_response_mb")
    max_bytes = DEFAULT_MAX_RESPONSE_BYTES if cap_mb is None else int(cap_mb * 1024 * 1024)
    if max_bytes <= 0:
        raise pytest.UsageError("--conformance-max-response-mb must be positive")
    max_events = config.getoption("conformance_max_events") or DEFAULT_MAX_EVENTS
    max_depth = config.getoption("conformance_max_json_depth") or DEFAULT_MAX_JSON_DEPTH
    max_values = config.getoption("conformance_max_json_values") or DEFAULT_MAX_JSON_VALUES
    if max_events <= 0 or max_depth <= 0 or max_values <= 0:
        raise pytest.UsageError(
            "--conformance-max-events/--conformance-max-json-depth/--conformance-max-json-values:"
            " positive"
        )
    run_budget = config.getoption("conformance_run_budget")
    if run_budget is not None and run_budget <= 0:
        raise pytest.UsageError(f"--run-budget must be positive; got {run_budget:g}")
    if base_url:
        remember(_url_secrets(base_url))
    return SuiteOptions(
        base_url=base_url,
        api_key=secret(api_key),
        profile=profile,
        profile_path=str(profile_path) if profile_path else None,
        level=LEVELS[config.getoption("conformance_level") or DEFAULT_LEVEL],
        timeout=float(timeout),
        strict=bool(config.getoption("conformance_strict") or profile.strict),
        seed=_seed(config),
        max_response_bytes=max_bytes,
        max_stream_events=max_events,
        max_json_depth=max_depth,
        max_json_values=max_values,
        run_budget=run_budget,
        record_har=har_path(config),
    )


def _url_secrets(url: str) -> list[str]:
    """A password written in a base URL (masked in output like the API key)."""
    from urllib.parse import urlsplit

    try:
        return [urlsplit(url).password or ""]
    except ValueError:
        return []


HAR_WORKERINPUT = "images_conformance_har"


def har_path(config: pytest.Config) -> str | None:
    """The absolute path of ``--record-har`` (as the controller resolved it, in a worker)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput and HAR_WORKERINPUT in workerinput:
        return str(workerinput[HAR_WORKERINPUT])
    raw = config.getoption("conformance_record_har", default=None)
    if not raw:
        return None
    p = Path(raw)
    return str(p if p.is_absolute() else Path(config.invocation_params.dir) / p)


def get_options(config: pytest.Config) -> SuiteOptions:
    """The suite options of this run, built once."""
    opts = config.stash.get(_STASH_KEY, None)
    if opts is None:
        opts = config.stash[_STASH_KEY] = build_options(config)
    return opts
