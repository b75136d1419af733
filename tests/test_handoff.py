"""Real clients through the hand-off after login.

Before login every connection is served by a pre-auth process of its own.
After an IMAP or POP3 login over TLS 1.3 that process hands the client's
socket and the TLS 1.3 state to the account's worker and exits; over
TLS 1.2 (or once a KeyUpdate happened before login) it stays and relays
that one session.  Each test here drives a real client over a pinned TLS
version, checks what the user sees (bytes, flags, new mail, answers), and
checks that the expected path was taken: the pre-auth process's debug line
("session handed to the worker" / "session relayed: <why>"), the TLS
version it established, and that no pre-auth process is left for a
handed-off connection (while a relayed one keeps its own, titled
"ravelin preauth <SERVICE> <serial>", until the session ends).
"""
import base64
import concurrent.futures
import hashlib
import imaplib
import os
import poplib
import random
import re
import select
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

from imap_util import ALICE, PASSWORD, Client, append_many, fetches, small_message, wait_for, write_mbsyncrc
from test_imap_clients import (corpus_index, maildir_files, make_certificate, run_on_pty,
                               server_certificate)

TLS13 = ssl.TLSVersion.TLSv1_3
TLS12 = ssl.TLSVersion.TLSv1_2
VERSIONS = [TLS13, TLS12]
NAME = {TLS13: "TLSv1.3", TLS12: "TLSv1.2"}


def version_id(v):
    return {TLS13: "tls1.3", TLS12: "tls1.2"}[v]


both_versions = pytest.mark.parametrize("version", VERSIONS, ids=version_id)


def pinned(version):
    """A client context that speaks exactly one TLS version."""
    ctx = ssl._create_unverified_context()
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def need(tool):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (scripts/install-deps test installs it)")


@pytest.fixture
def dserver(make):
    """A server that logs, per login, which path the session took."""
    return make("log.level = debug")


# ---------- which path a session took ----------

SESSION_RE = re.compile(
    r"preauth (\d+(?:\.\d+)?)\[(\d+)\]: debug: \S+: session "
    r"(handed to the worker|relayed: (.*))$", re.M)
TLS_RE = re.compile(r"preauth (\d+(?:\.\d+)?)\[\d+\]: debug: \S+: TLS established \((\S+), ", re.M)
CONNECTED_RE = re.compile(r"preauth (\d+(?:\.\d+)?)\[\d+\]: debug: \S+: connected \((\w+)\)", re.M)


def sessions(server):
    """Every login's outcome so far, in log order: dicts with serial, pid,
    handed (bool), why (relay reason), tls (version), service."""
    log = server.log()
    tls = dict(TLS_RE.findall(log))
    service = dict(CONNECTED_RE.findall(log))
    return [{"serial": m.group(1), "pid": int(m.group(2)),
             "handed": m.group(3) == "handed to the worker", "why": m.group(4),
             "tls": tls.get(m.group(1)), "service": service.get(m.group(1))}
            for m in SESSION_RE.finditer(log)]


def mark(server):
    return len(sessions(server))


def group_processes(server):
    """(pid, title) of every process of the server's session."""
    r = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", str(server.proc.pid)],
                       capture_output=True, text=True, timeout=10)
    out = []
    for line in r.stdout.splitlines():
        pid, stat, args = line.strip().split(None, 2)
        if not stat.startswith("Z"):
            out.append((int(pid), args))
    return out


def preauth_of(server, s):
    """The live process still serving session s, or None."""
    title = f"ravelin preauth {s['service']} {s['serial']}"
    for pid, args in group_processes(server):
        if pid == s["pid"] or args == title:
            return pid, args
    return None


def check_sessions(server, since, version, service, count=1, why="not TLS 1.3"):
    """The sessions logged in since mark `since` (count of them, or at
    least one if count is None) were established with `version` on
    `service` and took the path it calls for: TLS 1.3 handed to the
    worker, with no pre-auth process left for them; otherwise relayed,
    the log giving `why`.  Returns the sessions (check_relay_alive tells
    whether a relay is still there)."""
    want = 1 if count is None else count
    wait_for(lambda: len(sessions(server)) >= since + want, timeout=10)
    new = sessions(server)[since:]
    if count is not None:
        assert len(new) == count, (new, server.log()[-3000:])
    assert new, server.log()[-3000:]
    for s in new:
        assert s["service"] == service and s["tls"] == NAME[version], (s, server.log()[-3000:])
        if version == TLS13 and why == "not TLS 1.3":
            assert s["handed"], (s, server.log()[-3000:])
            left = wait_for(lambda: preauth_of(server, s) is None, timeout=5)
            assert left, (s, group_processes(server))
        else:
            assert not s["handed"] and s["why"] == why, (s, server.log()[-3000:])
    return new


