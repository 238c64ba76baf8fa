"""Recovery through the binary (SPEC.md 3.4): every way an open can go, each
followed by the same checks of what every read returns and of the appends that
follow. A SIGKILL between write calls almost never leaves a torn tail; power loss
does, so the images here are made the way a disk can leave them from a real run's
data directory: a prefix of the last write, zeros or garbage after it, a later
page of the last record without an earlier one, a segment torn while created.

The checks after each open: /healthz's lastSeq, /state, every name's /audit, a
fresh subscriber's snapshot, one more insert per name, a clean stop, `broker
verify`, and a reopen with every history whole."""

import json
import os
import random
import shutil
import tempfile

import pytest

from promises import SSE, Server, quote, run_tool

NAMES = ["t0", "t1", "t2", "big"]
PAGE = 4096


def fresh_directory():
    return tempfile.mkdtemp(prefix="broker-recovery-") + "/data"


def insert_records(server, count, start=0):
    for i in range(start, start + count):
        status, body = server.insert(f"t{i % 3}", {"i": i})
        assert status == 200, body


def insert_big(server, rng):
    # About three pages once compressed: its middle page can be lost alone.
    status, body = server.insert("big", "".join(rng.choice("0123456789abcdef") for _ in range(24000)))
    assert status == 200, body


def insert_batch(server, size=20):
    status, body = server.insert_batch([{"event": "batch/x", "data": {"b": i}} for i in range(size)])
    assert status == 200, body


def dump(directory):
    """Every record of an intact directory: [{seq, event, data, segment, offset, end}]."""
    code, out, err = run_tool("dump", "--json", directory)
    assert code == 0, err
    records = [line for line in map(json.loads, out.splitlines()) if line.get("type") == "record"]
    by_segment = {}
    for record in records:
        by_segment.setdefault(record["segment"], []).append(record)
    for segment, frames in by_segment.items():
        size = os.path.getsize(segment)
        for frame, after in zip(frames, frames[1:] + [None]):
            frame["end"] = after["offset"] if after else size
    return records


def newest_segment(directory):
    return os.path.join(directory, sorted(f for f in os.listdir(directory) if f.endswith(".seg"))[-1])


# MARK: The runs an image is made from


def run_checkpointed(directory, rng, segment_bytes=None, tail="big"):
    """Records, a clean stop (a checkpoint of all of them), more records past the
    checkpoint, then SIGKILL: the open adopts the checkpoint and walks the rest."""
    arguments = ["--segment-bytes", segment_bytes] if segment_bytes else []
    server = Server(directory, arguments).start()
    insert_records(server, 19)
    assert server.stop() == 0
    server = Server(directory, arguments).start()
    insert_records(server, 19, start=19)
    if tail == "big":
        insert_big(server, rng)
    elif tail == "batch":
        insert_batch(server)
    server.kill()


def run_unclosed(directory, rng, tail="big"):
    """Records, then SIGKILL with no checkpoint ever written: a full rebuild."""
    server = Server(directory).start()
    insert_records(server, 19)
    if tail == "big":
        insert_big(server, rng)
    elif tail == "batch":
        insert_batch(server)
    server.kill()


# MARK: Images


