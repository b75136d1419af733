"""POP3: what a mail client that downloads its mail sees (RFC 1939, 2449, 2595)."""
import base64
import os
import poplib
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

CTX = ssl._create_unverified_context()
PASSWORD = "secret-pass"  # conftest's default for alice and bob


def deliver(server, subject, body="hello\r\n", to="alice@example.org"):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.sendmail("s@remote.test", [to], f"Subject: {subject}\r\n\r\n{body}")


def login(server, user="alice@example.org", password=PASSWORD):
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    p.stls(context=CTX)
    p.user(user)
    p.pass_(password)
    return p


@pytest.fixture
def mailbox(server):
    for i in range(3):
        deliver(server, f"pop {i}", body=f"line one\r\n.starts with a dot\r\nmessage {i}\r\n")
    server.wait_inbox("alice@example.org", 3)
    return server


def test_download_read_and_delete(mailbox):
    p = login(mailbox)
    count, octets = p.stat()
    assert count == 3 and octets > 0
    listing = p.list()[1]
    assert len(listing) == 3
    uids = [line.split()[1] for line in p.uidl()[1]]
    assert len(set(uids)) == 3
    resp, lines, size = p.retr(2)
    assert resp.startswith(b"+OK")
    assert b"Subject: pop 1" in lines
    assert b".starts with a dot" in lines  # dot-stuffing undone by the client
    top = p.top(1, 0)[1]
    assert b"Subject: pop 0" in top and b"line one" not in top
    p.dele(1)
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    p.quit()
    # Deleted at QUIT; the UIDs of the others stay the same.
    p = login(mailbox)
    assert p.stat()[0] == 2
    assert [line.split()[1] for line in p.uidl()[1]] == uids[1:]
    p.quit()
    assert mailbox.inbox_count("alice@example.org") == 2


def test_deletions_without_quit_are_not_applied(mailbox):
    p = login(mailbox)
    p.dele(1)
    p.dele(2)
    p.sock.shutdown(socket.SHUT_RDWR)  # the client vanishes: RFC 1939 says
    p.sock.close()                     # nothing is deleted then
    time.sleep(0.5)
    p = login(mailbox)
    assert p.stat()[0] == 3
    p.rset()
    p.quit()


def test_credentials_need_tls(server):
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    assert b"STLS" in b" ".join(k.encode() for k in p.capa())
    with pytest.raises(poplib.error_proto) as e:
        p.user("alice@example.org")
    assert b"TLS" in e.value.args[0]
    p.quit()


def test_implicit_tls_and_auth_plain(mailbox):
    p = poplib.POP3_SSL("127.0.0.1", mailbox.pop3s_port, context=CTX, timeout=10)
    assert "PLAIN" in p.capa().get("SASL", [])
    token = base64.b64encode(b"\0alice@example.org\0" + PASSWORD.encode()).decode()
    assert p._shortcmd("AUTH PLAIN " + token).startswith(b"+OK")
    assert p.stat()[0] == 3
    p.quit()


def test_wrong_password_is_refused_and_slowed(server):
    times = []
    for _ in range(2):
        p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
        p.stls(context=CTX)
        p.user("alice@example.org")
        start = time.monotonic()
        with pytest.raises(poplib.error_proto) as e:
            p.pass_("wrong")
        times.append(time.monotonic() - start)
        assert b"[AUTH]" in e.value.args[0]
        p.quit()
    # 0.5 s, then 1 s (counted from the request, so a slow password check
    # under load does not add to it).
    assert times[0] >= 0.4 and times[1] >= 0.9, times
    # The right password still works (and resets the count).
    login(server).quit()


def test_overlong_credentials_are_a_failed_login(server):
    """USER/PASS and AUTH PLAIN with more than auth takes: refused by the
    front like a wrong password, and the server goes on serving."""
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    p.stls(context=CTX)
    times = []
    p.user("alice@example.org")
    start = time.monotonic()
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("p" * 2048)
    times.append(time.monotonic() - start)
    assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value.args
    token = base64.b64encode(b"\0alice@example.org\0" + b"z" * 3072).decode()
    start = time.monotonic()
    with pytest.raises(poplib.error_proto) as e:
        p._shortcmd("AUTH PLAIN " + token)
    times.append(time.monotonic() - start)
    assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value.args
    assert times[0] >= 0.4 and times[1] >= 0.9, times
    # The same connection (the same front) still logs in.
    p.user("alice@example.org")
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()
    # A 70 KB password is past the line limit: -ERR, and closed.
    s = socket.create_connection(("127.0.0.1", server.pop3s_port), timeout=10)
    s = CTX.wrap_socket(s)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER alice@example.org\r\n")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"PASS " + b"p" * (70 * 1024) + b"\r\n")
    assert f.readline().startswith(b"-ERR")
    s.close()
    # New connections over both fronts: logins and RCPTs are answered.
    for _ in range(4):
        login(server).quit()
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as c:
            c.ehlo("client.test")
            assert c.mail("s@remote.test")[0] == 250
            assert c.rcpt("alice@example.org")[0] == 250
    assert "malformed message" not in server.log(), server.log()[-3000:]


def test_long_line_is_refused(server):
    s = socket.create_connection(("127.0.0.1", server.pop3_port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER " + b"a" * 5000 + b"\r\n")
    assert f.readline().startswith(b"-ERR")
    s.close()


def test_fetchmail_downloads_everything(mailbox):
    tmp = tempfile.mkdtemp(prefix="ravelin-fetchmail-")
    out = os.path.join(tmp, "mbox")
    rc = os.path.join(tmp, "fetchmailrc")
    with open(rc, "w") as f:
        f.write(f'poll 127.0.0.1 protocol pop3 service {mailbox.pop3_port}\n'
                f'  user "alice@example.org" password "{PASSWORD}"\n'
                f"  sslproto 'tls1.2+' no sslcertck\n"
                f'  mda "cat >> {out}"\n')
    os.chmod(rc, 0o600)
    r = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "--nodetach", "--idfile",
                        os.path.join(tmp, "ids"), "-v"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, HOME=tmp))
    assert r.returncode == 0, r.stdout + r.stderr
    mbox = open(out, "rb").read()
    assert mbox.count(b"Subject: pop ") == 3
    # fetchmail deletes what it fetched (no 'keep'): the maildrop is empty.
    assert mailbox.inbox_count("alice@example.org") == 0


def test_curl_lists_and_fetches(mailbox):
    base = f"pop3s://127.0.0.1:{mailbox.pop3s_port}/"
    auth = ["--user", f"alice@example.org:{PASSWORD}", "--insecure", "--silent",
            "--show-error"]
    listing = subprocess.run(["curl", *auth, base], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.split("\n")) >= 3
    one = subprocess.run(["curl", *auth, base + "2"], capture_output=True, text=True,
                         timeout=30)
    assert one.returncode == 0 and "Subject: pop 1" in one.stdout


def test_maildrop_is_exclusive(mailbox):
    first = login(mailbox)
    p = poplib.POP3("127.0.0.1", mailbox.pop3_port, timeout=10)
    p.stls(context=CTX)
    p.user("alice@example.org")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(PASSWORD)
    assert b"[IN-USE]" in e.value.args[0]
    first.quit()
    # Free again once the first session ended.
    login(mailbox).quit()
