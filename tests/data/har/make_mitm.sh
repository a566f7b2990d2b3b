#!/usr/bin/env bash
# Records the Python openai SDK talking to the images-conformance reference server through
# mitmdump, and keeps mitmproxy's own HAR dump (its built-in savehar addon, `hardump`).
#
#   MITMDUMP=/tmp/mitm-venv/bin/mitmdump PYTHON=.venv/bin/python \
#       bash tests/data/har/make_mitm.sh        # from the checkout
#
# mitmproxy lives in a venv of its own (python3 -m venv /tmp/mitm-venv &&
# /tmp/mitm-venv/bin/pip install mitmproxy): it is never a dependency of the project.
# PYTHON is an interpreter with openai installed; IMAGES_CONFORMANCE the project's command
# (default: images-conformance on PATH).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
MITMDUMP="${MITMDUMP:-mitmdump}"
PYTHON="${PYTHON:-python}"
IMAGES_CONFORMANCE="${IMAGES_CONFORMANCE:-images-conformance}"
out="$here/mitmdump-python-openai.har"
key="sk-mitm-recording-dummy-key-0001"   # a made-up key for a local server
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
proxy_port="$(free_port)"

"$IMAGES_CONFORMANCE" serve --port "$port" --api-key "$key" --log-level warning &
server_pid=$!
"$MITMDUMP" --listen-host 127.0.0.1 --listen-port "$proxy_port" --set hardump="$out" -q &
mitm_pid=$!
cleanup() { kill "$server_pid" 2>/dev/null || true; kill "$mitm_pid" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 100); do
  if "$PYTHON" -c "import socket,sys; [socket.create_connection(('127.0.0.1',p),1).close() for p in ($port,$proxy_port)]" 2>/dev/null; then break; fi
  sleep 0.2
done
"$PYTHON" "$here/make_mitm_client.py" "http://127.0.0.1:$port/v1" "$key" "http://127.0.0.1:$proxy_port"
kill -INT "$mitm_pid"   # mitmdump writes the HAR when it shuts down
wait "$mitm_pid" || true
echo "wrote $out"
