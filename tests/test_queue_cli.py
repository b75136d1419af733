"""`ravelin queue list|show|retry|delete`: what waits, per recipient (remote
or local, attempts, next try, last answer), never a message's content; retry
and delete on a running server go through master to the queue; a bounce
asked for with --bounce reaches the sender's INBOX as multipart/report."""
import email
import email.policy
import imaplib
import os
import re
import signal
import smtplib
import ssl
import time

from conftest import check_no_sanitizer_reports, make_server

BODY = "the secret body text"


def account_id(s, address):
    return int(s.account_dir(address).rsplit("/", 1)[1])


def spool_message(s, qid, sender, rcpts, sender_account=None, state=None):
    """Writes a message into the spool as the queue would have accepted it
    (rcpts: (account, address) pairs, account 0 remote), with an outcome
    log when state is given."""
    for d in ("q", "state"):
        os.makedirs(os.path.join(s.data, "spool", d), exist_ok=True)
    env = f"RAVELIN-SPOOL 1\nfrom {sender}\nflags 0\narrived 1700000000\n"
    if sender_account is not None:
        env += f"account {sender_account}\n"
    env += "".join(f"rcpt {a} {addr}\n" for a, addr in rcpts) + "\n"
    with open(os.path.join(s.data, "spool", "q", qid), "wb") as f:
        f.write(env.encode())
        f.write(f"From: {sender}\r\nSubject: waits\r\n\r\n{BODY}\r\n".encode())
    if state is not None:
        with open(os.path.join(s.data, "spool", "state", qid), "w") as f:
            f.write(state)


