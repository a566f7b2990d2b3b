"""``python -m validator rules``: print the rule catalogue (Markdown)."""

from __future__ import annotations

import sys

from ._catalogue import render_catalogue


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["rules"]:
        print("usage: python -m validator rules   (prints docs/rules.md)", file=sys.stderr)
        return 2
    sys.stdout.write(render_catalogue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
