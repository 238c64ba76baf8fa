"""A 3-node nats-server cluster and Broker fronts on 127.0.0.1, for the cluster tests.

Every process is started here and stopped by its PID; every wait is bounded."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

# One request helper with the promise tests (Tests/Promises/promises.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Promises"))
from promises import http_request  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROKER = os.environ.get("BROKER_BIN", os.path.join(ROOT, ".build", "debug", "broker"))
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


_handed_out = set()


def free_port():
    """A port nothing listens on, never one this process handed out before: the
    kernel may give a just-closed port again, and a front or node given another's
    port would not start."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port in 100 tries")


def wait_for_port(port, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {seconds} s")


class NatsNode:
    def __init__(self, name, port, cluster_port, routes, store):
        self.name, self.port, self.cluster_port, self.routes, self.store = name, port, cluster_port, routes, store
        self.process = None

    def start(self):
        log = open(os.path.join(self.store, "..", f"{self.name}.log"), "ab")
        self.process = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-n", self.name, "-js", "-sd", self.store,
             "--cluster_name", "broker-test", "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
             "--routes", ",".join(self.routes)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        wait_for_port(self.port)

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def pause(self):
        """SIGSTOP: the node holds its connections but answers nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"


class NatsCluster:
    def __init__(self, size=3):
        self.directory = tempfile.mkdtemp(prefix="broker-nats-")
        ports = [(free_port(), free_port()) for _ in range(size)]
        self.nodes = []
        for index, (port, cluster_port) in enumerate(ports):
            store = os.path.join(self.directory, f"n{index + 1}")
            os.makedirs(store)
            routes = [f"nats://127.0.0.1:{c}" for (_, c) in ports]
            self.nodes.append(NatsNode(f"n{index + 1}", port, cluster_port, routes, store))

    def start(self):
        for node in self.nodes:
            node.start()

    @property
    def urls(self):
        return ",".join(node.url for node in self.nodes)

    def node(self, name):
        return next(node for node in self.nodes if node.name == name)

    def log_tails(self, size=2000):
        """The end of every log in the cluster's directory (the nodes' and the
        fronts'), for a failure's message."""
        tails = []
        for name in sorted(os.listdir(self.directory)):
            if name.endswith(".log"):
                with open(os.path.join(self.directory, name), errors="replace") as f:
                    # A node retries a dead route every second: that says nothing new.
                    lines = [line for line in f if "Error trying to connect to route" not in line]
                tails.append(f"--- {name}\n" + "".join(lines)[-size:])
        return "\n".join(tails)

    def stop(self):
        for node in self.nodes:
            node.kill()
        if not os.environ.get("BROKER_KEEP_CLUSTER"):
            shutil.rmtree(self.directory, ignore_errors=True)


class Front:
    """One `broker serve --nats` process."""

    def __init__(self, cluster, name, port=None, extra=()):
        self.cluster, self.name, self.extra = cluster, name, list(extra)
        self.port = port or free_port()
        self.process = None
        self.log_path = os.path.join(cluster.directory, f"front-{name}.log")

    def start(self, timeout=90, wait=True, urls=None):
        """Starts the front; with `wait`, returns once /healthz says it serves
        (it answers 503 while NATS, the stream and its index come up)."""
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [BROKER, "serve", "--nats", urls or self.cluster.urls, "--host", "127.0.0.1", "--port", str(self.port),
             "--heartbeat-ms", "1000", "--log-level", "info"] + self.extra,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout=90):
        """Waits for /healthz 200: readiness, not the open port."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"front {self.name} exited {self.process.returncode}:\n" + self.cluster.log_tails())
            try:
                if self.health()[0] == 200:
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"front {self.name} was not ready after {timeout} s:\n" + self.cluster.log_tails())

    def kill(self, sig=signal.SIGKILL):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)

    def request(self, method, path, body=None, headers=None, timeout=15):
        return http_request(self.port, method, path, body, headers, timeout)

    def insert(self, event, data, key=None, timeout=15):
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        return self.request("POST", "/insert", json.dumps({"event": event, "data": data}), headers, timeout)

    def health(self):
        status, _, body = self.request("GET", "/healthz")
        return status, json.loads(body)

    def state(self):
        status, headers, body = self.request("GET", "/state")
        assert status == 200, body
        return json.loads(body)


class Subscriber(threading.Thread):
    """An SSE reader that resumes with Last-Event-ID on the next front when its
    connection ends, like a browser's EventSource given a list of fronts."""

    def __init__(self, fronts, last_event_id=0, seconds=120):
        super().__init__(daemon=True)
        self.fronts, self.last_id, self.deadline = list(fronts), last_event_id, time.time() + seconds
        self.records = []  # (seq, event, data) in arrival order
        self.reconnects = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        turn = 0
        while not self.stopping.is_set() and time.time() < self.deadline:
            front = self.fronts[turn % len(self.fronts)]
            try:
                self.read(front)
            except (OSError, http.client.HTTPException):
                pass
            if self.stopping.is_set():
                return
            self.reconnects += 1
            turn += 1
            time.sleep(0.2)

    def read(self, front):
        connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=5)
        connection.request("GET", "/events", headers={"Last-Event-ID": str(self.last_id)})
        response = connection.getresponse()
        if response.status != 200:
            raise OSError(f"status {response.status}")
        event_id = name = None
        data = []
        while not self.stopping.is_set():
            line = response.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line == "":
                if event_id is not None:
                    with self.lock:
                        self.records.append((event_id, name, json.loads("\n".join(data))))
                    self.last_id = event_id
                event_id = name = None
                data = []

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def wait_for(self, seq, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            records = self.snapshot()
            if records and records[-1][0] >= seq:
                return records
            time.sleep(0.05)
        return self.snapshot()

    def stop(self):
        self.stopping.set()


class Inserter(threading.Thread):
    """Inserts one record after another through its fronts in turn, each with its
    own Idempotency-Key, retrying a failed insert (with the same key) until it is
    acknowledged: the acknowledged list is what must survive."""

    def __init__(self, fronts, prefix, seconds=120):
        super().__init__(daemon=True)
        self.fronts, self.prefix, self.deadline = fronts, prefix, time.time() + seconds
        self.acked = []  # (seq, event, data, time acknowledged)
        self.failures = 0
        self.stopping = threading.Event()

    def run(self):
        count = 0
        while not self.stopping.is_set() and time.time() < self.deadline:
            count += 1
            event, data, key = f"{self.prefix}-{count % 7}", {"n": count, "by": self.prefix}, f"{self.prefix}-{uuid.uuid4()}"
            attempt = 0
            while not self.stopping.is_set() and time.time() < self.deadline:
                front = self.fronts[(count + attempt) % len(self.fronts)]
                attempt += 1
                try:
                    status, _, body = front.insert(event, data, key=key, timeout=10)
                except (OSError, http.client.HTTPException):
                    status, body = 0, b""
                if status == 200:
                    self.acked.append((json.loads(body)["seq"], event, data, time.time()))
                    break
                self.failures += 1
                time.sleep(0.05)

    def stop(self):
        self.stopping.set()

    def longest_pause(self):
        times = [a[3] for a in self.acked]
        return max((b - a for a, b in zip(times, times[1:])), default=0)
