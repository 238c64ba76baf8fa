"""Access control and HTTP/2 in a real browser (SPEC.md 4.8, 4.11, 4.12): ten
EventSource streams on one HTTP/2 connection, a cross-origin page reading with the
token cookie, and the console with a pasted token; and, with the h2 package as a
client no browser would be, an HTTP/2 stream whose window never opens (4.3)."""
import http.server
import os
import socket
import ssl
import tempfile
import threading
import time
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from console_support import Server, CertificateFixture, chromium, free_port

WAIT = 15  # seconds; every wait below is bounded by it

# Opens `count` EventSource streams to `url` and records, per stream, whether it
# opened and the ids of the records it received.
OPEN_STREAMS = """
const [url, count, credentials] = arguments;
window.streams = [];
for (let i = 0; i < count; i++) {
  const entry = { open: false, ids: [], names: [], errors: 0 };
  const source = new EventSource(url, { withCredentials: credentials });
  source.onopen = () => { entry.open = true; };
  source.onerror = () => { entry.errors++; };
  source.onmessage = (m) => { const e = JSON.parse(m.data); entry.ids.push(Number(m.lastEventId)); entry.names.push(e.event); };
  entry.source = source;
  window.streams.push(entry);
}
"""


@pytest.fixture()
def certificates():
    certificates = CertificateFixture()
    yield certificates
    certificates.remove()


def wait_for(browser, condition, message):
    return WebDriverWait(browser, WAIT).until(lambda driver: condition(), message)


def streams(browser):
    return browser.execute_script("return window.streams.map(s => ({open: s.open, ids: s.ids, names: s.names, errors: s.errors}))")


def open_streams(browser, base, count, query="", credentials=False):
    browser.get(base + "/healthz")
    browser.execute_script(OPEN_STREAMS, base + "/events?envelope=1" + query, count, credentials)


def test_ten_streams_share_one_http2_connection(certificates):
    server = Server(certificates=certificates)
    server.start()
    browser = chromium(trust=certificates)
    try:
        open_streams(browser, server.base, 10)
        assert browser.execute_script("return performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
        wait_for(browser, lambda: all(s["open"] for s in streams(browser)), "10 streams over HTTP/2 did not all open")
        seq = server.insert("live", {"n": 1})["seq"]
        wait_for(browser, lambda: all(seq in s["ids"] for s in streams(browser)), "not every stream got the live record")
    finally:
        browser.quit()
        server.remove()


def test_http1_stalls_the_seventh_stream():
    """The control for the test above: over HTTP/1.1 the browser opens 6 streams per
    origin and the others wait, which is why Broker serves HTTP/2."""
    server = Server()
    server.start()
    browser = chromium()
    try:
        open_streams(browser, server.base, 10)
        wait_for(browser, lambda: sum(s["open"] for s in streams(browser)) >= 6, "6 streams did not open")
        seq = server.insert("live", {"n": 1})["seq"]
        wait_for(browser, lambda: sum(seq in s["ids"] for s in streams(browser)) >= 6, "the open streams missed the record")
        state = streams(browser)
        assert sum(s["open"] for s in state) == 6
        assert sum(seq in s["ids"] for s in state) == 6
    finally:
        browser.quit()
        server.remove()


class PageServer:
    """Serves one HTML page over HTTPS from another origin (same site: localhost on
    another port), as a web app in front of Broker would."""

    def __init__(self, certificates, html):
        directory = tempfile.mkdtemp(prefix="broker-page-")
        with open(os.path.join(directory, "index.html"), "w") as page:
            page.write(html)
        handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=directory)
        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificates.cert, certificates.key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"https://localhost:{self.port}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_cross_origin_page_reads_its_scope_with_the_cookie(certificates):
    secret = os.path.join(certificates.directory, "secret")
    with open(secret, "w") as file:
        file.write("c" * 40 + "\n")
    page = PageServer(certificates, "<!doctype html><title>app</title><p>app</p>")
    server = Server(certificates=certificates, arguments=["--jwt-secret-file", secret, "--origin", page.origin])
    server.start()
    server.token = server.mint("--secret-file", secret, "--publish", "*")
    for name in ["a/1", "b/1", "a/2"]:
        server.insert(name, 1)
    reader = server.mint("--secret-file", secret, "--subscribe", "a/*")
    browser = chromium(trust=certificates)
    try:
        # The cookie belongs to Broker's origin, as a login there would set it.
        browser.get(server.base + "/healthz")
        browser.add_cookie({"name": "broker_token", "value": reader, "path": "/", "secure": True, "sameSite": "Strict"})
        browser.get(page.origin + "/index.html")
        browser.execute_script(OPEN_STREAMS, server.base + "/events?envelope=1", 1, True)
        wait_for(browser, lambda: len(streams(browser)[0]["names"]) >= 2, "the credentialed stream got no snapshot")
        server.insert("b/2", 2)
        seq = server.insert("a/3", 3)["seq"]
        wait_for(browser, lambda: seq in streams(browser)[0]["ids"], "the credentialed stream got no live record")
        assert streams(browser)[0]["names"] == ["a/1", "a/2", "a/3"]
        # Without credentials the browser sends no cookie: the server refuses the stream.
        browser.execute_script(OPEN_STREAMS, server.base + "/events?envelope=1", 1, False)
        wait_for(browser, lambda: streams(browser)[0]["errors"] > 0, "the stream without the cookie was not refused")
        assert streams(browser)[0]["names"] == []
    finally:
        browser.quit()
        server.remove()
        page.stop()


