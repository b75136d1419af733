"""A header FETCH is answered in steps that the message sizes do not cut
(a list view reads its messages' state and header copies in one read per
step), and a step whose answer passes the session's output mark stops
between two messages and goes on where it stopped.  The answer must be
byte for byte the same whatever the steps: each FETCH here over many
messages is compared with the same items fetched one message at a time,
over messages with large bodies (which cut a body FETCH's steps), large
headers (whose answers pass the output mark within one step), messages
without a header copy and an expunged message inside the range.  A list
view's step takes the messages' state from their heads: its answers are
compared with the full path's too (flags, keywords, MODSEQ), and so are
those of state and ENVELOPE, read from envelopes."""
from imap_util import append_many, close, connect

from test_fetch_head import BENCH_ITEMS, compare, filler, message
from test_imap_headers import store_db

# imap-session.h: IMAP_SESSION_OUTPUT_HIGH.
OUTPUT_HIGH = 256 * 1024
# store.h: STORE_HEADER_KEEP_MAX.
HEADER_KEEP_MAX = 32 * 1024


def big_body(n):
    """message(n) with a body of about 300 KB (its header unchanged)."""
    head, body = message(n).split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n" + body + (b"x" * 998 + b"\r\n") * 300


def one_by_one(c, uids, items):
    """The FETCH answers of uids, each fetched by itself."""
    out = []
    for uid in uids:
        got = [u for u in c.ok(f"UID FETCH {uid} ({items})").untagged if b" FETCH (" in u]
        assert len(got) == 1, (uid, got)
        out.append(got[0])
    return out


def test_head_fetch_steps_answer_as_one_by_one(server):
    c = connect(server)
    try:
        c.select_box("INBOX")
        contents = []
        for n in range(120):
            if n % 3 == 0:
                contents.append(big_body(n))
            elif n % 3 == 1:
                # A header near the copy's limit: 40 of them pass the
                # output mark several times over.
                contents.append(message(n, filler(HEADER_KEEP_MAX - 100)))
            else:
                contents.append(message(n))
        contents += [b"Subject: only a header, no body\r\n", b"\r\nno header at all\r\n"]
        uids = append_many(c, "INBOX", contents, batch=20)
        assert len(uids) == len(contents)
        c.ok(f"UID STORE {uids[5]} +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        db = store_db(server)
        db.execute("DELETE FROM headers WHERE blob IN (SELECT blob FROM messages"
                   f" WHERE uid IN ({uids[8]}, {uids[60]}))")
        db.commit()
        db.close()
        c.select_box("INBOX")
        kept = [u for u in uids if u != uids[5]]

        for items in (BENCH_ITEMS, "UID FLAGS BODY.PEEK[HEADER]",
                      "RFC822.SIZE BODY.PEEK[HEADER.FIELDS (Subject X-Filler)]"):
            whole = [u for u in c.ok(f"UID FETCH {uids[0]}:{uids[-1]} ({items})").untagged
                     if b" FETCH (" in u]
            assert whole == one_by_one(c, kept, items), items
        # The header answers pass the output mark within one step.
        total = sum(len(u) for u in c.ok("FETCH 1:* (BODY.PEEK[HEADER])").untagged)
        assert total > 3 * OUTPUT_HIGH
        # And the light answers are still the full path's, the state the
        # heads gave (flags, keywords, MODSEQ, size, date) included.
        c.ok(f"UID STORE {uids[1]},{uids[40]}:{uids[44]} +FLAGS (\\Answered $Work)")
        c.ok(f"UID STORE {uids[2]} +FLAGS (\\Seen \\Flagged)")
        compare(c, f"UID FETCH {uids[0]}:{uids[-1]}", BENCH_ITEMS)
        compare(c, "FETCH 1:*", "UID FLAGS BODY.PEEK[HEADER]")
        compare(c, f"UID FETCH {uids[0]}:{uids[-1]}",
                "UID FLAGS MODSEQ RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (Subject)]")
        compare(c, f"UID FETCH {uids[0]}:{uids[-1]}", "UID FLAGS BODY.PEEK[HEADER]",
                " (CHANGEDSINCE 1)")
        # A message list's ENVELOPEs come from envelopes, not metas: the
        # same answers as the full path's and as one message at a time.
        compare(c, "FETCH 1:*", "FLAGS UID RFC822.SIZE ENVELOPE")
        compare(c, f"UID FETCH {uids[0]}:{uids[-1]}", "UID FLAGS MODSEQ INTERNALDATE ENVELOPE",
                " (CHANGEDSINCE 1)")
        items = "FLAGS UID RFC822.SIZE ENVELOPE"
        whole = [u for u in c.ok(f"UID FETCH {uids[0]}:{uids[-1]} ({items})").untagged
                 if b" FETCH (" in u]
        assert whole == one_by_one(c, kept, items)
    finally:
        close(c)


def test_body_fetch_steps_answer_as_one_by_one(server):
    """A body FETCH, whose steps the message sizes cut, and whose answer
    passes the output mark between messages as within them."""
    c = connect(server)
    try:
        c.select_box("INBOX")
        contents = [big_body(n) if n % 2 else message(n) for n in range(24)]
        uids = append_many(c, "INBOX", contents, batch=8)
        items = "UID BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<0.2000> RFC822.SIZE"
        whole = [u for u in c.ok(f"UID FETCH {uids[0]}:{uids[-1]} ({items})").untagged
                 if b" FETCH (" in u]
        assert whole == one_by_one(c, uids, items)
        whole = [u for u in c.ok(f"UID FETCH {uids[0]}:{uids[-1]} (UID BODY.PEEK[])").untagged
                 if b" FETCH (" in u]
        assert [len(u) for u in whole] == [len(u) for u in one_by_one(c, uids, "UID BODY.PEEK[]")]
        assert whole == one_by_one(c, uids, "UID BODY.PEEK[]")
    finally:
        close(c)
