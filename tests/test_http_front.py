"""HTTP before login, as the pre-auth process answers it: the discovery
redirects, the set-up documents (Thunderbird autoconfig, Microsoft
autodiscover), the Basic challenge, refused logins, the redirect of plain
HTTP to HTTPS, and the hostile request shapes.  What follows a login is the
worker's (tests/test_dav*.py)."""
import base64
import http.client
import select
import socket
import ssl
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

CTX = ssl._create_unverified_context()
PASSWORD = "secret-pass"  # conftest's default for alice
ALICE = "alice@example.org"
CHALLENGE = 'Basic realm="Ravelin", charset="UTF-8"'
# src/front/front-http.c and src/http/http-parser.h
MAX_REQUESTS = 100
PREAUTH_MAX_BODY = 64 * 1024


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def https(server, timeout=10):
    return http.client.HTTPSConnection("127.0.0.1", server.https_port, context=CTX,
                                       timeout=timeout)


def plain(server, timeout=10):
    return http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=timeout)


def ask(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    return r, data


class Raw:
    """A connection that sends exactly what a test writes, and reads
    answers one by one."""

    def __init__(self, port, tls=True, timeout=10):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = CTX.wrap_socket(s) if tls else s
        self.f = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def answer(self, head_only=False):
        """(status, {lower name: value}, body), or None at EOF."""
        line = self.f.readline(65536)
        if not line:
            return None
        status = int(line.split()[1])
        headers = {}
        while True:
            h = self.f.readline(65536)
            assert h, "closed inside an answer's head"
            if h in (b"\r\n", b"\n"):
                break
            name, _, value = h.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        n = 0 if head_only else int(headers.get("content-length", "0"))
        return status, headers, self.f.read(n)

    def closed(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            return self.f.read() == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.f.close()
        self.sock.close()


def refused_while_sending(c, parts, status, timeout=5):
    """Sends parts until the server answers (it may stop reading and close
    before the last), then reads the answer: it is status, then EOF.  One
    thread does both, as a client does: an SSL connection is not to be
    read and written from two threads at once."""
    data = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    c.sock.setblocking(False)
    sent = 0
    while sent < len(data):
        readable, writable, _ = select.select([c.sock], [c.sock], [], timeout)
        if readable or (isinstance(c.sock, ssl.SSLSocket) and c.sock.pending()):
            break
        assert writable, "the server neither reads nor answers"
        try:
            sent += c.sock.send(data[sent:sent + 64 * 1024])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
        except OSError:
            break
    c.sock.settimeout(10)
    a = c.answer()
    assert a is not None and a[0] == status, (a, sent, len(data))
    assert c.closed()
    c.close()


def request(port, data, tls=True):
    """Sends one raw request; returns its answer and whether the server
    then closed the connection."""
    c = Raw(port, tls)
    c.send(data)
    a = c.answer()
    closed = c.closed()
    c.close()
    return a, closed


def still_serving(server):
    r, _ = ask(https(server), "GET", "/.well-known/caldav")
    assert r.status == 301


# --- what is answered without a login -------------------------------------

def test_well_known_redirects_to_dav(server):
    c = https(server)
    for path in ("/.well-known/caldav", "/.well-known/carddav"):
        for method in ("GET", "HEAD", "PROPFIND"):
            r, _ = ask(c, method, path)
            assert r.status == 301, (method, path)
            assert r.getheader("Location") == "/dav/"
    # All of it on one keep-alive connection.
    assert not r.will_close


def test_plain_http_redirects_to_https(server):
    c = plain(server)
    for path in ("/", "/dav/", "/dav/calendars/alice@example.org/?x=1", "/.well-known/caldav"):
        r, _ = ask(c, "GET", path)
        assert r.status == 301
        assert r.getheader("Location") == f"https://mx.test:{server.https_port}{path}"


def test_plain_http_never_takes_credentials(server):
    c = plain(server)
    r, _ = ask(c, "GET", "/dav/", headers={"Authorization": basic(ALICE, PASSWORD)})
    assert r.status == 301
    assert r.getheader("Location").startswith("https://mx.test:")
    r, _ = ask(c, "PROPFIND", "/dav/", headers={"Authorization": basic(ALICE, "wrong")})
    assert r.status == 301
    time.sleep(0.3)
    assert "login" not in server.log()


def test_host_headers_never_choose_the_server(server):
    headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example",
               "X-Forwarded-Proto": "http", "Forwarded": "host=evil.example"}
    r, _ = ask(plain(server), "GET", "/dav/", headers=headers)
    assert r.getheader("Location") == f"https://mx.test:{server.https_port}/dav/"
    r, _ = ask(https(server), "GET", "/.well-known/caldav", headers=headers)
    assert r.getheader("Location") == "/dav/"
    # An absolute URI's authority is dropped too.
    a, _ = request(server.http_port, "GET http://evil.example/dav/ HTTP/1.1\r\n"
                   "Host: evil.example\r\nConnection: close\r\n\r\n", tls=False)
    assert a[0] == 301
    assert a[1]["location"] == f"https://mx.test:{server.https_port}/dav/"


def autoconfig_check(server, data, email):
    root = ET.fromstring(data)
    assert root.tag == "clientConfig"
    provider = root.find("emailProvider")
    assert provider is not None
    incoming = provider.findall("incomingServer[@type='imap']")
    assert incoming
    got = {(s.findtext("hostname"), s.findtext("port"), s.findtext("socketType"))
           for s in incoming}
    assert ("mx.test", str(server.imaps_port), "SSL") in got
    for s in incoming:
        assert s.findtext("username") in (email, "%EMAILADDRESS%")
    outgoing = provider.findall("outgoingServer[@type='smtp']")
    assert outgoing
    got = {(s.findtext("hostname"), s.findtext("port"), s.findtext("socketType"))
           for s in outgoing}
    assert ("mx.test", str(server.submissions_port), "SSL") in got
    for s in outgoing:
        assert s.findtext("username") in (email, "%EMAILADDRESS%")


@pytest.mark.parametrize("tls", [True, False])
def test_thunderbird_autoconfig(server, tls):
    c = https(server) if tls else plain(server)
    for path in ("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.org",
                 "/mail/config-v1.1.xml?emailaddress=alice@Example.org"):
        r, data = ask(c, "GET", path)
        assert r.status == 200, path
        assert r.getheader("Content-Type").startswith("text/xml")
        autoconfig_check(server, data, "alice@example.org" if "%40" in path else
                         "alice@Example.org")
    # A query that could not be an address is refused, not echoed.
    r, data = ask(c, "GET", "/mail/config-v1.1.xml?emailaddress=%3Cscript%3E@x")
    assert r.status == 400
    assert b"<script>" not in data


AUTODISCOVER_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.org</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""


@pytest.mark.parametrize("tls", [True, False])
def test_autodiscover(server, tls):
    c = https(server) if tls else plain(server)
    r, data = ask(c, "POST", "/autodiscover/autodiscover.xml", body=AUTODISCOVER_REQUEST,
                  headers={"Content-Type": "text/xml"})
    assert r.status == 200
    root = ET.fromstring(data)
    text = ET.tostring(root, encoding="unicode")
    assert "mx.test" in text
    protocols = [p for p in root.iter() if p.tag.endswith("Protocol")]
    kinds = {next((x.text for x in p if x.tag.endswith("Type")), None) for p in protocols}
    assert "IMAP" in kinds
    # The same answer on the path as Outlook also spells it.
    r, data = ask(c, "POST", "/Autodiscover/Autodiscover.xml", body=AUTODISCOVER_REQUEST)
    assert r.status == 200
    ET.fromstring(data)


# --- the login ---------------------------------------------------------------

def test_challenge_without_credentials(server):
    c = https(server)
    for method, path in (("GET", "/dav/"), ("PROPFIND", "/dav/principals/"),
                         ("GET", "/profile.mobileconfig"), ("PUT", "/dav/x")):
        r, data = ask(c, method, path, body=b"x" if method == "PUT" else None)
        assert r.status == 401, path
        assert r.getheader("WWW-Authenticate") == CHALLENGE
        assert data
    # Another scheme is no login either.
    r, _ = ask(c, "GET", "/dav/", headers={"Authorization": "Bearer abc"})
    assert r.status == 401
    r, _ = ask(c, "GET", "/nothing/here")
    assert r.status == 404


def test_wrong_password_after_the_delay(server):
    c = https(server)
    start = time.monotonic()
    r, _ = ask(c, "PROPFIND", "/dav/", headers={"Authorization": basic(ALICE, "wrong"),
                                                "Depth": "0"})
    assert r.status == 401
    assert r.getheader("WWW-Authenticate") == CHALLENGE
    assert time.monotonic() - start >= 0.4
    # The connection goes on: another try on it.
    r, _ = ask(c, "GET", "/dav/", headers={"Authorization": basic("nobody@example.org", "x")})
    assert r.status == 401
    assert server.wait_log("HTTPS login refused"), server.log()[-3000:]
    # Credentials that do not decode are no login.
    r, _ = ask(https(server), "GET", "/dav/", headers={"Authorization": "Basic !!!"})
    assert r.status == 401


def test_correct_login_leaves_the_front(server):
    """The front's side only: the login is accepted and a session is asked
    for; the answer itself is the worker's."""
    c = https(server, timeout=15)
    c.request("PROPFIND", "/dav/", headers={"Authorization": basic(ALICE, PASSWORD),
                                            "Depth": "0"})
    try:
        r = c.getresponse()
        r.read()
        assert r.status != 401
    except (http.client.HTTPException, ConnectionError, ssl.SSLError, TimeoutError):
        pass  # no worker side yet: the session may end without an answer
    deadline = time.time() + 10
    while "HTTPS login accepted" not in server.log() and time.time() < deadline:
        time.sleep(0.1)
    assert server.wait_log("HTTPS login accepted (TLS)"), server.log()[-3000:]
    # Master took the ticket and gave the front its session link.
    assert "no session could be started" not in server.log()
    assert "invalid or expired ticket" not in server.log()


def test_curl(server):
    r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                        f"https://127.0.0.1:{server.https_port}/.well-known/carddav"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout == f"301 https://127.0.0.1:{server.https_port}/dav/"
    r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-u",
                        f"{ALICE}:wrong", f"https://127.0.0.1:{server.https_port}/dav/"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout == "401"
    r = subprocess.run(["curl", "-s", "-w", "%{http_code}",
                        f"http://127.0.0.1:{server.http_port}/mail/config-v1.1.xml"
                        "?emailaddress=bob%40example.org"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.endswith("200")
    ET.fromstring(r.stdout[:-3])


# --- limits and hostile shapes ---------------------------------------------

def test_huge_body_before_login(server):
    start = time.monotonic()
    a, closed = request(server.https_port, "POST /autodiscover/autodiscover.xml HTTP/1.1\r\n"
                        "Host: x\r\nContent-Length: 1073741824\r\n\r\nabc")
    assert a[0] == 413
    assert a[1].get("connection") == "close"
    assert closed
    assert time.monotonic() - start < 5
    # One past the limit is refused; the limit itself is read.
    a, closed = request(server.https_port, "PUT /dav/x HTTP/1.1\r\nHost: x\r\n"
                        f"Content-Length: {PREAUTH_MAX_BODY + 1}\r\n\r\n")
    assert a[0] == 413 and closed
    c = Raw(server.https_port)
    c.send("POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
           f"Content-Length: {PREAUTH_MAX_BODY}\r\n\r\n" + "x" * PREAUTH_MAX_BODY)
    a = c.answer()
    assert a[0] != 413
    c.close()
    still_serving(server)


def test_many_headers(server):
    c = Raw(server.https_port)
    head = "GET /dav/ HTTP/1.1\r\nHost: x\r\n" + "".join(
        f"X-H{i}: v\r\n" for i in range(100000)) + "\r\n"
    refused_while_sending(c, [head], 431)
    still_serving(server)


@pytest.mark.parametrize("head,status", [
    # Content-Length and Transfer-Encoding together: smuggling.
    ("POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
     "Transfer-Encoding: chunked\r\n\r\n", 400),
    # chunked twice, or hidden.
    ("POST /dav/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: chunked\r\n\r\n", (400, 501)),
    ("POST /dav/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
     (400, 501)),
    ("POST /dav/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", (400, 501)),
    ("POST /dav/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
    # Two Content-Lengths that differ.
    ("POST /dav/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    # Bare LF.
    ("GET /dav/ HTTP/1.1\nHost: x\n\n", 400),
    ("GET /dav/ HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400),
    # obs-fold.
    ("GET /dav/ HTTP/1.1\r\nHost: x\r\nX: y\r\n z\r\n\r\n", 400),
])
def test_smuggling_shapes_refused(server, head, status):
    for tls in (True, False):
        a, closed = request(server.https_port if tls else server.http_port, head, tls=tls)
        assert a is not None
        assert a[0] in (status if isinstance(status, tuple) else (status,)), head
        assert a[1].get("connection") == "close"
        assert closed
    assert "HTTPS login" not in server.log()
    still_serving(server)


def test_exchange_shapes_not_forwarded(server):
    c = https(server)
    r, _ = ask(c, "GET", "/autodiscover/autodiscover.json?@evil.example/mapi/nspi/?&Email="
               "autodiscover/autodiscover.json%3F@evil.example")
    assert r.status == 404
    r, _ = ask(c, "GET", "/ecp/x.js", headers={
        "Cookie": "X-BEResource=evil.example/EWS/Exchange.asmx?a=~1942062522;",
        "X-BEResource": "evil.example"})
    assert r.status == 404
    r, _ = ask(c, "GET", "/dav/", headers={"Cookie": "X-BEResource=evil.example/dav/;"})
    assert r.status == 401
    assert "evil.example" not in server.log()


def test_requests_per_connection(server):
    c = Raw(server.https_port)
    c.send("GET /.well-known/caldav HTTP/1.1\r\nHost: x\r\n\r\n" * (MAX_REQUESTS + 1))
    for i in range(MAX_REQUESTS):
        a = c.answer()
        assert a is not None and a[0] == 301, i
    assert a[1].get("connection") == "close"
    assert c.answer() is None
    c.close()


def test_head_answers_have_no_body(server):
    c = Raw(server.https_port)
    c.send("HEAD /dav/ HTTP/1.1\r\nHost: x\r\n\r\n"
           "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"
           "HEAD /mail/config-v1.1.xml?emailaddress=alice@example.org HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /.well-known/caldav HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.answer(head_only=True)[0] == 401
    assert c.answer(head_only=True)[0] == 404
    assert c.answer(head_only=True)[0] == 200
    assert c.answer()[0] == 301
    c.close()


def test_http10_and_connection_close(server):
    a, closed = request(server.https_port, "GET /.well-known/caldav HTTP/1.0\r\n\r\n")
    assert a[0] == 301 and closed
    a, closed = request(server.https_port,
                        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert a[0] == 404 and closed


def test_pipelined_login_request_stays_whole(server):
    """Answers before the login are given; the request with credentials
    and the rest are not answered here (they are the worker's)."""
    c = Raw(server.https_port, timeout=15)
    c.send("GET /.well-known/caldav HTTP/1.1\r\nHost: x\r\n\r\n"
           f"PROPFIND /dav/ HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(ALICE, 'wrong')}\r\n"
           "Content-Length: 3\r\n\r\nabc"
           "GET /.well-known/carddav HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.answer()[0] == 301
    assert c.answer()[0] == 401
    assert c.answer()[0] == 301
    c.close()


def test_connections_per_address_limit(make):
    """Refused at accept: plain HTTP hears a 503, HTTPS (TLS first) only
    sees the connection end."""
    server = make("front.max_connections_per_ip = 2\nfront.processes = 2")
    time.sleep(0.5)  # the start-up probe's connection must be gone first
    first = [Raw(server.http_port, tls=False), Raw(server.https_port)]
    s = socket.create_connection(("127.0.0.1", server.http_port), timeout=10)
    f = s.makefile("rb")
    assert f.readline() == b"HTTP/1.1 503 Service Unavailable\r\n"
    assert b"Connection: close\r\n" in f.read()
    s.close()
    with pytest.raises((ssl.SSLError, OSError)):
        Raw(server.https_port)
    for r in first:
        r.sock.shutdown(socket.SHUT_RDWR)
        r.close()
    time.sleep(0.5)
    r, _ = ask(https(server), "GET", "/.well-known/caldav")
    assert r.status == 301
