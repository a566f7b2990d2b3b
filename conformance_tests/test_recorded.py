"""The recorded scenarios: a fixed catalogue, recorded from a target once, replayed offline.

Record a target's answers (one cassette per scenario, in ``cassettes/<target>/``)::

    pytest conformance_tests/test_recorded.py --record-mode=once --base-url URL [--api-key KEY]

Replay them, with no network (``--cassette-target NAME`` picks another target's)::

    pytest conformance_tests/test_recorded.py

Every exchange, recorded or replayed, is judged by the validator (request, response,
images, stream, error) exactly as ``images-conformance validate-cassette`` judges the
cassette file. A scenario whose cassette is missing is skipped, naming the file.
See docs/cassettes.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

from images_conformance.exchanges._client import Target
from images_conformance.exchanges.formats import (
    GENERATIONS_SUFFIX,
    CassettePersister,
    endpoint_key,
    recording_config,
)
from images_conformance.judge import judge_exchange
from validator import validate_request

from ._options import SuiteOptions
from ._recording import cassette_dir, cassette_target_name
from ._scenarios import SCENARIOS, Scenario, wire_bytes
from ._verdict import SuiteError, Verdict
from .plugin import open_target

REPLAY_PLACEHOLDER_URL = "http://recorded-target.invalid/v1"


# -- pytest-recording configuration (module scope: these tests only) -----------------------
@pytest.fixture(scope="module")
def vcr_cassette_dir(pytestconfig: pytest.Config) -> str:
    return str(cassette_dir(pytestconfig))


@pytest.fixture(scope="module")
def vcr_config(pytestconfig: pytest.Config, conformance_options: SuiteOptions) -> dict[str, Any]:
    return recording_config(
        api_key=conformance_options.api_key,
        compress=bool(pytestconfig.getoption("cassette_gzip", default=False)),
    )


def _replaying(record_mode: str, disable_recording: bool) -> bool:
    return record_mode == "none" and not disable_recording


@pytest.fixture(scope="module")
def _live_target(
    conformance_options: SuiteOptions, record_mode: str, disable_recording: bool
) -> Iterator[Target | None]:
    """The real target when recording (or with --disable-recording); None when replaying.

    Module scope, so that it is set up before the cassette: starting the embedded
    reference server or checking that the target answers is never recorded.
    """
    if _replaying(record_mode, disable_recording):
        yield None
        return
    with open_target(conformance_options) as target:
        yield target


@pytest.fixture(scope="module")
def _replay_targets(conformance_options: SuiteOptions) -> Iterator[dict[str, Target]]:
    """Targets addressed at the base URLs the cassettes were recorded from (never contacted)."""
    targets: dict[str, Target] = {}
    yield targets
    for target in targets.values():
        target.close()


def _recorded_base_url(cassette: Any) -> str:
    for request in getattr(cassette, "requests", []):
        uri = str(request.uri)
        if endpoint_key(uri)[0] == GENERATIONS_SUFFIX:
            return uri[: uri.rstrip("/").rfind(GENERATIONS_SUFFIX)]
    return REPLAY_PLACEHOLDER_URL


@pytest.fixture
def conformance_target(
    _live_target: Target | None,
    _replay_targets: dict[str, Target],
    vcr: Any,
    conformance_options: SuiteOptions,
) -> Target:
    """Overrides the suite's target here: live when recording, the recorded URL when replaying."""
    if _live_target is not None:
        return _live_target
    base_url = _recorded_base_url(vcr)
    target = _replay_targets.get(base_url)
    if target is None:
        opts = conformance_options
        target = _replay_targets[base_url] = Target(
            base_url,
            api_key=opts.api_key,
            profile=opts.profile,
            timeout=opts.timeout,
            max_response_bytes=opts.max_response_bytes,
            replayed=True,
        )
    return target


# -- the scenarios ---------------------------------------------------------------------------
def _params() -> list[Any]:
    return [
        pytest.param(
            s,
            id=s.id,
            marks=[
                pytest.mark.vcr,
                pytest.mark.default_cassette(s.id),
                pytest.mark.rules(*s.rules),
                pytest.mark.feature(*s.features),
            ],
        )
        for s in SCENARIOS
    ]