def cut_inside_last_frame(directory, frames, rng, how):
    """Damages the newest segment's last frame (or last batch) the way a disk can
    leave an unfinished write; returns the seqs that must survive."""
    segment = newest_segment(directory)
    own = [f for f in frames if f["segment"] == segment]
    last = own[-1]
    # A batch's frames are cut together: everything from the batch's first frame.
    first_of_tail = last
    if last["event"] == "batch/x":
        first_of_tail = next(f for f in own if f["event"] == "batch/x")
    survivors = {f["seq"] for f in frames if f["seq"] < first_of_tail["seq"]}
    start, end = last["offset"], last["end"]
    point = rng.randint(start + 1, end - 1)
    with open(segment, "r+b") as f:
        if how == "truncate":
            f.truncate(point)
        elif how == "zeros":
            # The rest of the write never reached the disk, the file's size did (and a page more).
            f.seek(point)
            f.write(b"\0" * (end - point + PAGE))
        elif how == "garbage":
            f.seek(point)
            f.write(rng.randbytes(end - point + rng.randint(0, PAGE)))
        elif how == "lost-page":
            # A later page of the write is on disk, an earlier one is not.
            page = (start // PAGE + 1) * PAGE
            assert page + PAGE < end, "the last frame must span more than two pages"
            f.seek(page)
            f.write(b"\0" * PAGE)
        else:
            raise ValueError(how)
    return survivors


def garbage_after_end(directory, frames, rng):
    with open(newest_segment(directory), "ab") as f:
        f.write(rng.randbytes(300))
    return {f["seq"] for f in frames}


def torn_creation(directory, frames, rng):
    """A rotation that created the next segment's file but not its whole header."""
    last = max(f["seq"] for f in frames)
    with open(os.path.join(directory, f"{last + 1:020d}.seg"), "wb") as f:
        f.write(b"\0" * rng.choice([0, 7, 20]))
    return {f["seq"] for f in frames}


# MARK: The checks


def expected_state(log):
    latest = {}
    for seq in sorted(log):
        latest[log[seq][0]] = seq
    return sorted(latest.values())


def triples(records):
    return [(r["seq"], r["event"], r["data"]) for r in records]


def check_reads(server, log, names):
    """Every read agrees with `log` ({seq: (event, data)})."""
    status, health = server.get_json("/healthz")
    assert status == 200 and health["lastSeq"] == (max(log) if log else 0), health
    status, state = server.get_json("/state")
    assert status == 200
    assert triples(state) == [(seq, *log[seq]) for seq in expected_state(log)], "/state"
    for name in names:
        status, body = server.get_json("/audit/" + quote(name))
        want = [(seq, *log[seq]) for seq in sorted(log) if log[seq][0] == name]
        if not want:
            assert status == 404, body
            continue
        assert status == 200, body
        assert triples(body) == want, f"/audit/{name}"
    stream = SSE(server.port)
    count = len(expected_state(log))
    snapshot = stream.read_until(lambda m: len(m) >= count, seconds=10)
    stream.close()
    assert [m[0] for m in snapshot] == expected_state(log), "the SSE snapshot"


def recover_and_check(directory, survivors, original, arguments=()):
    """Opens the damaged image and runs every check; `original` is the run's
    records ({seq: (event, data)}), `survivors` the seqs that must be there."""
    log = {seq: original[seq] for seq in survivors}
    names = sorted({event for event, _ in original.values()})
    server = Server(directory, list(arguments)).start()
    try:
        check_reads(server, log, names)
        # The appends that follow continue every name's chain.
        for name in names:
            status, body = server.insert(name, {"after": name})
            assert status == 200, body
            assert body["seq"] == (max(log) if log else 0) + 1, body
            log[body["seq"]] = (name, {"after": name})
        check_reads(server, log, names)
        assert server.stop() == 0, server.log()
    finally:
        server.kill()
    code, out, err = run_tool("verify", directory)
    assert code == 0, out + err
    server = Server(directory, list(arguments)).start()
    try:
        check_reads(server, log, names)
        assert server.stop() == 0
    finally:
        server.kill()


def original_records(frames):
    return {f["seq"]: (f["event"], f["data"]) for f in frames}


# Each run: how the open finds the checkpoint, and what the tail holds.
RUNS = {
    "checkpoint-walked": lambda d, rng: run_checkpointed(d, rng),
    "checkpoint-walked-batch": lambda d, rng: run_checkpointed(d, rng, tail="batch"),
    "checkpoint-ignored": lambda d, rng: (run_checkpointed(d, rng), spoil_checkpoint(d)),
    "checkpoint-absent": lambda d, rng: (run_checkpointed(d, rng), os.remove(os.path.join(d, "CHECKPOINT"))),
    "no-checkpoint-ever": lambda d, rng: run_unclosed(d, rng),
    "no-checkpoint-batch": lambda d, rng: run_unclosed(d, rng, tail="batch"),
    "rotated": lambda d, rng: run_checkpointed(d, rng, segment_bytes="4K"),
}


def spoil_checkpoint(directory):
    path = os.path.join(directory, "CHECKPOINT")
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))


def make_run(name, seed):
    directory = fresh_directory()
    rng = random.Random(f"{name}-{seed}")
    RUNS[name](directory, rng)
    return directory, rng


@pytest.mark.parametrize("run", sorted(RUNS))
def test_an_open_with_nothing_torn_serves_every_record(run):
    directory, _ = make_run(run, 0)
    frames = dump(directory)
    recover_and_check(directory, {f["seq"] for f in frames}, original_records(frames))
    shutil.rmtree(os.path.dirname(directory), ignore_errors=True)


@pytest.mark.parametrize("how", ["truncate", "zeros", "garbage", "lost-page"])
@pytest.mark.parametrize("run", sorted(RUNS))
def test_an_open_that_cuts_a_torn_tail_serves_every_record_before_it(run, how):
    if how == "lost-page" and "batch" in run:
        pytest.skip("a batch's frames are small: no frame spans three pages")
    for seed in range(2):
        directory, rng = make_run(run, seed)
        frames = dump(directory)
        survivors = cut_inside_last_frame(directory, frames, rng, how)
        recover_and_check(directory, survivors, original_records(frames))
        shutil.rmtree(os.path.dirname(directory), ignore_errors=True)


@pytest.mark.parametrize("image", [garbage_after_end, torn_creation], ids=["garbage-after-the-end", "segment-torn-while-created"])
@pytest.mark.parametrize("run", ["checkpoint-walked", "no-checkpoint-ever", "rotated"])
def test_a_tail_with_no_record_in_it_is_cut_and_nothing_else(run, image):
    """Garbage after the last whole frame, or a next segment torn while it was
    created (it gets a header): every record stays."""
    directory, rng = make_run(run, 0)
    frames = dump(directory)
    survivors = image(directory, frames, rng)
    recover_and_check(directory, survivors, original_records(frames))


def test_a_clean_stop_then_an_open_walks_nothing():
    directory = fresh_directory()
    server = Server(directory).start()
    insert_records(server, 25)
    assert server.stop() == 0
    frames = dump(directory)
    recover_and_check(directory, {f["seq"] for f in frames}, original_records(frames))


def test_verify_on_open_reads_everything_and_cuts_the_same_tail():
    directory, rng = make_run("checkpoint-walked", 7)
    frames = dump(directory)
    survivors = cut_inside_last_frame(directory, frames, rng, "truncate")
    recover_and_check(directory, survivors, original_records(frames), arguments=["--verify-on-open"])
