"""mbsync (isync) against Ravelin: a whole mailbox down, then an incremental
sync after 100 changes on each side (flags, deletions, new messages), and a
last sync that finds nothing to do.  Both sides must end up the same.

The size is MBSYNC_MESSAGES (default 2,000: the test stays under a minute
on a busy machine); the bench size is 50,000 messages:
    MBSYNC_MESSAGES=50000 RAVELIN_BIN=... python3 -m pytest -q tests/test_mbsync.py -s
prints the times of each step (-s shows them).
"""
import os
import tempfile
import time

from imap_util import append_many, close, connect, search_result, small_message, write_mbsyncrc
from test_imap_clients import (corpus_index, maildir_files, maildir_flags, make_certificate, need,
                               run)

MESSAGES = int(os.environ.get("MBSYNC_MESSAGES", "2000"))
# Changes on each side before the incremental sync: the figure.
CHANGES = 100
# How long one mbsync run may take: a bound on a hung client, not a
# performance target (the times are printed).  25 messages a second is
# well under what a busy shared test machine gave (about 140).
SYNC_TIMEOUT = 60 + MESSAGES // 25


def message(i, origin="server"):
    return small_message(i, f"mbsync {origin} {i}", extra=f"X-Corpus-Index: {i}\r\n")


def write_config(path, port, cert, local):
    write_mbsyncrc(path, port, cert, local, pipeline=50)


def set_local_flag(path, flag):
    """Maildir: flags are the letters after ':2,' in the file's name (in cur/)."""
    d = os.path.dirname(os.path.dirname(path))
    name = os.path.basename(path)
    base, _, flags = name.partition(":2,")
    new = os.path.join(d, "cur", "%s:2,%s" % (base, "".join(sorted(set(flags + flag)))))
    os.rename(path, new)
    return new


def test_mbsync_down_then_100_changes_each_side(make):
    need("mbsync")
    tmp = tempfile.mkdtemp(prefix="ravelin-mbsync-")
    cert, key = make_certificate(tmp)
    server = make(f"tls.cert = {cert}\ntls.key = {key}")
    times = {}
    c = connect(server, timeout=120)
    t0 = time.monotonic()
    uids = append_many(c, "INBOX", [message(i) for i in range(MESSAGES)], batch=500)
    times["append"] = time.monotonic() - t0
    assert len(uids) == MESSAGES

    local = os.path.join(tmp, "mail")
    os.makedirs(local)
    rc = os.path.join(tmp, "mbsyncrc")
    write_config(rc, server.imaps_port, cert, local)
    env = dict(os.environ, HOME=tmp)

    def sync(step):
        t = time.monotonic()
        r = run(["mbsync", "-c", rc, "sync"], timeout=SYNC_TIMEOUT, env=env)
        times[step] = time.monotonic() - t
        assert r.returncode == 0, f"mbsync failed:\n{r.stdout}\n{r.stderr}"

    sync("down")
    inbox = os.path.join(local, "INBOX")
    by_index = {corpus_index(p): p for p in maildir_files(inbox)}
    assert sorted(by_index) == list(range(MESSAGES))

    # 100 changes on the server: 50 flags, 25 expunges, 25 new messages.
    step = MESSAGES // 200 or 1
    flagged_remote = [uids[i * step] for i in range(50)]
    expunged_remote = [(i * step + 1) for i in range(50, 75)]
    c.ok("SELECT INBOX")
    c.ok("UID STORE %s +FLAGS.SILENT (\\Flagged)" % ",".join(map(str, flagged_remote)))
    c.ok("UID STORE %s +FLAGS.SILENT (\\Deleted)" % ",".join(str(uids[i]) for i in expunged_remote))
    c.ok("EXPUNGE")
    append_many(c, "INBOX", [message(MESSAGES + i) for i in range(25)])
    # 100 changes in the Maildir: 50 seen, 25 deleted, 25 new files.
    seen_local = [i * step + 2 for i in range(50)]
    deleted_local = [i * step + 3 for i in range(50, 75)]
    for i in seen_local:
        set_local_flag(by_index[i], "S")
    for i in deleted_local:
        os.unlink(by_index[i])
    for k in range(25):
        i = MESSAGES + 100 + k
        with open(os.path.join(inbox, "new", "1700000000.%d_1.laptop" % i), "wb") as f:
            f.write(message(i, "local").replace(b"\r\n", b"\n"))
    sync("incremental")

    # Both sides hold the same set: the originals less both sides' deletions,
    # plus both sides' new messages.
    want = (set(range(MESSAGES)) - set(expunged_remote) - set(deleted_local)) | \
        set(range(MESSAGES, MESSAGES + 25)) | set(range(MESSAGES + 100, MESSAGES + 125))
    files = maildir_files(inbox)
    by_index = {corpus_index(p): p for p in files}
    assert len(files) == len(want) and set(by_index) == want
    for i in range(50):
        assert "F" in maildir_flags(by_index[i * step]), by_index[i * step]
    c.ok("SELECT INBOX")
    r = c.ok("UID SEARCH ALL")
    assert len(search_result(r)) == len(want), r.exchange()
    r = c.ok("UID SEARCH SEEN")
    assert len(search_result(r)) >= 50, r.exchange()
    r = c.ok("UID SEARCH SUBJECT \"mbsync local\"")
    assert len(search_result(r)) == 25, r.exchange()

    # Nothing left to do: a third run changes neither side.
    sync("nothing")
    assert len(maildir_files(inbox)) == len(want)
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert b"MESSAGES %d" % len(want) in r.lines("STATUS")[0], r.exchange()
    close(c)
    print("\nmbsync, %d messages: %s" % (MESSAGES, ", ".join("%s %.1fs" % kv for kv in times.items())))
