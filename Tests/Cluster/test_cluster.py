"""Broker fronts over a 3-node JetStream cluster (SPEC.md 7): failover of the
stream's leader and of a front, a front's restart, NATS going away, export."""

import json
import os
import subprocess
import tempfile
import time

import pytest

from cluster import BROKER, Front, Inserter, NatsCluster, Subscriber

# The SSE reader and the hand-over checker of the promise tests (cluster puts them on the path).
from promises import SSE, CPUBurners, check_resumed, check_snapshot_then_live  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    nats = NatsCluster()
    nats.start()
    fronts = [Front(nats, "a"), Front(nats, "b")]
    try:
        for front in fronts:
            front.start()
        yield nats, fronts
    finally:
        for front in fronts:
            front.kill()
        nats.stop()


# How long inserts may stop after the stream's leader is killed: JetStream 2.9
# elects a new leader after a Raft election timeout of 4 to 9 s; while it has none
# an insert is refused at once (no responders) and retried, and one in flight as
# the leader died waits out the front's 5 s publish timeout, within the election.
RESUME_BOUND = 12


def leader(front):
    deadline = time.time() + 20
    while time.time() < deadline:
        status, health = front.health()
        if health["nats"]["streamLeader"]:
            return health["nats"]["streamLeader"]
        time.sleep(0.2)
    raise AssertionError("the stream has no leader")


def assert_every_record_once_in_order(records, acked, first_seq):
    seqs = [r[0] for r in records]
    assert seqs == list(range(first_seq, first_seq + len(seqs))), "seqs are not unique, gapless and in order"
    by_seq = {seq: (event, data) for seq, event, data in records}
    for seq, event, data, _ in acked:
        assert by_seq.get(seq) == (event, data), f"acknowledged seq {seq} is missing or different"


def test_health_reports_the_connection_and_the_stream(cluster):
    _, (a, b) = cluster
    for front in (a, b):
        status, health = front.health()
        assert status == 200 and health["status"] == "ok"
        assert health["nats"]["connected"] is True and health["nats"]["stream"] == "BROKER"
        assert health["nats"]["replicas"] == 3


def test_a_record_inserted_on_one_front_is_served_by_the_other(cluster):
    _, (a, b) = cluster
    status, _, body = a.insert("greeting/hello world.*>", {"text": "hi"})
    assert status == 200, body
    record = json.loads(body)
    deadline = time.time() + 10
    while time.time() < deadline and b.health()[1]["lastSeq"] < record["seq"]:
        time.sleep(0.05)
    status, _, body = b.request("GET", "/audit/greeting%2Fhello%20world.*%3E")
    assert status == 200, body
    assert json.loads(body)[-1] == record
    # An expected seq that no longer holds is refused by the stream, on either front.
    status, _, body = b.request(
        "POST", "/insert", json.dumps({"event": "greeting/hello world.*>", "data": 2, "expectedSeq": 0}),
        {"Content-Type": "application/json"})
    assert status == 409, body
    assert json.loads(body)["currentSeq"] == record["seq"]
    # An Idempotency-Key repeated on the other front is answered, not appended again.
    status, _, first = a.insert("keyed", {"v": 1}, key="same-key")
    status2, headers, again = b.insert("keyed", {"v": 1}, key="same-key")
    assert status == status2 == 200 and json.loads(first) == json.loads(again)
    assert headers.get("Idempotent-Replayed") == "true"
    status, _, body = b.insert("keyed", {"v": 2}, key="same-key")
    assert status == 422, body


def test_leader_kill_loses_no_acknowledged_insert(cluster):
    nats, (a, b) = cluster
    start = a.health()[1]["lastSeq"]
    subscribers = [Subscriber([a], last_event_id=start), Subscriber([b], last_event_id=start)]
    for subscriber in subscribers:
        subscriber.start()
    inserters = [Inserter([a, b], "x"), Inserter([b, a], "y")]
    for inserter in inserters:
        inserter.start()
    time.sleep(3)
    killed = nats.node(leader(a))
    killed_at = time.time()
    killed.kill()
    try:
        # Inserts go on until some are acknowledged again (a new leader), then a little longer.
        deadline = killed_at + RESUME_BOUND + 5
        while time.time() < deadline and not any(t > killed_at + 1 for i in inserters for (_, _, _, t) in list(i.acked)):
            time.sleep(0.1)
        time.sleep(1)
        for inserter in inserters:
            inserter.stop()
        for inserter in inserters:
            inserter.join(30)
        acked = sorted(sum((i.acked for i in inserters), []))
        last = acked[-1][0]
        assert any(t > killed_at + 1 for (_, _, _, t) in acked), \
            f"no insert was acknowledged after the leader was killed\n{nats.log_tails()}"
        # The longest time without any acknowledgement, over both inserters together.
        times = sorted(t for (_, _, _, t) in acked)
        pause = max(b - a for a, b in zip(times, times[1:]))
        failures = sum(i.failures for i in inserters)
        print(f"\n{len(acked)} inserts acknowledged, {failures} attempts retried; "
              f"after SIGKILL of leader {killed.name} the longest pause between acknowledgements was {pause:.2f} s")
        assert pause < RESUME_BOUND, f"inserts stopped for {pause:.1f} s after the leader was killed"
        for subscriber in subscribers:
            records = subscriber.wait_for(last)
            subscriber.stop()
            assert_every_record_once_in_order(records, acked, start + 1)
        assert subscribers[0].snapshot() == subscribers[1].snapshot()
    finally:
        for inserter in inserters:
            inserter.stop()
        for subscriber in subscribers:
            subscriber.stop()
        killed.start()


