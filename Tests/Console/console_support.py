"""Starts `broker serve` and a headless Chromium for the console tests and screenshots."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def broker_binary():
    """The debug build's broker (make test builds it), or BROKER_BIN."""
    path = os.environ.get("BROKER_BIN") or os.path.join(ROOT, ".build", "debug", "broker")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no broker executable at {path}: build first (make build)")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `broker serve` process on a loopback port over a temporary data directory."""

    def __init__(self, directory=None, port=None):
        self.directory = directory or tempfile.mkdtemp(prefix="broker-console-")
        self.port = port or free_port()
        self.process = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [broker_binary(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", self.directory, "--fsync", "never", "--heartbeat-ms", "1000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as reply:
                    return json.load(reply)
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("broker serve did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)

    def remove(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def insert(self, event, data):
        request = urllib.request.Request(
            self.base + "/insert", data=json.dumps({"event": event, "data": data}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply)

    def insert_raw(self, event, data_text):
        """Inserts `data_text` as the data exactly as written (for number digits)."""
        body = '{"event": %s, "data": %s}' % (json.dumps(event), data_text)
        request = urllib.request.Request(self.base + "/insert", data=body.encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply)

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as reply:
            return json.load(reply)


def chromium(width=1280, height=900):
    """Headless Chromium from Debian's chromium and chromium-driver packages."""
    options = Options()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"]:
        options.add_argument(argument)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver_path), options=options)
