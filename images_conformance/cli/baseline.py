"""``images-conformance baseline REPORT.json [-o FILE]``: a known-failure baseline from a report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from images_conformance.report.baseline import (
    BASELINE_FORMAT_VERSION,
    BaselineError,
    baseline_from_report,
    dump_baseline,
)


def main(argv: list[str] | None = None) -> int:
    """``images-conformance baseline REPORT.json [-o FILE]``; returns an exit code."""
    parser = argparse.ArgumentParser(
        prog="images-conformance baseline",
        description="Write a known-failure baseline from a conformance report "
        "(every rule that failed or was an expected failure).",
    )
    parser.add_argument("report", help="a report written with --conformance-report")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here (.json: JSON, else TOML); default stdout"
    )
    parser.add_argument(
        "--gating-only",
        action="store_true",
        help="leave out failures that did not gate (SHOULD rules outside strict mode)",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    try:
        report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    except OSError as exc:
        print(
            f"images-conformance baseline: cannot read {args.report}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    except ValueError as exc:
        print(f"images-conformance baseline: {args.report} is not JSON: {exc}", file=sys.stderr)
        return 2
    try:
        failures = baseline_from_report(report, gating_only=args.gating_only)
    except BaselineError as exc:
        print(f"images-conformance baseline: {args.report}: {exc}", file=sys.stderr)
        return 2
    target = report.get("target") or {}
    run = report.get("run") or {}
    if args.output and args.output.lower().endswith(".json"):
        text = (
            json.dumps(
                {
                    "format_version": BASELINE_FORMAT_VERSION,
                    "known_failures": dict(sorted(failures.items())),
                },
                indent=2,
            )
            + "\n"
        )
    else:
        text = dump_baseline(
            failures,
            comment=[
                "images-conformance known-failure baseline (see docs/gating.md)",
                f"written from {Path(args.report).name}: target {target.get('base_url') or 'embedded'}, "
                f"profile {target.get('profile')}, run finished {run.get('finished')}",
                "Remove a rule once the target passes it; the run reports such rules.",
            ],
        )
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(
                f"images-conformance baseline: cannot write {args.output}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 2
        print(
            f"images-conformance baseline: {len(failures)} known failure(s) written to {args.output}"
        )
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
