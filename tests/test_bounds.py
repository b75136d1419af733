"""What one authenticated user can make the account's worker hold or
spend: output waits for a client that does not read (IMAP FETCH, POP3
RETR), SEARCH strings and the CPU of one command are bounded, and LIST
patterns are bounded and matched without blowing up.  Each test reads
the worker's resident memory (VmRSS) and CPU time (utime + stime) from
/proc and goes one past the bound it checks.
"""
import os
import poplib
import re
import socket
import ssl
import time

from conftest import server_pid
from imap_util import (Client, append_many, close, connect, fetches, lit, parse, pairs,
                       search_result, small_message)

CTX = ssl._create_unverified_context()
PASSWORD = "secret-pass"

# What the worker may grow by while clients hold back answers of hundreds
# of MiB (the output bound is 256 KiB a session plus one message's answer;
# the rest is the allocator's and the sanitizer's slack).
MAX_GROWTH = 64 * 1024 * 1024
# What the worker may grow by while one client holds back three body
# items of one 40 MB message (120 MB of answer): the answer stops
# mid-literal at 256 KiB of output plus a 64 KiB chunk; 32 MiB is well
# under one copy of the message, and above the allocator's slack.
MAX_GROWTH_ONE_MESSAGE = 32 * 1024 * 1024
# imap-search-run.h IMAP_SEARCH_MAX_STRING.
SEARCH_MAX_STRING = 1024
# imap-search-run.h IMAP_SEARCH_MAX_CPU_MS, in seconds.
SEARCH_MAX_CPU = 5.0
# imap-match.h IMAP_MATCH_MAX_PATTERN.
LIST_MAX_PATTERN = 1024


# ---------- the worker, seen from /proc ----------

def worker_pid(server):
    return server_pid(server, "--role worker")


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024


def cpu(pid):
    """utime + stime of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def state(pid):
    """The scheduler's state of pid: R running or waiting for a CPU, S
    asleep (here: waiting on its sockets), D in the disk."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def settle(pid, timeout=300):
    """Wait until the worker has stopped working (it produced all it will
    before the clients read): asleep at each of ten looks over a second,
    and its CPU time still over that second.  CPU time alone is not
    enough on a loaded machine: a worker that waits for a CPU spends
    little of it in a second but is not done."""
    end = time.monotonic() + timeout
    last = cpu(pid)
    while time.monotonic() < end:
        asleep = True
        for _ in range(10):
            time.sleep(0.1)
            asleep = asleep and state(pid) == "S"
        now = cpu(pid)
        if asleep and now - last < 0.05:
            return
        last = now


def index_now(c):
    """The full-text index of what was appended is built on the worker's
    idle time, which output to clients that do not read leaves it (on a
    loaded machine, after the RSS before the output was read): a search
    builds it now, so that what is measured is the output's."""
    c.ok("SELECT INBOX")
    c.ok('SEARCH TEXT "line 7 "')


def big_message(i, size):
    """A text message of about size octets whose lines say which message
    and line they are; every 50th line starts with a dot."""
    head = (f"From: big@example.net\r\nTo: alice@example.org\r\nSubject: big {i}\r\n"
            f"Message-ID: <big-{i}@ravelin.test>\r\n\r\n").encode()
    lines = []
    n = 0
    total = len(head)
    while total < size:
        line = (("." if n % 50 == 0 else "") + f"message {i} line {n} "
                + "abcdefghij" * 6 + "\r\n").encode()
        lines.append(line)
        total += len(line)
        n += 1
    return head + b"".join(lines)


# ---------- back-pressure ----------

def test_fetch_waits_for_clients_that_do_not_read(server):
    """Three sessions FETCH 50 x 1 MB messages three times over and read
    nothing: the worker holds only a bounded part of the 450 MB; then the
    clients read it all, every byte right."""
    count = 50
    msgs = [big_message(i, 1024 * 1024) for i in range(count)]
    c = connect(server, timeout=120)
    append_many(c, "INBOX", msgs, batch=5)
    index_now(c)
    close(c)
    sessions = []
    for _ in range(3):
        s = connect(server, timeout=120)
        s.ok("SELECT INBOX")
        s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sessions.append(s)
    pid = worker_pid(server)
    settle(pid)
    before = rss(pid)
    tags = [s.run("FETCH 1:* (BODY[] RFC822 BINARY[])", wait=False) for s in sessions]
    settle(pid)
    grown = rss(pid) - before
    print(f"worker RSS {before >> 20} MiB, +{grown >> 20} MiB with three FETCH unread")
    assert grown < MAX_GROWTH, f"the worker grew by {grown >> 20} MiB"

    for s, tag in zip(sessions, tags):
        seen = 0
        while True:
            raw = s.read_response()
            if raw.startswith(tag + b" "):
                assert raw.startswith(tag + b" OK"), s.exchange()
                break
            f = parse(raw)
            assert f[2] == "FETCH", raw[:200]
            items = pairs(f[3])
            n = int(f[1])
            if "BODY[]" not in items:
                continue       # another session set \Seen: FLAGS alone
            for name in ("BODY[]", "RFC822", "BINARY[]"):
                assert items[name] == msgs[n - 1], f"message {n} {name} differs"
            seen += 1
        assert seen == count, s.exchange()
    for s in sessions:
        close(s)


