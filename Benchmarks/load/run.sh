#!/usr/bin/env bash
# The server under load on loopback: inserts with wrk (32 connections) under fsync
# never and always, SSE fan-out, and idle subscribers' memory. Uses the release build.
# Usage: Benchmarks/load/run.sh [SUBSCRIBERS] [RECORDS] [IDLE]
set -euo pipefail
cd "$(dirname "$0")/../.."
BROKER=$(swift build -c release --show-bin-path)/broker
SUBSCRIBERS=${1:-1000}; RECORDS=${2:-1000}; IDLE=${3:-10000}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
ulimit -n 20000 || true

start_server() {  # $1: fsync policy
    DATA=$(mktemp -d)
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$BROKER" serve --host 127.0.0.1 --port "$PORT" --data-dir "$DATA" --fsync "$1" --log-level error --heartbeat-ms 60000 &
    PID=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.05; done
    echo "server did not start"; exit 1
}
stop_server() { kill -TERM "$PID"; wait "$PID" || true; rm -rf "$DATA"; }

for policy in never always; do
    start_server "$policy"
    echo "== POST /insert, 32 connections, fsync $policy"
    wrk -t2 -c32 -d10s -s Benchmarks/load/insert.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|Latency|requests in"
    stop_server
done
start_server never
echo "== SSE fan-out: $SUBSCRIBERS subscribers x $RECORDS records"
python3 Benchmarks/load/sse_load.py fanout "$PORT" "$PID" "$SUBSCRIBERS" "$RECORDS"
stop_server
start_server never
echo "== $IDLE idle SSE subscribers"
python3 Benchmarks/load/sse_load.py idle "$PORT" "$PID" "$IDLE"
stop_server
