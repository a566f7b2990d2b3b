"""Take docs/report.png: the HTML report of a run against the ``no-alpha`` broken variant.

    python tests/report_screenshot.py [OUT.png]

Runs the suite (standard level, a narrow selection) against the reference server with the
``no-alpha`` deviation (``background: transparent`` gives an opaque image), writes the
report to a temporary directory, opens it in headless Chromium (``/usr/bin/chromium``)
with the rule table filtered to failed rules, and saves a screenshot.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from broken_servers import VARIANTS, broken_app, serving
from report_browser import chromium_page
from suite_runs import suite_process

SELECT = "(test_fixed_valid_request and transparent) or test_fixed_stream_request"


def main(out: Path) -> None:
    variant = next(v for v in VARIANTS if v.name == "no-alpha")
    with tempfile.TemporaryDirectory() as tmp, serving(broken_app(variant)) as server:
        page_path = Path(tmp) / "report.html"
        suite_process(
            "-q", "--base-url", server.base_url, "--conformance-level", "standard",
            "--conformance-seed", "1", "-k", SELECT, "--conformance-report", str(page_path),
            cwd=Path(tmp),
        )  # fmt: skip
        with chromium_page(width=1280, height=1500) as page:
            page.goto(page_path.as_uri())
            page.select_option("#f-outcome", "failed")
            page.screenshot(path=str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/report.png"))
