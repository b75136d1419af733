"""Submission (RFC 6409 on the STARTTLS port, RFC 8314 implicit TLS): what
a user's mail program sees, driven by real clients (smtplib, swaks, msmtp)."""
import os
import smtplib
import ssl
import subprocess
import time
from email.message import EmailMessage

import pytest

PASSWORD = "secret-pass"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(subject, frm="alice@example.org", to="bob@example.org", message_id=False,
            date=False):
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    if message_id:
        m["Message-ID"] = f"<{subject.replace(' ', '.')}@client.test>"
    if date:
        m["Date"] = "Mon, 7 Dec 2026 10:00:00 +0000"
    m.set_content("Hello from a mail program.\n")
    return m


def starttls_client(server, login=True, user="alice@example.org"):
    c = smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30)
    c.ehlo("laptop.test")
    c.starttls(context=tls_context())
    c.ehlo("laptop.test")
    if login:
        c.login(user, PASSWORD)
    return c


def header_block(msg):
    return msg.split(b"\r\n\r\n", 1)[0]


def test_starttls_submission_adds_date_and_message_id(server):
    with starttls_client(server) as c:
        c.send_message(message("over starttls"))
    server.wait_inbox("bob@example.org", 1)
    msg = server.inbox_messages("bob@example.org")[0]
    head = header_block(msg)
    assert b"Subject: over starttls" in head
    assert b"\r\nDate: " in head
    assert b"\r\nMessage-ID: <" in head and b"@mx.test>" in head
    assert b"with ESMTPSA" in head
    # The client's address is not named (submission.received_ip is off).
    assert b"127.0.0.1" not in head
    assert server.spool_empty() or server.wait_inbox("bob@example.org", 1)


def test_implicit_tls_submission_keeps_the_clients_headers(server):
    with smtplib.SMTP_SSL("127.0.0.1", server.submissions_port, timeout=30,
                          context=tls_context()) as c:
        c.ehlo("laptop.test")
        c.login("alice@example.org", PASSWORD)
        c.send_message(message("implicit tls", message_id=True, date=True))
    server.wait_inbox("bob@example.org", 1)
    head = header_block(server.inbox_messages("bob@example.org")[0])
    assert head.count(b"Message-ID:") == 1
    assert b"Message-ID: <implicit.tls@client.test>" in head
    assert head.count(b"\r\nDate:") == 1


def test_received_ip_when_configured(make):
    server = make("submission.received_ip = true")
    with starttls_client(server) as c:
        c.send_message(message("with ip"))
    server.wait_inbox("bob@example.org", 1)
    assert b"[127.0.0.1]" in header_block(server.inbox_messages("bob@example.org")[0])


def test_auth_only_after_tls(server):
    c = smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30)
    code, ehlo = c.ehlo("laptop.test")
    assert code == 250 and b"STARTTLS" in ehlo and b"AUTH" not in ehlo
    code, text = c.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldC1wYXNz")
    assert code == 530 and b"5.7.0 Must issue a STARTTLS command first" in text
    code, text = c.docmd("MAIL", "FROM:<alice@example.org>")
    assert code == 530 and b"5.7.0 Authentication required" in text
    c.starttls(context=tls_context())
    code, ehlo = c.ehlo("laptop.test")
    assert b"AUTH PLAIN LOGIN" in ehlo
    # Under TLS but before AUTH: still no MAIL.
    code, text = c.docmd("MAIL", "FROM:<alice@example.org>")
    assert code == 530 and b"Authentication required" in text
    c.quit()


def test_wrong_password_is_slowed_and_refused(server):
    c = starttls_client(server, login=False)
    start = time.monotonic()
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login("alice@example.org", "wrong")
    took = time.monotonic() - start
    assert e.value.smtp_code == 535 and b"5.7.8" in e.value.smtp_error
    # auth's first delay (IPC_LOGIN_FIRST_DELAY_MS), then it doubles.
    assert took >= 0.45, took
    start = time.monotonic()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        c.login("alice@example.org", "wrong again")
    assert time.monotonic() - start >= 0.9
    c.close()


def test_auth_login_mechanism(server):
    c = starttls_client(server, login=False)
    c.user, c.password = "alice@example.org", PASSWORD
    code, text = c.auth("LOGIN", c.auth_login, initial_response_ok=False)
    assert code == 235
    c.send_message(message("via auth login"))
    c.quit()
    server.wait_inbox("bob@example.org", 1)


def test_mail_from_of_another_account_is_refused(server):
    with starttls_client(server) as c:
        code, text = c.docmd("MAIL", "FROM:<bob@example.org>")
        assert code == 553 and b"5.7.1" in text and b"not owned by user" in text
        code, text = c.docmd("MAIL", "FROM:<>")
        assert code == 553
        code, _ = c.docmd("MAIL", "FROM:<alice@example.org>")
        assert code == 250


