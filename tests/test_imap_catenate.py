"""CATENATE (RFC 4469): APPEND of a message made of TEXT literals and IMAP
URLs (RFC 5092) of messages, or parts of them, in the same account; a URL
that names nothing here is refused with NO [BADURL]."""
import re

import pytest

from imap_util import Client, close, connect, fetches, lit, quote

SOURCE = (b"From: foo@example.com\r\nSubject: source\r\n\r\nHello world body\r\n")
MULTIPART = (b"From: bar@example.com\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
             b"--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
             b"--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n")


@pytest.fixture
def c(server):
    client = connect(server)
    yield client
    close(client)


def appended_uid(resp):
    m = re.search(rb"\[APPENDUID (\d+) ([\d,]+)\]", resp.text)
    assert m, resp.exchange()
    return int(m.group(1)), [int(x) for x in m.group(2).split(b",")]


def body_of(c, mailbox, uid):
    c.select_box(mailbox)
    r = c.ok(f"UID FETCH {uid} BODY.PEEK[]")
    (item,) = fetches(r).values()
    return bytes(item["BODY[]"])


def source(c, mailbox="INBOX", data=SOURCE):
    r = c.ok(b"APPEND " + quote(mailbox).encode() + b" " + lit(data))
    return appended_uid(r)


def test_capability(c):
    r = c.ok("CAPABILITY")
    assert b" CATENATE" in r.untagged[0], r.exchange()


def test_text_and_url_parts(c):
    validity, (uid,) = source(c)
    c.ok('CREATE "Out"')
    # The header of one message, a new body.
    r = c.ok(b'APPEND Out (\\Seen) CATENATE (URL "/INBOX/;UID=%d/;SECTION=HEADER" TEXT '
             % uid + lit(b"new body\r\n") + b")")
    _, (out,) = appended_uid(r)
    assert body_of(c, "Out", out) == (b"From: foo@example.com\r\nSubject: source\r\n\r\n"
                                      b"new body\r\n")
    r = c.ok(f"UID FETCH {out} FLAGS")
    assert b"\\Seen" in r.untagged[0]
    # UIDVALIDITY given and right; text around a part; SECTION=1 of a
    # single-part message is its body (as FETCH BODY[1]).
    r = c.ok(b"APPEND Out CATENATE (TEXT " + lit(b"Subject: made\r\n\r\n") +
             b' URL "/INBOX;UIDVALIDITY=%d/;UID=%d/;SECTION=1" TEXT ' % (validity, uid) +
             lit(b"-- \r\n") + b")")
    _, (out,) = appended_uid(r)
    assert body_of(c, "Out", out) == b"Subject: made\r\n\r\nHello world body\r\n-- \r\n"
    # The whole message, and a PARTIAL window of it.
    r = c.ok(b'APPEND Out CATENATE (URL "/INBOX/;UID=%d")' % uid)
    _, (out,) = appended_uid(r)
    assert body_of(c, "Out", out) == SOURCE
    r = c.ok(b'APPEND Out CATENATE (URL "/INBOX/;UID=%d/;PARTIAL=6.15")' % uid)
    _, (out,) = appended_uid(r)
    assert body_of(c, "Out", out) == SOURCE[6:21]
    # A PARTIAL past the end adds nothing.
    r = c.ok(b'APPEND Out CATENATE (URL "/INBOX/;UID=%d/;PARTIAL=100000.1" TEXT ' % uid +
             lit(b"X: y\r\n\r\nz\r\n") + b")")
    _, (out,) = appended_uid(r)
    assert body_of(c, "Out", out) == b"X: y\r\n\r\nz\r\n"


