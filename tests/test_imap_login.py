"""IMAP before login, as the front speaks it (RFC 9051, RFC 3501): greeting,
capabilities, STARTTLS, LOGIN, AUTHENTICATE PLAIN, limits.  What follows the
tagged OK of a login is the worker's (tests/test_imap.py)."""
import base64
import imaplib
import smtplib
import socket
import ssl
import threading
import time

import pytest

CTX = ssl._create_unverified_context()
PASSWORD = "secret-pass"  # conftest's default for alice and bob
ALICE = "alice@example.org"


class Raw:
    """A connection that sends exactly what a test writes."""

    def __init__(self, port, tls=False, timeout=10, source=None):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        self.sock = CTX.wrap_socket(s) if tls else s
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self):
        return self.f.readline(1 << 20)

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, tag, text):
        """Sends one command line; returns (untagged lines, tagged line)."""
        self.send(f"{tag} {text}\r\n")
        return self.answer(tag)

    def answer(self, tag):
        untagged = []
        while True:
            line = self.line()
            assert line, f"closed before the answer to {tag}; got {untagged}"
            if line.startswith(tag.encode() + b" "):
                return untagged, line
            untagged.append(line)

    def closed(self):
        """True when the server has closed (EOF after what it sent)."""
        try:
            return self.f.read() == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.f.close()
        self.sock.close()


def plain_token(user=ALICE, password=PASSWORD, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


def assert_logged_in(tagged, tag="a"):
    assert tagged.startswith(tag.encode() + b" OK [CAPABILITY IMAP4rev1 "), tagged
    assert tagged.rstrip().endswith(b"] Logged in"), tagged


def front_restarts(server):
    return "restarting it" in server.log()


def test_greeting_and_capabilities_in_clear(server):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    assert c.welcome.startswith(b"* OK [CAPABILITY ")
    for cap in ("IMAP4REV1", "IMAP4REV2", "STARTTLS", "LOGINDISABLED", "LITERAL+", "ID"):
        assert cap in c.capabilities, c.capabilities
    assert "AUTH=PLAIN" not in c.capabilities
    # No credentials in clear text: LOGINDISABLED is meant.
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login(ALICE, PASSWORD)
    assert "PRIVACYREQUIRED" in str(e.value)
    assert c.noop()[0] == "OK"
    assert c.logout()[0] == "BYE"


def test_greeting_over_tls(server):
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=CTX, timeout=10)
    assert "AUTH=PLAIN" in c.capabilities and "SASL-IR" in c.capabilities
    assert "LOGINDISABLED" not in c.capabilities and "STARTTLS" not in c.capabilities
    typ, data = c.capability()
    assert typ == "OK" and b"AUTH=PLAIN" in data[0]
    assert c.logout()[0] == "BYE"


def test_starttls_then_login(server):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    typ, _ = c.starttls(ssl_context=CTX)
    assert typ == "OK"
    assert "AUTH=PLAIN" in c.capabilities and "LOGINDISABLED" not in c.capabilities
    typ, data = c.login(ALICE, PASSWORD)
    assert typ == "OK"
    assert data[0].startswith(b"[CAPABILITY IMAP4rev1 ") and data[0].endswith(b"] Logged in")
    c.shutdown()


def test_login_over_imaps(server):
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=CTX, timeout=10)
    typ, data = c.login(ALICE, PASSWORD)
    assert typ == "OK" and b"[CAPABILITY " in data[0]
    c.shutdown()


def test_wrong_password_is_refused_after_a_delay(server):
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=CTX, timeout=30)
    times = []
    for _ in range(2):
        start = time.monotonic()
        with pytest.raises(imaplib.IMAP4.error) as e:
            c.login(ALICE, "wrong")
        times.append(time.monotonic() - start)
        assert "[AUTHENTICATIONFAILED] Authentication failed" in str(e.value)
    # 0.5 s, then 1 s (counted from the request, so a slow password check
    # under load does not add to it).
    assert times[0] >= 0.4 and times[1] >= 0.9, times
    # Still not authenticated, and the right password works on the same
    # connection.
    assert c.noop()[0] == "OK"
    assert c.login(ALICE, PASSWORD)[0] == "OK"
    c.shutdown()


def test_unknown_user_is_refused_the_same_way(server):
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=CTX, timeout=30)
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login("nobody@example.org", PASSWORD)
    assert "[AUTHENTICATIONFAILED] Authentication failed" in str(e.value)
    c.logout()