def check_relay_alive(server, s):
    assert preauth_of(server, s) is not None, (s, group_processes(server))


def check_relay_gone(server, s):
    assert wait_for(lambda: preauth_of(server, s) is None, timeout=5), \
        (s, group_processes(server))


def check_no_busy_preauth(server, service="IMAPS"):
    busy = [a for _, a in group_processes(server) if a.startswith(f"ravelin preauth {service} ")]
    assert not busy, group_processes(server)


# ---------- clients ----------

class PinnedClient(Client):
    """imap_util's recording client over one pinned TLS version."""

    def __init__(self, port, version, timeout=20):
        self.transcript = []
        self.timeout = timeout
        self._rbuf = bytearray()
        imaplib.IMAP4_SSL.__init__(self, "127.0.0.1", port, ssl_context=pinned(version),
                                   timeout=timeout)


def pinned_login(server, version, timeout=20):
    before = mark(server)
    c = PinnedClient(server.imaps_port, version, timeout=timeout)
    assert c.sock.version() == NAME[version]
    typ, _ = c.login(ALICE, PASSWORD)
    assert typ == "OK", c.exchange()
    # The path a session took is logged just after its client heard OK:
    # wait for it, so that a later mark() does not count this one.
    if "log.level = debug" in server.extra_config:
        wait_for(lambda: mark(server) > before, timeout=10)
    return c


def message(subject, body):
    return (f"From: Carol <carol@example.com>\r\nTo: Alice <{ALICE}>\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@ravelin.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}").encode()


def deliver(server, subject, body="hello\r\n", to=ALICE):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as c:
        c.sendmail("s@remote.test", [to],
                   f"From: s@remote.test\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}")


def literal_of(data):
    """The bytes of the first literal in an imaplib FETCH answer."""
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    raise AssertionError(f"no literal in {data!r}"[:2000])


# ---------- 1. imaplib, IMAPS and STARTTLS ----------

