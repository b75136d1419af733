"""IMAP: what SELECT and EXAMINE answer (EXISTS, RECENT, [UNSEEN n],
UIDNEXT, HIGHESTMODSEQ) agrees with the messages a client then fetches, in
a mailbox with expunged, seen and unseen messages and in a larger one, and
the header fields a client lists a folder with come back exactly as
stored.  SELECT reads its view from the store's indexes
(store_mailbox_view), and FETCH reads the metas of 32 messages at a time
(store_message_meta_list) and opens each one's content from its meta
(store_reader_open_meta): these tests hold both to what the messages say.
"""
import pytest

from imap_util import (append_many, as_bytes, close, connect, fetches, flags_of,
                       search_result, small_message)

# Large enough that the view spans many index pages, small enough for a
# test run (a 100,000-message mailbox is timed by src/imap/bench-select).
LARGE_MAILBOX = 1500
# A message list as clients fetch it.
HEADER_FIELDS = "From To Cc Subject Date Message-ID"


@pytest.fixture
def c(server):
    client = connect(server)
    yield client
    close(client)


def code_value(resp, name):
    for code in resp.codes():
        parts = code.split(" ", 1)
        if parts[0].upper() == name:
            return parts[1] if len(parts) > 1 else ""
    return None


def view(c):
    """[(seq, uid, flags)] of the selected mailbox as FETCH shows it."""
    f = fetches(c.ok("FETCH 1:* (UID FLAGS)"))
    return [(seq, int(f[seq]["UID"]), flags_of(f[seq]["FLAGS"])) for seq in sorted(f)]


def check_select(c, mailbox, command="SELECT"):
    """SELECT (or EXAMINE) mailbox and check its answer against the view."""
    r = c.ok(f"{command} {mailbox} (CONDSTORE)" if command == "SELECT" else
             f"{command} {mailbox}")
    exists = [int(x[0]) for x in r.of("EXISTS")]
    msgs = view(c) if exists and exists[-1] > 0 else []
    assert exists and exists[-1] == len(msgs), r.exchange()
    assert [m[0] for m in msgs] == list(range(1, len(msgs) + 1))
    uids = [m[1] for m in msgs]
    assert uids == sorted(set(uids)), "UIDs must ascend"
    unseen = [m[0] for m in msgs if "\\Seen" not in m[2]]
    got = code_value(r, "UNSEEN")
    if unseen:
        assert got is not None and int(got) == unseen[0], r.exchange()
    else:
        assert got is None, r.exchange()
    uidnext = int(code_value(r, "UIDNEXT"))
    assert not uids or uidnext > uids[-1], r.exchange()
    assert r.of("RECENT"), r.exchange()
    return r, uids


def test_select_answers_match_the_messages(c):
    uids = append_many(c, "INBOX", [small_message(i) for i in range(40)],
                       flags=["(\\Seen)" if i % 3 == 0 or i < 5 else "" for i in range(40)])
    c.ok("SELECT INBOX")
    # Expunge the first unseen one and some others: the view must skip them.
    c.ok(f"UID STORE {uids[5]},{uids[7]},{uids[20]}:{uids[25]} +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    c.ok("UNSELECT")
    r, view_uids = check_select(c, "INBOX")
    assert view_uids == [u for i, u in enumerate(uids) if i not in (5, 7, *range(20, 26))]
    # Unseen were 5, 7 (both expunged) and 8, 10, 11, ...: 8 is the first.
    assert int(code_value(r, "UNSEEN")) == view_uids.index(uids[8]) + 1
    # HIGHESTMODSEQ is the mailbox's, as STATUS gives it.
    modseq = int(code_value(r, "HIGHESTMODSEQ"))
    c.ok("UNSELECT")
    st = c.ok("STATUS INBOX (HIGHESTMODSEQ UNSEEN MESSAGES)")
    status = dict(zip(*[iter(str(x) for x in st.of("STATUS")[0][2])] * 2))
    assert int(status["HIGHESTMODSEQ"]) == modseq, st.exchange()
    assert int(status["MESSAGES"]) == len(view_uids)

    # All seen: no [UNSEEN]; one more unseen at the end: it is the first.
    c.ok("SELECT INBOX")
    c.ok("STORE 1:* +FLAGS.SILENT (\\Seen)")
    c.ok("UNSELECT")
    check_select(c, "INBOX")
    extra = append_many(c, "INBOX", [small_message(99)])
    r, view_uids = check_select(c, "INBOX", "EXAMINE")
    assert view_uids[-1] == extra[0]
    assert int(code_value(r, "UNSEEN")) == len(view_uids)


def test_select_counts_recent_once(c, server):
    append_many(c, "Archive", [small_message(i) for i in range(4)])
    other = connect(server)
    try:
        # EXAMINE shows \Recent without taking it; the first SELECT takes it.
        r = other.ok("EXAMINE Archive")
        assert [int(x[0]) for x in r.of("RECENT")] == [4], r.exchange()
        r = c.ok("SELECT Archive")
        assert [int(x[0]) for x in r.of("RECENT")] == [4], r.exchange()
        r = other.ok("SELECT Archive")
        assert [int(x[0]) for x in r.of("RECENT")] == [0], r.exchange()
    finally:
        close(other)


def test_select_empty_and_missing(c):
    r, uids = check_select(c, "Drafts")
    assert uids == [] and code_value(r, "UNSEEN") is None
    assert c.run("SELECT Nowhere").status == "NO"


def test_select_large_mailbox(c):
    c.ok("CREATE Big")
    uids = append_many(c, "Big", [small_message(i) for i in range(LARGE_MAILBOX)],
                       flags=["(\\Seen)" if i < LARGE_MAILBOX - 10 else ""
                              for i in range(LARGE_MAILBOX)])
    c.ok("SELECT Big")
    c.ok(f"UID STORE {uids[100]}:{uids[199]} +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    c.ok("UNSELECT")
    r, view_uids = check_select(c, "Big")
    assert view_uids == uids[:100] + uids[200:]
    assert int(code_value(r, "UNSEEN")) == LARGE_MAILBOX - 100 - 10 + 1
    # UID SEARCH ALL (the view) and the sequence numbers agree at the end.
    assert search_result(c.ok("UID SEARCH ALL")) == view_uids
    last = fetches(c.ok(f"FETCH {len(view_uids)} UID"))
    assert int(last[len(view_uids)]["UID"]) == uids[-1]


def test_header_fields_of_a_message_list(c):
    msgs = [small_message(i, extra=f"Cc: carol{i}@example.org\r\n") for i in range(120)]
    append_many(c, "INBOX", msgs)
    c.ok("SELECT INBOX")
    r = c.ok(f"FETCH 21:* (UID FLAGS BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])")
    f = fetches(r)
    assert sorted(f) == list(range(21, 121)), r.exchange()
    for seq in (21, 60, 120):
        i = seq - 1
        text = as_bytes(next(v for k, v in f[seq].items()
                             if str(k).upper().startswith("BODY[HEADER.FIELDS")))
        assert f"Cc: carol{i}@example.org\r\n".encode() in text, text
        assert f"Message-ID: <bulk-{i}@ravelin.test>\r\n".encode() in text, text
        assert b"Subject:" in text and text.endswith(b"\r\n\r\n"), text
        # The same bytes as the whole header has them.
        whole = as_bytes(fetches(c.ok(f"FETCH {seq} BODY.PEEK[HEADER]"))[seq]["BODY[HEADER]"])
        for line in text.split(b"\r\n")[:-2]:
            assert line + b"\r\n" in whole
    # PEEK: nothing became \Seen.
    assert all("\\Seen" not in m[2] for m in view(c))
