"""broker.js in a real browser (SPEC.md 4.15): snapshot then live with exact data
text, a server restart in the middle with nothing lost or applied twice, an
expectedSeq conflict with currentSeq, an insert whose answer was lost retried and
stored once, and a token refreshed when the server ends a stream at its expiry."""
import json
import os
import socket
import tempfile
import threading
import time

from selenium.webdriver.support.ui import WebDriverWait

from console_support import Server, chromium, free_port

WAIT = 20  # seconds; every wait below is bounded by it

# Loads broker.js from `base` and connects to `target` (default: base); the page
# keeps what it saw in window.seen.
CONNECT = """
const [base, target, options, done] = [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]];
import(base + "/broker.js").then((broker) => {
  window.broker = broker;
  window.seen = { changes: [], statuses: [], tokenCalls: 0 };
  const settings = Object.assign({}, options);
  if (settings.tokens) {
    const tokens = settings.tokens;
    settings.token = () => { window.seen.tokenCalls++; return tokens[Math.min(window.seen.tokenCalls - 1, tokens.length - 1)]; };
    delete settings.tokens;
  }
  window.live = broker.connect(target || base, settings);
  window.live.on("change", (name, record) => window.seen.changes.push([name, record.seq, record.text]));
  window.live.on("status", (status) => window.seen.statuses.push(status));
  done(true);
}, (error) => done(String(error)));
"""

STATE = """return Array.from(window.live.state.entries()).map(([name, r]) => [name, r.seq, r.text, JSON.stringify(r.data)])"""


def wait_for(browser, condition, message):
    return WebDriverWait(browser, WAIT).until(lambda driver: condition(), message)


def connect(browser, base, target=None, options=None):
    browser.get(base + "/healthz")
    assert browser.execute_async_script(CONNECT, base, target, options or {}) is True


def state(browser):
    return {name: (seq, text, data) for name, seq, text, data in browser.execute_script(STATE)}


def changes(browser):
    return browser.execute_script("return window.seen.changes")


def call(browser, expression):
    """Awaits `expression` in the page; (result, None) or (None, {status, message, currentSeq})."""
    return browser.execute_async_script("""
const done = arguments[arguments.length - 1];
Promise.resolve().then(() => %s).then((value) => done([value, null]),
  (error) => done([null, {status: error.status, message: error.message, currentSeq: error.currentSeq, name: error.name}]));
""" % expression)


def test_snapshot_then_live_with_the_exact_text():
    server = Server()
    server.start()
    browser = chromium()
    try:
        server.insert("a", 1)
        server.insert_raw("b", '{"price": 12.40}')
        server.insert("a", 2)
        connect(browser, server.base)
        wait_for(browser, lambda: set(state(browser)) == {"a", "b"}, "the snapshot did not arrive")
        current = state(browser)
        assert current["a"] == (3, "2", "2")
        assert current["b"] == (2, '{"price":12.40}', '{"price":12.4}')  # the text keeps the digits
        wait_for(browser, lambda: "live" in browser.execute_script("return window.seen.statuses"), "never live")
        stored, error = call(browser, 'window.live.insert("c", {"n": 1.50})')
        assert error is None and stored["seq"] == 4 and stored["text"] == '{"n":1.5}'
        exact, error = call(browser, 'window.live.insertText("e", "[12.40, 1e3]", {expectedSeq: 0})')
        assert error is None and exact["text"] == "[12.40,1e3]" and exact["seq"] == 5
        _, error = call(browser, 'window.live.insertText("e", "{not json")')
        assert error["status"] == 400
        server.insert_raw("d", "1.0")
        wait_for(browser, lambda: state(browser).get("d") == (6, "1.0", "1"), "the live record did not arrive")
        history, _ = call(browser, 'window.live.history("a")')
        assert [r["seq"] for r in history] == [1, 3] and [r["text"] for r in history] == ["1", "2"]
        at, _ = call(browser, 'window.live.stateAt({seq: 2}).then((s) => [s.seq, Array.from(s.state.keys())])')
        assert at == [2, ["a", "b"]]
    finally:
        browser.quit()
        server.remove()