def test_authenticate_plain_without_initial_response(server):
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=CTX, timeout=10)
    # imaplib waits for "+ " and sends the response on a line of its own.
    typ, data = c.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode())
    assert typ == "OK" and data[0].endswith(b"] Logged in")
    c.shutdown()


def test_authenticate_plain_with_initial_response(server):
    r = Raw(server.imaps_port, tls=True)
    _, tagged = r.cmd("a", "AUTHENTICATE PLAIN " + plain_token())
    assert_logged_in(tagged)
    r.close()


def test_authenticate_cancel_and_errors(server):
    r = Raw(server.imaps_port, tls=True)
    r.send("a AUTHENTICATE PLAIN\r\n")
    assert r.line() == b"+ \r\n"
    r.send("*\r\n")
    assert r.answer("a")[1] == b"a BAD Authentication cancelled\r\n"
    assert r.cmd("b", "AUTHENTICATE PLAIN !!notbase64")[1] == b"b BAD Invalid base64\r\n"
    assert r.cmd("c", "AUTHENTICATE CRAM-MD5")[1].startswith(b"c NO ")
    tagged = r.cmd("d", "AUTHENTICATE PLAIN " + plain_token(authzid="bob@example.org"))[1]
    assert tagged.startswith(b"d NO [AUTHORIZATIONFAILED]")
    # In clear text, not even the mechanism is looked at.
    p = Raw(server.imap_port)
    tagged = p.cmd("a", "AUTHENTICATE PLAIN " + plain_token())[1]
    assert tagged.startswith(b"a NO [PRIVACYREQUIRED]")
    p.close()
    _, tagged = r.cmd("e", "AUTHENTICATE PLAIN " + plain_token())
    assert_logged_in(tagged, "e")
    r.close()


def test_login_with_literals(server):
    r = Raw(server.imaps_port, tls=True)
    r.send(f"a LOGIN {{{len(ALICE)}}}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(f"{ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}\r\n")
    assert_logged_in(r.answer("a")[1])
    r.close()


def test_login_literal_in_clear_is_refused_before_the_password(server):
    r = Raw(server.imap_port)
    r.send(f"a LOGIN {ALICE} {{{len(PASSWORD)}}}\r\n")
    # No "+": the client never sends the password in clear.
    line = r.line()
    assert line.startswith(b"a NO [PRIVACYREQUIRED]"), line
    assert r.cmd("b", "NOOP")[1] == b"b OK NOOP completed\r\n"
    r.close()


def test_pipelined_commands_after_login_are_not_read_by_the_front(server):
    r = Raw(server.imaps_port, tls=True)
    # The tagged OK of the login comes first; what follows it is the
    # worker's answer (or its closing), never the front's "Log in first".
    r.send(f"a LOGIN {ALICE} {PASSWORD}\r\nb NOOP\r\n")
    assert_logged_in(r.line())
    rest = b""
    try:
        while True:
            line = r.line()
            if not line:
                break
            rest += line
            if line.startswith(b"b "):
                break
    except (ConnectionResetError, ssl.SSLError, socket.timeout):
        pass
    assert b"Log in first" not in rest, rest
    r.close()


def assert_still_serves(server, times=4):
    """New connections (spread over both fronts) log in and get their RCPT
    answered: auth is still reachable from every front."""
    for _ in range(times):
        c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=CTX, timeout=10)
        assert c.login(ALICE, PASSWORD)[0] == "OK"
        c.logout()
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as s:
            s.ehlo("client.test")
            assert s.mail("sender@remote.test")[0] == 250
            assert s.rcpt(ALICE)[0] == 250
    log = server.log()
    assert "malformed message" not in log, log[-3000:]
    assert not front_restarts(server), log[-3000:]


