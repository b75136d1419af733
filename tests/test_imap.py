"""IMAP: every command a mail client uses, over implicit TLS with imaplib
(RFC 3501, RFC 9051 and the extensions Ravelin announces: CONDSTORE,
QRESYNC, UIDPLUS, MOVE, IDLE, ESEARCH, SEARCHRES, SORT, THREAD, QUOTA,
LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, NAMESPACE, STATUS=SIZE,
UTF8=ACCEPT, MULTIAPPEND, BINARY, LITERAL+, ENABLE, ID, UNSELECT,
CHILDREN).

The assertions check what the RFCs require and leave alone what they
leave open (the order of untagged responses, the text after a status, the
choice between equivalent forms).  A failure message shows the exchange.
"""
import base64
import imaplib
import smtplib
import time
import zlib

import pytest

from imap_util import (ALICE, BOB, PASSWORD, CTX, Client, as_bytes, close, connect,
                       deliver, esearch, fetches, fetches_by_uid, flags_of, lit, pairs,
                       quote, search_result, seqset, append_many, small_message, wait_for)

AUTH_CAPABILITIES = ("IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS "
                     "UNSELECT CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE MOVE "
                     "CONDSTORE QRESYNC ESEARCH SEARCHRES SORT THREAD=REFERENCES "
                     "THREAD=ORDEREDSUBJECT QUOTA STATUS=SIZE UTF8=ACCEPT MULTIAPPEND "
                     "BINARY").split()


@pytest.fixture
def c(server):
    client = connect(server)
    yield client
    close(client)


def capabilities(client):
    r = client.ok("CAPABILITY")
    caps = set()
    for line in r.of("CAPABILITY"):
        caps.update(str(x).upper() for x in line[1:])
    return caps


def mailbox_names(resp, kind="LIST"):
    return [as_bytes(x[3]).decode() if isinstance(x[3], bytes) else x[3] for x in resp.of(kind)]


def list_attrs(resp, kind="LIST"):
    """{name: set of attributes} of LIST or LSUB responses."""
    return {(x[3] if not isinstance(x[3], bytes) else x[3].decode()): {a.lower() for a in x[1]}
            for x in resp.of(kind)}


def status_of(c, mailbox, items):
    r = c.ok(f"STATUS {quote(mailbox)} ({items})")
    rows = r.of("STATUS")
    assert len(rows) == 1, r.exchange()
    return {k: int(v) for k, v in pairs(rows[0][2]).items()}


def code_value(resp, name):
    """The argument of an untagged or tagged response code, e.g. UIDVALIDITY."""
    for code in resp.codes():
        parts = code.split(" ", 1)
        if parts[0].upper() == name:
            return parts[1] if len(parts) > 1 else ""
    raise AssertionError(f"no [{name}] in\n{resp.exchange()}")


def message(subject, body="body text\r\n", frm="sender@example.net", extra=""):
    mid = zlib.crc32((subject + body).encode())
    return (f"From: {frm}\r\nTo: alice@example.org\r\nSubject: {subject}\r\n"
            f"Date: Wed, 01 Mar 2023 10:00:00 +0000\r\n"
            f"Message-ID: <{mid}@ravelin.test>\r\n{extra}\r\n{body}").encode()


def fill(c, n, mailbox="INBOX"):
    return append_many(c, mailbox, [small_message(i) for i in range(1, n + 1)])


def uids_in_order(c):
    r = c.ok("FETCH 1:* (UID)")
    f = fetches(r)
    return [int(f[k]["UID"]) for k in sorted(f)]


# ---------- login (front) and the commands of any state ----------

def test_capability_noop_and_logout(server):
    c = Client(server.imaps_port)
    pre = capabilities(c)
    assert {"IMAP4REV1", "AUTH=PLAIN"} <= pre, pre
    assert "LOGINDISABLED" not in pre and "STARTTLS" not in pre
    c.ok("NOOP")
    typ, _ = c.login(ALICE, PASSWORD)
    assert typ == "OK"
    post = capabilities(c)
    missing = {x.upper() for x in AUTH_CAPABILITIES} - post
    assert not missing, f"not announced after login: {missing}\n{c.exchange()}"
    c.ok("NOOP")
    r = c.run("LOGOUT")
    assert r.ok and r.lines("BYE"), r.exchange()
    c.sock.settimeout(5)
    try:
        assert c.readline() == b"", c.exchange()   # closed after the tagged OK
    except ConnectionResetError:
        pass


def test_starttls_and_login_methods(server):
    # The STARTTLS port refuses credentials in clear text.
    p = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=20)
    caps = set(p.capabilities)
    assert {"STARTTLS", "LOGINDISABLED"} <= caps, caps
    with pytest.raises(imaplib.IMAP4.error):
        p.login(ALICE, PASSWORD)
    p.starttls(ssl_context=CTX)
    assert "LOGINDISABLED" not in p.capabilities and "STARTTLS" not in p.capabilities
    assert p.login(ALICE, PASSWORD)[0] == "OK"
    assert p.select("INBOX")[0] == "OK"
    p.logout()

    # AUTHENTICATE PLAIN with an initial response (SASL-IR) and without.
    c = Client(server.imaps_port)
    token = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    c.ok(f"AUTHENTICATE PLAIN {token}")
    c.ok("SELECT INBOX")
    close(c)
    c = Client(server.imaps_port)
    assert c.authenticate("PLAIN", lambda _: f"\0{BOB}\0{PASSWORD}".encode())[0] == "OK"
    close(c)

    # A wrong password: NO [AUTHENTICATIONFAILED], and the session goes on.
    c = Client(server.imaps_port)
    r = c.run(f"LOGIN {ALICE} wrong-password")
    assert r.status == "NO" and "AUTHENTICATIONFAILED" in (r.code or ""), r.exchange()
    c.ok(f"LOGIN {ALICE} {PASSWORD}")
    close(c)


def test_id(c):
    r = c.ok('ID ("name" "pytest" "version" "1.0")')
    ids = r.of("ID")
    assert len(ids) == 1, r.exchange()
    assert ids[0][1] is None or isinstance(ids[0][1], list), r.exchange()
    c.ok("ID NIL")


def test_enable(server):
    c = connect(server)
    r = c.ok("ENABLE CONDSTORE")
    assert r.of("ENABLED") and "CONDSTORE" in [str(x).upper() for x in r.of("ENABLED")[0]], \
        r.exchange()
    # QRESYNC implies CONDSTORE; unknown names are ignored, not refused.
    r = c.ok("ENABLE QRESYNC X-UNKNOWN-EXTENSION")
    enabled = {str(x).upper() for e in r.of("ENABLED") for x in e[1:]}
    assert "QRESYNC" in enabled and "X-UNKNOWN-EXTENSION" not in enabled, r.exchange()
    r = c.ok("ENABLE IMAP4rev2 UTF8=ACCEPT")
    enabled = {str(x).upper() for e in r.of("ENABLED") for x in e[1:]}
    assert {"IMAP4REV2", "UTF8=ACCEPT"} <= enabled, r.exchange()
    close(c)


def test_imap4rev2_mode(server):
    """After ENABLE IMAP4rev2: no RECENT, SEARCH answers ESEARCH (RFC 9051)."""
    c = connect(server)
    fill(c, 3)
    r = c.ok("SELECT INBOX")
    assert r.lines("RECENT"), "IMAP4rev1 SELECT must send RECENT\n" + r.exchange()
    c.ok("UNSELECT")
    c.ok("ENABLE IMAP4rev2")
    r = c.ok("SELECT INBOX")
    assert not r.lines("RECENT"), r.exchange()
    assert r.lines("EXISTS"), r.exchange()
    r = c.ok("SEARCH ALL")
    assert not r.lines("SEARCH"), r.exchange()
    assert esearch(r)["ALL"] == [1, 2, 3], r.exchange()
    r = c.ok("UID SEARCH 2")
    e = esearch(r)
    assert e.get("UID") and len(e["ALL"]) == 1, r.exchange()
    close(c)


# ---------- SELECT and EXAMINE ----------

