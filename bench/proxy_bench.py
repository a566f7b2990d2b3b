"""What the validating proxy costs an application: the same load against the reference
server directly and through the proxy, side by side in one run.

Starts the reference server and ``images-conformance proxy`` (judging in its default
lower-priority worker process) as subprocesses, then runs each scenario from
``--concurrency`` concurrent clients, alternating direct and proxied rounds so that both
see the same machine load. Each request has its own prompt (the server generates every
image), except in the "cached answer" scenarios, where one prompt is repeated so that the
server answers from its image cache and the figures show the proxy's own cost.

Prints requests/s, p50/p95 latency and, for the streaming scenario, time to the first
event, with the ratios the proxy is held to (throughput >= 90% of direct; added p50
latency <= max(5 ms, 10%); first event within 5 ms of direct), then the CPU the proxy
spent forwarding and judging per exchange (from its process and its report).

    python bench/proxy_bench.py                    # 8 clients, 48 requests per round, 2 rounds
    python bench/proxy_bench.py --requests 96 --rounds 3
    python bench/proxy_bench.py --pin              # the proxy on a CPU of its own

By default the load, the server and the proxy share every CPU, so on a small machine the
proxy's own CPU is taken from the server: the worst case. ``--pin`` gives the proxy one
CPU and the server and load the others (in both sides of each pair of rounds), as when the
proxy runs beside an application on a machine with room for it: the figures then show the
cost of the extra hop itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_bench import Subprocess, child_env, free_port, pin_to, wait_listening


@dataclass(frozen=True)
class Scenario:
    name: str
    body: dict[str, Any]
    cached: bool = False
    """One prompt for every request: the server answers from its image cache, so the
    figures show the proxy's own cost without the generation's."""

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True


SCENARIOS = [
    Scenario("png 1024x1024 n=1", {"model": "gpt-image-1", "size": "1024x1024", "n": 1}),
    Scenario(
        "png 1024x1024 n=1, cached answer",
        {"model": "gpt-image-1", "size": "1024x1024", "n": 1},
        cached=True,
    ),
    Scenario(
        "stream png 1024x1024 partial_images=2",
        {"model": "gpt-image-1", "size": "1024x1024", "stream": True, "partial_images": 2},
    ),
    Scenario(
        "stream, cached answer",
        {"model": "gpt-image-1", "size": "1024x1024", "stream": True, "partial_images": 2},
        cached=True,
    ),
]


@dataclass
class Sample:
    requests: int = 0
    errors: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_event: list[float] = field(default_factory=list)

    def add(self, other: Sample) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.wall += other.wall
        self.latencies += other.latencies
        self.first_event += other.first_event

    @property
    def rps(self) -> float:
        return self.requests / self.wall if self.wall else 0.0


def p(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1]


async def run_round(
    base_url: str, sc: Scenario, *, requests: int, concurrency: int, tag: str
) -> Sample:
    """One round of ``requests`` requests from ``concurrency`` clients.

    The load comes from ``aiohttp`` (a fraction of a millisecond of CPU per request), so
    that on a small machine the load generator takes as little CPU as possible from the
    server and the proxy it measures.
    """
    out = Sample()
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        url = base_url + "/images/generations"
        warm = "bench: one prompt" if sc.cached else f"warm-up {tag}"
        async with client.post(url, json={**sc.body, "stream": False, "prompt": warm}) as r:
            await r.read()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(requests):
            queue.put_nowait(i)

        async def one(i: int) -> None:
            prompt = "bench: one prompt" if sc.cached else f"bench {tag} #{i}"
            body = {**sc.body, "prompt": prompt}
            t0 = time.perf_counter()
            ok = False
            try:
                async with client.post(url, json=body) as r:
                    if sc.stream:
                        head, first = b"", None
                        async for chunk in r.content.iter_any():
                            if first is None:
                                head += chunk
                                if b"\n\n" in head:  # the first whole event arrived
                                    first = time.perf_counter() - t0
                            if b"image_generation.completed" in chunk:
                                ok = r.status == 200
                        if first is not None:
                            out.first_event.append(first)
                    else:
                        got = json.loads(await r.read())
                        ok = r.status == 200 and len(got.get("data", [])) == 1
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                ok = False
            out.latencies.append(time.perf_counter() - t0)
            out.requests += 1
            out.errors += not ok

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await one(i)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        out.wall = time.perf_counter() - start
    return out


def _cpu_seconds(pid: int) -> float:
    """user + system CPU of a process (Linux /proc), its children excluded."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Proxy:
    """``images-conformance proxy`` in a subprocess in front of ``upstream``."""

    def __init__(self, upstream: str, report: Path, cpus: set[int] | None = None) -> None:
        self.cpus = cpus
        self.port = free_port()
        self.upstream = upstream
        self.report = report
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Proxy:
        env = child_env()
        code = "import sys; from images_conformance.cli.main import main; sys.exit(main())"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "proxy",
                "--upstream",
                self.upstream,
                "--port",
                str(self.port),
                "--report",
                str(self.report),
                "--quiet",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=pin_to(self.cpus),
        )
        if not wait_listening(self.proc, self.port, seconds=30):
            self.__exit__()
            raise RuntimeError("the proxy did not start")
        return self

    def stop(self) -> str:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=120)
        return err.decode(errors="replace")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 1 when a request failed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=48, help="requests per round (default 48)")
    ap.add_argument("--rounds", type=int, default=2, help="direct/proxied round pairs (default 2)")
    ap.add_argument(
        "--only",
        metavar="TEXT",
        help="run only the scenarios whose name contains TEXT (e.g. 'cached', 'stream')",
    )
    ap.add_argument(
        "--pin",
        action="store_true",
        help="give the proxy (and its judge) a CPU of its own, the server and the load the "
        "others, as a proxy deployed beside an application gets (Linux, 2 CPUs or more)",
    )
    args = ap.parse_args(argv)
    app_cpus = proxy_cpus = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            ap.error("--pin needs at least 2 CPUs")
        app_cpus, proxy_cpus = set(cpus[:-1]), {cpus[-1]}
        os.sched_setaffinity(0, app_cpus)
    if not (
        1 <= args.concurrency <= 256 and 1 <= args.requests <= 10_000 and 1 <= args.rounds <= 20
    ):
        ap.error("concurrency 1-256, requests 1-10000, rounds 1-20")
    scenarios = [sc for sc in SCENARIOS if args.only is None or args.only in sc.name]
    if not scenarios:
        ap.error(f"no scenario name contains {args.only!r}")
    run_id = f"{time.time_ns():x}"
    results: dict[tuple[str, str], Sample] = {}
    with tempfile.TemporaryDirectory() as tmp, Subprocess(app_cpus) as server:
        report_path = Path(tmp) / "proxy.json"
        with Proxy(server.base_url, report_path, proxy_cpus) as proxy:
            assert proxy.proc is not None
            cpu_before = _cpu_seconds(proxy.proc.pid)
            for sc in scenarios:
                for rnd in range(args.rounds):
                    order = [("direct", server.base_url), ("proxy", proxy.base_url)]
                    if rnd % 2:
                        order.reverse()
                    for where, base in order:
                        got = asyncio.run(
                            run_round(
                                base,
                                sc,
                                requests=args.requests,
                                concurrency=args.concurrency,
                                tag=f"{run_id} {where} {sc.name} {rnd}",
                            )
                        )
                        results.setdefault((sc.name, where), Sample()).add(got)
            forwarding_cpu = _cpu_seconds(proxy.proc.pid) - cpu_before
            stderr = proxy.stop()
        report = json.loads(report_path.read_text()) if report_path.exists() else {}

    print(
        f"concurrency {args.concurrency}, {args.rounds} round(s) of {args.requests} requests "
        f"per scenario and side, cpus {os.cpu_count()}, python {sys.version.split()[0]}"
    )
    if args.pin:
        print(
            f"pinned: server and load on CPUs {sorted(app_cpus or ())}, proxy on {sorted(proxy_cpus or ())}"
        )
    head = f"{'scenario':<38} {'side':<7} {'err':>4} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'1st event p50':>14}"
    print(head)
    print("-" * len(head))
    for sc in scenarios:
        for where in ("direct", "proxy"):
            s = results[(sc.name, where)]
            fe = f"{p(s.first_event, 50) * 1000:>11.1f} ms" if sc.stream else f"{'-':>14}"
            print(
                f"{sc.name:<38} {where:<7} {s.errors:>4} {s.rps:>7.2f} "
                f"{p(s.latencies, 50) * 1000:>8.1f} {p(s.latencies, 95) * 1000:>8.1f} {fe}"
            )
    print()
    print(
        "targets: throughput >= 90% of direct; added p50 <= max(5 ms, 10%); first event within 5 ms"
    )
    for sc in scenarios:
        d, x = results[(sc.name, "direct")], results[(sc.name, "proxy")]
        ratio = x.rps / d.rps if d.rps else float("nan")
        dp50, xp50 = p(d.latencies, 50) * 1000, p(x.latencies, 50) * 1000
        added, allowed = xp50 - dp50, max(5.0, 0.10 * dp50)
        line = (
            f"{sc.name}: throughput {ratio:.1%} of direct ({'ok' if ratio >= 0.9 else 'MISSED'}); "
            f"p50 +{added:.1f} ms (allowed {allowed:.1f}: {'ok' if added <= allowed else 'MISSED'})"
        )
        if sc.stream:
            fe = (p(x.first_event, 50) - p(d.first_event, 50)) * 1000
            line += f"; first event +{fe:.1f} ms ({'ok' if fe <= 5 else 'MISSED'})"
        print(line)
    total = sum(s.requests for (name, where), s in results.items() if where == "proxy")
    proxy_info = report.get("proxy", {})
    judged = proxy_info.get("judge", {}).get("judged", 0)
    judge_cpu = proxy_info.get("judge", {}).get("cpu_s", float("nan"))
    print(
        f"proxy CPU forwarding: {forwarding_cpu / max(total, 1) * 1000:.2f} ms per exchange "
        f"({total} exchanges, judge process excluded)"
    )
    print(
        f"judging CPU: {judge_cpu / max(judged, 1) * 1000:.1f} ms per exchange "
        f"({judged} judged, not judged: {proxy_info.get('not_judged', {})}); verdict "
        f"{report.get('verdict', {}).get('status')}"
    )
    if "Traceback" in stderr:
        print(stderr, file=sys.stderr)
    return 1 if any(s.errors for s in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
