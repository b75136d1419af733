"""Header FETCH and SEARCH HEADER from the copy of the header section the
store keeps at delivery (store.h, "Header copies"): a message delivered
over SMTP and one APPENDed answer HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT
and RFC822.HEADER byte for byte as their files say (folded lines, a field
with an empty value included), with the copy and, for a message stored
without one, from the file; COPY shares the copy and the clean-up removes
it with the file."""
import smtplib
import sqlite3
import time

from imap_util import ALICE, as_bytes, close, connect, fetches_by_uid, lit, search_result

HEADER = (b"From: Alice Example <alice@remote.test>\r\n"
          b"To: " + ALICE.encode() + b",\r\n"
          b"\tCarol <carol@example.org>\r\n"
          b"Cc: team@example.org\r\n"
          b"Subject: =?UTF-8?Q?Quarterly_=C3=84nderungen?= and a subject folded\r\n"
          b"  over two lines\r\n"
          b"Date: Mon, 7 Dec 2026 05:00:00 +0000\r\n"
          b"Message-ID: <headers.1@remote.test>\r\n"
          b"References: <a.1@remote.test>\r\n <b.2@remote.test>\r\n"
          b"X-Empty:\r\n"
          b"X-Spaced :  value with space before the colon\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\n"
          b"\r\n")
BODY = b"Body line one.\r\nX-Not-A-Header: in the body\r\n"
COMMON = ["FROM", "TO", "CC", "SUBJECT", "DATE", "MESSAGE-ID", "REFERENCES", "IN-REPLY-TO",
          "CONTENT-TYPE"]


def header_block(content):
    """The header section of content, up to and with the blank line."""
    end = content.index(b"\r\n\r\n") + 4
    return content[:end]


def header_fields(block, names, negate=False):
    """What HEADER.FIELDS (or .NOT) of names answers, computed from the
    header block as the file holds it: whole fields (continuation lines
    included) whose name matches, in order, then the blank line."""
    wanted = {n.lower() for n in names}
    lines = block[:-2].split(b"\r\n")[:-1]
    fields, out = [], []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    for f in fields:
        name = f.split(b":", 1)[0].rstrip(b" \t").decode().lower()
        if (name in wanted) != negate:
            out.append(f)
    return b"".join(out) + b"\r\n"


def store_db(server):
    db = sqlite3.connect(f"{server.account_dir(ALICE)}/store.db", timeout=10)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def kept_copies(server):
    db = store_db(server)
    try:
        return db.execute("SELECT count(*) FROM headers").fetchone()[0]
    finally:
        db.close()


def check_headers(c, uid):
    """Every header item of message uid, against its content as fetched."""
    r = c.ok(f"UID FETCH {uid} (BODY.PEEK[])")
    content = as_bytes(fetches_by_uid(r)[uid]["BODY[]"])
    block = header_block(content)
    items = {
        "BODY.PEEK[HEADER.FIELDS (" + " ".join(COMMON) + ")]": header_fields(block, COMMON),
        "BODY.PEEK[HEADER.FIELDS (x-empty X-SPACED)]":
            header_fields(block, ["x-empty", "x-spaced"]),
        "BODY.PEEK[HEADER.FIELDS.NOT (Subject References Received)]":
            header_fields(block, ["subject", "references", "received"], negate=True),
        "BODY.PEEK[HEADER.FIELDS (X-None)]": b"\r\n",
        "BODY.PEEK[HEADER]": block,
        "RFC822.HEADER": block,
        "BODY.PEEK[HEADER]<10.30>": block[10:40],
    }
    wrong = []
    for item, expected in items.items():
        r = c.ok(f"UID FETCH {uid} (UID RFC822.SIZE FLAGS {item})")
        got = fetches_by_uid(r)[uid]
        key = item.replace(".PEEK", "").replace("<10.30>", "<10>").upper()
        value = next((v for k, v in got.items() if k.upper() == key), "missing")
        if as_bytes(value) != expected:
            wrong.append(f"{item}: expected {expected!r}\ngot {value!r}\n{r.exchange()}")
        assert int(got["RFC822.SIZE"]) == len(content), r.exchange()
    assert not wrong, "\n\n".join(wrong)
    return block


def search_uids(c, key):
    return search_result(c.ok(f"UID SEARCH {key}"))


def test_header_items_from_copy_and_file(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=20) as s:
        s.sendmail("alice@remote.test", [ALICE], HEADER + BODY)
    server.wait_inbox(ALICE, 1)
    c = connect(server)
    try:
        c.select_box("INBOX")
        smtp_uid = search_uids(c, "ALL")[0]
        r = c.run(b"APPEND INBOX " + lit(HEADER + BODY)).expect("OK")
        appended_uid = int(r.code.split()[2])
        # One copy per content: the delivery's differs from the APPEND's
        # (delivery puts its trace fields in front).
        assert kept_copies(server) == 2
        with_copy = {uid: check_headers(c, uid) for uid in (smtp_uid, appended_uid)}
        assert with_copy[appended_uid] == HEADER
        assert with_copy[smtp_uid].endswith(HEADER)

        both = sorted([smtp_uid, appended_uid])
        assert search_uids(c, "HEADER X-Empty \"\"") == both
        assert search_uids(c, "HEADER Subject \"and a subject folded\"") == both
        assert search_uids(c, "HEADER References b.2@remote") == both
        assert search_uids(c, "HEADER X-Not-A-Header body") == []

        # A COPY shares the copy and answers alike.
        r = c.ok(f"UID COPY {appended_uid} Archive")
        assert kept_copies(server) == 2
        c.select_box("Archive")
        assert check_headers(c, search_uids(c, "ALL")[0]) == HEADER

        # Messages stored without a copy (as before it was kept): the
        # same answers from the files.
        db = store_db(server)
        db.execute("DELETE FROM headers")
        db.commit()
        db.close()
        c.select_box("INBOX")
        for uid in (smtp_uid, appended_uid):
            assert check_headers(c, uid) == with_copy[uid]
        assert search_uids(c, "HEADER X-Empty \"\"") == both
    finally:
        close(c)


def test_copy_goes_with_the_file(server):
    c = connect(server)
    try:
        c.select_box("INBOX")
        r = c.run(b"APPEND INBOX " + lit(HEADER + BODY)).expect("OK")
        uid = int(r.code.split()[2])
        c.ok(f"UID COPY {uid} Archive")
        assert kept_copies(server) == 1
        c.ok(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.select_box("Archive")
        c.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        # The worker's clean-up runs on idle time: the copy goes with the
        # file once no message names it.
        end = time.monotonic() + 30
        while kept_copies(server) and time.monotonic() < end:
            time.sleep(0.2)
        assert kept_copies(server) == 0
    finally:
        close(c)
