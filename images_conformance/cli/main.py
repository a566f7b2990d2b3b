"""The ``images-conformance`` command: one subcommand per module of this package."""

from __future__ import annotations

import sys

USAGE = """usage: images-conformance {serve,run,baseline,validate-cassette,proxy} [options]

  serve              run the reference server (images-conformance serve --help)
  run                run the conformance suite (images-conformance run --help)
  baseline           write a known-failure baseline from a report (images-conformance baseline --help)
  validate-cassette  judge recorded traffic in vcrpy cassettes (images-conformance validate-cassette --help)
  proxy              judge live traffic between an application and a server (images-conformance proxy --help)
"""


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``images-conformance COMMAND ...``; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from reference_server._cli import main as serve_main

        return serve_main(rest)
    if command == "run":
        from .run import run

        return run(rest)
    if command == "baseline":
        from .baseline import main as baseline_main

        return baseline_main(rest)
    if command == "validate-cassette":
        from .validate_cassette import main as cassette_main

        return cassette_main(rest)
    if command == "proxy":
        from images_conformance.proxy._cli import main as proxy_main

        return proxy_main(rest)
    print(f"images-conformance: unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
