"""SMTP in: what a sending server or a user with a mail tool sees."""
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from email.message import EmailMessage

import pytest

from conftest import server_pids
from imap_util import wait_for


def message(subject, body="Hello.\r\n", frm="sender@remote.test", to="alice@example.org"):
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = f"<{subject.replace(' ', '.')}@remote.test>"
    m.set_content(body)
    return m


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    return s, f


def reply(f):
    """Reads one (multi-line) SMTP reply; returns (code, text)."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            return None, "".join(lines)
        lines.append(line.decode(errors="replace"))
        if line[3:4] != b"-":
            return int(line[:3]), "".join(lines)


def test_plain_delivery_is_stored_with_trace_headers(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        code, ehlo = c.ehlo("client.test")
        assert code == 250
        for ext in (b"PIPELINING", b"8BITMIME", b"SMTPUTF8", b"ENHANCEDSTATUSCODES",
                    b"CHUNKING", b"STARTTLS", b"SIZE"):
            assert ext in ehlo
        c.send_message(message("plain one"))
    server.wait_inbox("alice@example.org", 1)
    msg = server.inbox_messages("alice@example.org")[0]
    assert msg.startswith(b"Return-Path: <sender@remote.test>\r\n")
    assert b"Received: from client.test" in msg
    assert b"by mx.test" in msg
    assert b"Subject: plain one" in msg
    assert server.spool_empty() or server.wait_inbox("alice@example.org", 1)


def test_8bitmime_and_smtputf8(server):
    server.add_account("jörg@example.org")
    body = "Grüße aus Köln — ünïcödé\n"
    m = message("8bit", body=body, to="jörg@example.org")
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.ehlo("client.test")
        c.sendmail("sender@remote.test", ["alice@example.org"], m.as_bytes(),
                   mail_options=["BODY=8BITMIME"])
        c.sendmail("sénder@remote.test", ["jörg@example.org"],
                   m.as_string().encode("utf-8"), mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    server.wait_inbox("alice@example.org", 1)
    server.wait_inbox("jörg@example.org", 1)
    got = server.inbox_messages("jörg@example.org")[0]
    assert "Grüße aus Köln".encode() in got or b"=?utf-8?" in got or b"base64" in got.lower()
    assert "Return-Path: <sénder@remote.test>".encode() in got


def test_starttls_delivery(server):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.ehlo("client.test")
        c.starttls(context=ctx)
        code, ehlo = c.ehlo("client.test")
        assert code == 250 and b"STARTTLS" not in ehlo
        c.send_message(message("over tls"))
    server.wait_inbox("alice@example.org", 1)
    assert b"with ESMTPS" in server.inbox_messages("alice@example.org")[0]


def test_swaks_with_tls(server):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(server.smtp_port),
                        "--from", "sender@remote.test", "--to", "bob@example.org",
                        "--tls", "--header", "Subject: from swaks", "--body", "swaks body"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0" in r.stdout
    server.wait_inbox("bob@example.org", 1)
    assert b"swaks body" in server.inbox_messages("bob@example.org")[0]


def test_bdat_chunks(server):
    s, f = raw(server.smtp_port)
    assert reply(f)[0] == 220
    s.sendall(b"EHLO client.test\r\n")
    assert reply(f)[0] == 250
    s.sendall(b"MAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.org>\r\n")
    assert reply(f)[0] == 250 and reply(f)[0] == 250
    part1 = b"Subject: chunked\r\n\r\nfirst part, "
    part2 = b"second part.\r\n"
    s.sendall(b"BDAT %d\r\n" % len(part1) + part1)
    assert reply(f)[0] == 250
    s.sendall(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, text = reply(f)
    assert code == 250 and "queued" in text
    s.sendall(b"QUIT\r\n")
    assert reply(f)[0] == 221
    s.close()
    server.wait_inbox("alice@example.org", 1)
    assert b"first part, second part.\r\n" in server.inbox_messages("alice@example.org")[0]


def test_alias_delivers_to_every_target(server):
    server.cli("alias", "add", "team@example.org", "alice@example.org", "bob@example.org")
    assert "team@example.org" in server.cli("alias", "list").stdout
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.send_message(message("to the team", to="team@example.org"))
    server.wait_inbox("alice@example.org", 1)
    server.wait_inbox("bob@example.org", 1)


def test_unknown_recipient_is_refused(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.ehlo("client.test")
        c.mail("sender@remote.test")
        code, text = c.rcpt("nobody@example.org")
        assert code == 550 and b"5.1.1" in text
        code, text = c.rcpt("someone@not-our-domain.test")
        assert code == 554 and b"5.7.1" in text   # not ours: a relay, refused


def test_oversize_message_is_refused(make):
    limit = 100000
    server = make(f"smtp.max_message_size = {limit}")
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.ehlo("client.test")
        assert c.esmtp_features["size"] == str(limit)
        # Declared one past the limit: refused at MAIL.
        code, text = c.docmd(f"MAIL FROM:<sender@remote.test> SIZE={limit + 1}")
        assert code == 552 and b"5.3.4" in text
        # Sent past the limit without declaring it: refused after DATA.
        big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (limit // 1000 + 2)
        assert c.mail("sender@remote.test")[0] == 250
        assert c.rcpt("alice@example.org")[0] == 250
        code, text = c.data(big)
        assert code == 552 and b"5.3.4" in text
        # The session goes on: a small message still gets through.
        c.sendmail("sender@remote.test", ["alice@example.org"], "Subject: small\r\n\r\nok\r\n")
    server.wait_inbox("alice@example.org", 1)
    time.sleep(0.5)
    assert server.inbox_count("alice@example.org") == 1


def test_too_many_recipients(make):
    server = make("smtp.max_recipients = 5")
    server.cli("alias", "add", "many@example.org", "alice@example.org")
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.ehlo("client.test")
        c.mail("sender@remote.test")
        for i in range(5):
            assert c.rcpt(f"alice+{i}@example.org")[0] == 250
        code, text = c.rcpt("alice+5@example.org")
        assert code == 452 and b"4.5.3" in text


def test_hundred_concurrent_deliveries(make):
    # All from one address, so the per-address limit must allow them.
    server = make("front.max_connections_per_ip = 200")
    errors = []
    start = threading.Barrier(100)

    def send(i):
        try:
            with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as c:
                start.wait(timeout=30)
                c.send_message(message(f"concurrent {i}", to="bob@example.org"))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    server.wait_inbox("bob@example.org", 100)
    subjects = {m.split(b"Subject: ")[1].split(b"\r\n")[0]
                for m in server.inbox_messages("bob@example.org")}
    assert len(subjects) == 100


@pytest.mark.parametrize("ending", [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"])
def test_smtp_smuggling_is_not_an_end_of_data(server, ending):
    s, f = raw(server.smtp_port)
    reply(f)
    s.sendall(b"EHLO client.test\r\nMAIL FROM:<sender@remote.test>\r\n"
              b"RCPT TO:<alice@example.org>\r\nDATA\r\n")
    for _ in range(3):
        assert reply(f)[0] == 250
    assert reply(f)[0] == 354
    s.sendall(b"Subject: outer\r\n\r\nouter body" + ending +
              b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
              b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
    code, text = reply(f)
    assert code == 250
    s.sendall(b"QUIT\r\n")
    reply(f)
    s.close()
    server.wait_inbox("alice@example.org", 1)
    time.sleep(0.5)
    assert server.inbox_count("bob@example.org") == 0
    assert b"smuggled" in server.inbox_messages("alice@example.org")[0]


def test_starttls_command_injection_is_discarded(server):
    s, f = raw(server.smtp_port)
    reply(f)
    s.sendall(b"EHLO client.test\r\n")
    reply(f)
    # The RSET rides in the same packet as STARTTLS, in plaintext.
    s.sendall(b"STARTTLS\r\nRSET\r\n")
    assert reply(f)[0] == 220
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="mx.test")
    tf = t.makefile("rb")
    t.sendall(b"NOOP\r\n")
    code, text = reply(tf)
    # Had the injected RSET been run, its 250 2.0.0 would come first and
    # the NOOP's answer second; the first answer must be the NOOP's.
    assert code == 250
    t.settimeout(1)
    with pytest.raises((socket.timeout, TimeoutError)):
        tf.readline()
    t.close()


def test_ten_megabyte_command_line(server):
    s, f = raw(server.smtp_port)
    reply(f)
    line = b"EHLO " + b"a" * (10 * 1024 * 1024) + b"\r\n"
    try:
        s.sendall(line)
    except OSError:
        pass  # the server may stop reading; that is an orderly end too
    code, text = reply(f)
    assert code in (500, 421), text
    s.close()
    # The server is still there for everyone else.
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        assert c.noop()[0] == 250


def test_slow_client_is_dropped_at_its_timeout(make):
    server = make("smtp.session_timeout = 3\nsmtp.idle_timeout = 2")
    s, f = raw(server.smtp_port)
    reply(f)
    start = time.monotonic()
    closed = False
    for ch in b"EHLO one-byte-a-second.test\r\n" * 3:
        try:
            s.sendall(bytes([ch]))
        except OSError:
            closed = True
            break
        time.sleep(1)
        if time.monotonic() - start > 10:
            break
    data = b""
    if not closed:
        s.settimeout(5)
        try:
            data = s.recv(4096)
            data += s.recv(4096)
        except OSError:
            pass
    elapsed = time.monotonic() - start
    assert closed or b"421" in data
    assert elapsed < 8
    s.close()


def test_connections_per_address_limit(make):
    # Two fronts: the limit holds for the address across both of them.
    server = make("front.max_connections_per_ip = 2\nfront.processes = 2")
    time.sleep(0.5)  # the start-up probe's connection must be gone first
    socks = [raw(server.smtp_port) for _ in range(2)]
    for s, f in socks:
        assert reply(f)[0] == 220
    # Whichever front takes them, the third and fourth are refused.
    for _ in range(2):
        s3, f3 = raw(server.smtp_port)
        code, text = reply(f3)
        assert code == 421 and "4.7.0" in text, server.log()[-3000:]
        s3.close()
    for s, f in socks:
        s.shutdown(socket.SHUT_RDWR)  # the makefile() keeps the fd open
        s.close()
    # Closed connections free their places.
    time.sleep(0.5)
    s4, f4 = raw(server.smtp_port)
    assert reply(f4)[0] == 220
    s4.close()


def test_front_killed_is_restarted(server):
    import os
    import re
    import signal as sig
    mine = server_pids(server, "--role spawner")
    assert mine
    for p in mine:
        os.kill(p, sig.SIGKILL)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=5) as c:
                c.send_message(message("after restart"))
            break
        except (OSError, smtplib.SMTPException):
            time.sleep(0.2)
    server.wait_inbox("alice@example.org", 1)
    assert re.search(r"spawner \d+ was killed by signal 9.*restarting", server.log())


def test_client_that_never_reads_is_dropped(server):
    # Replies pile up in the front (FRONT_MAX_OUTPUT, 1 MiB) once the
    # kernel's buffers are full; past that the client is dropped, instead
    # of the front's memory growing without bound.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", server.smtp_port))
    s.settimeout(20)
    chunk = b"NOOP\r\n" * 10000
    dropped = False
    start = time.monotonic()
    try:
        while time.monotonic() - start < 60:
            s.sendall(chunk)
    except OSError:
        dropped = True
    assert dropped
    # The line reaches master's log over the process's link, and may land
    # just after the client has seen the connection end.
    assert wait_for(lambda: "does not read its replies" in server.log())
    s.close()
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        assert c.noop()[0] == 250