def test_select_and_examine(c):
    uids = append_many(c, "INBOX", [message("one"), message("two"), message("three")],
                       flags=["(\\Seen)", "", ""])
    r = c.ok("SELECT INBOX")
    assert any(x[0] == "3" for x in r.of("EXISTS")), r.exchange()
    flags = r.of("FLAGS")
    assert flags and {"\\Seen", "\\Deleted", "\\Flagged", "\\Answered", "\\Draft"} <= \
        set(flags[0][1]), r.exchange()
    assert "\\*" in code_value(r, "PERMANENTFLAGS"), r.exchange()
    uidvalidity = int(code_value(r, "UIDVALIDITY"))
    assert uidvalidity > 0
    assert int(code_value(r, "UIDNEXT")) == uids[-1] + 1, r.exchange()
    assert r.code and r.code.upper() == "READ-WRITE", r.exchange()

    # CONDSTORE in SELECT: HIGHESTMODSEQ.
    r = c.ok("SELECT INBOX (CONDSTORE)")
    assert int(code_value(r, "HIGHESTMODSEQ")) > 0, r.exchange()
    assert int(code_value(r, "UIDVALIDITY")) == uidvalidity

    # EXAMINE is read-only: no STORE, no \Seen from BODY[].
    r = c.ok("EXAMINE INBOX")
    assert r.code and r.code.upper() == "READ-ONLY", r.exchange()
    r = c.ok("FETCH 2 BODY[]")
    assert b"Subject: two" in as_bytes(fetches(r)[2]["BODY[]"])
    assert "\\Seen" not in flags_of(fetches(c.ok("FETCH 2 FLAGS"))[2]["FLAGS"])
    # STORE and EXPUNGE change nothing: NO (or an OK that ignores them).
    r = c.run("STORE 2 +FLAGS (\\Flagged)")
    assert r.status in ("NO", "OK") and not r.lines("FETCH"), r.exchange()
    r = c.run("EXPUNGE")
    assert r.status in ("NO", "OK") and not r.lines("EXPUNGE"), r.exchange()
    assert "\\Flagged" not in flags_of(fetches(c.ok("FETCH 2 FLAGS"))[2]["FLAGS"])

    # A failed SELECT leaves no mailbox selected (RFC 9051 6.3.2).
    r = c.run("SELECT Nonexistent")
    assert r.status == "NO", r.exchange()
    r = c.run("FETCH 1 FLAGS")
    assert r.status == "BAD", r.exchange()


def test_select_another_mailbox_closes_the_first(c):
    c.ok("ENABLE QRESYNC")
    fill(c, 2)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    r = c.ok("SELECT Archive")
    # RFC 7162 3.2.11: [CLOSED] before the new mailbox's answers;
    # switching does not expunge.
    assert "CLOSED" in [x.upper() for x in r.codes()], r.exchange()
    assert not r.lines("EXPUNGE") and not r.lines("VANISHED"), r.exchange()
    assert status_of(c, "INBOX", "MESSAGES")["MESSAGES"] == 2


# ---------- CREATE, DELETE, RENAME ----------

def test_create_delete_rename(c):
    c.ok('CREATE "Projects"')
    r = c.run('CREATE "Projects"')
    assert r.status == "NO", r.exchange()
    c.ok('CREATE "Projects/2024/Q1"')
    c.ok('CREATE "Trailing/"')   # a trailing separator is dropped (RFC 3501 6.3.3)
    names = mailbox_names(c.ok('LIST "" "*"'))
    assert "Projects/2024/Q1" in names and "Trailing" in names, names
    assert "Trailing/" not in names

    r = c.run('CREATE "INBOX"')
    assert r.status == "NO", r.exchange()
    r = c.run("DELETE INBOX")
    assert r.status == "NO", r.exchange()
    r = c.run('DELETE "Nonexistent"')
    assert r.status == "NO", r.exchange()

    c.ok('DELETE "Trailing"')
    names = mailbox_names(c.ok('LIST "" "*"'))
    assert "Trailing" not in names

    # Renaming onto an existing mailbox is refused; from a missing one too.
    c.ok('CREATE "Other"')
    assert c.run('RENAME "Other" "Projects"').status == "NO"
    assert c.run('RENAME "Missing" "Elsewhere"').status == "NO"
    c.ok('RENAME "Other" "Renamed"')
    names = mailbox_names(c.ok('LIST "" "*"'))
    assert "Renamed" in names and "Other" not in names


