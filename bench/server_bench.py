"""Throughput and latency of the reference server, measured with concurrent clients.

Starts the reference server (in a subprocess by default, so the client does not share
its interpreter), then for each scenario sends a bounded number of gpt-image-1 requests
from ``--concurrency`` concurrent httpx clients and prints requests/s, images/s and
p50/p95 latency. Every request has its own prompt, so no answer comes from the image
cache (``--warm`` reuses one prompt to measure cached answers instead).

    python bench/server_bench.py                      # default scenarios
    python bench/server_bench.py --concurrency 4 --requests 40
    python bench/server_bench.py --base-url http://127.0.0.1:8000/v1   # any running target
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Scenario:
    name: str
    body: dict[str, Any]

    @property
    def n(self) -> int:
        return int(self.body.get("n", 1))


SCENARIOS = [
    Scenario("png 1024x1024 n=1", {"model": "gpt-image-1", "size": "1024x1024", "n": 1}),
    Scenario("png 1024x1024 n=10", {"model": "gpt-image-1", "size": "1024x1024", "n": 10}),
    Scenario(
        "jpeg 1536x1024 n=1",
        {"model": "gpt-image-1", "size": "1536x1024", "output_format": "jpeg", "n": 1},
    ),
    Scenario(
        "jpeg 1536x1024 n=10",
        {"model": "gpt-image-1", "size": "1536x1024", "output_format": "jpeg", "n": 10},
    ),
]


@dataclass
class Result:
    scenario: Scenario
    requests: int
    errors: int
    wall: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]


async def run_scenario(
    base_url: str, scenario: Scenario, *, requests: int, concurrency: int, warm: bool, run_id: str
) -> Result:
    """Send ``requests`` requests from ``concurrency`` workers; time each one."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        url = "/images/generations"
        # Warm-up (not measured): opens connections and loads encoders.
        await client.post(url, json={**scenario.body, "n": 1, "prompt": f"warm-up {run_id}"})
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(requests):
            queue.put_nowait(i)
        latencies: list[float] = []
        errors = 0

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                prompt = "bench" if warm else f"bench {run_id} {scenario.name} #{i}"
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, json={**scenario.body, "prompt": prompt})
                    ok = r.status_code == 200 and len(r.json().get("data", [])) == scenario.n
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return Result(scenario, requests, errors, wall, sorted(latencies))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict[str, str]:
    """This environment, with the checkout first on the import path of a child process."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


def wait_listening(proc: subprocess.Popen[bytes], port: int, *, seconds: float) -> bool:
    """Wait until ``proc`` accepts connections on 127.0.0.1:``port``; False when it
    exited first or ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def pin_to(cpus: set[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that keeps a child (its threads and children too) on ``cpus``."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


class Subprocess:
    """``python -m reference_server`` on a free port, stopped on exit."""

    def __init__(self, cpus: set[int] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpus = cpus
        """Run the server on these CPUs only (Linux), or anywhere when None."""

    def __enter__(self) -> Subprocess:
        env = child_env()
        cmd = [sys.executable, "-m", "reference_server", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*cmd, "--log-level", "warning"],
            env=env,
            stderr=subprocess.DEVNULL,
            preexec_fn=pin_to(self.cpus),
        )
        if not wait_listening(self.proc, self.port, seconds=20):
            self.__exit__()
            raise RuntimeError("the reference server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def print_table(results: list[Result], concurrency: int) -> None:
    header = f"{'scenario':<22} {'reqs':>5} {'err':>4} {'req/s':>7} {'img/s':>7} {'p50 ms':>8} {'p95 ms':>8}"
    print(f"concurrency {concurrency}, cpus {os.cpu_count()}, python {sys.version.split()[0]}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.scenario.name:<22} {r.requests:>5} {r.errors:>4} {r.rps:>7.1f} "
            f"{r.rps * r.scenario.n:>7.1f} {r.percentile(50) * 1000:>8.0f} "
            f"{r.percentile(95) * 1000:>8.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 1 when any request failed."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument(
        "--requests", type=int, default=48, help="requests per n=1 scenario (default 48)"
    )
    p.add_argument(
        "--requests-n10", type=int, default=16, help="requests per n=10 scenario (default 16)"
    )
    p.add_argument("--warm", action="store_true", help="reuse one prompt (cached answers)")
    p.add_argument("--in-process", action="store_true", help="run the server in a thread here")
    p.add_argument("--base-url", default=None, help="bench a running target instead")
    args = p.parse_args(argv)
    if args.concurrency < 1 or args.requests < 1 or args.requests_n10 < 1:
        p.error("counts must be positive")
    if not (1 <= args.requests <= 10_000 and 1 <= args.requests_n10 <= 10_000):
        p.error("request counts are capped at 10000")
    run_id = f"{time.time_ns():x}"

    def bench(base_url: str) -> list[Result]:
        out = []
        for sc in SCENARIOS:
            count = args.requests if sc.n == 1 else args.requests_n10
            out.append(
                asyncio.run(
                    run_scenario(
                        base_url,
                        sc,
                        requests=count,
                        concurrency=args.concurrency,
                        warm=args.warm,
                        run_id=run_id,
                    )
                )
            )
        return out

    if args.base_url:
        results = bench(args.base_url.rstrip("/"))
    elif args.in_process:
        sys.path.insert(0, str(ROOT))
        from reference_server import running_server

        with running_server() as server:
            results = bench(server.base_url)
    else:
        with Subprocess() as server:
            results = bench(server.base_url)
    print_table(results, args.concurrency)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
