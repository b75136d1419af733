"""APPEND's group commit: the message files of the APPENDs several sessions
make into one account at once are synced together with the store's rows,
and no APPEND is answered OK before its file and its row are durable.
kill -9 of the whole server while eight sessions APPEND loses nothing that
was acknowledged, and leaves no row whose file is missing."""
import imaplib
import os
import random
import sqlite3
import threading

from conftest import make_server
from imap_util import ALICE, append_many, close, connect, fetches_by_uid, kill9_midway

SESSIONS = 8


def message(n, i, rng):
    """A message of its own (distinct content), some kilobytes long."""
    body = "".join(f"line {k} of message {i} from session {n}: {rng.random()}\r\n"
                   for k in range(rng.randint(1, 200)))
    return (f"From: s{n}@example.net\r\nTo: alice@example.org\r\n"
            f"Subject: session {n} message {i}\r\n"
            f"Message-ID: <append-{n}-{i}@ravelin.test>\r\n\r\n{body}").encode()


def appender(server, n, acked, stop, errors):
    """Session n APPENDs one message at a time (now and then three in one
    MULTIAPPEND); what was answered OK goes into acked[n] as uid -> bytes."""
    rng = random.Random(n)
    i = 0
    try:
        c = connect(server, timeout=30)
        while not stop.is_set():
            batch = [message(n, i + k, rng) for k in range(3 if rng.random() < 0.1 else 1)]
            i += len(batch)
            uids = append_many(c, "INBOX", batch)
            acked[n].update(zip(uids, batch))
    except (OSError, EOFError, imaplib.IMAP4.abort, imaplib.IMAP4.error, AssertionError) as e:
        if not stop.is_set():
            errors.append(f"session {n}: {e!r}")


def rows_and_files(server):
    """uid -> (file exists with the row's size, the file's bytes or None)."""
    d = server.account_dir(ALICE)
    db = sqlite3.connect(f"file:{d}/store.db?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT m.uid, m.blob, m.size FROM messages m JOIN mailboxes b "
            "ON m.mailbox_id = b.id WHERE b.name = 'INBOX'").fetchall()
    finally:
        db.close()
    out = {}
    for uid, h, size in rows:
        path = os.path.join(d, "blobs", h[:2], h)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = None
        out[uid] = (data is not None and len(data) == size, data)
    return out


def test_kill9_while_sessions_append_to_one_account_loses_nothing_acknowledged():
    server = make_server().start()
    acked = [{} for _ in range(SESSIONS)]
    stop = threading.Event()
    errors = []
    threads = [threading.Thread(target=appender, args=(server, n, acked, stop, errors))
               for n in range(SESSIONS)]
    for t in threads:
        t.start()

    def done():
        return sum(len(a) for a in acked)

    # A random moment while every session appends.
    kill9_midway(server, done, errors, stop, threads, 80, 300, poll=0.005)

    server.start()
    c = connect(server)
    try:
        # The worker starts here, and with it the repair of what the
        # crash left behind.
        c.ok("SELECT INBOX")
        r = c.ok("UID FETCH 1:* (RFC822.SIZE)")
        have = {u: int(f["RFC822.SIZE"]) for u, f in fetches_by_uid(r).items()}
        wanted = {u: data for a in acked for u, data in a.items()}
        for u, data in wanted.items():
            assert have.get(u) == len(data), (u, have.get(u), len(data))
        # Every acknowledged message's exact bytes, as IMAP reads them.
        for u in random.sample(sorted(wanted), min(20, len(wanted))):
            got = c.ok(f"UID FETCH {u} (BODY.PEEK[])")
            assert wanted[u] in b"".join(got.untagged), u
    finally:
        close(c)
    files = rows_and_files(server)
    assert all(ok for ok, _ in files.values()), \
        sorted(u for u, (ok, _) in files.items() if not ok)
    for u, data in wanted.items():
        assert files[u][1] == data, u
    server.stop()


def test_appends_from_many_sessions_are_answered_and_readable(server):
    """Pipelined APPENDs from several sessions at once: every one answered
    OK with its own UID, and each message reads back as it was sent."""
    sessions = [connect(server) for _ in range(4)]
    rng = random.Random(7)
    try:
        sent = {}
        for n, c in enumerate(sessions):
            batch = [message(n, i, rng) for i in range(5)]
            for u, data in zip(append_many(c, "INBOX", batch, batch=1), batch):
                sent[u] = data
        assert len(sent) == 20
        c = sessions[0]
        c.ok("SELECT INBOX")
        for u, data in sent.items():
            assert data in b"".join(c.ok(f"UID FETCH {u} (BODY.PEEK[])").untagged), u
    finally:
        for c in sessions:
            close(c)