def test_rename_moves_the_hierarchy(c):
    c.ok('CREATE "Proj"')
    c.ok('CREATE "Proj/a"')
    c.ok('CREATE "Proj/a/b"')
    append_many(c, "Proj/a/b", [message("deep one"), message("deep two")])
    c.ok('RENAME "Proj" "Work"')
    names = mailbox_names(c.ok('LIST "" "*"'))
    assert {"Work", "Work/a", "Work/a/b"} <= set(names), names
    assert not [n for n in names if n.startswith("Proj")], names
    assert status_of(c, "Work/a/b", "MESSAGES")["MESSAGES"] == 2
    r = c.ok('SELECT "Work/a/b"')
    r = c.ok("FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert b"deep one" in as_bytes(fetches(r)[1]["BODY[HEADER.FIELDS (SUBJECT)]"])


def test_delete_keeps_children(c):
    c.ok('CREATE "Parent"')
    c.ok('CREATE "Parent/Child"')
    append_many(c, "Parent/Child", [message("kept")])
    r = c.run('DELETE "Parent"')
    # RFC 3501 6.3.4: allowed (the name becomes \Noselect) or refused;
    # the children are never removed.
    assert r.status in ("OK", "NO"), r.exchange()
    names = mailbox_names(c.ok('LIST "" "*"'))
    assert "Parent/Child" in names, names
    assert status_of(c, "Parent/Child", "MESSAGES")["MESSAGES"] == 1


def test_rename_inbox_moves_its_messages(server):
    c = connect(server)
    append_many(c, "INBOX", [message(f"inbox {i}") for i in range(3)])
    c.ok('RENAME INBOX "Old Inbox"')
    assert status_of(c, "Old Inbox", "MESSAGES")["MESSAGES"] == 3
    assert status_of(c, "INBOX", "MESSAGES")["MESSAGES"] == 0
    names = mailbox_names(c.ok('LIST "" "*"'))
    assert "INBOX" in names and "Old Inbox" in names
    # INBOX keeps working: delivery lands in it.
    c.ok("SELECT INBOX")
    deliver(server, "after the rename")
    def exists():
        r = c.ok("NOOP")
        return any(x[0] == "1" for x in r.of("EXISTS"))
    assert wait_for(exists, 10), c.exchange()
    close(c)


# ---------- SUBSCRIBE, LIST, LSUB, NAMESPACE ----------

def test_subscribe_and_lsub(c):
    c.ok('CREATE "Lists"')
    c.ok('CREATE "Lists/dev"')
    c.ok('SUBSCRIBE "Lists/dev"')
    r = c.ok('LSUB "" "*"')
    assert "Lists/dev" in mailbox_names(r, "LSUB"), r.exchange()
    r = c.ok('LIST (SUBSCRIBED) "" "*"')
    attrs = list_attrs(r)
    assert "\\subscribed" in attrs["Lists/dev"], r.exchange()
    assert "Lists" not in attrs, r.exchange()
    r = c.ok('LIST "" "Lists*" RETURN (SUBSCRIBED)')
    attrs = list_attrs(r)
    assert "\\subscribed" in attrs["Lists/dev"] and "\\subscribed" not in attrs["Lists"], \
        r.exchange()
    c.ok('UNSUBSCRIBE "Lists/dev"')
    r = c.ok('LSUB "" "*"')
    assert "Lists/dev" not in mailbox_names(r, "LSUB"), r.exchange()
    r = c.ok('LIST (SUBSCRIBED) "" "*"')
    assert "Lists/dev" not in mailbox_names(r), r.exchange()


def test_list_patterns_and_children(c):
    for name in ("H", "H/B", "H/B/C", "H/D"):
        c.ok(f'CREATE "{name}"')
    r = c.ok('LIST "" "%"')
    top = mailbox_names(r)
    assert "INBOX" in top and "H" in top and "H/B" not in top, r.exchange()
    for x in r.of("LIST"):
        assert x[2] == "/", r.exchange()     # the hierarchy delimiter
    r = c.ok('LIST "" "H/%"')
    assert sorted(mailbox_names(r)) == ["H/B", "H/D"], r.exchange()
    r = c.ok('LIST "H/" "%"')                 # reference and pattern
    assert sorted(mailbox_names(r)) == ["H/B", "H/D"], r.exchange()
    r = c.ok('LIST "" "H*"')
    assert sorted(mailbox_names(r)) == ["H", "H/B", "H/B/C", "H/D"], r.exchange()
    r = c.ok('LIST "" "*/C"')
    assert mailbox_names(r) == ["H/B/C"], r.exchange()
    r = c.ok('LIST "" "inbox"')               # INBOX is case-insensitive
    assert mailbox_names(r) == ["INBOX"], r.exchange()
    r = c.ok('LIST "" ""')                    # the delimiter and root
    rows = r.of("LIST")
    assert len(rows) == 1 and rows[0][2] == "/" and "\\noselect" in \
        {a.lower() for a in rows[0][1]}, r.exchange()
    # CHILDREN attributes (RFC 3348).
    attrs = list_attrs(c.ok('LIST "" "*"'))
    assert "\\haschildren" in attrs["H"] and "\\haschildren" in attrs["H/B"]
    assert "\\hasnochildren" in attrs["H/D"] and "\\hasnochildren" in attrs["H/B/C"]
    # A missing parent is shown as \NonExistent (RFC 5258) under LIST-EXTENDED.
    c.ok('CREATE "X/Y"')
    r = c.ok('LIST "" "X" RETURN (CHILDREN)')
    attrs = list_attrs(r)
    assert "X" in attrs, r.exchange()
    if "\\nonexistent" in attrs["X"] or "\\noselect" in attrs["X"]:
        assert "\\haschildren" in attrs["X"], r.exchange()


def test_list_extended_special_use_and_status(c):
    r = c.ok('LIST "" "*"')
    attrs = list_attrs(r)
    for name, use in (("Sent", "\\sent"), ("Drafts", "\\drafts"), ("Trash", "\\trash"),
                      ("Junk", "\\junk"), ("Archive", "\\archive")):
        assert use in attrs[name], r.exchange()
    r = c.ok('LIST (SPECIAL-USE) "" "*"')
    assert sorted(mailbox_names(r)) == ["Archive", "Drafts", "Junk", "Sent", "Trash"], \
        r.exchange()
    r = c.ok('LIST "" "*" RETURN (SPECIAL-USE)')
    assert "\\sent" in list_attrs(r)["Sent"], r.exchange()

    append_many(c, "INBOX", [message("a"), message("bb"), message("ccc")],
                flags=["(\\Seen)", "", ""])
    size = sum(len(message(s)) for s in ("a", "bb", "ccc"))
    c.ok('SUBSCRIBE "INBOX"')
    r = c.ok('LIST "" ("INBOX" "Sent") RETURN (CHILDREN SUBSCRIBED STATUS (MESSAGES UNSEEN SIZE))')
    attrs = list_attrs(r)
    assert set(attrs) == {"INBOX", "Sent"}, r.exchange()
    assert "\\subscribed" in attrs["INBOX"], r.exchange()
    assert "\\hasnochildren" in attrs["Sent"], r.exchange()
    st = {x[1]: pairs(x[2]) for x in r.of("STATUS")}
    assert {k: int(v) for k, v in st["INBOX"].items()} == \
        {"MESSAGES": 3, "UNSEEN": 2, "SIZE": size}, r.exchange()
    assert int(st["Sent"]["MESSAGES"]) == 0, r.exchange()
    # Malformed selection or return options are BAD.
    assert c.run('LIST (BOGUS) "" "*"').status == "BAD"
    assert c.run('LIST "" "*" RETURN (BOGUS)').status == "BAD"


def test_mailbox_names_utf7_and_utf8(server):
    rev1 = connect(server)
    # Modified UTF-7 (RFC 3501 5.1.3) for IMAP4rev1 clients.
    rev1.ok('CREATE "Entw&APw-rfe"')
    rev1.ok('CREATE "&ZeVnLIqe-"')                   # 日本語
    r = rev1.ok('LIST "" "*"')
    names = mailbox_names(r)
    assert "Entw&APw-rfe" in names and "&ZeVnLIqe-" in names, r.exchange()
    append_many(rev1, "Entw&APw-rfe", [message("draft")])
    assert status_of(rev1, "Entw&APw-rfe", "MESSAGES")["MESSAGES"] == 1
    bad = rev1.run('CREATE "bad&Jjo"')             # not valid modified UTF-7
    assert bad.status in ("NO", "BAD"), bad.exchange()

    # The same names in UTF-8 after ENABLE UTF8=ACCEPT (RFC 6855).
    utf8 = connect(server)
    utf8.ok("ENABLE UTF8=ACCEPT")
    r = utf8.ok('LIST "" "*"')
    names = mailbox_names(r)
    assert "Entwürfe" in names and "日本語" in names, r.exchange()
    assert not [n for n in names if "&" in n], r.exchange()
    utf8.ok('CREATE "Ćwiczenia"'.encode())
    assert status_of(utf8, "Entwürfe", "MESSAGES")["MESSAGES"] == 1
    utf8.ok('SELECT "Entwürfe"'.encode())
    r = rev1.ok('LIST "" "*"')
    assert "&AQY-wiczenia" in mailbox_names(r), r.exchange()
    close(utf8)
    close(rev1)


def test_utf8_accept_append_fetch_and_search(c):
    """RFC 6855 / RFC 9755: after ENABLE UTF8=ACCEPT, APPEND takes UTF8
    (literal8) with raw UTF-8 headers, ENVELOPE returns them as UTF-8 and
    quoted strings may hold UTF-8."""
    c.ok("ENABLE UTF8=ACCEPT")
    msg = ("From: Jürgen Groß <juergen@example.de>\r\nTo: alice@example.org\r\n"
           "Subject: Grüße aus Köln\r\nMessage-ID: <utf8@ravelin.test>\r\n"
           "Date: Wed, 01 Mar 2023 10:00:00 +0000\r\n\r\nÜnïcödé\r\n").encode()
    r = c.ok(b"APPEND INBOX UTF8 (~{%d+}\r\n" % len(msg) + msg + b")")
    assert r.code.upper().startswith("APPENDUID"), r.exchange()
    c.ok("SELECT INBOX")
    r = c.ok("FETCH 1 (ENVELOPE BODY.PEEK[])")
    f = fetches(r)[1]
    # (As a quoted string or a literal: both are strings.)
    assert as_bytes(f["ENVELOPE"][1]) == "Grüße aus Köln".encode(), r.exchange()
    assert as_bytes(f["ENVELOPE"][2][0][0]) == "Jürgen Groß".encode(), r.exchange()
    assert as_bytes(f["BODY[]"]) == msg
    r = c.ok('SEARCH SUBJECT "köln"'.encode())
    assert search_result(r) == [1], r.exchange()


def test_namespace(c):
    r = c.ok("NAMESPACE")
    ns = r.of("NAMESPACE")
    assert len(ns) == 1, r.exchange()
    personal = ns[0][1]
    assert personal[0][0] == "" and personal[0][1] == "/", r.exchange()


# ---------- STATUS and APPEND ----------

def test_status(c):
    msgs = [message(f"status {i}") for i in range(4)]
    uids = append_many(c, "INBOX", msgs, flags=["(\\Seen)", "(\\Deleted)", "", ""])
    st = status_of(c, "INBOX", "MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE HIGHESTMODSEQ DELETED")
    assert st["MESSAGES"] == 4 and st["UNSEEN"] == 3 and st["DELETED"] == 1, st
    assert st["SIZE"] == sum(len(m) for m in msgs), st
    assert st["UIDNEXT"] == uids[-1] + 1, st
    assert st["HIGHESTMODSEQ"] > 0
    r = c.ok("SELECT INBOX")
    assert int(code_value(r, "UIDVALIDITY")) == st["UIDVALIDITY"]
    c.ok("STORE 3 +FLAGS.SILENT (\\Seen)")
    st2 = status_of(c, "INBOX", "UNSEEN HIGHESTMODSEQ")
    assert st2["UNSEEN"] == 2 and st2["HIGHESTMODSEQ"] > st["HIGHESTMODSEQ"], st2
    r = c.run("STATUS Nonexistent (MESSAGES)")
    assert r.status == "NO", r.exchange()
    r = c.run("STATUS INBOX (BOGUS)")
    assert r.status == "BAD", r.exchange()


def test_append(c):
    # imaplib's own APPEND: a synchronising literal, flags and a date.
    date = imaplib.Time2Internaldate(1700000000)
    msg = message("appended", extra="X-Test: 1\r\n")
    typ, data = c.append("INBOX", "(\\Flagged $Important)", date, msg)
    assert typ == "OK", c.exchange()
    appenduid = c.untagged_responses.pop("APPENDUID")[-1].split()
    uidvalidity, uid = int(appenduid[0]), int(appenduid[1])
    c.ok("SELECT INBOX")
    r = c.ok(f"UID FETCH {uid} (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    f = fetches_by_uid(r)[uid]
    assert {"\\Flagged", "$Important"} <= flags_of(f["FLAGS"]), r.exchange()
    assert imaplib.Internaldate2tuple(
        b'INTERNALDATE "' + f["INTERNALDATE"].encode() + b'"') == time.localtime(1700000000)
    assert int(f["RFC822.SIZE"]) == len(msg)
    assert as_bytes(f["BODY[]"]) == msg

    # MULTIAPPEND with LITERAL+, each message with its own flags and date.
    three = [message(f"multi {i}") for i in range(3)]
    r = c.ok(b"APPEND INBOX (\\Seen) " + lit(three[0]) + b' "01-Feb-2020 10:00:00 +0100" ' +
             lit(three[1]) + b" () " + lit(three[2]))
    code = r.code.split()
    assert code[0].upper() == "APPENDUID" and int(code[1]) == uidvalidity, r.exchange()
    new = seqset(code[2])
    assert new == [uid + 1, uid + 2, uid + 3], r.exchange()
    # The selected mailbox's client learns of them (EXISTS) by the next command.
    if not r.lines("EXISTS"):
        r = c.ok("NOOP")
    assert any(x[0] == "4" for x in r.of("EXISTS")), r.exchange()
    r = c.ok(f"UID FETCH {new[0]}:{new[2]} (FLAGS INTERNALDATE)")
    f = fetches_by_uid(r)
    assert "\\Seen" in flags_of(f[new[0]]["FLAGS"])
    assert f[new[1]]["INTERNALDATE"] == "01-Feb-2020 10:00:00 +0100" or \
        imaplib.Internaldate2tuple(b'INTERNALDATE "' + f[new[1]]["INTERNALDATE"].encode() +
                                   b'"')[:6] == time.localtime(1580547600)[:6], r.exchange()

    # To a mailbox that does not exist: NO [TRYCREATE].
    r = c.run(b"APPEND Nowhere " + lit(message("lost")))
    assert r.status == "NO" and (r.code or "").upper() == "TRYCREATE", r.exchange()
    # A malformed date is BAD.
    r = c.run(b'APPEND INBOX "32-Foo-2020 99:00:00 +0000" ' + lit(message("bad date")))
    assert r.status == "BAD", r.exchange()
    # The synchronising form of one message with the run helper.
    r = c.run_sync("APPEND Drafts (\\Draft)", message("draft"))
    assert r.ok and r.code.upper().startswith("APPENDUID"), r.exchange()


def test_check_close_unselect_expunge(c):
    fill(c, 6)
    c.ok("SELECT INBOX")
    c.ok("CHECK")
    c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    r = c.ok("UNSELECT")          # no expunge
    assert not r.lines("EXPUNGE"), r.exchange()
    assert status_of(c, "INBOX", "MESSAGES")["MESSAGES"] == 6
    assert c.run("FETCH 1 FLAGS").status == "BAD"   # nothing selected
    c.ok("SELECT INBOX")
    r = c.ok("CLOSE")             # expunges silently
    assert not r.lines("EXPUNGE"), r.exchange()
    assert status_of(c, "INBOX", "MESSAGES")["MESSAGES"] == 5

    c.ok("SELECT INBOX")
    before = uids_in_order(c)
    c.ok("STORE 1,3,5 +FLAGS.SILENT (\\Deleted)")
    r = c.ok("EXPUNGE")
    expunged = [int(x[0]) for x in r.of("EXPUNGE")]
    assert len(expunged) == 3, r.exchange()
    # Each EXPUNGE renumbers the rest at once (RFC 9051 7.5.1).
    left = list(before)
    for seq in expunged:
        del left[seq - 1]
    assert left == [before[1], before[3]], r.exchange()
    assert uids_in_order(c) == left

    # UID EXPUNGE removes only the named \Deleted messages (UIDPLUS).
    c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    r = c.ok(f"UID EXPUNGE {left[1]}")
    assert [x[0] for x in r.of("EXPUNGE")] == ["2"], r.exchange()
    assert uids_in_order(c) == [left[0]]
    r = c.run("UID EXPUNGE")
    assert r.status == "BAD", r.exchange()


# ---------- SEARCH ----------

SEARCH_SET = [
    # (message, flags, internal date)
    ("From: \"Carol Danvers\" <carol@example.com>\r\nTo: alice@example.org\r\n"
     "Cc: dave@example.co.uk\r\nSubject: Quarterly budget\r\n"
     "Date: Wed, 01 Mar 2023 10:00:00 +0000\r\nMessage-ID: <m1@ravelin.test>\r\n"
     "X-Tag: red\r\n\r\nThe numbers are attached.\r\n",
     "(\\Seen \\Answered)", '"01-Jun-2023 10:00:00 +0000"'),
    ("From: bob@example.net\r\nTo: alice@example.org\r\nBcc: secret@example.org\r\n"
     "Subject: Lunch on Friday\r\nDate: Sun, 05 Mar 2023 12:00:00 +0000\r\n"
     "Message-ID: <m2@ravelin.test>\r\n\r\nPizza or sushi?\r\n",
     "(\\Flagged $Work)", '"02-Jun-2023 10:00:00 +0000"'),
    ("From: =?UTF-8?Q?J=C3=BCrgen_Gro=C3=9F?= <juergen@example.de>\r\nTo: alice@example.org\r\n"
     "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"
     "Date: Mon, 10 Apr 2023 09:00:00 +0000\r\nMessage-ID: <m3@ravelin.test>\r\n"
     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
     "Herzliche Gr=C3=BC=C3=9Fe vom Rhein.\r\n",
     "()", '"03-Jun-2023 10:00:00 +0000"'),
    ("From: carol@example.com\r\nTo: alice@example.org\r\nSubject: Report\r\n"
     "Date: Thu, 20 Apr 2023 09:00:00 +0000\r\nMessage-ID: <m4@ravelin.test>\r\n\r\n" +
     "filler line of the long report\r\n" * 700 + "needle-in-haystack\r\n",
     "(\\Deleted \\Seen)", '"04-Jun-2023 10:00:00 +0000"'),
    ("From: eve@example.org\r\nTo: bob@example.net\r\nSubject: Re: Lunch on Friday\r\n"
     "Date: Mon, 01 May 2023 09:00:00 +0000\r\nMessage-ID: <m5@ravelin.test>\r\n"
     "In-Reply-To: <m2@ravelin.test>\r\n\r\nCount me in.\r\n",
     "(\\Draft $Work Urgent)", '"05-Jun-2023 10:00:00 +0000"'),
    ("From: frank@music.example\r\nTo: alice@example.org\r\nSubject: Concert tickets\r\n"
     "Date: Mon, 15 May 2023 09:00:00 +0000\r\nMessage-ID: <m6@ravelin.test>\r\n"
     "X-Tag: blue\r\n\r\nTwo seats, row 5.\r\n",
     "()", '"06-Jun-2023 10:00:00 +0000"'),
]


@pytest.fixture
def searchable(c):
    msgs = [m.encode() for m, _, _ in SEARCH_SET]
    append_many(c, "INBOX", msgs, flags=[f for _, f, _ in SEARCH_SET],
                dates=[d for _, _, d in SEARCH_SET])
    assert c.select("INBOX")[0] == "OK"      # imaplib's SELECT
    return c


SEARCHES = [
    ("ALL", [1, 2, 3, 4, 5, 6]),
    ("SEEN", [1, 4]), ("UNSEEN", [2, 3, 5, 6]), ("ANSWERED", [1]), ("UNANSWERED", [2, 3, 4, 5, 6]),
    ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4, 5, 6]), ("DELETED", [4]),
    ("UNDELETED", [1, 2, 3, 5, 6]), ("DRAFT", [5]), ("UNDRAFT", [1, 2, 3, 4, 6]),
    ("KEYWORD $Work", [2, 5]), ("UNKEYWORD $Work", [1, 3, 4, 6]), ("KEYWORD Urgent", [5]),
    ("KEYWORD Nothing", []),
    ("FROM carol", [1, 4]), ("FROM Danvers", [1]), ("FROM juergen@example.de", [3]),
    ("TO bob", [5]), ("CC dave", [1]), ("BCC secret", [2]),
    ("SUBJECT lunch", [2, 5]), ('SUBJECT "on friday"', [2, 5]), ("SUBJECT report", [4]),
    ("BODY pizza", [2]), ("BODY needle-in-haystack", [4]), ("BODY Concert", []),
    ("TEXT Concert", [6]), ("TEXT pizza", [2]),
    ("HEADER X-Tag red", [1]), ('HEADER X-Tag ""', [1, 6]), ("HEADER Message-ID m2@", [2]),
    ("BEFORE 3-Jun-2023", [1, 2]), ("ON 3-Jun-2023", [3]), ("SINCE 5-Jun-2023", [5, 6]),
    ("SENTBEFORE 5-Mar-2023", [1]), ("SENTON 10-Apr-2023", [3]), ("SENTSINCE 1-May-2023", [5, 6]),
    ("LARGER 10000", [4]), ("SMALLER 10000", [1, 2, 3, 5, 6]),
    ("UID 2:4", [2, 3, 4]), ("2,4:5", [2, 4, 5]), ("5:*", [5, 6]), ("*", [6]),
    ("NOT SEEN", [2, 3, 5, 6]), ("OR FLAGGED DRAFT", [2, 5]),
    ("OR (FROM carol SEEN) DRAFT", [1, 4, 5]), ("(FROM carol NOT DELETED)", [1]),
    ("FROM carol SEEN UNDELETED", [1]), ("NOT OR SEEN FLAGGED", [3, 5, 6]),
    ("OR OR ANSWERED FLAGGED DRAFT", [1, 2, 5]),
]


