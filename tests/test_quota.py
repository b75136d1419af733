"""An account's quota limits delivery: a message that would pass it gets
452 4.2.2 at RCPT when MAIL FROM's SIZE= tells its size, 552 5.2.2 after
DATA otherwise, and nothing stored is touched.  Before, the quota limited
only IMAP's APPEND and COPY, and SMTP filled a mailbox past it."""
import smtplib
import socket
import time

import pytest

ALICE = "alice@example.org"
BOB = "bob@example.org"
QUOTA = 20000


def small(subject):
    return f"From: carol@elsewhere.test\r\nSubject: {subject}\r\n\r\nfits\r\n"


def big(subject):
    return (f"From: carol@elsewhere.test\r\nSubject: {subject}\r\n\r\n"
            + ("y" * 998 + "\r\n") * 40)


def begin(c, rcpts, options=()):
    """MAIL FROM (with options) and RCPT TO each of rcpts, all taken."""
    assert c.mail("carol@elsewhere.test", list(options))[0] == 250
    for rcpt in rcpts:
        assert c.rcpt(rcpt)[0] == 250


def deliver_one(s, address=ALICE):
    """A message under the quota is delivered; the queue then knows the
    account's figures from its worker's answer."""
    before = s.inbox_count(address)
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.sendmail("carol@elsewhere.test", [address], small("fits"))
    s.wait_inbox(address, before + 1)


def most_tries(seconds, retry_delay=1):
    """The most attempts a local delivery that keeps failing for now can
    make within seconds of its first: the queue waits retry_delay
    (queue.retry_delay, 1 in the tests' configuration) after the first
    failure and doubles the wait after each (queue-retry.c), so attempt n
    comes at least (2**(n-1) - 1) * retry_delay after the first.  A
    retry in a tight loop would make hundreds; the bound is taken from
    the time the test measured, so a slow machine does not fail it."""
    n = 1
    while (2 ** n - 1) * retry_delay <= seconds:
        n += 1
    return n


@pytest.fixture
def quota_server(make):
    s = make(start=False)
    s.cli("account", "quota", ALICE, str(QUOTA))
    s.start()
    deliver_one(s)
    return s


def test_size_over_quota_is_refused_at_rcpt(quota_server):
    s = quota_server
    stored = s.inbox_messages(ALICE)
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.ehlo()
        assert c.mail("carol@elsewhere.test", [f"SIZE={QUOTA + 1000}"])[0] == 250
        code, text = c.rcpt(ALICE)
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
        # Another recipient with room is still taken.
        assert c.rcpt(BOB)[0] == 250
        c.rset()
        # A declared size that fits is taken.
        begin(c, [ALICE], ["SIZE=500"])
        c.rset()
    assert s.inbox_messages(ALICE) == stored
    assert s.wait_log("would pass its quota"), s.log()[-3000:]


def test_no_size_over_quota_is_refused_after_data(quota_server):
    s = quota_server
    stored = s.inbox_messages(ALICE)
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.ehlo()
        # No SIZE= (smtplib's sendmail would add it).
        begin(c, [ALICE])
        code, text = c.data(big("too big"))
        assert code == 552 and text.startswith(b"5.2.2"), (code, text)
        # The session goes on: a message that fits is delivered.
        begin(c, [ALICE])
        assert c.data(small("second"))[0] == 250
    s.wait_inbox(ALICE, len(stored) + 1)
    after = s.inbox_messages(ALICE)
    assert after[:len(stored)] == stored and len(after) == len(stored) + 1
    assert b"Subject: second" in after[-1]
    assert s.wait_log("do not fit in the quota"), s.log()[-3000:]
    assert s.spool_empty()


