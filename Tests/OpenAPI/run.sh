#!/usr/bin/env bash
# Schemathesis against a live `broker serve`, with the document the server serves at
# /openapi.json as its input (SPEC.md 4.14): a fixed seed and a bounded number of
# examples per operation; no 5xx, every status, header and body as documented
# (schemathesis.toml), and nothing stored that was not acknowledged (check_stored.py
# over the run's HAR record). GET /events is left out: a valid request is a stream
# that does not end, which a request/response fuzzer can only time out on; the Swift
# suites and the Chromium tests cover it.
# Usage: Tests/OpenAPI/run.sh   (OPENAPI_EXAMPLES, default 100; BROKER_BIN)
set -euo pipefail
cd "$(dirname "$0")/../.."
BROKER=${BROKER_BIN:-.build/debug/broker}
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# A --static directory with one page, so that /static/ is routed and fuzzed too (paths
# that try to leave it among them).
mkdir -p "$WORK/static" && echo '<!doctype html><title>page</title>' > "$WORK/static/index.html"
"$BROKER" serve --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/data" --fsync never --log-level error --heartbeat-ms 60000 \
    --static "$WORK/static" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
timeout 900 schemathesis --config-file Tests/OpenAPI/schemathesis.toml run "http://127.0.0.1:$PORT/openapi.json" \
    --checks all --seed 20261202 --max-examples "${OPENAPI_EXAMPLES:-100}" --workers 1 --exclude-path /events \
    --request-timeout 10 --report har --report-har-path "$WORK/requests.har"
python3 Tests/OpenAPI/check_stored.py "$WORK/requests.har" "http://127.0.0.1:$PORT"
