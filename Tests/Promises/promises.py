"""What the promise tests share: a `broker serve` process, an SSE reader, CPU
burners, and the checks every read must pass (SPEC.md 3.4, 4.3).

Every process is started here and stopped by its PID; every wait is bounded."""

import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROKER = os.environ.get("BROKER_BIN", os.path.join(ROOT, ".build", "debug", "broker"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(port, method, path, body=None, headers=None, timeout=15):
    """One request on its own connection to 127.0.0.1:`port`: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def run_tool(*arguments, timeout=120):
    """`broker ARGUMENTS...`: (exit code, stdout, stderr)."""
    result = subprocess.run([BROKER, *arguments], capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


class Server:
    """One `broker serve` over `directory` on a loopback port."""

    def __init__(self, directory, arguments=()):
        self.directory, self.arguments = directory, list(arguments)
        self.port = None
        self.process = None
        self.log_path = directory.rstrip("/") + ".server.log"

    def start(self, timeout=30):
        self.port = free_port()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [BROKER, "serve", "--data-dir", self.directory, "--host", "127.0.0.1", "--port", str(self.port),
             "--heartbeat-ms", "500", "--log-level", "info"] + self.arguments,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"broker serve exited {self.process.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/healthz", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"broker serve was not healthy after {timeout} s:\n{self.log()}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-4000:]

    def stop(self):
        """SIGTERM, and the exit code (a clean stop is 0)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=20)
        return self.process.returncode if self.process else None

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)

    def request(self, method, path, body=None, headers=None, timeout=15):
        return http_request(self.port, method, path, body, headers, timeout)

    def get_json(self, path):
        status, _, body = self.request("GET", path)
        return status, json.loads(body)

    def insert(self, event, data, expected_seq=None, key=None):
        entry = {"event": event, "data": data}
        if expected_seq is not None:
            entry["expectedSeq"] = expected_seq
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        status, _, body = self.request("POST", "/insert", json.dumps(entry), headers)
        return status, json.loads(body)

    def insert_batch(self, entries):
        status, _, body = self.request("POST", "/insert", json.dumps(entries), {"Content-Type": "application/json"})
        return status, json.loads(body)


def quote(name):
    from urllib.parse import quote as q
    return q(name, safe="")