def test_search_keys(searchable):
    c = searchable
    wrong = []
    for keys, expected in SEARCHES:
        r = c.run(f"SEARCH {keys}")
        got = search_result(r) if r.ok else r.status
        if got != expected:
            wrong.append(f"SEARCH {keys}: expected {expected}, got {got}\n{r.exchange()}")
    assert not wrong, "\n\n".join(wrong)
    # The same through imaplib.
    typ, data = c.search(None, "FLAGGED")
    assert typ == "OK" and data == [b"2"], c.exchange()


def test_search_utf8(searchable):
    c = searchable
    for key, expected in (("SUBJECT", [3]), ("BODY", [3]), ("TEXT", [3]), ("FROM", [])):
        r = c.ok(b"SEARCH CHARSET UTF-8 " + key.encode() + b" " + lit("Grüße"))
        assert search_result(r) == expected, r.exchange()
    r = c.ok(b"SEARCH CHARSET UTF-8 FROM " + lit("Jürgen"))
    assert search_result(r) == [3], r.exchange()
    r = c.ok(b"SEARCH CHARSET UTF-8 SUBJECT " + lit("KÖLN"))   # case-insensitive
    assert search_result(r) == [3], r.exchange()
    r = c.run("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT a")
    assert r.status == "NO" and (r.code or "").upper().startswith("BADCHARSET"), r.exchange()