def test_from_header_of_another_account_is_refused(server):
    with starttls_client(server) as c:
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("alice@example.org", ["bob@example.org"],
                       message("forged", frm="Bob <bob@example.org>").as_bytes())
        assert e.value.smtp_code == 553 and b"5.7.1" in e.value.smtp_error
    time.sleep(0.5)
    assert server.inbox_count("bob@example.org") == 0


def test_alias_sender_is_allowed(server):
    server.cli("alias", "add", "sales@example.org", "alice@example.org")
    # A list alias leads to someone else too: not alice's to send as.
    server.cli("alias", "add", "team@example.org", "alice@example.org", "bob@example.org")
    with starttls_client(server) as c:
        c.send_message(message("as sales", frm="Sales <sales@example.org>"),
                       from_addr="sales@example.org")
        code, _ = c.docmd("MAIL", "FROM:<team@example.org>")
        assert code == 553
    server.wait_inbox("bob@example.org", 1)
    msg = server.inbox_messages("bob@example.org")[0]
    assert msg.startswith(b"Return-Path: <sales@example.org>")


def test_remote_recipient_waits_for_remote_delivery(make):
    # The smarthost is a port nobody listens on: the message waits.
    from conftest import free_port
    server = make(f"relay.smarthost = 127.0.0.1:{free_port()}\nrelay.smarthost_tls = opportunistic")
    with starttls_client(server) as c:
        c.send_message(message("to far away", to="carol@elsewhere.test"))
    time.sleep(1)
    out = server.cli("queue", "list").stdout
    assert "to <carol@elsewhere.test> remote: waiting" in out, out
    assert "from <alice@example.org>" in out
    q = os.path.join(server.data, "spool", "q")
    (name,) = os.listdir(q)
    with open(os.path.join(q, name), "rb") as f:
        envelope = f.read().split(b"\n\n", 1)[0]
    assert b"\nrcpt 0 carol@elsewhere.test" in envelope
    assert b"\naccount " in envelope
    # The queue keeps going: local mail still arrives.
    with starttls_client(server) as c:
        c.send_message(message("local after remote"))
    server.wait_inbox("bob@example.org", 1)
    # A restart reads it back and leaves it waiting: no crash, no loop,
    # no worker asked for account 0.
    server.stop()
    server.start()
    time.sleep(1)
    out = server.cli("queue", "list").stdout
    assert "to <carol@elsewhere.test> remote: waiting" in out, out
    assert "worker 0" not in server.log() and "account 0" not in server.log()


def test_same_size_and_recipient_limits_as_smtp_in(make):
    server = make("smtp.max_recipients = 2\nsmtp.max_message_size = 2048")
    with starttls_client(server) as c:
        c.ehlo("laptop.test")
        assert b"SIZE 2048" in c.ehlo_resp
        code, _ = c.docmd("MAIL", "FROM:<alice@example.org> SIZE=2049")
        assert code == 552
        c.docmd("MAIL", "FROM:<alice@example.org>")
        assert c.docmd("RCPT", "TO:<bob@example.org>")[0] == 250
        assert c.docmd("RCPT", "TO:<carol@elsewhere.test>")[0] == 250
        code, text = c.docmd("RCPT", "TO:<dave@elsewhere.test>")
        assert code == 452 and b"too many recipients" in text


def test_port_25_is_no_open_relay(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as c:
        c.ehlo("spammer.test")
        code, text = c.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldC1wYXNz")
        assert code == 500
        c.docmd("MAIL", "FROM:<alice@example.org>")
        code, text = c.docmd("RCPT", "TO:<carol@elsewhere.test>")
        assert code == 554 and b"5.7.1" in text


def test_swaks_submission(server):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(server.submission_port),
                        "--from", "alice@example.org", "--to", "bob@example.org", "--tls",
                        "--auth", "PLAIN", "--auth-user", "alice@example.org",
                        "--auth-password", PASSWORD, "--header", "Subject: from swaks",
                        "--body", "swaks body"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    server.wait_inbox("bob@example.org", 1)
    assert b"swaks body" in server.inbox_messages("bob@example.org")[0]


def test_msmtp_implicit_tls(server, tmp_path):
    conf = tmp_path / "msmtprc"
    conf.write_text(f"account default\nhost 127.0.0.1\nport {server.submissions_port}\n"
                    "tls on\ntls_starttls off\ntls_certcheck off\nauth plain\n"
                    f"user alice@example.org\npassword {PASSWORD}\n"
                    "from alice@example.org\n")
    conf.chmod(0o600)
    r = subprocess.run(["msmtp", "-C", str(conf), "bob@example.org"],
                       input="From: alice@example.org\nTo: bob@example.org\n"
                             "Subject: from msmtp\n\nmsmtp body\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    server.wait_inbox("bob@example.org", 1)
    msg = server.inbox_messages("bob@example.org")[0]
    assert b"msmtp body" in msg and b"Message-ID: <" in msg
