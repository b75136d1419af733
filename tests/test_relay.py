"""Outbound delivery through relay: a remote recipient in the spool goes
to relay.smarthost over SMTP, and what the remote server answers decides
its fate: 2xx done (and gone from the spool), 4xx retried, 5xx failed for
good; garbage, an endless reply or silence end the attempt with a
temporary failure and a log line, and the message stays queued.

Remote recipients are put into the spool as its envelope names them
(`rcpt 0 <addr>`, the form submission writes): the spool file is written
while the server is stopped, as a crash would leave it, and the server
started on it."""
import os
import socket
import threading
import time

import pytest

from conftest import free_port, make_server, check_no_sanitizer_reports

SENDER = "alice@example.org"
REMOTE = "carol@remote.test"


class FakeSMTP:
    """A scripted SMTP server on loopback, one thread per connection.
    script(conn, state) answers; the messages it takes are kept."""

    def __init__(self, script):
        self.script = script
        self.port = free_port()
        self.messages = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.stopping = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn, self.connections),
                             daemon=True).start()

    def serve(self, conn, number):
        conn.settimeout(30)
        try:
            self.script(self, Session(conn), number)
        except (OSError, EOFError):
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.sock.close()


class Session:
    def __init__(self, conn):
        self.conn = conn
        self.f = conn.makefile("rb")

    def send(self, text):
        self.conn.sendall(text.encode() if isinstance(text, str) else text)

    def line(self):
        line = self.f.readline()
        if not line:
            raise EOFError
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def data(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError
            if line == b".\r\n":
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b".") else line)


def standard(server, s, number, rcpt_reply="250 2.1.5 ok", final="250 2.0.0 queued"):
    """A plain ESMTP server: PIPELINING, 8BITMIME, SIZE."""
    s.send("220 fake.test ESMTP\r\n")
    standard_after_ehlo(server, s, rcpt_reply, final)


def standard_after_ehlo(server, s, rcpt_reply="250 2.1.5 ok", final="250 2.0.0 queued"):
    """The dialogue of standard() from after the greeting on."""
    rcpts = []
    sender = None
    while True:
        cmd = s.line()
        verb = cmd[:4].upper()
        if verb == "EHLO":
            s.send("250-fake.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n")
        elif verb == "MAIL":
            sender = cmd
            rcpts = []
            s.send("250 2.1.0 ok\r\n")
        elif verb == "RCPT":
            rcpts.append(cmd)
            s.send(rcpt_reply + "\r\n")
        elif verb == "DATA":
            s.send("354 go\r\n")
            body = s.data()
            if final.startswith("2"):
                server.messages.append((sender, rcpts, body))
            s.send(final + "\r\n")
        elif verb == "RSET":
            s.send("250 ok\r\n")
        elif verb == "QUIT":
            s.send("221 bye\r\n")
            return
        else:
            s.send("502 what\r\n")


BODY = b"From: alice@example.org\r\nSubject: out\r\n\r\nhello\r\n"


def write_spool(s, rcpts, body=BODY):
    """Puts a message into spool/q as the queue writes it, owned like the
    folder (the queue runs as its own uid when started as root)."""
    q = os.path.join(s.data, "spool", "q")
    qid = "%09X%05X%04X%04X" % (int(time.time()), os.getpid() & 0xFFFFF, 0, len(os.listdir(q)))
    head = f"RAVELIN-SPOOL 1\nfrom {SENDER}\nflags 0\narrived {int(time.time())}\n"
    # Sent by the account (as submission writes it): not forwarded, so
    # its sender goes out as it is (no SRS).
    out = s.cli("account", "show", SENDER).stdout
    head += "account %d\n" % int(out.split("(account ")[1].split(")")[0])
    for account, addr in rcpts:
        head += f"rcpt {account} {addr}\n"
    path = os.path.join(q, qid)
    with open(path, "wb") as f:
        f.write(head.encode() + b"\n" + body)
    st = os.stat(q)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, 0o600)
    return qid


def queued(s):
    return os.listdir(os.path.join(s.data, "spool", "q"))


