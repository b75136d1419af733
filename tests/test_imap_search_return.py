"""SEARCH and SORT answers beyond RFC 4731 ESEARCH, with imaplib: ESORT and
CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267: RETURN (UPDATE), ADDTO,
REMOVEFROM, CANCELUPDATE), PARTIAL (RFC 9394, negative ranges too) and
SORT=DISPLAY (RFC 5957)."""
import re

import pytest

from imap_util import (close, connect, encoded_word, lit, append_many, small_message, seqset)

# What the server keeps up to date per session (IMAP_SEARCH_MAX_UPDATES).
MAX_UPDATES = 8

ESEARCH = re.compile(rb'\* ESEARCH \(TAG "([^"]*)"\)( UID)?(.*)$')


@pytest.fixture
def c(server):
    client = connect(server)
    yield client
    close(client)


def esearch_lines(resp):
    """[(tag, uid, rest)] of the ESEARCH responses, in order."""
    out = []
    for u in resp.untagged:
        m = ESEARCH.match(u.rstrip(b"\r\n"))
        if m:
            out.append((m.group(1).decode(), bool(m.group(2)), m.group(3).decode().strip()))
    return out


def one_esearch(resp):
    rows = esearch_lines(resp)
    assert len(rows) == 1, resp.exchange()
    return rows[0]


def msg(subject, frm="x@example.net", to="alice@example.org"):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash(subject + frm))}@t>\r\n\r\nbody\r\n").encode()


def test_capabilities(c):
    r = c.ok("CAPABILITY")
    caps = r.lines("CAPABILITY")[0].upper().split()
    for cap in (b"ESORT", b"SORT=DISPLAY", b"CONTEXT=SEARCH", b"CONTEXT=SORT", b"PARTIAL"):
        assert cap in caps, r.exchange()


def test_esort(c):
    append_many(c, "INBOX", [msg("b"), msg("d"), msg("a"), msg("c")])
    c.select_box()
    # sort order by subject: 3 (a), 1 (b), 4 (c), 2 (d)
    r = c.ok("SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")
    assert one_esearch(r)[2] == "MIN 3 MAX 2 ALL 3,1,4,2 COUNT 4", r.exchange()
    r = c.ok("SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL")
    assert one_esearch(r)[2] == "ALL 2,4,1,3", r.exchange()
    r = c.ok("SORT RETURN (COUNT) (SUBJECT) UTF-8 SUBJECT zzz")
    assert one_esearch(r)[2] == "COUNT 0", r.exchange()
    r = c.ok("UID SORT RETURN (MIN) (SUBJECT) UTF-8 ALL")
    tag, uid, rest = one_esearch(r)
    assert uid and rest.startswith("MIN "), r.exchange()
    assert c.run("SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL").status == "BAD"
    assert c.run("SORT RETURN (FOO) (SUBJECT) UTF-8 ALL").status == "BAD"
    # a plain SORT still answers * SORT
    r = c.ok("SORT (SUBJECT) UTF-8 ALL")
    assert r.lines("SORT") and not esearch_lines(r), r.exchange()


def test_partial(c):
    append_many(c, "INBOX", [small_message(i) for i in range(1, 11)])
    c.select_box()
    c.ok("STORE 3 +FLAGS (\\Deleted)")
    cases = {
        "PARTIAL 1:3": "PARTIAL (1:3 1:3)",
        "PARTIAL 5:2": "PARTIAL (2:5 2:5)",
        "PARTIAL -1:-3": "PARTIAL (-1:-3 8:10)",
        "PARTIAL -3:-1": "PARTIAL (-1:-3 8:10)",
        "PARTIAL 8:20": "PARTIAL (8:20 8:10)",
        "PARTIAL 11:12": "PARTIAL (11:12 NIL)",
        "PARTIAL -11:-20": "PARTIAL (-11:-20 NIL)",
        "PARTIAL -9:-20": "PARTIAL (-9:-20 1:2)",
        "PARTIAL 1:2 COUNT": "PARTIAL (1:2 1:2) COUNT 10",
    }
    for opts, want in cases.items():
        r = c.ok(f"SEARCH RETURN ({opts}) ALL")
        assert one_esearch(r)[2] == want, (opts, r.exchange())
    # the window is of the result, not of the mailbox
    r = c.ok("SEARCH RETURN (PARTIAL 2:3) UNDELETED")
    assert one_esearch(r)[2] == "PARTIAL (2:3 2,4)", r.exchange()
    # subjects "bulk 1".."bulk 10": reversed, the last two are 10 and 1
    r = c.ok("SORT RETURN (PARTIAL -1:-2) (REVERSE SUBJECT) UTF-8 ALL")
    assert one_esearch(r)[2] == "PARTIAL (-1:-2 10,1)", r.exchange()
    uids = [int(x) for x in re.findall(rb"UID (\d+)", b"".join(c.ok("FETCH 1:* (UID)").untagged))]
    r = c.ok("UID SEARCH RETURN (PARTIAL -1:-1) ALL")
    assert one_esearch(r)[1:] == (True, f"PARTIAL (-1:-1 {uids[-1]})"), r.exchange()
    for bad in ("PARTIAL 1", "PARTIAL 1:*", "PARTIAL *:1", "PARTIAL 0:3", "PARTIAL -1:2",
                "PARTIAL 1:4294967296", "PARTIAL 1:2 ALL", "PARTIAL"):
        r = c.run(f"SEARCH RETURN ({bad}) ALL")
        assert r.status == "BAD", (bad, r.exchange())