def test_parts_of_a_multipart_and_mailbox_names(c):
    c.ok('CREATE "Sent Items/2024"')
    _, (uid,) = source(c, "Sent Items/2024", MULTIPART)
    url = "/Sent%%20Items%%2F2024/;UID=%d" % uid
    r = c.ok(b'APPEND INBOX CATENATE (TEXT ' + lit(b"Subject: parts\r\n\r\n") +
             b' URL "%s/;SECTION=2" URL "%s/;section=1.MIME")' % (url.encode(), url.encode()))
    _, (out,) = appended_uid(r)
    assert body_of(c, "INBOX", out) == (b"Subject: parts\r\n\r\nsecond part"
                                        b"Content-Type: text/plain\r\n\r\n")
    r = c.ok(b'APPEND INBOX CATENATE (URL "%s/;SECTION=HEADER.FIELDS%%20(From)" TEXT '
             % url.encode() + lit(b"only from\r\n") + b")")
    _, (out,) = appended_uid(r)
    assert body_of(c, "INBOX", out) == b"From: bar@example.com\r\n\r\nonly from\r\n"


def test_multiappend_with_catenate(c):
    _, (uid,) = source(c)
    r = c.ok(b'APPEND INBOX CATENATE (URL "/INBOX/;UID=%d/;SECTION=HEADER" TEXT ' % uid +
             lit(b"one\r\n") + b") (\\Flagged) " + lit(b"Subject: two\r\n\r\ntwo\r\n"))
    _, uids = appended_uid(r)
    assert len(uids) == 2
    assert body_of(c, "INBOX", uids[0]).endswith(b"\r\n\r\none\r\n")
    assert body_of(c, "INBOX", uids[1]) == b"Subject: two\r\n\r\ntwo\r\n"


def test_bad_urls(server, c):
    validity, (uid,) = source(c)
    c.ok('SELECT INBOX')
    before = c.ok("STATUS INBOX (MESSAGES)").untagged
    bad = [
        '"/INBOX;UIDVALIDITY=%d/;UID=%d"' % (validity + 1, uid),
        '"/INBOX/;UID=%d"' % (uid + 100),
        '"/Nowhere/;UID=%d"' % uid,
        '"imap://bob@example.org/INBOX/;UID=1"',
        '"//localhost/INBOX/;UID=1"',
        '"/INBOX/;UID=%d/;SECTION=FOO"' % uid,
        '"/INBOX/;UID=%d/;URLAUTH=anonymous"' % uid,
    ]
    for url in bad:
        r = c.run(b"APPEND INBOX CATENATE (TEXT " + lit(b"a: b\r\n\r\n") +
                  b" URL " + url.encode() + b")")
        assert r.status == "NO" and r.code and r.code.startswith("BADURL"), r.exchange()
    # Nothing was stored by the refused ones, and the session goes on.
    assert c.ok("STATUS INBOX (MESSAGES)").untagged == before
    # A missing target mailbox is TRYCREATE, even with a bad URL in it.
    r = c.run(b'APPEND Nowhere CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=1")')
    assert r.status == "NO" and r.code == "TRYCREATE", r.exchange()
    # TEXT may be a literal8 (BINARY is offered).
    r = c.ok(b"APPEND INBOX CATENATE (TEXT ~{11+}\r\nA: b\r\n\r\nc\r\n)")
    _, (out,) = appended_uid(r)
    assert body_of(c, "INBOX", out) == b"A: b\r\n\r\nc\r\n"
    c.ok("SELECT INBOX")
    # Malformed parts are BAD.
    for parts in (b"()", b"(TEXT)", b'(URL "/INBOX/;UID=1" TEXT)', b"(FOO " + lit(b"x") + b")",
                  b'(TEXT "quoted")'):
        r = c.run(b"APPEND INBOX CATENATE " + parts)
        assert r.status == "BAD", r.exchange()
    c.ok("NOOP")


def test_too_big(make):
    server = make("smtp.max_message_size = 4096")
    c = connect(server)
    try:
        _, (uid,) = source(c, data=b"Subject: big\r\n\r\n" + b"x" * 3000 + b"\r\n")
        url = b' URL "/INBOX/;UID=%d"' % uid
        c.ok(b"APPEND INBOX CATENATE (" + url[1:] + b")")
        r = c.run(b"APPEND INBOX CATENATE (" + url[1:] + url + b")")
        assert r.status == "NO" and r.code == "TOOBIG", r.exchange()
        c.ok("NOOP")
    finally:
        close(c)
