"""Wall time and peak memory of a suite run against each mode of the hostile server.

    .venv/bin/python bench/hostile_bench.py [MODE ...] [--timeout 10] [--level quick] [-k EXPR]

For each mode, a fresh measuring process starts the hostile server (tests/hostile) in a
thread and runs ``images-conformance run --level quick --timeout 10`` against it as its
only child; it then reports ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the peak
resident memory of that child) and the wall time. The target: under 1 GB per mode.
Figures go to stdout as a Markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANARY = "sk-canary-bench-0123456789abcdef"


def measure_one(mode: str, timeout: str, level: str, select: str | None) -> dict[str, object]:
    """Run the suite once against ``mode`` (called in a fresh process: see main)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from hostile import hostile_server

    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    with tempfile.TemporaryDirectory() as tmp, hostile_server(mode) as server:
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "images_conformance.cli.main",
                "run",
                "--base-url",
                server.base_url,
                "--api-key",
                CANARY,
                "--level",
                level,
                "--timeout",
                timeout,
                "--junitxml",
                f"{tmp}/junit.xml",
                "--conformance-report",
                f"{tmp}/report.json",
                "-q",
                "-p",
                "no:cacheprovider",
                *(["-k", select] if select else []),
            ],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        wall = time.monotonic() - start
        leaked = any(
            CANARY in text
            for text in (
                proc.stdout,
                proc.stderr,
                *(
                    Path(tmp, name).read_text(errors="replace")
                    for name in ("junit.xml", "report.json", "report.md")
                    if Path(tmp, name).exists()
                ),
            )
        )
        requests = server.counts
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {
        "mode": mode,
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak_kb / 1024),
        "requests": sum(requests.values()),
        "key_shown": leaked,
    }


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from hostile import MODES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modes", nargs="*", default=list(MODES))
    parser.add_argument("--timeout", default="10")
    parser.add_argument("--level", default="quick")
    parser.add_argument("-k", dest="select", help="run only the tests matching (pytest -k)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.modes[0], args.timeout, args.level, args.select)))
        return 0
    chosen = f" -k {args.select!r}" if args.select else ""
    print(
        f"images-conformance run --level {args.level} --timeout {args.timeout}{chosen}, one fresh"
    )
    print("process per mode; peak RSS = getrusage(RUSAGE_CHILDREN).ru_maxrss of the run\n")
    print("| mode | exit | wall s | peak RSS MB | requests | key shown |")
    print("|---|---|---|---|---|---|")
    for mode in args.modes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                mode,
                "--timeout",
                args.timeout,
                "--level",
                args.level,
                *(["-k", args.select] if args.select else []),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            row = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            print(f"| {mode} | bench failed: {out.stderr.strip()[-200:]} |||||")
            continue
        print(
            f"| {row['mode']} | {row['exit']} | {row['wall_s']} | {row['peak_rss_mb']} "
            f"| {row['requests']} | {'YES' if row['key_shown'] else 'no'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