def wait_log(s, text, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in s.log():
            return
        time.sleep(0.1)
    raise AssertionError(f"not in the log: {text}\n{s.log()[-3000:]}")


def test_list_show_delete_without_a_server():
    s = make_server()
    qid = "0000000020000000000001"
    alice = account_id(s, "alice@example.org")
    spool_message(s, qid, "alice@example.org",
                  [(0, "bob@b.test"), (0, "carol@c.test"), (alice, "alice@example.org")],
                  sender_account=alice,
                  state="begun 1700000000\ndeferred 0 1 1700000300 451 4.7.1 greylisted\n"
                        "deferred 0 1 1700000900 451 4.7.1 still greylisted\n"
                        "failed 1 550 5.1.1 no such user\ndone 2 cut-off-line")
    out = s.cli("queue", "list").stdout
    assert ("to <bob@b.test> remote: waiting, 2 attempts, next try 2023-11-14 22:28:20Z, "
            "last answer: 451 4.7.1 still greylisted") in out, out
    assert "to <carol@c.test> remote: failed, last answer: 550 5.1.1 no such user" in out, out
    # The last line, cut by a crash, counts for nothing.
    assert f"to <alice@example.org> (account {alice}) local: waiting\n" in out, out
    assert "1 messages waiting" in out
    out = s.cli("queue", "show", qid).stdout
    assert qid in out and "from <alice@example.org>" in out, out
    assert f"sent by account {alice}" in out and "first tried 2023-11-14 22:13:20Z" in out, out
    assert BODY not in out and "Subject" not in out, out
    assert BODY not in s.cli("queue", "list").stdout
    r = s.cli("queue", "show", "0000000020000000000009", check=False)
    assert r.returncode == 1 and "no message" in r.stderr
    for bad in ("../q/x", "all", "0000000020000000000001X"):
        r = s.cli("queue", "show", bad, check=False)
        assert r.returncode == 2, (bad, r.stderr)
    r = s.cli("queue", "retry", qid)
    assert "does not run" in r.stdout
    r = s.cli("queue", "delete", qid, "--bounce", check=False)
    assert r.returncode == 1 and "must run" in r.stderr
    r = s.cli("queue", "list", "--bounce", check=False)
    assert r.returncode == 2
    s.cli("queue", "delete", qid)
    assert s.spool_empty()
    assert not os.path.exists(os.path.join(s.data, "spool", "state", qid))
    assert "queue is empty" in s.cli("queue", "list").stdout


def waiting_server():
    """A server where mail to alice waits: her folder cannot be opened, so
    her worker fails at start (as in test_delivery_security)."""
    s = make_server()
    os.chmod(s.account_dir("alice@example.org"), 0)
    return s


def test_retry_and_delete_on_a_running_server():
    s = waiting_server()
    s.start()
    try:
        with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
            c.sendmail("carol@elsewhere.test", ["alice@example.org"],
                       f"Subject: waits\r\n\r\n{BODY}\r\n")
        end = time.monotonic() + 20
        while "fails at start" not in s.cli("queue", "list").stdout:
            assert time.monotonic() < end, s.cli("queue", "list").stdout
            time.sleep(0.2)
        out = s.cli("queue", "list").stdout
        qid = re.search(r"^([0-9A-F]{22}) ", out, re.M).group(1)
        assert "to <alice@example.org> (account 1) local: waiting" in out, out
        out = s.cli("queue", "show", qid).stdout
        assert "from <carol@elsewhere.test>" in out and BODY not in out, out

        assert "asked the server" in s.cli("queue", "retry", qid).stdout
        wait_log(s, f"{qid}: tried again now, as the administrator asked")
        s.cli("queue", "retry", "all")
        wait_log(s, "queue retry: 1 messages tried again now")
        r = s.cli("queue", "retry", "00000000000000000000AB", check=False)
        assert r.returncode == 1 and "no message" in r.stderr

        # Not sent by one of our accounts: --bounce has no one to tell.
        s.cli("queue", "delete", qid, "--bounce")
        wait_log(s, f"{qid}: no bounce: not sent by one of our accounts")
        wait_log(s, f"{qid}: deleted by the administrator")
        assert s.spool_empty()
        assert "queue is empty" in s.cli("queue", "list").stdout

        # Master passes on only the requests it knows, and removes each.
        bogus = os.path.join(s.data, "control", "queue-frob-" + qid)
        open(bogus, "w").close()
        s.proc.send_signal(signal.SIGUSR1)
        wait_log(s, f"queue request queue-frob-{qid}: unknown; ignored")
        assert not os.path.exists(bogus)
        assert s.proc.poll() is None
    finally:
        os.chmod(s.account_dir("alice@example.org"), 0o700)
        s.stop()
    check_no_sanitizer_reports(s)


def test_delete_with_bounce_reaches_the_senders_inbox():
    s = waiting_server()
    qid = "0000000030000000000001"
    bob = account_id(s, "bob@example.org")
    alice = account_id(s, "alice@example.org")
    # Local recipients only: remote ones are the relay's to deliver.
    spool_message(s, qid, "bob@example.org", [(alice, "alice@example.org")],
                  sender_account=bob)
    s.start()
    try:
        wait_log(s, "fails at start")
        s.cli("queue", "delete", qid, "--bounce")
        wait_log(s, f"{qid}: deleted by the administrator, its sender told")
        s.wait_inbox("bob@example.org", 1)
        imap = imaplib.IMAP4("127.0.0.1", s.imap_port)
        imap.starttls(ssl_context=ssl._create_unverified_context())
        imap.login("bob@example.org", "secret-pass")
        imap.select("INBOX")
        typ, data = imap.fetch("1", "(BODY.PEEK[])")
        imap.logout()
        m = email.message_from_bytes(data[0][1], policy=email.policy.default)
        assert m.get_content_type() == "multipart/report", m
        assert m["From"] == "Mail Delivery System <MAILER-DAEMON@mx.test>"
        assert m["Auto-Submitted"] == "auto-replied"
        parts = m.get_payload()
        assert [p.get_content_type() for p in parts] == [
            "text/plain", "message/delivery-status", "text/rfc822-headers"]
        text = parts[0].get_content()
        assert "alice@example.org" in text and "deleted from the queue" in text, text
        fields = parts[1].get_payload()
        assert fields[0]["Reporting-MTA"] == "dns; mx.test"
        assert fields[1]["Final-Recipient"] == "rfc822; alice@example.org"
        assert fields[1]["Action"] == "failed" and fields[1]["Status"] == "5.0.0"
        assert parts[2].get_content().startswith("From: bob@example.org")
        assert BODY not in data[0][1].decode()
        assert s.spool_empty()
    finally:
        os.chmod(s.account_dir("alice@example.org"), 0o700)
        s.stop()
    check_no_sanitizer_reports(s)
