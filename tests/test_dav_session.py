"""An HTTPS session after login: the pre-auth process logs the client in
with its Basic credentials and hands the connection to the account's
worker, which answers that request and every later one on the connection
(CalDAV, CardDAV, the set-up profile).

The connection is bound to the credentials it logged in with: another
user's (valid) credentials on it close it and touch nothing of theirs;
a request without credentials is challenged again; the account is the
login's, so a path naming another account is 404.  Driven by real
clients: Python's http.client and curl.
"""
import base64
import http.client
import os
import plistlib
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from imap_util import ALICE, BOB, PASSWORD

CTX = ssl._create_unverified_context()
# HTTP_MAX_BODY (src/http/http-parser.h): a body after login.
HTTP_MAX_BODY = 4 * 1024 * 1024
# WORKER_HTTP_CHALLENGE (src/worker/worker-http.h).
CHALLENGE = 'Basic realm="Ravelin", charset="UTF-8"'

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
         "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
         "DTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\n"
         "SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")

PROPFIND_PRINCIPAL = (b'<?xml version="1.0" encoding="utf-8"?>'
                      b'<d:propfind xmlns:d="DAV:"><d:prop>'
                      b'<d:current-user-principal/></d:prop></d:propfind>')


def basic(user, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def calendar(address):
    return f"/dav/calendars/{address}/calendar/"


class Session:
    """One HTTPS connection, kept open across requests (http.client)."""

    def __init__(self, server, user=ALICE):
        self.conn = http.client.HTTPSConnection("127.0.0.1", server.https_port, context=CTX,
                                                timeout=30)
        self.auth = basic(user)

    def request(self, method, path, body=None, headers=None, auth=True):
        h = dict(headers or {})
        if auth is True:
            h["Authorization"] = self.auth
        elif auth:
            h["Authorization"] = auth
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        return r, r.read()

    def socket(self):
        return self.conn.sock

    def close(self):
        self.conn.close()


def worker_pids(server):
    """The pid of each worker that has logged, by account number."""
    pids = {}
    for m in re.finditer(r"worker (\d+)\[(\d+)\]", server.log()):
        pids.setdefault(m.group(1), set()).add(int(m.group(2)))
    return pids


def need(tool):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (scripts/install-deps test installs it)")


# ---------- what a client sees ----------

def test_options_and_principal(server):
    """OPTIONS names the DAV classes; PROPFIND finds the login's principal."""
    s = Session(server)
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200, r.status
    dav = r.getheader("DAV", "")
    assert "calendar-access" in dav and "addressbook" in dav, dav
    r, body = s.request("PROPFIND", "/dav/", PROPFIND_PRINCIPAL,
                        {"Depth": "0", "Content-Type": "application/xml"})
    assert r.status == 207, (r.status, body)
    assert f"/dav/principals/{ALICE}/".encode() in body, body
    s.close()


def test_put_get_keep_alive(server):
    """PUT then GET of an event, and more, on one connection: the socket
    the first request opened answers all of them."""
    s = Session(server)
    path = calendar(ALICE) + "meeting.ics"
    data = EVENT.format(uid="meeting-1", summary="Planning")
    r, body = s.request("PUT", path, data, {"Content-Type": "text/calendar; charset=utf-8"})
    assert r.status == 201, (r.status, body)
    etag = r.getheader("ETag")
    sock = s.socket()
    r, body = s.request("GET", path)
    assert r.status == 200, r.status
    assert body.decode() == data
    assert r.getheader("ETag") == etag
    r, _ = s.request("HEAD", path)
    assert r.status == 200
    r, body = s.request("PROPFIND", calendar(ALICE), None, {"Depth": "1"})
    assert r.status == 207 and b"meeting.ics" in body, body
    assert s.socket() is sock, "the connection was not kept"
    s.close()


def test_pipelined(server):
    """Requests sent at once are answered one after another, in order."""
    raw = socket.create_connection(("127.0.0.1", server.https_port), timeout=30)
    tls = CTX.wrap_socket(raw)
    reqs = b"".join(
        b"GET /dav/calendars/%s/calendar/nothing-%d.ics HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: %s\r\n\r\n" % (ALICE.encode(), i, basic(ALICE).encode())
        for i in range(3))
    tls.sendall(b"OPTIONS /dav/ HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n"
                % basic(ALICE).encode() + reqs)
    data = b""
    deadline = time.monotonic() + 30
    while data.count(b"HTTP/1.1 ") < 4 and time.monotonic() < deadline:
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"200", b"404", b"404", b"404"], data
    tls.close()


def test_other_credentials_close(server):
    """bob's valid credentials on alice's connection close it: nothing is
    stored for bob, and his calendar does not have it."""
    s = Session(server)
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200
    path = calendar(BOB) + "intruder.ics"
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        s.request("PUT", path, EVENT.format(uid="x", summary="x"),
                  {"Content-Type": "text/calendar"}, auth=basic(BOB))
    s.close()
    b = Session(server, BOB)
    r, _ = b.request("GET", path)
    assert r.status == 404, r.status
    b.close()
    assert server.wait_log("other credentials than the login's"), server.log()[-3000:]


def test_wrong_password_on_session_closes(server):
    """The login's user with another password is other credentials too."""
    s = Session(server)
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        s.request("OPTIONS", "/dav/", auth=basic(ALICE, "not-the-password"))
    s.close()