def test_esearch_and_searchres(searchable):
    c = searchable
    r = c.ok("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert r.lines("ESEARCH") and not r.lines("SEARCH"), r.exchange()
    tag_item = r.of("ESEARCH")[0][1]
    assert isinstance(tag_item, list) and tag_item[0].upper() == "TAG", r.exchange()
    assert esearch(r) == {"MIN": 2, "MAX": 6, "COUNT": 4, "ALL": [2, 3, 5, 6]}, r.exchange()
    r = c.ok("SEARCH RETURN (COUNT) KEYWORD Nothing")
    assert esearch(r) == {"COUNT": 0}, r.exchange()
    r = c.ok("UID SEARCH RETURN () FLAGGED")     # () means ALL
    e = esearch(r)
    assert e.get("UID") and e["ALL"] == [2], r.exchange()

    # SEARCHRES: SAVE, then $ in FETCH, UID FETCH and another SEARCH.
    r = c.ok("SEARCH RETURN (SAVE) FROM carol")
    assert not r.lines("SEARCH") and not r.lines("ESEARCH"), r.exchange()
    r = c.ok("FETCH $ (UID)")
    assert sorted(fetches(r)) == [1, 4], r.exchange()
    r = c.ok("UID FETCH $ (FLAGS)")
    assert sorted(fetches_by_uid(r)) == [1, 4], r.exchange()
    r = c.ok("SEARCH $ SEEN NOT DELETED")
    assert search_result(r) == [1], r.exchange()
    r = c.ok("UID SEARCH RETURN (SAVE MIN) KEYWORD $Work")
    assert esearch(r)["MIN"] == 2, r.exchange()
    # SAVE with MIN alone saves the minimum only (RFC 5182 2.4).
    r = c.ok("UID FETCH $ (UID)")
    assert sorted(fetches_by_uid(r)) == [2], r.exchange()


# ---------- FETCH ----------

ATTACHMENT = bytes(range(256)) + b"\x00\xff" * 22
STRUCTURED = (
    "From: \"Carol Danvers\" <carol@example.com>\r\n"
    "To: Alice <alice@example.org>, bob@example.net\r\n"
    "Cc: \"Dave\" <dave@example.co.uk>\r\n"
    "Subject: Structure test\r\n"
    "Date: Wed, 01 Mar 2023 10:00:00 +0000\r\n"
    "Message-ID: <struct@ravelin.test>\r\n"
    "In-Reply-To: <parent@ravelin.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "This is a multi-part message.\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=C3=BC=C3=9Fe, plain part\r\n"
    "--inner\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>html part</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n" +
    base64.encodebytes(ATTACHMENT).decode().replace("\n", "\r\n") +
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@example.net\r\n"
    "Subject: Inner message\r\n"
    "Date: Tue, 28 Feb 2023 08:00:00 +0000\r\n"
    "\r\n"
    "inner body\r\n"
    "--outer--\r\n").encode()
SINGLE = (b"From: a@example.net\r\nSubject: single\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
          base64.encodebytes("Grüße aus Köln\r\n".encode()).replace(b"\n", b"\r\n"))


def low(x):
    return x.lower() if isinstance(x, str) else x


def test_fetch_items(c):
    date = '"01-Mar-2023 11:00:00 +0100"'
    append_many(c, "INBOX", [STRUCTURED, SINGLE], dates=[date, date])
    c.ok("SELECT INBOX")
    r = c.ok("FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)")
    f = fetches(r)[1]
    assert int(f["UID"]) >= 1 and isinstance(f["FLAGS"], list), r.exchange()
    # The same instant; the zone may be kept or not.
    assert imaplib.Internaldate2tuple(b'INTERNALDATE "%s"' % f["INTERNALDATE"].encode()) == \
        time.localtime(1677664800), r.exchange()
    assert int(f["RFC822.SIZE"]) == len(STRUCTURED), r.exchange()

    env = f["ENVELOPE"]
    assert env[0] == "Wed, 01 Mar 2023 10:00:00 +0000" and env[1] == "Structure test", r.exchange()
    carol = [["Carol Danvers", None, "carol", "example.com"]]
    assert env[2] == carol and env[3] == carol and env[4] == carol, r.exchange()  # sender, reply-to
    assert env[5] == [["Alice", None, "alice", "example.org"],
                      [None, None, "bob", "example.net"]], r.exchange()
    assert env[6] == [["Dave", None, "dave", "example.co.uk"]] and env[7] is None, r.exchange()
    assert env[8] == "<parent@ravelin.test>" and env[9] == "<struct@ravelin.test>", r.exchange()

    bs = f["BODYSTRUCTURE"]
    # multipart/mixed (alternative (plain, html), attachment, message/rfc822)
    alt, att, fwd = bs[0], bs[1], bs[2]
    assert low(bs[3]) == "mixed" and [low(x) for x in bs[4]] == ["boundary", "outer"], r.exchange()
    assert low(alt[2]) == "alternative", r.exchange()
    plain, html = alt[0], alt[1]
    assert [low(x) for x in plain[:2]] == ["text", "plain"], r.exchange()
    assert [low(x) for x in plain[2]] == ["charset", "utf-8"], r.exchange()
    # (Lines: the last line has no CRLF of its own, so 0 or 1 are both seen.)
    assert low(plain[5]) == "quoted-printable" and int(plain[6]) == len(
        "Gr=C3=BC=C3=9Fe, plain part") and int(plain[7]) in (0, 1), r.exchange()
    assert [low(x) for x in html[:2]] == ["text", "html"] and int(html[6]) == 16, r.exchange()
    assert [low(x) for x in att[:2]] == ["application", "octet-stream"], r.exchange()
    assert [low(x) for x in att[2]] == ["name", "data.bin"] and low(att[5]) == "base64", \
        r.exchange()
    b64 = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    assert int(att[6]) == len(b64) - 2, r.exchange()   # the last CRLF is the delimiter's
    disposition = att[8]
    assert low(disposition[0]) == "attachment" and \
        [low(x) for x in disposition[1]] == ["filename", "data.bin"], r.exchange()
    assert [low(x) for x in fwd[:2]] == ["message", "rfc822"], r.exchange()
    assert fwd[7][1] == "Inner message", r.exchange()          # its ENVELOPE
    assert [low(x) for x in fwd[8][:2]] == ["text", "plain"], r.exchange()  # its body
    # BODY is BODYSTRUCTURE without the extension data.
    assert len(f["BODY"]) < len(bs) or f["BODY"] != bs, r.exchange()

    sections = {
        "BODY.PEEK[HEADER.FIELDS (Subject Message-ID)]":
            b"Subject: Structure test\r\nMessage-ID: <struct@ravelin.test>\r\n\r\n",
        "BODY.PEEK[1.1]": b"Gr=C3=BC=C3=9Fe, plain part",
        "BODY.PEEK[1.2]": b"<p>html part</p>",
        "BODY.PEEK[2.MIME]": (b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
                              b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
                              b"Content-Transfer-Encoding: base64\r\n\r\n"),
        "BODY.PEEK[3.HEADER]": (b"From: inner@example.net\r\nSubject: Inner message\r\n"
                                b"Date: Tue, 28 Feb 2023 08:00:00 +0000\r\n\r\n"),
        "BODY.PEEK[3.TEXT]": b"inner body",
        "BODY.PEEK[]<0.100>": STRUCTURED[:100],
        "BODY.PEEK[1.1]<4.6>": b"Gr=C3=BC=C3=9Fe, plain part"[4:10],
        "BODY.PEEK[]<100000.10>": b"",
        "BINARY.PEEK[1.1]": "Grüße, plain part".encode(),
        "BINARY.PEEK[2]": ATTACHMENT,
        "BODY.PEEK[HEADER]": STRUCTURED[:STRUCTURED.index(b"\r\n\r\n") + 4],
        "BODY.PEEK[TEXT]": STRUCTURED[STRUCTURED.index(b"\r\n\r\n") + 4:],
    }
    wrong = []
    for item, expected in sections.items():
        r = c.ok(f"FETCH 1 ({item})")
        got = fetches(r).get(1, {})
        key = item.replace(".PEEK", "").upper()
        key = key.replace("<0.100>", "<0>").replace("<4.6>", "<4>").replace("<100000.10>",
                                                                          "<100000>")
        value = next((v for k, v in got.items() if k.upper() == key), "missing")
        if as_bytes(value) != expected and not (expected == b"" and value is None):
            wrong.append(f"{item}: expected {expected[:80]!r}, got {value!r:.200}\n"
                         f"{r.exchange()}")
    assert not wrong, "\n\n".join(wrong)
    r = c.ok("FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[1.1])")
    f = fetches(r)[1]
    assert int(f["BINARY.SIZE[2]"]) == len(ATTACHMENT), r.exchange()
    assert int(f["BINARY.SIZE[1.1]"]) == len("Grüße, plain part".encode()), r.exchange()
    r = c.ok("FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[1])")
    f = fetches(r)[2]
    assert as_bytes(f["BINARY[1]"]) == "Grüße aus Köln\r\n".encode(), r.exchange()
    assert int(f["BINARY.SIZE[1]"]) == len("Grüße aus Köln\r\n".encode()), r.exchange()
    assert as_bytes(f["BODY[1]"]).startswith(b"R3L"), r.exchange()
    r = c.ok("FETCH 1:2 FAST")
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE"} <= set(fetches(r)[2]), r.exchange()
    r = c.ok("FETCH 2 FULL")
    assert {"ENVELOPE", "BODY"} <= set(fetches(r)[2]), r.exchange()
    r = c.ok("FETCH 1 RFC822.HEADER")
    assert as_bytes(fetches(r)[1]["RFC822.HEADER"]) == sections["BODY.PEEK[HEADER]"]

    # The PEEKs above set no flag; BODY[], BINARY[] and RFC822.TEXT set
    # \Seen and report it.
    r = c.ok("FETCH 1:2 FLAGS")
    assert all("\\Seen" not in flags_of(v["FLAGS"]) for v in fetches(r).values()), r.exchange()
    r = c.ok("FETCH 1 BODY[1.2]")
    f = fetches(r)[1]
    assert as_bytes(f["BODY[1.2]"]) == b"<p>html part</p>", r.exchange()
    assert "\\Seen" in flags_of(f.get("FLAGS", [])), r.exchange()
    r = c.ok("FETCH 2 BINARY[1]")
    assert "\\Seen" in flags_of(fetches(r)[2].get("FLAGS", [])), r.exchange()
    c.ok("STORE 1 -FLAGS.SILENT (\\Seen)")
    r = c.ok("FETCH 1 RFC822.TEXT")
    f = fetches(r)[1]
    assert as_bytes(f["RFC822.TEXT"]) == sections["BODY.PEEK[TEXT]"], r.exchange()
    assert "\\Seen" in flags_of(f.get("FLAGS", [])), r.exchange()

    # UID FETCH of UIDs that do not exist answers nothing, not an error.
    r = c.ok("UID FETCH 1000:2000 FLAGS")
    assert not r.lines("FETCH"), r.exchange()
    r = c.run("FETCH 7 FLAGS")      # beyond EXISTS
    assert r.status in ("BAD", "NO"), r.exchange()
    r = c.run("FETCH 1 (BODY[1.")
    assert r.status == "BAD", r.exchange()


# ---------- STORE ----------

def test_store(c):
    fill(c, 3)
    c.select("INBOX")     # imaplib's SELECT
    typ, data = c.store("1", "+FLAGS", "(\\Flagged)")
    assert typ == "OK" and b"\\Flagged" in data[0], c.exchange()
    r = c.ok("STORE 1 +FLAGS (\\Seen)")
    assert flags_of(fetches(r)[1]["FLAGS"]) >= {"\\Flagged", "\\Seen"}, r.exchange()
    r = c.ok("STORE 1 -FLAGS (\\Flagged)")
    got = flags_of(fetches(r)[1]["FLAGS"])
    assert "\\Flagged" not in got and "\\Seen" in got, r.exchange()
    r = c.ok("STORE 1:2 FLAGS ($Label1 Work)")
    f = fetches(r)
    for seq in (1, 2):
        assert flags_of(f[seq]["FLAGS"]) - {"\\Recent"} == {"$Label1", "Work"}, r.exchange()
    r = c.ok("STORE 3 +FLAGS.SILENT (\\Answered)")
    assert 3 not in fetches(r), r.exchange()
    assert "\\Answered" in flags_of(fetches(c.ok("FETCH 3 FLAGS"))[3]["FLAGS"])
    r = c.ok("UID STORE 1:* -FLAGS.SILENT (Work)")
    assert not r.lines("FETCH"), r.exchange()
    r = c.ok("SELECT INBOX")
    # New keywords are announced in FLAGS; \* lets clients make more.
    assert "$Label1" in r.of("FLAGS")[0][1] and "Work" in r.of("FLAGS")[0][1], r.exchange()
    r = c.ok("FETCH 1:3 FLAGS")
    assert [flags_of(v["FLAGS"]) - {"\\Recent"} for _, v in sorted(fetches(r).items())] == \
        [{"$Label1"}, {"$Label1"}, {"\\Answered"}], r.exchange()
    assert c.run("STORE 1 +FLAGS (\\Bogus)").status in ("BAD", "NO")
    assert c.run("STORE 1 +FLAGZ (\\Seen)").status == "BAD"


def test_store_unchangedsince(c):
    fill(c, 3)
    r = c.ok("SELECT INBOX (CONDSTORE)")
    highest = int(code_value(r, "HIGHESTMODSEQ"))
    r = c.ok("FETCH 1:3 (MODSEQ)")
    modseqs = {k: int(v["MODSEQ"][0]) for k, v in fetches(r).items()}
    assert all(0 < m <= highest for m in modseqs.values()), r.exchange()

    r = c.ok(f"STORE 1 (UNCHANGEDSINCE {highest}) +FLAGS (\\Answered)")
    f = fetches(r)[1]
    assert "\\Answered" in flags_of(f["FLAGS"]) and int(f["MODSEQ"][0]) > highest, r.exchange()
    newer = int(f["MODSEQ"][0])
    # Message 1 changed since `highest`: refused with [MODIFIED 1]; 2 is done.
    r = c.ok(f"STORE 1:2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Draft)")
    assert (r.code or "").upper().startswith("MODIFIED"), r.exchange()
    assert seqset(r.code.split()[1]) == [1], r.exchange()
    r2 = c.ok("FETCH 1:2 (FLAGS MODSEQ)")
    f = fetches(r2)
    assert "\\Draft" not in flags_of(f[1]["FLAGS"]) and "\\Draft" in flags_of(f[2]["FLAGS"]), \
        r2.exchange()
    assert int(f[1]["MODSEQ"][0]) == newer
    # UID STORE reports UIDs.
    uids = uids_in_order(c)
    r = c.ok(f"UID STORE {uids[0]}:{uids[2]} (UNCHANGEDSINCE {newer}) -FLAGS (\\Draft)")
    assert seqset(r.code.split()[1]) == [uids[1]], r.exchange()
    # CHANGEDSINCE in FETCH.
    # (Removing a flag a message does not have changes nothing: no new MODSEQ.)
    r = c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})")
    assert sorted(fetches(r)) == [1, 2], r.exchange()
    r = c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {newer})")
    assert sorted(fetches(r)) == [2], r.exchange()
    r = c.ok(f"SEARCH MODSEQ {newer + 1}")
    assert search_result(r) == [2], r.exchange()
    assert "MODSEQ" in r.lines("SEARCH")[0].decode(), r.exchange()


