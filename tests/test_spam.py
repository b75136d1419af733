"""Spam filtering through rspamd (Debian's /usr/bin/rspamd, started here on
loopback with a minimal configuration of its own in a temporary folder):
GTUBE is refused 550, a normal message accepted, the "add header" test
pattern filed in Junk with rspamd's verdict on top; with rspamd stopped
mail still arrives, tagged unchecked (or is deferred 451 with
spam.fail_closed); moving a message into Junk over IMAP reaches rspamd's
learn endpoint, and out of it the ham one."""
import imaplib
import json
import os
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import free_port
from imap_util import CTX

RSPAMD = "/usr/bin/rspamd"
pytestmark = pytest.mark.skipif(not os.path.exists(RSPAMD), reason="rspamd is not installed")

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# rspamd's test pattern for "add header" (enable_test_patterns).
YTUBE = "Y" + GTUBE[1:]


def message(subject, line):
    return (f"From: carol@sender.test\r\nTo: bob@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@sender.test>\r\n\r\n"
            f"This is a test message, with words enough for a text part.\r\n\r\n"
            f"{line}\r\n\r\n").encode()


class Rspamd:
    """rspamd with a normal worker and a controller on free loopback
    ports, its pid file, log and statistics in a temporary folder."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ravelin-rspamd-")
        # rspamd drops root to nobody: its folder must be its to write.
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        self.controller = free_port()
        self.log_path = os.path.join(self.dir, "rspamd.log")
        with open(os.path.join(self.dir, "tld.dat"), "w") as f:
            f.write("test\norg\n")  # compiling the real list takes 30 s
        d = self.dir
        with open(os.path.join(d, "rspamd.conf"), "w") as f:
            f.write(f"""options {{
  pidfile = "{d}/rspamd.pid";
  dbdir = "{d}";
  url_tld = "{d}/tld.dat";
  enable_test_patterns = true;
  dns {{ nameserver = ["127.0.0.1:9"]; timeout = 0.2s; retransmits = 0; }}
}}
logging {{ type = "file"; filename = "{d}/rspamd.log"; level = "info"; }}
worker "normal" {{ bind_socket = "127.0.0.1:{self.port}"; count = 1; }}
worker "controller" {{ bind_socket = "127.0.0.1:{self.controller}"; count = 1;
  secure_ip = "127.0.0.1"; }}
actions {{ reject = 15; add_header = 6; greylist = 4; }}
classifier "bayes" {{
  backend = "sqlite3";
  tokenizer {{ name = "osb"; }}
  min_learns = 0;
  statfile {{ symbol = "BAYES_HAM"; spam = false; path = "{d}/bayes.ham.sqlite"; }}
  statfile {{ symbol = "BAYES_SPAM"; spam = true; path = "{d}/bayes.spam.sqlite"; }}
}}
""")
        self.proc = None

    # Each of the two workers opens both Bayes databases.
    BACKENDS = 4

    def start(self):
        """Starts rspamd and waits until both workers have their Bayes
        databases. The two create them at once on a first start, and on a
        loaded machine one can lose that race to SQLite's lock ("cannot
        init backend"): that worker then never learns. A second start
        finds the databases made."""
        for attempt in range(3):
            if self._start_once():
                return self
            self.stop()
            os.rename(self.log_path, f"{self.log_path}.{attempt}")
        raise TimeoutError("rspamd did not open its Bayes databases\n" + self.read_log())

    def _start_once(self):
        args = [RSPAMD, "-c", os.path.join(self.dir, "rspamd.conf"), "-f"]
        if os.geteuid() == 0:
            args += ["-u", "nobody", "-g", "nogroup"]
        self.out = open(os.path.join(self.dir, "stdout"), "w")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.read_log()
            log = self.read_log(whole=True)
            if "cannot init backend" in log:
                return False
            if log.count("added backend sqlite3 for symbol") >= self.BACKENDS:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping",
                                                timeout=2):
                        return True
                except OSError:
                    pass
            time.sleep(0.2)
        raise TimeoutError("rspamd did not start\n" + self.read_log())

    def stop(self):
        """Stops this rspamd only (its own pid; it takes its workers)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stat(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.controller}/stat",
                                    timeout=5) as r:
            return json.load(r)

    def read_log(self, whole=False):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read() if whole else f.read()[-4000:]
        except OSError:
            return ""


