"""IMAP under hostile input after login (and a little before): every case
ends in a clear error or an orderly disconnect, the server keeps serving
(a new login works), memory stays bounded and no sanitizer report appears
in the log.
"""
import os
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import check_no_sanitizer_reports
from imap_util import (ALICE, BOB, PASSWORD, Client, ImapError, append_many, close, connect,
                       deliver, esearch, fetches, login_when_room, small_message)

# IPC_ACCOUNT_MAX_IMAP_SESSIONS (src/lib/ipc-limits.h): master refuses the login past it.
MAX_SESSIONS_PER_ACCOUNT = 100
# Resident memory of all the server's processes together, after an attack.
MAX_TREE_RSS = 1536 * 1024 * 1024


def tree_rss(server):
    """Resident bytes of every process in the server's process group."""
    total = 0
    pgid = server.proc.pid
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:     # fields[2] is pgrp
                continue
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def assert_healthy(server, c=None):
    """The server still serves: the old connection (if it was kept) and a
    new login both work; memory is bounded; nothing in the log."""
    if c is not None:
        try:
            c.ok("NOOP")
        except (EOFError, OSError, ImapError):
            pass   # closed in an orderly way is fine; a new login must work
    fresh = connect(server)
    fresh.ok("SELECT INBOX")
    close(fresh)
    rss = tree_rss(server)
    assert rss < MAX_TREE_RSS, f"the server's processes hold {rss >> 20} MiB"
    check_no_sanitizer_reports(server)


def answer_or_close(c, tag, timeout=15):
    """Read until the tagged answer to tag, a BYE, a continuation request
    or the connection closes.  Returns (kind, lines): kind is 'tagged',
    'bye', 'continue' or 'closed'."""
    c.sock.settimeout(timeout)
    lines = []
    try:
        while True:
            raw = c.read_response()
            lines.append(raw)
            if raw.startswith(tag + b" "):
                return "tagged", lines
            if raw.startswith(b"* BYE"):
                return "bye", lines
            if raw.startswith(b"+"):
                return "continue", lines
    except (EOFError, ConnectionError, ssl.SSLError):
        return "closed", lines
    finally:
        try:
            c.sock.settimeout(c.timeout)
        except OSError:
            pass


def send_tagged(c, command):
    tag = c._new_tag()
    del c.tagged_commands[tag]
    c.send(tag + b" " + command + b"\r\n")
    return tag


def test_literal_bomb(server):
    # After login, a synchronising literal of 4 GB: refused before any '+'.
    c = connect(server)
    tag = send_tagged(c, b"APPEND INBOX {4000000000}")
    kind, lines = answer_or_close(c, tag)
    assert kind != "continue", "a 4 GB literal was accepted\n" + c.exchange()
    if kind == "tagged":
        assert lines[-1].split(b" ")[1] in (b"NO", b"BAD"), c.exchange()
    assert_healthy(server, c)
    close(c)

    # The same with LITERAL+: the server cannot refuse in advance, so it
    # answers with an error and closes (or skips the octets it cannot take).
    c = connect(server)
    tag = send_tagged(c, b"APPEND INBOX {4000000000+}")
    try:
        c.sock.sendall(b"x" * 65536)
    except OSError:
        pass
    kind, lines = answer_or_close(c, tag)
    if kind == "tagged":
        assert lines[-1].split(b" ")[1] in (b"NO", b"BAD"), c.exchange()
    close(c)
    assert_healthy(server)

    # Before login, in the front: nothing is allocated, no '+'.
    c = Client(server.imaps_port)
    tag = send_tagged(c, b"LOGIN {4000000000}")
    kind, lines = answer_or_close(c, tag)
    assert kind != "continue", "a 4 GB literal was accepted\n" + c.exchange()
    close(c)
    assert_healthy(server)


def test_ten_megabyte_command_line(server):
    c = connect(server)
    c.ok("SELECT INBOX")
    tag = c._new_tag()
    del c.tagged_commands[tag]
    line = tag + b" SEARCH SUBJECT " + b"x" * (10 * 1024 * 1024) + b"\r\n"
    failed = []

    def send():
        try:
            c.sock.sendall(line)
        except OSError as e:
            failed.append(e)   # the server may close before reading it all
    # One thread at a time on the TLS socket (OpenSSL objects are not
    # thread-safe): send everything, then read.  A server that reads and
    # discards the line lets sendall finish; one that closes makes it fail;
    # one that stops reading without closing is the bug this catches.
    sender = threading.Thread(target=send, daemon=True)
    start = time.monotonic()
    sender.start()
    sender.join(30)
    assert not sender.is_alive(), "the server stopped reading a long line without closing"
    kind, lines = answer_or_close(c, tag, timeout=30)
    assert time.monotonic() - start < 40
    if kind == "tagged":
        assert lines[-1].split(b" ")[1] == b"BAD", c.exchange()
        c.ok("NOOP")    # the session goes on after the BAD
    else:
        assert failed or kind == "bye", c.exchange()
        assert all(not x.startswith(tag + b" OK") for x in lines), c.exchange()
    assert_healthy(server, c)
    close(c)