def test_a_restart_in_the_middle_loses_nothing_and_repeats_nothing():
    server = Server()
    server.start()
    browser = chromium()
    try:
        connect(browser, server.base, options={"retryMs": 200})
        wait_for(browser, lambda: "live" in browser.execute_script("return window.seen.statuses"), "never live")
        for n in range(1, 6):
            server.insert(f"n{n % 2}", n)
        wait_for(browser, lambda: len(changes(browser)) == 5, "the first records did not arrive")
        server.stop()
        wait_for(browser, lambda: "reconnecting" in browser.execute_script("return window.seen.statuses"), "the drop went unseen")
        server.start()
        for n in range(6, 11):
            server.insert(f"n{n % 2}", n)
        wait_for(browser, lambda: len(changes(browser)) >= 10, "the records after the restart did not arrive")
        time.sleep(0.5)
        seqs = [seq for _, seq, _ in changes(browser)]
        assert seqs == list(range(1, 11)), seqs  # each once, in order
        assert state(browser) == {"n0": (10, "10", "10"), "n1": (9, "9", "9")}
    finally:
        browser.quit()
        server.remove()


def test_an_expected_seq_conflict_names_the_current_seq():
    server = Server()
    server.start()
    browser = chromium()
    try:
        connect(browser, server.base)
        first, error = call(browser, 'window.live.insert("doc", "v1", {expectedSeq: 0})')
        assert error is None and first["seq"] == 1
        _, error = call(browser, 'window.live.insert("doc", "v2", {expectedSeq: 0})')
        assert error == {"status": 409, "message": error["message"], "currentSeq": 1, "name": "BrokerError"}
        second, error = call(browser, 'window.live.insert("doc", "v2", {expectedSeq: 1})')
        assert error is None and second["seq"] == 2
    finally:
        browser.quit()
        server.remove()


class DroppingProxy:
    """Forwards connections to the server; the first POST /insert reaches the server,
    but its connection is closed before the answer gets back (a lost response)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        client.settimeout(WAIT)
        upstream.settimeout(WAIT)
        threading.Thread(target=self.pump, args=(upstream, client, False), daemon=True).start()
        self.pump(client, upstream, True)

    def pump(self, source, sink, requests):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if requests and data.startswith(b"POST /insert") and self.dropped == 0:
                    self.dropped = 1
                    time.sleep(0.5)  # the server stores it and answers; the answer is lost
                    source.close()
                    sink.close()
                    return
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.close()
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_an_insert_whose_answer_was_lost_is_sent_again_and_stored_once():
    server = Server()
    server.start()
    proxy = DroppingProxy(server.port)
    base = f"http://127.0.0.1:{proxy.port}"
    browser = chromium()
    try:
        connect(browser, base, options={"retryMs": 100})
        stored, error = call(browser, 'window.live.insert("order", {"id": 7})')
        assert error is None, error
        assert proxy.dropped == 1
        assert server.get("/healthz")["lastSeq"] == 1  # the retry was answered from the log
        assert stored["seq"] == 1
        assert len(server.get("/audit/order")) == 1
    finally:
        browser.quit()
        proxy.close()
        server.remove()


def test_a_token_is_asked_for_again_when_the_server_ends_the_stream_at_its_expiry():
    directory = tempfile.mkdtemp(prefix="broker-client-")
    secret = os.path.join(directory, "secret")
    with open(secret, "w") as file:
        file.write("q" * 48 + "\n")
    server = Server(arguments=["--jwt-secret-file", secret, "--jwt-leeway-s", "0"])
    server.start()
    browser = chromium()
    try:
        short = server.mint("--secret-file", secret, "--subscribe", "*", "--ttl", "2s")
        long = server.mint("--secret-file", secret, "--subscribe", "*", "--ttl", "1h")
        server.token = server.mint("--secret-file", secret, "--publish", "*", "--subscribe", "*", "--admin", "--ttl", "1h")
        server.insert("before", 1)
        connect(browser, server.base, options={"tokens": [short, long], "retryMs": 100})
        wait_for(browser, lambda: "before" in state(browser), "the snapshot did not arrive")
        wait_for(browser, lambda: browser.execute_script("return window.seen.tokenCalls") >= 2, "the token was not asked for again")
        wait_for(browser, lambda: browser.execute_script("return window.seen.statuses").count("live") >= 2, "no second live stream")
        server.insert("after", 2)
        wait_for(browser, lambda: "after" in state(browser), "the record after the refresh did not arrive")
        assert [seq for _, seq, _ in changes(browser)] == [1, 2]
    finally:
        browser.quit()
        server.remove()
        os.remove(secret)
        os.rmdir(directory)
