"""pytest plugin of the recorded scenarios (``conformance_tests/test_recorded.py``).

Adds the options ``--cassette-target``, ``--cassette-dir`` (or the environment variables
``IMAGES_CONFORMANCE_CASSETTE_TARGET`` and ``IMAGES_CONFORMANCE_CASSETTE_DIR``) and
``--cassette-gzip``,
registers the request matchers with every vcrpy instance pytest-recording makes, and
keeps the recorded scenarios out of ordinary suite runs: they are collected only when
asked for (a ``--record-mode``, a ``--cassette-*`` option, ``-m vcr``, or
``test_recorded`` named on the command line). See docs/cassettes.md.

Registered by ``conformance_tests/conftest.py``; a no-op if registered twice.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from images_conformance.exchanges.formats import (
    CassettePersister,
    CompressingPersister,
    register_matchers,
)

PLUGIN_NAME = "conformance_tests._recording"
RECORDED_MODULE = "conformance_tests.test_recorded"
REFERENCE_TARGET = "reference"
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "images-conformance", "images-conformance: the POST /images/generations suite"
    )
    group.addoption(
        "--cassette-target",
        dest="cassette_target",
        metavar="NAME",
        default=None,
        help="name of the target whose cassettes are recorded or replayed "
        "(cassettes/NAME/); default: the --profile's name, else the --base-url's host, "
        f"else {REFERENCE_TARGET!r} (the embedded reference server).",
    )
    group.addoption(
        "--cassette-dir",
        dest="cassette_dir",
        metavar="DIR",
        default=None,
        help="the directory holding one cassette directory per target "
        "(default: the checkout's cassettes/, else ./cassettes).",
    )
    group.addoption(
        "--cassette-gzip",
        dest="cassette_gzip",
        action="store_true",
        default=False,
        help="write new cassettes gzip-compressed (NAME.yaml.gz); both forms are read.",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording hook: make the ``images_endpoint`` and ``json_body`` matchers and
    our persister known (vcrpy before 9 takes no persister per cassette)."""
    register_matchers(vcr)
    vcr.register_persister(
        CompressingPersister if _opt(config, "cassette_gzip") else CassettePersister
    )


ENV_FALLBACKS = {
    "cassette_target": "IMAGES_CONFORMANCE_CASSETTE_TARGET",
    "cassette_dir": "IMAGES_CONFORMANCE_CASSETTE_DIR",
}
"""Environment variables read when the option is not given (or not registered in time)."""


def _opt(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name, default=None)
    if value is None and name in ENV_FALLBACKS:
        value = os.environ.get(ENV_FALLBACKS[name]) or None
    return value


def recorded_scenarios_requested(config: pytest.Config) -> bool:
    """Whether this run asked for the recorded scenarios."""
    if _opt(config, "record_mode") is not None:
        return True
    if _opt(config, "cassette_target") or _opt(config, "cassette_dir"):
        return True
    if "vcr" in (_opt(config, "markexpr") or ""):
        return True
    return any("test_recorded" in str(arg) for arg in config.args)


_RAN = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if recorded_scenarios_requested(config):
        config.stash[_RAN] = sum(
            getattr(getattr(i, "module", None), "__name__", "") == RECORDED_MODULE for i in items
        )
        return
    keep, drop = [], []
    for item in items:
        module = getattr(getattr(item, "module", None), "__name__", "")
        (drop if module == RECORDED_MODULE else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def safe_name(name: str) -> str:
    """A target name usable as a directory name."""
    cleaned = _NAME_RE.sub("-", name.strip()).strip("-.")
    if not cleaned:
        raise pytest.UsageError(f"--cassette-target {name!r} gives no usable directory name")
    return cleaned


def cassette_target_name(config: pytest.Config) -> str:
    """The name of the target's cassette directory (see the ``--cassette-target`` help)."""
    from ._options import get_options

    given = _opt(config, "cassette_target")
    if given:
        return safe_name(str(given))
    opts = get_options(config)
    if opts.profile_path:
        return safe_name(opts.profile.name)
    if opts.base_url:
        parts = urlsplit(opts.base_url)
        host = parts.hostname or "target"
        return safe_name(f"{host}_{parts.port}" if parts.port else host)
    return REFERENCE_TARGET


def cassette_root(config: pytest.Config) -> Path:
    """The directory holding one cassette directory per target."""
    given = _opt(config, "cassette_dir")
    if given:
        p = Path(given)
        return p if p.is_absolute() else Path(config.invocation_params.dir) / p
    checkout = Path(__file__).resolve().parents[1] / "cassettes"
    if checkout.is_dir():
        return checkout
    return Path(config.invocation_params.dir) / "cassettes"


def cassette_dir(config: pytest.Config) -> Path:
    """``<cassette root>/<target name>``."""
    return cassette_root(config) / cassette_target_name(config)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    count = config.stash.get(_RAN, 0)
    if not count:
        return
    mode = _opt(config, "record_mode") or "none"
    if _opt(config, "disable_recording"):
        how = "run live, no cassettes (--disable-recording)"
    elif mode == "none":
        how = f"replayed from {cassette_dir(config)}"
    else:
        how = f"recorded into (or replayed from) {cassette_dir(config)}, record mode {mode}"
    terminalreporter.write_line(f"images-conformance: {count} recorded scenarios {how}")
