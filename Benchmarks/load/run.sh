#!/usr/bin/env bash
# The server under load on loopback, with the release build: POST /insert with 32
# connections under fsync never and always (wrk, and the NIO load generator), SSE
# fan-out (as fast as the server answers, and paced at 600 records/s), and the
# memory of idle subscribers. Every phase is bounded in time.
# Usage: Benchmarks/load/run.sh [SUBSCRIBERS] [RECORDS] [IDLE]
# LOAD_PHASES picks phases (default: "reference insert fanout auth idle").
set -euo pipefail
cd "$(dirname "$0")/../.."
BROKER=$(swift build -c release --show-bin-path)/broker
LOAD=$(cd Benchmarks && swift build -c release --product LoadGenerator >/dev/null && swift build -c release --show-bin-path)/LoadGenerator
SUBSCRIBERS=${1:-1000}; RECORDS=${2:-1000}; IDLE=${3:-10000}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
ulimit -n $((IDLE + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

start_server() {  # $1: fsync policy, then any other serve options
    local policy=$1; shift
    DATA=$(mktemp -d)
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$BROKER" serve --host 127.0.0.1 --port "$PORT" --data-dir "$DATA" --fsync "$policy" --log-level error --heartbeat-ms 60000 "$@" &
    PID=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.05; done
    echo "server did not start"; exit 1
}
stop_server() { kill -TERM "$PID"; wait "$PID" || true; rm -rf "$DATA"; }
bounded() { timeout 300 "$@"; }
PHASES=" ${LOAD_PHASES:-reference insert fanout auth idle} "
# The server's CPU time (user + system) in clock ticks: what a phase cost it, which
# moves far less than throughput when other tenants load this shared machine.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
# Runs the load generator ($@), then prints the server's CPU µs per unit of work
# (the number that the sed expression $WORK_SED takes from the generator's output).
with_cpu() {
    local before after out units
    before=$(cpu_ticks)
    out=$(bounded "$LOAD" "$@")
    after=$(cpu_ticks)
    echo "$out"
    units=$(echo "$out" | sed -nE "$WORK_SED" | head -1)
    [ -n "$units" ] && [ "$units" -gt 0 ] && awk -v t=$((after - before)) -v n="$units" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "server CPU: %.2f s, %.2f us per unit\n", t / hz, t / hz * 1e6 / n }'
}
phase() { [[ "$PHASES" == *" $1 "* ]]; }

if phase reference; then
echo "== reference: GET /healthz, 32 connections (the HTTP stack's own ceiling)"
start_server never
wrk -t1 -c32 -d10s "http://127.0.0.1:$PORT/healthz" | grep -E "Requests/sec"
stop_server
fi
phase insert && for policy in never always; do
    start_server "$policy"
    echo "== POST /insert, 32 connections, fsync $policy (wrk)"
    wrk -t1 -c32 -d10s -s Benchmarks/load/insert.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|Latency"
    echo "== POST /insert, 32 connections, fsync $policy (LoadGenerator)"
    bounded "$LOAD" insert "$PORT" 32 10
    stop_server
done
phase fanout && for rate in 0 600; do
    start_server never
    echo "== SSE fan-out: $SUBSCRIBERS subscribers x $RECORDS records, 4 publishers, ${rate/#0/unpaced} records/s"
    bounded "$LOAD" fanout "$PORT" "$SUBSCRIBERS" "$RECORDS" 4 "$rate"
    stop_server
done
# Access control's cost (SPEC 4.11): the same loads with auth off and with an HS256
# token on every request, alternated three times so that drift in the machine hits both.
if phase auth; then
SECRET=$(mktemp); head -c 48 /dev/urandom | base64 > "$SECRET"
TOKEN=$("$BROKER" token --secret-file "$SECRET" --publish '*' --subscribe '*' --ttl 1h)
for round in 1 2 3; do
    for auth in off on; do
        if [ "$auth" = on ]; then export BROKER_TOKEN=$TOKEN; set -- --jwt-secret-file "$SECRET"; else unset BROKER_TOKEN; set --; fi
        start_server never "$@"
        echo "== access control $auth (round $round): POST /insert, 32 connections, fsync never (LoadGenerator)"
        WORK_SED='s/^inserts: ([0-9]+) ok.*/\1/p' with_cpu insert "$PORT" 32 10
        stop_server
        start_server never "$@"
        echo "== access control $auth (round $round): SSE fan-out, $SUBSCRIBERS subscribers x $RECORDS records, 4 publishers"
        WORK_SED='s/.*; ([0-9]+) of [0-9]+ deliveries.*/\1/p' with_cpu fanout "$PORT" "$SUBSCRIBERS" "$RECORDS" 4 0
        stop_server
    done
done
unset BROKER_TOKEN; set --; rm -f "$SECRET"
fi
if phase idle; then
start_server never
echo "== $IDLE idle SSE subscribers"
bounded "$LOAD" idle "$PORT" "$PID" "$IDLE"
stop_server
fi
