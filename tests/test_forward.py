"""Aliases that forward to other servers, with SRS.

Three domains: carol@c.test (a domain with no server of its own here, whose
SPF allows only 127.0.0.9) writes to fwd@a.test on a's port 25; the alias
sends a copy to alice@a.test and forwards one to bob@b.test.  a sends it on
with the envelope sender rewritten to SRS0=...@mx.a.test, so b checks SPF
against a (pass) where carol's own address would fail.  A bounce to that
SRS address goes back through a to the original sender; a forged or
damaged one is refused with 550 5.1.1.
"""
import email
import email.policy
import re
import smtplib

import pytest

from conftest import check_no_sanitizer_reports
from mta_pair import Pair, port25_usable

needs_port25 = pytest.mark.skipif(not port25_usable(),
                                  reason="needs root and port 25 free on 127.0.0.2/3")

# c.test publishes SPF for a host that is not the one forwarding; a's
# hostname (the domain of its SRS addresses) publishes SPF for a.
RECORDS = {("c.test", "TXT"): ["v=spf1 ip4:127.0.0.9 -all"],
           ("mx.a.test", "TXT"): ["v=spf1 ip4:127.0.0.2 ip4:127.0.0.1 -all"]}


@pytest.fixture
def pair():
    p = Pair(records=RECORDS)
    p.a.cli("alias", "add", "fwd@a.test", "bob@b.test", "alice@a.test")
    p.a.cli("alias", "add", "gone@a.test", "nobody@b.test")
    p.start()
    yield p
    p.stop()
    for site in (p.a, p.b):
        check_no_sanitizer_reports(site)


def message(subject, sender):
    return (f"From: <{sender}>\r\nTo: <fwd@a.test>\r\nSubject: {subject}\r\n"
            f"\r\nForward me.\r\n").encode()


def header(raw, name):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return " ".join(str(v) for v in msg.get_all(name) or [])


def send(ip, sender, rcpts, data):
    with smtplib.SMTP(ip, 25, timeout=30) as s:
        s.ehlo("client.c.test")
        s.sendmail(sender, rcpts, data)


def srs_of(raw):
    m = re.search(r"<(SRS0=[^>]+)>", header(raw, "Return-Path"))
    assert m, header(raw, "Return-Path")
    return m.group(1)


@needs_port25
def test_forwarded_mail_passes_spf_with_srs(pair):
    send(pair.a.ip, "carol@c.test", ["fwd@a.test"], message("via alias", "carol@c.test"))
    pair.a.wait_inbox("alice@a.test", 1, timeout=60)
    pair.b.wait_inbox("bob@b.test", 1, timeout=60)
    raw = pair.b.inbox_messages("bob@b.test")[0]
    srs = srs_of(raw)
    assert re.fullmatch(r"SRS0=[a-z2-7]{4}=[a-z2-7]{2}=c\.test=carol@mx\.a\.test", srs), srs
    ar = header(raw, "Authentication-Results")
    assert re.search(r"\bspf=pass\b", ar), ar
    # Without the rewriting b would have checked carol's domain: fail.
    assert "smtp.mailfrom=c.test" not in ar, ar
    # The local copy keeps the original sender.
    local = pair.a.inbox_messages("alice@a.test")[0]
    assert "<carol@c.test>" in header(local, "Return-Path")
    # A logged-in account writing to the alias is our sender: not rewritten.
    pair.a.submit("alice@a.test", ["fwd@a.test"],
                  message("alice to the alias", "alice@a.test"))
    pair.b.wait_inbox("bob@b.test", 2, timeout=60)
    mine = [m for m in pair.b.inbox_messages("bob@b.test") if b"alice to the alias" in m]
    assert mine and "<alice@a.test>" in header(mine[0], "Return-Path"), mine


