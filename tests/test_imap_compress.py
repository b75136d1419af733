"""IMAP COMPRESS=DEFLATE (RFC 4978): after `tag OK` both directions are a
raw deflate stream, over a TLS 1.3 session the worker holds and over the
TLS 1.2 relay stream.  imaplib has no COMPRESS: the client here deflates
and inflates around imaplib's socket with Python's zlib, as an RFC 4978
client does (32 KiB window, a sync flush after each command).  mbsync
uses COMPRESS by itself when the server offers it.
"""
import imaplib
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time
import zlib

import pytest

from imap_util import (ALICE, PASSWORD, Client, ImapError, append_many, fetches,
                       small_message, wait_for, write_mbsyncrc)


def message(i, body):
    """A message with the body given (bytes or text, CRLF lines)."""
    if isinstance(body, str):
        body = body.encode()
    return (b"From: bulk@example.net\r\nTo: alice@example.org\r\nSubject: compress %d\r\n"
            b"Message-ID: <compress-%d@ravelin.test>\r\n\r\n" % (i, i)) + body

TLS13 = ssl.TLSVersion.TLSv1_3
TLS12 = ssl.TLSVersion.TLSv1_2
both_versions = pytest.mark.parametrize("version", [TLS13, TLS12], ids=["tls1.3", "tls1.2"])


class CompressClient(Client):
    """Client with COMPRESS DEFLATE: compress() sends the command and, on
    OK, deflates what it sends and inflates what it reads."""

    def __init__(self, port, version=TLS13, timeout=20):
        self.transcript = []
        self.timeout = timeout
        self._rbuf = bytearray()
        self._deflate = self._inflate = None
        self.raw_received = 0
        ctx = ssl._create_unverified_context()
        ctx.minimum_version = ctx.maximum_version = version
        imaplib.IMAP4_SSL.__init__(self, "127.0.0.1", port, ssl_context=ctx, timeout=timeout)

    def _fill(self):
        try:
            data = self.sock.recv(1 << 16)
        except (socket.timeout, TimeoutError):
            raise ImapError(f"no answer within {self.sock.gettimeout()} s\n"
                            + self.exchange()) from None
        self.raw_received += len(data)
        if self._inflate is not None and data:
            data = self._inflate.decompress(data)
            if not data:
                return True  # a block that held no octet of text yet
        self._rbuf += data
        return len(data) > 0

    def send(self, data):
        self.transcript.append(b"C: " + data.rstrip(b"\r\n")[:300])
        if self._deflate is not None:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def send_raw(self, data):
        """Bytes as they are, past the deflate layer (corrupt streams)."""
        self.sock.sendall(data)

    def compress(self):
        r = self.run("COMPRESS DEFLATE")
        if r.ok:
            self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            self._inflate = zlib.decompressobj(-15)
            # Whatever arrived behind the OK is already compressed.
            rest = bytes(self._rbuf)
            self._rbuf.clear()
            self._rbuf += self._inflate.decompress(rest)
        return r


def login(server, version=TLS13):
    c = CompressClient(server.imaps_port, version)
    typ, _ = c.login(ALICE, PASSWORD)
    assert typ == "OK", c.exchange()
    return c


def capabilities(c):
    r = c.ok("CAPABILITY")
    return {w.upper() for line in r.untagged for w in line.decode().split()}


def test_compress_is_offered_only_after_login(server):
    c = CompressClient(server.imaps_port)
    assert "COMPRESS=DEFLATE" not in [x.upper() for x in c.capabilities]
    r = c.run("COMPRESS DEFLATE")
    assert r.status in ("BAD", "NO"), r.exchange()
    c.login(ALICE, PASSWORD)
    assert "COMPRESS=DEFLATE" in capabilities(c)
    c.logout()


@both_versions
def test_compress_round_trip(server, version):
    c = login(server, version)
    r = c.compress()
    assert r.ok, r.exchange()
    assert c._deflate is not None
    # Commands and answers of every kind go through the deflate layer.
    assert "COMPRESS=DEFLATE" in capabilities(c)
    msgs = [message(i, ("line %d of a longer body\r\n" % i) * 200)
            for i in range(60)]
    uids = append_many(c, "INBOX", msgs, batch=20)
    assert len(uids) == 60
    c.ok("SELECT INBOX")
    raw_before = c.raw_received
    r = c.ok("FETCH 1:* (UID BODY.PEEK[])")
    got = {int(v["UID"]): v["BODY[]"] for v in fetches(r).values()}
    assert [got[u] for u in uids] == msgs
    # The answer came compressed: far fewer octets than its text.
    text = sum(len(m) for m in msgs)
    assert c.raw_received - raw_before < text / 3, (c.raw_received - raw_before, text)
    # COMPRESS twice: RFC 4978 3.
    r = c.run("COMPRESS DEFLATE")
    assert r.status == "NO" and r.code == "COMPRESSIONACTIVE", r.exchange()
    typ, data = c.logout()
    assert typ == "BYE", data


def test_compress_refusals(server):
    c = login(server)
    r = c.run("COMPRESS GZIP")
    assert r.status == "BAD", r.exchange()
    r = c.run("COMPRESS")
    assert r.status == "BAD", r.exchange()
    # Still uncompressed and usable; then on.
    c.ok("NOOP")
    assert c.compress().ok
    c.ok("NOOP")
    c.logout()


