"""Full-text indexing off the delivery path: APPEND and delivery only mark
their messages, the worker indexes the backlog on idle time, and SEARCH
stays exact meanwhile (it indexes what of its mailbox is missing first).
A kill -9 at any moment leaves every message indexed or marked."""
import sqlite3
import threading
import time

from imap_util import ALICE, append_many, close, connect, deliver, search_result

# How long the idle indexing may take to empty a backlog of a few hundred
# messages on a loaded test machine (it starts 200 ms after the last write).
IDLE_INDEX_WAIT = 30


def message(i, word):
    return (f"From: s@remote.test\r\nTo: {ALICE}\r\nSubject: note {i}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"line one\r\nthe word is {word} number {i}\r\n").encode()


def store_counts(server, address=ALICE):
    """(messages, index rows, marked) of the account's store."""
    d = server.account_dir(address)
    db = sqlite3.connect(f"file:{d}/store.db?mode=ro", uri=True, timeout=10)
    try:
        return (db.execute("SELECT count(*) FROM messages").fetchone()[0],
                db.execute("SELECT count(*) FROM fts").fetchone()[0],
                db.execute("SELECT count(*) FROM fts_pending").fetchone()[0])
    finally:
        db.close()


def unaccounted(server, address=ALICE):
    """Messages neither indexed nor marked (there must be none)."""
    d = server.account_dir(address)
    db = sqlite3.connect(f"file:{d}/store.db?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(
            "SELECT count(*) FROM messages m WHERE m.id NOT IN (SELECT rowid FROM fts)"
            " AND m.id NOT IN (SELECT id FROM fts_pending)").fetchone()[0]
    finally:
        db.close()


def wait_indexed(server, address=ALICE, timeout=IDLE_INDEX_WAIT):
    end = time.monotonic() + timeout
    counts = None
    while time.monotonic() < end:
        counts = store_counts(server, address)
        if counts[2] == 0 and counts[1] == counts[0]:
            return counts
        time.sleep(0.2)
    raise AssertionError(f"backlog not indexed in {timeout} s: (messages, fts, marked) = {counts}")


def test_search_right_after_append_is_exact_and_idle_indexes_the_rest(server):
    c = connect(server)
    try:
        words = ["zanzibar" if i % 7 == 0 else "quokka" for i in range(300)]
        uids = append_many(c, "INBOX", [message(i, w) for i, w in enumerate(words)])
        c.select_box("INBOX")
        # The search comes at once: the backlog is indexed first, not skipped.
        r = c.run("UID SEARCH BODY zanzibar").expect("OK")
        assert search_result(r) == [u for u, w in zip(uids, words) if w == "zanzibar"], \
            r.exchange()
        r = c.run("UID SEARCH TEXT \"number 299\"").expect("OK")
        assert search_result(r) == [uids[299]], r.exchange()
        # Shorter than a trigram: the scan sees the new messages too.
        r = c.run("UID SEARCH SUBJECT 29").expect("OK")
        assert search_result(r) == [u for i, u in enumerate(uids) if "29" in str(i)], \
            r.exchange()

        # More, then no search at all: the worker indexes them when idle.
        more = append_many(c, "Archive", [message(i, "wombat") for i in range(200)])
        wait_indexed(server)
        c.select_box("Archive")
        r = c.run("UID SEARCH BODY wombat").expect("OK")
        assert search_result(r) == more, r.exchange()
    finally:
        close(c)


def test_delivered_mail_is_searchable_and_indexed_when_idle(server):
    for i in range(20):
        deliver(server, f"delivered {i}", body=f"payload platypus {i}\r\n")
    server.wait_inbox(ALICE, 20)
    c = connect(server)
    try:
        c.select_box("INBOX")
        r = c.run("SEARCH BODY platypus").expect("OK")
        assert search_result(r) == list(range(1, 21)), r.exchange()
    finally:
        close(c)
    wait_indexed(server)


def test_kill9_during_appends_leaves_backlog_marked(make):
    server = make()
    stop = threading.Event()
    appended = []

    def appender():
        try:
            c = connect(server)
            n = 0
            while not stop.is_set():
                appended.extend(append_many(c, "INBOX",
                                            [message(n + i, "kiwi") for i in range(25)]))
                n += 25
        except Exception:  # the server died under us
            return

    t = threading.Thread(target=appender)
    t.start()
    deadline = time.monotonic() + 60
    while len(appended) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill9()
    stop.set()
    t.join()
    assert appended, "nothing was appended before the kill"
    # Every message is indexed or marked: nothing fell between.
    assert unaccounted(server) == 0
    before = store_counts(server)

    server.start()
    c = connect(server)
    try:
        c.select_box("INBOX")
        r = c.run("UID SEARCH BODY kiwi").expect("OK")
        found = search_result(r)
        assert set(appended) <= set(found), r.exchange()
        assert len(found) == before[0]
    finally:
        close(c)
    assert wait_indexed(server)[0] == before[0]


def test_a_worker_indexes_its_backlog_before_it_exits(make):
    """A worker does not exit with a full-text backlog its idle time is
    getting through: one that did left its next start's first search to
    index it all at once (after 200,000 messages appended over four
    accounts, each first SUBJECT search caught up with tens of thousands
    and was answered NO [LIMIT])."""
    from test_handoff import group_processes
    s = make("worker.idle_timeout = 1\n")
    c = connect(s)
    n = 3000
    append_many(c, "INBOX", [message(i, "wombat") for i in range(n)], batch=500)
    close(c)
    end = time.monotonic() + 120
    while time.monotonic() < end and any(
            a.startswith("ravelin --role worker") for _, a in group_processes(s)):
        time.sleep(0.2)
    assert store_counts(s) == (n, n, 0)