@needs_port25
def test_bounce_to_srs_address_reaches_the_original_sender(pair):
    # bob's envelope, carol's From: (b.test's DMARC p=reject would refuse
    # a forwarded copy of b.test mail that nobody signed: as it should).
    send(pair.a.ip, "bob@b.test", ["fwd@a.test"], message("bob via a", "carol@c.test"))
    pair.b.wait_inbox("bob@b.test", 1, timeout=60)
    srs = srs_of(pair.b.inbox_messages("bob@b.test")[0])
    assert srs.endswith("=b.test=bob@mx.a.test"), srs
    bounce = (f"From: MAILER-DAEMON@elsewhere.test\r\nTo: <{srs}>\r\n"
              f"Subject: Undelivered Mail\r\n\r\nIt bounced.\r\n").encode()
    send(pair.a.ip, "", [srs], bounce)
    pair.b.wait_inbox("bob@b.test", 2, timeout=60)
    back = [m for m in pair.b.inbox_messages("bob@b.test") if b"It bounced." in m]
    assert back, "the bounce did not come back to bob"
    assert "<>" in header(back[0], "Return-Path")


@needs_port25
def test_forward_refused_far_away_bounces_to_the_original_sender(pair):
    # b has no nobody@b.test: a's copy is refused there (550), and a
    # tells the original sender, bob@b.test, with a report from <>.
    send(pair.a.ip, "bob@b.test", ["gone@a.test"], message("to nobody", "carol@c.test"))
    pair.b.wait_inbox("bob@b.test", 1, timeout=90)
    raw = pair.b.inbox_messages("bob@b.test")[0]
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", raw[:800]
    assert b"nobody@b.test" in raw and b"550" in raw, raw[:2000]
    assert "<>" in header(raw, "Return-Path")


@needs_port25
def test_forged_or_damaged_srs_address_is_refused(pair):
    send(pair.a.ip, "carol@c.test", ["fwd@a.test"], message("via alias", "carol@c.test"))
    pair.b.wait_inbox("bob@b.test", 1, timeout=60)
    srs = srs_of(pair.b.inbox_messages("bob@b.test")[0])
    hash_ = srs[5:9]
    other = "".join("b" if c == "a" else "a" for c in hash_)
    forged = [srs.replace(hash_, other, 1),                 # another hash
              srs.replace("=c.test=carol@", "=c.test=mallory@", 1),  # another sender
              "SRS0=abcd=zz=c.test=carol@mx.a.test",           # a made-up one
              srs.replace("@mx.a.test", "@a.test")]            # our domain too
    with smtplib.SMTP(pair.a.ip, 25, timeout=30) as s:
        s.ehlo("client.c.test")
        for addr in forged[:3]:
            s.mail("")
            code, text = s.rcpt(addr)
            assert code == 550 and b"5.1.1" in text, (addr, code, text)
            s.rset()
        # At one of our domains (not only the hostname) a valid one is taken.
        s.mail("")
        code, text = s.rcpt(forged[3])
        assert code == 250, (forged[3], code, text)


def test_forward_seals_one_past_the_limit(make):
    """smtp.max_recipients + 2 x 50 (SMTP_MAX_FORWARD_SEALS) seals fit in
    one transaction; a recipient whose forwards would pass that is 451."""
    server = make("smtp.max_recipients = 3", start=False)
    for name, count in (("f1", 50), ("f2", 50), ("f3", 3), ("f4", 4)):
        server.cli("alias", "add", f"{name}@example.org",
                   *[f"{name}-{i}@far.test" for i in range(count)])
    # One past the 50 remote targets of an alias is refused when added.
    r = server.cli("alias", "add", "f5@example.org",
                   *[f"x{i}@far.test" for i in range(51)], check=False)
    assert r.returncode != 0 and "more than 50 remote" in r.stderr, r.stderr
    server.start()
    for last, want in (("f3", 250), ("f4", 451)):
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as c:
            c.ehlo("client.c.test")
            c.mail("carol@c.test")
            assert c.rcpt("f1@example.org")[0] == 250
            assert c.rcpt("f2@example.org")[0] == 250
            code, text = c.rcpt(f"{last}@example.org")
            assert code == want, (last, code, text)