def test_compress_large_output_with_a_slow_reader(server):
    """Answers far beyond the socket's buffers: the server deflates as the
    client reads, and each burst ends whole (sync flush)."""
    c = login(server)
    assert c.compress().ok
    big = [message(i, os.urandom(600 * 1024).hex().encode().replace(b"0", b"\r\n")) for i in range(3)]
    uids = append_many(c, "INBOX", big, batch=1)
    c.ok("SELECT INBOX")
    tag = c.run("UID FETCH 1:* (BODY.PEEK[])", wait=False)
    time.sleep(1.0)  # the server meets a full socket
    r = c.wait_tagged(tag)
    assert r.ok, r.exchange()
    got = {int(v["UID"]): v["BODY[]"] for v in fetches(r).values()}
    assert [got[u] for u in uids] == big
    c.logout()


def test_compress_idle_update_reaches_client(server):
    """An untagged update with nothing asked for is flushed on its own."""
    c = login(server)
    assert c.compress().ok
    c.ok("SELECT INBOX")
    c.idle_start()
    other = login(server)
    other.append("INBOX", None, None, small_message(1))
    seen = c.idle_wait(10)
    assert seen is not None and seen.endswith(b"EXISTS"), c.exchange()
    c.idle_done()
    other.logout()
    c.logout()


def test_compress_bomb_is_bounded_by_the_line_limit(server):
    """A few KiB that inflate to 32 MiB: one command line far over the
    limit.  The server refuses it like the same line sent plain and the
    session goes on."""
    c = login(server)
    assert c.compress().ok
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b"a1 NOOP " + b"x" * (32 * 1024 * 1024) + b"\r\n")
    payload += bomb.flush(zlib.Z_SYNC_FLUSH)
    assert len(payload) < 64 * 1024
    c._deflate = bomb
    c.send_raw(payload)
    r = c.wait_tagged(b"a1")
    assert r.status == "BAD", r.exchange()
    c.ok("NOOP")
    c.logout()
    assert "AddressSanitizer" not in server.log()


def test_compress_corrupt_stream_ends_only_that_session(server):
    c = login(server)
    assert c.compress().ok
    keep = login(server)
    assert keep.compress().ok
    c.send_raw(b"\xff" * 64)  # a reserved block type: not deflate
    c.sock.settimeout(10)
    try:
        while c._fill():
            pass
    except (OSError, ImapError):
        pass
    # The worker lives on for the account's other session.
    keep.ok("NOOP")
    keep.logout()
    # The worker's log line reaches master over its link: it may come after.
    assert wait_for(lambda: "the client's stream is unusable" in server.log())


def test_compress_session_memory_is_logged_and_bounded(server):
    """The worker logs what the deflate layer holds when the session ends;
    it stays under the named bound."""
    c = login(server)
    assert c.compress().ok
    append_many(c, "INBOX", [small_message(i) for i in range(20)])
    c.ok("SELECT INBOX")
    c.ok("FETCH 1:* (BODY.PEEK[] ENVELOPE)")
    c.logout()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = re.search(r"COMPRESS: the session held (\d+) KiB", server.log())
        if m:
            break
        time.sleep(0.2)
    assert m, server.log()[-2000:]
    # COMPRESS_MAX_MEMORY (128 KiB): zlib's state; the buffers are freed
    # whenever a session is idle.
    assert int(m.group(1)) <= 128


# ---------- mbsync ----------

@both_versions
def test_mbsync_uses_compress(make, version):
    """mbsync (isync 1.4) asks for COMPRESS DEFLATE when it is offered and
    syncs over it: through the hand-off (TLS 1.3) and the relay (TLS 1.2,
    pinned with mbsync 1.4's SSLVersions)."""
    from test_imap_clients import make_certificate, maildir_files
    tmp = tempfile.mkdtemp(prefix="ravelin-mbsync-z-")
    cert, key = make_certificate(tmp)
    server = make(f"tls.cert = {cert}\ntls.key = {key}")
    c = login(server, version)
    msgs = [message(i, ("compressible text %d\r\n" % i) * 100) for i in range(200)]
    append_many(c, "INBOX", msgs, batch=100)
    local = os.path.join(tmp, "mail")
    os.makedirs(local)
    rc = os.path.join(tmp, "mbsyncrc")
    write_mbsyncrc(rc, server.imaps_port, cert, local,
                   ssl_versions="TLSv1.3" if version == TLS13 else "TLSv1.2")
    env = dict(os.environ, HOME=tmp)
    r = subprocess.run(["mbsync", "-D", "-c", rc, "sync"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(r"COMPRESS DEFLATE", r.stdout + r.stderr), (r.stdout + r.stderr)[-3000:]
    assert len(maildir_files(os.path.join(local, "INBOX"))) == 200
    # A second, incremental run over a new compressed session.
    c.append("INBOX", None, None, small_message(500))
    r = subprocess.run(["mbsync", "-c", rc, "sync"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert len(maildir_files(os.path.join(local, "INBOX"))) == 201
    c.logout()
