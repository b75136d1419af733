"""bench/mbsync's Maildir changes: the 100 local changes it makes before the
incremental sync touch only messages the server's changes leave alone
(matched by the UID in mbsync's file names), so the counts it checks hold."""
import importlib.machinery
import importlib.util
import os
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bench_mbsync():
    path = os.path.join(ROOT, "bench", "mbsync")
    loader = importlib.machinery.SourceFileLoader("bench_mbsync", path)
    spec = importlib.util.spec_from_loader("bench_mbsync", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_local_changes_spare_the_servers_and_count_100():
    m = load_bench_mbsync()
    n = 8 * m.CHANGES                       # the smallest corpus bench/mbsync takes
    inbox = os.path.join(tempfile.mkdtemp(prefix="ravelin-bench-mbsync-"), "INBOX")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(inbox, d))
    uids = list(range(101, 101 + n))        # not 1-based: UIDs, not positions
    for u in uids:
        with open(os.path.join(inbox, "cur", "1700000000.%d_1.host,U=%d:2," % (u, u)), "w") as f:
            f.write("Subject: %d\n\nbody\n" % u)
    corpus = [b"Subject: new %d\r\n\r\nhi\r\n" % i for i in range(n)]
    m.local_changes(inbox, corpus, uids)

    files = m.maildir_files(inbox)
    left = {int(m.UID_IN_NAME.search(p).group(1)) for p in files if m.UID_IN_NAME.search(p)}
    seen = {int(m.UID_IN_NAME.search(p).group(1)) for p in files
            if m.UID_IN_NAME.search(p) and p.endswith(":2,S")}
    new = [p for p in files if "/new/" in p]
    assert len(seen) == m.CHANGES // 2
    assert len(set(uids) - left) == m.CHANGES // 4
    assert len(new) == m.CHANGES // 4
    assert len(files) == n
    # The server's changes (bench/mbsync's server_changes) go to positions
    # i*step and i*step+1: none of them is changed here.
    step = n // (2 * m.CHANGES)
    server = {uids[i * step] for i in range(m.CHANGES // 2)} | \
        {uids[i * step + 1] for i in range(m.CHANGES // 2, m.CHANGES * 3 // 4)}
    assert not server & (seen | (set(uids) - left))
    with open(new[0], "rb") as f:
        assert b"\r\n" not in f.read()
