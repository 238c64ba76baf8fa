"""Access control and HTTP/2 in a real browser (SPEC.md 4.8, 4.11, 4.12): ten
EventSource streams on one HTTP/2 connection, a cross-origin page reading with the
token cookie, and the console with a pasted token."""
import http.server
import os
import ssl
import tempfile
import threading

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
