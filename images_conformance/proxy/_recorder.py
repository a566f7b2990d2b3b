"""``--record-har``: the traffic through the proxy as a HAR 1.2 file, written as it flows.

The project's HAR writer (``HarWriter``) writes the entries, with its secret scrubbing;
this module only feeds it from a thread of its own, so the proxy's event loop never
waits on the disk, and memory stays bounded however long the proxy runs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

from images_conformance.exchanges.formats._har_write import HarWriter

from ._exchange import to_exchange
from ._observed import Observed


class HarRecorder:
    """Appends one HAR entry per exchange to ``path`` from a writer thread; :meth:`close`
    completes the file. ``secrets``: the API keys seen so far (scrubbed everywhere)."""

    def __init__(
        self,
        path: str | Path,
        origin: str,
        secrets: Callable[[], Iterable[str]],
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_queued: int = 256,
    ) -> None:
        self.path = Path(path)
        self.origin = origin
        self.secrets = secrets
        self.max_bytes = max_bytes
        self.dropped = 0
        """Exchanges not recorded because the writer fell behind by ``max_queued``."""
        self._writer = HarWriter(self.path, creator="images-conformance proxy")
        self._queue: queue.Queue[Observed | None] = queue.Queue(max_queued)
        self._thread = threading.Thread(target=self._write, name="proxy-har", daemon=True)
        self._thread.start()

    @property
    def count(self) -> int:
        """Exchanges written so far."""
        return self._writer.count

    def add(self, obs: Observed) -> None:
        """Queue an exchange for the file; never blocks."""
        try:
            self._queue.put_nowait(obs)
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while True:
            obs = self._queue.get()
            if obs is None:
                return
            try:
                self._writer.add(
                    to_exchange(obs, self.origin, self.max_bytes),
                    secrets=list(self.secrets()),
                    started=datetime.fromtimestamp(obs.started, timezone.utc),
                )
            except Exception:  # an entry that cannot be written is counted, never fatal
                self.dropped += 1

    def close(self, timeout: float = 60.0) -> None:
        """Write what is queued and end the document."""
        self._queue.put(None)
        self._thread.join(timeout)
        self._writer.close()
