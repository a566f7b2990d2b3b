"""Request economy of the conformance suite: billable generations per level, and rule coverage.

Runs the suite (``pytest --pyargs conformance_tests``) at one conformance level with a
conformance report, then reads the report:

- billable generations (200 answers carrying images) and requests, in all and per test;
- the positive rules (kinds response, stream and image, for the features the profile
  declares) and whether a served answer exercised each of them (see
  ``images_conformance.report.rule_applies``);
- a greedy cover: the fewest generations, by whole tests, that still exercise every
  positive rule this run exercised (what a leaner quick level could spend).

Target (issue 6): ``quick`` exercises every positive rule with at most 25 billable
generations. The exit status is 0 when the run meets it, 1 when not.

    python bench/cost_bench.py                        # quick, embedded reference server
    python bench/cost_bench.py --level standard
    python bench/cost_bench.py -- --base-url http://127.0.0.1:8000/v1   # any pytest args after --
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

POSITIVE_KINDS = ("response", "stream", "image")


def run_suite(level: str, extra: list[str]) -> tuple[dict[str, Any], float, int]:
    """Run the suite with a report; return (report, wall seconds, pytest exit status)."""
    with tempfile.TemporaryDirectory(prefix="cost-bench-") as tmp:
        report_path = Path(tmp) / "report.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "conformance_tests",
            "-p",
            "no:cacheprovider",
            "-q",
            "--conformance-level",
            level,
            "--conformance-report",
            str(report_path),
            *extra,
        ]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=False)
        wall = time.monotonic() - start
        if not report_path.exists():
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"the suite wrote no report (exit status {proc.returncode})")
        return json.loads(report_path.read_text(encoding="utf-8")), wall, proc.returncode


def greedy_cover(tests: list[dict[str, Any]], wanted: set[str]) -> list[dict[str, Any]]:
    """Tests that together exercise ``wanted``, chosen by most new rules per generation."""
    left = set(wanted)
    chosen: list[dict[str, Any]] = []
    pool = [t for t in tests if t.get("exercised")]
    while left:
        best = max(
            pool,
            key=lambda t: (
                len(left & set(t["exercised"])) / max(1, t["generations"]),
                -t["generations"],
            ),
            default=None,
        )
        if best is None or not left & set(best["exercised"]):
            break
        chosen.append(best)
        left -= set(best["exercised"])
        pool.remove(best)
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="quick", choices=["quick", "standard", "thorough"])
    parser.add_argument("--target", type=int, default=25, help="most billable generations allowed")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    opts = parser.parse_args(args)

    report, wall, status = run_suite(opts.level, extra)
    features = set(report["target"]["features"])
    positive = [
        r
        for r in report["rules"]
        if r["kind"] in POSITIVE_KINDS and (r["feature"] is None or r["feature"] in features)
    ]
    missing = [
        r["id"] for r in positive if r["outcome"] not in ("passed", "failed", "expected-failure")
    ]
    tests = report["tests"]
    spending = sorted(
        (t for t in tests if t["generations"]), key=lambda t: (-t["generations"], t["nodeid"])
    )
    generations = report["cost"]["billable_generations"]
    exercised = {r["id"] for r in positive} - set(missing)
    cover = greedy_cover(tests, exercised)
    cover_cost = sum(t["generations"] for t in cover)
    ok = not missing and generations <= opts.target and status in (0, 1)

    figures = {
        "level": opts.level,
        "target": report["target"]["base_url"] or "embedded reference server",
        "billable_generations": generations,
        "requests": report["cost"]["requests"],
        "wall_s": round(wall, 2),
        "positive_rules": len(positive),
        "positive_rules_exercised": len(exercised),
        "not_exercised": missing,
        "generations_by_test": {t["nodeid"]: t["generations"] for t in spending},
        "greedy_cover": {t["nodeid"]: t["generations"] for t in cover},
        "greedy_cover_generations": cover_cost,
        "verdict": report["verdict"]["status"],
        "meets_target": ok,
    }
    if opts.json:
        print(json.dumps(figures, indent=2))
        return 0 if ok else 1
    print(f"images-conformance cost bench: level {opts.level} against {figures['target']}")
    print(
        f"billable generations: {generations} (target <= {opts.target}), "
        f"requests: {figures['requests']}, wall time {wall:.1f} s, verdict {figures['verdict']}"
    )
    print(
        f"positive rules: {len(positive)}, exercised by a served answer: {len(exercised)}"
        + (f"; NOT exercised: {', '.join(missing)}" if missing else "")
    )
    print("generations by test:")
    for t in spending:
        print(f"  {t['generations']:3d}  {t['nodeid']}")
    print(
        f"greedy cover: {len(cover)} tests, {cover_cost} generations exercise all "
        f"{len(exercised)} exercised positive rules:"
    )
    for t in cover:
        print(f"  {t['generations']:3d}  {t['nodeid']}")
    print("meets the target" if ok else "does NOT meet the target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