def wait_for(cond, timeout=30, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def relay_server():
    """A server (stopped once, so its spool exists) whose smarthost is a
    FakeSMTP with the given script."""
    made = []

    def factory(script, extra=""):
        fake = FakeSMTP(script)
        s = make_server(f"relay.smarthost = 127.0.0.1:{fake.port}\n"
                        f"relay.smarthost_tls = opportunistic\n{extra}")
        s.start()
        s.stop()
        made.append((s, fake))
        return s, fake
    yield factory
    for s, fake in made:
        s.stop()
        fake.stop()
        check_no_sanitizer_reports(s)


def test_delivered_to_smarthost(relay_server):
    s, fake = relay_server(standard)
    write_spool(s, [(0, REMOTE), (0, "dave@remote.test")])
    s.start()
    wait_for(lambda: len(fake.messages) == 1, what="the message at the smarthost")
    sender, rcpts, body = fake.messages[0]
    assert sender == f"MAIL FROM:<{SENDER}> SIZE={len(BODY)}"
    assert rcpts == [f"RCPT TO:<{REMOTE}>", "RCPT TO:<dave@remote.test>"]
    assert body == BODY
    wait_for(lambda: not queued(s), what="the spool to empty")
    assert s.wait_log(f"delivered to <{REMOTE}> via 127.0.0.1:{fake.port}"), s.log()[-3000:]


def test_local_and_remote_recipients(relay_server):
    """One message: the local recipient gets it from the worker, the remote
    one from relay; it leaves the spool when both are done."""
    s, fake = relay_server(standard)
    out = s.cli("account", "show", "bob@example.org").stdout
    account = int(out.split("(account ")[1].split(")")[0])
    write_spool(s, [(account, "bob@example.org"), (0, REMOTE)])
    s.start()
    s.wait_inbox("bob@example.org", 1)
    wait_for(lambda: len(fake.messages) == 1, what="the message at the smarthost")
    wait_for(lambda: not queued(s), what="the spool to empty")


def test_temporary_then_delivered(relay_server):
    """451 at the first attempt, 250 at the retry."""
    def script(server, sess, number):
        standard(server, sess, number,
                 rcpt_reply="451 4.7.1 greylisted" if number == 1 else "250 2.1.5 ok")
    s, fake = relay_server(script)
    write_spool(s, [(0, REMOTE)])
    s.start()
    wait_for(lambda: len(fake.messages) == 1, timeout=40, what="delivery on retry")
    wait_for(lambda: not queued(s), what="the spool to empty")
    assert s.wait_log("failed for now via") and s.wait_log("451 4.7.1 greylisted"), s.log()
    assert fake.connections >= 2


def test_permanent_failure(relay_server):
    def script(server, sess, number):
        standard(server, sess, number, rcpt_reply="550 5.1.1 no such user")
    s, fake = relay_server(script)
    write_spool(s, [(0, REMOTE)])
    s.start()
    wait_for(lambda: "failed for good" in s.log(), what="the failure")
    assert s.wait_log("550 5.1.1 no such user"), s.log()[-3000:]
    # Failed for good: it leaves the spool (the bounce is bounce.c's).
    wait_for(lambda: not queued(s), what="the spool to empty")
    assert fake.messages == []


@pytest.mark.parametrize("kind", ["garbage", "endless", "ten-megabytes", "silent",
                                  "tls-hang", "refused"])
def test_bad_server_is_temporary(relay_server, kind):
    """Garbage, an endless reply, a 10 MB reply line, silence, a TLS
    handshake that never ends and a refused connection each end the
    attempt with a temporary failure and a log line; the message stays
    queued."""
    def script(server, sess, number):
        if kind == "tls-hang":
            sess.send("220 fake.test\r\n")
            sess.line()
            sess.send("250-fake.test\r\n250 STARTTLS\r\n")
            sess.line()
            sess.send("220 go ahead\r\n")
            time.sleep(20)
        elif kind == "garbage":
            sess.send("hello, I am not SMTP\r\n")
            sess.line()
        elif kind == "endless":
            sess.send("220 fake.test\r\n")
            sess.line()
            for _ in range(100000):
                sess.send("250-more\r\n" * 100)
        elif kind == "ten-megabytes":
            sess.send("220 " + "x" * (10 * 1024 * 1024))
            sess.line()
        else:
            time.sleep(20)
    s, fake = relay_server(script, "relay.reply_timeout = 2\nrelay.connect_timeout = 2\n")
    if kind == "refused":
        fake.stop()
    qid = write_spool(s, [(0, REMOTE)])
    s.start()
    want = {"garbage": "reply code is not three digits",
            "endless": "too many lines in one reply",
            "ten-megabytes": "reply line too long",
            "silent": "no reply from the server within 2 s",
            "tls-hang": "TLS handshake did not end within 2 s",
            "refused": "failed: Connection refused"}[kind]
    wait_for(lambda: want in s.log(), what=want)
    wait_for(lambda: "failed for now" in s.log(), what="the deferral")
    assert qid in queued(s)
    assert fake.messages == []


def test_arrives_at_second_ravelin():
    """Ravelin a's smarthost is Ravelin b (domain b.test): a message queued
    at a for bob@b.test lands in bob's INBOX at b, over STARTTLS (b offers
    it with its self-signed certificate: taken, not verified)."""
    b = make_server()
    b.cli("domain", "add", "b.test")
    b.add_account("bob@b.test")
    b.start()
    a = make_server(f"relay.smarthost = 127.0.0.1:{b.smtp_port}\n"
                    f"relay.smarthost_tls = required\n")
    try:
        a.start()
        a.stop()
        write_spool(a, [(0, "bob@b.test")])
        a.start()
        b.wait_inbox("bob@b.test", 1)
        got = b.inbox_messages("bob@b.test")[0]
        assert got.endswith(BODY)
        wait_for(lambda: not queued(a), what="a's spool to empty")
        assert a.wait_log("certificate not verified"), a.log()[-3000:]
    finally:
        a.stop()
        b.stop()
    check_no_sanitizer_reports(a)
    check_no_sanitizer_reports(b)


def test_one_past_the_recipients_of_a_job(relay_server):
    """IPC_RELAY_MAX_RCPTS (100) recipients go in one transaction; the
    101st goes in a second one, over at most relay.max_per_destination
    (2) connections."""
    s, fake = relay_server(standard)
    write_spool(s, [(0, f"r{i}@remote.test") for i in range(101)])
    s.start()
    wait_for(lambda: len(fake.messages) == 2, what="two transactions")
    assert sorted(len(m[1]) for m in fake.messages) == [1, 100]
    assert fake.connections <= 2
    wait_for(lambda: not queued(s), what="the spool to empty")


def test_tls_required_but_not_offered(relay_server):
    """relay.smarthost_tls = required (the default): a smarthost without
    STARTTLS gets nothing; the message waits with the reason."""
    s, fake = relay_server(standard, "relay.smarthost_tls = required\n")
    qid = write_spool(s, [(0, REMOTE)])
    s.start()
    wait_for(lambda: "TLS is required, but the server does not offer STARTTLS" in s.log(),
             what="the refusal")
    wait_for(lambda: "failed for now" in s.log(), what="the deferral")
    assert qid in queued(s)
    assert fake.messages == []
    # `ravelin queue list` says why it waits.
    out = s.cli("queue", "list").stdout
    assert f"to <{REMOTE}> remote: waiting" in out and "last answer: 451 4.7.4 TLS is required" in out, out


def test_smarthost_tls_and_auth(relay_server, tmp_path):
    """A smarthost that offers STARTTLS and AUTH PLAIN: the relay starts
    TLS (required by default), then logs in with the credentials of
    relay.smarthost_auth_file (read by the relay spawner alone), then
    sends; the password may hold spaces."""
    import base64
    import ssl
    import subprocess
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=fake.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    logins = []

    def script(server, sess, number):
        sess.send("220 fake.test ESMTP\r\n")
        assert sess.line().startswith("EHLO")
        sess.send("250-fake.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n")
        assert sess.line() == "STARTTLS"
        sess.send("220 go ahead\r\n")
        tls = ctx.wrap_socket(sess.conn, server_side=True)
        inner = Session(tls)
        assert inner.line().startswith("EHLO")
        inner.send("250-fake.test\r\n250-PIPELINING\r\n250 AUTH LOGIN PLAIN\r\n")
        cmd = inner.line()
        assert cmd.startswith("AUTH PLAIN ")
        logins.append(base64.b64decode(cmd.split(" ", 2)[2]))
        inner.send("235 2.7.0 ok\r\n")
        standard_after_ehlo(server, inner)

    auth = tmp_path / "smarthost.auth"
    auth.write_text("relay-user s3cret pass phrase\n")
    s, fake = relay_server(script, f"relay.smarthost_tls = required\n"
                                   f"relay.smarthost_auth_file = {auth}\n")
    write_spool(s, [(0, REMOTE)])
    s.start()
    wait_for(lambda: len(fake.messages) == 1, what="the message at the smarthost")
    assert logins == [b"\0relay-user\0s3cret pass phrase"]
    wait_for(lambda: not queued(s), what="the spool to empty")
    assert s.wait_log("certificate not verified"), s.log()[-3000:]
    assert "s3cret" not in s.log()


def test_done_is_never_sent_again(relay_server):
    """A recipient the smarthost took (250) is noted durably before
    anything else: after a restart only the one it deferred is tried."""
    rcpt_lines = []

    def script(server, sess, number):
        sess.send("220 fake.test ESMTP\r\n")
        while True:
            cmd = sess.line()
            verb = cmd[:4].upper()
            if verb == "EHLO":
                sess.send("250-fake.test\r\n250 PIPELINING\r\n")
            elif verb == "MAIL":
                sess.send("250 ok\r\n")
            elif verb == "RCPT":
                rcpt_lines.append(cmd)
                sess.send("250 ok\r\n" if "first@" in cmd else "451 4.2.0 later\r\n")
            elif verb == "DATA":
                sess.send("354 go\r\n")
                server.messages.append(sess.data())
                sess.send("250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                sess.send("221 bye\r\n")
                return
            else:
                sess.send("250 ok\r\n")
    s, fake = relay_server(script)
    qid = write_spool(s, [(0, "first@remote.test"), (0, "second@remote.test")])
    s.start()
    wait_for(lambda: len(fake.messages) == 1, what="the first delivery")
    s.stop()
    before = len(rcpt_lines)
    s.start()
    wait_for(lambda: len(rcpt_lines) >= before + 1, what="an attempt after the restart")
    assert all("second@" in line for line in rcpt_lines[before:])
    assert len(fake.messages) == 1
    assert qid in queued(s)