# ---------- COPY and MOVE ----------

def test_copy_and_move(c):
    src = fill(c, 4)
    r = c.ok("SELECT INBOX")
    uidvalidity = int(code_value(r, "UIDVALIDITY"))
    c.ok("STORE 1 +FLAGS.SILENT (\\Flagged $Keep)")
    r = c.ok("COPY 1:2 Archive")
    code = r.code.split()
    assert code[0].upper() == "COPYUID", r.exchange()
    assert seqset(code[2]) == src[:2] and len(seqset(code[3])) == 2, r.exchange()
    dest_uidvalidity = int(code[1])
    assert dest_uidvalidity == status_of(c, "Archive", "UIDVALIDITY")["UIDVALIDITY"]
    assert status_of(c, "Archive", "MESSAGES")["MESSAGES"] == 2
    assert status_of(c, "INBOX", "MESSAGES")["MESSAGES"] == 4
    r = c.ok(f"UID COPY {src[3]} Archive")
    assert seqset(r.code.split()[2]) == [src[3]], r.exchange()
    r = c.run("COPY 1 Nowhere")
    assert r.status == "NO" and (r.code or "").upper() == "TRYCREATE", r.exchange()

    # MOVE: COPYUID untagged, then EXPUNGE (RFC 6851).
    r = c.ok("MOVE 1 Trash")
    codes = [x.upper().split()[0] for x in r.codes()]
    assert "COPYUID" in codes, r.exchange()
    assert [x[0] for x in r.of("EXPUNGE")] == ["1"], r.exchange()
    assert uids_in_order(c) == src[1:]
    r = c.ok(f"UID MOVE {src[2]} Archive")
    assert [x[0] for x in r.of("EXPUNGE")] == ["2"], r.exchange()
    assert uids_in_order(c) == [src[1], src[3]]
    # Flags travel with the message.
    c.ok("SELECT Trash")
    f = fetches(c.ok("FETCH 1 FLAGS"))[1]
    assert {"\\Flagged", "$Keep"} <= flags_of(f["FLAGS"]), c.exchange()
    assert status_of(c, "Archive", "MESSAGES")["MESSAGES"] == 4
    assert uidvalidity > 0


