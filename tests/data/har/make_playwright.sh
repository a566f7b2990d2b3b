#!/usr/bin/env bash
# Records chromium (Debian's package, driven by Playwright for Python) calling the
# images-conformance reference server, into playwright-chromium.har (Playwright's HAR).
#
#   apt-get install chromium                                  # never a downloaded browser
#   python3 -m venv /tmp/pw-venv && /tmp/pw-venv/bin/pip install playwright
#   PW_PYTHON=/tmp/pw-venv/bin/python bash tests/data/har/make_playwright.sh
#
# IMAGES_CONFORMANCE is the project's command (default: images-conformance on PATH).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PW_PYTHON="${PW_PYTHON:-python}"
IMAGES_CONFORMANCE="${IMAGES_CONFORMANCE:-images-conformance}"
out="$here/playwright-chromium.har"
key="sk-playwright-recording-dummy-key-0001"   # a made-up key for a local server
port="$("$PW_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

"$IMAGES_CONFORMANCE" serve --port "$port" --api-key "$key" --log-level warning &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if "$PW_PYTHON" -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()" 2>/dev/null; then break; fi
  sleep 0.2
done
"$PW_PYTHON" "$here/make_playwright.py" "http://127.0.0.1:$port/v1" "$key" "$out"
echo "wrote $out"
