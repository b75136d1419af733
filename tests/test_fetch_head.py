"""A FETCH of message state and header fields (what a client's message
list asks, and bench/imap's fetch-headers phase) is answered from the
store's message state and header copies without the pre-parsed meta
(store_message_head_list).  Its answers must be byte for byte those of the
full path: each FETCH here is sent twice, once as is and once with a
BODY.PEEK[TEXT] item past the end added (which needs the full meta, and
answers nothing), over messages with and without a header
copy (a header over STORE_HEADER_KEEP_MAX, copies removed as for messages
stored before they were kept), a header without a body, an expunged
message inside the range, sparse sets and sequence numbers."""
import re
import smtplib

from imap_util import ALICE, close, connect, lit

from test_imap_headers import store_db

# store.h: STORE_HEADER_KEEP_MAX.
HEADER_KEEP_MAX = 32 * 1024
BENCH_ITEMS = ("UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE "
               "MESSAGE-ID REFERENCES IN-REPLY-TO CONTENT-TYPE)]")
OTHER_ITEMS = [
    "FLAGS INTERNALDATE MODSEQ BODY.PEEK[HEADER]",
    "RFC822.HEADER UID",
    "BODY.PEEK[HEADER.FIELDS.NOT (Received Subject X-Filler)]",
    "BODY.PEEK[HEADER]<5.40> BODY.PEEK[HEADER.FIELDS (Subject)]<2.8>",
    "BODY.PEEK[HEADER.FIELDS (X-None)]",
]
# A section past any message's end: the full path, an empty answer.
FULL_ITEM = "BODY.PEEK[TEXT]<4000000000.1>"
FULL_ANSWER = re.compile(rb' BODY\[TEXT\]<4000000000> (\{0\}\r\n|"")')


def message(n, extra=b""):
    return (b"From: Sender %d <s%d@remote.test>\r\n" % (n, n)
            + b"To: " + ALICE.encode() + b",\r\n\tCarol <carol@example.org>\r\n"
            + b"Subject: message %d\r\n  folded\r\n" % n
            + b"Date: Mon, 7 Dec 2026 05:00:%02d +0000\r\n" % (n % 60)
            + b"Message-ID: <head.%d@remote.test>\r\n" % n
            + b"References: <a.%d@remote.test>\r\n <b.%d@remote.test>\r\n" % (n, n)
            + b"X-Empty:\r\n"
            + extra
            + b"MIME-Version: 1.0\r\n"
            + b"Content-Type: multipart/alternative; boundary=\"b\"\r\n"
            + b"\r\n"
            + b"--b\r\nContent-Type: text/plain\r\n\r\nplain %d\r\n" % n
            + b"--b\r\nContent-Type: text/html\r\n\r\n<p>html %d</p>\r\n--b--\r\n" % n)


def filler(header_size):
    """An X-Filler field making message(0)'s header header_size octets."""
    base = len(message(0).split(b"\r\n\r\n", 1)[0]) + 4
    value = header_size - base - len(b"X-Filler: \r\n")
    return b"X-Filler: " + b"f" * value + b"\r\n"


def compare(c, fetch, items, mods=""):
    """FETCH items, then the same with an item that needs the full meta:
    every answer of the first is the second's without that item."""
    light = c.ok(f"{fetch} ({items}){mods}").untagged
    full = c.ok(f"{fetch} ({items} {FULL_ITEM}){mods}").untagged
    light = [u for u in light if b" FETCH (" in u]
    full = [u for u in full if b" FETCH (" in u]
    assert len(light) == len(full) and light, (fetch, items, light, full)
    for a, b in zip(light, full):
        m = FULL_ANSWER.search(b)
        assert m, (a, b)
        assert a == b[:m.start()] + b[m.end():], (fetch, items, a, b)
    return light


def test_head_fetch_equals_full_fetch(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=20) as s:
        s.sendmail("s@remote.test", [ALICE], message(1))
    server.wait_inbox(ALICE, 1)
    c = connect(server)
    try:
        c.select_box("INBOX")
        uids = [1]
        contents = [message(2), message(3, filler(HEADER_KEEP_MAX)),
                    message(4, filler(HEADER_KEEP_MAX + 1)),
                    b"Subject: only a header, no body\r\n",
                    b"\r\nno header at all\r\n"]
        contents += [message(n) for n in range(5, 45)]
        for content in contents:
            r = c.run(b"APPEND INBOX " + lit(content)).expect("OK")
            uids.append(int(r.code.split()[2]))
        c.ok(f"UID STORE {uids[2]},{uids[7]} +FLAGS (\\Flagged $Label1)")
        c.ok(f"UID STORE {uids[9]} +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        # Messages stored before copies were kept: none for these.
        db = store_db(server)
        db.execute("DELETE FROM headers WHERE blob IN (SELECT blob FROM messages"
                   f" WHERE uid IN ({uids[10]}, {uids[12]}))")
        db.commit()
        db.close()
        c.select_box("INBOX")

        answers = compare(c, f"UID FETCH {uids[0]}:{uids[-1]}", BENCH_ITEMS)
        assert len(answers) == len(uids) - 1
        # The header at the limit is answered whole; the one over it too.
        big = [a for a in answers if b"X-Filler" in a]
        assert big == []  # not among the fields asked
        for items in OTHER_ITEMS:
            compare(c, "FETCH 1:*", items)
        compare(c, f"UID FETCH {uids[3]},{uids[4]},{uids[10]}:{uids[13]},{uids[30]}:*",
                BENCH_ITEMS)
        compare(c, "FETCH 2,4:6,20", "BODY.PEEK[HEADER]")
        compare(c, "UID FETCH 1:*", "UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)]",
                " (CHANGEDSINCE 1)")
        sizes = [len(a) for a in c.ok(f"UID FETCH {uids[3]}:{uids[4]} (BODY.PEEK[HEADER])").untagged]
        assert max(sizes) > HEADER_KEEP_MAX
    finally:
        close(c)


def test_head_fetch_sets_seen(server):
    """BODY[HEADER.FIELDS] without PEEK sets \\Seen and says so, from the
    light path as from the full one."""
    c = connect(server)
    try:
        c.select_box("INBOX")
        for n in range(4):
            c.run(b"APPEND INBOX " + lit(message(n))).expect("OK")
        light = c.ok("FETCH 1:2 (BODY[HEADER.FIELDS (Subject)])").untagged
        full = c.ok("FETCH 3:4 (BODY[HEADER.FIELDS (Subject)] ENVELOPE)").untagged
        light = [u for u in light if b" FETCH (" in u]
        full = [u for u in full if b" FETCH (" in u]
        assert len(light) == 2 and len(full) == 2
        for a in light:
            assert b"FLAGS (\\Seen" in a and b"BODY[HEADER.FIELDS (SUBJECT)]" in a, a
        for b in full:
            assert b"FLAGS (\\Seen" in b, b
        again = c.ok("FETCH 1:4 (FLAGS)").untagged
        assert sum(1 for u in again if b"\\Seen" in u) == 4
    finally:
        close(c)