class SSE:
    """One `GET /events` connection, read message by message."""

    def __init__(self, port, query="", last_event_id=None, timeout=10):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
        self.connection.request("GET", "/events" + query, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.comments = []

    def next(self):
        """The next message as (seq, event, data), or None when the stream ends."""
        seq = name = None
        data = []
        while True:
            line = self.response.fp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif line.startswith("id:"):
                seq = int(line[3:].strip())
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line == "" and seq is not None:
                return seq, name, json.loads("\n".join(data))

    def read_until(self, predicate, seconds=20):
        """Messages until `predicate(messages)` holds, the stream ends or time is up."""
        messages = []
        self.connection.sock.settimeout(seconds)
        deadline = time.time() + seconds
        while time.time() < deadline and not predicate(messages):
            try:
                message = self.next()
            except (socket.timeout, OSError):
                break
            if message is None:
                break
            messages.append(message)
        return messages

    def close(self):
        self.connection.close()


class Drainers:
    """Subscribers that read and discard everything: they keep the server's loop
    writers busy with every insert, so that a new subscriber's hand-over happens
    while a round of live writes runs on its event loop."""

    def __init__(self, port, count):
        self.port, self.count = port, count
        self.stopping = threading.Event()
        self.threads = []

    def __enter__(self):
        for _ in range(self.count):
            thread = threading.Thread(target=self._drain, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def _drain(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                while not self.stopping.is_set():
                    try:
                        if not sock.recv(1 << 16):
                            return
                    except socket.timeout:
                        continue
        except OSError:
            return

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(5)


def _burn(until):
    while time.time() < until:
        pass


class CPUBurners:
    """One busy process per core, so that the server's threads are preempted at
    arbitrary points: the hand-over must hold under any scheduling."""

    def __init__(self, seconds, per_core=1):
        self.seconds, self.per_core = seconds, per_core
        self.processes = []

    def __enter__(self):
        until = time.time() + self.seconds
        context = multiprocessing.get_context("fork")
        count = self.per_core * (os.cpu_count() or 2)
        self.processes = [context.Process(target=_burn, args=(until,), daemon=True) for _ in range(count)]
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(5)


def history(server, names):
    """Every record of each name, by /audit: {seq: (event, data)}."""
    records = {}
    for name in names:
        status, body = server.get_json("/audit/" + quote(name))
        if status == 404:
            continue
        assert status == 200, body
        for record in body:
            records[record["seq"]] = (record["event"], record["data"])
    return records


def check_snapshot_then_live(messages, log, admits):
    """SPEC.md 4.3 for a fresh subscriber: the latest record of every admitted name
    as of some seq H, in seq order, then every admitted record after H once, in
    order; the reader may have hung up anywhere, inside the snapshot too. `log` is
    every record ({seq: (event, data)}); returns H."""
    for seq, event, data in messages:
        assert log.get(seq) == (event, data), f"seq {seq} arrived as {event} {data}, the log has {log.get(seq)}"
    admitted = sorted(seq for seq, (event, _) in log.items() if admits(event))
    seqs = [m[0] for m in messages]

    def latest_through(h):
        latest = {}
        for seq in admitted:
            if seq > h:
                break
            latest[log[seq][0]] = seq
        return sorted(latest.values())

    # Live records after the snapshot: H is the seq before the first of them.
    for split in range(0, len(seqs)):
        h = seqs[split] - 1
        if seqs[:split] == latest_through(h) and seqs[split:] == [seq for seq in admitted if seq > h][: len(seqs) - split]:
            return h
    # Nothing live yet: the messages are (a prefix of) the snapshot as of some H at
    # or after the last of them, before the next admitted record that would change it.
    top = max(seqs, default=0)
    latest = {log[seq][0]: seq for seq in admitted if seq <= top}
    if sorted(latest.values())[: len(seqs)] == seqs:
        return top
    for seq in (seq for seq in admitted if seq > top):
        latest[log[seq][0]] = seq
        if sorted(latest.values())[: len(seqs)] == seqs:
            return seq
    split = next((i for i in range(1, len(seqs)) if seqs[i] <= seqs[i - 1]), len(seqs))
    raise AssertionError(f"not a snapshot followed by every later record once, in order: {seqs}; "
                         f"the latest of every name through {seqs[split - 1] if split else 0} is "
                         f"{latest_through(seqs[split - 1] if split else 0)}")


def check_resumed(messages, log, admits, after):
    """A resumed subscriber: every admitted record after `after` once, in order."""
    expected = sorted(seq for seq, (event, _) in log.items() if admits(event) and seq > after)[: len(messages)]
    assert [m[0] for m in messages] == expected, \
        f"resumed after {after}: got {[m[0] for m in messages]}, want {expected}"
    for seq, event, data in messages:
        assert log[seq] == (event, data)


class Writer(threading.Thread):
    """Inserts one record every `interval` seconds over `names` in turn, for at most
    `seconds`; `acked` lists the seqs acknowledged."""

    def __init__(self, server, names, interval=0.002, seconds=60):
        super().__init__(daemon=True)
        self.server, self.names, self.interval, self.deadline = server, names, interval, time.time() + seconds
        self.acked = []
        self.stopping = threading.Event()

    def run(self):
        count = 0
        connection = None
        while not self.stopping.is_set() and time.time() < self.deadline:
            count += 1
            name = self.names[count % len(self.names)]
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
                connection.request("POST", "/insert", json.dumps({"event": name, "data": {"n": count}}),
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                body = response.read()
                if response.status == 200:
                    self.acked.append(json.loads(body)["seq"])
            except (OSError, http.client.HTTPException):
                connection = None
            time.sleep(self.interval)
        if connection:
            connection.close()

    def stop(self):
        self.stopping.set()
        self.join(20)
