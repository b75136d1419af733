"""Store hygiene: the files of expunged mail leave the disk.  A thousand
messages appended and expunged over IMAP take their files with them (seen
in `ravelin account show` and in du of the account folder) while a copy
kept in another mailbox keeps its shared file; a server killed with
SIGKILL before the clean-up finished loses no message's file and cleans
up after it starts again."""
import base64
import hashlib
import re
import subprocess

from imap_util import ALICE, append_many, close, connect, fetches, wait_for

COUNT = 1000
KEPT = 5          # copied to Archive before the expunge
PAYLOAD = 6000    # bytes of attachment per message: the files dominate du


def attachment_message(i):
    """A message with a unique binary attachment (not full-text indexed,
    so the database stays small next to the files)."""
    data = b"".join(hashlib.sha256(b"%d-%d" % (i, k)).digest()
                    for k in range(PAYLOAD // 32))
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (b"From: bulk@example.net\r\nTo: alice@example.org\r\n"
            b"Subject: bulk %d\r\nMessage-ID: <hygiene-%d@ravelin.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            b"--b\r\nContent-Type: text/plain\r\n\r\nnumber %d\r\n"
            b"--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" % (i, i, i)
            + b64 + b"--b--\r\n")


def usage(server):
    out = server.cli("account", "show", ALICE).stdout
    disk = re.search(r"disk (\d+) bytes: (\d+) message files (\d+) bytes, "
                     r"database (\d+) bytes \((\d+) free\), WAL (\d+) bytes", out)
    live = re.search(r"live mail (\d+) bytes in (\d+) messages, (\d+) files waiting", out)
    assert disk and live, out
    return {"disk": int(disk.group(1)), "files": int(disk.group(2)),
            "file_bytes": int(disk.group(3)), "db": int(disk.group(4)),
            "db_free": int(disk.group(5)), "wal": int(disk.group(6)),
            "live": int(live.group(1)),
            "messages": int(live.group(2)), "orphans": int(live.group(3))}


def du_bytes(path):
    out = subprocess.run(["du", "-s", "-B1", path], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[0])


def fill_and_keep(c):
    """COUNT messages in INBOX, the first KEPT also copied to Archive."""
    msgs = [attachment_message(i) for i in range(COUNT)]
    append_many(c, "INBOX", msgs)
    c.ok("SELECT INBOX")
    c.ok(f"COPY 1:{KEPT} Archive")
    return msgs


def expunge_inbox(c):
    c.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")


def check_archive(c, msgs):
    c.ok("SELECT Archive")
    f = fetches(c.ok(f"FETCH 1:{KEPT} BODY.PEEK[]"))
    assert [f[k]["BODY[]"] for k in sorted(f)] == msgs[:KEPT]


def test_expunged_mail_leaves_the_disk(server):
    c = connect(server)
    msgs = fill_and_keep(c)
    folder = server.account_dir(ALICE)
    before = usage(server)
    du_before = du_bytes(folder)
    assert before["files"] == COUNT
    assert before["messages"] == COUNT + KEPT
    assert before["file_bytes"] >= COUNT * PAYLOAD

    expunge_inbox(c)
    # Done: the files gone and the WAL the expunge grew truncated (tried
    # again each second while another connection is using it).
    after = wait_for(lambda: (lambda u: u if u["files"] == KEPT and u["orphans"] == 0
                              and u["wal"] < before["wal"] else None)(usage(server)),
                     timeout=30, interval=0.5)
    assert after, usage(server)
    assert after["messages"] == KEPT
    assert after["live"] < before["live"] / 100
    assert after["file_bytes"] < before["file_bytes"] / 100
    # The database keeps its pages (free ones are reused by new mail); the
    # WAL the expunge grew is truncated once the clean-up is done.
    assert after["disk"] < before["disk"] - 0.8 * before["file_bytes"], (before, after)
    du_after = du_bytes(folder)
    assert du_after < du_before - 0.8 * before["file_bytes"], (du_before, du_after)
    print(f"\nbefore {before} du {du_before}\nafter  {after} du {du_after}")
    # The copies kept their shared files.
    check_archive(c, msgs)
    close(c)


def test_killed_before_clean_up(make):
    """kill -9 of the whole server right after the expunge: after the
    restart every kept message has its file and the clean-up finishes."""
    s = make()
    c = connect(s)
    msgs = fill_and_keep(c)
    expunge_inbox(c)
    s.kill9()
    s.start()
    c = connect(s)   # starts the worker, whose clean-up runs on idle time
    done = wait_for(lambda: (lambda u: u if u["files"] == KEPT and u["orphans"] == 0
                             else None)(usage(s)), timeout=30, interval=0.5)
    assert done, usage(s)
    check_archive(c, msgs)
    close(c)
