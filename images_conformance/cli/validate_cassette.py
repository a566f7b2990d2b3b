"""``images-conformance validate-cassette PATH...``: judge recorded traffic to the endpoint.

Reads cassette files (vcrpy YAML or JSON, Ruby VCR, Azure SDK test proxy records, HAR
1.2; optionally gzip-compressed; directories are searched for them) and judges every
interaction with ``POST .../images/generations`` as the recorded scenarios do: the
request, then the response with its images, the stream, or the error. An image URL in a
response is checked against the GET of that URL when the same cassette recorded one.

Each judged interaction is a case of the same report model as a run of the suite
(:mod:`images_conformance.report`), which gives the verdict and the exit status: 0 when
no MUST rule is broken (SHOULD deviations are reported), 1 when one is (or a SHOULD rule,
with ``--strict``), 2 when a file cannot be read as a cassette or no interaction with the
endpoint was found (or none could be judged). An interaction the recording does not hold
whole (a body the recorder truncated) is listed as not judged, never as a finding.
``--report FILE.json`` writes that report (and its Markdown and HTML page beside it).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from images_conformance.exchanges._secrets import sanitize
from images_conformance.exchanges.formats import (
    Cassette,
    CassetteError,
    Interaction,
    load_cassette,
)
from images_conformance.exchanges.formats.har import HAR_SUFFIXES
from images_conformance.judge import NOT_JUDGED, Judgement, judge_exchange, not_judged
from images_conformance.report import (
    Case,
    Context,
    build_report,
    case_from_judgement,
    write_report,
)
from images_conformance.report.terminal import finding_paragraph
from validator import (
    DEFAULT_PROFILE,
    RULES,
    Profile,
    ProfileError,
    Violation,
    load_profile,
    recording_window,
)

from .profile_options import add_profile_options

PROG = "images-conformance validate-cassette"
CASSETTE_SUFFIXES = (
    ".yaml",
    ".yml",
    ".json",
    ".yaml.gz",
    ".yml.gz",
    ".json.gz",
    *HAR_SUFFIXES,
)


@dataclass
class Judged:
    interaction: Interaction
    judgement: Judgement


@dataclass
class FileResult:
    path: Path
    error: str | None = None
    format: str | None = None
    total: int = 0
    judged: list[Judged] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the reader left out of the file (a cap reached)."""

    @property
    def verdicts(self) -> list[Judged]:
        """The interactions actually judged (not those the recording could not show)."""
        return [j for j in self.judged if j.judgement.outcome != NOT_JUDGED]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Judge recorded traffic to POST /images/generations (vcrpy YAML/JSON, "
        "Ruby VCR or Azure test-proxy cassettes, HAR 1.2 files) against the endpoint "
        "document's rules.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="cassette files or directories")
    add_profile_options(p, of="the target that answered")
    p.add_argument(
        "--no-images",
        action="store_true",
        help="judge shapes only, not image bytes (for recordings whose images were replaced "
        "by placeholders)",
    )
    p.add_argument(
        "--strict", action="store_true", help="SHOULD deviations also give exit status 1"
    )
    p.add_argument(
        "--strict-auth",
        action="store_true",
        help="count 401/403/429 answers to valid requests as refusals (by default they are "
        "noted: recordings are often made with a dummy key)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="list only interactions with findings"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument(
        "--report",
        metavar="FILE.json",
        help="also write the conformance report (the format of images-conformance run "
        "--conformance-report, docs/gating.md) with a Markdown summary and an HTML page "
        "beside it",
    )
    return p


def _files(paths: list[str]) -> Iterator[tuple[Path, str | None]]:
    """Cassette files named or found in directories; (path, problem) for missing ones."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and f.name.lower().endswith(CASSETTE_SUFFIXES)
            )
            if not found:
                yield (
                    p,
                    f"{p} is a directory with no cassette files ({', '.join(CASSETTE_SUFFIXES)})",
                )
            for f in found:
                yield f, None
        elif p.exists():
            yield p, None
        else:
            yield p, f"{p}: no such file or directory"


def _judge_file(
    cassette: Cassette, *, profile: Profile, check_images: bool, strict_auth: bool
) -> list[Judged]:
    out = []

    def fetch(url: str) -> tuple[int | None, dict[str, str], bytes] | None:
        got = cassette.find_get(url)
        if got is None:
            return None
        return got.status, got.response_headers, got.response_body

    for inter in cassette.generations():
        if inter.not_judged:
            out.append(Judged(inter, not_judged(inter.request_body, inter.not_judged)))
            continue
        judgement = judge_exchange(
            inter.request_body,
            inter.status,
            inter.response_headers,
            inter.response_body,
            profile=profile,
            check_images=check_images,
            fetch=fetch,
            lenient_auth=not strict_auth,
            received_at=recording_window(inter.recorded_at),
        )
        judgement.notes[:0] = inter.notes
        out.append(Judged(inter, judgement))
    return out


def validate_paths(
    paths: list[str],
    *,
    profile: Profile | None = None,
    check_images: bool = True,
    strict_auth: bool = False,
) -> list[FileResult]:
    """Judge every cassette under ``paths``."""
    profile = profile or DEFAULT_PROFILE
    results = []
    for path, problem in _files(paths):
        result = FileResult(path)
        results.append(result)
        if problem:
            result.error = problem
            continue
        try:
            cassette = load_cassette(path)
        except CassetteError as exc:
            result.error = str(exc)
            continue
        except Exception as exc:  # a reader bug must not hide the other files' verdicts
            result.error = f"{path} could not be read ({type(exc).__name__}: {exc})"
            continue
        result.format = cassette.format
        result.total = len(cassette.interactions)
        result.notes = list(cassette.notes)
        result.judged = _judge_file(
            cassette, profile=profile, check_images=check_images, strict_auth=strict_auth
        )
    return results


# -- output ----------------------------------------------------------------------------------
def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_line(j: Judged) -> str:
    i = j.interaction
    answer = "no answer" if i.status is None else f"HTTP {i.status}"
    ct = i.content_type or "no content-type"
    return f"#{i.index} {i.method} {i.uri} -> {answer}, {ct}"


def _verdict_word(j: Judgement, strict: bool) -> str:
    if j.outcome == NOT_JUDGED:
        return "NOT JUDGED"
    if j.must:
        return "NOT CONFORMANT"
    if j.violations:
        return "conformant, with SHOULD deviations" if not strict else "NOT CONFORMANT (strict)"
    return "conformant"


def _violation_line(v: Violation) -> str:
    where = f" at {v.path}" if v.path else ""
    param = f" (param {v.param})" if v.param else ""
    return f"{v.level!s:<6} {v.rule}{where}{param}: {v.message}"


def print_text(results: list[FileResult], *, strict: bool, quiet: bool, out: TextIO) -> None:
    for r in results:
        if r.error:
            print(f"{r.path}: UNREADABLE: {r.error}", file=out)
            continue
        bad = [
            j
            for j in r.judged
            if j.judgement.gating(strict) or (not quiet and j.judgement.violations)
        ]
        if quiet and not bad:
            continue
        print(
            f"{r.path} ({r.format}; {r.total} interaction(s), "
            f"{len(r.judged)} with the generations endpoint)",
            file=out,
        )
        for note in r.notes:
            print(f"  note: {note}", file=out)
        if not r.judged:
            print("  no interaction with POST .../images/generations", file=out)
        for j in r.judged:
            jj = j.judgement
            if quiet and not jj.gating(strict):
                continue
            print(f"  {_status_line(j)}: {_verdict_word(jj, strict)}", file=out)
            print(f"    request: {_short(jj.request)}", file=out)
            if jj.request_faults:
                faults = ", ".join(sorted({v.rule for v in jj.request_faults}))
                print(f"    the request itself breaks: {faults}", file=out)
            for v in jj.violations:
                print(f"    {_violation_line(v)}", file=out)
                rule = RULES.get(v.rule)
                if rule is not None and not quiet and rule.quote not in v.message:
                    print(f'           {rule.source_label} "{_short(rule.quote, 200)}"', file=out)
            for note in jj.notes:
                print(f"    note: {note}", file=out)


def cases_of(
    results: list[FileResult], *, profile: Profile | None = None, strict: bool = False
) -> list[Case]:
    """One case per judged interaction, named ``FILE#N``."""
    return [
        case_from_judgement(
            f"{r.path}#{j.interaction.index}", j.judgement, profile=profile, strict=strict
        )
        for r in results
        for j in r.judged
    ]


def build(
    results: list[FileResult], *, profile: Profile | None = None, strict: bool = False
) -> dict[str, Any]:
    """The conformance report of these files: the same model, verdict and exit code as a
    run of the suite (a file that cannot be read, or nothing to judge: no verdict, 2)."""
    profile = profile or DEFAULT_PROFILE
    unreadable = [r for r in results if r.error]
    context = Context(
        profile=profile,
        strict=strict,
        embedded=False,
        runner_status=2 if unreadable else 0,
        stop_message=(
            f"{len(unreadable)} file(s) unreadable"
            if unreadable
            else "nothing could be judged (the recordings do not hold these exchanges whole)"
            if any(r.judged for r in results)
            else "nothing to judge (no POST .../images/generations in these files)"
        ),
    )
    return build_report(cases_of(results, profile=profile, strict=strict), context=context)


def _summary(results: list[FileResult], strict: bool, code: int) -> str:
    unreadable = [r for r in results if r.error]
    judged = [j for r in results for j in r.verdicts]
    not_judged_count = sum(len(r.judged) - len(r.verdicts) for r in results)
    failing = [j for j in judged if j.judgement.gating(strict)]
    should_only = [j for j in judged if j.judgement.violations and not j.judgement.must]
    line = (
        f"{len(results)} file(s), {len(judged)} interaction(s) with the generations endpoint "
        f"judged: {len(failing)} not conformant"
        + ("" if strict else f", {len(should_only)} with SHOULD deviations only")
        + (
            f"; {not_judged_count} not judged (the recording does not hold them whole)"
            if not_judged_count
            else ""
        )
        + (f"; {len(unreadable)} file(s) unreadable" if unreadable else "")
    )
    if not judged and not unreadable:
        line += (
            "; nothing could be judged"
            if not_judged_count
            else "; nothing to judge (no POST .../images/generations in these files)"
        )
    return line


def _as_json(results: list[FileResult], strict: bool, code: int) -> dict[str, Any]:
    def violation(v: Violation) -> dict[str, Any]:
        return {
            "rule": v.rule,
            "level": str(v.level),
            "message": v.message,
            "param": v.param,
            "path": v.path,
        }

    return {
        "exit_code": code,
        "files": [
            {
                "path": str(r.path),
                "error": r.error,
                "format": r.format,
                "interactions": r.total,
                "notes": r.notes,
                "judged": [
                    {
                        "index": j.interaction.index,
                        "method": j.interaction.method,
                        "uri": j.interaction.uri,
                        "status": j.interaction.status,
                        "outcome": j.judgement.outcome,
                        "conformant": (
                            None
                            if j.judgement.outcome == NOT_JUDGED
                            else not j.judgement.gating(strict)
                        ),
                        "request_faults": sorted({v.rule for v in j.judgement.request_faults}),
                        "violations": [violation(v) for v in j.judgement.violations],
                        "notes": j.judgement.notes,
                    }
                    for j in r.judged
                ],
            }
            for r in results
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        profile = load_profile(args.profile, args.edition)
    except ProfileError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    results = validate_paths(
        args.paths, profile=profile, check_images=not args.no_images, strict_auth=args.strict_auth
    )
    report = build(results, profile=profile, strict=args.strict)
    code = report["verdict"]["exit_code"]
    line = _summary(results, args.strict, code) + f" (edition {profile.edition.name})"
    if args.report:
        try:
            json_path, md_path, page = write_report(report, args.report)
        except OSError as exc:
            print(f"{PROG}: cannot write the report to {args.report}: {exc}", file=sys.stderr)
            return 2
        print(f"report: {json_path} (summary: {md_path}, page: {page})", file=sys.stderr)
    if args.json:
        json.dump(
            {"edition": profile.edition.name, **_as_json(results, args.strict, code)},
            sys.stdout,
            indent=2,
        )
        print(file=sys.stdout)
    else:
        paragraph = finding_paragraph(report)  # once, before the per-exchange findings
        if paragraph:
            print(paragraph + "\n", file=sys.stdout)
        text = io.StringIO()  # recorded text is shown with control characters escaped
        print_text(results, strict=args.strict, quiet=args.quiet, out=text)
        sys.stdout.write(sanitize(text.getvalue()))
        print(line, file=sys.stdout)
    for r in results:
        if r.error:
            print(f"{PROG}: {sanitize(r.error)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
