"""Record cassettes/reference/ from the reference server (see docs/cassettes.md).

    python cassettes/record_reference.py [--port N] [--gzip]

Starts the reference server (OpenAI's default profile, no API key) on 127.0.0.1, port
47321 when free (a fixed port keeps the recorded URLs stable between recordings), deletes
the old reference cassettes, records every scenario of the catalogue with
``pytest conformance_tests/test_recorded.py --record-mode=once``, checks the result with
``images-conformance validate-cassette``, and prints the size of the directory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = "reference"
DEFAULT_PORT = 47321


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="preferred port")
    parser.add_argument("--gzip", action="store_true", help="write .yaml.gz cassettes")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from reference_server import ServerThread

    out_dir = ROOT / "cassettes" / TARGET
    for old in [*out_dir.glob("*.yaml"), *out_dir.glob("*.yaml.gz")]:
        old.unlink()

    server = ServerThread(port=args.port)
    try:
        server.start()
    except OSError:
        server = ServerThread(port=0)
        server.start()
    try:
        command = [
            sys.executable,
            "-m",
            "pytest",
            "conformance_tests/test_recorded.py",
            "--record-mode=once",
            f"--base-url={server.base_url}",
            f"--cassette-target={TARGET}",
            f"--cassette-dir={ROOT / 'cassettes'}",
            "-p",
            "no:cacheprovider",
            "-q",
            *(["--cassette-gzip"] if args.gzip else []),
        ]
        print("$", " ".join(command), flush=True)
        recorded = subprocess.run(command, cwd=ROOT, check=False).returncode
    finally:
        server.stop()
    if recorded != 0:
        print(f"recording failed (pytest exit status {recorded})", file=sys.stderr)
        return recorded

    from images_conformance.cli.validate_cassette import main as validate

    status = validate(["--quiet", str(out_dir)])
    files = sorted(p for p in out_dir.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    print(
        f"{len(files)} cassettes in {out_dir.relative_to(ROOT)}: {total} bytes ({total / 1024:.0f} KiB)"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