@pytest.fixture(scope="module")
def rspamd():
    r = Rspamd().start()
    yield r
    r.stop()
    shutil.rmtree(r.dir, ignore_errors=True)


def spam_config(r, extra=""):
    return (f"spam.rspamd = 127.0.0.1:{r.port}\n"
            f"spam.rspamd_controller = 127.0.0.1:{r.controller}\n{extra}")


def header_lines(data):
    """The lines of the header: Return-Path (the worker's) first, then
    what the queue put on top."""
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def on_top(data):
    """The header lines put on top of the message as it came (above our
    Received:): the checks' Authentication-Results, the spam filter's."""
    lines = header_lines(data)
    return lines[1:lines.index(next(x for x in lines if x.startswith(b"Received:")))]


def send(server, data, expect=None):
    """Sends data to bob; expect: the refusal's code (else it must pass)."""
    try:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as c:
            c.sendmail("carol@sender.test", ["bob@example.org"], data)
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == expect, (e, server.log()[-3000:])
        return e.smtp_error
    assert expect is None, "accepted"
    return None


def mailbox_messages(server, mailbox):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=20)
    try:
        c.starttls(ssl_context=CTX)
        c.login("bob@example.org", "secret-pass")
        typ, _ = c.select(mailbox)
        assert typ == "OK"
        typ, data = c.fetch("1:*", "(BODY.PEEK[])")
        if typ != "OK":
            return []
        return [d[1] for d in data if isinstance(d, tuple)]
    finally:
        c.logout()


def test_gtube_refused_normal_accepted_junk_filed(rspamd, make):
    s = make(spam_config(rspamd))
    assert send(s, message("gtube", GTUBE), 550) == b"5.7.1 Gtube pattern"

    send(s, message("hello", "Nothing to see."))
    s.wait_inbox("bob@example.org", 1)
    body = s.inbox_messages("bob@example.org")[0]
    assert b"Subject: hello" in body and b"X-Spam-Status" not in body

    # "add header": delivered, to Junk, with rspamd's verdict on top.
    send(s, message("ytube", YTUBE))
    end = time.monotonic() + 30
    junk = []
    while time.monotonic() < end and not junk:
        junk = mailbox_messages(s, "Junk")
        time.sleep(0.2)
    assert len(junk) == 1, s.log()[-3000:]
    assert b"X-Spam-Status: Yes, score=6.00" in on_top(junk[0]), junk[0][:300]
    assert s.inbox_count("bob@example.org") == 1
    assert s.wait_log("refused from <carol@sender.test> by the spam filter: Gtube pattern"), s.log()[-3000:]


def test_rspamd_down_accepts_tagged_or_defers(make):
    # Nothing listens there: as if rspamd were stopped.
    down = f"spam.rspamd = 127.0.0.1:{free_port()}\n"
    s = make(down)
    send(s, message("unchecked", "Hello."))
    s.wait_inbox("bob@example.org", 1)
    body = s.inbox_messages("bob@example.org")[0]
    assert b"X-Spam-Status: unchecked" in on_top(body), body[:300]

    closed = make(down + "spam.fail_closed = true\n")
    assert send(closed, message("closed", "Hello."), 451).startswith(b"4.7.1 ")
    assert closed.inbox_count("bob@example.org") == 0


def test_rspamd_stopped_while_running():
    """The rspamd the server was using goes away: mail still arrives."""
    r = Rspamd().start()
    from conftest import make_server, check_no_sanitizer_reports
    s = make_server(spam_config(r)).start()
    try:
        send(s, message("before", "Hello."))
        s.wait_inbox("bob@example.org", 1)
        r.stop()
        send(s, message("after", "Hello."))
        s.wait_inbox("bob@example.org", 2)
        bodies = s.inbox_messages("bob@example.org")
        assert b"X-Spam-Status" not in bodies[0]
        assert b"X-Spam-Status: unchecked" in on_top(bodies[1])
    finally:
        s.stop()
        r.stop()
        shutil.rmtree(r.dir, ignore_errors=True)
    check_no_sanitizer_reports(s)