def test_overlong_credentials_are_a_failed_login(server):
    """Credentials longer than auth takes are refused by the front itself,
    like a wrong password (with the growing delay), and never cost the
    front its link to auth."""
    r = Raw(server.imaps_port, tls=True, timeout=30)
    times = []
    # 2 KB password, quoted on the command line.
    start = time.monotonic()
    _, tagged = r.cmd("a", f'LOGIN {ALICE} "{"p" * 2048}"')
    times.append(time.monotonic() - start)
    assert tagged.startswith(b"a NO [AUTHENTICATIONFAILED]"), tagged
    # 70 KB password as a literal: past the literal limit, refused before
    # a byte of it is sent.
    r.send(f"b LOGIN {ALICE} {{{70 * 1024}}}\r\n")
    line = r.line()
    assert line.startswith(b"b BAD [TOOBIG]"), line
    # 5 KB password as a literal: within the literal limit, so it reaches
    # the front's check.
    r.send(f"c LOGIN {ALICE} {{{5 * 1024}}}\r\n")
    assert r.line().startswith(b"+ ")
    start = time.monotonic()
    r.send("q" * (5 * 1024) + "\r\n")
    tagged = r.answer("c")[1]
    times.append(time.monotonic() - start)
    assert tagged.startswith(b"c NO [AUTHENTICATIONFAILED]"), tagged
    # AUTHENTICATE PLAIN with 3 KB of password, as an initial response.
    start = time.monotonic()
    _, tagged = r.cmd("d", "AUTHENTICATE PLAIN " + plain_token(password="z" * 3072))
    times.append(time.monotonic() - start)
    assert tagged.startswith(b"d NO [AUTHENTICATIONFAILED]"), tagged
    # 0.5 s, 1 s, 2 s: the delay grows as for wrong passwords.
    assert times[0] >= 0.4 and times[1] >= 0.9 and times[2] >= 1.9, times
    # The same connection (and so the same front) still logs in.
    assert_logged_in(r.cmd("e", f"LOGIN {ALICE} {PASSWORD}")[1], "e")
    r.close()
    assert_still_serves(server)


def test_failed_login_delay_is_per_client_address(server):
    """Two addresses of one /24 (loopback aliases) each have their own
    count of failures."""
    def wrong(r, tag):
        start = time.monotonic()
        tagged = r.cmd(tag, f"LOGIN {ALICE} wrong")[1]
        assert tagged.startswith(tag.encode() + b" NO [AUTHENTICATIONFAILED]"), tagged
        return time.monotonic() - start

    two = Raw(server.imaps_port, tls=True, timeout=30, source="127.0.0.2")
    assert wrong(two, "a") >= 0.4
    assert wrong(two, "b") >= 0.9
    three = Raw(server.imaps_port, tls=True, timeout=30, source="127.0.0.3")
    # Its first failure: 0.5 s, not the 2 s of 127.0.0.2's third.
    assert wrong(three, "a") < 1.8
    assert wrong(two, "c") >= 1.9
    two.close()
    three.close()
    assert server.wait_log("from 127.0.0.2 (2 failures"), server.log()
    assert server.wait_log("from 127.0.0.3 (1 failures"), server.log()


def test_huge_literal_before_login(server):
    r = Raw(server.imaps_port, tls=True)
    # Synchronising: refused unasked (nothing reserved), connection goes on.
    r.send("a LOGIN alice {4000000000}\r\n")
    line = r.line()
    assert line.startswith(b"a BAD [TOOBIG]"), line
    assert r.cmd("b", "NOOP")[1] == b"b OK NOOP completed\r\n"
    # Non-synchronising: the octets would come anyway, so the connection
    # cannot go on: BAD, BYE, closed.
    r.send("c LOGIN alice {4000000000+}\r\n")
    assert r.line().startswith(b"c BAD [TOOBIG]")
    assert r.line().startswith(b"* BYE ")
    assert r.closed()
    r.close()
    # Nothing crashed: a new connection is served by the same fronts.
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=CTX, timeout=10)
    assert c.noop()[0] == "OK"
    c.logout()
    assert not front_restarts(server), server.log()[-3000:]


def test_ten_megabyte_line_before_login(server):
    r = Raw(server.imap_port, timeout=60)
    r.send(b"a LOGIN " + b"x" * (10 * 1024 * 1024) + b" y\r\n")
    line = r.line()
    assert line == b"a BAD Command line too long\r\n", line
    assert r.cmd("b", "NOOP")[1] == b"b OK NOOP completed\r\n"
    r.close()
    assert not front_restarts(server)


def test_deep_nesting_before_login(server):
    r = Raw(server.imap_port)
    r.send("a ID " + "(" * 10000 + "\r\n")
    line = r.line()
    assert line == b"a BAD Lists nested too deeply\r\n", line
    assert r.cmd("b", "NOOP")[1] == b"b OK NOOP completed\r\n"
    r.close()
    assert not front_restarts(server)