def test_deeply_nested_parentheses(server):
    c = connect(server)
    append_many(c, "INBOX", [small_message(1)])
    c.ok("SELECT INBOX")
    for command in (b"SEARCH " + b"(" * 10000 + b"ALL" + b")" * 10000,
                    b"FETCH 1 " + b"(" * 10000,
                    b"STORE 1 +FLAGS " + b"(" * 10000 + b"\\Seen" + b")" * 10000):
        tag = send_tagged(c, command)
        kind, lines = answer_or_close(c, tag)
        if kind != "tagged":
            break
        assert lines[-1].split(b" ")[1] == b"BAD", c.exchange()
        c.ok("NOOP")      # the session goes on after a BAD
    assert_healthy(server, c)
    close(c)
    # Before login too.
    c = Client(server.imaps_port)
    tag = send_tagged(c, b"ID " + b"(" * 10000)
    kind, lines = answer_or_close(c, tag)
    if kind == "tagged":
        assert lines[-1].split(b" ")[1] == b"BAD", c.exchange()
    close(c)
    assert_healthy(server)


def test_fetch_flags_of_5000_messages(server):
    c = connect(server, timeout=60)
    start = time.monotonic()
    uids = append_many(c, "INBOX", [small_message(i) for i in range(5000)], batch=500)
    append_seconds = time.monotonic() - start
    assert len(uids) == 5000 and len(set(uids)) == 5000
    r = c.ok("SELECT INBOX")
    assert any(x[0] == "5000" for x in r.of("EXISTS")), r.exchange()

    start = time.monotonic()
    r = c.ok("FETCH 1:* (FLAGS)")
    fetch_seconds = time.monotonic() - start
    f = fetches(r)
    assert sorted(f) == list(range(1, 5001)), f"{len(f)} FETCH responses"
    r = c.ok("UID FETCH 1:* (UID RFC822.SIZE)")
    assert len(r.lines("FETCH")) == 5000
    r = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert len(r.lines("FETCH")) == 5000
    r = c.ok("SEARCH RETURN (COUNT) ALL")
    assert esearch(r)["COUNT"] == 5000
    c.ok("STORE 1:* +FLAGS.SILENT (\\Seen)")
    r = c.ok('STATUS INBOX (UNSEEN MESSAGES)')
    assert b"UNSEEN 0" in r.lines("STATUS")[0], r.exchange()
    # A long explicit sequence set (a resynchronising client's).
    r = c.ok("UID FETCH " + ",".join(str(u) for u in uids[::3]) + " (FLAGS)")
    assert len(r.lines("FETCH")) == len(uids[::3])
    assert append_seconds < 40 and fetch_seconds < 15, (append_seconds, fetch_seconds)
    assert_healthy(server, c)
    close(c)


def test_idle_without_done(server):
    c = connect(server)
    c.ok("SELECT INBOX")
    c.idle_start()
    # Nothing for a while: the server neither drops the client nor blocks others.
    assert c.idle_wait(6) is None, c.exchange()
    other = connect(server)
    other.ok("SELECT INBOX")
    other.ok("NOOP")
    deliver(server, "while idling")
    line = c.idle_wait(5)
    while line is not None and not line.endswith(b"EXISTS"):
        line = c.idle_wait(5)
    assert line == b"* 1 EXISTS", c.exchange()
    assert c.idle_wait(1) in (None, b"* 1 RECENT"), c.exchange()
    c.idle_done()
    c.ok("NOOP")
    r = c.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"while idling" in r.untagged[0], r.exchange()
    close(other)
    close(c)
    assert_healthy(server)


def test_one_session_more_than_the_account_limit(make):
    server = make("front.max_connections_per_ip = 500")
    # One login after the other: eight at once from one address have seen
    # one of them wait over a minute for auth on a loaded machine.
    sessions = []
    try:
        for _ in range(MAX_SESSIONS_PER_ACCOUNT):
            sessions.append(connect(server, timeout=60))
        for s in sessions[:3]:
            s.ok("SELECT INBOX")
        # The 101st: a tagged NO [LIMIT] to its LOGIN, before any OK (master
        # counts the account's sessions), and the connection stays usable.
        extra = Client(server.imaps_port, timeout=30)
        r = extra.run(f'LOGIN "{ALICE}" "{PASSWORD}"')
        assert r.status == "NO" and r.code == "LIMIT" and not r.untagged, r.exchange()
        assert extra.run("SELECT INBOX").status == "BAD", extra.exchange()
        # Another account is not affected, and the earlier sessions still work.
        b = connect(server, BOB)
        b.ok("SELECT INBOX")
        close(b)
        sessions[-1].ok("NOOP")
        # One session fewer: the same connection logs in now (the worker
        # reports the end at once; a moment is allowed for it to arrive).
        close(sessions.pop())
        r = login_when_room(extra, 10)
        assert r.status == "OK", r.exchange()
        extra.ok("SELECT INBOX")
        sessions.append(extra)
        # The worker never had to refuse one itself.
        assert "session refused, the account has" not in server.log()
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(close, sessions))
    assert_healthy(server)