def test_fetch_of_one_large_message_waits_inside_the_message(server):
    """BODY[], RFC822 and BINARY[] of one 40 MB message to a client that
    does not read: the answer stops inside its literals, so the worker
    holds far less than one copy of the message; then the client reads
    it all, every byte the APPENDed one."""
    msg = big_message(0, 40 * 1024 * 1024)
    c = connect(server, timeout=120)
    append_many(c, "INBOX", [msg])
    index_now(c)
    close(c)
    s = connect(server, timeout=120)
    s.ok("SELECT INBOX")
    s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    pid = worker_pid(server)
    settle(pid)
    before = rss(pid)
    tag = s.run("FETCH 1 (BODY[] RFC822 BINARY[])", wait=False)
    settle(pid)
    grown = rss(pid) - before
    print(f"worker RSS {before >> 20} MiB, +{grown >> 20} MiB with one 120 MB FETCH unread")
    assert grown < MAX_GROWTH_ONE_MESSAGE, f"the worker grew by {grown >> 20} MiB"

    raw = s.read_response()
    f = parse(raw)
    assert int(f[1]) == 1 and f[2] == "FETCH", raw[:200]
    items = pairs(f[3])
    for name in ("BODY[]", "RFC822", "BINARY[]"):
        assert items[name] == msg, f"{name} differs"
    raw = s.read_response()
    assert raw.startswith(tag + b" OK"), s.exchange()
    close(s)


def test_fetch_of_a_sparse_set_sets_seen_on_its_messages_only(server):
    """A step reads the UID range of a sparse set from the store; only the
    messages asked for get \\Seen (and the step's list of them holds no
    more than the set)."""
    c = connect(server)
    append_many(c, "INBOX", [small_message(i) for i in range(12)])
    c.ok("SELECT INBOX")
    c.ok("FETCH 1,3,5,7,9,11 (BODY[])")
    f = fetches(c.ok("FETCH 1:* (FLAGS)"))
    seen = [n for n in sorted(f) if "\\Seen" in f[n]["FLAGS"]]
    assert seen == [1, 3, 5, 7, 9, 11], c.exchange()
    close(c)


def pop3_login(server):
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=120)
    p.stls(context=CTX)
    p.user("alice@example.org")
    p.pass_(PASSWORD)
    return p


def test_pop3_pipelined_retr_waits_for_the_client(server):
    """Four pipelined RETR of a 30 MB message, unread: the worker does not
    hold the copies; then the client reads all four, dot-stuffing right."""
    msg = big_message(0, 30 * 1024 * 1024)
    c = connect(server, timeout=120)
    append_many(c, "INBOX", [msg])
    index_now(c)
    close(c)
    p = pop3_login(server)
    assert p.stat()[0] == 1
    p.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    pid = worker_pid(server)
    settle(pid)
    before = rss(pid)
    p.sock.sendall(b"RETR 1\r\n" * 4)
    settle(pid)
    grown = rss(pid) - before
    print(f"worker RSS {before >> 20} MiB, +{grown >> 20} MiB with four RETR unread")
    assert grown < MAX_GROWTH, f"the worker grew by {grown >> 20} MiB"

    want = msg.split(b"\r\n")[:-1]
    for _ in range(4):
        resp, lines, _ = p._getlongresp()
        assert resp.startswith(b"+OK"), resp
        assert lines == want
    p.quit()


# ---------- SEARCH ----------

def words(n, seed=0):
    out = []
    i = seed
    while sum(len(w) + 1 for w in out) < n:
        out.append(("mail server queue message header body folder archive report "
                    "meeting budget invoice").split()[i % 12])
        i += 7
    return " ".join(out)[:n]