def _record_command(config: pytest.Config) -> str:
    name = cassette_target_name(config)
    target = "" if name == "reference" else f" --base-url URL --cassette-target {name}"
    given_dir = config.getoption("cassette_dir", default=None)
    where = f" --cassette-dir {given_dir}" if given_dir else ""
    return f"pytest conformance_tests/test_recorded.py --record-mode=once{target}{where}"


def _shown(path: str | Path) -> str:
    p = Path(path)
    with contextlib.suppress(ValueError):
        return str(p.relative_to(Path.cwd()))
    return str(p)


def _check_catalogue(scenario: Scenario, faults: list[Any]) -> None:
    rules = sorted({v.rule for v in faults})
    if scenario.kind == "valid" and faults:
        raise SuiteError(f"scenario {scenario.id} is meant to be valid, but breaks {rules}")
    if scenario.kind == "invalid" and not faults:
        raise SuiteError(
            f"scenario {scenario.id} is meant to be invalid, but the validator accepts it"
        )
    if scenario.breaks is not None and rules != [scenario.breaks]:
        raise SuiteError(
            f"scenario {scenario.id} must break exactly {scenario.breaks}; it breaks {rules}"
        )


@pytest.mark.parametrize("scenario", _params())
def test_recorded_scenario(
    scenario: Scenario,
    conformance_options: SuiteOptions,
    conformance_target: Target,
    conformance_verdict: Verdict,
    vcr: Any,
    record_mode: str,
    disable_recording: bool,
    pytestconfig: pytest.Config,
) -> None:
    """One fixed request, answered by the target (recorded) or by its cassette (replayed)."""
    profile = conformance_options.profile
    body = scenario.for_profile(profile)
    if body is None:
        pytest.skip(f"profile {profile.name!r} serves no model for scenario {scenario.id}")
    replaying = _replaying(record_mode, disable_recording)
    if replaying and vcr is not None and CassettePersister.existing(_cassette_path(vcr)) is None:
        pytest.skip(
            f"no cassette {_shown(_cassette_path(vcr))} (record it with: {_record_command(pytestconfig)})"
        )
    raw = wire_bytes(body)
    _check_catalogue(scenario, validate_request(body, profile=profile))

    target = conformance_target
    source = (
        f"replayed from {_shown(_cassette_path(vcr))}" if replaying and vcr is not None else "live"
    )
    what = f"scenario {scenario.id} ({scenario.title}); {source}"
    try:
        exchange = target.post_generation(raw, may_generate=scenario.kind == "valid")
        exchange.stream = scenario.stream

        def fetch(url: str) -> tuple[int | None, dict[str, str], bytes]:
            got = target.fetch(url)
            return got.status, dict(got.headers), got.body

        if exchange.status is None:
            conformance_verdict.fail_exchange(
                exchange, f"no usable answer: {exchange.error}", what=what
            )
        judgement = judge_exchange(
            exchange,
            profile=profile,
            fetch=fetch,
            received_at=exchange.received_at,
        )
    except CannotOverwriteExistingCassetteException as exc:
        pytest.fail(
            f"{_shown(_cassette_path(vcr))} has no recorded answer for a request this scenario sends "
            f"(the catalogue or the target changed since it was recorded); record it again "
            f"with --record-mode=rewrite.\n{str(exc)[:1500]}",
            pytrace=False,
        )
    if exchange.error and exchange.status is not None:
        conformance_verdict.fail_exchange(
            exchange, f"the answer could not be read: {exchange.error}", what=what
        )
    extra = "; ".join(judgement.notes)
    conformance_verdict.check(
        exchange, judgement.violations, what=what, extra=extra, judgement=judgement
    )


def _cassette_path(cassette: Any) -> str:
    """The file of a vcrpy cassette (``path`` from vcrpy 9; ``_path`` before)."""
    return getattr(cassette, "path", None) or cassette._path