def test_sort_display(c):
    # RFC 5957: the display name (RFC 2047 decoded), else the address, a
    # group's name for a group; plain FROM sorts by the mailbox instead.
    froms = [
        "Zed <aaa@example.net>",                       # 1: "Zed"
        "bbb@example.net",                             # 2: "bbb@example.net"
        f"{encoded_word('Ärger')} <ccc@example.net>",  # 3: "Ärger"
        '"Mike" <zzz@example.net>',                    # 4: "Mike"
        "undisclosed: ;",                              # 5: "undisclosed"
    ]
    append_many(c, "INBOX", [msg(f"s{i}", frm=f) for i, f in enumerate(froms, 1)])
    c.select_box()
    r = c.ok("SORT (DISPLAYFROM) UTF-8 ALL")
    assert r.lines("SORT")[0].split()[2:] == b"3 2 4 5 1".split(), r.exchange()
    r = c.ok("SORT (REVERSE DISPLAYFROM) UTF-8 ALL")
    assert r.lines("SORT")[0].split()[2:] == b"1 5 4 2 3".split(), r.exchange()
    r = c.ok("SORT (FROM) UTF-8 ALL")
    assert r.lines("SORT")[0].split()[2:] == b"1 2 3 5 4".split(), r.exchange()
    append_many(c, "INBOX", [msg("t", to="Bob <b@x.org>"), msg("u", to="a@x.org")])
    c.ok("NOOP")
    r = c.ok("SORT (DISPLAYTO) UTF-8 6:7")
    assert r.lines("SORT")[0].split()[2:] == b"7 6".split(), r.exchange()


def test_context_search_updates(server, c):
    append_many(c, "INBOX", [small_message(i) for i in range(1, 6)])
    c.select_box()
    other = connect(server)
    try:
        other.select_box()
        r = c.ok("SEARCH RETURN (UPDATE) SEEN")
        tag = one_esearch(r)[0]
        # a change by another session reaches this one at its next command
        other.ok("STORE 2,4 +FLAGS (\\Seen)")
        r = c.ok("NOOP")
        assert one_esearch(r) == (tag, False, "ADDTO (0 2,4)"), r.exchange()
        # its own change, before the tagged answer
        r = c.ok("STORE 2 -FLAGS (\\Seen)")
        assert one_esearch(r) == (tag, False, "REMOVEFROM (0 2)"), r.exchange()
        # an expunge: REMOVEFROM comes before the EXPUNGE, with the
        # sequence number the message had
        other.ok("STORE 4 +FLAGS (\\Deleted)")
        other.ok("EXPUNGE")
        r = c.ok("NOOP")
        lines = [u for u in r.untagged if b"ESEARCH" in u or b"EXPUNGE" in u]
        assert lines[0].startswith(b'* ESEARCH (TAG "' + tag.encode() + b'") REMOVEFROM (0 4)')
        assert lines[1].startswith(b"* 4 EXPUNGE"), r.exchange()
        # a new message that matches: ADDTO after EXISTS
        other.run(b"APPEND INBOX (\\Seen) " + lit(small_message(9))).expect("OK")
        r = c.ok("NOOP")
        exists = [i for i, u in enumerate(r.untagged) if u.endswith(b"EXISTS") or
                  u.rstrip(b"\r\n").endswith(b"EXISTS")]
        adds = [i for i, u in enumerate(r.untagged) if b"ADDTO" in u]
        assert exists and adds and exists[0] < adds[0], r.exchange()
        assert one_esearch(r) == (tag, False, "ADDTO (0 5)"), r.exchange()
        # CANCELUPDATE: nothing more
        assert c.run('CANCELUPDATE "nosuchtag"').status == "BAD"
        c.ok(f'CANCELUPDATE "{tag}"')
        other.ok("STORE 1 +FLAGS (\\Seen)")
        r = c.ok("NOOP")
        assert not esearch_lines(r), r.exchange()
        assert c.run(f'CANCELUPDATE "{tag}"').status == "BAD"
    finally:
        close(other)