@both_versions
@pytest.mark.parametrize("how", ["imaps", "starttls"])
def test_imaplib_session_through_the_handoff(dserver, version, how):
    since = mark(dserver)
    if how == "imaps":
        c = imaplib.IMAP4_SSL("127.0.0.1", dserver.imaps_port, ssl_context=pinned(version),
                              timeout=20)
        service = "IMAPS"
    else:
        c = imaplib.IMAP4("127.0.0.1", dserver.imap_port, timeout=20)
        assert c.starttls(ssl_context=pinned(version))[0] == "OK"
        service = "IMAP"
    assert c.sock.version() == NAME[version]
    typ, data = c.login(ALICE, PASSWORD)
    assert typ == "OK" and data[0].endswith(b"] Logged in"), data
    (s,) = check_sessions(dserver, since, version, service)

    typ, data = c.select("INBOX")
    assert (typ, data) == ("OK", [b"0"])
    msg = message(f"through the hand-off {how} {version_id(version)}",
                  "Grüße aus Köln.\r\nA second line.\r\n" + "x" * 900 + "\r\n")
    typ, data = c.append("INBOX", r"(\Draft)", None, msg)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    uid = data[0].split()[2].rstrip(b"]").decode()
    typ, data = c.noop()
    assert typ == "OK"
    typ, data = c.uid("FETCH", uid, "(RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    assert literal_of(data) == msg
    assert b"RFC822.SIZE %d" % len(msg) in data[0][0], data[0][0]
    typ, data = c.uid("STORE", uid, "+FLAGS", r"(\Seen \Flagged)")
    assert typ == "OK", data
    typ, data = c.uid("FETCH", uid, "(FLAGS)")
    flags = imaplib.ParseFlags(data[0])
    assert set(flags) - {b"\\Recent"} == {b"\\Seen", b"\\Flagged", b"\\Draft"}, data
    if version == TLS12:
        check_relay_alive(dserver, s)
    typ, data = c.logout()
    assert typ == "BYE", data
    if version == TLS12:
        check_relay_gone(dserver, s)
    check_no_busy_preauth(dserver, service)
    # What the user saw is what the store holds.
    assert dserver.inbox_messages(ALICE) == [msg]


# ---------- 2. a large message ----------

def big_message(size, seed=20):
    rng = random.Random(seed)
    raw = rng.randbytes(size * 3 // 4)
    body = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    head = (b"From: archive@example.net\r\nTo: alice@example.org\r\n"
            b"Subject: twenty megabytes\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    return head + body


@both_versions
def test_twenty_megabyte_append_and_fetch(dserver, version):
    msg = big_message(20 * 1024 * 1024)
    want = hashlib.sha256(msg).hexdigest()
    since = mark(dserver)
    c = imaplib.IMAP4_SSL("127.0.0.1", dserver.imaps_port, ssl_context=pinned(version),
                          timeout=120)
    assert c.login(ALICE, PASSWORD)[0] == "OK"
    check_sessions(dserver, since, version, "IMAPS")
    assert c.select("INBOX")[0] == "OK"
    start = time.monotonic()
    typ, data = c.append("INBOX", None, None, msg)
    append_s = time.monotonic() - start
    assert typ == "OK", data
    start = time.monotonic()
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    fetch_s = time.monotonic() - start
    assert typ == "OK", data[:1]
    got = literal_of(data)
    assert len(got) == len(msg) and hashlib.sha256(got).hexdigest() == want
    # The session goes on after the large answer.
    assert c.noop()[0] == "OK"
    assert c.logout()[0] == "BYE"
    assert append_s < 60 and fetch_s < 60, (append_s, fetch_s)


def append_big(server, size):
    msg = big_message(size)
    c = pinned_login(server, TLS13, timeout=60)
    c.ok("SELECT INBOX")
    typ, data = c.append("INBOX", None, None, msg)
    assert typ == "OK", data
    c.logout()
    return msg


def read_literal_answer(f, tag):
    """From a file on the connection: the first literal, then the lines up
    to the tagged answer of tag."""
    lines = []
    literal = None
    while True:
        line = f.readline()
        assert line, f"closed: {lines}"
        m = re.search(rb"\{(\d+)\}\r\n$", line)
        if m and literal is None:
            literal = f.read(int(m.group(1)))
            continue
        lines.append(line)
        if line.startswith(tag + b" "):
            return literal, lines


@both_versions
def test_large_fetch_to_a_slow_reader_with_a_pipelined_noop(dserver, version):
    """The client asks for 8 MB and a NOOP, then reads nothing for two
    seconds (the server's socket fills up and must wait), then reads."""
    msg = append_big(dserver, 8 * 1024 * 1024)
    since = mark(dserver)
    s = pinned(version).wrap_socket(
        socket.create_connection(("127.0.0.1", dserver.imaps_port), timeout=30))
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"a LOGIN {ALICE} {PASSWORD}\r\n".encode())
    assert f.readline().startswith(b"a OK ")
    check_sessions(dserver, since, version, "IMAPS")
    s.sendall(b"b SELECT INBOX\r\nc FETCH 1 BODY.PEEK[]\r\nd NOOP\r\n")
    time.sleep(2)
    _, lines = tagged_answers(f.readline, ["b"])
    literal, lines = read_literal_answer(f, b"c")
    assert lines[-1].startswith(b"c OK "), lines
    assert literal is not None and hashlib.sha256(literal).digest() == \
        hashlib.sha256(msg).digest(), (len(literal or b""), len(msg))
    got, lines = tagged_answers(f.readline, ["d"])
    assert got["d"].startswith(b"d OK "), lines
    s.close()


def test_client_vanishing_mid_download_leaves_other_sessions_alone(dserver):
    """A TLS 1.3 client that drops its connection in the middle of an 8 MB
    answer costs the worker nothing: a second session of the account
    (handed off too) goes on, and new logins work."""
    msg = append_big(dserver, 8 * 1024 * 1024)
    before = mark(dserver)
    other = pinned_login(dserver, TLS13)
    other.ok("SELECT INBOX")
    check_sessions(dserver, before, TLS13, "IMAPS")
    since = mark(dserver)
    s = pinned(TLS13).wrap_socket(
        socket.create_connection(("127.0.0.1", dserver.imaps_port), timeout=30))
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"a LOGIN {ALICE} {PASSWORD}\r\nb SELECT INBOX\r\n"
              "c FETCH 1 BODY.PEEK[]\r\n".encode())
    got, _ = tagged_answers(f.readline, ["a", "b"])
    f.read(256 * 1024)
    check_sessions(dserver, since, TLS13, "IMAPS")
    # Reset, not a polite close: unread data plus SO_LINGER 0.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    f.close()
    s.close()
    r = other.ok("NOOP")
    r = other.ok("FETCH 1 (RFC822.SIZE)")
    assert r.has(b"RFC822.SIZE %d" % len(msg)), r.exchange()
    again = pinned_login(dserver, TLS13)
    r = again.ok("EXAMINE INBOX")
    assert r.has(b"* 1 EXISTS"), r.exchange()
    again.logout()
    other.logout()
    log = dserver.log()
    assert not re.search(r"worker \d+ (was killed|exited with status [1-9])", log), log[-3000:]


# ---------- 3. pipelining right after LOGIN ----------

def tagged_answers(readline, tags, limit=200):
    """Lines up to the answer of the last tag: ({tag: line}, all lines)."""
    got, lines = {}, []
    while len(got) < len(tags) and len(lines) < limit:
        line = readline()
        assert line, f"closed before all answers: {lines}"
        lines.append(line)
        tag = line.split(b" ", 1)[0].decode(errors="replace")
        if tag in tags:
            got[tag] = line
    return got, lines


PIPELINE = [f"a LOGIN {ALICE} {PASSWORD}\r\n", "b SELECT INBOX\r\n", "c NOOP\r\n"]


@both_versions
def test_pipelined_commands_after_login_in_one_record(dserver, version):
    deliver(dserver, "waiting")
    dserver.wait_inbox(ALICE, 1)
    since = mark(dserver)
    raw = socket.create_connection(("127.0.0.1", dserver.imaps_port), timeout=15)
    s = pinned(version).wrap_socket(raw)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK ")
    s.sendall("".join(PIPELINE).encode())          # one write, one record
    got, lines = tagged_answers(f.readline, ["a", "b", "c"])
    assert got["a"].startswith(b"a OK [CAPABILITY "), lines
    assert got["b"].startswith(b"b OK [READ-WRITE]"), lines
    assert got["c"].startswith(b"c OK "), lines
    assert b"* 1 EXISTS\r\n" in lines, lines
    check_sessions(dserver, since, version, "IMAPS")
    s.sendall(b"d LOGOUT\r\n")
    got, lines = tagged_answers(f.readline, ["d"])
    assert got["d"].startswith(b"d OK"), lines
    s.close()


class BioTLS:
    """A TLS client over memory BIOs: each write() becomes its own
    record(s), and flush() puts whatever was sealed on the wire in one
    send, so several records arrive in one TCP segment."""

    def __init__(self, port, version, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = pinned(version).wrap_bio(self.inc, self.out)
        self.buf = b""
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self.feed()
        self.flush()

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("closed")
        self.inc.write(data)

    def write_records(self, *chunks):
        for chunk in chunks:
            self.tls.write(chunk)
        self.flush()

    def readline(self):
        while b"\n" not in self.buf:
            try:
                data = self.tls.read(65536)
                if not data:
                    break
                self.buf += data
            except ssl.SSLWantReadError:
                self.flush()
                try:
                    self.feed()
                except EOFError:
                    break
            except ssl.SSLZeroReturnError:
                break
        line, sep, self.buf = self.buf.partition(b"\n")
        return line + sep


@both_versions
def test_pipelined_commands_after_login_in_separate_records(dserver, version):
    """LOGIN, SELECT and NOOP each in a record of its own, all three in one
    TCP segment: the records after the login's are still encrypted when
    the pre-auth process answers the login, and must go along."""
    since = mark(dserver)
    t = BioTLS(dserver.imaps_port, version)
    assert t.tls.version() == NAME[version]
    assert t.readline().startswith(b"* OK ")
    t.write_records(*(p.encode() for p in PIPELINE))
    got, lines = tagged_answers(t.readline, ["a", "b", "c"])
    assert got["a"].startswith(b"a OK [CAPABILITY "), lines
    assert got["b"].startswith(b"b OK [READ-WRITE]"), lines
    assert got["c"].startswith(b"c OK "), lines
    check_sessions(dserver, since, version, "IMAPS")
    t.write_records(b"d LOGOUT\r\n")
    got, lines = tagged_answers(t.readline, ["d"])
    assert got["d"].startswith(b"d OK"), lines
    t.sock.close()


# ---------- 4. IDLE for a while ----------

@pytest.mark.slow(reason="holds IMAP IDLE for 65 s to outlast minute-long timers")
def test_idle_for_65_seconds_then_new_mail(dserver):
    """A TLS 1.3 session (handed off) and a TLS 1.2 one (relayed) sit in
    IDLE for 65 s; a message delivered over SMTP then shows up in both as
    EXISTS within two seconds, and DONE is answered."""
    since = mark(dserver)
    c13 = pinned_login(dserver, TLS13, timeout=20)
    check_sessions(dserver, since, TLS13, "IMAPS")
    since = mark(dserver)
    c12 = pinned_login(dserver, TLS12, timeout=20)
    check_sessions(dserver, since, TLS12, "IMAPS")
    clients = [c13, c12]
    for c in clients:
        c.select_box("INBOX")
        c.idle_start()
    end = time.monotonic() + 65
    while time.monotonic() < end:
        for c in clients:
            r = c.idle_wait(max(0.05, min(1.0, end - time.monotonic())))
            # Keep-alive "* OK" lines are allowed; nothing else happened.
            assert r is None or r.startswith(b"* OK"), c.exchange()
    start = time.monotonic()
    deliver(dserver, "while idling")
    for c in clients:
        r = c.idle_wait(5)
        while r is not None and r.startswith(b"* OK"):
            r = c.idle_wait(5)
        assert r == b"* 1 EXISTS", c.exchange()
    delay = time.monotonic() - start
    assert delay < 2.5, delay
    for c in clients:
        c.idle_done()
        r = c.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert r.has(b"Subject: while idling"), r.exchange()
        r = c.run("LOGOUT")
        assert r.ok, r.exchange()


# ---------- 5. KeyUpdate (openssl s_client) ----------

class SClient:
    """openssl s_client on pipes, interactive (not -quiet, no -ign_eof:
    both turn off its command letters), with -msg so that the TLS
    messages it sends and receives show in its output."""

    def __init__(self, port, timeout=15):
        self.timeout = timeout
        self.p = subprocess.Popen(
            ["openssl", "s_client", "-brief", "-msg", "-tls1_3",
             "-connect", f"127.0.0.1:{port}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = b""

    def wait(self, needle, timeout=None):
        """Read until needle appears after what earlier waits consumed."""
        end = time.monotonic() + (timeout or self.timeout)
        while needle not in self.out:
            left = end - time.monotonic()
            assert left > 0, f"no {needle!r} in s_client output:\n" + \
                self.out.decode(errors="replace")[-3000:]
            ready, _, _ = select.select([self.p.stdout], [], [], min(left, 0.5))
            if ready:
                data = os.read(self.p.stdout.fileno(), 65536)
                assert data, "s_client ended:\n" + self.out.decode(errors="replace")[-3000:]
                self.out += data
        i = self.out.index(needle) + len(needle)
        seen, self.out = self.out[:i], self.out[i:]
        return seen

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def key_update(self, letter):
        """k or K alone at the start of a line; s_client drops the rest of
        what it read with it, so nothing else goes along."""
        self.send(letter.encode() + b"\n")
        seen = self.wait(b"KEYUPDATE")
        # -msg's line for it goes to stdout, KEYUPDATE to stderr: either first.
        sent = b">>> TLS 1.3, Handshake [length 0005], KeyUpdate"
        if sent not in seen:
            seen += self.wait(sent)
        return seen

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()


def key_updates_received(text):
    """The request_update bytes of the KeyUpdates s_client received."""
    return re.findall(rb"<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate\s+18 00 00 01 (0\d)",
                      text)


@pytest.mark.parametrize("letter", ["k", "K"])
def test_key_update_after_the_handoff(dserver, letter):
    need("openssl")
    since = mark(dserver)
    c = SClient(dserver.imaps_port)
    try:
        c.wait(b"* OK [CAPABILITY ")
        c.send(f"a LOGIN {ALICE} {PASSWORD}\r\n".encode())
        c.wait(b"a OK ")
        check_sessions(dserver, since, TLS13, "IMAPS")
        for round in range(2):      # twice: the worker's keys move on each time
            c.key_update(letter)
            c.send(f"b{round} NOOP\r\n".encode())
            seen = c.wait(f"b{round} OK NOOP completed".encode())
            # Asked to, the worker updates its own keys too (and only then).
            assert key_updates_received(seen) == ([b"00"] if letter == "K" else []), seen
        c.send(b"c LOGOUT\r\n")
        seen = c.wait(b"c OK ")
        assert b"* BYE " in seen, seen
    finally:
        c.close()


@pytest.mark.parametrize("letter", ["k", "K"])
def test_key_update_before_login_keeps_the_session_relayed(dserver, letter):
    need("openssl")
    since = mark(dserver)
    c = SClient(dserver.imaps_port)
    try:
        c.wait(b"* OK [CAPABILITY ")
        c.key_update(letter)
        c.send(b"x NOOP\r\n")
        seen = c.wait(b"x OK ")
        assert key_updates_received(seen) == ([b"00"] if letter == "K" else []), seen
        c.send(f"a LOGIN {ALICE} {PASSWORD}\r\n".encode())
        c.wait(b"a OK ")
        (s,) = check_sessions(dserver, since, TLS13, "IMAPS", why="keys were updated")
        check_relay_alive(dserver, s)
        c.send(b"b SELECT INBOX\r\n")
        c.wait(b"b OK [READ-WRITE]")
        c.key_update(letter)        # and once more, through the relay
        c.send(b"c NOOP\r\n")
        c.wait(b"c OK NOOP completed")
        c.send(b"d LOGOUT\r\n")
        c.wait(b"d OK ")
    finally:
        c.close()
    check_relay_gone(dserver, s)


@pytest.mark.parametrize("letter", ["k", "K"])
def test_key_update_during_a_large_fetch(dserver, letter):
    """A KeyUpdate arrives while the worker is streaming 8 MB: the rest
    of the answer and the next command's come through intact."""
    need("openssl")
    msg = append_big(dserver, 8 * 1024 * 1024)
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(["openssl", "s_client", "-tls1_3", "-connect",
                          f"127.0.0.1:{dserver.imaps_port}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    out = bytearray()

    def read_until(pred, timeout=30):
        end = time.monotonic() + timeout
        while not pred():
            left = end - time.monotonic()
            assert left > 0, bytes(out[-2000:])
            ready, _, _ = select.select([p.stdout], [], [], min(left, 0.5))
            if ready:
                data = os.read(p.stdout.fileno(), 1 << 16)
                assert data, bytes(out[-2000:])
                out.extend(data)

    def send(data):
        p.stdin.write(data)
        p.stdin.flush()

    try:
        read_until(lambda: b"* OK [CAPABILITY " in out)
        send(f"a LOGIN {ALICE} {PASSWORD}\r\nb SELECT INBOX\r\n".encode())
        read_until(lambda: b"b OK " in out)
        start = len(out)
        send(b"c FETCH 1 BODY.PEEK[]\r\n")
        read_until(lambda: len(out) > start + 1024 * 1024)
        send(letter.encode() + b"\n")
        time.sleep(0.3)             # s_client takes the next line on its own
        send(b"d NOOP\r\n")
        read_until(lambda: b"\r\nd OK " in out)
        send(b"e LOGOUT\r\n")
        read_until(lambda: b"\r\ne OK " in out)
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()
    err.seek(0)
    assert b"KEYUPDATE" in err.read()
    m = re.search(rb"\* 1 FETCH \(BODY\[\] \{(\d+)\}\r\n", out)
    assert m, bytes(out[:3000])
    literal = bytes(out[m.end():m.end() + int(m.group(1))])
    assert hashlib.sha256(literal).digest() == hashlib.sha256(msg).digest()
    assert out[m.end() + len(literal):].startswith(b")\r\nc OK "), \
        bytes(out[m.end() + len(literal):][:200])


# ---------- 6. curl ----------

CURL_VERSION = {TLS13: ["--tlsv1.3", "--tls-max", "1.3"], TLS12: ["--tlsv1.2", "--tls-max", "1.2"]}


def curl(version, url, timeout=30):
    r = subprocess.run(["curl", "--insecure", "--silent", "--show-error", "--max-time", "30",
                        *CURL_VERSION[version], "--user", f"{ALICE}:{PASSWORD}", url],
                       capture_output=True, timeout=timeout + 10)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


@both_versions
def test_curl_imaps_fetch(dserver, version):
    need("curl")
    c = pinned_login(dserver, TLS13)
    msgs = [message("curl one", "first\r\n"), message("curl two", "second\r\n.dot line\r\n")]
    uids = append_many(c, "INBOX", msgs)
    c.logout()
    since = mark(dserver)
    out = curl(version, f"imaps://127.0.0.1:{dserver.imaps_port}/INBOX;UID={uids[1]}")
    assert out == msgs[1]
    check_sessions(dserver, since, version, "IMAPS")
    check_no_busy_preauth(dserver)


@pytest.mark.parametrize("suite", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                   "TLS_CHACHA20_POLY1305_SHA256"])
def test_curl_each_tls13_cipher_suite(dserver, suite):
    """The worker's record layer with each suite the server offers, over an
    answer of many records."""
    need("curl")
    c = pinned_login(dserver, TLS13)
    msg = big_message(300 * 1024, seed=3)
    (uid,) = append_many(c, "INBOX", [msg])
    c.logout()
    since = mark(dserver)
    r = subprocess.run(["curl", "--insecure", "--silent", "--show-error", "--max-time", "30",
                        "--tlsv1.3", "--tls-max", "1.3", "--tls13-ciphers", suite,
                        "--user", f"{ALICE}:{PASSWORD}",
                        f"imaps://127.0.0.1:{dserver.imaps_port}/INBOX;UID={uid}"],
                       capture_output=True, timeout=40)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert r.stdout == msg
    check_sessions(dserver, since, TLS13, "IMAPS")
    assert dserver.wait_log(f"TLS established (TLSv1.3, {suite})"), dserver.log()[-3000:]


@both_versions
def test_curl_pop3s_retr(dserver, version):
    need("curl")
    deliver(dserver, "curl pop3", body="over pop3s\r\n.starts with a dot\r\nend\r\n")
    dserver.wait_inbox(ALICE, 1)
    (stored,) = dserver.inbox_messages(ALICE)
    since = mark(dserver)
    out = curl(version, f"pop3s://127.0.0.1:{dserver.pop3s_port}/1")
    assert out == stored
    check_sessions(dserver, since, version, "POP3S")
    check_no_busy_preauth(dserver, "POP3S")


# ---------- 7. mbsync and mutt ----------

MBSYNC_VERSION = {TLS13: "TLSv1.3", TLS12: "TLSv1.2"}


@both_versions
def test_mbsync_through_the_handoff(make, version):
    """mbsync 1.4 pins the version with SSLVersions (1.5 calls it
    TLSVersions).  Down, then up, then down again."""
    need("mbsync")
    tmp = tempfile.mkdtemp(prefix="ravelin-handoff-mbsync-")
    cert, key = make_certificate(tmp)
    server = make(f"tls.cert = {cert}\ntls.key = {key}\nlog.level = debug")
    c = pinned_login(server, TLS13)
    msgs = [small_message(i, f"mbsync {i}", extra=f"X-Corpus-Index: {i}\r\n") for i in range(40)]
    append_many(c, "INBOX", msgs)
    local = os.path.join(tmp, "mail")
    os.makedirs(local)
    rc = os.path.join(tmp, "mbsyncrc")
    write_mbsyncrc(rc, server.imaps_port, cert, local, ssl_versions=MBSYNC_VERSION[version],
                   pipeline=20)
    env = dict(os.environ, HOME=tmp)

    def sync():
        since = mark(server)
        r = subprocess.run(["mbsync", "-c", rc, "sync"], capture_output=True, text=True,
                           timeout=60, env=env)
        assert r.returncode == 0, f"mbsync failed:\n{r.stdout}\n{r.stderr}"
        check_sessions(server, since, version, "IMAPS", count=None)

    sync()
    inbox = os.path.join(local, "INBOX")
    files = maildir_files(inbox)
    assert sorted(corpus_index(p) for p in files) == list(range(40))
    by_index = {corpus_index(p): p for p in files}
    with open(by_index[7], "rb") as f:
        local_copy = re.sub(rb"^X-TUID: .*\n", b"", f.read(), flags=re.M)
    assert local_copy == msgs[7].replace(b"\r\n", b"\n")
    new_local = (b"From: me@example.org\r\nTo: alice@example.org\r\nSubject: up via mbsync\r\n"
                 b"Message-ID: <up-mbsync@ravelin.test>\r\n\r\nWritten locally.\r\n")
    with open(os.path.join(inbox, "new", "1700000000.1_1.laptop"), "wb") as f:
        f.write(new_local)
    sync()
    c.ok("SELECT INBOX")
    r = c.ok("UID SEARCH HEADER Message-ID <up-mbsync@ravelin.test>")
    assert r.lines("SEARCH") and r.lines("SEARCH")[0].split()[2:], r.exchange()
    deliver(server, "late for mbsync")
    server.wait_inbox(ALICE, 42)
    sync()
    assert len(maildir_files(inbox)) == 42
    c.logout()


@both_versions
def test_mutt_through_the_handoff(dserver, version):
    need("mutt")
    tmp = tempfile.mkdtemp(prefix="ravelin-handoff-mutt-")
    c = pinned_login(dserver, TLS13)
    append_many(c, "INBOX", [small_message(1, "for mutt"), small_message(2, "stays here")])
    no13 = "set ssl_use_tlsv1_3 = no\n" if version == TLS12 else ""
    rc = os.path.join(tmp, "muttrc")
    with open(rc, "w") as f:
        f.write(f"""set folder = "imaps://{ALICE}@127.0.0.1:{dserver.imaps_port}/"
set spoolfile = "+INBOX"
set imap_user = "{ALICE}"
set imap_pass = "{PASSWORD}"
set certificate_file = "{server_certificate(dserver, tmp)}"
set ssl_verify_host = no
set ssl_use_tlsv1_2 = yes
{no13}set header_cache = ""
set message_cachedir = ""
set record = ""
set postponed = "+Drafts"
set move = no
set delete = yes
set quit = yes
set confirmappend = no
set confirmcreate = no
set wait_key = no
set mark_old = no
set beep = no
set sort = date-received
set imap_check_subscribed = no
set mailcap_path = /dev/null
""")
    since = mark(dserver)
    keys = "<display-message><exit><save-message>=Archive<enter><sync-mailbox><quit>"
    env = dict(os.environ, HOME=tmp, TERM="vt100", MAIL="", LANG="C.UTF-8")
    status, screen = run_on_pty(["mutt", "-n", "-F", rc, "-e", f"push '{keys}'"], env)
    assert status == 0, f"mutt exited with {status}:\n{screen[-3000:]}"
    check_sessions(dserver, since, version, "IMAPS", count=None)
    c.ok("SELECT Archive")
    r = c.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    f = fetches(r)
    assert len(f) == 1 and b"for mutt" in f[1]["BODY[HEADER.FIELDS (SUBJECT)]"], r.exchange()
    assert "\\Seen" in f[1]["FLAGS"], r.exchange()
    c.ok("SELECT INBOX")
    r = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert len(fetches(r)) == 1 and r.has(b"stays here"), r.exchange()
    c.logout()
    check_no_busy_preauth(dserver)


# ---------- 8. POP3 ----------

@both_versions
@pytest.mark.parametrize("how", ["pop3s", "stls"])
def test_poplib_session_through_the_handoff(dserver, version, how):
    for i in range(2):
        deliver(dserver, f"pop {i}", body=f"line one\r\n.starts with a dot\r\nmessage {i}\r\n")
    dserver.wait_inbox(ALICE, 2)
    stored = dserver.inbox_messages(ALICE)
    since = mark(dserver)
    if how == "pop3s":
        p = poplib.POP3_SSL("127.0.0.1", dserver.pop3s_port, context=pinned(version),
                            timeout=20)
        service = "POP3S"
    else:
        p = poplib.POP3("127.0.0.1", dserver.pop3_port, timeout=20)
        assert p.stls(context=pinned(version)).startswith(b"+OK")
        service = "POP3"
    assert p.sock.version() == NAME[version]
    assert p.user(ALICE).startswith(b"+OK")
    assert p.pass_(PASSWORD).startswith(b"+OK")
    (s,) = check_sessions(dserver, since, version, service)
    count, octets = p.stat()
    assert count == 2 and octets == sum(len(m) for m in stored), (count, octets)
    for i in (1, 2):
        resp, lines, size = p.retr(i)
        assert resp.startswith(b"+OK")
        assert b"\r\n".join(lines) + b"\r\n" == stored[i - 1]
    if version == TLS12:
        check_relay_alive(dserver, s)
    assert p.quit().startswith(b"+OK")
    if version == TLS12:
        check_relay_gone(dserver, s)
    check_no_busy_preauth(dserver, service)


@both_versions
def test_pop3s_large_retr(dserver, version):
    msg = append_big(dserver, 8 * 1024 * 1024)
    since = mark(dserver)
    p = poplib.POP3_SSL("127.0.0.1", dserver.pop3s_port, context=pinned(version), timeout=60)
    p.user(ALICE)
    p.pass_(PASSWORD)
    check_sessions(dserver, since, version, "POP3S")
    assert p.stat() == (1, len(msg))
    resp, lines, size = p.retr(1)
    got = b"\r\n".join(lines) + b"\r\n"
    assert hashlib.sha256(got).digest() == hashlib.sha256(msg).digest(), (len(got), len(msg))
    assert p.noop().startswith(b"+OK")
    assert p.quit().startswith(b"+OK")


# ---------- 9. many sessions at once ----------

def test_ten_concurrent_sessions_see_each_others_flags(dserver):
    c = pinned_login(dserver, TLS13)
    append_many(c, "INBOX", [small_message(i) for i in range(5)])
    c.logout()
    n = 10
    since = mark(dserver)
    barrier = threading.Barrier(n, timeout=30)

    def open_one(i):
        s = PinnedClient(dserver.imaps_port, TLS13, timeout=30)
        barrier.wait()                  # the logins overlap
        typ, _ = s.login(ALICE, PASSWORD)
        assert typ == "OK", s.exchange()
        r = s.ok("SELECT INBOX")
        assert r.has(b"* 5 EXISTS"), r.exchange()
        r = s.ok("FETCH 1:* FLAGS")
        assert sorted(fetches(r)) == [1, 2, 3, 4, 5], r.exchange()
        return s

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        clients = list(pool.map(open_one, range(n)))
    try:
        check_sessions(dserver, since, TLS13, "IMAPS", count=n)
        check_no_busy_preauth(dserver)
        clients[3].ok("STORE 2 +FLAGS.SILENT (\\Flagged)")

        def noop(i):
            r = clients[i].ok("NOOP")
            f = fetches(r)
            return i, f.get(2, {}).get("FLAGS"), r

        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            for i, flags, r in pool.map(noop, [i for i in range(n) if i != 3]):
                assert flags is not None and "\\Flagged" in flags, (i, r.exchange())
        # And back, seen by all again.
        clients[7].ok("STORE 2 -FLAGS.SILENT (\\Flagged)")
        for i in range(n):
            if i != 7:
                r = clients[i].ok("NOOP")
                f = fetches(r)
                assert "\\Flagged" not in f.get(2, {}).get("FLAGS", ["\\Flagged"]), \
                    (i, r.exchange())
    finally:
        for s in clients:
            try:
                s.logout()
            except (imaplib.IMAP4.error, OSError, EOFError):
                pass
