"""Helpers for the CalDAV/CardDAV client tests: where a DAV server's
collections are (a DavTarget), a keep-alive HTTP client with a timeout on
every call, a multistatus parser and the `dav` fixture.

The `dav` fixture starts a real `ravelin serve` (conftest's make_server:
accounts alice and bob) and gives its HTTPS base URL and the URL space of
docs/architecture.md: /dav/principals/<addr>/, /dav/calendars/<addr>/calendar/
and tasks/, /dav/addressbooks/<addr>/contacts/.  With DAV_TEST_PEER=radicale
or xandikos in the environment the same tests run against that server
instead (started by bench/dav's starter), which shows the client side of a
test is right before Ravelin is blamed; tests of what only Ravelin offers
(the autoconfig document) are skipped there.
"""
import http.client
import importlib.machinery
import importlib.util
import os
import socket
import ssl
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

PASSWORD = "secret-pass"  # conftest's default for alice and bob
ALICE = "alice@example.org"
BOB = "bob@example.org"
# Seconds any one HTTP exchange or client command may take.
TIMEOUT = 30
CTX = ssl._create_unverified_context()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav",
      "card": "urn:ietf:params:xml:ns:carddav", "cs": "http://calendarserver.org/ns/"}


class DavTarget:
    """One account on one DAV server: base URL (scheme://host:port), the
    credentials and the paths (unencoded, trailing slash) of its principal
    and default collections."""

    def __init__(self, kind, base, user, password, principal, calendar_home,
                 addressbook_home, calendar, tasks, contacts):
        self.kind = kind  # "ravelin", "radicale" or "xandikos"
        self.base = base
        self.user = user
        self.password = password
        self.principal = principal
        self.calendar_home = calendar_home
        self.addressbook_home = addressbook_home
        self.calendar = calendar
        self.tasks = tasks
        self.contacts = contacts

    def url(self, path):
        return self.base + urllib.parse.quote(path, safe="/@:")

    @property
    def tls(self):
        return self.base.startswith("https:")

    @property
    def port(self):
        return urllib.parse.urlsplit(self.base).port

    def http(self):
        return Http(self)


def ravelin_target(server, user=ALICE, password=PASSWORD):
    return DavTarget("ravelin", f"https://127.0.0.1:{server.https_port}", user, password,
                     f"/dav/principals/{user}/", f"/dav/calendars/{user}/",
                     f"/dav/addressbooks/{user}/", f"/dav/calendars/{user}/calendar/",
                     f"/dav/calendars/{user}/tasks/", f"/dav/addressbooks/{user}/contacts/")


class Response:
    def __init__(self, method, path, status, reason, headers, body):
        self.method, self.path = method, path
        self.status, self.reason = status, reason
        self.headers = headers  # lower-case name -> last value
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return (f"{self.method} {self.path} -> {self.status} {self.reason}\n"
                f"{self.headers}\n{self.text[:3000]}")


class Http:
    """A keep-alive HTTP(S) client for one target (verification off: test
    servers have self-signed certificates); Basic credentials on every
    request unless auth=False; a new connection when the server closed it."""

    def __init__(self, target):
        self.t = target
        self.conn = None

    def _connect(self):
        u = urllib.parse.urlsplit(self.t.base)
        if self.t.tls:
            return http.client.HTTPSConnection(u.hostname, u.port, timeout=TIMEOUT, context=CTX)
        return http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, auth=True, raw_path=False):
        if isinstance(body, str):
            body = body.encode()
        h = dict(headers or {})
        if auth:
            h["Authorization"] = basic(self.t.user, self.t.password)
        target = path if raw_path else urllib.parse.quote(path, safe="/@:?=&%")
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, target, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        resp = Response(method, target, r.status, r.reason,
                        {k.lower(): v for k, v in r.getheaders()}, data)
        if r.will_close:
            self.close()
        return resp


def basic(user, password):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def propstats(body):
    """A multistatus body as {href (unquoted path): (status line of the
    response or None, {"{ns}name": (element, status line)})}."""
    root = ET.fromstring(body)
    out = {}
    for r in root.findall("d:response", NS):
        href = urllib.parse.unquote(urllib.parse.urlsplit(r.findtext("d:href", "", NS).strip()).path)
        props = {}
        for ps in r.findall("d:propstat", NS):
            st = ps.findtext("d:status", "", NS)
            for p in ps.find("d:prop", NS):
                props[p.tag] = (p, st)
        out[href] = (r.findtext("d:status", None, NS), props)
    return out


def sync_token_of(body):
    return ET.fromstring(body).findtext("d:sync-token", "", NS).strip()


def wait_connect(port, timeout=30, proc=None):
    """Waits until something accepts on 127.0.0.1:port (sends nothing)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def bench_dav():
    """bench/dav loaded as a module (its peer starters)."""
    path = os.path.join(ROOT, "bench", "dav")
    loader = importlib.machinery.SourceFileLoader("bench_dav", path)
    spec = importlib.util.spec_from_loader("bench_dav", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def start_target(tmp, user=ALICE):
    """Starts the server the tests run against: (target, stop function)."""
    peer = os.environ.get("DAV_TEST_PEER", "")
    if peer:
        b = bench_dav()
        p = b.start_peer(peer, os.path.join(tmp, peer))
        t = DavTarget(peer, p.base, user, PASSWORD, *p.layout(user))
        p.create_defaults(t)
        return t, p.stop
    from conftest import make_server
    s = make_server().start()
    wait_connect(s.https_port, proc=s.proc)
    t = ravelin_target(s, user)
    t.server = s
    return t, s.stop


@pytest.fixture
def dav():
    tmp = tempfile.mkdtemp(prefix="ravelin-dav-")
    t, stop = start_target(tmp)
    try:
        yield t
    finally:
        stop()
