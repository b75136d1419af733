"""IMAP group commit: the changes of several sessions of one account are
made durable by one sync, and no session hears OK before its change is
durable.  kill -9 of the whole server while sessions STORE, APPEND and
EXPUNGE at once loses nothing that was acknowledged."""
import imaplib
import random
import re
import threading

from conftest import make_server
from imap_util import (append_many, close, connect, fetches_by_uid, kill9_midway, flags_of, search_result,
                       small_message)

SESSIONS = 6
# Messages each session owns (it alone changes them), appended first.
OWN = 20


def worker(server, n, acked, stop, errors):
    """Session n: flags on its own messages, APPENDs and EXPUNGEs, one
    command at a time; what was answered OK goes into acked[n]."""
    rng = random.Random(n)
    try:
        c = connect(server, timeout=30)
        c.ok("SELECT INBOX")
        uids = append_many(c, "INBOX", [small_message(1000 * n + i, subject=f"own {n}")
                                        for i in range(OWN)])
        acked[n]["uids"] = set(uids)
        while not stop.is_set():
            action = rng.random()
            if action < 0.6:
                u = rng.choice(uids)
                kw = f"K{n}x{rng.randint(0, 9)}"
                c.ok(f"UID STORE {u} +FLAGS.SILENT ({kw})")
                acked[n]["flags"].add((u, kw))
            elif action < 0.8:
                i = rng.randint(0, 1 << 30)
                (u,) = append_many(c, "INBOX", [small_message(i, subject=f"new {n}")])
                acked[n]["appended"].add(u)
            else:
                u = uids.pop(rng.randrange(len(uids))) if len(uids) > 2 else None
                if u is None:
                    continue
                # Sent, not yet answered: after the kill it may be gone.
                acked[n]["expunging"].add(u)
                c.ok(f"UID STORE {u} +FLAGS.SILENT (\\Deleted)")
                c.ok(f"UID EXPUNGE {u}")
                acked[n]["expunged"].add(u)
    except (OSError, EOFError, imaplib.IMAP4.abort, imaplib.IMAP4.error, AssertionError) as e:
        if not stop.is_set():
            errors.append(f"session {n}: {e!r}")


def test_kill9_while_sessions_change_one_mailbox_loses_nothing_acknowledged():
    server = make_server().start()
    acked = [{"uids": set(), "flags": set(), "appended": set(), "expunged": set(),
              "expunging": set()}
             for _ in range(SESSIONS)]
    stop = threading.Event()
    errors = []
    threads = [threading.Thread(target=worker, args=(server, n, acked, stop, errors))
               for n in range(SESSIONS)]
    for t in threads:
        t.start()

    def done():
        return sum(len(a["flags"]) + len(a["appended"]) + len(a["expunged"]) for a in acked)

    # A random moment while all sessions change the mailbox.
    kill9_midway(server, done, errors, stop, threads, 60, 240)

    server.start()
    c = connect(server)
    try:
        c.ok("SELECT INBOX")
        r = c.ok("UID FETCH 1:* (FLAGS)")
        have = {u: flags_of(f["FLAGS"]) for u, f in fetches_by_uid(r).items()}
    finally:
        close(c)
    for n, a in enumerate(acked):
        for u, kw in a["flags"]:
            if u in a["expunged"] or u in a["expunging"]:
                continue
            assert u in have and kw in have[u], (n, u, kw, have.get(u))
        for u in a["appended"]:
            assert u in have, (n, u)
        for u in a["expunged"]:
            assert u not in have, (n, u)
    server.stop()


def test_sessions_see_each_others_changes_after_the_shared_sync(server):
    """What one session changed reaches the others (once it is durable),
    whichever of them made it, with several changing at once."""
    sessions = [connect(server) for _ in range(4)]
    try:
        uids = append_many(sessions[0], "INBOX", [small_message(i) for i in range(8)])
        for c in sessions:
            c.ok("SELECT INBOX")
        # Pipelined from every session before any answer is read: the
        # worker takes them in one turn and commits them with one sync.
        for k, c in enumerate(sessions):
            c.send(f"g{k} UID STORE {uids[k]} +FLAGS (\\Flagged)\r\n".encode())
        for k, c in enumerate(sessions):
            line = c.readline()
            while not line.startswith(f"g{k} ".encode()):
                line = c.readline()
            assert re.match(rb"g\d+ OK", line), line
        for c in sessions:
            r = c.ok("UID FETCH 1:* (FLAGS)")
            flagged = {u for u, f in fetches_by_uid(r).items()
                       if "\\Flagged" in flags_of(f["FLAGS"])}
            assert flagged == set(uids[:4]), r.exchange()
    finally:
        for c in sessions:
            close(c)


def search_uids(r):
    return sorted(search_result(r))


def test_expunge_and_unseen_keep_to_the_view(server):
    """EXPUNGE removes the \\Deleted messages of the session's view (one
    another session added included, once announced), UID EXPUNGE those
    of its set; SEARCH UNSEEN (answered from the unseen alone) agrees with
    a search that reads every message."""
    a, b = connect(server), connect(server)
    try:
        uids = append_many(a, "INBOX", [small_message(i) for i in range(10)])
        a.ok("SELECT INBOX")
        a.ok(f"UID STORE {uids[1]},{uids[3]},{uids[5]} +FLAGS (\\Seen)")
        assert search_uids(a.ok("UID SEARCH UNSEEN")) == \
            sorted(set(uids) - {uids[1], uids[3], uids[5]})
        assert search_uids(a.ok("UID SEARCH UNSEEN")) == search_uids(a.ok("UID SEARCH NOT SEEN"))
        assert search_uids(a.ok("UID SEARCH UNSEEN UID %d:%d" % (uids[2], uids[6]))) == \
            [uids[2], uids[4], uids[6]]
        a.ok(f"UID STORE {uids[0]},{uids[2]},{uids[4]} +FLAGS (\\Deleted)")
        r = a.ok(f"UID EXPUNGE {uids[2]}:{uids[9]}")
        assert search_uids(a.ok("UID SEARCH ALL")) == \
            [u for u in uids if u not in (uids[2], uids[4])], r.exchange()
        # Another session's \\Deleted message, announced before EXPUNGE.
        b.ok("SELECT INBOX")
        (late,) = append_many(b, "INBOX", [small_message(99)], flags=["(\\Deleted)"])
        a.ok("NOOP")
        r = a.ok("EXPUNGE")
        left = search_uids(a.ok("UID SEARCH ALL"))
        assert uids[0] not in left and late not in left, r.exchange()
        assert left == [u for u in uids if u not in (uids[0], uids[2], uids[4])], r.exchange()
    finally:
        close(a)
        close(b)