def test_move_under_qresync_reports_vanished(c):
    src = fill(c, 3)
    c.ok("ENABLE QRESYNC")
    c.ok("SELECT INBOX")
    r = c.ok(f"UID MOVE {src[0]}:{src[1]} Archive")
    assert not r.lines("EXPUNGE"), r.exchange()
    vanished = [x for x in r.of("VANISHED")]
    assert vanished and seqset(vanished[0][-1]) == src[:2], r.exchange()


# ---------- IDLE and several sessions ----------

def test_idle_sees_smtp_delivery_within_a_second(server):
    c = connect(server)
    c.ok("SELECT INBOX")
    c.idle_start()
    delays = []
    for i in range(3):
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=20) as s:
            s.sendmail("s@remote.test", [ALICE], f"Subject: idle {i}\r\n\r\nhi\r\n")
            sent = time.monotonic()
        line = c.idle_wait(5)
        while line is not None and not line.endswith(b" EXISTS"):
            line = c.idle_wait(5)
        assert line is not None, "no EXISTS during IDLE\n" + c.exchange()
        delays.append(time.monotonic() - sent)
        assert line == b"* %d EXISTS" % (i + 1), c.exchange()
    c.idle_done()
    assert max(delays) < 1.0, f"delivery to an IDLE client took {delays}"
    close(c)


def test_idle_sees_other_sessions_changes(server):
    a, b = connect(server), connect(server)
    fill(b, 3)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    a.idle_start()
    b.ok("STORE 2 +FLAGS (\\Flagged)")
    line = a.idle_wait(5)
    assert line is not None and line.startswith(b"* 2 FETCH") and b"\\Flagged" in line, \
        a.exchange()
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    seen = []
    line = a.idle_wait(5)
    while line is not None:
        seen.append(line)
        if line.endswith(b"EXPUNGE"):
            break
        line = a.idle_wait(5)
    assert b"* 1 EXPUNGE" in seen, a.exchange()
    a.idle_done()
    assert uids_in_order(a) == uids_in_order(b)
    close(a)
    close(b)


def test_two_sessions_see_each_others_changes(server):
    a, b = connect(server), connect(server)
    fill(a, 3)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    # b appends: a hears EXISTS on its next command.
    append_many(b, "INBOX", [small_message(99)])
    r = a.ok("NOOP")
    assert any(x[0] == "4" for x in r.of("EXISTS")), r.exchange()
    # b changes flags: a hears FETCH FLAGS.
    b.ok("STORE 2 +FLAGS.SILENT (\\Seen $Shared)")
    r = a.ok("NOOP")
    f = fetches(r)
    assert 2 in f and {"\\Seen", "$Shared"} <= flags_of(f[2]["FLAGS"]), r.exchange()
    # b expunges: a must not hear EXPUNGE during FETCH, STORE or SEARCH
    # (RFC 9051 7.5.1), only on NOOP or a UID command.
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    r = a.run("FETCH 1:* (FLAGS)")    # OK, or NO for the message gone (RFC 2180 4.1)
    assert r.status in ("OK", "NO") and not r.lines("EXPUNGE"), r.exchange()
    r = a.ok("SEARCH ALL")
    assert not r.lines("EXPUNGE"), r.exchange()
    r = a.ok("NOOP")
    assert [x[0] for x in r.of("EXPUNGE")] == ["1"], r.exchange()
    assert uids_in_order(a) == uids_in_order(b)

    # Under QRESYNC: VANISHED instead of EXPUNGE.
    q = connect(server)
    q.ok("ENABLE QRESYNC")
    q.ok("SELECT INBOX")
    uids = uids_in_order(q)
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    r = q.ok("NOOP")
    assert not r.lines("EXPUNGE"), r.exchange()
    assert [seqset(x[-1]) for x in r.of("VANISHED")] == [[uids[0]]], r.exchange()
    for x in (a, b, q):
        close(x)


# ---------- CONDSTORE and QRESYNC ----------

def test_qresync_resynchronisation(server):
    a = connect(server)
    uids = fill(a, 5)
    a.ok("ENABLE QRESYNC")
    r = a.ok("SELECT INBOX")
    uidvalidity = int(code_value(r, "UIDVALIDITY"))
    known = int(code_value(r, "HIGHESTMODSEQ"))
    close(a)

    b = connect(server)
    b.ok("SELECT INBOX")
    b.ok(f"UID STORE {uids[1]} +FLAGS.SILENT (\\Flagged)")
    b.ok(f"UID STORE {uids[2]} +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    close(b)

    a = connect(server)
    a.ok("ENABLE QRESYNC")
    r = a.ok(f"SELECT INBOX (QRESYNC ({uidvalidity} {known} {uids[0]}:{uids[-1]}))")
    vanished = r.of("VANISHED")
    assert len(vanished) == 1 and isinstance(vanished[0][1], list) and \
        vanished[0][1][0].upper() == "EARLIER", r.exchange()
    assert seqset(vanished[0][-1]) == [uids[2]], r.exchange()
    changed = fetches_by_uid(r)
    assert list(changed) == [uids[1]], r.exchange()
    assert "\\Flagged" in flags_of(changed[uids[1]]["FLAGS"]), r.exchange()
    assert int(changed[uids[1]]["MODSEQ"][0]) > known, r.exchange()
    now = int(code_value(r, "HIGHESTMODSEQ"))
    assert now > known

    # The same through UID FETCH ... (CHANGEDSINCE n VANISHED).
    r = a.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {known} VANISHED)")
    vanished = r.of("VANISHED")
    assert vanished and seqset(vanished[0][-1]) == [uids[2]], r.exchange()
    assert list(fetches_by_uid(r)) == [uids[1]], r.exchange()
    r = a.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {now} VANISHED)")
    assert not r.lines("FETCH") and not r.lines("VANISHED"), r.exchange()

    # A wrong UIDVALIDITY: a plain SELECT, no VANISHED.
    r = a.ok(f"SELECT INBOX (QRESYNC ({uidvalidity + 1} {known}))")
    assert not r.lines("VANISHED") and not r.lines("FETCH"), r.exchange()
    # QRESYNC in SELECT without ENABLE is BAD (RFC 7162 3.2.5).
    fresh = connect(server)
    assert fresh.run(f"SELECT INBOX (QRESYNC ({uidvalidity} {known}))").status == "BAD"
    close(fresh)
    close(a)


# ---------- SORT and THREAD ----------

SORT_SET = [
    # subject, Date, from, body size padding, internal date
    ("Re: banana", "Mon, 06 Mar 2023 10:00:00 +0000", "zed@example.org", 10,
     '"01-Jan-2024 10:00:00 +0000"'),
    ("apple", "Fri, 03 Mar 2023 10:00:00 +0000", "Mike <mike@example.org>", 300,
     '"02-Jan-2024 10:00:00 +0000"'),
    ("Fwd: cherry", "Sat, 04 Mar 2023 10:00:00 +0000", "anna@example.org", 50,
     '"03-Jan-2024 10:00:00 +0000"'),
    ("[list] date", "Thu, 02 Mar 2023 10:00:00 +0000", "bert@example.org", 2000,
     '"04-Jan-2024 10:00:00 +0000"'),
    ("Banana", "Wed, 01 Mar 2023 10:00:00 +0000", "Carl <carl@example.org>", 700,
     '"05-Jan-2024 10:00:00 +0000"'),
]