def test_id_logout_and_commands_before_login(server):
    r = Raw(server.imap_port)
    assert r.greeting.startswith(b"* OK [CAPABILITY ")
    untagged, tagged = r.cmd("a", 'ID ("name" "pytest" "version" "1")')
    assert untagged == [b'* ID ("name" "Ravelin")\r\n'] and tagged.startswith(b"a OK")
    assert r.cmd("b", "ID NIL")[1].startswith(b"b OK")
    # ENABLE is valid only once authenticated (RFC 9051 6.3.1).
    assert r.cmd("c", "ENABLE UTF8=ACCEPT")[1] == b"c BAD Log in first\r\n"
    assert r.cmd("d", "SELECT INBOX")[1] == b"d BAD Log in first\r\n"
    assert r.cmd("e", "UID FETCH 1:* FLAGS")[1] == b"e BAD Log in first\r\n"
    assert r.cmd("f", "XYZZY")[1] == b"f BAD Unknown command\r\n"
    untagged, tagged = r.cmd("g", "LOGOUT")
    assert untagged == [b"* BYE Logging out\r\n"] and tagged.startswith(b"g OK")
    assert r.closed()
    r.close()


def test_too_many_bad_commands(server):
    r = Raw(server.imap_port)
    for i in range(9):
        assert r.cmd(f"a{i}", "BOGUS")[1].startswith(f"a{i} BAD".encode())
    r.send("z BOGUS\r\n")
    assert r.line().startswith(b"z BAD")
    assert r.line() == b"* BYE Too many invalid commands\r\n"
    assert r.closed()
    r.close()


def test_idle_before_login_is_logged_out(make):
    server = make("imap.login_timeout = 1")
    r = Raw(server.imap_port)
    start = time.monotonic()
    assert r.line() == b"* BYE Autologout; idle for too long\r\n"
    assert r.closed()
    assert time.monotonic() - start < 5
    r.close()


def test_connections_per_address_limit(make):
    server = make("front.max_connections_per_ip = 2\nfront.processes = 2")
    time.sleep(0.5)  # the start-up probe's connection must be gone first
    first = [Raw(server.imap_port), Raw(server.imaps_port, tls=True)]
    for r in first:
        assert r.greeting.startswith(b"* OK ")
    # The limit counts every service of the address, across both fronts.
    for _ in range(2):
        s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
        assert s.makefile("rb").readline() == \
            b"* BYE [UNAVAILABLE] Too many connections from your address\r\n"
        s.close()
    # On the TLS port nothing readable can be said: the connection ends.
    with pytest.raises((ssl.SSLError, OSError)):
        Raw(server.imaps_port, tls=True)
    for r in first:
        r.sock.shutdown(socket.SHUT_RDWR)
        r.close()
    time.sleep(0.5)
    again = Raw(server.imap_port)
    assert again.greeting.startswith(b"* OK ")
    again.close()


# Clients that log in at once just after the server starts, from one
# address, each then logging in again at once on its next connection
# (under the per-address limit of 50 connections).
BURST_CLIENTS = 8
BURST_LOGINS = 5


def test_a_burst_of_logins_is_not_passed_by_later_ones(make):
    """Logins from one address queued before any of its logins worked must
    not wait behind the ones that come after the first success.  The first
    connections of a fresh server once waited, unanswered, until their
    login timeout: the first clients through kept logging in again, and
    each of their new logins went ahead of the old ones."""
    server = make()
    start = threading.Barrier(BURST_CLIENTS)
    done = [[] for _ in range(BURST_CLIENTS)]
    errors = []

    def client(i):
        try:
            conns = [Raw(server.imaps_port, tls=True, timeout=120) for _ in range(BURST_LOGINS)]
            start.wait()
            for r in conns:
                assert_logged_in(r.cmd("a", f"LOGIN {ALICE} {PASSWORD}")[1], "a")
                done[i].append(time.monotonic())
            for r in conns:
                r.close()
        except Exception as e:  # reported in the test's thread
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(BURST_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    # One check at a time per address, in arrival order: every client's
    # first login is answered before anyone's third.
    last_first = max(times[0] for times in done)
    ahead = max(sum(1 for t in times if t < last_first) for times in done)
    print(f"logins of one client answered before every client's first: at most {ahead}")
    assert ahead <= 2, ahead
