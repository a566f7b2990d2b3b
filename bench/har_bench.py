"""Reading hostile HAR files: wall time and peak memory of ``load_cassette`` on each.

- ``million``: 1,000,000 entries (about 15 MB); the reader takes the first 10,000;
- ``huge``: a HAR larger than the 128 MiB read cap (GET entries with 1 MB base64 bodies);
  the reader reads up to the cap and keeps the complete entries;
- ``polly``: the committed Polly.js recording (tests/data/har), for scale.

Each file is read in a fresh interpreter; peak memory is that process's maximum resident
set size (``ru_maxrss``), interpreter included.

    python bench/har_bench.py            # all three
    python bench/har_bench.py million
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLLY = ROOT / "tests" / "data" / "har" / "polly-node-openai.har"

MEASURE = """
import resource, sys, time
from images_conformance.exchanges.formats import load_cassette
start = time.perf_counter()
cassette = load_cassette(sys.argv[1])
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{elapsed:.2f} {peak:.0f} {len(cassette.interactions)} {' | '.join(cassette.notes)}")
"""


def _million(path: Path) -> None:
    with path.open("w") as fh:
        fh.write('{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, ')
        fh.write('"entries": [{"request":{}}')
        for _ in range(999_999):
            fh.write(',{"request":{}}')
        fh.write("]}}")


def _huge(path: Path) -> None:
    body = base64.b64encode(os.urandom(768 * 1024)).decode()  # 1 MiB of base64 text
    entry = json.dumps(
        {
            "request": {"method": "GET", "url": "http://h/img.png"},
            "response": {
                "status": 200,
                "content": {"size": 768 * 1024, "mimeType": "image/png", "encoding": "base64"},
            },
        }
    )
    entry = entry[:-3] + f', "text": "{body}"' + "}}}"
    with path.open("w") as fh:
        fh.write('{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, ')
        fh.write('"entries": [' + entry)
        for _ in range(159):
            fh.write("," + entry)
        fh.write("]}}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", default=["million", "huge", "polly"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.which:
            if name == "polly":
                path = POLLY
            else:
                path = Path(tmp) / f"{name}.har"
                {"million": _million, "huge": _huge}[name](path)
            out = subprocess.run(
                [sys.executable, "-c", MEASURE, str(path)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout.split(" ", 3)
            size = path.stat().st_size / (1 << 20)
            print(
                f"{name:8} {size:8.1f} MB file: {out[0]} s, peak RSS {out[1]} MB, "
                f"{out[2]} entries read; {out[3].strip() or 'no cap reached'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
