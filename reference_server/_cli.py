"""``images-conformance serve`` and ``python -m reference_server``."""

from __future__ import annotations

import argparse
import os
import sys

from images_conformance.cli.profile_options import add_profile_options

PROG = "images-conformance serve"


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run the reference POST /images/generations server (routes under /v1).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to bind (default 8000; 0: any)")
    p.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' (default: $REFERENCE_SERVER_API_KEY, "
        "else no auth)",
    )
    add_profile_options(p, of="the server", verb="serve")
    p.add_argument(
        "--url-ttl", type=float, default=3600, help="seconds image URLs stay valid (default 3600)"
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default info)",
    )
    return p


def main(argv: list[str] | None = None, *, prog: str = PROG) -> int:
    """Parse ``argv``, then serve until interrupted. Returns the exit code (2: bad usage)."""
    try:
        args = _parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        import uvicorn

        from images_conformance._listening import url_host
        from validator import ProfileError, load_profile

        from ._app import API_PREFIX, create_app
    except ImportError as exc:  # pragma: no cover - broken installation
        print(f"{prog}: cannot import the server: {exc}", file=sys.stderr)
        return 1
    try:
        profile = load_profile(args.profile, args.edition)
    except ProfileError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"{prog}: error: --port must be between 0 and 65535", file=sys.stderr)
        return 2
    if args.url_ttl <= 0:
        print(f"{prog}: error: --url-ttl must be positive", file=sys.stderr)
        return 2
    api_key = (
        args.api_key if args.api_key is not None else os.environ.get("REFERENCE_SERVER_API_KEY")
    )
    app = create_app(api_key=api_key or None, profile=profile, url_ttl=args.url_ttl)
    host = url_host(args.host)
    auth = "required" if api_key else "off"
    where = f"http://{host}:{args.port}{API_PREFIX}" if args.port else f"{host}, a free port"
    print(
        f"reference server: {where} (profile {profile.name}, edition {profile.edition.name}, "
        f"auth {auth})",
        file=sys.stderr,
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    except KeyboardInterrupt:  # pragma: no cover
        pass
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0
