"""Wall time and request count of ``images-conformance run`` against the embedded server.

Runs the command as a user would (a fresh interpreter, the embedded reference server,
no base URL) at one or more conformance levels, and prints, per level: wall time
(median of ``--repeat`` runs), tests, exchanges judged, requests sent (image URL fetches
included), billable generations, and the outcome counts. Target: the standard level
in at most 60 s on a 2-core machine.

    python bench/suite_bench.py                        # standard level
    python bench/suite_bench.py --level quick --level thorough --repeat 3
    python bench/suite_bench.py -- -n 2                # extra pytest arguments after --
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

_TOTALS = re.compile(
    r"(\d+) conformance tests judged (\d+) exchanges: (\d+) requests, (\d+) billable generations"
)
_OUTCOME = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)")
TARGET_SECONDS = 60.0


@dataclass
class Result:
    level: str
    seconds: float
    exit_code: int
    tests: int
    exchanges: int
    requests: int
    generations: int
    outcomes: dict[str, int]


def run_once(level: str, extra: list[str]) -> Result:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    command = [
        sys.executable,
        "-m",
        "images_conformance.cli.main",
        "run",
        "--level",
        level,
        "-q",
        *extra,
    ]
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        proc = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
        )
        seconds = time.perf_counter() - start
    out = proc.stdout
    totals = _TOTALS.search(out)
    if totals is None:
        sys.stderr.write(out[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"no images-conformance summary in the output (exit {proc.returncode})")
    last = out.strip().splitlines()[-1]
    outcomes = {name: int(count) for count, name in _OUTCOME.findall(last)}
    tests, exchanges, requests, generations = (int(x) for x in totals.groups())
    return Result(
        level, seconds, proc.returncode, tests, exchanges, requests, generations, outcomes
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", action="append", choices=["quick", "standard", "thorough"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per level (median reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per level")
    parser.add_argument("extra", nargs="*", help="pytest arguments (after --)")
    args = parser.parse_args(argv)
    worst = 0
    for level in args.level or ["standard"]:
        runs = [run_once(level, args.extra) for _ in range(max(1, args.repeat))]
        result = runs[0]
        result.seconds = statistics.median(r.seconds for r in runs)
        worst = max(worst, result.exit_code)
        if args.json:
            print(json.dumps(asdict(result)))
            continue
        verdict = ""
        if level == "standard":
            verdict = " (target <= 60 s: " + (
                "met)" if result.seconds <= TARGET_SECONDS else "MISSED)"
            )
        print(
            f"{level:9} {result.seconds:6.1f} s{verdict}  tests {result.tests}, exchanges "
            f"{result.exchanges}, requests {result.requests}, billable generations "
            f"{result.generations}, outcomes {result.outcomes}, exit {result.exit_code}"
        )
    return worst


if __name__ == "__main__":
    sys.exit(main())
