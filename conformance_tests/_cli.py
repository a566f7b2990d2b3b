"""The ``images-conformance`` command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: images-conformance {serve,run} [options]")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from reference_server._cli import main as serve_main

        return serve_main(rest)
    print(f"images-conformance: unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