def test_some_recipients_over_quota_wait_with_the_reason(quota_server):
    """Only alice is full: the message is taken, bob gets it, alice's copy
    waits in the queue with the store's reason (not lost, not retried in a
    tight loop) and arrives once her quota is raised."""
    s = quota_server
    stored = s.inbox_messages(ALICE)
    start = time.monotonic()
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.ehlo()
        begin(c, [ALICE, BOB])
        assert c.data(big("for both"))[0] == 250
    s.wait_inbox(BOB, 1, timeout=120)
    end = time.monotonic() + 120
    out = ""
    while time.monotonic() < end:
        out = s.cli("queue", "list").stdout
        if "Quota exceeded" in out:
            break
        time.sleep(0.2)
    assert "<alice@example.org> (account 1): Quota exceeded" in out, out
    assert s.inbox_messages(ALICE) == stored
    time.sleep(3)
    tries = s.log().count("failed for now: Quota exceeded")
    assert 1 <= tries <= most_tries(time.monotonic() - start), (
        tries, time.monotonic() - start)
    s.cli("account", "quota", ALICE, "none")
    s.wait_inbox(ALICE, len(stored) + 1, timeout=60)


def test_first_message_to_an_account_is_checked(make):
    """The queue knows nothing of an account whose worker has not run: it
    starts it at RCPT, so its figures are there by the end of DATA; a
    refusal never stores anything."""
    s = make(start=False)
    s.cli("account", "quota", ALICE, "1000")
    s.start()
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.ehlo()
        assert c.mail("carol@elsewhere.test", ["SIZE=45000"])[0] == 250
        code, _ = c.rcpt(ALICE)
        if code == 250:
            time.sleep(2)
            code, text = c.data(big("first"))
            assert code == 552 and text.startswith(b"5.2.2"), (code, text)
        else:
            assert code == 452
    assert s.inbox_count(ALICE) == 0
    assert s.spool_empty()


def message_of(size, subject):
    head = f"From: s@remote.test\r\nSubject: {subject}\r\n\r\n"
    line = "z" * 98 + "\r\n"
    return head + line * ((size - len(head)) // len(line) + 1)


def test_fresh_account_is_checked_at_its_first_message(make):
    """An account added and given a quota while the server runs: the queue
    has no figures for it, so its answer waits for the worker's (started
    at RCPT) instead of saying yes at once.  The first SIZE= over it gets
    452 at RCPT; the first message without SIZE (another fresh account)
    gets 552 after DATA; nothing is queued for either."""
    s = make()
    for address in ("carol@example.org", "dave@example.org"):
        s.add_account(address)
        s.cli("account", "quota", address, "1K")
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["SIZE=2900"])[0] == 250
        code, text = c.rcpt("carol@example.org")
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
        c.rset()
        begin(c, ["carol@example.org"])
        code, text = c.data(message_of(2900, "to carol"))
        assert code == 552 and text.startswith(b"5.2.2"), (code, text)
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.ehlo()
        begin(c, ["dave@example.org"])
        code, text = c.data(message_of(2900, "to dave"))
        assert code == 552 and text.startswith(b"5.2.2"), (code, text)
    out = s.cli("queue", "list").stdout
    assert "carol@" not in out and "dave@" not in out, out
    assert s.spool_empty()
    assert s.inbox_count("carol@example.org") == 0
    assert s.inbox_count("dave@example.org") == 0


def test_session_gone_while_its_answer_waits(make):
    """A client that leaves while the queue waits for a fresh account's
    figures: whether its pre-auth process goes before the answer (the
    pending record goes with its link) or after it, the queue goes on and
    answers the next session (the sanitizer checks nothing is used after
    it is freed)."""
    s = make()
    for address in ("erin@example.org", "frank@example.org"):
        s.add_account(address)
        s.cli("account", "quota", address, "1K")
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", s.smtp_port)) as raw:
            raw.sendall(b"EHLO a.test\r\nMAIL FROM:<s@remote.test> SIZE=2900\r\n"
                        b"RCPT TO:<erin@example.org>\r\n")
            raw.recv(4096)
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["SIZE=2900"])[0] == 250
        code, text = c.rcpt("frank@example.org")
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
    assert s.spool_empty()