def test_context_in_idle_and_counts(server, c):
    append_many(c, "INBOX", [small_message(i) for i in range(1, 4)])
    c.select_box()
    r = c.ok("UID SEARCH RETURN (UPDATE COUNT MIN) FLAGGED")
    assert one_esearch(r)[2] == "COUNT 0", r.exchange()
    uids = [int(x) for x in re.findall(rb"UID (\d+)", b"".join(c.ok("FETCH 1:* (UID)").untagged))]
    other = connect(server)
    try:
        other.select_box()
        c.idle_start()
        other.ok("STORE 2 +FLAGS (\\Flagged)")
        seen = []
        for _ in range(3):
            line = c.idle_wait(5)
            if line is None:
                break
            seen.append(line)
            if b"ESEARCH" in line:
                break
        c.idle_done()
        got = [ESEARCH.match(x.rstrip(b"\r\n")) for x in seen if b"ESEARCH" in x]
        assert got and got[0].group(2) and \
            got[0].group(3).decode().strip() == f"MIN {uids[1]} COUNT 1", seen
    finally:
        close(other)


def test_context_sort_positions(server, c):
    append_many(c, "INBOX", [msg("b"), msg("d"), msg("f")])
    c.select_box()
    r = c.ok("UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
    tag, _, rest = one_esearch(r)
    before = seqset(rest.split()[1]) if rest else []
    other = connect(server)
    try:
        other.select_box()
        other.run(b"APPEND INBOX " + lit(msg("c"))).expect("OK")
        r = c.ok("NOOP")
        uid_c = max(int(x) for x in re.findall(rb"UID (\d+)",
                                                b"".join(c.ok("FETCH 1:* (UID)").untagged)))
        # "c" goes third in subject order: position 2 (after "b")
        assert one_esearch(r) == (tag, True, f"ADDTO (2 {uid_c})"), r.exchange()
        other.ok("STORE 1 +FLAGS (\\Deleted)")   # "b", position 1
        other.ok("EXPUNGE")
        r = c.ok("NOOP")
        assert one_esearch(r) == (tag, True, f"REMOVEFROM (1 {before[0]})"), r.exchange()
    finally:
        close(other)


def test_context_limits(c):
    append_many(c, "INBOX", [small_message(1)])
    c.select_box()
    for i in range(MAX_UPDATES):
        r = c.ok("SEARCH RETURN (UPDATE) ALL")
        assert "NOUPDATE" not in " ".join(r.codes()), r.exchange()
    r = c.ok("SEARCH RETURN (UPDATE) ALL")
    assert any(x.startswith("NOUPDATE") for x in r.codes()), r.exchange()
    assert one_esearch(r)[2] == "ALL 1", r.exchange()
    # PARTIAL is answered, but not kept
    c.ok("UNSELECT")
    c.select_box()
    r = c.ok("SEARCH RETURN (UPDATE PARTIAL 1:5) ALL")
    assert any(x.startswith("NOUPDATE") for x in r.codes()), r.exchange()
    # after SELECT again the earlier ones are gone: room for eight more
    for i in range(MAX_UPDATES):
        r = c.ok("SEARCH RETURN (UPDATE) ALL")
        assert "NOUPDATE" not in " ".join(r.codes()), r.exchange()


def test_context_with_sequence_numbers(server, c):
    """A program that reads sequence numbers is evaluated whole again: an
    expunge that moves a flagged message into 2:3 adds it."""
    append_many(c, "INBOX", [small_message(i) for i in range(1, 6)])
    c.select_box()
    r = c.ok("SEARCH RETURN (UPDATE) 2:3 FLAGGED")
    tag = one_esearch(r)[0]
    r = c.ok("STORE 3 +FLAGS (\\Flagged)")
    assert one_esearch(r) == (tag, False, "ADDTO (0 3)"), r.exchange()
    r = c.ok("STORE 4 +FLAGS (\\Flagged)")
    assert not esearch_lines(r), r.exchange()
    other = connect(server)
    try:
        other.select_box()
        other.ok("STORE 1 +FLAGS (\\Deleted)")
        other.ok("EXPUNGE")
    finally:
        close(other)
    r = c.ok("NOOP")
    assert r.has("1 EXPUNGE") and one_esearch(r) == (tag, False, "ADDTO (0 3)"), r.exchange()
