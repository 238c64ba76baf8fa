"""Starts `broker serve` and a headless Chromium for the console tests and screenshots."""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
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

    def __init__(self, directory=None, port=None, arguments=(), certificates=None):
        """`certificates`: a CertificateFixture to serve HTTPS (HTTP/2) with its server pair."""
        self.directory = directory or tempfile.mkdtemp(prefix="broker-console-")
        self.port = port or free_port()
        self.arguments = list(arguments)
        self.certificates = certificates
        self.process = None
        self.token = None  # sent as Authorization: Bearer by insert/get when set

    @property
    def base(self):
        if self.certificates:
            return f"https://localhost:{self.port}"
        return f"http://127.0.0.1:{self.port}"

    def _open(self, request, timeout=10):
        context = self.certificates.client_context() if self.certificates else None
        return urllib.request.urlopen(request, timeout=timeout, context=context)

    def start(self):
        tls = ["--tls-cert", self.certificates.cert, "--tls-key", self.certificates.key] if self.certificates else []
        self.process = subprocess.Popen(
            [broker_binary(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", self.directory, "--fsync", "never", "--heartbeat-ms", "1000"] + tls + self.arguments,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with self._open(self.base + "/healthz", timeout=1) as reply:
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

    def _headers(self, headers):
        return {**headers, "Authorization": f"Bearer {self.token}"} if self.token else headers

    def insert(self, event, data):
        return self.insert_raw(event, json.dumps(data))

    def insert_raw(self, event, data_text):
        """Inserts `data_text` as the data exactly as written (for number digits)."""
        body = '{"event": %s, "data": %s}' % (json.dumps(event), data_text)
        request = urllib.request.Request(
            self.base + "/insert", data=body.encode(), headers=self._headers({"Content-Type": "application/json"}))
        with self._open(request) as reply:
            return json.load(reply)

    def get(self, path):
        with self._open(urllib.request.Request(self.base + path, headers=self._headers({}))) as reply:
            return json.load(reply)

    def mint(self, *arguments):
        """A token from `broker token` with these arguments (--secret-file included by the caller)."""
        return subprocess.run([broker_binary(), "token", *arguments], check=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()


class CertificateFixture:
    """A throwaway CA and a server certificate for localhost (Tests/Support/make-test-certs.sh)."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="broker-certs-")
        subprocess.run(["/bin/sh", os.path.join(ROOT, "Tests", "Support", "make-test-certs.sh"), self.directory, "server"],
                       check=True, timeout=60)
        self.cert = os.path.join(self.directory, "server.pem")
        self.key = os.path.join(self.directory, "server.key")
        self.ca = os.path.join(self.directory, "ca.pem")

    def client_context(self):
        return ssl.create_default_context(cafile=self.ca)

    def spki_hash(self):
        """base64 SHA-256 of the server key's SubjectPublicKeyInfo: what Chromium's
        --ignore-certificate-errors-spki-list trusts (this one key, nothing else)."""
        public = subprocess.run(["openssl", "x509", "-in", self.cert, "-pubkey", "-noout"], check=True, capture_output=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=public, check=True, capture_output=True).stdout
        return base64.b64encode(hashlib.sha256(der).digest()).decode()

    def remove(self):
        shutil.rmtree(self.directory, ignore_errors=True)


def chromium(width=1280, height=900, trust=None):
    """Headless Chromium from Debian's chromium and chromium-driver packages; `trust`:
    a CertificateFixture whose server key it accepts."""
    options = Options()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"]:
        options.add_argument(argument)
    if trust:
        options.add_argument(f"--ignore-certificate-errors-spki-list={trust.spki_hash()}")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver_path), options=options)
