#!/usr/bin/env bash
# The server under load on loopback, with the release build: POST /insert with 32
# connections under fsync never and always (wrk, and the NIO load generator), SSE
# fan-out (as fast as the server answers, and paced at 600 records/s), and the
# memory of idle subscribers. Fan-out and paced latency are measured against nginx
# with nchan (Benchmarks/load/nchan.conf) in the same run, alternated, so each is a
# ratio. Every phase is bounded in time.
# Usage: Benchmarks/load/run.sh [SUBSCRIBERS] [RECORDS] [IDLE]
# LOAD_PHASES picks phases (default: "reference insert latency fanout auth idle").
set -euo pipefail
# The benchmarks package links BrokerNATS, which Broker offers only with this set.
export BROKER_BENCHMARKS=1
cd "$(dirname "$0")/../.."
BROKER=$(swift build -c release --show-bin-path)/broker
LOAD=$(cd Benchmarks && swift build -c release --product LoadGenerator >/dev/null && swift build -c release --show-bin-path)/LoadGenerator
BARE=$(cd Benchmarks && swift build -c release --product BareSSEServer >/dev/null && swift build -c release --show-bin-path)/BareSSEServer
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
# nginx with nchan on a free port, its files in a scratch prefix.
start_nchan() {
    command -v nginx >/dev/null || { echo "nginx is missing: apt-get install nginx-light libnginx-mod-nchan"; exit 1; }
    NCHAN=$(mktemp -d)
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    sed -e "s|PREFIX|$NCHAN|g" -e "s|PORT|$PORT|g" Benchmarks/load/nchan.conf > "$NCHAN/nginx.conf"
    nginx -p "$NCHAN" -c "$NCHAN/nginx.conf" &
    PID=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.05; done
    echo "nginx did not start: $(cat "$NCHAN/error.log")"; exit 1
}
stop_nchan() { kill -QUIT "$PID"; wait "$PID" || true; rm -rf "$NCHAN"; }
# One fan-out run ($1: broker or nchan; then the LoadGenerator's fanout arguments).
fanout_on() {
    local server=$1; shift
    if [ "$server" = nchan ]; then start_nchan; else start_server never; fi
    LOAD_TARGET=$server bounded "$LOAD" fanout "$PORT" "$@"
    if [ "$server" = nchan ]; then stop_nchan; else stop_server; fi
}
bounded() { timeout 300 "$@"; }
PHASES=" ${LOAD_PHASES:-reference insert latency fanout auth idle} "
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
    WORK_SED='s/^inserts: ([0-9]+) ok.*/\1/p' with_cpu insert "$PORT" 32 10
    stop_server
done
# Live latency with records paced, Broker against nchan, twice each: 100 subscribers
# at 1,000 records/s and 1,000 subscribers at 100 records/s, 5 s of records.
if phase latency; then
for round in 1 2; do
    for server in broker nchan; do
        echo "== paced latency ($server, round $round): 100 subscribers x 5000 records, 1000 records/s"
        fanout_on "$server" 100 5000 4 1000
        echo "== paced latency ($server, round $round): 1000 subscribers x 500 records, 100 records/s"
        fanout_on "$server" 1000 500 4 100
    done
done
fi
# Fan-out as fast as the publishers are answered, Broker against nchan, twice each.
if phase fanout; then
for round in 1 2; do
    for server in broker nchan; do
        echo "== SSE fan-out ($server, round $round): $SUBSCRIBERS subscribers x $RECORDS records, 4 publishers, unpaced"
        fanout_on "$server" "$SUBSCRIBERS" "$RECORDS" 4 0
    done
done
fi
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
# Idle subscribers on Broker and on a bare Hummingbird server (BareSSEServer): the
# HTTP stack's own cost per connection, the floor under Broker's.
if phase idle; then
start_server never
echo "== $IDLE idle SSE subscribers (Broker)"
bounded "$LOAD" idle "$PORT" "$PID" "$IDLE"
stop_server
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BARE" "$PORT" 2>/dev/null &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
echo "== $IDLE idle SSE subscribers (bare Hummingbird: BareSSEServer)"
bounded "$LOAD" idle "$PORT" "$PID" "$IDLE"
kill -TERM "$PID"; wait "$PID" || true
fi
