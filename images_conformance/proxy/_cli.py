"""``images-conformance proxy --upstream URL``: a validating proxy in front of a server.

Exit status (on Ctrl-C or SIGTERM): 0 every judged exchange was conformant on both
sides (SHOULD deviations are reported), 1 the server broke a MUST rule or the
application sent a request breaking one, 2 a usage error, or nothing was judged (no
verdict).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from validator import ProfileError, load_profile

from ..cli.profile_options import add_profile_options
from ._config import MB, ProxyConfig, ProxyConfigError

PROG = "images-conformance proxy"
EPILOG = """The application points its base URL (OPENAI_BASE_URL) at the proxy: the proxy's
origin with the upstream's path (printed at start-up). One line per judged exchange goes
to stdout; the summary on exit (Ctrl-C, SIGTERM).

exit status: 0 no MUST rule broken by either side, 1 the server broke a MUST rule or the
application sent a request breaking one, 2 usage error or nothing judged. See docs/proxy.md."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Forward traffic to an OpenAI-compatible server and judge every "
        "POST /images/generations exchange against the endpoint document's rules.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="the server's base URL, e.g. http://backend:8000/v1",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free port)"
    )
    p.add_argument(
        "--enforce",
        action="store_true",
        help="answer requests that break a MUST rule with a 400 error of the proxy's own; "
        "they never reach the upstream",
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        help="write the conformance report on exit: FILE.json (and FILE.md beside it), "
        "or FILE.html (a page)",
    )
    p.add_argument(
        "--record-har", metavar="FILE.har", help="record the traffic as a HAR file (keys masked)"
    )
    add_profile_options(p, of="the upstream")
    p.add_argument(
        "--fetch-urls",
        action="store_true",
        help="fetch returned image URLs to judge the images too",
    )
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="S", help="default 10")
    p.add_argument(
        "--read-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds the upstream may stay silent, before or during its answer (default 600)",
    )
    p.add_argument(
        "--max-request-mb",
        type=float,
        default=16,
        metavar="MB",
        help="larger bodies: 413 (default 16)",
    )
    p.add_argument(
        "--max-judged-mb",
        type=float,
        default=64,
        metavar="MB",
        help="larger answers are forwarded but not judged (default 64)",
    )
    p.add_argument(
        "--judge-in",
        choices=["process", "thread"],
        default="process",
        help="judge in a lower-priority worker process (default) or in a thread",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no line per exchange, only the summary"
    )
    return p


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the proxy until interrupted; return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        profile = load_profile(args.profile, args.edition)
    except ProfileError as exc:
        return _fail(str(exc))
    if not 0 <= args.port <= 65535:
        return _fail(f"--port must be 0-65535, not {args.port}")
    try:
        config = ProxyConfig(
            args.upstream,
            profile=profile,
            enforce=args.enforce,
            fetch_urls=args.fetch_urls,
            connect_timeout=args.connect_timeout,
            read_timeout=args.read_timeout,
            max_request_bytes=int(args.max_request_mb * MB),
            max_judged_bytes=int(args.max_judged_mb * MB),
            judge_in=args.judge_in,
        )
    except ProxyConfigError as exc:
        return _fail(str(exc))

    from ._recorder import HarRecorder
    from ._server import ValidatingProxy

    proxy = ValidatingProxy(
        config, host=args.host, port=args.port, out=None if args.quiet else sys.stdout
    )
    recorder: Any = None
    if args.record_har:
        try:
            recorder = HarRecorder(
                args.record_har,
                config.upstream_origin,
                proxy.secrets,
                max_bytes=config.max_judged_bytes,
            )
        except OSError as exc:
            return _fail(f"cannot write {args.record_har}: {exc}")
        proxy.recorder = recorder

    def ready() -> None:
        print(
            f"{PROG}: listening on {proxy.origin}, forwarding to {config.upstream_origin}"
            f"{' (enforcing MUST request rules)' if config.enforce else ''}; "
            f"point the application at OPENAI_BASE_URL={proxy.base_url}",
            file=sys.stderr,
            flush=True,
        )

    try:
        proxy.serve(on_ready=ready)
    except OSError as exc:
        if recorder is not None:
            recorder.close()
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc}")
    if recorder is not None:
        recorder.close()
        print(f"{PROG}: {recorder.count} exchange(s) recorded in {recorder.path}", file=sys.stderr)
    for line in proxy.seen.summary_lines():
        print(line, file=sys.stderr)
    if proxy.abandoned:
        print(f"  interrupted: {proxy.abandoned} queued exchange(s) left unjudged", file=sys.stderr)
    stats = proxy.judge_stats()
    if stats["judged"]:
        print(
            f"  judging: {stats['cpu_ms_per_exchange']} ms CPU per exchange ({stats['judged']} judged)",
            file=sys.stderr,
        )
    report = proxy.report(profile_path=args.profile)
    if args.report:
        try:
            written = proxy.write_report(args.report, profile_path=args.profile)
            print(
                f"{PROG}: report {written[0]} (summary {written[1]}, page {written[2]})",
                file=sys.stderr,
            )
        except OSError as exc:
            print(f"{PROG}: cannot write the report to {args.report}: {exc}", file=sys.stderr)
            return 2
    verdict = report["verdict"]
    print(
        f"{PROG}: verdict {verdict['status']} (exit code {verdict['exit_code']})"
        + (f": {verdict['message']}" if verdict["message"] else ""),
        file=sys.stderr,
    )
    return int(verdict["exit_code"])


if __name__ == "__main__":
    sys.exit(main())
