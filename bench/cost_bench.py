"""Request economy of the conformance suite: billable generations, requests and reach per level.

Runs the suite (``pytest --pyargs conformance_tests``) at each conformance level asked for,
with a conformance report, and reads the report:

- billable generations (the images of 200 answers: ``n`` images count ``n``), the
  generations the level planned (quick), and requests;
- rules exercised (outcome passed or failed), and positive rules exercised by a served answer;
- (rule, family, feature) cases exercised (see ``conformance_tests/_plan.py``), counted as
  the quick plan counts them;
- wall time.

With several levels it also lists the cases a level exercised that quick did not.
Target (issue 15): ``quick`` exercises every case ``standard`` does, with at most 12
billable generations. The exit status is 0 when the run meets it, 1 when not.

    python bench/cost_bench.py                          # quick and standard, embedded server
    python bench/cost_bench.py --level quick --level thorough
    python bench/cost_bench.py -- --base-url http://127.0.0.1:8000/v1   # pytest args after --
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


def rule_cases(report: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The (rule, family, feature) cases of a report, collapsed as the quick plan counts them."""
    from conformance_tests._plan import RuleCase, collapse, rule_families
    from validator import DEFAULT_PROFILE

    raw = {
        RuleCase(*c) for t in report["tests"] for c in (t.get("rule_cases") or ()) if len(c) == 3
    }
    families = rule_families(DEFAULT_PROFILE)
    return {(c.rule, c.family, c.feature) for c in collapse(raw, families)}


def figures(level: str, extra: list[str]) -> dict[str, Any]:
    """Run one level; the figures of its report."""
    report, wall, status = run_suite(level, extra)
    features = set(report["target"]["features"])
    exercised_outcomes = ("passed", "failed", "expected-failure")
    positive = [
        r
        for r in report["rules"]
        if r["kind"] in POSITIVE_KINDS and (r["feature"] is None or r["feature"] in features)
    ]
    cost = report["cost"]
    return {
        "level": level,
        "target": report["target"]["base_url"] or "embedded reference server",
        "billable_generations": cost["billable_generations"],
        "planned_generations": cost.get("planned_generations"),
        "requests": cost["requests"],
        "rules_exercised": sum(1 for r in report["rules"] if r["outcome"] in exercised_outcomes),
        "rules": len(report["rules"]),
        "positive_rules_exercised": sum(1 for r in positive if r["outcome"] in exercised_outcomes),
        "positive_rules": len(positive),
        "cases": sorted(rule_cases(report), key=str),
        "wall_s": round(wall, 2),
        "verdict": report["verdict"]["status"],
        "pytest_status": status,
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--level",
        action="append",
        choices=["quick", "standard", "thorough"],
        help="a level to run (repeatable; default: quick and standard)",
    )
    parser.add_argument("--target", type=int, default=12, help="most billable generations at quick")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    opts = parser.parse_args(args)
    levels = opts.level or ["quick", "standard"]

    runs = [figures(level, extra) for level in levels]
    by_level = {f["level"]: f for f in runs}
    quick = by_level.get("quick")
    ok = True
    for f in runs:
        if quick is not None and f is not quick:
            f["cases_not_at_quick"] = sorted(
                set(map(tuple, f["cases"])) - set(map(tuple, quick["cases"])), key=str
            )
            ok = ok and not f["cases_not_at_quick"]
    if quick is not None:
        ok = ok and quick["billable_generations"] <= opts.target
        ok = ok and quick["pytest_status"] == 0
    if opts.json:
        print(json.dumps(runs, indent=2))
        return 0 if ok else 1
    print(f"images-conformance cost bench against {runs[0]['target']}")
    print(
        "| level | billable generations | planned | requests | rules exercised "
        "| positive rules exercised | (rule, family, feature) cases | wall time | verdict |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for f in runs:
        planned = "-" if f["planned_generations"] is None else str(f["planned_generations"])
        print(
            f"| {f['level']} | {f['billable_generations']} | {planned} | {f['requests']} "
            f"| {f['rules_exercised']}/{f['rules']} "
            f"| {f['positive_rules_exercised']}/{f['positive_rules']} | {len(f['cases'])} "
            f"| {f['wall_s']:.1f} s | {f['verdict']} |"
        )
    for f in runs:
        missing = f.get("cases_not_at_quick")
        if missing:
            print(f"cases {f['level']} exercised that quick did not ({len(missing)}):")
            for case in missing:
                print(f"  {case}")
    if quick is not None:
        print(
            f"quick target (<= {opts.target} billable generations, every case of the other "
            f"levels): {'met' if ok else 'NOT met'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