def test_a_killed_fronts_subscribers_resume_on_the_other_without_loss(cluster):
    nats, (a, b) = cluster
    start = b.health()[1]["lastSeq"]
    subscriber = Subscriber([a, b], last_event_id=start)
    subscriber.start()
    inserter = Inserter([b], "z")
    inserter.start()
    time.sleep(2)
    a.kill()
    time.sleep(3)
    inserter.stop()
    inserter.join(30)
    last = inserter.acked[-1][0]
    records = subscriber.wait_for(last)
    subscriber.stop()
    assert subscriber.reconnects >= 1
    assert_every_record_once_in_order(records, inserter.acked, start + 1)
    # Restarted, the front rebuilds its index from the stream and serves what the other does.
    a.start()
    deadline = time.time() + 20
    while time.time() < deadline and a.health()[1]["lastSeq"] < b.health()[1]["lastSeq"]:
        time.sleep(0.1)
    assert a.state() == b.state()
    status, _, body = a.request("GET", "/audit/z-1")
    status2, _, body2 = b.request("GET", "/audit/z-1")
    assert status == status2 == 200 and body == body2


def test_export_writes_a_segment_log_that_the_tools_read(cluster):
    nats, (a, _) = cluster
    last = a.health()[1]["lastSeq"]
    directory = os.path.join(tempfile.mkdtemp(prefix="broker-export-"), "log")
    result = subprocess.run([BROKER, "export", "--nats", nats.urls, "--stream", "BROKER", directory],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"last seq {last}" in result.stdout or "last seq" in result.stdout
    verify = subprocess.run([BROKER, "verify", directory], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    replay = subprocess.run([BROKER, "replay", directory], capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in replay.stdout.splitlines()]
    assert [r["seq"] for r in lines][: last] == list(range(1, last + 1))
    status, _, body = a.request("GET", "/audit/z-1")
    exported = [r for r in lines if r["event"] == "z-1"]
    assert json.loads(body) == exported[: len(json.loads(body))]
    refused = subprocess.run([BROKER, "export", "--nats", nats.urls, directory], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "not empty" in refused.stderr


def test_without_nats_inserts_answer_503_reads_work_and_it_reconnects(cluster):
    nats, (a, b) = cluster
    before = a.state()
    for node in nats.nodes:
        node.kill()
    deadline = time.time() + 10
    while time.time() < deadline and a.health()[1]["nats"]["connected"]:
        time.sleep(0.1)
    status, health = a.health()
    assert status == 503 and health["nats"]["connected"] is False
    status, _, body = a.insert("offline", 1)
    assert status == 503 and "error" in json.loads(body)
    assert a.state() == before
    for node in nats.nodes:
        node.start()
    # The nodes elect a metadata leader, then the stream's (each 4 to 9 s).
    started = time.time()
    status = 0
    while time.time() < started + 60 and status != 200:
        status, _, body = a.insert("online", 1, key="back-online")
        time.sleep(0.2)
    print(f"\ninserts answered again {time.time() - started:.1f} s after the NATS nodes restarted")
    assert status == 200, f"{body}\n{nats.log_tails()}"


def read_stream(front, last_event_id, count, seconds=30, query=""):
    """Opens /events on `front` resuming after `last_event_id` and reads `count`
    messages (or until `seconds` pass): the status, and [(seq, event, data)] (the
    error body when the status is not 200)."""
    stream = SSE(front.port, query, last_event_id=last_event_id, timeout=seconds)
    try:
        if stream.status != 200:
            return stream.status, json.loads(stream.response.read())
        return 200, stream.read_until(lambda messages: len(messages) >= count, seconds=seconds)
    finally:
        stream.close()


def test_a_subscriber_moving_to_a_front_that_is_behind_resumes_exactly(cluster):
    """Front c follows the stream through one node, which is paused: c falls
    behind while a keeps serving. A subscriber that read through a resumes on c
    with its Last-Event-ID: c waits until it has applied it and resumes exactly
    (no snapshot, no duplicate, no gap), and reads naming a seq wait the same way."""
    nats, (a, _) = cluster
    stream_leader = leader(a)
    # Neither the stream's leader nor the node front a is connected to: a's inserts go on while it is paused.
    a_server = a.health()[1]["nats"]["server"]
    follower = next(node for node in nats.nodes if node.name != stream_leader and node.url != a_server)
    c = Front(nats, "c")
    c.start(urls=follower.url)
    paused = False
    try:
        for i in range(5):
            status, _, body = a.insert(f"lag/{i % 3}", {"before": i})
            assert status == 200, body
        start = a.health()[1]["lastSeq"]
        deadline = time.time() + 20
        while time.time() < deadline and c.health()[1]["lastSeq"] < start:
            time.sleep(0.05)
        follower.pause()
        paused = True
        acked = []
        for i in range(30):
            status, _, body = a.insert(f"lag/{i % 3}", {"n": i})
            assert status == 200, body
            acked.append(json.loads(body)["seq"])
        last = acked[-1]
        # Through a, the subscriber has read everything up to `last`.
        status, seen = read_stream(a, start, len(acked))
        assert status == 200 and [m[0] for m in seen] == acked
        assert c.health()[1]["lastSeq"] < last, "front c is not behind"
        # Front a dies; the subscriber goes to c, which is behind, and the node comes back a second later.
        import threading
        threading.Timer(1.0, follower.resume).start()
        paused = False
        status, _, more = a.insert("lag/after", {"n": "after"})
        assert status == 200
        after_seq = json.loads(more)["seq"]
        # Like an EventSource: a 503 (the front did not get there within its 5 s) is retried.
        deadline = time.time() + 45
        status, resumed = read_stream(c, last, 1, seconds=30)
        while status == 503 and time.time() < deadline:
            time.sleep(1)
            status, resumed = read_stream(c, last, 1, seconds=30)
        assert status == 200, resumed
        assert [m[0] for m in resumed] == [after_seq], f"resumed after {last} on a front that was behind: {resumed}"
        # A read naming a seq the front has caught up with answers as of that seq.
        status, headers, body = c.request("GET", f"/state?seq={last}&prefix=lag/", timeout=30)
        assert status == 200 and headers.get("X-Broker-Seq") == str(last), body
        status, headers, expected = a.request("GET", f"/state?seq={last}&prefix=lag/")
        assert json.loads(body) == json.loads(expected)
        # Past the stream's own last seq is past the end: the snapshot, with a notice,
        # once the stream's leader says so (a 503 meanwhile is retried, as above).
        deadline = time.time() + 45
        status, messages = read_stream(c, after_seq + 1000, 1, seconds=10, query="?prefix=lag/")
        while status == 503 and time.time() < deadline:
            time.sleep(1)
            status, messages = read_stream(c, after_seq + 1000, 1, seconds=10, query="?prefix=lag/")
        assert status == 200 and messages and messages[0][0] <= after_seq, messages
    finally:
        if paused:
            follower.resume()
        c.kill()


def test_the_hand_over_holds_on_fronts_under_contention(cluster):
    """The checker of Tests/Promises on both fronts: fresh and resumed subscribers,
    with and without a prefix, connect while two writers insert and a busy process
    runs on each core; each gets the latest of every name as of some H and then
    every record after H once, in order (or every record after its resume point)."""
    import random
    import threading

    _, (a, b) = cluster
    rng = random.Random(25)
    results, lock = [], threading.Lock()

    def client(front, query, admits, after):
        try:
            stream = SSE(front.port, query, last_event_id=after)
            messages = stream.read_until(lambda m: len(m) >= 30, seconds=1.0) if stream.status == 200 else None
            stream.close()
        except OSError as error:
            messages = str(error)
        with lock:
            results.append((query, admits, after, messages))

    def write(front, prefix):
        count = 0
        deadline = time.time() + 40
        while time.time() < deadline and not stop.is_set():
            count += 1
            status, _, _ = front.insert(f"ho/{count % 5}", {"by": prefix, "n": count})
            time.sleep(0.003)

    stop = threading.Event()
    writers = [threading.Thread(target=write, args=(front, front.name), daemon=True) for front in (a, b)]
    threads = []
    with CPUBurners(30):
        for writer in writers:
            writer.start()
        time.sleep(1)
        deadline = time.time() + 15
        while len(threads) < 80 and time.time() < deadline:
            time.sleep(rng.uniform(0.03, 0.15))
            front = (a, b)[len(threads) % 2]
            query, admits = rng.choice([("", lambda n: True), ("?prefix=ho/", lambda n: n.startswith("ho/"))])
            after = None
            if rng.random() < 0.5:
                after = max(0, front.health()[1]["lastSeq"] - rng.randint(0, 200))
            thread = threading.Thread(target=client, args=(front, query, admits, after), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(30)
        stop.set()
        for writer in writers:
            writer.join(30)
    # Every record of the stream, from the front that has applied the most.
    last = max(a.health()[1]["lastSeq"], b.health()[1]["lastSeq"])
    for front in (a, b):
        deadline = time.time() + 20
        while time.time() < deadline and front.health()[1]["lastSeq"] < last:
            time.sleep(0.05)
    status, messages = read_stream(a, 0, last, seconds=60)
    assert status == 200 and [m[0] for m in messages] == list(range(1, last + 1))
    log = {seq: (event, data) for seq, event, data in messages}
    failures = [r for r in results if not isinstance(r[3], list)]
    assert not failures, failures[:3]
    for query, admits, after, got in results:
        if after is None:
            check_snapshot_then_live(got, log, admits)
        else:
            check_resumed(got, log, admits, after)
    assert len(results) >= 40
