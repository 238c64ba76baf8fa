#!/usr/bin/env bash
# make load-cluster, on one 3-node nats-server cluster on 127.0.0.1, in one run:
# - insert: POST /insert through one Broker front against raw JetStream publishing
#   with acknowledgements (Benchmarks/Sources/JetStreamLoad), alternated, then the
#   same inserts into a single node (what the HTTP stack alone costs);
# - fanout: SSE fan-out with subscribers and publishers spread over two fronts,
#   against one single-node Broker (fsync never) on the same machine, alternated.
# Each load is followed by the CPU seconds the servers and the load client used.
# Everything started here is stopped by its PID on exit.
# Usage: Benchmarks/load/cluster.sh [SUBSCRIBERS] [RECORDS]; LOAD_PHASES picks
# phases (default "insert fanout"), SECONDS_EACH the length of an insert round.
set -euo pipefail
# The benchmarks package links BrokerNATS, which Broker offers only with this set.
export BROKER_BENCHMARKS=1
cd "$(dirname "$0")/../.."
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
BROKER=$(swift build -c release --show-bin-path)/broker
LOAD=$(cd Benchmarks && swift build -c release --product LoadGenerator >/dev/null && swift build -c release --show-bin-path)/LoadGenerator
RAW=$(cd Benchmarks && swift build -c release --product JetStreamLoad >/dev/null && swift build -c release --show-bin-path)/JetStreamLoad
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
SECONDS_EACH=${SECONDS_EACH:-10}
SUBSCRIBERS=${1:-1000}; RECORDS=${2:-1000}
PHASES=" ${LOAD_PHASES:-insert fanout} "
phase() { [[ "$PHASES" == *" $1 "* ]]; }
bounded() { timeout 300 "$@"; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1"; exit 1; }

ROUTES=nats://127.0.0.1:16221,nats://127.0.0.1:16222,nats://127.0.0.1:16223
for i in 1 2 3; do
    "$NATS_SERVER" -a 127.0.0.1 -p 1422$i -n n$i -js -sd "$WORK/n$i" --cluster_name load \
        --cluster nats://127.0.0.1:1622$i --routes $ROUTES >"$WORK/n$i.log" 2>&1 &
    PIDS+=($!)
done
for i in 1 2 3; do wait_port 1422$i; done
NATS=nats://127.0.0.1:14221,nats://127.0.0.1:14222,nats://127.0.0.1:14223

# A Broker node on $1, in the background, with the options that follow; its PID in $STARTED.
start_broker() {
    local port=$1; shift
    "$BROKER" serve --host 127.0.0.1 --port "$port" --log-level warning --heartbeat-ms 60000 "$@" >>"$WORK/broker-$port.log" 2>&1 &
    STARTED=$!
    PIDS+=("$STARTED")
    wait_port "$port"
}
stop_broker() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

# CPU time (utime + stime, in 1/100 s) of the processes given (a comma list).
ticks() { local total=0 pid; for pid in ${1//,/ }; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }
seconds() { awk "BEGIN { print $1 / 100 }"; }
# measured NAME=PIDS... -- LOAD...: runs the load, then prints the CPU seconds each
# named group of server processes and the load client used meanwhile: where this
# machine's 2 cores went.
measured() {
    local groups=() before=() report="cpu seconds:" i
    while [[ $1 != -- ]]; do groups+=("$1"); shift; done; shift
    for i in "${!groups[@]}"; do before[i]=$(ticks "${groups[i]#*=}"); done
    bounded bash -c '"$@"; awk "{ print \$16 + \$17 }" /proc/$$/stat >"$0"' "$WORK/client-ticks" "$@"
    for i in "${!groups[@]}"; do report+=" ${groups[i]%%=*} $(seconds $(($(ticks "${groups[i]#*=}") - before[i])))"; done
    echo "$report, load client $(seconds "$(cat "$WORK/client-ticks")")"
}
NATS_PIDS=$(IFS=,; echo "${PIDS[*]}")

if phase insert; then
    start_broker 18091 --nats "$NATS"
    FRONT=$STARTED
    for round in 1 2; do
        echo "== round $round: raw JetStream publish with ack, 32 in flight, 3 replicas"
        measured nats="$NATS_PIDS" -- "$RAW" "$NATS" 32 "$SECONDS_EACH"
        echo "== round $round: POST /insert through one front, 32 connections (LoadGenerator)"
        measured front="$FRONT" nats="$NATS_PIDS" -- "$LOAD" insert 18091 32 "$SECONDS_EACH"
    done
    stop_broker "$FRONT"
    # What the same HTTP inserts cost without NATS: the part of a front's CPU that is
    # Broker's HTTP stack rather than JetStream.
    start_broker 18093 --data-dir "$WORK/single-insert" --fsync never
    echo "== POST /insert through one single-node Broker (fsync never), 32 connections: the HTTP stack's own cost"
    measured node="$STARTED" -- "$LOAD" insert 18093 32 "$SECONDS_EACH"
    stop_broker "$STARTED"
fi
# Each fan-out round starts from nothing: two fronts on a new stream, and a single
# node (the embedded segment log, fsync never, as the other fan-out rows of docs/performance.md) on
# a new directory, so no subscriber's snapshot holds an earlier round's records.
if phase fanout; then
    for round in 1 2; do
        start_broker 18091 --nats "$NATS" --nats-stream "FANOUT$round"
        FRONT_A=$STARTED
        start_broker 18092 --nats "$NATS" --nats-stream "FANOUT$round"
        FRONT_B=$STARTED
        echo "== round $round: SSE fan-out through two fronts: $SUBSCRIBERS subscribers x $RECORDS records, 4 publishers, unpaced"
        measured fronts="$FRONT_A,$FRONT_B" nats="$NATS_PIDS" -- "$LOAD" fanout 18091,18092 "$SUBSCRIBERS" "$RECORDS" 4 0
        stop_broker "$FRONT_A"
        stop_broker "$FRONT_B"
        start_broker 18093 --data-dir "$WORK/single-$round" --fsync never
        SINGLE=$STARTED
        echo "== round $round: SSE fan-out through one single-node Broker: $SUBSCRIBERS subscribers x $RECORDS records, 4 publishers, unpaced"
        measured node="$SINGLE" -- "$LOAD" fanout 18093 "$SUBSCRIBERS" "$RECORDS" 4 0
        stop_broker "$SINGLE"
    done
fi
