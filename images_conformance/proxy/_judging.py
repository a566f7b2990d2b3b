"""Judging off the response path: a bounded backlog, one judge worker, capped reads.

The proxy hands each finished exchange to :meth:`JudgeWorker.submit`, which never waits:
past the backlog's limits (count or bytes) the exchange is recorded as not judged, with
the reason. A dispatcher thread takes exchanges in arrival order and runs the suite's
judge (``judge_exchange``) on them, by default in a worker process at a lower CPU
priority, so that decoding images never competes with forwarding.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from validator import Profile

from ._config import MB, ProxyConfig
from ._observed import Observed
from ._pieces import Judgement, judge_exchange

MAX_FETCHES = 10
"""Image URLs fetched per exchange at most (the document's n is at most 10)."""
JUDGE_NICENESS = 19
"""The judge process's CPU niceness: the lowest priority, so that on a busy machine the
forwarding (and the application and upstream beside it) always come first; when the judge
cannot keep up, the backlog's limits turn exchanges into "not judged", never into delay."""
JUDGE_TIMEOUT = 120.0
"""Seconds one exchange may take to judge before the worker is restarted."""

OnJudged = Callable[[Observed, "Judgement | None", "str | None"], None]
"""Called with each exchange, its judgement (None: not judged) and why not."""


@dataclass(frozen=True)
class JudgeLimits:
    """What the judge may read: answer bytes (decompressed too), fetched images."""

    max_judged_bytes: int
    fetch_urls: bool
    fetch_timeout: float
    max_fetch_bytes: int


class NotJudged(Exception):
    """The exchange cannot be judged (the message says why)."""


def decoded_body(body: bytes, encoding: str | None, cap: int) -> bytes:
    """The answer's bytes with its ``content-encoding`` undone, at most ``cap`` bytes out."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip", "deflate"):
            wbits = 47 if coding != "deflate" else 15  # gzip or zlib header; deflate: zlib
            try:
                d = zlib.decompressobj(wbits)
                out = d.decompress(body, cap + 1)
                if coding == "deflate" and not out and body:
                    raise zlib.error("empty")
            except zlib.error:
                if coding != "deflate":
                    raise NotJudged(f"the {coding} answer does not decompress") from None
                try:  # raw deflate, as some servers send it
                    d = zlib.decompressobj(-15)
                    out = d.decompress(body, cap + 1)
                except zlib.error:
                    raise NotJudged("the deflate answer does not decompress") from None
            if len(out) > cap:
                raise NotJudged(
                    f"the answer decompresses to more than the judging cap ({cap // MB} MB)"
                )
            body = out
        else:
            raise NotJudged(f"content-encoding {coding!r} is not decoded by the judge")
    return body


# -- the judge's side (runs in the worker process, or in the dispatcher thread) -------------
_state: dict[str, Any] = {}


def _init_worker(profile: Profile, limits: JudgeLimits, nice: int) -> None:
    _state["profile"] = profile
    _state["limits"] = limits
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the proxy, which drains us
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
        # Linux: run only on CPU time nothing else wants (the niceness stays as a fallback)
        if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _fetcher(limits: JudgeLimits) -> Callable[[str], Any]:
    import httpx

    client = _state.get("client")
    if client is None:
        client = _state["client"] = httpx.Client(
            timeout=limits.fetch_timeout, follow_redirects=True, trust_env=False
        )

    fetched = 0

    def fetch(url: str) -> tuple[int | None, dict[str, str], bytes] | None:
        nonlocal fetched
        fetched += 1
        if fetched > MAX_FETCHES:  # an answer may claim any number of items: n is at most 10
            return None
        try:
            with client.stream("GET", url) as resp:
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > limits.max_fetch_bytes:
                        return None
                    chunks.append(chunk)
                return resp.status_code, dict(resp.headers), b"".join(chunks)
        except Exception:  # any failure to fetch is "no answer" for the image rules
            return (None, {}, b"")

    return fetch


def judge_one(
    request_body: bytes,
    status: int | None,
    headers: list[tuple[str, str]],
    body: bytes,
    received_at: tuple[float, float] | None = None,
    profile: Profile | None = None,
    limits: JudgeLimits | None = None,
) -> Judgement:
    """Judge one forwarded exchange (decoding its answer first). Raises NotJudged."""
    profile = profile if profile is not None else _state["profile"]
    limits = limits if limits is not None else _state["limits"]
    encoding = next((v for k, v in headers if k.lower() == "content-encoding"), None)
    body = decoded_body(body, encoding, limits.max_judged_bytes)
    return judge_exchange(
        request_body,
        status,
        dict(headers),
        body,
        profile=profile,
        fetch=_fetcher(limits) if limits.fetch_urls else None,
        received_at=received_at,
        lenient_auth=True,  # a wrong key is the application's business, not the server's
    )


# -- the proxy's side -----------------------------------------------------------------------
class JudgeWorker:
    """A bounded backlog of exchanges and the thread that has them judged in order."""

    def __init__(self, config: ProxyConfig, on_judged: OnJudged) -> None:
        self.config = config
        self.on_judged = on_judged
        self.limits = JudgeLimits(
            config.max_judged_bytes, config.fetch_urls, config.fetch_timeout, config.max_fetch_bytes
        )
        self._queue: collections.deque[tuple[Observed, str | None]] = collections.deque()
        self._cond = threading.Condition()
        self._pending_bytes = 0
        self._busy = False
        self._closing = False
        self._abandoned = False
        self.dropped = 0
        """Exchanges not even listed (the backlog of skipped ones was full too)."""
        self.cpu_seconds = 0.0
        """CPU time the judge spent (worker process or thread), all exchanges together."""
        self.judged = 0
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._thread = threading.Thread(target=self._run, name="proxy-judge", daemon=True)

    def start(self) -> JudgeWorker:
        if self.config.judge_in == "process":
            self._pool = self._new_pool()
        self._thread.start()
        return self

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.config.profile, self.limits, JUDGE_NICENESS),
        )

    def submit(self, obs: Observed) -> None:
        """Queue an exchange for judging; never blocks."""
        size = len(obs.request_body) + len(obs.response_body or b"")
        with self._cond:
            skip = obs.skip
            if skip is None and (
                len(self._queue) >= self.config.max_backlog
                or self._pending_bytes + size > self.config.max_backlog_bytes
            ):
                skip = "the judging backlog was full (the judge could not keep up)"
            if skip is not None:
                obs.response_body = None
                obs.request_body = obs.request_body[:4096]
                size = 0
                if len(self._queue) >= 4 * self.config.max_backlog:
                    self.dropped += 1
                    return
            self._pending_bytes += size
            self._queue.append((obs, skip))
            self._cond.notify()

    def backlog(self) -> int:
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def close(self, timeout: float = 30.0) -> bool:
        """Judge what is queued (within ``timeout`` seconds) and stop; True when all was."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        done = not self._thread.is_alive()
        if self._pool is not None:
            self._pool.shutdown(wait=done, cancel_futures=True)
            if not done:
                self._kill_pool()
        return done

    def abandon(self) -> int:
        """Stop judging now; return how many queued exchanges were left unjudged."""
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
            self._closing = True
            self._abandoned = True
            self._cond.notify_all()
        self._kill_pool()
        return left

    def _kill_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                obs, skip = self._queue.popleft()
                self._busy = True
            size = len(obs.request_body) + len(obs.response_body or b"")
            try:
                judgement = None
                if skip is None:
                    judgement, skip = self._judge(obs)
                try:
                    self.on_judged(obs, judgement, skip)
                except Exception as exc:  # a bug in reporting must not stop judging
                    print(f"images-conformance proxy: cannot record an exchange: {exc!r}")
            finally:
                with self._cond:
                    self._pending_bytes -= size
                    self._busy = False

    def _judge(self, obs: Observed) -> tuple[Judgement | None, str | None]:
        received = (obs.started, obs.started + obs.duration_ms / 1000)
        args = (
            obs.request_body,
            obs.status,
            obs.response_headers,
            obs.response_body or b"",
            received,
        )
        if self._abandoned:
            return None, "judging was interrupted"
        try:
            if self._pool is None:
                start = time.thread_time()
                judgement = judge_one(*args, profile=self.config.profile, limits=self.limits)
                self.cpu_seconds += time.thread_time() - start
            else:
                judgement, spent = self._pool.submit(_timed_judge, *args).result(JUDGE_TIMEOUT)
                self.cpu_seconds += spent
            self.judged += 1
            return judgement, None
        except NotJudged as exc:
            return None, str(exc)
        except concurrent.futures.TimeoutError:
            self._kill_pool()
            if not self._abandoned:
                self._pool = self._new_pool()
            return None, f"judging took longer than {JUDGE_TIMEOUT:g} s (the judge was restarted)"
        except BrokenProcessPool:
            self._kill_pool()
            if not self._abandoned:
                self._pool = self._new_pool()
            return None, "the judge's worker process died on this exchange (restarted)"
        except Exception as exc:  # a judge defect is reported, never fatal to the proxy
            # the reason names the exception type only: reasons are counted, and must stay few
            return None, f"the judge failed on this exchange ({type(exc).__name__})"


def _timed_judge(*args: Any) -> tuple[Judgement, float]:
    start = time.process_time()
    judgement = judge_one(*args)
    return judgement, time.process_time() - start