def test_moving_to_junk_and_back_trains_rspamd(rspamd, make):
    s = make(spam_config(rspamd))
    send(s, message("train", "Buy cheap things now."))
    s.wait_inbox("bob@example.org", 1)
    learned = rspamd.stat()["total_learns"]
    c = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=20)
    c.starttls(ssl_context=CTX)
    c.login("bob@example.org", "secret-pass")
    c.select("INBOX")
    typ, _ = c.uid("MOVE", "1:*", "Junk")
    assert typ == "OK"

    def wait_learns(n):
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if rspamd.stat()["total_learns"] >= n:
                return
            time.sleep(0.2)
        raise AssertionError(f"rspamd learned {rspamd.stat()['total_learns']}, not {n}\n"
                             + s.log()[-3000:] + rspamd.read_log())
    wait_learns(learned + 1)
    # Out of Junk: learnt as ham (rspamd unlearns it as spam first).
    c.select("Junk")
    typ, _ = c.uid("COPY", "1:*", "INBOX")
    assert typ == "OK"
    wait_learns(learned + 2)
    c.logout()
    assert s.wait_log("1 of 1 messages sent to be learnt as ham"), s.log()[-3000:]
    ham = [f for f in rspamd.stat()["statfiles"] if f["symbol"] == "BAYES_HAM"][0]
    assert ham["revision"] >= 1, rspamd.stat()
    assert s.wait_log("1 of 1 messages sent to be learnt as spam"), s.log()[-3000:]
    assert s.wait_log("rspamd learned a message as ham"), s.log()[-3000:]

    # APPEND into Junk is learnt as spam too; into INBOX, not at all.
    c = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=20)
    c.starttls(ssl_context=CTX)
    c.login("bob@example.org", "secret-pass")
    assert c.append("INBOX", None, None, message("kept", "A letter."))[0] == "OK"
    assert c.append("Junk", None, None, message("junked", "Cheap pills."))[0] == "OK"
    c.logout()
    wait_learns(learned + 3)
    time.sleep(1)
    assert rspamd.stat()["total_learns"] == learned + 3


class FakeRspamd:
    """A hostile or silent stand-in for rspamd on a free loopback port: it
    reads each request whole, keeps its head, and answers with answer
    (bytes), or never when answer is None."""

    def __init__(self, answer):
        import socket
        import threading
        self.answer = answer
        self.heads = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            self.heads.append(head.decode(errors="replace"))
            length = int([line.split(":")[1] for line in self.heads[-1].split("\r\n")
                          if line.lower().startswith("content-length:")][0])
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            if self.answer is None:
                self.held.append(conn)  # never answered, never closed
                continue
            try:
                conn.sendall(self.answer)
            except OSError:
                pass
            conn.close()

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


def http_json(obj):
    body = json.dumps(obj).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def test_silent_rspamd_times_out_unchecked(make):
    fake = FakeRspamd(None)
    try:
        s = make(f"spam.rspamd = 127.0.0.1:{fake.port}\n")
        start = time.monotonic()
        send(s, message("slow", "Hello."))
        took = time.monotonic() - start
        # SPAM_RSPAMD_TIMEOUT_MS (10 s), within SPAM_CHECK_TIMEOUT_MS (12 s).
        assert 9 <= took < 13, took
        s.wait_inbox("bob@example.org", 1)
        assert b"X-Spam-Status: unchecked" in on_top(s.inbox_messages("bob@example.org")[0])
        assert s.wait_log("rspamd did not answer in time"), s.log()[-3000:]
    finally:
        fake.close()


