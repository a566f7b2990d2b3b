"""``--record-har FILE``: every exchange of a suite run written to one HAR 1.2 file.

The target hands each exchange it sends to a :class:`HarWriter` (secrets scrubbed as in
cassettes). Under pytest-xdist each worker writes its own part (``FILE.<worker>.part``)
and the controller merges the parts into ``FILE`` when the session ends, in the order the
exchanges started; stale parts of an earlier run are removed first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from images_conformance.exchanges import Target
from images_conformance.exchanges.formats.har import HarWriter, merge_har_files

from ._options import HAR_WORKERINPUT, har_path

PLUGIN_NAME = "images_conformance_har"


def _worker_id(config: pytest.Config) -> str | None:
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput and "workerid" in workerinput else None


def _parts(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.part"))


@contextlib.contextmanager
def har_recording(config: pytest.Config, target: Target) -> Iterator[None]:
    """While the block runs, write every exchange ``target`` sends to the run's HAR file
    (this worker's part of it under xdist); nothing without ``--record-har``."""
    raw = har_path(config)
    if raw is None:
        yield
        return
    worker = _worker_id(config)
    path = Path(raw) if worker is None else Path(f"{raw}.{worker}.part")
    writer = HarWriter(path, secrets=[target.api_key], comment="images-conformance suite run")
    target.recorders.append(writer.add)
    try:
        yield
    finally:
        target.recorders.remove(writer.add)
        writer.close()


class HarRecordingPlugin:
    """Controller side of ``--record-har``: clean up before, merge worker parts after."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written: int | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[HAR_WORKERINPUT] = str(self.path)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        parts = _parts(self.path)
        if parts or not self.path.exists():
            # xdist workers wrote parts (or no test opened the target: an empty HAR).
            self.written = merge_har_files(parts, self.path)
            for part in parts:
                part.unlink(missing_ok=True)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.path.exists():
            terminalreporter.write_line(f"images-conformance: exchanges written to {self.path}")


def register(config: pytest.Config) -> None:
    """Register the controller side when ``--record-har`` is given (not in xdist workers)."""
    if getattr(config, "workerinput", None) is not None:
        return
    raw = har_path(config)
    if raw and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        path = Path(raw)
        for stale in [path, *_parts(path)]:  # before any worker starts writing
            stale.unlink(missing_ok=True)
        config.pluginmanager.register(HarRecordingPlugin(path), PLUGIN_NAME)
