"""A front waits for its NATS cluster (SPEC.md 7.5): started before, with or after
the nodes, it answers 503 with what it waits for, then serves; past --nats-wait it
exits 69. Every wait here is for readiness (/healthz), bounded."""

import json
import subprocess
import time

from cluster import BROKER, Front, NatsCluster, free_port


def starting_health(front):
    status, health = front.health()
    assert status == 503, health
    assert health["status"] == "starting" and health["error"], health
    return health


def wait_for_503_reason(front, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            return starting_health(front)
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("the front did not answer while starting")


def test_fronts_started_before_with_and_after_the_nodes_all_serve():
    nats = NatsCluster()
    before = Front(nats, "before")
    fronts = [before]
    try:
        before.start(wait=False)
        health = wait_for_503_reason(before)
        assert "NATS" in health["error"], health
        status, _, body = before.insert("early", 1)
        assert status == 503 and json.loads(body)["error"].startswith("starting: ")
        # One node of three: no JetStream cluster yet, the front keeps waiting.
        nats.nodes[0].start()
        time.sleep(1)
        assert before.process.poll() is None, "the front exited while its cluster formed"
        starting_health(before)
        # The other two nodes, with a front started at the same moment as them.
        with_nodes = Front(nats, "with")
        fronts.append(with_nodes)
        with_nodes.start(wait=False)
        for node in nats.nodes[1:]:
            node.start()
        for front in (before, with_nodes):
            front.wait_ready(120)
        after = Front(nats, "after")
        fronts.append(after)
        after.start()
        seqs = []
        for front in fronts:
            status, _, body = front.insert(f"hello/{front.name}", {"from": front.name})
            assert status == 200, body
            seqs.append(json.loads(body)["seq"])
        last = max(seqs)
        for front in fronts:
            deadline = time.time() + 20
            while time.time() < deadline and front.health()[1]["lastSeq"] < last:
                time.sleep(0.05)
        states = [front.state() for front in fronts]
        assert states[0] == states[1] == states[2] and len(states[0]) == 3
        log = open(before.log_path).read()
        assert "waiting:" in log, log
    finally:
        for front in fronts:
            front.kill()
        nats.stop()


def test_a_front_whose_cluster_never_comes_exits_69_after_nats_wait():
    nats = NatsCluster()
    front = Front(nats, "lonely", extra=["--nats-wait", "2"])
    try:
        started = time.time()
        front.start(wait=False)
        code = front.process.wait(timeout=30)
        elapsed = time.time() - started
        log = open(front.log_path).read()
        assert code == 69, log
        assert 2 <= elapsed < 20, elapsed
        assert "cannot start" in log and "no NATS server answered" in log, log
    finally:
        front.kill()
        nats.stop()


def test_settings_waiting_cannot_mend_are_refused_at_once():
    port = free_port()
    result = subprocess.run([BROKER, "serve", "--nats", "nats://127.0.0.1:1", "--nats-wait", "soon", "--port", str(port)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64 and "--nats-wait" in result.stderr


def test_sigterm_while_waiting_for_the_cluster_exits_0():
    import signal
    nats = NatsCluster()
    front = Front(nats, "stopped")
    try:
        front.start(wait=False)
        wait_for_503_reason(front)
        front.process.send_signal(signal.SIGTERM)
        assert front.process.wait(timeout=10) == 0, open(front.log_path).read()
    finally:
        front.kill()
        nats.stop()