def test_no_credentials_after_login(server):
    """A request without Authorization after login gets the challenge,
    and the connection goes on."""
    s = Session(server)
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200
    sock = s.socket()
    r, _ = s.request("PROPFIND", "/dav/", None, {"Depth": "0"}, auth=False)
    assert r.status == 401, r.status
    assert r.getheader("WWW-Authenticate") == CHALLENGE
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200
    assert s.socket() is sock
    s.close()


def test_other_account_path(server):
    """The account is the login's: bob's paths are 404 to alice."""
    s = Session(server)
    for method, path in (("PROPFIND", calendar(BOB)),
                         ("GET", calendar(BOB) + "x.ics"),
                         ("PROPFIND", f"/dav/principals/{BOB}/")):
        r, _ = s.request(method, path, None, {"Depth": "0"})
        assert r.status == 404, (method, path, r.status)
    r, _ = s.request("PUT", calendar(BOB) + "x.ics", EVENT.format(uid="y", summary="y"),
                     {"Content-Type": "text/calendar"})
    assert r.status == 404, r.status
    s.close()


def test_body_over_limit(server):
    """A body over HTTP_MAX_BODY after login is refused with 413 before it
    is read, the connection ends, and the worker stays up."""
    s = Session(server)
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200
    before = worker_pids(server)
    s.conn.putrequest("PUT", calendar(ALICE) + "big.ics")
    s.conn.putheader("Authorization", s.auth)
    s.conn.putheader("Content-Length", str(HTTP_MAX_BODY + 1))
    s.conn.endheaders()
    r = s.conn.getresponse()
    assert r.status == 413, r.status
    assert r.getheader("Connection") == "close"
    s.close()
    s = Session(server)
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200
    s.close()
    after = worker_pids(server)
    assert after == before, (before, after)


def test_curl_big_put_refused(server, tmp_path):
    """curl, a 5 MB PUT after a first request on the same connection: 413,
    and the worker answers the next client."""
    need("curl")
    big = tmp_path / "big.ics"
    big.write_bytes(b"x" * (5 * 1024 * 1024))
    base = f"https://127.0.0.1:{server.https_port}"
    user = f"{ALICE}:{PASSWORD}"
    r = subprocess.run(["curl", "-sk", "-u", user, "-X", "OPTIONS", "-o", "/dev/null",
                        "-w", "%{http_code}\n", base + "/dav/",
                        "--next", "-sk", "-u", user, "-T", str(big), "-o", "/dev/null",
                        "-w", "%{http_code}\n", base + calendar(ALICE) + "big.ics"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["200", "413"], (r.stdout, r.stderr)
    r = subprocess.run(["curl", "-sk", "-u", user, "-X", "OPTIONS", "-D", "-", "-o", "/dev/null",
                        base + "/dav/"], capture_output=True, text=True, timeout=60)
    assert re.search(r"^DAV: .*calendar-access", r.stdout, re.M | re.I), r.stdout


def test_curl_put_get(server, tmp_path):
    """curl stores an event and reads it back."""
    need("curl")
    ics = tmp_path / "e.ics"
    ics.write_text(EVENT.format(uid="curl-1", summary="From curl"))
    base = f"https://127.0.0.1:{server.https_port}"
    url = base + calendar(ALICE) + "curl.ics"
    user = f"{ALICE}:{PASSWORD}"
    r = subprocess.run(["curl", "-sk", "-u", user, "-T", str(ics), "-H",
                        "Content-Type: text/calendar", "-o", "/dev/null", "-w", "%{http_code}",
                        url], capture_output=True, text=True, timeout=60)
    assert r.stdout == "201", (r.stdout, r.stderr)
    r = subprocess.run(["curl", "-sk", "-u", user, url], capture_output=True, timeout=60)
    assert b"SUMMARY:From curl" in r.stdout, r.stdout


def test_profile(server):
    """/profile.mobileconfig: a plist naming the login's account, for
    download."""
    s = Session(server)
    r, body = s.request("GET", "/profile.mobileconfig")
    assert r.status == 200, (r.status, body)
    assert r.getheader("Content-Type") == "application/x-apple-aspen-config"
    assert r.getheader("Content-Disposition", "").startswith("attachment")
    profile = plistlib.loads(body)
    assert profile["PayloadType"] == "Configuration"
    assert ALICE in body.decode()
    assert BOB not in body.decode()
    s.close()



# WORKER_HTTP_IDLE_SECONDS (src/worker/worker-http.h): http.idle_timeout's default.
DEFAULT_IDLE_SECONDS = 60
# The test's own http.idle_timeout: the timer is the same, the wait shorter.
IDLE_SECONDS = 5


@pytest.mark.slow("waits out the idle timeout of a connection after login")
def test_idle_connection_closed(make):
    """A connection after login that the client leaves idle past
    http.idle_timeout is closed by the worker; the key's default is
    WORKER_HTTP_IDLE_SECONDS."""
    server = make(f"http.idle_timeout = {IDLE_SECONDS}")
    listed = server.cli("config").stdout
    assert re.search(rf"^http\.idle_timeout\s+default {DEFAULT_IDLE_SECONDS}\s", listed, re.M), listed
    s = Session(server)
    r, _ = s.request("OPTIONS", "/dav/")
    assert r.status == 200
    sock = s.socket()
    sock.settimeout(IDLE_SECONDS + 30)
    start = time.monotonic()
    try:
        data = sock.recv(100)
    except (ConnectionError, ssl.SSLError):
        data = b""
    waited = time.monotonic() - start
    assert data == b"", data
    assert IDLE_SECONDS - 1 <= waited < IDLE_SECONDS + 10, waited
    s.close()