def test_sort(c):
    msgs = [(f"From: {frm}\r\nTo: alice@example.org\r\nSubject: {subj}\r\nDate: {date}\r\n"
             f"Message-ID: <sort{i}@ravelin.test>\r\n\r\n" + "x" * pad + "\r\n").encode()
            for i, (subj, date, frm, pad, _) in enumerate(SORT_SET)]
    append_many(c, "INBOX", msgs, dates=[d for *_, d in SORT_SET])
    c.ok("SELECT INBOX")
    cases = {
        # RFC 5256 base subject: Re:, Fwd:, [list] are removed; ties by seq.
        "(SUBJECT)": [2, 1, 5, 3, 4],
        "(DATE)": [5, 4, 2, 3, 1],
        "(REVERSE ARRIVAL)": [5, 4, 3, 2, 1],
        "(ARRIVAL)": [1, 2, 3, 4, 5],
        "(FROM)": [3, 4, 5, 2, 1],       # anna bert carl mike zed
        "(SIZE)": [1, 3, 2, 5, 4],
        "(REVERSE SIZE)": [4, 5, 2, 3, 1],
        "(SUBJECT REVERSE DATE)": [2, 1, 5, 3, 4],
    }
    wrong = []
    for criteria, expected in cases.items():
        r = c.run(f"SORT {criteria} UTF-8 ALL")
        got = search_result(r) if r.ok else r.status
        if got != expected:
            wrong.append(f"SORT {criteria}: expected {expected}, got {got}\n{r.exchange()}")
    assert not wrong, "\n\n".join(wrong)
    r = c.ok("SORT (SIZE) UTF-8 SMALLER 500")
    assert search_result(r) == [1, 3, 2], r.exchange()
    uids = uids_in_order(c)
    r = c.ok("UID SORT (DATE) UTF-8 ALL")
    assert search_result(r) == [uids[i - 1] for i in cases["(DATE)"]], r.exchange()
    assert c.run("SORT (BOGUS) UTF-8 ALL").status == "BAD"


def canon(trees):
    """Children in a fixed order, so that trees compare equal."""
    return [(n, sorted(canon(ch), key=repr)) for n, ch in trees]


def thread_tree(items):
    """RFC 5256 thread lists as (number or None, [children]) trees."""
    def one(lst):
        nums = []
        i = 0
        while i < len(lst) and not isinstance(lst[i], list):
            nums.append(int(lst[i]))
            i += 1
        children = [one(x) for x in lst[i:]]
        if not nums:
            return (None, children)
        node = (nums[-1], children)
        for n in reversed(nums[:-1]):
            node = (n, [node])
        return node
    return canon([one(x) for x in items])


def test_thread(c):
    def m(i, subject, date, refs=""):
        return (f"From: t{i}@example.org\r\nSubject: {subject}\r\nDate: {date}\r\n"
                f"Message-ID: <t{i}@ravelin.test>\r\n{refs}\r\nthread {i}\r\n").encode()
    msgs = [
        m(1, "Meeting", "Wed, 01 Mar 2023 10:00:00 +0000"),
        m(2, "Re: Meeting", "Wed, 01 Mar 2023 11:00:00 +0000",
          "In-Reply-To: <t1@ravelin.test>\r\nReferences: <t1@ravelin.test>\r\n"),
        m(3, "Lunch", "Wed, 01 Mar 2023 12:00:00 +0000"),
        m(4, "Re: Re: Meeting", "Wed, 01 Mar 2023 13:00:00 +0000",
          "References: <t1@ravelin.test> <t2@ravelin.test>\r\n"),
        m(5, "Re: Lunch", "Wed, 01 Mar 2023 14:00:00 +0000",
          "References: <t3@ravelin.test>\r\n"),
        m(6, "Re: Meeting", "Wed, 01 Mar 2023 15:00:00 +0000",
          "References: <t1@ravelin.test>\r\n"),
        m(7, "Other", "Wed, 01 Mar 2023 09:00:00 +0000"),
    ]
    append_many(c, "INBOX", msgs)
    c.ok("SELECT INBOX")
    r = c.ok("THREAD REFERENCES UTF-8 ALL")
    threads = [x for t in r.of("THREAD") for x in t[1:]]
    # Threads ordered by their first message's date: 7 (09:00), 1, 3.
    assert thread_tree(threads) == canon([(7, []), (1, [(2, [(4, [])]), (6, [])]),
                                          (3, [(5, [])])]), r.exchange()
    r = c.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
    threads = [x for t in r.of("THREAD") for x in t[1:]]
    # Grouped by base subject, each thread's first message the parent of the rest;
    # threads ordered by their first message's date (RFC 5256 ORDEREDSUBJECT).
    assert thread_tree(threads) == canon([(7, []), (1, [(2, []), (4, []), (6, [])]),
                                          (3, [(5, [])])]), r.exchange()
    r = c.ok("THREAD REFERENCES UTF-8 FROM t3")
    threads = [x for t in r.of("THREAD") for x in t[1:]]
    assert thread_tree(threads) == [(3, [])], r.exchange()
    uids = uids_in_order(c)
    r = c.ok("UID THREAD REFERENCES UTF-8 SUBJECT lunch")
    threads = [x for t in r.of("THREAD") for x in t[1:]]
    assert thread_tree(threads) == [(uids[2], [(uids[4], [])])], r.exchange()
    assert c.run("THREAD BOGUS UTF-8 ALL").status in ("BAD", "NO")


# ---------- QUOTA ----------

def test_quota(server):
    server.cli("account", "quota", ALICE, "100000")
    c = connect(server)
    append_many(c, "INBOX", [message("small", body="x" * 10000 + "\r\n")])
    r = c.ok("GETQUOTAROOT INBOX")
    roots = r.of("QUOTAROOT")
    assert roots and roots[0][1] == "INBOX" and len(roots[0]) == 3, r.exchange()
    root = roots[0][2]
    quota = r.of("QUOTA")
    assert quota and quota[0][1] == root, r.exchange()
    storage = quota[0][2]
    assert str(storage[0]).upper() == "STORAGE", r.exchange()
    used, limit = int(storage[1]), int(storage[2])
    assert limit in (97, 98), r.exchange()   # units of 1024 octets (RFC 9208 5.1)
    assert 9 <= used <= 12, r.exchange()
    r = c.ok(f"GETQUOTA {quote(root)}")
    assert r.of("QUOTA")[0][2] == storage, r.exchange()
    # Over the quota: NO [OVERQUOTA] (RFC 9208 4.3), nothing stored.
    big = message("too big", body="y" * 120000 + "\r\n")
    r = c.run(b"APPEND INBOX " + lit(big))
    assert r.status == "NO" and (r.code or "").upper() == "OVERQUOTA", r.exchange()
    assert status_of(c, "INBOX", "MESSAGES")["MESSAGES"] == 1
    # A message that fits still goes in.
    append_many(c, "INBOX", [message("fits", body="z" * 20000 + "\r\n")])
    r = c.run(f"SETQUOTA {quote(root)} (STORAGE 1000000)")
    assert r.status in ("NO", "BAD"), r.exchange()
    close(c)


# ---------- errors ----------

def test_error_answers(c):
    bad = ["XYZZY", "SELECT", "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "EXPUNGE",
           "SEARCH ALL", "CREATE", 'RENAME "a"', "STATUS INBOX", "LIST", 'LIST "" "*" RETURN',
           "UID FETCH 1 FLAGS", "CLOSE", "UNSELECT",
           'CREATE "unclosed', "APPEND INBOX", "LOGIN alice@example.org secret-pass",
           "AUTHENTICATE PLAIN", "ENABLE", "GETQUOTAROOT"]
    wrong = []
    for command in bad:
        r = c.run(command)
        if r.status != "BAD":
            wrong.append(f"{command}: expected BAD\n{r.exchange()}")
    no = ["SELECT Nonexistent", "EXAMINE Nonexistent", "STATUS Nonexistent (MESSAGES)",
          "DELETE Nonexistent", 'RENAME Nonexistent "Other"']
    for command in no:
        r = c.run(command)
        if r.status != "NO":
            wrong.append(f"{command}: expected NO\n{r.exchange()}")
    c.ok("SELECT INBOX")
    for command in ["FETCH 1:* (NOSUCHITEM)", "FETCH x FLAGS", "SEARCH NOSUCHKEY",
                    "STORE 1:* FLAGS (\\Recent", "UID XYZ 1", "COPY", "MOVE 1",
                    "SEARCH BEFORE 31-Foo-2020", "FETCH 0 FLAGS", "UID EXPUNGE"]:
        r = c.run(command)
        if r.status != "BAD":
            wrong.append(f"{command}: expected BAD\n{r.exchange()}")
    assert not wrong, "\n\n".join(wrong)
    # After all of that the session still works.
    c.ok("NOOP")
    c.ok('LIST "" "INBOX"')