def test_console_asks_for_a_token_and_shows_only_its_scope(certificates):
    secret = os.path.join(certificates.directory, "secret")
    with open(secret, "w") as file:
        file.write("c" * 40 + "\n")
    server = Server(certificates=certificates, arguments=["--jwt-secret-file", secret])
    server.start()
    server.token = server.mint("--secret-file", secret, "--publish", "*")
    server.insert("a/1", {"v": 1})
    server.insert("b/1", {"v": 2})
    token = server.mint("--secret-file", secret, "--subscribe", "a/*", "--publish", "a/*")
    browser = chromium(trust=certificates)
    try:
        browser.get(server.base + "/")
        wait_for(browser, lambda: browser.find_element(By.ID, "state").text == "closed", "the refused console did not say so")
        assert "paste a valid token" in browser.find_element(By.ID, "token-state").text
        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.ID, "token-use").click()
        wait_for(browser, lambda: browser.find_element(By.ID, "state").text == "live", "the console did not connect with the token")
        rows = lambda: [r.get_attribute("data-event") for r in browser.find_elements(By.CSS_SELECTOR, "#latest tbody tr")]
        wait_for(browser, lambda: rows() == ["a/1"], "the console did not show exactly the token's scope")
        # History and insert go with the token too; an insert outside it is refused.
        browser.find_element(By.CSS_SELECTOR, '#latest tbody tr[data-event="a/1"]').click()
        wait_for(browser, lambda: "1 version" in browser.find_element(By.ID, "history-summary").text, "no history")
        browser.find_element(By.ID, "insert-event").send_keys("b/2")
        browser.find_element(By.ID, "insert-submit").click()
        wait_for(browser, lambda: "may not publish" in browser.find_element(By.ID, "insert-error").text, "the refusal was not shown")
        assert browser.execute_script("return sessionStorage.getItem('broker_token')") == token
        assert rows() == ["a/1"]
    finally:
        browser.quit()
        server.remove()


def metric(server, name):
    """The value of `name` in the server's Prometheus text, or None."""
    with server._open(urllib.request.Request(server.base + "/metrics")) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return None


def test_an_http2_stream_whose_window_never_opens_is_closed(certificates):
    """SPEC.md 4.3, write timeout: a client that asks for an event stream over HTTP/2
    with a flow-control window of 0 and never opens it. The server's writes wait for
    a window that never comes; after --write-timeout-ms the stream is closed."""
    import h2.config
    import h2.connection
    import h2.settings

    server = Server(certificates=certificates, arguments=["--write-timeout-ms", "1000"])
    server.start()
    context = certificates.client_context()
    context.set_alpn_protocols(["h2"])
    connection = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=WAIT), server_hostname="localhost")
    try:
        assert connection.selected_alpn_protocol() == "h2"
        client = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        client.initiate_connection()
        client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
        client.send_headers(1, [(":method", "GET"), (":path", "/events"), (":scheme", "https"),
                                (":authority", "localhost"), ("accept", "text/event-stream")], end_stream=True)
        connection.sendall(client.data_to_send())
        deadline = time.monotonic() + WAIT
        while metric(server, "broker_subscribers") != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric(server, "broker_subscribers") == 1
        server.insert("stuck", {"n": 1})  # and the heartbeats: writes that cannot go out
        while metric(server, "broker_stream_write_timeouts_total") != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert metric(server, "broker_stream_write_timeouts_total") == 1
        assert metric(server, "broker_subscribers_dropped_total") == 0
        while metric(server, "broker_subscribers") != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric(server, "broker_subscribers") == 0
    finally:
        connection.close()
        server.remove()
