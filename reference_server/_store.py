"""The store behind the image URLs of the dall-e models: expiring and capped."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    content_type: str
    expires_at: float


class ImageStore:
    """Images served by URL, each valid for ``ttl`` seconds, at most ``max_items`` kept.

    When full, the oldest image is evicted first. Thread safe: handlers may run in a
    thread pool. ``clock`` is injectable (monotonic seconds) for tests.
    """

    def __init__(
        self,
        *,
        ttl: float = 3600,
        max_items: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.ttl = float(ttl)
        self.max_items = int(max_items)
        self._clock = clock
        self._items: OrderedDict[str, StoredImage] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, data: bytes, *, content_type: str = "image/png", suffix: str = ".png") -> str:
        """Store an image; return its name (``<random id><suffix>``)."""
        name = secrets.token_urlsafe(18) + suffix
        now = self._clock()
        with self._lock:
            self._expire(now)
            self._items[name] = StoredImage(data, content_type, now + self.ttl)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return name

    def get(self, name: str) -> StoredImage | None:
        """The image stored under ``name``, or None when unknown, expired or evicted."""
        now = self._clock()
        with self._lock:
            item = self._items.get(name)
            if item is None:
                return None
            if item.expires_at <= now:
                del self._items[name]
                return None
            return item

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)

    def _expire(self, now: float) -> None:
        # Items are in insertion order and share one ttl, so expired ones come first.
        while self._items:
            name, item = next(iter(self._items.items()))
            if item.expires_at > now:
                break
            del self._items[name]