def test_hostile_rspamd_answers(make):
    """An answer over RSPAMD_HTTP_MAX_RESPONSE is not read (unchecked);
    header fields that would inject lines are dropped; the request names
    the envelope: client address, HELO, sender, each recipient."""
    big = FakeRspamd(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * (256 * 1024 + 1))
    inject = FakeRspamd(http_json({
        "action": "add header", "score": 7,
        "milter": {"add_headers": {"X-Ok": "fine value",
                                   "X-Bad": "a\r\nBcc: victim@example.org",
                                   "Bad Name": "v"}}}))
    try:
        s = make(f"spam.rspamd = 127.0.0.1:{big.port}\n")
        send(s, message("big", "Hello."))
        s.wait_inbox("bob@example.org", 1)
        assert b"X-Spam-Status: unchecked" in on_top(s.inbox_messages("bob@example.org")[0])
        assert s.wait_log("response too long"), s.log()[-3000:]

        t = make(f"spam.rspamd = 127.0.0.1:{inject.port}\n")
        with smtplib.SMTP("127.0.0.1", t.smtp_port, timeout=30) as c:
            c.ehlo("client.sender.test")
            c.sendmail("carol@sender.test", ["bob@example.org", "alice@example.org"],
                       message("inject", "Hello."))
        end = time.monotonic() + 30
        junk = []
        while time.monotonic() < end and not junk:
            junk = mailbox_messages(t, "Junk")
            time.sleep(0.2)
        lines = on_top(junk[0])
        i = lines.index(b"X-Spam-Status: Yes, score=7.00")
        assert lines[i + 1] == b"X-Ok: fine value", lines
        assert b"Bcc" not in junk[0] and b"Bad Name" not in junk[0]
        head = inject.heads[0].split("\r\n")
        assert head[0] == "POST /checkv2 HTTP/1.1"
        assert [h for h in head if h.startswith("Rcpt: ")] == \
            ["Rcpt: bob@example.org", "Rcpt: alice@example.org"]
        assert "IP: 127.0.0.1" in head
        assert "Helo: client.sender.test" in head and "From: carol@sender.test" in head
    finally:
        big.close()
        inject.close()


def test_learning_is_bounded_per_command(make):
    """WORKER_SPAM_MAX_LEARN (50) messages of one MOVE are sent to be
    learnt; the 51st is not."""
    s = make(f"spam.rspamd = 127.0.0.1:{free_port()}\n")
    c = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=20)
    c.starttls(ssl_context=CTX)
    c.login("bob@example.org", "secret-pass")
    for i in range(51):
        assert c.append("INBOX", None, None, message(f"m{i}", "Hello."))[0] == "OK"
    c.select("INBOX")
    assert c.uid("MOVE", "1:*", "Junk")[0] == "OK"
    c.logout()
    assert s.wait_log("50 of 51 messages sent to be learnt as spam", timeout=20), s.log()[-3000:]


def test_checks_under_way_are_bounded(make):
    """SPAM_MAX_JOBS (64) checks wait on a silent rspamd; the 65th is
    answered unchecked at once instead of queueing."""
    import threading
    fake = FakeRspamd(None)
    try:
        s = make(f"spam.rspamd = 127.0.0.1:{fake.port}\n"
                 "front.max_connections_per_ip = 100\n")
        # The 65 sessions are opened up to RCPT first: on a machine busy
        # with other tests that takes a while, and the 64 checks must all
        # be under way at once, inside rspamd's timeout
        # (SPAM_RSPAMD_TIMEOUT_MS, 10 s), when the 65th ends its DATA.
        sessions = []
        for i in range(65):
            c = smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=60)
            c.ehlo("client.sender.test")
            assert c.mail("carol@sender.test")[0] == 250
            assert c.rcpt("bob@example.org")[0] == 250
            sessions.append(c)
        results = []

        def one(i):
            try:
                results.append(sessions[i].data(message(f"p{i}", "Hello."))[0])
            except Exception as e:  # noqa: BLE001 (reported below)
                results.append(e)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
        start = time.monotonic()
        for t in threads:
            t.start()
        while len(fake.heads) < 64 and time.monotonic() < start + 8:
            time.sleep(0.05)
        assert len(fake.heads) == 64, (len(fake.heads), results, s.log()[-3000:])
        start = time.monotonic()
        code, _ = sessions[64].data(message("over", "Hello."))
        took = time.monotonic() - start
        assert code == 250 and took < 5, (code, took, s.log()[-3000:])
        assert s.wait_log("too many checks under way"), s.log()[-3000:]
        for t in threads:
            t.join(60)
        assert results == [250] * 64, results
        for c in sessions:
            c.quit()
        s.wait_inbox("bob@example.org", 65)
    finally:
        fake.close()
