#!/usr/bin/env bash
# make load-cluster: inserts through one Broker front against raw JetStream
# publishing with acknowledgements (Benchmarks/Sources/JetStreamLoad), on the same
# 3-node nats-server cluster on 127.0.0.1, in one run. Everything started here is
# stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
BROKER=$(swift build -c release --show-bin-path)/broker
LOAD=$(cd Benchmarks && swift build -c release --product LoadGenerator >/dev/null && swift build -c release --show-bin-path)/LoadGenerator
RAW=$(cd Benchmarks && swift build -c release --product JetStreamLoad >/dev/null && swift build -c release --show-bin-path)/JetStreamLoad
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
SECONDS_EACH=${SECONDS_EACH:-10}
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

"$BROKER" serve --nats "$NATS" --host 127.0.0.1 --port 18091 --log-level warning >"$WORK/front.log" 2>&1 &
PIDS+=($!)
wait_port 18091

for round in 1 2; do
    echo "== round $round: raw JetStream publish with ack, 32 in flight, 3 replicas"
    "$RAW" "$NATS" 32 "$SECONDS_EACH"
    echo "== round $round: POST /insert through one front, 32 connections (LoadGenerator)"
    "$LOAD" insert 18091 32 "$SECONDS_EACH"
done