def test_search_string_is_bounded(server):
    c = connect(server)
    append_many(c, "INBOX", [small_message(i, extra=f"X-Text: {words(200, i)}\r\n")
                             for i in range(20)])
    c.ok("SELECT INBOX")
    r = c.run_sync("SEARCH TEXT", words(SEARCH_MAX_STRING).encode())
    assert r.status == "OK", r.exchange()
    for key in (b"TEXT", b"BODY", b"SUBJECT", b"HEADER X-Text"):
        r = c.run_sync(b"SEARCH " + key, words(SEARCH_MAX_STRING + 1).encode())
        assert r.status in ("NO", "BAD") and r.code == "LIMIT", r.exchange()
    c.ok("NOOP")
    close(c)


def test_search_cpu_is_bounded_and_other_sessions_answer(server):
    """Many TEXT keys at the string bound over a mailbox: the command ends
    (OK or NO [LIMIT]) within its CPU bound, and another session of the
    account is answered meanwhile within about that bound."""
    c = connect(server, timeout=120)
    msgs = [small_message(i, extra=f"X-Text: {words(3000, i)}\r\n") for i in range(500)]
    append_many(c, "INBOX", msgs)
    c.ok("SELECT INBOX")
    other = connect(server, timeout=120)
    other.ok("SELECT INBOX")
    pid = worker_pid(server)
    keys = b" ".join(b"TEXT " + lit(words(SEARCH_MAX_STRING, k)) for k in range(200))
    cpu_before = cpu(pid)
    start = time.monotonic()
    tag = c.run(b"SEARCH " + keys, wait=False)
    time.sleep(0.2)
    other.ok("NOOP")
    # How long the other session waited, in the worker's CPU seconds (wall
    # time depends on how busy the machine is).
    waited = cpu(pid) - cpu_before
    waited_wall = time.monotonic() - start
    r = c.wait_tagged(tag)
    spent = cpu(pid) - cpu_before
    print(f"SEARCH of 200 keys: {spent:.1f} s of worker CPU; NOOP answered after "
          f"{waited:.1f} s of worker CPU ({waited_wall:.1f} s)")
    assert r.status == "OK" or (r.status == "NO" and r.code == "LIMIT"), r.exchange()
    assert spent < SEARCH_MAX_CPU + 2, f"the worker spent {spent:.1f} s on one SEARCH"
    assert waited < SEARCH_MAX_CPU + 2, f"another session waited {waited:.1f} s"
    # A plain search at the bound still works.
    r = c.run_sync("SEARCH TEXT", words(SEARCH_MAX_STRING, 3).encode())
    assert r.status == "OK", r.exchange()
    close(other)
    close(c)


# ---------- LIST ----------

def test_list_pattern_is_bounded_and_fast(server):
    c = connect(server, timeout=60)
    names = [f"box{i:03d}-" + "a" * 900 for i in range(60)]
    for name in names:
        c.ok(f'CREATE "{name}"')
    c.ok('CREATE "top/sub"')
    pid = worker_pid(server)
    # The pattern: 20 KB of "*a" is refused at once.
    before = cpu(pid)
    r = c.run_sync('LIST ""', b"*a" * 10000)
    spent = cpu(pid) - before
    print(f"LIST with a 20000-octet pattern: {spent:.2f} s CPU")
    assert r.status in ("NO", "BAD") and r.code in ("LIMIT", "TOOBIG"), r.exchange()
    assert spent < 1.0, f"LIST took {spent:.2f} s of CPU"
    hostile = ("*a" * (LIST_MAX_PATTERN // 2))[:LIST_MAX_PATTERN - 1] + "b"
    before = cpu(pid)
    start = time.monotonic()
    r = c.run_sync('LIST ""', hostile.encode())
    took = time.monotonic() - start
    spent = cpu(pid) - before
    print(f"LIST with a {len(hostile)}-octet pattern: {took:.2f} s, {spent:.2f} s CPU")
    assert r.status == "OK" and not r.of("LIST"), r.exchange()
    assert spent < 1.0, f"LIST took {spent:.2f} s of CPU"
    r = c.run_sync('LIST ""', ("*a" * (LIST_MAX_PATTERN // 2 + 1))[:LIST_MAX_PATTERN + 1]
                   .encode())
    assert r.status in ("NO", "BAD") and r.code in ("LIMIT", "TOOBIG"), r.exchange()
    # % stops at the hierarchy delimiter, * does not.
    r = c.ok('LIST "" "t%"')
    assert [x[-1] for x in r.of("LIST")] == ["top"], r.exchange()
    r = c.ok('LIST "" "t*b"')
    assert [x[-1] for x in r.of("LIST")] == ["top/sub"], r.exchange()
    r = c.ok('LIST "" "*a%a*"')
    assert len(r.of("LIST")) == len(names), r.exchange()
    close(c)
